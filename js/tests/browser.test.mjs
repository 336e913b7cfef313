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
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_DIR } from './helpers.mjs';

const chromium = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const chromedriver = process.env.CHROMEDRIVER_BIN || '/usr/bin/chromedriver';
const missing = [chromium, chromedriver].filter((file) => !fs.existsSync(file));
const skip = missing.length ? `browser test skipped: ${missing.join(' and ')} not found (run scripts/ensure-chromium.sh as root, or set CHROMIUM_BIN/CHROMEDRIVER_BIN)` : false;

const RESULTS_DIR = path.join(PACKAGE_DIR, 'test-results');
const TYPES = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };

/** Serves the package directory (read-only, GET only) on 127.0.0.1:0. */
function serve() {
  const served = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const file = path.join(PACKAGE_DIR, path.normalize(decodeURIComponent(url.pathname)));
    if (request.method !== 'GET' || !file.startsWith(PACKAGE_DIR + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`)) {
      response.writeHead(403).end();
      return;
    }
    fs.readFile(file, (error, bytes) => {
      if (error) {
        response.writeHead(404).end();
        return;
      }
      served.push(url.pathname);
      response.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' }).end(bytes);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, served, port: server.address().port })));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** One WebDriver command. */
async function webdriver(base, method, route, body) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`WebDriver ${method} ${route}: ${response.status} ${JSON.stringify(json.value).slice(0, 2000)}`);
  return json.value;
}

async function waitForDriver(base, driverLog) {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const status = await webdriver(base, 'GET', '/status');
      if (status.ready) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`chromedriver did not start: ${driverLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('browser (headless Chromium)', { skip }, () => {
  let site;
  let driver;
  let driverOutput = '';
  let base;
  let session;
  let profile;
  let outcome;

  before(async () => {
    site = await serve();
    const port = await freePort();
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-chromium-'));
    driver = spawn(chromedriver, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    driver.stdout.on('data', (d) => (driverOutput += d));
    driver.stderr.on('data', (d) => (driverOutput += d));
    base = `http://127.0.0.1:${port}`;
    await waitForDriver(base, () => driverOutput);
    const created = await webdriver(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': {
            binary: chromium,
            args: [
              '--headless',
              '--no-sandbox',
              '--disable-gpu',
              '--no-first-run',
              '--disable-background-networking',
              '--disable-component-update',
              '--disable-sync',
              '--disable-quic',
              '--disable-dev-shm-usage',
              `--user-data-dir=${profile}`,
              '--window-size=1100,1000',
            ],
          },
        },
      },
    });
    session = `/session/${created.sessionId}`;
    await webdriver(base, 'POST', `${session}/timeouts`, { script: 120000, pageLoad: 60000 });
    await webdriver(base, 'POST', `${session}/url`, { url: `http://127.0.0.1:${site.port}/tests/browser/index.html` });
    outcome = await webdriver(base, 'POST', `${session}/execute/async`, {
      // The page's module sets window.xsWasmResults when it runs, which can be
      // after the load event that ends the navigation: wait for it.
      script: `const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function wait() {
          if (window.xsWasmResults) window.xsWasmResults.then(done, (e) => done({ error: String(e && e.stack || e) }));
          else if (Date.now() - start > 60000) done({ error: 'the page did not set window.xsWasmResults within 60 s' });
          else setTimeout(wait, 50);
        })();`,
      args: [],
    });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const png = await webdriver(base, 'GET', `${session}/screenshot`);
    fs.writeFileSync(path.join(RESULTS_DIR, 'browser.png'), Buffer.from(png, 'base64'));
    fs.writeFileSync(path.join(RESULTS_DIR, 'browser.json'), JSON.stringify(outcome, null, 2) + '\n');
  });

  after(async () => {
    if (session) await webdriver(base, 'DELETE', session).catch(() => {});
    if (driver) driver.kill();
    if (site) site.server.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('runs the page scenario and the Web Worker scenario', (t) => {
    assert.ok(outcome && !outcome.error, `page failed: ${outcome && outcome.error}`);
    t.diagnostic(`browser: ${outcome.userAgent}`);
    const wheres = outcome.results.map((r) => r.where);
    assert.deepEqual(wheres, ['page', 'page', 'worker']);
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

  it('saved a screenshot', () => {
    const png = fs.readFileSync(path.join(RESULTS_DIR, 'browser.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.length > 1000);
  });
});
