//! The release wasm-opt pass (binaryen's Node-run `wasm-opt`), including the
//! wasm inlined as base64 in emscripten's single-file JS, and the gzip form
//! of that inlined wasm ([`compress_inline_wasm`]).
//!
//! The `wasm-opt` crate (binaryen 116) cannot read the exnref
//! exception-handling form the WASI variants use, so the pass runs the npm
//! package's newer binaryen instead (README, "The two commands").

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

/// How a single-file JS holds its wasm: the base64 of the module
/// (emscripten's SINGLE_FILE), or the base64 of its gzip (what
/// [`compress_inline_wasm`] makes, with glue that inflates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineEncoding {
    /// base64 of the module ("\0asm" encodes as "AGFzbQ").
    Base64,
    /// base64 of a gzip member holding the module (1f 8b 08 encodes as "H4sI").
    GzipBase64,
}

/// A wasm module inlined in JS text as a base64 data URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineWasm {
    /// Byte offset of the first base64 character in the JS.
    pub start: usize,
    /// Byte offset just past the last base64 character.
    pub end: usize,
    /// The decoded (and, for [`InlineEncoding::GzipBase64`], inflated) module.
    pub wasm: Vec<u8>,
    /// How the payload is encoded.
    pub encoding: InlineEncoding,
}

/// Find the one inlined wasm in emscripten single-file JS, in either
/// [`InlineEncoding`]. Errors when there is none, more than one, or it does
/// not decode to a wasm module.
pub fn find_inline_wasm(js: &str) -> Result<InlineWasm> {
    // The glue also holds the bare prefix (`var dataURIPrefix="data:...;base64,"`):
    // only a data URI whose payload starts like a wasm module or a gzip member counts.
    let encoding_at = |start: usize| {
        if js[start..].starts_with("AGFzbQ") {
            Some(InlineEncoding::Base64)
        } else if js[start..].starts_with("H4sI") {
            Some(InlineEncoding::GzipBase64)
        } else {
            None
        }
    };
    let mut found = js.match_indices(DATA_URI_PREFIX).map(|(at, _)| at + DATA_URI_PREFIX.len()).filter_map(|start| Some((start, encoding_at(start)?)));
    let (start, encoding) = found.next().with_context(|| format!("no inlined wasm ({DATA_URI_PREFIX}AGFzbQ... or H4sI...) in the JS: is this a SINGLE_FILE build?"))?;
    if found.next().is_some() {
        bail!("more than one inlined wasm module ({DATA_URI_PREFIX}...) in the JS; cannot tell which is the module");
    }
    let len = js[start..].bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')).count();
    let end = start + len;
    let payload = base64_decode(&js[start..end]).context("the inlined wasm is not valid base64")?;
    let wasm = match encoding {
        InlineEncoding::Base64 => payload,
        InlineEncoding::GzipBase64 => {
            let mut wasm = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&payload[..]), &mut wasm).context("the inlined wasm is not a valid gzip member")?;
            wasm
        }
    };
    if !wasm.starts_with(b"\0asm\x01\0\0\0") {
        bail!("the inlined data URI is not a wasm (version 1) module");
    }
    Ok(InlineWasm { start, end, wasm, encoding })
}

/// `wasm` as one gzip member, deterministic (no name, mtime 0, OS "unknown"),
/// compression level 9.
pub fn gzip(wasm: &[u8]) -> Vec<u8> {
    let mut gz = flate2::GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, wasm).expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// The JS with the inlined module replaced by `wasm` (same position, same encoding).
pub fn replace_inline_wasm(js: &str, inline: &InlineWasm, wasm: &[u8]) -> String {
    let encoded = match inline.encoding {
        InlineEncoding::Base64 => base64_encode(wasm),
        InlineEncoding::GzipBase64 => base64_encode(&gzip(wasm)),
    };
    let mut out = String::with_capacity(js.len() - (inline.end - inline.start) + encoded.len());
    out.push_str(&js[..inline.start]);
    out.push_str(&encoded);
    out.push_str(&js[inline.end..]);
    out
}

/// The glue function emscripten 3.1.6 gets the module's bytes through
/// before `WebAssembly.instantiate` (from the data URI, with `fetch` in a
/// browser, decoded from base64 elsewhere).
const GET_BINARY_PROMISE: &str = "function getBinaryPromise(){";

/// What replaces [`GET_BINARY_PROMISE`]: the same function under another
/// name, called by a `getBinaryPromise` that inflates what it returns with
/// the platform's `DecompressionStream` (browsers since 2023, Node 18+, Deno).
const INFLATING_GET_BINARY_PROMISE: &str = "function getBinaryPromise(){return xsWasmInlineBinary().then(xsWasmInflate)}\
function xsWasmInflate(bytes){var inflated=new Blob([bytes]).stream().pipeThrough(new DecompressionStream(\"gzip\"));\
return new Response(inflated).arrayBuffer().then(function(buffer){return new Uint8Array(buffer)})}\
function xsWasmInlineBinary(){";

/// Single-file JS whose inlined module is stored gzip-compressed: the
/// payload of the data URI becomes the base64 of the module's gzip
/// ([`gzip`]), and the glue inflates it before instantiating (see
/// [`INFLATING_GET_BINARY_PROMISE`]). About a third of the base64 form's
/// size for XS. Loaders that compile the inlined module themselves (the JS
/// package's Node loader, [`find_inline_wasm`]) read both forms.
///
/// Errors: no inlined module in the base64 form, or not exactly one
/// `function getBinaryPromise(){` in the glue (another emscripten version:
/// this function must learn its glue).
pub fn compress_inline_wasm(js: &str) -> Result<String> {
    let inline = find_inline_wasm(js)?;
    if inline.encoding != InlineEncoding::Base64 {
        bail!("the inlined wasm is already compressed");
    }
    let hooks = js.matches(GET_BINARY_PROMISE).count();
    if hooks != 1 {
        bail!("the glue has {hooks} `{GET_BINARY_PROMISE}` (expected exactly 1, as emscripten 3.1.6 writes it): cannot make it inflate the module");
    }
    let compressed = InlineWasm { encoding: InlineEncoding::GzipBase64, ..inline.clone() };
    let js = replace_inline_wasm(js, &compressed, &inline.wasm);
    Ok(js.replacen(GET_BINARY_PROMISE, INFLATING_GET_BINARY_PROMISE, 1))
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
        let not_gzip = format!("'{DATA_URI_PREFIX}H4sIAAAA'");
        assert!(format!("{:#}", find_inline_wasm(&not_gzip).unwrap_err()).contains("gzip"));
    }

    fn glue(wasm: &[u8]) -> String {
        format!(
            "var dataURIPrefix=\"{DATA_URI_PREFIX}\";var wasmBinaryFile=\"{DATA_URI_PREFIX}{}\";\
             function getBinaryPromise(){{return Promise.resolve().then(function(){{return getBinary(wasmBinaryFile)}})}}",
            base64_encode(wasm)
        )
    }

    #[test]
    fn compressed_inline_wasm_is_smaller_and_reads_back_the_same() {
        let wasm: Vec<u8> = b"\0asm\x01\0\0\0".iter().copied().chain((0..4000u32).flat_map(|i| (i % 97).to_le_bytes())).collect();
        let js = glue(&wasm);
        let out = compress_inline_wasm(&js).unwrap();
        assert!(out.len() < js.len() / 3, "{} -> {}", js.len(), out.len());
        let inline = find_inline_wasm(&out).unwrap();
        assert_eq!((inline.encoding, &inline.wasm), (InlineEncoding::GzipBase64, &wasm));
        assert!(out.contains("function getBinaryPromise(){return xsWasmInlineBinary().then(xsWasmInflate)}"), "{out}");
        assert!(out.contains("function xsWasmInlineBinary(){return Promise.resolve()"), "{out}");
        // Same input, same bytes; re-embedding keeps the gzip form.
        assert_eq!(compress_inline_wasm(&js).unwrap(), out);
        let smaller = b"\0asm\x01\0\0\0".to_vec();
        let again = find_inline_wasm(&replace_inline_wasm(&out, &inline, &smaller)).unwrap();
        assert_eq!((again.encoding, again.wasm), (InlineEncoding::GzipBase64, smaller));
        assert!(compress_inline_wasm(&out).unwrap_err().to_string().contains("already compressed"));
    }

    #[test]
    fn glue_without_the_hook_is_refused() {
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let js = glue(&wasm).replace("function getBinaryPromise(){", "function getBinaryPromise2(){");
        assert!(compress_inline_wasm(&js).unwrap_err().to_string().contains("expected exactly 1"));
    }
}
