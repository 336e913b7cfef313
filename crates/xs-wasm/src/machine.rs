//! One sandboxed XS machine in its own wasm instance.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wasmtime::{Caller, Extern, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store, StoreLimits, StoreLimitsBuilder, TypedFunc, UpdateDeadline};

use crate::auth::SnapshotKey;
use crate::runtime::{CallGuard, Flavor, Runtime};
use crate::{Error, Result};

/// Drive a wasmtime future to completion on this thread. Guest code runs on
/// a wasmtime fiber stack (see [`crate::MAX_WASM_STACK`]); nothing in this
/// crate suspends, so the first poll completes and no executor is needed.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// Synchronous calls of typed exports, run on a fiber with its own stack.
trait RunSync<P, R> {
    fn run(&self, store: &mut Store<HostState>, params: P) -> wasmtime::Result<R>;
}

impl<P: wasmtime::WasmParams + Sync, R: wasmtime::WasmResults + Sync> RunSync<P, R> for TypedFunc<P, R> {
    fn run(&self, store: &mut Store<HostState>, params: P) -> wasmtime::Result<R> {
        block_on(self.call_async(store, params))
    }
}

/// The port ABI version this crate speaks (`XS_WASM_ABI_VERSION` in `port/xs_wasm.h`).
pub const ABI_VERSION: u32 = 4;

// Status codes of port/xs_wasm.h.
const XS_WASM_OK: i32 = 0;
const XS_WASM_JS_ERROR: i32 = 1;
const XS_WASM_METER_LIMIT: i32 = 2;
const XS_WASM_OUT_OF_MEMORY: i32 = 3;
const XS_WASM_STACK_OVERFLOW: i32 = 4;
const XS_WASM_SNAPSHOT_ERROR: i32 = 5;
const XS_WASM_DEAD: i32 = 6;
const XS_WASM_RESULT_TOO_LARGE: i32 = 9;
/// `xs_wasm_creation.flags` bit: define test262's `$262` and `print`.
const XS_WASM_CREATE_TEST262_HOST: u32 = 1;

/// XS creation parameters (`xsCreation`). Zero means "the port's default"
/// (shown per field). Counts are in XS slots (16 bytes each), sizes in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creation {
    /// First chunk block, bytes (default 256 KiB).
    pub initial_chunk_size: u32,
    /// Chunk block growth step, bytes (default 256 KiB).
    pub incremental_chunk_size: u32,
    /// First slot heap, slots (default 16384).
    pub initial_heap_count: u32,
    /// Slot heap growth step, slots (default 8192).
    pub incremental_heap_count: u32,
    /// JS stack, slots (default 131072, 2 MiB: about 13,000 levels of plain
    /// recursion). Deeper JS recursion throws `RangeError`.
    pub stack_count: u32,
    /// Initial property-key table, keys (default 2048).
    pub initial_key_count: u32,
    /// Key table growth step, keys (default 1024).
    pub incremental_key_count: u32,
    /// Name hash table size (default 1993).
    pub name_modulo: u32,
    /// Symbol hash table size (default 127).
    pub symbol_modulo: u32,
    /// Parser arena, bytes (default 1 MiB).
    pub parser_buffer_size: u32,
    /// Parser hash table size (default 1993).
    pub parser_table_modulo: u32,
}

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
    /// [`Options::MIN_MEMORY_LIMIT`]): XS's heap budget, plus a fixed 16 MiB
    /// headroom for the module's static data, C stack and buffers on the
    /// wasm linear memory. Exceeding it fails with [`Error::OutOfMemory`] and
    /// stops the machine.
    pub memory_limit: usize,
    /// XS creation parameters. On restore only the memory limit applies: heap
    /// sizes come from the snapshot.
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
    /// Wall-clock time each call into the machine may take (default
    /// [`Options::DEFAULT_DEADLINE`], 60 s; `None` for none): [`Machine::new`],
    /// [`Machine::restore`], [`Machine::eval`], [`Machine::send`],
    /// [`Machine::snapshot`] and the rest, each counted from its start. A
    /// call past it ends with [`Error::Deadline`] within about
    /// [`DEADLINE_TICK`](crate::DEADLINE_TICK) and the machine is stopped
    /// for good. It bounds what the meter cannot: loops in the engine's C
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
        Options { meter_limit: None, meter_interval: 10_000, memory_limit: 256 << 20, creation: Creation::default(), real_clock: false, test262_host: false, deadline: Some(Self::DEFAULT_DEADLINE), snapshot_key: None }
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
    /// Errors: [`Error::InvalidOptions`] naming the first option that breaks it.
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

/// Headroom over [`Options::memory_limit`] for the linear memory, in bytes.
const MEMORY_HEADROOM: usize = 16 << 20;

/// Severity of a guest `console` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `console.debug`
    Debug,
    /// `console.log`
    Log,
    /// `console.info`
    Info,
    /// `console.warn`
    Warn,
    /// `console.error`, and unhandled promise rejections
    Error,
}

impl LogLevel {
    fn from_code(code: i32) -> Self {
        match code {
            0 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => LogLevel::Log,
        }
    }
}

type MessageHandler = Box<dyn FnMut(Value) -> std::result::Result<Value, String> + Send>;
type LogHandler = Box<dyn FnMut(LogLevel, &str) + Send>;

pub(crate) struct HostState {
    limits: StoreLimits,
    on_message: Option<MessageHandler>,
    on_log: LogHandler,
    /// The machine's deadline per call ([`Options::deadline`]).
    deadline: Option<Duration>,
    /// When the call in progress must end (set as each call starts).
    call_deadline: Option<Instant>,
    /// Set by [`InterruptHandle::interrupt`].
    interrupt: Arc<AtomicBool>,
    /// The message of the first host handler panic caught during the call.
    panic: Option<String>,
    /// [`Options::memory_limit`], for errors.
    memory_limit: usize,
    real_clock: bool,
    reply: Vec<u8>,
    /// The instance's exported memory, once known (saves host functions a
    /// lookup by name per call).
    memory: Option<Memory>,
}

fn default_log(level: LogLevel, text: &str) {
    match level {
        LogLevel::Log | LogLevel::Info | LogLevel::Debug => eprintln!("{text}"),
        LogLevel::Warn => eprintln!("warning: {text}"),
        LogLevel::Error => eprintln!("error: {text}"),
    }
}

/// What the epoch callback ends a call with; [`Error::wasm`] turns it into
/// [`Error::Deadline`].
#[derive(Debug)]
pub(crate) struct DeadlineReached(pub(crate) Duration);

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

/// Stops the calls of one machine from another thread: see
/// [`Machine::interrupt_handle`]. `Clone`, `Send` and `Sync`; cheap to clone.
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    flag: Arc<AtomicBool>,
}

impl InterruptHandle {
    /// Stop the machine: a call in progress ends with [`Error::Interrupted`]
    /// within about [`DEADLINE_TICK`](crate::DEADLINE_TICK) (when the guest
    /// next reaches a loop back-edge or a function entry; a host handler
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

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

/// Call the log handler; a panic in it is caught and recorded (the call
/// then ends with [`Error::HostPanic`]).
fn log_to_host(state: &mut HostState, level: LogLevel, text: &str) {
    let handler = &mut state.on_log;
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(level, text))) {
        state.panic.get_or_insert_with(|| format!("log handler: {}", panic_message(&*payload)));
    }
}

fn memory_of(caller: &mut Caller<'_, HostState>) -> Option<Memory> {
    caller.data().memory.or_else(|| caller.get_export("memory").and_then(|e| e.into_memory()))
}

fn read_guest(caller: &mut Caller<'_, HostState>, ptr: u32, len: u32) -> Option<Vec<u8>> {
    let memory = memory_of(caller)?;
    let data = memory.data(&caller);
    let start = ptr as usize;
    let end = start.checked_add(len as usize)?;
    data.get(start..end).map(<[u8]>::to_vec)
}

/// The imports of `port/xs_wasm.h` plus the few WASI functions wasi-libc's
/// stdio references (stubbed: no file system, output goes to the log).
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap("xs_wasm", "host_send", host_send)?;
    linker.func_wrap("xs_wasm", "host_reply", |mut caller: Caller<'_, HostState>, _m: u32, buffer: u32| {
        let reply = std::mem::take(&mut caller.data_mut().reply);
        if let Some(memory) = memory_of(&mut caller) {
            // A bad pointer from the guest is its own problem: nothing is written.
            let _ = memory.write(&mut caller, buffer as usize, &reply);
        }
    })?;
    linker.func_wrap("xs_wasm", "host_log", |mut caller: Caller<'_, HostState>, _m: u32, level: i32, ptr: u32, len: u32| {
        let bytes = read_guest(&mut caller, ptr, len).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        log_to_host(caller.data_mut(), LogLevel::from_code(level), &text);
    })?;
    linker.func_wrap("xs_wasm", "host_now", |caller: Caller<'_, HostState>| -> f64 {
        if caller.data().real_clock {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
        } else {
            0.0
        }
    })?;
    linker.func_wrap(WASI, "fd_write", fd_write)?;
    linker.func_wrap(WASI, "fd_close", |_fd: i32| -> i32 { ERRNO_BADF })?;
    linker.func_wrap(WASI, "fd_seek", |_fd: i32, _offset: i64, _whence: i32, _out: u32| -> i32 { ERRNO_BADF })?;
    Ok(linker)
}

const WASI: &str = "wasi_snapshot_preview1";
const ERRNO_BADF: i32 = 8;

/// `host_send` (port/xs_wasm.h): the guest's `sendMessage(json)` through the
/// message handler; returns the reply's length, or `-length - 1` for an error
/// message (the reply waits in `HostState::reply` for `host_reply`).
fn host_send(mut caller: Caller<'_, HostState>, _m: u32, ptr: u32, len: u32) -> i32 {
    let request = read_guest(&mut caller, ptr, len).unwrap_or_default();
    let outcome = match caller.data_mut().on_message.take() {
        None => Err("no message handler: the host did not set one (Machine::set_message_handler)".to_owned()),
        Some(mut handler) => {
            let outcome = match serde_json::from_slice::<Value>(&request) {
                // A panic must not unwind through the engine (it would leave
                // the machine inside its call): caught, the guest sees an
                // Error and the call reports Error::HostPanic.
                Ok(message) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(message))) {
                    Ok(outcome) => outcome,
                    Err(payload) => {
                        let message = panic_message(&*payload);
                        caller.data_mut().panic.get_or_insert_with(|| format!("message handler: {message}"));
                        Err(format!("the host's message handler panicked: {message}"))
                    }
                },
                Err(e) => Err(format!("invalid JSON from sendMessage: {e}")),
            };
            caller.data_mut().on_message = Some(handler);
            outcome
        }
    };
    let (reply, ok) = match outcome {
        Ok(Value::Null) => (Vec::new(), true),
        Ok(value) => (serde_json::to_vec(&value).unwrap_or_else(|_| b"null".to_vec()), true),
        Err(message) => (message.into_bytes(), false),
    };
    let len = reply.len().min(i32::MAX as usize - 1) as i32;
    caller.data_mut().reply = reply;
    if ok {
        len
    } else {
        -len - 1
    }
}

/// WASI `fd_write`: stdout and stderr lines go to the log handler (`Log`,
/// `Error`); other descriptors are accepted and dropped.
fn fd_write(mut caller: Caller<'_, HostState>, fd: i32, iovs: u32, count: u32, written: u32) -> i32 {
    let Some(memory) = memory_of(&mut caller) else { return ERRNO_BADF };
    let mut out = Vec::new();
    for i in 0..count.min(1024) {
        let mut iov = [0u8; 8];
        if memory.read(&caller, iovs as usize + i as usize * 8, &mut iov).is_err() {
            return ERRNO_BADF;
        }
        let ptr = u32::from_le_bytes(iov[0..4].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(iov[4..8].try_into().unwrap()) as usize;
        match memory.data(&caller).get(ptr..ptr.saturating_add(len)) {
            Some(bytes) => out.extend_from_slice(bytes),
            None => return ERRNO_BADF,
        }
    }
    let n = out.len() as u32;
    if fd == 1 || fd == 2 {
        let text = String::from_utf8_lossy(&out).trim_end().to_owned();
        if !text.is_empty() {
            log_to_host(caller.data_mut(), if fd == 2 { LogLevel::Error } else { LogLevel::Log }, &text);
        }
    }
    if memory.write(&mut caller, written as usize, &n.to_le_bytes()).is_err() {
        return ERRNO_BADF;
    }
    0
}

pub(crate) fn instantiate_pre(runtime_engine: &wasmtime::Engine, module: &wasmtime::Module) -> wasmtime::Result<InstancePre<HostState>> {
    let mut linker = linker(runtime_engine)?;
    // Any other import (a newer wasi-libc might add one) traps if called.
    linker.define_unknown_imports_as_traps(module)?;
    linker.instantiate_pre(module)
}

/// The exports machines use, looked up by name once per module
/// ([`Module::get_export_index`]) instead of once per machine.
pub(crate) struct ExportIndices {
    memory: ModuleExport,
    initialize: Option<ModuleExport>,
    take: Option<ModuleExport>,
    abi_version: ModuleExport,
    alloc: ModuleExport,
    free: ModuleExport,
    create: ModuleExport,
    eval: ModuleExport,
    send: ModuleExport,
    set_meter: ModuleExport,
    meter: ModuleExport,
    result: ModuleExport,
    result_length: ModuleExport,
    snapshot: ModuleExport,
    restore: ModuleExport,
    last_error: ModuleExport,
}

impl ExportIndices {
    /// Errors: [`Error::Incompatible`] naming the first missing export
    /// (`_initialize` may be missing from a pre-initialized module, and only
    /// pre-initialized modules need `xs_wasm_take`).
    pub(crate) fn new(module: &Module, preinit: bool) -> Result<Self> {
        let get = |name: &str| module.get_export_index(name).ok_or_else(|| Error::Incompatible(format!("module has no export {name:?}")));
        Ok(ExportIndices {
            memory: get("memory")?,
            initialize: if preinit { None } else { Some(get("_initialize")?) },
            take: if preinit { Some(get("xs_wasm_take")?) } else { None },
            abi_version: get("xs_wasm_abi_version")?,
            alloc: get("xs_wasm_alloc")?,
            free: get("xs_wasm_free")?,
            create: get("xs_wasm_create")?,
            eval: get("xs_wasm_eval")?,
            send: get("xs_wasm_send")?,
            set_meter: get("xs_wasm_set_meter")?,
            meter: get("xs_wasm_meter")?,
            result: get("xs_wasm_result")?,
            result_length: get("xs_wasm_result_length")?,
            snapshot: get("xs_wasm_snapshot")?,
            restore: get("xs_wasm_restore")?,
            last_error: get("xs_wasm_last_error")?,
        })
    }
}

/// The typed function `export` (named `name` in errors) of `instance`.
fn typed_export<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(store: &mut Store<HostState>, instance: &Instance, export: &ModuleExport, name: &str) -> Result<TypedFunc<P, R>> {
    let func = instance.get_module_export(&mut *store, export).and_then(Extern::into_func).ok_or_else(|| Error::Incompatible(format!("export {name} is not a function")))?;
    func.typed::<P, R>(&*store).map_err(|e| Error::Incompatible(format!("export {name}: {e}")))
}

struct Exports {
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<u32, ()>,
    create: TypedFunc<u32, u32>,
    eval: TypedFunc<(u32, u32, u32), i32>,
    send: TypedFunc<(u32, u32, u32), i32>,
    set_meter: TypedFunc<(u32, u32, u32), ()>,
    meter: TypedFunc<u32, u32>,
    result: TypedFunc<u32, u32>,
    result_length: TypedFunc<u32, u32>,
    snapshot: TypedFunc<u32, i32>,
    restore: TypedFunc<(u32, u32, u32), u32>,
    last_error: TypedFunc<(), u32>,
    /// `xs_wasm_take`, in a pre-initialized module.
    take: Option<TypedFunc<u32, u32>>,
}

impl Exports {
    /// The exports of `instance`, checking the port ABI the first time a
    /// machine of `flavor`'s module is made.
    fn new(store: &mut Store<HostState>, instance: &Instance, flavor: &Flavor) -> Result<Self> {
        use std::sync::atomic::Ordering;
        let idx = &flavor.exports;
        let memory = instance.get_module_export(&mut *store, &idx.memory).and_then(Extern::into_memory).ok_or_else(|| Error::Incompatible("no exported memory".into()))?;
        if !flavor.abi_checked.load(Ordering::Relaxed) {
            let abi: TypedFunc<(), u32> = typed_export(store, instance, &idx.abi_version, "xs_wasm_abi_version")?;
            let abi = abi.run(&mut *store, ()).map_err(Error::wasm)?;
            if abi != ABI_VERSION {
                return Err(Error::Incompatible(format!("module speaks port ABI {abi}, this crate speaks {ABI_VERSION}")));
            }
            flavor.abi_checked.store(true, Ordering::Relaxed);
        }
        Ok(Exports {
            memory,
            alloc: typed_export(store, instance, &idx.alloc, "xs_wasm_alloc")?,
            free: typed_export(store, instance, &idx.free, "xs_wasm_free")?,
            create: typed_export(store, instance, &idx.create, "xs_wasm_create")?,
            eval: typed_export(store, instance, &idx.eval, "xs_wasm_eval")?,
            send: typed_export(store, instance, &idx.send, "xs_wasm_send")?,
            set_meter: typed_export(store, instance, &idx.set_meter, "xs_wasm_set_meter")?,
            meter: typed_export(store, instance, &idx.meter, "xs_wasm_meter")?,
            result: typed_export(store, instance, &idx.result, "xs_wasm_result")?,
            result_length: typed_export(store, instance, &idx.result_length, "xs_wasm_result_length")?,
            snapshot: typed_export(store, instance, &idx.snapshot, "xs_wasm_snapshot")?,
            restore: typed_export(store, instance, &idx.restore, "xs_wasm_restore")?,
            last_error: typed_export(store, instance, &idx.last_error, "xs_wasm_last_error")?,
            take: match &idx.take {
                Some(take) => Some(typed_export(store, instance, take, "xs_wasm_take")?),
                None => None,
            },
        })
    }
}

/// A sandboxed JavaScript machine: one XS VM in its own wasm instance.
///
/// The guest has the ECMAScript built-ins plus `sendMessage(msg)`,
/// `console.{debug,log,info,warn,error}` and whatever it defines; it has no
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
}

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
        let state = HostState {
            limits,
            on_message: None,
            on_log: Box::new(default_log),
            deadline: options.deadline,
            call_deadline: None,
            interrupt: Arc::new(AtomicBool::new(false)),
            panic: None,
            memory_limit: options.memory_limit,
            real_clock: options.real_clock,
            reply: Vec::new(),
            memory: None,
        };
        let mut store = Store::new(&flavor.engine, state);
        store.limiter(|state| &mut state.limits);
        if runtime.deadlines() {
            // Called at each epoch tick while guest code runs (the ticker
            // advances the epoch only while a call is in progress).
            store.epoch_deadline_callback(|context| {
                let state = context.data();
                if state.interrupt.load(Ordering::SeqCst) {
                    return Err(wasmtime::Error::new(InterruptRequested));
                }
                if let (Some(at), Some(deadline)) = (state.call_deadline, state.deadline) {
                    if Instant::now() >= at {
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
        // A pre-initialized module's memory was initialized when it was made:
        // wasi-libc's `_initialize` ran then and must not run twice.
        if let Some(initialize) = &flavor.exports.initialize {
            let init: TypedFunc<(), ()> = typed_export(&mut store, &instance, initialize, "_initialize")?;
            init.run(&mut store, ()).map_err(Error::wasm)?;
        }
        let exports = Exports::new(&mut store, &instance, flavor)?;
        store.data_mut().memory = Some(exports.memory);
        Ok((store, instance, exports))
    }

    /// The machine kept in a pre-initialized module's memory, when `options`
    /// ask for the machine it holds (same creation, no test262 host): its
    /// handle, with the memory limit applied. `None` otherwise.
    fn take_preinitialized(runtime: &Runtime, store: &mut Store<HostState>, exports: &Exports, options: &Options) -> Result<Option<u32>> {
        let (Some(record), Some(take)) = (&runtime.inner.preinit, &exports.take) else { return Ok(None) };
        if record.creation != options.creation.fields() || options.test262_host {
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
        let c = &options.creation;
        let fields = [
            c.initial_chunk_size,
            c.incremental_chunk_size,
            c.initial_heap_count,
            c.incremental_heap_count,
            c.stack_count,
            c.initial_key_count,
            c.incremental_key_count,
            c.name_modulo,
            c.symbol_modulo,
            c.parser_buffer_size,
            c.parser_table_modulo,
        ];
        let mut bytes = Vec::with_capacity(52);
        for field in fields {
            bytes.extend_from_slice(&field.min(i32::MAX as u32).to_le_bytes());
        }
        // memory_limit and flags are uint32 (xs_wasm_creation in port/xs_wasm.h)
        bytes.extend_from_slice(&u32::try_from(options.memory_limit).unwrap_or(u32::MAX).to_le_bytes());
        let flags = if options.test262_host { XS_WASM_CREATE_TEST262_HOST } else { 0 };
        bytes.extend_from_slice(&flags.to_le_bytes());
        Self::write_input(store, exports, &bytes)
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

    fn finish(runtime: &Runtime, mut store: Store<HostState>, instance: Instance, exports: Exports, handle: u32, options: &Options) -> Result<Machine> {
        exports.set_meter.run(&mut store, (handle, options.meter_limit.unwrap_or(0), options.meter_interval)).map_err(Error::wasm)?;
        Ok(Machine { store, instance, exports, handle, stopped: None, runtime: runtime.clone(), meter: 0, snapshot_key: options.snapshot_key.clone() })
    }

    /// Create a fresh machine.
    ///
    /// On a pre-initialized runtime (see [`crate::preinit`]) whose kept
    /// machine was created with `options.creation` (and `test262_host` off),
    /// the new instance's copy of that machine is used: XS's start-up does
    /// not run. Otherwise XS creates the machine.
    ///
    /// Errors: [`Error::InvalidOptions`] ([`Options::validate`], or a
    /// deadline on a runtime without deadlines); [`Error::OutOfMemory`] when
    /// `options.memory_limit` cannot hold a new machine; [`Error::Deadline`];
    /// [`Error::Wasmtime`] on a wasmtime failure.
    pub fn new(runtime: &Runtime, options: Options) -> Result<Machine> {
        options.validate()?;
        let _call = runtime.inner.ticker.as_ref().map(|t| t.begin_call());
        let (mut store, instance, exports) = Self::instantiate(runtime, &options)?;
        if let Some(handle) = Self::take_preinitialized(runtime, &mut store, &exports, &options)? {
            return Self::finish(runtime, store, instance, exports, handle, &options);
        }
        let creation = Self::write_creation(&mut store, &exports, &options)?;
        let handle = exports.create.run(&mut store, creation).map_err(Error::wasm)?;
        if handle == 0 {
            let reason = Self::last_error(&mut store, &exports);
            return Err(if reason.contains("memory") { Error::OutOfMemory } else { Error::Wasm(reason) });
        }
        exports.free.run(&mut store, creation).map_err(Error::wasm)?;
        Self::finish(runtime, store, instance, exports, handle, &options)
    }

    /// Read a snapshot written by [`Machine::snapshot`] (by this or any
    /// variant with the same port ABI and XS version) into a new machine.
    /// The original script is not needed.
    ///
    /// A snapshot is untrusted input: XS's reader is not hardened against
    /// crafted bytes (a crafted payload with a valid header can make it loop,
    /// or restore a heap that computes something else). The deadline
    /// ([`Options::deadline`]) and the memory limit bound what reading one
    /// can cost; only an authenticated snapshot ([`Options::snapshot_key`])
    /// is known to be one this host wrote.
    ///
    /// Errors: [`Error::InvalidOptions`] as [`Machine::new`];
    /// [`Error::SnapshotAuth`] with a snapshot key, for a snapshot without
    /// its MAC or with another; [`Error::Snapshot`] for empty, truncated, corrupt or garbage bytes and
    /// snapshots of incompatible builds (the reason says which);
    /// [`Error::Deadline`] when reading takes longer than the deadline;
    /// [`Error::Wasmtime`] on a wasmtime failure.
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
        Self::finish(runtime, store, instance, exports, handle, &options)
    }

    /// Mark this machine as its instance's pre-initialized machine
    /// (`xs_wasm_keep`), for [`crate::preinit::preinitialize`].
    #[cfg(feature = "preinit")]
    pub(crate) fn keep_for_preinit(&mut self) -> Result<()> {
        let _call = self.begin()?;
        let keep: TypedFunc<u32, ()> = self.instance.get_typed_func(&mut self.store, "xs_wasm_keep").map_err(|e| Error::Incompatible(format!("export xs_wasm_keep: {e}")))?;
        let handle = self.handle;
        keep.run(&mut self.store, handle).map_err(Error::wasm)
    }

    /// The instance's globals and memory, as wizer reads them.
    #[cfg(feature = "preinit")]
    pub(crate) fn instance_state(&mut self) -> InstanceState<'_> {
        InstanceState { store: &mut self.store, instance: self.instance }
    }

    /// Evaluate `source` as a sloppy-mode global script (like a classic
    /// `<script>`: top-level `let`/`const`/`class` persist between calls),
    /// drain the promise job queue, and return the completion value
    /// as JSON (`undefined`, functions and symbols become `null`; a promise
    /// settled by then becomes its value, or its rejection an error).
    /// `source` is read whole: a NUL character in it is U+0000 (inside a
    /// string literal, part of the string; elsewhere a `SyntaxError`).
    ///
    /// Errors: [`Error::Js`] when the script throws (the machine stays
    /// usable); [`Error::ResultTooLarge`] when the result does not fit in
    /// the machine's memory (the machine stays usable); [`Error::MeterLimit`], [`Error::OutOfMemory`],
    /// [`Error::StackOverflow`], [`Error::Deadline`], [`Error::Interrupted`],
    /// [`Error::Wasmtime`] (a trap: see [`Error::trap`]) and [`Error::Wasm`]
    /// (another engine failure) stop the machine; [`Error::Dead`] after
    /// that; [`Error::HostPanic`] when a host handler panicked (the machine
    /// stays usable); [`Error::InvalidJson`] when the guest's
    /// `JSON.stringify` was tampered with.
    pub fn eval(&mut self, source: &str) -> Result<Value> {
        let f = self.exports.eval.clone();
        self.call(&f, source.as_bytes())
    }

    /// Call the guest's `globalThis.receiveMessage(message)`, drain the job
    /// queue, and return its return value (a promise is awaited as in
    /// [`Machine::eval`]). Guest calls to `sendMessage` during the call reach
    /// the handler set with [`Machine::set_message_handler`].
    ///
    /// Errors: as [`Machine::eval`]; a missing `receiveMessage` is an
    /// [`Error::Js`] `TypeError`.
    pub fn send(&mut self, message: &Value) -> Result<Value> {
        let text = serde_json::to_vec(message)?;
        let f = self.exports.send.clone();
        self.call(&f, &text)
    }

    /// [`Machine::send`] for serde types: serializes `message`, deserializes the reply.
    ///
    /// Errors: those of [`Machine::send`], and [`Error::Serde`] when the reply
    /// does not deserialize into `R`.
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
    /// Errors: [`Error::InvalidOptions`] for `Some(0)` or an interval of 0
    /// (as [`Options::validate`]; the machine keeps its limit), [`Error::Dead`].
    pub fn set_meter_limit(&mut self, limit: Option<u32>, interval: u32) -> Result<()> {
        check_meter(limit, interval)?;
        let _call = self.begin()?;
        let handle = self.handle;
        match self.exports.set_meter.run(&mut self.store, (handle, limit.unwrap_or(0), interval)) {
            Ok(()) => Ok(()),
            Err(trap) => Err(self.stop(Error::wasm(trap))),
        }
    }

    /// Change the deadline of later calls ([`Options::deadline`]; `None` for
    /// none).
    ///
    /// Errors: [`Error::InvalidOptions`] for `Some(Duration::ZERO)`, or a
    /// deadline on a runtime without deadlines; [`Error::Dead`].
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
    /// Errors: [`Error::InvalidOptions`] on a runtime without deadlines
    /// ([`RuntimeOptions::deadlines`](crate::RuntimeOptions::deadlines)):
    /// running guest code could not notice an interrupt there.
    pub fn interrupt_handle(&self) -> Result<InterruptHandle> {
        if !self.runtime.deadlines() {
            return Err(Error::InvalidOptions("interrupts need a runtime with deadlines (RuntimeOptions::deadlines)".into()));
        }
        Ok(InterruptHandle { flag: self.store.data().interrupt.clone() })
    }

    /// Meter ticks used by the last [`Machine::eval`] or [`Machine::send`]
    /// call (XS's meter: one tick per bytecode executed, plus some per
    /// built-in call); 0 when the call was stopped by a trap, a deadline or
    /// an interrupt.
    pub fn meter(&mut self) -> u64 {
        self.meter
    }

    /// Write the machine's heap to a snapshot (a garbage collection runs
    /// first). Restore it with [`Machine::restore`]. The bytes are
    /// deterministic: the same history gives the same snapshot. With
    /// [`Options::snapshot_key`] the snapshot ends in its MAC (40 bytes more).
    ///
    /// Errors: [`Error::Dead`] for a stopped machine, [`Error::Snapshot`]
    /// when XS cannot write it, [`Error::OutOfMemory`]; [`Error::Deadline`]
    /// and [`Error::Interrupted`] (which stop the machine).
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

/// A machine's instance as [`wasmtime_wizer::InstanceState`]: what
/// [`crate::preinit::preinitialize`] snapshots.
#[cfg(feature = "preinit")]
pub(crate) struct InstanceState<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
}

#[cfg(feature = "preinit")]
impl wasmtime_wizer::InstanceState for InstanceState<'_> {
    async fn global_get(&mut self, name: &str, _type_hint: wasmtime_wizer::ValType) -> wasmtime_wizer::SnapshotVal {
        use wasmtime::Val;
        use wasmtime_wizer::SnapshotVal;
        // wizer asks only for the globals its instrumentation exported.
        let global = self.instance.get_global(&mut *self.store, name).expect("wizer exported this global");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global {name} holds a reference ({other:?}): wizer cannot snapshot it"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("wizer exported this memory");
        contents(memory.data(&*self.store))
    }
}
