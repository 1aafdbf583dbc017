//! `docs/inspect.md` as a test: an INSPECT-shaped folder of phantoms (impressions CSV,
//! `CTPA/<impression_id>.nii.gz`, an extractor's entity files) goes through
//! `scripts/inspect-smoke.sh`, which runs the document's commands as written, and the
//! label set, split, classifier table and Table 4 rows are checked.

use std::process::Command;

#[test]
fn the_documented_inspect_workflow_runs_end_to_end() {
    let assets = rad3d_testutil::assets();
    if !rad3d_testutil::available(&assets.join("meteor"), "METEOR data")
        || !rad3d_testutil::available(&assets.join("all-MiniLM-L6-v2"), "all-MiniLM-L6-v2")
    {
        return;
    }
    let rad3d = env!("CARGO_BIN_EXE_rad3d");
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("inspect"), dir.path().join("work"));
    let status = Command::new(rad3d)
        .args(["quickstart", "--inspect-layout"])
        .arg(&data)
        .args(["--inspect-studies", "40", "-q"])
        .status()
        .unwrap();
    assert!(status.success());
    let run = Command::new("bash")
        .arg(rad3d_testutil::workspace().join("scripts/inspect-smoke.sh"))
        .arg(&data)
        .arg(&out)
        .env("RAD3D", rad3d)
        .env("RAD3D_ASSETS", &assets)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "smoke script failed:\n{log}");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();

    // The five findings' concepts are kept (each two synonyms merged), the rare one not.
    let set = read("labels/label_set.csv");
    assert_eq!(set.lines().count(), 1 + 5, "{set}");
    assert!(set.contains("|enlarged heart"), "{set}");
    assert!(!set.contains("azygos"), "{set}");
    let labels = read("labels/labels.csv");
    assert_eq!(labels.lines().count(), 1 + 40);
    assert!(labels.starts_with("impression_id,"), "{labels}");

    // Every study in exactly one part, the parts as asked.
    let ids = |f: &str| -> Vec<String> { read(f).lines().map(String::from).collect() };
    let (train, valid, test) = (
        ids("split/train.txt"),
        ids("split/valid.txt"),
        ids("split/test.txt"),
    );
    assert_eq!(train.len() + valid.len() + test.len(), 40);
    assert!(!valid.is_empty() && !test.is_empty());
    assert!(read("split/proportions.md").contains("| cardiomegaly |"));

    // The classifier has the label set's width; Table 4's INSPECT rows are written.
    let per_label = read("classifier/per_label.csv");
    assert_eq!(per_label.lines().count(), 1 + 5 + 2, "{per_label}");
    let model: serde_json::Value = serde_json::from_str(&read("runs/v3/model.json")).unwrap();
    assert_eq!(model["labels"].as_array().unwrap().len(), 5);
    let table = read("table4_inspect.md");
    assert!(table.contains("V-3") && table.contains("V-2"), "{table}");
    let scores: serde_json::Value = serde_json::from_str(&read("inspect_v3_vs_v2.json")).unwrap();
    for metric in ["bleu_4", "meteor", "rouge_l", "bertscore_f"] {
        let p = scores["p_value"][metric].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{metric}: {p}");
    }
    // A report per test study, joined to the impressions by VolumeName.
    for variant in ["v2", "v3"] {
        let mut reader =
            csv::Reader::from_path(out.join(format!("reports_test_{variant}.csv"))).unwrap();
        assert_eq!(reader.records().count(), test.len());
    }
}
