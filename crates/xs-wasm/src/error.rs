//! The crate's error type.

/// Everything that can go wrong in this crate. No method panics on bad input
/// (guest scripts, messages, snapshot bytes); each failure is one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The guest threw. `name` is the thrown object's `name` (empty when the
    /// guest threw a value that is not an object, e.g. `throw 42`), `message`
    /// its `message` (or the value converted to a string), `stack` its `stack`
    /// (may be empty). The machine stays usable.
    #[error("{name}: {message}")]
    Js {
        /// `error.name`, e.g. `"TypeError"`; empty for non-object throws.
        name: String,
        /// `error.message`, or `String(value)` for non-object throws.
        message: String,
        /// `error.stack` as XS formats it; may be empty.
        stack: String,
    },
    /// The call used more than the meter limit (`used` meter ticks, counted
    /// from the start of the call). The machine is stopped for good.
    #[error("meter limit reached after {used} meter ticks")]
    MeterLimit {
        /// Meter ticks the call had used when it was stopped.
        used: u64,
    },
    /// The guest exhausted the memory limit. The machine is stopped for good.
    #[error("out of memory: the machine's memory limit was reached")]
    OutOfMemory,
    /// The machine's C stack overflowed while it could not throw a
    /// `RangeError` (for example during garbage collection). Ordinary deep
    /// recursion in scripts is a `RangeError` ([`Error::Js`]) instead.
    #[error("stack overflow inside the engine")]
    StackOverflow,
    /// A snapshot could not be written or read: garbage, empty, truncated or
    /// corrupt bytes, or a snapshot from an incompatible build.
    #[error("snapshot: {reason}")]
    Snapshot {
        /// Why the snapshot was refused, e.g. `"not an xs-wasm snapshot (bad magic)"`.
        reason: String,
    },
    /// An earlier call stopped this machine (meter limit, out of memory, a
    /// trap); it refuses every call since. `reason` says what stopped it.
    #[error("the machine is stopped: {reason}")]
    Dead {
        /// What stopped the machine.
        reason: String,
    },
    /// The guest returned something that is not valid JSON for the host
    /// (for example its `JSON.stringify` was replaced).
    #[error("invalid JSON from the guest: {0}")]
    InvalidJson(String),
    /// A message or value could not be serialized/deserialized on the host side.
    #[error("message (de)serialization: {0}")]
    Serde(#[from] serde_json::Error),
    /// The artifact's sha256 differs from the one its manifest records.
    #[error("artifact {variant}: sha256 mismatch (expected {expected}, actual {actual})")]
    ArtifactMismatch {
        /// The variant whose artifact was checked.
        variant: String,
        /// sha256 recorded in the manifest (hex).
        expected: String,
        /// sha256 of the bytes given (hex).
        actual: String,
    },
    /// The manifest is missing, unreadable, or has no entry for the variant.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The module does not export the xs-wasm ABI this crate speaks.
    #[error("incompatible artifact: {0}")]
    Incompatible(String),
    /// A WebAssembly trap or wasmtime failure. After a trap during a call the
    /// machine is stopped; the host process is unaffected.
    #[error("wasm: {0}")]
    Wasm(String),
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn wasm(error: impl std::fmt::Display) -> Self {
        Error::Wasm(format!("{error:#}"))
    }
}

/// `Result<T, xs_wasm::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
