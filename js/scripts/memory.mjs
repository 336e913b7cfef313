#!/usr/bin/env node
// Create/dispose cycles and the process's memory over them: does disposing a
// sandbox release its memory?
//
// usage: node --expose-gc scripts/memory.mjs [--cycles N] [--build NAME] [--artifacts DIR] [--json]
// Prints a table of RSS, V8 heap, external and array-buffer memory every N/10
// cycles (after a full GC when --expose-gc is given), then the growth from
// the first sample (taken after a warm-up) to the last. With --json prints
// one JSON object instead (used by tests/memory.test.mjs).

import { Sandbox } from '../src/node.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const cycles = Number(arg('--cycles', '10000'));
const build = arg('--build', undefined);
const artifacts = arg('--artifacts', undefined);
const json = args.includes('--json');
const warmup = Math.min(200, Math.ceil(cycles / 10));
const every = Math.max(1, Math.floor(cycles / 10));

const MiB = 1024 * 1024;
const gc = globalThis.gc;
async function sample(cycle, started) {
  if (gc) {
    // Let finalizers and the release of wasm memories run between GCs.
    for (let round = 0; round < 4; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const m = process.memoryUsage();
  return { cycle, seconds: (performance.now() - started) / 1000, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

const options = { onLog() {} };
if (build) options.build = build;
if (artifacts) options.artifacts = artifacts;

const started = performance.now();
const samples = [];
let usedBuild = '';
for (let i = 1; i <= cycles + warmup; i++) {
  const sandbox = await Sandbox.create(options);
  usedBuild = sandbox.build;
  if (sandbox.evaluate('var o = { n: 1 }; o.n + 1') !== 2) throw new Error(`cycle ${i}: wrong result`);
  sandbox.dispose();
  if (i === warmup || (i > warmup && (i - warmup) % every === 0)) samples.push(await sample(i - warmup, started));
}
const first = samples[0];
const last = samples[samples.length - 1];
const result = {
  build: usedBuild,
  cycles,
  gc: Boolean(gc),
  seconds: (performance.now() - started) / 1000,
  perCycleMs: (performance.now() - started) / (cycles + warmup),
  samples,
  growth: { rss: last.rss - first.rss, heapUsed: last.heapUsed - first.heapUsed, external: last.external - first.external, arrayBuffers: last.arrayBuffers - first.arrayBuffers },
  maxRss: Math.max(...samples.map((s) => s.rss)),
};
if (json) {
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const f = (n) => (n / MiB).toFixed(1).padStart(8);
  console.log(`${cycles} create/evaluate/dispose cycles of ${usedBuild} after ${warmup} warm-up cycles${gc ? ', GC before each sample' : ' (run with --expose-gc for stable numbers)'}`);
  console.log(`${'cycle'.padStart(7)} ${'secs'.padStart(7)} ${'rss MiB'.padStart(8)} ${'heap MiB'.padStart(8)} ${'ext MiB'.padStart(8)} ${'ab MiB'.padStart(8)}`);
  for (const s of samples) console.log(`${String(s.cycle).padStart(7)} ${s.seconds.toFixed(1).padStart(7)} ${f(s.rss)} ${f(s.heapUsed)} ${f(s.external)} ${f(s.arrayBuffers)}`);
  console.log(`growth over ${cycles} cycles: rss ${f(result.growth.rss)} MiB, heap ${f(result.growth.heapUsed)} MiB, external ${f(result.growth.external)} MiB; ${result.perCycleMs.toFixed(2)} ms per cycle`);
}
