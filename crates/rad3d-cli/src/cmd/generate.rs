//! `rad3d generate`: continue a prompt with a GPT-2, LLaMA or BioGPT-family model from a
//! HF folder or a GGUF file.
//!
//! Prints the continuation; `--json` prints `{"ids": [...], "text": "...", "tokens_per_s":
//! x}` (plus timing fields, and every sequence's ids and text when `--batch` > 1).
//! `--prefix-len` feeds that many rows of a deterministic synthetic prefix as embeddings
//! before the prompt, as the projected CT features are in RAD3D-Prefix;
//! `scripts/bench/generate.sh` uses it to compare throughput with transformers.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::ArgGroup;
use rad3d_prefix::llm::{GenerateRequest, GenerationConfig, Prompt, load_model, run_request};
use serde_json::json;

use crate::device::{DeviceChoice, OnBackend, run_on};
use crate::outcome::{Outcome, usage};

/// Flags of `rad3d generate`.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("decoding").args(["greedy", "beams", "top_p"])))]
pub(crate) struct Args {
    /// HF model folder (config.json + safetensors + tokenizer) or a GGUF file.
    #[arg(long)]
    llm: PathBuf,
    /// Prompt text.
    #[arg(long, default_value = "")]
    prompt: String,
    /// Prompt as comma-separated token ids instead of text (for models without a tokenizer).
    #[arg(long, value_delimiter = ',', conflicts_with = "prompt")]
    prompt_ids: Option<Vec<u32>>,
    /// Add the tokenizer's special tokens (e.g. LLaMA-3's BOS) to the prompt.
    #[arg(long)]
    add_special_tokens: bool,
    /// At most this many new tokens per sequence.
    #[arg(long, default_value_t = 64)]
    max_new_tokens: usize,
    /// At least this many new tokens (end-of-sequence is suppressed before).
    #[arg(long, default_value_t = 0)]
    min_new_tokens: usize,
    /// Greedy decoding (the default).
    #[arg(long)]
    greedy: bool,
    /// Beam search with this many beams.
    #[arg(long)]
    beams: Option<usize>,
    /// Nucleus sampling with this top-p (seeded by --seed).
    #[arg(long)]
    top_p: Option<f32>,
    /// Seed of sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Decode this many copies of the prompt together.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Rows of the synthetic prefix fed as embeddings before the prompt.
    #[arg(long, default_value_t = 0)]
    prefix_len: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Where the model runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

/// Runs `rad3d generate`.
pub(crate) fn run(args: Args) -> Result<Outcome> {
    if args.prompt.is_empty() && args.prompt_ids.is_none() && args.prefix_len == 0 {
        return usage("give --prompt, --prompt-ids or --prefix-len");
    }
    if args.batch == 0 {
        return usage("--batch must be at least 1");
    }
    let device = args.device;
    run_on(device, Generate(args))
}

/// The generation, run on the chosen backend.
struct Generate(Args);

impl OnBackend for Generate {
    type Output = Outcome;

    fn run<B: Backend>(self, device: B::Device) -> Result<Outcome> {
        let args = self.0;
        let mut config = match (args.beams, args.top_p) {
            (Some(k), _) => GenerationConfig::beam(k, args.max_new_tokens),
            (_, Some(p)) => GenerationConfig::sampling(p, args.seed, args.max_new_tokens),
            _ => GenerationConfig::greedy(args.max_new_tokens),
        };
        config = config.with_min_new_tokens(args.min_new_tokens);
        let prompt = match args.prompt_ids {
            Some(ids) => Prompt::Ids(ids),
            None => Prompt::Text(args.prompt),
        };
        let request = GenerateRequest {
            prompt,
            add_special_tokens: args.add_special_tokens,
            batch_size: args.batch,
            prefix_len: args.prefix_len,
            config,
        };
        let (model, tokenizer) = load_model::<B>(&args.llm, &device)
            .with_context(|| format!("loading {}", args.llm.display()))?;
        let out = run_request(&model, tokenizer.as_ref(), &request, &device)
            .context("generation failed")?;

        let texts = out.texts.clone();
        let first_text = texts.as_ref().map(|t| t[0].clone());
        if args.json {
            let mut v = json!({
                "ids": out.ids[0],
                "text": first_text,
                "tokens_per_s": out.tokens_per_s(),
                "new_tokens": out.new_tokens(),
                "seconds": out.seconds,
                "first_token_seconds": out.first_token_seconds,
                "prompt_ids": out.prompt_ids,
                "batch": args.batch,
            });
            if args.batch > 1 {
                v["all_ids"] = json!(out.ids);
                v["all_texts"] = json!(texts);
            }
            println!("{v}");
        } else {
            match texts {
                Some(texts) => texts.iter().for_each(|t| println!("{t}")),
                None => out.ids.iter().for_each(|ids| println!("{ids:?}")),
            }
            tracing::info!(
                "{} new tokens in {:.2} s ({:.1} tokens/s, first token after {:.3} s)",
                out.new_tokens(),
                out.seconds,
                out.tokens_per_s(),
                out.first_token_seconds
            );
        }
        Ok(Outcome::Done)
    }
}
