// The WorkerSandbox's worker script, as an app writes it.
import { serveWorkerSandbox } from 'xs-wasm';

serveWorkerSandbox();
