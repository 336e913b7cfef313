//! Hardened JavaScript (`lockdown`, `harden`, `petrify`, `mutabilities`,
//! `Options::lockdown`) and the web-standard globals (`Options::web_globals`)
//! through the public API. The fixtures are shared with the JS package's
//! tests/hardened.test.mjs: both loaders must give the same values.

use std::sync::OnceLock;

use serde_json::{json, Value};
use xs_wasm::{Error, Machine, Options, Runtime};

const HARDENED: &str = include_str!("fixtures/hardened.js");
const WEB_GLOBALS: &str = include_str!("fixtures/web-globals.js");
/// Every descriptor of the globals the preludes and the port define (names,
/// lengths, toString, flags); the expected values were taken when the
/// preludes were still parsed at each creation (before their bytecode was
/// compiled at build time), so they pin what guests could see of that change.
const GLOBALS_SHAPE: &str = include_str!("fixtures/globals-shape.js");
/// URL, URLSearchParams, DOMException and TextDecoder's invalid UTF-8; its
/// expected values are Node's (the JS package's tests/web-standard.test.mjs
/// checks that Node still gives them).
const WEB_STANDARD: &str = include_str!("fixtures/web-standard.js");

fn expected(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The embedded runtime: a pre-initialized module (its kept machine is
/// locked down when taken, for `Options::lockdown`).
fn preinitialized() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

/// The repository's plain wasi-os module: machines are created by XS, with
/// the creation flags.
fn plain() -> Option<Runtime> {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let dir = crate_dir.join("../../artifacts");
    if !dir.join("wasi-os").join(xs_wasm::WASI_MODULE_FILE).is_file() {
        return None; // the packaged crate has the embedded module only
    }
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    Some(RUNTIME.get_or_init(|| Runtime::from_artifacts_dir(&dir, "wasi-os").expect("wasi-os runtime")).clone())
}

fn runtimes() -> Vec<(&'static str, Runtime)> {
    let mut all = vec![("pre-initialized", preinitialized())];
    if let Some(runtime) = plain() {
        all.push(("plain", runtime));
    }
    all
}

fn locked() -> Options {
    Options { lockdown: true, ..Options::default() }
}

#[test]
fn a_machine_created_locked_down_has_frozen_intrinsics_and_isolated_compartments() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, locked()).unwrap();
        assert_eq!(m.eval(HARDENED).unwrap(), expected(include_str!("fixtures/hardened.expected.json")), "{name}");
        // The machine stays usable, and its own global object writable.
        assert_eq!(m.eval("globalThis.counter = 1; counter + 1").unwrap(), json!(2), "{name}");
    }
}

#[test]
fn every_machine_has_the_hardened_javascript_globals_and_can_lock_itself_down() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        let unlocked = m.eval("[Object.isFrozen(Array.prototype), Object.keys(globalThis).length]").unwrap();
        assert_eq!(unlocked, json!([false, 0]), "{name}: not locked by default; the globals are not enumerable");
        assert_eq!(m.eval("lockdown(); Object.isFrozen(Array.prototype)").unwrap(), json!(true), "{name}");
        assert_eq!(m.eval(HARDENED).unwrap(), expected(include_str!("fixtures/hardened.expected.json")), "{name}");
        let err = m.eval("lockdown()").unwrap_err();
        assert!(matches!(&err, Error::Js { name, message, .. } if name == "TypeError" && message == "lockdown already called"), "{err:?}");
    }
}

#[test]
fn harden_freezes_deeply_without_lockdown() {
    let mut m = Machine::new(&preinitialized(), Options::default()).unwrap();
    let frozen = m.eval("const o = harden({ a: { b: [1, { c: 2 }] } }); [o, o.a, o.a.b, o.a.b[1]].every(Object.isFrozen)").unwrap();
    assert_eq!(frozen, json!(true));
    assert_eq!(m.eval("'use strict'; try { o.a.b[1].c = 3; 'changed' } catch (e) { e.name }").unwrap(), json!("TypeError"));
}

#[test]
fn the_snapshot_of_a_locked_machine_restores_locked() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, locked()).unwrap();
        m.eval("globalThis.config = harden({ limit: 3 });").unwrap();
        let snapshot = m.snapshot().unwrap();
        // Options::lockdown is not needed on restore: the state is in the heap.
        let mut restored = Machine::restore(&runtime, &snapshot, Options::default()).unwrap();
        assert_eq!(restored.eval(HARDENED).unwrap(), expected(include_str!("fixtures/hardened.expected.json")), "{name}");
        assert_eq!(restored.eval("Object.isFrozen(config)").unwrap(), json!(true), "{name}");
        // The same history gives the same bytes, whichever way the machine was made.
        let mut again = Machine::new(&runtime, locked()).unwrap();
        again.eval("globalThis.config = harden({ limit: 3 });").unwrap();
        assert_eq!(again.snapshot().unwrap(), snapshot, "{name}: deterministic");
    }
}

#[test]
fn a_machine_locked_when_taken_snapshots_as_one_created_locked() {
    let Some(plain) = plain() else { return };
    // The plain module's machine is locked at creation (XS_WASM_CREATE_LOCKDOWN),
    // the pre-initialized module's when it is taken (xs_wasm_lockdown): the
    // same call on the same heap, so the same bytes.
    let locked_plain = Machine::new(&plain, locked()).unwrap().snapshot().unwrap();
    let locked_preinit = Machine::new(&preinitialized(), locked()).unwrap().snapshot().unwrap();
    assert_eq!(locked_plain, locked_preinit);
    let unlocked = Machine::new(&plain, Options::default()).unwrap().snapshot().unwrap();
    assert_ne!(unlocked, locked_plain);
}

#[test]
fn lockdown_runs_before_the_meter_limit_applies() {
    // lockdown() is the host's work, not the guest's: a small limit still
    // leaves the guest its ticks.
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, Options { meter_limit: Some(1_000), ..locked() }).unwrap();
        assert_eq!(m.eval("Object.isFrozen(Object.prototype)").unwrap(), json!(true), "{name}");
        assert!(m.meter() < 1_000, "{name}: {}", m.meter());
    }
}

#[test]
fn the_web_standard_globals_behave_as_in_the_js_package() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        assert_eq!(m.eval(WEB_GLOBALS).unwrap(), expected(include_str!("fixtures/web-globals.expected.json")), "{name}");
        // locked down too
        let mut m = Machine::new(&runtime, locked()).unwrap();
        assert_eq!(m.eval(WEB_GLOBALS).unwrap(), expected(include_str!("fixtures/web-globals.expected.json")), "{name} locked");
    }
}

#[test]
fn the_globals_keep_their_shape_created_bare_locked_or_restored() {
    let shapes = expected(include_str!("fixtures/globals-shape.expected.json"));
    for (name, runtime) in runtimes() {
        let bare = Options { web_globals: false, ..Options::default() };
        for (kind, options) in [("default", Options::default()), ("bare", bare), ("lockdown", locked())] {
            let mut m = Machine::new(&runtime, options.clone()).unwrap();
            assert_eq!(m.eval(GLOBALS_SHAPE).unwrap(), shapes[kind], "{name} {kind}");
            let snapshot = Machine::new(&runtime, options).unwrap().snapshot().unwrap();
            let mut restored = Machine::restore(&runtime, &snapshot, Options::default()).unwrap();
            assert_eq!(restored.eval(GLOBALS_SHAPE).unwrap(), shapes[kind], "{name} {kind} restored");
        }
    }
}

#[test]
fn url_dom_exception_and_text_decoder_give_the_values_node_gives() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        assert_eq!(m.eval(WEB_STANDARD).unwrap(), expected(include_str!("fixtures/web-standard.expected.json")), "{name}");
        let mut m = Machine::new(&runtime, locked()).unwrap();
        assert_eq!(m.eval(WEB_STANDARD).unwrap(), expected(include_str!("fixtures/web-standard.expected.json")), "{name} locked");
    }
}

#[test]
fn a_guest_that_replaces_intrinsics_cannot_reach_the_url_parser_s_parts() {
    // url.c's parts have no prototype and its path segments are not pushed
    // with Array.prototype.push (configs/patches/0012); a decodeURIComponent
    // that returns no string makes the host invalid.
    let mut m = Machine::new(&preinitialized(), Options::default()).unwrap();
    let v = m
        .eval(
            "Array.prototype.push = function () { this.scheme = 42; this.host = {}; return 0; };
             Object.defineProperty(Array.prototype, 'path', { get() { return 7; }, configurable: true });
             Object.defineProperty(Array.prototype, 'query', { set(v) { globalThis.leak = this; }, configurable: true });
             globalThis.decodeURIComponent = () => 1;
             const u = new URL('http://h/a/b/../c?x=1#f');
             u.pathname = '/p/q';
             u.searchParams.append('y', '2');
             let invalid;
             try { new URL('http://%41b/'); } catch (e) { invalid = e.name; }
             [u.href, u.host, new URL('foo:bar').host, invalid, typeof globalThis.leak]",
        )
        .unwrap();
    assert_eq!(v, json!(["http://h/p/q?x=1&y=2#f", "h", "", "TypeError", "undefined"]));
    assert_eq!(m.eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn urls_and_decoders_survive_a_snapshot() {
    let mut m = Machine::new(&preinitialized(), Options::default()).unwrap();
    m.eval("globalThis.u = new URL('http://h/p?a=1'); globalThis.d = new TextDecoder(); d.decode(new Uint8Array([0xE2, 0x82]), { stream: true });").unwrap();
    let snapshot = m.snapshot().unwrap();
    let mut t = Machine::restore(&preinitialized(), &snapshot, Options::default()).unwrap();
    let v = t.eval("u.searchParams.append('b', '2 3'); [u.href, new URL('../x', u).href, d.decode(new Uint8Array([0xAC])), new DOMException('m', 'AbortError').code]").unwrap();
    assert_eq!(v, json!(["http://h/p?a=1&b=2+3", "http://h/x", "\u{20ac}", 20]));
}

/// structuredClone of a value nested deeper than XS's marshalling may
/// recurse (configs/patches/0014) is a RangeError, not a dead machine.
const DEEP_CLONE: &str = "const r = [];
    let a = {}; for (let i = 0; i < 100000; i++) a = { a };
    let b = []; for (let i = 0; i < 1500; i++) b = [b];
    for (const v of [a, b]) { try { structuredClone(v); r.push('cloned'); } catch (e) { r.push(e instanceof RangeError ? 'RangeError' : e.name); } }
    let c = {}; for (let i = 0; i < 900; i++) c = { c };
    let d = structuredClone(c), n = 0; while (d.c) { d = d.c; n++; }
    r.push(n, structuredClone({ x: [1] }).x[0]);
    r";

#[test]
fn structured_clone_of_a_value_nested_too_deeply_is_a_range_error() {
    for (name, runtime) in runtimes() {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        assert_eq!(m.eval(DEEP_CLONE).unwrap(), json!(["RangeError", "RangeError", 900, 1]), "{name}");
        assert_eq!(m.eval("1 + 1").unwrap(), json!(2), "{name}");
    }
}

#[test]
fn a_bare_machine_has_no_web_globals() {
    for (name, runtime) in runtimes() {
        for lockdown in [false, true] {
            let mut m = Machine::new(&runtime, Options { web_globals: false, lockdown, ..Options::default() }).unwrap();
            let types = m.eval("['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'structuredClone', 'queueMicrotask', 'performance', 'DOMException', 'URL', 'URLSearchParams', 'harden', 'console'].map((n) => typeof globalThis[n])").unwrap();
            assert_eq!(types, json!(["undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "function", "object"]), "{name}");
            assert_eq!(m.eval("Object.isFrozen(Array.prototype)").unwrap(), json!(lockdown), "{name}");
        }
    }
}

#[test]
fn performance_now_follows_the_machine_clock() {
    let mut m = Machine::new(&preinitialized(), Options::default()).unwrap();
    assert_eq!(m.eval("[performance.now(), performance.timeOrigin, Date.now()]").unwrap(), json!([0, 0, 0]));
    let mut m = Machine::new(&preinitialized(), Options { real_clock: true, ..Options::default() }).unwrap();
    let v = m.eval("const t0 = performance.now(); let x = 0; for (let i = 0; i < 300000; i++) x += i; [t0, performance.now() >= t0, performance.timeOrigin > 1.7e12]").unwrap();
    assert_eq!(v, json!([0, true, true]), "the origin is the first time the guest asks performance");
}

#[test]
fn structured_clone_errors_are_typed_and_leave_the_machine_usable() {
    let mut m = Machine::new(&preinitialized(), Options::default()).unwrap();
    for value in ["() => 1", "Symbol('s')", "new WeakMap()", "Promise.resolve()"] {
        let err = m.eval(&format!("structuredClone({value})")).unwrap_err();
        assert!(matches!(&err, Error::Js { name, message, .. } if name == "DataCloneError" && message.starts_with("structuredClone: cannot clone")), "{value}: {err:?}");
    }
    assert_eq!(m.eval("structuredClone({ a: [1n, -0, NaN] }).a.map(String)").unwrap(), json!(["1", "0", "NaN"]));
}
