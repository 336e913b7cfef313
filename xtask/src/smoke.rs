//! Smoke run and snapshot measurement of one built artifact.
//!
//! Every artifact goes through the same scenario: create a machine, evaluate,
//! exchange a message, throw, snapshot, restore into a fresh machine and check
//! the state survived; then load a real library bundle (acorn), parse a file
//! with it (its own source), snapshot that machine and restore it. WASI
//! artifacts run under wasmtime through the `xs-wasm` crate; emscripten
//! artifacts run under Node through `xtask/smoke/emscripten.cjs`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use xshell::{cmd, Shell};

/// What the smoke run needs to know about one artifact.
#[derive(Debug, Clone)]
pub struct SmokeInput {
    /// `emscripten` or `wasi` (the variant's toolchain).
    pub toolchain: String,
    /// The variant's emscripten form (`cjs`, `single-esm`, `single-cjs`); `None` for WASI.
    pub form: Option<String>,
    /// The artifact's main file: the `.wasm` (WASI) or the JS glue (emscripten).
    pub main_file: PathBuf,
    /// The separate `.wasm` of an emscripten `cjs` variant, if any.
    pub wasm_file: Option<PathBuf>,
    /// The JS library bundle to load (acorn's `dist/acorn.js`).
    pub bundle: PathBuf,
    /// The program parsed with the bundle (acorn's `dist/bin.js`).
    pub parse_input: PathBuf,
    /// `node` to run emscripten artifacts with.
    pub node: PathBuf,
}

impl SmokeInput {
    /// The input for `variant`'s files in `dir` (its staging directory, or
    /// `artifacts/<variant>`), with the smoke bundle `files` and `node`.
    pub fn for_variant(variant: &crate::config::Variant, dir: &Path, files: &crate::fetch::SmokeFiles, node: &Path) -> SmokeInput {
        let main = variant.form.map_or(xs_wasm::WASI_MODULE_FILE, |form| form.js_file());
        SmokeInput {
            toolchain: variant.toolchain.to_string(),
            form: variant.form.map(|f| f.as_str().to_owned()),
            main_file: dir.join(main),
            wasm_file: (variant.form == Some(crate::config::Form::Cjs)).then(|| dir.join(xs_wasm::WASI_MODULE_FILE)),
            bundle: files.bundle.clone(),
            parse_input: files.parse_input.clone(),
            node: node.to_owned(),
        }
    }
}

/// What the smoke run measured. Sizes in bytes; deterministic for the same artifact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmokeReport {
    /// Snapshot (xs-wasm header + XS payload) of a freshly created machine.
    pub empty_snapshot_bytes: u64,
    /// Snapshot of a machine that loaded the bundle and parsed a file with it.
    pub bundle_snapshot_bytes: u64,
    /// Human-readable checks that passed, in order (for the log).
    pub checks: Vec<String>,
}

/// Create a machine, evaluate, snapshot, restore into a fresh machine, check
/// the state survived; load the bundle, parse a file with it, snapshot that.
/// Errors name the artifact and the check that failed.
pub fn run(input: &SmokeInput) -> Result<SmokeReport> {
    match input.toolchain.as_str() {
        "wasi" => run_wasi(&input.main_file, &input.bundle, &input.parse_input).with_context(|| format!("smoke run of {}", input.main_file.display())),
        "emscripten" => run_emscripten(input).with_context(|| format!("smoke run of {}", input.main_file.display())),
        other => bail!("unknown toolchain {other:?}"),
    }
}

fn run_emscripten(input: &SmokeInput) -> Result<SmokeReport> {
    let script = crate::util::xtask_dir().join("smoke/emscripten.cjs");
    let form = input.form.as_deref().unwrap_or("cjs");
    let wasm = input.wasm_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".to_owned());
    let sh = Shell::new()?;
    let SmokeInput { node, main_file, bundle, parse_input, .. } = input;
    let output = cmd!(sh, "{node} {script} {form} {main_file} {wasm} {bundle} {parse_input}")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("running {} {}", node.display(), script.display()))?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("parsing the smoke script's report {line:?}"))
}

fn expect(checks: &mut Vec<String>, label: &str, actual: Value, expected: Value) -> Result<()> {
    if actual != expected {
        bail!("{label}: expected {expected}, got {actual}");
    }
    checks.push(label.to_owned());
    Ok(())
}

/// `source` with every non-ASCII UTF-16 unit written as a `\uXXXX` escape (an
/// equivalent program where they stand in comments and strings), so the
/// parsed text is ASCII on every variant. `xtask/smoke/emscripten.cjs` does the same.
pub fn ascii_escaped(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn run_wasi(module: &Path, bundle: &Path, parse_input: &Path) -> Result<SmokeReport> {
    use xs_wasm::{ArtifactInfo, Error, Machine, Options, Runtime};
    let bytes = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    // The artifact was just built: vouch for it with its own hash.
    let runtime = Runtime::from_bytes(&bytes, &ArtifactInfo::new("smoke", xs_wasm::sha256_hex(&bytes)))?;
    let mut checks = Vec::new();

    let mut empty = Machine::new(&runtime, Options::default())?;
    let empty_snapshot = empty.snapshot()?;

    let mut a = Machine::new(&runtime, Options::default())?;
    a.set_message_handler(|msg| Ok(json!({ "echo": msg })));
    expect(&mut checks, "eval 1+1", a.eval("1 + 1")?, json!(2))?;
    a.eval("var state = { n: 40 }; globalThis.receiveMessage = (m) => (state.n += m.add, sendMessage(state).echo.n)")?;
    expect(&mut checks, "message round trip", a.send(&json!({ "add": 2 }))?, json!(42))?;
    match a.eval("null.x") {
        Err(Error::Js { name, .. }) if name == "TypeError" => checks.push("exception".to_owned()),
        other => bail!("exception: expected a TypeError, got {other:?}"),
    }
    let mut restored = Machine::restore(&runtime, &a.snapshot()?, Options::default())?;
    restored.set_message_handler(|msg| Ok(json!({ "echo": msg })));
    expect(&mut checks, "state survives snapshot/restore", restored.eval("state.n")?, json!(42))?;
    expect(&mut checks, "messages after restore", restored.send(&json!({ "add": 1 }))?, json!(43))?;

    let source = std::fs::read_to_string(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let mut b = Machine::new(&runtime, Options::default())?;
    b.eval(&source)?;
    b.eval("globalThis.receiveMessage = (m) => { const ast = acorn.parse(m.source, { ecmaVersion: \"latest\" }); globalThis.parsed = ast.body.length; return parsed; }")?;
    let input = std::fs::read_to_string(parse_input).with_context(|| format!("reading {}", parse_input.display()))?;
    let statements = b.send(&json!({ "source": ascii_escaped(&input) }))?;
    if statements.as_u64().unwrap_or(0) == 0 {
        bail!("acorn parsed {statements} statements");
    }
    let name = parse_input.file_name().unwrap_or_default().to_string_lossy();
    checks.push(format!("acorn parsed {name} ({statements} top-level statements)"));
    let bundle_snapshot = b.snapshot()?;
    let mut b2 = Machine::restore(&runtime, &bundle_snapshot, Options::default())?;
    expect(&mut checks, "bundle state survives restore", b2.eval("parsed")?, statements)?;
    expect(&mut checks, "bundle works after restore", b2.eval("acorn.parse(\"let x = 1; x + 1\", { ecmaVersion: \"latest\" }).body.length")?, json!(2))?;

    Ok(SmokeReport { empty_snapshot_bytes: empty_snapshot.len() as u64, bundle_snapshot_bytes: bundle_snapshot.len() as u64, checks })
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_ascii_characters_become_utf16_escapes() {
        assert_eq!(super::ascii_escaped("a—b"), "a\\u2014b");
        assert_eq!(super::ascii_escaped("x😀"), "x\\ud83d\\ude00");
        assert_eq!(super::ascii_escaped("plain"), "plain");
    }
}
