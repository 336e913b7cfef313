// The page each bundler builds (tests/bundlers.test.mjs): a consumer of the
// packed xs-wasm package, imported by its bare name. It counts how the page
// compiles WebAssembly, creates two sandboxes, evaluates in each, restores a
// snapshot, and leaves its report in window.xsWasmResult (a promise) for the
// test.
import { Sandbox, IntegrityError } from 'xs-wasm';

// Every way a page can compile a module from bytes: the package should do it
// once (a compiled module shared by every sandbox), never per sandbox.
const compiles = { compile: 0, instantiateBytes: 0, streaming: 0 };
const { compile, instantiate, compileStreaming, instantiateStreaming } = WebAssembly;
WebAssembly.compile = function (...args) {
  compiles.compile++;
  return compile.apply(this, args);
};
WebAssembly.instantiate = function (source, ...rest) {
  if (!(source instanceof WebAssembly.Module)) compiles.instantiateBytes++;
  return instantiate.call(this, source, ...rest);
};
WebAssembly.compileStreaming = function (...args) {
  compiles.streaming++;
  return compileStreaming.apply(this, args);
};
WebAssembly.instantiateStreaming = function (...args) {
  compiles.streaming++;
  return instantiateStreaming.apply(this, args);
};

async function run() {
  const a = await Sandbox.create({ meterLimit: 10_000_000, onLog() {} });
  const b = await Sandbox.create({ onLog() {} });
  a.evaluate('globalThis.receiveMessage = (m) => m.n * 2');
  const restored = await Sandbox.restore(a.snapshot(), { onLog() {} });
  const values = [a.evaluate('[1, 2, 3].map((x) => x * 2).join()'), b.evaluate("'b:' + typeof sendMessage"), restored.sendMessage({ n: 21 })];
  const build = a.build;
  // The test runs Chromium in New York time; the guest keeps UTC.
  const offsets = { host: new Date(0).getTimezoneOffset(), guest: a.evaluate('new Date(0).getTimezoneOffset()') };
  a.dispose();
  b.dispose();
  restored.dispose();
  return { values, build, compiles, offsets };
}

function report(outcome) {
  // Every resource the page requested, with its HTTP status (a 404 is a
  // missing asset); paths only, the port changes from run to run.
  outcome.resources = performance.getEntriesByType('resource').map((e) => ({ path: new URL(e.name).pathname, status: e.responseStatus }));
  document.querySelector('#status').textContent = outcome.error ? `failed: ${outcome.error}` : 'passed';
  return outcome;
}

window.xsWasmResult = run().then(
  (result) => report(result),
  (error) => report({ error: `${error && error.name}: ${error && error.message}`, integrityError: error instanceof IntegrityError, compiles }),
);
