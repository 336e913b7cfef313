//! The guest boundary: what crosses between the host and one instance of
//! an xs-wasm module. The host imports of `port/xs_wasm.h` (and the few
//! WASI functions wasi-libc's stdio references) in the [`linker`], the
//! store's [`HostState`] they work on, and the module's exports: looked up
//! once per module ([`ExportIndices`]) and typed per instance ([`Exports`],
//! the signatures of [`crate::abi::export`]). The status codes and the
//! creation layout are [`crate::abi`]'s, generated from the header.
//!
//! Nothing here knows a `Machine` or a `Runtime`: they build on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::{Caller, Extern, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store, StoreLimits, TypedFunc};

use crate::abi::{export, Export, ABI_VERSION, XS_WASM_MODULE_JS, XS_WASM_MODULE_JSON};
use crate::error::{Error, Result};
use crate::modules::{ModuleLoader, ModuleSource};

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
pub(crate) trait RunSync<P, R> {
    fn run(&self, store: &mut Store<HostState>, params: P) -> wasmtime::Result<R>;
}

impl<P: wasmtime::WasmParams + Sync, R: wasmtime::WasmResults + Sync> RunSync<P, R> for TypedFunc<P, R> {
    fn run(&self, store: &mut Store<HostState>, params: P) -> wasmtime::Result<R> {
        block_on(self.call_async(store, params))
    }
}

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

/// What a host function returns: its value, or an error message (the
/// guest's promise is rejected, or the call throws, with an `Error` of it).
pub type HostResult = std::result::Result<crate::JsValue, String>;
/// A host call in progress (the future an async host function returned).
pub(crate) type HostFuture = std::pin::Pin<Box<dyn std::future::Future<Output = HostResult> + Send>>;

/// A host function registered on a machine (see `Machine::register_function`).
pub(crate) enum HostFunction {
    Sync(Box<dyn FnMut(Vec<crate::JsValue>) -> HostResult + Send>),
    Async(Box<dyn FnMut(Vec<crate::JsValue>) -> HostFuture + Send>),
}

/// A pending host call: running, or finished and waiting to be settled in
/// the guest (on the virtual clock, calls settle in the order they were made).
pub(crate) enum PendingCall {
    Running(HostFuture),
    Done(HostResult),
}
type LogHandler = Box<dyn FnMut(LogLevel, &str) + Send>;

/// What made `host_interrupt` stop a call.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StopReason {
    /// [`crate::InterruptHandle::interrupt`].
    Interrupt,
    /// The call's deadline (the machine's [`crate::Options::deadline`]).
    Deadline(Duration),
}

pub(crate) struct HostState {
    pub(crate) limits: StoreLimits,
    pub(crate) on_message: Option<MessageHandler>,
    pub(crate) on_log: LogHandler,
    pub(crate) module_loader: Option<Box<dyn ModuleLoader>>,
    /// The machine's deadline per call (`Options::deadline`).
    pub(crate) deadline: Option<Duration>,
    /// When the call in progress must end (set as each call starts).
    pub(crate) call_deadline: Option<Instant>,
    /// Set by `InterruptHandle::interrupt`.
    pub(crate) interrupt: Arc<AtomicBool>,
    /// The epoch callback saw the interrupt flag once (it traps the next
    /// time: `host_interrupt` stops metered code first).
    pub(crate) interrupt_seen: bool,
    /// Why `host_interrupt` stopped the call in progress, if it did.
    pub(crate) stopped_by: Option<StopReason>,
    /// The message of the first host handler panic caught during the call.
    pub(crate) panic: Option<String>,
    /// `Options::memory_limit`, for errors.
    pub(crate) memory_limit: usize,
    pub(crate) real_clock: bool,
    pub(crate) reply: Vec<u8>,
    /// The instance's exported memory, once known (saves host functions a
    /// lookup by name per call).
    pub(crate) memory: Option<Memory>,
    /// The virtual clock (ms), what `host_now` returns without `real_clock`.
    pub(crate) clock: f64,
    /// Host functions by name (`host.NAME(...)` in the guest).
    pub(crate) functions: std::collections::HashMap<String, HostFunction>,
    /// Pending host calls by call id, in the order they were made.
    pub(crate) pending: std::collections::BTreeMap<u32, PendingCall>,
    /// The most host calls that may be pending at once.
    pub(crate) max_pending: usize,
}

fn default_log(level: LogLevel, text: &str) {
    match level {
        LogLevel::Log | LogLevel::Info | LogLevel::Debug => eprintln!("{text}"),
        LogLevel::Warn => eprintln!("warning: {text}"),
        LogLevel::Error => eprintln!("error: {text}"),
    }
}

impl HostState {
    /// The state of a new machine's store: no message handler, the default
    /// log (stderr), no call in progress.
    pub(crate) fn new(limits: StoreLimits, deadline: Option<Duration>, memory_limit: usize, real_clock: bool) -> Self {
        HostState {
            limits,
            on_message: None,
            on_log: Box::new(default_log),
            module_loader: None,
            deadline,
            call_deadline: None,
            interrupt: Arc::new(AtomicBool::new(false)),
            interrupt_seen: false,
            stopped_by: None,
            panic: None,
            memory_limit,
            real_clock,
            reply: Vec::new(),
            memory: None,
            clock: 0.0,
            functions: std::collections::HashMap::new(),
            pending: std::collections::BTreeMap::new(),
            max_pending: 1000,
        }
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
    linker.func_wrap("xs_wasm", "host_resolve", host_resolve)?;
    linker.func_wrap("xs_wasm", "host_load", host_load)?;
    linker.func_wrap("xs_wasm", "host_log", |mut caller: Caller<'_, HostState>, _m: u32, level: i32, ptr: u32, len: u32| {
        let bytes = read_guest(&mut caller, ptr, len).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        log_to_host(caller.data_mut(), LogLevel::from_code(level), &text);
    })?;
    linker.func_wrap("xs_wasm", "host_now", |caller: Caller<'_, HostState>| -> f64 {
        if caller.data().real_clock {
            wall_clock()
        } else {
            caller.data().clock
        }
    })?;
    // Asked by the guest once per meter interval: the interrupt flag and the
    // deadline end a metered call cleanly here (XS_WASM_INTERRUPTED); the
    // epoch callback is the backstop for code that does not tick the meter.
    linker.func_wrap("xs_wasm", "host_interrupt", |mut caller: Caller<'_, HostState>, _m: u32| -> i32 {
        let state = caller.data_mut();
        if state.interrupt.load(Ordering::SeqCst) {
            state.stopped_by = Some(StopReason::Interrupt);
            return 1;
        }
        if let (Some(at), Some(deadline)) = (state.call_deadline, state.deadline) {
            if Instant::now() >= at {
                state.stopped_by = Some(StopReason::Deadline(deadline));
                return 1;
            }
        }
        0
    })?;
    linker.func_wrap("xs_wasm", "host_call", host_call)?;
    linker.func_wrap(WASI, "fd_write", fd_write)?;
    linker.func_wrap(WASI, "fd_close", |_fd: i32| -> i32 { ERRNO_BADF })?;
    linker.func_wrap(WASI, "fd_seek", |_fd: i32, _offset: i64, _whence: i32, _out: u32| -> i32 { ERRNO_BADF })?;
    Ok(linker)
}

/// Milliseconds since the Unix epoch (the real clock).
pub(crate) fn wall_clock() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// `host_call` (port/xs_wasm.h): the guest's `host.NAME(...args)`. Returns
/// the encoded value's length (the bytes wait in `HostState::reply`), -1
/// for a call now pending (an async function's future, kept by `call`),
/// or `-length - 2` for an error message.
fn host_call(mut caller: Caller<'_, HostState>, _m: u32, call: u32, name_ptr: u32, name_len: u32, args_ptr: u32, args_len: u32) -> i32 {
    let name = String::from_utf8_lossy(&read_guest(&mut caller, name_ptr, name_len).unwrap_or_default()).into_owned();
    let args = read_guest(&mut caller, args_ptr, args_len).unwrap_or_default();
    let state = caller.data_mut();
    let outcome: std::result::Result<Option<crate::JsValue>, String> = match (crate::JsValue::decode(&args), state.functions.get_mut(&name)) {
        (_, None) => Err(format!("no host function named {name:?}")),
        (Ok(crate::JsValue::Array(args)), Some(function)) => {
            let pending = state.pending.len();
            let max = state.max_pending;
            match function {
                HostFunction::Sync(f) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args))) {
                    Ok(result) => result.map(Some),
                    Err(payload) => Err(format!("the host function {name:?} panicked: {}", panic_message(&*payload))),
                },
                HostFunction::Async(_) if pending >= max => Err(format!("too many pending host calls (at most {max} at once)")),
                HostFunction::Async(f) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args))) {
                    Ok(future) => {
                        state.pending.insert(call, PendingCall::Running(future));
                        Ok(None)
                    }
                    Err(payload) => Err(format!("the host function {name:?} panicked: {}", panic_message(&*payload))),
                },
            }
        }
        (Ok(_), Some(_)) => Err("host call: the arguments are not an array".to_owned()),
        (Err(e), Some(_)) => Err(format!("host call: {e}")),
    };
    let (reply, code) = match outcome {
        Ok(None) => return -1,
        Ok(Some(value)) => {
            let bytes = value.encode();
            if bytes.len() > i32::MAX as usize - 2 {
                let message = format!("the host function {name:?} returned a value too large to send ({} bytes)", bytes.len()).into_bytes();
                let n = message.len() as i32;
                (message, -n - 2)
            } else {
                let n = bytes.len() as i32;
                (bytes, n)
            }
        }
        Err(message) => {
            let message = message.into_bytes();
            let n = message.len().min(i32::MAX as usize - 2) as i32;
            (message, -n - 2)
        }
    };
    caller.data_mut().reply = reply;
    code
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

/// A reply for `host_reply`: its length, or `-length - 1` for an error message.
fn set_reply(caller: &mut Caller<'_, HostState>, outcome: std::result::Result<Vec<u8>, String>) -> i32 {
    let (reply, ok) = match outcome {
        Ok(bytes) => (bytes, true),
        Err(message) => (message.into_bytes(), false),
    };
    let (reply, ok) = if reply.len() > 0x7fff_fff0 { (format!("the module loader's reply is too large ({} bytes)", reply.len()).into_bytes(), false) } else { (reply, ok) };
    let len = reply.len() as i32;
    caller.data_mut().reply = reply;
    if ok {
        len
    } else {
        -len - 1
    }
}

/// Run `f` on the machine's module loader; `Err` when there is none, or
/// when it panicked (recorded: the call then ends with `Error::HostPanic`).
fn with_loader<T>(caller: &mut Caller<'_, HostState>, what: &str, f: impl FnOnce(&mut dyn ModuleLoader) -> std::result::Result<T, String>) -> std::result::Result<T, String> {
    let Some(mut loader) = caller.data_mut().module_loader.take() else {
        return Err(format!("no module loader: the host did not set one (Machine::set_module_loader), so {what}"));
    };
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *loader))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = panic_message(&*payload);
            caller.data_mut().panic.get_or_insert_with(|| format!("module loader: {message}"));
            Err(format!("the host's module loader panicked: {message}"))
        }
    };
    caller.data_mut().module_loader = Some(loader);
    outcome
}

/// `host_resolve` (port/xs_wasm.h): [`ModuleLoader::resolve`].
fn host_resolve(mut caller: Caller<'_, HostState>, _m: u32, ptr: u32, len: u32, referrer_ptr: u32, referrer_len: u32) -> i32 {
    let specifier = String::from_utf8_lossy(&read_guest(&mut caller, ptr, len).unwrap_or_default()).into_owned();
    let referrer = (referrer_ptr != 0).then(|| String::from_utf8_lossy(&read_guest(&mut caller, referrer_ptr, referrer_len).unwrap_or_default()).into_owned());
    let what = format!("\"{specifier}\" cannot be imported");
    let outcome = with_loader(&mut caller, &what, |loader| loader.resolve(&specifier, referrer.as_deref())).map(String::into_bytes);
    set_reply(&mut caller, outcome)
}

/// `host_load` (port/xs_wasm.h): [`ModuleLoader::load`]; the kind goes to `*kind`.
fn host_load(mut caller: Caller<'_, HostState>, _m: u32, ptr: u32, len: u32, kind: u32) -> i32 {
    let id = String::from_utf8_lossy(&read_guest(&mut caller, ptr, len).unwrap_or_default()).into_owned();
    let what = format!("{id} cannot be loaded");
    let outcome = with_loader(&mut caller, &what, |loader| loader.load(&id)).map(|source| match source {
        ModuleSource::Js(text) => (XS_WASM_MODULE_JS, text.into_bytes()),
        ModuleSource::Json(text) => (XS_WASM_MODULE_JSON, text.into_bytes()),
    });
    let outcome = outcome.map(|(code, bytes)| {
        if let Some(memory) = memory_of(&mut caller) {
            // A bad pointer from the guest is its own problem: nothing is written.
            let _ = memory.write(&mut caller, kind as usize, &code.to_le_bytes());
        }
        bytes
    });
    set_reply(&mut caller, outcome)
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

/// `memory`: the linear memory (not in the header: every module has it).
const MEMORY: &str = "memory";

/// wasi-libc's reactor initializer (not in the header); a pre-initialized
/// module ran it when it was made.
const INITIALIZE: Export<(), ()> = Export::new("_initialize");

/// The exports machines use, looked up by name once per module
/// ([`Module::get_export_index`]) instead of once per machine.
pub(crate) struct ExportIndices {
    memory: ModuleExport,
    initialize: Option<ModuleExport>,
    take: Option<ModuleExport>,
    lockdown: Option<ModuleExport>,
    abi_version: ModuleExport,
    alloc: ModuleExport,
    free: ModuleExport,
    create: ModuleExport,
    eval: ModuleExport,
    send: ModuleExport,
    import: ModuleExport,
    set_meter: ModuleExport,
    meter: ModuleExport,
    result: ModuleExport,
    result_length: ModuleExport,
    snapshot: ModuleExport,
    restore: ModuleExport,
    last_error: ModuleExport,
    eval_async: ModuleExport,
    awaited: ModuleExport,
    send_value: ModuleExport,
    settle: ModuleExport,
    next_timer: ModuleExport,
    run_timers: ModuleExport,
    clock: ModuleExport,
}

impl ExportIndices {
    /// Errors: [`Error::Incompatible`] naming the first missing export
    /// (`_initialize` may be missing from a pre-initialized module, and only
    /// pre-initialized modules need `xs_wasm_take`).
    pub(crate) fn new(module: &Module, preinit: bool) -> Result<Self> {
        let get = |name: &str| module.get_export_index(name).ok_or_else(|| Error::Incompatible(format!("module has no export {name:?}")));
        Ok(ExportIndices {
            memory: get(MEMORY)?,
            initialize: if preinit { None } else { Some(get(INITIALIZE.name)?) },
            take: if preinit { Some(get(export::TAKE.name)?) } else { None },
            lockdown: if preinit { Some(get(export::LOCKDOWN.name)?) } else { None },
            abi_version: get(export::ABI_VERSION.name)?,
            alloc: get(export::ALLOC.name)?,
            free: get(export::FREE.name)?,
            create: get(export::CREATE.name)?,
            eval: get(export::EVAL.name)?,
            send: get(export::SEND.name)?,
            import: get(export::IMPORT.name)?,
            set_meter: get(export::SET_METER.name)?,
            meter: get(export::METER.name)?,
            result: get(export::RESULT.name)?,
            result_length: get(export::RESULT_LENGTH.name)?,
            snapshot: get(export::SNAPSHOT.name)?,
            restore: get(export::RESTORE.name)?,
            last_error: get(export::LAST_ERROR.name)?,
            eval_async: get(export::EVAL_ASYNC.name)?,
            awaited: get(export::AWAITED.name)?,
            send_value: get(export::SEND_VALUE.name)?,
            settle: get(export::SETTLE.name)?,
            next_timer: get(export::NEXT_TIMER.name)?,
            run_timers: get(export::RUN_TIMERS.name)?,
            clock: get(export::CLOCK.name)?,
        })
    }
}

/// The typed function `export` (found at `index`) of `instance`; its type is
/// the one the header declares.
pub(crate) fn typed_export<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(store: &mut Store<HostState>, instance: &Instance, index: &ModuleExport, export: Export<P, R>) -> Result<TypedFunc<P, R>> {
    let name = export.name;
    let func = instance.get_module_export(&mut *store, index).and_then(Extern::into_func).ok_or_else(|| Error::Incompatible(format!("export {name} is not a function")))?;
    func.typed::<P, R>(&*store).map_err(|e| Error::Incompatible(format!("export {name}: {e}")))
}

/// The typed exports of one instance (the signatures are `port/xs_wasm.h`'s:
/// see [`crate::abi::export`]).
pub(crate) struct Exports {
    pub(crate) memory: Memory,
    pub(crate) alloc: TypedFunc<u32, u32>,
    pub(crate) free: TypedFunc<u32, ()>,
    pub(crate) create: TypedFunc<u32, u32>,
    pub(crate) eval: TypedFunc<(u32, u32, u32), i32>,
    pub(crate) send: TypedFunc<(u32, u32, u32), i32>,
    pub(crate) import: TypedFunc<(u32, u32, u32), i32>,
    pub(crate) set_meter: TypedFunc<(u32, u32, u32), ()>,
    pub(crate) meter: TypedFunc<u32, u32>,
    pub(crate) result: TypedFunc<u32, u32>,
    pub(crate) result_length: TypedFunc<u32, u32>,
    pub(crate) snapshot: TypedFunc<u32, i32>,
    pub(crate) restore: TypedFunc<(u32, u32, u32), u32>,
    pub(crate) last_error: TypedFunc<(), u32>,
    pub(crate) eval_async: TypedFunc<(u32, u32, u32), i32>,
    pub(crate) awaited: TypedFunc<u32, i32>,
    pub(crate) send_value: TypedFunc<(u32, u32, u32), i32>,
    pub(crate) settle: TypedFunc<(u32, u32, i32, u32, u32), i32>,
    pub(crate) next_timer: TypedFunc<u32, f64>,
    pub(crate) run_timers: TypedFunc<(u32, f64), i32>,
    pub(crate) clock: TypedFunc<u32, f64>,
    /// `xs_wasm_take`, in a pre-initialized module.
    pub(crate) take: Option<TypedFunc<u32, u32>>,
    /// `xs_wasm_lockdown`, in a pre-initialized module (for a taken machine).
    pub(crate) lockdown: Option<TypedFunc<u32, i32>>,
}

impl Exports {
    /// The exports of `instance` (whose module's indices are `idx`), after
    /// running wasi-libc's `_initialize` in a plain module, and checking the
    /// port ABI unless `abi_checked` says a machine of the module passed.
    pub(crate) fn new(store: &mut Store<HostState>, instance: &Instance, idx: &ExportIndices, abi_checked: &AtomicBool) -> Result<Self> {
        // A pre-initialized module's memory was initialized when it was made:
        // wasi-libc's `_initialize` ran then and must not run twice.
        if let Some(initialize) = &idx.initialize {
            let init = typed_export(store, instance, initialize, INITIALIZE)?;
            init.run(store, ()).map_err(Error::wasm)?;
        }
        let memory = instance.get_module_export(&mut *store, &idx.memory).and_then(Extern::into_memory).ok_or_else(|| Error::Incompatible("no exported memory".into()))?;
        if !abi_checked.load(Ordering::Relaxed) {
            let abi = typed_export(store, instance, &idx.abi_version, export::ABI_VERSION)?.run(&mut *store, ()).map_err(Error::wasm)?;
            if abi != ABI_VERSION {
                return Err(Error::Incompatible(format!("module speaks port ABI {abi}, this crate speaks {ABI_VERSION}")));
            }
            abi_checked.store(true, Ordering::Relaxed);
        }
        store.data_mut().memory = Some(memory);
        Ok(Exports {
            memory,
            alloc: typed_export(store, instance, &idx.alloc, export::ALLOC)?,
            free: typed_export(store, instance, &idx.free, export::FREE)?,
            create: typed_export(store, instance, &idx.create, export::CREATE)?,
            eval: typed_export(store, instance, &idx.eval, export::EVAL)?,
            send: typed_export(store, instance, &idx.send, export::SEND)?,
            import: typed_export(store, instance, &idx.import, export::IMPORT)?,
            set_meter: typed_export(store, instance, &idx.set_meter, export::SET_METER)?,
            meter: typed_export(store, instance, &idx.meter, export::METER)?,
            result: typed_export(store, instance, &idx.result, export::RESULT)?,
            result_length: typed_export(store, instance, &idx.result_length, export::RESULT_LENGTH)?,
            snapshot: typed_export(store, instance, &idx.snapshot, export::SNAPSHOT)?,
            restore: typed_export(store, instance, &idx.restore, export::RESTORE)?,
            last_error: typed_export(store, instance, &idx.last_error, export::LAST_ERROR)?,
            eval_async: typed_export(store, instance, &idx.eval_async, export::EVAL_ASYNC)?,
            awaited: typed_export(store, instance, &idx.awaited, export::AWAITED)?,
            send_value: typed_export(store, instance, &idx.send_value, export::SEND_VALUE)?,
            settle: typed_export(store, instance, &idx.settle, export::SETTLE)?,
            next_timer: typed_export(store, instance, &idx.next_timer, export::NEXT_TIMER)?,
            run_timers: typed_export(store, instance, &idx.run_timers, export::RUN_TIMERS)?,
            clock: typed_export(store, instance, &idx.clock, export::CLOCK)?,
            take: match &idx.take {
                Some(take) => Some(typed_export(store, instance, take, export::TAKE)?),
                None => None,
            },
            lockdown: match &idx.lockdown {
                Some(lockdown) => Some(typed_export(store, instance, lockdown, export::LOCKDOWN)?),
                None => None,
            },
        })
    }
}
