//! Stage 3b of the quickstart when no pretrained LLM is given: a small GPT-2-style LM
//! pre-trained (same loop as the variants) to write a report from a note naming the
//! findings, then returned to be frozen. It is also saved as `lm/llm.json` (an
//! [`LlmSpec`] beside its Burn record) so that `rad3d train --llm …/lm/llm.json` can use it.

use std::collections::HashMap;

use burn::tensor::backend::AutodiffBackend;
use rad3d_llm::{Gpt2Config, Llm, ModelConfig};
use rad3d_model::{LlmSpec, ReportTokenizer, WordTokenizer, save_record};
use rad3d_projector::Variant;
use rad3d_train::synthetic::{FindingTemplate, findings_note, note_len};
use rad3d_train::{
    Embedding, EncodedExample, Example, Silent, SkipCounts, Split, TextLm, TrainConfig,
    encode_examples, train,
};

use super::QuickstartConfig;
use super::cohort::Study;
use crate::error::Result;

/// Pre-trains the quickstart's LM on the training reports (validated on the validation
/// split) and returns it with its word-level tokenizer.
pub(super) fn pretrain_decoder<B: AutodiffBackend>(
    config: &QuickstartConfig,
    studies: &[Study],
    examples: &[Example],
    templates: &[FindingTemplate],
    cache: &HashMap<String, Embedding>,
    progress: &mut dyn FnMut(&str),
    device: &B::Device,
) -> Result<(Llm<B>, WordTokenizer)> {
    let of = |split: Split| {
        examples
            .iter()
            .filter(|e| e.split == split)
            .collect::<Vec<_>>()
    };
    // The LM learns to write a report from a note naming the findings (one word
    // per finding, `No` when absent; see `findings_note`), the way an
    // instruction-following LLM writes from the context it is given. Frozen, the
    // prefix of every variant takes the note's place.
    let notes: Vec<String> = studies
        .iter()
        .map(|s| findings_note(&s.labels, templates))
        .collect();
    let tok = WordTokenizer::fit(
        of(Split::Train)
            .iter()
            .map(|e| e.report.as_str())
            .chain(notes.iter().map(String::as_str)),
    );
    let eos = tok.eos_id();
    let lm_config = Gpt2Config::new(128, 2, 4)
        .with_vocab_size(tok.vocab_size())
        .with_max_position_embeddings(256)
        .with_bos_token_id(Some(eos))
        .with_eos_token_ids(vec![eos]);
    let model_config = ModelConfig::from(lm_config);
    let llm = model_config.init::<B>(config.seed, device)?;
    let note_of: std::collections::HashMap<&str, &str> = studies
        .iter()
        .zip(&notes)
        .map(|(s, n)| (s.name.as_str(), n.as_str()))
        .collect();
    // Start tokens pad the context so a prefix longer than the note lines up
    // with it: the report begins at position `prefix_len` in both.
    let pad = config.prefix_len.saturating_sub(note_len(templates));
    let text = |split| -> Result<Vec<EncodedExample>> {
        let plain = encode_examples(
            &of(split),
            cache,
            Variant::V2,
            &tok,
            200,
            &mut SkipCounts::default(),
        )?;
        plain
            .into_iter()
            .map(|e| {
                let mut tokens = vec![eos; pad];
                tokens.extend(tok.encode(note_of[e.name.as_str()])?);
                tokens.extend(&e.tokens);
                Ok(EncodedExample {
                    input: Vec::new(),
                    tokens,
                    ..e
                })
            })
            .collect()
    };
    let (lm_train, lm_valid) = (text(Split::Train)?, text(Split::Valid)?);
    let lm_cfg = TrainConfig {
        epochs: config.lm_epochs,
        batch_size: 16,
        lr: 3e-3,
        warmup_steps: 10,
        linear_decay: true,
        seed: config.seed,
        pad_id: eos,
        ..TrainConfig::default()
    };
    let outcome = train(
        TextLm::new(llm, eos),
        &lm_train,
        &lm_valid,
        &lm_cfg,
        &config.out_dir.join("runs/lm"),
        &mut Silent,
        device,
    )?;
    progress(&format!(
        "decoder: GPT-2-style LM pre-trained on {} reports, valid loss {:.3}; now frozen",
        lm_train.len(),
        outcome.state.val_losses.last().copied().unwrap_or(f64::NAN)
    ));
    let llm = outcome.model.into_inner();
    save_lm(&config.out_dir.join(LM_DIR), &llm, model_config, &tok)?;
    Ok((llm, tok))
}

/// Folder of the saved LM inside the quickstart's output folder.
pub const LM_DIR: &str = "lm";

/// Writes `dir/llm.mpk` and `dir/llm.json` (an [`LlmSpec::Record`] naming it).
fn save_lm<B: burn::tensor::backend::Backend>(
    dir: &std::path::Path,
    llm: &Llm<B>,
    config: ModelConfig,
    tok: &WordTokenizer,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    save_record(llm, &dir.join("llm.mpk"))?;
    let spec = LlmSpec::Record {
        config,
        weights: "llm.mpk".into(),
        words: tok.words().to_vec(),
    };
    let json = serde_json::to_string_pretty(&spec).expect("plain data");
    rad3d_io::write_atomic(&dir.join("llm.json"), json.as_bytes())?;
    Ok(())
}
