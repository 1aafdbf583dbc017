//! Prefix-length × mapper-depth sweeps (paper Fig. 12).

use rad3d_projector::{ProjectorConfig, Variant};

/// The paper's prefix lengths.
pub const PAPER_PREFIX_LENS: [usize; 5] = [2, 5, 7, 10, 14];
/// The paper's mapper depths.
pub const PAPER_DEPTHS: [usize; 4] = [2, 4, 8, 16];

/// One setting of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Prefix (and clip) length.
    pub prefix_len: usize,
    /// Transformer depth.
    pub num_layers: usize,
    /// The projector to train.
    pub config: ProjectorConfig,
    /// Its trainable parameters (the LLM's too when the variant trains it: add them).
    pub trainable_params: usize,
}

/// Every (prefix length, depth) pair for `variant`, prefix-major.
pub fn sweep(
    variant: Variant,
    d_latent: usize,
    num_labels: usize,
    d_model: usize,
    prefix_lens: &[usize],
    depths: &[usize],
) -> Vec<SweepPoint> {
    let mut out = Vec::new();
    for &p in prefix_lens {
        for &l in depths {
            let config = variant.projector_config(d_latent, num_labels, d_model, p, l);
            out.push(SweepPoint {
                prefix_len: p,
                num_layers: l,
                trainable_params: config.num_params(),
                config,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_grid_for_llama_1b() {
        let pts = sweep(
            Variant::V3,
            512,
            18,
            2048,
            &PAPER_PREFIX_LENS,
            &PAPER_DEPTHS,
        );
        assert_eq!(pts.len(), 20);
        let p10_l8 = pts
            .iter()
            .find(|p| p.prefix_len == 10 && p.num_layers == 8)
            .unwrap();
        assert_eq!(p10_l8.trainable_params, 279_461_888);
        // Depth dominates: each layer of D = 2048 costs 33,570,816 parameters.
        let l4 = pts
            .iter()
            .find(|p| p.prefix_len == 10 && p.num_layers == 4)
            .unwrap();
        assert_eq!(
            p10_l8.trainable_params - l4.trainable_params,
            4 * 33_570_816
        );
        // Prefix length adds (d_in + 1)·D for the linear layer plus D for the constant.
        let p14 = pts
            .iter()
            .find(|p| p.prefix_len == 14 && p.num_layers == 8)
            .unwrap();
        assert_eq!(
            p14.trainable_params - p10_l8.trainable_params,
            4 * (531 * 2048 + 2048)
        );
    }
}
