// Smoke run of one emscripten artifact under Node (used by `cargo xtask build`).
//
// usage: node emscripten.cjs <form> <main-file> <wasm-file|-> <bundle.js> <parse-input.js> <abi-version>
// Prints one JSON line: {"empty_snapshot_bytes":N,"bundle_snapshot_bytes":M,"checks":[...]}
// Exits non-zero with a message on the first failed check.
'use strict';
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const [form, mainFile, wasmFile, bundleFile, parseInputFile, abiVersion] = process.argv.slice(2);

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
  };
  const moduleArg = { xsWasmHost: host };
  if (wasmFile && wasmFile !== '-') moduleArg.wasmBinary = fs.readFileSync(wasmFile);
  M = await factory(moduleArg);

  const checks = [];
  const input = (bytes) => { const p = M._xs_wasm_alloc(bytes.length); M.HEAPU8.set(bytes, p); return p; };
  const result = (m) => M.HEAPU8.slice(M._xs_wasm_result(m), M._xs_wasm_result(m) + M._xs_wasm_result_length(m));
  function call(fn, m, text) {
    const bytes = encoder.encode(text);
    const p = input(bytes);
    const status = fn(m, p, bytes.length);
    M._xs_wasm_free(p);
    const out = decoder.decode(result(m));
    if (status !== 0) fail(`status ${status} for ${JSON.stringify(text.slice(0, 60))}: ${out}`);
    return out === '' ? undefined : JSON.parse(out);
  }
  const evaluate = (m, src) => call(M._xs_wasm_eval, m, src);
  const send = (m, msg) => call(M._xs_wasm_send, m, JSON.stringify(msg));
  function expect(label, actual, expected) {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      fail(`${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    checks.push(label);
  }
  function snapshot(m) {
    const status = M._xs_wasm_snapshot(m);
    const bytes = result(m);
    if (status !== 0) fail(`snapshot failed: ${decoder.decode(bytes)}`);
    return bytes;
  }
  function restore(bytes) {
    const p = input(bytes);
    const m = M._xs_wasm_restore(p, bytes.length, 0);
    M._xs_wasm_free(p);
    if (!m) fail(`restore failed: ${M.UTF8ToString(M._xs_wasm_last_error())}`);
    return m;
  }

  if (M._xs_wasm_abi_version() !== Number(abiVersion)) fail(`unexpected ABI ${M._xs_wasm_abi_version()}`);
  const empty = M._xs_wasm_create(0);
  if (!empty) fail(`create failed: ${M.UTF8ToString(M._xs_wasm_last_error())}`);
  const emptySnapshot = snapshot(empty);

  const a = M._xs_wasm_create(0);
  expect('eval 1+1', evaluate(a, '1 + 1'), 2);
  evaluate(a, 'var state = { n: 40 }; globalThis.receiveMessage = (m) => (state.n += m.add, sendMessage(state).echo.n)');
  expect('message round trip', send(a, { add: 2 }), 42);
  expect('exception', (() => {
    const p = input(encoder.encode('null.x'));
    const st = M._xs_wasm_eval(a, p, 6); M._xs_wasm_free(p);
    return [st, JSON.parse(decoder.decode(result(a))).name];
  })(), [1, 'TypeError']);
  const restored = restore(snapshot(a));
  expect('state survives snapshot/restore', evaluate(restored, 'state.n'), 42);
  expect('messages after restore', send(restored, { add: 1 }), 43);

  const bundle = fs.readFileSync(bundleFile, 'utf8');
  const b = M._xs_wasm_create(0);
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
