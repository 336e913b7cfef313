// Sandbox options: their names, defaults and checks (normalizeOptions),
// shared by Sandbox and WorkerSandbox.

import { CREATION_FIELDS } from './abi.mjs';
import { MIN_SNAPSHOT_KEY_LENGTH } from './auth.mjs';

/** Default memory limit of a sandbox, bytes (as the Rust crate). */
export const DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024;
/** Smallest memory limit (bytes) other than 0 (none): what a fresh machine
 * with the default creation parameters needs, rounded up (it needs between
 * 512 KiB and 1 MiB). Below it, create and restore refuse the option alike. */
export const MIN_MEMORY_LIMIT = 1024 * 1024;
/** Default meter check interval, ticks. */
export const DEFAULT_METER_INTERVAL = 10000;

/** Largest value of the uint32 options. */
export const UINT32_MAX = 0xffffffff;

const OPTION_NAMES = [
  'meterLimit',
  'meterInterval',
  'memoryLimit',
  'creation',
  'receiveMessage',
  'hostFunctions',
  'onLog',
  'moduleLoader',
  'realClock',
  'hostTimeZone',
  'test262Host',
  'lockdown',
  'webGlobals',
  'warmUp',
  'build',
  'artifacts',
  'factory',
  'wasmBinary',
  'wasmSha256',
  'snapshotKey',
  'deadlineMs',
  'interruptBuffer',
];

/**
 * @typedef {object} ModuleLoader
 * @property {(specifier: string, referrer: string | null) => string} resolve
 * @property {(id: string) => string | { type: 'js' | 'json', source: string }} load
 */

/**
 * @typedef {object} NormalizedOptions
 * @property {number} meterLimit
 * @property {number} meterInterval
 * @property {number} memoryLimit
 * @property {number[]} creation
 * @property {Function | undefined} receiveMessage
 * @property {Record<string, Function> | undefined} hostFunctions
 * @property {Function | undefined} onLog
 * @property {ModuleLoader | undefined} moduleLoader
 * @property {boolean} realClock
 * @property {boolean} hostTimeZone
 * @property {boolean} test262Host
 * @property {boolean} lockdown
 * @property {boolean} webGlobals
 * @property {boolean} warmUp
 * @property {string | undefined} build
 * @property {string | URL | undefined} artifacts
 * @property {Function | undefined} factory
 * @property {Uint8Array | undefined} wasmBinary
 * @property {string | undefined} wasmSha256
 * @property {Uint8Array | undefined} snapshotKey
 * @property {number} deadlineMs 0: none
 * @property {Int32Array | undefined} interruptBuffer
 */

/** Default wall-clock deadline of each call, ms (as the Rust crate's
 * Options::DEFAULT_DEADLINE). */
export const DEFAULT_DEADLINE_MS = 60_000;

/**
 * Milliseconds from a deadline option: a positive integer; 0, Infinity or
 * null for none; undefined for `fallback`.
 * @param {unknown} value
 * @param {number} fallback
 */
export function deadlineOf(value, fallback = 0) {
  if (value === undefined) return fallback;
  if (value === null || value === Infinity || value === 0) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new RangeError(`deadlineMs must be an integer number of milliseconds from 0 to ${2 ** 31 - 1} (or Infinity), got ${String(value)}`);
  }
  return value;
}

/**
 * The interruptBuffer option: an Int32Array of at least one element (over a
 * SharedArrayBuffer, for another thread to write).
 * @param {unknown} value
 */
function interruptBufferOf(value) {
  if (value === undefined) return undefined;
  if (!(value instanceof Int32Array) || value.length < 1) {
    throw new TypeError('option interruptBuffer must be an Int32Array of at least one element (over a SharedArrayBuffer: another thread sets element 0 with Atomics.store)');
  }
  return value;
}

/**
 * @param {unknown} value
 * @param {string} name
 * @param {number} fallback
 * @param {number} max
 */
export function uint(value, name, fallback, max = UINT32_MAX) {
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
export function meterLimitOf(value) {
  if (value === 0) throw new RangeError('meterLimit must be at least 1 tick (undefined or Infinity for no limit), got 0');
  return uint(value, 'meterLimit', 0);
}

/**
 * @param {unknown} value
 * @returns {Uint8Array | undefined}
 */
export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * The `creation` option as the values of abi.mjs's CREATION_FIELDS, in order
 * (0: the engine's default): each an int32 (or uint32) field.
 * @param {unknown} value
 * @returns {number[]}
 */
function creationOf(value) {
  const creation = CREATION_FIELDS.map(() => 0);
  if (value === undefined) return creation;
  if (typeof value !== 'object' || value === null) throw new TypeError('option creation must be an object');
  for (const [key, field] of Object.entries(value)) {
    const index = CREATION_FIELDS.findIndex((f) => f.key === key);
    if (index < 0) throw new TypeError(`unknown creation field "${key}" (known: ${CREATION_FIELDS.map((f) => f.key).join(', ')})`);
    creation[index] = uint(field, `creation.${key}`, 0, CREATION_FIELDS[index].signed ? 0x7fffffff : UINT32_MAX);
  }
  return creation;
}

/**
 * The `snapshotKey` option: a copy of its bytes, at least
 * MIN_SNAPSHOT_KEY_LENGTH long; undefined for none.
 * @param {unknown} value
 * @returns {Uint8Array | undefined}
 */
function snapshotKeyOf(value) {
  if (value === undefined) return undefined;
  const key = asBytes(value);
  if (!key) throw new TypeError('option snapshotKey must be a Uint8Array or an ArrayBuffer');
  if (key.length < MIN_SNAPSHOT_KEY_LENGTH) {
    throw new RangeError(`a snapshotKey of ${key.length} bytes is too short (at least ${MIN_SNAPSHOT_KEY_LENGTH}; 32 random bytes recommended)`);
  }
  return key.slice();
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
  if (o.hostFunctions !== undefined && (o.hostFunctions === null || typeof o.hostFunctions !== 'object')) throw new TypeError('option hostFunctions must be an object of functions (name: function)');
  for (const [name, f] of Object.entries(o.hostFunctions ?? {})) {
    if (typeof f !== 'function') throw new TypeError(`option hostFunctions: ${name} must be a function`);
  }
  if (o.moduleLoader !== undefined) {
    const loader = o.moduleLoader;
    if (loader === null || typeof loader !== 'object' || typeof loader.resolve !== 'function' || typeof loader.load !== 'function') {
      throw new TypeError('option moduleLoader must be an object with resolve(specifier, referrer) and load(id) methods');
    }
  }
  if (o.build !== undefined && typeof o.build !== 'string') throw new TypeError('option build must be a string (a variant name such as "emcc-os")');
  if (o.realClock !== undefined && typeof o.realClock !== 'boolean') throw new TypeError('option realClock must be a boolean');
  if (o.hostTimeZone !== undefined && typeof o.hostTimeZone !== 'boolean') throw new TypeError('option hostTimeZone must be a boolean');
  if (o.test262Host !== undefined && typeof o.test262Host !== 'boolean') throw new TypeError('option test262Host must be a boolean');
  if (o.lockdown !== undefined && typeof o.lockdown !== 'boolean') throw new TypeError('option lockdown must be a boolean');
  if (o.webGlobals !== undefined && typeof o.webGlobals !== 'boolean') throw new TypeError('option webGlobals must be a boolean');
  if (o.warmUp !== undefined && typeof o.warmUp !== 'boolean') throw new TypeError('option warmUp must be a boolean');
  const creation = creationOf(o.creation);
  const wasmBinary = o.wasmBinary === undefined ? undefined : asBytes(o.wasmBinary);
  if (o.wasmBinary !== undefined && !wasmBinary) throw new TypeError('option wasmBinary must be a Uint8Array or an ArrayBuffer');
  if ((o.wasmBinary !== undefined || o.wasmSha256 !== undefined) && !o.factory) {
    throw new TypeError('options wasmBinary and wasmSha256 go with option factory (a build you load yourself)');
  }
  if (o.wasmSha256 !== undefined && typeof o.wasmSha256 !== 'string') throw new TypeError('option wasmSha256 must be a hex string');
  const snapshotKey = snapshotKeyOf(o.snapshotKey);
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
    hostFunctions: o.hostFunctions,
    onLog: o.onLog,
    moduleLoader: o.moduleLoader,
    realClock: o.realClock ?? false,
    hostTimeZone: o.hostTimeZone ?? false,
    test262Host: o.test262Host ?? false,
    lockdown: o.lockdown ?? false,
    webGlobals: o.webGlobals ?? true,
    warmUp: o.warmUp ?? false,
    build: o.build,
    artifacts: o.artifacts,
    factory: o.factory,
    wasmBinary,
    wasmSha256: o.wasmSha256,
    snapshotKey,
    deadlineMs: deadlineOf(o.deadlineMs, DEFAULT_DEADLINE_MS),
    interruptBuffer: interruptBufferOf(o.interruptBuffer),
  };
}
