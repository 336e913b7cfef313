// The machine the snapshot cases start from (`cargo xtask fuzz`): one value
// of every kind the snapshot writer handles, so that a crafted byte can land
// in any of them.
var a = [1, 2, 3, { x: 'y' }, 'str' + 1, , 7];
a.length = 10;
function f(n) { return n + 1 }
var m = new Map([[1, 'a'], ['b', {}], [2n, [3]]]);
var s = new Set([1, 2, 'x', a]);
var w = new WeakMap(); w.set(a, 1);
var ws = new WeakSet([m]);
var wr = new WeakRef(s);
var fr = new FinalizationRegistry(() => {}); fr.register({}, 'token');
var ta = new Uint8Array([1, 2, 3]);
var f64 = new Float64Array([1.5, -0, NaN]);
var dv = new DataView(new ArrayBuffer(16), 4, 8);
var ab = new ArrayBuffer(8, { maxByteLength: 16 });
var big = 12345678901234567890n * -3n;
class C { #p = 1; static s = 2; get p() { return this.#p } set p(v) { this.#p = v } }
var c = new C();
var re = /a+(b)?/giu; re.lastIndex = 1;
var sym = Symbol('q');
var obj = { [sym]: 1, get g() { return 2 }, nested: { deep: [{ deeper: 'x'.repeat(100) }] } };
var pr = new Proxy({}, { get(t, k) { return k === 'z' ? 1 : undefined } });
var d = new Date(0);
var err = new TypeError('e', { cause: 1 });
function* g() { let i = 0; while (true) yield i++ }
var it = g(); it.next();
async function af() { await null; return 5 }
var p = Promise.resolve(4);
var bound = f.bind(null, 41);
var args = (function () { return arguments })(1, 2);
var frozen = Object.freeze({ k: 1 });
var json = JSON.parse('{"a":[1,2,{"b":null}]}');
globalThis.receiveMessage = function (message) {
  if (message && typeof message === 'object') return { keys: Object.keys(message).length, type: Array.isArray(message) ? 'array' : 'object' };
  return { type: typeof message, value: message };
};
