//! What a subcommand ends with, and the exit code that says it.
//!
//! 0: success. 1: an error (the message names the file, field and value). 2: a usage
//! error (bad flags or flag combinations; clap's own errors also exit 2). 3: the job ran
//! but some items failed; they are listed on stderr and in the file named there.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

/// How a subcommand that did not fail outright ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything asked for was done.
    Done,
    /// Some items failed; the rest were done.
    Partial {
        /// Items that failed.
        failed: usize,
        /// Where the failures are listed, when they were written to a file.
        listed_in: Option<PathBuf>,
    },
}

/// A mistake in the command line that clap cannot see (a combination of flags, a value
/// of the wrong kind): exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a usage error (exit code 2) with this message.
pub(crate) fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(message.into()).into())
}

/// Prints the failure, if any, and maps the result to the process exit code.
pub(crate) fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Partial { failed, listed_in }) => {
            match listed_in {
                Some(path) => eprintln!(
                    "rad3d: {failed} item(s) failed; they are listed in {}",
                    path.display()
                ),
                None => eprintln!("rad3d: {failed} item(s) failed"),
            }
            ExitCode::from(3)
        }
        Err(error) => {
            eprintln!("rad3d: error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
