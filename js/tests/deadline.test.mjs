// Deadlines, interrupts and heap statistics of the in-thread Sandbox (issue
// 26, item 4): the same behaviour as the Rust crate's Options::deadline,
// InterruptHandle and Machine::heap_statistics, through the public API.
//
// The cross-loader check of the heap statistics needs the `xs-wasm` CLI,
// found as in crossbuild.test.mjs ($XS_WASM_CLI, <repo>/target/debug/xs-wasm,
// $CARGO_TARGET_DIR/debug/xs-wasm); without one it is skipped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DeadlineError, InterruptedError, Sandbox, SandboxStoppedError, WorkerSandbox } from '../src/node.mjs';
import { REPO_DIR } from './helpers.mjs';

const quiet = { onLog: () => {} };

describe('deadlineMs: a wall-clock deadline per call, checked at the meter checks', () => {
  it('defaults to 60 s, as the crate; 0, null and Infinity mean none; bad values are RangeErrors', async () => {
    const s = await Sandbox.create(quiet);
    assert.equal(s.deadlineMs, 60_000);
    s.dispose();
    for (const none of [0, null, Infinity]) {
      const n = await Sandbox.create({ ...quiet, deadlineMs: none });
      assert.equal(n.deadlineMs, 0);
      n.dispose();
    }
    for (const bad of [-1, 1.5, '100', 2 ** 31]) await assert.rejects(Sandbox.create({ deadlineMs: bad }), RangeError);
  });

  it('ends for(;;){} with DeadlineError, counts its ticks, and stops the sandbox', async () => {
    const s = await Sandbox.create({ ...quiet, deadlineMs: 200 });
    const start = performance.now();
    const error = (() => {
      try {
        s.evaluate('for (;;) {}');
      } catch (e) {
        return e;
      }
      return null;
    })();
    const elapsed = performance.now() - start;
    assert.ok(error instanceof DeadlineError, String(error));
    assert.equal(error.deadlineMs, 200);
    assert.equal(error.message, 'the sandbox is stopped: evaluate() ran past its deadline of 200 ms: the sandbox was stopped');
    assert.ok(elapsed >= 200 && elapsed < 10_000, `${elapsed} ms`);
    assert.ok(s.meter > 0, `meter ${s.meter}`);
    assert.ok(s.stopped);
    assert.throws(() => s.evaluate('1'), (e) => e instanceof SandboxStoppedError && !(e instanceof DeadlineError));
  });

  it('ends an endless timer callback in an event-loop run with DeadlineError', async () => {
    const s = await Sandbox.create({ ...quiet, deadlineMs: 200 });
    await assert.rejects(s.run('new Promise((resolve) => setTimeout(() => { for (;;) {} }, 10))'), DeadlineError);
    assert.ok(s.stopped);
  });

  it('counts each call from its own start: many short calls pass a deadline shorter than their sum', async () => {
    const s = await Sandbox.create({ ...quiet, deadlineMs: 300 });
    s.evaluate('globalThis.spin = (ms) => { let n = 0; for (let i = 0; i < ms * 2000; i++) n += i; return n; }');
    for (let i = 0; i < 10; i++) s.evaluate('spin(20)');
    assert.equal(s.stopped, false);
    s.dispose();
  });

  it('covers the time of a host hook: a guest that waits in receiveMessage is stopped after it returns', async () => {
    const s = await Sandbox.create({
      ...quiet,
      deadlineMs: 100,
      receiveMessage: () => {
        const until = performance.now() + 150;
        while (performance.now() < until);
        return 1;
      },
    });
    assert.throws(() => s.evaluate('sendMessage("wait"); for (;;) {}'), DeadlineError);
  });
});

describe('interrupt() and interruptBuffer', () => {
  it('interrupt() from a hook ends the call in progress with InterruptedError', async () => {
    const s = await Sandbox.create({ ...quiet, deadlineMs: null });
    s.receiveMessage = () => {
      s.interrupt();
      return 0;
    };
    assert.throws(() => s.evaluate('for (let i = 0; ; i++) if (i === 1000) sendMessage(i);'), (e) => e instanceof InterruptedError && e.method === 'evaluate');
    assert.ok(s.stopped);
    assert.match(s.stopReason, /interrupted by the host/);
  });

  it('interrupt() between calls stops the next call before it runs', async () => {
    const s = await Sandbox.create(quiet);
    s.evaluate('globalThis.ran = 0');
    s.interrupt();
    s.interrupt(); // idempotent
    assert.throws(() => s.evaluate('ran = 1'), InterruptedError);
    assert.ok(s.stopped);
  });

  it('another thread interrupts an endless loop through the interruptBuffer', async () => {
    const buffer = new Int32Array(new SharedArrayBuffer(4));
    const s = await Sandbox.create({ ...quiet, deadlineMs: null, interruptBuffer: buffer });
    const worker = new Worker('const { workerData } = require("node:worker_threads"); setTimeout(() => Atomics.store(workerData, 0, 1), 100);', { eval: true, workerData: buffer });
    try {
      assert.throws(() => s.evaluate('for (;;) {}'), InterruptedError);
    } finally {
      await worker.terminate();
    }
    assert.ok(s.stopped);
  });

  it('refuses an interruptBuffer that is not an Int32Array', async () => {
    await assert.rejects(Sandbox.create({ interruptBuffer: new Uint8Array(4) }), TypeError);
    await assert.rejects(Sandbox.create({ interruptBuffer: new Int32Array(0) }), TypeError);
  });
});

describe('heapStatistics()', () => {
  it('follows what the guest allocates and frees', async () => {
    const s = await Sandbox.create(quiet);
    const fresh = s.heapStatistics({ collect: true });
    assert.equal(fresh.memoryLimit, 256 * 1024 * 1024);
    assert.equal(fresh.stackSlots, 131072);
    assert.ok(fresh.linearMemory >= fresh.memoryUsed && fresh.memoryUsed >= fresh.chunkBytes + 16 * fresh.slots, JSON.stringify(fresh));
    s.evaluate('globalThis.keep = Array.from({ length: 100000 }, (_, i) => ({ i })); 0');
    const full = s.heapStatistics({ collect: true });
    assert.ok(full.slotsUsed >= fresh.slotsUsed + 200_000, JSON.stringify([fresh, full]));
    s.evaluate('keep = undefined; 0');
    const freed = s.heapStatistics({ collect: true });
    assert.ok(freed.slotsUsed < fresh.slotsUsed + 10_000, JSON.stringify([fresh, freed]));
    assert.ok(freed.slotsPeak >= full.slotsUsed);
    // Without a collection nothing changes in the machine: same snapshot.
    s.evaluate('for (let i = 0; i < 3000; i++) ({ i }); 0'); // fits in the free slots: no collection
    const garbage = s.heapStatistics();
    assert.ok(garbage.slotsUsed >= freed.slotsUsed + 6000, JSON.stringify([freed, garbage]));
    const before = s.snapshot();
    s.heapStatistics();
    assert.deepEqual(s.snapshot(), before);
    assert.throws(() => s.heapStatistics(null), TypeError);
    s.dispose();
    assert.throws(() => s.heapStatistics(), SandboxStoppedError);
  });

  it('gives the same figures in a WorkerSandbox', async () => {
    const a = await Sandbox.create(quiet);
    const w = await WorkerSandbox.create(quiet);
    try {
      const script = 'globalThis.data = Array.from({ length: 5000 }, (_, i) => "item " + i); 0';
      a.evaluate(script);
      await w.evaluate(script);
      const local = a.heapStatistics({ collect: true });
      const remote = await w.heapStatistics({ collect: true });
      assert.deepEqual({ ...remote, linearMemory: 0 }, { ...local, linearMemory: 0 });
    } finally {
      a.dispose();
      w.dispose();
    }
  });

  it("gives the Rust crate's figures for the same history (xs-wasm --heap-statistics)", async (t) => {
    const candidates = [process.env.XS_WASM_CLI, path.join(REPO_DIR, 'target', 'debug', 'xs-wasm'), process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'debug', 'xs-wasm')];
    const cli = candidates.find((c) => c && fs.existsSync(c));
    if (!cli) {
      t.skip('no xs-wasm CLI built');
      return;
    }
    const script = 'globalThis.data = Array.from({ length: 5000 }, (_, i) => ({ i, s: "item " + i })); data.length';
    const run = spawnSync(cli, ['eval', '--heap-statistics', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const crate = JSON.parse(run.stderr.trim().split('\n').at(-1));
    const s = await Sandbox.create(quiet);
    s.evaluate(script);
    const js = s.heapStatistics({ collect: true });
    assert.deepEqual({ ...js, linearMemory: 0 }, { ...crate, linearMemory: 0 });
    s.dispose();
  });
});
