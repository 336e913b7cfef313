// Loading builds in Node: defaults, integrity checks, bad artifacts, custom factories.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import * as api from '../src/node.mjs';
import { ARTIFACTS_DIR, DIST_DIR, PACKAGE_DIR, manifest, packaged } from './helpers.mjs';

const { Sandbox } = api;
const quiet = { onLog() {} };
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-loader-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

/** A copy of the package's dist/ in which `mutate` may break things. */
function distCopy(name, mutate) {
  const dir = path.join(temp, name);
  fs.cpSync(DIST_DIR, dir, { recursive: true });
  mutate(dir);
  return dir;
}

describe('loading builds in Node', () => {
  it('uses the package default build (package.json xsWasm.defaults.node, a separate-wasm build)', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'));
    const s = await Sandbox.create(quiet);
    assert.equal(s.build, pkg.xsWasm.defaults.node);
    assert.equal(packaged().variants[s.build].form, 'cjs');
    assert.ok(packaged().variants[s.build].files['xs-wasm.wasm']);
    assert.equal(s.evaluate('6 * 7'), 42);
    s.dispose();
  });

  it('ships every release emscripten variant with the sha256 of the manifest', () => {
    const m = manifest();
    const p = packaged();
    const expected = Object.keys(m.variants).filter((n) => m.variants[n].toolchain === 'emscripten' && m.variants[n].release).sort();
    assert.deepEqual(Object.keys(p.variants).sort(), expected);
    for (const [name, v] of Object.entries(p.variants)) {
      for (const [file, meta] of Object.entries(v.files)) {
        assert.equal(meta.sha256, m.variants[name].files[file].sha256, `${name}/${file}`);
        assert.equal(fs.statSync(path.join(DIST_DIR, name, file)).size, meta.bytes);
      }
    }
  });

  it('loads a variant from a `cargo xtask build` directory (manifest.json)', async () => {
    const s = await Sandbox.create({ ...quiet, artifacts: ARTIFACTS_DIR, build: 'emcc-os' });
    assert.equal(s.evaluate('"from artifacts/"'), 'from artifacts/');
    s.dispose();
  });

  it('refuses a tampered .wasm with IntegrityError naming expected and actual sha256', async () => {
    const dir = distCopy('tampered-wasm', (d) => {
      const file = path.join(d, 'emcc-os', 'xs-wasm.wasm');
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 10] ^= 0xff;
      fs.writeFileSync(file, bytes);
    });
    const expected = packaged().variants['emcc-os'].files['xs-wasm.wasm'].sha256;
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: dir, build: 'emcc-os' }), (error) => {
      assert.ok(error instanceof api.IntegrityError, String(error));
      assert.equal(error.expected, expected);
      assert.match(error.actual, /^[0-9a-f]{64}$/);
      assert.notEqual(error.actual, expected);
      assert.ok(error.file.endsWith(path.join('emcc-os', 'xs-wasm.wasm')));
      assert.match(error.message, new RegExp(`expected sha256 ${expected}, got ${error.actual}`));
      return true;
    });
    // the failure is not cached, the good build still loads
    const s = await Sandbox.create({ ...quiet, build: 'emcc-os' });
    assert.equal(s.evaluate('1'), 1);
    s.dispose();
  });

  it('refuses a tampered glue file and a tampered single-file build', async () => {
    const dir = distCopy('tampered-glue', (d) => {
      fs.appendFileSync(path.join(d, 'emcc-o2', 'xs-wasm.js'), '\n// changed\n');
      const single = path.join(d, 'emcc-os-single-esm', 'xs-wasm.mjs');
      fs.writeFileSync(single, fs.readFileSync(single, 'utf8').replace('createXsWasm', 'createXsWasm '));
    });
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: dir, build: 'emcc-o2' }), api.IntegrityError);
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: dir, build: 'emcc-os-single-esm' }), api.IntegrityError);
  });

  it('refuses files without a listed sha256, missing files, unknown builds and WASI builds', async () => {
    const unlisted = distCopy('unlisted', (d) => {
      const meta = JSON.parse(fs.readFileSync(path.join(d, 'artifacts.json'), 'utf8'));
      delete meta.variants['emcc-os'].files['xs-wasm.wasm'].sha256;
      fs.writeFileSync(path.join(d, 'artifacts.json'), JSON.stringify(meta));
    });
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: unlisted, build: 'emcc-os' }), /no valid sha256 is listed/);
    const missing = distCopy('missing', (d) => fs.rmSync(path.join(d, 'emcc-os', 'xs-wasm.wasm')));
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: missing, build: 'emcc-os' }), (e) => e instanceof api.ArtifactError && /cannot read/.test(e.message));
    await assert.rejects(Sandbox.create({ ...quiet, build: 'emcc-nope' }), (e) => e instanceof api.ArtifactError && /no build "emcc-nope"/.test(e.message) && /emcc-os/.test(e.message));
    const wasi = Object.keys(manifest().variants).find((n) => manifest().variants[n].toolchain === 'wasi');
    if (wasi) await assert.rejects(Sandbox.create({ ...quiet, artifacts: ARTIFACTS_DIR, build: wasi }), /is a wasi build/);
    await assert.rejects(Sandbox.create({ ...quiet, artifacts: path.join(temp, 'nowhere') }), /no artifacts.json or manifest.json/);
  });

  it('runs a build loaded by the caller (factory + wasmBinary), verifying wasmSha256', async () => {
    const require = createRequire(import.meta.url);
    const factory = require(path.join(DIST_DIR, 'emcc-oz', 'xs-wasm.js'));
    const wasmBinary = fs.readFileSync(path.join(DIST_DIR, 'emcc-oz', 'xs-wasm.wasm'));
    const wasmSha256 = packaged().variants['emcc-oz'].files['xs-wasm.wasm'].sha256;
    const s = await Sandbox.create({ ...quiet, factory, wasmBinary, wasmSha256, build: 'my-oz' });
    assert.equal(s.build, 'my-oz');
    assert.equal(s.evaluate('[1, 2].map((x) => x * 2)').join(), '2,4');
    const r = await Sandbox.restore(s.snapshot(), { ...quiet, factory, wasmBinary, wasmSha256 });
    assert.equal(r.evaluate('1 + 1'), 2);
    await assert.rejects(Sandbox.create({ ...quiet, factory, wasmBinary, wasmSha256: '0'.repeat(64) }), api.IntegrityError);
    await assert.rejects(Sandbox.create({ ...quiet, wasmBinary }), /go with option factory/);
    await assert.rejects(Sandbox.create({ ...quiet, factory: () => Promise.resolve({}) }), api.ArtifactError);
    // a glue and a .wasm of different builds do not link: an error, not a hang
    const otherWasm = fs.readFileSync(path.join(DIST_DIR, 'emcc-o2', 'xs-wasm.wasm'));
    await assert.rejects(Sandbox.create({ ...quiet, factory, wasmBinary: otherWasm }), /import/i);
    s.dispose();
    r.dispose();
  });

  it('compiles a single-file factory once without wasmBinary; a factory whose module it cannot see needs hostTimeZone', async () => {
    const require = createRequire(import.meta.url);
    const single = require(path.join(DIST_DIR, 'emcc-os-single-cjs', 'xs-wasm.js'));
    const inlinedSha256 = packaged().variants['emcc-os-single-cjs'].files['xs-wasm.js'].inlined.sha256;
    // the inlined module (inflated) is emcc-os's .wasm
    const moduleSha256 = packaged().variants['emcc-os'].files['xs-wasm.wasm'].sha256;
    const s = await Sandbox.create({ ...quiet, factory: single, wasmSha256: moduleSha256 });
    assert.equal(s.evaluate('new Date(0).getTimezoneOffset()'), 0);
    await assert.rejects(Sandbox.create({ ...quiet, factory: single, wasmSha256: inlinedSha256 }), api.IntegrityError, 'wasmSha256 is the module\'s, not the gzip payload\'s');
    s.dispose();
    // the separate-wasm glue without its .wasm fetches and compiles the module itself: the package cannot pin its time zone
    const glue = require(path.join(DIST_DIR, 'emcc-oz', 'xs-wasm.js'));
    await assert.rejects(Sandbox.create({ ...quiet, factory: glue }), /cannot keep its time zone at UTC/);
  });

  it("does not leave emscripten's process listeners behind", async () => {
    const before = ['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e));
    const sandboxes = [];
    for (const build of Object.keys(packaged().variants)) sandboxes.push(await Sandbox.create({ ...quiet, build }));
    for (let i = 0; i < 12; i++) sandboxes.push(await Sandbox.create(quiet));
    const afterCounts = ['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e));
    assert.deepEqual(afterCounts, before);
    for (const s of sandboxes) s.dispose();
  });

  it('keeps sandboxes isolated from each other', async () => {
    const a = await Sandbox.create(quiet);
    const b = await Sandbox.create(quiet);
    a.evaluate('var shared = "a"; Object.prototype.polluted = true');
    assert.equal(b.evaluate('typeof shared'), 'undefined');
    assert.equal(b.evaluate('({}).polluted === undefined'), true);
    a.dispose();
    assert.equal(b.evaluate('"b lives on"'), 'b lives on');
    b.dispose();
  });
});
