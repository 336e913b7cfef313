// Module Web Worker: the same scenario off the main thread.
import * as xs from '/src/browser.mjs';
import { run } from './scenario.mjs';

run(xs, 'worker').then(
  (result) => postMessage(result),
  (error) => postMessage({ where: 'worker', checks: [{ name: 'worker scenario', ok: false, detail: String(error && error.stack || error) }], timings: {} }),
);
