// The script of the page's WorkerSandbox workers (page.mjs): all a worker
// needs. (Workers have no import map: the entry by path.)
import { serveWorkerSandbox } from '/src/browser.mjs';

serveWorkerSandbox();
