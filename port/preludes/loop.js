(function (global, native, web) {
'use strict';
const { defineProperty, getPrototypeOf, getOwnPropertyDescriptor, keys, freeze } = Object;
const apply = Reflect.apply, isArray = Array.isArray, isView = ArrayBuffer.isView;
const TypeErrorConstructor = TypeError, RangeErrorConstructor = RangeError, ErrorConstructor = Error;
const PromiseConstructor = Promise, MapConstructor = Map, SetConstructor = Set, DateConstructor = Date, ProxyConstructor = Proxy;
const ArrayBufferConstructor = ArrayBuffer, Bytes = Uint8Array, DataViewConstructor = DataView, BigIntConstructor = BigInt, StringConstructor = String;
const dateNow = Date.now, getTime = Date.prototype.getTime, bigIntToString = BigInt.prototype.toString;
const mapForEach = Map.prototype.forEach, mapSet = Map.prototype.set, mapGet = Map.prototype.get, mapDelete = Map.prototype.delete, mapHas = Map.prototype.has;
const setForEach = Set.prototype.forEach, setAdd = Set.prototype.add;
const mapSize = getOwnPropertyDescriptor(Map.prototype, 'size').get, setSize = getOwnPropertyDescriptor(Set.prototype, 'size').get;
const typedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag).get;
const viewBuffer = getOwnPropertyDescriptor(typedArrayPrototype, 'buffer').get, viewOffset = getOwnPropertyDescriptor(typedArrayPrototype, 'byteOffset').get, viewLength = getOwnPropertyDescriptor(typedArrayPrototype, 'byteLength').get;
const dataViewBuffer = getOwnPropertyDescriptor(DataView.prototype, 'buffer').get, dataViewOffset = getOwnPropertyDescriptor(DataView.prototype, 'byteOffset').get, dataViewLength = getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
const bufferLength = getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get, bufferSlice = ArrayBuffer.prototype.slice;
const splice = Array.prototype.splice, bytesSet = typedArrayPrototype.set, bytesSlice = typedArrayPrototype.slice, charCodeAt = String.prototype.charCodeAt, fromCharCode = String.fromCharCode;
const getFloat64 = DataView.prototype.getFloat64, setFloat64 = DataView.prototype.setFloat64, getUint32 = DataView.prototype.getUint32, setUint32 = DataView.prototype.setUint32;
const KINDS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView'];
const CONSTRUCTORS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView];
const MAX_DEPTH = 128, MAX_TIMERS = 10000;
function define(target, name, value) { defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true }); }
function cannot(what) { return new TypeErrorConstructor(`cannot send ${what} to the host`); }
/* encode: the value encoding of xs_wasm.h, into an ArrayBuffer; lenient
   (results, as JSON treats them): functions and symbols are undefined, a
   promise an object. Module-level state and functions (no closure or
   argument array per call); a getter that encodes again while encoding
   gets its own buffer. */
const uncurry = Function.prototype.bind.bind(Function.prototype.call);
const getU32 = uncurry(getUint32), setU32 = uncurry(setUint32), getF64 = uncurry(getFloat64), setF64 = uncurry(setFloat64);
const copyInto = uncurry(bytesSet), charAt = uncurry(charCodeAt), sliceBuffer = uncurry(bufferSlice), lengthOf = uncurry(bufferLength);
let out = new Bytes(256), outView = new DataViewConstructor(out.buffer), outLength = 0, lenientMode = false, encoding = false;
function room(n) {
  if (outLength + n <= out.length) return;
  let size = out.length * 2;
  while (size < outLength + n) size *= 2;
  const grown = new Bytes(size);
  copyInto(grown, new Bytes(out.buffer, 0, outLength));
  out = grown;
  outView = new DataViewConstructor(out.buffer);
}
function putByte(b) { room(1); out[outLength++] = b; }
function putU32(n) { room(4); setU32(outView, outLength, n, true); outLength += 4; }
function putF64(n) { room(8); setF64(outView, outLength, n, true); outLength += 8; }
function putText(s) {
  const count = s.length;
  room(4 + count * 3);
  const at = outLength;
  let o = at + 4;
  for (let i = 0; i < count; i++) {
    let c = charAt(s, i);
    if (c < 0x80) { out[o++] = c; continue; }
    if (c < 0x800) { out[o++] = 0xC0 | (c >> 6); out[o++] = 0x80 | (c & 0x3F); continue; }
    if (c >= 0xD800 && c <= 0xDFFF) {
      const d = (c <= 0xDBFF && i + 1 < count) ? charAt(s, i + 1) : 0;
      if (d >= 0xDC00 && d <= 0xDFFF) {
        i++;
        c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
        out[o++] = 0xF0 | (c >> 18); out[o++] = 0x80 | ((c >> 12) & 0x3F); out[o++] = 0x80 | ((c >> 6) & 0x3F); out[o++] = 0x80 | (c & 0x3F);
        continue;
      }
      c = 0xFFFD;
    }
    out[o++] = 0xE0 | (c >> 12); out[o++] = 0x80 | ((c >> 6) & 0x3F); out[o++] = 0x80 | (c & 0x3F);
  }
  setU32(outView, at, o - at - 4, true);
  outLength = o;
}
function putRaw(buffer, offset, size) {
  putU32(size);
  room(size);
  copyInto(out, new Bytes(buffer, offset, size), outLength);
  outLength += size;
}
function putValue(v, depth) {
  if (depth > MAX_DEPTH) throw new TypeErrorConstructor(`cannot send a value nested deeper than ${MAX_DEPTH} levels (or a cycle) to the host`);
  switch (typeof v) {
  case 'undefined': putByte(0); return;
  case 'boolean': putByte(v ? 3 : 2); return;
  case 'number': putByte(4); putF64(v); return;
  case 'string': putByte(5); putText(v); return;
  case 'bigint': putByte(6); putText(apply(bigIntToString, v, [])); return;
  case 'function': if (lenientMode) { putByte(0); return; } throw cannot('a function');
  case 'symbol': if (lenientMode) { putByte(0); return; } throw cannot('a symbol');
  }
  if (v === null) { putByte(1); return; }
  if (isArray(v)) {
    const count = v.length;
    putByte(7); putU32(count);
    for (let i = 0; i < count; i++) putValue(v[i], depth + 1);
    return;
  }
  if (isView(v)) {
    let tag, buffer, offset, size;
    try { tag = apply(typedArrayTag, v, []); } catch { tag = undefined; }
    if (tag === undefined) { tag = 'DataView'; buffer = apply(dataViewBuffer, v, []); offset = apply(dataViewOffset, v, []); size = apply(dataViewLength, v, []); }
    else { buffer = apply(viewBuffer, v, []); offset = apply(viewOffset, v, []); size = apply(viewLength, v, []); }
    if (!(buffer instanceof ArrayBufferConstructor)) throw cannot('a view of a SharedArrayBuffer');
    let kind = 0;
    while (KINDS[kind] !== tag) kind++;
    putByte(10); putByte(kind); putRaw(buffer, offset, size);
    return;
  }
  if (v instanceof ArrayBufferConstructor) { putByte(9); putRaw(v, 0, lengthOf(v)); return; }
  if (v instanceof MapConstructor) {
    putByte(11); putU32(apply(mapSize, v, []));
    apply(mapForEach, v, [(item, key) => { putValue(key, depth + 1); putValue(item, depth + 1); }]);
    return;
  }
  if (v instanceof SetConstructor) {
    putByte(12); putU32(apply(setSize, v, []));
    apply(setForEach, v, [(item) => { putValue(item, depth + 1); }]);
    return;
  }
  if (v instanceof DateConstructor) { putByte(13); putF64(apply(getTime, v, [])); return; }
  if (!lenientMode && v instanceof PromiseConstructor) throw cannot('a promise');
  const names = keys(v), count = names.length;
  putByte(8); putU32(count);
  for (let i = 0; i < count; i++) { putText(names[i]); putValue(v[names[i]], depth + 1); }
}
function encode(value, lenient) {
  const saved = encoding ? [out, outView, outLength, lenientMode] : undefined;
  if (saved) { out = new Bytes(256); outView = new DataViewConstructor(out.buffer); }
  encoding = true;
  outLength = 0;
  lenientMode = !!lenient;
  try {
    putValue(value, 0);
    return sliceBuffer(out.buffer, 0, outLength);
  }
  finally {
    if (saved) { out = saved[0]; outView = saved[1]; outLength = saved[2]; lenientMode = saved[3]; }
    else {
      encoding = false;
      if (out.length > 65536) { out = new Bytes(256); outView = new DataViewConstructor(out.buffer); }
    }
  }
}
/* decode: the inverse; a TypeError for bytes that are not a value (no
   guest code runs while decoding) */
let inBuffer, inBytes, inView, inAt = 0, inSize = 0;
function bad() { return new TypeErrorConstructor('the host sent bytes that are not an encoded value'); }
function need(n) { if (n > inSize - inAt) throw bad(); }
function getCount() { need(4); const n = getU32(inView, inAt, true); inAt += 4; return n; }
function getText() {
  const n = getCount();
  need(n);
  const end = inAt + n;
  let s = '', chunk = '';
  while (inAt < end) {
    let c = inBytes[inAt++];
    if (c >= 0x80) {
      let extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
      if (extra < 0 || inAt + extra > end) throw bad();
      c &= 0x3F >> extra;
      while (extra--) { const d = inBytes[inAt++]; if ((d & 0xC0) !== 0x80) throw bad(); c = (c << 6) | (d & 0x3F); }
      if (c >= 0x10000) { c -= 0x10000; chunk += fromCharCode(0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)); continue; }
    }
    chunk += fromCharCode(c);
    if (chunk.length >= 4096) { s += chunk; chunk = ''; }
  }
  return s + chunk;
}
function getCopy() { const n = getCount(); need(n); const b = sliceBuffer(inBuffer, inAt, inAt + n); inAt += n; return b; }
function getValue(depth) {
  if (depth > MAX_DEPTH) throw bad();
  need(1);
  const tag = inBytes[inAt++];
  switch (tag) {
  case 0: return undefined;
  case 1: return null;
  case 2: return false;
  case 3: return true;
  case 4: { need(8); const n = getF64(inView, inAt, true); inAt += 8; return n; }
  case 5: return getText();
  case 6: { const s = getText(); try { return BigIntConstructor(s); } catch { throw bad(); } }
  case 7: { const count = getCount(); need(count); const a = []; for (let i = 0; i < count; i++) a[i] = getValue(depth + 1); return a; }
  case 8: {
    const count = getCount(), o = {};
    need(count);
    for (let i = 0; i < count; i++) { const name = getText(); defineProperty(o, name, { value: getValue(depth + 1), writable: true, enumerable: true, configurable: true }); }
    return o;
  }
  case 9: return getCopy();
  case 10: {
    need(1);
    const kind = inBytes[inAt++];
    if (kind >= CONSTRUCTORS.length) throw bad();
    const b = getCopy(), n = lengthOf(b), C = CONSTRUCTORS[kind];
    if (kind === 11) return new DataViewConstructor(b);
    const unit = C.BYTES_PER_ELEMENT;
    if (n % unit) throw bad();
    return new C(b, 0, n / unit);
  }
  case 11: { const count = getCount(); need(count); const m = new MapConstructor(); for (let i = 0; i < count; i++) { const k = getValue(depth + 1); apply(mapSet, m, [k, getValue(depth + 1)]); } return m; }
  case 12: { const count = getCount(); need(count); const s = new SetConstructor(); for (let i = 0; i < count; i++) apply(setAdd, s, [getValue(depth + 1)]); return s; }
  case 13: { need(8); const t = getF64(inView, inAt, true); inAt += 8; return new DateConstructor(t); }
  }
  throw bad();
}
function decode(buffer) {
  inBuffer = buffer; inSize = lengthOf(buffer); inBytes = new Bytes(buffer); inView = new DataViewConstructor(buffer); inAt = 0;
  try {
    const value = getValue(0);
    if (inAt !== inSize) throw bad();
    return value;
  }
  finally { inBuffer = inBytes = inView = undefined; }
}
/* host calls: host.name(...args) */
const calls = new MapConstructor();
function call(name, args) {
  const reply = native(name, encode(args));
  if (typeof reply === 'number') return new PromiseConstructor((resolve, reject) => { apply(mapSet, calls, [reply, { resolve, reject }]); });
  return decode(reply);
}
const functions = new MapConstructor();
const host = new ProxyConstructor(freeze({}), {
  get(target, name) {
    if (typeof name !== 'string') return undefined;
    let f = apply(mapGet, functions, [name]);
    if (!f) {
      f = { [name](...args) { return call(name, args); } }[name];
      apply(mapSet, functions, [name, f]);
    }
    return f;
  },
  has(target, name) { return typeof name === 'string'; },
  set() { return false; },
  defineProperty() { return false; },
  deleteProperty() { return false; },
});
define(global, 'host', host);
/* timers, on the host's clock (Date.now()): a queue sorted by due time,
   then creation; next() and fire() allocate nothing, so how often the
   host asks does not change the heap */
const queue = [];
let lastTimer = 0, sequence = 0, clock = 0;
function now() { return apply(dateNow, DateConstructor, []); }
function enqueue(timer) {
  let low = 0, high = queue.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (queue[middle].due <= timer.due) low = middle + 1; else high = middle;
  }
  apply(splice, queue, [low, 0, timer]);
}
function schedule(name, callback, delay, args, repeat) {
  if (typeof callback !== 'function') throw new TypeErrorConstructor(`${name}: the callback is not a function`);
  if (queue.length >= MAX_TIMERS) throw new RangeErrorConstructor(`${name}: too many timers (at most ${MAX_TIMERS} at once)`);
  let ms = +delay;
  if (!(ms >= 0)) ms = 0;
  if (ms > 2147483647) ms = 2147483647;
  ms = ms - (ms % 1);
  const id = ++lastTimer;
  enqueue({ id, due: now() + ms, sequence: sequence++, callback, args, interval: repeat ? (ms < 1 ? 1 : ms) : 0 });
  return id;
}
function cancel(id) {
  for (let i = 0; i < queue.length; i++) if (queue[i].id === id) { apply(splice, queue, [i, 1]); return; }
}
if (web) {
  define(global, 'setTimeout', function setTimeout(callback, delay = 0, ...args) { return schedule('setTimeout', callback, delay, args, false); });
  define(global, 'setInterval', function setInterval(callback, delay = 0, ...args) { return schedule('setInterval', callback, delay, args, true); });
  define(global, 'clearTimeout', function clearTimeout(id) { cancel(id); });
  define(global, 'clearInterval', function clearInterval(id) { cancel(id); });
}
let awaited = { state: 0 };
return freeze({
  encode, decode,
  settle(id, ok, payload) {
    const c = apply(mapGet, calls, [id]);
    if (!c) return false;
    apply(mapDelete, calls, [id]);
    if (!ok) { c.reject(new ErrorConstructor(payload)); return true; }
    let value;
    try { value = decode(payload); } catch (error) { c.reject(error); return true; }
    c.resolve(value);
    return true;
  },
  next() { return queue.length ? queue[0].due : -1; },
  mark(t) { if (t > clock) clock = t; return sequence; },
  fire(t, before) {
    for (let i = 0; i < queue.length && queue[i].due <= t; i++) {
      const timer = queue[i];
      if (timer.sequence >= before) continue;
      apply(splice, queue, [i, 1]);
      if (timer.interval) { timer.due += timer.interval; timer.sequence = sequence++; enqueue(timer); }
      apply(timer.callback, undefined, timer.args);
      return true;
    }
    return false;
  },
  clock() { return clock; },
  watch(value) {
    awaited = { state: 1 };
    const record = awaited;
    PromiseConstructor.resolve(value).then((v) => { record.state = 2; record.value = v; }, (e) => { record.state = 3; record.value = e; });
  },
  awaited() { return awaited; },
});
})
