//! # xs-wasm: a sandboxed, snapshot-able JavaScript machine
//!
//! This crate runs [Moddable's XS](https://github.com/Moddable-OpenSource/moddable)
//! JavaScript engine, compiled to WebAssembly by this repository's
//! `cargo xtask build`, inside [wasmtime]. Each [`Machine`] is one XS VM in its
//! own wasm instance: it can evaluate scripts, exchange JSON messages with the
//! host, be metered, be limited in memory, and be written to a snapshot and
//! restored later, in this process or another, without the original script.
//!
//! ```
//! use serde_json::json;
//! use xs_wasm::{Machine, Options, Runtime};
//!
//! # fn main() -> Result<(), xs_wasm::Error> {
//! // Compile the embedded release artifact once per process (or load it
//! // from the compiled-module cache).
//! let runtime = Runtime::new()?;
//! let mut machine = Machine::new(&runtime, Options::default())?;
//!
//! // Evaluate: the completion value comes back as JSON.
//! assert_eq!(machine.eval("1 + 2")?, json!(3));
//!
//! // Messages: the guest's `sendMessage` reaches the host's handler…
//! machine.set_message_handler(|msg| Ok(json!({ "echo": msg })));
//! machine.eval(r#"
//!     var count = 0;
//!     globalThis.receiveMessage = (msg) => {
//!         count += msg.add;
//!         return sendMessage({ count }).echo;
//!     };
//! "#)?;
//! // …and the host's `send` reaches the guest's `receiveMessage`.
//! assert_eq!(machine.send(&json!({ "add": 2 }))?, json!({ "count": 2 }));
//!
//! // Snapshot, then restore into a fresh machine: the state survives.
//! let snapshot = machine.snapshot()?;
//! let mut restored = Machine::restore(&runtime, &snapshot, Options::default())?;
//! assert_eq!(restored.eval("count")?, json!(2));
//!
//! // A JS exception is a typed error; the machine stays usable.
//! match restored.eval("null.x") {
//!     Err(xs_wasm::Error::Js { name, .. }) => assert_eq!(name, "TypeError"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // Metering: an endless loop stops at the limit.
//! let mut limited = Machine::new(&runtime, Options { meter_limit: Some(100_000), ..Options::default() })?;
//! assert!(matches!(limited.eval("for (;;) {}"), Err(xs_wasm::Error::MeterLimit { .. })));
//! # Ok(())
//! # }
//! ```
//!
//! ## Hardened JavaScript
//!
//! Every machine has XS's Hardened JavaScript globals (non-enumerable, as
//! xsnap and XS's `xst` define them): `lockdown()` freezes the intrinsics
//! (`Object.prototype`, `Array.prototype`, `Function`, ...) and gives each
//! new `Compartment` its own global object over them, with `Date.now()` and
//! `Math.random()` that throw; `harden(o)` freezes `o` and everything
//! reachable from it; `petrify(o)` also makes the internal state of a Map,
//! a Date or an ArrayBuffer immutable; `mutabilities(o)` lists what is
//! still mutable. [`Options::lockdown`] starts a machine locked down, before
//! any guest code runs; the snapshot of a locked machine restores locked.
//!
//! ```
//! use serde_json::json;
//! use xs_wasm::{Machine, Options, Runtime};
//!
//! # fn main() -> Result<(), xs_wasm::Error> {
//! let runtime = Runtime::new()?;
//! let mut machine = Machine::new(&runtime, Options { lockdown: true, ..Options::default() })?;
//! assert_eq!(machine.eval("Object.isFrozen(Array.prototype)")?, json!(true));
//! // harden freezes deeply
//! machine.eval("globalThis.config = harden({ limits: { depth: 3 } })")?;
//! assert_eq!(machine.eval("'use strict'; try { config.limits.depth = 4 } catch (e) { e.name }")?, json!("TypeError"));
//! // a Compartment's globals are its own
//! let isolated = machine.eval("const c = new Compartment({ globals: { answer: 42 } }); c.evaluate('globalThis.leak = answer'); typeof leak")?;
//! assert_eq!(isolated, json!("undefined"));
//! // locked after a snapshot round trip
//! let snapshot = machine.snapshot()?;
//! let mut restored = Machine::restore(&runtime, &snapshot, Options::default())?;
//! assert_eq!(restored.eval("Object.isFrozen(Object.prototype) && Object.isFrozen(config.limits)")?, json!(true));
//! # Ok(())
//! # }
//! ```
//!
//! ## Web-standard globals
//!
//! Unless [`Options::web_globals`] is off, a machine also has `TextEncoder`
//! and `TextDecoder` (Moddable's C implementations; UTF-8 only, with
//! `fatal`, `ignoreBOM` and `stream`; invalid UTF-8 becomes one U+FFFD per
//! maximal subpart, as in Node), `URL` (Moddable's WHATWG parser in C; no
//! IDNA: a host with non-ASCII characters is refused) and `URLSearchParams`,
//! `DOMException`, `atob` and `btoa`, `structuredClone` (XS's marshalling;
//! these three throw `DOMException`s named `InvalidCharacterError` and
//! `DataCloneError`), `queueMicrotask` and `performance.now()` (on the
//! machine's clock: always 0 unless [`Options::real_clock`]).
//!
//! ```
//! use serde_json::json;
//! use xs_wasm::{Machine, Options, Runtime};
//!
//! # fn main() -> Result<(), xs_wasm::Error> {
//! let runtime = Runtime::new()?;
//! let mut machine = Machine::new(&runtime, Options::default())?;
//! let bytes = machine.eval("Array.from(new TextEncoder().encode('é'))")?;
//! assert_eq!(bytes, json!([195, 169]));
//! assert_eq!(machine.eval("new TextDecoder().decode(new Uint8Array([0xF0, 0x9F, 0x98, 0x80])).length")?, json!(2));
//! assert_eq!(machine.eval("[btoa('xs'), atob('eHM=')]")?, json!(["eHM=", "xs"]));
//! let url = machine.eval("const u = new URL('../b?x=1#top', 'https://example.com/a/c'); u.searchParams.append('y', 'é'); [u.href, u.origin]")?;
//! assert_eq!(url, json!(["https://example.com/b?x=1&y=%C3%A9#top", "https://example.com"]));
//! assert_eq!(machine.eval("try { atob('*') } catch (e) { [e instanceof DOMException, e.name, e.code] }")?, json!([true, "InvalidCharacterError", 5]));
//! let order = machine.eval("const order = []; queueMicrotask(() => order.push('micro')); order.push('sync'); Promise.resolve().then(() => order)")?;
//! assert_eq!(order, json!(["sync", "micro"]));
//! let mut bare = Machine::new(&runtime, Options { web_globals: false, ..Options::default() })?;
//! assert_eq!(bare.eval("typeof TextEncoder")?, json!("undefined"));
//! # Ok(())
//! # }
//! ```
//!
//! ## Modules
//!
//! A machine runs ES modules the host loads: set a [`ModuleLoader`] (your
//! own, two closures with [`module_loader`], or [`FsLoader`] for the files
//! under a directory) with
//! [`Machine::set_module_loader`], and [`Machine::import`] a module: it
//! returns the module's namespace (its exports) as JSON. Static imports,
//! `import()` from scripts and modules, top-level `await`, `import.meta.uri`
//! (the module's id), JSON modules (`with { type: "json" }`) and cycles
//! behave as the language says; what the loader refuses is a `TypeError` in
//! the guest, and the machine stays usable. Snapshots keep loaded modules.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use serde_json::json;
//! use xs_wasm::{FsLoader, Machine, Options, Runtime};
//!
//! let dir = std::env::temp_dir().join(format!("xs-wasm-modules-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("lib"))?;
//! std::fs::write(dir.join("config.json"), r#"{ "factor": 6 }"#)?;
//! std::fs::write(dir.join("lib/math.mjs"), "export const times = (a, b) => a * b;")?;
//! std::fs::write(dir.join("main.mjs"), "
//!     import config from './config.json' with { type: 'json' };
//!     const { times } = await import('./lib/math.mjs');
//!     export const answer = times(config.factor, 7);
//!     export const locked = Object.isFrozen(Array.prototype);
//! ")?;
//!
//! let mut machine = Machine::new(&Runtime::new()?, Options { lockdown: true, ..Options::default() })?;
//! machine.set_module_loader(FsLoader::new(&dir)?);
//! assert_eq!(machine.import("./main.mjs")?, json!({ "answer": 42, "locked": true }));
//!
//! // A path outside the loader's root is refused; the machine goes on.
//! match machine.import("../elsewhere.mjs") {
//!     Err(xs_wasm::Error::Js { name, message, .. }) => {
//!         assert_eq!(name, "TypeError");
//!         assert!(message.contains("outside the root"), "{message}");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert_eq!(machine.eval("import('./lib/math.mjs').then((m) => m.times(2, 3))")?, json!(6));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Safety model
//! - Guest code sees only ECMAScript built-ins, `sendMessage`, `console`
//!   and the globals above: no file system, network, environment, host randomness or clock (unless
//!   [`Options::real_clock`]). Same inputs, same results, same snapshot bytes.
//! - Nothing a guest script, message or snapshot does can panic the host or
//!   cause undefined behaviour: failures are [`Error`] values. A wasm trap
//!   stops only that machine ([`Error::Dead`] afterwards).
//! - Endless loops stop at the meter limit ([`Error::MeterLimit`]), memory
//!   bombs at the memory limit ([`Error::OutOfMemory`]), deep recursion is a
//!   JS `RangeError` the guest can catch.
//! - Every call into a machine ends: each has a wall-clock deadline
//!   ([`Options::deadline`], 60 s by default; wasmtime's epoch
//!   interruption, one ticker thread per [`Runtime`]), restore and snapshot
//!   included, which also bounds loops in the engine's C code that the meter
//!   does not see. Another thread can stop a machine with an
//!   [`InterruptHandle`]. A call stopped so ends with [`Error::Deadline`] or
//!   [`Error::Interrupted`], and the machine is then dead ([`Error::Dead`]),
//!   never half-alive.
//! - A host handler that panics does not unwind through the engine: the call
//!   ends with [`Error::HostPanic`] and the machine stays usable.
//! - Options are checked by one rule ([`Options::validate`]) before anything
//!   runs: a meter limit of 0 ticks or a memory limit below
//!   [`Options::MIN_MEMORY_LIMIT`] are [`Error::InvalidOptions`].
//! - Snapshots carry an xs-wasm header (magic, format, port ABI, XS version,
//!   callbacks signature, length, checksum) checked before XS reads them.
//!   The header only catches accidents: a snapshot is untrusted input. XS's
//!   reader checks the structure of what it reads (our patch 0010: sizes,
//!   offsets, slot indexes, kinds, acyclic links), so a crafted payload is
//!   refused ([`Error::Snapshot`]) rather than looping in the reader; one
//!   that passes can still hold any heap of that shape, programs that loop
//!   included, which the meter, the deadline and the memory limit bound
//!   (`cargo xtask fuzz` runs 100,000 crafted snapshots: 0 hangs, 0 panics). With a host key
//!   ([`Options::snapshot_key`], [`SnapshotKey`]) snapshots carry an
//!   HMAC-SHA256 of their bytes, and restore with the key refuses anything
//!   else ([`Error::SnapshotAuth`]): only snapshots this host wrote.
//!
//! ## Artifacts
//! With the default `embed` feature the crate embeds the `wasi-os` artifact
//! from the repository's `artifacts/` (or from `$XS_WASM_ARTIFACTS`) and
//! checks its sha256 against `manifest.json` when [`Runtime::new`] runs. Other
//! variants load with [`Runtime::from_artifacts_dir`] or [`Runtime::from_bytes`].
//!
//! ## Compiled-module cache
//! Compiling the ~1 MB module with Cranelift takes about a second, so a
//! [`Runtime`] keeps the compiled module in a per-user cache directory and
//! later processes load it in milliseconds. The directory ([`ModuleCache`]):
//! - `$XS_WASM_CACHE_DIR` if set (set but empty: no cache);
//! - else `$XDG_CACHE_HOME/xs-wasm` or `$HOME/.cache/xs-wasm` (Linux and other
//!   Unix), `~/Library/Caches/xs-wasm` (macOS), `%LOCALAPPDATA%\xs-wasm` (Windows);
//! - `XS_WASM_CACHE=off` turns the cache off;
//! - in code: [`RuntimeOptions::module_cache`] with [`Runtime::new_with`],
//!   [`Runtime::from_bytes_with`] or [`Runtime::from_artifacts_dir_with`]
//!   ([`ModuleCache::Dir`] or [`ModuleCache::Off`]; these ignore the variables).
//!
//! One entry per artifact sha256 and engine configuration (wasmtime version,
//! target, CPU features, settings); each records its key and a CRC-32 of
//! the compiled code, checked before wasmtime loads it. A missing, corrupt
//! or foreign entry is replaced by a fresh compilation (written to a
//! temporary file, then renamed); a cache that cannot be written (read-only
//! directory) only costs the compilation. [`Runtime::cache_outcome`] tells
//! which happened. Only point the cache at a directory no other user can
//! write: compiled code is native code.

//!
//! ## Machine pool
//! A [`Runtime`] reserves wasm resources for 100 machines when it is made
//! (wasmtime's pooling allocator) and hands them from one machine to the
//! next: `Machine::new` takes about 15 µs and restoring a small snapshot
//! about 0.2 ms (release build, x86-64), and more machines than the pool
//! holds still work, made without it. The cost is address space reserved
//! up front (about 8 GiB per pooled machine, none of it resident) and up to
//! 4 MiB per pool slot kept resident after its machine is dropped. See
//! [`Pooling`] (and `XS_WASM_POOL`) to size the pool or turn it off.

#![warn(missing_docs)]

pub mod abi;
mod artifact;
mod auth;
mod cache;
#[cfg(feature = "embed")]
mod embedded;
mod error;
mod guest;
mod machine;
mod modules;
pub mod preinit;
mod runtime;
mod value;

pub use auth::SnapshotKey;
pub use artifact::{sha256_hex, ArtifactInfo, EngineInfo, FileInfo, Manifest, SnapshotSizes, VariantInfo, WASI_MODULE_FILE, WASI_PREINIT_FILE};
pub use error::{Error, Result, SnapshotAuthError};
pub use abi::{Creation, ABI_VERSION};
pub use guest::{HostResult, LogLevel};
pub use value::{DecodeError, JsValue, TypedArrayKind};
pub use machine::{HeapStatistics, InterruptHandle, Machine, Options};
pub use modules::{module_loader, FnLoader, FsLoader, ModuleLoader, ModuleSource};
pub use cache::{CacheOutcome, ModuleCache};
pub use runtime::{Pooling, Runtime, RuntimeOptions, DEADLINE_TICK, FIBER_STACK, MAX_WASM_STACK};
pub use serde_json::Value;
