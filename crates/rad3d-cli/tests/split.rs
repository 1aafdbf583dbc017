//! `rad3d split` and `rad3d labels from-entities` on generated label data: a stratified
//! split keeps every frequent label's share, is fixed by its seed, and bad input fails with
//! the file and line named.

use std::path::Path;
use std::process::{Command, Output};

fn rad3d(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rad3d"))
        .args(args)
        .output()
        .unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// 3000 studies × 21 labels with frequencies from 30 % down to 0.3 %, some co-occurring,
/// drawn from a fixed SplitMix64 stream; returns the CSV and each label's positives.
fn skewed_label_csv(path: &Path) -> Vec<usize> {
    let mut state = 0x5EED_u64;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let freqs: Vec<f64> = (0..21).map(|i| 0.3 * 0.79f64.powi(i)).collect();
    let names: Vec<String> = (0..21).map(|i| format!("Concept {i}")).collect();
    let mut text = format!("impression_id,{}\n", names.join(","));
    let mut positives = vec![0; 21];
    for s in 0..3000 {
        let mut row = Vec::new();
        let mut prev = false;
        for (l, f) in freqs.iter().enumerate() {
            let p = if l % 3 == 1 && prev {
                (f * 4.0).min(0.8)
            } else {
                *f
            };
            let on = uniform() < p;
            positives[l] += usize::from(on);
            row.push(if on { "1" } else { "0" });
            prev = on;
        }
        text.push_str(&format!("PE{s:05},{}\n", row.join(",")));
    }
    std::fs::write(path, text).unwrap();
    positives
}

#[test]
fn split_keeps_each_frequent_labels_share_and_is_fixed_by_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.csv");
    let positives = skewed_label_csv(&labels);
    assert!(
        positives.iter().filter(|&&p| p >= 50).count() >= 12,
        "{positives:?}"
    );
    assert!(positives.iter().any(|&p| p < 50), "{positives:?}");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["split", "--labels", p(&labels), "--test-fraction", "0.2"];
        args.extend(extra);
        args.extend(["--out", p(out), "-q"]);
        let o = rad3d(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    run(&a, &["--seed", "3"]);
    run(&b, &["--seed", "3"]);
    run(&c, &["--seed", "4"]);
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    for file in ["train.txt", "test.txt", "proportions.csv", "proportions.md"] {
        assert_eq!(
            read(&a, file),
            read(&b, file),
            "{file} differs for one seed"
        );
    }
    assert_ne!(read(&a, "test.txt"), read(&c, "test.txt"));
    assert!(!a.join("valid.txt").exists());

    let train: Vec<&str> = read(&a, "train.txt").leak().lines().collect();
    let test: Vec<&str> = read(&a, "test.txt").leak().lines().collect();
    assert_eq!(train.len() + test.len(), 3000);
    assert!(
        (test.len() as i64 - 600).abs() <= 10,
        "{} test studies",
        test.len()
    );
    let mut all: Vec<&str> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 3000, "every study in exactly one part");

    // Recount the test part's shares from the label CSV itself, not from the table.
    let test_set: std::collections::HashSet<&str> = test.iter().copied().collect();
    let mut in_test = [0usize; 21];
    let mut reader = csv::Reader::from_path(&labels).unwrap();
    for rec in reader.records() {
        let rec = rec.unwrap();
        if test_set.contains(&rec[0]) {
            for l in 0..21 {
                in_test[l] += usize::from(&rec[l + 1] == "1");
            }
        }
    }
    let mut checked = 0;
    for l in 0..21 {
        if positives[l] < 50 {
            continue;
        }
        let whole = positives[l] as f64 / 3000.0;
        let part = in_test[l] as f64 / test.len() as f64;
        let pp = (part - whole).abs() * 100.0;
        assert!(
            pp <= 2.0,
            "label {l}: {part:.4} in test vs {whole:.4} overall ({pp:.2} pp)"
        );
        checked += 1;
    }
    assert!(checked >= 12);

    // The table agrees with the recount.
    let table = read(&a, "proportions.csv");
    let row = table.lines().find(|l| l.starts_with("Concept 0,")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[1], positives[0].to_string());
    let test_share: f64 = cells[4].parse().unwrap();
    assert!(
        (test_share - in_test[0] as f64 / test.len() as f64).abs() < 1e-6,
        "{row}"
    );

    // Three parts with --valid-fraction.
    let v = dir.path().join("v");
    run(&v, &["--valid-fraction", "0.1"]);
    let n_valid = read(&v, "valid.txt").lines().count();
    assert!((n_valid as i64 - 300).abs() <= 10, "{n_valid}");
}

#[test]
fn split_refuses_bad_fractions_and_bad_labels() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "id,A,B\na,1,0\nb,0,2\n").unwrap();
    let out = dir.path().join("out");
    let o = rad3d(&[
        "split",
        "--labels",
        p(&labels),
        "--test-fraction",
        "1.5",
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = rad3d(&[
        "split",
        "--labels",
        p(&labels),
        "--test-fraction",
        "0.5",
        "--out",
        p(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 3") && err.contains("`2` is not 0 or 1"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on bad input");
}

#[test]
fn labels_from_entities_merges_synonyms_and_writes_the_label_csv() {
    let dir = tempfile::tempdir().unwrap();
    let entities = dir.path().join("entities.csv");
    std::fs::write(
        &entities,
        "entity,cui,count\npulmonary embolism,C0034065,900\nPE,C0034065,300\n\
         pleural effusion,C0032227,1500\nnodule,C0028259,40\n",
    )
    .unwrap();
    let mentions = dir.path().join("mentions.csv");
    std::fs::write(
        &mentions,
        "impression_id,entity\nA1,PE\nA1,nodule\nA2,\nA3,pleural effusion\nA3,Pulmonary Embolism\n",
    )
    .unwrap();
    let out = dir.path().join("labels");
    let from_entities = |more_than: &str| {
        rad3d(&[
            "labels",
            "from-entities",
            "--entities",
            p(&entities),
            "--mentions",
            p(&mentions),
            "--more-than",
            more_than,
            "--out",
            p(&out),
            "-q",
        ])
    };
    let o = from_entities("1000");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("labels.csv")).unwrap(),
        "impression_id,pleural effusion,pulmonary embolism\nA1,0,1\nA2,0,0\nA3,1,1\n"
    );
    let set = std::fs::read_to_string(out.join("label_set.csv")).unwrap();
    assert!(
        set.contains("pulmonary embolism,C0034065,1200,pulmonary embolism|PE"),
        "{set}"
    );

    let o = from_entities("5000");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("lower --more-than"), "{err}");
}
