//! `js/src/abi.mjs` from the header.

use std::fmt::Write;

use super::header::{Constant, Header};
use super::{camel, HOST_FIELDS};

/// `{ NAME: value, ... }` of `items` with `prefix` taken off their names, each with its comment.
fn table(out: &mut String, name: &str, what: &str, items: &[Constant], prefix: &str) {
    let _ = writeln!(out, "/** {what} */\nexport const {name} = Object.freeze({{");
    for c in items {
        if !c.doc.is_empty() {
            let _ = writeln!(out, "  /** {} */", c.doc);
        }
        let _ = writeln!(out, "  {}: {},", c.name.trim_start_matches(prefix), c.value);
    }
    out.push_str("});\n\n");
}

fn creation(out: &mut String, h: &Header) {
    let size = h.creation.last().map_or(0, |f| f.offset + 4);
    let _ = writeln!(out, "/** Bytes of xs_wasm_creation. */\nexport const CREATION_SIZE = {size};\n");
    let _ = writeln!(out, "/**\n * xs_wasm_creation's fields set from the `creation` option, in order: the\n * option's key, the byte offset, whether it is an int32 (else a uint32).\n * From the header: {}\n */", h.creation_doc);
    out.push_str("export const CREATION_FIELDS = Object.freeze([\n");
    for f in h.creation.iter().filter(|f| !HOST_FIELDS.contains(&f.name.as_str())) {
        let _ = writeln!(out, "  /** {} */", f.doc);
        let _ = writeln!(out, "  Object.freeze({{ key: '{}', offset: {}, signed: {} }}),", camel(&f.name), f.offset, f.signed);
    }
    out.push_str("]);\n\n");
    for f in h.creation.iter().filter(|f| HOST_FIELDS.contains(&f.name.as_str())) {
        let _ = writeln!(out, "/** Byte offset of xs_wasm_creation.{} ({}). */", f.name, f.doc);
        let _ = writeln!(out, "export const CREATION_{}_OFFSET = {};\n", f.name.to_ascii_uppercase(), f.offset);
    }
}

/// The text of `abi.mjs`.
pub fn render(h: &Header) -> String {
    let mut out = String::new();
    out.push_str("// The port ABI (port/xs_wasm.h), generated from that header by\n");
    out.push_str("// `cargo xtask codegen`: do not edit. `cargo xtask test` fails when this\n");
    out.push_str("// file is not what the header gives.\n\n");
    let _ = writeln!(out, "/** The port ABI version this package speaks (XS_WASM_ABI_VERSION). */\nexport const ABI_VERSION = {};\n", h.abi_version);
    let _ = writeln!(out, "/** XS_WASM_SNAPSHOT_FORMAT. */\nexport const SNAPSHOT_FORMAT = {};\n", h.snapshot_format);
    let _ = writeln!(out, "/** XS_WASM_SNAPSHOT_HEADER_SIZE, bytes. */\nexport const SNAPSHOT_HEADER_SIZE = {};\n", h.snapshot_header_size);
    table(&mut out, "Status", "xs_wasm_status.", &h.statuses, "XS_WASM_");
    table(&mut out, "CreateFlags", "xs_wasm_creation.flags bits (XS_WASM_CREATE_*).", &h.create_flags, "XS_WASM_CREATE_");
    table(&mut out, "ModuleKind", "What host_load says a module is (XS_WASM_MODULE_*).", &h.module_kinds, "XS_WASM_MODULE_");
    out.push_str("/** Each XS_WASM_LACKS_* bit (xs_wasm_lacks) and its name in the manifest's `lacks`. */\nexport const LACKS = Object.freeze([\n");
    for c in &h.lacks {
        let _ = writeln!(out, "  Object.freeze({{ bit: {}, name: '{}' }}),", c.value, Header::lacks_name(c));
    }
    out.push_str("]);\n\n");
    creation(&mut out, h);
    out.push_str("/**\n * The functions port/xs_wasm.h declares, each an export of every artifact:\n * the key the package uses, and the C name (emscripten's Module has it as\n * `_` + name).\n */\nexport const EXPORTS = Object.freeze({\n");
    for f in &h.exports {
        let _ = writeln!(out, "  /** {} */", f.prototype);
        let _ = writeln!(out, "  {}: '{}',", camel(f.name.trim_start_matches("xs_wasm_")), f.name);
    }
    out.push_str("});\n");
    out
}
