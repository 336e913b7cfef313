//! Bytes of a module by section (the 8-byte header first), each section
//! also compressed alone.

use std::ops::Range;

use anyhow::Result;
use serde::Serialize;

use crate::measure;
use crate::wasm::{section_kind, sections, WASM_MAGIC};

/// One section of a module (or the 8-byte header), with its bytes compressed alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionRow {
    /// `code`, `data`, `custom "name"`, `(header)`...
    pub section: String,
    /// Bytes in the module, id and size fields included.
    pub bytes: u64,
    /// gzip -9 of these bytes alone.
    pub gzip: u64,
    /// brotli 11 of these bytes alone.
    pub brotli: u64,
}

/// The label of a section in reports: its kind, or `custom "<name>"`.
pub(super) fn section_label(id: u8, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("custom {n:?}"),
        None => section_kind(id).to_owned(),
    }
}

/// Bytes of a module by section, in module order, the header first: the
/// rows add up to the module's size.
pub fn section_rows(wasm: &[u8]) -> Result<Vec<SectionRow>> {
    let mut rows = vec![SectionRow { section: "(header)".into(), bytes: WASM_MAGIC.len() as u64, gzip: 0, brotli: 0 }];
    for s in sections(wasm)? {
        rows.push(SectionRow { section: section_label(s.id, s.name.as_deref()), bytes: (s.end - s.start) as u64, gzip: 0, brotli: 0 });
    }
    Ok(rows)
}

/// Fill in the compressed sizes of section rows (each section compressed alone).
pub(super) fn compress_sections(wasm: &[u8], rows: &mut [SectionRow]) -> Result<()> {
    let ranges: Vec<Range<usize>> =
        std::iter::once(0..WASM_MAGIC.len()).chain(sections(wasm)?.into_iter().map(|s| s.start..s.end)).collect();
    for (row, range) in rows.iter_mut().zip(ranges) {
        let sizes = measure::sizes(&wasm[range])?;
        row.gzip = sizes.gzip;
        row.brotli = sizes.brotli;
    }
    Ok(())
}
