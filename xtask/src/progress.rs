//! Step lines with elapsed time: `[  12.3s] wasi-os: compile 48 files (zig cc 0.17.1)`.

use std::time::{Duration, Instant};

/// How much the xtask prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and the final table only.
    Quiet,
    /// One line per step.
    Normal,
    /// Also every command line.
    Verbose,
}

/// Prints progress lines, prefixed with the time since the xtask started.
/// Shared between compile threads (`&Progress` is `Sync`).
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    verbosity: Verbosity,
    label: String,
}

impl Progress {
    /// Start the clock.
    pub fn new(verbosity: Verbosity) -> Progress {
        Progress { start: Instant::now(), verbosity, label: String::new() }
    }

    /// The same clock and verbosity, every line labelled (e.g. `B: `), for
    /// work that runs alongside other work.
    pub fn labelled(&self, label: &str) -> Progress {
        Progress { start: self.start, verbosity: self.verbosity, label: label.to_owned() }
    }

    /// The verbosity chosen on the command line.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Time since the xtask started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// One step line (not in `--quiet`).
    pub fn step(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            self.print(message.as_ref());
        }
    }

    /// A detail line, e.g. a command (only in `--verbose`).
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(&format!("  {}", message.as_ref()));
        }
    }

    /// A warning: printed unless `--quiet`, to stderr.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("[{}] {}warning: {}", stamp(self.elapsed()), self.label, message.as_ref());
        }
    }

    fn print(&self, message: &str) {
        println!("[{}] {}{message}", stamp(self.elapsed()), self.label);
    }
}

fn stamp(elapsed: Duration) -> String {
    format!("{:>6.1}s", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_is_right_aligned_seconds_with_one_decimal() {
        assert_eq!(stamp(Duration::from_millis(12_345)), "  12.3s");
        assert_eq!(stamp(Duration::from_millis(0)), "   0.0s");
    }
}
