/*
 * xs-wasm platform header for Moddable XS on WebAssembly.
 *
 * Selected with -DINCLUDE_XSPLATFORM -DXSPLATFORM="xs_wasm_platform.h" (see
 * configs/variants.toml). It is included by every XS source file through
 * xsPlatform.h, so it must stay plain C and must not include xs.h or xsAll.h.
 *
 * Choices and why (each one avoids a known pitfall of porting XS to wasm):
 * - little endian, 32-bit pointers, no unaligned access: wasm32 traps on
 *   misaligned access in emscripten's SAFE_HEAP builds and is slow elsewhere,
 *   so XS reads multi-byte bytecode operands byte by byte (mxUnalignedAccess 0).
 * - mx32bitID is NOT defined: txSlot must be 16 bytes on wasm32 so that the
 *   public xsSlot (4 pointers) and the internal txSlot agree.
 * - no POSIX threads: a machine lives on one thread; GCC atomics compile to
 *   plain loads and stores on single-threaded wasm.
 * - our own C-stack limit (mxUseDefaultCStackLimit 0), derived from the linker's
 *   stack bounds, so deep recursion becomes a RangeError instead of a trap.
 * - chunk and slot allocation on malloc with a per-machine byte budget.
 * - no console output from XS itself (mxNoConsole); guest output goes through
 *   the host's log import.
 */
#ifndef __XS_WASM_PLATFORM__
#define __XS_WASM_PLATFORM__

#undef mxWasm
#define mxWasm 1
#undef mxLittleEndian
#define mxLittleEndian 1
#undef mxBigEndian
#define mxBigEndian 0

#define mxExport extern
#define mxImport extern
#define XS_FUNCTION_NORETURN __attribute__((noreturn))

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <arpa/inet.h> /* htonl/ntohl for snapshots */

#ifndef mxUnalignedAccess
	#define mxUnalignedAccess 0
#endif

/* Atomics: single-threaded, so GCC builtins lower to plain memory operations.
   mxUsePOSIXThreads is deliberately left undefined (xsAtomics.c tests it with #ifdef). */
#define mxUseGCCAtomics 1

#define mxUseDefaultCStackLimit 0
#define mxUseDefaultBuildKeys 1
/* modules: fxFindModule and fxLoadModule ask the host (xs_wasm_platform.c) */
#define mxUseDefaultFindModule 0
#define mxUseDefaultLoadModule 0
#define mxUseDefaultParseScript 1
#define mxUseDefaultSharedChunks 1
#define mxUseDefaultDebug 1

/* Per-machine platform state; see port/xs_wasm_platform.c.
   abortStatus: the XS_*_EXIT code that stopped the machine, 0 while it runs.
   promiseJobs: set by fxQueuePromiseJobs, cleared when the queue is drained.
   allocationLimit/allocatedSpace: byte budget for XS chunks and heap slots (0 = none);
   the JS stack is not charged to it (see fxAllocateSlots).
   meterLimit: meter ticks allowed for the current host call (0 = unlimited).
   host: the xs_wasm_machine that owns this XS machine. */
#define mxMachinePlatform \
	int abortStatus; \
	int promiseJobs; \
	size_t allocationLimit; \
	size_t allocatedSpace; \
	int32_t baseChunksSize; \
	int32_t baseHeapCount; \
	unsigned int meterLimit; \
	void* host; \
	void* waiterCondition; \
	void* waiterData; \
	void* waiterLink;

/* Time comes from the host (deterministic 0 unless the host opts in). */
typedef struct timeval c_timeval;
#define c_timezone timezone
extern int xs_wasm_gettimeofday(struct timeval* tv, void* tz);
#define c_gettimeofday(TV, TZ) xs_wasm_gettimeofday(TV, TZ)

/* String length on wasm: XS measures its NUL-terminated strings with
   c_strlen all the time (every concatenation measures both operands). The
   libc strlen of the WASI builds (zig's compiler_rt) reads one byte per
   loop iteration: building a 100 kB string by appending two characters at
   a time spent 90% of its 1.95 s there (wasmtime, perf). The port's reads
   16 bytes per step with SIMD (WASI builds) or 8 without (emscripten
   builds, which stay on MVP features). The native runner keeps its libc's. */
#if defined(__wasm__)
extern size_t xs_wasm_strlen(const char* s);
#define c_strlen xs_wasm_strlen
#endif

#endif /* __XS_WASM_PLATFORM__ */
