//! The preludes compiled at build time: `port/preludes/*.js` (the web
//! globals and the event loop, JavaScript that runs in every new machine)
//! as XS bytecode in `port/xs_wasm_preludes.h`, so that creating a machine
//! runs them without parsing them (parsing was most of a machine's creation
//! time: 15.6 of 31 ms for web.js alone, wasi-os, 2026-12-07).
//!
//! The native runner (`crate::native`: XS with the port's configuration,
//! built for the host) compiles them (`xs_native_runner --compile`) as
//! `xs_wasm_eval_slot` would (`xs_wasm_compile_text`). XS's bytecode does
//! not depend on the pointer size or on the machine (its property keys are
//! named in the symbols table and numbered when the code runs), so the
//! wasm builds run what the host compiled (also the -lite variants: the
//! switches they drop concern only the regexp and string built-ins, not the
//! parser's output; the preludes use no `\p{...}`). The header records the sha256
//! of what the bytecode depends on (the texts, the patched XS tree, the
//! port's defines and platform files); `cargo xtask build` regenerates it
//! when that changed, before compiling. It is committed: a checkout builds
//! without the native runner until a prelude changes.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::config::Configs;
use crate::progress::Progress;
use crate::workspace::Workspace;

/// The generated header, relative to the repository.
pub const HEADER: &str = "port/xs_wasm_preludes.h";

/// (C name, source relative to the repository), in the header's order.
pub const PRELUDES: [(&str, &str); 2] = [("xs_wasm_web_prelude", "port/preludes/web.js"), ("xs_wasm_loop_prelude", "port/preludes/loop.js")];

/// Files besides the texts whose content the bytecode depends on.
const DEPENDS_ON: [&str; 3] = ["port/xs_wasm_platform.c", "port/xs_wasm_platform.h", "port/xs_wasm_internal.h"];

/// The sha256 of everything the bytecode depends on.
fn inputs_key(repo: &Path, configs: &Configs, tree_sha256: &str) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!("{tree_sha256}|{:?}\n", configs.variants.common.defines));
    for path in PRELUDES.iter().map(|(_, p)| *p).chain(DEPENDS_ON) {
        let bytes = fs::read(repo.join(path)).with_context(|| format!("cannot read {path}"))?;
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// The line of the header that says which inputs its bytecode was made from.
fn key_line(key: &str) -> String {
    format!("/* bytecode of inputs sha256 {key} */")
}

/// Make `port/xs_wasm_preludes.h` hold the bytecode of the current
/// preludes (building the native runner when it is not up to date).
pub fn ensure(ws: &Workspace, configs: &Configs, tree_sha256: &str, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let key = inputs_key(repo, configs, tree_sha256)?;
    let header = repo.join(HEADER);
    let current = fs::read_to_string(&header).ok();
    if current.as_deref().is_some_and(|text| text.contains(&key_line(&key))) {
        return Ok(());
    }
    progress.step(format!("preludes: compile {} with the native runner into {HEADER}", PRELUDES.map(|(_, p)| p).join(" and ")));
    if current.is_none() {
        // the runner compiles xs_wasm.c, which includes the header: the texts will do
        crate::util::write_atomic(&header, render(repo, None)?.as_bytes())?;
    }
    let runner = crate::native::build_runner(ws, configs, progress)?;
    let output = Command::new(&runner)
        .arg("--compile")
        .args(PRELUDES.map(|(_, p)| repo.join(p)))
        .output()
        .with_context(|| format!("running {}", runner.display()))?;
    if !output.status.success() {
        bail!("compiling the preludes failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let compiled = parse_output(&output.stdout)?;
    let text = render(repo, Some((&key, &compiled)))?;
    crate::util::write_atomic(&header, text.as_bytes())?;
    Ok(())
}

/// One compiled prelude: (bytecode, symbols).
type Compiled = (Vec<u8>, Vec<u8>);

/// The runner's output: per prelude, (code, symbols).
fn parse_output(mut bytes: &[u8]) -> Result<Vec<Compiled>> {
    let take = |bytes: &mut &[u8]| -> Result<Vec<u8>> {
        if bytes.len() < 4 {
            bail!("the native runner's --compile output is truncated");
        }
        let n = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
        if bytes.len() < 4 + n {
            bail!("the native runner's --compile output is truncated");
        }
        let out = bytes[4..4 + n].to_vec();
        *bytes = &bytes[4 + n..];
        Ok(out)
    };
    let mut out = Vec::new();
    for _ in PRELUDES {
        let code = take(&mut bytes)?;
        let symbols = take(&mut bytes)?;
        out.push((code, symbols));
    }
    if !bytes.is_empty() {
        bail!("the native runner's --compile output has {} bytes too many", bytes.len());
    }
    Ok(out)
}

/// The header: with `compiled` (inputs key, bytecode per prelude), the
/// bytecode; without, the texts (for the native runner's first build).
fn render(repo: &Path, compiled: Option<(&str, &[Compiled])>) -> Result<String> {
    let mut out = String::new();
    out.push_str("/* Generated by `cargo xtask build` (xtask/src/preludes.rs) from port/preludes/web.js and loop.js:\n   do not edit. XS bytecode of the preludes, compiled by the native runner. */\n");
    if let Some((key, _)) = compiled {
        out.push_str(&key_line(key));
        out.push('\n');
    }
    for (i, (name, path)) in PRELUDES.iter().enumerate() {
        match compiled {
            Some((_, compiled)) => {
                let (code, symbols) = &compiled[i];
                out.push_str(&format!("\n/* {path} */\nstatic const unsigned char {name}_code[{}] = {{\n", code.len()));
                bytes_of(&mut out, code);
                out.push_str(&format!("}};\nstatic const unsigned char {name}_symbols[{}] = {{\n", symbols.len()));
                bytes_of(&mut out, symbols);
                out.push_str(&format!(
                    "}};\nstatic const xs_wasm_prelude {name} = {{ NULL, {name}_code, sizeof({name}_code), {name}_symbols, sizeof({name}_symbols) }};\n"
                ));
            }
            None => {
                let text = fs::read_to_string(repo.join(path)).with_context(|| format!("cannot read {path}"))?;
                out.push_str(&format!("\n/* {path} */\nstatic const char {name}_text[] =\n"));
                for line in text.split_inclusive('\n') {
                    out.push('"');
                    for c in line.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '"' => out.push_str("\\\""),
                            '\n' => out.push_str("\\n"),
                            '\t' => out.push_str("\\t"),
                            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                            c => {
                                let mut buf = [0u8; 4];
                                for b in c.encode_utf8(&mut buf).bytes() {
                                    let _ = write!(out, "\\{b:03o}");
                                }
                            }
                        }
                    }
                    out.push_str("\"\n");
                }
                out.push_str(&format!(";\nstatic const xs_wasm_prelude {name} = {{ {name}_text, NULL, 0, NULL, 0 }};\n"));
            }
        }
    }
    Ok(out)
}

fn bytes_of(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(24) {
        for b in chunk {
            let _ = write!(out, "{b},");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runner_output_is_read_back_and_checked() {
        let mut bytes = Vec::new();
        for (code, symbols) in [(&b"abc"[..], &b"\x01\x00x\x00"[..]), (&b""[..], &b"s"[..])] {
            bytes.extend((code.len() as u32).to_le_bytes());
            bytes.extend(code);
            bytes.extend((symbols.len() as u32).to_le_bytes());
            bytes.extend(symbols);
        }
        let parsed = parse_output(&bytes).unwrap();
        assert_eq!(parsed, vec![(b"abc".to_vec(), b"\x01\x00x\x00".to_vec()), (Vec::new(), b"s".to_vec())]);
        assert!(parse_output(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse_output(&longer).is_err());
    }
}
