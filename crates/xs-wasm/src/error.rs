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
    /// The call ran past its deadline ([`Options::deadline`](crate::Options::deadline),
    /// a wall-clock time per call, restore and snapshot included) and was
    /// stopped. A machine is stopped for good ([`Error::Dead`] afterwards); a
    /// [`Machine::new`](crate::Machine::new) or
    /// [`Machine::restore`](crate::Machine::restore) stopped so made no machine.
    #[error("the call ran past its deadline of {} ms", deadline.as_millis())]
    Deadline {
        /// The deadline the call had.
        deadline: std::time::Duration,
    },
    /// The call was ended by [`InterruptHandle::interrupt`](crate::InterruptHandle::interrupt)
    /// (from another thread), or the machine was interrupted while idle and
    /// this is the first call since. The machine is stopped for good.
    #[error("the machine was interrupted (InterruptHandle::interrupt)")]
    Interrupted,
    /// The call's result (the JSON of its completion value or reply) could
    /// not be handed to the host: `size` bytes did not fit in the machine's
    /// memory next to its heap (memory limit `limit` bytes). Nothing of the
    /// result is returned; the machine stays usable (what the call did to
    /// the machine's state stays done).
    #[error("the result is {size} bytes, more than fits in the machine's memory (memory limit {limit} bytes)")]
    ResultTooLarge {
        /// Bytes of the result (UTF-8 JSON).
        size: u64,
        /// The machine's memory limit, bytes ([`Options::memory_limit`](crate::Options::memory_limit)).
        limit: u64,
    },
    /// Options no machine can run with (for example a meter limit of 0
    /// ticks, or a memory limit below [`Options::MIN_MEMORY_LIMIT`](crate::Options::MIN_MEMORY_LIMIT)),
    /// refused before anything runs; the message names the option.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A host handler (message or log handler) panicked during the call. The
    /// panic was caught: the guest's `sendMessage` threw an `Error`, and the
    /// call, which went on, reports this instead of its result. The machine
    /// stays usable.
    #[error("a host handler panicked: {message}")]
    HostPanic {
        /// The panic's message (`"<non-string panic payload>"` when it was not text).
        message: String,
    },
    /// Restoring with a snapshot key ([`Options::snapshot_key`](crate::Options::snapshot_key))
    /// refused the snapshot before reading it: it carries no MAC, or its MAC
    /// is not that of these bytes under this key.
    #[error("snapshot refused: {0}")]
    SnapshotAuth(SnapshotAuthError),
    /// An event-loop run ([`Machine::run`](crate::Machine::run),
    /// [`Machine::eval_async`](crate::Machine::eval_async), ...) cannot go
    /// on: the promise it awaits is pending while the guest has no timers
    /// and no host calls left (it can never settle), or host calls made no
    /// progress within the machine's host-call timeout (they are then
    /// cancelled: rejected in the guest). The machine stays usable.
    #[error("the run stalled: {0}")]
    Stalled(String),
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
    /// A WebAssembly failure known only by its message (for example the
    /// engine returned an unknown status, or a result out of bounds). After
    /// one during a call the machine is stopped; the host process is
    /// unaffected. wasmtime's own errors are [`Error::Wasmtime`].
    #[error("wasm: {0}")]
    Wasm(String),
    /// A WebAssembly trap or another wasmtime failure (compiling, linking,
    /// instantiating), kept as the [`source`](std::error::Error::source) so a
    /// caller can tell them apart: a trap is a [`wasmtime::Trap`] in the
    /// source chain ([`Error::trap`] finds it). After a trap during a call the
    /// machine is stopped; the host process is unaffected.
    #[error("wasm: {source:#}")]
    Wasmtime {
        /// wasmtime's error, with its context (e.g. the wasm backtrace of a trap).
        #[source]
        source: wasmtime::Error,
    },
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

/// Why restoring with a snapshot key refused a snapshot ([`Error::SnapshotAuth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotAuthError {
    /// The snapshot carries no MAC: it was written without a key.
    #[error("it carries no MAC (it was written without a snapshot key)")]
    Missing,
    /// The snapshot's MAC does not match: it was written with another key,
    /// or its bytes (header, payload or MAC) were changed since.
    #[error("its MAC does not match (written with another key, or changed since)")]
    Mismatch,
}

impl Error {
    /// A wasmtime failure ([`Error::Wasmtime`]), or the deadline or
    /// interrupt that ended the call ([`Error::Deadline`], [`Error::Interrupted`]).
    pub(crate) fn wasm(error: impl Into<wasmtime::Error>) -> Self {
        let source = error.into();
        if let Some(reached) = source.downcast_ref::<DeadlineReached>() {
            return Error::Deadline { deadline: reached.0 };
        }
        if source.downcast_ref::<InterruptRequested>().is_some() {
            return Error::Interrupted;
        }
        Error::Wasmtime { source }
    }

    /// The WebAssembly trap behind this error, if it is one (an
    /// [`Error::Wasmtime`] whose source chain holds a [`wasmtime::Trap`]).
    pub fn trap(&self) -> Option<wasmtime::Trap> {
        match self {
            Error::Wasmtime { source } => source.downcast_ref::<wasmtime::Trap>().copied(),
            _ => None,
        }
    }
}

/// `Result<T, xs_wasm::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the epoch callback ends a call with; [`Error::wasm`] turns it into
/// [`Error::Deadline`].
#[derive(Debug)]
pub(crate) struct DeadlineReached(pub(crate) std::time::Duration);

impl std::fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "deadline of {} ms reached", self.0.as_millis())
    }
}

impl std::error::Error for DeadlineReached {}

/// What the epoch callback ends an interrupted call with; [`Error::wasm`]
/// turns it into [`Error::Interrupted`].
#[derive(Debug)]
pub(crate) struct InterruptRequested;

impl std::fmt::Display for InterruptRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for InterruptRequested {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
    use wasmtime::{Engine, Instance, Module, Store, Trap};

    /// `(module (import "host" "f" (func)) (func (export "boom") unreachable))`
    /// in the binary format (no `wat` feature here).
    const MODULE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: [] -> []
        0x02, 0x0a, 0x01, 0x04, b'h', b'o', b's', b't', 0x01, b'f', 0x00, 0x00, // import host.f: type 0
        0x03, 0x02, 0x01, 0x00, // function 1: type 0
        0x07, 0x08, 0x01, 0x04, b'b', b'o', b'o', b'm', 0x00, 0x01, // export "boom": function 1
        0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // body: unreachable, end
    ];

    fn module() -> (Engine, Module) {
        let engine = Engine::default();
        let module = Module::new(&engine, MODULE).unwrap();
        (engine, module)
    }

    /// The trap, found by walking `std::error::Error::source`, as a caller
    /// that knows only the standard trait would.
    fn trap_in_chain(error: &Error) -> Option<Trap> {
        std::iter::successors(error.source(), |&e| e.source()).find_map(|e| e.downcast_ref::<Trap>()).copied()
    }

    #[test]
    fn errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }

    #[test]
    fn a_trap_stays_a_trap_behind_the_error() {
        let (engine, module) = module();
        let mut store = Store::new(&engine, ());
        let f = wasmtime::Func::wrap(&mut store, || {});
        let instance = Instance::new(&mut store, &module, &[f.into()]).unwrap();
        let boom = instance.get_typed_func::<(), ()>(&mut store, "boom").unwrap();
        let error = Error::wasm(boom.call(&mut store, ()).unwrap_err());
        assert!(matches!(error, Error::Wasmtime { .. }), "{error:?}");
        assert_eq!(error.trap(), Some(Trap::UnreachableCodeReached));
        assert_eq!(trap_in_chain(&error), Some(Trap::UnreachableCodeReached));
        let message = error.to_string();
        assert!(message.starts_with("wasm: ") && message.contains("unreachable"), "{message}");
    }

    #[test]
    fn a_link_error_is_not_a_trap() {
        let (engine, module) = module();
        let mut store = Store::new(&engine, ());
        let error = Error::wasm(Instance::new(&mut store, &module, &[]).unwrap_err());
        assert!(error.source().is_some(), "wasmtime's error is the source");
        assert_eq!(error.trap(), None);
        assert_eq!(trap_in_chain(&error), None);
        assert!(error.to_string().contains("import"), "{error}");
        assert!(Error::Wasm("engine status 9".into()).source().is_none());
    }
}

