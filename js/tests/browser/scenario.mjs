// The browser scenario, run by index.html on the page and in a module Web
// Worker (worker.mjs). `xs` is the package's browser entry (src/browser.mjs).
// Returns { checks: [{ name, ok, detail }], timings }.

export async function run(xs, where) {
  const checks = [];
  const timings = {};
  const check = async (name, fn) => {
    try {
      const detail = await fn();
      checks.push({ name, ok: true, detail: detail === undefined ? '' : JSON.stringify(detail) });
    } catch (error) {
      checks.push({ name, ok: false, detail: String(error && error.stack ? error.stack : error) });
    }
  };
  const expect = (actual, expected, what = 'value') => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    return actual;
  };
  const expectThrow = (fn, Class) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof Class)) throw new Error(`expected ${Class.name}, got ${error}`);
      return error;
    }
    throw new Error(`expected ${Class.name}, nothing thrown`);
  };

  let t = performance.now();
  const logs = [];
  const received = [];
  const sandbox = await xs.Sandbox.create({
    onLog: (level, text) => logs.push([level, text]),
    receiveMessage: (message) => {
      received.push(message);
      return { host: where, echo: message };
    },
    meterLimit: 10000000,
  });
  timings.firstCreateMs = performance.now() - t;
  t = performance.now();
  const second = await xs.Sandbox.create({ onLog() {} });
  timings.secondCreateMs = performance.now() - t;
  second.dispose();

  await check('default build is the single-file ES module build', () => expect(sandbox.build, 'emcc-os-single-esm'));
  await check('WebCrypto is available (secure context)', () => expect(typeof globalThis.crypto?.subtle?.digest, 'function'));
  await check('evaluate', () => {
    t = performance.now();
    const value = sandbox.evaluate('var total = 0; for (let i = 1; i <= 100; i++) total += i; ({ total, text: "héllo ✓", list: [1, null] })');
    timings.evaluateMs = performance.now() - t;
    return expect(value, { total: 5050, text: 'héllo ✓', list: [1, null] });
  });
  await check('undefined completion is null', () => expect(sandbox.evaluate('undefined'), null));
  await check('guest sendMessage reaches the host hook', () => {
    expect(sandbox.evaluate('sendMessage({ from: "guest" })'), { host: where, echo: { from: 'guest' } });
    return expect(received, [{ from: 'guest' }], 'received');
  });
  await check('host sendMessage reaches the guest receiveMessage', () => {
    sandbox.evaluate('globalThis.receiveMessage = (m) => ({ got: m, total })');
    return expect(sandbox.sendMessage({ ask: 1 }), { got: { ask: 1 }, total: 5050 });
  });
  await check('console reaches onLog', () => {
    sandbox.evaluate('console.log("hello from", "the guest"); console.error("oops")');
    return expect(logs, [['log', 'hello from the guest'], ['error', 'oops']]);
  });
  await check('promise jobs drained', () => expect(sandbox.evaluate('(async () => { await null; return total * 2 })()'), 10100));
  await check('guest errors are SandboxError', () => {
    const e = expectThrow(() => sandbox.evaluate('null.property'), xs.SandboxError);
    return expect(e.guestName, 'TypeError');
  });
  await check('deep recursion is a guest RangeError', () => {
    const e = expectThrow(() => sandbox.evaluate('(function f() { return f() + 1 })()'), xs.SandboxError);
    return expect(e.guestName, 'RangeError');
  });
  let snapshot;
  await check('snapshot', () => {
    t = performance.now();
    snapshot = sandbox.snapshot();
    timings.snapshotMs = performance.now() - t;
    if (!(snapshot instanceof Uint8Array) || snapshot.length < 1000) throw new Error(`snapshot of ${snapshot && snapshot.length} bytes`);
    timings.snapshotBytes = snapshot.length;
    return snapshot.length;
  });
  await check('restore', async () => {
    t = performance.now();
    const restored = await xs.Sandbox.restore(snapshot, { onLog() {} });
    timings.restoreMs = performance.now() - t;
    expect(restored.evaluate('total'), 5050);
    expect(restored.sendMessage('after restore'), { got: 'after restore', total: 5050 });
    restored.dispose();
  });
  await check('garbage snapshot is a SnapshotError', async () => {
    try {
      await xs.Sandbox.restore(new TextEncoder().encode('garbage garbage garbage garbage garbage'));
    } catch (error) {
      if (!(error instanceof xs.SnapshotError)) throw error;
      return error.reason;
    }
    throw new Error('restored garbage');
  });
  await check('endless loop stops at the meter limit', async () => {
    const metered = await xs.Sandbox.create({ meterLimit: 100000, onLog() {} });
    expectThrow(() => metered.evaluate('for (;;) {}'), xs.MeterLimitError);
    expectThrow(() => metered.evaluate('1'), xs.SandboxStoppedError);
    return metered.meter;
  });
  await check('memory bomb stops at the memory limit', async () => {
    const small = await xs.Sandbox.create({ memoryLimit: 16 << 20, onLog() {} });
    expectThrow(() => small.evaluate('var a = []; for (;;) a.push(new Array(10000).fill(0))'), xs.MemoryLimitError);
  });
  await check('still working after the errors', () => expect(sandbox.evaluate('total + 1'), 5051));
  sandbox.dispose();
  await check('dispose', () => expectThrow(() => sandbox.evaluate('1'), xs.SandboxStoppedError).reason);
  await check('event loop: the example awaits two async host functions, uses timers, returns bytes', async () => {
    // async-example.js is a copy of the Rust crate's fixture (event-loop.test.mjs checks it is the same)
    const example = await (await fetch(new URL('./async-example.js', import.meta.url))).text();
    const s = await xs.Sandbox.create({
      onLog() {},
      hostFunctions: {
        greeting: () => new Promise((resolve) => setTimeout(() => resolve(new TextEncoder().encode('hello from the host')), 2)),
        numbers: async () => new Uint8Array([1, 2, 3, 4, 5]),
      },
    });
    const value = await s.run(example);
    s.dispose();
    if (!(value instanceof Uint8Array)) throw new Error(`expected a Uint8Array, got ${Object.prototype.toString.call(value)}`);
    return expect(new TextDecoder().decode(value), 'hello from the host; sum 15; tick 10, tick 20; at 25');
  });
  return { where, checks, timings };
}
