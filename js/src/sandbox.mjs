// The Sandbox: one XS machine in its own emscripten Module instance.
//
// Environment-independent core. The entry points (node.mjs, browser.mjs)
// install a platform (how to find, verify and load a build) with setPlatform
// (runtime.mjs). The engine ABI is port/xs_wasm.h of the xs-wasm repository:
// abi.mjs, generated from it, has its status codes, creation layout and
// export names.

import {
  EngineError,
  InvalidJsonError,
  MemoryLimitError,
  MeterLimitError,
  ResultTooLargeError,
  DeadlineError,
  InterruptedError,
  SandboxBusyError,
  SandboxError,
  SandboxStoppedError,
  SnapshotError,
  StackOverflowError,
  StalledError,
} from './errors.mjs';
import { decodeValue, encodeValue } from './values.mjs';
import { openSnapshot, signSnapshot } from './auth.mjs';
import { CREATION_FIELDS, CREATION_FLAGS_OFFSET, CREATION_MEMORY_LIMIT_OFFSET, CREATION_SIZE, CreateFlags, LACKS, ModuleKind, Status } from './abi.mjs';
import { DEFAULT_METER_INTERVAL, asBytes, meterLimitOf, normalizeOptions, uint } from './options.mjs';
import { MEMORY_HEADROOM, currentPlatform, guestExports } from './runtime.mjs';

// What this module exported before runtime.mjs and options.mjs were split from it.
export { ABI_VERSION } from './abi.mjs';
export { DEFAULT_MEMORY_LIMIT, DEFAULT_METER_INTERVAL, MIN_MEMORY_LIMIT, normalizeOptions } from './options.mjs';
export { MEMORY_HEADROOM, Runtime, currentPlatform, customRuntime, inlinedPayload, payloadWasm, setPlatform, sha256Hex, verifySha256 } from './runtime.mjs';

const LOG_LEVELS = /** @type {const} */ (['debug', 'log', 'info', 'warn', 'error']);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Arrays and objects nested deeper than this in JSON from the guest are
 * refused (serde_json's recursion limit, which the Rust crate parses with). */
export const MAX_JSON_DEPTH = 127;

/**
 * What the Rust crate's JSON parser (serde_json) would refuse in `bytes`
 * (UTF-8 JSON text) that JSON.parse accepts: nesting deeper than `maxDepth`
 * and \u escapes of lone surrogates. Returns serde_json's message with its
 * position ("recursion limit exceeded at line 1 column 128", "lone leading
 * surrogate in hex escape at ...", "unexpected end of hex escape at ..."),
 * or null. Other syntax is left to JSON.parse.
 * @param {Uint8Array} bytes
 * @param {number} maxDepth
 * @returns {string | null}
 */
export function jsonProblem(bytes, maxDepth) {
  let depth = 0;
  let inString = false;
  let line = 1;
  let lineStart = 0;
  const at = (/** @type {string} */ what, /** @type {number} */ end) => `${what} at line ${line} column ${end - lineStart}`;
  const hex = (/** @type {number} */ i) => {
    if (i + 4 > bytes.length) return -1;
    const n = Number.parseInt(String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]), 16);
    return Number.isNaN(n) ? -1 : n;
  };
  let nextBackslash = -2;
  for (let i = 0; i < bytes.length; i++) {
    if (inString) {
      // jump to the string's next quote or backslash (indexOf is native)
      if (nextBackslash < i && nextBackslash !== -1) nextBackslash = bytes.indexOf(0x5c, i);
      const quote = bytes.indexOf(0x22, i);
      if (quote < 0) return null; // unterminated: JSON.parse's to report
      i = nextBackslash !== -1 && nextBackslash < quote ? nextBackslash : quote;
    }
    const b = bytes[i];
    if (inString) {
      if (b === 0x22) inString = false;
      else if (b === 0x5c) {
        if (bytes[i + 1] !== 0x75) {
          i++;
          continue;
        }
        const n = hex(i + 2);
        if (n < 0) return null;
        if (n >= 0xdc00 && n <= 0xdfff) return at('lone leading surrogate in hex escape', i + 6);
        if (n >= 0xd800 && n <= 0xdbff) {
          if (bytes[i + 6] !== 0x5c) return at('unexpected end of hex escape', i + 7);
          if (bytes[i + 7] !== 0x75) return at('unexpected end of hex escape', i + 8);
          const n2 = hex(i + 8);
          if (n2 < 0) return null;
          if (n2 < 0xdc00 || n2 > 0xdfff) return at('lone leading surrogate in hex escape', i + 12);
          i += 11;
        } else {
          i += 5;
        }
      }
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) return at('recursion limit exceeded', i + 1);
    } else if (b === 0x5d || b === 0x7d) depth--;
    else if (b === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return null;
}

/** @param {(level: 'debug' | 'log' | 'info' | 'warn' | 'error', text: string) => void} */
export function defaultLog(level, text) {
  const method = level === 'log' ? 'log' : level;
  // eslint-disable-next-line no-console
  console[method](text);
}

/**
 * The text of what a host hook threw, for the guest's Error. Never throws
 * (a throwing `message` getter or toString must not unwind through the
 * engine).
 * @param {unknown} error
 */
export function hostErrorText(error) {
  try {
    if (error instanceof Error) return String(error.message) || error.name || 'Error';
    return String(error);
  } catch {
    return "the host's hook threw a value that cannot be converted to a string";
  }
}

/**
 * A short description of a value a hook returned, for errors.
 * @param {unknown} value
 */
function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'object' && typeof (/** @type {any} */ (value).then) === 'function') return 'a promise (the loader must be synchronous)';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** @param {unknown} error */
function trapError(error) {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return new StackOverflowError({ cause: error });
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new EngineError(`the engine trapped: ${text}`, { cause: error });
}

const TOKEN = Symbol('Sandbox.create');

/** The warm-up script (see Sandbox.#warmUp): about 2,000 short activations of
 * the interpreter loop (built-ins calling back), property access, strings. */
const WARM_UP = `var a = [], t = 0;
for (var i = 0; i < 64; i++) a.push(i);
for (var k = 0; k < 300; k++) {
  t += a.map(function (x) { return x * 2; }).reduce(function (p, q) { return p + q; }, 0);
  var o = {}; o['k' + k] = k; t += JSON.stringify(o).length;
}
t;`;

/**
 * A sandboxed JavaScript machine: one XS machine in its own WebAssembly
 * instance. Create with `await Sandbox.create(options)` or
 * `await Sandbox.restore(snapshot, options)`; every other call is synchronous.
 */
export class Sandbox {
  /** @type {any} the emscripten Module instance (null once released) */
  #M = null;
  /** @type {any} its exports (guestExports; null once released) */
  #api = null;
  /** @type {number} xs_wasm_machine pointer */
  #handle = 0;
  /** @type {number} the build's XS_WASM_LACKS_* bits (its xs_wasm_lacks export) */
  #lacks = 0;
  /** @type {Runtime} */
  #runtime;
  /** @type {NormalizedOptions} */
  #options;
  #inCall = false;
  /** @type {SandboxStoppedError | null} */
  #stopped = null;
  #disposed = false;
  #meter = 0;
  #reply = EMPTY;
  /** @type {string} the call in progress (for errors) */
  #method = '';
  /** performance.now() past which the call in progress stops (0: none) */
  #callDeadline = 0;
  /** set by interrupt() */
  #interruptRequested = false;
  /** @type {'deadline' | 'interrupt' | null} why host_interrupt stopped the call */
  #stoppedBy = null;
  /** the virtual clock (ms): what Date.now() gives the guest without realClock */
  #clock = 0;
  /** @type {Map<number, { done: null | { ok: boolean, value?: any, error?: unknown } }>} pending host calls by id */
  #pending = new Map();
  /** @type {(() => void) | null} wakes a run waiting for a host call */
  #wake = null;
  #running = false;
  /** meter ticks of the run in progress */
  #runMeter = 0;

  /**
   * Host functions the guest calls as `host.NAME(...args)`: each gets the
   * arguments (decoded: real ArrayBuffers, typed arrays, Maps...) with the
   * sandbox as `this`. What it returns is the call's value in the guest; a
   * promise makes the guest's call return a promise that settles with it
   * while the sandbox runs its loop (`await sandbox.run()`). A throw or a
   * rejection is an Error with the same message in the guest.
   * @type {Record<string, Function> | undefined}
   */
  hostFunctions;

  /** The most host calls that may be pending at once (the guest's next
   * async call throws beyond). */
  maxPendingCalls = 1000;

  /** How long (ms) a run waits for pending host calls while nothing else
   * happens; past it they are cancelled and the run throws StalledError.
   * Infinity: forever. */
  hostCallTimeout = 60_000;

  /**
   * Called with each message the guest passes to `sendMessage(msg)`; what it
   * returns is `sendMessage`'s return value in the guest (JSON-able;
   * `undefined` stays `undefined`). If it throws, `sendMessage` throws an
   * Error with the same message in the guest. Must be synchronous.
   * @type {((message: any) => any) | undefined}
   */
  receiveMessage;

  /**
   * The host's module loader: what the sandbox asks when its code imports
   * a module (a static import, import() from a script or a module, or
   * `sandbox.import`). `resolve(specifier, referrer)` returns the id of the
   * module `specifier` names when the module whose id is `referrer` imports
   * it (`referrer` null: a script or the host imports it); `load(id)`
   * returns the module's source: a string of JavaScript module code, or
   * `{ type: 'json', source }` for a JSON module (imported with
   * `with { type: 'json' }`). Both must be synchronous. What they throw
   * fails the import with a TypeError carrying the message (the sandbox
   * stays usable). Each id is loaded once per sandbox. Without a loader,
   * every import fails with a TypeError.
   * @type {{ resolve(specifier: string, referrer: string | null): string, load(id: string): string | { type: 'js' | 'json', source: string } } | undefined}
   */
  moduleLoader;

  /**
   * Receives the guest's console output. Default: the host's console.
   * @type {((level: 'debug' | 'log' | 'info' | 'warn' | 'error', text: string) => void) | undefined}
   */
  onLog;

  /**
   * @param {symbol} token
   * @param {Runtime} runtime
   * @param {NormalizedOptions} options
   */
  constructor(token, runtime, options) {
    if (token !== TOKEN) throw new TypeError('use `await Sandbox.create(options)` or `await Sandbox.restore(bytes, options)`');
    this.#runtime = runtime;
    this.#options = options;
    this.receiveMessage = /** @type {any} */ (options.receiveMessage);
    this.hostFunctions = /** @type {any} */ (options.hostFunctions);
    this.onLog = /** @type {any} */ (options.onLog);
    this.moduleLoader = options.moduleLoader;
  }

  /**
   * Create a fresh sandbox.
   * @param {import('../types/index.js').SandboxOptions} [options]
   * @returns {Promise<Sandbox>}
   */
  static async create(options) {
    const sandbox = await Sandbox.#prepare(options);
    await sandbox.#start(null);
    return sandbox;
  }

  /**
   * Restore a snapshot written by `snapshot()` (by this or any build with the
   * same port ABI and XS version, emscripten or WASI) into a new sandbox.
   * Only memoryLimit of `options.creation`-like settings applies: heap sizes
   * come from the snapshot.
   * @param {Uint8Array | ArrayBuffer | ArrayBufferView} bytes
   * @param {import('../types/index.js').SandboxOptions} [options]
   * @returns {Promise<Sandbox>}
   */
  static async restore(bytes, options) {
    const snapshot = asBytes(bytes);
    if (!snapshot) throw new TypeError('Sandbox.restore(bytes): bytes must be a Uint8Array, an ArrayBuffer or an ArrayBufferView');
    const sandbox = await Sandbox.#prepare(options);
    await sandbox.#start(openSnapshot(sandbox.#options.snapshotKey, snapshot, currentPlatform().hmacSha256));
    return sandbox;
  }

  /**
   * A sandbox not yet started: options checked, runtime loaded and warmed up.
   * @param {unknown} options
   */
  static async #prepare(options) {
    const o = normalizeOptions(options);
    const runtime = await currentPlatform().loadRuntime(o);
    if (o.warmUp) await Sandbox.#warmUp(runtime);
    return new Sandbox(TOKEN, runtime, o);
  }

  /**
   * Once per runtime (compiled module): run WARM_UP in a throwaway sandbox.
   * V8 first runs wasm functions in baseline code (Liftoff) and replaces them
   * with optimized code (TurboFan) only from their next call, with no
   * on-stack replacement; XS's interpreter loop runs a whole evaluate in one
   * call, so a long first evaluate would stay in baseline code. The warm-up
   * calls the loop often enough for V8 to start optimizing it. Off by
   * default: V8's optimizing compile of the loop takes longer than the
   * warm-up (0.3-0.8 s here), so in Node 20 and Chromium 148 the first
   * evaluate was no faster with it (README, "V8 warm-up"). A warm-up that
   * fails is ignored: the sandbox the caller asked for reports its own errors.
   * @param {Runtime} runtime
   */
  static #warmUp(runtime) {
    // a factory that compiles its own module per instance shares no code to warm
    if (!runtime.wasmModule) return undefined;
    if (!runtime.warmedUp) {
      runtime.warmedUp = (async () => {
        const sandbox = new Sandbox(TOKEN, runtime, normalizeOptions({ onLog: () => {}, warmUp: false, meterLimit: 50_000_000 }));
        try {
          await sandbox.#start(null);
          sandbox.evaluate(WARM_UP);
        } finally {
          sandbox.dispose();
        }
      })().catch(() => {});
    }
    return runtime.warmedUp;
  }

  /** @param {Uint8Array | null} snapshot */
  async #start(snapshot) {
    const limit = this.#options.memoryLimit;
    const M = await this.#runtime.instantiate(this.#hostHooks(), (level, text) => this.#log(level, text), {
      hostTimeZone: this.#options.hostTimeZone,
      memoryCap: limit ? limit + MEMORY_HEADROOM : 0,
    });
    const api = guestExports(M);
    this.#M = M;
    this.#api = api;
    this.#lacks = typeof api.lacks === 'function' ? api.lacks() >>> 0 : 0;
    try {
      const creation = this.#writeCreation();
      let handle = 0;
      if (snapshot) {
        const ptr = api.alloc(snapshot.length) >>> 0;
        if (!ptr) throw new SnapshotError(`a snapshot of ${snapshot.length} bytes does not fit in the sandbox's memory`);
        M.HEAPU8.set(snapshot, ptr);
        try {
          handle = api.restore(ptr, snapshot.length, creation) >>> 0;
        } catch (error) {
          throw new SnapshotError(`the engine trapped while reading the snapshot: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (!handle) throw new SnapshotError(this.#lastError());
        api.free(ptr);
      } else {
        try {
          handle = api.create(creation) >>> 0;
        } catch (error) {
          throw trapError(error);
        }
        if (!handle) {
          const reason = this.#lastError();
          if (/memory/i.test(reason)) throw new MemoryLimitError(this.#options.memoryLimit);
          throw new EngineError(`cannot create the machine: ${reason}`);
        }
      }
      api.free(creation);
      this.#handle = handle;
      api.setMeter(handle, this.#options.meterLimit, this.#options.meterInterval);
      // the virtual clock goes on from where a snapshot left it
      this.#clock = api.clock(handle);
    } catch (error) {
      this.#M = null; // drop the instance: its memory goes with it
      this.#api = null;
      this.#disposed = true;
      throw error;
    }
  }

  #writeCreation() {
    const ptr = this.#api.alloc(CREATION_SIZE) >>> 0;
    if (!ptr) throw new EngineError('cannot allocate the creation parameters');
    const view = new DataView(this.#M.HEAPU8.buffer, ptr, CREATION_SIZE);
    this.#options.creation.forEach((value, i) => {
      const field = CREATION_FIELDS[i];
      if (field.signed) view.setInt32(field.offset, value, true);
      else view.setUint32(field.offset, value, true);
    });
    view.setUint32(CREATION_MEMORY_LIMIT_OFFSET, this.#options.memoryLimit, true);
    let flags = this.#options.test262Host ? CreateFlags.TEST262_HOST : 0;
    if (this.#options.lockdown) flags |= CreateFlags.LOCKDOWN;
    if (!this.#options.webGlobals) flags |= CreateFlags.NO_WEB_GLOBALS;
    view.setUint32(CREATION_FLAGS_OFFSET, flags, true);
    return ptr;
  }

  #lastError() {
    const ptr = this.#api.lastError() >>> 0;
    const heap = this.#M.HEAPU8;
    let end = ptr;
    while (end < heap.length && heap[end] !== 0) end++;
    return decoder.decode(heap.subarray(ptr, end)) || 'unknown reason';
  }

  #hostHooks() {
    return {
      send: (/** @type {number} */ _machine, /** @type {number} */ ptr, /** @type {number} */ length) => {
        let reply = EMPTY;
        let ok = true;
        try {
          const bytes = this.#M.HEAPU8.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0));
          const problem = jsonProblem(bytes, MAX_JSON_DEPTH);
          if (problem) throw new Error(`invalid JSON from sendMessage: ${problem}`);
          const text = decoder.decode(bytes);
          const handler = this.receiveMessage;
          if (typeof handler !== 'function') {
            throw new Error('the host has no receiveMessage hook (set options.receiveMessage or sandbox.receiveMessage)');
          }
          const value = handler.call(this, JSON.parse(text));
          if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
            throw new Error("the host's receiveMessage returned a promise: sandbox calls are synchronous, return the value itself");
          }
          const json = JSON.stringify(value);
          if (json !== undefined) reply = encoder.encode(json);
          const replyProblem = jsonProblem(reply, Infinity);
          if (replyProblem) throw new Error(`the host's reply is not valid JSON for the guest: ${replyProblem}`);
        } catch (error) {
          ok = false;
          reply = encoder.encode(hostErrorText(error));
        }
        if (reply.length > 0x7ffffff0) {
          ok = false;
          reply = encoder.encode(`the host's reply is too large (${reply.length} bytes)`);
        }
        this.#reply = reply;
        return ok ? reply.length : -reply.length - 1;
      },
      reply: (/** @type {number} */ _machine, /** @type {number} */ buffer) => {
        this.#M.HEAPU8.set(this.#reply, buffer >>> 0);
        this.#reply = EMPTY;
      },
      resolve: (/** @type {number} */ _machine, /** @type {number} */ ptr, /** @type {number} */ length, /** @type {number} */ referrerPtr, /** @type {number} */ referrerLength) => {
        const heap = this.#M.HEAPU8;
        const specifier = decoder.decode(heap.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0)));
        const referrer = referrerPtr ? decoder.decode(heap.subarray(referrerPtr >>> 0, (referrerPtr >>> 0) + (referrerLength >>> 0))) : null;
        return this.#moduleReply(`"${specifier}" cannot be imported`, (loader) => {
          const id = loader.resolve(specifier, referrer);
          if (typeof id !== 'string') throw new Error(`the module loader's resolve("${specifier}") returned ${describe(id)}, not a string`);
          return id;
        }).status;
      },
      load: (/** @type {number} */ _machine, /** @type {number} */ ptr, /** @type {number} */ length, /** @type {number} */ kindPtr) => {
        const id = decoder.decode(this.#M.HEAPU8.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0)));
        let kind = ModuleKind.JS;
        const { status, ok } = this.#moduleReply(`${id} cannot be loaded`, (loader) => {
          const source = loader.load(id);
          if (typeof source === 'string') return source;
          if (source !== null && typeof source === 'object' && (source.type === 'json' || source.type === 'js') && typeof source.source === 'string') {
            if (source.type === 'json') kind = ModuleKind.JSON;
            return source.source;
          }
          throw new Error(`the module loader's load("${id}") returned ${describe(source)}, not a string or { type: 'js' | 'json', source: string }`);
        });
        if (ok) new DataView(this.#M.HEAPU8.buffer).setInt32(kindPtr >>> 0, kind, true);
        return status;
      },
      log: (/** @type {number} */ _machine, /** @type {number} */ level, /** @type {number} */ ptr, /** @type {number} */ length) => {
        const text = decoder.decode(this.#M.HEAPU8.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0)));
        this.#log(level, text);
      },
      now: () => (this.#options.realClock ? Date.now() : this.#clock),
      call: (/** @type {number} */ _machine, /** @type {number} */ id, /** @type {number} */ namePtr, /** @type {number} */ nameLength, /** @type {number} */ argsPtr, /** @type {number} */ argsLength) => this.#hostCall(id >>> 0, namePtr >>> 0, nameLength >>> 0, argsPtr >>> 0, argsLength >>> 0),
      // Asked once per meter interval while guest code runs (port/xs_wasm.h,
      // host_interrupt): the one moment this thread has the machine's
      // attention during a call.
      interrupt: () => {
        if (this.#interruptRequested || (this.#options.interruptBuffer !== undefined && Atomics.load(this.#options.interruptBuffer, 0) !== 0)) {
          this.#stoppedBy = 'interrupt';
          return 1;
        }
        if (this.#callDeadline && performance.now() >= this.#callDeadline) {
          this.#stoppedBy = 'deadline';
          return 1;
        }
        return 0;
      },
    };
  }

  /**
   * Run `step` on the module loader and keep its text (or its error's
   * message) as the reply for `host_reply`: returns the status for the
   * engine (the length, or -length - 1 for an error message).
   * @param {string} what what fails without a loader
   * @param {(loader: any) => string} step
   */
  #moduleReply(what, step) {
    let reply;
    let ok = true;
    try {
      const loader = this.moduleLoader;
      if (!loader) throw new Error(`no module loader: the host did not set one (options.moduleLoader or sandbox.moduleLoader), so ${what}`);
      const text = step(loader);
      reply = encoder.encode(text);
    } catch (error) {
      ok = false;
      reply = encoder.encode(hostErrorText(error));
    }
    if (reply.length > 0x7ffffff0) {
      ok = false;
      reply = encoder.encode(`the module loader's reply is too large (${reply.length} bytes)`);
    }
    this.#reply = reply;
    return { status: ok ? reply.length : -reply.length - 1, ok };
  }

  /**
   * @param {number} level
   * @param {string} text
   */
  #log(level, text) {
    try {
      (this.onLog ?? defaultLog).call(this, LOG_LEVELS[level] ?? 'log', text);
    } catch {
      // A throwing log hook must not unwind through the engine: ignored.
    }
  }

  /** @param {string} method */
  #checkUsable(method) {
    if (this.#inCall) throw new SandboxBusyError(method);
    if (this.#stopped) throw new SandboxStoppedError(this.#stopped.reason, { cause: this.#stopped });
    if (this.#disposed || !this.#M) throw new SandboxStoppedError('disposed');
  }

  /**
   * Stop the sandbox for good and release its instance.
   * @param {SandboxStoppedError} error
   */
  #stop(error) {
    this.#stopped = error;
    this.#release();
    return error;
  }

  #release() {
    const api = this.#api;
    this.#M = null;
    this.#api = null;
    this.#reply = EMPTY;
    if (api && this.#handle) {
      try {
        api.delete(this.#handle);
      } catch {
        // the instance is dropped anyway
      }
    }
    this.#handle = 0;
  }

  #resultBytes() {
    const api = this.#api;
    const ptr = api.result(this.#handle) >>> 0;
    const length = api.resultLength(this.#handle) >>> 0;
    return this.#M.HEAPU8.subarray(ptr, ptr + length);
  }

  /**
   * @param {string} method
   * @param {'eval' | 'send' | 'import'} exportName the key in guestExports
   * @param {Uint8Array} input
   */
  #call(method, exportName, input) {
    this.#checkUsable(method);
    this.#arm(method);
    const api = this.#api;
    const ptr = api.alloc(input.length) >>> 0;
    if (!ptr) throw new RangeError(`${method}: an input of ${input.length} bytes does not fit in the sandbox's memory`);
    this.#M.HEAPU8.set(input, ptr);
    let status;
    this.#inCall = true;
    try {
      status = api[exportName](this.#handle, ptr, input.length);
    } catch (error) {
      this.#inCall = false;
      this.#meter = api.meter(this.#handle) >>> 0;
      throw this.#stop(trapError(error));
    }
    this.#inCall = false;
    api.free(ptr);
    this.#meter = api.meter(this.#handle) >>> 0;
    const bytes = this.#resultBytes();
    const problem = status === Status.OK || status === Status.JS_ERROR ? jsonProblem(bytes, MAX_JSON_DEPTH) : null;
    if (problem) throw new InvalidJsonError(`${method}: invalid JSON from the guest: ${status === Status.JS_ERROR ? 'exception description: ' : ''}${problem}`);
    const text = decoder.decode(bytes);
    if (status === Status.OK) {
      if (text === '') return null;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new InvalidJsonError(`${method}: the guest's result is not JSON (was JSON.stringify replaced?): ${String(error)}`);
      }
    }
    throw this.#statusError(status, text);
  }

  /**
   * Start the clock of a call: its deadline from now; an interrupt asked
   * between calls stops the sandbox before the call runs.
   * @param {string} method
   */
  #arm(method) {
    this.#method = method;
    this.#stoppedBy = null;
    if (this.#interruptRequested || (this.#options.interruptBuffer !== undefined && Atomics.load(this.#options.interruptBuffer, 0) !== 0)) {
      throw this.#stop(new InterruptedError(method));
    }
    this.#callDeadline = this.#options.deadlineMs ? performance.now() + this.#options.deadlineMs : 0;
  }

  /**
   * @param {number} status
   * @param {string} text
   */
  #statusError(status, text) {
    switch (status) {
      case Status.JS_ERROR: {
        let thrown;
        try {
          thrown = JSON.parse(text);
        } catch (error) {
          return new InvalidJsonError(`the guest's exception description is not JSON: ${String(error)}`);
        }
        return new SandboxError(thrown && typeof thrown === 'object' ? thrown : { name: '', message: String(thrown) });
      }
      case Status.METER_LIMIT:
        return this.#stop(new MeterLimitError(this.#meter, this.#options.meterLimit));
      case Status.OUT_OF_MEMORY:
        return this.#stop(new MemoryLimitError(this.#options.memoryLimit));
      case Status.INTERRUPTED:
        return this.#stop(this.#stoppedBy === 'deadline' ? new DeadlineError(this.#method, this.#options.deadlineMs, 'the sandbox was stopped') : new InterruptedError(this.#method));
      case Status.STACK_OVERFLOW:
        return this.#stop(new StackOverflowError());
      case Status.DEAD:
        return this.#stop(new EngineError(text || 'the machine was stopped by an earlier call', { status }));
      case Status.RESULT_TOO_LARGE: {
        let size = 0;
        try {
          size = Number(JSON.parse(text).size) || 0;
        } catch {
          // the size is unknown; the error says so with 0
        }
        return new ResultTooLargeError(size, this.#options.memoryLimit);
      }
      default:
        return this.#stop(new EngineError(`engine status ${status}: ${text || 'no message'}`, { status }));
    }
  }

  /**
   * Evaluate `source` as a sloppy-mode global script (like a classic
   * `<script>`: top-level declarations, `let` and `const` included, persist
   * for later calls), drain the promise job queue, and return the
   * completion value as JSON:
   * `undefined`, functions and symbols give `null`; a promise settled by then
   * gives its value (or throws its rejection).
   *
   * `source` is read whole: a NUL character in it is U+0000 (inside a
   * string literal, part of the string; elsewhere a SyntaxError).
   *
   * Throws SandboxError when the script throws (the sandbox stays usable);
   * ResultTooLargeError when the result does not fit in the sandbox's memory
   * (the sandbox stays usable);
   * MeterLimitError, MemoryLimitError, StackOverflowError, EngineError,
   * DeadlineError (option deadlineMs) and InterruptedError (interrupt())
   * stop the sandbox; SandboxStoppedError after that; SandboxBusyError when called
   * from inside this sandbox's own hooks.
   * @param {string} source
   * @returns {any}
   */
  evaluate(source) {
    if (typeof source !== 'string') throw new TypeError(`evaluate(source): source must be a string, got ${typeof source}`);
    return this.#call('evaluate', 'eval', encoder.encode(source));
  }

  /**
   * Call the guest's `globalThis.receiveMessage(message)` with a copy of
   * `message` (JSON; `undefined` is sent as `null`), drain the job queue, and
   * return its return value as JSON (a promise is awaited as in evaluate).
   * The guest's `sendMessage` calls during the call reach `receiveMessage`.
   * Errors as evaluate(); a guest without receiveMessage is a SandboxError
   * (TypeError).
   * @param {any} message
   * @returns {any}
   */
  sendMessage(message) {
    let text;
    try {
      text = JSON.stringify(message) ?? 'null';
    } catch (error) {
      // A cycle or a BigInt (TypeError), or a value nested deeper than V8's
      // stack (RangeError): the same TypeError as any other bad message.
      throw new TypeError(`sendMessage: the message cannot be written as JSON: ${error?.message ?? error}`);
    }
    const json = encoder.encode(text);
    const problem = jsonProblem(json, Infinity);
    if (problem) throw new TypeError(`sendMessage: the message is not valid JSON for the guest: ${problem} (strings must be well-formed Unicode)`);
    return this.#call('sendMessage', 'send', json);
  }

  /**
   * Import the module `specifier` names, as a script's `import(specifier)`
   * does (the loader's resolve gets referrer null), run the job queue until
   * it is empty (so top-level await settles), and return the module's
   * namespace as JSON: an object of its exports (`default` included). The
   * graph comes from `moduleLoader`; static imports, import() from scripts
   * and modules, `import.meta` (its `uri` is the module's id), JSON modules
   * (`with { type: 'json' }`), cycles and top-level await behave as the
   * language says. A module is evaluated once per sandbox (importing it
   * again gives the same namespace or the same error); loaded modules stay
   * in snapshots.
   *
   * Throws SandboxError when the graph fails to load (the loader's errors
   * are TypeErrors naming the module), link or evaluate, or when the module
   * is still evaluating once the job queue is empty (a top-level await of a
   * promise nothing settles: TypeError); the sandbox stays usable. Other
   * errors as evaluate().
   * @param {string} specifier
   * @returns {any}
   */
  import(specifier) {
    if (typeof specifier !== 'string') throw new TypeError(`import(specifier): specifier must be a string, got ${typeof specifier}`);
    return this.#call('import', 'import', encoder.encode(specifier));
  }

  /**
   * Write the machine's heap to a snapshot (after a garbage collection).
   * Deterministic: the same history gives the same bytes. With the option
   * snapshotKey it ends in its MAC (40 bytes more; see auth.mjs).
   * @returns {Uint8Array}
   */
  snapshot() {
    this.#checkUsable('snapshot');
    let status;
    try {
      status = this.#api.snapshot(this.#handle);
    } catch (error) {
      throw this.#stop(trapError(error));
    }
    const bytes = this.#resultBytes();
    if (status === Status.OK) {
      const key = this.#options.snapshotKey;
      return key ? signSnapshot(key, bytes, currentPlatform().hmacSha256) : bytes.slice();
    }
    const text = decoder.decode(bytes);
    if (status === Status.SNAPSHOT_ERROR) throw new SnapshotError(text || 'XS could not write the snapshot');
    throw this.#statusError(status, text);
  }

  /**
   * Change the meter limit (ticks per call, at least 1; Infinity for none)
   * and the check interval (ticks) for later calls. A limit of 0 is a
   * RangeError (the limit in force stays).
   * @param {number} limit
   * @param {number} [interval]
   */
  setMeterLimit(limit, interval = this.#options.meterInterval) {
    const l = meterLimitOf(limit);
    const i = uint(interval, 'meterInterval', DEFAULT_METER_INTERVAL);
    if (i === 0) throw new RangeError('meterInterval must be at least 1');
    this.#checkUsable('setMeterLimit');
    this.#options = { ...this.#options, meterLimit: l, meterInterval: i };
    this.#api.setMeter(this.#handle, l, i);
  }

  /** Meter ticks used by the last evaluate/sendMessage call. */
  get meter() {
    return this.#meter;
  }

  /**
   * Stop the sandbox: the call in progress ends with InterruptedError at
   * the guest's next meter check (call it from a hook: receiveMessage,
   * onLog), or else the next call does, before it runs; the sandbox is
   * then stopped for good. Idempotent. From another thread, use the
   * `interruptBuffer` option instead.
   */
  interrupt() {
    this.#interruptRequested = true;
  }

  /**
   * XS's heap counters, and the instance's WebAssembly memory: the same
   * figures as the Rust crate's Machine::heap_statistics on the same
   * history. `collect: true` runs a full garbage collection first, so the
   * "used" figures count live data only.
   * @param {{ collect?: boolean }} [options]
   * @returns {import('../types/index.js').HeapStatistics}
   */
  heapStatistics(options = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('heapStatistics(options): options must be an object');
    this.#checkUsable('heapStatistics');
    const api = this.#api;
    let status;
    this.#inCall = true;
    try {
      status = api.heapStatistics(this.#handle, options.collect ? 1 : 0);
    } catch (error) {
      throw this.#stop(trapError(error));
    } finally {
      this.#inCall = false;
    }
    const text = decoder.decode(this.#resultBytes());
    if (status !== Status.OK) throw this.#statusError(status, text);
    return { ...JSON.parse(text), linearMemory: this.#M.HEAPU8.byteLength };
  }

  /** The wall-clock deadline of each call, milliseconds (0: none). */
  get deadlineMs() {
    return this.#options.deadlineMs;
  }

  /** The meter limit in force (ticks per call; Infinity: none). */
  get meterLimit() {
    return this.#options.meterLimit || Infinity;
  }

  /** The memory limit (bytes of XS heap; 0: none). */
  get memoryLimit() {
    return this.#options.memoryLimit;
  }

  /** The build this sandbox runs on (a variant name such as "emcc-os"). */
  get build() {
    return this.#runtime.variant;
  }

  /** Bytes of WebAssembly memory the sandbox's instance holds now (0 once released). */
  get memoryBytes() {
    return this.#M ? this.#M.HEAPU8.byteLength : 0;
  }

  /** XS version of the engine, "major.minor.patch" (empty once released). */
  get xsVersion() {
    if (!this.#M) return '';
    const v = this.#api.xsVersion() >>> 0;
    return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }

  /**
   * Engine features the build is made without, as the manifest names them:
   * `[]` for a full build; `['regexp-property-escapes', 'string-normalize']`
   * for a -lite build (`\p{...}` is a SyntaxError there, and normalize()
   * throws a RangeError beyond ASCII, or Latin-1 in NFC). Read from the
   * engine itself (its optional `xs_wasm_lacks` export; builds without it are
   * full). Snapshots restore only in builds with the same list.
   * @returns {string[]}
   */
  get lacks() {
    return LACKS.filter(({ bit }) => this.#lacks & bit).map(({ name }) => name);
  }

  /** Whether a call stopped the sandbox (or it was disposed). */
  get stopped() {
    return this.#stopped !== null || this.#disposed;
  }

  /** Why the sandbox is stopped ("disposed", "meter limit ..."), or null. */
  get stopReason() {
    if (this.#stopped) return this.#stopped.reason;
    return this.#disposed ? 'disposed' : null;
  }

  // ------------------------------------------------------- event loop --
  // Timers, host functions and binary values (port/xs_wasm.h, "The event
  // loop"): the guest's state is in its heap; these drive it.

  /**
   * The guest's host.NAME(...args): host_call of port/xs_wasm.h.
   * @param {number} id
   * @param {number} namePtr
   * @param {number} nameLength
   * @param {number} argsPtr
   * @param {number} argsLength
   */
  #hostCall(id, namePtr, nameLength, argsPtr, argsLength) {
    let reply = EMPTY;
    let code = 0;
    try {
      const heap = this.#M.HEAPU8;
      const name = decoder.decode(heap.subarray(namePtr, namePtr + nameLength));
      const functions = this.hostFunctions;
      const f = functions && Object.prototype.hasOwnProperty.call(functions, name) ? functions[name] : undefined;
      if (typeof f !== 'function') throw new Error(`no host function named ${JSON.stringify(name)}`);
      const args = decodeValue(heap.subarray(argsPtr, argsPtr + argsLength));
      if (!Array.isArray(args)) throw new Error('host call: the arguments are not an array');
      const result = f.apply(this, args);
      if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
        if (this.#pending.size >= this.maxPendingCalls) {
          Promise.resolve(result).catch(() => {});
          throw new Error(`too many pending host calls (at most ${this.maxPendingCalls} at once)`);
        }
        /** @type {{ done: null | { ok: boolean, value?: any, error?: unknown } }} */
        const call = { done: null };
        this.#pending.set(id, call);
        Promise.resolve(result).then(
          (value) => {
            call.done = { ok: true, value };
          },
          (error) => {
            call.done = { ok: false, error };
          },
        ).finally(() => this.#wake?.());
        return -1;
      }
      try {
        reply = encodeValue(result);
      } catch (error) {
        throw new Error(`the host function ${JSON.stringify(name)} returned a value that cannot be sent to the guest: ${hostErrorText(error)}`);
      }
      code = reply.length;
    } catch (error) {
      reply = encoder.encode(hostErrorText(error));
      code = -reply.length - 2;
    }
    this.#reply = reply;
    return code;
  }

  /**
   * One call of a loop export within what is left of the run's meter limit.
   * @param {string} method
   * @param {'evalAsync' | 'sendValue' | 'awaited' | 'settle' | 'runTimers'} name
   * @param {Uint8Array} input
   * @param {number[]} [extra] settle: [id, ok]; runTimers: [now]
   * @returns {{ pending: boolean, value?: any }}
   */
  #step(method, name, input = EMPTY, extra = []) {
    this.#checkUsable(method);
    this.#arm(method); // the deadline counts from each step, as each call of the crate's loop
    const api = this.#api;
    const limit = this.#options.meterLimit;
    if (limit) {
      const left = limit - this.#runMeter;
      if (left <= 0) {
        this.#meter = this.#runMeter;
        throw this.#stop(new MeterLimitError(this.#meter, limit));
      }
      api.setMeter(this.#handle, left, this.#options.meterInterval);
    }
    const ptr = api.alloc(input.length) >>> 0;
    if (!ptr) throw new RangeError(`${method}: an input of ${input.length} bytes does not fit in the sandbox's memory`);
    this.#M.HEAPU8.set(input, ptr);
    let status;
    this.#inCall = true;
    try {
      if (name === 'awaited') status = api.awaited(this.#handle);
      else if (name === 'runTimers') status = api.runTimers(this.#handle, extra[0]);
      else if (name === 'settle') status = api.settle(this.#handle, extra[0], extra[1], ptr, input.length);
      else status = api[name](this.#handle, ptr, input.length);
    } catch (error) {
      this.#inCall = false;
      throw this.#stop(trapError(error));
    }
    this.#inCall = false;
    api.free(ptr);
    this.#runMeter += api.meter(this.#handle) >>> 0;
    this.#meter = this.#runMeter;
    const bytes = this.#resultBytes();
    if (status === Status.PENDING) return { pending: true };
    if (status === Status.OK) return { pending: false, value: bytes.length ? decodeValue(bytes) : undefined };
    throw this.#statusError(status, decoder.decode(bytes));
  }

  /** The pending call to settle next: on the virtual clock the oldest, once
   * it finished (calls settle in the order they were made); on the real
   * clock the oldest finished one. */
  #takeDone() {
    for (const [id, call] of this.#pending) {
      if (call.done) {
        this.#pending.delete(id);
        return { id, done: call.done };
      }
      if (!this.#options.realClock) return null;
    }
    return null;
  }

  /**
   * Settle host call `id` in the guest.
   * @param {number} id
   * @param {{ ok: boolean, value?: any, error?: unknown }} done
   */
  #settle(id, done) {
    let ok = done.ok;
    let payload;
    if (ok) {
      try {
        payload = encodeValue(done.value);
      } catch (error) {
        ok = false;
        payload = encoder.encode(`the host call's value cannot be sent to the guest: ${hostErrorText(error)}`);
      }
    } else payload = encoder.encode(hostErrorText(done.error));
    this.#step('run', 'settle', payload, [id, ok ? 1 : 0]);
  }

  /**
   * The loop: until the awaited promise settles (its value), or until idle.
   * @param {boolean} awaiting
   */
  async #drive(awaiting) {
    let progress = Date.now();
    // the guest is asked about the awaited promise only after a step that
    // ran guest code: the steps and their meter counts do not depend on the
    // host's timing
    let changed = true;
    for (;;) {
      if (awaiting && changed) {
        const r = this.#step('run', 'awaited');
        if (!r.pending) return r.value;
      }
      changed = true;
      const done = this.#takeDone();
      if (done) {
        this.#settle(done.id, done.done);
        progress = Date.now();
        continue;
      }
      this.#checkUsable('run');
      const next = this.#api.nextTimer(this.#handle);
      const pending = this.#pending.size > 0;
      const real = this.#options.realClock;
      let wait = Infinity;
      if (next >= 0) {
        if (!real && !pending) {
          this.#clock = Math.max(this.#clock, next);
          this.#step('run', 'runTimers', EMPTY, [this.#clock]);
          progress = Date.now();
          continue;
        }
        if (real) {
          const now = Date.now();
          if (next <= now) {
            this.#step('run', 'runTimers', EMPTY, [now]);
            progress = Date.now();
            continue;
          }
          wait = next - now;
        }
      }
      if (!pending && next < 0) {
        if (awaiting) throw new StalledError('the run stalled: the awaited promise is pending, but the guest has no timers and no host calls left: it can never settle');
        return undefined;
      }
      if (pending && Number.isFinite(this.hostCallTimeout)) {
        const left = progress + this.hostCallTimeout - Date.now();
        if (left <= 0) {
          const count = this.#cancel('the host call was cancelled: it made no progress within the host-call timeout');
          throw new StalledError(`the run stalled: ${count} host call(s) made no progress within ${this.hostCallTimeout} ms; they were cancelled`);
        }
        wait = Math.min(wait, left);
      }
      changed = false;
      await new Promise((resolve) => {
        const timer = Number.isFinite(wait) ? setTimeout(resolve, Math.min(wait, 0x7fffffff)) : null;
        this.#wake = () => {
          if (timer !== null) clearTimeout(timer);
          resolve(undefined);
        };
      });
      this.#wake = null;
    }
  }

  /**
   * @template T
   * @param {() => Promise<T>} body
   * @returns {Promise<T>}
   */
  async #run(body) {
    this.#checkUsable('run');
    if (this.#running) throw new SandboxBusyError('run');
    this.#running = true;
    this.#runMeter = 0;
    this.#meter = 0;
    try {
      return await body();
    } finally {
      this.#running = false;
      if (this.#api && !this.#stopped && this.#options.meterLimit) this.#api.setMeter(this.#handle, this.#options.meterLimit, this.#options.meterInterval);
    }
  }

  /**
   * Run the event loop. With `source`: evaluate it (as evaluate() does)
   * and, when its completion is a pending promise, run until it settles;
   * resolves to its value as a real value (ArrayBuffers, typed arrays,
   * Maps, Sets, Dates, BigInts and undefined included). Without: run until
   * the guest is idle (no timers and no host calls left); resolves to
   * undefined. Timers fire in order of due time: on the virtual clock (the
   * default) at once, the clock (Date.now() in the guest) advancing to
   * each due time, and only when no host call is pending (so the same
   * guest gives the same results and meter counts whatever the host
   * functions' timing); with realClock, on the wall clock. The meter limit
   * applies to the whole run (`meter` then reports it).
   *
   * Throws (rejects) SandboxError for a throw, a rejection or a timer
   * callback that threw; StalledError when the promise can never settle or
   * host calls exceed hostCallTimeout; the errors of evaluate().
   * @param {string} [source]
   * @returns {Promise<any>}
   */
  run(source) {
    if (source !== undefined && typeof source !== 'string') return Promise.reject(new TypeError(`run(source): source must be a string, got ${typeof source}`));
    return this.#run(async () => {
      if (source === undefined) return this.#drive(false);
      const r = this.#step('run', 'evalAsync', encoder.encode(source));
      return r.pending ? this.#drive(true) : r.value;
    });
  }

  /**
   * A binary message: call the guest's receiveMessage(message) with a copy
   * of `message` as the real value (ArrayBuffers, typed arrays, Maps, ...;
   * see run()), and resolve to its return value, a promise awaited as in
   * run(source).
   * @param {any} message
   * @returns {Promise<any>}
   */
  sendValue(message) {
    let bytes;
    try {
      bytes = encodeValue(message);
    } catch (error) {
      return Promise.reject(new TypeError(`sendValue: ${hostErrorText(error)}`));
    }
    return this.#run(async () => {
      const r = this.#step('sendValue', 'sendValue', bytes);
      return r.pending ? this.#drive(true) : r.value;
    });
  }

  /**
   * @param {string} message
   * @returns {number}
   */
  #cancel(message) {
    const ids = [...this.#pending.keys()];
    for (const id of ids) {
      this.#pending.delete(id);
      this.#settle(id, { ok: false, error: new Error(message) });
    }
    return ids.length;
  }

  /**
   * Cancel every pending host call: its promise is rejected in the guest
   * with Error("the host call was cancelled") (guest code runs); the host's
   * own promise is left to finish, ignored. Returns how many there were.
   * @returns {number}
   */
  cancelHostCalls() {
    this.#checkUsable('cancelHostCalls');
    return this.#cancel('the host call was cancelled');
  }

  /** Host calls started and not yet settled in the guest. */
  get pendingCalls() {
    return this.#pending.size;
  }

  /** The sandbox's clock (ms): the virtual clock (0 until a timer fires;
   * kept in snapshots), or the wall clock with realClock. */
  get clock() {
    return this.#options.realClock ? Date.now() : this.#clock;
  }

  /** The due time (ms, on `clock`) of the guest's earliest timer, or null. */
  nextTimer() {
    this.#checkUsable('nextTimer');
    const next = this.#api.nextTimer(this.#handle);
    return next >= 0 ? next : null;
  }

  /**
   * Free the machine and drop its WebAssembly instance (its memory is
   * released when the garbage collector runs). Idempotent. Throws
   * SandboxBusyError when called from inside this sandbox's own hooks.
   */
  dispose() {
    if (this.#inCall) throw new SandboxBusyError('dispose');
    this.#disposed = true;
    this.#release();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Sandbox.prototype, Symbol.dispose, {
    value: function dispose() {
      /** @type {Sandbox} */ (this).dispose();
    },
    writable: true,
    configurable: true,
  });
}
