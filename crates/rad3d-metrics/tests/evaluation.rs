//! The evaluation job end to end: report files joined on ids, the JSON object, model
//! metrics resampled like the others, the paper's table, per-sample scores, the interval
//! chart and the input limits.

mod common;

use std::path::{Path, PathBuf};

use rad3d_metrics::evaluation::{
    EvaluateFiles, EvaluateOptions, Evaluation, ModelMetric, PaperRow, evaluate, evaluate_files,
    table_markdown, write_interval_chart, write_table_csv,
};
use rad3d_metrics::meteor::{Meteor, MeteorMode, MeteorResources};
use rad3d_metrics::reports::{MAX_REPORT_BYTES, ReportColumns, ReportSet};
use rad3d_metrics::significance::{self, ResampleConfig};
use rad3d_metrics::{Corpus, MeanMetric, MetricSuite, MetricsError, SuiteConfig};
use serde_json::{Value, json};

/// Per-sample value: hypothesis length in characters / 100 (a stand-in for BERTScore).
struct Length;

impl ModelMetric for Length {
    fn score(&self, corpus: &Corpus) -> rad3d_metrics::Result<MeanMetric> {
        let col = corpus.hyps.iter().map(|h| h.len() as f64 / 100.0).collect();
        MeanMetric::new(vec!["length".into()], vec![col])
    }
}

fn approx() -> EvaluateOptions {
    EvaluateOptions {
        meteor_approx: true,
        ..Default::default()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn set(label: &str, texts: &[&str]) -> ReportSet {
    let reports = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("v{i}"), t.to_string()))
        .collect();
    ReportSet::new(label, reports).unwrap()
}

const REFS: [&str; 6] = [
    "No pleural effusion. Heart size is normal.",
    "Small nodule in the right upper lobe.",
    "Lungs are clear. No consolidation.",
    "Mild cardiomegaly. Small bilateral effusions.",
    "Atelectasis at the left base.",
    "Emphysema. No acute findings.",
];
const HYPS_A: [&str; 6] = [
    "No pleural effusion. Heart is normal.",
    "Nodule in the right lobe.",
    "Lungs are clear.",
    "Cardiomegaly with small effusions.",
    "Left basal atelectasis.",
    "Emphysema. No acute findings.",
];
const HYPS_B: [&str; 6] = [
    "Normal study.",
    "Normal study.",
    "Lungs are clear.",
    "Normal heart.",
    "Normal study.",
    "No findings.",
];

#[test]
fn ct_rate_names_join_trainer_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let refs = write(
        dir.path(),
        "refs.csv",
        "VolumeName,ClinicalInformation_EN,Findings_EN,Impressions_EN\n\
         valid_1_a_1.nii.gz,x,\"No effusion, heart normal.\",None\n\
         valid_2_a_1.nii.gz,x,Clear lungs.,None\n",
    );
    let hyps = write(
        dir.path(),
        "generated.jsonl",
        "{\"name\":\"valid_2_a_1\",\"generated\":\"Clear lungs.\",\"reference\":\"r\"}\n\
         {\"name\":\"valid_1_a_1\",\"generated\":\"No effusion, heart normal.\",\"reference\":\"r\"}\n",
    );
    let ev = evaluate_files(&EvaluateFiles::new(&refs, &hyps), &[], &approx()).unwrap();
    assert_eq!(ev.samples, 2);
    assert_eq!(ev.per_sample.ids, ["valid_1_a_1", "valid_2_a_1"]);
    // Generated text, in reference order: identical reports.
    assert!((ev.value("bleu_1").unwrap() - 1.0).abs() < 1e-6);
    assert!((ev.value("sacrebleu").unwrap() - 100.0).abs() < 1e-9);

    // Unmatched ids name the file, the counts and the first ids of each side.
    let other = write(
        dir.path(),
        "other.jsonl",
        "{\"name\":\"valid_1_a_1\",\"generated\":\"a\"}\n{\"name\":\"valid_9_a_1\",\"generated\":\"b\"}\n",
    );
    let e = evaluate_files(&EvaluateFiles::new(&refs, &other), &[], &approx()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(
        e,
        MetricsError::UnmatchedIds {
            missing: 1,
            extra: 1,
            ..
        }
    ));
    assert!(
        msg.contains("other.jsonl")
            && msg.contains("1 references have no report (first: \"valid_2_a_1\")")
            && msg.contains("1 reports match no reference (first: \"valid_9_a_1\")"),
        "{msg}"
    );

    // A named column that is missing lists the columns present.
    let mut files = EvaluateFiles::new(&refs, &hyps);
    files.ref_columns = ReportColumns {
        id: None,
        text: Some("Findings".into()),
    };
    let e = evaluate_files(&files, &[], &approx()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: no column `Findings` (columns present: VolumeName, ClinicalInformation_EN, \
             Findings_EN, Impressions_EN)",
            refs.display()
        )
    );

    // Duplicate ids (after normalisation) name the file and the id.
    let dup = write(dir.path(), "dup.csv", "id,report\na.nii,x\na,y\n");
    let e = ReportSet::read(&dup, &ReportColumns::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: duplicate id \"a\" (line 3)", dup.display())
    );
}

#[test]
fn model_metric_is_bootstrapped_and_compared() {
    let refs = set("refs", &REFS);
    let a = set("a.txt", &HYPS_A);
    let b = set("b.txt", &HYPS_B);
    let options = EvaluateOptions {
        bootstrap: Some(400),
        compare_resamples: Some(300),
        seed: 7,
        timings: true,
        ..approx()
    };
    let meteor = Meteor::exact_stem_only();
    let ev = evaluate(&refs, &a, Some(&b), &meteor, &[&Length], &options).unwrap();
    let json = serde_json::to_value(&ev).unwrap();

    // The model metric's value, interval and p-values are there ...
    let lengths: Vec<f64> = HYPS_A.iter().map(|h| h.len() as f64 / 100.0).collect();
    let mean = lengths.iter().sum::<f64>() / 6.0;
    assert!((json["length"].as_f64().unwrap() - mean).abs() < 1e-12);
    // ... and equal to resampling it alone: every metric sees the same resamples.
    let alone = MeanMetric::new(vec!["length".into()], vec![lengths]).unwrap();
    let cfg = ResampleConfig {
        resamples: 400,
        confidence: 0.95,
        seed: 7,
    };
    let iv = significance::bootstrap(&[&alone], &cfg).unwrap()[0].interval;
    assert_eq!(
        json["ci"]["length"],
        json!({"lower": iv.lower, "upper": iv.upper})
    );
    assert_eq!(ev.interval("length"), Some(iv));
    let b_len: Vec<f64> = HYPS_B.iter().map(|h| h.len() as f64 / 100.0).collect();
    let b_alone = MeanMetric::new(vec!["length".into()], vec![b_len]).unwrap();
    let cmp_cfg = ResampleConfig {
        resamples: 300,
        ..cfg
    };
    let perm = significance::paired_permutation(&alone, &b_alone, &cmp_cfg).unwrap();
    let boot = significance::paired_bootstrap(&alone, &b_alone, &cmp_cfg).unwrap();
    assert_eq!(json["p_value"]["length"], json!(perm[0].p_value));
    assert_eq!(ev.p_value("length"), Some(perm[0].p_value));
    assert_eq!(
        json["p_value_paired_bootstrap"]["length"],
        json!(boot[0].p_value)
    );
    assert_eq!(
        json["compare"]["metrics"]["length"],
        json!({"b": perm[0].b, "delta": boot[0].delta.point,
               "delta_lower": boot[0].delta.lower, "delta_upper": boot[0].delta.upper})
    );
    assert_eq!(json["compare"]["file"], json!("b.txt"));
    assert_eq!(json["compare"]["resamples"], json!(300));
    assert_eq!(
        json["bootstrap"],
        json!({"resamples": 400, "confidence": 0.95, "seed": 7})
    );
    // Every value has an interval and p-values.
    for (name, _) in &ev.values {
        assert!(json["ci"][name].is_object(), "{name}");
        assert!(json["p_value"][name].is_number(), "{name}");
        assert!(json["p_value_paired_bootstrap"][name].is_number(), "{name}");
    }
    let stages: Vec<&String> = json["seconds"].as_object().unwrap().keys().collect();
    for s in [
        "score_all_metrics",
        "model_metrics",
        "bootstrap",
        "paired_permutation",
    ] {
        assert!(stages.iter().any(|k| *k == s), "{s} in {stages:?}");
    }
    assert_eq!(ev.per_sample.names.last().unwrap(), "length");
}

fn evaluation_with(values: &[(&str, f64)]) -> Evaluation {
    Evaluation {
        samples: 1,
        values: values.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        meteor_note: None,
        sacrebleu_signature: String::new(),
        bootstrap: None,
        compare: None,
        seconds: None,
        per_sample: Default::default(),
    }
}

#[test]
fn paper_row_table_and_markdown() {
    let base = [
        ("bleu_1", 0.5),
        ("bleu_2", 0.375),
        ("bleu_3", 0.25),
        ("bleu_4", 0.125),
        ("meteor", 0.25),
        ("rouge_l", 0.45),
        ("cider_d", 1.5),
        ("rouge1_f", 0.625),
        ("rouge2_f", 0.25),
        ("rougeL_f", 0.5),
        ("sacrebleu", 20.0),
    ];
    let a = evaluation_with(&base);
    let row = a.paper_row().unwrap();
    assert_eq!(
        row,
        PaperRow {
            // (0.5 + 0.375 + 0.25 + 0.125) / 4 and (0.625 + 0.25) / 2, exact in binary.
            avg_bleu: 0.3125,
            meteor: 0.25,
            avg_rouge_1_2: 0.4375,
            rouge_l: 0.45,
            bertscore_f1: None,
            green: None,
        }
    );
    let mut with_bert = base.to_vec();
    with_bert.push(("bertscore_f", 0.875));
    let b = evaluation_with(&with_bert);
    assert_eq!(b.paper_row().unwrap().bertscore_f1, Some(0.875));

    let md = table_markdown(&[("A", &a), ("B|2", &b)]).unwrap();
    assert_eq!(
        md,
        "| System | Avg. BLEU | METEOR | Avg. ROUGE-1/2 | ROUGE-L | BERTScore-F1 |\n\
         |---|---:|---:|---:|---:|---:|\n\
         | A | 0.3125 | 0.2500 | 0.4375 | 0.4500 | – |\n\
         | B\\|2 | 0.3125 | 0.2500 | 0.4375 | 0.4500 | 0.8750 |\n"
    );
    let md = table_markdown(&[("A", &a)]).unwrap();
    assert!(md.starts_with("| System | Avg. BLEU | METEOR | Avg. ROUGE-1/2 | ROUGE-L |\n"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.csv");
    write_table_csv(&path, &[("A", &a), ("B, tuned", &b)]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "System,Avg. BLEU,METEOR,Avg. ROUGE-1/2,ROUGE-L,BERTScore-F1\n\
         A,0.3125,0.25,0.4375,0.45,\n\
         \"B, tuned\",0.3125,0.25,0.4375,0.45,0.875\n"
    );
    let e = evaluation_with(&[("meteor", 0.1)]).paper_row().unwrap_err();
    assert!(e.to_string().contains("bleu_1"), "{e}");
}

#[test]
fn interval_chart_and_per_sample_csv() {
    let refs = set("refs", &REFS);
    let options = EvaluateOptions {
        bootstrap: Some(200),
        ..approx()
    };
    let meteor = Meteor::exact_stem_only();
    let a = evaluate(
        &refs,
        &set("a", &HYPS_A),
        None,
        &meteor,
        &[&Length],
        &options,
    )
    .unwrap();
    let b = evaluate(
        &refs,
        &set("b", &HYPS_B),
        None,
        &meteor,
        &[&Length],
        &options,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("ci.svg");
    write_interval_chart(&svg_path, &[("prefix model", &a), ("baseline", &b)]).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.len() > 2000, "{}", svg.len());
    for name in [
        "bleu_1",
        "bleu_4",
        "meteor",
        "rouge_l",
        "rouge1_f",
        "rougeL_f",
        "length",
        "prefix model",
        "baseline",
        "95 %",
    ] {
        assert!(svg.contains(name), "{name} missing from the chart");
    }
    assert!(!svg.contains("sacrebleu") && !svg.contains("cider_d"));
    let no_ci = evaluate(&refs, &set("a", &HYPS_A), None, &meteor, &[], &approx()).unwrap();
    assert!(matches!(
        write_interval_chart(dir.path().join("x.svg"), &[("a", &no_ci)]),
        Err(MetricsError::Input(_))
    ));

    let csv_path = dir.path().join("per_sample.csv");
    a.write_per_sample_csv(&csv_path).unwrap();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,bleu_1,bleu_2,bleu_3,bleu_4,meteor,rouge_l,cider_d,rouge1_f,rouge2_f,rougeL_f,length"
    );
    assert_eq!(lines.len(), 7);
    // The last pair is identical: every overlap metric is 1 there.
    let last: Vec<&str> = lines[6].split(',').collect();
    assert_eq!(last[0], "v5");
    for (name, v) in lines[0].split(',').zip(&last).skip(1) {
        let v: f64 = v.parse().unwrap();
        match name {
            "cider_d" => assert!(v > 1.0, "{name} {v}"),
            "length" => assert_eq!(v, HYPS_A[5].len() as f64 / 100.0),
            _ => assert!((v - 1.0).abs() < 1e-6, "{name} {v}"),
        }
    }
    // Means of the per-sample columns are the corpus values of the mean metrics.
    let k = a
        .per_sample
        .names
        .iter()
        .position(|n| n == "rouge_l")
        .unwrap();
    let mean = a.per_sample.columns[k].iter().sum::<f64>() / 6.0;
    assert!((mean - a.value("rouge_l").unwrap()).abs() < 1e-12);
}

#[test]
fn oversized_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(MAX_REPORT_BYTES + 1);
    let hyps = write(dir.path(), "hyps.txt", &format!("fine\n{long}\n"));
    let e = ReportSet::read(&hyps, &ReportColumns::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 2: line longer than the limit of 65536 bytes",
            hyps.display()
        )
    );
    let e = ReportSet::new("memory", vec![("id7".into(), long)]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("memory: line 1, id \"id7\": report of 65537 bytes"),
        "{e}"
    );
    // Resampling limits are checked before any file is read.
    let mut files = EvaluateFiles::new("/nonexistent/refs.txt", "/nonexistent/hyps.txt");
    let options = EvaluateOptions {
        bootstrap: Some(1_000_001),
        ..approx()
    };
    assert!(matches!(
        evaluate_files(&files, &[], &options),
        Err(MetricsError::TooManyResamples {
            requested: 1_000_001,
            limit: 1_000_000
        })
    ));
    files.compare = Some("/nonexistent/b.txt".into());
    let options = EvaluateOptions {
        compare_resamples: Some(5_000_000),
        ..approx()
    };
    assert!(matches!(
        evaluate_files(&files, &[], &options),
        Err(MetricsError::TooManyResamples { .. })
    ));
}

/// The public fixture scored by the evaluation reproduces the reference tools' values
/// (pycocoevalcap with the METEOR 1.5 jar, rouge-score, sacreBLEU) and the suite's own.
#[test]
fn public_fixture_reproduces_reference_values() {
    let dir = common::fixtures().join("metrics");
    if !common::available(&dir.join("public_expected.json"), "metrics fixtures") {
        return;
    }
    let resources = MeteorResources::from_dir(common::assets().join("meteor"));
    if !resources.is_complete() {
        common::missing(&format!("METEOR data at {}", resources.dir.display()));
        return;
    }
    let exp = common::json(&dir.join("public_expected.json"));
    let mut files = EvaluateFiles::new(dir.join("public_refs.txt"), dir.join("public_hyps.txt"));
    files.meteor_dir = Some(resources.dir.clone());
    files.compare = Some(dir.join("public_refs.tok.txt"));
    let options = EvaluateOptions {
        bootstrap: Some(300),
        compare_resamples: Some(200),
        seed: 3,
        ..Default::default()
    };
    let ev = evaluate_files(&files, &[], &options).unwrap();
    let json = serde_json::to_value(&ev).unwrap();

    let close = |key: &str, want: &Value| {
        let got = json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing"));
        let want = want.as_f64().unwrap();
        assert!((got - want).abs() <= 1e-6, "{key}: got {got}, want {want}");
    };
    for n in 1..=4 {
        close(&format!("bleu_{n}"), &exp[format!("bleu_{n}")]);
    }
    close("meteor", &exp["meteor"]);
    close("rouge_l", &exp["rouge_l_coco"]);
    close("cider_d", &exp["cider_d"]);
    close("rouge1_f", &exp["rouge1_f_mean_stemmed"]);
    close("rouge2_f", &exp["rouge2_f_mean_stemmed"]);
    close("rougeL_f", &exp["rougeL_f_mean_stemmed"]);
    close("sacrebleu", &exp["sacrebleu_corpus_13a"]);
    let k = ev
        .per_sample
        .names
        .iter()
        .position(|n| n == "meteor")
        .unwrap();
    for (got, want) in ev.per_sample.columns[k]
        .iter()
        .zip(exp["meteor_per_sample"].as_array().unwrap())
    {
        assert!((got - want.as_f64().unwrap()).abs() <= 1e-6);
    }
    assert_eq!(
        json["sacrebleu_signature"],
        json!("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0")
    );

    // The same numbers as the suite computed directly, key for key.
    let refs = common::lines(&dir.join("public_refs.txt"));
    let hyps = common::lines(&dir.join("public_hyps.txt"));
    let corpus = Corpus::single(hyps, refs.clone()).unwrap();
    let meteor = Meteor::new(&resources).unwrap();
    assert_eq!(meteor.mode(), MeteorMode::Full);
    let suite = MetricSuite::score(&corpus, &meteor, &SuiteConfig::default()).unwrap();
    let names: Vec<String> = suite.scores().into_iter().map(|(n, _)| n).collect();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    let mut want: Vec<String> = names.clone();
    want.extend(
        [
            "samples",
            "sacrebleu_signature",
            "ci",
            "bootstrap",
            "p_value",
            "p_value_paired_bootstrap",
            "compare",
        ]
        .map(String::from),
    );
    keys.sort();
    want.sort();
    assert_eq!(keys, want.iter().collect::<Vec<_>>());
    for (name, v) in suite.scores() {
        assert_eq!(json[&name], json!(v), "{name}");
    }
    assert_eq!(json["samples"], json!(25));
    let cfg = ResampleConfig {
        resamples: 300,
        confidence: 0.95,
        seed: 3,
    };
    for r in suite.bootstrap(&cfg).unwrap().all {
        let ci = r.ci.unwrap();
        assert_eq!(
            json["ci"][&r.name],
            json!({"lower": ci.lower, "upper": ci.upper}),
            "{}",
            r.name
        );
    }
    // System B: the tokenized references, scored and tested as the suite does.
    let b_corpus = corpus
        .with_hyps(common::lines(&dir.join("public_refs.tok.txt")))
        .unwrap();
    let b = MetricSuite::score(&b_corpus, &meteor, &SuiteConfig::default()).unwrap();
    let cmp = ResampleConfig {
        resamples: 200,
        ..cfg
    };
    for (x, y) in suite
        .paired_permutation(&b, &cmp)
        .unwrap()
        .iter()
        .zip(suite.paired_bootstrap(&b, &cmp).unwrap())
    {
        assert_eq!(json["p_value"][&x.name], json!(x.p_value));
        assert_eq!(json["p_value_paired_bootstrap"][&y.name], json!(y.p_value));
        assert_eq!(json["compare"]["metrics"][&x.name]["b"], json!(x.b));
        assert_eq!(
            json["compare"]["metrics"][&y.name]["delta_lower"],
            json!(y.delta.lower)
        );
    }
}
