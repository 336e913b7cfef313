// The Runtime: a loaded build (the emscripten factory and its compiled
// module) and what loading one needs: the platform an entry point installs
// (setPlatform), the inlined module of single-file builds, sha256 checks,
// the memory cap and the UTC time zone of each instance, the export table
// of an instance (guestExports). Platform-neutral.
// The engine ABI is port/xs_wasm.h of the xs-wasm repository (abi.mjs).

import { ArtifactError, EngineError, IntegrityError, XsWasmError } from './errors.mjs';
import { ABI_VERSION, EXPORTS } from './abi.mjs';

/**
 * What an entry point provides.
 * @typedef {object} Platform
 * @property {string} name
 * @property {(options: import('./options.mjs').NormalizedOptions) => Promise<Runtime>} loadRuntime
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

/**
 * A loaded build: the emscripten factory and, for builds with a separate
 * .wasm, the compiled (and verified) WebAssembly.Module, shared by every
 * sandbox of that build. Each sandbox gets its own instance.
 */
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
    /** @type {{ memory: WebAssembly.Memory | null }} */
    const instance = { memory: null };
    if (wasmModule) moduleArg.instantiateWasm = this.#instantiateWasm(wasmModule, settings, instance, fail, syncInstantiate);
    const undo = currentPlatform().beforeFactory?.();
    let ready;
    try {
      ready = this.factory(moduleArg);
    } finally {
      undo?.();
    }
    const M = await Promise.race([ready, failed]);
    this.#check(M, instance.memory, settings.memoryCap);
    return M;
  }

  /**
   * emscripten's `instantiateWasm` hook for the runtime's compiled module:
   * the time zone pinned to UTC (unless settings.hostTimeZone), the memory
   * capped once instantiated (kept in `instance.memory`).
   * @param {WebAssembly.Module} wasmModule
   * @param {{ hostTimeZone: boolean, memoryCap: number }} settings
   * @param {{ memory: WebAssembly.Memory | null }} instance
   * @param {(reason: unknown) => void} fail
   * @param {boolean} syncInstantiate
   */
  #instantiateWasm(wasmModule, settings, instance, fail, syncInstantiate) {
    return (/** @type {WebAssembly.Imports} */ imports, /** @type {Function} */ receive) => {
      try {
        if (!settings.hostTimeZone) pinTimeZoneToUtc(imports, () => /** @type {WebAssembly.Memory} */ (instance.memory), this.variant);
      } catch (error) {
        fail(error);
        throw error;
      }
      /** @param {WebAssembly.Instance} made */
      const ready = (made) => {
        instance.memory = capMemory(made, settings.memoryCap);
        receive(made, wasmModule);
      };
      if (syncInstantiate) {
        // Node: synchronous instantiation of the compiled module. The async
        // form waits behind V8's background tier-up compilation of the
        // same module (150 ms or more right after a busy sandbox).
        try {
          const made = new WebAssembly.Instance(wasmModule, imports);
          ready(made);
          return made.exports;
        } catch (error) {
          fail(error); // emscripten only logs it and would wait forever
          throw error;
        }
      }
      WebAssembly.instantiate(wasmModule, imports).then(ready, fail);
      return {};
    };
  }

  /**
   * Refuse a Module that is not an xs-wasm build of this package's ABI, or
   * that hides its heap; cap its memory when the glue instantiated it.
   * @param {any} M
   * @param {WebAssembly.Memory | null} memory the memory capped at instantiation, if any
   * @param {number} memoryCap
   */
  #check(M, memory, memoryCap) {
    const abiVersion = `_${EXPORTS.abiVersion}`;
    if (!M || typeof M[abiVersion] !== 'function') {
      throw new ArtifactError(`build ${this.variant} does not export the xs-wasm host API (${EXPORTS.abiVersion} missing)`);
    }
    const abi = M[abiVersion]();
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
      capMemory(/** @type {any} */ ({ exports: { memory: found } }), memoryCap);
    }
  }
}

/**
 * The exports of an instantiated Module, by their EXPORTS key (abi.mjs):
 * `exports.eval` is `M._xs_wasm_eval`; `undefined` for an optional export
 * the build does not have.
 * @param {any} M the emscripten Module instance
 * @returns {Record<keyof typeof EXPORTS, Function>}
 */
export function guestExports(M) {
  /** @type {Record<string, Function>} */
  const exports = {};
  for (const [key, name] of Object.entries(EXPORTS)) exports[key] = M[`_${name}`];
  return /** @type {any} */ (exports);
}

/** @type {WeakMap<Function, Map<string, Promise<Runtime>>>} */
const customRuntimes = new WeakMap();

/**
 * A runtime from a factory the caller loaded (options.factory), with an
 * optional separate .wasm (options.wasmBinary), verified against
 * options.wasmSha256 when given. Compiled once per (factory, wasm).
 * @param {import('./options.mjs').NormalizedOptions} o
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
