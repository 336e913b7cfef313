#!/usr/bin/env node
// What the JS package's V8 warm-up (option warmUp, default true) gains in
// headless Chromium, the browser build the package ships by default.
//
// usage: node scripts/warmup-chromium.mjs [--runs N] [--evaluates M] [--rounds R]
//
// Each run starts a fresh Chromium (its own profile: no code cached from an
// earlier run), loads scripts/warmup/index.html from a local server, and in
// the page: creates a sandbox with warmUp true or false (alternating, true
// first), then evaluates KERNEL M times (default 5). It prints, per setting,
// the median over runs of: the create (load, compile and, with warmUp, the
// warm-up), the first evaluate, and the median of the later evaluates; and
// the first evaluate plus create, the time to a first result. Needs
// Chromium and chromedriver (see scripts/chromium.mjs) and a built dist/
// (npm run build). The numbers go to stdout as a table and to
// test-results/warmup-chromium.json.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { executeAsync, missingChromium, serve, startChromium } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const runs = arg('--runs', 3);
const evaluates = arg('--evaluates', 5);
const rounds = arg('--rounds', 10000);

// A CPU-bound kernel in the style of Octane's richards: objects, method
// calls through prototypes, property access and arrays, R rounds (default
// 10,000: about 0.2 s in optimized code). One evaluate is one call of XS's
// interpreter loop, as a long user script is.
const KERNEL = `(function () {
  function Task(id, priority, next) { this.id = id; this.priority = priority; this.next = next; this.count = 0; }
  Task.prototype.run = function (work) { this.count += work.length; return work.length > 1 ? work.slice(1) : work; };
  Task.prototype.hold = function () { return this.next; };
  var tasks = null;
  for (var i = 0; i < 64; i++) tasks = new Task(i, i % 7, tasks);
  var total = 0;
  for (var round = 0; round < ${rounds}; round++) {
    var work = [round, round + 1, round + 2];
    for (var t = tasks; t; t = t.hold()) {
      work = t.run(work);
      total += t.priority + work[0] % 3;
    }
  }
  return total;
})()`;

const PAGE_SCRIPT = `const [warmUp, kernel, evaluates, done] = arguments;
(async () => {
  const xs = await import('xs-wasm');
  let t = performance.now();
  const sandbox = await xs.Sandbox.create({ warmUp });
  const create = performance.now() - t;
  const times = [];
  let result;
  for (let i = 0; i < evaluates; i++) {
    t = performance.now();
    result = sandbox.evaluate(kernel);
    times.push(performance.now() - t);
  }
  sandbox.dispose();
  return { create, times, result, userAgent: navigator.userAgent };
})().then(done, (e) => done({ error: String(e && e.stack || e) }));`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function once(site, warmUp) {
  const browser = await startChromium();
  try {
    await browser.command('POST', '/url', { url: `http://127.0.0.1:${site.port}/scripts/warmup/index.html` });
    const outcome = await executeAsync(browser, PAGE_SCRIPT, [warmUp, KERNEL, evaluates]);
    if (outcome.error) throw new Error(`the page failed: ${outcome.error}`);
    return outcome;
  } finally {
    await browser.close();
  }
}

async function main() {
  const missing = missingChromium();
  if (missing.length) throw new Error(`${missing.join(' and ')} not found (scripts/ensure-chromium.sh, or CHROMIUM_BIN/CHROMEDRIVER_BIN)`);
  if (!fs.existsSync(path.join(packageDir, 'dist', 'browser-build.mjs'))) throw new Error('no dist/browser-build.mjs: run `npm run build` first');
  const site = await serve(packageDir);
  const samples = { true: [], false: [] };
  let userAgent = '';
  try {
    for (let run = 0; run < runs; run++) {
      for (const warmUp of [true, false]) {
        const outcome = await once(site, warmUp);
        userAgent = outcome.userAgent;
        samples[warmUp].push(outcome);
        process.stderr.write(`run ${run + 1}/${runs} warmUp=${warmUp}: create ${outcome.create.toFixed(0)} ms, evaluates ${outcome.times.map((x) => x.toFixed(0)).join(' ')} ms\n`);
      }
    }
  } finally {
    site.server.close();
  }
  const rows = {};
  for (const warmUp of ['true', 'false']) {
    const s = samples[warmUp];
    rows[warmUp] = {
      create_ms: median(s.map((o) => o.create)),
      first_evaluate_ms: median(s.map((o) => o.times[0])),
      later_evaluates_ms: median(s.map((o) => median(o.times.slice(1)))),
      create_plus_first_ms: median(s.map((o) => o.create + o.times[0])),
    };
  }
  console.log(`${userAgent}\n${runs} runs of each, fresh Chromium each, ${rounds} rounds, medians (ms):`);
  console.log('warmUp  create  first evaluate  later evaluates  create + first');
  for (const [warmUp, r] of Object.entries(rows)) {
    console.log(`${warmUp.padEnd(6)} ${r.create_ms.toFixed(0).padStart(7)} ${r.first_evaluate_ms.toFixed(0).padStart(15)} ${r.later_evaluates_ms.toFixed(0).padStart(16)} ${r.create_plus_first_ms.toFixed(0).padStart(15)}`);
  }
  const out = path.join(packageDir, 'test-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'warmup-chromium.json'), JSON.stringify({ userAgent, runs, evaluates, rounds, medians: rows, samples }, null, 2) + '\n');
}

main().catch((error) => {
  console.error(`warmup-chromium: ${error.message}`);
  process.exit(1);
});
