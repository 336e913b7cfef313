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
