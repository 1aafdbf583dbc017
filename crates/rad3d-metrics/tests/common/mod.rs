//! Test-data lookup shared by the integration tests: the crate's `tests/data`, the shared
//! fixtures (`$RAD3D_FIXTURES`, default `../shared/fixtures` beside the checkout) and the
//! fetched assets (`$RAD3D_ASSETS`, default `target/assets`). Missing external data skips a
//! test with a notice, except under `CI=true`, where it fails.
// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// This crate's directory.
pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under this crate's `tests/data`.
pub fn data(name: &str) -> PathBuf {
    manifest().join("tests/data").join(name)
}

// Each test binary uses only some of these.
#[allow(unused_imports)]
pub use rad3d_testutil::{assets, available, fixtures, missing};

/// The lines of a text file.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// A JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
