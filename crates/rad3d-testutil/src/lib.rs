//! Test-only helpers: where the reference fixtures and the fetched assets live, what a
//! test does when they are absent, and PyTorch checkpoints written at test time
//! ([`torch_save`]).
//!
//! - Fixtures: `$RAD3D_FIXTURES`, default `../shared/fixtures` beside the checkout.
//! - Assets: `$RAD3D_ASSETS`, default `target/assets` (`scripts/fetch-assets.sh`).
//!
//! Missing external data skips a test with a notice, except under `CI=true`, where the
//! test fails: CI must never pass by skipping.

#![forbid(unsafe_code)]

pub mod torch_save;

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/rad3d-testutil`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared fixtures directory (it may not exist; see [`require`]).
pub fn fixtures() -> PathBuf {
    std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/fixtures"))
}

/// The fetched assets directory (it may not exist; see [`require`]).
pub fn assets() -> PathBuf {
    std::env::var_os("RAD3D_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/assets"))
}

/// Whether the tests run under CI (`CI=true`), where missing data is a failure.
pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Reports missing data: a skip notice naming it, or a panic under `CI=true`.
///
/// # Panics
/// Under `CI=true`.
pub fn missing(what: &str) {
    assert!(!under_ci(), "{what} missing (required under CI=true)");
    eprintln!("SKIP: {what} missing");
}

/// Whether `path` exists; if not, reports it through [`missing`] (naming `what`).
pub fn available(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    missing(&format!("{what} at {}", path.display()));
    false
}

/// `path` if it exists, else `None` after [`missing`].
pub fn require(path: PathBuf, what: &str) -> Option<PathBuf> {
    available(&path, what).then_some(path)
}

/// The `.safetensors` files directly inside `dir`, sorted (none if `dir` is absent).
pub fn safetensors_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The trimmed contents of an SVG's `<text>` elements, in document order: what a chart
/// shows as titles, axis names, tick values and legend entries.
pub fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}
