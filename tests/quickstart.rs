//! The quickstart's fast mode, asserting its results: the README's main job must keep
//! showing the method working.

use burn::backend::{Autodiff, Flex};
use rad3d_prefix::quickstart::{QuickstartConfig, run};

#[test]
fn quickstart_fast_mode_reaches_its_figures() {
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
    // V-1 fine-tunes the LLM as well, so it trains strictly more parameters than V-2.
    assert!(report.variants["v1"].trainable_params > report.variants["v2"].trainable_params);
    assert!(dir.path().join("out/metrics.json").is_file());
    assert!(dir.path().join("out/reports_v3.csv").is_file());
    assert!(dir.path().join("out/classifier_per_label.png").is_file());
}
