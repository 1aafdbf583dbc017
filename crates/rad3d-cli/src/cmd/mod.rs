//! One module per subcommand: its flags (`Args`) and its `run`.

pub(crate) mod assets;
pub(crate) mod caches;
pub(crate) mod classifier;
pub(crate) mod compare;
pub(crate) mod embed;
pub(crate) mod evaluate;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod inspect;
pub(crate) mod labels;
pub(crate) mod preprocess;
pub(crate) mod quickstart;
pub(crate) mod report;
pub(crate) mod scoring;
pub(crate) mod split;
pub(crate) mod train;
pub(crate) mod umap;

use std::path::{Path, PathBuf};

use anyhow::Context;

/// `path` made absolute against the current directory, so that run folders store paths
/// that still resolve from another working directory.
pub(crate) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path)
        .with_context(|| format!("{}: cannot resolve the path", path.display()))
}

/// Refuses to write `out` over one of the command's inputs.
pub(crate) fn refuse_overwrite(out: &Path, inputs: &[&Path]) -> anyhow::Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for input in inputs {
        if same(out, input) {
            return crate::outcome::usage(format!(
                "{}: the output would overwrite an input; choose another --out",
                out.display()
            ));
        }
    }
    Ok(())
}

/// Refuses to score a file against itself (`--refs` given again as `flag`).
pub(crate) fn refuse_same_input(a: &Path, b: &Path, flag: &str) -> anyhow::Result<()> {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) if x == y => crate::outcome::usage(format!(
            "{flag} {}: the same file as {}; a file scored against itself proves nothing",
            b.display(),
            a.display()
        )),
        _ => Ok(()),
    }
}
