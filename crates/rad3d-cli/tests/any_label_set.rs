//! A label set other than CT-RATE's, end to end: 21 labels named by a label CSV's header
//! (keyed by `impression_id`, as INSPECT's are) train and evaluate the anomaly head, and
//! its logits feed V-3, whose logit input follows the label set's width. Heads and caches
//! carry their label names; a label CSV of another set is refused wherever it meets them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rad3d(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rad3d"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// 21 names: CT-RATE's 18 columns under new names plus three groups (any of columns
/// 0–5, 6–11, 12–17), written with `id` as the id column.
fn relabel(ct_rate_csv: &Path, out: &Path, id: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(ct_rate_csv).unwrap();
    let mut names: Vec<String> = (1..=18).map(|i| format!("Concept {i:02}")).collect();
    names.extend(["Group A", "Group B", "Group C"].map(String::from));
    let mut text = format!("{id},{}\n", names.join(","));
    for rec in reader.records() {
        let rec = rec.unwrap();
        let v: Vec<&str> = rec.iter().skip(1).collect();
        let any = |r: std::ops::Range<usize>| if v[r].contains(&"1") { "1" } else { "0" };
        let groups = [any(0..6), any(6..12), any(12..18)];
        text.push_str(&format!(
            "{},{},{}\n",
            &rec[0],
            v.join(","),
            groups.join(",")
        ));
    }
    std::fs::write(out, text).unwrap();
    names
}

#[test]
fn a_21_label_set_trains_the_head_and_feeds_v3() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| -> PathBuf { dir.path().join(name) };
    let data = d("ct-rate");
    ok(rad3d(&[
        "quickstart",
        "--ct-rate-layout",
        s(&data),
        "--layout-studies",
        "16,8",
        "-q",
    ]));
    let labels = data.join("multi_abnormality_labels");
    let reports = data.join("radiology_text_reports");
    // Both splits embedded into `{prefix}_train` and `{prefix}_valid`; `weights` and
    // `extra` are appended to the command.
    let embed = |prefix: &str, weights: &[&str], extra: &[&str]| {
        for (split, meta) in [("train", "train"), ("valid", "validation")] {
            let (csv, volumes, out) = (
                data.join(format!("metadata/{meta}_metadata.csv")),
                data.join(format!("dataset/{split}")),
                d(&format!("{prefix}_{split}")),
            );
            let mut args = vec![
                "embed",
                s(&csv),
                "--data-dir",
                s(&volumes),
                "--config",
                "tiny",
            ];
            args.extend(weights);
            args.extend(extra);
            args.extend(["--out", s(&out), "-q"]);
            ok(rad3d(&args));
        }
    };
    std::fs::create_dir(d("no-volumes")).unwrap();
    ok(rad3d(&[
        "embed",
        s(&d("no-volumes")),
        "--random-weights",
        "--config",
        "tiny",
        "--out",
        s(&d("tiny-encoder")),
        "-q",
    ]));
    let encoder = d("tiny-encoder/encoder.mpk");
    embed("cache", &["--checkpoint", s(&encoder)], &[]);
    let names = relabel(
        &labels.join("train_predicted_labels.csv"),
        &d("train21.csv"),
        "impression_id",
    );
    relabel(
        &labels.join("valid_predicted_labels.csv"),
        &d("valid21.csv"),
        "impression_id",
    );
    relabel(
        &labels.join("train_predicted_labels.csv"),
        &d("train21v.csv"),
        "VolumeName",
    );
    relabel(
        &labels.join("valid_predicted_labels.csv"),
        &d("valid21v.csv"),
        "VolumeName",
    );
    assert_eq!(names.len(), 21);

    // The head: 21 outputs named by the CSV header, stored with the weights.
    let head = d("head21.safetensors");
    ok(rad3d(&[
        "classifier",
        "train",
        "--cache",
        s(&d("cache_train")),
        "--labels",
        s(&d("train21.csv")),
        "--valid-cache",
        s(&d("cache_valid")),
        "--valid-labels",
        s(&d("valid21.csv")),
        "--epochs",
        "30",
        "--patience",
        "10",
        "--out",
        s(&head),
        "-q",
    ]));
    let device = Default::default();
    let (loaded, stored) =
        rad3d_prefix::classifier::load_head::<burn::backend::Flex>(&head, &device).unwrap();
    assert_eq!(loaded.n_labels(), 21);
    assert_eq!(stored.unwrap().names(), names.as_slice());

    let eval = ok(rad3d(&[
        "classifier",
        "eval",
        "--cache",
        s(&d("cache_valid")),
        "--labels",
        s(&d("valid21.csv")),
        "--head",
        s(&head),
        "--out",
        s(&d("eval")),
        "--json",
        "-q",
    ]));
    let json: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let per_label = json["per_label"].as_array().unwrap();
    assert_eq!(per_label.len(), 21);
    assert_eq!(per_label[20]["label"], "Group C");
    let table = std::fs::read_to_string(d("eval/per_label.csv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 21 + 2, "{table}");
    assert!(table.contains("\"Group B\","), "{table}");
    assert!(
        std::fs::read_to_string(d("eval/per_label.svg"))
            .unwrap()
            .contains("Group A")
    );
    // Eval against an 18-column CSV: the head's labels are not its columns.
    let out = rad3d(&[
        "classifier",
        "eval",
        "--cache",
        s(&d("cache_valid")),
        "--labels",
        s(&labels.join("valid_predicted_labels.csv")),
        "--head",
        s(&head),
        "--out",
        s(&d("eval18")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Group A"), "{err}");

    // V-3 on the head's logits: the projector reads latent + 21 logits.
    let llm = d("lm-source/lm/llm.json");
    ok(rad3d(&[
        "quickstart",
        "--fast",
        "--decoder-only",
        "--out",
        s(&d("lm-source")),
        "-q",
    ]));
    // `rad3d train --variant v3` on the two caches into the run folder `run`, plus `extra`.
    let v3 = |run: &str, caches: [&str; 2], extra: &[&str]| {
        let (train, valid) = (d(caches[0]), d(caches[1]));
        let (train_reports, valid_reports) = (
            reports.join("train_reports.csv"),
            reports.join("validation_reports.csv"),
        );
        let out_dir = d(run);
        let mut args = vec![
            "train",
            "--variant",
            "v3",
            "--cache",
            s(&train),
            "--valid-cache",
            s(&valid),
            "--reports",
            s(&train_reports),
            "--valid-reports",
            s(&valid_reports),
            "--llm",
            s(&llm),
            "--out",
            s(&out_dir),
            "--epochs",
            "1",
            "--batch",
            "4",
            "--prefix-len",
            "2",
            "--layers",
            "1",
            "--max-tokens",
            "48",
            "--generate-tokens",
            "0",
            "-q",
        ];
        args.extend(extra);
        rad3d(&args)
    };
    let embedded = ["cache_train", "cache_valid"];
    let (train21, valid21) = (d("train21v.csv"), d("valid21v.csv"));
    let with21 = ["--labels", s(&train21), "--valid-labels", s(&valid21)];
    ok(v3(
        "run21",
        embedded,
        &[&with21[..], &["--classifier", s(&head)]].concat(),
    ));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d("run21/model.json")).unwrap()).unwrap();
    assert_eq!(model["labels"].as_array().unwrap().len(), 21);
    assert_eq!(model["labels"][18], "Group A");
    let d_latent = rad3d_prefix::ctvit::cache::EmbeddingCache::open(d("cache_train"))
        .unwrap()
        .dim_latent();
    assert_eq!(
        model["projector"]["Transformer"]["d_input"].as_u64(),
        Some((d_latent + 21) as u64),
        "{model}"
    );
    assert!(d("run21/metrics.jsonl").exists());

    // CT-RATE's 18 columns with the 21-label head: refused before training.
    let (train18, valid18) = (
        labels.join("train_predicted_labels.csv"),
        labels.join("valid_predicted_labels.csv"),
    );
    let with18 = ["--labels", s(&train18), "--valid-labels", s(&valid18)];
    let out = v3(
        "run18",
        embedded,
        &[&with18[..], &["--classifier", s(&head)]].concat(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("differ from the label columns"), "{err}");
    assert!(!d("run18/model.json").exists());
    // V-3 without any logits: a usage error that says where logits come from.
    let out = v3("run0", embedded, &with21);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--classifier"), "{err}");

    // A cache embedded with the head carries its 21 names; V-3 reads its logits directly.
    embed(
        "logits",
        &["--checkpoint", s(&encoder)],
        &["--classifier", s(&head)],
    );
    let cache = rad3d_prefix::ctvit::cache::EmbeddingCache::open(d("logits_valid")).unwrap();
    assert_eq!(cache.n_logits(), 21);
    assert_eq!(cache.labels().unwrap(), names.as_slice());
    ok(v3("cached21", ["logits_train", "logits_valid"], &with21));
    let out = v3("cached18", ["logits_train", "logits_valid"], &with18);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("differ from the logits"), "{err}");
}
