//! The `rad3d` binary as a user runs it: subcommands, exit codes, and the traps of the
//! first command-line tools (misnamed outputs, a file scored against itself, volumes keyed
//! by file name, failures that exited 0, a CUDA request on a CPU build).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `rad3d` with `args` in `cwd`.
fn rad3d_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rad3d"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("rad3d runs")
}

fn rad3d(args: &[&str]) -> Output {
    rad3d_in(Path::new("."), args)
}

/// Writes a small phantom CT to `path` with `rad3d preprocess --phantom`.
fn phantom(path: &Path, extra: &[&str]) {
    let mut args = vec!["preprocess", "--phantom", path.to_str().unwrap(), "--small"];
    args.extend_from_slice(extra);
    let out = rad3d(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(path.exists());
}

/// `rad3d embed INPUT` in `cwd` with the tiny random-weight encoder into `cache/`.
fn embed_tiny(cwd: &Path, input: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "embed",
        input,
        "--random-weights",
        "--config",
        "tiny",
        "--out",
        "cache",
    ];
    args.extend_from_slice(extra);
    rad3d_in(cwd, &args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_lists_every_subcommand_and_version_prints() {
    let out = rad3d(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for sub in [
        "preprocess",
        "labels",
        "split",
        "inspect",
        "embed",
        "classifier",
        "train",
        "generate",
        "evaluate",
        "quickstart",
    ] {
        assert!(help.contains(sub), "{sub} missing from --help:\n{help}");
    }
    let out = rad3d(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        format!("rad3d {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = rad3d(&["preprocess", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = rad3d(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = rad3d(&["generate", "--llm", "x", "--prompt", "a", "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected cpu, cuda or cuda:N"),
        "{}",
        stderr(&out)
    );
}

#[cfg(not(feature = "cuda"))]
#[test]
fn a_cuda_request_on_a_cpu_build_says_how_to_get_cuda() {
    let dir = tempfile::tempdir().unwrap();
    let out = embed_tiny(dir.path(), ".", &["--device", "cuda:1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cuda:1") && err.contains("--features cuda"),
        "{err}"
    );
    assert!(!dir.path().join("cache").exists(), "nothing may be written");
}

#[test]
fn preprocess_refuses_a_misnamed_output_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct.nii.gz");
    phantom(&ct, &["--seed", "3", "--finding", "left pleural effusion"]);

    // `--out x.nii.gz` once wrote safetensors under a NIfTI name.
    let wrong = dir.path().join("x.nii.gz");
    let out = rad3d(&[
        "preprocess",
        ct.to_str().unwrap(),
        "--out",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("safetensors"), "{}", stderr(&out));
    assert!(!wrong.exists());

    let out = rad3d(&["preprocess", ct.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(stats["shape"], serde_json::json!([1, 240, 480, 480]));
    let (min, max) = (
        stats["min"].as_f64().unwrap(),
        stats["max"].as_f64().unwrap(),
    );
    assert!((-1.0..=1.0).contains(&min) && (-1.0..=1.0).contains(&max) && min < max);

    // A volume over the voxel limit is refused from its header, naming the limit.
    let out = rad3d(&[
        "preprocess",
        ct.to_str().unwrap(),
        "--json",
        "--max-voxels",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("1000"), "{}", stderr(&out));

    // A missing input names the file, exit 1.
    let missing = dir.path().join("absent.nii.gz");
    let out = rad3d(&["preprocess", missing.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("absent.nii.gz"), "{}", stderr(&out));
}

#[test]
fn evaluate_refuses_to_score_a_file_against_itself() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("refs.txt");
    std::fs::write(&refs, "no effusion .\n").unwrap();
    let out = rad3d(&[
        "evaluate",
        "--refs",
        refs.to_str().unwrap(),
        "--hyps",
        refs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("against itself"), "{}", stderr(&out));
}

#[test]
fn embed_keys_folders_by_relative_path_and_exits_3_on_failed_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (patient, seed) in [("p1", "1"), ("p2", "2")] {
        std::fs::create_dir_all(data.join(patient)).unwrap();
        phantom(&data.join(patient).join("ct.nii.gz"), &["--seed", seed]);
    }
    std::fs::write(data.join("broken.nii.gz"), b"not a volume").unwrap();
    let out = embed_tiny(dir.path(), "data", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 item(s) failed") && err.contains("errors.tsv"),
        "{err}"
    );
    let errors = std::fs::read_to_string(dir.path().join("cache/errors.tsv")).unwrap();
    assert!(errors.starts_with("broken.nii.gz\t"), "{errors}");
    let cache = rad3d_prefix::ctvit::cache::EmbeddingCache::open(dir.path().join("cache")).unwrap();
    assert_eq!(cache.names(), ["p1/ct.nii.gz", "p2/ct.nii.gz"]);
    let (a, b) = (
        cache.get("p1/ct.nii.gz").unwrap(),
        cache.get("p2/ct.nii.gz").unwrap(),
    );
    assert_ne!(a.latent, b.latent, "two patients, two latents");
}

#[test]
fn train_refuses_missing_validation_data_and_mixed_splits_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    phantom(&dir.path().join("data/train_1_a_1.nii.gz"), &[]);
    let out = embed_tiny(dir.path(), "data", &["-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(
        dir.path().join("train_reports.csv"),
        "VolumeName,Findings_EN\ntrain_1_a_1.nii.gz,No effusion.\n",
    )
    .unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--cache",
            "cache",
            "--reports",
            "train_reports.csv",
            "--llm",
            "missing-llm",
            "--out",
            "run",
        ];
        args.extend_from_slice(extra);
        rad3d_in(dir.path(), &args)
    };
    // Without validation data there would be no best checkpoint and no reports (once exit 0).
    let out = train(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--valid-reports"), "{}", stderr(&out));
    assert!(!dir.path().join("run").exists());
    // A training study in the validation file is a mix-up of files.
    let out = train(&["--valid-reports", "train_reports.csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("train_reports.csv") && err.contains("train_1_a_1"),
        "{err}"
    );
    assert!(!dir.path().join("run").exists());
}

#[test]
fn evaluate_names_missing_columns_unmatched_ids_and_missing_meteor_data() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("validation_reports.csv");
    std::fs::write(
        &refs,
        "VolumeName,Findings_EN\nvalid_1_a_1.nii.gz,No effusion.\nvalid_2_a_1.nii.gz,Cardiomegaly.\n",
    )
    .unwrap();
    let hyps = dir.path().join("reports_valid.csv");
    std::fs::write(
        &hyps,
        "VolumeName,generated,reference\nvalid_1_a_1,No effusion.,x\nvalid_9_a_1,Cardiomegaly.,y\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--refs",
            refs.to_str().unwrap(),
            "--hyps",
            hyps.to_str().unwrap(),
            "--meteor-approx",
        ];
        args.extend_from_slice(extra);
        rad3d(&args)
    };
    let out = run(&["--text-column", "Impressions_EN"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Impressions_EN") && err.contains("validation_reports.csv"),
        "{err}"
    );
    // `valid_1_a_1.nii.gz` joins `valid_1_a_1`; `valid_2`/`valid_9` are listed.
    let out = run(&["--text-column", "Findings_EN"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("valid_2_a_1") && err.contains("valid_9_a_1"),
        "{err}"
    );
    assert!(!err.contains("\"valid_1_a_1"), "{err}");

    // METEOR without its data is an error unless asked for, and then said.
    std::fs::write(
        &hyps,
        "VolumeName,generated\nvalid_1_a_1,No effusion.\nvalid_2_a_1,Cardiomegaly.\n",
    )
    .unwrap();
    let empty = dir.path().join("no-meteor");
    std::fs::create_dir(&empty).unwrap();
    let out = rad3d(&[
        "evaluate",
        "--refs",
        refs.to_str().unwrap(),
        "--hyps",
        hyps.to_str().unwrap(),
        "--meteor-dir",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-meteor"), "{}", stderr(&out));
    let out = run(&["--text-column", "Findings_EN", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["samples"], 2);
    assert!(
        json["meteor_note"].as_str().unwrap().contains("exact"),
        "{json}"
    );
    assert!(
        (json["bleu_1"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{json}"
    );
}

#[test]
fn compare_lays_out_several_systems_as_evaluate_scores_each_pair() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, texts: &[&str]| {
        let path = dir.path().join(name);
        let mut body = String::from("VolumeName,text\n");
        for (i, t) in texts.iter().enumerate() {
            body.push_str(&format!("valid_{i}_a_1.nii.gz,{t}\n"));
        }
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    let refs = write(
        "refs.csv",
        &[
            "No pleural effusion.",
            "Small nodule in the right upper lobe.",
            "Cardiomegaly is present.",
            "Emphysema in both upper lobes.",
            "No consolidation.",
            "Atelectasis in the left lower lobe.",
            "Mild bronchiectasis.",
            "Hiatal hernia.",
        ],
    );
    let a = write(
        "a.csv",
        &[
            "Pleural effusion.",
            "Nodule in the lobe.",
            "Normal heart.",
            "Emphysema.",
            "Consolidation.",
            "Normal.",
            "Bronchiectasis.",
            "No hernia.",
        ],
    );
    let b = write(
        "b.csv",
        &[
            "No pleural effusion.",
            "Small nodule in the right lobe.",
            "Cardiomegaly.",
            "Emphysema in both upper lobes.",
            "No consolidation.",
            "Atelectasis in the left lobe.",
            "Mild bronchiectasis.",
            "Hiatal hernia is seen.",
        ],
    );
    let out_dir = dir.path().join("table");
    let base = [
        "compare",
        "--refs",
        &refs,
        "--bootstrap",
        "200",
        "--meteor-approx",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        rad3d(&args)
    };
    let (run_a, run_b) = (format!("A={a}"), format!("B={b}"));
    let out = run(&[
        "--run",
        &run_a,
        "--run",
        &run_b,
        "--against",
        "B",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["against"], "B");
    let rows = json["systems"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "A");
    assert!(rows[1].get("p_value").is_none(), "{}", rows[1]);

    // Row A is exactly `evaluate --hyps a --compare b`.
    let pair = rad3d(&[
        "evaluate",
        "--refs",
        &refs,
        "--hyps",
        &a,
        "--compare",
        &b,
        "--bootstrap",
        "200",
        "--meteor-approx",
        "--json",
    ]);
    assert_eq!(pair.status.code(), Some(0), "{}", stderr(&pair));
    let pair: serde_json::Value = serde_json::from_slice(&pair.stdout).unwrap();
    for (key, value) in pair.as_object().unwrap() {
        assert_eq!(&rows[0][key], value, "{key}");
    }
    let p = rows[0]["p_value"]["bleu_1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{p}");

    for file in [
        "table.md",
        "table.csv",
        "significance.md",
        "significance.csv",
        "intervals.svg",
        "compare.json",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(out_dir.join("significance.md")).unwrap();
    assert!(md.contains("| A | ") && md.contains("| B | "), "{md}");
    assert!(md.contains("paired permutation test against B"), "{md}");
    let table = std::fs::read_to_string(out_dir.join("table.csv")).unwrap();
    assert!(table.starts_with("System,Avg. BLEU,METEOR"), "{table}");

    // Usage errors name the flag.
    let out = run(&["--run", &run_a, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("at least two"), "{}", stderr(&out));
    let out = run(&["--run", &a, "--run", &run_b, "--out", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("NAME=PATH"), "{}", stderr(&out));
    let out = run(&[
        "--run",
        &run_a,
        "--run",
        &run_b,
        "--against",
        "Z",
        "--out",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("A, B"), "{}", stderr(&out));
}

/// `rad3d train` takes a BioGPT folder as `--llm` (model, Moses + BPE tokenizer, `</s>`
/// as sequence start): one epoch of V-2 on a phantom study, validated, with a report
/// generated through BioGPT's decoder; `rad3d generate` continues a prompt with it.
#[test]
fn train_and_generate_accept_a_biogpt_folder() {
    let Some(biogpt) = rad3d_testutil::require(
        rad3d_testutil::fixtures().join("biogpt/tiny-biogpt"),
        "BioGPT fixture",
    ) else {
        return;
    };
    let biogpt = biogpt.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for study in ["train_1_a_1", "valid_1_a_1"] {
        phantom(&dir.path().join(format!("data/{study}.nii.gz")), &[]);
    }
    let out = embed_tiny(dir.path(), "data", &["-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (file, study, report) in [
        (
            "train.csv",
            "train_1_a_1",
            "The chest CT shows no pleural effusion.",
        ),
        ("valid.csv", "valid_1_a_1", "Mild cardiomegaly; no nodule."),
    ] {
        std::fs::write(
            dir.path().join(file),
            format!("VolumeName,Findings_EN\n{study}.nii.gz,{report}\n"),
        )
        .unwrap();
    }
    let out = rad3d_in(
        dir.path(),
        &[
            "train",
            "--variant",
            "v2",
            "--cache",
            "cache",
            "--reports",
            "train.csv",
            "--valid-reports",
            "valid.csv",
            "--llm",
            biogpt,
            "--out",
            "run",
            "--epochs",
            "1",
            "--batch",
            "1",
            "--prefix-len",
            "2",
            "--layers",
            "1",
            "--max-tokens",
            "16",
            "--generate-tokens",
            "4",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let model = std::fs::read_to_string(dir.path().join("run/model.json")).unwrap();
    assert!(model.contains("tiny-biogpt"), "{model}");
    let metrics = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let val_loss = last["val_loss"].as_f64().unwrap();
    // Untrained on a 138-token vocabulary: about ln(138) ≈ 4.9 nats per token.
    assert!(val_loss.is_finite() && val_loss > 1.0, "{last}");
    let reports = std::fs::read_to_string(dir.path().join("run/reports_valid.csv")).unwrap();
    assert!(
        reports.lines().nth(1).unwrap().starts_with("valid_1_a_1,"),
        "{reports}"
    );

    let out = rad3d(&[
        "generate",
        "--llm",
        biogpt,
        "--prompt",
        "The chest CT shows",
        "--max-new-tokens",
        "4",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).trim().is_empty(), "{}", stdout(&out));
}
