// The CommonJS entry (require('xs-wasm') → cjs/node.cjs, generated from
// src/*.mjs) and the package's export conditions.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { describe, it } = require('node:test');

const packageDir = path.resolve(__dirname, '..');
const xs = require('xs-wasm'); // the package itself, through its "exports"

describe('CommonJS entry', () => {
  it('resolves require("xs-wasm") to the generated CommonJS build', () => {
    assert.equal(require.resolve('xs-wasm'), path.join(packageDir, 'cjs', 'node.cjs'));
    for (const name of ['Sandbox', 'SandboxError', 'MeterLimitError', 'MemoryLimitError', 'SandboxStoppedError', 'SnapshotError', 'IntegrityError', 'ABI_VERSION']) {
      assert.ok(name in xs, name);
    }
  });

  it('creates, evaluates, exchanges messages, meters, snapshots and restores', async () => {
    const logs = [];
    const s = await xs.Sandbox.create({ receiveMessage: (m) => m.toUpperCase(), onLog: (level, text) => logs.push(`${level}:${text}`), meterLimit: 100000 });
    assert.equal(s.build, 'emcc-os');
    assert.equal(s.evaluate('var n = 20; n + 1'), 21);
    assert.equal(s.evaluate('console.warn("careful"); sendMessage("shout")'), 'SHOUT');
    assert.deepEqual(logs, ['warn:careful']);
    s.evaluate('globalThis.receiveMessage = (m) => ({ twice: m * 2, n })');
    assert.deepEqual(s.sendMessage(4), { twice: 8, n: 20 });
    assert.ok(s.meter > 0);
    const error = (() => {
      try {
        s.evaluate('throw new SyntaxError("cjs")');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof xs.SandboxError);
    assert.equal(error.guestName, 'SyntaxError');
    const r = await xs.Sandbox.restore(s.snapshot(), { onLog() {} });
    assert.equal(r.evaluate('n'), 20);
    await assert.rejects(xs.Sandbox.restore(new Uint8Array(4)), xs.SnapshotError);
    assert.throws(() => s.evaluate('for (;;) {}'), xs.MeterLimitError);
    assert.throws(() => s.evaluate('1'), xs.SandboxStoppedError);
    r.dispose();
    s.dispose();
  });

  it('runs a WorkerSandbox (its worker runs the ES module worker script) with a deadline', async () => {
    // The deadline bounds create too (160-520 ms under a loaded machine).
    const ws = await xs.WorkerSandbox.create({ deadlineMs: 3000, build: 'emcc-os-single-cjs' });
    assert.equal(await ws.evaluate('6 * 7'), 42);
    assert.equal(ws.build, 'emcc-os-single-cjs');
    const error = await ws.evaluate('for (;;) {}').catch((e) => e);
    assert.ok(error instanceof xs.DeadlineError, String(error));
    assert.equal(ws.stopped, true);
  });

  it('maps the export conditions: node import, node require, browser, default', () => {
    const resolve = (conditions, code) =>
      execFileSync(process.execPath, [...conditions.map((c) => `--conditions=${c}`), '--input-type=module', '-e', code], { cwd: packageDir, encoding: 'utf8' }).trim();
    const esm = 'import { createRequire } from "node:module"; console.log(import.meta.resolve("xs-wasm"))';
    assert.equal(resolve([], esm), `file://${path.join(packageDir, 'src', 'node.mjs')}`);
    assert.equal(resolve(['browser'], esm), `file://${path.join(packageDir, 'src', 'browser.mjs')}`);
    assert.equal(resolve([], 'console.log(import.meta.resolve("xs-wasm/artifacts.json"))'), `file://${path.join(packageDir, 'dist', 'artifacts.json')}`);
  });

  it('loads the same build from ESM and CommonJS (a dual package: separate classes)', async () => {
    const esm = await import('xs-wasm');
    assert.notEqual(esm.Sandbox, xs.Sandbox);
    const s = await esm.Sandbox.create({ onLog() {} });
    assert.equal(s.evaluate('"esm"'), 'esm');
    s.dispose();
  });
});
