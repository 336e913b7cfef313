/*
 * xs-wasm platform code: what XS asks of a platform (allocation, abort,
 * promise-job queue, C-stack limit, clock), plus the few internal helpers the
 * host API needs. This unit includes only xsAll.h (XS internals); the host API
 * in xs_wasm.c includes only xs.h. See xs_wasm_platform.h for the choices.
 */
#include "xsAll.h"
#include "xs_wasm_internal.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/stack.h>
#endif

/* ---------------------------------------------------------------- clock -- */

XS_WASM_IMPORT(host_now) extern double xs_wasm_host_now(void);

int xs_wasm_gettimeofday(struct timeval* tv, void* tz)
{
	double now = xs_wasm_host_now();
	if (!(now >= 0) || now > 8.64e15)
		now = 0;
	tv->tv_sec = (time_t)(now / 1000.0);
	tv->tv_usec = (suseconds_t)((now - (double)tv->tv_sec * 1000.0) * 1000.0);
	(void)tz;
	return 0;
}

/* ------------------------------------------------------------ C stack -- */

/* Bytes kept free below the limit for the RangeError to be built and thrown,
   and for the host API's own frames. */
#define XS_WASM_CSTACK_MARGIN (64 * 1024)
/* emscripten only: C-stack bytes XS may use (see fxCStackLimit) */
#define XS_WASM_EMSCRIPTEN_CSTACK (224 * 1024)

char* fxCStackLimit()
{
#ifdef __EMSCRIPTEN__
	/* emscripten's stack grows down from emscripten_stack_get_base() to
	   emscripten_stack_get_end(). JS engines run wasm on their own native
	   stack (984 KiB in V8, Node's and Chromium's default), which the module
	   cannot see; if it runs out first, the engine throws its own
	   RangeError through the module and the sandbox is lost. Recursion in
	   C is what uses both: measured with [n].map(f) recursion (each level
	   one XS activation) in Node 20, each level takes about 740 bytes of
	   shadow stack and, of V8's stack, 1.06 KiB (emcc-os, baseline code) to
	   2.3 KiB (emcc-o2, optimized code; V8 ran out after 434 levels). So
	   XS's own limit must come first: the C-stack budget is
	   XS_WASM_EMSCRIPTEN_CSTACK shadow bytes, which stops that recursion
	   with a catchable RangeError after about 300 levels, using at most
	   about 700 KiB of V8's stack and leaving the rest to the embedder. */
	char* end = (char*)emscripten_stack_get_end() + XS_WASM_CSTACK_MARGIN;
	char* budget = (char*)emscripten_stack_get_base() - XS_WASM_EMSCRIPTEN_CSTACK;
	return budget > end ? budget : end;
#elif defined(__wasm__)
	/* wasm-ld places the shadow stack between these two linker symbols. */
	extern char __stack_low;
	return &__stack_low + XS_WASM_CSTACK_MARGIN;
#else
	/* native builds (port/native/): the host knows its thread's stack */
	extern char* xs_wasm_native_cstack_limit;
	return xs_wasm_native_cstack_limit;
#endif
}

/* --------------------------------------------------------- allocation -- */

static int fxAdjustSpace(txMachine* the, size_t size)
{
	size_t previous = the->allocatedSpace;
	the->allocatedSpace += size;
	if (the->allocationLimit && ((the->allocatedSpace > the->allocationLimit) || (the->allocatedSpace < previous))) {
		the->allocatedSpace = previous;
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------- strlen -- */

#if defined(__wasm__)
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* Aligned loads past the terminating NUL stay inside the aligned block that
   holds it, so they never leave linear memory (its size is a multiple of
   64 KiB); the same technique as musl's word-at-a-time strlen. */
size_t xs_wasm_strlen(const char* s)
{
	const char* p = s;
#if defined(__wasm_simd128__)
	while ((uintptr_t)p & 15) {
		if (!*p)
			return (size_t)(p - s);
		p++;
	}
	for (;;) {
		int zeros = wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(p), wasm_i8x16_splat(0)));
		if (zeros)
			return (size_t)(p - s) + (size_t)__builtin_ctz((unsigned)zeros);
		p += 16;
	}
#else
	typedef uint64_t __attribute__((__may_alias__)) txWasmWord;
	const txWasmWord* w;
	while ((uintptr_t)p & 7) {
		if (!*p)
			return (size_t)(p - s);
		p++;
	}
	w = (const txWasmWord*)p;
	while (!((*w - 0x0101010101010101ULL) & ~*w & 0x8080808080808080ULL))
		w++;
	p = (const char*)w;
	while (*p)
		p++;
	return (size_t)(p - s);
#endif
}
#endif

/* ------------------------------------------------------ heap growth -- */

/* XS grows its heaps by fixed steps: the slot heap by minimumHeapCount
   slots (and only after two collections in a row leave fewer than that many
   slots free), the chunk heap by multiples of minimumChunksSize bytes (after
   a compacting collection could not make room). With fixed steps, a program
   whose live heap is large collects once per step: its collection work grows
   with the square of its heap (measured: lodash over 20,000 rows spends most
   of its 27 s natively in collections with 8Ki-slot steps).
   The port makes the steps proportional, as tracing collectors do: after
   each growth, the next step is half of what the heap then holds (never
   below the creation's incremental sizes), so a program collects
   O(log heap) times while its heap grows and each collection frees at least
   a third of the heap. Near the memory limit the step shrinks to what the
   budget still holds, so the limit is reached only when it must be.
   The chunk step also has a floor, XS_WASM_CHUNK_STEP_FLOOR (8 MiB, and
   at most 1/32 of the memory limit): strings are immutable and `s += t`
   copies s into a new chunk, so a loop that builds a long string allocates
   the square of its length; with a heap of twice the live size it
   collected every few appends (measured natively, mustache rendering 2,000
   rows: 809 collections, 60% of 0.56 s; with the floor 71 collections and
   0.20 s; handlebars 0.68 -> 0.28 s, markdown-it 0.20 -> 0.15 s; jobs that
   do not churn chunks are unchanged; peak RSS +0-8 MiB).
   The creation's increments are kept in baseHeapCount / baseChunksSize;
   snapshots record them, not the current steps (see xs_wasm_snapshot). */
#define XS_WASM_CHUNK_STEP_FLOOR ((size_t)8 * 1024 * 1024)
static size_t fxRemainingSpace(txMachine* the)
{
	if (!the->allocationLimit)
		return SIZE_MAX;
	return the->allocationLimit > the->allocatedSpace ? the->allocationLimit - the->allocatedSpace : 0;
}

size_t xs_wasm_memory_left(void* machine)
{
	return fxRemainingSpace((txMachine*)machine);
}

static void fxScaleGrowth(txMachine* the, size_t addedChunks, size_t addedSlots)
{
	size_t remaining = fxRemainingSpace(the) / 2;
	size_t chunks = ((size_t)the->maximumChunksSize + addedChunks) / 2;
	size_t slots = ((size_t)the->maximumHeapCount + addedSlots) / 2;
	if (!the->baseChunksSize)
		the->baseChunksSize = the->minimumChunksSize;
	if (!the->baseHeapCount)
		the->baseHeapCount = the->minimumHeapCount;
	if (chunks < XS_WASM_CHUNK_STEP_FLOOR) {
		size_t floor = XS_WASM_CHUNK_STEP_FLOOR;
		if (the->allocationLimit && floor > the->allocationLimit / 32)
			floor = the->allocationLimit / 32;
		if (chunks < floor)
			chunks = floor;
	}
	if (chunks > remaining)
		chunks = remaining;
	if (slots > remaining / sizeof(txSlot))
		slots = remaining / sizeof(txSlot);
	if (chunks > 0x10000000) chunks = 0x10000000;
	if (slots > 0x1000000) slots = 0x1000000;
	/* a zero increment means a fixed-size heap: keep it so */
	if (the->baseChunksSize)
		the->minimumChunksSize = (txSize)(chunks > (size_t)the->baseChunksSize ? chunks : (size_t)the->baseChunksSize);
	if (the->baseHeapCount)
		the->minimumHeapCount = (txSize)(slots > (size_t)the->baseHeapCount ? slots : (size_t)the->baseHeapCount);
}

void xs_wasm_base_growth(void* machine, int base)
{
	txMachine* the = machine;
	if (base) {
		if (the->baseChunksSize)
			the->minimumChunksSize = the->baseChunksSize;
		if (the->baseHeapCount)
			the->minimumHeapCount = the->baseHeapCount;
	}
	else
		fxScaleGrowth(the, 0, 0);
}

/* Chunks are allocated with a size header so that fxFreeChunks can return the
   budget. XS grows its chunk space by allocating new blocks; a NULL return
   makes XS call fxAbort(XS_NOT_ENOUGH_MEMORY_EXIT). */
typedef struct { size_t size; size_t pad; } txWasmBlockHeader;

void* fxAllocateChunks(txMachine* the, txSize size)
{
	txWasmBlockHeader* header;
	if (size < 0 || !fxAdjustSpace(the, (size_t)size))
		return C_NULL;
	header = c_malloc(sizeof(txWasmBlockHeader) + (size_t)size);
	if (!header) {
		the->allocatedSpace -= (size_t)size;
		return C_NULL;
	}
	header->size = (size_t)size;
	fxScaleGrowth(the, (size_t)size, 0);
	return header + 1;
}

void fxFreeChunks(txMachine* the, void* chunks)
{
	if (chunks) {
		txWasmBlockHeader* header = ((txWasmBlockHeader*)chunks) - 1;
		the->allocatedSpace -= header->size;
		c_free(header);
	}
}

/* The JS stack is the first block of slots fxAllocate asks for (before it,
   the->stackBottom is NULL), then come the heap's. The memory limit is a
   budget for the guest heap (chunks and heap slots: what a script can make
   grow); the stack is a fixed block of the creation's stack_count slots
   (default 131072, 2 MiB on wasm32), so it is not charged to the budget:
   charged, it did not fit a limit under about 2.5 MiB, and XS, which did
   not check (configs/patches/0015), put the stack at linear-memory address
   0, over emscripten's static data and shadow stack: restoring with a 1 MiB
   limit and then writing a snapshot trapped in fxWriteStack. Its bytes
   come out of the linear memory's headroom over the limit (16 MiB in both
   loaders); a stack that does not fit there fails like any allocation. */
txSlot* fxAllocateSlots(txMachine* the, txSize count)
{
	size_t size;
	size_t charged;
	txWasmBlockHeader* header;
	if (count < 0)
		return C_NULL;
	size = (size_t)count * sizeof(txSlot);
	charged = the->stackBottom ? size : 0;
	if (!fxAdjustSpace(the, charged))
		return C_NULL;
	/* keep slots 16-byte aligned: the header is 8 bytes on wasm32, pad it */
	header = c_malloc(sizeof(txWasmBlockHeader) + 8 + size);
	if (!header) {
		the->allocatedSpace -= charged;
		return C_NULL;
	}
	header->size = charged; /* what fxFreeSlots gives back to the budget */
	if (the->stackBottom)
		fxScaleGrowth(the, 0, (size_t)count);
	return (txSlot*)(((char*)(header + 1)) + 8);
}

void fxFreeSlots(txMachine* the, void* slots)
{
	if (slots) {
		txWasmBlockHeader* header = (txWasmBlockHeader*)(((char*)slots) - 8) - 1;
		the->allocatedSpace -= header->size;
		c_free(header);
	}
}

/* Heap statistics (xs_wasm_heap_statistics): XS's own counters. */
void xs_wasm_heap_counts(void* machine, xs_wasm_heap_counters* out)
{
	txMachine* the = (txMachine*)machine;
	out->memory_limit = the->allocationLimit;
	out->memory_used = the->allocatedSpace;
	out->chunk_bytes = (size_t)the->maximumChunksSize;
	out->chunk_bytes_used = (size_t)the->currentChunksSize;
	out->chunk_bytes_peak = (size_t)the->peakChunksSize;
	out->slots = (size_t)the->maximumHeapCount;
	out->slots_used = (size_t)the->currentHeapCount;
	out->slots_peak = (size_t)the->peakHeapCount;
	out->keys = (size_t)the->keyCount;
	out->keys_used = (size_t)the->keyIndex;
	out->stack_slots = (size_t)(the->stackTop - the->stackBottom);
}

/* ------------------------------------------------------------ machine -- */

void fxCreateMachinePlatform(txMachine* the)
{
	the->abortStatus = 0;
	the->promiseJobs = 0;
	the->allocatedSpace = 0;
	the->allocationLimit = xs_wasm_pending_memory_limit();
	the->meterLimit = 0;
	the->host = C_NULL;
	the->waiterCondition = C_NULL;
	the->waiterData = C_NULL;
	the->waiterLink = C_NULL;
}

void fxDeleteMachinePlatform(txMachine* the)
{
}

void fxQueuePromiseJobs(txMachine* the)
{
	the->promiseJobs = 1;
}

/* ------------------------------------------------------------- aborts -- */

void fxAbort(txMachine* the, int status)
{
	switch (status) {
	case XS_JAVASCRIPT_STACK_OVERFLOW_EXIT:
	case XS_NATIVE_STACK_OVERFLOW_EXIT:
		/* The JS stack or our C-stack limit was reached. The limits keep a
		   margin, so throw a catchable RangeError as test262 expects; only a
		   second overflow while building that error stops the machine. */
		if (!(the->abortStatus & 0x100)) {
			/* Building the error may collect, and marking checks the C stack
			   against the same limit: let it use half of the margin kept
			   below the limit, or a collection there would be a second
			   overflow (measured: [n].map recursion stopped the machine at
			   some depths). */
			char* limit = the->stackLimit;
			the->abortStatus |= 0x100;
			the->stackLimit = limit - (XS_WASM_CSTACK_MARGIN / 2);
			mxTry(the) {
				mxRangeError("stack overflow");
			}
			mxCatch(the) {
				the->stackLimit = limit;
				the->abortStatus &= ~0x100;
				fxJump(the);
			}
		}
		the->abortStatus = status;
		fxExitToHost(the);
		break;
	case XS_UNHANDLED_EXCEPTION_EXIT:
	case XS_UNHANDLED_REJECTION_EXIT: {
		/* Reported to the host's console; the machine goes on. */
		txString text = "unhandled rejection";
		if (status == XS_UNHANDLED_EXCEPTION_EXIT)
			text = "unhandled exception in a job";
		xs_wasm_report(the, 4, text, &mxException);
		mxException = mxUndefined;
		break;
	}
	case XS_NOT_ENOUGH_MEMORY_EXIT:
	case XS_NO_MORE_KEYS_EXIT:
	case XS_TOO_MUCH_COMPUTATION_EXIT:
	default:
		the->abortStatus = status;
		fxExitToHost(the);
		break;
	}
}

int xs_wasm_abort_status(void* machine)
{
	return ((txMachine*)machine)->abortStatus & 0xFF;
}

/* ------------------------------------------------------ host helpers -- */

void xs_wasm_run_jobs(void* machine)
{
	txMachine* the = machine;
	for (;;) {
		while (the->promiseJobs) {
			the->promiseJobs = 0;
			fxRunPromiseJobs(the);
		}
		fxEndJob(the);
		if (!the->promiseJobs)
			break;
	}
}

void xs_wasm_eval_slot(void* machine, void* source, void* result)
{
	txMachine* the = machine;
	txStringStream stream;
	txSlot* module = mxProgram.value.reference;
	txSlot* realm = mxModuleInstanceInternal(module)->value.module.realm;
	mxPushSlot((txSlot*)source);
	stream.slot = the->stack;
	stream.offset = 0;
	stream.size = mxStringLength(fxToString(the, the->stack));
	fxRunScript(the, fxParseScript(the, &stream, fxStringGetter, mxProgramFlag | mxDebugFlag), mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, module);
	mxPullSlot((txSlot*)result);
	mxPop();
}

/* The parser numbers each function of a script from the machine's profile
   counter (XS_CODE_PROFILE, the ID of the function's home slot, for XS's
   profiler) as it writes the code. Compiled at build time, they are
   numbered from 0 (xs_wasm_compile_text): here they get the numbers
   parsing the text in this machine would have given them, and the counter
   moves on as it would have (so the machine, and its snapshot, are the
   same as when the text was parsed). The walk is fxRemapIDs'. */
static void xs_wasm_rebase_profile_ids(txMachine* the, txByte* code, txSize size)
{
	const txS1* sizes = gxCodeSizes;
	txByte* p = code;
	txByte* q = code + size;
	txID count = 0;
	while (p < q) {
		txU1 opcode = *((txU1*)p);
		txS1 offset = sizes[opcode];
		if (opcode == XS_CODE_PROFILE) {
			txByte* at = p + 1;
			txID id;
			mxDecodeID(at, id);
			id = (txID)(id + the->profileID);
			at = p + 1;
			mxEncodeID(at, id);
			count++;
		}
		if (0 < offset)
			p += offset;
		else if (0 == offset)
			p += 1 + sizeof(txID);
		else if (-1 == offset) {
			txU1 index = *((txU1*)(p + 1));
			p += 2 + index;
		}
		else if (-2 == offset) {
			txU2 index;
			p++;
			mxDecode2(p, index);
			p += index;
		}
		else {
			txS4 index;
			p++;
			mxDecode4(p, index);
			p += index;
		}
	}
	the->profileID = (txID)(the->profileID + count);
}

void xs_wasm_run_code(void* machine, const unsigned char* code, size_t code_size, const unsigned char* symbols, size_t symbols_size, void* result)
{
	txMachine* the = machine;
	txSlot* module = mxProgram.value.reference;
	txSlot* realm = mxModuleInstanceInternal(module)->value.module.realm;
	txScript* script = c_calloc(1, sizeof(txScript));
	if (script) {
		script->codeBuffer = c_malloc(code_size);
		script->symbolsBuffer = c_malloc(symbols_size);
	}
	if (!script || !script->codeBuffer || !script->symbolsBuffer) {
		fxDeleteScript(script);
		fxAbort(the, XS_NOT_ENOUGH_MEMORY_EXIT);
		return;
	}
	c_memcpy(script->codeBuffer, code, code_size);
	script->codeSize = (txSize)code_size;
	xs_wasm_rebase_profile_ids(the, script->codeBuffer, script->codeSize);
	c_memcpy(script->symbolsBuffer, symbols, symbols_size);
	script->symbolsSize = (txSize)symbols_size;
	/* fxRunScript deletes the script (its buffers included) */
	fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, module);
	mxPullSlot((txSlot*)result);
}

int xs_wasm_compile_text(void* machine, const char* source, unsigned char** code, size_t* code_size, unsigned char** symbols, size_t* symbols_size)
{
	txMachine* the = machine;
	txStringCStream stream;
	txScript* script;
	stream.buffer = (char*)source;
	stream.offset = 0;
	stream.size = (txSize)c_strlen(source);
	txID profile = the->profileID;
	/* the flags of xs_wasm_eval_slot; functions numbered from 0 for
	   xs_wasm_rebase_profile_ids */
	the->profileID = 0;
	script = fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag | mxDebugFlag);
	the->profileID = profile;
	if (!script || !script->codeBuffer || !script->symbolsBuffer || script->hostsBuffer) {
		fxDeleteScript(script);
		return 0;
	}
	*code = (unsigned char*)script->codeBuffer;
	*code_size = (size_t)script->codeSize;
	*symbols = (unsigned char*)script->symbolsBuffer;
	*symbols_size = (size_t)script->symbolsSize;
	script->codeBuffer = C_NULL;
	script->symbolsBuffer = C_NULL;
	fxDeleteScript(script);
	return 1;
}

void xs_wasm_set_machine_host(void* machine, void* host)
{
	((txMachine*)machine)->host = host;
}

void* xs_wasm_get_machine_host(void* machine)
{
	return ((txMachine*)machine)->host;
}

void xs_wasm_set_memory_limit(void* machine, size_t limit)
{
	((txMachine*)machine)->allocationLimit = limit;
}

int xs_wasm_promise_state(void* machine, void* value, void* result)
{
	/* 0: not a promise, 1: pending, 2: fulfilled, 3: rejected.
	   On 2 or 3 copies the promise's value or reason into *result. */
	txMachine* the = machine;
	txSlot* slot = value;
	txSlot* instance;
	txSlot* status;
	if (slot->kind != XS_REFERENCE_KIND)
		return 0;
	instance = slot->value.reference;
	if (!mxIsPromise(instance))
		return 0;
	status = mxPromiseStatus(instance);
	if (status->value.integer == mxPendingStatus)
		return 1;
	*((txSlot*)result) = *mxPromiseResult(instance);
	if (status->value.integer == mxFulfilledStatus)
		return 2;
	/* the host consumes the rejection: no "unhandled rejection" report */
	{
		txSlot* list = &mxUnhandledPromises;
		txSlot** address = &list->value.reference->next;
		txSlot* entry;
		while ((entry = *address)) {
			if (entry->value.weakRef.target == instance) {
				*address = entry->next->next;
				break;
			}
			address = &entry->next->next;
		}
	}
	return 3;
}

unsigned long long xs_wasm_meter_index(void* machine)
{
	return ((txMachine*)machine)->meterIndex;
}

unsigned int xs_wasm_engine_version(void)
{
	return (XS_MAJOR_VERSION << 16) | (XS_MINOR_VERSION << 8) | XS_PATCH_VERSION;
}

void xs_wasm_new_host_function(void* machine, void (*callback)(void*), int length, void* result)
{
	txMachine* the = machine;
	fxNewHostFunction(the, (txCallback)callback, length, XS_NO_ID, XS_NO_ID);
	mxPullSlot((txSlot*)result);
}

int xs_wasm_is_locked_down(void* machine)
{
	txMachine* the = machine;
	return (mxProgram.value.reference->flag & XS_DONT_MARSHALL_FLAG) ? 1 : 0;
}

/* structuredClone's core: a copy of the argument made with XS's own
   marshalling (xsMarshall.c) in its "alien" form, the one workers use to
   pass values between machines: objects and arrays (own enumerable data
   properties; the copy of an instance of a class is a plain object, as the
   HTML structured clone makes), primitives and their wrappers, Date,
   RegExp, Map, Set, errors, ArrayBuffer, typed arrays and DataView, with
   cycles and shared references kept. Functions, symbols, promises, weak
   collections, accessors, proxies and host objects throw, and so do
   objects harden() froze (XS marks them not to be marshalled: "read only
   object"). The machine-local form (alien 0) was not used: it dropped an
   object's first property (`structuredClone({ a: 1, b: 2 })` gave
   `{ b: 2 }`). */
void xs_wasm_structured_clone(void* machine)
{
	txMachine* the = machine;
	void* data;
	if (mxArgc < 1)
		return;
	mxPushSlot(mxArgv(0));
	data = fxMarshall(the, 1);
	fxDemarshall(the, data, 1);
	c_free(data);
	mxPullSlot(mxResult);
}

/* ------------------------------------------------------------ modules -- */

/* XS asks the platform to find a module (fxFindModule: a specifier and the
   id of the module that imports it, XS_NO_ID from a script or the host, to
   the id of the module it names) and to load it (fxLoadModule: the id to a
   parsed module). Both ask the host's module loader through xs_wasm.c
   (host_resolve, host_load). XS keeps the modules of the realm by id, so
   the host resolves each import but loads each id once; a module that
   failed stays failed (as the spec says). What the host refuses throws a
   TypeError with its message, in the importing module's evaluation (a
   static import) or as the rejection of import(). */

/* Throw a TypeError whose message is `message` (malloc'ed text as XS keeps
   it, freed here), or say that memory ran out when it is NULL. */
static void xs_wasm_throw_module_error(txMachine* the, char* message)
{
	if (!message)
		mxUnknownError("not enough memory for the module loader's reply");
	mxTry(the) {
		mxPush(mxTypeErrorConstructor);
		mxNew();
		mxPushStringC(message);
		mxRunCount(1);
	}
	mxCatch(the) {
		c_free(message);
		fxJump(the);
	}
	c_free(message);
	mxPull(mxException);
	fxJump(the);
}

txID fxFindModule(txMachine* the, txSlot* realm, txID moduleID, txSlot* slot)
{
	txString referrer = (moduleID == XS_NO_ID) ? C_NULL : fxGetKeyName(the, moduleID);
	int failed = 0;
	char* resolved;
	txID id = XS_NO_ID;
	fxToString(the, slot);
	resolved = xs_wasm_module_resolve(the, slot->value.string, referrer, &failed);
	if (failed || !resolved)
		xs_wasm_throw_module_error(the, resolved);
	mxTry(the) {
		id = fxNewNameC(the, resolved);
	}
	mxCatch(the) {
		c_free(resolved);
		fxJump(the);
	}
	c_free(resolved);
	return id;
}

void fxLoadModule(txMachine* the, txSlot* module, txID moduleID)
{
	txString id = fxGetKeyName(the, moduleID);
	int failed = 0, json = 0;
	char* source = xs_wasm_module_load(the, id, &json, &failed);
	txStringCStream stream;
	txScript* script = C_NULL;
	if (failed || !source)
		xs_wasm_throw_module_error(the, source);
	stream.buffer = source;
	stream.offset = 0;
	stream.size = (txSize)c_strlen(source);
	mxTry(the) {
		/* module code (no mxProgramFlag: strict, with import and export),
		   or a JSON module (its default export is the parsed value) */
		script = fxParseScript(the, &stream, fxStringCGetter, mxDebugFlag | (json ? mxJSONModuleFlag : 0));
	}
	mxCatch(the) {
		c_free(source);
		fxJump(the);
	}
	c_free(source);
	if (!script)
		mxUnknownError("not enough memory to parse module \"%s\"", id);
	fxResolveModule(the, module, moduleID, script, C_NULL, C_NULL);
}

/* import(specifier) from the host (xs_wasm_import): the promise of the
   module's namespace, as a script's import() makes it. */
void xs_wasm_import_slot(void* machine, void* specifier, void* result)
{
	txMachine* the = machine;
	txSlot* realm = mxModuleInstanceInternal(mxProgram.value.reference)->value.module.realm;
	mxPushSlot((txSlot*)specifier);
	fxToString(the, the->stack);
	mxPushUndefined();
	fxRunImport(the, realm, C_NULL);
	mxPullSlot((txSlot*)result);
}

/* ------------------------------------------------ test262 host hooks -- */

/* $262.evalScript(source): parse and run `source` as a Script of the
   machine's realm, the way test262's INTERPRETING.md asks (global lexical
   declarations are shared with later scripts; a SyntaxError is thrown). */
void xs_wasm_hook_eval_script(void* machine)
{
	txMachine* the = machine;
	if (mxArgc < 1)
		mxTypeError("evalScript needs a source");
	xs_wasm_eval_slot(the, mxArgv(0), mxResult);
}

/* $262.gc(): a full collection. */
void xs_wasm_hook_gc(void* machine)
{
	fxCollectGarbage((txMachine*)machine);
}

/* $262.detachArrayBuffer(buffer): DetachArrayBuffer(buffer). */
void xs_wasm_hook_detach_array_buffer(void* machine)
{
	txMachine* the = machine;
	txSlot* slot = (mxArgc > 0) ? mxArgv(0) : C_NULL;
	if (slot && (slot->kind == XS_REFERENCE_KIND)) {
		txSlot* instance = slot->value.reference;
		if (((slot = instance->next)) && (slot->flag & XS_INTERNAL_FLAG) && (slot->kind == XS_ARRAY_BUFFER_KIND) && (instance != mxArrayBufferPrototype.value.reference)) {
			slot->value.arrayBuffer.address = C_NULL;
			slot->next->value.bufferInfo.length = 0;
			mxResult->kind = XS_NULL_KIND;
			return;
		}
	}
	mxTypeError("detachArrayBuffer: not an ArrayBuffer");
}
