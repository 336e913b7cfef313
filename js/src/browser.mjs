// Browser and Web Worker entry point (also the `default` export condition).
//
// The default build is the package's single-file ES module build (wasm
// inlined; dist/browser-build.mjs names it), loaded on the first
// Sandbox.create with a dynamic import that bundlers can follow. To run
// another build, load its emscripten factory yourself and pass it as
// `options.factory` (plus `wasmBinary` and `wasmSha256` for a separate .wasm,
// which is then verified before it is compiled).

import { ArtifactError } from './errors.mjs';
import { Runtime, customRuntime, inlinedWasm, setPlatform } from './sandbox.mjs';

/** @type {Promise<Runtime> | null} */
let defaultRuntime = null;

/**
 * The default build's inlined module, compiled once for every sandbox of the
 * page (the glue alone would compile it again for each, and the warm-up
 * would have no shared code to warm). Reads the glue's text again by its URL
 * (from the HTTP cache, normally). undefined when that is not possible (a
 * bundler that rewrote the module, a fetch that fails): the glue then
 * compiles the module itself, per sandbox, as it would without this.
 * @param {string | undefined} url
 */
async function compileDefault(url) {
  if (!url) return undefined;
  try {
    const response = await fetch(url);
    if (!response.ok) return undefined;
    const wasm = await inlinedWasm(await response.text());
    return wasm ? await WebAssembly.compile(wasm) : undefined;
  } catch {
    return undefined;
  }
}

function loadDefault() {
  return import('../dist/browser-build.mjs').then(
    async (mod) => new Runtime({ variant: mod.variant, form: 'single-esm', factory: mod.default, wasmModule: await compileDefault(mod.url) }),
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
export { ABI_VERSION, DEFAULT_MEMORY_LIMIT, DEFAULT_METER_INTERVAL, Sandbox } from './sandbox.mjs';
