//! BERTScore parity with the `bert-score` package (all-MiniLM-L6-v2, layer 6):
//! the public fixture (`public_expected.json`) and our own edge cases
//! (`tests/data/bertscore_cases.json`, made by `scripts/reference/bertscore_cases.py`)
//! with and without idf and baseline rescaling.
#![cfg(feature = "bertscore")]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::backend::Flex;
use common::{available, json, lines};
use rad3d_metrics::bertscore::{Baseline, BertScoreOptions, BertScorer};

type B = Flex;

const TOL: f64 = 1e-4;

fn scorer() -> &'static BertScorer<B> {
    static SCORER: OnceLock<BertScorer<B>> = OnceLock::new();
    SCORER.get_or_init(|| {
        BertScorer::<B>::load(model_dir(), Some(6), &Default::default()).expect("load MiniLM")
    })
}

/// The MiniLM model directory (fetched by scripts/fetch-assets.sh).
fn model_dir() -> PathBuf {
    common::assets().join("all-MiniLM-L6-v2")
}

fn assert_close(name: &str, got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (f64::from(g) - w).abs();
        assert!(d <= TOL, "{name}[{i}]: got {g}, want {w} (|Δ| = {d:e})");
        worst = worst.max(d);
    }
    worst
}

#[test]
fn public_fixture_matches_bert_score() {
    let fx = common::fixtures().join("metrics");
    if !available(&fx.join("public_expected.json"), "metrics fixtures")
        || !available(
            &model_dir().join("model.safetensors"),
            "all-MiniLM-L6-v2 (scripts/fetch-assets.sh)",
        )
    {
        return;
    }
    let expected = json(&fx.join("public_expected.json"));
    let expected = &expected["bertscore_minilm_l6_layer6"];
    let refs = lines(&fx.join("public_refs.txt"));
    let hyps = lines(&fx.join("public_hyps.txt"));
    let result = scorer()
        .score(&refs, &hyps, &BertScoreOptions::default())
        .unwrap();
    for (name, got, key) in [
        ("P", result.mean_precision(), "P"),
        ("R", result.mean_recall(), "R"),
        ("F", result.mean_f1(), "F"),
    ] {
        let want = expected[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= TOL,
            "mean {name}: got {got}, want {want}"
        );
    }
    let want: Vec<f64> = expected["F_per_sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let worst = assert_close("F_per_sample", &result.f1, &want);
    eprintln!("public fixture: max |ΔF| = {worst:e}");
}

#[test]
fn edge_cases_match_bert_score_with_idf_and_baseline() {
    let data = common::manifest().join("tests/data");
    if !available(
        &model_dir().join("model.safetensors"),
        "all-MiniLM-L6-v2 (scripts/fetch-assets.sh)",
    ) {
        return;
    }
    let cases = json(&data.join("bertscore_cases.json"));
    let strings = |k: &str| -> Vec<String> {
        cases[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let (refs, hyps) = (strings("refs"), strings("hyps"));
    let baseline = Baseline::from_file(data.join("bertscore_baseline.csv"), 6).unwrap();
    let settings = [
        ("plain", BertScoreOptions::default()),
        (
            "idf",
            BertScoreOptions {
                idf: true,
                baseline: None,
            },
        ),
        (
            "idf_rescaled",
            BertScoreOptions {
                idf: true,
                baseline: Some(baseline),
            },
        ),
    ];
    for (name, options) in settings {
        let result = scorer().score(&refs, &hyps, &options).unwrap();
        let mut worst = 0f64;
        for (key, got) in [
            ("P", &result.precision),
            ("R", &result.recall),
            ("F", &result.f1),
        ] {
            let want: Vec<f64> = cases[name][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            worst = worst.max(assert_close(&format!("{name}.{key}"), got, &want));
        }
        eprintln!("{name}: max |Δ| = {worst:e}");
    }
}

#[test]
fn identical_texts_score_one_and_mismatched_lengths_fail() {
    if !available(
        &model_dir().join("model.safetensors"),
        "all-MiniLM-L6-v2 (scripts/fetch-assets.sh)",
    ) {
        return;
    }
    let text = ["Small right pleural effusion. No pneumothorax."];
    let r = scorer()
        .score(&text, &text, &BertScoreOptions::default())
        .unwrap();
    assert!((r.f1[0] - 1.0).abs() < 1e-5, "F = {}", r.f1[0]);
    assert!(
        scorer()
            .score(&text, &[] as &[&str], &BertScoreOptions::default())
            .is_err()
    );
    // Arbitrary unicode and control characters never panic.
    let long = "é".repeat(2000);
    let odd = ["\u{0}\u{7f}\u{200b}", "🫁🫀 🩻", long.as_str()];
    let r = scorer()
        .score(
            &odd,
            &odd,
            &BertScoreOptions {
                idf: true,
                baseline: None,
            },
        )
        .unwrap();
    assert_eq!(r.f1.len(), 3);
}
