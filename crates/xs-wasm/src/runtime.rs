//! The compiled module, shared by every machine of a process.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::{Config, Engine, Module};

use crate::artifact::{ArtifactInfo, Manifest, WASI_MODULE_FILE};
use crate::cache::{CacheOutcome, Entry, ModuleCache};
use crate::{Error, Result};

/// The wasm call-stack budget of guest code, in bytes (8 MiB).
///
/// Guest code runs on a separate fiber stack of [`FIBER_STACK`] bytes that
/// wasmtime allocates, so the calling thread's own stack size does not
/// matter. XS's C-stack limit (1 MiB shadow stack in linear memory, see
/// `configs/variants.toml`) turns deep script recursion into a JS
/// `RangeError` well before this budget is used; only recursion XS cannot
/// see (marking ~10^5-deep nested objects during garbage collection) can
/// exhaust it, which traps and stops that machine.
pub const MAX_WASM_STACK: usize = 8 << 20;

/// Size of the fiber stack guest calls run on, in bytes: [`MAX_WASM_STACK`]
/// plus 2 MiB for the host functions the guest calls (message and log handlers).
pub const FIBER_STACK: usize = MAX_WASM_STACK + (2 << 20);

/// How a [`Runtime`] is made. `RuntimeOptions::default()` uses the default
/// module cache ([`ModuleCache::Default`]) and the default machine pool
/// ([`Pooling::from_env`]).
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled modules are cached (see [`ModuleCache`]). A cache that
    /// cannot be read or written never makes creation fail: the module is
    /// compiled instead, and [`Runtime::cache_outcome`] says what happened.
    pub module_cache: ModuleCache,
    /// The machine pool (see [`Pooling`]); `None` for no pool. Default:
    /// [`Pooling::from_env`] (a pool of 100 machines unless `XS_WASM_POOL`
    /// says otherwise). A pool that cannot be reserved is not an error: the
    /// runtime works without one ([`Runtime::pooling`] says which).
    pub pooling: Option<Pooling>,
    /// Deadlines and interrupts (default `true`): wasmtime's epoch
    /// interruption, with one ticker thread per runtime that advances the
    /// epoch every [`DEADLINE_TICK`] while calls of its machines run (and
    /// for a second after; it sleeps otherwise). Machines then honour
    /// [`Options::deadline`](crate::Options::deadline) and
    /// [`Machine::interrupt_handle`](crate::Machine::interrupt_handle).
    /// `false` compiles the module without the epoch checks (a few percent
    /// faster on CPU-bound scripts; see the crate README) and starts no
    /// thread; machines of such a runtime must have `Options::deadline:
    /// None`. The compiled code differs, so the two settings have separate
    /// module-cache entries.
    pub deadlines: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions { module_cache: ModuleCache::default(), pooling: Pooling::from_env(), deadlines: true }
    }
}

/// How often a runtime's ticker advances the epoch while a call runs (10 ms):
/// the granularity of deadlines and the longest an interrupt waits for
/// guest code to notice it (plus the time to reach the next loop back-edge
/// or function entry in the compiled code).
pub const DEADLINE_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// The machine pool of a [`Runtime`]: wasm resources (linear memory slot,
/// stack, instance and table storage) reserved when the runtime is made and
/// reused from one machine to the next, so creating, restoring and dropping a
/// machine maps and unmaps nothing (wasmtime's pooling allocator).
///
/// - Up to [`max_machines`](Pooling::max_machines) machines of the runtime
///   can be alive at once in the pool. More still work: they are made
///   without it (as with no pool at all: slower to create and to drop, same
///   behaviour), from an unpooled copy of the module made the first time the
///   pool is full (a few milliseconds, once).
/// - Address space: each pooled machine reserves two 4 GiB regions (plus
///   32 MiB guards) for its linear memory and wasmtime's GC heap, and a
///   10 MiB stack ([`FIBER_STACK`]), whether or not it is in use: the default
///   100 machines reserve about 0.8 TiB of the 128 TiB of virtual address space
///   of an x86-64 / aarch64 Linux process. Nothing is resident until used. If
///   the reservation fails (`ulimit -v`, a 32-bit host), the runtime works
///   without a pool ([`Runtime::pooling`] is then `None`).
/// - Memory kept: when a machine is dropped, up to
///   [`keep_resident`](Pooling::keep_resident) bytes of the pages it wrote
///   are reset in place and stay resident for the next machine (fewer page
///   faults: restoring a small snapshot takes less than half the time), plus up to
///   64 KiB of its stack; the rest is returned to the system. So a process
///   that once had N machines of a runtime alive keeps up to
///   N × (`keep_resident` + 64 KiB) after dropping them, N at most
///   `max_machines`, until the runtime is dropped. Keeping pages needs
///   Linux 6.7 or later (`PAGEMAP_SCAN`); elsewhere nothing is kept.
///
/// [`Pooling::from_env`] is the default: `XS_WASM_POOL=off` (also `0`,
/// `false`, `no`) for no pool, `XS_WASM_POOL=N` for a pool of N machines,
/// otherwise `Pooling::default()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pooling {
    /// Machines alive at once in the pool (default 100). At least 1.
    pub max_machines: u32,
    /// Bytes of written linear memory a pool slot keeps resident for the next
    /// machine (default 4 MiB; 0 returns every page to the system).
    pub keep_resident: usize,
}

impl Pooling {
    /// [`Pooling::max_machines`] of `Pooling::default()`.
    pub const DEFAULT_MAX_MACHINES: u32 = 100;
    /// [`Pooling::keep_resident`] of `Pooling::default()`.
    pub const DEFAULT_KEEP_RESIDENT: usize = 4 << 20;

    /// The default setting, from the environment: `XS_WASM_POOL=off` (also
    /// `0`, `false`, `no`; any case) gives `None` (no pool),
    /// `XS_WASM_POOL=N` a pool of N machines, anything else (or unset)
    /// `Some(Pooling::default())`.
    pub fn from_env() -> Option<Pooling> {
        Self::from_env_value(std::env::var_os("XS_WASM_POOL").as_deref())
    }

    fn from_env_value(value: Option<&std::ffi::OsStr>) -> Option<Pooling> {
        let Some(value) = value else { return Some(Pooling::default()) };
        let value = value.to_string_lossy().trim().to_ascii_lowercase();
        if matches!(value.as_str(), "off" | "0" | "false" | "no") {
            return None;
        }
        match value.parse::<u32>() {
            Ok(max_machines) => Some(Pooling { max_machines, ..Pooling::default() }),
            Err(_) => Some(Pooling::default()),
        }
    }
}

impl Default for Pooling {
    fn default() -> Self {
        Pooling { max_machines: Self::DEFAULT_MAX_MACHINES, keep_resident: Self::DEFAULT_KEEP_RESIDENT }
    }
}

/// A compiled xs-wasm module plus the engine that runs it.
///
/// Create one per process and share it (it is `Clone`, `Send` and `Sync`;
/// clones share the compiled code). Compiling takes about a second (release
/// build), so by default the compiled module is kept in a per-user cache
/// directory ([`ModuleCache`]) and later processes load it in milliseconds.
/// Creating a [`Machine`](crate::Machine) from the embedded (pre-initialized)
/// module takes microseconds: machine resources come from the runtime's
/// machine pool ([`Pooling`], on by default) and the module's memory already
/// holds a created machine (see [`crate::preinit`]).
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    /// The engine machines are made in (pooled, unless pooling is off or
    /// could not be set up) and its copy of the module.
    pub(crate) main: Flavor,
    /// An unpooled engine and copy of the module for machines beyond the
    /// pool, made the first time the pool is full.
    overflow: Mutex<Option<Arc<Flavor>>>,
    /// The pool of `main`, if it has one.
    pooling: Option<Pooling>,
    pub(crate) info: ArtifactInfo,
    pub(crate) cache: CacheOutcome,
    /// The record of a pre-initialized module (see [`crate::preinit`]).
    pub(crate) preinit: Option<crate::preinit::record::PreinitInfo>,
    /// The epoch ticker, when deadlines are on ([`RuntimeOptions::deadlines`]).
    pub(crate) ticker: Option<Ticker>,
}

/// The epoch ticker of a runtime: one thread that calls
/// [`Engine::increment_epoch`] on the runtime's engines every
/// [`DEADLINE_TICK`] while calls are in progress, and for a second after the
/// last one ended; then it waits on a condition variable until the next
/// call (an idle runtime costs no wake-ups, and a busy one no
/// notification per call). It ends when the runtime is dropped.
pub(crate) struct Ticker {
    shared: Arc<TickerShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct TickerShared {
    /// Engines whose epoch advances (the main one, the overflow one once made).
    engines: Mutex<Vec<Engine>>,
    /// Calls in progress on machines of this runtime.
    running: std::sync::atomic::AtomicUsize,
    /// The thread waits (or is about to) on `wake` for a call to start.
    sleeping: std::sync::atomic::AtomicBool,
    stop: std::sync::atomic::AtomicBool,
    lock: Mutex<()>,
    wake: std::sync::Condvar,
}

/// Ticks without a call before the ticker sleeps (1 s).
const IDLE_TICKS: u32 = 100;

impl Ticker {
    fn start(engine: &Engine) -> Result<Self> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
        let shared = Arc::new(TickerShared {
            engines: Mutex::new(vec![engine.clone()]),
            running: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: std::sync::Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("xs-wasm-deadlines".into())
            .spawn(move || {
                let shared = thread_shared;
                let mut idle = 0;
                while !shared.stop.load(SeqCst) {
                    if shared.running.load(SeqCst) > 0 {
                        idle = 0;
                    } else if idle < IDLE_TICKS {
                        idle += 1;
                    } else {
                        // Sleep until a call starts. `sleeping` is set before
                        // `running` is read again, and a starting call adds
                        // to `running` before it reads `sleeping` (both
                        // sequentially consistent): either this thread sees
                        // the call, or the call sees `sleeping` and notifies,
                        // which it can only do once this thread waits (the
                        // lock is held until then).
                        let mut guard = shared.lock.lock().unwrap_or_else(PoisonError::into_inner);
                        shared.sleeping.store(true, SeqCst);
                        while shared.running.load(SeqCst) == 0 && !shared.stop.load(SeqCst) {
                            guard = shared.wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
                        }
                        shared.sleeping.store(false, SeqCst);
                        idle = 0;
                        continue;
                    }
                    std::thread::sleep(DEADLINE_TICK);
                    for engine in shared.engines.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                        engine.increment_epoch();
                    }
                }
            })
            .map_err(|e| Error::Wasm(format!("cannot start the deadline thread: {e}")))?;
        Ok(Ticker { shared, thread: Some(thread) })
    }

    fn add_engine(&self, engine: &Engine) {
        self.shared.engines.lock().unwrap_or_else(PoisonError::into_inner).push(engine.clone());
    }

    /// Mark a call in progress until the guard is dropped (two atomic
    /// operations; a lock and a notification only when the thread sleeps).
    pub(crate) fn begin_call(&self) -> CallGuard {
        use std::sync::atomic::Ordering::SeqCst;
        self.shared.running.fetch_add(1, SeqCst);
        if self.shared.sleeping.load(SeqCst) {
            let _guard = self.shared.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.shared.wake.notify_all();
        }
        CallGuard { shared: self.shared.clone() }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        {
            let _guard = self.shared.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.shared.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A call in progress on a runtime with deadlines (see [`Ticker::begin_call`]).
pub(crate) struct CallGuard {
    shared: Arc<TickerShared>,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.shared.running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An engine, the module compiled for it, and what machines look up in it
/// once instead of per machine.
pub(crate) struct Flavor {
    pub(crate) engine: Engine,
    pub(crate) pre: wasmtime::InstancePre<crate::guest::HostState>,
    pub(crate) exports: crate::guest::ExportIndices,
    /// Whether a machine of this module already passed the port-ABI check.
    pub(crate) abi_checked: std::sync::atomic::AtomicBool,
}

impl Flavor {
    fn new(engine: Engine, module: &Module, preinit: bool) -> Result<Self> {
        let pre = crate::guest::instantiate_pre(&engine, module).map_err(Error::wasm)?;
        let exports = crate::guest::ExportIndices::new(module, preinit)?;
        Ok(Flavor { engine, pre, exports, abi_checked: std::sync::atomic::AtomicBool::new(false) })
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("artifact", &self.inner.info).field("cache", &self.inner.cache).field("pooling", &self.inner.pooling).finish_non_exhaustive()
    }
}

impl Runtime {
    /// The release WASI artifact embedded at build time (cargo feature
    /// `embed`, on by default; its pre-initialized module, so machines start
    /// without XS's start-up), checked against its manifest entry, loaded
    /// from the default module cache ([`ModuleCache::Default`]) or compiled
    /// (and cached).
    ///
    /// # Errors
    ///
    /// [`Error::ArtifactMismatch`] (cannot happen unless the binary was
    /// tampered with), [`Error::Wasmtime`] when compilation fails. Never fails
    /// because of the cache.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::Runtime;
    /// let runtime = Runtime::new()?;
    /// println!("{} ({})", runtime.artifact().variant, runtime.artifact().sha256);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "embed")]
    pub fn new() -> Result<Self> {
        Self::new_with(&RuntimeOptions::default())
    }

    /// [`Runtime::new`] with explicit options (e.g. another cache directory,
    /// no cache, another machine pool or none).
    ///
    /// # Errors
    ///
    /// As [`Runtime::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Runtime, RuntimeOptions};
    /// // No machine pool: nothing reserved up front.
    /// let runtime = Runtime::new_with(&RuntimeOptions { pooling: None, ..RuntimeOptions::default() })?;
    /// assert!(runtime.pooling().is_none());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "embed")]
    pub fn new_with(options: &RuntimeOptions) -> Result<Self> {
        Self::from_bytes_with(crate::embedded::MODULE, &Self::embedded_artifact()?, options)
    }

    /// The bytes of the embedded module (feature `embed`): what
    /// [`Runtime::new`] runs, and the base that
    /// [`Runtime::from_preinitialized`] checks modules made from it against.
    #[cfg(feature = "embed")]
    pub fn embedded_module() -> &'static [u8] {
        crate::embedded::MODULE
    }

    /// The manifest entry of the embedded artifact (feature `embed`): the
    /// variant's pre-initialized module ([`crate::WASI_PREINIT_FILE`]) when
    /// the build made one, else its module.
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] when the embedded manifest has no entry for the embedded module (cannot happen unless the binary was tampered with).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::Runtime;
    /// let info = Runtime::embedded_artifact()?;
    /// info.verify(Runtime::embedded_module())?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "embed")]
    pub fn embedded_artifact() -> Result<ArtifactInfo> {
        Manifest::from_json(crate::embedded::MANIFEST_JSON)?.wasi_file(crate::embedded::VARIANT, crate::embedded::FILE)
    }

    /// Compile `bytes` after checking them against `info.sha256`, using the
    /// default module cache ([`Runtime::from_bytes_with`] with default options).
    ///
    /// # Errors
    ///
    /// [`Error::ArtifactMismatch`] when the hash differs,
    /// [`Error::Wasmtime`] when wasmtime cannot compile the module,
    /// [`Error::Incompatible`] when it lacks the xs-wasm exports.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{ArtifactInfo, Error, Runtime};
    /// let info = Runtime::embedded_artifact()?;
    /// let runtime = Runtime::from_bytes(Runtime::embedded_module(), &info)?;
    /// assert_eq!(runtime.artifact().sha256, info.sha256);
    /// let wrong = Runtime::from_bytes(b"\0asm\x01\0\0\0", &info);
    /// assert!(matches!(wrong, Err(Error::ArtifactMismatch { .. })));
    /// # drop(ArtifactInfo::new("", ""));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes(bytes: &[u8], info: &ArtifactInfo) -> Result<Self> {
        Self::from_bytes_with(bytes, info, &RuntimeOptions::default())
    }

    /// Check `bytes` against `info.sha256`, then load their compiled form
    /// from `options.module_cache` or compile them (and write the entry).
    ///
    /// A cache entry is used only after its header (entry format, a key made
    /// of the artifact's sha256 and wasmtime's engine-compatibility hash, the
    /// payload length) and the CRC-32 of its payload check out; a missing,
    /// corrupt or foreign entry is replaced by a fresh compilation.
    ///
    /// The machine pool is `options.pooling` (see [`Pooling`]).
    ///
    /// # Errors
    ///
    /// As [`Runtime::from_bytes`]; never because of the cache or the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{ModuleCache, Runtime, RuntimeOptions};
    /// let info = Runtime::embedded_artifact()?;
    /// let options = RuntimeOptions { module_cache: ModuleCache::default(), pooling: None, ..RuntimeOptions::default() };
    /// let runtime = Runtime::from_bytes_with(Runtime::embedded_module(), &info, &options)?;
    /// println!("{:?}", runtime.cache_outcome());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes_with(bytes: &[u8], info: &ArtifactInfo, options: &RuntimeOptions) -> Result<Self> {
        info.verify(bytes)?;
        let preinit = crate::preinit::record::record(bytes)?;
        let (engine, pooled) = Self::engine(options.pooling.as_ref(), options.deadlines)?;
        let (module, cache) = match options.module_cache.resolve() {
            None => (compile(&engine, bytes, preinit.is_some())?, CacheOutcome::Off),
            Some(dir) => {
                let entry = Entry::new(&engine, &dir, &info.sha256);
                // Ok(module), or Err(why an existing entry was rejected).
                let loaded = match entry.load(&engine) {
                    Ok(Some(module)) => match check_exports(&module, preinit.is_some()) {
                        Ok(()) => Ok(module),
                        Err(e) => Err(Some(e.to_string())),
                    },
                    Ok(None) => Err(None),
                    Err(reason) => Err(Some(reason)),
                };
                match loaded {
                    Ok(module) => (module, CacheOutcome::Hit { path: entry.path().to_owned() }),
                    Err(rejected) => {
                        let module = compile(&engine, bytes, preinit.is_some())?;
                        let write_error = entry.store(&module).err();
                        (module, CacheOutcome::Miss { path: entry.path().to_owned(), rejected, write_error })
                    }
                }
            }
        };
        let ticker = if options.deadlines { Some(Ticker::start(&engine)?) } else { None };
        let main = Flavor::new(engine, &module, preinit.is_some())?;
        let inner = RuntimeInner { main, overflow: Mutex::new(None), pooling: pooled, info: info.clone(), cache, preinit, ticker };
        Ok(Runtime { inner: Arc::new(inner) })
    }

    /// A runtime for a pre-initialized module made from this runtime's
    /// artifact (by `xs-wasm preinit` or [`crate::preinit::preinitialize`]),
    /// which `base` (the bytes of this runtime's module) vouches for.
    ///
    /// The module must carry a pre-initialization record naming this
    /// runtime's artifact (its sha256), its code section must be the
    /// artifact's byte for byte, and the rest of the module must be what was
    /// recorded when it was made: a module made from another artifact, or
    /// changed after it was made (a flipped byte, another data segment), is
    /// refused before anything is compiled. The record is not a signature: keep
    /// such files where only you can write them, like any program. The new
    /// runtime's cache and machine pool are `options`'.
    ///
    /// # Errors
    ///
    /// [`Error::ArtifactMismatch`] when `base` is not this runtime's
    /// module; [`Error::Incompatible`] naming the check that failed; those of
    /// [`Runtime::from_bytes_with`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::Path;
    /// use xs_wasm::{Runtime, RuntimeOptions};
    /// // A module made with `xs-wasm preinit` (or preinit::preinitialize) from wasi-os.
    /// let base = std::fs::read("artifacts/wasi-os/xs-wasm.wasm")?;
    /// let module = std::fs::read("setup.preinit.wasm")?;
    /// let plain = Runtime::from_artifacts_dir(Path::new("artifacts"), "wasi-os")?;
    /// let runtime = plain.from_preinitialized(&module, &base, &RuntimeOptions::default())?;
    /// assert!(runtime.preinit_info().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_preinitialized(&self, module: &[u8], base: &[u8], options: &RuntimeOptions) -> Result<Self> {
        self.inner.info.verify(base)?;
        let base_digest = crate::preinit::record::digest(base)?;
        let digest = crate::preinit::record::digest(module)?;
        crate::preinit::record::check_against(&digest, &self.inner.info.sha256, &base_digest.code_sha256)?;
        let info = ArtifactInfo { sha256: crate::artifact::sha256_hex(module), bytes: module.len() as u64, ..self.inner.info.clone() };
        Self::from_bytes_with(module, &info, options)
    }

    /// A runtime for wizer's instrumented copy of an artifact (no cache, no
    /// sha256: the bytes were made in this process from a verified artifact).
    /// Carries the artifact's own pre-initialization record, if it has one,
    /// so machines take its kept machine as usual.
    #[cfg(feature = "preinit")]
    pub(crate) fn for_instrumented(bytes: &[u8], base_preinit: Option<crate::preinit::record::PreinitInfo>, info: &ArtifactInfo) -> Result<Self> {
        // One machine: no pool. Deadlines on, as by default (the setup
        // scripts run with the default deadline).
        let engine = Engine::new(&Self::config(None, true)).map_err(Error::wasm)?;
        let module = compile(&engine, bytes, base_preinit.is_some())?;
        let ticker = Some(Ticker::start(&engine)?);
        let main = Flavor::new(engine, &module, base_preinit.is_some())?;
        let inner = RuntimeInner { main, overflow: Mutex::new(None), pooling: None, info: info.clone(), cache: CacheOutcome::Off, preinit: base_preinit, ticker };
        Ok(Runtime { inner: Arc::new(inner) })
    }

    /// The pre-initialization record of this runtime's module: `None` for a
    /// plain artifact (see [`crate::preinit`]).
    pub fn preinit_info(&self) -> Option<&crate::preinit::record::PreinitInfo> {
        self.inner.preinit.as_ref()
    }

    /// Load `<dir>/<variant>/xs-wasm.wasm` and check it against
    /// `<dir>/manifest.json` (`dir` is usually the repository's `artifacts/`),
    /// using the default module cache.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::Manifest`], plus those of [`Runtime::from_bytes`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use std::path::Path;
    /// use xs_wasm::{Machine, Options, Runtime};
    /// // The repository's artifacts/, after `cargo xtask build`.
    /// let runtime = Runtime::from_artifacts_dir(Path::new("artifacts"), "wasi-oz")?;
    /// let mut machine = Machine::new(&runtime, Options::default())?;
    /// machine.eval("1 + 1")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_artifacts_dir(dir: &Path, variant: &str) -> Result<Self> {
        Self::from_artifacts_dir_with(dir, variant, &RuntimeOptions::default())
    }

    /// [`Runtime::from_artifacts_dir`] with explicit options.
    ///
    /// # Errors
    ///
    /// As [`Runtime::from_artifacts_dir`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use std::path::Path;
    /// use xs_wasm::{ModuleCache, Runtime, RuntimeOptions};
    /// let options = RuntimeOptions { module_cache: ModuleCache::Off, ..RuntimeOptions::default() };
    /// let runtime = Runtime::from_artifacts_dir_with(Path::new("artifacts"), "wasi-oz", &options)?;
    /// println!("{}", runtime.artifact().variant);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_artifacts_dir_with(dir: &Path, variant: &str, options: &RuntimeOptions) -> Result<Self> {
        let manifest = Manifest::from_path(&dir.join("manifest.json"))?;
        let info = manifest.wasi_artifact(variant)?;
        let path = dir.join(variant).join(WASI_MODULE_FILE);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path, source })?;
        Self::from_bytes_with(&bytes, &info, options)
    }

    /// What creation did with the module cache: [`CacheOutcome::Hit`] (loaded
    /// from a verified entry), [`CacheOutcome::Miss`] (compiled; entry written
    /// or not, and why an existing one was rejected) or [`CacheOutcome::Off`].
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.inner.cache
    }

    /// The artifact this runtime runs (variant, sha256, tool versions).
    pub fn artifact(&self) -> &ArtifactInfo {
        &self.inner.info
    }

    /// The machine pool this runtime has: `None` when pooling is off or its
    /// address space could not be reserved (see [`Pooling`]).
    pub fn pooling(&self) -> Option<&Pooling> {
        self.inner.pooling.as_ref()
    }

    /// Whether machines of this runtime have deadlines and interrupts
    /// ([`RuntimeOptions::deadlines`]).
    pub fn deadlines(&self) -> bool {
        self.inner.ticker.is_some()
    }

    /// The engine and module for machines the pool has no room for: an
    /// unpooled copy of the module, made on first use.
    pub(crate) fn overflow(&self) -> Result<Arc<Flavor>> {
        let mut slot = self.inner.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flavor) = &*slot {
            return Ok(flavor.clone());
        }
        let engine = Engine::new(&Self::config(None, self.deadlines())).map_err(Error::wasm)?;
        let bytes = self.inner.main.pre.module().serialize().map_err(Error::wasm)?;
        // SAFETY: wasmtime serialized these bytes just now, in this process,
        // from a module it compiled or loaded (after the cache's checks);
        // the engine settings that shape compiled code are the same, and
        // wasmtime checks them again.
        let module = unsafe { Module::deserialize(&engine, &bytes) }.map_err(Error::wasm)?;
        let flavor = Arc::new(Flavor::new(engine, &module, self.inner.preinit.is_some())?);
        if let Some(ticker) = &self.inner.ticker {
            ticker.add_engine(&flavor.engine);
        }
        *slot = Some(flavor.clone());
        Ok(flavor)
    }

    /// A pooled engine for `pooling`, or an unpooled one (when `pooling` is
    /// `None` or the pool's address space cannot be reserved), and the pool
    /// it has.
    fn engine(pooling: Option<&Pooling>, deadlines: bool) -> Result<(Engine, Option<Pooling>)> {
        if let Some(pooling) = pooling {
            let pooling = Pooling { max_machines: pooling.max_machines.max(1), ..*pooling };
            if let Ok(engine) = Engine::new(&Self::config(Some(&pooling), deadlines)) {
                return Ok((engine, Some(pooling)));
            }
        }
        Ok((Engine::new(&Self::config(None, deadlines)).map_err(Error::wasm)?, None))
    }

    /// The engine configuration. Anything set here that changes compiled
    /// code is covered by wasmtime's compatibility hash, and so by the
    /// module cache's key. The allocation strategy does not change compiled
    /// code: pooled and unpooled engines share cache entries. Epoch
    /// interruption (`deadlines`) does: it is one of wasmtime's tunables,
    /// which the compatibility hash covers, so entries with and without it
    /// are separate.
    fn config(pooling: Option<&Pooling>, deadlines: bool) -> Config {
        let mut config = Config::new();
        config.epoch_interruption(deadlines);
        // setjmp/longjmp in the WASI builds use the exception-handling
        // proposal (standard exnref form); on by default since wasmtime 47,
        // stated here so the requirement is visible.
        config.wasm_exceptions(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.async_stack_size(FIBER_STACK);
        #[cfg(feature = "profiling")]
        config.profiler(profiler_from_env());
        if let Some(pooling) = pooling {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool_config(pooling)));
            // A pooled stack is zeroed when its machine is dropped: the first
            // 64 KiB with memset (they stay resident), the rest given back to
            // the system, so a deep recursion does not pin 10 MiB per slot.
            config.async_stack_zeroing(true);
        }
        config
    }
}

/// The profiler named by `XS_WASM_PROFILER` (builds with the `profiling`
/// feature only): `perfmap` writes `/tmp/perf-<pid>.map` (function names
/// for `perf report`), `jitdump` writes `jit-<pid>.dump` in the current
/// directory (code too, for `perf inject --jit` and `perf annotate`);
/// anything else, or unset, none. Profiling changes no compiled code.
#[cfg(feature = "profiling")]
fn profiler_from_env() -> wasmtime::ProfilingStrategy {
    match std::env::var("XS_WASM_PROFILER").as_deref() {
        Ok("perfmap") => wasmtime::ProfilingStrategy::PerfMap,
        Ok("jitdump") => wasmtime::ProfilingStrategy::JitDump,
        _ => wasmtime::ProfilingStrategy::None,
    }
}

/// wasmtime's pool for `pooling.max_machines` machines. Each machine holds
/// one instance, one table, one linear memory, one GC heap (exceptions use
/// wasmtime's GC heap; it takes a memory slot) and one fiber stack.
fn pool_config(pooling: &Pooling) -> wasmtime::PoolingAllocationConfig {
    let machines = pooling.max_machines.max(1);
    let keep_resident = if pagemap_scan_supported() { pooling.keep_resident } else { 0 };
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_core_instances(machines)
        .total_tables(machines)
        .total_memories(machines.saturating_mul(2))
        .total_gc_heaps(machines)
        // A store gives its stack back when it is dropped, a moment after its
        // memory: the slack keeps a machine made in that moment (another
        // thread) from finding memory but no stack.
        .total_stacks(machines.saturating_add(machines / 4).saturating_add(16))
        // Pages kept resident are found with PAGEMAP_SCAN (only the pages
        // written are reset); without it wasmtime would memset the lowest
        // `keep_resident` bytes, which a machine mostly does not use.
        .linear_memory_keep_resident(keep_resident)
        .pagemap_scan(if keep_resident > 0 { wasmtime::Enabled::Auto } else { wasmtime::Enabled::No })
        // The module's table (about 1,000 function references) stays resident.
        .table_keep_resident(16 << 10)
        .async_stack_keep_resident(64 << 10);
    pool
}

/// Whether the kernel has the `PAGEMAP_SCAN` ioctl (Linux 6.7 or later),
/// which [`Pooling::keep_resident`] needs.
fn pagemap_scan_supported() -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else { return false };
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (6, 7)
}

/// Compile `bytes` and check the exports.
fn compile(engine: &Engine, bytes: &[u8], preinit: bool) -> Result<Module> {
    let module = Module::new(engine, bytes).map_err(Error::wasm)?;
    check_exports(&module, preinit)?;
    Ok(module)
}

/// Errors: [`Error::Incompatible`] naming the first missing export (the
/// list is [`crate::guest::ExportIndices`]'s).
fn check_exports(module: &Module, preinit: bool) -> Result<()> {
    crate::guest::ExportIndices::new(module, preinit).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xs_wasm_pool_values() {
        let value = |v: &str| Pooling::from_env_value(Some(std::ffi::OsStr::new(v)));
        assert_eq!(Pooling::from_env_value(None), Some(Pooling::default()));
        for off in ["off", "OFF", "0", "false", "no", " off "] {
            assert_eq!(value(off), None, "{off:?}");
        }
        assert_eq!(value("8"), Some(Pooling { max_machines: 8, keep_resident: Pooling::DEFAULT_KEEP_RESIDENT }));
        assert_eq!(value("lots"), Some(Pooling::default()));
        assert_eq!(value(""), Some(Pooling::default()));
    }
}
