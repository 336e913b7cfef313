// The package as a web app's dependency: the packed tarball (`npm pack`) is
// installed into an empty project whose page (tests/bundlers/main.js)
// imports 'xs-wasm' by name; Vite (production build and dev server),
// webpack 5, Rollup and esbuild each build it (their versions are pinned in
// this package's devDependencies), the output is served on 127.0.0.1 and
// Debian's headless Chromium runs it. The page reports to the test: the
// values its sandboxes computed, how many times it compiled WebAssembly from
// bytes, and every resource it requested with its HTTP status.
//
// Each setup must: run the sandboxes (in UTC, while Chromium runs in New York
// time: the package finds the glue's local-time functions in the minified
// bundle too); compile the module once for the page
// (not once per sandbox); request nothing that is missing (no 404); ship the
// module once (the inlined payload appears in one output file only); and
// refuse a bundle whose inlined module was altered (IntegrityError), which
// shows the module's sha256 is checked before it is compiled.
//
// A second page (tests/bundlers/worker/) runs a WorkerSandbox whose worker
// the bundler builds itself (Vite, build and dev server, and webpack: the
// bundlers that build `new Worker(new URL(...), { type: 'module' })` with no
// configuration): a hook on the page, and a deadline.
//
// Skipped, with a message, only when Chromium or chromedriver is missing
// (scripts/ensure-chromium.sh installs them when run as root).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { executeAsync, missingChromium, serve, startChromium } from '../scripts/chromium.mjs';
import { DIST_DIR, PACKAGE_DIR, packaged } from './helpers.mjs';

const missing = missingChromium();
const skip = missing.length ? `bundler tests skipped: ${missing.join(' and ')} not found (run scripts/ensure-chromium.sh as root, or set CHROMIUM_BIN/CHROMEDRIVER_BIN)` : false;

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quietNpm = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } };
const PAGE_DIR = path.join(PACKAGE_DIR, 'tests', 'bundlers');

/** A few hundred characters of the base64 module the default browser build inlines. */
function payloadMarker() {
  const build = packaged().defaults.browser;
  const glue = fs.readFileSync(path.join(DIST_DIR, build, 'xs-wasm.mjs'), 'utf8');
  const match = /data:application\/octet-stream;base64,([A-Za-z0-9+/=]{400})/.exec(glue);
  assert.ok(match, `no inlined module in ${build}'s glue`);
  return match[1];
}

/** Files under dir (relative paths, sorted) with their bytes. */
function listFiles(dir) {
  const files = [];
  const walk = (sub) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.posix.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else files.push({ file: rel, bytes: fs.statSync(path.join(dir, rel)).size });
    }
  };
  walk('');
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

/** Writes the page's index.html next to a bundle whose entry is main.js. */
function writeIndex(out, scriptTag) {
  const html = fs.readFileSync(path.join(PAGE_DIR, 'index.html'), 'utf8').replace('<script type="module" src="./main.js"></script>', scriptTag);
  fs.writeFileSync(path.join(out, 'index.html'), html);
}

/** The bundlers: each builds project/main.js into `out` (a served directory with index.html). */
const BUILDS = {
  async 'vite build'(project, out) {
    const vite = await import('vite');
    await vite.build({ root: project, configFile: false, logLevel: 'error', cacheDir: path.join(project, '.vite'), build: { outDir: out, emptyOutDir: true } });
  },
  async 'webpack 5'(project, out) {
    const { default: webpack } = await import('webpack');
    const stats = await new Promise((resolve, reject) => {
      webpack({ mode: 'production', context: project, entry: './main.js', output: { path: out, filename: 'main.js' }, performance: { hints: false } }, (error, result) => (error ? reject(error) : resolve(result)));
    });
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    writeIndex(out, '<script defer src="./main.js"></script>');
  },
  async rollup(project, out) {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    const bundle = await rollup({ input: path.join(project, 'main.js'), plugins: [nodeResolve({ browser: true })], onwarn: (warning) => assert.fail(`rollup warned: ${warning.message}`) });
    await bundle.write({ dir: out, format: 'es', entryFileNames: 'main.js' });
    await bundle.close();
    writeIndex(out, '<script type="module" src="./main.js"></script>');
  },
  async esbuild(project, out) {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({ absWorkingDir: project, entryPoints: ['main.js'], bundle: true, splitting: true, format: 'esm', minify: true, platform: 'browser', outdir: out, logLevel: 'silent' });
    assert.deepEqual(result.errors, []);
    writeIndex(out, '<script type="module" src="./main.js"></script>');
  },
};

/** The bundlers that build a module worker from `new Worker(new URL(...), { type: 'module' })` with no configuration. */
const WORKER_BUILDS = { 'vite build': BUILDS['vite build'], 'webpack 5': BUILDS['webpack 5'] };

describe('bundlers (the packed package in a built page, headless Chromium)', { skip, timeout: 300000 }, () => {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-bundlers-'));
  const project = path.join(temp, 'app');
  let browser;
  let marker;
  /** @type {Record<string, { files: { file: string, bytes: number }[], outcome: any, tampered?: any, copies: number }>} */
  const results = {};
  let devOutcome;
  /** @type {Record<string, { files: { file: string, bytes: number }[], outcome: any }>} */
  const workerResults = {};
  let devWorkerOutcome;

  /** Loads url in Chromium and returns the page's report. */
  async function visit(url) {
    await browser.command('POST', '/url', { url });
    return executeAsync(
      browser,
      `const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function wait() {
          if (window.xsWasmResult) window.xsWasmResult.then(done, (e) => done({ error: String(e && e.stack || e) }));
          else if (Date.now() - start > 60000) done({ error: 'the page did not set window.xsWasmResult within 60 s' });
          else setTimeout(wait, 50);
        })();`,
    );
  }

  /** Serves dir on 127.0.0.1 and visits its index.html. */
  async function visitServed(dir) {
    const site = await serve(dir);
    try {
      return await visit(`http://127.0.0.1:${site.port}/index.html`);
    } finally {
      site.server.close();
    }
  }

  before(async () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    assert.ok(major > 20 || (major === 20 && minor >= 19), `the bundler tests need Node 20.19 or later (Vite 8), this is ${process.version}`);
    marker = payloadMarker();
    const [info] = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], { ...quietNpm, cwd: PACKAGE_DIR }));
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'bundled-app', version: '1.0.0', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(temp, info.filename)], { ...quietNpm, cwd: project });
    for (const file of ['index.html', 'main.js']) fs.copyFileSync(path.join(PAGE_DIR, file), path.join(project, file));
    // Chromium inherits the time zone: the page checks that the guest keeps UTC.
    const savedTz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      browser = await startChromium();
    } finally {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    }
    for (const [name, build] of Object.entries(BUILDS)) {
      const out = path.join(temp, `out-${name.replace(/\W+/g, '-')}`);
      await build(project, out);
      const files = listFiles(out);
      const texts = files.map(({ file }) => fs.readFileSync(path.join(out, file), 'latin1'));
      const copies = texts.reduce((n, text) => n + text.split(marker).length - 1, 0);
      const outcome = await visitServed(out);
      // The same bundle with one character of the inlined module changed.
      const holder = files.find((_, i) => texts[i].includes(marker));
      let tampered;
      if (holder) {
        const file = path.join(out, holder.file);
        const text = fs.readFileSync(file, 'latin1');
        const at = text.indexOf(marker) + 200;
        fs.writeFileSync(file, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1), 'latin1');
        tampered = await visitServed(out);
      }
      results[name] = { files, outcome, tampered, copies };
    }
    // The worker page: its own project, the same installed package.
    const workerProject = path.join(temp, 'worker-app');
    fs.mkdirSync(workerProject);
    fs.copyFileSync(path.join(project, 'package.json'), path.join(workerProject, 'package.json'));
    fs.symlinkSync(path.join(project, 'node_modules'), path.join(workerProject, 'node_modules'), 'dir');
    for (const file of ['index.html', 'main.js', 'sandbox-worker.js']) fs.copyFileSync(path.join(PAGE_DIR, 'worker', file), path.join(workerProject, file));
    for (const [name, build] of Object.entries(WORKER_BUILDS)) {
      const out = path.join(temp, `out-worker-${name.replace(/\W+/g, '-')}`);
      await build(workerProject, out);
      workerResults[name] = { files: listFiles(out), outcome: await visitServed(out) };
    }
    // Vite's dev server, on the unbuilt projects (cross-origin isolated, as serve() is).
    const vite = await import('vite');
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    for (const [root, set] of [[project, (o) => (devOutcome = o)], [workerProject, (o) => (devWorkerOutcome = o)]]) {
      const server = await vite.createServer({ root, configFile: false, logLevel: 'error', cacheDir: path.join(root, '.vite-dev'), server: { host: '127.0.0.1', port: 0, hmr: false, headers } });
      await server.listen();
      try {
        set(await visit(`http://127.0.0.1:${server.httpServer.address().port}/`));
      } finally {
        await server.close();
      }
    }
  });

  after(async () => {
    if (browser) await browser.close();
    fs.rmSync(temp, { recursive: true, force: true });
  });

  /** The checks every setup's page must pass. */
  function checkPage(name, outcome) {
    assert.ok(outcome && !outcome.error, `${name}: the page failed: ${outcome && outcome.error}`);
    assert.deepEqual(outcome.values, ['2,4,6', 'b:function', 42], name);
    assert.equal(outcome.build, packaged().defaults.browser, name);
    assert.deepEqual(outcome.offsets, { host: 300, guest: 0 }, `${name}: the guest runs in UTC, the browser in New York time`);
    assert.deepEqual(outcome.compiles, { compile: 1, instantiateBytes: 0, streaming: 0 }, `${name}: the module is compiled once for the page`);
    const failed = outcome.resources.filter((r) => !(r.status >= 200 && r.status < 400));
    assert.deepEqual(failed, [], `${name}: requests that failed`);
  }

  for (const name of Object.keys(BUILDS)) {
    it(`${name}: the built page runs sandboxes, compiles the module once, ships it once and refuses it altered`, (t) => {
      const { files, outcome, tampered, copies } = results[name];
      const total = files.reduce((n, f) => n + f.bytes, 0);
      t.diagnostic(`${name}: ${files.length} files, ${total} bytes: ${files.map((f) => `${f.file} ${f.bytes}`).join(', ')}`);
      checkPage(name, outcome);
      assert.equal(copies, 1, `${name}: the inlined module is in the output ${copies} times`);
      assert.ok(tampered, `${name}: no output file holds the inlined module`);
      assert.equal(tampered.integrityError, true, `${name}: an altered module must be refused with IntegrityError, got ${tampered.error}`);
      assert.deepEqual(tampered.compiles, { compile: 0, instantiateBytes: 0, streaming: 0 }, `${name}: nothing is compiled from an altered module`);
    });
  }

  it('vite dev server: the page runs sandboxes and compiles the module once', () => {
    checkPage('vite dev', devOutcome);
  });

  /** The checks of the worker page. */
  function checkWorkerPage(name, outcome) {
    assert.ok(outcome && !outcome.error, `${name}: the worker page failed: ${outcome && outcome.error}`);
    assert.deepEqual(
      { value: outcome.value, build: outcome.build, deadlineError: outcome.deadlineError, deadMeanwhile: outcome.deadMeanwhile },
      { value: 42, build: packaged().defaults.browser, deadlineError: true, deadMeanwhile: true },
      name,
    );
    const failed = outcome.resources.filter((r) => !(r.status >= 200 && r.status < 400));
    assert.deepEqual(failed, [], `${name}: requests that failed`);
  }

  for (const name of [...Object.keys(WORKER_BUILDS), 'vite dev server']) {
    it(`${name}: a WorkerSandbox whose worker the bundler built: a hook on the page, for (;;) {} ends at the deadline`, (t) => {
      if (name === 'vite dev server') return checkWorkerPage(name, devWorkerOutcome);
      const { files, outcome } = workerResults[name];
      t.diagnostic(`${name} (worker page): ${files.length} files, ${files.reduce((n, f) => n + f.bytes, 0)} bytes: ${files.map((f) => `${f.file} ${f.bytes}`).join(', ')}`);
      checkWorkerPage(name, outcome);
    });
  }
});
