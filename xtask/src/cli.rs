//! The value parsers and defaults the commands' option structs share (their
//! fields are clap arguments: `#[derive(clap::Args)]`).

use std::num::NonZeroUsize;
use std::time::Duration;

/// The default of `--jobs`: the available cores (1 when unknown).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `--jobs N`: a whole number of at least 1.
pub fn jobs(text: &str) -> Result<usize, String> {
    text.parse::<NonZeroUsize>().map(NonZeroUsize::get).map_err(|e| format!("{e} (a whole number of at least 1)"))
}

/// One name of a comma-separated `--variants` list, spaces around it ignored.
pub fn variant_name(name: &str) -> Result<String, String> {
    match name.trim() {
        "" => Err("empty variant name".to_owned()),
        name => Ok(name.to_owned()),
    }
}

/// `--timeout SECONDS`: a whole number of seconds, at least 1.
pub fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("0 is not in 1..".to_owned()),
        Ok(n) => Ok(Duration::from_secs(n)),
        Err(e) => Err(e.to_string()),
    }
}
