//! `cargo xtask test`: the project's test suite.
//!
//! 1. brings `artifacts/` up to date (an incremental build: about a second
//!    when nothing changed), since the crate embeds an artifact and the JS
//!    package tests every emscripten variant;
//! 2. the conformance gate on CI's sample: `cargo xtask test262 --variants
//!    wasi-os,emcc-os --sample <ci_sample>` (configs/test262.toml), which
//!    fails when a variant fails a test262 case native XS passes;
//! 3. `cargo test --workspace` (unit tests, the `xs-wasm` crate's behaviour
//!    tests, its doctest);
//! 4. the JS package's tests (`npm install` then `npm test` in `js/`:
//!    Node's test runner over every emscripten variant, then headless Chromium).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::{build, BuildOptions};
use crate::progress::Progress;
use crate::test262::{test262, Test262Options};

fn run(mut command: Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Run every test suite; the first failing suite is the error.
pub fn test(repo: &Path, jobs: usize, progress: &Progress) -> Result<()> {
    build(repo, &BuildOptions { variants: None, jobs, ..BuildOptions::default() }, progress)?;

    let sample = crate::config::Test262Config::load(repo)?.run.ci_sample;
    progress.step(format!("tests: test262, 1 in {sample}, on native XS, wasi-os and emcc-os"));
    let options = Test262Options { variants: Some(vec!["wasi-os".into(), "emcc-os".into()]), sample: Some(sample), jobs, ..Test262Options::default() };
    test262(repo, &options, progress)?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cargo_test = Command::new(cargo);
    cargo_test.current_dir(repo).args(["test", "--workspace", "--locked"]);
    progress.step("tests: cargo test --workspace");
    run(cargo_test, "cargo test --workspace")?;

    let js = repo.join("js");
    if js.join("package.json").is_file() {
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let mut install = Command::new(npm);
        install.current_dir(&js);
        if js.join("package-lock.json").is_file() {
            install.args(["ci", "--no-audit", "--no-fund"]);
        } else {
            install.args(["install", "--no-audit", "--no-fund"]);
        }
        progress.step("tests: npm install (js/)");
        run(install, "npm install in js/")?;
        let mut npm_test = Command::new(npm);
        npm_test.current_dir(&js).arg("test");
        progress.step("tests: npm test (js/)");
        run(npm_test, "npm test in js/")?;
    }
    Ok(())
}
