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
export const ABI_VERSION = 4;
/** Default memory limit of a sandbox, bytes (as the Rust crate). */
export const DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024;
/** Smallest memory limit (bytes) other than 0 (none): what a fresh machine
 * with the default creation parameters needs, rounded up (it needs between
 * 512 KiB and 1 MiB). Below it, create and restore refuse the option alike. */
export const MIN_MEMORY_LIMIT = 1024 * 1024;
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
  'hostTimeZone',
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
 * @property {() => WorkerEndpoint} [spawnWorker] a new worker running this
 *   platform's worker script (WorkerSandbox)
 */

/**
 * A worker as WorkerSandbox drives it.
 * @typedef {object} WorkerEndpoint
 * @property {(message: any, transfer?: any[]) => void} post
 * @property {(handler: (message: any) => void) => void} onMessage
 * @property {(handler: (error: unknown) => void) => void} onError
 * @property {() => void} terminate
 * @property {() => void} [ref] keep the process alive (Node)
 * @property {() => void} [unref] let the process exit (Node)
 */

/** @type {Platform | null} */
let platform = null;

/** @param {Platform} p */
export function setPlatform(p) {
  platform = p;
}

export function currentPlatform() {
  if (!platform) throw new XsWasmError('xs-wasm: no platform installed (import "xs-wasm", not its internal modules)');
  return platform;
}

/**
 * The payload a single-file emscripten build inlines in its glue (as a
 * base64 data: URI): the module's bytes, or their gzip in release builds
 * (see configs/variants.toml). null when the text inlines no module.
 * `text` is the glue's source, or the source of its factory function (a
 * bundler may rewrite the glue's file, but keeps the string in the function).
 * @param {string} text
 * @returns {Uint8Array | null}
 */
export function inlinedPayload(text) {
  const match = /["'`]data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)["'`]/.exec(text);
  if (!match) return null;
  const binary = atob(match[1]);
  const payload = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) payload[i] = binary.charCodeAt(i);
  return payload;
}

/**
 * The module an inlined payload holds: inflated with DecompressionStream
 * when it is a gzip member, else the payload itself.
 * @param {Uint8Array} payload
 * @returns {Promise<Uint8Array>}
 */
export async function payloadWasm(payload) {
  if (payload[0] !== 0x1f || payload[1] !== 0x8b) return payload;
  const inflated = new Blob([payload]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

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
/** Bytes of WebAssembly memory a sandbox may have beyond its memory limit
 * (the engine's static data, C stack and I/O buffers), as the Rust crate. */
export const MEMORY_HEADROOM = 16 * 1024 * 1024;
const WASM_PAGE = 65536;

/**
 * Refuse growth of the instance's memory past `cap` bytes (0: no cap). The
 * glue grows the memory (emscripten_resize_heap) in a try/catch and retries
 * smaller, then reports failure to malloc: an allocation past the cap fails
 * in the engine (the guest's MemoryLimitError, or an error it can catch)
 * instead of growing the host's memory. The module never grows its memory
 * itself (no memory.grow instruction): every growth goes through this.
 * @param {WebAssembly.Instance} instance
 * @param {number} cap bytes
 * @returns {WebAssembly.Memory | null}
 */
function capMemory(instance, cap) {
  const memory = /** @type {WebAssembly.Memory | undefined} */ (Object.values(instance.exports).find((value) => value instanceof WebAssembly.Memory));
  if (!memory) return null;
  if (cap > 0) {
    const grow = memory.grow;
    Object.defineProperty(memory, 'grow', {
      configurable: true,
      value: function capped(/** @type {number} */ pages) {
        if (this.buffer.byteLength + pages * WASM_PAGE > cap) throw new RangeError(`xs-wasm: the sandbox's memory may not grow past ${cap} bytes`);
        return grow.call(this, pages);
      },
    });
  }
  return memory;
}

/**
 * Replace the glue's local-time imports (emscripten's _localtime_js and
 * _mktime_js, which read the host's time zone through Date) with UTC ones,
 * so that `new Date(0).getTimezoneOffset()` is 0 in every host, as in the
 * Rust crate (WASI has no time zone). They are found by what they do (their
 * source reads getTimezoneOffset; mktime also calls setTime), since a
 * minifier may rename them; each must be found exactly once.
 * @param {WebAssembly.Imports} imports
 * @param {() => WebAssembly.Memory} memory
 * @param {string} variant
 */
function pinTimeZoneToUtc(imports, memory, variant) {
  /** @type {[Record<string, unknown>, string, 'localtime' | 'mktime'][]} */
  const found = [];
  // (one table may appear under several module names: env, wasi_snapshot_preview1)
  for (const table of new Set(Object.values(imports))) {
    for (const [name, value] of Object.entries(table)) {
      if (typeof value !== 'function') continue;
      const source = Function.prototype.toString.call(value);
      if (!source.includes('getTimezoneOffset')) continue;
      if (source.includes('setTime(') && value.length === 1) found.push([table, name, 'mktime']);
      else if (source.includes('getSeconds()') && value.length === 2) found.push([table, name, 'localtime']);
    }
  }
  const kinds = found.map(([, , kind]) => kind).sort();
  if (kinds.join() !== 'localtime,mktime') {
    throw new ArtifactError(`build ${variant}: cannot find its local-time functions (found: ${kinds.join(', ') || 'none'}) to keep its time zone at UTC; pass hostTimeZone: true to run it with the host's`);
  }
  // struct tm: sec, min, hour, mday, mon, year, wday, yday, isdst, gmtoff (int32 each)
  const writeTm = (/** @type {Int32Array} */ heap, /** @type {number} */ tm, /** @type {Date} */ date) => {
    const i = tm >> 2;
    heap[i] = date.getUTCSeconds();
    heap[i + 1] = date.getUTCMinutes();
    heap[i + 2] = date.getUTCHours();
    heap[i + 3] = date.getUTCDate();
    heap[i + 4] = date.getUTCMonth();
    heap[i + 5] = date.getUTCFullYear() - 1900;
    heap[i + 6] = date.getUTCDay();
    heap[i + 7] = ((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86400000) | 0;
    heap[i + 8] = 0;
    heap[i + 9] = 0;
  };
  for (const [table, name, kind] of found) {
    table[name] =
      kind === 'localtime'
        ? (/** @type {number} */ time, /** @type {number} */ tm) => {
            const heap = new Int32Array(memory().buffer);
            writeTm(heap, tm, new Date(heap[time >> 2] * 1000));
          }
        : (/** @type {number} */ tm) => {
            const heap = new Int32Array(memory().buffer);
            const i = tm >> 2;
            const date = new Date(Date.UTC(heap[i + 5] + 1900, heap[i + 4], heap[i + 3], heap[i + 2], heap[i + 1], heap[i], 0));
            writeTm(heap, tm, date);
            return (date.getTime() / 1000) | 0;
          };
  }
}

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
   * @param {{ hostTimeZone: boolean, memoryCap: number }} settings the
   *   sandbox's time zone (host's, else UTC) and the most bytes its
   *   WebAssembly memory may grow to (0: the build's maximum)
   */
  async instantiate(host, print, settings) {
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
    if (!wasmModule && !settings.hostTimeZone) {
      // The glue compiles a module the package cannot see: its imports
      // cannot be replaced.
      throw new ArtifactError(`build ${this.variant}: its factory compiles its own module, so the package cannot keep its time zone at UTC: pass wasmBinary (or a single-file build), or hostTimeZone: true`);
    }
    /** @type {WebAssembly.Memory | null} */
    let memory = null;
    if (wasmModule) {
      moduleArg.instantiateWasm = (/** @type {WebAssembly.Imports} */ imports, /** @type {Function} */ receive) => {
        try {
          if (!settings.hostTimeZone) pinTimeZoneToUtc(imports, () => /** @type {WebAssembly.Memory} */ (memory), this.variant);
        } catch (error) {
          fail(error);
          throw error;
        }
        /** @param {WebAssembly.Instance} instance */
        const ready = (instance) => {
          memory = capMemory(instance, settings.memoryCap);
          receive(instance, wasmModule);
        };
        if (syncInstantiate) {
          // Node: synchronous instantiation of the compiled module. The async
          // form waits behind V8's background tier-up compilation of the
          // same module (150 ms or more right after a busy sandbox).
          try {
            const instance = new WebAssembly.Instance(wasmModule, imports);
            ready(instance);
            return instance.exports;
          } catch (error) {
            fail(error); // emscripten only logs it and would wait forever
            throw error;
          }
        }
        WebAssembly.instantiate(wasmModule, imports).then(ready, fail);
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
    if (!memory) {
      // The glue instantiated its module itself: find its memory among the exports it keeps.
      const exports = M.asm ?? M.wasmExports;
      const found = exports && Object.values(exports).find((value) => value instanceof WebAssembly.Memory);
      if (!found) throw new ArtifactError(`build ${this.variant}: cannot find its WebAssembly memory to cap its growth`);
      capMemory(/** @type {any} */ ({ exports: { memory: found } }), settings.memoryCap);
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
 * @property {boolean} hostTimeZone
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
  if (o.hostTimeZone !== undefined && typeof o.hostTimeZone !== 'boolean') throw new TypeError('option hostTimeZone must be a boolean');
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
  const memoryLimit = uint(o.memoryLimit, 'memoryLimit', DEFAULT_MEMORY_LIMIT);
  if (memoryLimit !== 0 && memoryLimit < MIN_MEMORY_LIMIT) {
    throw new RangeError(`memoryLimit must be 0 or Infinity (none), or at least ${MIN_MEMORY_LIMIT} bytes (the smallest machine), got ${memoryLimit}`);
  }
  return {
    meterLimit: meterLimitOf(o.meterLimit),
    meterInterval,
    memoryLimit,
    creation,
    receiveMessage: o.receiveMessage,
    onLog: o.onLog,
    realClock: o.realClock ?? false,
    hostTimeZone: o.hostTimeZone ?? false,
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
    let bytes = o.wasmBinary;
    if (!bytes) {
      // A single-file build's factory holds its module: compile it once
      // (and instantiate it ourselves, which the time zone and the memory
      // cap need). Other factories compile their own module per sandbox.
      const payload = inlinedPayload(Function.prototype.toString.call(factory));
      if (!payload) return new Runtime({ variant, form: 'custom', factory });
      bytes = await payloadWasm(payload);
    }
    if (o.wasmSha256 !== undefined) await verifySha256(`${variant} ${o.wasmBinary ? 'wasmBinary' : 'inlined module'}`, bytes, o.wasmSha256);
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
    const limit = this.#options.memoryLimit;
    const M = await this.#runtime.instantiate(this.#hostHooks(), (level, text) => this.#log(level, text), {
      hostTimeZone: this.#options.hostTimeZone,
      memoryCap: limit ? limit + MEMORY_HEADROOM : 0,
    });
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
    const bytes = this.#resultBytes();
    const problem = status === OK || status === JS_ERROR ? jsonProblem(bytes, MAX_JSON_DEPTH) : null;
    if (problem) throw new InvalidJsonError(`${method}: invalid JSON from the guest: ${status === JS_ERROR ? 'exception description: ' : ''}${problem}`);
    const text = decoder.decode(bytes);
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
    const json = encoder.encode(JSON.stringify(message) ?? 'null');
    const problem = jsonProblem(json, Infinity);
    if (problem) throw new TypeError(`sendMessage: the message is not valid JSON for the guest: ${problem} (strings must be well-formed Unicode)`);
    return this.#call('sendMessage', '_xs_wasm_send', json);
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
