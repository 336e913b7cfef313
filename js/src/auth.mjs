// Authenticated snapshots: the same format as the Rust crate's
// (crates/xs-wasm/src/auth.rs, port/xs_wasm.h). An authenticated snapshot is
// a snapshot (32-byte xs-wasm header, payload of P bytes) followed by
//   32+P  8   magic "XSWAMAC1"
//   40+P  32  HMAC-SHA256(key, every byte before this field)
// The engine never sees the trailer: it is checked and removed before restore.
//
// Sandbox calls are synchronous and WebCrypto's HMAC is not, so HMAC-SHA256
// is computed here (FIPS 180-4, RFC 2104), checked against RFC 4231 and
// node:crypto by the tests; a platform may supply a faster one
// (Platform.hmacSha256, Node's node:crypto).

import { SnapshotAuthError, SnapshotError } from './errors.mjs';

/** Magic of the MAC trailer ("XSWAMAC1"). */
const MAGIC = new Uint8Array([0x58, 0x53, 0x57, 0x41, 0x4d, 0x41, 0x43, 0x31]);
/** Bytes of the trailer: magic and MAC. */
const TRAILER = 40;
/** Shortest key accepted, bytes (as the crate's SnapshotKey::MIN_LEN). */
export const MIN_SNAPSHOT_KEY_LENGTH = 16;

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * One SHA-256 compression: the 64 bytes of `b` at `at` into the state `h`
 * (`w` is the message schedule's scratch space).
 * @param {Uint32Array} h
 * @param {Uint32Array} w
 * @param {Uint8Array} b
 * @param {number} at
 */
function compressBlock(h, w, b, at) {
  for (let i = 0; i < 16; i++) w[i] = (b[at + 4 * i] << 24) | (b[at + 4 * i + 1] << 16) | (b[at + 4 * i + 2] << 8) | b[at + 4 * i + 3];
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let [a, bb, c, d, e, f, g, hh] = h;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] += a;
  h[1] += bb;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

/**
 * SHA-256 of the concatenation of `parts`.
 * @param {Uint8Array[]} parts
 * @returns {Uint8Array} 32 bytes
 */
export function sha256(...parts) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const block = new Uint8Array(64);
  let filled = 0;
  let total = 0;
  const compress = (/** @type {Uint8Array} */ b, /** @type {number} */ at) => compressBlock(h, w, b, at);
  for (const part of parts) {
    let i = 0;
    total += part.length;
    if (filled) {
      const n = Math.min(64 - filled, part.length);
      block.set(part.subarray(0, n), filled);
      filled += n;
      i = n;
      if (filled === 64) {
        compress(block, 0);
        filled = 0;
      }
    }
    for (; i + 64 <= part.length; i += 64) compress(part, i);
    if (i < part.length) {
      block.set(part.subarray(i), 0);
      filled = part.length - i;
    }
  }
  block[filled++] = 0x80;
  if (filled > 56) {
    block.fill(0, filled);
    compress(block, 0);
    filled = 0;
  }
  block.fill(0, filled, 56);
  const bits = total * 8;
  const view = new DataView(block.buffer);
  view.setUint32(56, Math.floor(bits / 0x100000000));
  view.setUint32(60, bits >>> 0);
  compress(block, 0);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((word, i) => outView.setUint32(4 * i, word));
  return out;
}

/**
 * HMAC-SHA256 of `data` under `key` (RFC 2104).
 * @param {Uint8Array} key
 * @param {Uint8Array} data
 * @returns {Uint8Array} 32 bytes
 */
export function hmacSha256(key, data) {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? sha256(key) : key);
  const inner = k.map((b) => b ^ 0x36);
  const outer = k.map((b) => b ^ 0x5c);
  return sha256(outer, sha256(inner, data));
}

/**
 * Whether `bytes` are a snapshot followed by a MAC trailer: the header's
 * payload length P (offset 24) puts the magic at 32 + P and the bytes end 40
 * bytes later (a snapshot without a trailer is exactly 32 + P bytes long).
 * @param {Uint8Array} bytes
 */
function hasTrailer(bytes) {
  if (bytes.length < 32 + TRAILER) return false;
  const end = 32 + new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(24, true);
  if (end + TRAILER !== bytes.length) return false;
  return MAGIC.every((b, i) => bytes[end + i] === b);
}

/**
 * `snapshot` with the MAC trailer under `key` appended.
 * @param {Uint8Array} key
 * @param {Uint8Array} snapshot
 * @param {(key: Uint8Array, data: Uint8Array) => Uint8Array} [hmac]
 */
export function signSnapshot(key, snapshot, hmac = hmacSha256) {
  if (hasTrailer(snapshot)) throw new SnapshotError('the snapshot is authenticated already');
  const out = new Uint8Array(snapshot.length + TRAILER);
  out.set(snapshot);
  out.set(MAGIC, snapshot.length);
  out.set(hmac(key, out.subarray(0, snapshot.length + MAGIC.length)), snapshot.length + MAGIC.length);
  return out;
}

/**
 * The snapshot to restore: with a key, its MAC checked (in constant time)
 * and the trailer removed; without one, the trailer removed if there is one
 * (not checked: such a snapshot is as untrusted as any).
 * @param {Uint8Array | undefined} key
 * @param {Uint8Array} bytes
 * @param {(key: Uint8Array, data: Uint8Array) => Uint8Array} [hmac]
 * @returns {Uint8Array}
 */
export function openSnapshot(key, bytes, hmac = hmacSha256) {
  const trailer = hasTrailer(bytes);
  if (!key) return trailer ? bytes.subarray(0, bytes.length - TRAILER) : bytes;
  if (!trailer) throw new SnapshotAuthError('missing');
  const expected = hmac(key, bytes.subarray(0, bytes.length - 32));
  const tag = bytes.subarray(bytes.length - 32);
  let difference = 0;
  for (let i = 0; i < 32; i++) difference |= expected[i] ^ tag[i];
  if (difference !== 0) throw new SnapshotAuthError('mismatch');
  return bytes.subarray(0, bytes.length - TRAILER);
}
