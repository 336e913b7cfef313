// The Sandbox: one XS machine in its own emscripten Module instance.
//
// Environment-independent core. The entry points (node.mjs, browser.mjs)
// install a platform (how to find, verify and load a build) with setPlatform.
// The engine ABI is port/xs_wasm.h of the xs-wasm repository.

import {
  ArtifactError,
  EngineError,
  IntegrityError,
  InvalidJsonError,
  MemoryLimitError,
  MeterLimitError,
  ResultTooLargeError,
  SandboxBusyError,
  SandboxError,
  SandboxStoppedError,
  SnapshotError,
  StackOverflowError,
  XsWasmError,
} from './errors.mjs';
import { MIN_SNAPSHOT_KEY_LENGTH, openSnapshot, signSnapshot } from './auth.mjs';

/** The port ABI version this package speaks (XS_WASM_ABI_VERSION). */
export const ABI_VERSION = 3;
/** Default memory limit of a sandbox, bytes (as the Rust crate). */
export const DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024;
/** Default meter check interval, ticks. */
export const DEFAULT_METER_INTERVAL = 10000;

// Status codes of xs_wasm.h.
const OK = 0;
const JS_ERROR = 1;
const METER_LIMIT = 2;
const OUT_OF_MEMORY = 3;
const STACK_OVERFLOW = 4;
const SNAPSHOT_ERROR = 5;
const DEAD = 6;
const RESULT_TOO_LARGE = 9;

// xs_wasm_creation.flags: define test262's $262 and print (xs_wasm.h).
const XS_WASM_CREATE_TEST262_HOST = 1;

const LOG_LEVELS = /** @type {const} */ (['debug', 'log', 'info', 'warn', 'error']);

// Fields of xs_wasm_creation, in order (each an int32 except memory_limit).
const CREATION_FIELDS = [
  'initialChunkSize',
  'incrementalChunkSize',
  'initialHeapCount',
  'incrementalHeapCount',
  'stackCount',
  'initialKeyCount',
  'incrementalKeyCount',
  'nameModulo',
  'symbolModulo',
  'parserBufferSize',
  'parserTableModulo',
];

const OPTION_NAMES = [
  'meterLimit',
  'meterInterval',
  'memoryLimit',
  'creation',
  'receiveMessage',
  'onLog',
  'realClock',
  'test262Host',
  'warmUp',
  'build',
  'artifacts',
  'factory',
  'wasmBinary',
  'wasmSha256',
  'snapshotKey',
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const UINT32_MAX = 0xffffffff;

/**
 * What an entry point provides.
 * @typedef {object} Platform
 * @property {string} name
 * @property {(options: NormalizedOptions) => Promise<Runtime>} loadRuntime
 * @property {() => (() => void)} [beforeFactory] called right before an
 *   emscripten factory runs; returns a function that undoes the global
 *   side effects the factory had (Node: process listeners).
 * @property {SubtleCrypto} [subtle]
 * @property {boolean} [syncInstantiate] instantiate compiled modules
 *   synchronously (Node; browsers limit synchronous instantiation)
 * @property {(key: Uint8Array, data: Uint8Array) => Uint8Array} [hmacSha256]
 *   a faster synchronous HMAC-SHA256 than auth.mjs's (Node: node:crypto)
 */

/** @type {Platform | null} */
let platform = null;

/** @param {Platform} p */
export function setPlatform(p) {
  platform = p;
}

function currentPlatform() {
  if (!platform) throw new XsWasmError('xs-wasm: no platform installed (import "xs-wasm", not its internal modules)');
  return platform;
}

/**
 * The wasm module a single-file emscripten build inlines in its glue (as a
 * base64 data: URI): the module's bytes, inflated with DecompressionStream
 * when the payload is a gzip member (release builds store it so, see
 * configs/variants.toml). null when the glue inlines no module.
 * @param {string} glue the glue's source text
 * @returns {Promise<Uint8Array | null>}
 */
export async function inlinedWasm(glue) {
  const match = /["']data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)["']/.exec(glue);
  if (!match) return null;
  const text = atob(match[1]);
  const payload = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) payload[i] = text.charCodeAt(i);
  if (payload[0] !== 0x1f || payload[1] !== 0x8b) return payload;
  const inflated = new Blob([payload]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/**
 * Hex sha256 of bytes with WebCrypto (browsers, workers, Node >= 18).
 * @param {Uint8Array} bytes
 * @returns {Promise<string>}
 */
export async function sha256Hex(bytes) {
  const subtle = globalThis.crypto?.subtle ?? platform?.subtle;
  if (!subtle) throw new XsWasmError('WebCrypto (crypto.subtle) is not available: cannot verify the artifact (browsers need a secure context: https or localhost)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Refuse bytes whose sha256 is not `expected`.
 * @param {string} file what to call the bytes in the error
 * @param {Uint8Array} bytes
 * @param {string | undefined} expected hex sha256
 */
export async function verifySha256(file, bytes, expected) {
  if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/i.test(expected)) {
    throw new ArtifactError(`no valid sha256 is listed for ${file}: refusing to load it unverified`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) throw new IntegrityError(file, expected.toLowerCase(), actual);
}

/**
 * A loaded build: the emscripten factory and, for builds with a separate
 * .wasm, the compiled (and verified) WebAssembly.Module, shared by every
 * sandbox of that build. Each sandbox gets its own instance.
 */
/** XS_WASM_LACKS_* bit i of port/xs_wasm.h is LACKS_NAMES[i]. */
const LACKS_NAMES = Object.freeze(['regexp-property-escapes', 'string-normalize']);

export class Runtime {
  /**
   * @param {{ variant: string, form: string, factory: Function, wasmModule?: WebAssembly.Module | null }} parts
   */
  constructor({ variant, form, factory, wasmModule = null }) {
    if (typeof factory !== 'function') throw new ArtifactError(`build ${variant}: the emscripten factory is not a function`);
    this.variant = variant;
    this.form = form;
    this.factory = factory;
    this.wasmModule = wasmModule;
    /** @type {Promise<void> | null} set by the first sandbox's warm-up */
    this.warmedUp = null;
  }

  /**
   * A fresh emscripten Module instance wired to `host`.
   * @param {object} host the xsWasmHost hooks (see port/xs_wasm_library.js)
   * @param {(level: number, text: string) => void} print stdout/stderr of the C side
   */
  async instantiate(host, print) {
    /** @type {(reason: unknown) => void} */
    let fail = () => {};
    /** @type {Promise<never>} */
    const failed = new Promise((_, reject) => {
      fail = reject;
    });
    /** @type {Record<string, unknown>} */
    const moduleArg = {
      xsWasmHost: host,
      print: (/** @type {string} */ text) => print(1, text),
      printErr: (/** @type {string} */ text) => print(4, text),
      onAbort: (/** @type {unknown} */ what) => fail(new EngineError(`the engine aborted while loading: ${String(what)}`)),
    };
    const wasmModule = this.wasmModule;
    const syncInstantiate = currentPlatform().syncInstantiate === true;
    if (wasmModule) {
      moduleArg.instantiateWasm = (/** @type {WebAssembly.Imports} */ imports, /** @type {Function} */ receive) => {
        if (syncInstantiate) {
          // Node: synchronous instantiation of the compiled module. The async
          // form waits behind V8's background tier-up compilation of the
          // same module (150 ms or more right after a busy sandbox).
          try {
            const instance = new WebAssembly.Instance(wasmModule, imports);
            receive(instance, wasmModule);
            return instance.exports;
          } catch (error) {
            fail(error); // emscripten only logs it and would wait forever
            throw error;
          }
        }
        WebAssembly.instantiate(wasmModule, imports).then((instance) => receive(instance, wasmModule), fail);
        return {};
      };
    }
    const undo = currentPlatform().beforeFactory?.();
    let ready;
    try {
      ready = this.factory(moduleArg);
    } finally {
      undo?.();
    }
    const M = await Promise.race([ready, failed]);
    if (!M || typeof M._xs_wasm_abi_version !== 'function') {
      throw new ArtifactError(`build ${this.variant} does not export the xs-wasm host API (xs_wasm_abi_version missing)`);
    }
    const abi = M._xs_wasm_abi_version();
    if (abi !== ABI_VERSION) {
      throw new ArtifactError(`build ${this.variant} speaks port ABI ${abi}; this package speaks ABI ${ABI_VERSION}`);
    }
    if (!(M.HEAPU8 instanceof Uint8Array)) {
      throw new ArtifactError(`build ${this.variant} does not expose HEAPU8 (newer emscripten: link with -sEXPORTED_RUNTIME_METHODS=HEAPU8)`);
    }
    return M;
  }
}

/**
 * @typedef {object} NormalizedOptions
 * @property {number} meterLimit
 * @property {number} meterInterval
 * @property {number} memoryLimit
 * @property {number[]} creation
 * @property {Function | undefined} receiveMessage
 * @property {Function | undefined} onLog
 * @property {boolean} realClock
 * @property {boolean} test262Host
 * @property {boolean} warmUp
 * @property {string | undefined} build
 * @property {string | URL | undefined} artifacts
 * @property {Function | undefined} factory
 * @property {Uint8Array | undefined} wasmBinary
 * @property {string | undefined} wasmSha256
 * @property {Uint8Array | undefined} snapshotKey
 */

/**
 * @param {unknown} value
 * @param {string} name
 * @param {number} fallback
 * @param {number} max
 */
function uint(value, name, fallback, max = UINT32_MAX) {
  if (value === undefined || value === null) return fallback;
  if (value === Infinity) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer from 0 to ${max}${max === UINT32_MAX ? ' (or Infinity)' : ''}, got ${String(value)}`);
  }
  return value;
}

/**
 * A meter limit: undefined, null or Infinity for none (0 for the engine),
 * else an integer of at least 1 tick. 0 is refused: a call could not run a
 * single tick (the Rust crate refuses `Some(0)` the same way).
 * @param {unknown} value
 */
function meterLimitOf(value) {
  if (value === 0) throw new RangeError('meterLimit must be at least 1 tick (undefined or Infinity for no limit), got 0');
  return uint(value, 'meterLimit', 0);
}

/**
 * @param {unknown} value
 * @returns {Uint8Array | undefined}
 */
function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * @param {unknown} options
 * @returns {NormalizedOptions}
 */
export function normalizeOptions(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw new TypeError('Sandbox options must be an object');
  const o = /** @type {Record<string, any>} */ (options);
  for (const key of Object.keys(o)) {
    if (!OPTION_NAMES.includes(key)) throw new TypeError(`unknown Sandbox option "${key}" (known: ${OPTION_NAMES.join(', ')})`);
  }
  for (const key of ['receiveMessage', 'onLog', 'factory']) {
    if (o[key] !== undefined && typeof o[key] !== 'function') throw new TypeError(`option ${key} must be a function`);
  }
  if (o.build !== undefined && typeof o.build !== 'string') throw new TypeError('option build must be a string (a variant name such as "emcc-os")');
  if (o.realClock !== undefined && typeof o.realClock !== 'boolean') throw new TypeError('option realClock must be a boolean');
  if (o.test262Host !== undefined && typeof o.test262Host !== 'boolean') throw new TypeError('option test262Host must be a boolean');
  if (o.warmUp !== undefined && typeof o.warmUp !== 'boolean') throw new TypeError('option warmUp must be a boolean');
  const creation = CREATION_FIELDS.map(() => 0);
  if (o.creation !== undefined) {
    if (typeof o.creation !== 'object' || o.creation === null) throw new TypeError('option creation must be an object');
    for (const [key, value] of Object.entries(o.creation)) {
      const index = CREATION_FIELDS.indexOf(key);
      if (index < 0) throw new TypeError(`unknown creation field "${key}" (known: ${CREATION_FIELDS.join(', ')})`);
      creation[index] = uint(value, `creation.${key}`, 0, 0x7fffffff);
    }
  }
  const wasmBinary = o.wasmBinary === undefined ? undefined : asBytes(o.wasmBinary);
  if (o.wasmBinary !== undefined && !wasmBinary) throw new TypeError('option wasmBinary must be a Uint8Array or an ArrayBuffer');
  if ((o.wasmBinary !== undefined || o.wasmSha256 !== undefined) && !o.factory) {
    throw new TypeError('options wasmBinary and wasmSha256 go with option factory (a build you load yourself)');
  }
  if (o.wasmSha256 !== undefined && typeof o.wasmSha256 !== 'string') throw new TypeError('option wasmSha256 must be a hex string');
  let snapshotKey;
  if (o.snapshotKey !== undefined) {
    const key = asBytes(o.snapshotKey);
    if (!key) throw new TypeError('option snapshotKey must be a Uint8Array or an ArrayBuffer');
    if (key.length < MIN_SNAPSHOT_KEY_LENGTH) {
      throw new RangeError(`a snapshotKey of ${key.length} bytes is too short (at least ${MIN_SNAPSHOT_KEY_LENGTH}; 32 random bytes recommended)`);
    }
    snapshotKey = key.slice();
  }
  const meterInterval = uint(o.meterInterval, 'meterInterval', DEFAULT_METER_INTERVAL);
  if (meterInterval === 0) throw new RangeError('meterInterval must be at least 1');
  return {
    meterLimit: meterLimitOf(o.meterLimit),
    meterInterval,
    memoryLimit: uint(o.memoryLimit, 'memoryLimit', DEFAULT_MEMORY_LIMIT),
    creation,
    receiveMessage: o.receiveMessage,
    onLog: o.onLog,
    realClock: o.realClock ?? false,
    test262Host: o.test262Host ?? false,
    warmUp: o.warmUp ?? false,
    build: o.build,
    artifacts: o.artifacts,
    factory: o.factory,
    wasmBinary,
    wasmSha256: o.wasmSha256,
    snapshotKey,
  };
}

/** @type {WeakMap<Function, Map<string, Promise<Runtime>>>} */
const customRuntimes = new WeakMap();

/**
 * A runtime from a factory the caller loaded (options.factory), with an
 * optional separate .wasm (options.wasmBinary), verified against
 * options.wasmSha256 when given. Compiled once per (factory, wasm).
 * @param {NormalizedOptions} o
 * @returns {Promise<Runtime>}
 */
export function customRuntime(o) {
  const factory = /** @type {Function} */ (o.factory);
  const variant = o.build ?? 'custom';
  return (async () => {
    if (!o.wasmBinary) return new Runtime({ variant, form: 'custom', factory });
    const bytes = o.wasmBinary;
    if (o.wasmSha256 !== undefined) await verifySha256(`${variant} wasmBinary`, bytes, o.wasmSha256);
    const key = o.wasmSha256?.toLowerCase() ?? (await sha256Hex(bytes));
    let byWasm = customRuntimes.get(factory);
    if (!byWasm) customRuntimes.set(factory, (byWasm = new Map()));
    let runtime = byWasm.get(key);
    if (!runtime) {
      runtime = WebAssembly.compile(bytes).then((wasmModule) => new Runtime({ variant, form: 'custom', factory, wasmModule }));
      byWasm.set(key, runtime);
      runtime.catch(() => byWasm?.delete(key));
    }
    return runtime;
  })();
}

/** @param {(level: 'debug' | 'log' | 'info' | 'warn' | 'error', text: string) => void} */
function defaultLog(level, text) {
  const method = level === 'log' ? 'log' : level;
  // eslint-disable-next-line no-console
  console[method](text);
}

/** @param {unknown} error */
function hostErrorText(error) {
  if (error instanceof Error) return error.message || error.name || 'Error';
  try {
    return String(error);
  } catch {
    return 'the host threw a value that cannot be converted to a string';
  }
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

  /**
   * Called with each message the guest passes to `sendMessage(msg)`; what it
   * returns is `sendMessage`'s return value in the guest (JSON-able;
   * `undefined` stays `undefined`). If it throws, `sendMessage` throws an
   * Error with the same message in the guest. Must be synchronous.
   * @type {((message: any) => any) | undefined}
   */
  receiveMessage;

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
    this.onLog = /** @type {any} */ (options.onLog);
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
    const M = await this.#runtime.instantiate(this.#hostHooks(), (level, text) => this.#log(level, text));
    this.#M = M;
    this.#lacks = typeof M._xs_wasm_lacks === 'function' ? M._xs_wasm_lacks() >>> 0 : 0;
    try {
      const creation = this.#writeCreation();
      let handle = 0;
      if (snapshot) {
        const ptr = M._xs_wasm_alloc(snapshot.length) >>> 0;
        if (!ptr) throw new SnapshotError(`a snapshot of ${snapshot.length} bytes does not fit in the sandbox's memory`);
        M.HEAPU8.set(snapshot, ptr);
        try {
          handle = M._xs_wasm_restore(ptr, snapshot.length, creation) >>> 0;
        } catch (error) {
          throw new SnapshotError(`the engine trapped while reading the snapshot: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (!handle) throw new SnapshotError(this.#lastError());
        M._xs_wasm_free(ptr);
      } else {
        try {
          handle = M._xs_wasm_create(creation) >>> 0;
        } catch (error) {
          throw trapError(error);
        }
        if (!handle) {
          const reason = this.#lastError();
          if (/memory/i.test(reason)) throw new MemoryLimitError(this.#options.memoryLimit);
          throw new EngineError(`cannot create the machine: ${reason}`);
        }
      }
      M._xs_wasm_free(creation);
      this.#handle = handle;
      M._xs_wasm_set_meter(handle, this.#options.meterLimit, this.#options.meterInterval);
    } catch (error) {
      this.#M = null; // drop the instance: its memory goes with it
      this.#disposed = true;
      throw error;
    }
  }

  #writeCreation() {
    const M = this.#M;
    // xs_wasm_creation: the int32 fields, then memory_limit and flags (uint32).
    const size = 4 * (CREATION_FIELDS.length + 2);
    const ptr = M._xs_wasm_alloc(size) >>> 0;
    if (!ptr) throw new EngineError('cannot allocate the creation parameters');
    const view = new DataView(M.HEAPU8.buffer, ptr, size);
    this.#options.creation.forEach((value, i) => view.setInt32(4 * i, value, true));
    view.setUint32(4 * CREATION_FIELDS.length, this.#options.memoryLimit, true);
    view.setUint32(4 * CREATION_FIELDS.length + 4, this.#options.test262Host ? XS_WASM_CREATE_TEST262_HOST : 0, true);
    return ptr;
  }

  #lastError() {
    const M = this.#M;
    const ptr = M._xs_wasm_last_error() >>> 0;
    const heap = M.HEAPU8;
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
          const text = decoder.decode(this.#M.HEAPU8.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0)));
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
      log: (/** @type {number} */ _machine, /** @type {number} */ level, /** @type {number} */ ptr, /** @type {number} */ length) => {
        const text = decoder.decode(this.#M.HEAPU8.subarray(ptr >>> 0, (ptr >>> 0) + (length >>> 0)));
        this.#log(level, text);
      },
      now: () => (this.#options.realClock ? Date.now() : 0),
    };
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
    const M = this.#M;
    this.#M = null;
    this.#reply = EMPTY;
    if (M && this.#handle) {
      try {
        M._xs_wasm_delete(this.#handle);
      } catch {
        // the instance is dropped anyway
      }
    }
    this.#handle = 0;
  }

  #resultBytes() {
    const M = this.#M;
    const ptr = M._xs_wasm_result(this.#handle) >>> 0;
    const length = M._xs_wasm_result_length(this.#handle) >>> 0;
    return M.HEAPU8.subarray(ptr, ptr + length);
  }

  /**
   * @param {string} method
   * @param {'_xs_wasm_eval' | '_xs_wasm_send'} exportName
   * @param {Uint8Array} input
   */
  #call(method, exportName, input) {
    this.#checkUsable(method);
    const M = this.#M;
    const ptr = M._xs_wasm_alloc(input.length) >>> 0;
    if (!ptr) throw new RangeError(`${method}: an input of ${input.length} bytes does not fit in the sandbox's memory`);
    M.HEAPU8.set(input, ptr);
    let status;
    this.#inCall = true;
    try {
      status = M[exportName](this.#handle, ptr, input.length);
    } catch (error) {
      this.#inCall = false;
      this.#meter = M._xs_wasm_meter(this.#handle) >>> 0;
      throw this.#stop(trapError(error));
    }
    this.#inCall = false;
    M._xs_wasm_free(ptr);
    this.#meter = M._xs_wasm_meter(this.#handle) >>> 0;
    const text = decoder.decode(this.#resultBytes());
    if (status === OK) {
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
   * @param {number} status
   * @param {string} text
   */
  #statusError(status, text) {
    switch (status) {
      case JS_ERROR: {
        let thrown;
        try {
          thrown = JSON.parse(text);
        } catch (error) {
          return new InvalidJsonError(`the guest's exception description is not JSON: ${String(error)}`);
        }
        return new SandboxError(thrown && typeof thrown === 'object' ? thrown : { name: '', message: String(thrown) });
      }
      case METER_LIMIT:
        return this.#stop(new MeterLimitError(this.#meter, this.#options.meterLimit));
      case OUT_OF_MEMORY:
        return this.#stop(new MemoryLimitError(this.#options.memoryLimit));
      case STACK_OVERFLOW:
        return this.#stop(new StackOverflowError());
      case DEAD:
        return this.#stop(new EngineError(text || 'the machine was stopped by an earlier call', { status }));
      case RESULT_TOO_LARGE: {
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
   * MeterLimitError, MemoryLimitError, StackOverflowError, EngineError stop
   * the sandbox; SandboxStoppedError after that; SandboxBusyError when called
   * from inside this sandbox's own hooks.
   * @param {string} source
   * @returns {any}
   */
  evaluate(source) {
    if (typeof source !== 'string') throw new TypeError(`evaluate(source): source must be a string, got ${typeof source}`);
    return this.#call('evaluate', '_xs_wasm_eval', encoder.encode(source));
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
    const json = JSON.stringify(message) ?? 'null';
    return this.#call('sendMessage', '_xs_wasm_send', encoder.encode(json));
  }

  /**
   * Write the machine's heap to a snapshot (after a garbage collection).
   * Deterministic: the same history gives the same bytes. With the option
   * snapshotKey it ends in its MAC (40 bytes more; see auth.mjs).
   * @returns {Uint8Array}
   */
  snapshot() {
    this.#checkUsable('snapshot');
    const M = this.#M;
    let status;
    try {
      status = M._xs_wasm_snapshot(this.#handle);
    } catch (error) {
      throw this.#stop(trapError(error));
    }
    const bytes = this.#resultBytes();
    if (status === OK) {
      const key = this.#options.snapshotKey;
      return key ? signSnapshot(key, bytes, currentPlatform().hmacSha256) : bytes.slice();
    }
    const text = decoder.decode(bytes);
    if (status === SNAPSHOT_ERROR) throw new SnapshotError(text || 'XS could not write the snapshot');
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
    this.#M._xs_wasm_set_meter(this.#handle, l, i);
  }

  /** Meter ticks used by the last evaluate/sendMessage call. */
  get meter() {
    return this.#meter;
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
    const v = this.#M._xs_wasm_xs_version() >>> 0;
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
    return LACKS_NAMES.filter((_, i) => this.#lacks & (1 << i));
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
