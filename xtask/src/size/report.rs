//! The report of one variant: files, modules by section, sources; as text.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::measure::{thousands, Sizes};

use super::against::render;
use super::attribution::{Attribution, Part};
use super::origins::PartKind;
use super::sections::SectionRow;

/// One wasm module of a variant by section.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    /// `xs-wasm.wasm`, or `xs-wasm.mjs (inlined)`.
    pub module: String,
    /// The module's sizes (decoded from base64 when inlined).
    pub sizes: Sizes,
    /// By section.
    pub sections: Vec<SectionRow>,
}

/// The main module by source file.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesReport {
    /// Which module.
    pub module: String,
    /// How the bytes were attributed, and how exact that is.
    pub method: String,
    /// The attribution.
    #[serde(flatten)]
    pub attribution: Attribution,
}

/// Everything `cargo xtask size` says about one variant.
#[derive(Debug, Clone, Serialize)]
pub struct VariantReport {
    /// Variant name.
    pub variant: String,
    /// Every shipped file, measured.
    pub files: BTreeMap<String, Sizes>,
    /// Every wasm module, by section.
    pub modules: Vec<ModuleReport>,
    /// The main module by source file.
    pub sources: SourcesReport,
}

/// Parts under this share of the module are summed into one row of the text table.
pub(super) const SMALL_SHARE: f64 = 0.002;

/// The report of one variant as text.
pub fn report_text(r: &VariantReport) -> String {
    let mut out = format!("== {} ==\n", r.variant);
    let rows: Vec<Vec<String>> = r.files.iter().map(|(f, s)| vec![f.clone(), thousands(s.bytes), thousands(s.gzip), thousands(s.brotli)]).collect();
    out.push_str(&render(&["file", "raw", "gzip", "brotli"], &rows, 1));
    let pct = |n: u64, of: u64| if of == 0 { "-".to_owned() } else { format!("{:.1}%", n as f64 * 100.0 / of as f64) };
    let z = |n: u64| if n == 0 { "-".to_owned() } else { thousands(n) };
    for m in &r.modules {
        out.push('\n');
        let rows: Vec<Vec<String>> =
            m.sections.iter().map(|s| vec![s.section.clone(), thousands(s.bytes), pct(s.bytes, m.sizes.bytes), z(s.gzip), z(s.brotli)]).collect();
        out.push_str(&render(&[&format!("{} by section", m.module), "bytes", "%", "gzip*", "brotli*"], &rows, 1));
    }
    let a = &r.sources.attribution;
    let total: u64 = a.parts.iter().map(Part::total).sum();
    let mut rows = Vec::new();
    let (mut small, mut small_n) = (Part::new("", PartKind::Structure), 0);
    for p in &a.parts {
        if (p.total() as f64) < SMALL_SHARE * total as f64 {
            small.code += p.code;
            small.data += p.data;
            small.other += p.other;
            small_n += 1;
            continue;
        }
        rows.push(vec![p.label.clone(), format!("{:?}", p.kind).to_lowercase(), z(p.code), z(p.data), z(p.other), thousands(p.total()), pct(p.total(), total), z(p.gzip), z(p.brotli)]);
    }
    if small_n > 0 {
        let label = format!("({small_n} parts under {:.1}% each)", SMALL_SHARE * 100.0);
        rows.push(vec![label, String::new(), z(small.code), z(small.data), z(small.other), thousands(small.total()), pct(small.total(), total), String::new(), String::new()]);
    }
    out.push('\n');
    out.push_str(&render(&[&format!("{} by source file", r.sources.module), "kind", "code", "data", "other", "total", "%", "gzip*", "brotli*"], &rows, 2));
    out.push_str("* each part compressed alone\n");
    out.push_str(&r.sources.method);
    out.push('\n');
    let top: Vec<String> = a.top_functions.iter().take(12).map(|f| format!("{} {} ({})", f.name, thousands(f.bytes), f.part)).collect();
    out.push_str(&format!("largest functions: {}\n", top.join(", ")));
    out
}
