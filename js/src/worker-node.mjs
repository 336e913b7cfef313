// The script of a WorkerSandbox's worker in Node (worker_threads): serves
// one Sandbox of the Node entry (worker-serve.mjs). Always this ES module,
// also for the CommonJS entry.
import { serveWorkerSandbox } from './node.mjs';

serveWorkerSandbox();
