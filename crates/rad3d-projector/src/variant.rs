//! The study's variants: what the projector sees, how the prefix is built, what trains.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Tensor, backend::Backend};
use serde::{Deserialize, Serialize};

use crate::error::{ProjectorError, Result};
use crate::linear::{LinearMapperConfig, VisualTokenConfig};
use crate::projector::ProjectorConfig;
use crate::transformer::TransformerMapperConfig;

/// Text placed before the visual tokens in R2GenGPT's prompt wrapper (`Human: <Img>`).
pub const R2GEN_PROMPT_BEFORE: &str = "Human: <Img>";
/// Text placed after the visual tokens: R2GenGPT's instruction with "chest xray image"
/// replaced by "chest CT".
pub const R2GEN_PROMPT_AFTER: &str =
    "</Img> Generate a comprehensive and detailed diagnosis report for this chest CT. \nAssistant:";

/// What the projector is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrefixInput {
    /// The 512-d image latent only.
    Latent,
    /// The latent concatenated with the classifier's logits (detached).
    LatentAndLogits,
}

/// How the projected tokens are placed before the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrefixLayout {
    /// `[prefix ; report]` (ClipCap style).
    Bare,
    /// `[BOS? ; R2GEN_PROMPT_BEFORE ; visual ; R2GEN_PROMPT_AFTER ; report]`.
    R2GenPrompt,
    /// `[start ; report]` (start: BOS, or EOS for LLMs without one), the projected tokens
    /// being the encoder states the LLM's cross-attention reads in every block
    /// (clip-text-decoder's GPT-2 with `add_cross_attention`).
    CrossAttention,
}

/// A configuration of the study (paper §3, baselines §4). Serialised as its
/// [`name`](Variant::name) (`"v3"`), parsed as [`FromStr`] parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Variant {
    /// V-1: image latent → transformer mapper, LLM fine-tuned.
    V1,
    /// V-2: image latent → transformer mapper, LLM frozen.
    V2,
    /// V-3 (RAD3D-Prefix): latent ⧺ logits → transformer mapper, LLM frozen.
    V3,
    /// Linear ablation of V-3: latent ⧺ logits → one linear layer, LLM frozen.
    Linear,
    /// R2GenGPT-style: Linear + LayerNorm visual token inside R2GenGPT's prompt, LLM frozen.
    R2GenGpt,
    /// Conventional mapping network with fine-tuning (clip-text-decoder): the latent,
    /// linearly projected to the LLM width, is the one encoder state the cross-attention
    /// of every GPT-2 block reads; LLM, cross-attention and projection trained.
    FineTunedDecoder,
}

impl Variant {
    /// Every variant, in the order the paper lists them.
    pub const ALL: [Variant; 6] = [
        Variant::V1,
        Variant::V2,
        Variant::V3,
        Variant::Linear,
        Variant::R2GenGpt,
        Variant::FineTunedDecoder,
    ];

    /// Short lowercase name (`v1`, `v3`, `r2gengpt`, …), accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Variant::V1 => "v1",
            Variant::V2 => "v2",
            Variant::V3 => "v3",
            Variant::Linear => "linear",
            Variant::R2GenGpt => "r2gengpt",
            Variant::FineTunedDecoder => "finetuned",
        }
    }

    /// What the projector is fed.
    pub fn input(self) -> PrefixInput {
        match self {
            Variant::V3 | Variant::Linear => PrefixInput::LatentAndLogits,
            _ => PrefixInput::Latent,
        }
    }

    /// Whether the LLM's weights are updated.
    pub fn llm_trainable(self) -> bool {
        matches!(self, Variant::V1 | Variant::FineTunedDecoder)
    }

    /// Decoupled weight decay of the variant's optimizer: AdamW with PyTorch's default
    /// decay 0.01 for the fine-tuned decoder (clip-text-decoder's `optim.AdamW`), none
    /// (Adam, the paper's optimizer) for the others.
    pub fn weight_decay(self) -> Option<f32> {
        match self {
            Variant::FineTunedDecoder => Some(0.01),
            _ => None,
        }
    }

    /// How the projected tokens are placed.
    pub fn layout(self) -> PrefixLayout {
        match self {
            Variant::R2GenGpt => PrefixLayout::R2GenPrompt,
            Variant::FineTunedDecoder => PrefixLayout::CrossAttention,
            _ => PrefixLayout::Bare,
        }
    }

    /// Projector input width for a latent of `d_latent` and `num_labels` logits.
    pub fn d_input(self, d_latent: usize, num_labels: usize) -> usize {
        match self.input() {
            PrefixInput::Latent => d_latent,
            PrefixInput::LatentAndLogits => d_latent + num_labels,
        }
    }

    /// The projector this variant trains. `prefix_len` and `num_layers` apply to the
    /// mapper variants; the baselines use one visual token as their papers do (for the
    /// fine-tuned decoder, the one encoder state: clip-text-decoder zero-pads its 512-d
    /// CLIP feature to GPT-2's 768, a learned linear map generalises that to any width).
    pub fn projector_config(
        self,
        d_latent: usize,
        num_labels: usize,
        d_model: usize,
        prefix_len: usize,
        num_layers: usize,
    ) -> ProjectorConfig {
        let d_input = self.d_input(d_latent, num_labels);
        match self {
            Variant::V1 | Variant::V2 | Variant::V3 => {
                TransformerMapperConfig::new(d_input, d_model)
                    .with_prefix_len(prefix_len)
                    .with_clip_len(prefix_len)
                    .with_num_layers(num_layers)
                    .into()
            }
            Variant::Linear => LinearMapperConfig::new(d_input, d_model)
                .with_prefix_len(prefix_len)
                .into(),
            Variant::R2GenGpt => VisualTokenConfig::new(d_input, d_model).into(),
            Variant::FineTunedDecoder => LinearMapperConfig::new(d_input, d_model)
                .with_prefix_len(1)
                .into(),
        }
    }

    /// Builds the projector input. Logits are detached so that no gradient reaches
    /// the classifier that produced them.
    ///
    /// # Shapes
    /// - latent: `[batch, d_latent]`, logits: `[batch, num_labels]` → `[batch, d_input]`
    ///
    /// Returns an error when this variant needs logits and none are given, or when
    /// the batch sizes differ.
    pub fn projector_input<B: Backend>(
        self,
        latent: Tensor<B, 2>,
        logits: Option<Tensor<B, 2>>,
    ) -> Result<Tensor<B, 2>> {
        match (self.input(), logits) {
            (PrefixInput::Latent, _) => Ok(latent),
            (PrefixInput::LatentAndLogits, None) => Err(ProjectorError::Config {
                field: "logits",
                value: "none".into(),
                reason: "this variant feeds the classifier's logits to the projector",
            }),
            (PrefixInput::LatentAndLogits, Some(logits)) => {
                if logits.dims()[0] != latent.dims()[0] {
                    return Err(ProjectorError::Config {
                        field: "logits",
                        value: format!("{:?}", logits.dims()),
                        reason: "batch size differs from the latent's",
                    });
                }
                Ok(Tensor::cat(vec![latent, logits.detach()], 1))
            }
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Variant> for String {
    fn from(v: Variant) -> Self {
        v.name().to_string()
    }
}

impl TryFrom<String> for Variant {
    type Error = ProjectorError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl FromStr for Variant {
    type Err = ProjectorError;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.to_ascii_lowercase().replace(['-', '_'], "");
        Variant::ALL
            .into_iter()
            .find(|v| {
                v.name() == norm || (norm == "conventional" && *v == Variant::FineTunedDecoder)
            })
            .ok_or(ProjectorError::Config {
                field: "variant",
                value: s.to_string(),
                reason: "expected v1, v2, v3, linear, r2gengpt or finetuned",
            })
    }
}

/// Places visual tokens inside a prompt: `[before ; visual ; after]`, with the prompt
/// embeddings (computed once, batch 1) broadcast over the batch.
///
/// # Shapes
/// - before: `[1, nb, D]`, visual: `[batch, n, D]`, after: `[1, na, D]` → `[batch, nb + n + na, D]`
pub fn wrap_in_prompt<B: Backend>(
    before: Tensor<B, 3>,
    visual: Tensor<B, 3>,
    after: Tensor<B, 3>,
) -> Tensor<B, 3> {
    let [batch, _, d] = visual.dims();
    let nb = before.dims()[1];
    let na = after.dims()[1];
    Tensor::cat(
        vec![
            before.expand([batch, nb, d]),
            visual,
            after.expand([batch, na, d]),
        ],
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type A = Autodiff<Flex>;

    #[test]
    fn catalogue_matches_the_paper() {
        assert_eq!(Variant::V1.input(), PrefixInput::Latent);
        assert_eq!(Variant::V3.input(), PrefixInput::LatentAndLogits);
        assert!(Variant::V1.llm_trainable() && Variant::FineTunedDecoder.llm_trainable());
        assert!(!Variant::V2.llm_trainable() && !Variant::V3.llm_trainable());
        assert!(!Variant::R2GenGpt.llm_trainable());
        assert_eq!(
            Variant::FineTunedDecoder.layout(),
            PrefixLayout::CrossAttention
        );
        assert_eq!(Variant::V1.layout(), PrefixLayout::Bare);
        assert_eq!(Variant::FineTunedDecoder.weight_decay(), Some(0.01));
        assert_eq!(Variant::V1.weight_decay(), None);
        let v3 = Variant::V3.projector_config(512, 18, 2048, 10, 8);
        let v2 = Variant::V2.projector_config(512, 18, 2048, 10, 8);
        assert_eq!(v3.num_params() - v2.num_params(), 368_640);
        assert_eq!(
            Variant::FineTunedDecoder
                .projector_config(512, 18, 64, 10, 8)
                .prefix_len(),
            1
        );
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
        }
        assert_eq!("V-3".parse::<Variant>().unwrap(), Variant::V3);
        assert!("v4".parse::<Variant>().is_err());
    }

    #[test]
    fn logits_are_detached() {
        let device = Default::default();
        let latent = Tensor::<A, 2>::ones([2, 3], &device).require_grad();
        let logits = Tensor::<A, 2>::ones([2, 2], &device).require_grad();
        let input = Variant::V3
            .projector_input(latent.clone(), Some(logits.clone()))
            .unwrap();
        assert_eq!(input.dims(), [2, 5]);
        let grads = input.mul_scalar(3.0).sum().backward();
        assert!(latent.grad(&grads).is_some());
        assert!(
            logits.grad(&grads).is_none(),
            "gradient reached the classifier logits"
        );
        assert!(Variant::V3.projector_input(latent.clone(), None).is_err());
        let wrong = Tensor::<A, 2>::ones([3, 2], &device);
        assert!(Variant::V3.projector_input(latent, Some(wrong)).is_err());
    }

    #[test]
    fn prompt_wrapping_broadcasts_the_prompt() {
        let device = Default::default();
        let before = Tensor::<Flex, 3>::ones([1, 2, 4], &device);
        let visual = Tensor::<Flex, 3>::zeros([3, 1, 4], &device);
        let after = Tensor::<Flex, 3>::full([1, 5, 4], 2.0, &device);
        let w = wrap_in_prompt(before, visual, after);
        assert_eq!(w.dims(), [3, 8, 4]);
        assert_eq!(w.sum().into_scalar(), 3.0 * (8.0 + 0.0 + 40.0));
    }
}
