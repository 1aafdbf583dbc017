//! RAD3D-Prefix end to end on a synthetic cohort, no downloads:
//!
//! ```sh
//! cargo run --release --example quickstart [-- --out DIR --json PATH --seed N --llm DIR_OR_GGUF --fast]
//! ```
//!
//! Generates chest phantoms with known findings and CT-RATE-style reports, preprocesses
//! and encodes them, trains the anomaly classifier and a small GPT-2-style LM (then
//! frozen), trains V-1, V-2, V-3 and the linear mapper, decodes the test split greedily
//! and prints a table like the paper's Table 4. Outputs go to `quickstart_out/`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use rad3d_prefix::quickstart::{QuickstartConfig, run};

#[cfg(not(feature = "cuda"))]
type Backend = burn::backend::Autodiff<burn::backend::Flex>;
#[cfg(feature = "cuda")]
type Backend = burn::backend::Autodiff<burn::backend::Cuda>;

#[derive(Parser, Debug)]
#[command(about = "RAD3D-Prefix on a synthetic cohort: V-1, V-2, V-3 and the linear mapper")]
struct Args {
    /// Output folder (volumes, reports, metrics, plots).
    #[arg(long, default_value = "quickstart_out")]
    out: PathBuf,
    /// Also write the results JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seed of the cohort, the weights and the data order.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A pretrained LLM (HF directory or .gguf) as the frozen decoder.
    #[arg(long)]
    llm: Option<PathBuf>,
    /// Smaller cohort and fewer epochs (what the test suite runs).
    #[arg(long)]
    fast: bool,
}

fn main() -> anyhow::Result<()> {
    // Training reallocates the same large buffers every step: keep them in the process.
    rad3d_train::keep_freed_memory();
    let args = Args::parse();
    let mut config = if args.fast {
        QuickstartConfig::fast(&args.out)
    } else {
        QuickstartConfig::standard(&args.out)
    };
    config.seed = args.seed;
    config.llm = args.llm.clone();
    let device = Default::default();
    let start = Instant::now();
    let mut progress = |line: &str| eprintln!("[{:>6.1}s] {line}", start.elapsed().as_secs_f64());
    let report = run::<Backend>(&config, &device, &mut progress).context("quickstart failed")?;

    println!("{}", report.summary(&config));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        rad3d_prefix::io::write_atomic(path, json.as_bytes())?;
    }
    Ok(())
}
