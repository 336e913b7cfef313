// The value encoding of port/xs_wasm.h ("Value encoding"): what host
// functions, binary messages and sandbox.run() carry between the host and
// the guest. JSON's values plus undefined, BigInt, ArrayBuffer, typed
// arrays, DataView, Map, Set and Date, as the real objects on both sides.

const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

/** Nesting deeper than this (or a cycle) is refused, as in the guest. */
export const MAX_VALUE_DEPTH = 128;

const KINDS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView];

/**
 * The encoding of `value`. Throws a TypeError for what cannot be sent
 * (functions, symbols, promises, views of a SharedArrayBuffer, nesting
 * deeper than MAX_VALUE_DEPTH or a cycle).
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function encodeValue(value) {
  let out = new Uint8Array(256);
  let view = new DataView(out.buffer);
  let length = 0;
  const room = (/** @type {number} */ n) => {
    if (length + n <= out.length) return;
    let size = out.length * 2;
    while (size < length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(out.subarray(0, length));
    out = grown;
    view = new DataView(out.buffer);
  };
  const byte = (/** @type {number} */ b) => {
    room(1);
    out[length++] = b;
  };
  const u32 = (/** @type {number} */ n) => {
    room(4);
    view.setUint32(length, n, true);
    length += 4;
  };
  const f64 = (/** @type {number} */ n) => {
    room(8);
    view.setFloat64(length, n, true);
    length += 8;
  };
  const text = (/** @type {string} */ s) => {
    room(4 + s.length * 3);
    const { written } = encoder.encodeInto(s, out.subarray(length + 4));
    view.setUint32(length, written, true);
    length += 4 + written;
  };
  const bytes = (/** @type {Uint8Array} */ b) => {
    u32(b.length);
    room(b.length);
    out.set(b, length);
    length += b.length;
  };
  const put = (/** @type {any} */ v, /** @type {number} */ depth) => {
    if (depth > MAX_VALUE_DEPTH) throw new TypeError(`cannot send a value nested deeper than ${MAX_VALUE_DEPTH} levels (or a cycle)`);
    switch (typeof v) {
      case 'undefined':
        return byte(0);
      case 'boolean':
        return byte(v ? 3 : 2);
      case 'number':
        byte(4);
        return f64(v);
      case 'string':
        byte(5);
        return text(v);
      case 'bigint':
        byte(6);
        return text(v.toString());
      case 'function':
        throw new TypeError('cannot send a function');
      case 'symbol':
        throw new TypeError('cannot send a symbol');
    }
    if (v === null) return byte(1);
    if (Array.isArray(v)) {
      byte(7);
      u32(v.length);
      for (let i = 0; i < v.length; i++) put(v[i], depth + 1);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      if (!(v.buffer instanceof ArrayBuffer)) throw new TypeError('cannot send a view of a SharedArrayBuffer');
      const kind = KINDS.findIndex((C) => v instanceof C);
      if (kind < 0) throw new TypeError(`cannot send a ${Object.prototype.toString.call(v)}`);
      byte(10);
      byte(kind);
      return bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    if (v instanceof ArrayBuffer) {
      byte(9);
      return bytes(new Uint8Array(v));
    }
    if (v instanceof Map) {
      byte(11);
      u32(v.size);
      for (const [key, item] of v) {
        put(key, depth + 1);
        put(item, depth + 1);
      }
      return;
    }
    if (v instanceof Set) {
      byte(12);
      u32(v.size);
      for (const item of v) put(item, depth + 1);
      return;
    }
    if (v instanceof Date) {
      byte(13);
      return f64(v.getTime());
    }
    if (typeof v.then === 'function') throw new TypeError('cannot send a promise');
    const names = Object.keys(v);
    byte(8);
    u32(names.length);
    for (const name of names) {
      text(name);
      put(v[name], depth + 1);
    }
  };
  put(value, 0);
  return out.subarray(0, length);
}

/**
 * The value `bytes` encode. Throws a TypeError for bytes that are not
 * exactly one encoded value.
 * @param {Uint8Array} bytes
 * @returns {any}
 */
export function decodeValue(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const bad = (/** @type {string} */ why) => new TypeError(`not an encoded value: ${why}`);
  const need = (/** @type {number} */ n) => {
    if (n > bytes.length - at) throw bad(`truncated at byte ${at}`);
  };
  const u32 = () => {
    need(4);
    const n = view.getUint32(at, true);
    at += 4;
    return n;
  };
  const count = () => {
    const n = u32();
    need(n);
    return n;
  };
  const text = () => {
    const n = u32();
    need(n);
    let s;
    try {
      s = fatalDecoder.decode(bytes.subarray(at, at + n));
    } catch {
      throw bad(`invalid UTF-8 at byte ${at}`);
    }
    at += n;
    return s;
  };
  const copy = () => {
    const n = u32();
    need(n);
    const b = bytes.slice(at, at + n);
    at += n;
    return b.buffer;
  };
  /** @returns {any} */
  const get = (/** @type {number} */ depth) => {
    if (depth > MAX_VALUE_DEPTH) throw bad(`nested deeper than ${MAX_VALUE_DEPTH} levels`);
    need(1);
    const tag = bytes[at++];
    switch (tag) {
      case 0:
        return undefined;
      case 1:
        return null;
      case 2:
        return false;
      case 3:
        return true;
      case 4: {
        need(8);
        const n = view.getFloat64(at, true);
        at += 8;
        return n;
      }
      case 5:
        return text();
      case 6: {
        const s = text();
        if (!/^-?[0-9]+$/.test(s)) throw bad(`${JSON.stringify(s)} is not a BigInt`);
        return BigInt(s);
      }
      case 7: {
        const n = count();
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = get(depth + 1);
        return a;
      }
      case 8: {
        const n = count();
        /** @type {Record<string, any>} */
        const o = {};
        for (let i = 0; i < n; i++) {
          const name = text();
          Object.defineProperty(o, name, { value: get(depth + 1), writable: true, enumerable: true, configurable: true });
        }
        return o;
      }
      case 9:
        return copy();
      case 10: {
        need(1);
        const kind = bytes[at++];
        const C = KINDS[kind];
        if (!C) throw bad(`unknown typed array kind ${kind}`);
        const buffer = copy();
        if (C === DataView) return new DataView(buffer);
        const unit = /** @type {any} */ (C).BYTES_PER_ELEMENT;
        if (buffer.byteLength % unit) throw bad(`${buffer.byteLength} bytes are not whole elements of a ${C.name}`);
        return new /** @type {any} */ (C)(buffer);
      }
      case 11: {
        const n = count();
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const key = get(depth + 1);
          m.set(key, get(depth + 1));
        }
        return m;
      }
      case 12: {
        const n = count();
        const s = new Set();
        for (let i = 0; i < n; i++) s.add(get(depth + 1));
        return s;
      }
      case 13: {
        need(8);
        const t = view.getFloat64(at, true);
        at += 8;
        return new Date(t);
      }
    }
    throw bad(`unknown tag ${tag} at byte ${at - 1}`);
  };
  const value = get(0);
  if (at !== bytes.length) throw bad(`${bytes.length - at} trailing bytes`);
  return value;
}
