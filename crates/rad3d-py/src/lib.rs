//! `rad3d._rad3d`: the native half of the `rad3d` Python package.
//!
//! The exact report metrics of `rad3d-metrics` (the whole `rad3d evaluate` job and the
//! pycocoevalcap / rouge-score scorers) and the CT-CLIP preprocessing of `rad3d-volume`,
//! each releasing the GIL while it works. Every Rust error arrives as `rad3d.Rad3dError`
//! carrying the Rust message. The drop-in scorer classes (`rad3d.metrics.Bleu`, …) are thin
//! Python over these functions, in `python/rad3d`.

mod error;
mod json;
mod metrics;
mod volume;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _rad3d(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Rad3dError", m.py().get_type::<error::Rad3dError>())?;
    metrics::register(m)?;
    volume::register(m)?;
    Ok(())
}
