//! Acceptance: on synthetic studies with known findings, pre-train a tiny LM to write
//! reports from a note naming the findings, freeze it, train the V-3 projector
//! (latent ⧺ logits → a prefix in place of the note), and check that the validation loss
//! falls and that greedy reports state the right findings.

mod common;

use std::collections::HashMap;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use common::TinyLmConfig;
use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer, WordTokenizer};
use rad3d_projector::Variant;
use rad3d_train::synthetic::{
    SyntheticOptions, SyntheticStudy, ct_rate_style_findings, extract_findings, finding_f1,
    findings_note, note_len, synthetic_studies,
};
use rad3d_train::*;

type B = Autodiff<Flex>;

#[test]
fn v3_learns_to_report_the_findings() {
    let device = burn::tensor::ops::Device::<B>::default();
    B::seed(&device, 11);
    let findings = &ct_rate_style_findings()[..5];
    let opts = SyntheticOptions {
        d_latent: 32,
        ..Default::default()
    };
    let tr = synthetic_studies(findings, 192, Split::Train, "train", &opts);
    let va = synthetic_studies(findings, 48, Split::Valid, "valid", &opts);
    let tok = WordTokenizer::fit(tr.iter().chain(&va).map(|s| s.example.report.as_str()));
    let encode = |s: &[SyntheticStudy], variant| {
        let cache: HashMap<_, _> = s
            .iter()
            .map(|s| (s.example.name.clone(), s.embedding.clone()))
            .collect();
        let ex: Vec<&Example> = s.iter().map(|s| &s.example).collect();
        encode_examples(&ex, &cache, variant, &tok, 96, &mut SkipCounts::default()).unwrap()
    };
    let (train_v3, valid_v3) = (encode(&tr, Variant::V3), encode(&va, Variant::V3));
    assert_eq!(train_v3[0].input.len(), 32 + 5);
    let tmp = tempfile::tempdir().unwrap();

    // 1. Pre-train the small LM on report text alone (same loop, every parameter trains).
    let lm = TinyLmConfig::new(tok.vocab_size())
        .with_d_model(64)
        .with_layers(2)
        .init::<B>(&device);
    // The LM learns to write a report from a note naming the findings (see
    // `findings_note`); the note is context, the report follows it.
    let text = |v: &[EncodedExample], s: &[SyntheticStudy]| -> Vec<EncodedExample> {
        v.iter()
            .zip(s)
            .map(|(e, s)| {
                let labels = s.example.labels.as_ref().unwrap();
                let mut tokens = tok.encode(&findings_note(labels, findings)).unwrap();
                tokens.extend(&e.tokens);
                EncodedExample {
                    input: Vec::new(),
                    tokens,
                    ..e.clone()
                }
            })
            .collect()
    };
    let lm_config = TrainConfig {
        epochs: 20,
        batch_size: 16,
        lr: 5e-3,
        pad_id: 0,
        ..Default::default()
    };
    let pre = train(
        TextLm::new(lm, tok.bos_id().unwrap()),
        &text(&train_v3, &tr),
        &text(&valid_v3, &va),
        &lm_config,
        &tmp.path().join("lm"),
        &mut Silent,
        &device,
    )
    .unwrap();
    eprintln!(
        "LM pre-training validation loss: {:?}",
        pre.state.val_losses
    );
    let lm = pre.model.into_inner();

    // 2. Freeze it and train the V-3 projector.
    // The prefix stands in for BOS and the note.
    let projector = Variant::V3.projector_config(32, 5, 64, note_len(findings), 2);
    let model =
        PrefixModel::new(Variant::V3, &projector, lm, PromptIds::default(), &device).unwrap();
    let before = evaluate(&model, &valid_v3, 16, 0, &device).unwrap();
    let config = TrainConfig {
        epochs: 12,
        batch_size: 16,
        lr: 3e-3,
        warmup_steps: 4,
        pad_id: 0,
        ..Default::default()
    };
    let mut rec = Recording::default();
    let out = train(
        model,
        &train_v3,
        &valid_v3,
        &config,
        &tmp.path().join("v3"),
        &mut rec,
        &device,
    )
    .unwrap();
    let val = &out.state.val_losses;
    eprintln!("V-3 validation loss: before {before:.4}, per epoch {val:?}");
    assert!(val.last().unwrap() < val.first().unwrap());
    assert_eq!(rec.epochs.len(), 12);

    // 3. Greedy reports on the validation split, scored at the finding level.
    let model = out.model.valid();
    let reports = generate_reports(&model, &valid_v3, &tok, 80, 16, &device).unwrap();
    let pred: Vec<Vec<bool>> = reports
        .iter()
        .map(|r| extract_findings(&r.generated, findings))
        .collect();
    let truth: Vec<Vec<bool>> = va.iter().map(SyntheticStudy::present).collect();
    let scores = finding_f1(&pred, &truth);
    eprintln!(
        "finding-level P {:.3} R {:.3} F1 {:.3}",
        scores.precision, scores.recall, scores.f1
    );
    assert!(
        val.last().unwrap() < &(0.5 * before),
        "validation loss did not fall enough"
    );
    eprintln!(
        "example: {}\n   ref: {}",
        reports[0].generated, reports[0].reference
    );
    assert!(scores.f1 >= 0.8, "finding F1 {:.3} < 0.8", scores.f1);

    let csv = tmp.path().join("reports.csv");
    write_reports_csv(&csv, &reports).unwrap();
    let jsonl = tmp.path().join("reports.jsonl");
    write_reports_jsonl(&jsonl, &reports).unwrap();
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap().lines().count(),
        reports.len()
    );
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .starts_with("VolumeName,generated,reference")
    );
}
