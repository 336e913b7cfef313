// The port ABI (port/xs_wasm.h), generated from that header by
// `cargo xtask codegen`: do not edit. `cargo xtask test` fails when this
// file is not what the header gives.

/** The port ABI version this package speaks (XS_WASM_ABI_VERSION). */
export const ABI_VERSION = 5;

/** XS_WASM_SNAPSHOT_FORMAT. */
export const SNAPSHOT_FORMAT = 1;

/** XS_WASM_SNAPSHOT_HEADER_SIZE, bytes. */
export const SNAPSHOT_HEADER_SIZE = 32;

/** xs_wasm_status. */
export const Status = Object.freeze({
  OK: 0,
  /** the guest threw; payload describes it */
  JS_ERROR: 1,
  /** meter limit reached; machine is dead */
  METER_LIMIT: 2,
  /** memory limit reached; machine is dead */
  OUT_OF_MEMORY: 3,
  /** unrecoverable stack overflow; machine is dead */
  STACK_OVERFLOW: 4,
  /** bad snapshot bytes, or snapshot write failed */
  SNAPSHOT_ERROR: 5,
  /** the machine was stopped by an earlier call */
  DEAD: 6,
  /** NULL machine, invalid UTF-8 length, etc. */
  BAD_ARGUMENT: 7,
  /** any other fatal XS abort; machine is dead */
  ABORTED: 8,
  /** the call completed, but its result (JSON) did not fit in the memory limit next to the heap (or in memory): the payload is {"size": <bytes of the UTF-8 result>}; the machine stays usable */
  RESULT_TOO_LARGE: 9,
  /** xs_wasm_eval_async, xs_wasm_send_value, xs_wasm_awaited: the completion is a promise still pending (it is now the machine's awaited promise); run the loop and ask xs_wasm_awaited; empty payload */
  PENDING: 10,
  /** host_interrupt asked to stop the call (a deadline, an interrupt); machine is dead */
  INTERRUPTED: 11,
});

/** xs_wasm_creation.flags bits (XS_WASM_CREATE_*). */
export const CreateFlags = Object.freeze({
  TEST262_HOST: 1,
  LOCKDOWN: 2,
  NO_WEB_GLOBALS: 4,
});

/** What host_load says a module is (XS_WASM_MODULE_*). */
export const ModuleKind = Object.freeze({
  /** JavaScript module code */
  JS: 0,
  /** a JSON module: the text is JSON, the default export its value */
  JSON: 1,
});

/** Each XS_WASM_LACKS_* bit (xs_wasm_lacks) and its name in the manifest's `lacks`. */
export const LACKS = Object.freeze([
  Object.freeze({ bit: 1, name: 'regexp-property-escapes' }),
  Object.freeze({ bit: 2, name: 'string-normalize' }),
]);

/** Bytes of xs_wasm_creation. */
export const CREATION_SIZE = 52;

/**
 * xs_wasm_creation's fields set from the `creation` option, in order: the
 * option's key, the byte offset, whether it is an int32 (else a uint32).
 * From the header: Creation parameters, mirroring XS's xsCreation, plus a memory budget. Counts are in slots (16 bytes each on wasm32), sizes in bytes. A zero field takes the default shown.
 */
export const CREATION_FIELDS = Object.freeze([
  /** default 256 KiB */
  Object.freeze({ key: 'initialChunkSize', offset: 0, signed: true }),
  /** default 256 KiB */
  Object.freeze({ key: 'incrementalChunkSize', offset: 4, signed: true }),
  /** default 16384 slots */
  Object.freeze({ key: 'initialHeapCount', offset: 8, signed: true }),
  /** default 8192 slots */
  Object.freeze({ key: 'incrementalHeapCount', offset: 12, signed: true }),
  /** default 131072 slots (JS stack, 2 MiB) */
  Object.freeze({ key: 'stackCount', offset: 16, signed: true }),
  /** default 2048 property keys */
  Object.freeze({ key: 'initialKeyCount', offset: 20, signed: true }),
  /** default 1024 */
  Object.freeze({ key: 'incrementalKeyCount', offset: 24, signed: true }),
  /** default 1993 */
  Object.freeze({ key: 'nameModulo', offset: 28, signed: true }),
  /** default 127 */
  Object.freeze({ key: 'symbolModulo', offset: 32, signed: true }),
  /** default 1 MiB */
  Object.freeze({ key: 'parserBufferSize', offset: 36, signed: true }),
  /** default 1993 */
  Object.freeze({ key: 'parserTableModulo', offset: 40, signed: true }),
]);

/** Byte offset of xs_wasm_creation.memory_limit (bytes of XS chunks + heap slots (the JS stack of stack_count slots is not counted); 0 = no limit). */
export const CREATION_MEMORY_LIMIT_OFFSET = 44;

/** Byte offset of xs_wasm_creation.flags (XS_WASM_CREATE_* bits; 0 = none). */
export const CREATION_FLAGS_OFFSET = 48;

/**
 * The functions port/xs_wasm.h declares, each an export of every artifact:
 * the key the package uses, and the C name (emscripten's Module has it as
 * `_` + name).
 */
export const EXPORTS = Object.freeze({
  /** uint32_t xs_wasm_abi_version(void); */
  abiVersion: 'xs_wasm_abi_version',
  /** uint32_t xs_wasm_xs_version(void); */
  xsVersion: 'xs_wasm_xs_version',
  /** const char* xs_wasm_signature(void); */
  signature: 'xs_wasm_signature',
  /** uint32_t xs_wasm_lacks(void); */
  lacks: 'xs_wasm_lacks',
  /** void* xs_wasm_alloc(size_t size); */
  alloc: 'xs_wasm_alloc',
  /** void xs_wasm_free(void* pointer); */
  free: 'xs_wasm_free',
  /** xs_wasm_machine* xs_wasm_create(const xs_wasm_creation* creation); */
  create: 'xs_wasm_create',
  /** void xs_wasm_delete(xs_wasm_machine* machine); */
  delete: 'xs_wasm_delete',
  /** int32_t xs_wasm_eval(xs_wasm_machine* machine, const char* source, size_t length); */
  eval: 'xs_wasm_eval',
  /** int32_t xs_wasm_send(xs_wasm_machine* machine, const char* json, size_t length); */
  send: 'xs_wasm_send',
  /** int32_t xs_wasm_import(xs_wasm_machine* machine, const char* specifier, size_t length); */
  import: 'xs_wasm_import',
  /** void xs_wasm_set_meter(xs_wasm_machine* machine, uint32_t limit, uint32_t interval); */
  setMeter: 'xs_wasm_set_meter',
  /** uint32_t xs_wasm_meter(xs_wasm_machine* machine); */
  meter: 'xs_wasm_meter',
  /** int32_t xs_wasm_machine_status(xs_wasm_machine* machine); */
  machineStatus: 'xs_wasm_machine_status',
  /** int32_t xs_wasm_heap_statistics(xs_wasm_machine* machine, int32_t collect); */
  heapStatistics: 'xs_wasm_heap_statistics',
  /** const uint8_t* xs_wasm_result(xs_wasm_machine* machine); */
  result: 'xs_wasm_result',
  /** uint32_t xs_wasm_result_length(xs_wasm_machine* machine); */
  resultLength: 'xs_wasm_result_length',
  /** int32_t xs_wasm_snapshot(xs_wasm_machine* machine); */
  snapshot: 'xs_wasm_snapshot',
  /** xs_wasm_machine* xs_wasm_restore(const uint8_t* bytes, size_t length, const xs_wasm_creation* creation); */
  restore: 'xs_wasm_restore',
  /** const char* xs_wasm_last_error(void); */
  lastError: 'xs_wasm_last_error',
  /** void xs_wasm_preinit(void); */
  preinit: 'xs_wasm_preinit',
  /** void xs_wasm_keep(xs_wasm_machine* machine); */
  keep: 'xs_wasm_keep',
  /** xs_wasm_machine* xs_wasm_take(uint32_t memory_limit); */
  take: 'xs_wasm_take',
  /** int32_t xs_wasm_lockdown(xs_wasm_machine* machine); */
  lockdown: 'xs_wasm_lockdown',
  /** int32_t xs_wasm_eval_async(xs_wasm_machine* machine, const char* source, size_t length); */
  evalAsync: 'xs_wasm_eval_async',
  /** int32_t xs_wasm_awaited(xs_wasm_machine* machine); */
  awaited: 'xs_wasm_awaited',
  /** int32_t xs_wasm_send_value(xs_wasm_machine* machine, const uint8_t* value, size_t length); */
  sendValue: 'xs_wasm_send_value',
  /** int32_t xs_wasm_settle(xs_wasm_machine* machine, uint32_t call, int32_t ok, const uint8_t* payload, size_t length); */
  settle: 'xs_wasm_settle',
  /** double xs_wasm_next_timer(xs_wasm_machine* machine); */
  nextTimer: 'xs_wasm_next_timer',
  /** int32_t xs_wasm_run_timers(xs_wasm_machine* machine, double now); */
  runTimers: 'xs_wasm_run_timers',
  /** double xs_wasm_clock(xs_wasm_machine* machine); */
  clock: 'xs_wasm_clock',
  /** uint32_t xs_wasm_pending_calls(xs_wasm_machine* machine); */
  pendingCalls: 'xs_wasm_pending_calls',
});
