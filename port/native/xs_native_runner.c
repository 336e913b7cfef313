/*
 * xs_native_runner: XS compiled natively with the port's own configuration
 * (the same platform header, feature switches and host API as every wasm
 * variant), driven over stdin/stdout. It is the reference that answers
 * "what does XS itself do with our configuration": `cargo xtask test262`
 * runs the conformance suite on it, and the benchmark runs kernels on it.
 * Built by the xtask with the `cc` crate into target/; never shipped.
 *
 * Protocol (all integers u32 little-endian). A request:
 *   flags        XS_WASM_CREATE_* bits for the fresh machine
 *   meter_limit  meter ticks per script, 0 = unlimited
 *   count        number of scripts
 *   count x { length, bytes }  UTF-8 sources, evaluated in order in one
 *                fresh machine; evaluation stops at the first that fails
 * The reply:
 *   status       xs_wasm_status of the last script evaluated
 *   index        which script that was (0-based)
 *   meter        meter ticks the last script used
 *   micros       wall time of the last script's evaluation, microseconds
 *                (the earlier scripts are setup: harness files, libraries)
 *   length, bytes  the result payload (see xs_wasm.h)
 *   length, bytes  everything the machine logged, one line per call,
 *                  each line "<level> <text>\n"
 * A request with count 0 ends the runner. A crash ends the process: the
 * driver counts the test as failed and starts another runner.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "xs_wasm.h"

char* xs_wasm_native_cstack_limit = NULL;

/* ------------------------------------------------------- host imports -- */

static char* log_text = NULL;
static size_t log_length = 0, log_capacity = 0;

static void log_append(const char* text, size_t length)
{
	if (log_length + length + 1 > log_capacity) {
		size_t capacity = log_capacity ? log_capacity : 4096;
		while (log_length + length + 1 > capacity)
			capacity *= 2;
		char* grown = realloc(log_text, capacity);
		if (!grown)
			return;
		log_text = grown;
		log_capacity = capacity;
	}
	memcpy(log_text + log_length, text, length);
	log_length += length;
}

int32_t xs_wasm_host_send(xs_wasm_machine* machine, const char* json, uint32_t length)
{
	(void)machine; (void)json; (void)length;
	return 0; /* no message handler: every reply is undefined */
}

void xs_wasm_host_reply(xs_wasm_machine* machine, char* buffer)
{
	(void)machine; (void)buffer;
}

void xs_wasm_host_log(xs_wasm_machine* machine, int32_t level, const char* text, uint32_t length)
{
	char prefix[4] = { (char)('0' + (level & 7)), ' ', 0, 0 };
	(void)machine;
	log_append(prefix, 2);
	log_append(text, length);
	log_append("\n", 1);
}

double xs_wasm_host_now(void)
{
	return 0; /* deterministic, as the loaders default to */
}

int32_t xs_wasm_host_interrupt(xs_wasm_machine* machine)
{
	(void)machine;
	return 0; /* the runner's parent enforces the time limit by killing it */
}

int32_t xs_wasm_host_call_import(xs_wasm_machine* machine, uint32_t call, const char* name, uint32_t name_length, const uint8_t* args, uint32_t args_length)
{
	static const char message[] = "no host functions in the native runner";
	(void)machine; (void)call; (void)name; (void)name_length; (void)args; (void)args_length;
	(void)message;
	return -2; /* an error with an empty message (host_reply writes nothing) */
}

/* ----------------------------------------------------------- protocol -- */

static int read_exact(void* buffer, size_t size)
{
	return fread(buffer, 1, size, stdin) == size;
}

static int read_u32(uint32_t* value)
{
	uint8_t b[4];
	if (!read_exact(b, 4))
		return 0;
	*value = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
	return 1;
}

static void write_u32(uint32_t value)
{
	uint8_t b[4] = { (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16), (uint8_t)(value >> 24) };
	fwrite(b, 1, 4, stdout);
}

static void write_bytes(const void* bytes, uint32_t length)
{
	write_u32(length);
	if (length)
		fwrite(bytes, 1, length, stdout);
}

static uint64_t now_micros(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One request: returns 0 at the end of input or on a count of 0. */
static int serve(void)
{
	uint32_t flags, meter_limit, count, i, status = XS_WASM_OK, index = 0, meter = 0;
	char** sources;
	uint32_t* lengths;
	xs_wasm_creation creation;
	xs_wasm_machine* machine;
	uint64_t start = 0, micros = 0;
	if (!read_u32(&flags) || !read_u32(&meter_limit) || !read_u32(&count) || count == 0)
		return 0;
	sources = calloc(count, sizeof(char*));
	lengths = calloc(count, sizeof(uint32_t));
	if (!sources || !lengths)
		return 0;
	for (i = 0; i < count; i++) {
		if (!read_u32(&lengths[i]) || !(sources[i] = malloc(lengths[i] + 1)) || !read_exact(sources[i], lengths[i]))
			return 0;
	}
	log_length = 0;
	memset(&creation, 0, sizeof(creation));
	creation.flags = flags;
	machine = xs_wasm_create(&creation);
	if (!machine) {
		const char* reason = xs_wasm_last_error();
		status = XS_WASM_ABORTED;
		write_u32(status); write_u32(0); write_u32(0); write_u32(0);
		write_bytes(reason, (uint32_t)strlen(reason));
		write_bytes(log_text, (uint32_t)log_length);
	}
	else {
		xs_wasm_set_meter(machine, meter_limit, 0);
		for (i = 0; i < count; i++) {
			index = i;
			start = now_micros();
			status = (uint32_t)xs_wasm_eval(machine, sources[i], lengths[i]);
			micros = now_micros() - start;
			meter = xs_wasm_meter(machine);
			if (status != XS_WASM_OK)
				break;
		}
		{
			write_u32(status);
			write_u32(index);
			write_u32(meter);
			write_u32(micros > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)micros);
			write_bytes(xs_wasm_result(machine), xs_wasm_result_length(machine));
			write_bytes(log_text, (uint32_t)log_length);
		}
		xs_wasm_delete(machine);
	}
	fflush(stdout);
	for (i = 0; i < count; i++)
		free(sources[i]);
	free(sources);
	free(lengths);
	return 1;
}

int main(void)
{
	/* XS's C-stack limit: the main thread's stack, less a margin for the
	   RangeError to be built and for the runner's own frames. */
	struct rlimit limit;
	char here;
	size_t size = 8u << 20;
	if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < size)
		size = (size_t)limit.rlim_cur;
	xs_wasm_native_cstack_limit = &here - size + (512u << 10);
	while (serve())
		;
	return 0;
}
