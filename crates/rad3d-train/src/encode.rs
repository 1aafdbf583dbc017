//! Joining a manifest with cached embeddings and tokenising reports.

use std::collections::HashMap;

use rad3d_projector::{PrefixInput, Variant};

use crate::batch::EncodedExample;
use crate::dataset::{Example, SkipCounts};
use crate::error::{Result, TrainError};
use rad3d_model::ReportTokenizer;

/// What the cache holds for one volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Image latent (512-d for CT-CLIP).
    pub latent: Vec<f32>,
    /// Classifier logits, if cached.
    pub logits: Option<Vec<f32>>,
}

/// Anything that finds a volume's embedding by (normalised) name.
pub trait EmbeddingLookup {
    /// The embedding of `name`, if present.
    fn lookup(&self, name: &str) -> Option<Embedding>;
}

impl EmbeddingLookup for HashMap<String, Embedding> {
    fn lookup(&self, name: &str) -> Option<Embedding> {
        self.get(name).cloned()
    }
}

/// Builds training examples for `variant`: the projector input (latent, or latent ⧺
/// logits — cached values carry no gradient) and report ids with EOS. Examples without
/// an embedding are skipped and counted in `skipped.missing_embedding`; a V-3-type
/// variant on a cache without logits, or inconsistent widths, is an error.
pub fn encode_examples(
    examples: &[&Example],
    embeddings: &dyn EmbeddingLookup,
    variant: Variant,
    tokenizer: &dyn ReportTokenizer,
    max_tokens: usize,
    skipped: &mut SkipCounts,
) -> Result<Vec<EncodedExample>> {
    let mut out = Vec::with_capacity(examples.len());
    let mut width = None;
    for e in examples {
        let Some(emb) = embeddings.lookup(&e.name) else {
            skipped.missing_embedding += 1;
            continue;
        };
        let input = match variant.input() {
            PrefixInput::Latent => emb.latent,
            PrefixInput::LatentAndLogits => {
                let logits = emb.logits.ok_or_else(|| TrainError::Data {
                    what: format!("embedding of `{}`", e.name),
                    reason: format!(
                        "variant {variant} feeds classifier logits, but the cache has none for it"
                    ),
                })?;
                let mut v = emb.latent;
                v.extend(logits);
                v
            }
        };
        match width {
            None => width = Some(input.len()),
            Some(w) if w != input.len() => {
                return Err(TrainError::Data {
                    what: format!("embedding of `{}`", e.name),
                    reason: format!(
                        "projector input has width {}, earlier ones {w}",
                        input.len()
                    ),
                });
            }
            _ => {}
        }
        out.push(EncodedExample {
            name: e.name.clone(),
            input,
            tokens: tokenizer.encode_report(&e.report, max_tokens)?,
        });
    }
    if skipped.missing_embedding > 0 {
        tracing::warn!(
            count = skipped.missing_embedding,
            "examples without a cached embedding skipped"
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Split;
    use rad3d_model::WordTokenizer;

    #[test]
    fn v3_concatenates_logits_and_skips_missing() {
        let ex = |n: &str| Example {
            name: n.into(),
            report: "No effusion.".into(),
            labels: None,
            split: Split::Train,
        };
        let (a, b) = (ex("a"), ex("b"));
        let mut cache = HashMap::new();
        cache.insert(
            "a".to_string(),
            Embedding {
                latent: vec![1.0, 2.0],
                logits: Some(vec![3.0]),
            },
        );
        let tok = WordTokenizer::fit(["No effusion."]);
        let mut skipped = SkipCounts::default();
        let out = encode_examples(&[&a, &b], &cache, Variant::V3, &tok, 64, &mut skipped).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].input, vec![1.0, 2.0, 3.0]);
        assert_eq!(*out[0].tokens.last().unwrap(), tok.eos_id());
        assert_eq!(skipped.missing_embedding, 1);
        let v2 = encode_examples(
            &[&a],
            &cache,
            Variant::V2,
            &tok,
            64,
            &mut SkipCounts::default(),
        )
        .unwrap();
        assert_eq!(v2[0].input, vec![1.0, 2.0]);

        cache.insert(
            "b".to_string(),
            Embedding {
                latent: vec![1.0, 2.0],
                logits: None,
            },
        );
        let e = encode_examples(
            &[&b],
            &cache,
            Variant::V3,
            &tok,
            64,
            &mut SkipCounts::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`b`") && e.contains("logits"), "{e}");
    }
}
