//! Reading wasm modules by section: the walk `diff` (where two modules
//! differ) and `size` (bytes by section) share.

use anyhow::{bail, Context, Result};
use wasmparser::{Chunk, Parser, Payload};

/// `\0asm` and version 1.
pub const WASM_MAGIC: &[u8] = b"\0asm\x01\0\0\0";

/// One section of a wasm module, as byte ranges of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Position among the module's sections, from 0.
    pub index: usize,
    /// Section id (0 = custom).
    pub id: u8,
    /// The name of a custom section.
    pub name: Option<String>,
    /// Offset of the id byte.
    pub start: usize,
    /// Offset of the contents (after the size; for custom sections after the name).
    pub contents: usize,
    /// Offset just past the section.
    pub end: usize,
}

impl Section {
    /// e.g. `custom section ".debug_info"`, `code section`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("custom section {n:?}"),
            None => format!("{} section", section_kind(self.id)),
        }
    }
}

/// The standard name of a section id.
pub fn section_kind(id: u8) -> &'static str {
    match id {
        0 => "custom",
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        13 => "tag",
        _ => "unknown",
    }
}

/// The sections of a wasm module. Errors when it is not one or is truncated.
pub fn sections(bytes: &[u8]) -> Result<Vec<Section>> {
    if !bytes.starts_with(WASM_MAGIC) {
        bail!("not a wasm module (version 1)");
    }
    let mut out = Vec::new();
    let mut parser = Parser::new(0);
    let mut pos = 0;
    loop {
        let start = pos;
        let Chunk::Parsed { consumed, payload } = parser.parse(&bytes[pos..], true).context("cannot walk the wasm module")? else {
            bail!("unexpected end of the module");
        };
        pos += consumed;
        let (id, name, contents, end) = match &payload {
            Payload::End(_) => return Ok(out),
            Payload::CodeSectionStart { range, size, .. } => {
                // Skipped whole: a body is only read when a difference is in it.
                if range.end > bytes.len() {
                    bail!("the code section at offset {start} runs past the end of the module");
                }
                parser.skip_section();
                pos += *size as usize;
                (10, None, range.start, range.end)
            }
            Payload::CustomSection(c) => (0, Some(c.name().to_owned()), c.data_offset(), c.range().end),
            Payload::UnknownSection { id, range, .. } => (*id, None, range.start, range.end),
            other => match other.as_section() {
                Some((id, range)) => (id, None, range.start, range.end),
                None => continue, // the header
            },
        };
        out.push(Section { index: out.len(), id, name, start, contents, end });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walker_finds_every_section_and_custom_names() {
        let m = crate::diff::tests::module();
        let s = sections(&m).unwrap();
        let labels: Vec<String> = s.iter().map(Section::label).collect();
        assert_eq!(labels, ["type section", "import section", "function section", "memory section", "code section", "data section", "custom section \"name\"", "custom section \".debug_str\""]);
        assert_eq!(s.last().unwrap().end, m.len());
        assert!(sections(b"\0asm\x01\0\0\0\x0a\x05\x00").is_err(), "truncated section");
        assert!(sections(b"not wasm").is_err());
    }
}
