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
 *   3 x { length, bytes }  the module loader's root directory and the
 *                directory scripts import from (absolute paths), and a module
 *                to import after the scripts (xs_wasm_import; a "/"
 *                specifier, from the root); length 0: none (no root: every
 *                import fails). Imports resolve as
 *                files: "./" and "../" from the importing module's directory
 *                (the scripts' directory for a script), "/" from the root;
 *                a module id is its path; a ".json" file is a JSON module
 *                (test262's tests and their _FIXTURE files)
 * The reply:
 *   status       xs_wasm_status of the last script evaluated
 *   index        which script that was (0-based; count: the module)
 *   meter        meter ticks the last script used
 *   micros       wall time of the last script's evaluation, microseconds
 *                (the earlier scripts are setup: harness files, libraries)
 *   length, bytes  the result payload (see xs_wasm.h)
 *   length, bytes  everything the machine logged, one line per call,
 *                  each line "<level> <text>\n"
 * A request with count 0 ends the runner. A crash ends the process: the
 * driver counts the test as failed and starts another runner.
 * `xs_native_runner --compile FILE...` compiles the preludes for the build
 * instead (compile_files).
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

/* The module loader's state (see xs_wasm_host_resolve below): its last
   reply, waiting for host_reply; the loader's root and the scripts'
   directory (empty: no loader). */
static char* module_reply = NULL;
static size_t module_reply_length = 0;
static int reply_is_module = 0;
static char module_root[4096] = "";
static char module_base[4096] = "";

int32_t xs_wasm_host_send(xs_wasm_machine* machine, const char* json, uint32_t length)
{
	(void)machine; (void)json; (void)length;
	reply_is_module = 0;
	return 0; /* no message handler: every reply is undefined */
}

void xs_wasm_host_reply(xs_wasm_machine* machine, char* buffer)
{
	(void)machine;
	if (reply_is_module) {
		if (module_reply_length)
			memcpy(buffer, module_reply, module_reply_length);
		free(module_reply);
		module_reply = NULL;
		module_reply_length = 0;
		reply_is_module = 0;
	}
}

void xs_wasm_host_log(xs_wasm_machine* machine, int32_t level, const char* text, uint32_t length)
{
	char prefix[4] = { (char)('0' + (level & 7)), ' ', 0, 0 };
	(void)machine;
	log_append(prefix, 2);
	log_append(text, length);
	log_append("\n", 1);
}

/* The module loader: files, by path (see the protocol above). */

static int32_t module_answer(char* text, size_t length, int ok)
{
	free(module_reply);
	module_reply = text;
	module_reply_length = length;
	reply_is_module = 1;
	return ok ? (int32_t)length : -(int32_t)length - 1;
}

static int32_t module_error(const char* format, const char* a, const char* b)
{
	char* text = malloc(4096);
	int length;
	if (!text)
		return module_answer(NULL, 0, 0);
	length = snprintf(text, 4096, format, a, b);
	if (length < 0)
		length = 0;
	if (length >= 4096)
		length = 4095;
	return module_answer(text, (size_t)length, 0);
}

int32_t xs_wasm_host_resolve(xs_wasm_machine* machine, const char* specifier, uint32_t specifier_length, const char* referrer, uint32_t referrer_length)
{
	char spec[4096], path[8192];
	size_t base = 0;
	(void)machine;
	if (specifier_length >= sizeof(spec) || referrer_length >= sizeof(path) / 2)
		return module_error("specifier too long%s%s", "", "");
	memcpy(spec, specifier, specifier_length);
	spec[specifier_length] = 0;
	if (!module_root[0])
		return module_error("cannot import \"%s\": no module loader%s", spec, "");
	if (spec[0] == '/') {
		snprintf(path, sizeof(path), "%s", module_root);
	}
	else if (!strncmp(spec, "./", 2) || !strncmp(spec, "../", 3)) {
		if (referrer) {
			memcpy(path, referrer, referrer_length);
			path[referrer_length] = 0;
		}
		else
			snprintf(path, sizeof(path), "%s/script", module_base);
		{
			char* slash = strrchr(path, '/');
			if (!slash)
				return module_error("cannot import \"%s\" from \"%s\"", spec, path);
			slash[1] = 0;
		}
	}
	else
		return module_error("cannot import \"%s\": a bare specifier without a mapping%s", spec, "");
	base = strlen(path);
	snprintf(path + base, sizeof(path) - base, "%s", spec);
	/* normalize "." and ".." segments */
	{
		char out[8192];
		size_t n = 0;
		char* segment = path;
		while (segment && *segment) {
			char* next = strchr(segment, '/');
			size_t length = next ? (size_t)(next - segment) : strlen(segment);
			if ((length == 0) || ((length == 1) && (segment[0] == '.'))) {
			}
			else if ((length == 2) && (segment[0] == '.') && (segment[1] == '.')) {
				while (n > 0 && out[n - 1] != '/')
					n--;
				if (n > 0)
					n--;
			}
			else {
				out[n++] = '/';
				memcpy(out + n, segment, length);
				n += length;
			}
			segment = next ? next + 1 : NULL;
		}
		out[n] = 0;
		{
			char* copy = malloc(n + 1);
			if (!copy)
				return module_answer(NULL, 0, 0);
			memcpy(copy, out, n + 1);
			return module_answer(copy, n, 1);
		}
	}
}

int32_t xs_wasm_host_load(xs_wasm_machine* machine, const char* id, uint32_t length, int32_t* kind)
{
	char path[8192];
	FILE* file;
	char* text;
	long size;
	(void)machine;
	if (length >= sizeof(path))
		return module_error("module id too long%s%s", "", "");
	memcpy(path, id, length);
	path[length] = 0;
	file = fopen(path, "rb");
	if (!file)
		return module_error("cannot load %s: no such file%s", path, "");
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	fseek(file, 0, SEEK_SET);
	text = malloc(size > 0 ? (size_t)size : 1);
	if (!text || (size > 0 && fread(text, 1, (size_t)size, file) != (size_t)size)) {
		fclose(file);
		free(text);
		return module_error("cannot read %s%s", path, "");
	}
	fclose(file);
	*kind = (length > 5 && !strcmp(path + length - 5, ".json")) ? XS_WASM_MODULE_JSON : XS_WASM_MODULE_JS;
	return module_answer(text, (size_t)size, 1);
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
	char* module = NULL;
	uint32_t module_length = 0;
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
	for (i = 0; i < 2; i++) {
		char* directory = i ? module_base : module_root;
		uint32_t length;
		if (!read_u32(&length) || length >= sizeof(module_root) || !read_exact(directory, length))
			return 0;
		directory[length] = 0;
	}
	if (!read_u32(&module_length) || !(module = malloc(module_length + 1)) || !read_exact(module, module_length))
		return 0;
	module[module_length] = 0;
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
		if ((status == XS_WASM_OK) && module_length) {
			index = count;
			start = now_micros();
			status = (uint32_t)xs_wasm_import(machine, module, module_length);
			micros = now_micros() - start;
			meter = xs_wasm_meter(machine);
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
	free(module);
	return 1;
}

/* --compile FILE...: each file (a prelude, port/preludes/web.js or loop.js) compiled
   to XS bytecode, written to stdout as u32 code size, code, u32 symbols
   size, symbols (xtask/src/preludes.rs makes port/xs_wasm_preludes.h). */
int xs_wasm_compile_prelude(const char* source, unsigned char** code, size_t* code_size, unsigned char** symbols, size_t* symbols_size);

static void put_u32(uint32_t n)
{
	unsigned char b[4] = { n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF, (n >> 24) & 0xFF };
	fwrite(b, 1, 4, stdout);
}

static int compile_files(int argc, char** argv)
{
	for (int i = 0; i < argc; i++) {
		FILE* file = fopen(argv[i], "rb");
		char* source;
		long size;
		unsigned char *code, *symbols;
		size_t code_size, symbols_size;
		if (!file || fseek(file, 0, SEEK_END) || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET)) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
		source = malloc((size_t)size + 1);
		if (!source || fread(source, 1, (size_t)size, file) != (size_t)size) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
		fclose(file);
		source[size] = 0;
		if (!xs_wasm_compile_prelude(source, &code, &code_size, &symbols, &symbols_size)) {
			fprintf(stderr, "cannot compile %s\n", argv[i]);
			return 1;
		}
		put_u32((uint32_t)code_size);
		fwrite(code, 1, code_size, stdout);
		put_u32((uint32_t)symbols_size);
		fwrite(symbols, 1, symbols_size, stdout);
		free(code);
		free(symbols);
		free(source);
	}
	return fflush(stdout) != 0;
}

int main(int argc, char** argv)
{
	/* XS's C-stack limit: the main thread's stack, less a margin for the
	   RangeError to be built and for the runner's own frames. */
	struct rlimit limit;
	char here;
	size_t size = 8u << 20;
	if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < size)
		size = (size_t)limit.rlim_cur;
	xs_wasm_native_cstack_limit = &here - size + (512u << 10);
	if (argc > 1 && !strcmp(argv[1], "--compile"))
		return compile_files(argc - 2, argv + 2);
	while (serve())
		;
	return 0;
}
