//! `crates/xs-wasm/src/abi.rs` from the header.

use std::fmt::Write;

use super::header::{Constant, Field, Function, Header, WasmType};
use super::HOST_FIELDS;

/// A header comment as rustdoc text (`<` and `>` escaped: rustdoc would read HTML).
fn doc(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}

fn wasm_type(t: WasmType) -> &'static str {
    match t {
        WasmType::I32 => "i32",
        WasmType::U32 => "u32",
        WasmType::F64 => "f64",
    }
}

/// The wasmtime parameter type of `f`: `()`, `T` or `(T, U, ...)`.
fn params(f: &Function) -> String {
    match f.params.as_slice() {
        [one] => wasm_type(*one).to_owned(),
        many => format!("({})", many.iter().map(|t| wasm_type(*t)).collect::<Vec<_>>().join(", ")),
    }
}

fn constants(out: &mut String, items: &[Constant], ty: &str) {
    for c in items {
        let _ = writeln!(out, "/// `{}`{}{}", c.name, if c.doc.is_empty() { "" } else { ": " }, doc(&c.doc));
        let _ = writeln!(out, "pub const {}: {ty} = {};", c.name, c.value);
    }
}

fn creation_struct(out: &mut String, h: &Header, xs: &[&Field]) {
    let _ = writeln!(out, "/// XS creation parameters: `xs_wasm_creation` without the fields the");
    let _ = writeln!(out, "/// loader fills from [`Options`](crate::Options) ({}).", HOST_FIELDS.map(|f| format!("`{f}`")).join(", "));
    let _ = writeln!(out, "/// From the header: {}", doc(&h.creation_doc));
    let _ = writeln!(out, "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]");
    let _ = writeln!(out, "pub struct Creation {{");
    for f in xs {
        let _ = writeln!(out, "    /// `{}`: {}", f.name, doc(&f.doc));
        let _ = writeln!(out, "    pub {}: u32,", f.name);
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "/// Fields of [`Creation`].");
    let _ = writeln!(out, "pub const CREATION_FIELDS: usize = {};\n", xs.len());
    let names = xs.iter().map(|f| format!("\"{}\"", f.name)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "/// The names of [`Creation`]'s fields, in `xs_wasm_creation` order.");
    let _ = writeln!(out, "pub const CREATION_FIELD_NAMES: [&str; CREATION_FIELDS] = [{names}];\n");
    let size = h.creation.last().map_or(0, |f| f.offset + 4);
    let _ = writeln!(out, "/// Bytes of `xs_wasm_creation`.");
    let _ = writeln!(out, "pub const CREATION_SIZE: usize = {size};\n");
}

fn creation_impl(out: &mut String, h: &Header, xs: &[&Field]) {
    let _ = writeln!(out, "impl Creation {{");
    let _ = writeln!(out, "    /// The fields, in `xs_wasm_creation` order.");
    let _ = writeln!(out, "    pub(crate) fn fields(&self) -> [u32; CREATION_FIELDS] {{");
    let _ = writeln!(out, "        [{}]", xs.iter().map(|f| format!("self.{}", f.name)).collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "    }}\n");
    let host: Vec<&Field> = h.creation.iter().filter(|f| HOST_FIELDS.contains(&f.name.as_str())).collect();
    let _ = writeln!(out, "    /// `xs_wasm_creation` as the guest reads it (little-endian; `int32_t` fields capped at `i32::MAX`).");
    let args = host.iter().map(|f| format!("{}: u32", f.name)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "    pub(crate) fn to_bytes(self, {args}) -> [u8; CREATION_SIZE] {{");
    let _ = writeln!(out, "        let mut bytes = [0u8; CREATION_SIZE];");
    for f in &h.creation {
        let value = if host.iter().any(|h| h.name == f.name) { f.name.clone() } else { format!("self.{}", f.name) };
        let value = if f.signed { format!("{value}.min(i32::MAX as u32)") } else { value };
        let _ = writeln!(out, "        bytes[{}..{}].copy_from_slice(&{value}.to_le_bytes());", f.offset, f.offset + 4);
    }
    let _ = writeln!(out, "        bytes\n    }}\n}}\n");
}

fn exports(out: &mut String, h: &Header) {
    let _ = writeln!(out, "/// An export of the port: its name, and its wasm signature as the types");
    let _ = writeln!(out, "/// of a `wasmtime::TypedFunc<P, R>`.");
    let _ = writeln!(out, "pub struct Export<P, R> {{\n    /// The export's name.\n    pub name: &'static str,\n    signature: PhantomData<fn(P) -> R>,\n}}\n");
    let _ = writeln!(out, "impl<P, R> Export<P, R> {{\n    pub(crate) const fn new(name: &'static str) -> Self {{\n        Export {{ name, signature: PhantomData }}\n    }}\n}}\n");
    let _ = writeln!(out, "/// The functions `port/xs_wasm.h` declares, each an export of every artifact.");
    let _ = writeln!(out, "pub mod export {{\n    use super::Export;\n");
    for f in &h.exports {
        let result = f.result.map_or("()", wasm_type);
        let _ = writeln!(out, "    /// `{}`", doc(&f.prototype));
        let _ = writeln!(out, "    pub const {}: Export<{}, {result}> = Export::new(\"{}\");", f.name.trim_start_matches("xs_wasm_").to_ascii_uppercase(), params(f), f.name);
    }
    let names = h.exports.iter().map(|f| format!("\"{}\"", f.name)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "\n    /// Every export's name, in the header's order.\n    pub const ALL: [&str; {}] = [{names}];\n}}", h.exports.len());
}

/// The text of `abi.rs`.
pub fn render(h: &Header) -> String {
    let mut out = String::new();
    out.push_str("//! The port ABI (`port/xs_wasm.h`): the constants, the creation struct\n");
    out.push_str("//! and the exports every artifact has, for hosts that call an artifact's\n");
    out.push_str("//! exports themselves. [`Machine`](crate::Machine) is built on it.\n//!\n");
    out.push_str("//! Generated from the header by `cargo xtask codegen`: do not edit.\n");
    out.push_str("//! `cargo xtask test` fails when this file is not what the header gives.\n\n");
    out.push_str("use std::marker::PhantomData;\n\n");
    let _ = writeln!(out, "/// The port ABI version this crate speaks (`XS_WASM_ABI_VERSION`).\npub const ABI_VERSION: u32 = {};\n", h.abi_version);
    let _ = writeln!(out, "/// `XS_WASM_SNAPSHOT_FORMAT`.\npub const SNAPSHOT_FORMAT: u32 = {};\n", h.snapshot_format);
    let _ = writeln!(out, "/// `XS_WASM_SNAPSHOT_HEADER_SIZE`, bytes.\npub const SNAPSHOT_HEADER_SIZE: usize = {};\n", h.snapshot_header_size);
    out.push_str("// xs_wasm_status\n");
    constants(&mut out, &h.statuses, "i32");
    out.push_str("\n// xs_wasm_creation.flags\n");
    constants(&mut out, &h.create_flags, "u32");
    out.push_str("\n// Module kinds (host_load's kind)\n");
    constants(&mut out, &h.module_kinds, "i32");
    out.push_str("\n// Engine features a build can lack (xs_wasm_lacks)\n");
    constants(&mut out, &h.lacks, "u32");
    let lacks = h.lacks.iter().map(|c| format!("({}, \"{}\")", c.name, Header::lacks_name(c))).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "/// Each `XS_WASM_LACKS_*` bit and its name in the manifest's `lacks`.\npub const LACKS: [(u32, &str); {}] = [{lacks}];\n", h.lacks.len());
    let xs: Vec<&Field> = h.creation.iter().filter(|f| !HOST_FIELDS.contains(&f.name.as_str())).collect();
    creation_struct(&mut out, h, &xs);
    creation_impl(&mut out, h, &xs);
    exports(&mut out, h);
    out
}
