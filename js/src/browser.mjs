// Browser and Web Worker entry point (also the `default` export condition).
//
// The default build is the package's single-file ES module build (wasm
// inlined; dist/browser-build.mjs names it), loaded on the first
// Sandbox.create with a dynamic import that bundlers can follow (and split
// into a chunk of its own). package.json lists this file in "sideEffects":
// its setPlatform call must survive tree shaking. To run
// another build, load its emscripten factory yourself and pass it as
// `options.factory` (plus `wasmBinary` and `wasmSha256` for a separate .wasm,
// which is then verified before it is compiled).

import { ArtifactError } from './errors.mjs';
import { Runtime, customRuntime, inlinedPayload, payloadWasm, setPlatform, verifySha256 } from './runtime.mjs';
import { Sandbox } from './sandbox.mjs';
import { serve } from './worker-serve.mjs';

/** @type {Promise<Runtime> | null} */
let defaultRuntime = null;

/**
 * The default build's inlined module, checked against the sha256 that
 * scripts/build.mjs recorded from the verified glue, then compiled once for
 * every sandbox of the page (the glue alone would decode and compile it
 * again for each). It is read from the source of the glue's factory
 * function, which holds it as a string: no URL, so a bundler neither copies
 * the glue again as an asset nor leaves a URL that does not exist.
 * @param {Function} factory
 * @param {string} expected hex sha256 of the payload
 */
async function compileDefault(factory, expected) {
  const payload = inlinedPayload(Function.prototype.toString.call(factory));
  if (!payload) {
    throw new ArtifactError('the default browser build inlines no module that this package can find (did a build step rewrite its base64 data: string?)');
  }
  await verifySha256('the default browser build\'s inlined module', payload, expected);
  return WebAssembly.compile(await payloadWasm(payload));
}

function loadDefault() {
  return import('../dist/browser-build.mjs').then(
    async (mod) => new Runtime({ variant: mod.variant, form: 'single-esm', factory: mod.default, wasmModule: await compileDefault(mod.default, mod.inlinedSha256) }),
    (error) => {
      throw new ArtifactError(`cannot load the default browser build (dist/browser-build.mjs; run \`npm run build\` in the package): ${String(error)}`);
    },
  );
}

setPlatform({
  name: 'browser',
  loadRuntime(options) {
    if (options.artifacts !== undefined) {
      throw new TypeError('option artifacts is for Node; in a browser, load a build yourself and pass options.factory (and wasmBinary)');
    }
    if (options.factory) return customRuntime(options);
    if (!defaultRuntime) {
      defaultRuntime = loadDefault();
      defaultRuntime.catch(() => {
        defaultRuntime = null;
      });
    }
    return defaultRuntime.then((runtime) => {
      if (options.build !== undefined && options.build !== runtime.variant) {
        throw new ArtifactError(`this package's browser entry ships the build "${runtime.variant}" only, not "${options.build}": load that build yourself and pass options.factory`);
      }
      return runtime;
    });
  },
});

export * from './errors.mjs';
export { WorkerSandbox } from './worker-sandbox.mjs';

/**
 * Serve a WorkerSandbox from this module Web Worker: the whole script of
 * the worker that WorkerSandbox.create's `worker` option starts is
 * `import { serveWorkerSandbox } from 'xs-wasm'; serveWorkerSandbox();`.
 */
export function serveWorkerSandbox() {
  serve({ Sandbox }, {
    post: (message, transfer) => self.postMessage(message, { transfer: transfer ?? [] }),
    listen: (handler) => self.addEventListener('message', (event) => handler(/** @type {MessageEvent} */ (event).data)),
  });
}
export { ABI_VERSION } from './abi.mjs';
export { DEFAULT_MEMORY_LIMIT, DEFAULT_METER_INTERVAL, MIN_MEMORY_LIMIT } from './options.mjs';
export { MEMORY_HEADROOM } from './runtime.mjs';
export { MAX_JSON_DEPTH, Sandbox } from './sandbox.mjs';
