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
   XS_WASM_CREATE_NO_WEB_GLOBALS. */
#define XS_WASM_ABI_VERSION 4
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
	XS_WASM_RESULT_TOO_LARGE = 9 /* the call completed, but its result (JSON)
	                                did not fit in the memory limit next to
	                                the heap (or in memory): the payload is
	                                {"size": <bytes of the UTF-8 result>};
	                                the machine stays usable */
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
 * Imports the host must provide (module "xs_wasm" in WASI builds; JS library
 * functions on the emscripten Module in emscripten builds):
 *
 * int32_t host_send(xs_wasm_machine* m, const char* json, uint32_t length)
 *   The guest called sendMessage(msg); `json` is JSON.stringify(msg).
 *   Returns the byte length of the reply JSON (0 for `undefined`), or a
 *   negative value when the host handler failed (the reply then holds an
 *   error message, length -(return value) - 1; the guest sees an Error).
 * void host_reply(xs_wasm_machine* m, char* buffer)
 *   Copies the reply of the last host_send into `buffer` (sized as announced).
 * void host_log(xs_wasm_machine* m, int32_t level, const char* text, uint32_t length)
 *   console output; level 0 debug, 1 log, 2 info, 3 warn, 4 error.
 * double host_now(void)
 *   Milliseconds since the epoch for Date.now(); hosts return 0 unless the
 *   embedder opted in to a real clock (determinism).
 */

#ifdef __cplusplus
}
#endif

#endif /* XS_WASM_H */
