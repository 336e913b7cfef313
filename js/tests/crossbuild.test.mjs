// Cross-build snapshots: a snapshot written by an emscripten build restores in
// the WASI build (through the Rust crate's `xs-wasm` CLI) and the reverse,
// and the same history gives the same snapshot bytes in every build.
//
// The CLI: $XS_WASM_CLI, else <repo>/target/debug/xs-wasm, else
// $CARGO_TARGET_DIR/debug/xs-wasm (build it with
// `cargo build -p xs-wasm --features cli --bin xs-wasm`). Without one every test is reported
// as skipped, with the reason. `cargo xtask test` builds the CLI and sets
// XS_WASM_CLI: a CLI named there that does not exist fails the run instead.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import v8 from 'node:v8';
import { ARTIFACTS_DIR, REPO_DIR, emscriptenVariants, manifest } from './helpers.mjs';

// The byte-identity check runs the -O0 build too: Liftoff only (see sandbox-debug.test.mjs).
v8.setFlagsFromString('--liftoff-only');
const { Sandbox } = await import('../src/node.mjs');

function findCli() {
  if (process.env.XS_WASM_CLI) {
    if (!fs.existsSync(process.env.XS_WASM_CLI)) throw new Error(`XS_WASM_CLI=${process.env.XS_WASM_CLI} does not exist`);
    return process.env.XS_WASM_CLI;
  }
  const candidates = [
    path.join(REPO_DIR, 'target', 'debug', 'xs-wasm'),
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'debug', 'xs-wasm'),
  ].filter(Boolean);
  return candidates.find((file) => fs.existsSync(file));
}

const cli = findCli();
const wasiVariant = Object.keys(manifest().variants)
  .sort((a, b) => (b === 'wasi-os') - (a === 'wasi-os') || a.localeCompare(b))
  .find((name) => manifest().variants[name].toolchain === 'wasi' && fs.existsSync(path.join(ARTIFACTS_DIR, name, 'xs-wasm.wasm')));
const skip = !cli
  ? 'no xs-wasm CLI binary (set XS_WASM_CLI, or build it: cargo build -p xs-wasm --features cli --bin xs-wasm)'
  : !wasiVariant
    ? `no WASI variant built in ${ARTIFACTS_DIR}`
    : false;

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-cross-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

/** Run the Rust CLI on a WASI variant (default: the one chosen above); returns its parsed stdout. */
function wasi(code, { snapshotIn, snapshotOut, variant = wasiVariant, flags = [] } = {}) {
  const args = ['--artifacts', ARTIFACTS_DIR, '--variant', variant, ...flags, 'eval', code];
  if (snapshotIn) args.push('--snapshot-in', snapshotIn);
  if (snapshotOut) args.push('--snapshot-out', snapshotOut);
  const run = spawnSync(cli, args, { encoding: 'utf8', timeout: 120000 });
  assert.equal(run.status, 0, `xs-wasm ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const SCRIPT = 'var state = { n: 41, words: ["snap", "shot"] }; let lexical = "kept"; function bump(k) { return state.n += k } bump(1)';

// The skip is per test: a skipped describe() counts as neither passed nor
// skipped in node:test's summary, so a run without the CLI looked complete.
describe('cross-build snapshots (emscripten <-> WASI through the Rust CLI)', () => {
  // Full-featured builds here; the -lite pair has its own tests below.
  const emcc = emscriptenVariants().filter((v) => !v.slow && v.lacks.length === 0);

  it('restores a WASI snapshot in every emscripten build', { skip }, async () => {
    const file = path.join(temp, 'from-wasi.snapshot');
    assert.equal(wasi(SCRIPT, { snapshotOut: file }), 42);
    const bytes = fs.readFileSync(file);
    for (const variant of emcc) {
      const s = await Sandbox.restore(bytes, { ...variant.options, onLog() {} });
      assert.deepEqual(s.evaluate('[state.n, state.words, lexical, bump(8)]'), [42, ['snap', 'shot'], 'kept', 50], variant.name);
      s.dispose();
    }
  });

  it('restores an emscripten snapshot in the WASI build', { skip }, async () => {
    for (const variant of emcc) {
      const s = await Sandbox.create({ ...variant.options, onLog() {} });
      assert.equal(s.evaluate(SCRIPT), 42);
      s.evaluate(`state.from = ${JSON.stringify(variant.name)}`);
      const file = path.join(temp, `from-${variant.name}.snapshot`);
      fs.writeFileSync(file, s.snapshot());
      s.dispose();
      assert.deepEqual(wasi('[state.n, state.words, state.from, lexical, bump(8)]', { snapshotIn: file }), [42, ['snap', 'shot'], variant.name, 'kept', 50], variant.name);
    }
  });

  it('writes byte-identical snapshots in every build for the same history', { skip }, async () => {
    const file = path.join(temp, 'same.snapshot');
    wasi(SCRIPT, { snapshotOut: file });
    const reference = new Uint8Array(fs.readFileSync(file));
    for (const variant of emscriptenVariants().filter((v) => v.lacks.length === 0)) {
      const s = await Sandbox.create({ ...variant.options, onLog() {} });
      s.evaluate(SCRIPT);
      const bytes = s.snapshot();
      s.dispose();
      assert.equal(bytes.length, reference.length, `${variant.name}: length`);
      const first = bytes.findIndex((b, i) => b !== reference[i]);
      assert.equal(first, -1, `${variant.name} differs from ${wasiVariant} first at byte ${first}`);
    }
  });

  it('writes byte-identical snapshots of locked-down machines in every build', { skip }, async () => {
    const file = path.join(temp, 'locked.snapshot');
    const script = `${SCRIPT}; globalThis.config = harden({ depth: 3 }); bump(0)`;
    assert.equal(wasi(script, { snapshotOut: file, flags: ['--lockdown'] }), 42);
    const reference = new Uint8Array(fs.readFileSync(file));
    for (const variant of emscriptenVariants().filter((v) => !v.slow && v.lacks.length === 0)) {
      const s = await Sandbox.create({ ...variant.options, lockdown: true, onLog() {} });
      s.evaluate(script);
      const bytes = s.snapshot();
      s.dispose();
      assert.equal(bytes.length, reference.length, `${variant.name}: length`);
      const first = bytes.findIndex((b, i) => b !== reference[i]);
      assert.equal(first, -1, `${variant.name} differs from ${wasiVariant} first at byte ${first}`);
    }
    assert.deepEqual(wasi('[Object.isFrozen(Object.prototype), Object.isFrozen(config), bump(1)]', { snapshotIn: file }), [true, true, 43]);
  });

  it('refuses an emscripten snapshot with a flipped payload byte in the WASI build too', { skip }, () => {
    const file = path.join(temp, `from-${emcc[0].name}.snapshot`);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 1;
    const bad = path.join(temp, 'bad.snapshot');
    fs.writeFileSync(bad, bytes);
    const run = spawnSync(cli, ['--artifacts', ARTIFACTS_DIR, '--variant', wasiVariant, 'eval', '1', '--snapshot-in', bad], { encoding: 'utf8' });
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /corrupt|checksum/);
  });

  // The -lite pair (manifest `lacks`): snapshots move between the emscripten
  // and the WASI lite builds with the same bytes, and never into a full build.
  const liteEmcc = emscriptenVariants().find((v) => v.release && v.lacks.length > 0);
  const liteWasi = Object.keys(manifest().variants).find((name) => manifest().variants[name].toolchain === 'wasi' && (manifest().variants[name].lacks ?? []).length > 0);
  const liteSkip = skip || (!liteEmcc || !liteWasi ? 'no -lite pair in the manifest' : false);

  it('moves snapshots between the -lite builds byte for byte, and refuses them across lite and full', { skip: liteSkip }, async () => {
    assert.deepEqual(liteEmcc.lacks, manifest().variants[liteWasi].lacks);
    const fromWasi = path.join(temp, 'from-lite-wasi.snapshot');
    assert.equal(wasi(SCRIPT, { snapshotOut: fromWasi, variant: liteWasi }), 42);
    const reference = new Uint8Array(fs.readFileSync(fromWasi));
    const s = await Sandbox.restore(reference, { ...liteEmcc.options, onLog() {} });
    assert.deepEqual(s.evaluate('[state.n, lexical]'), [42, 'kept']);
    s.dispose();
    const e = await Sandbox.create({ ...liteEmcc.options, onLog() {} });
    e.evaluate(SCRIPT);
    const bytes = e.snapshot();
    e.dispose();
    assert.equal(bytes.findIndex((b, i) => b !== reference[i]), -1, `${liteEmcc.name} and ${liteWasi} write the same bytes`);
    // A full build's snapshot differs only in the header's feature field (bytes 8-11).
    const fromFull = path.join(temp, 'from-full-wasi.snapshot');
    wasi(SCRIPT, { snapshotOut: fromFull });
    const full = new Uint8Array(fs.readFileSync(fromFull));
    assert.equal(full.length, bytes.length);
    assert.deepEqual([...bytes.keys()].filter((i) => bytes[i] !== full[i]), [10]);
    // Lite into full (emscripten and WASI), full into lite: refused, naming both sides.
    await assert.rejects(Sandbox.restore(bytes, { ...emcc[0].options, onLog() {} }), (error) => /written by a build without regexp-property-escapes, string-normalize; this is a full build/.test(error.reason));
    await assert.rejects(Sandbox.restore(full, { ...liteEmcc.options, onLog() {} }), (error) => /written by a full build; this is a build without regexp-property-escapes, string-normalize/.test(error.reason));
    const run = spawnSync(cli, ['--artifacts', ARTIFACTS_DIR, '--variant', wasiVariant, 'eval', '1', '--snapshot-in', fromWasi], { encoding: 'utf8' });
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /this is a full build/);
  });
});
