//! Burn records (`.mpk`, full precision) of trained modules: the projector, a fine-tuned
//! LLM, a small LM trained from scratch.

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use crate::error::{ModelError, Result};

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

fn weights_err(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::Weights {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The record file Burn reads or writes for `path` (its extension becomes `.mpk`).
fn record_path(path: &Path) -> PathBuf {
    path.with_extension("mpk")
}

/// Every parameter's shape, in visiting order, without drawing lazily initialised values.
struct Shapes(Vec<Vec<usize>>);

impl<B: Backend> ModuleVisitor<B> for Shapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.lazy_shape().to_vec());
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        self.0.push(param.lazy_shape().to_vec());
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        self.0.push(param.lazy_shape().to_vec());
    }
}

fn shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<Vec<usize>> {
    let mut visitor = Shapes(Vec::new());
    module.visit(&mut visitor);
    visitor.0
}

/// Loads `module`'s parameters from the record at `path` (`.mpk`), keeping the parameter
/// ids of the file so that a saved optimizer state applies.
///
/// Burn replaces parameters with whatever the file holds: a record of another
/// architecture (another variant, an edited layer count) would load and fail later with a
/// panic deep in a matmul. Every parameter's shape is therefore compared with the
/// module's, and a mismatch is an error naming the file.
pub fn load_record<B: Backend, M: Module<B>>(
    module: M,
    path: &Path,
    device: &B::Device,
) -> Result<M> {
    let file = record_path(path);
    if !file.is_file() {
        return Err(weights_err(&file, "weights file does not exist"));
    }
    let expected = shapes(&module);
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        module.load_file(&file, &recorder(), device)
    }))
    .map_err(|_| weights_err(&file, "the record does not match the model's structure"))?
    .map_err(|e| weights_err(&file, format!("cannot load Burn record: {e}")))?;
    let found = shapes(&loaded);
    if found.len() != expected.len() {
        return Err(weights_err(
            &file,
            format!(
                "the record holds {} parameters, the model has {}: written for another \
                 architecture",
                found.len(),
                expected.len()
            ),
        ));
    }
    if let Some((i, (f, e))) = found
        .iter()
        .zip(&expected)
        .enumerate()
        .find(|(_, (f, e))| f != e)
    {
        return Err(weights_err(
            &file,
            format!(
                "parameter {i} has shape {f:?} in the record but {e:?} in the model: written \
                 for another architecture"
            ),
        ));
    }
    Ok(loaded)
}

/// Writes `module`'s parameters to `path` (`.mpk`) through a temporary file renamed into
/// place, so an interrupted write never leaves a truncated record under the real name.
/// Lazily initialised weights are drawn first, so the file holds the module's own values.
pub fn save_record<B: Backend, M: Module<B>>(module: &M, path: &Path) -> Result<PathBuf> {
    let file = record_path(path);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Burn's recorder sets the extension itself: the temporary name must end in `.mpk`.
    // Lazily drawn weights are fixed first: a clone would otherwise draw its own.
    crate::materialize(module);
    let tmp = file.with_file_name(format!(".{name}.{}.partial.mpk", std::process::id()));
    module
        .clone()
        .save_file(&tmp, &recorder())
        .map_err(|e| weights_err(&file, format!("cannot save Burn record: {e}")))?;
    std::fs::rename(&tmp, &file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        weights_err(&file, format!("cannot move the record into place: {e}"))
    })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::LinearConfig;

    #[test]
    fn round_trip_and_missing_file() {
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let a = LinearConfig::new(3, 2).init::<Flex>(&device);
        let written = save_record(&a, &dir.path().join("lin")).unwrap();
        assert_eq!(written, dir.path().join("lin.mpk"));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        let b = load_record(
            LinearConfig::new(3, 2).init::<Flex>(&device),
            &written,
            &device,
        )
        .unwrap();
        let diff = (a.weight.val() - b.weight.val()).abs().max().into_scalar();
        assert_eq!(diff, 0.0);
        let err = load_record(a, &dir.path().join("nope.mpk"), &device).unwrap_err();
        assert!(err.to_string().contains("nope.mpk"), "{err}");
    }

    #[test]
    fn a_record_of_another_shape_is_refused() {
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let a = LinearConfig::new(3, 2).init::<Flex>(&device);
        let written = save_record(&a, &dir.path().join("lin")).unwrap();
        let other = LinearConfig::new(4, 2).init::<Flex>(&device);
        let err = load_record(other, &written, &device).unwrap_err();
        assert!(
            err.to_string().contains("another architecture") && err.to_string().contains("lin.mpk"),
            "{err}"
        );
        // A record without the bias the module has would silently drop it: refused.
        let no_bias = LinearConfig::new(3, 2)
            .with_bias(false)
            .init::<Flex>(&device);
        let written = save_record(&no_bias, &dir.path().join("no_bias")).unwrap();
        let with_bias = LinearConfig::new(3, 2).init::<Flex>(&device);
        let err = load_record(with_bias, &written, &device).unwrap_err();
        assert!(err.to_string().contains("parameters"), "{err}");
    }
}
