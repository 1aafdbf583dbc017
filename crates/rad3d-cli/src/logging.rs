//! Library log events on stderr through `tracing-subscriber`: `-v`/`-vv` for debug and
//! trace, `-q` for errors only, `RUST_LOG` (the `tracing` filter syntax) overriding both.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// Whether `-q` was given: progress bars and periodic lines stay silent too.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The verbosity flags every subcommand accepts.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct Verbosity {
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Errors only: no progress, no informational lines.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

/// Installs the global subscriber once, before any work starts.
pub(crate) fn init(v: &Verbosity) {
    QUIET.store(v.quiet, Ordering::Relaxed);
    let level = match (v.quiet, v.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // A second install (only possible in tests) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Whether `-q` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}
