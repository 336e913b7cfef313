//! The port ABI (`port/xs_wasm.h`): the constants, the creation struct
//! and the exports every artifact has, for hosts that call an artifact's
//! exports themselves. [`Machine`](crate::Machine) is built on it.
//!
//! Generated from the header by `cargo xtask codegen`: do not edit.
//! `cargo xtask test` fails when this file is not what the header gives.

use std::marker::PhantomData;

/// The port ABI version this crate speaks (`XS_WASM_ABI_VERSION`).
pub const ABI_VERSION: u32 = 5;

/// `XS_WASM_SNAPSHOT_FORMAT`.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// `XS_WASM_SNAPSHOT_HEADER_SIZE`, bytes.
pub const SNAPSHOT_HEADER_SIZE: usize = 32;

// xs_wasm_status
/// `XS_WASM_OK`
pub const XS_WASM_OK: i32 = 0;
/// `XS_WASM_JS_ERROR`: the guest threw; payload describes it
pub const XS_WASM_JS_ERROR: i32 = 1;
/// `XS_WASM_METER_LIMIT`: meter limit reached; machine is dead
pub const XS_WASM_METER_LIMIT: i32 = 2;
/// `XS_WASM_OUT_OF_MEMORY`: memory limit reached; machine is dead
pub const XS_WASM_OUT_OF_MEMORY: i32 = 3;
/// `XS_WASM_STACK_OVERFLOW`: unrecoverable stack overflow; machine is dead
pub const XS_WASM_STACK_OVERFLOW: i32 = 4;
/// `XS_WASM_SNAPSHOT_ERROR`: bad snapshot bytes, or snapshot write failed
pub const XS_WASM_SNAPSHOT_ERROR: i32 = 5;
/// `XS_WASM_DEAD`: the machine was stopped by an earlier call
pub const XS_WASM_DEAD: i32 = 6;
/// `XS_WASM_BAD_ARGUMENT`: NULL machine, invalid UTF-8 length, etc.
pub const XS_WASM_BAD_ARGUMENT: i32 = 7;
/// `XS_WASM_ABORTED`: any other fatal XS abort; machine is dead
pub const XS_WASM_ABORTED: i32 = 8;
/// `XS_WASM_RESULT_TOO_LARGE`: the call completed, but its result (JSON) did not fit in the memory limit next to the heap (or in memory): the payload is {"size": &lt;bytes of the UTF-8 result&gt;}; the machine stays usable
pub const XS_WASM_RESULT_TOO_LARGE: i32 = 9;
/// `XS_WASM_PENDING`: xs_wasm_eval_async, xs_wasm_send_value, xs_wasm_awaited: the completion is a promise still pending (it is now the machine's awaited promise); run the loop and ask xs_wasm_awaited; empty payload
pub const XS_WASM_PENDING: i32 = 10;
/// `XS_WASM_INTERRUPTED`: host_interrupt asked to stop the call (a deadline, an interrupt); machine is dead
pub const XS_WASM_INTERRUPTED: i32 = 11;

// xs_wasm_creation.flags
/// `XS_WASM_CREATE_TEST262_HOST`
pub const XS_WASM_CREATE_TEST262_HOST: u32 = 1;
/// `XS_WASM_CREATE_LOCKDOWN`
pub const XS_WASM_CREATE_LOCKDOWN: u32 = 2;
/// `XS_WASM_CREATE_NO_WEB_GLOBALS`
pub const XS_WASM_CREATE_NO_WEB_GLOBALS: u32 = 4;

// Module kinds (host_load's kind)
/// `XS_WASM_MODULE_JS`: JavaScript module code
pub const XS_WASM_MODULE_JS: i32 = 0;
/// `XS_WASM_MODULE_JSON`: a JSON module: the text is JSON, the default export its value
pub const XS_WASM_MODULE_JSON: i32 = 1;

// Engine features a build can lack (xs_wasm_lacks)
/// `XS_WASM_LACKS_REGEXP_PROPERTY_ESCAPES`: no mxRegExpUnicodePropertyEscapes
pub const XS_WASM_LACKS_REGEXP_PROPERTY_ESCAPES: u32 = 1;
/// `XS_WASM_LACKS_STRING_NORMALIZE`: no mxStringNormalize
pub const XS_WASM_LACKS_STRING_NORMALIZE: u32 = 2;
/// Each `XS_WASM_LACKS_*` bit and its name in the manifest's `lacks`.
pub const LACKS: [(u32, &str); 2] = [(XS_WASM_LACKS_REGEXP_PROPERTY_ESCAPES, "regexp-property-escapes"), (XS_WASM_LACKS_STRING_NORMALIZE, "string-normalize")];

/// XS creation parameters: `xs_wasm_creation` without the fields the
/// loader fills from [`Options`](crate::Options) (`memory_limit`, `flags`).
/// From the header: Creation parameters, mirroring XS's xsCreation, plus a memory budget. Counts are in slots (16 bytes each on wasm32), sizes in bytes. A zero field takes the default shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creation {
    /// `initial_chunk_size`: default 256 KiB
    pub initial_chunk_size: u32,
    /// `incremental_chunk_size`: default 256 KiB
    pub incremental_chunk_size: u32,
    /// `initial_heap_count`: default 16384 slots
    pub initial_heap_count: u32,
    /// `incremental_heap_count`: default 8192 slots
    pub incremental_heap_count: u32,
    /// `stack_count`: default 131072 slots (JS stack, 2 MiB)
    pub stack_count: u32,
    /// `initial_key_count`: default 2048 property keys
    pub initial_key_count: u32,
    /// `incremental_key_count`: default 1024
    pub incremental_key_count: u32,
    /// `name_modulo`: default 1993
    pub name_modulo: u32,
    /// `symbol_modulo`: default 127
    pub symbol_modulo: u32,
    /// `parser_buffer_size`: default 1 MiB
    pub parser_buffer_size: u32,
    /// `parser_table_modulo`: default 1993
    pub parser_table_modulo: u32,
}

/// Fields of [`Creation`].
pub const CREATION_FIELDS: usize = 11;

/// The names of [`Creation`]'s fields, in `xs_wasm_creation` order.
pub const CREATION_FIELD_NAMES: [&str; CREATION_FIELDS] = ["initial_chunk_size", "incremental_chunk_size", "initial_heap_count", "incremental_heap_count", "stack_count", "initial_key_count", "incremental_key_count", "name_modulo", "symbol_modulo", "parser_buffer_size", "parser_table_modulo"];

/// Bytes of `xs_wasm_creation`.
pub const CREATION_SIZE: usize = 52;

impl Creation {
    /// The fields, in `xs_wasm_creation` order.
    pub(crate) fn fields(&self) -> [u32; CREATION_FIELDS] {
        [self.initial_chunk_size, self.incremental_chunk_size, self.initial_heap_count, self.incremental_heap_count, self.stack_count, self.initial_key_count, self.incremental_key_count, self.name_modulo, self.symbol_modulo, self.parser_buffer_size, self.parser_table_modulo]
    }

    /// `xs_wasm_creation` as the guest reads it (little-endian; `int32_t` fields capped at `i32::MAX`).
    pub(crate) fn to_bytes(self, memory_limit: u32, flags: u32) -> [u8; CREATION_SIZE] {
        let mut bytes = [0u8; CREATION_SIZE];
        bytes[0..4].copy_from_slice(&self.initial_chunk_size.min(i32::MAX as u32).to_le_bytes());
        bytes[4..8].copy_from_slice(&self.incremental_chunk_size.min(i32::MAX as u32).to_le_bytes());
        bytes[8..12].copy_from_slice(&self.initial_heap_count.min(i32::MAX as u32).to_le_bytes());
        bytes[12..16].copy_from_slice(&self.incremental_heap_count.min(i32::MAX as u32).to_le_bytes());
        bytes[16..20].copy_from_slice(&self.stack_count.min(i32::MAX as u32).to_le_bytes());
        bytes[20..24].copy_from_slice(&self.initial_key_count.min(i32::MAX as u32).to_le_bytes());
        bytes[24..28].copy_from_slice(&self.incremental_key_count.min(i32::MAX as u32).to_le_bytes());
        bytes[28..32].copy_from_slice(&self.name_modulo.min(i32::MAX as u32).to_le_bytes());
        bytes[32..36].copy_from_slice(&self.symbol_modulo.min(i32::MAX as u32).to_le_bytes());
        bytes[36..40].copy_from_slice(&self.parser_buffer_size.min(i32::MAX as u32).to_le_bytes());
        bytes[40..44].copy_from_slice(&self.parser_table_modulo.min(i32::MAX as u32).to_le_bytes());
        bytes[44..48].copy_from_slice(&memory_limit.to_le_bytes());
        bytes[48..52].copy_from_slice(&flags.to_le_bytes());
        bytes
    }
}

/// An export of the port: its name, and its wasm signature as the types
/// of a `wasmtime::TypedFunc<P, R>`.
pub struct Export<P, R> {
    /// The export's name.
    pub name: &'static str,
    signature: PhantomData<fn(P) -> R>,
}

impl<P, R> Export<P, R> {
    pub(crate) const fn new(name: &'static str) -> Self {
        Export { name, signature: PhantomData }
    }
}

/// The functions `port/xs_wasm.h` declares, each an export of every artifact.
pub mod export {
    use super::Export;

    /// `uint32_t xs_wasm_abi_version(void);`
    pub const ABI_VERSION: Export<(), u32> = Export::new("xs_wasm_abi_version");
    /// `uint32_t xs_wasm_xs_version(void);`
    pub const XS_VERSION: Export<(), u32> = Export::new("xs_wasm_xs_version");
    /// `const char* xs_wasm_signature(void);`
    pub const SIGNATURE: Export<(), u32> = Export::new("xs_wasm_signature");
    /// `uint32_t xs_wasm_lacks(void);`
    pub const LACKS: Export<(), u32> = Export::new("xs_wasm_lacks");
    /// `void* xs_wasm_alloc(size_t size);`
    pub const ALLOC: Export<u32, u32> = Export::new("xs_wasm_alloc");
    /// `void xs_wasm_free(void* pointer);`
    pub const FREE: Export<u32, ()> = Export::new("xs_wasm_free");
    /// `xs_wasm_machine* xs_wasm_create(const xs_wasm_creation* creation);`
    pub const CREATE: Export<u32, u32> = Export::new("xs_wasm_create");
    /// `void xs_wasm_delete(xs_wasm_machine* machine);`
    pub const DELETE: Export<u32, ()> = Export::new("xs_wasm_delete");
    /// `int32_t xs_wasm_eval(xs_wasm_machine* machine, const char* source, size_t length);`
    pub const EVAL: Export<(u32, u32, u32), i32> = Export::new("xs_wasm_eval");
    /// `int32_t xs_wasm_send(xs_wasm_machine* machine, const char* json, size_t length);`
    pub const SEND: Export<(u32, u32, u32), i32> = Export::new("xs_wasm_send");
    /// `int32_t xs_wasm_import(xs_wasm_machine* machine, const char* specifier, size_t length);`
    pub const IMPORT: Export<(u32, u32, u32), i32> = Export::new("xs_wasm_import");
    /// `void xs_wasm_set_meter(xs_wasm_machine* machine, uint32_t limit, uint32_t interval);`
    pub const SET_METER: Export<(u32, u32, u32), ()> = Export::new("xs_wasm_set_meter");
    /// `uint32_t xs_wasm_meter(xs_wasm_machine* machine);`
    pub const METER: Export<u32, u32> = Export::new("xs_wasm_meter");
    /// `int32_t xs_wasm_machine_status(xs_wasm_machine* machine);`
    pub const MACHINE_STATUS: Export<u32, i32> = Export::new("xs_wasm_machine_status");
    /// `int32_t xs_wasm_heap_statistics(xs_wasm_machine* machine, int32_t collect);`
    pub const HEAP_STATISTICS: Export<(u32, i32), i32> = Export::new("xs_wasm_heap_statistics");
    /// `const uint8_t* xs_wasm_result(xs_wasm_machine* machine);`
    pub const RESULT: Export<u32, u32> = Export::new("xs_wasm_result");
    /// `uint32_t xs_wasm_result_length(xs_wasm_machine* machine);`
    pub const RESULT_LENGTH: Export<u32, u32> = Export::new("xs_wasm_result_length");
    /// `int32_t xs_wasm_snapshot(xs_wasm_machine* machine);`
    pub const SNAPSHOT: Export<u32, i32> = Export::new("xs_wasm_snapshot");
    /// `xs_wasm_machine* xs_wasm_restore(const uint8_t* bytes, size_t length, const xs_wasm_creation* creation);`
    pub const RESTORE: Export<(u32, u32, u32), u32> = Export::new("xs_wasm_restore");
    /// `const char* xs_wasm_last_error(void);`
    pub const LAST_ERROR: Export<(), u32> = Export::new("xs_wasm_last_error");
    /// `void xs_wasm_preinit(void);`
    pub const PREINIT: Export<(), ()> = Export::new("xs_wasm_preinit");
    /// `void xs_wasm_keep(xs_wasm_machine* machine);`
    pub const KEEP: Export<u32, ()> = Export::new("xs_wasm_keep");
    /// `xs_wasm_machine* xs_wasm_take(uint32_t memory_limit);`
    pub const TAKE: Export<u32, u32> = Export::new("xs_wasm_take");
    /// `int32_t xs_wasm_lockdown(xs_wasm_machine* machine);`
    pub const LOCKDOWN: Export<u32, i32> = Export::new("xs_wasm_lockdown");
    /// `int32_t xs_wasm_eval_async(xs_wasm_machine* machine, const char* source, size_t length);`
    pub const EVAL_ASYNC: Export<(u32, u32, u32), i32> = Export::new("xs_wasm_eval_async");
    /// `int32_t xs_wasm_awaited(xs_wasm_machine* machine);`
    pub const AWAITED: Export<u32, i32> = Export::new("xs_wasm_awaited");
    /// `int32_t xs_wasm_send_value(xs_wasm_machine* machine, const uint8_t* value, size_t length);`
    pub const SEND_VALUE: Export<(u32, u32, u32), i32> = Export::new("xs_wasm_send_value");
    /// `int32_t xs_wasm_settle(xs_wasm_machine* machine, uint32_t call, int32_t ok, const uint8_t* payload, size_t length);`
    pub const SETTLE: Export<(u32, u32, i32, u32, u32), i32> = Export::new("xs_wasm_settle");
    /// `double xs_wasm_next_timer(xs_wasm_machine* machine);`
    pub const NEXT_TIMER: Export<u32, f64> = Export::new("xs_wasm_next_timer");
    /// `int32_t xs_wasm_run_timers(xs_wasm_machine* machine, double now);`
    pub const RUN_TIMERS: Export<(u32, f64), i32> = Export::new("xs_wasm_run_timers");
    /// `double xs_wasm_clock(xs_wasm_machine* machine);`
    pub const CLOCK: Export<u32, f64> = Export::new("xs_wasm_clock");
    /// `uint32_t xs_wasm_pending_calls(xs_wasm_machine* machine);`
    pub const PENDING_CALLS: Export<u32, u32> = Export::new("xs_wasm_pending_calls");

    /// Every export's name, in the header's order.
    pub const ALL: [&str; 32] = ["xs_wasm_abi_version", "xs_wasm_xs_version", "xs_wasm_signature", "xs_wasm_lacks", "xs_wasm_alloc", "xs_wasm_free", "xs_wasm_create", "xs_wasm_delete", "xs_wasm_eval", "xs_wasm_send", "xs_wasm_import", "xs_wasm_set_meter", "xs_wasm_meter", "xs_wasm_machine_status", "xs_wasm_heap_statistics", "xs_wasm_result", "xs_wasm_result_length", "xs_wasm_snapshot", "xs_wasm_restore", "xs_wasm_last_error", "xs_wasm_preinit", "xs_wasm_keep", "xs_wasm_take", "xs_wasm_lockdown", "xs_wasm_eval_async", "xs_wasm_awaited", "xs_wasm_send_value", "xs_wasm_settle", "xs_wasm_next_timer", "xs_wasm_run_timers", "xs_wasm_clock", "xs_wasm_pending_calls"];
}
