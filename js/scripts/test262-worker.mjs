// The Node side of `cargo xtask test262` for emscripten variants: a
// long-lived process that runs test262 cases through this package's
// Sandbox, one fresh sandbox per case.
//
// Usage: node scripts/test262-worker.mjs <artifacts dir> <variant>
// Input: one JSON line per case, {"scripts": [source...], "meterLimit": n}.
// Output: one JSON line per case, {"status", "payload", "log"}: status is the
// port's xs_wasm_status (0 ok, 1 the guest threw: payload is the error's
// JSON, 2 meter limit, 3 memory limit, 4 stack overflow, 8 anything else),
// log every print/console line as "<level> <text>".

import * as readline from 'node:readline';
import { Sandbox, SandboxError, MeterLimitError, MemoryLimitError, StackOverflowError } from '../src/node.mjs';

const [artifacts, build] = process.argv.slice(2);
if (!artifacts || !build) {
  process.stderr.write('usage: node scripts/test262-worker.mjs <artifacts dir> <variant>\n');
  process.exit(2);
}

const LEVELS = { debug: 0, log: 1, info: 2, warn: 3, error: 4 };

function statusOf(error) {
  if (error instanceof SandboxError) return { status: 1, payload: JSON.stringify({ name: error.guestName, message: error.guestMessage }) };
  if (error instanceof MeterLimitError) return { status: 2, payload: String(error.message) };
  if (error instanceof MemoryLimitError) return { status: 3, payload: String(error.message) };
  if (error instanceof StackOverflowError) return { status: 4, payload: String(error.message) };
  return { status: 8, payload: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}` };
}

async function runCase({ scripts, meterLimit }) {
  let log = '';
  const onLog = (level, text) => {
    log += `${LEVELS[level] ?? 1} ${text}\n`;
  };
  let sandbox;
  try {
    sandbox = await Sandbox.create({ artifacts, build, meterLimit, onLog, test262Host: true });
  } catch (error) {
    return { ...statusOf(error), log };
  }
  try {
    for (const script of scripts) sandbox.evaluate(script);
    return { status: 0, payload: '', log };
  } catch (error) {
    return { ...statusOf(error), log };
  } finally {
    sandbox.dispose();
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const reply = await runCase(JSON.parse(line));
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
