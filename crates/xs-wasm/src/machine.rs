//! One sandboxed XS machine in its own wasm instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wasmtime::{Instance, Store, StoreLimitsBuilder, TypedFunc, UpdateDeadline};

use crate::abi::{Creation, XS_WASM_CREATE_LOCKDOWN, XS_WASM_CREATE_NO_WEB_GLOBALS, XS_WASM_CREATE_TEST262_HOST, XS_WASM_DEAD, XS_WASM_INTERRUPTED, XS_WASM_JS_ERROR, XS_WASM_METER_LIMIT, XS_WASM_OK, XS_WASM_OUT_OF_MEMORY, XS_WASM_RESULT_TOO_LARGE, XS_WASM_SNAPSHOT_ERROR, XS_WASM_STACK_OVERFLOW};
use crate::auth::SnapshotKey;
use crate::error::{DeadlineReached, Error, InterruptRequested, Result};
use crate::guest::{block_on, Exports, HostState, LogLevel, RunSync, StopReason};
use crate::runtime::{CallGuard, Flavor, Runtime, DEADLINE_TICK};

/// How a machine is created. `Options::default()` gives: no meter limit,
/// meter interval 10 000 ticks, 256 MiB memory limit, default [`Creation`],
/// `Date.now()` returning 0.
///
/// [`Machine::new`] and [`Machine::restore`] check the options with the same
/// rule ([`Options::validate`]) before anything runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Meter ticks each [`Machine::eval`] / [`Machine::send`] call may use;
    /// `None` for no limit. A call over the limit fails with
    /// [`Error::MeterLimit`] and stops the machine. `Some(0)` is refused
    /// ([`Error::InvalidOptions`]): a call could not run a single tick.
    pub meter_limit: Option<u32>,
    /// How often XS checks the meter limit, in ticks (default 10 000; at
    /// least 1). A call may overrun the limit by up to this many ticks before
    /// it is stopped.
    pub meter_interval: u32,
    /// Memory the machine may use, in bytes (default 256 MiB, at least
    /// [`Options::MIN_MEMORY_LIMIT`]): XS's heap budget (chunks and heap
    /// slots), plus a fixed 16 MiB headroom for the module's static data, C
    /// stack, buffers and XS's JS stack ([`Creation::stack_count`] slots, not
    /// charged to the budget) on the wasm linear memory. Exceeding it fails with [`Error::OutOfMemory`] and
    /// stops the machine.
    pub memory_limit: usize,
    /// XS creation parameters. On restore only the memory limit applies: heap
    /// sizes come from the snapshot. Counts are in XS slots (16 bytes each),
    /// sizes in bytes; 0 takes the port's default. The JS stack
    /// ([`Creation::stack_count`], default 131072 slots, 2 MiB) allows about
    /// 13,000 levels of plain recursion; deeper JS recursion throws a
    /// `RangeError` the guest can catch.
    pub creation: Creation,
    /// Give the guest the host's real clock for `Date.now()` / `new Date()`.
    /// Off by default, so the same script gives the same result and snapshot.
    pub real_clock: bool,
    /// Define test262's host hooks in a new machine: the global `$262`
    /// (`global`, `evalScript(source)`, `gc()`, `detachArrayBuffer(buffer)`)
    /// and `print(...)` (as `console.log`), as test262's INTERPRETING.md
    /// describes; [`Machine::eval`] then returns `null` instead of the
    /// completion value (test262 ignores it, and a script ending in a
    /// rejected promise must not fail). For conformance testing; off by
    /// default. Ignored on restore (a restored machine has the globals its
    /// snapshot has, and reports completion values).
    pub test262_host: bool,
    /// Start the machine locked down (default `false`): [`Machine::new`]
    /// runs Hardened JavaScript's `lockdown()` before any guest code, so
    /// the intrinsics (`Object.prototype`, `Array.prototype`, `Function`,
    /// ...) are frozen, `harden(o)` freezes `o` and everything reachable
    /// from it, and each new `Compartment` gets its own global object over
    /// the shared, frozen intrinsics (with `Date.now()` and
    /// `Math.random()` that throw). The global object of the machine
    /// itself stays writable, as after a guest's own `lockdown()`. On a
    /// pre-initialized runtime the kept machine is locked down when it is
    /// taken (about 0.3 ms, with the call the creation flag makes: the same snapshot bytes); a module made with `lockdown()` in its
    /// setup ([`crate::preinit`], `xs-wasm preinit --lockdown`) starts
    /// locked with no cost. Ignored on restore: a snapshot restores in the
    /// state it was written, and the snapshot of a locked machine restores
    /// locked.
    pub lockdown: bool,
    /// Define the web-standard globals in a new machine (default `true`):
    /// `TextEncoder`, `TextDecoder` (UTF-8; `fatal`, `ignoreBOM`, `stream`),
    /// `URL`, `URLSearchParams`, `DOMException`, `atob`, `btoa`,
    /// `structuredClone` (XS's marshalling),
    /// `queueMicrotask` and `performance.now()` (on the machine's clock:
    /// always 0 unless [`Options::real_clock`]). `false` gives a bare
    /// machine: the language, `console`, `sendMessage` and the Hardened
    /// JavaScript globals. Ignored on restore (a restored machine has the
    /// globals its snapshot has).
    pub web_globals: bool,
    /// Wall-clock time each call into the machine may take (default
    /// [`Options::DEFAULT_DEADLINE`], 60 s; `None` for none): [`Machine::new`],
    /// [`Machine::restore`], [`Machine::eval`], [`Machine::send`],
    /// [`Machine::snapshot`] and the rest, each counted from its start. A
    /// call past it ends with [`Error::Deadline`] and the machine is stopped
    /// for good: guest code at its next meter check (every
    /// [`Options::meter_interval`] ticks, the meter count kept), anything
    /// else within about two [`DEADLINE_TICK`](crate::DEADLINE_TICK)s
    /// (wasmtime's epochs). It bounds what the meter cannot: loops in the engine's C
    /// code (the collector, snapshot reading and writing, built-ins that do
    /// not meter) on any input. Time the host's own handlers take counts,
    /// but a handler is not interrupted: the call ends when it returns.
    /// Needs a runtime with [`RuntimeOptions::deadlines`](crate::RuntimeOptions::deadlines)
    /// (the default); on one without, it must be `None`. `Some(Duration::ZERO)`
    /// is refused ([`Error::InvalidOptions`]).
    pub deadline: Option<Duration>,
    /// A host key for authenticated snapshots (default `None`):
    /// [`Machine::snapshot`] appends an HMAC-SHA256 of the snapshot under the
    /// key, and [`Machine::restore`] refuses a snapshot without one, or whose
    /// MAC is another key's or whose bytes changed ([`Error::SnapshotAuth`]),
    /// before the engine reads a byte. Without a key, restore does not check
    /// a MAC a snapshot carries. See [`SnapshotKey`] for the format.
    pub snapshot_key: Option<SnapshotKey>,
}

impl Default for Options {
    fn default() -> Self {
        Options { meter_limit: None, meter_interval: 10_000, memory_limit: 256 << 20, creation: Creation::default(), real_clock: false, test262_host: false, lockdown: false, web_globals: true, deadline: Some(Self::DEFAULT_DEADLINE), snapshot_key: None }
    }
}

impl Options {
    /// The default [`Options::deadline`] (60 s): far more than any sane call
    /// needs (creating a machine takes under 1 ms, restoring a 1 MB snapshot
    /// about 2 ms), so it only ends calls that would otherwise never end.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

    /// The smallest [`Options::memory_limit`], bytes (1 MiB). A machine of the
    /// default [`Creation`] needs about 0.55 MiB of XS heap when it is
    /// created or restored from an empty snapshot; larger creation sizes or
    /// snapshots need more, and fail with [`Error::OutOfMemory`] (new) or
    /// [`Error::Snapshot`] (restore) when the limit cannot hold them.
    pub const MIN_MEMORY_LIMIT: usize = 1 << 20;

    /// The one rule [`Machine::new`], [`Machine::restore`] and
    /// [`Machine::set_meter_limit`] apply: a meter limit of at least 1 tick
    /// (or none), a meter interval of at least 1 tick, and a memory limit of
    /// at least [`Options::MIN_MEMORY_LIMIT`] bytes, a deadline other than
    /// zero (or none). [`Machine::new`] and [`Machine::restore`] also refuse
    /// a deadline on a runtime without deadlines.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] naming the first option that breaks it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, Options};
    /// Options::default().validate()?;
    /// let no_tick = Options { meter_limit: Some(0), ..Options::default() };
    /// assert!(matches!(no_tick.validate(), Err(Error::InvalidOptions(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn validate(&self) -> Result<()> {
        check_meter(self.meter_limit, self.meter_interval)?;
        if self.deadline == Some(Duration::ZERO) {
            return Err(Error::InvalidOptions("deadline is Some(Duration::ZERO): a call could not start (None means no deadline)".into()));
        }
        if self.memory_limit < Self::MIN_MEMORY_LIMIT {
            return Err(Error::InvalidOptions(format!(
                "memory_limit is {} bytes; a machine needs at least Options::MIN_MEMORY_LIMIT ({} bytes)",
                self.memory_limit,
                Self::MIN_MEMORY_LIMIT
            )));
        }
        Ok(())
    }
}

/// The meter part of [`Options::validate`].
fn check_meter(limit: Option<u32>, interval: u32) -> Result<()> {
    if limit == Some(0) {
        return Err(Error::InvalidOptions("meter_limit is Some(0): a call could not run a single tick (None means no limit)".into()));
    }
    if interval == 0 {
        return Err(Error::InvalidOptions("meter_interval is 0: XS checks the meter limit every meter_interval ticks (at least 1)".into()));
    }
    Ok(())
}

/// A machine's heap, as XS counts it ([`Machine::heap_statistics`]; the
/// JS package's `heapStatistics()` gives the same fields in camelCase).
/// "Used" figures count garbage not collected yet unless the statistics
/// were taken with a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HeapStatistics {
    /// The memory limit in force, bytes (0: none; [`Options::memory_limit`]).
    pub memory_limit: u64,
    /// Bytes the memory limit counts now: XS's chunk and heap-slot blocks
    /// (the JS stack is not counted).
    pub memory_used: u64,
    /// Bytes of chunk space XS holds (strings, bytecode, buffers, tables).
    pub chunk_bytes: u64,
    /// Bytes of that chunk space in use.
    pub chunk_bytes_used: u64,
    /// The most chunk bytes in use at once since the machine was made.
    pub chunk_bytes_peak: u64,
    /// Slots XS holds (16 bytes each: every object, property and value).
    pub slots: u64,
    /// Slots in use.
    pub slots_used: u64,
    /// The most slots in use at once since the machine was made.
    pub slots_peak: u64,
    /// Property keys the key table has room for.
    pub keys: u64,
    /// Property keys defined (names and symbols, built-ins included).
    pub keys_used: u64,
    /// The JS stack, in slots ([`Creation`]'s `stack_count`).
    pub stack_slots: u64,
    /// Bytes of the instance's wasm linear memory (all of it: the heap, the
    /// C stack, the engine's own data).
    #[serde(default)]
    pub linear_memory: u64,
}

/// Headroom over [`Options::memory_limit`] for the linear memory, in bytes.
const MEMORY_HEADROOM: usize = 16 << 20;

/// Stops the calls of one machine from another thread: see
/// [`Machine::interrupt_handle`]. `Clone`, `Send` and `Sync`; cheap to clone.
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    flag: Arc<AtomicBool>,
}

impl InterruptHandle {
    /// Stop the machine: a call in progress ends with [`Error::Interrupted`]
    /// at the guest's next meter check, or within about two
    /// [`DEADLINE_TICK`](crate::DEADLINE_TICK)s in code that does not tick
    /// the meter (when it next reaches a loop back-edge or a function
    /// entry; a host handler
    /// running then is not interrupted, the call ends after it returns); with
    /// no call in progress, the next call ends so before it runs. Either way
    /// the machine is then stopped for good ([`Error::Dead`]). Idempotent;
    /// never blocks.
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether [`InterruptHandle::interrupt`] was called.
    pub fn is_interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// A sandboxed JavaScript machine: one XS VM in its own wasm instance.
///
/// The guest has the ECMAScript built-ins plus `sendMessage(msg)`,
/// `console.{debug,log,info,warn,error}`, Hardened JavaScript's `lockdown`,
/// `harden`, `petrify` and `mutabilities`, the web-standard globals (unless
/// [`Options::web_globals`] is off) and whatever it defines; it has no
/// file system, network, environment, randomness source of the host or
/// clock (unless [`Options::real_clock`]), so the same inputs give the same
/// results and snapshots. `Math.random()` is a fixed-seed PRNG.
///
/// Concurrency: a `Machine` is `Send` (move it to another thread) but not
/// `Sync`; every call takes `&mut self` and runs to completion on the
/// calling thread. Run machines in parallel by giving each thread its own.
/// Guest code runs on its own [`FIBER_STACK`](crate::FIBER_STACK)-byte
/// stack, so the calling thread's stack size does not matter.
pub struct Machine {
    store: Store<HostState>,
    /// Read only when making pre-initialized modules (feature `preinit`).
    #[cfg_attr(not(feature = "preinit"), allow(dead_code))]
    instance: Instance,
    exports: Exports,
    handle: u32,
    stopped: Option<String>,
    runtime: Runtime,
    /// Meter ticks of the last eval/send.
    meter: u64,
    /// [`Options::snapshot_key`].
    snapshot_key: Option<SnapshotKey>,
    /// The meter limit and interval in force (a run spreads the limit over its steps).
    meter_limit: Option<u32>,
    meter_interval: u32,
    /// Meter ticks of the run in progress (see `event_loop`).
    run_meter: u64,
    /// How long a run waits for host calls with no progress (`None`: forever).
    host_call_timeout: Option<Duration>,
}

mod event_loop;

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine").field("variant", &self.runtime.artifact().variant).field("stopped", &self.stopped).finish_non_exhaustive()
    }
}

impl Machine {
    fn store(runtime: &Runtime, flavor: &Flavor, options: &Options) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(options.memory_limit.saturating_add(MEMORY_HEADROOM))
            .instances(1)
            .trap_on_grow_failure(false)
            .build();
        let state = HostState::new(limits, options.deadline, options.memory_limit, options.real_clock);
        let mut store = Store::new(&flavor.engine, state);
        store.limiter(|state| &mut state.limits);
        if runtime.deadlines() {
            // Called at each epoch tick while guest code runs (the ticker
            // advances the epoch only while a call is in progress).
            // Metered guest code stops first, cleanly, at its next meter
            // check (the `host_interrupt` import); the epoch traps one tick
            // later, for code that does not tick the meter.
            store.epoch_deadline_callback(|mut context| {
                let state = context.data_mut();
                if state.interrupt.load(Ordering::SeqCst) {
                    if state.interrupt_seen {
                        return Err(wasmtime::Error::new(InterruptRequested));
                    }
                    state.interrupt_seen = true;
                }
                if let (Some(at), Some(deadline)) = (state.call_deadline, state.deadline) {
                    if Instant::now() >= at + DEADLINE_TICK {
                        return Err(wasmtime::Error::new(DeadlineReached(deadline)));
                    }
                }
                Ok(UpdateDeadline::Continue(1))
            });
        }
        store
    }

    /// Start a call into the machine: its deadline from now, the epoch
    /// deadline one tick away, the ticker running. Errors:
    /// [`Error::Interrupted`] when the machine was interrupted meanwhile.
    fn arm(runtime: &Runtime, store: &mut Store<HostState>) -> Result<Option<CallGuard>> {
        if store.data().interrupt.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let Some(ticker) = &runtime.inner.ticker else { return Ok(None) };
        let state = store.data_mut();
        state.call_deadline = state.deadline.and_then(|d| Instant::now().checked_add(d));
        store.set_epoch_deadline(1);
        Ok(Some(ticker.begin_call()))
    }

    /// [`Machine::arm`] for this machine: a stopped machine refuses
    /// ([`Error::Dead`]), an interrupted one stops.
    fn begin(&mut self) -> Result<Option<CallGuard>> {
        self.check_alive()?;
        self.store.data_mut().panic = None;
        self.store.data_mut().stopped_by = None;
        Self::arm(&self.runtime, &mut self.store).map_err(|e| self.stop(e))
    }

    /// A new instance of the runtime's module, in the pool when it has room,
    /// else in the unpooled overflow engine, with its exports (and
    /// `_initialize` run, in a plain module).
    fn instantiate(runtime: &Runtime, options: &Options) -> Result<(Store<HostState>, Instance, Exports)> {
        if options.deadline.is_some() && !runtime.deadlines() {
            return Err(Error::InvalidOptions("deadline is set but the runtime was made without deadlines (RuntimeOptions::deadlines): set Options::deadline to None".into()));
        }
        let main = &runtime.inner.main;
        let mut store = Self::store(runtime, main, options);
        Self::arm(runtime, &mut store)?;
        let overflow;
        let (instance, flavor) = match block_on(main.pre.instantiate_async(&mut store)) {
            Ok(instance) => (instance, main),
            Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                overflow = runtime.overflow()?;
                store = Self::store(runtime, &overflow, options);
                Self::arm(runtime, &mut store)?;
                (block_on(overflow.pre.instantiate_async(&mut store)).map_err(Error::wasm)?, &*overflow)
            }
            Err(e) => return Err(Error::wasm(e)),
        };
        let exports = Exports::new(&mut store, &instance, &flavor.exports, &flavor.abi_checked)?;
        Ok((store, instance, exports))
    }

    /// The machine kept in a pre-initialized module's memory, when `options`
    /// ask for the machine it holds (same creation, no test262 host): its
    /// handle, with the memory limit applied. `None` otherwise.
    fn take_preinitialized(runtime: &Runtime, store: &mut Store<HostState>, exports: &Exports, options: &Options) -> Result<Option<u32>> {
        let (Some(record), Some(take)) = (&runtime.inner.preinit, &exports.take) else { return Ok(None) };
        if record.creation != options.creation.fields() || options.test262_host || !options.web_globals {
            return Ok(None);
        }
        let limit = u32::try_from(options.memory_limit).unwrap_or(u32::MAX);
        let handle = take.run(store, limit).map_err(Error::wasm)?;
        // 0: the kept machine's heap does not fit in the limit (one rule with
        // create and restore). A fresh machine is the same as the embedded
        // module's kept one, but not as one holding setup scripts' state:
        // that one is refused rather than silently replaced.
        if handle == 0 && record.setup_sha256.is_some() {
            return Err(Error::OutOfMemory);
        }
        Ok((handle != 0).then_some(handle))
    }

    fn write_creation(store: &mut Store<HostState>, exports: &Exports, options: &Options) -> Result<u32> {
        let memory_limit = u32::try_from(options.memory_limit).unwrap_or(u32::MAX);
        let mut flags = if options.test262_host { XS_WASM_CREATE_TEST262_HOST } else { 0 };
        if options.lockdown {
            flags |= XS_WASM_CREATE_LOCKDOWN;
        }
        if !options.web_globals {
            flags |= XS_WASM_CREATE_NO_WEB_GLOBALS;
        }
        Self::write_input(store, exports, &options.creation.to_bytes(memory_limit, flags))
    }

    fn write_input(store: &mut Store<HostState>, exports: &Exports, bytes: &[u8]) -> Result<u32> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::OutOfMemory)?;
        let ptr = exports.alloc.run(&mut *store, len).map_err(Error::wasm)?;
        if ptr == 0 {
            return Err(Error::OutOfMemory);
        }
        exports.memory.write(&mut *store, ptr as usize, bytes).map_err(|_| Error::OutOfMemory)?;
        Ok(ptr)
    }

    fn last_error(store: &mut Store<HostState>, exports: &Exports) -> String {
        let Ok(ptr) = exports.last_error.run(&mut *store, ()) else { return "unknown".into() };
        let data = exports.memory.data(&*store);
        let start = ptr as usize;
        let end = data[start.min(data.len())..].iter().position(|&b| b == 0).map_or(data.len(), |n| start + n);
        String::from_utf8_lossy(&data[start.min(end)..end]).into_owned()
    }

    /// The machine of `handle`. `lock_down`: run `lockdown()` in it first
    /// (a machine taken from a pre-initialized module, for
    /// [`Options::lockdown`]), before its meter limit applies.
    fn finish(runtime: &Runtime, store: Store<HostState>, instance: Instance, exports: Exports, handle: u32, options: &Options, lock_down: bool) -> Result<Machine> {
        let mut machine = Machine {
            store,
            instance,
            exports,
            handle,
            stopped: None,
            runtime: runtime.clone(),
            meter: 0,
            snapshot_key: options.snapshot_key.clone(),
            meter_limit: options.meter_limit,
            meter_interval: options.meter_interval,
            run_meter: 0,
            host_call_timeout: options.deadline,
        };
        if lock_down {
            // xs_wasm_lockdown: the call XS_WASM_CREATE_LOCKDOWN makes, so
            // the machine snapshots to the same bytes as one created locked
            // (a kept machine that its setup code locked is left as it is).
            let Some(lockdown) = machine.exports.lockdown.clone() else { return Err(Error::Incompatible("module has no export \"xs_wasm_lockdown\"".into())) };
            let status = lockdown.run(&mut machine.store, handle).map_err(Error::wasm)?;
            if status != XS_WASM_OK {
                let payload = machine.result()?;
                return Err(machine.status_error(status, payload));
            }
        }
        machine.exports.set_meter.run(&mut machine.store, (handle, options.meter_limit.unwrap_or(0), options.meter_interval)).map_err(Error::wasm)?;
        // the virtual clock goes on from where the snapshot left it (0 for a new machine)
        let clock = machine.exports.clock.run(&mut machine.store, handle).map_err(Error::wasm)?;
        machine.store.data_mut().clock = clock;
        Ok(machine)
    }

    /// Create a fresh machine.
    ///
    /// On a pre-initialized runtime (see [`crate::preinit`]) whose kept
    /// machine was created with `options.creation` (and `test262_host` off),
    /// the new instance's copy of that machine is used: XS's start-up does
    /// not run. Otherwise XS creates the machine.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] ([`Options::validate`], or a
    /// deadline on a runtime without deadlines); [`Error::OutOfMemory`] when
    /// `options.memory_limit` cannot hold a new machine; [`Error::Deadline`];
    /// [`Error::Wasmtime`] on a wasmtime failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let runtime = Runtime::new()?;
    /// let mut machine = Machine::new(&runtime, Options::default())?;
    /// assert_eq!(machine.eval("6 * 7")?, serde_json::json!(42));
    /// let tiny = Options { memory_limit: 1000, ..Options::default() };
    /// assert!(matches!(Machine::new(&runtime, tiny), Err(Error::InvalidOptions(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(runtime: &Runtime, options: Options) -> Result<Machine> {
        options.validate()?;
        let _call = runtime.inner.ticker.as_ref().map(|t| t.begin_call());
        let (mut store, instance, exports) = Self::instantiate(runtime, &options)?;
        if let Some(handle) = Self::take_preinitialized(runtime, &mut store, &exports, &options)? {
            return Self::finish(runtime, store, instance, exports, handle, &options, options.lockdown);
        }
        let creation = Self::write_creation(&mut store, &exports, &options)?;
        let handle = exports.create.run(&mut store, creation).map_err(Error::wasm)?;
        if handle == 0 {
            let reason = Self::last_error(&mut store, &exports);
            return Err(if reason.contains("memory") { Error::OutOfMemory } else { Error::Wasm(reason) });
        }
        exports.free.run(&mut store, creation).map_err(Error::wasm)?;
        Self::finish(runtime, store, instance, exports, handle, &options, false)
    }

    /// Read a snapshot written by [`Machine::snapshot`] (by this or any
    /// variant with the same port ABI and XS version) into a new machine.
    /// The original script is not needed.
    ///
    /// A snapshot is untrusted input. XS's reader checks its structure
    /// (patch 0010: sizes, offsets, slot indexes, kinds, acyclic links) and
    /// refuses a crafted payload with [`Error::Snapshot`] rather than loop;
    /// one that passes can still be any heap of that shape, a program that
    /// loops or computes something else included. The meter, the deadline
    /// ([`Options::deadline`]) and the memory limit bound what running it
    /// can cost; only an authenticated snapshot ([`Options::snapshot_key`])
    /// is known to be one this host wrote.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] as [`Machine::new`];
    /// [`Error::SnapshotAuth`] with a snapshot key, for a snapshot without
    /// its MAC or with another; [`Error::Snapshot`] for empty, truncated, corrupt or garbage bytes and
    /// snapshots of incompatible builds (the reason says which);
    /// [`Error::Deadline`] when reading takes longer than the deadline;
    /// [`Error::Wasmtime`] on a wasmtime failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use serde_json::json;
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let runtime = Runtime::new()?;
    /// let mut machine = Machine::new(&runtime, Options::default())?;
    /// machine.eval("var saved = 'state'")?;
    /// let snapshot = machine.snapshot()?;
    /// let mut restored = Machine::restore(&runtime, &snapshot, Options::default())?;
    /// assert_eq!(restored.eval("saved")?, json!("state"));
    /// assert!(matches!(Machine::restore(&runtime, b"garbage", Options::default()), Err(Error::Snapshot { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn restore(runtime: &Runtime, snapshot: &[u8], options: Options) -> Result<Machine> {
        options.validate()?;
        let snapshot = crate::auth::open(options.snapshot_key.as_ref(), snapshot)?;
        let _call = runtime.inner.ticker.as_ref().map(|t| t.begin_call());
        let (mut store, instance, exports) = Self::instantiate(runtime, &options)?;
        let creation = Self::write_creation(&mut store, &exports, &options)?;
        let bytes = match Self::write_input(&mut store, &exports, snapshot) {
            Ok(ptr) => ptr,
            Err(_) => return Err(Error::Snapshot { reason: format!("snapshot of {} bytes does not fit in the memory limit", snapshot.len()) }),
        };
        let handle = match exports.restore.run(&mut store, (bytes, snapshot.len() as u32, creation)) {
            Ok(handle) => handle,
            Err(trap) => {
                return Err(match Error::wasm(trap) {
                    Error::Wasmtime { source } => Error::Snapshot { reason: format!("the engine trapped while reading the snapshot: {source:#}") },
                    stopped => stopped,
                })
            }
        };
        if handle == 0 {
            return Err(Error::Snapshot { reason: Self::last_error(&mut store, &exports) });
        }
        exports.free.run(&mut store, bytes).map_err(Error::wasm)?;
        exports.free.run(&mut store, creation).map_err(Error::wasm)?;
        Self::finish(runtime, store, instance, exports, handle, &options, false)
    }

    /// Mark this machine as its instance's pre-initialized machine
    /// (`xs_wasm_keep`), for [`crate::preinit::preinitialize`].
    #[cfg(feature = "preinit")]
    pub(crate) fn keep_for_preinit(&mut self) -> Result<()> {
        let _call = self.begin()?;
        let keep: TypedFunc<u32, ()> = self.instance.get_typed_func(&mut self.store, crate::abi::export::KEEP.name).map_err(|e| Error::Incompatible(format!("export xs_wasm_keep: {e}")))?;
        let handle = self.handle;
        keep.run(&mut self.store, handle).map_err(Error::wasm)
    }

    /// The store and instance of the machine, for wizer to read.
    #[cfg(feature = "preinit")]
    pub(crate) fn store_and_instance(&mut self) -> (&mut Store<HostState>, Instance) {
        (&mut self.store, self.instance)
    }

    /// Evaluate `source` as a sloppy-mode global script (like a classic
    /// `<script>`: top-level `let`/`const`/`class` persist between calls),
    /// drain the promise job queue, and return the completion value
    /// as JSON (`undefined`, functions and symbols become `null`; a promise
    /// settled by then becomes its value, or its rejection an error).
    /// `source` is read whole: a NUL character in it is U+0000 (inside a
    /// string literal, part of the string; elsewhere a `SyntaxError`).
    ///
    /// # Errors
    ///
    /// [`Error::Js`] when the script throws (the machine stays
    /// usable); [`Error::ResultTooLarge`] when the result does not fit in
    /// the machine's memory (the machine stays usable); [`Error::MeterLimit`], [`Error::OutOfMemory`],
    /// [`Error::StackOverflow`], [`Error::Deadline`], [`Error::Interrupted`],
    /// [`Error::Wasmtime`] (a trap: see [`Error::trap`]) and [`Error::Wasm`]
    /// (another engine failure) stop the machine; [`Error::Dead`] after
    /// that; [`Error::HostPanic`] when a host handler panicked (the machine
    /// stays usable); [`Error::InvalidJson`] when the guest's
    /// `JSON.stringify` was tampered with.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use serde_json::json;
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// assert_eq!(machine.eval("[1, 2].map((x) => x * 2)")?, json!([2, 4]));
    /// match machine.eval("null.x") {
    ///     Err(Error::Js { name, .. }) => assert_eq!(name, "TypeError"),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(machine.eval("'still usable'")?, json!("still usable"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn eval(&mut self, source: &str) -> Result<Value> {
        let f = self.exports.eval.clone();
        self.call(&f, source.as_bytes())
    }

    /// Call the guest's `globalThis.receiveMessage(message)`, drain the job
    /// queue, and return its return value (a promise is awaited as in
    /// [`Machine::eval`]). Guest calls to `sendMessage` during the call reach
    /// the handler set with [`Machine::set_message_handler`].
    ///
    /// # Errors
    ///
    /// As [`Machine::eval`]; a missing `receiveMessage` is an
    /// [`Error::Js`] `TypeError`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use serde_json::json;
    /// use xs_wasm::{Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.eval("globalThis.receiveMessage = (m) => ({ got: m.n + 1 })")?;
    /// assert_eq!(machine.send(&json!({ "n": 1 }))?, json!({ "got": 2 }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(&mut self, message: &Value) -> Result<Value> {
        let text = serde_json::to_vec(message)?;
        let f = self.exports.send.clone();
        self.call(&f, &text)
    }

    /// [`Machine::send`] for serde types: serializes `message`, deserializes the reply.
    ///
    /// # Errors
    ///
    /// Those of [`Machine::send`], and [`Error::Serde`] when the reply
    /// does not deserialize into `R`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.eval("globalThis.receiveMessage = (m) => m.map((x) => x * 10)")?;
    /// let reply: Vec<u32> = machine.send_typed(&[1, 2, 3])?;
    /// assert_eq!(reply, [10, 20, 30]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_typed<M: Serialize, R: DeserializeOwned>(&mut self, message: &M) -> Result<R> {
        let reply = self.send(&serde_json::to_value(message)?)?;
        Ok(serde_json::from_value(reply)?)
    }

    /// Handle the guest's `sendMessage(msg)`: `handler` gets `msg` as JSON
    /// and its `Ok` value is what `sendMessage` returns in the guest
    /// (`Value::Null` becomes `undefined`); an `Err(text)` makes
    /// `sendMessage` throw `Error(text)` in the guest. Without a handler,
    /// `sendMessage` throws.
    pub fn set_message_handler<F>(&mut self, handler: F)
    where
        F: FnMut(Value) -> std::result::Result<Value, String> + Send + 'static,
    {
        self.store.data_mut().on_message = Some(Box::new(handler));
    }

    /// Import the module `specifier` names, as a script's
    /// `import(specifier)` does (the loader's `resolve` gets no referrer),
    /// run the job queue until it is empty (so top-level `await` settles),
    /// and return the module's namespace as JSON: an object of its exports
    /// (`default` included). The module graph comes from the
    /// [`ModuleLoader`](crate::ModuleLoader) set with
    /// [`Machine::set_module_loader`]; static imports, `import()` from
    /// scripts and modules, `import.meta` (its `uri` is the module's id),
    /// JSON modules (`with { type: "json" }`), cycles and top-level `await`
    /// behave as the language says. A module is evaluated once per machine:
    /// importing it again gives the same namespace (or the same error), and
    /// loaded modules stay in [`Machine::snapshot`]s.
    ///
    /// # Errors
    ///
    /// [`Error::Js`] when the graph fails to load (the loader's refusals
    /// and a loader without a module are `TypeError`s naming the module),
    /// to link (a missing export is a `SyntaxError`) or to evaluate, or when
    /// the module is still evaluating once the job queue is empty (a
    /// top-level `await` of a promise nothing settles: a `TypeError`); the
    /// machine stays usable. The other errors of [`Machine::eval`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use serde_json::json;
    /// use xs_wasm::{Error, Machine, ModuleLoader, ModuleSource, Options, Runtime};
    ///
    /// /// Modules from memory: ids are the specifiers themselves.
    /// struct Memory;
    /// impl ModuleLoader for Memory {
    ///     fn resolve(&mut self, specifier: &str, _referrer: Option<&str>) -> Result<String, String> {
    ///         Ok(specifier.to_owned())
    ///     }
    ///     fn load(&mut self, id: &str) -> Result<ModuleSource, String> {
    ///         match id {
    ///             "main" => Ok(ModuleSource::Js(
    ///                 "import config from 'config' with { type: 'json' };\n\
    ///                  const { twice } = await import('math');\n\
    ///                  export const answer = twice(config.half);".into(),
    ///             )),
    ///             "math" => Ok(ModuleSource::Js("export const twice = (x) => x * 2;".into())),
    ///             "config" => Ok(ModuleSource::Json(r#"{ "half": 21 }"#.into())),
    ///             other => Err(format!("no module {other}")),
    ///         }
    ///     }
    /// }
    ///
    /// let mut machine = Machine::new(&Runtime::new()?, Options { lockdown: true, ..Options::default() })?;
    /// machine.set_module_loader(Memory);
    /// assert_eq!(machine.import("main")?, json!({ "answer": 42 }));
    /// match machine.import("missing") {
    ///     Err(Error::Js { name, message, .. }) => {
    ///         assert_eq!(name, "TypeError");
    ///         assert!(message.contains("no module missing"), "{message}");
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(machine.eval("1 + 1")?, json!(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn import(&mut self, specifier: &str) -> Result<Value> {
        let f = self.exports.import.clone();
        self.call(&f, specifier.as_bytes())
    }

    /// Set the machine's module loader (see [`ModuleLoader`](crate::ModuleLoader)
    /// and [`Machine::import`]), replacing the one it had. Without one,
    /// every import fails with a `TypeError` saying there is no loader.
    pub fn set_module_loader<L: crate::ModuleLoader + 'static>(&mut self, loader: L) {
        self.store.data_mut().module_loader = Some(Box::new(loader));
    }

    /// Receive the guest's `console.*` output (default: printed to stderr).
    pub fn set_log_handler<F>(&mut self, handler: F)
    where
        F: FnMut(LogLevel, &str) + Send + 'static,
    {
        self.store.data_mut().on_log = Box::new(handler);
    }

    /// Change the meter limit (ticks per call; `None` for no limit) and the
    /// check interval (ticks) for later calls.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] for `Some(0)` or an interval of 0
    /// (as [`Options::validate`]; the machine keeps its limit), [`Error::Dead`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.set_meter_limit(Some(100_000), 1_000)?;
    /// assert!(matches!(machine.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_meter_limit(&mut self, limit: Option<u32>, interval: u32) -> Result<()> {
        check_meter(limit, interval)?;
        let _call = self.begin()?;
        let handle = self.handle;
        match self.exports.set_meter.run(&mut self.store, (handle, limit.unwrap_or(0), interval)) {
            Ok(()) => {
                self.meter_limit = limit;
                self.meter_interval = interval;
                Ok(())
            }
            Err(trap) => Err(self.stop(Error::wasm(trap))),
        }
    }

    /// Change the deadline of later calls ([`Options::deadline`]; `None` for
    /// none).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] for `Some(Duration::ZERO)`, or a
    /// deadline on a runtime without deadlines; [`Error::Dead`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use std::time::Duration;
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.set_deadline(Some(Duration::from_millis(100)))?;
    /// assert!(matches!(machine.eval("for (;;) {}"), Err(Error::Deadline { .. })));
    /// assert!(machine.is_stopped());
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_deadline(&mut self, deadline: Option<Duration>) -> Result<()> {
        if deadline == Some(Duration::ZERO) {
            return Err(Error::InvalidOptions("deadline is Some(Duration::ZERO): a call could not start (None means no deadline)".into()));
        }
        if deadline.is_some() && !self.runtime.deadlines() {
            return Err(Error::InvalidOptions("the runtime was made without deadlines (RuntimeOptions::deadlines)".into()));
        }
        self.check_alive()?;
        self.store.data_mut().deadline = deadline;
        Ok(())
    }

    /// A handle that stops this machine from any thread
    /// ([`InterruptHandle::interrupt`]): the call in progress, or else the
    /// next one, ends with [`Error::Interrupted`], and the machine is
    /// stopped. Every handle of a machine is the same switch.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] on a runtime without deadlines
    /// ([`RuntimeOptions::deadlines`](crate::RuntimeOptions::deadlines)):
    /// running guest code could not notice an interrupt there.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use std::time::Duration;
    /// use xs_wasm::{Error, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// let handle = machine.interrupt_handle()?;
    /// let stopper = std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(50));
    ///     handle.interrupt();
    /// });
    /// assert!(matches!(machine.eval("for (;;) {}"), Err(Error::Interrupted)));
    /// stopper.join().unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn interrupt_handle(&self) -> Result<InterruptHandle> {
        if !self.runtime.deadlines() {
            return Err(Error::InvalidOptions("interrupts need a runtime with deadlines (RuntimeOptions::deadlines)".into()));
        }
        Ok(InterruptHandle { flag: self.store.data().interrupt.clone() })
    }

    /// Meter ticks used by the last [`Machine::eval`] or [`Machine::send`]
    /// call (XS's meter: one tick per bytecode executed, plus some per
    /// built-in call); 0 when the call was stopped by a trap (a deadline or
    /// an interrupt in code that does not tick the meter among them).
    pub fn meter(&mut self) -> u64 {
        self.meter
    }

    /// Write the machine's heap to a snapshot (a garbage collection runs
    /// first). Restore it with [`Machine::restore`]. The bytes are
    /// deterministic: the same history gives the same snapshot. With
    /// [`Options::snapshot_key`] the snapshot ends in its MAC (40 bytes more).
    ///
    /// # Errors
    ///
    /// [`Error::Dead`] for a stopped machine, [`Error::Snapshot`]
    /// when XS cannot write it, [`Error::OutOfMemory`]; [`Error::Deadline`]
    /// and [`Error::Interrupted`] (which stop the machine).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Machine, Options, Runtime};
    /// let runtime = Runtime::new()?;
    /// let mut machine = Machine::new(&runtime, Options::default())?;
    /// machine.eval("var counter = 41")?;
    /// let snapshot = machine.snapshot()?;
    /// assert!(snapshot.starts_with(b"XSWASM\r\n"));
    /// let mut copy = Machine::restore(&runtime, &snapshot, Options::default())?;
    /// assert_eq!(copy.eval("++counter")?, serde_json::json!(42));
    /// # Ok(())
    /// # }
    /// ```
    pub fn snapshot(&mut self) -> Result<Vec<u8>> {
        let _call = self.begin()?;
        let handle = self.handle;
        let status = match self.exports.snapshot.run(&mut self.store, handle) {
            Ok(status) => status,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        let payload = self.result()?;
        self.take_panic()?;
        match status {
            XS_WASM_OK => match &self.snapshot_key {
                Some(key) => key.sign(&payload),
                None => Ok(payload),
            },
            XS_WASM_SNAPSHOT_ERROR => Err(Error::Snapshot { reason: String::from_utf8_lossy(&payload).into_owned() }),
            other => Err(self.status_error(other, payload)),
        }
    }

    /// The runtime (and so the artifact) this machine runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Whether an earlier call stopped the machine (see [`Error::Dead`]).
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// Bytes of wasm linear memory the machine's instance uses now.
    pub fn memory_bytes(&self) -> usize {
        self.exports.memory.data_size(&self.store)
    }

    /// The machine's heap as XS counts it (see [`HeapStatistics`]), plus the
    /// instance's linear memory. With `collect`, a full garbage collection
    /// runs first, so the "used" figures count live data only (without it
    /// they include garbage not collected yet, and the call changes
    /// nothing in the machine). The same figures as the JS package's
    /// `sandbox.heapStatistics()` on the same history.
    ///
    /// # Errors
    ///
    /// [`Error::Dead`] for a stopped machine; [`Error::Deadline`] and
    /// [`Error::Interrupted`] (which stop it); [`Error::Incompatible`] for a
    /// module without `xs_wasm_heap_statistics`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// let before = machine.heap_statistics(true)?;
    /// machine.eval("globalThis.keep = Array.from({ length: 100000 }, (_, i) => ({ i }))")?;
    /// let after = machine.heap_statistics(true)?;
    /// assert!(after.slots_used > before.slots_used + 100_000);
    /// assert!(after.memory_used <= after.memory_limit);
    /// # Ok(())
    /// # }
    /// ```
    pub fn heap_statistics(&mut self, collect: bool) -> Result<HeapStatistics> {
        let _call = self.begin()?;
        let handle = self.handle;
        let name = crate::abi::export::HEAP_STATISTICS.name;
        let func = self.instance.get_func(&mut self.store, name).ok_or_else(|| Error::Incompatible(format!("module has no export {name:?}")))?;
        let func = func.typed::<(u32, i32), i32>(&self.store).map_err(|e| Error::Incompatible(format!("export {name}: {e}")))?;
        let status = match func.run(&mut self.store, (handle, i32::from(collect))) {
            Ok(status) => status,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        let payload = self.result()?;
        if status != XS_WASM_OK {
            return Err(self.status_error(status, payload));
        }
        let mut statistics: HeapStatistics = serde_json::from_slice(&payload).map_err(|e| Error::InvalidJson(format!("heap statistics: {e}")))?;
        statistics.linear_memory = self.memory_bytes() as u64;
        Ok(statistics)
    }

    fn check_alive(&self) -> Result<()> {
        match &self.stopped {
            Some(reason) => Err(Error::Dead { reason: reason.clone() }),
            None => Ok(()),
        }
    }

    fn stop(&mut self, error: Error) -> Error {
        self.stopped = Some(error.to_string());
        error
    }

    /// [`Error::HostPanic`] when a host handler panicked during the call.
    fn take_panic(&mut self) -> Result<()> {
        match self.store.data_mut().panic.take() {
            Some(message) => Err(Error::HostPanic { message }),
            None => Ok(()),
        }
    }

    fn result(&mut self) -> Result<Vec<u8>> {
        let handle = self.handle;
        let ptr = match self.exports.result.run(&mut self.store, handle) {
            Ok(ptr) => ptr as usize,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        let len = match self.exports.result_length.run(&mut self.store, handle) {
            Ok(len) => len as usize,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        if len == 0 {
            return Ok(Vec::new());
        }
        self.exports.memory.data(&self.store).get(ptr..ptr + len).map(<[u8]>::to_vec).ok_or_else(|| Error::Wasm("result buffer out of bounds".into()))
    }

    fn status_error(&mut self, status: i32, payload: Vec<u8>) -> Error {
        match status {
            XS_WASM_JS_ERROR => {
                #[derive(serde::Deserialize)]
                struct Thrown {
                    name: String,
                    message: String,
                    #[serde(default)]
                    stack: String,
                }
                match serde_json::from_slice::<Thrown>(&payload) {
                    Ok(t) => Error::Js { name: t.name, message: t.message, stack: t.stack },
                    Err(e) => Error::InvalidJson(format!("exception description: {e}")),
                }
            }
            XS_WASM_METER_LIMIT => {
                let used = self.meter;
                self.stop(Error::MeterLimit { used })
            }
            XS_WASM_OUT_OF_MEMORY => self.stop(Error::OutOfMemory),
            XS_WASM_INTERRUPTED => {
                let error = match self.store.data_mut().stopped_by.take() {
                    Some(StopReason::Deadline(deadline)) => Error::Deadline { deadline },
                    _ => Error::Interrupted,
                };
                self.stop(error)
            }
            XS_WASM_STACK_OVERFLOW => self.stop(Error::StackOverflow),
            XS_WASM_DEAD => Error::Dead { reason: self.stopped.clone().unwrap_or_else(|| String::from_utf8_lossy(&payload).into_owned()) },
            XS_WASM_RESULT_TOO_LARGE => {
                #[derive(serde::Deserialize)]
                struct TooLarge {
                    size: u64,
                }
                let size = serde_json::from_slice::<TooLarge>(&payload).map(|t| t.size).unwrap_or(0);
                Error::ResultTooLarge { size, limit: self.store.data().memory_limit as u64 }
            }
            other => {
                let text = String::from_utf8_lossy(&payload).into_owned();
                self.stop(Error::Wasm(format!("engine status {other}: {text}")))
            }
        }
    }

    fn call(&mut self, f: &TypedFunc<(u32, u32, u32), i32>, input: &[u8]) -> Result<Value> {
        let _call = self.begin()?;
        self.meter = 0;
        let ptr = match Self::write_input(&mut self.store, &self.exports, input) {
            Ok(ptr) => ptr,
            Err(e) => return Err(self.stop(e)),
        };
        let handle = self.handle;
        let status = match f.run(&mut self.store, (handle, ptr, input.len() as u32)) {
            Ok(status) => status,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        if let Err(trap) = self.exports.free.run(&mut self.store, ptr) {
            return Err(self.stop(Error::wasm(trap)));
        }
        self.meter = match self.exports.meter.run(&mut self.store, handle) {
            Ok(ticks) => u64::from(ticks),
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        let payload = self.result()?;
        if status == XS_WASM_OK || status == XS_WASM_JS_ERROR {
            self.take_panic()?;
        }
        if status != XS_WASM_OK {
            return Err(self.status_error(status, payload));
        }
        if payload.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&payload).map_err(|e| Error::InvalidJson(e.to_string()))
    }
}
