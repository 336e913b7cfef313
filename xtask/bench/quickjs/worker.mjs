// The QuickJS-on-wasm peer of `cargo xtask bench`: the same line protocol as
// js/scripts/worker.mjs (one JSON request per line, one JSON reply per
// line), run on quickjs-emscripten's release build (sync, wasm file).
//
// Usage: node xtask/bench/quickjs/worker.mjs <dir holding node_modules> quickjs
// (`cargo xtask bench` installs this directory's package-lock.json there with
// `npm ci`). Each request gets a fresh QuickJS runtime and context; the
// scripts are evaluated in order as global code; `micros` is the wall time of
// the last, `createMicros` that of creating the runtime and context (the first
// request also loads and compiles the module, as in js/scripts/worker.mjs).

import * as readline from 'node:readline';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const [installDir] = process.argv.slice(2);
if (!installDir) {
  process.stderr.write('usage: node worker.mjs <install dir> quickjs\n');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(installDir), 'package.json'));
const { newQuickJSWASMModuleFromVariant } = require('quickjs-emscripten-core');
const variant = require('@jitl/quickjs-wasmfile-release-sync');
let QuickJS = null;

async function runRequest({ scripts }) {
  let log = '';
  const created = process.hrtime.bigint();
  QuickJS ??= await newQuickJSWASMModuleFromVariant(variant);
  const runtime = QuickJS.newRuntime();
  // QuickJS's defaults (no memory limit), except its stack check, which is
  // off: the kernels' recursion is then bounded by the wasm stack alone.
  runtime.setMaxStackSize(0);
  const context = runtime.newContext();
  const print = context.newFunction('print', (...args) => {
    log += `1 ${args.map((a) => context.getString(a)).join(' ')}\n`;
  });
  context.setProp(context.global, 'print', print);
  // console too (log, and debug/info/warn/error as log lines: libraries
  // such as ajv check that they exist), for `cargo xtask libs`.
  const consoleObject = context.newObject();
  for (const level of ['debug', 'log', 'info', 'warn', 'error']) context.setProp(consoleObject, level, print);
  context.setProp(context.global, 'console', consoleObject);
  consoleObject.dispose();
  print.dispose();
  const createMicros = Number((process.hrtime.bigint() - created) / 1000n);
  let micros = 0;
  try {
    for (const script of scripts) {
      const start = process.hrtime.bigint();
      const result = context.evalCode(script, 'bench.js');
      micros = Number((process.hrtime.bigint() - start) / 1000n);
      if (result.error) {
        const error = context.dump(result.error);
        result.error.dispose();
        const name = error?.name ?? 'Error';
        const message = error?.message ?? String(error);
        return { status: 1, payload: JSON.stringify({ name, message }), log, micros, createMicros };
      }
      result.value.dispose();
      // Run the promise jobs the script queued (XS's loaders do the same
      // before a script counts as done); their time belongs to the script.
      const jobs = runtime.executePendingJobs();
      micros = Number((process.hrtime.bigint() - start) / 1000n);
      if (jobs.error) {
        const error = context.dump(jobs.error);
        jobs.error.dispose();
        return { status: 1, payload: JSON.stringify({ name: error?.name ?? 'Error', message: error?.message ?? String(error) }), log, micros, createMicros };
      }
    }
    return { status: 0, payload: '', log, micros, createMicros };
  } catch (error) {
    return { status: 8, payload: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`, log, micros, createMicros };
  } finally {
    context.dispose();
    runtime.dispose();
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  process.stdout.write(`${JSON.stringify(await runRequest(JSON.parse(line)))}\n`);
}
