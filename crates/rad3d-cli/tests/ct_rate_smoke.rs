//! `docs/ct-rate.md` as a test: a CT-RATE-shaped folder of phantoms (with CT-RATE's
//! quirks: metadata spacing and rescale that override wrong headers, a volume listed
//! twice) goes through `scripts/ct-rate-smoke.sh`, which runs the document's commands as
//! written, and the summary, tables, figures and new reports are checked.

use std::path::Path;
use std::process::Command;

fn rad3d() -> &'static str {
    env!("CARGO_BIN_EXE_rad3d")
}

fn unit(x: &serde_json::Value, what: &str) -> f64 {
    let v = x.as_f64().unwrap_or_else(|| panic!("{what}: {x}"));
    assert!((0.0..=1.0).contains(&v), "{what} = {v}");
    v
}

#[test]
fn the_documented_ct_rate_workflow_runs_end_to_end() {
    let assets = rad3d_testutil::assets();
    if !rad3d_testutil::available(&assets.join("meteor"), "METEOR data")
        || !rad3d_testutil::available(&assets.join("all-MiniLM-L6-v2"), "all-MiniLM-L6-v2")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("ct-rate"), dir.path().join("work"));
    let status = Command::new(rad3d())
        .args(["quickstart", "--ct-rate-layout"])
        .arg(&data)
        .args(["--layout-studies", "16,8", "-q"])
        .status()
        .unwrap();
    assert!(status.success());

    let smoke = || {
        Command::new("bash")
            .arg(rad3d_testutil::workspace().join("scripts/ct-rate-smoke.sh"))
            .arg(&data)
            .arg(&out)
            .env("RAD3D", rad3d())
            .env("RAD3D_ASSETS", &assets)
            .output()
            .unwrap()
    };
    let run = smoke();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "smoke script failed:\n{log}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for variant in ["v2", "v3"] {
        let v = &summary["variants"][variant];
        for metric in ["bleu_4", "meteor", "rouge_l", "bertscore_f"] {
            let value = unit(&v[metric], &format!("{variant} {metric}"));
            let ci = &v["ci"][metric];
            let (lo, hi) = (unit(&ci["lower"], "lower"), unit(&ci["upper"], "upper"));
            assert!(lo <= hi, "{variant} {metric}: [{lo}, {hi}]");
            assert!(value > 0.0, "{variant} {metric} = 0: nothing was generated");
            unit(&summary["compare"]["v3_vs_v2"][metric], "p-value");
        }
    }

    // The metadata overrides wrong headers: every volume was encoded, the duplicate once.
    let cache = rad3d_prefix::ctvit::cache::EmbeddingCache::open(out.join("cache/train")).unwrap();
    assert_eq!(cache.len(), 16);
    assert!(!out.join("cache/train/errors.tsv").exists());

    // Fig. 7 and Table 4 / Fig. 8 artefacts.
    let per_label = std::fs::read_to_string(out.join("classifier/per_label.csv")).unwrap();
    assert_eq!(per_label.lines().count(), 1 + 18 + 2, "{per_label}");
    for file in ["classifier/per_label.svg", "fig8.svg"] {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(svg.contains("<svg"), "{file}");
    }
    let table = std::fs::read_to_string(out.join("table4.md")).unwrap();
    assert!(
        table.contains("V-3") && table.contains("V-2") && table.contains("BERTScore"),
        "{table}"
    );

    // Table 5: every validation report beside its classifier probabilities (the head's).
    let mut reader = csv::Reader::from_path(out.join("runs/v3/reports_valid.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.len(), 3 + 18, "{header:?}");
    assert_eq!(&header[3], "Medical material");
    for row in reader.records().map(Result::unwrap) {
        for p in row.iter().skip(3) {
            let p: f64 = p.parse().unwrap();
            assert!((0.0..=1.0).contains(&p), "{row:?}");
        }
    }
    let jsonl = std::fs::read_to_string(out.join("runs/v3/reports_valid.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["probabilities"].as_array().unwrap().len(),
        18,
        "{first}"
    );

    // Fig. 6: both runs' prefixes projected, coloured by the label, trustworthiness stated.
    for variant in ["v2", "v3"] {
        let dir = out.join("fig6").join(variant);
        let umap: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("umap.json")).unwrap()).unwrap();
        assert_eq!(umap["points"], 8, "{umap}");
        assert_eq!(umap["source"]["input"], "prefix");
        let t = unit(&umap["trustworthiness"]["value"], "trustworthiness");
        assert!(t > 0.0, "{variant}: {t}");
        let csv = std::fs::read_to_string(dir.join("umap.csv")).unwrap();
        assert!(
            csv.starts_with("VolumeName,umap_1,umap_2,umap_3,group\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 9);
        assert!(csv.contains("Lung nodule "), "{csv}");
        let svg = std::fs::read_to_string(dir.join("umap.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("UMAP-3"), "{variant}");
    }
    // The two variants' prefixes differ (V-3 reads the logits too).
    let a = std::fs::read_to_string(out.join("fig6/v2/umap.csv")).unwrap();
    let b = std::fs::read_to_string(out.join("fig6/v3/umap.csv")).unwrap();
    assert_ne!(a, b);

    // `rad3d compare`: V-3's row is its own evaluation; V-2's carries p-values against V-3.
    let compare: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table4/compare.json")).unwrap())
            .unwrap();
    assert_eq!(compare["against"], "V-3");
    let rows = compare["systems"].as_array().unwrap();
    assert_eq!(
        (&rows[0]["name"], &rows[1]["name"]),
        (&"V-2".into(), &"V-3".into())
    );
    for metric in ["bleu_4", "meteor", "rouge_l", "bertscore_f"] {
        assert_eq!(
            rows[1][metric], summary["variants"]["v3"][metric],
            "{metric}"
        );
        assert_eq!(
            rows[1]["ci"][metric],
            summary["variants"]["v3"]["ci"][metric]
        );
        unit(&rows[0]["p_value"][metric], "p-value");
    }
    let significance = std::fs::read_to_string(out.join("table4/significance.md")).unwrap();
    assert!(significance.contains("| V-2 | ") && significance.contains("| V-3 | "));

    // Reports for the held-out scans: text plus CT-RATE's 18 probabilities each.
    let reports = Path::new(summary["reports"].as_str().unwrap()).to_path_buf();
    let mut reader = csv::Reader::from_path(&reports).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.len(), 2 + 18);
    assert_eq!(&header[2], "Medical material");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    for row in &rows {
        assert!(
            row[0].starts_with("valid_") && !row[1].trim().is_empty(),
            "{row:?}"
        );
        for p in row.iter().skip(2) {
            let p: f64 = p.parse().unwrap();
            assert!((0.0..=1.0).contains(&p));
        }
    }

    // Library events and epoch lines reach a log that is not a terminal.
    assert!(log.contains("epoch 1:") && log.contains("INFO"), "{log}");

    // The trainer's JSONL is accepted by evaluate and scores as its CSV does.
    let refs = data.join("radiology_text_reports/validation_reports.csv");
    let jsonl = Command::new(rad3d())
        .args([
            "evaluate",
            "--text-column",
            "Findings_EN",
            "--json",
            "--refs",
        ])
        .arg(&refs)
        .arg("--hyps")
        .arg(out.join("runs/v3/reports_valid.jsonl"))
        .env("RAD3D_ASSETS", &assets)
        .output()
        .unwrap();
    assert!(
        jsonl.status.success(),
        "{}",
        String::from_utf8_lossy(&jsonl.stderr)
    );
    let from_jsonl: serde_json::Value = serde_json::from_slice(&jsonl.stdout).unwrap();
    assert_eq!(from_jsonl["bleu_4"], summary["variants"]["v3"]["bleu_4"]);

    // The seed covers every initialisation: the same settings train the same run.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs/v2/args.json")).unwrap())
            .unwrap();
    let path = |k: &str| stored[k].as_str().unwrap().to_string();
    let number = |k: &str| stored[k].to_string();
    // The data flags of the documented train command, as its args.json stored them.
    let data_flags: Vec<String> = [
        ("--cache", "cache"),
        ("--valid-cache", "valid_cache"),
        ("--reports", "reports"),
        ("--labels", "labels"),
        ("--valid-reports", "valid_reports"),
        ("--valid-labels", "valid_labels"),
        ("--classifier", "classifier"),
        ("--llm", "llm"),
    ]
    .iter()
    .flat_map(|(flag, key)| [flag.to_string(), path(key)])
    .collect();
    let again_dir = dir.path().join("v2-again");
    let twin = Command::new(rad3d())
        .args(["train", "--variant", "v2", "--generate-tokens", "0", "-q"])
        .args(&data_flags)
        .args(["--epochs", &number("epochs"), "--lr", &number("lr")])
        .args([
            "--batch",
            &number("batch"),
            "--prefix-len",
            &number("prefix_len"),
        ])
        .args([
            "--layers",
            &number("layers"),
            "--max-tokens",
            &number("max_tokens"),
        ])
        .args(["--seed", &number("seed"), "--out"])
        .arg(&again_dir)
        .output()
        .unwrap();
    assert!(
        twin.status.success(),
        "{}",
        String::from_utf8_lossy(&twin.stderr)
    );
    let losses = |run: &Path| -> Vec<String> {
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|v| v.get("loss").map(ToString::to_string))
            .collect()
    };
    let (a, b) = (losses(&out.join("runs/v2")), losses(&again_dir));
    assert!(!a.is_empty());
    assert_eq!(a, b, "same seed, different training");

    // Every run folder states its trainable and frozen parameter counts. V-1 trains the
    // same projector as V-2 and the LLM too; the fine-tuned decoder trains its LLM with
    // the cross-attention it gains, and writes its validation reports through it.
    let params = |run: &Path| -> (u64, u64) {
        let model: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("model.json")).unwrap())
                .unwrap();
        let count = |k: &str| {
            model["params"][k]
                .as_u64()
                .unwrap_or_else(|| panic!("{model}"))
        };
        (count("trainable"), count("frozen"))
    };
    let (v2_trainable, v2_frozen) = params(&out.join("runs/v2"));
    assert!(v2_trainable > 0 && v2_frozen > 0, "V-2 freezes its LLM");
    let mut trained = Vec::new();
    for variant in ["v1", "finetuned"] {
        let run_dir = dir.path().join(variant);
        let run = Command::new(rad3d())
            .args([
                "train",
                "--variant",
                variant,
                "--generate-tokens",
                "6",
                "-q",
            ])
            .args(&data_flags)
            .args([
                "--epochs",
                "1",
                "--lr",
                &number("lr"),
                "--batch",
                &number("batch"),
            ])
            .args([
                "--prefix-len",
                &number("prefix_len"),
                "--layers",
                &number("layers"),
            ])
            .args(["--max-tokens", &number("max_tokens"), "--out"])
            .arg(&run_dir)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{variant}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(run_dir.join("reports_valid.csv").exists());
        trained.push(params(&run_dir));
    }
    assert_eq!(
        trained[0],
        (v2_trainable + v2_frozen, 0),
        "V-1's trainable parameters are V-2's projector plus the LLM"
    );
    let (ft_trainable, ft_frozen) = trained[1];
    assert_eq!(ft_frozen, 0);
    assert!(
        ft_trainable > v2_frozen,
        "the fine-tuned decoder trains the LLM and its added cross-attention"
    );

    // Fig. 12: a (small) prefix-length × depth grid trained and scored cell by cell.
    let sweep_dir = dir.path().join("sweep");
    let sweep = Command::new(rad3d())
        .args([
            "train",
            "--variant",
            "v3",
            "--sweep",
            "--sweep-prefix-lens",
            "2,4",
        ])
        .args(["--sweep-depths", "1", "--generate-tokens", "20", "-q"])
        .args(&data_flags)
        .args(["--epochs", "1", "--batch", &number("batch")])
        .args(["--max-tokens", &number("max_tokens"), "--out"])
        .arg(&sweep_dir)
        .env("RAD3D_ASSETS", &assets)
        .output()
        .unwrap();
    assert!(
        sweep.status.success(),
        "{}",
        String::from_utf8_lossy(&sweep.stderr)
    );
    let grid = std::fs::read_to_string(sweep_dir.join("sweep.csv")).unwrap();
    let rows: Vec<Vec<&str>> = grid
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{grid}");
    assert_eq!((rows[0][0], rows[1][0]), ("2", "4"));
    let params: Vec<usize> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(
        params[1] > params[0],
        "a longer prefix has more parameters: {grid}"
    );
    for row in &rows {
        for cell in &row[3..] {
            unit(
                &serde_json::json!(cell.parse::<f64>().unwrap()),
                "sweep metric",
            );
        }
    }
    assert!(sweep_dir.join("p4_d1/reports_valid.csv").exists());
    let chart =
        rad3d_testutil::svg_texts(&std::fs::read_to_string(sweep_dir.join("sweep.svg")).unwrap());
    for want in ["BLEU-4", "METEOR", "ROUGE-L", "prefix length", "depth 1"] {
        assert!(
            chart.iter().any(|t| t == want),
            "{want} missing from sweep.svg: {chart:?}"
        );
    }

    // Logits cached by a head are read in the head's label order: a labels CSV with the
    // columns in another order is refused, not silently mis-assigned.
    let logits_cache = dir.path().join("valid-logits");
    let embedded = Command::new(rad3d())
        .arg("embed")
        .arg(data.join("metadata/validation_metadata.csv"))
        .arg("--data-dir")
        .arg(data.join("dataset/valid"))
        .args([
            "--checkpoint",
            &path("cache").replace("cache/train", "tiny-encoder/encoder.mpk"),
        ])
        .args([
            "--config",
            "tiny",
            "--classifier",
            &path("classifier"),
            "-q",
            "--out",
        ])
        .arg(&logits_cache)
        .output()
        .unwrap();
    assert!(
        embedded.status.success(),
        "{}",
        String::from_utf8_lossy(&embedded.stderr)
    );
    let labels_csv = std::fs::read_to_string(path("valid_labels")).unwrap();
    let reordered: String = labels_csv
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells[1..].reverse();
            cells.join(",") + "\n"
        })
        .collect();
    let reordered_path = dir.path().join("reordered_labels.csv");
    std::fs::write(&reordered_path, reordered).unwrap();
    let refused = Command::new(rad3d())
        .args(["train", "--variant", "v3", "--no-validation", "--cache"])
        .arg(&logits_cache)
        .args([
            "--reports",
            &path("valid_reports"),
            "--llm",
            &path("llm"),
            "--labels",
        ])
        .arg(&reordered_path)
        .arg("--out")
        .arg(dir.path().join("refused-run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("differ from the logits"), "{err}");

    // A run folder moved elsewhere resumes from another working directory.
    let moved = dir.path().join("moved-v3");
    std::fs::rename(out.join("runs/v3"), &moved).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let resumed = Command::new(rad3d())
        .args(["train", "--resume"])
        .arg(&moved)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{log}");
    assert!(log.contains("resuming step=8"), "{log}");
    assert!(moved.join("reports_valid.csv").exists());
    assert!(
        !out.join("runs/v3").exists(),
        "nothing written to the old place"
    );
    std::fs::rename(&moved, out.join("runs/v3")).unwrap();

    // Re-running resumes: every stage finds its outputs and the summary is rewritten.
    let again = smoke();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("16 already cached"), "{log}");
    assert!(log.contains("8 volumes already reported"), "{log}");
    let rows = csv::Reader::from_path(&reports).unwrap().records().count();
    assert_eq!(rows, 8, "no report written twice");
}
