//! The quickstart's fast mode, asserting its results: the README's main job must keep
//! showing the method working.

use std::sync::Mutex;

use burn::backend::{Autodiff, Flex};
use rad3d_prefix::projector::Variant;
use rad3d_prefix::quickstart::{QuickstartConfig, run};

/// The backend's generator is process-wide: runs in parallel test threads would
/// interleave their draws.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn quickstart_fast_mode_reaches_its_figures() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = QuickstartConfig::fast(dir.path().join("out"));
    let device = Default::default();
    let report = run::<Autodiff<Flex>>(&config, &device, &mut |line| eprintln!("{line}")).unwrap();

    for name in ["v1", "v2", "v3", "linear"] {
        let v = report
            .variants
            .get(name)
            .unwrap_or_else(|| panic!("row {name} missing"));
        assert!(v.trainable_params > 0, "{name}");
        for x in [v.bleu_4, v.meteor, v.rouge_l, v.finding_f1] {
            assert!((0.0..=1.0).contains(&x), "{name}: {x}");
        }
        for (metric, [lo, hi]) in &v.ci {
            assert!(lo <= hi, "{name} {metric}");
        }
    }
    // V-3 feeds the classifier's logits as well: exactly clip_len × D more input weights.
    let d_model = 128;
    let extra = report.findings.len() * config.prefix_len * d_model;
    assert_eq!(
        report.variants["v3"].trainable_params,
        report.variants["v2"].trainable_params + extra
    );
    // The method works: with the classifier's logits in the prefix, the frozen LM states
    // the right findings.
    let v3 = &report.variants["v3"];
    assert!(
        v3.finding_f1 >= 0.8,
        "V-3 finding F1 {:.3} < 0.8",
        v3.finding_f1
    );
    assert!(report.classifier_macro_auroc >= 0.9);
    // V-1 fine-tunes the LLM as well, so it trains strictly more parameters than V-2.
    assert!(report.variants["v1"].trainable_params > report.variants["v2"].trainable_params);
    assert!(dir.path().join("out/metrics.json").is_file());
    assert!(dir.path().join("out/reports_v3.csv").is_file());
    assert!(dir.path().join("out/classifier_per_label.svg").is_file());
}

#[test]
fn same_seed_same_numbers() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let small = |out: &str| QuickstartConfig {
        n_train: 24,
        n_valid: 8,
        n_test: 8,
        lm_epochs: 1,
        variant_epochs: 1,
        bootstrap: 20,
        variants: vec![Variant::V3],
        ..QuickstartConfig::fast(dir.path().join(out))
    };
    let device = Default::default();
    let a = run::<Autodiff<Flex>>(&small("a"), &device, &mut |_| {}).unwrap();
    let b = run::<Autodiff<Flex>>(&small("b"), &device, &mut |_| {}).unwrap();
    assert_eq!(a.variants, b.variants);
    assert_eq!(a.classifier_auroc, b.classifier_auroc);
    let reports =
        |d: &str| std::fs::read_to_string(dir.path().join(d).join("reports_v3.csv")).unwrap();
    assert_eq!(reports("a"), reports("b"));
}
