//! Behaviour of `Machine` through the public API, on the embedded artifact.

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use xs_wasm::{ArtifactInfo, Error, LogLevel, Machine, Options, Runtime};

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

fn machine() -> Machine {
    Machine::new(&runtime(), Options::default()).unwrap()
}

/// The artifacts next to the crate, in build.rs's order: `artifacts/` packaged
/// with the crate (`cargo xtask dist`: the manifest and the embedded variant
/// only), else the repository's. `true` when packaged.
fn artifacts_dir() -> (std::path::PathBuf, bool) {
    // At run time (cargo sets it for test binaries): a test binary compiled in
    // another checkout sharing the target directory keeps that checkout's path.
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let packaged = crate_dir.join("artifacts");
    if packaged.join("manifest.json").is_file() {
        (packaged, true)
    } else {
        (crate_dir.join("../../artifacts"), false)
    }
}

#[test]
fn eval_returns_completion_values_as_json() {
    let mut m = machine();
    assert_eq!(m.eval("1 + 2").unwrap(), json!(3));
    assert_eq!(m.eval("'a' + 'b'").unwrap(), json!("ab"));
    assert_eq!(m.eval("({ a: [1, true, null], b: 'é😀' })").unwrap(), json!({ "a": [1, true, null], "b": "é😀" }));
    assert_eq!(m.eval("undefined").unwrap(), Value::Null);
    assert_eq!(m.eval("(function () {})").unwrap(), Value::Null);
    // state persists between calls
    m.eval("var counter = 10").unwrap();
    assert_eq!(m.eval("++counter").unwrap(), json!(11));
}

/// `\p{...}` sets come from packed tables (configs/patches/0004): Script,
/// General_Category and binary properties, the U+10FFFF boundary,
/// Script_Extensions; Cased and Case_Ignorable stay unpacked for case
/// mapping (the final sigma of "ΑΣ"); an unknown name is a SyntaxError.
/// Normalization's decomposition indexes are packed too (0005): one
/// character from each of the three (planes 0, 1, 2), a compatibility
/// decomposition (U+FB01 decomposes under NFKD only).
#[test]
fn unicode_property_escapes_case_mapping_and_normalization_work() {
    let mut m = machine();
    let source = r#"var r = [
  /^\p{Script=Greek}+$/u.test("αβγ"), /\p{Script=Greek}/u.test("abc"),
  /^\p{L}+$/u.test("héllo"), /^\P{L}$/u.test("1"),
  /^\p{Cased}$/u.test("A"), /^\p{Cased}$/u.test("1"), /^\p{Case_Ignorable}$/u.test("'"),
  /^\p{Any}$/u.test("\u{10FFFF}"), /^\p{ASCII_Hex_Digit}+$/u.test("09afAF"),
  /^\p{Emoji}$/u.test("😀"), /^\p{scx=Hira}$/u.test("ー"),
  "ΑΣ".toLowerCase(), "é".normalize("NFD").length,
  "\uFB01".normalize("NFKD"), "\uFB01".normalize("NFD"), "\u{1D400}".normalize("NFKC"), "\u{2F800}".normalize("NFC").codePointAt(0),
];
try { new RegExp("\\p{Nope}", "u"); r.push("no error"); } catch (e) { r.push(e.name); }
r"#;
    assert_eq!(m.eval(source).unwrap(), json!([true, false, true, true, true, false, true, true, true, true, true, "ας", 2, "fi", "\u{FB01}", "A", 0x4E3D, "SyntaxError"]));
}

#[test]
fn js_exceptions_are_typed_errors_and_the_machine_survives() {
    let mut m = machine();
    match m.eval("function thrower() { throw new TypeError('boom') } thrower()") {
        Err(Error::Js { name, message, stack }) => {
            assert_eq!(name, "TypeError");
            assert_eq!(message, "boom");
            assert!(stack.contains("TypeError: boom"), "stack: {stack}");
        }
        other => panic!("expected a JS error, got {other:?}"),
    }
    match m.eval("syntax error here") {
        Err(Error::Js { name, .. }) => assert_eq!(name, "SyntaxError"),
        other => panic!("expected a SyntaxError, got {other:?}"),
    }
    assert_eq!(m.eval("40 + 2").unwrap(), json!(42));
}

#[test]
fn thrown_non_error_values_have_an_empty_name() {
    let mut m = machine();
    match m.eval("throw 42") {
        Err(Error::Js { name, message, .. }) => {
            assert_eq!(name, "");
            assert_eq!(message, "42");
        }
        other => panic!("expected a JS error, got {other:?}"),
    }
    match m.eval("throw { toString() { throw new Error('nested') } }") {
        Err(Error::Js { .. }) => {}
        other => panic!("expected a JS error, got {other:?}"),
    }
}

#[test]
fn send_calls_receive_message_and_returns_its_reply() {
    let mut m = machine();
    m.eval("globalThis.receiveMessage = (msg) => ({ doubled: msg.n * 2 })").unwrap();
    assert_eq!(m.send(&json!({ "n": 21 })).unwrap(), json!({ "doubled": 42 }));

    #[derive(serde::Serialize)]
    struct Request {
        n: i32,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Reply {
        doubled: i32,
    }
    let reply: Reply = m.send_typed(&Request { n: 5 }).unwrap();
    assert_eq!(reply, Reply { doubled: 10 });
}

#[test]
fn send_without_receive_message_is_a_type_error() {
    let mut m = machine();
    match m.send(&json!(1)) {
        Err(Error::Js { name, .. }) => assert_eq!(name, "TypeError"),
        other => panic!("expected a TypeError, got {other:?}"),
    }
}

#[test]
fn guest_send_message_reaches_the_host_handler_and_its_reply_comes_back() {
    let mut m = machine();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    m.set_message_handler(move |msg| {
        log.lock().unwrap().push(msg.clone());
        Ok(json!({ "ack": msg["id"] }))
    });
    assert_eq!(m.eval("sendMessage({ id: 7 }).ack").unwrap(), json!(7));
    assert_eq!(*seen.lock().unwrap(), vec![json!({ "id": 7 })]);
}

#[test]
fn re_entrant_send_message_during_send() {
    let mut m = machine();
    m.set_message_handler(|msg| Ok(json!(msg.as_i64().unwrap() + 1)));
    m.eval("globalThis.receiveMessage = (n) => sendMessage(sendMessage(n) * 10)").unwrap();
    assert_eq!(m.send(&json!(1)).unwrap(), json!(21));
}

#[test]
fn a_failing_host_handler_throws_in_the_guest() {
    let mut m = machine();
    m.set_message_handler(|_| Err("host says no".to_owned()));
    assert_eq!(m.eval("try { sendMessage(1); 'no throw' } catch (e) { e.message }").unwrap(), json!("host says no"));
}

#[test]
fn send_message_without_a_handler_throws_in_the_guest() {
    let mut m = machine();
    match m.eval("sendMessage({})") {
        Err(Error::Js { message, .. }) => assert!(message.contains("no message handler"), "{message}"),
        other => panic!("expected a JS error, got {other:?}"),
    }
}

#[test]
fn huge_messages_cross_in_both_directions() {
    let mut m = machine();
    let big = "x".repeat(8 << 20);
    m.set_message_handler(|msg| Ok(json!(msg.as_str().map_or(0, str::len))));
    m.eval("globalThis.receiveMessage = (s) => ({ length: s.length, echoed: sendMessage(s), back: s.slice(0, 3) + 'y'.repeat(1 << 20) })").unwrap();
    let reply = m.send(&json!(big)).unwrap();
    assert_eq!(reply["length"], json!(8 << 20));
    assert_eq!(reply["echoed"], json!(8 << 20));
    assert_eq!(reply["back"].as_str().unwrap().len(), 3 + (1 << 20));
}

#[test]
fn invalid_json_from_the_guest_is_an_error_not_a_panic() {
    let mut m = machine();
    // the completion value of this very eval already goes through the broken stringify
    assert!(matches!(m.eval("JSON.stringify = () => '{not json'"), Err(Error::InvalidJson(_))));
    assert!(matches!(m.eval("1"), Err(Error::InvalidJson(_))));
    // BigInt cannot be serialized: a JS TypeError
    let mut m = machine();
    assert!(matches!(m.eval("10n"), Err(Error::Js { .. })));
}

#[test]
fn the_job_queue_is_drained_before_returning() {
    let mut m = machine();
    m.eval("var log = []; Promise.resolve().then(() => log.push('job 1')).then(() => log.push('job 2'))").unwrap();
    assert_eq!(m.eval("log").unwrap(), json!(["job 1", "job 2"]));
    // a promise completion value is awaited
    assert_eq!(m.eval("Promise.resolve(5).then(v => v * 2)").unwrap(), json!(10));
    match m.eval("(async () => { throw new RangeError('async boom') })()") {
        Err(Error::Js { name, message, .. }) => assert_eq!((name.as_str(), message.as_str()), ("RangeError", "async boom")),
        other => panic!("expected a JS error, got {other:?}"),
    }
    m.eval("globalThis.receiveMessage = async (x) => (await x) + 1").unwrap();
    assert_eq!(m.send(&json!(1)).unwrap(), json!(2));
}

/// Strings are UTF-16 inside the machine (XS's CESU-8) and UTF-8 outside:
/// a character outside the BMP is two code units to the guest and one
/// character to the host, in every direction (send, the guest's
/// sendMessage and its reply, console, errors); a lone surrogate reaches
/// the console as U+FFFD.
#[test]
fn text_outside_the_bmp_crosses_the_boundary_intact() {
    let mut m = machine();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    m.set_log_handler(move |_, text| sink.lock().unwrap().push(text.to_owned()));
    m.set_message_handler(|msg| Ok(json!(format!("{}🎉", msg.as_str().unwrap()))));
    m.eval(r"globalThis.receiveMessage = (s) => { const r = sendMessage(s + '✓'); console.log(s, s.length, r, r.length, '\ud800'); return { s, n: s.length, code: s.charCodeAt(0), r }; }").unwrap();
    assert_eq!(m.send(&json!("😀é")).unwrap(), json!({ "s": "😀é", "n": 3, "code": 0xD83D, "r": "😀é✓🎉" }));
    assert_eq!(*lines.lock().unwrap(), vec!["😀é 3 😀é✓🎉 6 \u{fffd}".to_owned()]);
    match m.eval("throw new Error('bad 🙈')") {
        Err(Error::Js { message, .. }) => assert_eq!(message, "bad 🙈"),
        other => panic!("expected a JS error, got {other:?}"),
    }
}

#[test]
fn console_output_reaches_the_log_handler() {
    let mut m = machine();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    m.set_log_handler(move |level, text| sink.lock().unwrap().push((level, text.to_owned())));
    m.eval("console.log('hello', 42, { a: 1 }); console.warn('careful'); console.error('bad')").unwrap();
    assert_eq!(
        *lines.lock().unwrap(),
        vec![(LogLevel::Log, "hello 42 [object Object]".to_owned()), (LogLevel::Warn, "careful".to_owned()), (LogLevel::Error, "bad".to_owned())]
    );
}

#[test]
fn meter_counts_and_the_limit_stops_an_endless_loop() {
    let mut m = Machine::new(&runtime(), Options { meter_limit: Some(200_000), meter_interval: 1_000, ..Options::default() }).unwrap();
    m.eval("for (let i = 0; i < 1000; i++) {}").unwrap();
    let small = m.meter();
    assert!(small > 1000, "meter {small}");
    match m.eval("for (;;) {}") {
        Err(Error::MeterLimit { used }) => assert!((200_000..=201_000).contains(&used), "used {used}"),
        other => panic!("expected the meter limit, got {other:?}"),
    }
    assert!(m.is_stopped());
    assert!(matches!(m.eval("1"), Err(Error::Dead { .. })));
    assert!(matches!(m.send(&json!(1)), Err(Error::Dead { .. })));
    assert!(matches!(m.snapshot(), Err(Error::Dead { .. })));
}

#[test]
fn the_meter_limit_applies_per_call() {
    const WORK: &str = "for (let i = 0; i < 10000; i++) {}";
    // What the work costs, measured without a limit.
    let mut probe = machine();
    probe.eval(WORK).unwrap();
    let cost = probe.meter();
    assert!(cost > 10_000, "meter {cost}");
    // A limit above one call's cost and below two calls' cost.
    let limit = u32::try_from(cost * 3 / 2).unwrap();
    let options = Options { meter_limit: Some(limit), meter_interval: 100, ..Options::default() };
    let mut m = Machine::new(&runtime(), options.clone()).unwrap();
    let mut used = Vec::new();
    for _ in 0..3 {
        m.eval(WORK).unwrap();
        used.push(m.meter());
    }
    assert!(used.iter().all(|&u| u <= u64::from(limit)), "each call is under the limit {limit}: {used:?}");
    assert!(used[0] + used[1] > u64::from(limit), "two calls together exceed the limit {limit}: {used:?}");
    assert!(!m.is_stopped());
    // The same work twice in one call is over the limit.
    let mut m = Machine::new(&runtime(), options).unwrap();
    match m.eval(&format!("{WORK}; {WORK}")) {
        Err(Error::MeterLimit { used }) => assert!(used >= u64::from(limit), "used {used}, limit {limit}"),
        other => panic!("expected the meter limit, got {other:?}"),
    }
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    let mut m = Machine::new(&runtime(), Options { memory_limit: 32 << 20, ..Options::default() }).unwrap();
    assert!(matches!(m.eval("var a = []; for (;;) a.push(new Array(100000).fill(1))"), Err(Error::OutOfMemory)));
    assert!(matches!(m.eval("1"), Err(Error::Dead { .. })));
    let mut m = Machine::new(&runtime(), Options { memory_limit: 32 << 20, ..Options::default() }).unwrap();
    assert!(matches!(m.eval("var s = 'x'; for (;;) s = s + s"), Err(Error::OutOfMemory)));
    // the host and other machines are fine
    assert_eq!(machine().eval("1").unwrap(), json!(1));
}

#[test]
fn deep_recursion_is_a_range_error() {
    let mut m = machine();
    let depth = m.eval("function f(n) { return f(n + 1) } try { f(0) } catch (e) { e instanceof RangeError }").unwrap();
    assert_eq!(depth, json!(true));
    // recursion through native code uses the C stack
    let native = m.eval("function g(n) { return [n].map(g) } try { g(0) } catch (e) { e instanceof RangeError }").unwrap();
    assert_eq!(native, json!(true));
    assert_eq!(m.eval("try { JSON.parse('['.repeat(200000)) } catch (e) { e.name }").unwrap(), json!("RangeError"));
    assert_eq!(m.eval("'still alive'").unwrap(), json!("still alive"));
}

#[test]
fn no_ambient_clock_and_deterministic_randomness() {
    let mut a = machine();
    let mut b = machine();
    assert_eq!(a.eval("Date.now()").unwrap(), json!(0));
    assert_eq!(a.eval("[Math.random(), Math.random()]").unwrap(), b.eval("[Math.random(), Math.random()]").unwrap());
    for name in ["process", "require", "fetch", "WebAssembly"] {
        assert_eq!(a.eval(&format!("typeof {name}")).unwrap(), json!("undefined"), "{name}");
    }
    // timers run on the virtual clock (tests/event_loop.rs): no wall time leaks in
    assert_eq!(a.eval("setTimeout(() => {}, 1000); Date.now()").unwrap(), json!(0));
    let mut clocked = Machine::new(&runtime(), Options { real_clock: true, ..Options::default() }).unwrap();
    assert!(clocked.eval("Date.now()").unwrap().as_f64().unwrap() > 1.6e12);
}

#[test]
fn snapshot_and_restore_keep_state_without_the_original_script() {
    let mut m = machine();
    m.eval("var store = new Map([['a', 1]]); class Point { constructor(x) { this.x = x } norm() { return Math.abs(this.x) } } var p = new Point(-3); globalThis.receiveMessage = (k) => store.get(k)").unwrap();
    let snapshot = m.snapshot().unwrap();
    let mut r = Machine::restore(&runtime(), &snapshot, Options::default()).unwrap();
    assert_eq!(r.eval("[store.get('a'), p.norm(), p instanceof Point]").unwrap(), json!([1, 3, true]));
    assert_eq!(r.send(&json!("a")).unwrap(), json!(1));
    // the original keeps working too, independently
    m.eval("store.set('a', 2)").unwrap();
    assert_eq!(r.eval("store.get('a')").unwrap(), json!(1));
}

/// Writing a snapshot walks the heap as the collector marks it: values
/// nested deep through arrays (100,000 levels), Maps, closures and private
/// fields (20,000 each) are written and restored whole
/// (configs/patches/0017; before it the walk recursed, and a machine holding
/// an array nested 100,000 deep trapped when asked for a snapshot).
#[test]
fn snapshots_of_deeply_nested_values_restore_whole() {
    let mut m = machine();
    m.eval(
        "class C { #x; constructor(v) { this.#x = v } static get(c) { return c.#x } } \
         var arrays = [], maps = new Map(), closures = () => 0, privates = null; \
         for (let i = 0; i < 100000; i++) arrays = [arrays]; \
         for (let i = 0; i < 20000; i++) { maps = new Map([[i, maps]]); closures = ((g) => () => g)(closures); privates = new C(privates) } \
         function depths() { let a = 0, m = 0, c = 0, p = 0; \
           for (let x = arrays; x.length; x = x[0]) a++; \
           for (let x = maps, i = 19999; x.size; x = x.get(i--)) m++; \
           for (let f = closures; typeof f() === 'function'; f = f()) c++; \
           for (let x = privates; x; x = C.get(x)) p++; \
           return [a, m, c, p] }",
    )
    .unwrap();
    let expected = json!([100000, 20000, 20000, 20000]);
    assert_eq!(m.eval("depths()").unwrap(), expected);
    let snapshot = m.snapshot().unwrap();
    let mut r = Machine::restore(&runtime(), &snapshot, Options::default()).unwrap();
    assert_eq!(r.eval("depths()").unwrap(), expected);
    assert!(r.snapshot().unwrap().len() > 1_000_000, "the restored machine writes a snapshot too");
    assert_eq!(m.eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn snapshots_are_deterministic() {
    let script = "var data = []; for (let i = 0; i < 100; i++) data.push({ i, s: 'v' + i }); data.length";
    let mut a = machine();
    let mut b = machine();
    a.eval(script).unwrap();
    b.eval(script).unwrap();
    assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
}

#[test]
fn bad_snapshots_are_refused_with_a_reason() {
    let rt = runtime();
    let good = machine().snapshot().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("garbage", b"this is not a snapshot at all, not even close....".to_vec(), "bad magic"),
        ("truncated header", good[..10].to_vec(), "truncated"),
        ("truncated payload", good[..good.len() / 2].to_vec(), "truncated"),
        ("trailing bytes", [good.as_slice(), b"xx"].concat(), "trailing"),
        ("flipped payload byte", {
            let mut b = good.clone();
            let i = b.len() - 100;
            b[i] ^= 0x40;
            b
        }, "checksum"),
        ("other ABI", {
            let mut b = good.clone();
            b[12] = 99;
            b
        }, "ABI"),
        ("other XS version", {
            let mut b = good.clone();
            b[17] ^= 1;
            b
        }, "XS version"),
        ("other callbacks list", {
            let mut b = good.clone();
            b[20] ^= 1;
            b
        }, "signature"),
        ("a build without property escapes", {
            let mut b = good.clone();
            b[10] ^= 1;
            b
        }, "snapshot was written by a build without regexp-property-escapes; this is a full build"),
    ];
    for (label, bytes, reason_part) in cases {
        match Machine::restore(&rt, &bytes, Options::default()) {
            Err(Error::Snapshot { reason }) => assert!(reason.contains(reason_part), "{label}: reason {reason:?}"),
            other => panic!("{label}: expected a snapshot error, got {other:?}"),
        }
    }
    // still usable after all that
    assert!(Machine::restore(&rt, &good, Options::default()).is_ok());
}

/// A snapshot written by the XS 13.3.0 builds of xs-wasm (before the engine
/// upgrade; `tests/fixtures/xs-13.3.0.snapshot`, made with that build's CLI:
/// `xs-wasm --snapshot-out F eval 'globalThis.written = "by XS 13.3.0"; 1'`)
/// is refused with an error naming both XS versions, not read as a heap of
/// another layout.
#[test]
fn a_snapshot_of_another_xs_version_is_refused_naming_both_versions() {
    let old = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/xs-13.3.0.snapshot")).unwrap();
    let rt = runtime();
    let mine = rt.artifact().xs_version.clone().expect("the embedded artifact names its XS version");
    match Machine::restore(&rt, &old, Options::default()) {
        Err(Error::Snapshot { reason }) => {
            assert!(reason.contains("snapshot was written by XS 13.3.0"), "{reason}");
            assert!(reason.contains(&format!("this is XS {mine}")), "{reason}");
        }
        other => panic!("expected a snapshot error, got {other:?}"),
    }
}

#[test]
fn a_stopped_machine_cannot_snapshot_but_its_earlier_snapshot_restores() {
    let mut m = Machine::new(&runtime(), Options { meter_limit: Some(10_000), ..Options::default() }).unwrap();
    m.eval("var kept = 'yes'").unwrap();
    let before = m.snapshot().unwrap();
    assert!(matches!(m.eval("while (true) {}"), Err(Error::MeterLimit { .. })));
    match m.snapshot() {
        Err(Error::Dead { reason }) => assert!(reason.contains("meter limit"), "reason: {reason}"),
        other => panic!("expected a stopped machine, got {other:?}"),
    }
    let mut r = Machine::restore(&runtime(), &before, Options::default()).unwrap();
    assert_eq!(r.eval("kept").unwrap(), json!("yes"));
}

#[test]
fn artifacts_are_checked_against_the_manifest() {
    let info = Runtime::embedded_artifact().unwrap();
    assert_eq!(info.variant, "wasi-os");
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(info.xs_version.as_deref(), Some("17.9.1"));
    assert!(!info.tools.is_empty());
    let (dir, _) = artifacts_dir();
    let bytes = std::fs::read(dir.join("wasi-os/xs-wasm.wasm")).unwrap();
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    match Runtime::from_bytes(&tampered, &info) {
        Err(Error::ArtifactMismatch { expected, actual, .. }) => {
            assert_eq!(expected, info.sha256);
            assert_ne!(actual, expected);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(matches!(Runtime::from_artifacts_dir(&dir, "no-such-variant"), Err(Error::Manifest(_))));
    assert!(matches!(Runtime::from_artifacts_dir(&dir, "emcc-os"), Err(Error::Manifest(_))));
    assert!(matches!(Runtime::from_bytes(b"\0asm\x01\0\0\0", &ArtifactInfo::new("empty", xs_wasm::sha256_hex(b"\0asm\x01\0\0\0"))), Err(Error::Incompatible(_))));
}

#[test]
fn snapshots_move_between_wasi_variants() {
    let (dir, packaged) = artifacts_dir();
    if packaged && !dir.join("wasi-oz").is_dir() {
        eprintln!("skipped: the packaged crate ships only its embedded variant, not wasi-oz");
        return;
    }
    let oz = Runtime::from_artifacts_dir(&dir, "wasi-oz").unwrap();
    let mut m = machine();
    m.eval("var moved = [1, 2, 3]").unwrap();
    let mut r = Machine::restore(&oz, &m.snapshot().unwrap(), Options::default()).unwrap();
    assert_eq!(r.eval("moved.length").unwrap(), json!(3));
    let mut back = Machine::restore(&runtime(), &r.snapshot().unwrap(), Options::default()).unwrap();
    assert_eq!(back.eval("moved[2]").unwrap(), json!(3));
}

#[test]
fn the_lite_variant_lacks_its_features_and_keeps_its_snapshots_apart() {
    let (dir, packaged) = artifacts_dir();
    if packaged && !dir.join("wasi-oz-lite").is_dir() {
        eprintln!("skipped: the packaged crate ships only its embedded variant, not wasi-oz-lite");
        return;
    }
    let lite = Runtime::from_artifacts_dir(&dir, "wasi-oz-lite").unwrap();
    assert_eq!(lite.artifact().lacks, ["regexp-property-escapes", "string-normalize"]);
    assert!(Runtime::from_artifacts_dir(&dir, "wasi-oz").unwrap().artifact().lacks.is_empty());
    let mut m = Machine::new(&lite, Options::default()).unwrap();
    // \p{...} is a SyntaxError (other u patterns and case-insensitive matching still work);
    // normalize() keeps ASCII for every form and Latin-1 for NFC, and throws beyond.
    let source = r#"const r = [];
try { new RegExp("\\p{L}", "u"); r.push("compiled"); } catch (e) { r.push(e.name); }
r.push(/^\w+$/u.test("abc"), /σ/iu.test("Σ"), "ΑΣ".toLowerCase(), "abc".normalize("NFKD"), "é".normalize());
try { "é".normalize("NFD"); r.push("normalized"); } catch (e) { r.push(e.name); }
r"#;
    assert_eq!(m.eval(source).unwrap(), json!(["SyntaxError", true, true, "ας", "abc", "é", "RangeError"]));
    // Lite snapshots move between lite machines, never into a full build, nor the reverse.
    m.eval("var kept = 7").unwrap();
    let lite_snapshot = m.snapshot().unwrap();
    assert_eq!(Machine::restore(&lite, &lite_snapshot, Options::default()).unwrap().eval("kept").unwrap(), json!(7));
    let full_snapshot = machine().snapshot().unwrap();
    for (label, rt, bytes, reason_part) in [
        ("lite into full", runtime(), &lite_snapshot, "written by a build without regexp-property-escapes, string-normalize; this is a full build"),
        ("full into lite", lite.clone(), &full_snapshot, "written by a full build; this is a build without regexp-property-escapes, string-normalize"),
    ] {
        match Machine::restore(&rt, bytes, Options::default()) {
            Err(Error::Snapshot { reason }) => assert!(reason.contains(reason_part), "{label}: reason {reason:?}"),
            other => panic!("{label}: expected a snapshot error, got {other:?}"),
        }
    }
    // The refusals cost nothing: both runtimes still make machines.
    assert_eq!(Machine::new(&lite, Options::default()).unwrap().eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn machines_are_send_and_run_on_other_threads() {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send::<Machine>();
    assert_send_sync::<Runtime>();
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let rt = runtime();
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn(move || Machine::new(&rt, Options::default()).unwrap().eval(&format!("{i} * 10")).unwrap())
                .unwrap()
        })
        .collect();
    let results: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, vec![json!(0), json!(10)]);
}

#[test]
fn default_stacks_allow_deep_recursion_and_end_in_a_catchable_range_error() {
    let mut m = machine();
    m.eval("function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1) } function mapDepth(n) { return n === 0 ? 0 : 1 + [n - 1].map(mapDepth)[0] }").unwrap();
    // plain JS recursion: the JS stack (default 131072 slots)
    assert_eq!(m.eval("depth(10000)").unwrap(), json!(10000));
    // recursion through a built-in: each level is an activation on the C stack
    assert_eq!(m.eval("mapDepth(1000)").unwrap(), json!(1000));
    // past the limits, at many depths in one machine (building the error
    // may collect garbage near the C-stack limit): always a RangeError
    let caught = m
        .eval("var r = []; for (var n of [100000, 50000, 6000, 3000, 1600, 1500, 1400, 1350, 1320, 1310]) { try { mapDepth(n); r.push('ok') } catch (e) { r.push(e instanceof RangeError) } } r.every(function (x) { return x === true || x === 'ok' }) && r[0] === true")
        .unwrap();
    assert_eq!(caught, json!(true));
    assert_eq!(m.eval("try { depth(1e6) } catch (e) { e instanceof RangeError }").unwrap(), json!(true));
    assert_eq!(m.eval("mapDepth(100) + depth(100)").unwrap(), json!(200));
}

/// Chains 100,000 deep through every kind of reference the collector
/// follows survive collections (configs/patches/0016: XS marked what it
/// reaches through array items, Map and Set entries, closures, accessors,
/// private fields... by C recursion, and arrays nested about 5,000 deep
/// stopped the machine with a stack overflow at the next collection).
#[test]
fn nesting_of_any_depth_survives_garbage_collections() {
    const CHAINS: [(&str, &str); 15] = [
        ("array", "a = [a]"),
        ("object", "a = { n: a }"),
        ("map value", "a = new Map([[0, a]])"),
        ("map key", "a = new Map([[a, 0]])"),
        ("set", "a = new Set([a])"),
        ("closure", "a = ((g) => () => g)(a)"),
        ("prototype", "a = Object.create(a)"),
        ("proxy target", "a = new Proxy(a, {})"),
        ("proxy handler", "a = new Proxy({}, a)"),
        ("getter", "{ const p = a; a = { get x() { return p } } }"),
        ("private field", "a = new C(a)"),
        ("weakmap value", "{ const b = {}; w.set(a, b); a = b }"),
        ("bound function", "{ a = Function.prototype.bind.call(f, a); }"),
        ("promise", "a = Promise.resolve([a])"),
        ("error cause", "a = new Error('x', { cause: [a] })"),
    ];
    // building a chain collects many times; churn() makes sure of one more
    // while it is held and one after it is dropped
    let mut m = machine();
    m.eval("function churn() { for (let i = 0, junk = []; i < 300000; i++) junk.push({ i }) }").unwrap();
    for (name, step) in CHAINS {
        let source = format!(
            "{{ class C {{ #x; constructor(v) {{ this.#x = v }} }} const w = new WeakMap(); const f = function () {{}}; let a = {{}}; const first = a; \
             for (let i = 0; i < 100000; i++) {step}; globalThis.kept = [a, first, w]; churn(); kept = null; churn(); 'ok' }}"
        );
        assert_eq!(m.eval(&source).unwrap(), json!("ok"), "{name}");
        assert_eq!(m.eval("1 + 1").unwrap(), json!(2), "{name}: the machine goes on");
    }
    // the values stay intact across collections
    let walked = m
        .eval("var l = []; for (let i = 0; i < 200000; i++) l = [l, i]; churn(); var n = 0, sum = 0; for (let x = l; x.length; x = x[0]) { n++; sum += x[1] } [n, sum]")
        .unwrap();
    assert_eq!(walked, json!([200000, 19_999_900_000u64]));
    // built-ins that recurse still stop at their own limits, with a catchable error
    assert_eq!(m.eval("try { JSON.stringify(l) } catch (e) { e.name }").unwrap(), json!("RangeError"));
    assert_eq!(m.eval("l = null; churn(); 'alive'").unwrap(), json!("alive"));
}

#[test]
fn catastrophic_regexp_backtracking_stops_at_the_meter_limit() {
    let mut m = Machine::new(&runtime(), Options { meter_limit: Some(1_000_000), ..Options::default() }).unwrap();
    assert!(matches!(m.eval("/(a+)+$/.test('a'.repeat(40) + 'b')"), Err(Error::MeterLimit { .. })));
}

#[test]
fn test262_host_hooks_exist_only_when_asked_for() {
    let mut plain = machine();
    assert_eq!(plain.eval("typeof $262 + ' ' + typeof print").unwrap(), json!("undefined undefined"));
    assert_eq!(plain.eval("Promise.reject(new Error('x'))").unwrap_err().to_string(), "Error: x");

    let options = Options { test262_host: true, ..Options::default() };
    let mut m = Machine::new(&runtime(), options).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    m.set_log_handler(move |level, text| sink.lock().unwrap().push((level, text.to_owned())));
    // evalScript runs a Script: its lexical declarations are global ones
    m.eval("$262.evalScript('let shared = 41;')").unwrap();
    m.eval("print(shared + 1, $262.global === globalThis)").unwrap();
    let err = m.eval("$262.evalScript('let shared = 0;')").unwrap_err();
    assert!(matches!(&err, Error::Js { name, .. } if name == "SyntaxError"), "{err}");
    // detachArrayBuffer detaches; gc collects
    m.eval("var b = new ArrayBuffer(8); $262.detachArrayBuffer(b); $262.gc(); var threw = false; try { new Uint8Array(b) } catch (e) { threw = e instanceof TypeError } print(b.byteLength, threw)").unwrap();
    assert!(matches!(m.eval("$262.detachArrayBuffer({})").unwrap_err(), Error::Js { name, .. } if name == "TypeError"));
    // completion values are not reported: a script ending in a rejected promise completes
    assert_eq!(m.eval("Promise.reject(new Error('x')); 1").unwrap(), Value::Null);
    let logged: Vec<_> = lines.lock().unwrap().iter().filter(|(level, _)| *level == LogLevel::Log).map(|(_, t)| t.clone()).collect();
    assert_eq!(logged, ["42 true", "0 true"]);
}
