//! Synthetic chest-CT phantoms with labelled findings.
//!
//! The anatomy (body with subcutaneous fat, lungs with airways, heart with
//! epicardial fat, aorta, trachea, spine, mediastinal fat) is defined in
//! normalised coordinates of the field of view, so any grid size gives the same
//! patient. Each [`Finding`] changes a region to a clearly different HU value
//! (fluid ≈ 10 HU where there was lung ≈ −860 HU, calcium ≥ 700 HU, …) so that a
//! classifier on CT features can learn it. Generation is deterministic in the
//! seed (positions jitter with it) and parallel over slices; voxel noise is a
//! counter-based hash of `(seed, voxel)`, so results do not depend on threads.
//!
//! Storage orientation is `LPS` (as CT-RATE): the first axis runs to the patient's
//! left, the second to posterior, the third to superior.

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Result, VolumeError};
use crate::orientation::Axcodes;
use crate::volume::Volume;
use crate::write::{WriteDtype, write_nifti};

/// Names of the phantom's findings, indexed by [`Finding::label_index`].
///
/// They are CT-RATE's 18 abnormality labels, in the order of the dataset's label CSVs
/// (which is the order of CT-CLIP's logits), so that a phantom's multi-hot vector can be
/// scored by a CT-RATE classifier; `rad3d-classifier`, which owns the label set
/// (`CT_RATE_LABELS`), checks that the two lists agree.
pub const FINDING_NAMES: [&str; 18] = [
    "Medical material",
    "Arterial wall calcification",
    "Cardiomegaly",
    "Pericardial effusion",
    "Coronary artery wall calcification",
    "Hiatal hernia",
    "Lymphadenopathy",
    "Emphysema",
    "Atelectasis",
    "Lung nodule",
    "Lung opacity",
    "Pulmonary fibrotic sequela",
    "Pleural effusion",
    "Mosaic attenuation pattern",
    "Peribronchial thickening",
    "Consolidation",
    "Bronchiectasis",
    "Interlobular septal thickening",
];

/// Patient side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Patient's left.
    Left,
    /// Patient's right.
    Right,
}

/// An abnormality the phantom can show; each maps to one CT-RATE label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finding {
    /// Pacemaker generator and lead (metal, ~3000 HU).
    MedicalMaterial,
    /// Calcified plaques in the aortic wall (~700 HU).
    ArterialWallCalcification,
    /// Heart enlarged by 35 %.
    Cardiomegaly,
    /// Fluid (~8 HU) replacing the epicardial fat ring.
    PericardialEffusion,
    /// Calcified spots (~800 HU) on the heart surface.
    CoronaryArteryWallCalcification,
    /// Stomach herniated above the diaphragm: air over fluid behind the heart.
    HiatalHernia,
    /// Enlarged mediastinal lymph nodes (~45 HU in −80 HU fat).
    Lymphadenopathy,
    /// Hyperlucent upper lungs (~−950 HU) with bullae.
    Emphysema,
    /// Band of collapsed lung (~25 HU) at the bases.
    Atelectasis,
    /// A solid nodule (~50 HU) in the right upper lung.
    LungNodule,
    /// Ground-glass patch (~−550 HU) in the left lung.
    LungOpacity,
    /// Peripheral reticulation (~−200 HU) in the lower lungs.
    PulmonaryFibroticSequela,
    /// Posterior dependent fluid (~12 HU) in one pleural space; label "Pleural effusion".
    PleuralEffusion(Side),
    /// Alternating lobules of low (~−960 HU) and high (~−700 HU) lung attenuation.
    MosaicAttenuationPattern,
    /// Thickened (~50 HU) airway walls.
    PeribronchialThickening,
    /// Airspace filling (~35 HU) of the right lower lobe.
    Consolidation,
    /// Dilated airways with walls.
    Bronchiectasis,
    /// A grid of thickened septa (~−300 HU) in the lower lungs.
    InterlobularSeptalThickening,
}

impl Finding {
    /// The CT-RATE label name (both pleural effusion sides map to "Pleural effusion").
    pub fn label(&self) -> &'static str {
        FINDING_NAMES[self.label_index()]
    }

    /// Index of [`label`](Self::label) in [`FINDING_NAMES`] (and in CT-RATE's label order).
    pub fn label_index(&self) -> usize {
        match self {
            Finding::MedicalMaterial => 0,
            Finding::ArterialWallCalcification => 1,
            Finding::Cardiomegaly => 2,
            Finding::PericardialEffusion => 3,
            Finding::CoronaryArteryWallCalcification => 4,
            Finding::HiatalHernia => 5,
            Finding::Lymphadenopathy => 6,
            Finding::Emphysema => 7,
            Finding::Atelectasis => 8,
            Finding::LungNodule => 9,
            Finding::LungOpacity => 10,
            Finding::PulmonaryFibroticSequela => 11,
            Finding::PleuralEffusion(_) => 12,
            Finding::MosaicAttenuationPattern => 13,
            Finding::PeribronchialThickening => 14,
            Finding::Consolidation => 15,
            Finding::Bronchiectasis => 16,
            Finding::InterlobularSeptalThickening => 17,
        }
    }

    /// One finding per CT-RATE label, in label order (right-sided pleural effusion).
    pub fn all() -> [Finding; 18] {
        use Finding::*;
        [
            MedicalMaterial,
            ArterialWallCalcification,
            Cardiomegaly,
            PericardialEffusion,
            CoronaryArteryWallCalcification,
            HiatalHernia,
            Lymphadenopathy,
            Emphysema,
            Atelectasis,
            LungNodule,
            LungOpacity,
            PulmonaryFibroticSequela,
            PleuralEffusion(Side::Right),
            MosaicAttenuationPattern,
            PeribronchialThickening,
            Consolidation,
            Bronchiectasis,
            InterlobularSeptalThickening,
        ]
    }

    /// Multi-hot vector over [`FINDING_NAMES`] (CT-RATE's label order) for a set of findings.
    pub fn multi_hot(findings: &[Finding]) -> [f32; 18] {
        let mut out = [0.0; 18];
        for f in findings {
            out[f.label_index()] = 1.0;
        }
        out
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomConfig {
    /// Grid size `[n_LR, n_AP, n_IS]` (first axis fastest).
    pub shape: [usize; 3],
    /// Voxel size in mm per axis.
    pub spacing: [f64; 3],
    /// Abnormalities to add.
    pub findings: Vec<Finding>,
    /// Seed for position jitter and noise.
    pub seed: u64,
    /// Standard deviation of the voxel noise in HU.
    pub noise_hu: f32,
}

impl PhantomConfig {
    /// 64 × 64 × 48 voxels covering a 358 × 358 × 375 mm chest: quick tests.
    pub fn small(seed: u64) -> PhantomConfig {
        PhantomConfig {
            shape: [64, 64, 48],
            spacing: [5.6, 5.6, 7.8125],
            findings: Vec::new(),
            seed,
            noise_hu: 15.0,
        }
    }

    /// 512 × 512 × 300 voxels of 0.7 × 0.7 × 1.25 mm: a full-size chest CT for benches.
    pub fn full(seed: u64) -> PhantomConfig {
        PhantomConfig {
            shape: [512, 512, 300],
            spacing: [0.7, 0.7, 1.25],
            findings: Vec::new(),
            seed,
            noise_hu: 15.0,
        }
    }

    /// The same configuration with `findings`.
    pub fn with_findings(mut self, findings: Vec<Finding>) -> PhantomConfig {
        self.findings = findings;
        self
    }
}

/// Phantom generator.
pub struct Phantom;

impl Phantom {
    /// Generate the phantom volume (HU, `LPS`, centred on the world origin).
    pub fn generate(config: &PhantomConfig) -> Result<Volume> {
        let [n0, n1, n2] = config.shape;
        if config.shape.contains(&0) || config.shape.iter().product::<usize>() > 1 << 31 {
            return Err(VolumeError::InvalidConfig {
                field: "shape",
                value: format!("{:?}", config.shape),
                reason: "need 1..=2^31 voxels",
            });
        }
        if !(config.noise_hu.is_finite() && config.noise_hu >= 0.0) {
            return Err(VolumeError::InvalidConfig {
                field: "noise_hu",
                value: config.noise_hu.to_string(),
                reason: "must be finite and >= 0",
            });
        }
        let anatomy = Anatomy::new(config);
        let plane = n0 * n1;
        let mut data = vec![0.0f32; plane * n2];
        data.par_chunks_mut(plane).enumerate().for_each(|(k, out)| {
            let z = norm(k, n2);
            for j in 0..n1 {
                let y = norm(j, n1);
                for i in 0..n0 {
                    let x = norm(i, n0);
                    let idx = i + n0 * (j + n1 * k);
                    let noise = gaussian(config.seed, idx as u64) * config.noise_hu;
                    out[i + n0 * j] = anatomy.hu(x, y, z) + noise;
                }
            }
        });
        Volume::from_spacing(data, config.shape, config.spacing, Axcodes::LPS)
    }

    /// Generate and write as int16 NIfTI (`.nii` or `.nii.gz`) with its affine.
    pub fn write(path: impl AsRef<Path>, config: &PhantomConfig) -> Result<Volume> {
        let volume = Phantom::generate(config)?;
        write_nifti(path, &volume, WriteDtype::Int16)?;
        Ok(volume)
    }
}

/// Centre of voxel `i` of `n` in [−1, 1].
fn norm(i: usize, n: usize) -> f32 {
    2.0 * (i as f32 + 0.5) / n as f32 - 1.0
}

/// The first SplitMix64 output of state `x`: a counter-based hash of `x`.
fn splitmix(x: u64) -> u64 {
    rad3d_io::SplitMix64::new(x).next_u64()
}

/// Approximately standard normal noise (sum of four 16-bit uniforms).
fn gaussian(seed: u64, idx: u64) -> f32 {
    let h = splitmix(seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ idx);
    let s: u32 = (0..4).map(|q| ((h >> (16 * q)) & 0xFFFF) as u32).sum();
    // Four U(0,1) sum to mean 2, variance 1/3.
    (s as f32 / 65535.0 - 2.0) * 1.732_050_8
}

/// Uniform jitter in [−a, a] for finding `slot`.
fn jitter(seed: u64, slot: u64, a: f32) -> f32 {
    let h = splitmix(splitmix(seed) ^ slot.wrapping_mul(0xA24B_AED4_963E_E407));
    ((h >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
}

fn ellipse(dx: f32, dy: f32, rx: f32, ry: f32) -> f32 {
    (dx / rx).powi(2) + (dy / ry).powi(2)
}

/// Anatomy and findings, with every position resolved once per phantom.
struct Anatomy {
    heart: [f32; 6],
    nodule: [f32; 3],
    opacity: [f32; 3],
    hernia: [f32; 3],
    bullae: [[f32; 3]; 3],
    nodes: [[f32; 3]; 3],
    coronary: [[f32; 3]; 3],
    effusion: [Option<f32>; 2],
    has: [bool; 18],
}

const HEART: [f32; 6] = [0.08, -0.18, -0.3, 0.22, 0.2, 0.26];
/// Airways as vertical tubes at these in-plane positions (per lung, mirrored).
const AIRWAYS: [[f32; 2]; 3] = [[0.28, -0.05], [0.42, 0.1], [0.36, -0.2]];

impl Anatomy {
    fn new(c: &PhantomConfig) -> Anatomy {
        let s = c.seed;
        let j = |slot: u64, a: f32| jitter(s, slot, a);
        let mut has = [false; 18];
        let mut effusion = [None, None];
        for f in &c.findings {
            has[f.label_index()] = true;
            if let Finding::PleuralEffusion(side) = f {
                effusion[(*side == Side::Right) as usize] = Some(0.12 + j(30 + *side as u64, 0.06));
            }
        }
        let mut heart = HEART;
        heart[0] += j(1, 0.03);
        heart[1] += j(2, 0.02);
        if has[2] {
            for r in &mut heart[3..] {
                *r *= 1.35;
            }
        }
        let sp = |slot: u64, p: [f32; 3], a: f32| {
            [
                p[0] + j(slot, a),
                p[1] + j(slot + 1, a),
                p[2] + j(slot + 2, a),
            ]
        };
        Anatomy {
            heart,
            nodule: sp(10, [-0.36, -0.05, 0.35], 0.05),
            opacity: sp(13, [0.38, -0.02, 0.1], 0.05),
            hernia: sp(16, [0.03, 0.2, -0.62], 0.02),
            bullae: [
                sp(40, [0.35, 0.0, 0.5], 0.05),
                sp(43, [-0.3, -0.1, 0.45], 0.05),
                sp(46, [0.4, 0.15, 0.2], 0.05),
            ],
            nodes: [
                sp(50, [-0.1, -0.08, 0.25], 0.02),
                sp(53, [0.1, -0.05, 0.15], 0.02),
                sp(56, [-0.08, 0.08, 0.0], 0.02),
            ],
            coronary: [
                [
                    heart[0] + 0.5 * heart[3],
                    heart[1] - 0.75 * heart[4],
                    heart[2] + 0.3 * heart[5],
                ],
                [
                    heart[0] - 0.6 * heart[3],
                    heart[1] - 0.7 * heart[4],
                    heart[2] + 0.2 * heart[5],
                ],
                [
                    heart[0] + 0.2 * heart[3],
                    heart[1] - 0.9 * heart[4],
                    heart[2] - 0.1 * heart[5],
                ],
            ],
            effusion,
            has,
        }
    }

    /// HU at normalised position (x to the left, y to posterior, z to superior).
    fn hu(&self, x: f32, y: f32, z: f32) -> f32 {
        let has = &self.has;
        let body = ellipse(x, y - 0.05, 0.8, 0.55);
        if body > 1.0 {
            return -1000.0;
        }
        let mut v = if body > 0.8 { -100.0 } else { 45.0 };
        // Medical material: pacemaker generator in the left anterior chest wall, lead to the heart.
        if has[0] {
            if (x - 0.45).abs() < 0.08 && (y + 0.4).abs() < 0.03 && (z - 0.55).abs() < 0.06 {
                return 3000.0;
            }
            let t = ((z - 0.55) / (self.heart[2] - 0.55)).clamp(0.0, 1.0);
            let (lx, ly) = (
                0.45 + t * (self.heart[0] - 0.45),
                -0.4 + t * (self.heart[1] - -0.4),
            );
            if z < 0.55 && z > self.heart[2] && ellipse(x - lx, y - ly, 0.02, 0.02) < 1.0 {
                return 2000.0;
            }
        }
        if body > 0.8 {
            return v;
        }
        // Mediastinal fat between the lungs.
        if x.abs() < 0.2 && y > -0.42 && y < 0.3 && z > -0.8 && z < 0.7 {
            v = -80.0;
        }
        // Spine: vertebral bodies with cortex, discs and canal.
        let vb = ellipse(x, y - 0.4, 0.1, 0.1);
        if vb < 1.0 {
            let disc = (z * 11.0).rem_euclid(1.0) < 0.18;
            return if disc {
                80.0
            } else if vb > 0.7 {
                700.0
            } else {
                250.0
            };
        }
        if ellipse(x, y - 0.54, 0.045, 0.045) < 1.0 {
            return 15.0;
        }
        // Lungs.
        let side = if x > 0.0 { 0 } else { 1 }; // 0 = left, 1 = right
        let lz = 1.0 - ((z - 0.05) / 0.82).powi(2);
        let lung = if lz > 0.0 {
            let s = lz.sqrt().max(0.25);
            ellipse(x.abs() - 0.37, y + 0.0, 0.24 * s, 0.36 * s)
        } else {
            f32::INFINITY
        };
        // Heart and epicardial fat / pericardial fluid.
        let h = &self.heart;
        let hr = ellipse(x - h[0], y - h[1], h[3], h[4]) + ((z - h[2]) / h[5]).powi(2);
        if hr < 1.0 {
            if has[4]
                && self
                    .coronary
                    .iter()
                    .any(|c| dist2(x, y, z, c) < 0.03f32.powi(2))
            {
                return 800.0;
            }
            return 40.0;
        }
        if hr < 1.3 {
            return if has[3] { 8.0 } else { -90.0 };
        }
        // Aorta: ascending, arch, descending.
        let aorta_r = 0.06;
        let asc = z > h[2] && z < 0.5 && ellipse(x - 0.02, y + 0.12, aorta_r, aorta_r) < 1.0;
        let desc = z < 0.5 && ellipse(x - 0.12, y - 0.26, aorta_r, aorta_r) < 1.0;
        let t = ((y + 0.12) / 0.38).clamp(0.0, 1.0);
        let arch = dist2(x, y, z, &[0.02 + 0.1 * t, -0.12 + 0.38 * t, 0.5]) < aorta_r * aorta_r;
        if asc || desc || arch {
            if has[1] {
                let (cx, cy) = if desc { (0.12, 0.26) } else { (0.02, -0.12) };
                let r = ellipse(x - cx, y - cy, aorta_r, aorta_r);
                let theta = (y - cy).atan2(x - cx);
                if r > 0.6 && (5.0 * theta + 9.0 * z).sin() > 0.55 {
                    return 700.0;
                }
            }
            return 42.0;
        }
        // Trachea.
        if z > 0.35 && ellipse(x, y + 0.05, 0.06, 0.06) < 1.0 {
            return if ellipse(x, y + 0.05, 0.045, 0.045) < 1.0 {
                -1000.0
            } else {
                30.0
            };
        }
        if has[5] && dist2(x, y, z, &self.hernia) < 0.09f32.powi(2) {
            return if z > self.hernia[2] { -900.0 } else { 20.0 };
        }
        if has[6]
            && self
                .nodes
                .iter()
                .any(|n| dist2(x, y, z, n) < 0.045f32.powi(2))
        {
            return 45.0;
        }
        if lung >= 1.0 {
            return v;
        }
        self.lung_hu(x, y, z, lung, side)
    }

    /// Lung parenchyma, airways and lung findings at a point inside lung `side`.
    fn lung_hu(&self, x: f32, y: f32, z: f32, lung: f32, side: usize) -> f32 {
        let has = &self.has;
        if let Some(level) = self.effusion[side]
            && y > level + 0.1 * (1.0 - lung)
        {
            return 12.0;
        }
        // Airways (mirrored per lung): lumen and wall, thickened or dilated by findings.
        let (lumen, wall) = match (has[16], has[14]) {
            (true, _) => (0.06, 0.07),
            (false, true) => (0.03, 0.065),
            _ => (0.03, 0.038),
        };
        for a in AIRWAYS {
            let d = ellipse(x.abs() - a[0], y - a[1], 1.0, 1.0).sqrt();
            if z < 0.5 && z > -0.5 && d < wall {
                return if d < lumen {
                    -1000.0
                } else if has[14] {
                    50.0
                } else {
                    -150.0
                };
            }
        }
        if has[15] && side == 1 && z < -0.2 && y > -0.15 {
            return 35.0;
        }
        if has[8] && z < -0.3 && (y - 0.1).abs() < 0.035 {
            return 25.0;
        }
        if has[9] && dist2(x, y, z, &self.nodule) < 0.06f32.powi(2) {
            return 50.0;
        }
        if has[7]
            && self
                .bullae
                .iter()
                .any(|b| dist2(x, y, z, b) < 0.07f32.powi(2))
        {
            return -1000.0;
        }
        if has[10] && dist2(x, y, z, &self.opacity) < 0.16f32.powi(2) {
            return -550.0;
        }
        if has[11] && lung > 0.6 && z < 0.2 && (40.0 * x).sin() * (40.0 * y).sin() > 0.6 {
            return -200.0;
        }
        if has[17]
            && z < 0.3
            && ((x * 8.0).rem_euclid(1.0) < 0.2 || (z * 8.0).rem_euclid(1.0) < 0.2)
        {
            return -300.0;
        }
        if has[13] {
            return if (9.0 * x).sin() * (9.0 * y).sin() * (9.0 * z).sin() > 0.0 {
                -960.0
            } else {
                -700.0
            };
        }
        if has[7] && z > 0.0 {
            return -950.0;
        }
        -860.0
    }
}

fn dist2(x: f32, y: f32, z: f32, c: &[f32; 3]) -> f32 {
    (x - c[0]).powi(2) + (y - c[1]).powi(2) + (z - c[2]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_where(a: &Volume, b: &Volume) -> (f64, usize) {
        // Mean absolute HU change where the two phantoms differ by more than noise.
        let mut s = 0.0;
        let mut n = 0;
        for (x, y) in a.data().iter().zip(b.data()) {
            let d = (x - y).abs() as f64;
            if d > 50.0 {
                s += d;
                n += 1;
            }
        }
        (s / n.max(1) as f64, n)
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let c = PhantomConfig::small(7).with_findings(vec![Finding::LungNodule]);
        let a = Phantom::generate(&c).unwrap();
        assert_eq!(a, Phantom::generate(&c).unwrap());
        let b = Phantom::generate(&PhantomConfig { seed: 8, ..c }).unwrap();
        assert_ne!(a.data(), b.data());
        assert_eq!(a.shape(), [64, 64, 48]);
        assert_eq!(a.orientation(), Axcodes::LPS);
    }

    #[test]
    fn anatomy_has_expected_tissues() {
        let v = Phantom::generate(&PhantomConfig {
            noise_hu: 0.0,
            ..PhantomConfig::small(1)
        })
        .unwrap();
        let count = |lo: f32, hi: f32| v.data().iter().filter(|&&x| x >= lo && x <= hi).count();
        let total = v.len();
        assert!(count(-1000.0, -1000.0) > total / 10, "air");
        assert!(count(-860.0, -860.0) > total / 50, "lung");
        assert!(count(40.0, 45.0) > total / 20, "soft tissue");
        assert!(count(250.0, 700.0) > 100, "bone");
    }

    #[test]
    fn every_finding_changes_the_volume_visibly() {
        let base = PhantomConfig {
            noise_hu: 0.0,
            ..PhantomConfig::small(3)
        };
        let normal = Phantom::generate(&base).unwrap();
        for f in Finding::all()
            .into_iter()
            .chain([Finding::PleuralEffusion(Side::Left)])
        {
            let v = Phantom::generate(&base.clone().with_findings(vec![f])).unwrap();
            let (delta, n) = mean_where(&normal, &v);
            assert!(
                n >= 8 && delta > 90.0,
                "{f:?} ({}) changes {n} voxels by {delta:.0} HU",
                f.label()
            );
        }
        assert_eq!(
            Finding::PleuralEffusion(Side::Left).label(),
            "Pleural effusion"
        );
        assert_eq!(Finding::multi_hot(&[Finding::Cardiomegaly])[2], 1.0);
    }
}
