// The script of a WorkerSandbox's worker in Node (worker_threads): serves
// one Sandbox of the Node entry (worker-serve.mjs). Always this ES module,
// also for the CommonJS entry.
import { parentPort } from 'node:worker_threads';
import * as api from './node.mjs';
import { serve } from './worker-serve.mjs';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
serve(api, {
  post: (message, transfer) => port.postMessage(message, transfer),
  listen: (handler) => port.on('message', handler),
});
