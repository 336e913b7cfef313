//! `--against`: every file's sizes compared with another manifest's.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use xshell::cmd;

use crate::manifest::Manifest;
use crate::measure::{thousands, Sizes};
use crate::util::run_captured;

/// One file's sizes in a manifest and now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDelta {
    /// Variant name.
    pub variant: String,
    /// File name.
    pub file: String,
    /// In the manifest compared with (`None`: not there).
    pub old: Option<Sizes>,
    /// Now (`None`: no longer there).
    pub new: Option<Sizes>,
}

/// Every file of the measured variants (`new`: variant → file → sizes)
/// against the same file in `old`, files of either side included.
pub fn compare(old: &Manifest, new: &BTreeMap<String, BTreeMap<String, Sizes>>) -> Vec<FileDelta> {
    let mut out = Vec::new();
    for (variant, files) in new {
        let before: BTreeMap<&String, Sizes> = old
            .variants
            .get(variant)
            .map(|v| v.files.iter().map(|(f, r)| (f, Sizes { bytes: r.bytes, gzip: r.gzip, brotli: r.brotli })).collect())
            .unwrap_or_default();
        let names: BTreeSet<&String> = files.keys().chain(before.keys().copied()).collect();
        for file in names {
            out.push(FileDelta { variant: variant.clone(), file: file.clone(), old: before.get(file).copied(), new: files.get(file).copied() });
        }
    }
    out
}

/// `old` → `new` as `+1,234 (+0.13%)`, `-5 (-0.01%)` or `0`.
pub fn change(old: u64, new: u64) -> String {
    if old == new {
        return "0".into();
    }
    let (sign, diff) = if new > old { ('+', new - old) } else { ('-', old - new) };
    if old == 0 {
        return format!("{sign}{}", thousands(diff));
    }
    format!("{sign}{} ({sign}{:.2}%)", thousands(diff), diff as f64 * 100.0 / old as f64)
}

/// A table: the first `left` columns left-aligned, the others right-aligned.
pub(super) fn render(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if i < left {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
            text.push_str("  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
    out
}

/// The comparison as a table: old → new and the change, per measure.
pub fn delta_table(deltas: &[FileDelta]) -> String {
    let cell = |d: &FileDelta, get: fn(&Sizes) -> u64| match (d.old.as_ref().map(get), d.new.as_ref().map(get)) {
        (Some(o), Some(n)) => format!("{} -> {}  {}", thousands(o), thousands(n), change(o, n)),
        (None, Some(n)) => format!("(new) {}", thousands(n)),
        (Some(o), None) => format!("{} (removed)", thousands(o)),
        (None, None) => "-".into(),
    };
    let rows: Vec<Vec<String>> =
        deltas.iter().map(|d| vec![d.variant.clone(), d.file.clone(), cell(d, |s| s.bytes), cell(d, |s| s.gzip), cell(d, |s| s.brotli)]).collect();
    render(&["variant", "file", "raw", "gzip", "brotli"], &rows, 2)
}

/// Read the manifest to compare with: a file, or `REV:PATH` from git.
pub(super) fn load_against(repo: &Path, against: &str) -> Result<Manifest> {
    let path = repo.join(against);
    let text = if path.is_file() {
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?
    } else if against.contains(':') {
        let sh = xshell::Shell::new()?;
        sh.change_dir(repo);
        let out = run_captured(cmd!(sh, "git show {against}"), &format!("reading {against} from git"))?;
        String::from_utf8(out.stdout).with_context(|| format!("{against} is not UTF-8"))?
    } else {
        bail!("--against {against}: no such file (give a manifest file, or REV:PATH such as HEAD:artifacts/manifest.json)");
    };
    serde_json::from_str(&text).with_context(|| format!("--against {against}: not a manifest.json"))
}
