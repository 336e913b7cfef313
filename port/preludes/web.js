(function (clone, parseURL, serializeURL, global) {
'use strict';
const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, setPrototypeOf } = Object;
const apply = Reflect.apply, ownKeys = Reflect.ownKeys, hasOwn = Object.hasOwn, arrayFrom = Array.from;
const TypeErrorConstructor = TypeError, RangeErrorConstructor = RangeError, SyntaxErrorConstructor = SyntaxError, ErrorConstructor = Error, StringConstructor = String, Bytes = Uint8Array;
const fromCharCode = String.fromCharCode, charCodeAt = String.prototype.charCodeAt, toWellFormed = String.prototype.toWellFormed;
const replace = String.prototype.replace, split = String.prototype.split, indexOf = String.prototype.indexOf, slice = String.prototype.slice;
const test = RegExp.prototype.test, subarray = Uint8Array.prototype.subarray, sort = Array.prototype.sort;
const fromBase64 = Uint8Array.fromBase64, toBase64 = Uint8Array.prototype.toBase64;
const then = Promise.prototype.then, resolved = Promise.resolve();
const DateConstructor = Date, dateNow = Date.now;
const encodeComponent = encodeURIComponent, iteratorSymbol = Symbol.iterator, tagSymbol = Symbol.toStringTag;
const encoder = new TextEncoder(), encode = TextEncoder.prototype.encode;
const decoder = new TextDecoder(), decode = TextDecoder.prototype.decode;
let origin;
const whitespace = /[\t\n\f\r ]/g, notBase64 = /[^A-Za-z0-9+/]/;
function define(target, name, value) { defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true }); }
function required(name, count, length = 1) { if (count < length) throw new TypeErrorConstructor(`${name}: ${length} argument${length > 1 ? 's' : ''} required, but only ${count} present`); }
function usv(value) { return apply(toWellFormed, `${value}`, []); }
function webIDL(constructor, tag) {
  const prototype = constructor.prototype;
  for (const key of ownKeys(prototype)) if (typeof key === 'string' && key !== 'constructor') { const d = getOwnPropertyDescriptor(prototype, key); d.enumerable = true; defineProperty(prototype, key, d); }
  defineProperty(prototype, tagSymbol, { value: tag, configurable: true });
  define(global, constructor.name, constructor);
}
// DOMException (WebIDL): name, message and code are getters of the prototype
const codes = { IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InUseAttributeError: 10, InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25 };
class DOMException extends ErrorConstructor {
  #name; #message;
  constructor(message = '', options = 'Error') {
    super();
    this.#message = `${message}`;
    if (options !== null && typeof options === 'object') {
      const name = options.name;
      this.#name = name === undefined ? 'Error' : `${name}`;
      if ('cause' in options) define(this, 'cause', options.cause);
    }
    else this.#name = `${options}`;
  }
  get name() { return this.#name; }
  get message() { return this.#message; }
  get code() { const name = this.#name; return hasOwn(codes, name) ? codes[name] : 0; }
}
webIDL(DOMException, 'DOMException');
const legacy = ['INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR', 'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR', 'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR', 'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR', 'SYNTAX_ERR', 'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR', 'VALIDATION_ERR', 'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR', 'ABORT_ERR', 'URL_MISMATCH_ERR', 'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR'];
for (let i = 0; i < legacy.length; i++) for (const target of [DOMException, DOMException.prototype]) defineProperty(target, legacy[i], { value: i + 1, enumerable: true });
function invalidCharacter(message) { return new DOMException(message, 'InvalidCharacterError'); }
define(global, 'btoa', function btoa(data) {
  required('btoa', arguments.length);
  const string = StringConstructor(data), length = string.length, bytes = new Bytes(length);
  for (let i = 0; i < length; i++) {
    const c = apply(charCodeAt, string, [i]);
    if (c > 255) throw invalidCharacter('btoa: the string has a character outside Latin-1');
    bytes[i] = c;
  }
  return apply(toBase64, bytes, []);
});
define(global, 'atob', function atob(data) {
  required('atob', arguments.length);
  let string = apply(replace, StringConstructor(data), [whitespace, '']);
  if (string.length % 4 === 0) string = apply(replace, string, [/==?$/, '']);
  if ((string.length % 4 === 1) || apply(test, notBase64, [string])) throw invalidCharacter('atob: the string is not valid base64');
  const bytes = fromBase64(string, { lastChunkHandling: 'loose' });
  let result = '';
  for (let i = 0; i < bytes.length; i += 8192) result += apply(fromCharCode, null, apply(subarray, bytes, [i, i + 8192]));
  return result;
});
define(global, 'queueMicrotask', function queueMicrotask(callback) {
  required('queueMicrotask', arguments.length);
  if (typeof callback !== 'function') throw new TypeErrorConstructor('queueMicrotask: the argument is not a function');
  apply(then, resolved, [() => { callback(); }]);
});
define(global, 'structuredClone', function structuredClone(value) {
  required('structuredClone', arguments.length);
  try { return clone(value); }
  catch (cause) {
    if (cause instanceof RangeErrorConstructor) throw cause; // nested too deeply (configs/patches/0014)
    const detail = apply(replace, StringConstructor(cause && cause.message), [/^marshall */, '']);
    throw new DOMException(`structuredClone: cannot clone ${detail}`, 'DataCloneError');
  }
});
const performance = {};
function clock() { const time = apply(dateNow, DateConstructor, []); if (origin === undefined) origin = time; return time; }
define(performance, 'now', function now() { return clock() - origin; });
defineProperty(performance, 'timeOrigin', { get: function timeOrigin() { clock(); return origin; }, enumerable: true, configurable: true });
define(global, 'performance', performance);
// URLSearchParams: application/x-www-form-urlencoded, on TextEncoder/TextDecoder
const formEscapes = { '%20': '+', '!': '%21', "'": '%27', '(': '%28', ')': '%29', '~': '%7E' };
function formEncode(string) { return apply(replace, encodeComponent(string), [/%20|[!'()~]/g, (c) => formEscapes[c]]); }
function hexDigit(c) { return (c >= 48 && c <= 57) ? c - 48 : (c >= 65 && c <= 70) ? c - 55 : (c >= 97 && c <= 102) ? c - 87 : -1; }
function formDecode(string) {
  string = apply(replace, string, [/\+/g, ' ']);
  if (apply(indexOf, string, ['%']) < 0) return string;
  const bytes = apply(encode, encoder, [string]), length = bytes.length, result = new Bytes(length);
  let j = 0;
  for (let i = 0; i < length; i++) {
    let c = bytes[i];
    if (c === 37 && i + 2 < length) {
      const high = hexDigit(bytes[i + 1]), low = hexDigit(bytes[i + 2]);
      if (high >= 0 && low >= 0) { c = high * 16 + low; i += 2; }
    }
    result[j++] = c;
  }
  return apply(decode, decoder, [apply(subarray, result, [0, j])]);
}
function parseQuery(query) {
  const list = [], sequences = apply(split, query, ['&']);
  for (let i = 0; i < sequences.length; i++) {
    const sequence = sequences[i];
    if (sequence === '') continue;
    const equal = apply(indexOf, sequence, ['=']);
    list[list.length] = equal < 0 ? [formDecode(sequence), ''] : [formDecode(apply(slice, sequence, [0, equal])), formDecode(apply(slice, sequence, [equal + 1]))];
  }
  return list;
}
function serializeQuery(list) {
  let result = '';
  for (let i = 0; i < list.length; i++) result += `${i ? '&' : ''}${formEncode(list[i][0])}=${formEncode(list[i][1])}`;
  return result;
}
let listOf, setList, attach, setQuery;
class URLSearchParams {
  #list = [];
  #url = null;
  static {
    listOf = (params) => params.#list;
    setList = (params, list) => { params.#list = list; };
    attach = (params, url) => { params.#url = url; };
  }
  constructor(init = '') {
    if (init !== null && (typeof init === 'object' || typeof init === 'function')) {
      const list = this.#list;
      if (init[iteratorSymbol] !== undefined) {
        const items = arrayFrom(init);
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (item === null || (typeof item !== 'object' && typeof item !== 'function')) throw new TypeErrorConstructor('URLSearchParams: each pair must be an iterable');
          const pair = arrayFrom(item);
          if (pair.length !== 2) throw new TypeErrorConstructor('URLSearchParams: each pair must have 2 items');
          list[list.length] = [usv(pair[0]), usv(pair[1])];
        }
      }
      else {
        const keys = ownKeys(init);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i], descriptor = getOwnPropertyDescriptor(init, key);
          if (descriptor !== undefined && descriptor.enumerable) list[list.length] = [usv(key), usv(init[key])];
        }
      }
    }
    else {
      let string = usv(init);
      if (string[0] === '?') string = apply(slice, string, [1]);
      this.#list = parseQuery(string);
    }
  }
  #update() {
    if (this.#url !== null) { const query = serializeQuery(this.#list); setQuery(this.#url, query === '' ? null : query); }
  }
  get size() { return this.#list.length; }
  append(name, value) {
    required('URLSearchParams.append', arguments.length, 2);
    const list = this.#list;
    list[list.length] = [usv(name), usv(value)];
    this.#update();
  }
  delete(name, value = undefined) {
    required('URLSearchParams.delete', arguments.length);
    name = usv(name);
    if (value !== undefined) value = usv(value);
    const list = this.#list, kept = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] !== name || (value !== undefined && list[i][1] !== value)) kept[kept.length] = list[i];
    this.#list = kept;
    this.#update();
  }
  get(name) {
    required('URLSearchParams.get', arguments.length);
    name = usv(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) return list[i][1];
    return null;
  }
  getAll(name) {
    required('URLSearchParams.getAll', arguments.length);
    name = usv(name);
    const list = this.#list, values = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) values[values.length] = list[i][1];
    return values;
  }
  has(name, value = undefined) {
    required('URLSearchParams.has', arguments.length);
    name = usv(name);
    if (value !== undefined) value = usv(value);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === name && (value === undefined || list[i][1] === value)) return true;
    return false;
  }
  set(name, value) {
    required('URLSearchParams.set', arguments.length, 2);
    name = usv(name); value = usv(value);
    const list = this.#list, kept = [];
    let found = false;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== name) kept[kept.length] = list[i];
      else if (!found) { found = true; kept[kept.length] = [name, value]; }
    }
    if (!found) kept[kept.length] = [name, value];
    this.#list = kept;
    this.#update();
  }
  sort() {
    apply(sort, this.#list, [(a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0]);
    this.#update();
  }
  entries() { return new ParamsIterator(this, 2); }
  forEach(callback, thisArg = undefined) {
    required('URLSearchParams.forEach', arguments.length);
    if (typeof callback !== 'function') throw new TypeErrorConstructor('URLSearchParams.forEach: the callback is not a function');
    for (let i = 0; i < this.#list.length; i++) { const pair = this.#list[i]; apply(callback, thisArg, [pair[1], pair[0], this]); }
  }
  keys() { return new ParamsIterator(this, 0); }
  values() { return new ParamsIterator(this, 1); }
  toString() { return serializeQuery(this.#list); }
}
class ParamsIterator {
  #params; #kind; #index = 0;
  constructor(params, kind) { listOf(params); this.#params = params; this.#kind = kind; }
  next() {
    const list = listOf(this.#params), index = this.#index;
    if (index >= list.length) return { value: undefined, done: true };
    this.#index = index + 1;
    const pair = list[index], kind = this.#kind;
    return { value: kind === 2 ? [pair[0], pair[1]] : pair[kind], done: false };
  }
}
const IteratorPrototype = getPrototypeOf(getPrototypeOf([][iteratorSymbol]()));
setPrototypeOf(ParamsIterator.prototype, IteratorPrototype);
delete ParamsIterator.prototype.constructor;
defineProperty(ParamsIterator.prototype, tagSymbol, { value: 'URLSearchParams Iterator', configurable: true });
defineProperty(ParamsIterator.prototype, 'next', { enumerable: true });
define(URLSearchParams.prototype, iteratorSymbol, URLSearchParams.prototype.entries);
webIDL(URLSearchParams, 'URLSearchParams');
// URL: Moddable's parser and serializer (modules/data/url/url.c) keep a
// URL's parts in an array without prototype: path segments, scheme,
// username, password, host (null: none), port, path (an opaque path), query
// and fragment (null: none). The setters use its state overrides.
const SCHEME = 1, USERNAME = 2, PASSWORD = 3, HOST = 4, HOSTNAME = 5, PORT = 6, PATH = 7, QUERY = 8, FRAGMENT = 9, ORIGIN = 10;
const tabOrNewline = /[\t\n\r]/g, specialSchemes = { ftp: 21, file: 0, http: 80, https: 443, ws: 80, wss: 443 };
function parse(input, base) {
  try { return base === undefined ? parseURL(input) : parseURL(input, base); }
  catch (error) {
    throw new TypeErrorConstructor(error instanceof SyntaxErrorConstructor ? 'Invalid URL: a host with non-ASCII characters needs IDNA, which xs-wasm does not have' : 'Invalid URL');
  }
}
function tryParse(url, base) {
  try { return parse(usv(url), base === undefined ? undefined : parse(usv(base))); }
  catch { return null; }
}
function override(parts, value, state) {
  try { parseURL(apply(replace, usv(value), [tabOrNewline, '']), parts, state); }
  catch { /* as the standard's setters: a value that does not parse changes nothing further */ }
}
class URL {
  #parts; #params;
  static {
    setQuery = (url, query) => { url.#parts.query = query; };
  }
  constructor(url, base = undefined) {
    required('URL', arguments.length);
    url = usv(url);
    this.#parts = base === undefined ? parse(url) : parse(url, parse(usv(base)));
    const params = this.#params = new URLSearchParams(this.#parts.query ?? '');
    attach(params, this);
  }
  static canParse(url, base = undefined) { required('URL.canParse', arguments.length); return tryParse(url, base) !== null; }
  static parse(url, base = undefined) {
    required('URL.parse', arguments.length);
    const parts = tryParse(url, base);
    if (parts === null) return null;
    const result = new URL('a:');
    result.#parts = parts;
    setList(result.#params, parseQuery(parts.query ?? ''));
    return result;
  }
  toString() { return serializeURL(this.#parts); }
  #queryChanged() { setList(this.#params, parseQuery(this.#parts.query ?? '')); }
  get href() { return serializeURL(this.#parts); }
  set href(value) { this.#parts = parse(usv(value)); this.#queryChanged(); }
  get origin() {
    const parts = this.#parts, scheme = parts.scheme;
    if (scheme === 'blob') {
      const inner = tryParse(serializeURL(parts, PATH));
      return (inner !== null && (inner.scheme === 'http' || inner.scheme === 'https')) ? serializeURL(inner, ORIGIN) : 'null';
    }
    return scheme === 'file' ? 'null' : serializeURL(parts, ORIGIN);
  }
  get protocol() { return serializeURL(this.#parts, SCHEME); }
  set protocol(value) { override(this.#parts, `${usv(value)}:`, SCHEME); }
  get username() { return serializeURL(this.#parts, USERNAME); }
  set username(value) { override(this.#parts, value, USERNAME); }
  get password() { return serializeURL(this.#parts, PASSWORD); }
  set password(value) { override(this.#parts, value, PASSWORD); }
  get host() { return serializeURL(this.#parts, HOST); }
  set host(value) { override(this.#parts, value, HOST); }
  get hostname() { return serializeURL(this.#parts, HOSTNAME); }
  set hostname(value) { override(this.#parts, value, HOSTNAME); }
  get port() { return serializeURL(this.#parts, PORT); }
  set port(value) {
    const parts = this.#parts;
    value = usv(value);
    if (value === '') { if (parts.host !== null && parts.host !== '' && parts.scheme !== 'file') parts.port = ''; }
    else override(parts, value, PORT);
  }
  get pathname() { return serializeURL(this.#parts, PATH); }
  set pathname(value) {
    const parts = this.#parts;
    // url.c gives a non-special URL with a host an empty segment ("foo://h/"); the standard, no path ("foo://h")
    if (!hasOwn(specialSchemes, parts.scheme) && parts.host !== null && !hasOwn(parts, 'path') && apply(replace, usv(value), [tabOrNewline, '']) === '') parts.length = 0;
    else override(parts, value, PATH);
  }
  get search() { return serializeURL(this.#parts, QUERY); }
  set search(value) {
    const parts = this.#parts;
    value = usv(value);
    if (value === '') parts.query = null;
    else override(parts, value, QUERY);
    this.#queryChanged();
  }
  get searchParams() { return this.#params; }
  get hash() { return serializeURL(this.#parts, FRAGMENT); }
  set hash(value) { override(this.#parts, value, FRAGMENT); }
  toJSON() { return serializeURL(this.#parts); }
}
webIDL(URL, 'URL');
})