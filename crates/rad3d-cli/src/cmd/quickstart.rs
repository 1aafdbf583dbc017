//! `rad3d quickstart`: RAD3D-Prefix end to end on a synthetic cohort, no downloads — the
//! same code as `cargo run --release --example quickstart`.
//!
//! Generates chest phantoms with known findings and CT-RATE-style reports, preprocesses
//! and encodes them, trains the anomaly classifier and a small GPT-2-style LM (then
//! frozen), trains V-1, V-2, V-3 and the linear mapper, decodes the test split greedily
//! and prints a table like the paper's Table 4.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use rad3d_prefix::quickstart::{
    QuickstartConfig, run as run_quickstart, write_ct_rate_layout, write_inspect_layout,
};

use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::Outcome;

/// Flags of `rad3d quickstart`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Output folder (volumes, reports, metrics, plots).
    #[arg(long, default_value = "quickstart_out")]
    out: PathBuf,
    /// Also write the results JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seed of the cohort, the weights and the data order.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A pretrained LLM (HF folder or .gguf) as the frozen decoder.
    #[arg(long)]
    llm: Option<PathBuf>,
    /// Smaller cohort and fewer epochs (what the test suite runs).
    #[arg(long)]
    fast: bool,
    /// Stop after pre-training the small LM (saved as `OUT/lm/llm.json`, usable as
    /// `rad3d train --llm`): no variants are trained.
    #[arg(long)]
    decoder_only: bool,
    /// Instead of running, write a CT-RATE-shaped folder of synthetic studies here (the
    /// layout and quirks `docs/ct-rate.md` expects) and stop.
    #[arg(long, conflicts_with_all = ["decoder_only", "json", "llm"])]
    ct_rate_layout: Option<PathBuf>,
    /// Instead of running, write an INSPECT-shaped folder of synthetic studies here (the
    /// layout `docs/inspect.md` expects, with an extractor's entity files) and stop.
    #[arg(long, conflicts_with_all = ["decoder_only", "json", "llm", "ct_rate_layout"])]
    inspect_layout: Option<PathBuf>,
    /// Studies of --inspect-layout.
    #[arg(long, default_value_t = 40)]
    inspect_studies: usize,
    /// Training and validation studies of --ct-rate-layout.
    #[arg(long, value_delimiter = ',', default_value = "16,8")]
    layout_studies: Vec<usize>,
    /// Where the models run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Runs `rad3d quickstart`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    // Training reallocates the same large buffers every step: keep them in the process.
    rad3d_prefix::train::keep_freed_memory();
    if let Some(dir) = &args.ct_rate_layout {
        let [n_train, n_valid] = args.layout_studies[..] else {
            return crate::outcome::usage("--layout-studies takes TRAIN,VALID, e.g. 16,8");
        };
        write_ct_rate_layout(dir, n_train, n_valid, args.seed)?;
        tracing::info!(
            "wrote a CT-RATE-shaped folder of {n_train} train / {n_valid} valid studies to {}",
            dir.display()
        );
        return Ok(Outcome::Done);
    }
    if let Some(dir) = &args.inspect_layout {
        write_inspect_layout(dir, args.inspect_studies, args.seed)?;
        tracing::info!(
            "wrote an INSPECT-shaped folder of {} studies to {}",
            args.inspect_studies,
            dir.display()
        );
        return Ok(Outcome::Done);
    }
    let device = args.device;
    run_on(device, Quickstart(args))
}

/// The quickstart, run on the chosen backend.
struct Quickstart(Args);

impl OnBackend for Quickstart {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let args = self.0;
        let mut config = if args.fast {
            QuickstartConfig::fast(&args.out)
        } else {
            QuickstartConfig::standard(&args.out)
        };
        config.seed = args.seed;
        config.llm = args.llm.clone();
        if args.decoder_only {
            config.variants.clear();
        }
        let start = Instant::now();
        let mut progress = |line: &str| {
            if !crate::logging::quiet() {
                eprintln!("[{:>6.1}s] {line}", start.elapsed().as_secs_f64());
            }
        };
        let report = run_quickstart::<Autodiff<B>>(&config, &device, &mut progress)
            .context("quickstart failed")?;
        println!("{}", report.summary(&config));
        if let Some(path) = &args.json {
            let json = serde_json::to_string_pretty(&report)?;
            rad3d_prefix::io::write_atomic(path, json.as_bytes())?;
        }
        Ok(Outcome::Done)
    }
}
