#!/usr/bin/env node
// Load and evaluate times of every emscripten variant in Node.
//
// usage: node scripts/bench.mjs [--artifacts DIR] [--runs N]
// Variants come from DIR/manifest.json (default ../artifacts, the output of
// `cargo xtask build`). Each variant runs in a fresh Node process:
//   load       first Sandbox.create: read + verify files, compile, instantiate, create
//   create     a further Sandbox.create (module compiled already): instantiate + create
//   eval first the first evaluate of the small script (includes V8's lazy compilation)
//   eval       median of N further evaluates of the same small script
//   snapshot   snapshot() of that machine, and its size
//   restore    Sandbox.restore of that snapshot
// -O0 (debug) variants run with --liftoff-only (V8's optimizing tier needs
// ~20 s for them; see tests/sandbox-debug.test.mjs).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const artifacts = path.resolve(arg('--artifacts', process.env.XS_WASM_ARTIFACTS || path.join(here, '..', '..', 'artifacts')));
const runs = Number(arg('--runs', '20'));

const SCRIPT = 'var r = []; for (let i = 0; i < 200; i++) r.push({ i, s: "x" + i }); JSON.stringify(r).length';

if (args[0] === '--child') {
  const [, build, flags] = args;
  const { Sandbox } = await import('../src/node.mjs');
  const options = { artifacts, build, onLog() {} };
  const time = async (fn) => {
    const t = performance.now();
    const value = await fn();
    return [performance.now() - t, value];
  };
  const [load, s] = await time(() => Sandbox.create(options));
  const [create, s2] = await time(() => Sandbox.create(options));
  s2.dispose();
  const [evalFirst, expected] = await time(() => s.evaluate(SCRIPT));
  const evals = [];
  for (let i = 0; i < runs; i++) {
    const [ms, value] = await time(() => s.evaluate(SCRIPT));
    if (value !== expected) throw new Error('wrong result');
    evals.push(ms);
  }
  evals.sort((a, b) => a - b);
  const [snapshotMs, bytes] = await time(() => s.snapshot());
  const [restore, r] = await time(() => Sandbox.restore(bytes, options));
  if (r.evaluate('r.length') !== 200) throw new Error('restore lost state');
  process.stdout.write(JSON.stringify({ build, flags, load, create, evalFirst, eval: evals[evals.length >> 1], snapshotMs, snapshotBytes: bytes.length, restore }) + '\n');
} else {
  const manifest = JSON.parse(fs.readFileSync(path.join(artifacts, 'manifest.json'), 'utf8'));
  const variants = Object.entries(manifest.variants).filter(([, v]) => v.toolchain === 'emscripten').sort(([a], [b]) => a.localeCompare(b));
  const rows = [];
  for (const [name, v] of variants) {
    const nodeFlags = v.release ? [] : ['--liftoff-only'];
    const out = execFileSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--child', name, nodeFlags.join(' ') || '-', '--artifacts', artifacts, '--runs', String(runs)], { encoding: 'utf8' });
    rows.push({ ...JSON.parse(out), form: v.form, bytes: Object.values(v.files).reduce((n, f) => n + f.bytes, 0) });
  }
  const ms = (n) => n.toFixed(1).padStart(9);
  console.log(`Node ${process.version}, ${runs} evaluate runs; script: ${SCRIPT}`);
  console.log(`${'variant'.padEnd(20)} ${'form'.padEnd(10)} ${'bytes'.padStart(9)} ${'load ms'.padStart(9)} ${'create ms'.padStart(9)} ${'eval1 ms'.padStart(9)} ${'eval ms'.padStart(9)} ${'snap ms'.padStart(9)} ${'restore'.padStart(9)}  notes`);
  for (const r of rows) {
    console.log(`${r.build.padEnd(20)} ${r.form.padEnd(10)} ${String(r.bytes).padStart(9)} ${ms(r.load)} ${ms(r.create)} ${ms(r.evalFirst)} ${ms(r.eval)} ${ms(r.snapshotMs)} ${ms(r.restore)}  ${r.flags === '-' ? '' : r.flags}`);
  }
}
