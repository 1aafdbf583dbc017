//! Progress of long loops: a bar with ETA on a terminal, plain periodic lines when stderr
//! is a file or a pipe (batch jobs, CI logs), nothing under `-q`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::logging;

/// How often a plain progress line is printed without a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Progress of one loop over a known number of items.
pub(crate) struct Progress {
    what: String,
    bar: Option<ProgressBar>,
    plain: Option<Mutex<Plain>>,
}

/// State of the plain-line reporter.
struct Plain {
    len: u64,
    pos: u64,
    message: String,
    start: Instant,
    last: Instant,
}

impl Progress {
    /// Progress over `len` items of `what` ("volumes", "steps", …).
    pub(crate) fn new(what: &str, len: u64) -> Self {
        let quiet = logging::quiet();
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta_precise} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        let plain = (!quiet && !terminal).then(|| {
            Mutex::new(Plain {
                len,
                pos: 0,
                message: String::new(),
                start: now,
                last: now,
            })
        });
        Self {
            what: what.to_string(),
            bar,
            plain,
        }
    }

    /// Changes the number of items.
    pub(crate) fn set_length(&self, len: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(len);
        }
        self.with_plain(|p| p.len = len, false);
    }

    /// Sets how many items are done.
    pub(crate) fn set_position(&self, pos: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
        }
        self.with_plain(|p| p.pos = pos, true);
    }

    /// Marks `n` more items done.
    pub(crate) fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        self.with_plain(|p| p.pos += n, true);
    }

    /// Sets the text shown after the counts.
    pub(crate) fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.clone());
        }
        self.with_plain(|p| p.message = message, false);
    }

    /// Prints a line above the bar (or on stderr); silent under `-q`.
    pub(crate) fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None if !logging::quiet() => eprintln!("{}", line.as_ref()),
            None => {}
        }
    }

    /// Ends the loop: clears the bar, prints a last plain line.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if let Some(plain) = &self.plain {
            let p = plain.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("{}", line(&self.what, &p));
        }
    }

    /// Updates the plain state and prints a line when `tick` and the period has passed.
    fn with_plain(&self, update: impl FnOnce(&mut Plain), tick: bool) {
        let Some(plain) = &self.plain else { return };
        let mut p = plain.lock().unwrap_or_else(|e| e.into_inner());
        update(&mut p);
        if tick && p.last.elapsed() >= PLAIN_EVERY {
            p.last = Instant::now();
            eprintln!("{}", line(&self.what, &p));
        }
    }
}

/// `[  12.3 s] 40/100 volumes, 3.2/s, ETA 18.8 s: message`.
fn line(what: &str, p: &Plain) -> String {
    let elapsed = p.start.elapsed().as_secs_f64();
    let rate = p.pos as f64 / elapsed.max(1e-9);
    let eta = if p.pos > 0 && p.len >= p.pos {
        format!(", ETA {:.0} s", (p.len - p.pos) as f64 / rate.max(1e-12))
    } else {
        String::new()
    };
    let message = if p.message.is_empty() {
        String::new()
    } else {
        format!(": {}", p.message)
    };
    format!(
        "[{elapsed:>7.1} s] {}/{} {what}, {rate:.2}/s{eta}{message}",
        p.pos, p.len
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_give_counts_rate_and_eta() {
        let p = Plain {
            len: 100,
            pos: 40,
            message: "train_1_a_1".into(),
            start: Instant::now() - Duration::from_secs(20),
            last: Instant::now(),
        };
        let text = line("volumes", &p);
        assert!(
            text.contains("40/100 volumes, 2.00/s, ETA 30 s: train_1_a_1"),
            "{text}"
        );
    }
}
