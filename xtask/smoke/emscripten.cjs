// Smoke run of one emscripten artifact under Node (used by `cargo xtask build`).
//
// usage: node emscripten.cjs <form> <main-file> <wasm-file|-> <bundle.js> <parse-input.js>
// The port ABI (export names, status codes, ABI version) is the JS package's
// js/src/abi.mjs, generated from port/xs_wasm.h by `cargo xtask codegen`.
// Prints one JSON line: {"empty_snapshot_bytes":N,"bundle_snapshot_bytes":M,"checks":[...]}
// Exits non-zero with a message on the first failed check.
'use strict';
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const [form, mainFile, wasmFile, bundleFile, parseInputFile] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`smoke: ${message}\n`);
  process.exit(1);
}

async function loadFactory() {
  if (form === 'single-esm') {
    const mod = await import(pathToFileURL(path.resolve(mainFile)).href);
    return mod.default;
  }
  return require(path.resolve(mainFile));
}

async function main() {
  const factory = await loadFactory();
  let M;
  let reply = new Uint8Array(0);
  const logs = [];
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const view = (ptr, len) => M.HEAPU8.subarray(ptr, ptr + len);
  const host = {
    send(_m, ptr, len) {
      const msg = JSON.parse(decoder.decode(view(ptr, len)));
      reply = encoder.encode(JSON.stringify({ echo: msg }));
      return reply.length;
    },
    reply(_m, buffer) { M.HEAPU8.set(reply, buffer); },
    log(_m, level, ptr, len) { logs.push([level, decoder.decode(view(ptr, len))]); },
    now() { return 0; },
    interrupt() { return 0; },
  };
  const moduleArg = { xsWasmHost: host };
  if (wasmFile && wasmFile !== '-') moduleArg.wasmBinary = fs.readFileSync(wasmFile);
  M = await factory(moduleArg);
  const { ABI_VERSION, EXPORTS, Status } = await import(pathToFileURL(path.join(__dirname, '../../js/src/abi.mjs')).href);
  // The exports by their abi.mjs key: X.eval is M._xs_wasm_eval.
  const X = Object.fromEntries(Object.entries(EXPORTS).map(([key, name]) => [key, M[`_${name}`]]));

  const checks = [];
  const input = (bytes) => { const p = X.alloc(bytes.length); M.HEAPU8.set(bytes, p); return p; };
  const result = (m) => M.HEAPU8.slice(X.result(m), X.result(m) + X.resultLength(m));
  function call(fn, m, text) {
    const bytes = encoder.encode(text);
    const p = input(bytes);
    const status = fn(m, p, bytes.length);
    X.free(p);
    const out = decoder.decode(result(m));
    if (status !== Status.OK) fail(`status ${status} for ${JSON.stringify(text.slice(0, 60))}: ${out}`);
    return out === '' ? undefined : JSON.parse(out);
  }
  const evaluate = (m, src) => call(X.eval, m, src);
  const send = (m, msg) => call(X.send, m, JSON.stringify(msg));
  function expect(label, actual, expected) {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      fail(`${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    checks.push(label);
  }
  function snapshot(m) {
    const status = X.snapshot(m);
    const bytes = result(m);
    if (status !== Status.OK) fail(`snapshot failed: ${decoder.decode(bytes)}`);
    return bytes;
  }
  function restore(bytes) {
    const p = input(bytes);
    const m = X.restore(p, bytes.length, 0);
    X.free(p);
    if (!m) fail(`restore failed: ${M.UTF8ToString(X.lastError())}`);
    return m;
  }

  if (X.abiVersion() !== ABI_VERSION) fail(`unexpected ABI ${X.abiVersion()} (expected ${ABI_VERSION})`);
  const empty = X.create(0);
  if (!empty) fail(`create failed: ${M.UTF8ToString(X.lastError())}`);
  const emptySnapshot = snapshot(empty);

  const a = X.create(0);
  expect('eval 1+1', evaluate(a, '1 + 1'), 2);
  evaluate(a, 'var state = { n: 40 }; globalThis.receiveMessage = (m) => (state.n += m.add, sendMessage(state).echo.n)');
  expect('message round trip', send(a, { add: 2 }), 42);
  expect('exception', (() => {
    const p = input(encoder.encode('null.x'));
    const st = X.eval(a, p, 6); X.free(p);
    return [st, JSON.parse(decoder.decode(result(a))).name];
  })(), [Status.JS_ERROR, 'TypeError']);
  const restored = restore(snapshot(a));
  expect('state survives snapshot/restore', evaluate(restored, 'state.n'), 42);
  expect('messages after restore', send(restored, { add: 1 }), 43);

  const bundle = fs.readFileSync(bundleFile, 'utf8');
  const b = X.create(0);
  evaluate(b, bundle);
  evaluate(b, 'globalThis.receiveMessage = (m) => { const ast = acorn.parse(m.source, { ecmaVersion: "latest" }); globalThis.parsed = ast.body.length; return parsed; }');
  // acorn parses a program (configs/variants.toml [smoke] parse_input), its
  // non-ASCII characters written as \u escapes (an equivalent program, the
  // same text the WASI smoke run parses: smoke.rs ascii_escaped).
  const parseInput = fs.readFileSync(parseInputFile, 'utf8');
  const asciiSource = parseInput.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const statements = send(b, { source: asciiSource });
  if (!(statements > 0)) fail(`acorn parsed ${statements} statements`);
  checks.push(`acorn parsed ${path.basename(parseInputFile)} (${statements} top-level statements)`);
  const bundleSnapshot = snapshot(b);
  const b2 = restore(bundleSnapshot);
  expect('bundle state survives restore', evaluate(b2, 'parsed'), statements);
  expect('bundle works after restore', evaluate(b2, 'acorn.parse("let x = 1; x + 1", { ecmaVersion: "latest" }).body.length'), 2);

  process.stdout.write(JSON.stringify({ empty_snapshot_bytes: emptySnapshot.length, bundle_snapshot_bytes: bundleSnapshot.length, checks }) + '\n');
}

main().catch((e) => fail(e && e.stack || String(e)));
