// Node entry point (ESM; the CommonJS entry cjs/node.cjs is generated from
// this file by scripts/build.mjs).
//
// Builds come from a directory holding either artifacts.json (this package's
// dist/, written by scripts/build.mjs) or manifest.json (the output of
// `cargo xtask build`), with the files of each variant in <dir>/<variant>/.
// Every file of a build is checked against the sha256 listed there before it
// is loaded; the .wasm of a separate-wasm build is compiled once per process
// and instantiated per sandbox.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHmac, webcrypto } from 'node:crypto';
import { Worker, parentPort } from 'node:worker_threads';
import { ArtifactError } from './errors.mjs';
import { serve } from './worker-serve.mjs';
import { ABI_VERSION } from './abi.mjs';
import { Runtime, customRuntime, inlinedPayload, payloadWasm, setPlatform, verifySha256 } from './runtime.mjs';
import { Sandbox } from './sandbox.mjs';

const requireHere = createRequire(import.meta.url);
const PACKAGE_DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const FALLBACK_BUILD = 'emcc-os';

/** @type {Map<string, Promise<Runtime>>} */
const runtimes = new Map();

/**
 * @param {string} dir
 * @returns {Promise<{ file: string, data: any }>}
 */
async function readMetadata(dir) {
  for (const name of ['artifacts.json', 'manifest.json']) {
    const file = path.join(dir, name);
    let text;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') continue;
      throw error;
    }
    try {
      return { file, data: JSON.parse(text) };
    } catch (error) {
      throw new ArtifactError(`${file} is not valid JSON: ${String(error)}`);
    }
  }
  throw new ArtifactError(
    dir === PACKAGE_DIST
      ? `the package has no built artifacts (${dir}artifacts.json is missing): run \`npm run build\` in the package (it copies them from ../artifacts, built by \`cargo xtask build\`)`
      : `no artifacts.json or manifest.json in ${dir}`,
  );
}

/**
 * @param {string} dir
 * @param {string | undefined} requested
 * @returns {Promise<Runtime>}
 */
async function loadBuild(dir, requested) {
  const { file, data } = await readMetadata(dir);
  const build = requested ?? data.defaults?.node ?? FALLBACK_BUILD;
  const variants = data.variants ?? {};
  const entry = variants[build];
  const usable = Object.keys(variants).filter((name) => (variants[name].toolchain ?? 'emscripten') === 'emscripten' && variants[name].form !== 'single-esm');
  if (!entry) throw new ArtifactError(`no build "${build}" in ${file}; builds for Node there: ${usable.join(', ') || 'none'}`);
  if ((entry.toolchain ?? 'emscripten') !== 'emscripten') {
    throw new ArtifactError(`build "${build}" is a ${entry.toolchain} build: this package loads emscripten builds (WASI builds are for the Rust crate)`);
  }
  if (entry.abi_version !== undefined && entry.abi_version !== ABI_VERSION) {
    throw new ArtifactError(`build "${build}" speaks port ABI ${entry.abi_version}; this package speaks ABI ${ABI_VERSION}`);
  }
  const files = entry.files ?? {};
  const variantDir = path.join(dir, build);
  /** @param {string} name */
  const readVerified = async (name) => {
    const filePath = path.join(variantDir, name);
    let bytes;
    try {
      bytes = await fs.readFile(filePath);
    } catch (error) {
      throw new ArtifactError(`cannot read ${filePath}: ${String(error)}`);
    }
    await verifySha256(filePath, bytes, files[name]?.sha256);
    return { filePath, bytes };
  };
  switch (entry.form) {
    case 'cjs': {
      // Emscripten 3.1.6 would fetch() the .wasm by path (fails in Node): we
      // read, verify and compile it ourselves and hand the glue the compiled module.
      const [glue, wasm] = await Promise.all([readVerified('xs-wasm.js'), readVerified('xs-wasm.wasm')]);
      const wasmModule = await WebAssembly.compile(wasm.bytes);
      return new Runtime({ variant: build, form: entry.form, factory: requireHere(glue.filePath), wasmModule });
    }
    case 'single-cjs': {
      const glue = await readVerified('xs-wasm.js');
      return new Runtime({ variant: build, form: entry.form, factory: requireHere(glue.filePath), wasmModule: await compileInlined(glue, files['xs-wasm.js']?.inlined?.sha256) });
    }
    case 'single-esm': {
      // A browser build (ENVIRONMENT=web,worker); it happens to run in Node too.
      const glue = await readVerified('xs-wasm.mjs');
      const mod = await import(pathToFileURL(glue.filePath).href);
      return new Runtime({ variant: build, form: entry.form, factory: mod.default, wasmModule: await compileInlined(glue, files['xs-wasm.mjs']?.inlined?.sha256) });
    }
    default:
      throw new ArtifactError(`build "${build}" has form "${entry.form}", which this package cannot load (known: cjs, single-cjs, single-esm)`);
  }
}

/**
 * The module a single-file build inlines (emscripten embeds it as a base64
 * data: URI; release builds embed its gzip, which this inflates), compiled
 * once so that each sandbox only instantiates it; without this the glue
 * decodes and compiles it again for every sandbox. The glue was verified;
 * the payload is checked too when artifacts.json records its sha256.
 * null when the glue embeds it some other way (the glue then does it itself).
 * @param {{ filePath: string, bytes: Uint8Array }} glue the verified glue file
 * @param {string | undefined} expected hex sha256 of the payload
 */
async function compileInlined(glue, expected) {
  const payload = inlinedPayload(new TextDecoder().decode(glue.bytes));
  if (!payload) return null;
  if (expected !== undefined) await verifySha256(`${glue.filePath} (inlined module)`, payload, expected);
  return WebAssembly.compile(await payloadWasm(payload));
}

/** @param {string | URL} value */
function toDir(value) {
  if (value instanceof URL) return fileURLToPath(value);
  if (typeof value === 'string') return value.startsWith('file:') ? fileURLToPath(value) : path.resolve(value);
  throw new TypeError('option artifacts must be a directory path or a file: URL');
}

/** A worker thread running src/worker-node.mjs (also for the CommonJS entry). */
function spawnWorker() {
  const worker = new Worker(new URL('../src/worker-node.mjs', import.meta.url));
  let ended = false;
  return {
    post: (/** @type {any} */ message, /** @type {any[] | undefined} */ transfer) => worker.postMessage(message, transfer),
    onMessage: (/** @type {(message: any) => void} */ handler) => {
      worker.on('message', handler);
    },
    onError: (/** @type {(error: unknown) => void} */ handler) => {
      worker.on('error', handler);
      worker.on('exit', (code) => {
        if (!ended) handler(new Error(`the worker exited (code ${code})`));
      });
    },
    terminate: () => {
      ended = true;
      worker.terminate();
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  };
}

setPlatform({
  name: 'node',
  spawnWorker,
  syncInstantiate: true,
  subtle: /** @type {SubtleCrypto} */ (/** @type {unknown} */ (webcrypto.subtle)),
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  loadRuntime(options) {
    if (options.factory) {
      if (options.artifacts !== undefined) throw new TypeError('options artifacts and factory exclude each other');
      return customRuntime(options);
    }
    const dir = options.artifacts === undefined ? PACKAGE_DIST : toDir(options.artifacts) + path.sep;
    const key = `${dir}\0${options.build ?? ''}`;
    let runtime = runtimes.get(key);
    if (!runtime) {
      runtime = loadBuild(dir, options.build);
      runtimes.set(key, runtime);
      runtime.catch(() => runtimes.delete(key));
    }
    return runtime;
  },
  // Emscripten's Node glue adds process listeners (uncaughtException,
  // unhandledRejection) on every instantiation: they would change the host's
  // error handling and keep every instance alive. Remove what it added.
  beforeFactory() {
    const events = /** @type {const} */ (['uncaughtException', 'unhandledRejection']);
    const before = events.map((event) => process.listeners(event));
    return () => {
      events.forEach((event, i) => {
        for (const listener of process.listeners(event)) {
          if (!before[i].includes(listener)) process.removeListener(event, /** @type {any} */ (listener));
        }
      });
    };
  },
});

export * from './errors.mjs';
export { WorkerSandbox } from './worker-sandbox.mjs';

/**
 * Serve a WorkerSandbox from this worker thread (the package's own worker
 * script, src/worker-node.mjs, does just this; WorkerSandbox starts it).
 */
export function serveWorkerSandbox() {
  if (!parentPort) throw new TypeError('serveWorkerSandbox() runs in a worker thread');
  const port = parentPort;
  serve({ Sandbox }, {
    post: (message, transfer) => port.postMessage(message, transfer),
    listen: (handler) => port.on('message', handler),
  });
}
export { ABI_VERSION } from './abi.mjs';
export { DEFAULT_MEMORY_LIMIT, DEFAULT_METER_INTERVAL, MIN_MEMORY_LIMIT } from './options.mjs';
export { MEMORY_HEADROOM } from './runtime.mjs';
export { MAX_JSON_DEPTH, Sandbox } from './sandbox.mjs';
