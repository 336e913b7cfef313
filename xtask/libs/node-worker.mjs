// The Node (V8) side of `cargo xtask libs`: where the expected results come
// from (`--record`) and the reference column of the timings. The same line
// protocol as js/scripts/worker.mjs and xtask/bench/quickjs/worker.mjs: one
// JSON request per line ({"scripts": [...]}), one JSON reply per line
// ({"status", "payload", "log", "micros", "createMicros"}).
//
// Each request gets a fresh V8 context (node:vm) whose only host object is
// `console` (log lines "1 <text>"): no require, module, process or
// TextEncoder, as in the sandboxes. The scripts are evaluated in order as
// global code; the context's microtasks run after each script
// (`microtaskMode: 'afterEvaluate'`), so `micros`, the wall time of the last
// script, includes the promise jobs it queued, as the XS loaders' does.
// Run with TZ=UTC (`cargo xtask libs` sets it).
//
// Usage: node xtask/libs/node-worker.mjs

import * as readline from 'node:readline';
import * as vm from 'node:vm';

function runRequest({ scripts }) {
  let log = '';
  const write = (level) => (...args) => {
    log += `${level} ${args.map(String).join(' ')}\n`;
  };
  const created = process.hrtime.bigint();
  const console = { debug: write(0), log: write(1), info: write(2), warn: write(3), error: write(4) };
  const context = vm.createContext({ console }, { microtaskMode: 'afterEvaluate' });
  const createMicros = Number((process.hrtime.bigint() - created) / 1000n);
  let micros = 0;
  for (const [index, script] of scripts.entries()) {
    const start = process.hrtime.bigint();
    try {
      vm.runInContext(script, context, { filename: `script${index}.js` });
    } catch (error) {
      micros = Number((process.hrtime.bigint() - start) / 1000n);
      const name = error?.name ?? '';
      const message = error?.message ?? String(error);
      return { status: 1, payload: JSON.stringify({ name: String(name), message: String(message) }), log, micros, createMicros };
    }
    micros = Number((process.hrtime.bigint() - start) / 1000n);
  }
  return { status: 0, payload: '', log, micros, createMicros };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  process.stdout.write(`${JSON.stringify(runRequest(JSON.parse(line)))}\n`);
}
