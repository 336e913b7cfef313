//! The `xs-wasm` command-line runner, as a user runs it.

use std::process::Command;

fn xs_wasm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xs-wasm")).args(args).output().expect("run xs-wasm");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).trim().to_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const DEPTH: &str = "var depth = 0; function f() { depth++; f(); } try { f() } catch (e) { } depth";

#[test]
fn creation_flags_size_the_js_stack() {
    let (code, default_depth, err) = xs_wasm(&["eval", DEPTH]);
    assert_eq!(code, 0, "{err}");
    let (code, small_depth, err) = xs_wasm(&["eval", DEPTH, "--stack-count", "1024"]);
    assert_eq!(code, 0, "{err}");
    let (code, large_depth, err) = xs_wasm(&["eval", DEPTH, "--stack-count", "524288"]);
    assert_eq!(code, 0, "{err}");
    let (small, default, large): (u32, u32, u32) = (small_depth.parse().unwrap(), default_depth.parse().unwrap(), large_depth.parse().unwrap());
    assert!(small < default && default < large, "depths {small} < {default} < {large}");
    assert!(default > 10_000, "the default JS stack allows 10,000 levels: {default}");
    assert!(large > 40_000, "524,288 slots allow tens of thousands of levels: {large}");
}

#[test]
fn a_bad_creation_flag_is_a_usage_error() {
    let (code, _, err) = xs_wasm(&["eval", "1", "--stack-count", "lots"]);
    assert_eq!(code, 3);
    assert!(err.contains("--stack-count"), "{err}");
}

#[test]
fn preinit_makes_a_module_whose_machines_start_after_the_setup_code() {
    let dir = std::env::temp_dir().join(format!("xs-wasm-cli-preinit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let setup = dir.join("setup.js");
    std::fs::write(&setup, "globalThis.greeting = 'hello'; function greet(name) { return greeting + ', ' + name; }").unwrap();
    let module = dir.join("app.wasm");
    let (code, out, err) = xs_wasm(&["preinit", setup.to_str().unwrap(), "-o", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let bytes = std::fs::read(&module).unwrap();
    assert_eq!(report["bytes"], bytes.len());
    assert_eq!(report["sha256"], xs_wasm::sha256_hex(&bytes));
    let (code, out, err) = xs_wasm(&["--module", module.to_str().unwrap(), "eval", "greet('xs')"]);
    assert_eq!((code, out.as_str()), (0, "\"hello, xs\""), "{err}");
    // A changed byte in the module's memory image: refused, exit 3.
    let mut tampered = bytes.clone();
    let at = bytes.len() / 2;
    tampered[at] ^= 0x01;
    std::fs::write(&module, &tampered).unwrap();
    let (code, _, err) = xs_wasm(&["--module", module.to_str().unwrap(), "eval", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("incompatible") || err.contains("not a wasm module"), "{err}");
    // Setup code that throws: exit 1, no module written.
    std::fs::write(&setup, "throw new RangeError('bad setup')").unwrap();
    let other = dir.join("other.wasm");
    let (code, _, err) = xs_wasm(&["preinit", setup.to_str().unwrap(), "-o", other.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("RangeError: bad setup"), "{err}");
    assert!(!other.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lockdown_and_no_web_globals_flags() {
    let (code, out, err) = xs_wasm(&["--lockdown", "eval", "[Object.isFrozen(Array.prototype), typeof TextEncoder]"]);
    assert_eq!((code, out.as_str()), (0, "[true,\"function\"]"), "{err}");
    let (code, out, err) = xs_wasm(&["--no-web-globals", "eval", "[Object.isFrozen(Array.prototype), typeof TextEncoder, typeof harden]"]);
    assert_eq!((code, out.as_str()), (0, "[false,\"undefined\",\"function\"]"), "{err}");
    let (code, out, err) = xs_wasm(&["eval", "lockdown(); lockdown()"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.starts_with("TypeError: lockdown already called"), "{err}");
}

#[test]
fn preinit_lockdown_makes_a_module_whose_machines_start_locked() {
    let dir = std::env::temp_dir().join(format!("xs-wasm-cli-preinit-lockdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let setup = dir.join("setup.js");
    // The setup may lock down itself, or leave it to --lockdown.
    std::fs::write(&setup, "globalThis.limits = harden({ depth: 3 });").unwrap();
    let module = dir.join("locked.wasm");
    let (code, _, err) = xs_wasm(&["--lockdown", "preinit", setup.to_str().unwrap(), "-o", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = xs_wasm(&["--module", module.to_str().unwrap(), "eval", "[Object.isFrozen(Object.prototype), Object.isFrozen(limits), limits.depth]"]);
    assert_eq!((code, out.as_str()), (0, "[true,true,3]"), "{err}");
    std::fs::write(&setup, "lockdown();").unwrap();
    let (code, _, err) = xs_wasm(&["--lockdown", "preinit", setup.to_str().unwrap(), "-o", module.to_str().unwrap()]);
    assert_eq!(code, 0, "a setup that locks down itself: {err}");
    let (code, out, err) = xs_wasm(&["--module", module.to_str().unwrap(), "--lockdown", "eval", "Object.isFrozen(Object.prototype)"]);
    assert_eq!((code, out.as_str()), (0, "true"), "{err}");
    let (code, _, err) = xs_wasm(&["--no-web-globals", "preinit", setup.to_str().unwrap(), "-o", module.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("--no-web-globals"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_fires_the_scripts_timers_before_it_exits() {
    let (code, out, err) = xs_wasm(&["eval", "setTimeout(() => console.log('fired at', Date.now()), 50); 'set'"]);
    assert_eq!((code, out.as_str()), (0, "\"set\""), "{err}");
    assert!(err.contains("fired at 50"), "{err}");
    // `run`: a promise completion's value once the timer settled it
    let dir = std::env::temp_dir().join(format!("xs-wasm-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("later.js");
    std::fs::write(&script, "new Promise((resolve) => setTimeout(() => resolve(Date.now()), 30))").unwrap();
    let (code, out, err) = xs_wasm(&["run", script.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, "30"), "{err}");
    // `eval`: the value at once (a pending promise is an empty object, as Machine::eval gives it)
    let (code, out, err) = xs_wasm(&["eval", "new Promise((resolve) => setTimeout(() => resolve(Date.now()), 30))"]);
    assert_eq!((code, out.as_str()), (0, "{}"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    let (code, _, err) = xs_wasm(&["eval", "setTimeout(() => { throw new RangeError('late') }, 1)"]);
    assert_eq!(code, 1);
    assert!(err.contains("RangeError: late"), "{err}");
}

#[test]
fn run_gives_the_example_its_host_files() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let greeting = format!("greeting={}", fixtures.join("async-greeting.txt").display());
    let numbers = format!("numbers={}", fixtures.join("async-numbers.bin").display());
    let script = fixtures.join("async-example.js");
    let (code, out, err) = xs_wasm(&["--host-file", &greeting, "--host-file", &numbers, "run", script.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bytes: Vec<u8> = serde_json::from_str(&out).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), "hello from the host; sum 15; tick 10, tick 20; at 25");
    // a file the host cannot read: a rejection with the reason, exit 1
    let (code, _, err) = xs_wasm(&["--host-file", "greeting=/nonexistent/file", "--host-file", &numbers, "run", script.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/file"), "{err}");
}
