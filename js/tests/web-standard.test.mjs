// URL, URLSearchParams, DOMException and TextDecoder's replacement of
// invalid UTF-8 against Node: the fixture (shared with the Rust crate's
// tests/hardened.rs) runs here in Node itself, which must give its expected
// values, then in every release emscripten variant, locked down or not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sandbox } from '../src/node.mjs';
import { emscriptenVariants } from './helpers.mjs';

const fixtures = new URL('../../crates/xs-wasm/tests/fixtures/', import.meta.url);
const SOURCE = readFileSync(new URL('web-standard.js', fixtures), 'utf8');
const EXPECTED = JSON.parse(readFileSync(new URL('web-standard.expected.json', fixtures), 'utf8'));

describe('web-standard classes: the expected values', () => {
  // The expected file was written by Node 20 (its URL is ada's WHATWG
  // parser, its TextDecoder the Encoding Standard's decoder).
  it('are the values Node gives', { skip: Number(process.versions.node.split('.')[0]) < 20 && 'Node < 20 lacks URL.canParse' }, () => {
    const actual = JSON.parse(JSON.stringify((0, eval)(SOURCE)));
    for (const key of Object.keys(EXPECTED)) assert.deepEqual(actual[key], EXPECTED[key], key);
  });
});

for (const variant of emscriptenVariants().filter((v) => v.release)) {
  const create = (options = {}) => Sandbox.create({ onLog() {}, ...variant.options, ...options });

  describe(`web-standard classes: ${variant.name}`, () => {
    it('give the values Node gives, locked down or not', async () => {
      for (const lockdown of [false, true]) {
        const actual = (await create({ lockdown })).evaluate(SOURCE);
        for (const key of Object.keys(EXPECTED)) assert.deepEqual(actual[key], EXPECTED[key], `${key}${lockdown ? ' (locked)' : ''}`);
      }
    });

    it("a guest that replaces intrinsics cannot reach the URL parser's parts", async () => {
      const s = await create();
      const value = s.evaluate(`
        Array.prototype.push = function () { this.scheme = 42; this.host = {}; return 0; };
        Object.defineProperty(Array.prototype, 'path', { get() { return 7; }, configurable: true });
        Object.defineProperty(Array.prototype, 'query', { set(v) { globalThis.leak = this; }, configurable: true });
        globalThis.decodeURIComponent = () => 1;
        const u = new URL('http://h/a/b/../c?x=1#f');
        u.pathname = '/p/q';
        u.searchParams.append('y', '2');
        let invalid;
        try { new URL('http://%41b/'); } catch (e) { invalid = e.name; }
        [u.href, u.host, new URL('foo:bar').host, invalid, typeof globalThis.leak]`);
      assert.deepEqual(value, ['http://h/p/q?x=1&y=2#f', 'h', '', 'TypeError', 'undefined']);
      assert.equal(s.evaluate('1 + 1'), 2);
    });

    it('structuredClone of a value nested too deeply is a RangeError, not a stopped sandbox', async () => {
      // configs/patches/0014; the same script as the crate's tests/hardened.rs
      const s = await create();
      const value = s.evaluate(`const r = [];
        let a = {}; for (let i = 0; i < 100000; i++) a = { a };
        let b = []; for (let i = 0; i < 1500; i++) b = [b];
        for (const v of [a, b]) { try { structuredClone(v); r.push('cloned'); } catch (e) { r.push(e instanceof RangeError ? 'RangeError' : e.name); } }
        let c = {}; for (let i = 0; i < 900; i++) c = { c };
        let d = structuredClone(c), n = 0; while (d.c) { d = d.c; n++; }
        r.push(n, structuredClone({ x: [1] }).x[0]);
        r`);
      assert.deepEqual(value, ['RangeError', 'RangeError', 900, 1]);
      assert.equal(s.evaluate('1 + 1'), 2);
    });

    it('URLs and decoders survive a snapshot', async () => {
      const s = await create();
      s.evaluate("globalThis.u = new URL('http://h/p?a=1'); globalThis.d = new TextDecoder(); d.decode(new Uint8Array([0xE2, 0x82]), { stream: true });");
      const t = await Sandbox.restore(s.snapshot(), { onLog() {}, ...variant.options });
      const value = t.evaluate("u.searchParams.append('b', '2 3'); [u.href, new URL('../x', u).href, d.decode(new Uint8Array([0xAC])), new DOMException('m', 'AbortError').code]");
      assert.deepEqual(value, ['http://h/p?a=1&b=2+3', 'http://h/x', '\u20ac', 20]);
    });
  });
}
