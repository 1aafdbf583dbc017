//! The one Python exception of the package, carrying the Rust error's message.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;

create_exception!(
    rad3d,
    Rad3dError,
    PyValueError,
    "An error reported by rad3d (bad input, unreadable or missing files, missing METEOR data); \
     the message is the Rust library's."
);

/// A Rust error as a [`Rad3dError`] with its full message (its sources joined by `: `).
pub(crate) fn to_py(e: impl std::error::Error) -> PyErr {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    Rad3dError::new_err(msg)
}

/// A [`Rad3dError`] with this message (argument checks of the bindings themselves).
pub(crate) fn input(msg: impl Into<String>) -> PyErr {
    Rad3dError::new_err(msg.into())
}
