// Host functions in a WorkerSandbox (Node, worker_threads): the guest's
// host.NAME(...args) runs the calling thread's hostFunctions[NAME] through
// the shared channel. Each case gives the guest what an in-thread Sandbox
// with the same host functions gives it (event-loop.test.mjs has the
// in-thread cases), and the worker's event loop (run, sendValue) waits for
// the calling thread's promises.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { DeadlineError, Sandbox, SandboxBusyError, SandboxError, SnapshotError, StalledError, WorkerSandbox } from '../src/node.mjs';

const later = (value, ms) => new Promise((resolve) => setTimeout(() => resolve(value), ms));
const quiet = { onLog() {} };

/** Host functions whose results and errors the guest sees; `self` collects `this`. */
function syncFunctions(self) {
  return {
    concat: (...parts) => {
      const out = [];
      for (const p of parts) {
        if (!(p instanceof ArrayBuffer) && !ArrayBuffer.isView(p)) throw new TypeError('concat: expected bytes');
        out.push(...new Uint8Array(p.buffer ?? p, p.byteOffset ?? 0, p.byteLength));
      }
      return new Uint8Array(out).buffer;
    },
    kinds: () => new Map([
      ['big', 12345678901234567890n],
      ['when', new Date(86_400_000)],
      ['set', new Set(['x'])],
      ['u', undefined],
      ['f64', new Float64Array([1.5, 2.5])],
      ['view', new DataView(new ArrayBuffer(3))],
    ]),
    large: (n) => new Uint8Array(n).fill(7), // more than one 64 KiB chunk of the channel
    echo: (...args) => args,
    nothing: () => undefined,
    boom: () => {
      throw new Error('kaboom');
    },
    throwString: () => {
      throw 'plain text'; // eslint-disable-line no-throw-literal
    },
    throwEmpty: () => {
      throw new RangeError('');
    },
    unclonable: () => () => 1,
    symbol: () => Symbol('s'),
    who() {
      self.push(this);
      return 1;
    },
  };
}

const SYNC_CASES = [
  'Array.from(new Uint8Array(host.concat(new Uint8Array([1, 2]), new Uint8Array([3]).buffer)))',
  'try { host.concat(1) } catch (e) { [e.name, e.message] }',
  "(() => { const m = host.kinds(); return [typeof m.get('big'), m.get('big') * 2n === 24691357802469135780n, m.get('when').getTime(), [...m.get('set')], m.has('u'), m.get('u'), Array.from(m.get('f64')), m.get('view') instanceof DataView] })()",
  '(() => { const b = host.large(200000); return [b.length, b[0], b[199999]] })()',
  "host.echo(1, 'two', null, undefined, [3], { four: 4 }).map((v) => v === undefined ? 'undefined' : v)",
  'host.nothing() === undefined',
  'try { host.boom() } catch (e) { [e.name, e.message] }',
  'try { host.throwString() } catch (e) { [e.name, e.message] }',
  'try { host.throwEmpty() } catch (e) { [e.name, e.message] }',
  'try { host.missing() } catch (e) { [e.name, e.message] }',
  "try { host['has' + 'OwnProperty']() } catch (e) { [e.name, e.message] }",
  'try { host.concat(() => 1) } catch (e) { [e.name, e.message] }',
  'try { host.unclonable() } catch (e) { [e.name, e.message] }',
  'try { host.symbol() } catch (e) { [e.name, e.message] }',
  'host.who()',
];

describe('WorkerSandbox host functions', () => {
  it('synchronous ones give the guest what a Sandbox gives it: values, errors, this', async () => {
    const selves = [];
    const ws = await WorkerSandbox.create({ ...quiet, hostFunctions: syncFunctions(selves) });
    const s = await Sandbox.create({ ...quiet, hostFunctions: syncFunctions([]) });
    for (const source of SYNC_CASES) {
      assert.deepEqual(await ws.evaluate(source), s.evaluate(source), source);
    }
    assert.deepEqual(await ws.evaluate('try { host.boom() } catch (e) { e.message }'), 'kaboom');
    assert.deepEqual(await ws.evaluate('try { host.missing() } catch (e) { e.message }'), 'no host function named "missing"');
    assert.match(await ws.evaluate('try { host.unclonable() } catch (e) { e.message }'), /the host function "unclonable" returned a value that cannot be sent to the guest: cannot send a function/);
    assert.equal(selves.length, 1);
    assert.equal(selves[0], ws, 'this is the WorkerSandbox');
    // run() gives real values back, as Sandbox.run
    const value = await ws.run('host.kinds()');
    assert.ok(value instanceof Map && value.get('when') instanceof Date && value.get('f64') instanceof Float64Array && value.get('big') === 12345678901234567890n);
    // sendValue: a binary message, real values both ways
    await ws.evaluate("globalThis.receiveMessage = (v) => [v.get('n') * 2n, v.get('d') instanceof Date, host.echo(v.get('b'))[0].byteLength]");
    assert.deepEqual(await ws.sendValue(new Map([['n', 2n], ['d', new Date(0)], ['b', new ArrayBuffer(5)]])), [4n, true, 5]);
    await assert.rejects(ws.sendValue(() => 1), (e) => e instanceof TypeError && e.message === 'sendValue: cannot send a function');
    assert.equal(await ws.evaluate('1 + 1'), 2, 'the sandbox stays usable');
    ws.dispose();
    s.dispose();
  });

  it('asynchronous ones give the guest a promise that run() settles when the host promise does', async () => {
    const functions = () => ({
      slow: (x) => later(x * 2, 20),
      bytes: async () => new Uint8Array([1, 2, 3]),
      fail: async () => {
        throw new Error('no such file');
      },
      unclonable: async () => Symbol('x'),
    });
    const ws = await WorkerSandbox.create({ ...quiet, hostFunctions: functions() });
    const s = await Sandbox.create({ ...quiet, hostFunctions: functions() });
    const cases = [
      'host.slow(21)',
      '(async () => [await host.slow(1), Array.from(await host.bytes())])()',
      '(async () => { try { await host.fail() } catch (e) { return [e.name, e.message] } })()',
      'host.unclonable().catch((e) => e.message)',
    ];
    for (const source of cases) assert.deepEqual(await ws.run(source), await s.run(source), source);
    assert.equal(await ws.run('host.slow(21)'), 42);
    assert.match(await ws.run('host.unclonable().catch((e) => e.message)'), /^the host call's value cannot be sent to the guest: cannot send a symbol$/);
    await assert.rejects(ws.run('host.fail()'), (e) => e instanceof SandboxError && e.guestMessage === 'no such file');
    // evaluate leaves the call pending; a later run() settles it
    assert.deepEqual(await ws.evaluate("var got = 'pending'; host.slow(5).then((v) => { got = v }); got"), 'pending');
    assert.equal(ws.pendingCalls, 1);
    await assert.rejects(ws.snapshot(), (e) => e instanceof SnapshotError && /host call\(s\) are pending/.test(e.message));
    assert.equal(await ws.run(), undefined);
    assert.equal(ws.pendingCalls, 0);
    assert.equal(await ws.evaluate('got'), 10);
    // timers and host calls together, on the virtual clock
    assert.deepEqual(await ws.run('(async () => { const a = await host.slow(1); await new Promise((r) => setTimeout(r, 50)); return [a, Date.now()] })()'), [2, 50]);
    assert.equal(ws.clock, 50);
    await ws.snapshot();
    ws.dispose();
    s.dispose();
  });

  it('looks names up at call time: functions set or added after create', async () => {
    await assert.rejects(WorkerSandbox.create({ hostFunctions: { f: 1 } }), (e) => e instanceof TypeError && e.message === 'option hostFunctions: f must be a function');
    const ws = await WorkerSandbox.create(quiet);
    assert.equal(ws.hostFunctions, undefined);
    assert.equal(await ws.evaluate('try { host.late() } catch (e) { e.message }'), 'no host function named "late"');
    ws.hostFunctions = { late: () => 'set' };
    assert.equal(await ws.evaluate('host.late()'), 'set');
    ws.hostFunctions.added = async (x) => x + 1;
    assert.equal(await ws.run('host.added(1)'), 2);
    delete ws.hostFunctions.late;
    assert.equal(await ws.evaluate('try { host.late() } catch (e) { e.message }'), 'no host function named "late"');
    const restored = await WorkerSandbox.restore(await ws.snapshot(), { ...quiet, hostFunctions: { late: () => 'restored' } });
    assert.equal(await restored.evaluate('host.late()'), 'restored');
    restored.dispose();
    ws.dispose();
  });

  it('a host function that calls its own WorkerSandbox: an error while the worker waits for it, a call like any other once it is pending', async () => {
    let busy;
    const ws = await WorkerSandbox.create({
      ...quiet,
      hostFunctions: {
        // the worker is blocked waiting for this one: the call is refused
        sync() {
          const p = this.evaluate('1');
          p.catch((error) => (busy = error));
          return 'returned';
        },
        // after an await the worker's run is waiting for the promise: the
        // call runs (as in a Sandbox), it does not wait behind the run
        async again() {
          await later(null, 1);
          return (await this.evaluate('var inner = 40; inner')) + 2;
        },
        async syncCall() {
          return this.evaluate('1');
        },
      },
    });
    assert.equal(await ws.evaluate('host.sync()'), 'returned');
    assert.ok(busy instanceof SandboxBusyError, String(busy));
    assert.equal(await ws.run('host.again()'), 42);
    assert.equal(await ws.evaluate('inner'), 40);
    const s = await Sandbox.create({ ...quiet, hostFunctions: { syncCall: async function () { return this.evaluate('1'); } } });
    const source = 'host.syncCall().then(String, (e) => e.message)';
    assert.equal(await ws.run(source), await s.run(source));
    assert.match(await ws.run(source), /re-entrant call: evaluate\(\)/);
    // a second run while one is in progress is refused, as in a Sandbox
    ws.hostFunctions = { nested: async function () { await later(null, 1); return this.run('1'); } };
    await assert.rejects(ws.run('host.nested()'), (e) => e instanceof SandboxError && /re-entrant call: run\(\)/.test(e.guestMessage));
    s.dispose();
    ws.dispose();
  });

  it('pending calls: hostCallTimeout, cancelHostCalls and maxPendingCalls as in a Sandbox', async () => {
    const ws = await WorkerSandbox.create({ ...quiet, hostFunctions: { never: () => new Promise(() => {}) } });
    ws.hostCallTimeout = 20;
    await assert.rejects(ws.run('host.never()'), (e) => e instanceof StalledError && /cancelled/.test(e.message));
    assert.equal(ws.pendingCalls, 0);
    await ws.evaluate("var outcome = 'pending'; host.never().then(() => outcome = 'settled', (e) => outcome = e.message)");
    assert.equal(ws.pendingCalls, 1);
    assert.equal(await ws.cancelHostCalls(), 1);
    assert.equal(await ws.evaluate('outcome'), 'the host call was cancelled');
    ws.maxPendingCalls = 5;
    assert.deepEqual(await ws.evaluate('let n = 0; try { for (;;) { host.never(); n++ } } catch (e) { [n, e.message] }'), [5, 'too many pending host calls (at most 5 at once)']);
    assert.equal(await ws.cancelHostCalls(), 5);
    assert.equal(await ws.nextTimer(), null);
    await ws.evaluate('setTimeout(() => {}, 30)');
    assert.equal(await ws.nextTimer(), 30);
    ws.dispose();
  });

  it('the deadline bounds a run that waits for a host call: DeadlineError, the worker is gone, a late settlement is ignored', async () => {
    let settle;
    // the deadline bounds create too: generous, for a loaded machine
    const ws = await WorkerSandbox.create({ ...quiet, deadlineMs: 3000, hostFunctions: { wait: () => new Promise((resolve) => (settle = resolve)) } });
    ws.hostCallTimeout = Infinity;
    const error = await ws.run('host.wait()').catch((e) => e);
    assert.ok(error instanceof DeadlineError && error.deadlineMs === 3000 && /^run\(\) ran past its deadline/.test(error.reason), String(error));
    assert.equal(ws.stopped, true);
    settle(1);
    await later(null, 0);
    await assert.rejects(ws.evaluate('1'), { name: 'SandboxStoppedError' });
  });

  it('without SharedArrayBuffer: a TypeError naming the need', async () => {
    const saved = globalThis.SharedArrayBuffer;
    delete globalThis.SharedArrayBuffer;
    let ws;
    try {
      await assert.rejects(WorkerSandbox.create({ hostFunctions: { f: () => 1 } }), (e) => e instanceof TypeError && /hostFunctions in a WorkerSandbox needs SharedArrayBuffer/.test(e.message));
      ws = await WorkerSandbox.create(quiet);
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    assert.throws(() => {
      ws.hostFunctions = {};
    }, (e) => e instanceof TypeError && /needs SharedArrayBuffer/.test(e.message));
    assert.match(await ws.evaluate('try { host.f() } catch (e) { e.message }'), /host functions in a WorkerSandbox need SharedArrayBuffer/);
    ws.dispose();
  });
});

describe('WorkerSandbox host functions: the event-loop example', () => {
  it('gives the result, meter count and snapshot bytes of a Sandbox', async () => {
    const fixtures = new URL('../../crates/xs-wasm/tests/fixtures/', import.meta.url);
    const example = fs.readFileSync(new URL('async-example.js', fixtures), 'utf8');
    const functions = (greetingDelay, numbersDelay) => ({
      greeting: () => later(new Uint8Array(fs.readFileSync(new URL('async-greeting.txt', fixtures))), greetingDelay),
      numbers: () => later(new Uint8Array(fs.readFileSync(new URL('async-numbers.bin', fixtures))), numbersDelay),
    });
    const s = await Sandbox.create({ ...quiet, hostFunctions: functions(1, 5) });
    const expected = await s.run(example);
    const meter = s.meter;
    await s.run();
    const snapshot = s.snapshot();
    s.dispose();
    const ws = await WorkerSandbox.create({ ...quiet, hostFunctions: functions(5, 1) });
    const value = await ws.run(example);
    assert.ok(value instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(value), 'hello from the host; sum 15; tick 10, tick 20; at 25');
    assert.deepEqual(value, expected);
    assert.equal(ws.meter, meter);
    await ws.run();
    assert.deepEqual(await ws.snapshot(), snapshot);
    ws.dispose();
  });
});
