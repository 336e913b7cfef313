// The page: runs the scenario here and in a module Web Worker, shows the
// results in a table and leaves them in window.xsWasmResults (a promise) for
// the WebDriver test.
import * as xs from 'xs-wasm';
import { run } from './scenario.mjs';

function inWorker() {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
    const timer = setTimeout(() => resolve({ where: 'worker', checks: [{ name: 'worker finished', ok: false, detail: 'timeout' }], timings: {} }), 60000);
    worker.onmessage = (event) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      clearTimeout(timer);
      resolve({ where: 'worker', checks: [{ name: 'worker loaded', ok: false, detail: event.message || 'worker error' }], timings: {} });
    };
  });
}

// A build with a separate .wasm, loaded by the page itself (the CommonJS/UMD
// glue as a classic script defines createXsWasm), passed as options.factory:
// the .wasm is verified with WebCrypto before it is compiled.
async function separateWasm() {
  const checks = [];
  const check = async (name, fn) => {
    try {
      checks.push({ name, ok: true, detail: JSON.stringify((await fn()) ?? '') });
    } catch (error) {
      checks.push({ name, ok: false, detail: String(error && error.stack ? error.stack : error) });
    }
  };
  const metadata = await (await fetch('/dist/artifacts.json')).json();
  const build = metadata.defaults.node; // a separate-wasm build
  await new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `/dist/${build}/xs-wasm.js`;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${script.src}`));
    document.head.append(script);
  });
  const wasmBinary = new Uint8Array(await (await fetch(`/dist/${build}/xs-wasm.wasm`)).arrayBuffer());
  const wasmSha256 = metadata.variants[build].files['xs-wasm.wasm'].sha256;
  await check(`separate-wasm build ${build} verified and run`, async () => {
    const s = await xs.Sandbox.create({ factory: window.createXsWasm, wasmBinary, wasmSha256, build, onLog() {} });
    const value = s.evaluate('[1, 2, 3].reduce((a, b) => a + b)');
    if (value !== 6) throw new Error(`got ${value}`);
    const restored = await xs.Sandbox.restore(s.snapshot(), { factory: window.createXsWasm, wasmBinary, wasmSha256, onLog() {} });
    if (restored.evaluate('1 + 1') !== 2) throw new Error('restore');
    return s.build;
  });
  await check('tampered .wasm refused with IntegrityError', async () => {
    const tampered = wasmBinary.slice();
    tampered[tampered.length - 5] ^= 0xff;
    try {
      await xs.Sandbox.create({ factory: window.createXsWasm, wasmBinary: tampered, wasmSha256 });
    } catch (error) {
      if (!(error instanceof xs.IntegrityError)) throw error;
      if (error.expected !== wasmSha256 || error.actual === wasmSha256) throw new Error('wrong hashes');
      return error.actual.slice(0, 16);
    }
    throw new Error('tampered module accepted');
  });
  return { where: 'page', checks, timings: {} };
}

// WorkerSandbox with the page's own worker script: receiveMessage on the
// page (the server makes the page cross-origin isolated, for
// SharedArrayBuffer), and a deadline that terminates the worker.
async function workerSandbox() {
  const checks = [];
  const check = async (name, fn) => {
    try {
      checks.push({ name, ok: true, detail: JSON.stringify((await fn()) ?? '') });
    } catch (error) {
      checks.push({ name, ok: false, detail: String(error && error.stack ? error.stack : error) });
    }
  };
  const worker = () => new Worker(new URL('./sandbox-worker.mjs', import.meta.url), { type: 'module' });
  await check('WorkerSandbox in a Web Worker: evaluate, and receiveMessage on the page', async () => {
    const ws = await xs.WorkerSandbox.create({ worker, deadlineMs: 30000, receiveMessage: (m) => m + 1 });
    const value = await ws.evaluate('sendMessage(41)');
    ws.dispose();
    if (value !== 42) throw new Error(`got ${value}`);
    return value;
  });
  await check('WorkerSandbox: host functions on the page, sync and async (settled by run)', async () => {
    const ws = await xs.WorkerSandbox.create({
      worker,
      deadlineMs: 30000,
      hostFunctions: {
        bytes: (n) => new Uint8Array(n).fill(3),
        later: (x) => new Promise((resolve) => setTimeout(() => resolve(new Map([['x', x * 2]])), 5)),
        fail: async () => {
          throw new Error('no such file');
        },
      },
    });
    const value = await ws.run("(async () => [host.bytes(100000).length, (await host.later(21)).get('x'), await host.fail().catch((e) => e.message)])()");
    ws.dispose();
    if (JSON.stringify(value) !== '[100000,42,"no such file"]') throw new Error(`got ${JSON.stringify(value)}`);
    return value;
  });
  await check('WorkerSandbox: for (;;) {} ends at the deadline with DeadlineError, the sandbox is dead', async () => {
    const ws = await xs.WorkerSandbox.create({ worker, deadlineMs: 500 });
    const error = await ws.evaluate('for (;;) {}').then(() => null, (e) => e);
    if (!(error instanceof xs.DeadlineError)) throw new Error(`expected DeadlineError, got ${error}`);
    const later = await ws.evaluate('1').then(() => null, (e) => e);
    if (!ws.stopped || !(later instanceof xs.SandboxStoppedError)) throw new Error(`still usable: ${later}`);
    return error.deadlineMs;
  });
  return { where: 'page', checks, timings: {} };
}

function render(results) {
  const table = document.querySelector('#results');
  for (const { where, checks, timings } of results) {
    for (const c of checks) {
      const row = table.insertRow();
      row.className = c.ok ? 'ok' : 'fail';
      for (const text of [where, c.ok ? 'PASS' : 'FAIL', c.name, c.detail.slice(0, 160)]) row.insertCell().textContent = text;
    }
    const row = table.insertRow();
    row.insertCell().textContent = where;
    row.insertCell().textContent = 'timings';
    row.insertCell().colSpan = 2;
    row.cells[2].textContent = Object.entries(timings).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' ');
  }
  const failed = results.flatMap((r) => r.checks).filter((c) => !c.ok).length;
  document.querySelector('#status').textContent = failed ? `${failed} check(s) failed` : 'all checks passed';
  document.body.dataset.done = failed ? 'fail' : 'pass';
}

// How the page compiles wasm while the scenario runs: the browser entry
// should compile the default build's module once (WebAssembly.compile) and
// instantiate that module for every sandbox, never compile from bytes again.
const compiles = { compile: 0, instantiateBytes: 0 };
const { compile, instantiate } = WebAssembly;
WebAssembly.compile = function (...args) {
  compiles.compile++;
  return compile.apply(this, args);
};
WebAssembly.instantiate = function (source, ...rest) {
  if (!(source instanceof WebAssembly.Module)) compiles.instantiateBytes++;
  return instantiate.call(this, source, ...rest);
};

window.xsWasmResults = (async () => {
  const results = [];
  try {
    const page = await run(xs, 'page');
    const ok = compiles.compile === 1 && compiles.instantiateBytes === 0;
    page.checks.push({ name: "the default build's module is compiled once for every sandbox", ok, detail: JSON.stringify(compiles) });
    results.push(page);
  } catch (error) {
    results.push({ where: 'page', checks: [{ name: 'page scenario', ok: false, detail: String(error && error.stack || error) }], timings: {} });
  }
  try {
    results.push(await separateWasm());
  } catch (error) {
    results.push({ where: 'page', checks: [{ name: 'separate-wasm checks', ok: false, detail: String(error && error.stack || error) }], timings: {} });
  }
  results.push(await inWorker());
  results.push(await workerSandbox());
  render(results);
  return { userAgent: navigator.userAgent, results };
})();
