// WorkerSandbox (Node, worker_threads): the sandbox in a worker of its own,
// every call asynchronous, a hard deadline per call that terminates the
// worker. The default build; the suite (suite.mjs) covers the engine itself.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as api from '../src/node.mjs';
import { packaged } from './helpers.mjs';

const { WorkerSandbox, DeadlineError, SandboxStoppedError } = api;

describe('WorkerSandbox', () => {
  it('runs evaluate, sendMessage, hooks, console and snapshots in a worker', async () => {
    const logs = [];
    const reply = 'r'.repeat(200_000); // more than one chunk of the reply channel
    const ws = await WorkerSandbox.create({ receiveMessage: (m) => ({ got: m, reply }), onLog: (level, text) => logs.push([level, text]) });
    assert.equal(await ws.evaluate('1 + 1'), 2);
    assert.equal(ws.build, packaged().defaults.node);
    assert.match(ws.xsVersion, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(await ws.evaluate('console.warn("from the worker"); const r = sendMessage({ n: 1 }); [r.got, r.reply.length]'), [{ n: 1 }, reply.length]);
    assert.deepEqual(logs, [['warn', 'from the worker']]);
    await ws.evaluate('globalThis.receiveMessage = (m) => m * 2');
    assert.equal(await ws.sendMessage(21), 42);
    assert.ok(ws.meter > 0);
    // a hook that throws: an Error in the guest; the hook cannot call its own sandbox
    ws.receiveMessage = () => {
      throw new TypeError('no');
    };
    assert.equal(await ws.evaluate('try { sendMessage(1) } catch (e) { e.message }'), 'no');
    let busy;
    ws.receiveMessage = () => {
      ws.evaluate('1').catch((error) => (busy = error));
      return 1;
    };
    assert.equal(await ws.evaluate('sendMessage(1)'), 1);
    assert.ok(busy instanceof api.SandboxBusyError, String(busy));
    const error = await ws.evaluate('null.x').catch((e) => e);
    assert.ok(error instanceof api.SandboxError && error.guestName === 'TypeError', String(error));
    assert.equal(ws.stopped, false);
    const bytes = await ws.snapshot();
    assert.ok(bytes instanceof Uint8Array && bytes.length > 1000);
    const restored = await WorkerSandbox.restore(bytes);
    assert.equal(await restored.sendMessage(5), 10);
    await assert.rejects(WorkerSandbox.restore(new Uint8Array(3)), api.SnapshotError);
    restored.dispose();
    ws.dispose();
    ws.dispose();
    await assert.rejects(ws.evaluate('1'), { name: 'SandboxStoppedError', reason: 'disposed' });
  });

  it('ends for(;;){} at the deadline with DeadlineError; the worker sandbox is then dead; the event loop stayed free', async () => {
    // The deadline bounds create too (160-520 ms on a loaded machine).
    const ws = await WorkerSandbox.create({ deadlineMs: 2000 });
    assert.equal(ws.deadlineMs, 2000);
    assert.equal(await ws.evaluate('var kept = 41; kept + 1'), 42);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 10);
    const queued = ws.evaluate('kept'); // queued behind the endless call
    const error = await ws.evaluate('for (;;) {}').catch((e) => e);
    assert.ok(error instanceof DeadlineError, String(error));
    assert.ok(error instanceof SandboxStoppedError);
    assert.equal(error.deadlineMs, 2000);
    assert.equal(error.message, 'the sandbox is stopped: evaluate() ran past its deadline of 2000 ms: the worker was terminated');
    assert.ok(timerRan, 'this thread ran a timer while the guest looped');
    assert.equal(await queued, 41, 'the call before it had finished');
    assert.equal(ws.stopped, true);
    assert.equal(ws.stopReason, error.reason);
    for (const call of [() => ws.evaluate('1'), () => ws.sendMessage(1), () => ws.snapshot(), () => ws.setMeterLimit(5)]) {
      const later = await call().catch((e) => e);
      assert.ok(later instanceof SandboxStoppedError && !(later instanceof DeadlineError), String(later));
      assert.equal(later.cause, error);
    }
    ws.dispose();
  });

  it('ends a long call in C (BigInt toString) at the deadline, without a meter limit', async () => {
    // an in-thread Sandbox without a meter limit runs it to the end (tens of seconds);
    // with one, configs/patches/0008 stops it at the limit
    const ws = await WorkerSandbox.create({ deadlineMs: 2000 });
    const error = await ws.evaluate('(1n << 2000000n).toString().length').catch((e) => e);
    assert.ok(error instanceof DeadlineError, String(error));
    assert.equal(ws.stopped, true);
  });

  it('stops at the meter limit like a Sandbox: MeterLimitError, then stopped', async () => {
    const ws = await WorkerSandbox.create({ meterLimit: 100_000 });
    const error = await ws.evaluate('for (;;) {}').catch((e) => e);
    assert.ok(error instanceof api.MeterLimitError && error.limit === 100_000, String(error));
    await assert.rejects(ws.evaluate('1'), SandboxStoppedError);
  });

  it('validates its options like Sandbox.create, plus deadlineMs', async () => {
    await assert.rejects(WorkerSandbox.create({ deadlineMs: -1 }), RangeError);
    await assert.rejects(WorkerSandbox.create({ deadlineMs: 1.5 }), RangeError);
    await assert.rejects(WorkerSandbox.create({ meterlimit: 1 }), /unknown Sandbox option "meterlimit"/);
    await assert.rejects(WorkerSandbox.create({ factory: () => null }), /not available in a WorkerSandbox/);
    await assert.rejects(WorkerSandbox.create({ build: 'no-such-build' }), api.ArtifactError);
    const none = await WorkerSandbox.create({ deadlineMs: Infinity });
    assert.equal(none.deadlineMs, 0);
    none.dispose();
  });
});
