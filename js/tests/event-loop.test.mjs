// The event loop (issue 25): timers, host functions, sandbox.run(),
// binary values, snapshots of timers, and the bad inputs of each, on the
// default Node build. The example is the Rust crate's fixture
// (crates/xs-wasm/tests/fixtures/async-example.js): the crate, this
// package, the browser test and the CLI give the same bytes; the CLI's
// snapshot of it is byte for byte this package's (when a CLI is built, as
// crossbuild.test.mjs finds it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { SandboxError, Sandbox, SnapshotError, StalledError, MeterLimitError } from '../src/node.mjs';
import { ARTIFACTS_DIR, REPO_DIR, manifest } from './helpers.mjs';

const fixtures = new URL('../../crates/xs-wasm/tests/fixtures/', import.meta.url);
const EXAMPLE = fs.readFileSync(new URL('async-example.js', fixtures), 'utf8');
const GREETING = new Uint8Array(fs.readFileSync(new URL('async-greeting.txt', fixtures)));
const NUMBERS = new Uint8Array(fs.readFileSync(new URL('async-numbers.bin', fixtures)));
const EXPECTED = 'hello from the host; sum 15; tick 10, tick 20; at 25';

const create = (options = {}) => Sandbox.create({ onLog() {}, ...options });
const later = (value, ms) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

/** The example on a fresh sandbox: [result, meter, snapshot]. */
async function runExample(greetingDelay, numbersDelay) {
  const s = await create({
    hostFunctions: {
      greeting: () => later(GREETING, greetingDelay),
      numbers: () => later(NUMBERS, numbersDelay),
    },
  });
  const value = await s.run(EXAMPLE);
  const meter = s.meter;
  await s.run();
  const snapshot = s.snapshot();
  s.dispose();
  return [value, meter, snapshot];
}

describe('event loop', () => {
  it('runs the example: two async host functions, timers, bytes back', async () => {
    const [value, meter, snapshot] = await runExample(5, 1);
    assert.ok(value instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(value), EXPECTED);
    const [again, againMeter, againSnapshot] = await runExample(1, 5);
    assert.deepEqual(again, value);
    assert.equal(againMeter, meter, 'same guest, same meter count');
    assert.deepEqual(againSnapshot, snapshot, 'same guest, same snapshot bytes');
  });

  it('fires timers in order of due time on the virtual clock', async () => {
    const s = await create();
    s.evaluate(`var log = [];
      setTimeout(() => log.push(['b', Date.now()]), 20);
      setTimeout(() => log.push(['a', Date.now()]), 10);
      setTimeout((x, y) => log.push([x + y, performance.timeOrigin + performance.now()]), 10, 'a', '2');
      var gone = setTimeout(() => log.push('never'), 5); clearTimeout(gone);
      var n = 0, every = setInterval(() => { log.push(['i', Date.now()]); if (++n === 3) clearInterval(every); }, 7);
      Promise.resolve().then(() => log.push(['job', Date.now()]));`);
    assert.equal(s.nextTimer(), 7);
    assert.equal(await s.run(), undefined);
    assert.deepEqual(s.evaluate('log'), [['job', 0], ['i', 7], ['a', 10], ['a2', 10], ['i', 14], ['b', 20], ['i', 21]]);
    assert.equal(s.clock, 21);
    assert.equal(s.nextTimer(), null);
  });

  it('snapshots pending timers and the clock', async () => {
    const s = await create();
    s.evaluate('var fired = []; setTimeout(() => fired.push(Date.now()), 100)');
    await s.run();
    s.evaluate('setTimeout(() => fired.push(Date.now()), 50); setInterval(() => fired.length < 4 && fired.push(Date.now()), 30)');
    const snapshot = s.snapshot();
    const t = await Sandbox.restore(snapshot, { onLog() {} });
    assert.equal(t.clock, 100);
    assert.equal(t.nextTimer(), 130);
    t.evaluate('setTimeout(() => clearInterval(3), 200)');
    await t.run();
    assert.deepEqual(t.evaluate('fired'), [100, 130, 150, 160]);
  });

  it('sync host functions return values and throw errors', async () => {
    const s = await create({
      hostFunctions: {
        concat: (...parts) => {
          const out = [];
          for (const p of parts) {
            if (!(p instanceof ArrayBuffer) && !ArrayBuffer.isView(p)) throw new TypeError('concat: expected bytes');
            out.push(...new Uint8Array(p.buffer ?? p, p.byteOffset ?? 0, p.byteLength));
          }
          return new Uint8Array(out).buffer;
        },
        boom: () => {
          throw new Error('kaboom');
        },
        unclonable: () => () => 1,
      },
    });
    assert.deepEqual(s.evaluate('Array.from(new Uint8Array(host.concat(new Uint8Array([1, 2]), new Uint8Array([3]).buffer)))'), [1, 2, 3]);
    assert.equal(s.evaluate('try { host.concat(1) } catch (e) { e.message }'), 'concat: expected bytes');
    assert.equal(s.evaluate('try { host.boom() } catch (e) { e.message }'), 'kaboom');
    assert.equal(s.evaluate('try { host.missing() } catch (e) { e.message }'), 'no host function named "missing"');
    assert.equal(s.evaluate('try { host.concat(() => 1) } catch (e) { e.name + ": " + e.message }'), 'TypeError: cannot send a function to the host');
    assert.match(s.evaluate('try { host.unclonable() } catch (e) { e.message }'), /returned a value that cannot be sent to the guest: cannot send a function/);
    assert.equal(s.evaluate('1 + 1'), 2, 'the sandbox stays usable');
  });

  it('async host function errors are rejections', async () => {
    const s = await create({
      hostFunctions: {
        fail: async () => {
          throw new Error('no such file');
        },
        unclonable: async () => Symbol('x'),
      },
    });
    assert.equal(await s.run('(async () => { try { await host.fail() } catch (e) { return e.message } })()'), 'no such file');
    assert.match(await s.run('host.unclonable().catch((e) => e.message)'), /cannot be sent to the guest: cannot send a symbol/);
    await assert.rejects(s.run('host.fail()'), (e) => e instanceof SandboxError && e.guestMessage === 'no such file');
  });

  it('a call that never settles times out or is cancelled', async () => {
    const s = await create({ hostFunctions: { never: () => new Promise(() => {}) } });
    s.hostCallTimeout = 20;
    await assert.rejects(s.run('host.never()'), (e) => e instanceof StalledError && /cancelled/.test(e.message));
    assert.equal(s.pendingCalls, 0);
    s.evaluate("var outcome = 'pending'; host.never().then(() => outcome = 'settled', (e) => outcome = e.message)");
    assert.equal(s.pendingCalls, 1);
    assert.throws(() => s.snapshot(), (e) => e instanceof SnapshotError && /host call\(s\) are pending/.test(e.message));
    assert.equal(s.cancelHostCalls(), 1);
    assert.equal(s.evaluate('outcome'), 'the host call was cancelled');
    s.snapshot();
    await assert.rejects(s.run('new Promise(() => {})'), StalledError);
  });

  it('floods of timers and host calls end in errors or the meter', async () => {
    const s = await create({ hostFunctions: { wait: () => new Promise(() => {}) } });
    assert.deepEqual(s.evaluate('let i = 0; try { for (;;) { setTimeout(() => {}, 1); i++ } } catch (e) { [i, e.name, e.message] }'), [10000, 'RangeError', 'setTimeout: too many timers (at most 10000 at once)']);
    s.maxPendingCalls = 100;
    assert.deepEqual(s.evaluate('let n = 0; try { for (;;) { host.wait(); n++ } } catch (e) { [n, e.message] }'), [100, 'too many pending host calls (at most 100 at once)']);
    assert.equal(s.cancelHostCalls(), 100);
    const spinner = await create({ meterLimit: 2_000_000, meterInterval: 1000 });
    spinner.evaluate('(function again() { setTimeout(again, 0) })()');
    await assert.rejects(spinner.run(), (e) => e instanceof MeterLimitError && e.meter >= 2_000_000);
  });

  it('a timer that throws ends the run with its error', async () => {
    const s = await create();
    s.evaluate("var later = false; setTimeout(() => { throw new TypeError('bad tick') }, 1); setTimeout(() => { later = true }, 2)");
    await assert.rejects(s.run(), (e) => e instanceof SandboxError && e.guestName === 'TypeError' && e.guestMessage === 'bad tick');
    await s.run();
    assert.equal(s.evaluate('later'), true);
  });

  it('binary messages carry every kind of value', async () => {
    const s = await create();
    s.evaluate("globalThis.receiveMessage = (v) => [typeof v.get('n'), v.get('big') * 2n, v.get('when') instanceof Date, new Float64Array(v.get('floats'))[1], v.get('set').has('x'), v.get('u'), v.get('buf').byteLength]");
    const message = new Map([
      ['n', 1],
      ['big', 12345678901234567890n],
      ['when', new Date(86_400_000)],
      ['floats', new Float64Array([1.5, 2.5])],
      ['set', new Set(['x'])],
      ['u', undefined],
      ['buf', new ArrayBuffer(1 << 20)],
    ]);
    assert.deepEqual(await s.sendValue(message), ['number', 24691357802469135780n, true, 2.5, true, undefined, 1048576]);
    const value = await s.run('({ f() {}, d: new DataView(new ArrayBuffer(2)) })');
    assert.equal(value.f, undefined);
    assert.ok(value.d instanceof DataView && value.d.byteLength === 2);
  });

  it('real-clock timers fire on wall time', async () => {
    const s = await create({ realClock: true });
    s.evaluate('var start = Date.now(), waited; setTimeout(() => { waited = Date.now() - start }, 5)');
    await s.run();
    assert.ok(s.evaluate('waited') >= 5);
  });
});

// The CLI, as crossbuild.test.mjs finds it.
const cli = process.env.XS_WASM_CLI || [path.join(REPO_DIR, 'target', 'debug', 'xs-wasm'), process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'debug', 'xs-wasm')].filter(Boolean).find((f) => fs.existsSync(f));
const hasWasi = fs.existsSync(path.join(ARTIFACTS_DIR, 'wasi-os', 'xs-wasm.wasm')) && 'wasi-os' in manifest().variants;
const skip = !cli ? 'no xs-wasm CLI binary (set XS_WASM_CLI, or build it: cargo build -p xs-wasm --features cli --bin xs-wasm)' : !hasWasi ? `no wasi-os build in ${ARTIFACTS_DIR}` : false;
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-loop-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));

describe('event loop: the CLI runs the example the same', () => {
  it('same bytes, same snapshot as this package', { skip }, async () => {
    const script = path.join(temp, 'example.js');
    fs.writeFileSync(script, EXAMPLE);
    const out = path.join(temp, 'example.snapshot');
    const args = ['--artifacts', ARTIFACTS_DIR, '--variant', 'wasi-os', '--host-file', `greeting=${new URL('async-greeting.txt', fixtures).pathname}`, '--host-file', `numbers=${new URL('async-numbers.bin', fixtures).pathname}`, 'run', script, '--snapshot-out', out];
    const run = spawnSync(/** @type {string} */ (cli), args, { encoding: 'utf8', timeout: 120000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(new TextDecoder().decode(new Uint8Array(JSON.parse(run.stdout))), EXPECTED);
    const [, , snapshot] = await runExample(1, 1);
    assert.deepEqual(new Uint8Array(fs.readFileSync(out)), snapshot, 'the WASI build (CLI) and the emscripten build write the same snapshot');
  });
});

describe('event loop: the browser scenario runs the same example', () => {
  it("its copy of the example is the crate's fixture", () => {
    assert.equal(fs.readFileSync(new URL('./browser/async-example.js', import.meta.url), 'utf8'), EXAMPLE);
  });
});
