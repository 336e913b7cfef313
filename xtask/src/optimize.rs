//! The release wasm-opt pass (binaryen's Node-run `wasm-opt`), including the
//! wasm inlined as base64 in emscripten's single-file JS.
//!
//! The `wasm-opt` crate (binaryen 116) cannot read the exnref
//! exception-handling form the WASI variants use, so the pass runs the npm
//! package's newer binaryen instead (see shared/TOOLCHAINS.md).

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::toolchain::Binaryen;
use crate::util::{base64_decode, base64_encode, run_captured, sanitized};

/// The data-URI prefix emscripten puts before an inlined wasm (SINGLE_FILE).
pub const DATA_URI_PREFIX: &str = "data:application/octet-stream;base64,";

/// `wasm-opt <input> <flags...> -o <output>`, flags being the feature flags
/// then the level. Errors show wasm-opt's output.
pub fn wasm_opt(binaryen: &Binaryen, input: &Path, output: &Path, flags: &[String], env: &[(OsString, OsString)]) -> Result<()> {
    let sh = Shell::new()?;
    crate::util::apply_env(&sh, env);
    let (node, entry) = (&binaryen.node, &binaryen.wasm_opt);
    run_captured(sanitized(cmd!(sh, "{node} {entry} {input} {flags...} -o {output}")), &format!("optimizing {} with wasm-opt", input.display()))?;
    Ok(())
}

/// A wasm module inlined in JS text as a base64 data URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineWasm {
    /// Byte offset of the first base64 character in the JS.
    pub start: usize,
    /// Byte offset just past the last base64 character.
    pub end: usize,
    /// The decoded module.
    pub wasm: Vec<u8>,
}

/// Find the one inlined wasm in emscripten single-file JS. Errors when there
/// is none, more than one, or it does not decode to a wasm module.
pub fn find_inline_wasm(js: &str) -> Result<InlineWasm> {
    // The glue also holds the bare prefix (`var dataURIPrefix="data:...;base64,"`):
    // only a data URI whose payload starts like a wasm module ("\0asm" is "AGFzbQ") counts.
    let mut found = js.match_indices(DATA_URI_PREFIX).map(|(at, _)| at + DATA_URI_PREFIX.len()).filter(|&start| js[start..].starts_with("AGFzbQ"));
    let start = found.next().with_context(|| format!("no inlined wasm ({DATA_URI_PREFIX}AGFzbQ...) in the JS: is this a SINGLE_FILE build?"))?;
    if found.next().is_some() {
        bail!("more than one inlined wasm module ({DATA_URI_PREFIX}AGFzbQ...) in the JS; cannot tell which is the module");
    }
    let len = js[start..].bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')).count();
    let end = start + len;
    let wasm = base64_decode(&js[start..end]).context("the inlined wasm is not valid base64")?;
    if !wasm.starts_with(b"\0asm\x01\0\0\0") {
        bail!("the inlined data URI is not a wasm (version 1) module");
    }
    Ok(InlineWasm { start, end, wasm })
}

/// The JS with the inlined module replaced by `wasm` (same position).
pub fn replace_inline_wasm(js: &str, inline: &InlineWasm, wasm: &[u8]) -> String {
    let encoded = base64_encode(wasm);
    let mut out = String::with_capacity(js.len() - (inline.end - inline.start) + encoded.len());
    out.push_str(&js[..inline.start]);
    out.push_str(&encoded);
    out.push_str(&js[inline.end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_wasm_extract_and_reembed_roundtrip() {
        let wasm = b"\0asm\x01\0\0\0 some module bytes \xff\xfe".to_vec();
        let js = format!(
            "var dataURIPrefix=\"{DATA_URI_PREFIX}\";var a=1;var wasmBinaryFile=\"{DATA_URI_PREFIX}{}\";if(!isDataURI(wasmBinaryFile)){{}}",
            base64_encode(&wasm)
        );
        let inline = find_inline_wasm(&js).unwrap();
        assert_eq!(inline.wasm, wasm);
        assert_eq!(replace_inline_wasm(&js, &inline, &inline.wasm), js, "re-embedding the same module gives the same JS");
        let smaller = b"\0asm\x01\0\0\0".to_vec();
        let out = replace_inline_wasm(&js, &inline, &smaller);
        assert!(out.contains(";var a=1;var wasmBinaryFile=\"data:"));
        assert!(out.ends_with("\";if(!isDataURI(wasmBinaryFile)){}"));
        assert_eq!(find_inline_wasm(&out).unwrap().wasm, smaller);
    }

    #[test]
    fn js_without_or_with_two_inline_modules_is_refused() {
        assert!(find_inline_wasm("var wasmBinaryFile='xs-wasm.wasm'").unwrap_err().to_string().contains("SINGLE_FILE"));
        let one = format!("{DATA_URI_PREFIX}{}", base64_encode(b"\0asm\x01\0\0\0"));
        assert!(find_inline_wasm(&format!("{one};{one}")).is_err());
        let not_wasm = format!("'{DATA_URI_PREFIX}{}'", base64_encode(b"hello"));
        assert!(find_inline_wasm(&not_wasm).is_err());
        let truncated = format!("'{DATA_URI_PREFIX}AGFzbQ!'");
        assert!(find_inline_wasm(&truncated).is_err());
    }
}
