// Host-loaded ES modules (Sandbox.import, options.moduleLoader) on every
// release emscripten variant. The example graph and its expected namespace
// are the Rust crate's (crates/xs-wasm/tests/fixtures/modules): the crate,
// this package (here and in Chromium: tests/browser.test.mjs) and the CLI
// must give the same value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox, SandboxError, MemoryLimitError, MeterLimitError, WorkerSandbox } from '../src/node.mjs';
import { emscriptenVariants } from './helpers.mjs';
import { EXAMPLE_FILES, filesLoader } from './modules-loader.mjs';

const fixtures = new URL('../../crates/xs-wasm/tests/fixtures/', import.meta.url);
const EXPECTED = JSON.parse(readFileSync(new URL('modules.expected.json', fixtures), 'utf8'));
const FILES = Object.fromEntries(EXAMPLE_FILES.map((name) => [`/${name}`, readFileSync(new URL(`modules/${name}`, fixtures), 'utf8')]));

/** Modules from memory: ids are the specifiers. */
const memory = (modules, loads = []) => ({
  resolve: (specifier) => specifier,
  load(id) {
    loads.push(id);
    if (!Object.hasOwn(modules, id)) throw new Error(`no module named ${id}`);
    return id.endsWith('.json') ? { type: 'json', source: modules[id] } : modules[id];
  },
});

const guestError = (name, includes = '') => (error) => error instanceof SandboxError && error.guestName === name && error.guestMessage.includes(includes);

for (const variant of emscriptenVariants().filter((v) => v.release)) {
  const create = (options = {}) => Sandbox.create({ onLog() {}, ...variant.options, ...options });

  describe(`modules: ${variant.name}`, () => {
    it('the example graph runs under lockdown as in the crate and the CLI', async () => {
      const s = await create({ lockdown: true, moduleLoader: filesLoader(FILES) });
      assert.deepEqual(s.import('./main.mjs'), EXPECTED);
      assert.deepEqual(s.import('/main.mjs'), EXPECTED, 'evaluated once');
      assert.equal(s.evaluate("import('./main.mjs').then((m) => m.counted)"), 1);
    });

    it('snapshots keep loaded modules', async () => {
      const s = await create({ lockdown: true, moduleLoader: filesLoader(FILES) });
      s.import('./main.mjs');
      const snapshot = s.snapshot();
      const loads = [];
      const t = await Sandbox.restore(snapshot, { onLog() {}, ...variant.options, moduleLoader: filesLoader(FILES, loads) });
      assert.deepEqual(t.import('./main.mjs'), EXPECTED);
      assert.deepEqual(loads, [], 'nothing loaded again');
      const again = await create({ lockdown: true, moduleLoader: filesLoader(FILES) });
      again.import('./main.mjs');
      assert.deepEqual(again.snapshot(), snapshot, 'the same history gives the same bytes');
    });

    it('JSON modules need their attribute, import.meta.uri is the id', async () => {
      const s = await create({
        moduleLoader: memory({
          main: "import data from 'data.json' with { type: 'json' }; export const n = data.n; export const uri = import.meta.uri; export default 'd';",
          'data.json': '{ "n": 7 }',
          plain: "import data from 'data.json'; export default data;",
        }),
      });
      assert.deepEqual(s.import('main'), { default: 'd', n: 7, uri: 'main' });
      assert.throws(() => s.import('plain'), guestError('TypeError', 'JSON module'));
      assert.equal(s.evaluate("import('data.json', { with: { type: 'json' } }).then((m) => m.default.n * 6)"), 42);
    });

    it('a loader that throws, returns garbage or a promise gives clear errors; the sandbox stays usable', async () => {
      const s = await create({ moduleLoader: memory({ garbage: 'export const = ;', 'bad.json': '{ not json' }) });
      assert.throws(() => s.import('missing'), guestError('TypeError', 'no module named missing'));
      assert.throws(() => s.import('garbage'), guestError('SyntaxError'));
      assert.throws(() => s.evaluate("import('bad.json', { with: { type: 'json' } })"), guestError('SyntaxError'));
      s.moduleLoader = { resolve: () => 42, load: () => '' };
      assert.throws(() => s.import('x'), guestError('TypeError', 'returned number, not a string'));
      s.moduleLoader = { resolve: (x) => x, load: async () => 'export default 1;' };
      assert.throws(() => s.import('y'), guestError('TypeError', 'a promise'));
      s.moduleLoader = undefined;
      assert.throws(() => s.import('z'), guestError('TypeError', 'no module loader'));
      assert.equal(s.evaluate('6 * 7'), 42);
    });

    it('cycles, failed evaluations and top-level await follow the spec', async () => {
      const s = await create({
        moduleLoader: memory({
          a: "import { b } from 'b'; export function a() { return 'a' + b(); }",
          b: "import { a } from 'a'; export function b() { return 'b'; } export const viaA = () => a();",
          c: "import { d } from 'd'; export const c = d + 1;",
          d: "import { c } from 'c'; export const d = c + 1;",
          throws: "throw new RangeError('evaluation failed');",
          stuck: 'await new Promise(() => {}); export default 1;',
        }),
      });
      assert.equal(s.evaluate("import('b').then((m) => m.viaA())"), 'ab');
      assert.throws(() => s.import('c'), guestError('ReferenceError'));
      assert.throws(() => s.import('throws'), guestError('RangeError', 'evaluation failed'));
      assert.throws(() => s.import('throws'), guestError('RangeError', 'evaluation failed'));
      assert.throws(() => s.import('stuck'), guestError('TypeError', 'not finished evaluating'));
      assert.equal(s.evaluate('1'), 1);
    });

    it('an endless graph ends at the memory limit; paths outside the root are refused', async () => {
      // XS loads a static graph before it runs any of it (loading is not metered)
      const endless = { resolve: (x) => x, load: (id) => `import '${Number(id) + 1}'; export default ${id};` };
      const s = await create({ meterLimit: 2_000_000, memoryLimit: 4 << 20, moduleLoader: endless });
      assert.throws(() => s.import('0'), (error) => error instanceof MemoryLimitError || error instanceof MeterLimitError);
      assert.equal(s.stopped, true);
      const t = await create({ moduleLoader: filesLoader(FILES) });
      assert.throws(() => t.import('../main.mjs'), guestError('TypeError', 'outside the root'));
      assert.throws(() => t.import('lodash'), guestError('TypeError', '"lodash"'));
    });
  });
}

describe('modules: WorkerSandbox', () => {
  it("runs the example graph with the calling thread's loader; the loader's errors reach the guest", async () => {
    const loads = [];
    const ws = await WorkerSandbox.create({ lockdown: true, onLog() {}, deadlineMs: 30_000, moduleLoader: filesLoader(FILES, loads) });
    try {
      assert.deepEqual(await ws.import('./main.mjs'), EXPECTED);
      assert.deepEqual(loads.sort(), ['/config.json', '/lib/greet.mjs', '/lib/math.mjs', '/lib/name.mjs', '/main.mjs']);
      await assert.rejects(ws.import('../outside.mjs'), guestError('TypeError', 'outside the root'));
      ws.moduleLoader = { resolve: (x) => x, load: async () => 'export default 1;' };
      await assert.rejects(ws.import('z'), guestError('TypeError', 'a promise'));
      ws.moduleLoader = undefined;
      await assert.rejects(ws.import('./lib/math.mjs'), guestError('TypeError', 'no module loader'));
      assert.equal(await ws.evaluate('6 * 7'), 42);
    } finally {
      ws.dispose();
    }
  });
});
