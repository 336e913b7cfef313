/*
 * xs_wasm.h: the host API that every xs-wasm artifact exports.
 *
 * This header is self-contained: it includes neither xs.h nor xsAll.h, so
 * hosts (the Rust crate, the JS package, C embedders) see only these types.
 * All sizes and lengths are in bytes; all strings are UTF-8 and NOT
 * NUL-terminated unless stated; all integers are little-endian wasm32 values.
 *
 * Calling convention for results: every call that produces data (eval, send,
 * snapshot) returns a status and leaves its payload in the machine's result
 * buffer, read with xs_wasm_result() / xs_wasm_result_length(). The buffer
 * stays valid until the next call on the same machine.
 *
 * Payloads by status:
 *   XS_WASM_OK          the completion value (eval) or reply (send) as JSON
 *                       text; an empty payload means `undefined`. For
 *                       snapshot writes: the snapshot bytes.
 *   XS_WASM_JS_ERROR    JSON object {"name":..., "message":..., "stack":...}
 *                       describing the thrown value (name is "" when the guest
 *                       threw something that is not an object).
 *   XS_WASM_RESULT_TOO_LARGE  {"size": N}: the result was N bytes of UTF-8
 *                       JSON, more than the memory limit leaves beside the
 *                       heap (the copy handed to the host counts against
 *                       it), or more than the memory can hold.
 *   any other status    a human-readable message (may be empty).
 *
 * Text in (sources, messages, replies) is `length` bytes of UTF-8, NUL bytes
 * included: a NUL byte is the character U+0000 (in a source outside a
 * string literal, a SyntaxError), never the end of the text. Text out may
 * contain NUL bytes likewise.
 *
 * Snapshot format (written by xs_wasm_snapshot, checked by xs_wasm_restore):
 *   offset size  field
 *   0      8     magic "XSWASM\r\n"
 *   8      4     low 16 bits: header format version (XS_WASM_SNAPSHOT_FORMAT);
 *                high 16 bits: the XS_WASM_LACKS_* features the writing
 *                build lacks (0 for a full build)
 *   12     4     port ABI version (XS_WASM_ABI_VERSION)
 *   16     4     XS version: major<<16 | minor<<8 | patch
 *   20     4     FNV-1a 32 of the snapshot signature string (callbacks list)
 *   24     4     payload length in bytes
 *   28     4     FNV-1a 32 of the payload
 *   32     ...   payload: the XS snapshot as written by fxWriteSnapshot
 * Anything else (garbage, truncated, another ABI or callbacks list, a build
 * that lacks other features) is refused with XS_WASM_SNAPSHOT_ERROR before XS
 * reads a byte of it.
 *
 * Hosts may authenticate snapshots (the port never sees this): with a key,
 * they append a 40-byte trailer after the payload,
 *   32+P   8     magic "XSWAMAC1"
 *   40+P   32    HMAC-SHA256(key, every byte before this field)
 * and remove it, after checking it, before xs_wasm_restore. Restore with a
 * key refuses a snapshot without the trailer or whose MAC differs. The
 * header and checksum above only detect accidents: a snapshot that is not
 * authenticated is untrusted input, bounded only by the host's deadline and
 * the memory limit.
 */
#ifndef XS_WASM_H
#define XS_WASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever an export's signature or meaning, an import, a status or
   the snapshot header changes. Optional exports that hosts look up by name
   before use (the pre-initialization pair below) do not bump it.
   3: XS_WASM_RESULT_TOO_LARGE; sources, messages and replies are read by
   length (a NUL byte is U+0000, no longer the end of the text).
   4: the Hardened JavaScript globals (harden, lockdown, petrify,
   mutabilities) and the web-standard globals (more callbacks in the
   snapshot signature), XS_WASM_CREATE_LOCKDOWN and
   XS_WASM_CREATE_NO_WEB_GLOBALS.
   5: the event loop (issue 25): timers, host functions (the host_call
   import), the value encoding, XS_WASM_PENDING and the exports
   xs_wasm_eval_async, xs_wasm_awaited, xs_wasm_send_value,
   xs_wasm_settle, xs_wasm_next_timer, xs_wasm_run_timers, xs_wasm_clock,
   xs_wasm_pending_calls (one more callback in the snapshot signature);
   the host_interrupt import, XS_WASM_INTERRUPTED and
   xs_wasm_heap_statistics; modules: xs_wasm_import, the host_resolve and
   host_load imports (the host's module loader; host_reply also copies
   their replies); the URL parser's callbacks (URL.parse, URL.serialize)
   in the snapshot signature, for the URL and URLSearchParams globals. */
#define XS_WASM_ABI_VERSION 5
#define XS_WASM_SNAPSHOT_FORMAT 1
#define XS_WASM_SNAPSHOT_HEADER_SIZE 32

/* Engine features a build can be made without (the -lite variants; the
   manifest's `lacks` list names them). A snapshot records the writer's set
   in the high half of its format field and is refused by a build whose set
   differs: a compiled \p{...} pattern or the behaviour of normalize() must
   not change under a machine that moves between builds. */
#define XS_WASM_LACKS_REGEXP_PROPERTY_ESCAPES 0x1 /* no mxRegExpUnicodePropertyEscapes */
#define XS_WASM_LACKS_STRING_NORMALIZE 0x2        /* no mxStringNormalize */

typedef enum {
	XS_WASM_OK = 0,
	XS_WASM_JS_ERROR = 1,        /* the guest threw; payload describes it */
	XS_WASM_METER_LIMIT = 2,     /* meter limit reached; machine is dead */
	XS_WASM_OUT_OF_MEMORY = 3,   /* memory limit reached; machine is dead */
	XS_WASM_STACK_OVERFLOW = 4,  /* unrecoverable stack overflow; machine is dead */
	XS_WASM_SNAPSHOT_ERROR = 5,  /* bad snapshot bytes, or snapshot write failed */
	XS_WASM_DEAD = 6,            /* the machine was stopped by an earlier call */
	XS_WASM_BAD_ARGUMENT = 7,    /* NULL machine, invalid UTF-8 length, etc. */
	XS_WASM_ABORTED = 8,         /* any other fatal XS abort; machine is dead */
	XS_WASM_RESULT_TOO_LARGE = 9, /* the call completed, but its result (JSON)
	                                did not fit in the memory limit next to
	                                the heap (or in memory): the payload is
	                                {"size": <bytes of the UTF-8 result>};
	                                the machine stays usable */
	XS_WASM_PENDING = 10,        /* xs_wasm_eval_async, xs_wasm_send_value,
	                                xs_wasm_awaited: the completion is a
	                                promise still pending (it is now the
	                                machine's awaited promise); run the loop
	                                and ask xs_wasm_awaited; empty payload */
	XS_WASM_INTERRUPTED = 11     /* host_interrupt asked to stop the call (a deadline, an interrupt); machine is dead */
} xs_wasm_status;

/* Creation parameters, mirroring XS's xsCreation, plus a memory budget.
   Counts are in slots (16 bytes each on wasm32), sizes in bytes.
   A zero field takes the default shown. */
typedef struct {
	int32_t initial_chunk_size;      /* default 256 KiB */
	int32_t incremental_chunk_size;  /* default 256 KiB */
	int32_t initial_heap_count;      /* default 16384 slots */
	int32_t incremental_heap_count;  /* default 8192 slots */
	int32_t stack_count;             /* default 131072 slots (JS stack, 2 MiB) */
	int32_t initial_key_count;       /* default 2048 property keys */
	int32_t incremental_key_count;   /* default 1024 */
	int32_t name_modulo;             /* default 1993 */
	int32_t symbol_modulo;           /* default 127 */
	int32_t parser_buffer_size;      /* default 1 MiB */
	int32_t parser_table_modulo;     /* default 1993 */
	uint32_t memory_limit;           /* bytes of XS chunks + heap slots (the JS stack of stack_count slots is not counted); 0 = no limit */
	uint32_t flags;                  /* XS_WASM_CREATE_* bits; 0 = none */
} xs_wasm_creation;

/* flags: define test262's host hooks in the new machine: the global `$262`
   ({global, evalScript(source), gc(), detachArrayBuffer(buffer)}) and the
   global `print(...)` (console.log); xs_wasm_eval then reports no
   completion value (test262 ignores it, and a script whose last expression
   is a rejected promise, e.g. `import('./missing.js')`, must not fail).
   For conformance testing; off by default. See https://github.com/tc39/test262/blob/main/INTERPRETING.md */
#define XS_WASM_CREATE_TEST262_HOST 1
/* flags: start locked down: the new machine calls lockdown() once its
   globals are defined (the intrinsics are frozen and hardened; the global
   object itself, console and sendMessage stay as they are, as after a
   guest's own lockdown()). A snapshot of a locked machine restores locked:
   the state is in the heap, not in the flag. */
#define XS_WASM_CREATE_LOCKDOWN 2
/* flags: leave out the web-standard globals (a bare machine: the language,
   console, sendMessage and the Hardened JavaScript globals only). Without
   this flag a new machine also has TextEncoder, TextDecoder (Moddable's
   modules/data/text: UTF-8 only; fatal, ignoreBOM, stream), atob, btoa,
   structuredClone (XS's marshalling), queueMicrotask and performance.now()
   (milliseconds on the machine's clock, Date.now(), since
   performance.timeOrigin, the first time the guest asked performance for
   the time: always 0 unless the host gives it the real clock). */
#define XS_WASM_CREATE_NO_WEB_GLOBALS 4

/* What host_load says a module is (its `kind` out-parameter). */
#define XS_WASM_MODULE_JS 0   /* JavaScript module code */
#define XS_WASM_MODULE_JSON 1 /* a JSON module: the text is JSON, the default export its value */

typedef struct xs_wasm_machine xs_wasm_machine;

/* Versions and identity. */
uint32_t xs_wasm_abi_version(void);
/* XS version as major<<16 | minor<<8 | patch. */
uint32_t xs_wasm_xs_version(void);
/* NUL-terminated snapshot signature: changes whenever the callbacks list does. */
const char* xs_wasm_signature(void);
/* The XS_WASM_LACKS_* features this build is made without (0: a full
   build). Optional: hosts look it up by name (builds before it are full). */
uint32_t xs_wasm_lacks(void);

/* Buffers the host fills before a call (source text, messages, snapshots). */
void* xs_wasm_alloc(size_t size);
void xs_wasm_free(void* pointer);

/* Create a machine with the given parameters (NULL for defaults). Returns
   NULL when memory is exhausted. The new machine has the globals
   sendMessage(msg), console.{log,info,warn,error,debug}, and Hardened
   JavaScript's lockdown(), harden(o), petrify(o), mutabilities(o) (all
   non-enumerable), and the web-standard globals unless
   XS_WASM_CREATE_NO_WEB_GLOBALS. */
xs_wasm_machine* xs_wasm_create(const xs_wasm_creation* creation);
/* Free a machine and everything it owns. NULL is ignored. */
void xs_wasm_delete(xs_wasm_machine* machine);

/* Evaluate `length` bytes of UTF-8 script source as a sloppy-mode global
   script (like a classic <script>: top-level let/const/class bindings
   persist between calls), then drain the promise job queue. The completion
   value is the payload. */
int32_t xs_wasm_eval(xs_wasm_machine* machine, const char* source, size_t length);
/* Parse `length` bytes of JSON, call the guest's globalThis.receiveMessage
   with it, drain the job queue; the reply is the JSON of its return value
   (if that is a promise settled by then, of its fulfilled value or its
   rejection as XS_WASM_JS_ERROR). */
int32_t xs_wasm_send(xs_wasm_machine* machine, const char* json, size_t length);

/* Import the module `length` bytes of UTF-8 `specifier` names, as a
   script's import(specifier) does (host_resolve gets no referrer), drain
   the job queue (so top-level await settles), and leave the JSON of the
   module's namespace (its exports, `default` included) as the payload:
   XS_WASM_JS_ERROR when the module graph fails to load, link or evaluate
   (the host loader's refusals are TypeErrors naming the module), or when
   its evaluation has not finished once the queue is empty (a top-level
   await on a promise nothing settles). With XS_WASM_CREATE_TEST262_HOST the
   payload is empty. A module is evaluated once per machine: importing it
   again gives the same namespace (or the same error). Modules loaded stay
   in the machine's heap, and so in its snapshots. */
int32_t xs_wasm_import(xs_wasm_machine* machine, const char* specifier, size_t length);

/* Metering, in XS meter ticks: one per bytecode executed, plus what XS 17
   charges for allocations, regexp steps, string and BigInt work and
   built-in loops (XS counts in 1/65,536 of a bytecode, XS_CODE_METERING in
   xsCommon.h; the port divides). The limit applies to each eval/send call separately;
   0 means unlimited. `interval` is how often (in ticks) XS checks the limit;
   smaller is more precise and slower. Defaults: limit 0, interval 10000. */
void xs_wasm_set_meter(xs_wasm_machine* machine, uint32_t limit, uint32_t interval);
/* Ticks used by the last eval/send call. */
uint32_t xs_wasm_meter(xs_wasm_machine* machine);

/* Status left by the call that stopped the machine, or XS_WASM_OK. */
int32_t xs_wasm_machine_status(xs_wasm_machine* machine);

/* Heap statistics: XS's own counters as a JSON object in the result buffer,
   {"memoryLimit", "memoryUsed", "chunkBytes", "chunkBytesUsed",
   "chunkBytesPeak", "slots", "slotsUsed", "slotsPeak", "keys", "keysUsed",
   "stackSlots"}, all non-negative integers: memoryLimit and memoryUsed in
   bytes (what the memory limit counts: chunks and heap slots;
   limit 0 = none), chunkBytes* in bytes of XS's chunk space (held, in use,
   highest use), slots* in slots of 16 bytes (held, in use, highest use),
   keys* in property keys (the key table's room and keys defined),
   stackSlots the JS stack in slots. "In use" counts garbage not collected
   yet; with `collect` nonzero, a full collection runs first (as $262.gc()),
   so they count live data. XS_WASM_OK; XS_WASM_DEAD, XS_WASM_BAD_ARGUMENT
   (busy or NULL) as the other calls; XS_WASM_RESULT_TOO_LARGE when no
   memory is left for the payload. */
int32_t xs_wasm_heap_statistics(xs_wasm_machine* machine, int32_t collect);

/* Result buffer of the last call (see top of file). */
const uint8_t* xs_wasm_result(xs_wasm_machine* machine);
uint32_t xs_wasm_result_length(xs_wasm_machine* machine);

/* Write a snapshot of the machine into its result buffer. The machine must be
   idle (no call in progress). Collects garbage first. */
int32_t xs_wasm_snapshot(xs_wasm_machine* machine);
/* Read a snapshot (header + payload, as written above) into a new machine.
   `creation` may be NULL; only memory_limit is taken from it (the heap sizes
   come from the snapshot). On failure returns NULL and the reason is available
   from xs_wasm_last_error(). */
xs_wasm_machine* xs_wasm_restore(const uint8_t* bytes, size_t length, const xs_wasm_creation* creation);
/* NUL-terminated reason for the last failed xs_wasm_create/xs_wasm_restore. */
const char* xs_wasm_last_error(void);

/* Pre-initialized machines (optional exports; hosts look them up by name).
   A build step (wasmtime-wizer) instantiates the module, calls
   xs_wasm_preinit() and saves the instance's memory and globals as a new
   module, so every instance of that module starts with a machine already
   created: no XS start-up at instantiation.
   xs_wasm_keep(machine) marks `machine` as the instance's pre-initialized
   machine (a host that ran setup code in it before the snapshot); NULL
   forgets it without deleting it. xs_wasm_preinit() creates a machine with
   the default creation (no memory limit, no flags) and keeps it, unless one
   is kept already.
   xs_wasm_take(memory_limit) hands the kept machine out once, with
   `memory_limit` (bytes of XS chunks + heap slots, 0 = none) applied from then on;
   NULL when there is none (a plain module, or taken already), or when its
   heap does not fit in `memory_limit` (it stays kept: create a machine
   within the limit instead, as xs_wasm_create and xs_wasm_restore must fit). */
void xs_wasm_preinit(void);
void xs_wasm_keep(xs_wasm_machine* machine);
xs_wasm_machine* xs_wasm_take(uint32_t memory_limit);
/* Lock a machine down as XS_WASM_CREATE_LOCKDOWN does at creation (the same
   call, so the same heap and the same snapshot bytes): for a machine taken
   from a pre-initialized module. XS_WASM_OK once the machine is locked down
   (a machine locked down already is left as it is); XS_WASM_JS_ERROR when
   lockdown() threw (e.g. setup code replaced it), with the error as
   payload; XS_WASM_DEAD, XS_WASM_BAD_ARGUMENT (busy or NULL) as the other
   calls; a fatal abort (out of memory) stops the machine with its status. */
int32_t xs_wasm_lockdown(xs_wasm_machine* machine);

/*
 * The event loop (ABI 5). Each machine keeps, in its heap (so snapshots
 * keep them), its timers, its pending host calls and the promise the host
 * awaits; the host drives them:
 *   loop: while the awaited promise is pending (or, to run until idle,
 *   while anything is left): settle the host calls that finished
 *   (xs_wasm_settle), else fire the timers that are due
 *   (xs_wasm_run_timers), else wait for a host call or the next timer.
 * On the virtual clock (the default) the host's clock (host_now) is a
 * number it advances to each timer's due time, in order: the same guest
 * gives the same meter count and snapshot bytes every run; a host call
 * takes no virtual time. On the real clock it is the wall clock.
 *
 * Guest globals: setTimeout, setInterval, clearTimeout, clearInterval
 * (unless XS_WASM_CREATE_NO_WEB_GLOBALS; at most 10,000 timers at once, a
 * RangeError beyond; delays are whole milliseconds, an interval at least
 * 1), and `host`: host.NAME(...args) calls the host function NAME
 * (host_call): its value now, or a promise the host settles later.
 *
 * Value encoding (host call arguments and results, xs_wasm_send_value, the
 * results of xs_wasm_eval_async and xs_wasm_awaited): one tagged value,
 * integers little-endian, lengths u32 bytes:
 *   0 undefined   1 null   2 false   3 true
 *   4 number      f64
 *   5 string      u32 length, UTF-8 (lone surrogates become U+FFFD)
 *   6 bigint      u32 length, its decimal text (ASCII, "-" for negatives)
 *   7 array       u32 count, count values (holes are undefined)
 *   8 object      u32 count, count (u32 length, UTF-8 key, value): own
 *                 enumerable string keys, as JSON takes them
 *   9 ArrayBuffer u32 length, bytes
 *   10 view       u8 kind, u32 length, bytes (the view's bytes only); kind:
 *                 0 Int8Array 1 Uint8Array 2 Uint8ClampedArray 3 Int16Array
 *                 4 Uint16Array 5 Int32Array 6 Uint32Array 7 Float32Array
 *                 8 Float64Array 9 BigInt64Array 10 BigUint64Array 11 DataView
 *   11 Map        u32 count, count (key, value)
 *   12 Set        u32 count, count values
 *   13 Date       f64 time value
 * Nesting deeper than 128 levels (or a cycle) is refused; functions,
 * symbols, promises and views of shared memory cannot be encoded in host
 * call arguments (the guest gets a TypeError); in results (of
 * xs_wasm_eval_async, xs_wasm_awaited, xs_wasm_send_value) functions and
 * symbols are undefined and a promise a plain object, as JSON takes them.
 * Decoders refuse bytes that are not exactly one value.
 */
/* xs_wasm_eval as a promise: the completion value, encoded (above); a
   completion that is a pending promise becomes the awaited promise and the
   status is XS_WASM_PENDING. */
int32_t xs_wasm_eval_async(xs_wasm_machine* machine, const char* source, size_t length);
/* The awaited promise: XS_WASM_PENDING, XS_WASM_OK with its value
   (encoded), XS_WASM_JS_ERROR with its rejection; XS_WASM_BAD_ARGUMENT when
   nothing is awaited. */
int32_t xs_wasm_awaited(xs_wasm_machine* machine);
/* xs_wasm_send with an encoded value: receiveMessage(value); its return
   value encoded, a pending promise awaited as in xs_wasm_eval_async. */
int32_t xs_wasm_send_value(xs_wasm_machine* machine, const uint8_t* value, size_t length);
/* Settle host call `call` (host_call returned -1 for it): ok 1, its
   promise is fulfilled with the encoded value of `length` bytes; ok 0,
   rejected with an Error whose message is the UTF-8 text. Then drains the
   job queue (guest code runs: metered). An unknown call is ignored. */
int32_t xs_wasm_settle(xs_wasm_machine* machine, uint32_t call, int32_t ok, const uint8_t* payload, size_t length);
/* Due time (ms on the host's clock) of the earliest timer, or -1 when none. */
double xs_wasm_next_timer(xs_wasm_machine* machine);
/* Fire, in order of due time, the timers due at `now` (ms on the host's
   clock) that existed when called, draining the job queue after each.
   XS_WASM_JS_ERROR when a callback threw (the later ones stay queued). */
int32_t xs_wasm_run_timers(xs_wasm_machine* machine, double now);
/* The latest `now` given to xs_wasm_run_timers (0 at first): on restore,
   the host's virtual clock starts there. */
double xs_wasm_clock(xs_wasm_machine* machine);
/* Host calls awaiting xs_wasm_settle. xs_wasm_snapshot refuses a machine
   that has any (XS_WASM_SNAPSHOT_ERROR): the host's side of a call (a
   future, a promise) cannot be written into the snapshot. */
uint32_t xs_wasm_pending_calls(xs_wasm_machine* machine);

/*
 * Imports the host must provide (module "xs_wasm" in WASI builds; JS library
 * functions on the emscripten Module in emscripten builds):
 *
 * int32_t host_send(xs_wasm_machine* m, const char* json, uint32_t length)
 *   The guest called sendMessage(msg); `json` is JSON.stringify(msg).
 *   Returns the byte length of the reply JSON (0 for `undefined`), or a
 *   negative value when the host handler failed (the reply then holds an
 *   error message, length -(return value) - 1; the guest sees an Error).
 * void host_reply(xs_wasm_machine* m, char* buffer)
 *   Copies the reply of the last host_send, host_resolve or host_load into
 *   `buffer` (sized as announced).
 * void host_log(xs_wasm_machine* m, int32_t level, const char* text, uint32_t length)
 *   console output; level 0 debug, 1 log, 2 info, 3 warn, 4 error.
 * int32_t host_resolve(xs_wasm_machine* m, const char* specifier, uint32_t specifier_length, const char* referrer, uint32_t referrer_length)
 *   The guest imports `specifier` (static import, import() or
 *   xs_wasm_import) from the module whose id is `referrer` (NULL: from a
 *   script or the host). Returns the byte length of the resolved module id
 *   (the module's key: the same id is the same module, loaded once), or a
 *   negative value when the host refuses (the reply holds the message, length
 *   -(return value) - 1; the import fails with a TypeError). The reply is
 *   read with host_reply. A host without a module loader refuses every
 *   specifier.
 * int32_t host_load(xs_wasm_machine* m, const char* id, uint32_t length, int32_t* kind)
 *   The source of the module `id` (as host_resolve gave it): returns its
 *   byte length (read with host_reply), or a negative value for an error
 *   message as host_resolve. The host writes XS_WASM_MODULE_JS or
 *   XS_WASM_MODULE_JSON to *kind (an import of a JSON module needs
 *   `with { type: "json" }`, and such an import of anything else fails).
 *   The module's import.meta.uri is its id.
 * double host_now(void)
 *   Milliseconds since the epoch for Date.now(); hosts return their
 *   virtual clock (0 until a timer fires) unless the embedder opted in to
 *   the real clock (determinism).
 * int32_t host_interrupt(xs_wasm_machine* m)
 *   Asked during eval/send once per meter interval (xs_wasm_set_meter):
 *   nonzero stops the call with XS_WASM_INTERRUPTED and the machine for
 *   good, as the meter limit does. How a host in the same thread as the
 *   machine (a JS page, Node) enforces a wall-clock deadline or an
 *   interrupt from another thread; hosts with another way to stop guest
 *   code (wasmtime's epochs) may return 0. Code that does not tick the
 *   meter (the collector, snapshot reading) is not stopped by it.
 * int32_t host_call(xs_wasm_machine* m, uint32_t call, const char* name, uint32_t name_length, const uint8_t* args, uint32_t args_length)
 *   The guest called host.NAME(...args): `args` is the encoded array of
 *   the arguments, `call` a new id. Returns n >= 0: the value now (n bytes,
 *   encoded, read with host_reply); -1: pending (the host settles `call`
 *   later with xs_wasm_settle); n <= -2: the call failed (an Error with a
 *   message of -n - 2 bytes of UTF-8, read with host_reply, is thrown in
 *   the guest).
 */

#ifdef __cplusplus
}
#endif

#endif /* XS_WASM_H */
