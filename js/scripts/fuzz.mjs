// The JS package's side of `cargo xtask fuzz` (xtask/src/fuzz.rs): crafted
// snapshots, or mutated messages and sources, through this package's Sandbox
// in this thread. Prints "<case index> <outcome>" per case; the xtask counts
// a case after which this process stays silent past the deadline as a hang
// and starts a new process at the next case. Case i is the same for a seed
// whatever the start (each case seeds its own generator).
//
// Usage: node scripts/fuzz.mjs <artifacts dir> <variant> snapshots|inputs
//          <start> <count> <seed> <meterLimit> <memoryLimit>

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Sandbox, SnapshotError, SandboxError, MeterLimitError, MemoryLimitError, StackOverflowError, EngineError,
  ResultTooLargeError, InvalidJsonError, XsWasmError,
} from '../src/node.mjs';

const [artifacts, build, mode, startText, countText, seedText, meterText, memoryText] = process.argv.slice(2);
if (!['snapshots', 'inputs'].includes(mode)) {
  process.stderr.write('usage: node scripts/fuzz.mjs <artifacts dir> <variant> snapshots|inputs <start> <count> <seed> <meterLimit> <memoryLimit>\n');
  process.exit(2);
}
const corpus = join(import.meta.dirname, '..', '..', 'configs', 'fuzz');
const read = (file) => readFileSync(join(corpus, file), 'utf8');
const seeds = (dir) => readdirSync(join(corpus, dir)).sort().map((f) => read(join(dir, f)));
const options = { artifacts, build, meterLimit: Number(meterText), memoryLimit: Number(memoryText), onLog: () => {} };

/** xorshift32 seeded from (seed, case): the same cases on every machine. */
function rngFor(seed, index) {
  let state = (Number(BigInt(seed) % 0xFFFFFFFFn) ^ Math.imul(index + 1, 0x9E3779B9)) >>> 0 || 1;
  const next = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  return { next, below: (n) => next() % Math.max(n, 1) };
}

/** Bytes of the snapshot header (port/xs_wasm.h); the checksum (FNV-1a of the payload) is its last 4. */
const HEADER = 32;
function checksum(bytes) {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

function craftSnapshot(snapshot, rng) {
  const WORDS = [0, 1, 2, 3, 4, 8, 16, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF];
  const bytes = snapshot.slice();
  const view = new DataView(bytes.buffer);
  const span = bytes.length - HEADER - 4;
  for (let n = 1 + rng.below(4); n > 0; n--) {
    const at = HEADER + rng.below(span);
    const word = at & ~3;
    switch (rng.below(3)) {
      case 0: bytes[at] = rng.next() & 0xFF; break;
      case 1: view.setUint32(word, rng.next() & 1 ? rng.below(4096) : WORDS[rng.below(WORDS.length)], true); break;
      default: bytes.copyWithin(word, (HEADER + rng.below(span)) & ~3, ((HEADER + rng.below(span)) & ~3) + 4);
    }
  }
  view.setUint32(HEADER - 4, checksum(bytes.subarray(HEADER)), true);
  return bytes;
}

function mutateText(seed, rng) {
  const INSERTS = [[0], [0xFF], [0xED, 0xA0, 0x80], [0x7B], [0x5B], [0x22], [0x5C, 0x75], [0x28, 0x28]];
  let bytes = [...Buffer.from(seed)];
  for (let n = 1 + rng.below(3); n > 0; n--) {
    const at = rng.below(bytes.length + 1);
    switch (rng.below(6)) {
      case 0: if (at < bytes.length) bytes[at] = rng.next() & 0xFF; break;
      case 1: bytes.splice(at, 0, ...INSERTS[rng.below(INSERTS.length)]); break;
      case 2: bytes.splice(at, rng.below(16)); break;
      case 3: bytes.splice(at, 0, ...bytes.slice(at, at + rng.below(64))); break;
      case 4: bytes.length = at; break;
      default: {
        const depth = [10, 200, 5000, 20000][rng.below(4)];
        const [open, close] = [['[', ']'], ['(', ')'], ['{"a":', '}'], ['-', '']][rng.below(4)];
        bytes = [...Buffer.from(open.repeat(depth)), ...bytes, ...Buffer.from(close.repeat(depth))];
      }
    }
  }
  return Buffer.from(bytes);
}

function errorName(error, refused) {
  if (error instanceof SnapshotError) return refused;
  if (error instanceof SandboxError) return 'js-error';
  if (error instanceof MeterLimitError) return 'meter-limit';
  if (error instanceof MemoryLimitError) return 'memory-limit';
  if (error instanceof StackOverflowError) return 'stack-overflow';
  if (error instanceof EngineError) return 'engine-trap';
  if (error instanceof ResultTooLargeError) return 'result-too-large';
  if (error instanceof InvalidJsonError) return 'invalid-json';
  if (error instanceof XsWasmError) return 'other-error';
  // The package's contract for a message the host gives that is not JSON for the guest.
  if (error instanceof TypeError && String(error.message).startsWith('sendMessage: ')) return 'invalid-message';
  process.stderr.write(`fuzz.mjs: untyped failure: ${error?.stack ?? error}\n`);
  return 'untyped';
}

const heap = await Sandbox.create(options);
heap.evaluate(read('heap.js'));
const check = read('check.js');
const snapshot = heap.snapshot();
const expected = JSON.stringify(heap.evaluate(check));
heap.dispose();
const sources = seeds('sources');
const messages = seeds('messages');

async function snapshotCase(rng) {
  let sandbox;
  try {
    sandbox = await Sandbox.restore(craftSnapshot(snapshot, rng), options);
  } catch (error) {
    return errorName(error, 'refused');
  }
  let outcome;
  try {
    outcome = JSON.stringify(sandbox.evaluate(check)) === expected ? 'restored-same' : 'restored-different';
  } catch (error) {
    outcome = errorName(error, 'restored-error');
  }
  try {
    sandbox.snapshot();
  } catch (error) {
    if (errorName(error, 'snapshot-error') === 'untyped') outcome = 'untyped';
  }
  sandbox.dispose();
  return outcome;
}

async function inputCase(rng, index) {
  const message = index % 2 === 1;
  const list = message ? messages : sources;
  const text = mutateText(list[rng.below(list.length)], rng);
  let value;
  if (message) {
    try {
      value = JSON.parse(text.toString('utf8'));
    } catch {
      return 'not-json';
    }
  }
  let sandbox;
  try {
    sandbox = await Sandbox.restore(snapshot, options);
  } catch (error) {
    return errorName(error, 'setup-error');
  }
  try {
    if (message) sandbox.sendMessage(value);
    else sandbox.evaluate(text.toString('utf8'));
    return 'ok';
  } catch (error) {
    return errorName(error, 'other-error');
  } finally {
    sandbox.dispose();
  }
}

const [start, count] = [Number(startText), Number(countText)];
for (let index = start; index < count; index++) {
  const rng = rngFor(seedText, index);
  const outcome = mode === 'snapshots' ? await snapshotCase(rng) : await inputCase(rng, index);
  process.stdout.write(`${index} ${outcome}\n`);
}
