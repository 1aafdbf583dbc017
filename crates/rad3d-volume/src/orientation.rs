//! Voxel-to-world affines and nibabel-compatible orientation codes.
//!
//! World space is NIfTI's RAS+ (x to the patient's Right→left is negative, y to
//! Anterior, z to Superior). Orientation follows nibabel's `io_orientation`: the
//! affine's rotation part is replaced by its closest orthogonal matrix (polar
//! decomposition), and each voxel axis is assigned, in order, to the world axis it
//! moves along most, ties going to the lower world axis.

use std::fmt;
use std::str::FromStr;

use crate::error::VolumeError;

/// A 4×4 homogeneous voxel-index → world-millimetre transform (row-major, RAS+).
pub type Affine = [[f64; 4]; 4];

/// The identity affine.
pub const IDENTITY: Affine = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// Labels of the negative / positive direction of each world axis (nibabel's defaults).
const LABELS: [[char; 2]; 3] = [['L', 'R'], ['P', 'A'], ['I', 'S']];

/// Where one voxel axis points in world space: a world axis and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AxisDirection {
    /// World axis (0 = x R/L, 1 = y A/P, 2 = z S/I).
    pub world_axis: usize,
    /// `true` when the voxel index grows towards the negative world direction (L, P or I).
    pub negative: bool,
}

/// Three orientation codes, one per voxel axis in storage order, e.g. `"RAS"` or `"LPS"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Axcodes(pub [AxisDirection; 3]);

impl Axcodes {
    /// CT-RATE's storage orientation (nibabel codes `L, P, S`).
    pub const LPS: Axcodes = Axcodes([
        AxisDirection {
            world_axis: 0,
            negative: true,
        },
        AxisDirection {
            world_axis: 1,
            negative: true,
        },
        AxisDirection {
            world_axis: 2,
            negative: false,
        },
    ]);
    /// NIfTI's canonical orientation (nibabel codes `R, A, S`).
    pub const RAS: Axcodes = Axcodes([
        AxisDirection {
            world_axis: 0,
            negative: false,
        },
        AxisDirection {
            world_axis: 1,
            negative: false,
        },
        AxisDirection {
            world_axis: 2,
            negative: false,
        },
    ]);
    /// CT-CLIP's tensor orientation in this crate's storage order (first axis fastest):
    /// `P, L, S`, i.e. the row-major array `[S][L][P]` = `(t, h, w)`.
    pub const CT_CLIP: Axcodes = Axcodes([
        AxisDirection {
            world_axis: 1,
            negative: true,
        },
        AxisDirection {
            world_axis: 0,
            negative: true,
        },
        AxisDirection {
            world_axis: 2,
            negative: false,
        },
    ]);

    /// The code letter of each axis.
    pub fn letters(&self) -> [char; 3] {
        self.0
            .map(|d| LABELS[d.world_axis][usize::from(!d.negative)])
    }
}

impl fmt::Display for Axcodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.letters();
        write!(f, "{a}{b}{c}")
    }
}

impl FromStr for Axcodes {
    type Err = VolumeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || VolumeError::InvalidConfig {
            field: "axcodes",
            value: s.to_string(),
            reason: "need three letters from L/R, P/A, I/S, one per world axis",
        };
        let chars: Vec<char> = s.chars().map(|c| c.to_ascii_uppercase()).collect();
        if chars.len() != 3 {
            return Err(bad());
        }
        let mut out = [AxisDirection {
            world_axis: 0,
            negative: false,
        }; 3];
        let mut seen = [false; 3];
        for (slot, c) in out.iter_mut().zip(&chars) {
            let (axis, dir) = LABELS
                .iter()
                .enumerate()
                .find_map(|(a, l)| l.iter().position(|x| x == c).map(|d| (a, d)))
                .ok_or_else(bad)?;
            if seen[axis] {
                return Err(bad());
            }
            seen[axis] = true;
            *slot = AxisDirection {
                world_axis: axis,
                negative: dir == 0,
            };
        }
        Ok(Axcodes(out))
    }
}

/// nibabel's `io_orientation` for a non-singular affine.
pub fn io_orientation(affine: &Affine) -> Axcodes {
    let mut rzs = [[0.0f64; 3]; 3];
    for (r, row) in rzs.iter_mut().enumerate() {
        row.copy_from_slice(&affine[r][..3]);
    }
    for c in 0..3 {
        let mut z = (0..3).map(|r| rzs[r][c] * rzs[r][c]).sum::<f64>().sqrt();
        if z == 0.0 {
            z = 1.0;
        }
        for row in rzs.iter_mut() {
            row[c] /= z;
        }
    }
    let mut r = polar_orthogonal(rzs);
    let mut out = [AxisDirection {
        world_axis: 0,
        negative: false,
    }; 3];
    for (in_ax, slot) in out.iter_mut().enumerate() {
        // argmax of |R[:, in_ax]|, first maximum wins as with np.argmax.
        let mut best = 0;
        for row in 1..3 {
            if r[row][in_ax].abs() > r[best][in_ax].abs() {
                best = row;
            }
        }
        *slot = AxisDirection {
            world_axis: best,
            negative: r[best][in_ax] < 0.0,
        };
        // Remove the chosen world axis from consideration for later voxel axes.
        r[best] = [0.0; 3];
    }
    Axcodes(out)
}

/// The orthogonal factor of the polar decomposition of a non-singular 3×3 matrix,
/// found by Newton's iteration `X ← (X + X⁻ᵀ) / 2`, which converges quadratically.
fn polar_orthogonal(m: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut x = m;
    for _ in 0..100 {
        let Some(inv) = invert3(&x) else { return x };
        let mut next = [[0.0; 3]; 3];
        let mut delta = 0.0f64;
        for i in 0..3 {
            for j in 0..3 {
                next[i][j] = 0.5 * (x[i][j] + inv[j][i]);
                delta = delta.max((next[i][j] - x[i][j]).abs());
            }
        }
        x = next;
        if delta < 1e-15 {
            break;
        }
    }
    x
}

/// Inverse of a 3×3 matrix, `None` when singular.
pub(crate) fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = det3(m);
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let (r0, r1) = ((j + 1) % 3, (j + 2) % 3);
            let (c0, c1) = ((i + 1) % 3, (i + 2) % 3);
            inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
    }
    Some(inv)
}

/// Determinant of a 3×3 matrix.
pub(crate) fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// Length of each voxel axis in world millimetres (column norms, as nibabel's `voxel_sizes`).
pub fn voxel_sizes(affine: &Affine) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        // Summed in row order like numpy's `(a**2).sum(0)` so sizes match bit for bit.
        let mut s = 0.0;
        for row in affine.iter().take(3) {
            s += row[c] * row[c];
        }
        *o = s.sqrt();
    }
    out
}

/// `true` when the rotation/zoom block is finite and far from singular.
pub fn is_invertible(affine: &Affine) -> bool {
    let mut m = [[0.0; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        row.copy_from_slice(&affine[r][..3]);
    }
    if affine.iter().take(3).flatten().any(|v| !v.is_finite()) {
        return false;
    }
    let scale: f64 = voxel_sizes(affine).iter().product();
    let det = det3(&m);
    scale > 0.0 && (det.abs() / scale) > 1e-6
}

/// Multiply two affines.
pub fn matmul(a: &Affine, b: &Affine) -> Affine {
    let mut out = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            out[i][j] = (0..4).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// How to read a volume stored in one orientation as another: for each target
/// axis, the source axis it comes from and whether it is flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisMap {
    /// `source[t]` = source voxel axis feeding target axis `t`.
    pub source: [usize; 3],
    /// `flip[t]`: index `u` along target axis `t` is `n - 1 - u` along the source axis.
    pub flip: [bool; 3],
}

impl AxisMap {
    /// The map that turns data oriented as `from` into data oriented as `to`.
    pub fn between(from: Axcodes, to: Axcodes) -> AxisMap {
        let mut source = [0; 3];
        let mut flip = [false; 3];
        for (t, td) in to.0.iter().enumerate() {
            let s = from
                .0
                .iter()
                .position(|sd| sd.world_axis == td.world_axis)
                .expect("axcodes cover every world axis once");
            source[t] = s;
            flip[t] = from.0[s].negative != td.negative;
        }
        AxisMap { source, flip }
    }

    /// Target shape for a source of shape `shape`.
    pub fn target_shape(&self, shape: [usize; 3]) -> [usize; 3] {
        self.source.map(|s| shape[s])
    }

    /// Affine of the target grid given the source affine and shape.
    pub fn target_affine(&self, affine: &Affine, shape: [usize; 3]) -> Affine {
        // m maps a target voxel index to the source voxel index.
        let mut m = [[0.0; 4]; 4];
        m[3][3] = 1.0;
        for t in 0..3 {
            let s = self.source[t];
            if self.flip[t] {
                m[s][t] = -1.0;
                m[s][3] = shape[s] as f64 - 1.0;
            } else {
                m[s][t] = 1.0;
            }
        }
        matmul(affine, &m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_axcodes() {
        for s in ["RAS", "LPS", "PLS", "SAR", "ILP"] {
            assert_eq!(s.parse::<Axcodes>().unwrap().to_string(), s);
        }
        assert!("RRS".parse::<Axcodes>().is_err());
        assert!("RA".parse::<Axcodes>().is_err());
        assert_eq!(Axcodes::CT_CLIP.to_string(), "PLS");
    }

    #[test]
    fn io_orientation_matches_nibabel_examples() {
        let mut a = IDENTITY;
        assert_eq!(io_orientation(&a).to_string(), "RAS");
        a[0][0] = -0.7;
        a[1][1] = -0.7;
        a[2][2] = 1.25;
        assert_eq!(io_orientation(&a).to_string(), "LPS");
        // A 30° oblique rotation about z still picks the nearest axes.
        let (s, c) = (30f64.to_radians().sin(), 30f64.to_radians().cos());
        let rot = [
            [c, -s, 0.0, 0.0],
            [s, c, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        assert_eq!(io_orientation(&rot).to_string(), "RAS");
        // Permuted axes: voxel i runs along S, j along L, k along P.
        let perm = [
            [0.0, -1.0, 0.0, 0.0],
            [0.0, 0.0, -1.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        assert_eq!(io_orientation(&perm).to_string(), "SLP");
    }

    #[test]
    fn axis_map_round_trips_affine() {
        let mut a = IDENTITY;
        a[0][3] = 10.0;
        let map = AxisMap::between(Axcodes::RAS, Axcodes::LPS);
        assert_eq!(map.source, [0, 1, 2]);
        assert_eq!(map.flip, [true, true, false]);
        let b = map.target_affine(&a, [5, 6, 7]);
        assert_eq!(io_orientation(&b), Axcodes::LPS);
        // Target voxel (0,0,0) is source voxel (4,5,0).
        assert_eq!(b[0][3], 14.0);
        assert_eq!(b[1][3], 5.0);
    }
}
