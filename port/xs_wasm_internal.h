/*
 * Internal glue between xs_wasm.c (which includes xs.h) and
 * xs_wasm_platform.c (which includes xsAll.h). The two XS headers declare some
 * functions differently, so no unit includes both; machines and slots cross
 * this boundary as void pointers (xsMachine and txMachine are the same object,
 * xsSlot and txSlot are both 16 bytes on wasm32).
 */
#ifndef XS_WASM_INTERNAL_H
#define XS_WASM_INTERNAL_H

#include <stddef.h>

#if defined(__EMSCRIPTEN__) || !defined(__wasm__)
	/* emscripten resolves undefined functions against --js-library imports;
	   native builds (port/native/) link the host's C functions */
	#define XS_WASM_IMPORT(NAME)
#else
	#define XS_WASM_IMPORT(NAME) __attribute__((import_module("xs_wasm"), import_name(#NAME)))
#endif

/* xs_wasm_platform.c */
int xs_wasm_abort_status(void* machine);
unsigned int xs_wasm_engine_version(void);
/* XS 17 meter index: 64-bit, XS_CODE_METERING (1 << 16) per bytecode */
unsigned long long xs_wasm_meter_index(void* machine);
void xs_wasm_run_jobs(void* machine);
void xs_wasm_eval_slot(void* machine, void* source, void* result);
void xs_wasm_set_machine_host(void* machine, void* host);
void* xs_wasm_get_machine_host(void* machine);
void xs_wasm_set_memory_limit(void* machine, size_t limit);
/* bytes the memory limit leaves beyond what XS holds now (SIZE_MAX: no limit) */
size_t xs_wasm_memory_left(void* machine);
/* XS's heap counters (xs_wasm_heap_statistics); sizes in bytes, counts in
   slots (16 bytes each) or keys */
typedef struct {
	size_t memory_limit;     /* allocationLimit: bytes, 0 = none */
	size_t memory_used;      /* allocatedSpace: bytes of chunks and heap slots (the memory limit's count) */
	size_t chunk_bytes;      /* maximumChunksSize: chunk space XS holds */
	size_t chunk_bytes_used; /* currentChunksSize: in use (live after a collection) */
	size_t chunk_bytes_peak; /* peakChunksSize */
	size_t slots;            /* maximumHeapCount: slots XS holds */
	size_t slots_used;       /* currentHeapCount */
	size_t slots_peak;       /* peakHeapCount */
	size_t keys;             /* keyCount: property keys the key table holds */
	size_t keys_used;        /* keyIndex */
	size_t stack_slots;      /* JS stack size */
} xs_wasm_heap_counters;
void xs_wasm_heap_counts(void* machine, xs_wasm_heap_counters* out);
/* heap growth steps: set them to the creation's increments (before writing a
   snapshot, which records them) or back to the proportional steps */
void xs_wasm_base_growth(void* machine, int base);
int xs_wasm_promise_state(void* machine, void* value, void* result);
/* xs.h declares fxNewHostFunction as returning void while XS defines it as
   returning txSlot*: calling it through xs.h is a wasm signature mismatch. */
void xs_wasm_new_host_function(void* machine, void (*callback)(void*), int length, void* result);

/* The preludes (port/preludes/web.js and loop.js) compiled once, at build time: run the
   bytecode `code` (its `symbols`, as XS's parser made them) as
   xs_wasm_eval_slot runs a script, the completion in *result; no parsing.
   The buffers are copied (XS remaps the symbols in place). */
void xs_wasm_run_code(void* machine, const unsigned char* code, size_t code_size, const unsigned char* symbols, size_t symbols_size, void* result);
/* Compile `source` (a NUL-terminated CESU-8 text) as xs_wasm_eval_slot
   does: the malloc'ed bytecode and symbols, or 0 (a syntax error or no
   memory). For the generator of port/xs_wasm_preludes.h only. */
int xs_wasm_compile_text(void* machine, const char* source, unsigned char** code, size_t* code_size, unsigned char** symbols, size_t* symbols_size);

/* whether lockdown() ran in the machine (XS marks its program) */
int xs_wasm_is_locked_down(void* machine);
/* structuredClone's core (XS marshalling; the guest-visible wrapper is in
   xs_wasm.c's web prelude) */
void xs_wasm_structured_clone(void* machine);

/* import(specifier) from the host: the promise of the module's namespace */
void xs_wasm_import_slot(void* machine, void* specifier, void* result);

/* test262 host hooks (XS host callbacks; the machine is their argument) */
void xs_wasm_hook_eval_script(void* machine);
void xs_wasm_hook_gc(void* machine);
void xs_wasm_hook_detach_array_buffer(void* machine);

/* xs_wasm.c */
/* The host's module loader (host_resolve, host_load of xs_wasm.h), for
   fxFindModule and fxLoadModule. Text in and out is as XS keeps it
   (CESU-8, NUL-terminated); `referrer` NULL: imported from a script or by
   the host. Each returns a malloc'ed text, the resolved id or the module's
   source (*json set for a JSON module), or, with *failed set, the host's
   message; NULL when memory ran out. */
char* xs_wasm_module_resolve(void* machine, const char* specifier, const char* referrer, int* failed);
char* xs_wasm_module_load(void* machine, const char* id, int* json, int* failed);
size_t xs_wasm_pending_memory_limit(void);
void xs_wasm_report(void* machine, int level, const char* text, void* value);

#endif /* XS_WASM_INTERNAL_H */
