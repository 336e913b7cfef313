// The worker page of tests/bundlers.test.mjs: a WorkerSandbox whose worker
// the bundler builds from the usual `new Worker(new URL(...))` pattern; a
// hook on the page (the page is cross-origin isolated), and a deadline that
// terminates the worker. Leaves its report in window.xsWasmResult.
import { WorkerSandbox, DeadlineError, SandboxStoppedError } from 'xs-wasm';

const worker = () => new Worker(new URL('./sandbox-worker.js', import.meta.url), { type: 'module' });

async function run() {
  const ws = await WorkerSandbox.create({ worker, deadlineMs: 30000, receiveMessage: (m) => m + 1 });
  const value = await ws.evaluate('sendMessage(41)');
  const build = ws.build;
  ws.dispose();
  const looping = await WorkerSandbox.create({ worker, deadlineMs: 500 });
  const error = await looping.evaluate('for (;;) {}').then(() => null, (e) => e);
  const later = await looping.evaluate('1').then(() => null, (e) => e);
  return { value, build, deadlineError: error instanceof DeadlineError, deadMeanwhile: looping.stopped && later instanceof SandboxStoppedError };
}

function report(outcome) {
  outcome.resources = performance.getEntriesByType('resource').map((e) => ({ path: new URL(e.name).pathname, status: e.responseStatus }));
  document.querySelector('#status').textContent = outcome.error ? `failed: ${outcome.error}` : 'passed';
  return outcome;
}

window.xsWasmResult = run().then(report, (error) => report({ error: `${error && error.name}: ${error && error.message}` }));
