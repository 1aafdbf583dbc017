//! Against the reference tools: scikit-learn's trustworthiness and `umap-learn`'s curve
//! parameters (values from `sklearn.manifold.trustworthiness` 1.9 and
//! `umap.umap_.find_ab_params` 0.5.12 on the same inputs), and UMAP's behaviour on
//! clustered data.

use rad3d_io::SplitMix64;
use rad3d_umap::curve::find_ab;
use rad3d_umap::{Data, Init, Umap, UmapConfig, trustworthiness};

/// `X[i, d] = sin(float32(0.7 i + 1.3 d)) + 2 (i mod 3)`, 30 × 4, and a 2-D picture of it.
fn formula_points() -> (Vec<f32>, Vec<f32>) {
    let n = 30;
    let x: Vec<f32> = (0..n)
        .flat_map(|i| {
            (0..4).map(move |d| {
                ((i as f64 * 0.7 + d as f64 * 1.3) as f32).sin() + (i % 3) as f32 * 2.0
            })
        })
        .collect();
    let y: Vec<f32> = (0..n)
        .flat_map(|i| {
            let r = &x[i * 4..i * 4 + 4];
            [r[0] + 0.3 * (i as f32).cos(), r[1] * 0.5 + r[2]]
        })
        .collect();
    (x, y)
}

#[test]
fn trustworthiness_equals_scikit_learn() {
    let (x, y) = formula_points();
    let (x, y) = (Data::new(&x, 30, 4).unwrap(), Data::new(&y, 30, 2).unwrap());
    for (k, expected) in [
        (3, 0.98),
        (5, 0.955_757_575_757_575_8),
        (10, 0.968_965_517_241_379_4),
    ] {
        let t = trustworthiness(&x, &y, k).unwrap();
        assert!((t - expected).abs() < 1e-12, "k = {k}: {t} vs {expected}");
    }
}

#[test]
fn curve_parameters_equal_umap_learn() {
    for (spread, min_dist, a, b) in [
        (1.0, 0.1, 1.576_943_460_269_765_2, 0.895_060_877_851_573_3),
        (1.0, 0.5, 0.583_030_020_341_442_5, 1.334_166_992_431_491_4),
        (2.0, 0.25, 0.416_273_496_670_131_86, 0.921_855_132_407_287_3),
    ] {
        let (fa, fb) = find_ab(spread, min_dist);
        assert!(
            (fa - a).abs() < 1e-5 && (fb - b).abs() < 1e-5,
            "{spread} {min_dist}: {fa} {fb}"
        );
    }
}

/// Three Gaussian blobs in 20 dimensions, 60 points each.
fn blobs(seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..20).map(|_| rng.gauss() * 6.0).collect())
        .collect();
    (0..180)
        .flat_map(|i| {
            let c = centres[i / 60].clone();
            c.into_iter()
                .map(|m| (m + rng.gauss()) as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn clusters_stay_apart_and_neighbourhoods_stay_true() {
    let rows = blobs(11);
    let data = Data::new(&rows, 180, 20).unwrap();
    for init in [Init::Pca, Init::Random] {
        let config = UmapConfig {
            n_components: 3,
            n_epochs: Some(200),
            init,
            seed: 5,
            ..Default::default()
        };
        let umap = Umap::new(config).unwrap();
        let e = umap.fit(&data).unwrap();
        assert_eq!(e, umap.fit(&data).unwrap(), "a seed fixes the embedding");
        let t = trustworthiness(&data, &e.as_data().unwrap(), 10).unwrap();
        assert!(t > 0.9, "{init:?}: trustworthiness {t}");
        // Each point is nearer its own blob's embedded centroid than any other.
        let centroid = |b: usize| -> Vec<f32> {
            (0..3)
                .map(|d| (b * 60..(b + 1) * 60).map(|i| e.point(i)[d]).sum::<f32>() / 60.0)
                .collect()
        };
        let cs: Vec<Vec<f32>> = (0..3).map(centroid).collect();
        for i in 0..180 {
            let dist =
                |c: &Vec<f32>| -> f32 { (0..3).map(|d| (e.point(i)[d] - c[d]).powi(2)).sum() };
            let nearest = (0..3)
                .min_by(|&a, &b| dist(&cs[a]).total_cmp(&dist(&cs[b])))
                .unwrap();
            assert_eq!(nearest, i / 60, "{init:?}: point {i}");
        }
    }
    let other = Umap::new(UmapConfig {
        seed: 6,
        n_epochs: Some(50),
        ..Default::default()
    })
    .unwrap()
    .fit(&data)
    .unwrap();
    let again = Umap::new(UmapConfig {
        seed: 5,
        n_epochs: Some(50),
        ..Default::default()
    })
    .unwrap()
    .fit(&data)
    .unwrap();
    assert_ne!(other, again, "another seed, another embedding");
}

#[test]
fn bad_inputs_and_settings_are_refused() {
    let rows = [1.0f32, f32::NAN, 3.0, 4.0];
    let e = Data::new(&rows, 2, 2).unwrap_err().to_string();
    assert!(e.contains("point 0 coordinate 1"), "{e}");
    assert!(Data::new(&rows, 3, 2).is_err());
    let few = [0.0f32; 10];
    let data = Data::new(&few, 10, 1).unwrap();
    let e = Umap::new(UmapConfig::default())
        .unwrap()
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_neighbors = 15"), "{e}");
    for config in [
        UmapConfig {
            n_neighbors: 1,
            ..Default::default()
        },
        UmapConfig {
            min_dist: 2.0,
            ..Default::default()
        },
        UmapConfig {
            n_components: 0,
            ..Default::default()
        },
        UmapConfig {
            learning_rate: f32::NAN,
            ..Default::default()
        },
    ] {
        assert!(Umap::new(config).is_err());
    }
}
