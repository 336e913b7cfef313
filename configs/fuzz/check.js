// Evaluated in each restored machine (`cargo xtask fuzz`): reads every value
// heap.js made; the original machine's result is the reference.
JSON.stringify([a.length, a[3].x, f(1), m.size, m.get('b') !== undefined, s.size, s.has(a), w.get(a), ws.has(m),
  typeof wr.deref(), ta[1], f64[0], dv.byteLength, ab.byteLength, ab.resizable, String(big), c.p, re.test('aab'),
  re.lastIndex, String(sym), obj.g, obj.nested.deep[0].deeper.length, pr.z, d.getTime(), err.message, err.cause,
  it.next().value, bound(), args.length, Object.isFrozen(frozen), json.a[2].b, typeof af])
