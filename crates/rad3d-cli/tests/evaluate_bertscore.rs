//! `rad3d evaluate --bertscore DIR` in the default build: BERTScore P/R/F equal to
//! bert-score's (reference values from the Python package on all-MiniLM-L6-v2, layer 6),
//! with idf weighting and baseline rescaling from a file, next to every other metric.

use std::process::Command;

fn mean(v: &serde_json::Value) -> f64 {
    let xs = v.as_array().unwrap();
    xs.iter().map(|x| x.as_f64().unwrap()).sum::<f64>() / xs.len() as f64
}

#[test]
fn bertscore_equals_bert_score_within_1e_4() {
    let model = rad3d_testutil::assets().join("all-MiniLM-L6-v2");
    if !rad3d_testutil::available(&model, "all-MiniLM-L6-v2") {
        return;
    }
    let data = rad3d_testutil::workspace().join("crates/rad3d-metrics/tests/data");
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("bertscore_cases.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // JSONL keeps empty and multi-sentence texts exactly.
    let write = |name: &str, key: &str| {
        let path = dir.path().join(name);
        let lines: String = cases[key]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}\n", serde_json::json!({"id": i.to_string(), "text": t})))
            .collect();
        std::fs::write(&path, lines).unwrap();
        path
    };
    let (refs, hyps) = (write("refs.jsonl", "refs"), write("hyps.jsonl", "hyps"));
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_rad3d"))
            .args([
                "evaluate",
                "--tokenize",
                "basic",
                "--json",
                "--meteor-approx",
            ])
            .arg("--refs")
            .arg(&refs)
            .arg("--hyps")
            .arg(&hyps)
            .arg("--bertscore")
            .arg(&model)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let baseline = data.join("bertscore_baseline.csv");
    for (flags, key) in [
        (vec![], "plain"),
        (vec!["--idf"], "idf"),
        (
            vec!["--idf", "--baseline", baseline.to_str().unwrap()],
            "idf_rescaled",
        ),
    ] {
        let json = run(&flags);
        for (metric, col) in [
            ("bertscore_p", "P"),
            ("bertscore_r", "R"),
            ("bertscore_f", "F"),
        ] {
            let (got, want) = (json[metric].as_f64().unwrap(), mean(&cases[key][col]));
            assert!(
                (got - want).abs() <= 1e-4,
                "{key} {metric}: {got} vs bert-score {want}"
            );
        }
        for k in ["bleu_4", "meteor", "rouge_l", "cider_d", "samples"] {
            assert!(json.get(k).is_some(), "{key}: {k} missing");
        }
    }
}
