// The Node side of `cargo xtask test262` and `cargo xtask bench` for the
// emscripten variants: a long-lived process that runs requests through this
// package's Sandbox, one fresh sandbox per request.
//
// Usage: node scripts/worker.mjs <artifacts dir> <variant>
// Input: one JSON line per request,
//   {"scripts": [source...], "meterLimit": n, "test262Host": bool,
//    "module": {"root": dir, "base": "/dir/under/root", "import": "/path/under/root.js"} (optional)}
// (the scripts are evaluated in order; evaluation stops at the first that
// does not complete; then the module is imported, its imports loaded from
// the files under root as the crate's FsLoader does). Output: one JSON line per request,
//   {"status", "payload", "log", "micros"}: status is the port's
// xs_wasm_status (OK; JS_ERROR, the guest threw: payload is the error's JSON;
// METER_LIMIT; OUT_OF_MEMORY; STACK_OVERFLOW; ABORTED, anything else), log every
// print/console line as "<level> <text>", micros the wall time of the last
// script evaluated, createMicros that of Sandbox.create (the first request
// also loads and compiles the module and runs the V8 warm-up), memoryBytes
// the sandbox's wasm memory at the end (memories only grow: its peak).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Sandbox, SandboxError, MeterLimitError, MemoryLimitError, StackOverflowError } from '../src/node.mjs';
import { Status } from '../src/abi.mjs';

const [artifacts, build] = process.argv.slice(2);
if (!artifacts || !build) {
  process.stderr.write('usage: node scripts/worker.mjs <artifacts dir> <variant>\n');
  process.exit(2);
}

const LEVELS = { debug: 0, log: 1, info: 2, warn: 3, error: 4 };

function statusOf(error) {
  if (error instanceof SandboxError) return { status: Status.JS_ERROR, payload: JSON.stringify({ name: error.guestName, message: error.guestMessage }) };
  if (error instanceof MeterLimitError) return { status: Status.METER_LIMIT, payload: String(error.message) };
  if (error instanceof MemoryLimitError) return { status: Status.OUT_OF_MEMORY, payload: String(error.message) };
  if (error instanceof StackOverflowError) return { status: Status.STACK_OVERFLOW, payload: String(error.message) };
  return { status: Status.ABORTED, payload: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}` };
}

/**
 * A module loader of the files under `root`, as the crate's FsLoader:
 * ids are "/" + the path under the root; "./" and "../" specifiers resolve
 * from the importing module's directory (`base` for a script's), "/" ones
 * from the root; ".json" files are JSON modules.
 */
function fileLoader(root, base) {
  return {
    resolve(specifier, referrer) {
      let dir = '';
      if (specifier.startsWith('./') || specifier.startsWith('../')) dir = referrer ? referrer.slice(0, referrer.lastIndexOf('/')) : base;
      else if (!specifier.startsWith('/')) throw new Error(`cannot import "${specifier}": a bare specifier without a mapping`);
      const parts = dir.split('/').filter(Boolean);
      for (const part of specifier.split('/')) {
        if (part === '' || part === '.') continue;
        if (part === '..') {
          if (parts.pop() === undefined) throw new Error(`cannot import "${specifier}": the path is outside the root`);
        } else parts.push(part);
      }
      const id = `/${parts.join('/')}`;
      if (!fs.statSync(path.join(root, id), { throwIfNoEntry: false })?.isFile()) throw new Error(`cannot import "${specifier}": no module ${id} under the root`);
      return id;
    },
    load(id) {
      const source = fs.readFileSync(path.join(root, id), 'utf8');
      return id.endsWith('.json') ? { type: 'json', source } : source;
    },
  };
}

async function runRequest({ scripts, meterLimit, test262Host, module }) {
  let log = '';
  const onLog = (level, text) => {
    log += `${LEVELS[level] ?? 1} ${text}\n`;
  };
  let sandbox;
  const created = process.hrtime.bigint();
  try {
    // the protocol's meterLimit 0 means none (the package refuses 0)
    sandbox = await Sandbox.create({ artifacts, build, meterLimit: meterLimit || undefined, onLog, test262Host, moduleLoader: module ? fileLoader(module.root, module.base) : undefined });
  } catch (error) {
    return { ...statusOf(error), log, micros: 0 };
  }
  const createMicros = Number((process.hrtime.bigint() - created) / 1000n);
  let micros = 0;
  try {
    for (const script of scripts) {
      const start = process.hrtime.bigint();
      try {
        sandbox.evaluate(script);
      } finally {
        micros = Number((process.hrtime.bigint() - start) / 1000n);
      }
    }
    if (module?.import) {
      const start = process.hrtime.bigint();
      try {
        sandbox.import(module.import);
      } finally {
        micros = Number((process.hrtime.bigint() - start) / 1000n);
      }
    }
    return { status: Status.OK, payload: '', log, micros, createMicros, memoryBytes: sandbox.memoryBytes };
  } catch (error) {
    return { ...statusOf(error), log, micros, createMicros, memoryBytes: sandbox.memoryBytes };
  } finally {
    sandbox.dispose();
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const reply = await runRequest(JSON.parse(line));
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
