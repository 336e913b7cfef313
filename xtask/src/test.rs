//! `cargo xtask test`: the project's test suite.
//!
//! 0. checks that the ABI files `cargo xtask codegen` writes are what
//!    `port/xs_wasm.h` gives (`crate::codegen::check`): a stale one fails;
//! 1. brings `artifacts/` up to date (an incremental build: about a second
//!    when nothing changed), since the crate embeds an artifact and the JS
//!    package tests every emscripten variant;
//! 2. the conformance gate on CI's sample: `cargo xtask test262 --variants
//!    wasi-os,emcc-os --sample <ci_sample>` (configs/test262.toml), which
//!    fails when a variant fails a test262 case native XS passes;
//! 3. the library suite's quick mode (`crate::libs::quick_check`): every
//!    job of configs/libraries.toml once on wasi-os and emcc-os, side by
//!    side; fails on a job that docs/libraries.json records as equal to
//!    Node's output there and that no longer is;
//! 4. `cargo test --workspace --features xs-wasm/cli` (unit tests, the `xs-wasm` crate's behaviour
//!    tests, its doctest);
//! 5. the JS package's tests (`npm install` then `npm test` in `js/`:
//!    Node's test runner over every emscripten variant, then headless Chromium).
//!    The cross-build snapshot tests (js/tests/crossbuild.test.mjs) restore
//!    snapshots through the crate's `xs-wasm` CLI: it is built first and
//!    named in `XS_WASM_CLI`, which makes those tests fail, not skip, when
//!    the binary is missing;
//! 6. a short pass of `cargo xtask fuzz` (crate::fuzz::FuzzOptions::short).

use std::ffi::OsStr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{cmd, Cmd, Shell};

use crate::build::{build, BuildOptions};
use crate::progress::Progress;
use crate::test262::{test262, Test262Options};
use crate::workspace::Workspace;

/// Run `command` with its output going to the terminal (as it comes; not
/// echoed: the progress line names it). Errors say `what` failed and how.
fn run(command: Cmd<'_>, what: &str) -> Result<()> {
    command.quiet().run().with_context(|| format!("{what} failed"))
}

/// Run every test suite; the first failing suite is the error.
pub fn test(ws: &Workspace, jobs: usize, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    progress.step("tests: the generated ABI files are what port/xs_wasm.h gives (cargo xtask codegen)");
    crate::codegen::check(repo, &crate::config::Configs::load(repo)?.variants)?;
    build(ws, &BuildOptions { variants: None, jobs, ..BuildOptions::default() }, progress)?;

    let sample = crate::config::Test262Config::load(repo)?.run.ci_sample;
    progress.step(format!("tests: test262, 1 in {sample}, on native XS, wasi-os and emcc-os"));
    let options = Test262Options { variants: Some(vec!["wasi-os".into(), "emcc-os".into()]), sample: Some(sample), jobs, ..Test262Options::default() };
    test262(ws, &options, progress)?;

    progress.step("tests: library suite, quick mode (every job once on wasi-os and emcc-os; fails on a regression)");
    crate::libs::quick_check(ws, progress)?;

    let sh = Shell::new()?;
    sh.change_dir(repo);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    progress.step("tests: cargo test --workspace --features xs-wasm/cli (the CLI and its tests are behind the crate feature `cli`)");
    run(cmd!(sh, "{cargo} test --workspace --locked --features xs-wasm/cli"), "cargo test --workspace --features xs-wasm/cli")?;

    let js = repo.join("js");
    if js.join("package.json").is_file() {
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let install = if js.join("package-lock.json").is_file() { "ci" } else { "install" };
        progress.step("tests: npm install (js/)");
        {
            let _js = sh.push_dir(&js);
            run(cmd!(sh, "{npm} {install} --no-audit --no-fund"), "npm install in js/")?;
        }
        progress.step("tests: cargo build -p xs-wasm --features cli --bin xs-wasm (the CLI the cross-build tests use)");
        let cli = build_cli(&sh, &cargo)?;
        progress.step("tests: npm test (js/)");
        let _js = sh.push_dir(&js);
        run(cmd!(sh, "{npm} test").env("XS_WASM_CLI", &cli), "npm test in js/")?;
    }

    let short = crate::fuzz::FuzzOptions::short();
    progress.step(format!(
        "tests: fuzz, short pass ({} crafted snapshots through the crate, {} through the JS package, {} messages and sources through each)",
        short.snapshots, short.js_snapshots, short.inputs
    ));
    crate::fuzz::fuzz(ws, &short, progress)?;
    Ok(())
}

/// Build the crate's `xs-wasm` CLI (feature `cli`, as `cargo test` built
/// it: usually nothing to do), with `sh` in the repository; its path as
/// cargo reports it.
fn build_cli(sh: &Shell, cargo: &OsStr) -> Result<PathBuf> {
    // stdout (cargo's JSON messages) is read; stderr (the rendered diagnostics) goes to the terminal.
    let output = cmd!(sh, "{cargo} build --locked -p xs-wasm --features cli --bin xs-wasm --message-format=json-render-diagnostics")
        .read()
        .context("cargo build -p xs-wasm --features cli --bin xs-wasm failed")?;
    executable(&output, "xs-wasm").context("cargo build -p xs-wasm --features cli --bin xs-wasm named no executable")
}

/// The executable of binary target `name` in cargo's JSON messages
/// (`--message-format=json`), one per line.
fn executable(messages: &str, name: &str) -> Option<PathBuf> {
    messages.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).find_map(|m| {
        let built = m["reason"] == "compiler-artifact" && m["target"]["name"] == name && m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
        m["executable"].as_str().filter(|_| built).map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_path_comes_from_cargo_s_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"xs_wasm","kind":["lib"]},"executable":null}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"xs-wasm","kind":["bin"]},"executable":"/t/debug/xs-wasm"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(executable(&messages, "xs-wasm"), Some(PathBuf::from("/t/debug/xs-wasm")));
        assert_eq!(executable(&messages, "other"), None);
        assert_eq!(executable(r#"{"reason":"build-finished","success":false}"#, "xs-wasm"), None);
    }
}
