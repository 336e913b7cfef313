// Hardened JavaScript (lockdown, harden, petrify, mutabilities; the
// `lockdown` option) and the web-standard globals (the `webGlobals` option),
// on every release emscripten variant. The fixtures are the Rust crate's
// (crates/xs-wasm/tests/fixtures): both loaders must give the same values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox } from '../src/node.mjs';
import { emscriptenVariants } from './helpers.mjs';

const fixtures = new URL('../../crates/xs-wasm/tests/fixtures/', import.meta.url);
const fixture = (name) => readFileSync(new URL(name, fixtures), 'utf8');
const HARDENED = fixture('hardened.js');
const HARDENED_EXPECTED = JSON.parse(fixture('hardened.expected.json'));
const WEB_GLOBALS = fixture('web-globals.js');
const WEB_GLOBALS_EXPECTED = JSON.parse(fixture('web-globals.expected.json'));
// every descriptor of the globals the preludes and the port define (see the fixture)
const GLOBALS_SHAPE = fixture('globals-shape.js');
const GLOBALS_SHAPE_EXPECTED = JSON.parse(fixture('globals-shape.expected.json'));

for (const variant of emscriptenVariants().filter((v) => v.release)) {
  const create = (options = {}) => Sandbox.create({ onLog() {}, ...variant.options, ...options });

  describe(`Hardened JavaScript and web globals: ${variant.name}`, () => {
    it('a sandbox created locked down has frozen intrinsics and isolated compartments', async () => {
      const s = await create({ lockdown: true });
      assert.deepEqual(s.evaluate(HARDENED), HARDENED_EXPECTED);
      assert.equal(s.evaluate('globalThis.counter = 1; counter + 1'), 2, 'the global object stays writable');
    });

    it('every sandbox has the globals and can lock itself down', async () => {
      const s = await create();
      assert.deepEqual(s.evaluate('[Object.isFrozen(Array.prototype), Object.keys(globalThis).length]'), [false, 0]);
      assert.equal(s.evaluate('lockdown(); Object.isFrozen(Array.prototype)'), true);
      assert.deepEqual(s.evaluate(HARDENED), HARDENED_EXPECTED);
      assert.throws(() => s.evaluate('lockdown()'), (error) => error.guestName === 'TypeError' && error.guestMessage === 'lockdown already called');
    });

    it("a locked sandbox's snapshot restores locked", async () => {
      const s = await create({ lockdown: true });
      s.evaluate('globalThis.config = harden({ limit: 3 });');
      const snapshot = s.snapshot();
      const t = await Sandbox.restore(snapshot, { onLog() {}, ...variant.options });
      assert.deepEqual(t.evaluate(HARDENED), HARDENED_EXPECTED);
      assert.equal(t.evaluate('Object.isFrozen(config)'), true);
      const again = await create({ lockdown: true });
      again.evaluate('globalThis.config = harden({ limit: 3 });');
      assert.deepEqual(again.snapshot(), snapshot, 'the same history gives the same bytes');
    });

    it('the web-standard globals behave as in the Rust crate, locked down or not', async () => {
      assert.deepEqual(await (await create()).evaluate(WEB_GLOBALS), WEB_GLOBALS_EXPECTED);
      assert.deepEqual(await (await create({ lockdown: true })).evaluate(WEB_GLOBALS), WEB_GLOBALS_EXPECTED);
    });

    it('the globals keep their shape: created, bare, locked down or restored', async () => {
      for (const [kind, options] of [['default', {}], ['bare', { webGlobals: false }], ['lockdown', { lockdown: true }]]) {
        assert.deepEqual((await create(options)).evaluate(GLOBALS_SHAPE), GLOBALS_SHAPE_EXPECTED[kind], kind);
        const restored = await Sandbox.restore((await create(options)).snapshot(), { onLog() {}, ...variant.options });
        assert.deepEqual(restored.evaluate(GLOBALS_SHAPE), GLOBALS_SHAPE_EXPECTED[kind], `${kind} restored`);
      }
    });

    it('webGlobals: false gives a bare machine', async () => {
      for (const lockdown of [false, true]) {
        const s = await create({ webGlobals: false, lockdown });
        const types = s.evaluate("['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'structuredClone', 'queueMicrotask', 'performance', 'DOMException', 'URL', 'URLSearchParams', 'harden', 'console'].map((n) => typeof globalThis[n])");
        assert.deepEqual(types, ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'function', 'object']);
        assert.equal(s.evaluate('Object.isFrozen(Array.prototype)'), lockdown);
      }
    });

    it('performance.now() follows the machine clock', async () => {
      assert.deepEqual((await create()).evaluate('[performance.now(), performance.timeOrigin]'), [0, 0]);
      const real = await create({ realClock: true });
      assert.deepEqual(real.evaluate('const t0 = performance.now(); let x = 0; for (let i = 0; i < 300000; i++) x += i; [t0, performance.now() >= t0, performance.timeOrigin > 1.7e12]'), [0, true, true]);
    });

    it('bad option values are refused', async () => {
      await assert.rejects(create({ lockdown: 'yes' }), TypeError);
      await assert.rejects(create({ webGlobals: 0 }), TypeError);
    });
  });
}
