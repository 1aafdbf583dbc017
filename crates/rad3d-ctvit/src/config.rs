//! Hyper-parameters of the CT-ViT encoder and CT-CLIP's image latent head.

use burn::config::Config;

use crate::error::CtVitError;

/// Local alias: burn's `Config` derive refers to `Result` unqualified, so the crate alias
/// must not shadow it here.
type CtResult<T> = crate::error::Result<T>;

/// Most parameters a configuration may describe (16 GiB of f32 weights): far above
/// CT-CLIP (≈ 0.4 G) and below what a typo such as `dim: 1e9` asks for.
pub const MAX_PARAMS: u128 = 4_000_000_000;

/// Configuration of [`CtVit`](crate::CtVit): CTViT's encoder plus CT-CLIP's `to_visual_latent`.
///
/// Field names follow CT-CLIP's constructor arguments, so the JSON that CT-CLIP-style fixtures
/// carry in their metadata parses directly (unknown keys are ignored).
#[derive(Config, Debug, PartialEq)]
pub struct CtVitConfig {
    /// Token width (512 in CT-CLIP).
    pub dim: usize,
    /// Number of VQ codebook rows (8192).
    pub codebook_size: usize,
    /// Side of the (square) input slices in pixels (480); fixes the latent head's input width.
    pub image_size: usize,
    /// Spatial patch side (20).
    pub patch_size: usize,
    /// Slices per temporal patch (10).
    pub temporal_patch_size: usize,
    /// Layers of the spatial transformer (4).
    pub spatial_depth: usize,
    /// Layers of the temporal transformer (4).
    pub temporal_depth: usize,
    /// Width of one attention head (32).
    pub dim_head: usize,
    /// Attention heads (8).
    pub heads: usize,
    /// Input channels (1).
    #[config(default = 1)]
    pub channels: usize,
    /// Width of the image latent (512).
    #[config(default = 512)]
    pub dim_latent: usize,
    /// Hidden width of each GEGLU half; `None` means CT-CLIP's `int(4 * 2/3 * dim)`.
    #[config(default = "None")]
    pub ff_inner_dim: Option<usize>,
    /// Input width of `to_visual_latent`; `None` means `(image_size / patch_size)² · dim`.
    #[config(default = "None")]
    pub dim_image: Option<usize>,
}

impl CtVitConfig {
    /// The configuration of the released CT-CLIP checkpoints (input `[B, 1, 240, 480, 480]`).
    pub fn ct_clip() -> Self {
        Self::new(512, 8192, 480, 20, 10, 4, 4, 32, 8)
    }

    /// A small configuration for tests and benchmarks (input `[B, 1, 16, 32, 32]`, 4×4×4 tokens).
    pub fn tiny() -> Self {
        Self::new(64, 32, 32, 8, 4, 2, 2, 16, 4).with_dim_latent(32)
    }

    /// Parses a configuration from JSON (for example the `config` metadata of a fixture).
    ///
    /// `source_name` only labels errors.
    pub fn from_json_str(json: &str, source_name: &str) -> CtResult<Self> {
        let err = |e: serde_json::Error| CtVitError::Config {
            source_name: source_name.to_string(),
            reason: e.to_string(),
        };
        let mut value: serde_json::Value = serde_json::from_str(json).map_err(err)?;
        // burn's Config deserialiser does not fill defaults: add them for absent keys.
        if let Some(map) = value.as_object_mut() {
            for (key, default) in [
                ("channels", serde_json::json!(1)),
                ("dim_latent", serde_json::json!(512)),
                ("ff_inner_dim", serde_json::Value::Null),
                ("dim_image", serde_json::Value::Null),
            ] {
                map.entry(key).or_insert(default);
            }
        }
        let config: Self = serde_json::from_value(value).map_err(err)?;
        config.validate(source_name)?;
        Ok(config)
    }

    /// Checks the divisibility and non-zero constraints the architecture needs.
    pub fn validate(&self, source_name: &str) -> CtResult<()> {
        let fail = |reason: String| {
            Err(CtVitError::Config {
                source_name: source_name.to_string(),
                reason,
            })
        };
        let positive = [
            ("dim", self.dim),
            ("codebook_size", self.codebook_size),
            ("image_size", self.image_size),
            ("patch_size", self.patch_size),
            ("temporal_patch_size", self.temporal_patch_size),
            ("dim_head", self.dim_head),
            ("heads", self.heads),
            ("channels", self.channels),
            ("dim_latent", self.dim_latent),
        ];
        for (name, value) in positive {
            if value == 0 {
                return fail(format!("`{name}` must be positive"));
            }
        }
        if !self.image_size.is_multiple_of(self.patch_size) {
            return fail(format!(
                "image_size {} is not divisible by patch_size {}",
                self.image_size, self.patch_size
            ));
        }
        if self.ff_inner() == 0 {
            return fail("feed-forward width is zero".to_string());
        }
        // The size a configuration implies is checked before anything is allocated from
        // it: `dim: 1e9` in a JSON file must be an error, not an abort.
        let params = self.approx_params();
        if params > MAX_PARAMS {
            return fail(format!(
                "describes about {params} parameters (dim {}, depths {}+{}, image_size {}), over \
                 the limit of {MAX_PARAMS}",
                self.dim, self.spatial_depth, self.temporal_depth, self.image_size
            ));
        }
        Ok(())
    }

    /// Parameters the architecture holds, roughly (the large matrices), in exact integer
    /// arithmetic that cannot overflow for any field values.
    fn approx_params(&self) -> u128 {
        let u = |v: usize| v as u128;
        let (dim, attn, ff) = (
            u(self.dim),
            u(self.heads) * u(self.dim_head),
            u(self.ff_inner()),
        );
        let per_layer = 4 * dim * attn + 3 * dim * ff;
        let layers = u(self.spatial_depth) + u(self.temporal_depth);
        let grid = u(self.image_size / self.patch_size.max(1));
        let image_features = self.dim_image.map_or(grid * grid * dim, u);
        per_layer * layers
            + u(self.codebook_size) * dim
            + u(self.channels) * u(self.temporal_patch_size) * u(self.patch_size).pow(2) * dim
            + image_features * u(self.dim_latent)
    }

    /// Width of one GEGLU half: `int(4 * (2/3) * dim)` evaluated in double precision, as the
    /// reference does (1365 for dim 512, 170 for 64, 256 for 96).
    pub fn ff_inner(&self) -> usize {
        self.ff_inner_dim
            .unwrap_or_else(|| (4.0 * (2.0 / 3.0) * self.dim as f64) as usize)
    }

    /// Attention inner width `heads · dim_head` (256 in CT-CLIP, not equal to `dim`).
    pub fn attn_inner(&self) -> usize {
        self.heads * self.dim_head
    }

    /// Features of one patch: `channels · temporal_patch_size · patch_size²`.
    pub fn patch_features(&self) -> usize {
        self.channels * self.temporal_patch_size * self.patch_size * self.patch_size
    }

    /// Token grid side for `image_size` inputs.
    pub fn grid_side(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Preprocessed input size `(t, h, w)` that gives a cubic token grid of side
    /// [`grid_side`](Self::grid_side): `(240, 480, 480)` for CT-CLIP. Only `h` and `w` are
    /// fixed by the latent head; any `t` divisible by `temporal_patch_size` also works.
    pub fn input_shape(&self) -> [usize; 3] {
        [
            self.grid_side() * self.temporal_patch_size,
            self.image_size,
            self.image_size,
        ]
    }

    /// Input width of `to_visual_latent`: the flattened `(h, w, d)` mean token grid.
    pub fn image_features(&self) -> usize {
        self.dim_image
            .unwrap_or_else(|| self.grid_side() * self.grid_side() * self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_clip_derived_sizes_match_the_checkpoint() {
        let c = CtVitConfig::ct_clip();
        assert_eq!(c.ff_inner(), 1365);
        assert_eq!(c.attn_inner(), 256);
        assert_eq!(c.patch_features(), 4000);
        assert_eq!(c.image_features(), 294_912);
    }

    #[test]
    fn ff_inner_uses_the_reference_rounding() {
        assert_eq!(CtVitConfig::tiny().ff_inner(), 170);
        assert_eq!(CtVitConfig::ct_clip().input_shape(), [240, 480, 480]);
        assert_eq!(CtVitConfig::tiny().input_shape(), [16, 32, 32]);
        let wide = CtVitConfig {
            dim: 96,
            ..CtVitConfig::tiny()
        };
        assert_eq!(wide.ff_inner(), 256);
    }

    #[test]
    fn parses_reference_json_with_extra_keys() {
        let json = r#"{"dim": 64, "codebook_size": 32, "image_size": 32, "patch_size": 8,
            "temporal_patch_size": 4, "spatial_depth": 2, "temporal_depth": 2, "dim_head": 16,
            "heads": 4, "dim_latent": 32, "seed": 5, "reference": {"repo": "x"}}"#;
        let c = CtVitConfig::from_json_str(json, "inline").unwrap();
        assert_eq!(c, CtVitConfig::tiny());
    }

    #[test]
    fn rejects_bad_json_and_bad_sizes() {
        let err = CtVitConfig::from_json_str("{\"dim\": 1}", "cfg.json").unwrap_err();
        assert!(err.to_string().contains("cfg.json"), "{err}");
        let bad = CtVitConfig {
            patch_size: 5,
            ..CtVitConfig::tiny()
        };
        let err = bad.validate("x").unwrap_err();
        assert!(err.to_string().contains("patch_size"), "{err}");
    }

    #[test]
    fn absurd_sizes_are_refused_before_allocating() {
        let json = r#"{"dim": 1000000000, "codebook_size": 32, "image_size": 32, "patch_size": 8,
            "temporal_patch_size": 4, "spatial_depth": 2, "temporal_depth": 2, "dim_head": 16,
            "heads": 4}"#;
        let err = CtVitConfig::from_json_str(json, "big.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("big.json") && err.contains("dim 1000000000"),
            "{err}"
        );
        let huge_depth = CtVitConfig {
            spatial_depth: usize::MAX,
            ..CtVitConfig::tiny()
        };
        assert!(huge_depth.validate("x").is_err());
        assert!(CtVitConfig::ct_clip().validate("x").is_ok());
    }
}
