// The package in a real browser: Debian's headless Chromium, driven through
// chromedriver's WebDriver HTTP API (no npm dependency), loads
// tests/browser/index.html from a tiny HTTP server on 127.0.0.1 (port 0). The
// page imports the package's browser entry (the single-file ES module build),
// runs the scenario of tests/browser/scenario.mjs on the page and in a module
// Web Worker, and the test asserts on its results. A screenshot goes to
// test-results/browser.png.
//
// Chromium and chromedriver: $CHROMIUM_BIN / $CHROMEDRIVER_BIN, else
// /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure-chromium.sh
// installs them when it can); the test is skipped with a message otherwise.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executeAsync, missingChromium, serve, startChromium } from '../scripts/chromium.mjs';
import { PACKAGE_DIR } from './helpers.mjs';
import { EXAMPLE_FILES } from './modules-loader.mjs';

const missing = missingChromium();
const skip = missing.length ? `browser test skipped: ${missing.join(' and ')} not found (run scripts/ensure-chromium.sh as root, or set CHROMIUM_BIN/CHROMEDRIVER_BIN)` : false;

const RESULTS_DIR = path.join(PACKAGE_DIR, 'test-results');

describe('browser (headless Chromium)', { skip }, () => {
  let site;
  let browser;
  let outcome;

  before(async () => {
    site = await serve(PACKAGE_DIR);
    browser = await startChromium();
    await browser.command('POST', '/url', { url: `http://127.0.0.1:${site.port}/tests/browser/index.html` });
    // The page's module sets window.xsWasmResults when it runs, which can be
    // after the load event that ends the navigation: wait for it.
    outcome = await executeAsync(
      browser,
      `const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function wait() {
          if (window.xsWasmResults) window.xsWasmResults.then(done, (e) => done({ error: String(e && e.stack || e) }));
          else if (Date.now() - start > 60000) done({ error: 'the page did not set window.xsWasmResults within 60 s' });
          else setTimeout(wait, 50);
        })();`,
    );
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const png = await browser.command('GET', '/screenshot');
    fs.writeFileSync(path.join(RESULTS_DIR, 'browser.png'), Buffer.from(png, 'base64'));
    fs.writeFileSync(path.join(RESULTS_DIR, 'browser.json'), JSON.stringify(outcome, null, 2) + '\n');
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) site.server.close();
  });

  it('runs the page scenario and the Web Worker scenario', (t) => {
    assert.ok(outcome && !outcome.error, `page failed: ${outcome && outcome.error}`);
    t.diagnostic(`browser: ${outcome.userAgent}`);
    const wheres = outcome.results.map((r) => r.where);
    assert.deepEqual(wheres, ['page', 'page', 'worker', 'page']);
    for (const { where, checks, timings } of outcome.results) {
      const failed = checks.filter((c) => !c.ok);
      assert.deepEqual(failed, [], `${where}: ${failed.map((c) => `${c.name}: ${c.detail}`).join('\n')}`);
      if (!Object.keys(timings).length) continue; // the separate-wasm checks (see the next test)
      assert.ok(checks.length >= 15, `${where}: only ${checks.length} checks ran`);
      t.diagnostic(`browser ${where}: ${checks.length} checks passed; ${Object.entries(timings).map(([k, v]) => `${k}=${Math.round(v * 10) / 10}`).join(' ')}`);
    }
  });

  it('runs a separate-wasm build passed as options.factory, verifying its .wasm with WebCrypto', () => {
    const checks = outcome.results[1].checks;
    assert.deepEqual(checks.map((c) => [c.name.replace(/ build \S+/, ' build'), c.ok]), [
      ['separate-wasm build verified and run', true],
      ['tampered .wasm refused with IntegrityError', true],
    ]);
  });

  it('loaded the package through its browser entry and the single-file ES module build', () => {
    for (const file of ['/src/browser.mjs', '/src/sandbox.mjs', '/dist/browser-build.mjs', '/dist/emcc-os-single-esm/xs-wasm.mjs', '/tests/browser/worker.mjs']) {
      assert.ok(site.served.includes(file), `${file} was not requested (served: ${site.served.join(', ')})`);
    }
    assert.deepEqual(site.served.filter((f) => f.endsWith('.wasm')), [`/dist/${outcome.results[1].checks[0].detail.replace(/"/g, '')}/xs-wasm.wasm`], 'only the separate-wasm check fetches a .wasm');
  });

  it('runs a WorkerSandbox in a Web Worker of the page: hooks and host functions on the page, a deadline that terminates the worker', () => {
    assert.deepEqual(outcome.results[3].checks.map((c) => [c.name, c.ok, c.ok ? '' : c.detail]), [
      ['WorkerSandbox in a Web Worker: evaluate, and receiveMessage on the page', true, ''],
      ['WorkerSandbox: host functions on the page, sync and async (settled by run)', true, ''],
      ['WorkerSandbox: for (;;) {} ends at the deadline with DeadlineError, the sandbox is dead', true, ''],
    ]);
  });

  it('runs the modules example (a JSON module, a cycle, top-level await, lockdown) as the crate and the CLI do', async () => {
    const fixtures = path.join(PACKAGE_DIR, '../crates/xs-wasm/tests/fixtures');
    const files = Object.fromEntries(EXAMPLE_FILES.map((name) => [`/${name}`, fs.readFileSync(path.join(fixtures, 'modules', name), 'utf8')]));
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'modules.expected.json'), 'utf8'));
    const result = await executeAsync(
      browser,
      `const files = arguments[0];
        const done = arguments[arguments.length - 1];
        (async () => {
          const xs = await import('xs-wasm');
          const { filesLoader } = await import('/tests/modules-loader.mjs');
          const sandbox = await xs.Sandbox.create({ lockdown: true, onLog() {}, moduleLoader: filesLoader(files) });
          return { build: sandbox.build, namespace: sandbox.import('./main.mjs') };
        })().then(done, (e) => done({ error: String((e && e.stack) || e) }));`,
      [files],
    );
    assert.ok(result && !result.error, `page failed: ${result && result.error}`);
    assert.equal(result.build, 'emcc-os-single-esm');
    assert.deepEqual(result.namespace, expected);
  });

  it('saved a screenshot', () => {
    const png = fs.readFileSync(path.join(RESULTS_DIR, 'browser.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.length > 1000);
  });
});
