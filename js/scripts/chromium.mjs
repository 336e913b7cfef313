// Headless Chromium driven through chromedriver's WebDriver HTTP API (no npm
// dependency), and a tiny read-only HTTP server for the pages it loads. Used
// by tests/browser.test.mjs and scripts/warmup-chromium.mjs.
//
// Chromium and chromedriver: $CHROMIUM_BIN / $CHROMEDRIVER_BIN, else
// /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure-chromium.sh
// installs Debian's packages when it can).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const CHROMEDRIVER = process.env.CHROMEDRIVER_BIN || '/usr/bin/chromedriver';

/** The binaries that are missing (empty when Chromium can run). */
export function missingChromium() {
  return [CHROMIUM, CHROMEDRIVER].filter((file) => !fs.existsSync(file));
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };

/**
 * Serves the files under `root` (read-only, GET only, never node_modules) on
 * 127.0.0.1 at a free port, cross-origin isolated (COOP and COEP headers). Resolves to { server, served, port }, `served`
 * listing the paths requested so far.
 * @param {string} root
 */
export function serve(root) {
  const served = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    if (request.method !== 'GET' || !file.startsWith(root + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`)) {
      response.writeHead(403).end();
      return;
    }
    fs.readFile(file, (error, bytes) => {
      if (error) {
        response.writeHead(404).end();
        return;
      }
      served.push(url.pathname);
      response
        .writeHead(200, {
          'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
          'cache-control': 'no-store',
          // cross-origin isolation: SharedArrayBuffer (WorkerSandbox's hooks)
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        })
        .end(bytes);
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

/** One WebDriver command; throws with the driver's answer when it fails. */
export async function webdriver(base, method, route, body) {
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

/**
 * A fresh headless Chromium (its own profile directory, so its own process
 * and caches) in a WebDriver session with a 120 s script timeout.
 * `command(method, route, body)` sends a command to the session
 * (`route` relative to it, e.g. '/url'); `close()` ends everything.
 */
export async function startChromium() {
  const port = await freePort();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-chromium-'));
  let driverOutput = '';
  const driver = spawn(CHROMEDRIVER, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  driver.stdout.on('data', (d) => (driverOutput += d));
  driver.stderr.on('data', (d) => (driverOutput += d));
  const base = `http://127.0.0.1:${port}`;
  let session;
  const close = async () => {
    if (session) await webdriver(base, 'DELETE', session).catch(() => {});
    driver.kill();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    await waitForDriver(base, () => driverOutput);
    const created = await webdriver(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': {
            binary: CHROMIUM,
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
  } catch (error) {
    await close();
    throw error;
  }
  return { command: (method, route, body) => webdriver(base, method, `${session}${route}`, body), close };
}

/**
 * Run `script` in the page as WebDriver's execute/async (its last argument
 * is the callback) and resolve to what it passes back.
 */
export function executeAsync(browser, script, args = []) {
  return browser.command('POST', '/execute/async', { script, args });
}
