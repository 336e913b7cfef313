/*
 * xs-wasm host API: the exported functions declared in xs_wasm.h.
 * This unit uses XS's public API (xs.h) only; internals it needs live in
 * xs_wasm_platform.c behind xs_wasm_internal.h.
 */
#include "xs.h"
#include "xs_wasm.h"
#include "xs_wasm_internal.h"

#if defined(__wasm__)
	#define XS_WASM_EXPORT(NAME) __attribute__((used, visibility("default"), export_name(#NAME)))
#else
	/* native builds (the conformance and benchmark reference runner) */
	#define XS_WASM_EXPORT(NAME)
#endif

/* XS's own snapshot structure (xsSnapshot.h), restated for xs.h users as
   xsnap does; field order and types must match txSnapshot. */
typedef struct {
	char* signature;
	int signatureLength;
	xsCallback* callbacks;
	int callbacksLength;
	int (*read)(void* stream, void* address, size_t size);
	int (*write)(void* stream, void* address, size_t size);
	void* stream;
	int error;
	void* firstChunk;
	void* firstProjection;
	void* firstSlot;
	int slotSize;
	void* slots;
	/* XS 17: called when a snapshot's XS patch version differs from this
	   build's, to migrate it. NULL: the xs-wasm header already refuses a
	   snapshot of another XS version, and nothing is migrated. */
	int (*patch)(xsMachine* the, int version);
} xsWasmSnapshot;

extern xsMachine* fxReadSnapshot(xsWasmSnapshot* snapshot, xsStringValue name, void* context);
extern int fxWriteSnapshot(xsMachine* the, xsWasmSnapshot* snapshot);
/* Declared in xsAll.h only; restated here with the same types. */
extern void fxBeginMetering(xsMachine* the, xsBooleanValue (*callback)(xsMachine*, uint64_t), uint64_t interval);

/* XS 17 counts its meter in 64-bit units of 1/65,536 of a bytecode
   (XS_CODE_METERING in xsCommon.h is 1 << 16; allocations, regexp steps and
   built-in loops add fractions). fxBeginMetering takes its interval and
   calls back with the index in whole ticks (it shifts by 16 itself); the
   raw index the port reads afterwards is divided by this unit. The port's
   meter ticks stay what they were with XS 13: one per bytecode. */
#define XS_WASM_METER_UNIT ((uint64_t)1 << 16)

static uint32_t xs_wasm_ticks_of(uint64_t index)
{
	uint64_t ticks = index / XS_WASM_METER_UNIT;
	return ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
}
extern void fxEndMetering(xsMachine* the);
/* Hardened JavaScript (xsLockdown.c, compiled with mxLockdown): XS defines
   these callbacks but leaves it to each host to make them globals, as xst
   and xsnap do. Declared in xsAll.h only; restated with xs.h's types. */
extern void fx_harden(xsMachine* the);
extern void fx_lockdown(xsMachine* the);
extern void fx_petrify(xsMachine* the);
extern void fx_mutabilities(xsMachine* the);
/* Moddable's TextDecoder and TextEncoder (modules/data/text in the Moddable
   SDK, compiled as xst compiles them: each module installs its global). */
extern void modInstallTextDecoder(xsMachine* the);
extern void modInstallTextEncoder(xsMachine* the);
extern void xs_textdecoder(xsMachine* the);
extern void xs_textdecoder_decode(xsMachine* the);
extern void xs_textdecoder_get_encoding(xsMachine* the);
extern void xs_textdecoder_get_ignoreBOM(xsMachine* the);
extern void xs_textdecoder_get_fatal(xsMachine* the);
extern void xs_textencoder(xsMachine* the);
extern void xs_textencoder_encode(xsMachine* the);
extern void xs_textencoder_encodeInto(xsMachine* the);
/* Moddable's URL parser and serializer (modules/data/url/url.c; declared
   there with xsAll.h's types, restated with xs.h's). */
extern void fx_parseURL(xsMachine* the);
extern void fx_serializeURL(xsMachine* the);

XS_WASM_IMPORT(host_send) extern int32_t xs_wasm_host_send(xs_wasm_machine* machine, const char* json, uint32_t length);
XS_WASM_IMPORT(host_reply) extern void xs_wasm_host_reply(xs_wasm_machine* machine, char* buffer);
XS_WASM_IMPORT(host_log) extern void xs_wasm_host_log(xs_wasm_machine* machine, int32_t level, const char* text, uint32_t length);
XS_WASM_IMPORT(host_interrupt) extern int32_t xs_wasm_host_interrupt(xs_wasm_machine* machine);
XS_WASM_IMPORT(host_resolve) extern int32_t xs_wasm_host_resolve(xs_wasm_machine* machine, const char* specifier, uint32_t specifier_length, const char* referrer, uint32_t referrer_length);
XS_WASM_IMPORT(host_load) extern int32_t xs_wasm_host_load(xs_wasm_machine* machine, const char* id, uint32_t length, int32_t* kind);

struct xs_wasm_machine {
	xsMachine* the;
	int32_t status;            /* XS_WASM_OK while alive, else why it stopped */
	uint32_t meter_limit;      /* ticks per call, 0 = unlimited */
	uint32_t meter_interval;   /* ticks between limit checks */
	uint32_t meter_used;       /* ticks used by the last call */
	uint8_t* result;
	uint32_t result_length;
	uint32_t result_capacity;
	int in_call;               /* re-entrancy guard */
	int interrupted;           /* host_interrupt stopped the current call */
	uint32_t flags;            /* XS_WASM_CREATE_* of the creation */
	uint32_t last_call;        /* the id of the latest host call */
	uint32_t pending_calls;    /* host calls awaiting xs_wasm_settle */
};

/* ------------------------------------------------------------ buffers -- */

static int xs_wasm_reserve(xs_wasm_machine* machine, size_t size)
{
	if (size > 0x7FFFFFF0)
		return 0;
	if (size > machine->result_capacity) {
		size_t capacity = machine->result_capacity ? machine->result_capacity : 256;
		uint8_t* result;
		while (capacity < size)
			capacity = (capacity > 0x3FFFFFF0) ? size : capacity * 2;
		result = realloc(machine->result, capacity);
		if (!result)
			return 0;
		machine->result = result;
		machine->result_capacity = (uint32_t)capacity;
	}
	return 1;
}

/* Room for a one-shot result of `size` bytes: exactly that much when the
   buffer must grow (the old contents are not needed, so the old buffer is
   freed first: a large result must not need twice its size), and a large
   buffer is given back when a much smaller result follows. */
static int xs_wasm_reserve_result(xs_wasm_machine* machine, size_t size)
{
	size_t wanted = size < 256 ? 256 : size;
	machine->result_length = 0;
	if (size > 0x7FFFFFF0)
		return 0;
	if ((size <= machine->result_capacity) && ((machine->result_capacity <= (1 << 20)) || (size >= machine->result_capacity / 4)))
		return 1;
	if (size <= machine->result_capacity) {
		uint8_t* smaller = realloc(machine->result, wanted);
		if (smaller) {
			machine->result = smaller;
			machine->result_capacity = (uint32_t)wanted;
		}
		return 1;
	}
	free(machine->result);
	machine->result = malloc(wanted);
	machine->result_capacity = machine->result ? (uint32_t)wanted : 0;
	return machine->result != NULL;
}

static void xs_wasm_set_result(xs_wasm_machine* machine, const void* data, size_t length)
{
	machine->result_length = 0;
	if (length && xs_wasm_reserve_result(machine, length)) {
		memcpy(machine->result, data, length);
		machine->result_length = (uint32_t)length;
	}
}

/* ------------------------------------------------------- text encoding -- */

/* XS keeps strings in CESU-8 (mxCESU8: a character outside the BMP is two
   3-byte surrogate sequences, so that strings are UTF-16 to the language);
   hosts speak UTF-8. Text leaving a machine (results, errors, console,
   messages) goes through xs_wasm_to_utf8, text entering it (sources,
   messages, replies) through xs_wasm_from_utf8. */

/* In place (the UTF-8 form is never longer): a high and a low surrogate
   become one 4-byte sequence; a lone surrogate becomes U+FFFD (3 bytes, as
   long as the sequence it replaces); XS's two-byte form of U+0000 (C0 80,
   see xs_wasm_from_utf8) becomes a NUL byte. Returns the new length. */
static size_t xs_wasm_to_utf8(char* text, size_t length)
{
	unsigned char* in = (unsigned char*)text;
	unsigned char* out = (unsigned char*)text;
	unsigned char* limit = in + length;
	while (in < limit) {
		if ((in + 1 < limit) && (in[0] == 0xC0) && (in[1] == 0x80)) {
			*out++ = 0;
			in += 2;
		}
		else if ((in + 2 < limit) && (in[0] == 0xED) && ((in[1] & 0xE0) == 0xA0)) {
			uint32_t high = 0xD000 | ((uint32_t)(in[1] & 0x3F) << 6) | (in[2] & 0x3F);
			if ((high <= 0xDBFF) && (in + 5 < limit) && (in[3] == 0xED) && ((in[4] & 0xF0) == 0xB0)) {
				uint32_t low = 0xD000 | ((uint32_t)(in[4] & 0x3F) << 6) | (in[5] & 0x3F);
				uint32_t c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
				*out++ = (unsigned char)(0xF0 | (c >> 18));
				*out++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
				*out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
				*out++ = (unsigned char)(0x80 | (c & 0x3F));
				in += 6;
			}
			else {
				*out++ = 0xEF; *out++ = 0xBF; *out++ = 0xBD;
				in += 3;
			}
		}
		else
			*out++ = *in++;
	}
	return (size_t)(out - (unsigned char*)text);
}

/* Whether the 4 bytes at `in` (before `limit`) are a sequence of a
   character outside the BMP. */
static int xs_wasm_is_astral(const unsigned char* in, const unsigned char* limit)
{
	uint32_t c;
	if (((in[0] & 0xF8) != 0xF0) || (in + 3 >= limit))
		return 0;
	c = ((uint32_t)(in[0] & 0x07) << 18) | ((uint32_t)(in[1] & 0x3F) << 12) | ((uint32_t)(in[2] & 0x3F) << 6) | (in[3] & 0x3F);
	return (c >= 0x10000) && (c <= 0x10FFFF);
}

/* A malloc'ed, NUL-terminated copy of `length` bytes of UTF-8 as XS keeps
   text: each 4-byte sequence becomes two 3-byte surrogate sequences, and
   each NUL byte C0 80 (XS's strings are NUL-terminated; it reads C0 80 as
   U+0000), so the whole text arrives, NUL bytes included. NULL when out of
   memory. */
static char* xs_wasm_from_utf8(const char* text, size_t length)
{
	const unsigned char* in = (const unsigned char*)text;
	const unsigned char* limit = in + length;
	unsigned char* result;
	unsigned char* out;
	size_t size = length + 1;
	for (in = (const unsigned char*)text; in < limit; in++) {
		if (*in == 0)
			size += 1;
		else if (xs_wasm_is_astral(in, limit)) {
			size += 2;
			in += 3;
		}
	}
	result = malloc(size);
	out = result;
	if (!result)
		return NULL;
	in = (const unsigned char*)text;
	while (in < limit) {
		if (*in == 0) {
			*out++ = 0xC0; *out++ = 0x80;
			in++;
			continue;
		}
		if (((in[0] & 0xF8) == 0xF0) && (in + 3 < limit)) {
			uint32_t c = ((uint32_t)(in[0] & 0x07) << 18) | ((uint32_t)(in[1] & 0x3F) << 12) | ((uint32_t)(in[2] & 0x3F) << 6) | (in[3] & 0x3F);
			if ((c >= 0x10000) && (c <= 0x10FFFF)) {
				uint32_t high = 0xD800 + ((c - 0x10000) >> 10), low = 0xDC00 + ((c - 0x10000) & 0x3FF);
				*out++ = 0xED; *out++ = (unsigned char)(0x80 | ((high >> 6) & 0x3F)); *out++ = (unsigned char)(0x80 | (high & 0x3F));
				*out++ = 0xED; *out++ = (unsigned char)(0x80 | ((low >> 6) & 0x3F)); *out++ = (unsigned char)(0x80 | (low & 0x3F));
				in += 4;
				continue;
			}
		}
		*out++ = *in++;
	}
	*out = 0;
	return (char*)result;
}

/* The result: `message` (text as XS keeps it) in UTF-8, converted in the
   result buffer itself (one copy, so the largest result that fits is about
   the memory left). Returns 0 when it does not fit (nothing is set). */
static int xs_wasm_set_message(xs_wasm_machine* machine, const char* message)
{
	size_t length = strlen(message);
	if (!xs_wasm_reserve_result(machine, length ? length : 1))
		return 0;
	memcpy(machine->result, message, length);
	machine->result_length = (uint32_t)xs_wasm_to_utf8((char*)machine->result, length);
	return 1;
}

/* Bytes `text` (as XS keeps it) takes in UTF-8. */
static size_t xs_wasm_utf8_length(const char* text)
{
	const unsigned char* in = (const unsigned char*)text;
	size_t length = 0;
	while (*in) {
		if ((in[0] == 0xC0) && (in[1] == 0x80)) {
			length += 1;
			in += 2;
		}
		else if ((in[0] == 0xED) && ((in[1] & 0xE0) == 0xA0) && in[2]) {
			uint32_t high = 0xD000 | ((uint32_t)(in[1] & 0x3F) << 6) | (in[2] & 0x3F);
			if ((high <= 0xDBFF) && (in[3] == 0xED) && ((in[4] & 0xF0) == 0xB0) && in[5]) {
				length += 4;
				in += 6;
			}
			else {
				length += 3;
				in += 3;
			}
		}
		else {
			length += 1;
			in += 1;
		}
	}
	return length;
}

XS_WASM_EXPORT(xs_wasm_alloc) void* xs_wasm_alloc(size_t size)
{
	return malloc(size ? size : 1);
}

XS_WASM_EXPORT(xs_wasm_free) void xs_wasm_free(void* pointer)
{
	free(pointer);
}

XS_WASM_EXPORT(xs_wasm_result) const uint8_t* xs_wasm_result(xs_wasm_machine* machine)
{
	return machine ? machine->result : NULL;
}

XS_WASM_EXPORT(xs_wasm_result_length) uint32_t xs_wasm_result_length(xs_wasm_machine* machine)
{
	return machine ? machine->result_length : 0;
}

/* ----------------------------------------------------------- identity -- */

static const char xs_wasm_signature_text[] = "xs-wasm abi 5; callbacks sendMessage,console.debug,console.log,console.info,console.warn,console.error,$262.evalScript,$262.gc,$262.detachArrayBuffer,harden,lockdown,petrify,mutabilities,TextDecoder,TextDecoder.decode,TextDecoder.encoding,TextDecoder.ignoreBOM,TextDecoder.fatal,TextEncoder,TextEncoder.encode,TextEncoder.encodeInto,structuredClone,URL.parse,URL.serialize,host.call";

XS_WASM_EXPORT(xs_wasm_abi_version) uint32_t xs_wasm_abi_version(void)
{
	return XS_WASM_ABI_VERSION;
}

XS_WASM_EXPORT(xs_wasm_xs_version) uint32_t xs_wasm_xs_version(void)
{
	return xs_wasm_engine_version();
}

XS_WASM_EXPORT(xs_wasm_signature) const char* xs_wasm_signature(void)
{
	return xs_wasm_signature_text;
}

static char xs_wasm_last_error_text[256] = "";

static void xs_wasm_fail(const char* reason)
{
	size_t length = strlen(reason);
	if (length >= sizeof(xs_wasm_last_error_text))
		length = sizeof(xs_wasm_last_error_text) - 1;
	memcpy(xs_wasm_last_error_text, reason, length);
	xs_wasm_last_error_text[length] = 0;
}

XS_WASM_EXPORT(xs_wasm_last_error) const char* xs_wasm_last_error(void)
{
	return xs_wasm_last_error_text;
}

/* ------------------------------------------------------ guest globals -- */

static xs_wasm_machine* xs_wasm_host_of(xsMachine* the)
{
	return (xs_wasm_machine*)xs_wasm_get_machine_host(the);
}

/* Stringify with the realm's JSON; an exception propagates. Returns NULL for
   undefined (functions, symbols, undefined). The string lives in the XS heap
   until the next allocation: copy it at once. */
static xsStringValue xs_wasm_stringify(xsMachine* the, xsSlot* value, xsSlot* temp)
{
	*temp = xsCall1(xsGet(xsGlobal, xsID("JSON")), xsID("stringify"), *value);
	if (xsTypeOf(*temp) != xsStringType && xsTypeOf(*temp) != xsStringXType)
		return NULL;
	return xsToString(*temp);
}

static void xs_wasm_console(xsMachine* the, int level)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	xsIntegerValue argc = xsToInteger(xsArgc), i;
	xsStringValue text;
	size_t length = 0, capacity = 256;
	char* buffer = malloc(capacity);
	if (!buffer)
		return;
	for (i = 0; i < argc; i++) {
		size_t size;
		text = xsToString(xsArg(i));
		size = strlen(text);
		if (length + size + 2 > capacity) {
			char* grown;
			while (length + size + 2 > capacity)
				capacity *= 2;
			grown = realloc(buffer, capacity);
			if (!grown)
				break;
			buffer = grown;
			text = xsToString(xsArg(i)); /* realloc cannot move the XS heap, but be safe */
		}
		if (i)
			buffer[length++] = ' ';
		memcpy(buffer + length, text, size);
		length += size;
	}
	xs_wasm_host_log(machine, level, buffer, (uint32_t)xs_wasm_to_utf8(buffer, length));
	free(buffer);
}

static void xs_wasm_console_debug(xsMachine* the) { xs_wasm_console(the, 0); }
static void xs_wasm_console_log(xsMachine* the) { xs_wasm_console(the, 1); }
static void xs_wasm_console_info(xsMachine* the) { xs_wasm_console(the, 2); }
static void xs_wasm_console_warn(xsMachine* the) { xs_wasm_console(the, 3); }
static void xs_wasm_console_error(xsMachine* the) { xs_wasm_console(the, 4); }

/* sendMessage(msg): JSON to the host, the host's JSON reply back. */
static void xs_wasm_send_message(xsMachine* the)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	xsStringValue json;
	char* copy;
	size_t length;
	int32_t reply;
	char* buffer;
	xsVars(2);
	xsVar(0) = (xsToInteger(xsArgc) > 0) ? xsArg(0) : xsUndefined;
	json = xs_wasm_stringify(the, &xsVar(0), &xsVar(1));
	if (!json)
		json = "null";
	length = strlen(json);
	copy = malloc(length + 1);
	if (!copy)
		xsUnknownError("not enough memory for the message");
	memcpy(copy, json, length + 1);
	length = xs_wasm_to_utf8(copy, length);
	reply = xs_wasm_host_send(machine, copy, (uint32_t)length);
	free(copy);
	length = (reply < 0) ? (size_t)(-(int64_t)reply - 1) : (size_t)reply;
	buffer = malloc(length + 1);
	if (!buffer)
		xsUnknownError("not enough memory for the reply");
	xs_wasm_host_reply(machine, buffer);
	buffer[length] = 0;
	{
		char* converted = xs_wasm_from_utf8(buffer, length);
		free(buffer);
		if (!converted)
			xsUnknownError("not enough memory for the reply");
		buffer = converted;
	}
	if (reply < 0) {
		xsVar(1) = xsString(buffer);
		free(buffer);
		xsVar(0) = xsNew1(xsGlobal, xsID("Error"), xsVar(1));
		xsThrow(xsVar(0));
	}
	if (length == 0) {
		free(buffer);
		xsResult = xsUndefined;
		return;
	}
	xsVar(1) = xsString(buffer);
	free(buffer);
	xsResult = xsCall1(xsGet(xsGlobal, xsID("JSON")), xsID("parse"), xsVar(1));
}

/* The event loop's callback and set-up (section "event loop" below). */
static void xs_wasm_host_call_native(xsMachine* the);
static void xs_wasm_build_loop(xsMachine* the, int web);
/* ------------------------------------------------------------ modules -- */

/* A malloc'ed UTF-8 copy of `text` (as XS keeps it); its length in *length. */
static char* xs_wasm_utf8_copy(const char* text, size_t* length)
{
	size_t size = strlen(text);
	char* copy = malloc(size + 1);
	if (!copy)
		return NULL;
	memcpy(copy, text, size + 1);
	*length = xs_wasm_to_utf8(copy, size);
	return copy;
}

/* The reply the host announced with `reply` (a length, or -length - 1 for
   an error message) as XS keeps text; *failed for an error message. */
static char* xs_wasm_host_text(xs_wasm_machine* machine, int32_t reply, int* failed)
{
	size_t length = (reply < 0) ? (size_t)(-(int64_t)reply - 1) : (size_t)reply;
	char* buffer = malloc(length + 1);
	char* converted;
	*failed = reply < 0;
	if (!buffer)
		return NULL;
	xs_wasm_host_reply(machine, buffer);
	converted = xs_wasm_from_utf8(buffer, length);
	free(buffer);
	return converted;
}

char* xs_wasm_module_resolve(void* the, const char* specifier, const char* referrer, int* failed)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	size_t specifier_length = 0, referrer_length = 0;
	char* s = xs_wasm_utf8_copy(specifier, &specifier_length);
	char* r = referrer ? xs_wasm_utf8_copy(referrer, &referrer_length) : NULL;
	int32_t reply;
	*failed = 0;
	if (!s || (referrer && !r)) {
		free(s);
		free(r);
		return NULL;
	}
	reply = xs_wasm_host_resolve(machine, s, (uint32_t)specifier_length, r, (uint32_t)referrer_length);
	free(s);
	free(r);
	return xs_wasm_host_text(machine, reply, failed);
}

char* xs_wasm_module_load(void* the, const char* id, int* json, int* failed)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	size_t length = 0;
	char* copy = xs_wasm_utf8_copy(id, &length);
	int32_t kind = 0;
	int32_t reply;
	*failed = 0;
	*json = 0;
	if (!copy)
		return NULL;
	reply = xs_wasm_host_load(machine, copy, (uint32_t)length, &kind);
	free(copy);
	*json = (reply >= 0) && (kind == XS_WASM_MODULE_JSON);
	return xs_wasm_host_text(machine, reply, failed);
}

/* The order of this list is part of the snapshot format: it must match
   xs_wasm_signature_text, and changing it requires a new signature. */
static xsCallback xs_wasm_callbacks[] = {
	xs_wasm_send_message,
	xs_wasm_console_debug,
	xs_wasm_console_log,
	xs_wasm_console_info,
	xs_wasm_console_warn,
	xs_wasm_console_error,
	/* test262 host hooks (XS_WASM_CREATE_TEST262_HOST) */
	(xsCallback)xs_wasm_hook_eval_script,
	(xsCallback)xs_wasm_hook_gc,
	(xsCallback)xs_wasm_hook_detach_array_buffer,
	/* Hardened JavaScript globals */
	fx_harden,
	fx_lockdown,
	fx_petrify,
	fx_mutabilities,
	/* web-standard globals (unless XS_WASM_CREATE_NO_WEB_GLOBALS) */
	xs_textdecoder,
	xs_textdecoder_decode,
	xs_textdecoder_get_encoding,
	xs_textdecoder_get_ignoreBOM,
	xs_textdecoder_get_fatal,
	xs_textencoder,
	xs_textencoder_encode,
	xs_textencoder_encodeInto,
	(xsCallback)xs_wasm_structured_clone,
	fx_parseURL,
	fx_serializeURL,
	/* the event loop (host calls) */
	xs_wasm_host_call_native,
};
#define XS_WASM_CALLBACK_COUNT ((int)(sizeof(xs_wasm_callbacks) / sizeof(xs_wasm_callbacks[0])))

/* $262 and print, for test262 (see XS_WASM_CREATE_TEST262_HOST). */
/* The preludes: JavaScript that builds globals in every machine
   (port/preludes/web.js: the web globals; port/preludes/loop.js: the event
   loop). `cargo xtask build` compiles them to XS bytecode with the native
   runner (the same XS and flags as xs_wasm_eval_slot) into the generated
   port/xs_wasm_preludes.h, so creating a machine does not parse them (most
   of a machine's creation time when it did); a header made before the
   native runner was built holds the texts instead (`code` NULL), which are
   parsed. */
typedef struct {
	const char* text;
	const unsigned char* code;
	size_t code_size;
	const unsigned char* symbols;
	size_t symbols_size;
} xs_wasm_prelude;

#include "xs_wasm_preludes.h"

/* The prelude's completion (its function) in *result; *scratch is used. */
static void xs_wasm_run_prelude(xsMachine* the, const xs_wasm_prelude* prelude, xsSlot* scratch, xsSlot* result)
{
	if (prelude->code)
		xs_wasm_run_code(the, prelude->code, prelude->code_size, prelude->symbols, prelude->symbols_size, result);
	else {
		*scratch = xsString((xsStringValue)prelude->text);
		xs_wasm_eval_slot(the, scratch, result);
	}
}

#ifndef __wasm__
static xsCreation xs_wasm_creation_of(const xs_wasm_creation* c);
/* The native runner's --compile mode (generating port/xs_wasm_preludes.h):
   `source` compiled as a prelude is, in a machine of the default creation;
   0 on failure. */
int xs_wasm_compile_prelude(const char* source, unsigned char** code, size_t* code_size, unsigned char** symbols, size_t* symbols_size)
{
	xsCreation creation = xs_wasm_creation_of(NULL);
	xsMachine* the = xsCreateMachine(&creation, "xs-wasm-compile", NULL);
	int ok;
	if (!the)
		return 0;
	ok = xs_wasm_compile_text(the, source, code, code_size, symbols, symbols_size);
	xsDeleteMachine(the);
	return ok;
}
#endif

static void xs_wasm_build_test262_host(xsMachine* the)
{
	xsBeginHost(the);
	{
		xsVars(2);
		xsVar(0) = xsNewObject();
		xsDefine(xsVar(0), xsID("global"), xsGlobal, xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_hook_eval_script, 1, &xsVar(1));
		xsDefine(xsVar(0), xsID("evalScript"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_hook_gc, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("gc"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_hook_detach_array_buffer, 1, &xsVar(1));
		xsDefine(xsVar(0), xsID("detachArrayBuffer"), xsVar(1), xsDontEnum);
		xsDefine(xsGlobal, xsID("$262"), xsVar(0), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_log, 0, &xsVar(1));
		xsDefine(xsGlobal, xsID("print"), xsVar(1), xsDontEnum);
	}
	xsEndHost(the);
}

static void xs_wasm_build_globals(xsMachine* the)
{
	xsBeginHost(the);
	{
		xsVars(2);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_send_message, 1, &xsVar(0));
		xsDefine(xsGlobal, xsID("sendMessage"), xsVar(0), xsDontEnum);
		xsVar(0) = xsNewObject();
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_debug, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("debug"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_log, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("log"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_info, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("info"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_warn, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("warn"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_console_error, 0, &xsVar(1));
		xsDefine(xsVar(0), xsID("error"), xsVar(1), xsDontEnum);
		xsDefine(xsGlobal, xsID("console"), xsVar(0), xsDontEnum);
		/* Hardened JavaScript, as xsnap and xst define them: lockdown()
		   freezes the intrinsics and gives new Compartments tamed Date and
		   Math; harden(o) freezes o and everything reachable from it;
		   petrify(o) makes o's own properties and internal state (the
		   contents of a Map, a Date, an ArrayBuffer) immutable;
		   mutabilities(o) lists the paths of what is still mutable. */
		xs_wasm_new_host_function(the, (void (*)(void*))fx_harden, 1, &xsVar(1));
		xsDefine(xsGlobal, xsID("harden"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))fx_lockdown, 0, &xsVar(1));
		xsDefine(xsGlobal, xsID("lockdown"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))fx_petrify, 1, &xsVar(1));
		xsDefine(xsGlobal, xsID("petrify"), xsVar(1), xsDontEnum);
		xs_wasm_new_host_function(the, (void (*)(void*))fx_mutabilities, 1, &xsVar(1));
		xsDefine(xsGlobal, xsID("mutabilities"), xsVar(1), xsDontEnum);
	}
	xsEndHost(the);
}

/* The web-standard globals written in JavaScript, on XS's built-ins and
   on Moddable's C: a function of the native cores (structuredClone's
   marshalling, the URL parser and serializer of modules/data/url) and of
   the global object that defines DOMException, atob, btoa, queueMicrotask,
   performance, structuredClone, URLSearchParams and URL (non-enumerable,
   writable, configurable: as in browsers; the classes' accessors and
   methods enumerable, as WebIDL makes them). It takes the intrinsics it
   uses once, so that a guest that replaces String or Promise later does
   not change them.
   performance.timeOrigin is the machine's clock (Date.now()) when the
   guest first asks for the time through performance (a pre-initialized
   machine is created at build time, so its creation cannot be the origin);
   with the deterministic clock both are 0.
   URL keeps a URL's parts as url.c makes them (an array without
   prototype, configs/patches/0012) in a private field and uses url.c's
   state overrides for the setters; URLSearchParams parses and serializes
   application/x-www-form-urlencoded itself, on TextEncoder/TextDecoder
   (url.c's query functions decode percent-escapes into bytes that are not
   always valid in an XS string). Moddable's url.js, an ES module, is not
   used: it lacks URLSearchParams' iteration methods, sort, size and
   sequence/record initializers, URL.canParse and URL.parse. */
/* xs_wasm_web_prelude: port/preludes/web.js, compiled at build time (port/xs_wasm_preludes.h) */

/* TextDecoder, TextEncoder (Moddable's C), then the prelude's globals. */
static void xs_wasm_build_web_globals(xsMachine* the)
{
	modInstallTextDecoder(the);
	modInstallTextEncoder(the);
	xsBeginHost(the);
	{
		xsVars(5);
		xs_wasm_run_prelude(the, &xs_wasm_web_prelude, &xsVar(0), &xsVar(1));
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_structured_clone, 1, &xsVar(2));
		xs_wasm_new_host_function(the, (void (*)(void*))fx_parseURL, 3, &xsVar(3));
		xs_wasm_new_host_function(the, (void (*)(void*))fx_serializeURL, 2, &xsVar(4));
		xsCallFunction4(xsVar(1), xsUndefined, xsVar(2), xsVar(3), xsVar(4), xsGlobal);
	}
	xsEndHost(the);
}

/* lockdown() in a machine being created (XS_WASM_CREATE_LOCKDOWN) or
   taken from a pre-initialized module (xs_wasm_lockdown); 0 if it threw or
   aborted. With `machine`, what it threw is described in its result. */
static void xs_wasm_describe_exception(xsMachine* the, xs_wasm_machine* machine, xsSlot* exception, xsSlot* v0, xsSlot* v1, xsSlot* v2);
static int32_t xs_wasm_status_of_abort(int abort_status);
static const char* xs_wasm_status_message(int32_t status);

static int xs_wasm_lock_down(xsMachine* the, xs_wasm_machine* machine)
{
	int ok = 1;
	xsBeginHost(the);
	{
		xsVars(4);
		xsTry {
			xsCall0(xsGlobal, xsID("lockdown"));
		}
		xsCatch {
			ok = 0;
			xsVar(0) = xsException;
			xsException = xsUndefined;
			if (machine)
				xs_wasm_describe_exception(the, machine, &xsVar(0), &xsVar(1), &xsVar(2), &xsVar(3));
		}
	}
	xsEndHost(the);
	return ok && !xs_wasm_abort_status(the);
}

/* Called by the platform for unhandled rejections: console.error on the host. */
void xs_wasm_report(void* machine, int level, const char* text, void* value)
{
	xsMachine* the = machine;
	xs_wasm_machine* host = xs_wasm_host_of(the);
	char buffer[512];
	xsStringValue detail = "";
	int length;
	if (!host)
		return;
	xsTry {
		if (value) {
			the->scratch = *(xsSlot*)value;
			detail = fxToString(the, &the->scratch);
		}
	}
	xsCatch {
		detail = "";
	}
	length = snprintf(buffer, sizeof(buffer), "%s: %s", text, detail);
	if (length < 0)
		length = 0;
	if (length >= (int)sizeof(buffer))
		length = sizeof(buffer) - 1;
	xs_wasm_host_log(host, level, buffer, (uint32_t)xs_wasm_to_utf8(buffer, (size_t)length));
}

/* ------------------------------------------------------------ machines -- */

static size_t xs_wasm_memory_limit_for_next = 0;

size_t xs_wasm_pending_memory_limit(void)
{
	return xs_wasm_memory_limit_for_next;
}

static xsCreation xs_wasm_creation_of(const xs_wasm_creation* c)
{
	xsCreation creation = {
		256 * 1024,   /* initialChunkSize */
		256 * 1024,   /* incrementalChunkSize */
		16 * 1024,    /* initialHeapCount */
		8 * 1024,     /* incrementalHeapCount */
		128 * 1024,   /* stackCount */
		2048,         /* initialKeyCount */
		1024,         /* incrementalKeyCount */
		1993,         /* nameModulo */
		127,          /* symbolModulo */
		1024 * 1024,  /* parserBufferSize */
		1993,         /* parserTableModulo */
		0,            /* staticSize */
	};
	if (c) {
		if (c->initial_chunk_size > 0) creation.initialChunkSize = c->initial_chunk_size;
		if (c->incremental_chunk_size > 0) creation.incrementalChunkSize = c->incremental_chunk_size;
		if (c->initial_heap_count > 0) creation.initialHeapCount = c->initial_heap_count;
		if (c->incremental_heap_count > 0) creation.incrementalHeapCount = c->incremental_heap_count;
		if (c->stack_count > 0) creation.stackCount = c->stack_count;
		if (c->initial_key_count > 0) creation.initialKeyCount = c->initial_key_count;
		if (c->incremental_key_count > 0) creation.incrementalKeyCount = c->incremental_key_count;
		if (c->name_modulo > 0) creation.nameModulo = c->name_modulo;
		if (c->symbol_modulo > 0) creation.symbolModulo = c->symbol_modulo;
		if (c->parser_buffer_size > 0) creation.parserBufferSize = c->parser_buffer_size;
		if (c->parser_table_modulo > 0) creation.parserTableModulo = c->parser_table_modulo;
	}
	return creation;
}

static xs_wasm_machine* xs_wasm_new_host(void)
{
	xs_wasm_machine* machine = calloc(1, sizeof(xs_wasm_machine));
	if (!machine)
		return NULL;
	machine->meter_interval = 10000;
	return machine;
}

static void xs_wasm_adopt(xs_wasm_machine* machine, xsMachine* the, size_t memory_limit)
{
	machine->the = the;
	xs_wasm_set_machine_host(the, machine);
	xs_wasm_set_memory_limit(the, memory_limit);
}

XS_WASM_EXPORT(xs_wasm_create) xs_wasm_machine* xs_wasm_create(const xs_wasm_creation* c)
{
	xsCreation creation = xs_wasm_creation_of(c);
	xs_wasm_machine* machine = xs_wasm_new_host();
	xsMachine* the;
	size_t memory_limit = c ? c->memory_limit : 0;
	if (!machine) {
		xs_wasm_fail("not enough memory");
		return NULL;
	}
	xs_wasm_memory_limit_for_next = memory_limit;
	the = xsCreateMachine(&creation, "xs-wasm", NULL);
	xs_wasm_memory_limit_for_next = 0;
	if (!the) {
		free(machine);
		xs_wasm_fail("cannot create machine: not enough memory (memory_limit too small?)");
		return NULL;
	}
	xs_wasm_adopt(machine, the, memory_limit);
	xs_wasm_build_globals(the);
	if (!(c && (c->flags & XS_WASM_CREATE_NO_WEB_GLOBALS)) && !xs_wasm_abort_status(the))
		xs_wasm_build_web_globals(the);
	if (!xs_wasm_abort_status(the))
		xs_wasm_build_loop(the, !(c && (c->flags & XS_WASM_CREATE_NO_WEB_GLOBALS)));
	if (c && (c->flags & XS_WASM_CREATE_TEST262_HOST) && !xs_wasm_abort_status(the)) {
		machine->flags = XS_WASM_CREATE_TEST262_HOST;
		xs_wasm_build_test262_host(the);
	}
	if (c && (c->flags & XS_WASM_CREATE_LOCKDOWN) && !xs_wasm_abort_status(the) && !xs_wasm_lock_down(the, NULL)) {
		xsDeleteMachine(the);
		free(machine);
		xs_wasm_fail("cannot create machine: lockdown failed (memory_limit too small?)");
		return NULL;
	}
	if (xs_wasm_abort_status(the)) {
		xsDeleteMachine(the);
		free(machine);
		xs_wasm_fail("cannot create machine: not enough memory (memory_limit too small?)");
		return NULL;
	}
	return machine;
}

/* The pre-initialized machine of this instance (see xs_wasm.h). */
static xs_wasm_machine* xs_wasm_kept = NULL;

XS_WASM_EXPORT(xs_wasm_keep) void xs_wasm_keep(xs_wasm_machine* machine)
{
	xs_wasm_kept = machine;
}

XS_WASM_EXPORT(xs_wasm_preinit) void xs_wasm_preinit(void)
{
	if (!xs_wasm_kept)
		xs_wasm_kept = xs_wasm_create(NULL);
}

XS_WASM_EXPORT(xs_wasm_take) xs_wasm_machine* xs_wasm_take(uint32_t memory_limit)
{
	xs_wasm_machine* machine = xs_wasm_kept;
	xs_wasm_kept = NULL;
	if (machine && machine->the) {
		xs_wasm_set_memory_limit(machine->the, memory_limit);
		/* One rule with create and restore: a machine must fit in its
		   memory limit. The kept machine was made without one (its heap
		   may hold more than a fresh machine needs): it stays kept, and the
		   host creates a machine within the limit instead. */
		if (memory_limit && !xs_wasm_memory_left(machine->the)) {
			xs_wasm_set_memory_limit(machine->the, 0);
			xs_wasm_kept = machine;
			return NULL;
		}
	}
	return machine;
}

/* Whether a call may enter `machine` now: XS_WASM_OK, or the status to
   return (a null or deleted machine, one an earlier call stopped, or one
   busy with a call; `busy` is then the message). */
static int32_t xs_wasm_callable(xs_wasm_machine* machine, const char* busy)
{
	if (!machine || !machine->the)
		return XS_WASM_BAD_ARGUMENT;
	if (machine->status != XS_WASM_OK) {
		xs_wasm_set_message(machine, "the machine was stopped by an earlier call");
		return XS_WASM_DEAD;
	}
	if (machine->in_call) {
		xs_wasm_set_message(machine, busy);
		return XS_WASM_BAD_ARGUMENT;
	}
	return XS_WASM_OK;
}

XS_WASM_EXPORT(xs_wasm_lockdown) int32_t xs_wasm_lockdown(xs_wasm_machine* machine)
{
	int32_t status = xs_wasm_callable(machine, "re-entrant call: the machine is busy");
	if (status != XS_WASM_OK)
		return status;
	machine->result_length = 0;
	if (xs_wasm_is_locked_down(machine->the))
		return XS_WASM_OK;
	machine->in_call = 1;
	if (!xs_wasm_lock_down(machine->the, machine))
		status = XS_WASM_JS_ERROR;
	if (xs_wasm_abort_status(machine->the)) {
		status = xs_wasm_status_of_abort(xs_wasm_abort_status(machine->the));
		machine->status = status;
		xs_wasm_set_message(machine, xs_wasm_status_message(status));
	}
	machine->in_call = 0;
	return status;
}

XS_WASM_EXPORT(xs_wasm_delete) void xs_wasm_delete(xs_wasm_machine* machine)
{
	if (!machine)
		return;
	if (machine->the)
		xsDeleteMachine(machine->the);
	free(machine->result);
	free(machine);
}

XS_WASM_EXPORT(xs_wasm_machine_status) int32_t xs_wasm_machine_status(xs_wasm_machine* machine)
{
	return machine ? machine->status : XS_WASM_BAD_ARGUMENT;
}

XS_WASM_EXPORT(xs_wasm_heap_statistics) int32_t xs_wasm_heap_statistics(xs_wasm_machine* machine, int32_t collect)
{
	xs_wasm_heap_counters counters;
	char json[512];
	int32_t status = xs_wasm_callable(machine, "cannot measure the heap during a call");
	if (status != XS_WASM_OK)
		return status;
	if (collect) {
		machine->in_call = 1;
		xs_wasm_hook_gc(machine->the);
		machine->in_call = 0;
	}
	xs_wasm_heap_counts(machine->the, &counters);
	snprintf(json, sizeof(json),
		"{\"memoryLimit\":%lu,\"memoryUsed\":%lu,"
		"\"chunkBytes\":%lu,\"chunkBytesUsed\":%lu,\"chunkBytesPeak\":%lu,"
		"\"slots\":%lu,\"slotsUsed\":%lu,\"slotsPeak\":%lu,"
		"\"keys\":%lu,\"keysUsed\":%lu,\"stackSlots\":%lu}",
		(unsigned long)counters.memory_limit, (unsigned long)counters.memory_used,
		(unsigned long)counters.chunk_bytes, (unsigned long)counters.chunk_bytes_used, (unsigned long)counters.chunk_bytes_peak,
		(unsigned long)counters.slots, (unsigned long)counters.slots_used, (unsigned long)counters.slots_peak,
		(unsigned long)counters.keys, (unsigned long)counters.keys_used, (unsigned long)counters.stack_slots);
	if (!xs_wasm_set_message(machine, json))
		return XS_WASM_RESULT_TOO_LARGE;
	return XS_WASM_OK;
}

XS_WASM_EXPORT(xs_wasm_set_meter) void xs_wasm_set_meter(xs_wasm_machine* machine, uint32_t limit, uint32_t interval)
{
	if (!machine)
		return;
	machine->meter_limit = limit;
	machine->meter_interval = interval ? interval : 10000;
}

XS_WASM_EXPORT(xs_wasm_meter) uint32_t xs_wasm_meter(xs_wasm_machine* machine)
{
	return machine ? machine->meter_used : 0;
}

/* ---------------------------------------------------------------- calls -- */

static xsBooleanValue xs_wasm_meter_callback(xsMachine* the, uint64_t index)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	if (machine && machine->meter_limit && index > machine->meter_limit)
		return 0;
	/* The host's deadline or interrupt, asked once per meter interval (so
	   in emscripten builds a JS host regains control while guest code runs) */
	if (machine && xs_wasm_host_interrupt(machine)) {
		machine->interrupted = 1;
		return 0;
	}
	return 1;
}

/* Describe the thrown value as {"name","message","stack"} JSON. Getters on the
   exception run guest code; anything they throw is swallowed. */
static void xs_wasm_describe_exception(xsMachine* the, xs_wasm_machine* machine, xsSlot* exception, xsSlot* v0, xsSlot* v1, xsSlot* v2)
/* v0..v2: scratch slots of the caller's frame (xsVars cannot be called here) */
{
	xsStringValue json = NULL;
	xsTry {
		*v0 = xsNewObject();
		if (xsIsInstanceOf(*exception, xsObjectPrototype)) {
			*v1 = xsGet(*exception, xsID("name"));
			if (xsTypeOf(*v1) == xsUndefinedType) {
				/* no name anywhere on its chain (test262's Test262Error,
				   classes that set none): its constructor's name */
				*v1 = xsGet(*exception, xsID("constructor"));
				if (xsTypeOf(*v1) == xsReferenceType)
					*v1 = xsGet(*v1, xsID("name"));
				if (xsTypeOf(*v1) != xsStringType)
					*v1 = xsString("");
			}
			xsSet(*v0, xsID("name"), xsString(xsToString(*v1)));
			*v1 = xsGet(*exception, xsID("message"));
			xsSet(*v0, xsID("message"), xsString(xsToString(*v1)));
			*v1 = xsGet(*exception, xsID("stack"));
			if (xsTypeOf(*v1) == xsUndefinedType)
				*v1 = xsString("");
			xsSet(*v0, xsID("stack"), xsString(xsToString(*v1)));
		}
		else {
			xsSet(*v0, xsID("name"), xsString(""));
			xsSet(*v0, xsID("message"), xsString(xsToString(*exception)));
			xsSet(*v0, xsID("stack"), xsString(""));
		}
		json = xs_wasm_stringify(the, v0, v2);
		if (json)
			xs_wasm_set_message(machine, json);
	}
	xsCatch {
		json = NULL;
	}
	if (!json || !machine->result_length)
		xs_wasm_set_message(machine, "{\"name\":\"Error\",\"message\":\"the thrown value could not be described (or its description did not fit in memory)\",\"stack\":\"\"}");
}

enum { XS_WASM_CALL_EVAL, XS_WASM_CALL_SEND, XS_WASM_CALL_IMPORT };

static int32_t xs_wasm_status_of_abort(int abort_status)
{
	switch (abort_status) {
	case 0: return XS_WASM_OK;
	case xsTooMuchComputationExit: return XS_WASM_METER_LIMIT;
	case xsNotEnoughMemoryExit: return XS_WASM_OUT_OF_MEMORY;
	case xsJavaScriptStackOverflowExit: return XS_WASM_STACK_OVERFLOW;
	case xsNativeStackOverflowExit: return XS_WASM_STACK_OVERFLOW;
	default: return XS_WASM_ABORTED;
	}
}

static const char* xs_wasm_status_message(int32_t status)
{
	switch (status) {
	case XS_WASM_METER_LIMIT: return "meter limit reached";
	case XS_WASM_OUT_OF_MEMORY: return "memory limit reached";
	case XS_WASM_STACK_OVERFLOW: return "stack overflow";
	case XS_WASM_INTERRUPTED: return "interrupted by the host";
	default: return "machine aborted";
	}
}

/* The end of a metered call (eval, send, the event loop's steps): a fatal
   abort stops the machine with its status (XS_WASM_INTERRUPTED when
   host_interrupt made the meter callback stop it) and its meter count is
   kept; returns the call's status. */
static int32_t xs_wasm_end_call(xs_wasm_machine* machine, int32_t status)
{
	xsMachine* the = machine->the;
	if (xs_wasm_abort_status(the)) {
		machine->meter_used = xs_wasm_ticks_of(xs_wasm_meter_index(the));
		status = xs_wasm_status_of_abort(xs_wasm_abort_status(the));
		if ((status == XS_WASM_METER_LIMIT) && machine->interrupted)
			status = XS_WASM_INTERRUPTED;
		machine->status = status;
		xs_wasm_set_message(machine, xs_wasm_status_message(status));
	}
	machine->in_call = 0;
	return status;
}

static int32_t xs_wasm_call(xs_wasm_machine* machine, int kind, const char* text, size_t length)
{
	xsMachine* the;
	int32_t status = xs_wasm_callable(machine, "re-entrant call: the machine is busy");
	if (status != XS_WASM_OK)
		return status;
	if (length > 0x7FFFFFF0 || (length && !text)) {
		xs_wasm_set_message(machine, "invalid input buffer");
		return XS_WASM_BAD_ARGUMENT;
	}
	the = machine->the;
	machine->in_call = 1;
	machine->interrupted = 0;
	machine->meter_used = 0;
	machine->result_length = 0;
	xsBeginMetering(the, xs_wasm_meter_callback, machine->meter_interval);
	{
		xsBeginHost(the);
		{
			xsStringValue json;
			int state;
			xsVars(7);
			xsTry {
				char* converted = xs_wasm_from_utf8(text, length);
				if (!converted)
					xsUnknownError("not enough memory for the input");
				xsVar(0) = xsString(converted);
				free(converted);
				if (kind == XS_WASM_CALL_EVAL) {
					xs_wasm_eval_slot(the, &xsVar(0), &xsVar(1));
				}
				else if (kind == XS_WASM_CALL_IMPORT) {
					xs_wasm_import_slot(the, &xsVar(0), &xsVar(1));
				}
				else {
					xsVar(2) = xsCall1(xsGet(xsGlobal, xsID("JSON")), xsID("parse"), xsVar(0));
					xsVar(1) = xsCall1(xsGlobal, xsID("receiveMessage"), xsVar(2));
				}
				xs_wasm_run_jobs(the);
				if ((kind == XS_WASM_CALL_EVAL) && (machine->flags & XS_WASM_CREATE_TEST262_HOST))
					xsVar(1) = xsUndefined; /* test262 ignores completion values (a rejected import() is not an error) */
				state = xs_wasm_promise_state(the, &xsVar(1), &xsVar(3));
				if (state == 2)
					xsVar(1) = xsVar(3);
				else if (state == 3)
					xsThrow(xsVar(3));
				else if (kind == XS_WASM_CALL_IMPORT) {
					xsVar(0) = xsString("import: the module has not finished evaluating (its top-level await waits for a promise nothing settles)");
					xsVar(2) = xsNew1(xsGlobal, xsID("TypeError"), xsVar(0));
					xsThrow(xsVar(2));
				}
				if ((kind == XS_WASM_CALL_IMPORT) && (machine->flags & XS_WASM_CREATE_TEST262_HOST))
					xsVar(1) = xsUndefined; /* test262 reads its verdict from the ending, not the namespace */
				json = xs_wasm_stringify(the, &xsVar(1), &xsVar(2));
				if (json) {
					/* The copy handed to the host counts against the memory
					   limit with the heap (so both loaders agree on what fits,
					   whatever room their linear memory has); a result that does
					   not fit is an error naming its size, never an empty
					   (undefined) result in its place. */
					size_t size = xs_wasm_utf8_length(json);
					if ((size > xs_wasm_memory_left(the)) || !xs_wasm_set_message(machine, json)) {
						char text[64];
						snprintf(text, sizeof(text), "{\"size\":%lu}", (unsigned long)size);
						xs_wasm_set_result(machine, text, strlen(text));
						status = XS_WASM_RESULT_TOO_LARGE;
					}
				}
				else
					machine->result_length = 0;
			}
			xsCatch {
				xsVar(1) = xsException;
				xsException = xsUndefined;
				xs_wasm_run_jobs(the);
				xs_wasm_describe_exception(the, machine, &xsVar(1), &xsVar(4), &xsVar(5), &xsVar(6));
				status = XS_WASM_JS_ERROR;
			}
		}
		xsEndHost(the);
		machine->meter_used = xs_wasm_ticks_of(xs_wasm_meter_index(the));
	}
	xsEndMetering(the);
	return xs_wasm_end_call(machine, status);
}

XS_WASM_EXPORT(xs_wasm_eval) int32_t xs_wasm_eval(xs_wasm_machine* machine, const char* source, size_t length)
{
	return xs_wasm_call(machine, XS_WASM_CALL_EVAL, source, length);
}

XS_WASM_EXPORT(xs_wasm_import) int32_t xs_wasm_import(xs_wasm_machine* machine, const char* specifier, size_t length)
{
	return xs_wasm_call(machine, XS_WASM_CALL_IMPORT, specifier, length);
}

XS_WASM_EXPORT(xs_wasm_send) int32_t xs_wasm_send(xs_wasm_machine* machine, const char* json, size_t length)
{
	return xs_wasm_call(machine, XS_WASM_CALL_SEND, json, length);
}

/* ----------------------------------------------------------- snapshots -- */

static uint32_t xs_wasm_fnv1a(const uint8_t* data, size_t length)
{
	uint32_t hash = 2166136261u;
	size_t i;
	for (i = 0; i < length; i++) {
		hash ^= data[i];
		hash *= 16777619u;
	}
	return hash;
}

static void xs_wasm_put32(uint8_t* p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t xs_wasm_get32(const uint8_t* p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static const uint8_t xs_wasm_magic[8] = { 'X', 'S', 'W', 'A', 'S', 'M', '\r', '\n' };

/* The XS_WASM_LACKS_* set of this build, from XS's own switches. */
static const uint32_t xs_wasm_lacks_set = 0
#ifndef mxRegExpUnicodePropertyEscapes
	| XS_WASM_LACKS_REGEXP_PROPERTY_ESCAPES
#endif
#ifndef mxStringNormalize
	| XS_WASM_LACKS_STRING_NORMALIZE
#endif
	;

XS_WASM_EXPORT(xs_wasm_lacks) uint32_t xs_wasm_lacks(void)
{
	return xs_wasm_lacks_set;
}

/* A XS_WASM_LACKS_* set as the manifest's `lacks` list. */
static const char* xs_wasm_lacks_names(uint32_t lacks)
{
	static const char* const names[4] = { "", "regexp-property-escapes", "string-normalize", "regexp-property-escapes, string-normalize" };
	return lacks < 4 ? names[lacks] : "features unknown here";
}

typedef struct {
	xs_wasm_machine* machine;
	size_t length;
	int failed;
} xs_wasm_write_stream;

static int xs_wasm_snapshot_write(void* stream, void* address, size_t size)
{
	xs_wasm_write_stream* s = stream;
	if (s->failed || !xs_wasm_reserve(s->machine, s->length + size)) {
		s->failed = 1;
		return ENOMEM;
	}
	memcpy(s->machine->result + s->length, address, size);
	s->length += size;
	return 0;
}

typedef struct {
	const uint8_t* bytes;
	size_t length;
	size_t offset;
} xs_wasm_read_stream;

static int xs_wasm_snapshot_read(void* stream, void* address, size_t size)
{
	xs_wasm_read_stream* s = stream;
	if (size > s->length - s->offset)
		return EIO;
	memcpy(address, s->bytes + s->offset, size);
	s->offset += size;
	return 0;
}

static xsWasmSnapshot xs_wasm_snapshot_of(void* stream)
{
	xsWasmSnapshot snapshot;
	memset(&snapshot, 0, sizeof(snapshot));
	snapshot.signature = (char*)xs_wasm_signature_text;
	snapshot.signatureLength = (int)(sizeof(xs_wasm_signature_text) - 1);
	snapshot.callbacks = xs_wasm_callbacks;
	snapshot.callbacksLength = XS_WASM_CALLBACK_COUNT;
	snapshot.read = xs_wasm_snapshot_read;
	snapshot.write = xs_wasm_snapshot_write;
	snapshot.stream = stream;
	return snapshot;
}

/* XS 17.9.1's fxWriteSnapshot writes its txCreation record (the "CREA"
   atom) without setting its last field, nativeStackSize: whatever the C
   stack held there goes into the snapshot, so the same history gave other
   bytes once the calls before it left other values on the stack (seen in
   the -O0 build). XS does not use the field on restore (the creation of a
   restored machine comes from the host). The port writes 0 there, as a
   machine created by the port has. The atoms: "XS_M" (the whole snapshot),
   then "VERS", "SIGN", "CREA", each a 4-byte big-endian size (header
   included) and a 4-byte tag. */
static void xs_wasm_clear_native_stack_size(uint8_t* payload, size_t length)
{
	size_t offset = 8; /* inside XS_M */
	int atoms;
	for (atoms = 0; (atoms < 8) && (offset + 8 <= length); atoms++) {
		size_t size = ((size_t)payload[offset] << 24) | ((size_t)payload[offset + 1] << 16) | ((size_t)payload[offset + 2] << 8) | payload[offset + 3];
		if (memcmp(payload + offset + 4, "CREA", 4) == 0) {
			/* 13 int32 fields, then profileID and tag; nativeStackSize is field 13 */
			if ((size >= 8 + 13 * 4) && (offset + size <= length))
				memset(payload + offset + 8 + 12 * 4, 0, 4);
			return;
		}
		if (size < 8)
			return;
		offset += size;
	}
}

XS_WASM_EXPORT(xs_wasm_snapshot) int32_t xs_wasm_snapshot(xs_wasm_machine* machine)
{
	xs_wasm_write_stream stream;
	xsWasmSnapshot snapshot;
	uint8_t header[XS_WASM_SNAPSHOT_HEADER_SIZE];
	int ok;
	int32_t status = xs_wasm_callable(machine, "cannot snapshot during a call");
	if (status != XS_WASM_OK)
		return status;
	if (machine->pending_calls) {
		char message[160];
		snprintf(message, sizeof(message), "cannot snapshot: %u host call(s) are pending (settle or cancel them first: the host's side of a call cannot be written into a snapshot)", (unsigned)machine->pending_calls);
		xs_wasm_set_message(machine, message);
		return XS_WASM_SNAPSHOT_ERROR;
	}
	stream.machine = machine;
	stream.length = 0;
	stream.failed = 0;
	/* reserve room for our header; fill it once the payload is known */
	memset(header, 0, sizeof(header));
	xs_wasm_snapshot_write(&stream, header, sizeof(header));
	snapshot = xs_wasm_snapshot_of(&stream);
	xs_wasm_base_growth(machine->the, 1);
	{
		/* An abort while writing (the memory limit reached by the
		   collection or the writer's tables) exits to the outermost jump:
		   without one here, XS would follow a NULL jump list. */
		xsMachine* the = machine->the;
		volatile int written = 0;
		xsTry {
			written = fxWriteSnapshot(the, &snapshot);
		}
		xsCatch {
			written = 0;
		}
		ok = written;
	}
	xs_wasm_base_growth(machine->the, 0);
	if (xs_wasm_abort_status(machine->the)) {
		status = xs_wasm_status_of_abort(xs_wasm_abort_status(machine->the));
		machine->status = status;
		xs_wasm_set_message(machine, xs_wasm_status_message(status));
		return status;
	}
	if (!ok || snapshot.error || stream.failed) {
		char message[96];
		snprintf(message, sizeof(message), "XS could not write the snapshot (error %d)", snapshot.error);
		xs_wasm_set_message(machine, stream.failed ? "not enough memory to write the snapshot" : message);
		return XS_WASM_SNAPSHOT_ERROR;
	}
	xs_wasm_clear_native_stack_size(machine->result + sizeof(header), stream.length - sizeof(header));
	memcpy(header, xs_wasm_magic, 8);
	xs_wasm_put32(header + 8, XS_WASM_SNAPSHOT_FORMAT | (xs_wasm_lacks_set << 16));
	xs_wasm_put32(header + 12, XS_WASM_ABI_VERSION);
	xs_wasm_put32(header + 16, xs_wasm_xs_version());
	xs_wasm_put32(header + 20, xs_wasm_fnv1a((const uint8_t*)xs_wasm_signature_text, sizeof(xs_wasm_signature_text) - 1));
	xs_wasm_put32(header + 24, (uint32_t)(stream.length - sizeof(header)));
	xs_wasm_put32(header + 28, xs_wasm_fnv1a(machine->result + sizeof(header), stream.length - sizeof(header)));
	memcpy(machine->result, header, sizeof(header));
	machine->result_length = (uint32_t)stream.length;
	return XS_WASM_OK;
}

static const char* xs_wasm_check_snapshot(const uint8_t* bytes, size_t length)
{
	static char mismatch[200];
	uint32_t payload, lacks, version;
	if (!bytes || length == 0)
		return "snapshot is empty";
	if (length < XS_WASM_SNAPSHOT_HEADER_SIZE)
		return "snapshot is truncated: shorter than its header";
	if (memcmp(bytes, xs_wasm_magic, 8) != 0)
		return "not an xs-wasm snapshot (bad magic)";
	if ((xs_wasm_get32(bytes + 8) & 0xFFFF) != XS_WASM_SNAPSHOT_FORMAT)
		return "unsupported snapshot header format version";
	version = xs_wasm_get32(bytes + 16);
	if (version != xs_wasm_xs_version()) {
		uint32_t mine = xs_wasm_xs_version();
		snprintf(mismatch, sizeof(mismatch), "snapshot was written by XS %u.%u.%u; this is XS %u.%u.%u (snapshots move only between builds of the same XS version)",
			(unsigned)(version >> 16), (unsigned)((version >> 8) & 0xFF), (unsigned)(version & 0xFF),
			(unsigned)(mine >> 16), (unsigned)((mine >> 8) & 0xFF), (unsigned)(mine & 0xFF));
		return mismatch;
	}
	if (xs_wasm_get32(bytes + 12) != XS_WASM_ABI_VERSION)
		return "snapshot was written by another port ABI version";
	if (xs_wasm_get32(bytes + 20) != xs_wasm_fnv1a((const uint8_t*)xs_wasm_signature_text, sizeof(xs_wasm_signature_text) - 1))
		return "snapshot was written with another callbacks list (signature mismatch)";
	lacks = xs_wasm_get32(bytes + 8) >> 16;
	if (lacks != xs_wasm_lacks_set) {
		snprintf(mismatch, sizeof(mismatch), "snapshot was written by %s%s; this is %s%s (snapshots move only between builds with the same features)",
			lacks ? "a build without " : "a full build", xs_wasm_lacks_names(lacks),
			xs_wasm_lacks_set ? "a build without " : "a full build", xs_wasm_lacks_names(xs_wasm_lacks_set));
		return mismatch;
	}
	payload = xs_wasm_get32(bytes + 24);
	if ((size_t)payload != length - XS_WASM_SNAPSHOT_HEADER_SIZE)
		return (size_t)payload > length - XS_WASM_SNAPSHOT_HEADER_SIZE ? "snapshot is truncated" : "snapshot has trailing bytes";
	if (xs_wasm_get32(bytes + 28) != xs_wasm_fnv1a(bytes + XS_WASM_SNAPSHOT_HEADER_SIZE, payload))
		return "snapshot is corrupt (checksum mismatch)";
	return NULL;
}

XS_WASM_EXPORT(xs_wasm_restore) xs_wasm_machine* xs_wasm_restore(const uint8_t* bytes, size_t length, const xs_wasm_creation* c)
{
	const char* problem = xs_wasm_check_snapshot(bytes, length);
	xs_wasm_read_stream stream;
	xsWasmSnapshot snapshot;
	xs_wasm_machine* machine;
	xsMachine* the;
	size_t memory_limit = c ? c->memory_limit : 0;
	if (problem) {
		xs_wasm_fail(problem);
		return NULL;
	}
	machine = xs_wasm_new_host();
	if (!machine) {
		xs_wasm_fail("not enough memory");
		return NULL;
	}
	stream.bytes = bytes + XS_WASM_SNAPSHOT_HEADER_SIZE;
	stream.length = length - XS_WASM_SNAPSHOT_HEADER_SIZE;
	stream.offset = 0;
	snapshot = xs_wasm_snapshot_of(&stream);
	xs_wasm_memory_limit_for_next = memory_limit;
	the = fxReadSnapshot(&snapshot, "xs-wasm", NULL);
	xs_wasm_memory_limit_for_next = 0;
	if (!the || snapshot.error) {
		if (the)
			xsDeleteMachine(the);
		free(machine);
		if (snapshot.error == EINVAL)
			xs_wasm_fail("the snapshot's payload is corrupt: it fails the reader's structural checks");
		else
			xs_wasm_fail("XS could not read the snapshot: memory_limit is too small for it, or its payload is corrupt");
		return NULL;
	}
	xs_wasm_adopt(machine, the, memory_limit);
	return machine;
}

/* ---------------------------------------------------------- event loop -- */

/* Timers, host calls and the value encoding (xs_wasm.h, "The event loop").
   The state lives in the guest's heap, in the closure of this prelude, so
   snapshots keep it; the prelude returns the frozen object of functions the
   exports below call (encode, decode, settle, next, mark, fire, clock,
   watch, awaited), kept as the non-enumerable, read-only global
   __xs_wasm_loop. A guest that calls them itself only changes its own
   state (e.g. settles its own host calls early: the host's later settle of
   them is ignored). */
XS_WASM_IMPORT(host_call) extern int32_t xs_wasm_host_call_import(xs_wasm_machine* machine, uint32_t call, const char* name, uint32_t name_length, const uint8_t* args, uint32_t args_length);

/* xs_wasm_loop_prelude: port/preludes/loop.js, compiled at build time (port/xs_wasm_preludes.h) */

#define XS_WASM_LOOP_NAME "__xs_wasm_loop"

static void xs_wasm_build_loop(xsMachine* the, int web)
{
	xsBeginHost(the);
	{
		xsVars(4);
		xs_wasm_run_prelude(the, &xs_wasm_loop_prelude, &xsVar(0), &xsVar(1));
		xs_wasm_new_host_function(the, (void (*)(void*))xs_wasm_host_call_native, 2, &xsVar(2));
		xsVar(3) = xsCallFunction3(xsVar(1), xsUndefined, xsGlobal, xsVar(2), xsBoolean(web));
		xsDefine(xsGlobal, xsID(XS_WASM_LOOP_NAME), xsVar(3), xsDontEnum | xsDontDelete | xsDontSet);
	}
	xsEndHost(the);
}

/* native(name, argsBuffer): the encoded value (an ArrayBuffer), the call's
   id (a number: pending), or a thrown Error. */
static void xs_wasm_host_call_native(xsMachine* the)
{
	xs_wasm_machine* machine = xs_wasm_host_of(the);
	xsStringValue text;
	char* name;
	size_t name_length;
	uint32_t args_length, call;
	int32_t reply;
	xsVars(2);
	if (xsToInteger(xsArgc) < 2)
		xsTypeError("host call: two arguments expected");
	text = xsToString(xsArg(0));
	name_length = strlen(text);
	name = malloc(name_length + 1);
	if (!name)
		xsUnknownError("not enough memory for the host call");
	memcpy(name, xsToString(xsArg(0)), name_length + 1);
	name_length = xs_wasm_to_utf8(name, name_length);
	args_length = (uint32_t)xsGetArrayBufferLength(xsArg(1));
	call = ++machine->last_call;
	/* XS does not allocate (or move its chunks) while the host runs: the
	   host reads the arguments in place */
	reply = xs_wasm_host_call_import(machine, call, name, (uint32_t)name_length, (const uint8_t*)xsToArrayBuffer(xsArg(1)), args_length);
	free(name);
	if (reply == -1) {
		machine->pending_calls++;
		xsResult = xsNumber((double)call);
		return;
	}
	if (reply >= 0) {
		xsResult = xsArrayBuffer(NULL, reply);
		xs_wasm_host_reply(machine, (char*)xsToArrayBuffer(xsResult));
		return;
	}
	{
		size_t length = (size_t)(-(int64_t)reply - 2);
		char* buffer = malloc(length + 1);
		char* converted;
		if (!buffer)
			xsUnknownError("not enough memory for the host's error");
		xs_wasm_host_reply(machine, buffer);
		converted = xs_wasm_from_utf8(buffer, length);
		free(buffer);
		if (!converted)
			xsUnknownError("not enough memory for the host's error");
		xsVar(0) = xsString(converted);
		free(converted);
		xsVar(1) = xsNew1(xsGlobal, xsID("Error"), xsVar(0));
		xsThrow(xsVar(1));
	}
}

enum { XS_WASM_LOOP_EVAL, XS_WASM_LOOP_SEND, XS_WASM_LOOP_AWAITED, XS_WASM_LOOP_SETTLE, XS_WASM_LOOP_TIMERS };

typedef struct {
	int kind;
	const char* input;   /* EVAL: source; SEND: encoded value; SETTLE: payload */
	size_t length;
	uint32_t call;       /* SETTLE */
	int32_t ok;          /* SETTLE */
	double now;          /* TIMERS */
} xs_wasm_loop_step;

/* The encoded `value` as the result; XS_WASM_RESULT_TOO_LARGE when it does
   not fit next to the heap. */
static int32_t xs_wasm_encode_result(xsMachine* the, xs_wasm_machine* machine, xsSlot* loop, xsSlot* value, xsSlot* temp)
{
	size_t size;
	*temp = xsCall2(*loop, xsID("encode"), *value, xsTrue); /* lenient: results, as JSON takes them */
	size = (size_t)xsGetArrayBufferLength(*temp);
	if ((size > xs_wasm_memory_left(the)) || !xs_wasm_reserve_result(machine, size ? size : 1)) {
		char text[64];
		snprintf(text, sizeof(text), "{\"size\":%lu}", (unsigned long)size);
		xs_wasm_set_result(machine, text, strlen(text));
		return XS_WASM_RESULT_TOO_LARGE;
	}
	xsGetArrayBufferData(*temp, 0, machine->result, (xsIntegerValue)size);
	machine->result_length = (uint32_t)size;
	return XS_WASM_OK;
}

static int32_t xs_wasm_loop_call(xs_wasm_machine* machine, const xs_wasm_loop_step* step)
{
	xsMachine* the;
	int32_t status = xs_wasm_callable(machine, "re-entrant call: the machine is busy");
	if (status != XS_WASM_OK)
		return status;
	if (step->length > 0x7FFFFFF0 || (step->length && !step->input)) {
		xs_wasm_set_message(machine, "invalid input buffer");
		return XS_WASM_BAD_ARGUMENT;
	}
	the = machine->the;
	machine->in_call = 1;
	machine->interrupted = 0;
	machine->meter_used = 0;
	machine->result_length = 0;
	xsBeginMetering(the, xs_wasm_meter_callback, machine->meter_interval);
	{
		xsBeginHost(the);
		{
			int state = 0;
			xsVars(8);
			xsTry {
				xsVar(0) = xsGet(xsGlobal, xsID(XS_WASM_LOOP_NAME));
				switch (step->kind) {
				case XS_WASM_LOOP_EVAL:
				case XS_WASM_LOOP_SEND:
					if (step->kind == XS_WASM_LOOP_EVAL) {
						char* converted = xs_wasm_from_utf8(step->input, step->length);
						if (!converted)
							xsUnknownError("not enough memory for the input");
						xsVar(2) = xsString(converted);
						free(converted);
						xs_wasm_eval_slot(the, &xsVar(2), &xsVar(1));
					}
					else {
						xsVar(2) = xsArrayBuffer((void*)step->input, (xsIntegerValue)step->length);
						xsVar(3) = xsCall1(xsVar(0), xsID("decode"), xsVar(2));
						xsVar(1) = xsCall1(xsGlobal, xsID("receiveMessage"), xsVar(3));
					}
					xs_wasm_run_jobs(the);
					state = xs_wasm_promise_state(the, &xsVar(1), &xsVar(3));
					if (state == 1) {
						xsCall1(xsVar(0), xsID("watch"), xsVar(1));
						xs_wasm_run_jobs(the);
						status = XS_WASM_PENDING;
					}
					else if (state == 2)
						xsVar(1) = xsVar(3);
					else if (state == 3)
						xsThrow(xsVar(3));
					if (status == XS_WASM_OK)
						status = xs_wasm_encode_result(the, machine, &xsVar(0), &xsVar(1), &xsVar(2));
					break;
				case XS_WASM_LOOP_AWAITED:
					xsVar(1) = xsCall0(xsVar(0), xsID("awaited"));
					state = xsToInteger(xsGet(xsVar(1), xsID("state")));
					xsVar(2) = xsGet(xsVar(1), xsID("value"));
					if (state == 0) {
						xs_wasm_set_message(machine, "no promise is awaited (eval_async or send_value did not return XS_WASM_PENDING)");
						status = XS_WASM_BAD_ARGUMENT;
					}
					else if (state == 1)
						status = XS_WASM_PENDING;
					else if (state == 3)
						xsThrow(xsVar(2));
					else
						status = xs_wasm_encode_result(the, machine, &xsVar(0), &xsVar(2), &xsVar(3));
					break;
				case XS_WASM_LOOP_SETTLE:
					if (step->ok) {
						xsVar(1) = xsArrayBuffer((void*)step->input, (xsIntegerValue)step->length);
					}
					else {
						char* converted = xs_wasm_from_utf8(step->input, step->length);
						if (!converted)
							xsUnknownError("not enough memory for the host's error");
						xsVar(1) = xsString(converted);
						free(converted);
					}
					xsVar(2) = xsCall3(xsVar(0), xsID("settle"), xsNumber((double)step->call), xsBoolean(step->ok), xsVar(1));
					/* the host settles only the calls it has pending (whether or
					   not the guest's own state still knew the call) */
					if (machine->pending_calls)
						machine->pending_calls--;
					xs_wasm_run_jobs(the);
					break;
				case XS_WASM_LOOP_TIMERS:
					xsVar(1) = xsCall1(xsVar(0), xsID("mark"), xsNumber(step->now));
					for (;;) {
						xsVar(2) = xsCall2(xsVar(0), xsID("fire"), xsNumber(step->now), xsVar(1));
						if (!xsTest(xsVar(2)))
							break;
						xs_wasm_run_jobs(the);
					}
					break;
				}
			}
			xsCatch {
				xsVar(4) = xsException;
				xsException = xsUndefined;
				xs_wasm_run_jobs(the);
				xs_wasm_describe_exception(the, machine, &xsVar(4), &xsVar(5), &xsVar(6), &xsVar(7));
				status = XS_WASM_JS_ERROR;
			}
		}
		xsEndHost(the);
		machine->meter_used = xs_wasm_ticks_of(xs_wasm_meter_index(the));
	}
	xsEndMetering(the);
	return xs_wasm_end_call(machine, status);
}

XS_WASM_EXPORT(xs_wasm_eval_async) int32_t xs_wasm_eval_async(xs_wasm_machine* machine, const char* source, size_t length)
{
	xs_wasm_loop_step step = { XS_WASM_LOOP_EVAL, source, length, 0, 0, 0 };
	return xs_wasm_loop_call(machine, &step);
}

XS_WASM_EXPORT(xs_wasm_send_value) int32_t xs_wasm_send_value(xs_wasm_machine* machine, const uint8_t* value, size_t length)
{
	xs_wasm_loop_step step = { XS_WASM_LOOP_SEND, (const char*)value, length, 0, 0, 0 };
	return xs_wasm_loop_call(machine, &step);
}

XS_WASM_EXPORT(xs_wasm_awaited) int32_t xs_wasm_awaited(xs_wasm_machine* machine)
{
	xs_wasm_loop_step step = { XS_WASM_LOOP_AWAITED, NULL, 0, 0, 0, 0 };
	return xs_wasm_loop_call(machine, &step);
}

XS_WASM_EXPORT(xs_wasm_settle) int32_t xs_wasm_settle(xs_wasm_machine* machine, uint32_t call, int32_t ok, const uint8_t* payload, size_t length)
{
	xs_wasm_loop_step step = { XS_WASM_LOOP_SETTLE, (const char*)payload, length, call, ok ? 1 : 0, 0 };
	return xs_wasm_loop_call(machine, &step);
}

XS_WASM_EXPORT(xs_wasm_run_timers) int32_t xs_wasm_run_timers(xs_wasm_machine* machine, double now)
{
	xs_wasm_loop_step step = { XS_WASM_LOOP_TIMERS, NULL, 0, 0, 0, now };
	if (!(now >= 0) || now > 8.64e15) {
		if (machine)
			xs_wasm_set_message(machine, "run_timers: `now` must be a time between 0 and 8.64e15 ms");
		return XS_WASM_BAD_ARGUMENT;
	}
	return xs_wasm_loop_call(machine, &step);
}

/* A number the loop object's `method` returns (-1 when the machine cannot
   be called or the call fails). Unmetered: it reads state only. */
static double xs_wasm_loop_number(xs_wasm_machine* machine, const char* method)
{
	double result = -1;
	xsMachine* the;
	if (!machine || !machine->the || machine->status != XS_WASM_OK || machine->in_call)
		return -1;
	the = machine->the;
	machine->in_call = 1;
	xsBeginHost(the);
	{
		xsVars(1);
		xsTry {
			xsVar(0) = xsGet(xsGlobal, xsID(XS_WASM_LOOP_NAME));
			result = xsToNumber(xsCall0(xsVar(0), xsID(method)));
		}
		xsCatch {
			xsException = xsUndefined;
			result = -1;
		}
	}
	xsEndHost(the);
	if (xs_wasm_abort_status(the)) {
		machine->status = xs_wasm_status_of_abort(xs_wasm_abort_status(the));
		result = -1;
	}
	machine->in_call = 0;
	return result;
}

XS_WASM_EXPORT(xs_wasm_next_timer) double xs_wasm_next_timer(xs_wasm_machine* machine)
{
	return xs_wasm_loop_number(machine, "next");
}

XS_WASM_EXPORT(xs_wasm_clock) double xs_wasm_clock(xs_wasm_machine* machine)
{
	double clock = xs_wasm_loop_number(machine, "clock");
	return clock < 0 ? 0 : clock;
}

XS_WASM_EXPORT(xs_wasm_pending_calls) uint32_t xs_wasm_pending_calls(xs_wasm_machine* machine)
{
	return machine ? machine->pending_calls : 0;
}
