//! Property tests of resampling and crop / pad.

use proptest::prelude::*;
use rad3d_volume::{Axcodes, Preprocess, Volume, resampled_size};

fn volume(shape: [usize; 3], spacing: [f64; 3], seed: u64) -> Volume {
    let n: usize = shape.iter().product();
    let data = (0..n as u64)
        .map(|i| ((i.wrapping_mul(2654435761).wrapping_add(seed) % 4001) as f32) - 2000.0)
        .collect();
    Volume::from_spacing(data, shape, spacing, Axcodes::RAS).unwrap()
}

fn dims() -> impl Strategy<Value = [usize; 3]> {
    prop::array::uniform3(1usize..12)
}

fn spacings() -> impl Strategy<Value = [f64; 3]> {
    prop::array::uniform3(0.3f64..4.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn identity_spacing_is_identity(shape in dims(), spacing in spacings(), seed in any::<u64>()) {
        let v = volume(shape, spacing, seed);
        let r = v.resample(v.spacing()).unwrap();
        prop_assert_eq!(r.shape(), shape);
        prop_assert_eq!(r.data(), v.data());
        prop_assert_eq!(r.affine(), v.affine());
    }

    #[test]
    fn constant_volume_stays_constant(shape in dims(), spacing in spacings(), target in spacings(), c in -3000f32..3000.0) {
        let v = Volume::from_spacing(vec![c; shape.iter().product()], shape, spacing, Axcodes::LPS).unwrap();
        // Skip targets whose output would be empty; the error path is tested separately.
        prop_assume!((0..3).all(|a| resampled_size(shape[a], spacing[a], target[a]).is_ok()));
        let r = v.resample(target).unwrap();
        // Weights sum to one in f32, so a constant is reproduced to rounding.
        for &x in r.data() {
            prop_assert!((x - c).abs() <= c.abs() * 1e-6 + 1e-6, "{} vs {}", x, c);
        }
    }

    #[test]
    fn output_size_formula(shape in dims(), spacing in spacings(), target in spacings()) {
        let v = volume(shape, spacing, 1);
        match v.resample(target) {
            Ok(r) => {
                for a in 0..3 {
                    let want = (shape[a] as f64 * (v.spacing()[a] / target[a])).floor() as usize;
                    prop_assert_eq!(r.shape()[a], want);
                }
            }
            Err(_) => prop_assert!((0..3).any(|a| (shape[a] as f64 * (v.spacing()[a] / target[a])).floor() < 1.0)),
        }
    }

    #[test]
    fn resampled_values_stay_within_input_range(shape in dims(), spacing in spacings(), target in spacings()) {
        let v = volume(shape, spacing, 9);
        prop_assume!((0..3).all(|a| resampled_size(shape[a], spacing[a], target[a]).is_ok()));
        let (lo, hi) = v.data().iter().fold((f32::MAX, f32::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        for &x in v.resample(target).unwrap().data() {
            prop_assert!(x >= lo - 1e-3 && x <= hi + 1e-3);
        }
    }

    #[test]
    fn crop_pad_places_the_centre(shape in dims(), out in dims(), seed in any::<u64>()) {
        let v = volume(shape, [1.0; 3], seed);
        let c = v.crop_or_pad(out, -7.0);
        prop_assert_eq!(c.shape(), out);
        for k in 0..out[2] {
            for j in 0..out[1] {
                for i in 0..out[0] {
                    let f = [i, j, k];
                    let src: Option<Vec<usize>> = (0..3).map(|a| {
                        let (n, m) = (shape[a], out[a]);
                        let (crop, pad) = (n.saturating_sub(m) / 2, m.saturating_sub(n) / 2);
                        (f[a] >= pad && f[a] - pad < n.min(m)).then(|| f[a] - pad + crop)
                    }).collect();
                    let want = match src {
                        Some(s) => v.get(s[0], s[1], s[2]).unwrap(),
                        None => -7.0,
                    };
                    prop_assert_eq!(c.get(i, j, k), Some(want));
                }
            }
        }
        // Padding then cropping back recovers the original.
        let big = [shape[0] + out[0], shape[1] + out[1], shape[2] + out[2]];
        let back = v.crop_or_pad(big, 0.0).crop_or_pad(shape, 0.0);
        prop_assert_eq!(back.data(), v.data());
    }

    #[test]
    fn any_orientation_gives_the_same_tensor(shape in dims(), spacing in spacings(), perm in 0usize..6, flips in 0u8..8) {
        // The same anatomy stored in another orientation preprocesses identically.
        let v = volume(shape, spacing, 3);
        let orders = ["LPS", "PLS", "SPL", "ASR", "RSA", "IRP"];
        let mut codes: Vec<char> = orders[perm].chars().collect();
        for (b, c) in codes.iter_mut().enumerate() {
            if flips & (1 << b) != 0 {
                *c = match *c { 'L' => 'R', 'R' => 'L', 'P' => 'A', 'A' => 'P', 'S' => 'I', _ => 'S' };
            }
        }
        let target: Axcodes = codes.iter().collect::<String>().parse().unwrap();
        let other = v.reorient(target);
        prop_assert_eq!(other.orientation(), target);
        let p = Preprocess::ct_clip().with_target_shape([8, 16, 16]);
        prop_assume!(p.resampled_size(&v).is_ok());
        let (a, b) = (p.apply(&v).unwrap(), p.apply(&other).unwrap());
        prop_assert_eq!(a.data(), b.data());
    }
}
