//! The shipped module's bytes by source file: code matched to the profiling
//! copy's bodies by content, data by address, the rest as structure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::measure::{self, thousands};
use crate::wasm::{sections, WASM_MAGIC};

use super::layout::{DataSegment, FunctionBody, ModuleLayout, module_layout};
use super::linkmap::LinkMap;
use super::origins::{BETWEEN, GENERATED, Objects, Origins, PartKind, SEVERAL, Traced, data_origin};
use super::sections::section_label;

/// The bytes of one source file (or library, or structure) in a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// `xsAll.c`, `libc.a`, `[type section]`...
    pub label: String,
    /// What it is.
    pub kind: PartKind,
    /// Function-body bytes (with their size fields).
    pub code: u64,
    /// Data-segment bytes.
    pub data: u64,
    /// Other bytes (section headers, other sections).
    pub other: u64,
    /// Number of functions.
    pub functions: u64,
    /// gzip -9 of its bytes alone (0 until measured).
    pub gzip: u64,
    /// brotli 11 of its bytes alone (0 until measured).
    pub brotli: u64,
    /// Where its bytes are: in the shipped module (`false`) or the profiling copy.
    #[serde(skip)]
    pub(super) ranges: Vec<(bool, Range<usize>)>,
}

impl Part {
    pub(super) fn new(label: &str, kind: PartKind) -> Part {
        Part { label: label.to_owned(), kind, code: 0, data: 0, other: 0, functions: 0, gzip: 0, brotli: 0, ranges: Vec::new() }
    }
    /// All its bytes.
    pub fn total(&self) -> u64 {
        self.code + self.data + self.other
    }
}

/// One function, for the list of the largest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionRow {
    /// Its name in the profiling copy.
    pub name: String,
    /// The part it is counted in.
    pub part: String,
    /// Bytes in the shipped module (scaled when the match is not exact).
    pub bytes: u64,
}

/// A module by source file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Every part, largest first; they add up to the module's size.
    pub parts: Vec<Part>,
    /// Whether every shipped function body was matched to one of the
    /// profiling copy's with the same code (call targets aside), and none is left.
    pub code_exact: bool,
    /// Whether the profiling copy's data section is byte for byte the shipped one.
    pub data_exact: bool,
    /// Number of functions of the shipped module and of the profiling copy.
    pub functions: (usize, usize),
    /// Shipped functions matched to a profiling-copy function by content.
    pub matched: usize,
    /// Matched functions whose content several files' functions share (the
    /// match may then name the wrong one of those files).
    pub shared: usize,
    /// Code bytes of the shipped functions left unmatched (attributed in
    /// proportion to the unmatched functions of the profiling copy).
    pub unmatched_bytes: u64,
    /// The largest functions.
    pub top_functions: Vec<FunctionRow>,
}

impl Attribution {
    /// One line on how the numbers were obtained.
    pub fn method(&self) -> String {
        let (shipped, profiled) = self.functions;
        let shared = match self.shared {
            0 => String::new(),
            n => format!(", {} of them with code that functions of several files share", thousands(n as u64)),
        };
        let code = if self.code_exact {
            format!("functions: exact (each of the {} shipped function bodies matched to one of the profiling copy's with the same code, call targets and global indices aside{shared})", thousands(shipped as u64))
        } else {
            format!(
                "functions: APPROXIMATE ({} of {} shipped function bodies matched to the profiling copy's ({} functions) by content{shared}; the {} bytes of the others attributed in proportion to the profiling copy's unmatched functions)",
                thousands(self.matched as u64),
                thousands(shipped as u64),
                thousands(profiled as u64),
                thousands(self.unmatched_bytes)
            )
        };
        let data = if self.data_exact { "data: exact (same data section; bytes attributed by address)" } else { "data: by address from the profiling link's map (its data section differs from the shipped one)" };
        format!("{code}; {data}")
    }
}

/// Split `total` in proportion to `weights` (largest remainders get the
/// rounding), so the shares add up to `total` exactly.
pub(super) fn apportion(weights: &[u64], total: u64) -> Vec<u64> {
    let sum: u64 = weights.iter().sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<u64> = weights.iter().map(|&w| (w as u128 * total as u128 / sum as u128) as u64).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((weights[i] as u128 * total as u128) % sum as u128));
    let missing = total - shares.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        shares[i] += 1;
    }
    shares
}

/// Attribute every byte of `shipped` to a part: function bodies through the
/// names of `profiled` (the profiling copy after the same wasm-opt pass) and
/// `map` (its link map), data by address through `map`, everything else to
/// its section. `objects` names the source file of each object.
pub fn attribute(shipped: &[u8], profiled: &[u8], map: &LinkMap, objects: &Objects) -> Result<Attribution> {
    let ls = module_layout(shipped).context("the shipped module")?;
    let lp = module_layout(profiled).context("the profiling copy")?;
    let origins = Origins::new(map, objects);
    let mut parts: BTreeMap<String, Part> = BTreeMap::new();

    // ---- code: match the shipped bodies to the profiling copy's by content
    let traced = traced_functions(&lp, &origins);
    let shipped_code: u64 = ls.functions.iter().map(FunctionBody::bytes).sum();
    let code = attribute_code(&ls, &lp, &traced, &mut parts);

    // ---- data, by address
    let shipped_data = attribute_data(&ls, map, objects, &mut parts);
    let data_exact = match (&ls.data_section, &lp.data_section) {
        (Some(a), Some(b)) => shipped[a.clone()] == profiled[b.clone()],
        (None, None) => true,
        _ => false,
    };

    // ---- structure: the other sections, and the headers of code and data
    attribute_structure(shipped, &ls, shipped_code, shipped_data, &mut parts)?;

    let parts = sorted_parts(parts, shipped.len())?;
    let CodeMatch { top, matched, shared, unmatched_bytes, code_exact } = code;
    Ok(Attribution { parts, code_exact, data_exact, functions: (ls.functions.len(), lp.functions.len()), matched, shared, unmatched_bytes, top_functions: top })
}

/// The part labelled `label`, created empty if need be. The same label is
/// always the same kind (labels of structure are bracketed).
pub(super) fn part<'a>(parts: &'a mut BTreeMap<String, Part>, label: &str, kind: PartKind) -> &'a mut Part {
    parts.entry(label.to_owned()).or_insert_with(|| Part::new(label, kind))
}

/// The part (label and kind) of each function of the profiling copy.
pub(super) fn traced_functions(lp: &ModuleLayout, origins: &Origins) -> Vec<(String, PartKind)> {
    lp.functions
        .iter()
        .map(|f| match origins.trace(f.name.as_deref()) {
            Traced::One(label, kind) => (label, kind),
            Traced::Several => (SEVERAL.to_owned(), PartKind::Generated),
            Traced::Unknown => (GENERATED.to_owned(), PartKind::Generated),
        })
        .collect()
}

/// How the shipped function bodies were attributed.
pub(super) struct CodeMatch {
    /// The largest functions (at most 50).
    pub(super) top: Vec<FunctionRow>,
    pub(super) matched: usize,
    pub(super) shared: usize,
    pub(super) unmatched_bytes: u64,
    pub(super) code_exact: bool,
}

/// Attribute the shipped function bodies of `ls`: each one matched by
/// content to a function of the profiling copy `lp` (whose parts are
/// `traced`) counts in that function's part; the bytes of the others are
/// shared among the profiling copy's unmatched functions.
pub(super) fn attribute_code(ls: &ModuleLayout, lp: &ModuleLayout, traced: &[(String, PartKind)], parts: &mut BTreeMap<String, Part>) -> CodeMatch {
    let mut top = Vec::new();
    let mut used = vec![false; lp.functions.len()];
    let (matched, shared, unmatched_bytes) = match_bodies(ls, lp, traced, parts, &mut top, &mut used);
    let left: Vec<usize> = (0..lp.functions.len()).filter(|&j| !used[j]).collect();
    if unmatched_bytes > 0 && left.is_empty() {
        part(parts, GENERATED, PartKind::Generated).code += unmatched_bytes;
    } else if !left.is_empty() {
        apportion_unmatched(lp, traced, &left, unmatched_bytes, parts, &mut top);
    }
    let code_exact = matched == ls.functions.len() && left.is_empty();
    top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    top.truncate(50);
    CodeMatch { top, matched, shared, unmatched_bytes, code_exact }
}

/// Match each shipped body to the first unused profiling-copy function of
/// the same shape and count it in that function's part (marked in `used`).
/// Returns (matched, shared, unmatched bytes).
pub(super) fn match_bodies(
    ls: &ModuleLayout,
    lp: &ModuleLayout,
    traced: &[(String, PartKind)],
    parts: &mut BTreeMap<String, Part>,
    top: &mut Vec<FunctionRow>,
    used: &mut [bool],
) -> (usize, usize, u64) {
    let mut pool: HashMap<u64, std::collections::VecDeque<usize>> = HashMap::new();
    let mut shape_labels: HashMap<u64, BTreeSet<&str>> = HashMap::new();
    for (j, f) in lp.functions.iter().enumerate() {
        pool.entry(f.shape).or_default().push_back(j);
        shape_labels.entry(f.shape).or_default().insert(traced[j].0.as_str());
    }
    let (mut matched, mut shared, mut unmatched_bytes) = (0, 0, 0u64);
    for f in &ls.functions {
        match pool.get_mut(&f.shape).and_then(|q| q.pop_front()) {
            Some(j) => {
                used[j] = true;
                matched += 1;
                if shape_labels[&f.shape].len() > 1 {
                    shared += 1;
                }
                let (label, kind) = &traced[j];
                let p = part(parts, label, *kind);
                p.code += f.bytes();
                p.functions += 1;
                p.ranges.push((false, f.range.clone()));
                top.push(FunctionRow { name: lp.functions[j].name.clone().unwrap_or_else(|| format!("#{j}")), part: label.clone(), bytes: f.bytes() });
            }
            None => unmatched_bytes += f.bytes(),
        }
    }
    (matched, shared, unmatched_bytes)
}

/// Share `unmatched_bytes` among the `left` (unmatched) functions of the
/// profiling copy, in proportion to their sizes.
pub(super) fn apportion_unmatched(
    lp: &ModuleLayout,
    traced: &[(String, PartKind)],
    left: &[usize],
    unmatched_bytes: u64,
    parts: &mut BTreeMap<String, Part>,
    top: &mut Vec<FunctionRow>,
) {
    let shares = apportion(&left.iter().map(|&j| lp.functions[j].bytes()).collect::<Vec<_>>(), unmatched_bytes);
    for (&j, share) in left.iter().zip(shares) {
        let (label, kind) = &traced[j];
        let p = part(parts, label, *kind);
        p.code += share;
        p.functions += 1;
        p.ranges.push((true, lp.functions[j].range.clone()));
        top.push(FunctionRow { name: lp.functions[j].name.clone().unwrap_or_else(|| format!("#{j}")), part: label.clone(), bytes: share });
    }
}

/// Attribute the shipped data segments by address to the input data
/// segments of `map`; returns the bytes of the shipped segments.
pub(super) fn attribute_data(ls: &ModuleLayout, map: &LinkMap, objects: &Objects, parts: &mut BTreeMap<String, Part>) -> u64 {
    let mut inputs: Vec<(u64, u64, (String, PartKind))> =
        map.data.iter().filter_map(|d| d.address.map(|a| (a, a + d.size, data_origin(d, objects)))).filter(|(a, b, _)| b > a).collect();
    inputs.sort_by_key(|(a, _, _)| *a);
    let mut shipped_data = 0u64;
    for seg in &ls.data {
        shipped_data += attribute_segment(seg, &inputs, parts);
    }
    shipped_data
}

/// Attribute one shipped data segment to the address-sorted `inputs` (start,
/// end, part) it overlaps, the rest to [between]; returns its length.
pub(super) fn attribute_segment(seg: &DataSegment, inputs: &[(u64, u64, (String, PartKind))], parts: &mut BTreeMap<String, Part>) -> u64 {
    let len = (seg.data.end - seg.data.start) as u64;
    let Some(start) = seg.address else {
        let p = part(parts, BETWEEN, PartKind::Generated);
        p.data += len;
        p.ranges.push((false, seg.data.clone()));
        return len;
    };
    let end = start + len;
    let mut covered = 0u64;
    let first = inputs.partition_point(|(_, e, _)| *e <= start);
    for (a, b, (label, kind)) in &inputs[first..] {
        if *a >= end {
            break;
        }
        let (lo, hi) = ((*a).max(start), (*b).min(end));
        if hi > lo {
            let p = part(parts, label, *kind);
            p.data += hi - lo;
            let off = seg.data.start + (lo - start) as usize;
            p.ranges.push((false, off..off + (hi - lo) as usize));
            covered += hi - lo;
        }
    }
    if covered < len {
        part(parts, BETWEEN, PartKind::Generated).data += len - covered;
    }
    len
}

/// Attribute the header, the other sections, and the parts of the code and
/// data sections that are not function bodies or segment contents.
pub(super) fn attribute_structure(shipped: &[u8], ls: &ModuleLayout, shipped_code: u64, shipped_data: u64, parts: &mut BTreeMap<String, Part>) -> Result<()> {
    part(parts, "[header]", PartKind::Structure).other += WASM_MAGIC.len() as u64;
    for s in sections(shipped)? {
        let bytes = (s.end - s.start) as u64;
        let range = s.start..s.end;
        if Some(&range) == ls.code_section.as_ref() {
            part(parts, "[code section: size fields]", PartKind::Structure).other += bytes - shipped_code;
        } else if Some(&range) == ls.data_section.as_ref() {
            part(parts, "[data section: segment headers]", PartKind::Structure).other += bytes - shipped_data;
        } else {
            let p = part(parts, &format!("[{} section]", section_label(s.id, s.name.as_deref())), PartKind::Structure);
            p.other += bytes;
            p.ranges.push((false, range));
        }
    }
    Ok(())
}

/// The non-empty parts, largest first; checks they add up to the module.
pub(super) fn sorted_parts(parts: BTreeMap<String, Part>, module_len: usize) -> Result<Vec<Part>> {
    let mut parts: Vec<Part> = parts.into_values().filter(|p| p.total() > 0).collect();
    parts.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.label.cmp(&b.label)));
    let total: u64 = parts.iter().map(Part::total).sum();
    if total != module_len as u64 {
        bail!("internal error: the parts add up to {total} bytes, the module has {module_len}");
    }
    Ok(parts)
}

/// Fill in the compressed sizes of the parts: each part's bytes, concatenated
/// in module order, compressed alone. Parts without contiguous bytes
/// (headers, alignment) stay at 0.
pub fn compress_parts(parts: &mut [Part], shipped: &[u8], profiled: &[u8]) -> Result<()> {
    for p in parts.iter_mut().filter(|p| !p.ranges.is_empty()) {
        let mut bytes = Vec::new();
        for (from_profiled, range) in &p.ranges {
            bytes.extend_from_slice(if *from_profiled { &profiled[range.clone()] } else { &shipped[range.clone()] });
        }
        let sizes = measure::sizes(&bytes)?;
        p.gzip = sizes.gzip;
        p.brotli = sizes.brotli;
    }
    Ok(())
}
