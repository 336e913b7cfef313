//! Where two builds' outputs differ: a file-by-file sha256 comparison of two
//! directory trees, and for each differing file a one-paragraph description of
//! the first difference: for wasm modules the section (custom sections by
//! name), the entry inside code and data sections (function names from the
//! `name` section when there is one) and the offsets; for text files (JS glue,
//! the manifest) the line and column with both versions of the line; for
//! emscripten single-file JS, the inlined module is compared section by section.
//!
//! Modules are read with `wasmparser`: the section headers with its `Parser`,
//! then, only for the section that differs, its function bodies or data
//! segments, the imports and the `name` section. Nothing is validated beyond
//! what reading needs; a module it cannot read falls back to a plain byte offset.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use wasmparser::{BinaryReader, CodeSectionReader, DataSectionReader, FromReader, ImportSectionReader, Name, NameSectionReader, SectionLimited, TypeRef};

use crate::optimize::find_inline_wasm;
use crate::util::sha256_hex;
use crate::wasm::{sections, Section, WASM_MAGIC};

/// One differing (or missing) file of a tree comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// '/'-separated path relative to the compared roots.
    pub path: String,
    /// What differs.
    pub kind: DiffKind,
}

/// How a file differs between tree A and tree B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffKind {
    /// The file exists only in A.
    OnlyInA,
    /// The file exists only in B.
    OnlyInB,
    /// Both have the file with different contents.
    Content {
        /// sha256 in A.
        sha_a: String,
        /// sha256 in B.
        sha_b: String,
        /// Where the first difference is ([`describe`]).
        detail: String,
    },
}

/// The result of comparing two trees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Files identical in both, with their sha256, sorted by path.
    pub same: Vec<(String, String)>,
    /// Differing or missing files, sorted by path.
    pub diffs: Vec<FileDiff>,
}

impl std::fmt::Display for FileDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            DiffKind::OnlyInA => write!(f, "{}: only in build A", self.path),
            DiffKind::OnlyInB => write!(f, "{}: only in build B", self.path),
            DiffKind::Content { sha_a, sha_b, detail } => write!(f, "{}: differs (sha256 A {}, B {}): {detail}", self.path, &sha_a[..12], &sha_b[..12]),
        }
    }
}

/// Compare every file under `a` with the same path under `b` (sha256).
/// Names starting with '.' (build stamps) are skipped. Symlinks are errors.
pub fn compare_trees(a: &Path, b: &Path) -> Result<Comparison> {
    let files_a = list_files(a)?;
    let files_b = list_files(b)?;
    let mut all: Vec<&String> = files_a.iter().chain(&files_b).collect();
    all.sort();
    all.dedup();
    let mut out = Comparison::default();
    for path in all {
        let in_a = files_a.binary_search(path).is_ok();
        let in_b = files_b.binary_search(path).is_ok();
        let kind = match (in_a, in_b) {
            (true, false) => DiffKind::OnlyInA,
            (false, true) => DiffKind::OnlyInB,
            _ => {
                let bytes_a = fs::read(a.join(path)).with_context(|| format!("cannot read {}/{path}", a.display()))?;
                let bytes_b = fs::read(b.join(path)).with_context(|| format!("cannot read {}/{path}", b.display()))?;
                let (sha_a, sha_b) = (sha256_hex(&bytes_a), sha256_hex(&bytes_b));
                if sha_a == sha_b {
                    out.same.push((path.clone(), sha_a));
                    continue;
                }
                DiffKind::Content { sha_a, sha_b, detail: describe(path, &bytes_a, &bytes_b) }
            }
        };
        out.diffs.push(FileDiff { path: path.clone(), kind });
    }
    Ok(out)
}

/// Relative '/'-separated paths of the files under `dir`, sorted; dot-files skipped.
/// A missing directory has no files.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    crate::util::relative_files(dir, false)
}

/// Where `a` and `b` (two versions of the file `name`) first differ, in words.
pub fn describe(name: &str, a: &[u8], b: &[u8]) -> String {
    if a == b {
        return "identical".to_owned();
    }
    if a.starts_with(WASM_MAGIC) && b.starts_with(WASM_MAGIC) {
        if let Some(text) = describe_wasm(a, b) {
            return text;
        }
    }
    let sizes = format!("{} vs {} bytes", a.len(), b.len());
    let offset = first_difference(a, b);
    if let (Ok(ta), Ok(tb)) = (std::str::from_utf8(a), std::str::from_utf8(b)) {
        let mut text = describe_text(ta, tb, offset);
        if name.ends_with(".js") || name.ends_with(".mjs") {
            if let (Ok(ia), Ok(ib)) = (find_inline_wasm(ta), find_inline_wasm(tb)) {
                if ia.wasm != ib.wasm {
                    let inner = describe_wasm(&ia.wasm, &ib.wasm).unwrap_or_else(|| format!("first differing byte at offset {}", first_difference(&ia.wasm, &ib.wasm)));
                    let _ = write!(text, "; the inlined wasm module (base64 at byte {} of the JS) differs: {inner}", ia.start);
                } else {
                    text.push_str("; the inlined wasm modules are identical (the JS around them differs)");
                }
            }
        }
        return format!("{text} ({sizes})");
    }
    format!("first differing byte at offset {offset} ({sizes}): {}", byte_context(a, b, offset))
}

/// Index of the first differing byte (the shorter length when one is a prefix of the other).
pub fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// "A has 01 02 …, B has 01 03 …": up to 8 bytes from `offset` of each.
fn byte_context(a: &[u8], b: &[u8], offset: usize) -> String {
    let show = |v: &[u8]| -> String {
        let end = (offset + 8).min(v.len());
        if offset >= v.len() {
            return "(end of file)".to_owned();
        }
        v[offset..end].iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
    };
    format!("A has {}, B has {}", show(a), show(b))
}

/// "line L, column C" of the first difference, with both lines (trimmed to a window).
fn describe_text(a: &str, b: &str, offset: usize) -> String {
    let before = &a.as_bytes()[..offset];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let column = offset - line_start + 1;
    let window = |t: &str| -> String {
        let bytes = t.as_bytes();
        let start = line_start.min(bytes.len());
        let end = bytes[start..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |p| start + p);
        let (from, to) = (offset.saturating_sub(40).max(start).min(end), (offset + 40).min(end));
        let mut s = String::from_utf8_lossy(&bytes[from..to]).into_owned();
        if from > start {
            s.insert(0, '…');
        }
        if to < end {
            s.push('…');
        }
        s
    };
    format!("first difference at byte {offset} (line {line}, column {column}): A {:?}, B {:?}", window(a), window(b))
}

// ---------------------------------------------------------------- wasm --

/// Describe the first difference between two wasm modules by section; `None`
/// when either cannot be walked.
pub fn describe_wasm(a: &[u8], b: &[u8]) -> Option<String> {
    let sa = sections(a).ok()?;
    let sb = sections(b).ok()?;
    let sizes = format!("modules of {} and {} bytes", a.len(), b.len());
    for (x, y) in sa.iter().zip(&sb) {
        if x.id != y.id || x.name != y.name {
            return Some(format!("section #{} is the {} in A but the {} in B ({sizes})", x.index, x.label(), y.label()));
        }
        let (bx, by) = (&a[x.start..x.end], &b[y.start..y.end]);
        if bx == by {
            continue;
        }
        let rel = first_difference(bx, by);
        let at_a = x.start + rel;
        let mut text = format!("section #{} ({}) differs", x.index, x.label());
        if x.start + rel < x.contents {
            let _ = write!(text, " in its header (size {} vs {} bytes)", x.end - x.contents, y.end - y.contents);
            let (ca, cb) = (&a[x.contents..x.end], &b[y.contents..y.end]);
            if x.contents - x.start == y.contents - y.start && ca != cb {
                let at = first_difference(ca, cb);
                let _ = write!(text, "; the contents first differ at byte {at} (file offset {} in A, {} in B)", x.contents + at, y.contents + at);
                if let Some(entry) = entry_at(a, &sa, x, x.contents + at) {
                    let _ = write!(text, ", in {entry}");
                }
            }
        } else {
            let _ = write!(text, " at file offset {at_a} (byte {} of its {} content bytes in A, {} in B)", at_a - x.contents, x.end - x.contents, y.end - y.contents);
            if let Some(entry) = entry_at(a, &sa, x, at_a) {
                let _ = write!(text, ", in {entry}");
            }
        }
        let _ = write!(text, "; {}; {sizes}", byte_context(a, b, at_a));
        let differing: Vec<(&Section, &Section)> = sa.iter().zip(&sb).skip(x.index).filter(|(p, q)| a[p.start..p.end] != b[q.start..q.end]).collect();
        let later: Vec<String> = differing.iter().skip(1).map(|(p, _)| p.label()).collect();
        if !later.is_empty() {
            let _ = write!(text, "; later sections that also differ: {}", later.join(", "));
        }
        // String tables (.debug_str, .debug_line_str): the strings themselves
        // usually say what leaked (a path, a date).
        for (p, q) in differing.iter().filter(|(p, _)| p.name.as_deref().is_some_and(|n| n.ends_with("_str"))) {
            let (ca, cb) = (&a[p.contents..p.end], &b[q.contents..q.end]);
            let show = |s: Option<String>| s.map(|s| format!("{s:?}")).unwrap_or_else(|| "none".to_owned());
            let _ = write!(
                text,
                "; first string of {:?} only in A: {}, only in B: {}",
                p.name.as_deref().unwrap_or_default(),
                show(first_unique_string(ca, cb)),
                show(first_unique_string(cb, ca))
            );
        }
        return Some(text);
    }
    match sa.len().cmp(&sb.len()) {
        std::cmp::Ordering::Less => Some(format!("B has {} more section(s) after section #{}: first the {} at offset {} ({sizes})", sb.len() - sa.len(), sa.len().saturating_sub(1), sb[sa.len()].label(), sb[sa.len()].start)),
        std::cmp::Ordering::Greater => Some(format!("A has {} more section(s) after section #{}: first the {} at offset {} ({sizes})", sa.len() - sb.len(), sb.len().saturating_sub(1), sa[sb.len()].label(), sa[sb.len()].start)),
        std::cmp::Ordering::Equal => None,
    }
}

/// The first NUL-terminated string of the table `x` that the table `y` does
/// not hold (at most 200 bytes of it).
fn first_unique_string(x: &[u8], y: &[u8]) -> Option<String> {
    let in_y: std::collections::HashSet<&[u8]> = y.split(|&c| c == 0).collect();
    let s = x.split(|&c| c == 0).find(|s| !in_y.contains(s))?;
    let text = String::from_utf8_lossy(&s[..s.len().min(200)]).into_owned();
    Some(if s.len() > 200 { text + "…" } else { text })
}

/// For an offset inside a code or data section: which function body / data
/// segment holds it (with the function's name when the module has a `name` section).
fn entry_at(bytes: &[u8], all: &[Section], section: &Section, offset: usize) -> Option<String> {
    let reader = || contents(bytes, section);
    match section.id {
        10 => {
            let (k, entry_start) = find_entry(CodeSectionReader::new(reader()).ok()?, offset, |body| body.range().end)?;
            let imported = all.iter().find(|s| s.id == 2).and_then(|s| imported_functions(bytes, s)).unwrap_or(0);
            let index = imported + k as u64;
            let name = all.iter().find(|s| s.name.as_deref() == Some("name")).and_then(|s| function_name(bytes, s, index));
            let named = name.map(|n| format!(" {n:?}")).unwrap_or_default();
            Some(format!("function body #{k} (function index {index}{named}, byte {} of the body)", offset - entry_start))
        }
        11 => {
            let (k, entry_start) = find_entry(DataSectionReader::new(reader()).ok()?, offset, |segment| segment.range.end)?;
            Some(format!("data segment #{k} (byte {} of the segment)", offset - entry_start))
        }
        _ => None,
    }
}

/// A reader of a section's contents (file offsets in its errors and ranges).
fn contents<'a>(bytes: &'a [u8], section: &Section) -> BinaryReader<'a> {
    BinaryReader::new(&bytes[section.contents..section.end], section.contents)
}

/// The first entry of a section that ends after `offset`: its position in
/// the section and the file offset where it starts. `None` when the section
/// cannot be read that far.
fn find_entry<'a, T: FromReader<'a>>(entries: SectionLimited<'a, T>, offset: usize, end: impl Fn(&T) -> usize) -> Option<(usize, usize)> {
    for (k, entry) in entries.into_iter_with_offsets().enumerate() {
        let (entry_start, entry) = entry.ok()?;
        if offset < end(&entry) {
            return Some((k, entry_start));
        }
    }
    None
}

/// How many functions the import section imports.
fn imported_functions(bytes: &[u8], section: &Section) -> Option<u64> {
    let imports = ImportSectionReader::new(contents(bytes, section)).ok()?;
    let mut functions = 0;
    for import in imports.into_imports() {
        if matches!(import.ok()?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
            functions += 1;
        }
    }
    Some(functions)
}

/// The name of function `index` from a `name` custom section (its function names).
fn function_name(bytes: &[u8], section: &Section, index: u64) -> Option<String> {
    let names = NameSectionReader::new(contents(bytes, section));
    for subsection in names {
        if let Name::Function(map) = subsection.ok()? {
            for naming in map {
                let naming = naming.ok()?;
                if u64::from(naming.index) == index {
                    return Some(naming.name.to_owned());
                }
            }
            return None;
        }
    }
    None
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use wasm_encoder::{CodeSection, ConstExpr, CustomSection, DataSection, EntityType, Function, FunctionSection, GlobalType, ImportSection, Instruction, MemorySection, MemoryType, Module, NameMap, NameSection, TypeSection, ValType};

    /// A custom section as a module's bytes would end with it.
    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut m = Module::new();
        m.section(&CustomSection { name: name.into(), data: data.into() });
        m.finish()[WASM_MAGIC.len()..].to_vec()
    }

    /// A small valid module: an imported function and an imported global,
    /// three defined functions (named in a `name` section), a memory, two
    /// data segments (the first at an extended-constant offset) and a
    /// custom `.debug_str` section.
    pub fn module() -> Vec<u8> {
        let mut m = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        m.section(&types);
        let mut imports = ImportSection::new();
        imports.import("env", "f", EntityType::Function(0));
        imports.import("env", "base", GlobalType { val_type: ValType::I32, mutable: false, shared: false });
        m.section(&imports);
        let mut functions = FunctionSection::new();
        for _ in 0..3 {
            functions.function(0);
        }
        m.section(&functions);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        m.section(&memories);
        let mut code = CodeSection::new();
        for fill in 1..=3 {
            let mut body = Function::new([]);
            body.instructions().i32_const(fill).drop().end();
            code.function(&body);
        }
        m.section(&code);
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::extended([Instruction::GlobalGet(0), Instruction::I32Const(8), Instruction::I32Add]), b"hello!".iter().copied());
        data.passive(b"world!".iter().copied());
        m.section(&data);
        let mut function_names = NameMap::new();
        for (index, name) in [(1, "alpha"), (2, "beta"), (3, "gamma")] {
            function_names.append(index, name);
        }
        let mut names = NameSection::new();
        names.functions(&function_names);
        m.section(&names);
        m.section(&CustomSection { name: ".debug_str".into(), data: b"./port/xs_wasm.c\0".into() });
        let bytes = m.finish();
        wasmparser::Validator::new().validate_all(&bytes).expect("the test module is valid");
        bytes
    }

    fn find(m: &[u8], needle: &[u8]) -> usize {
        m.windows(needle.len()).position(|w| w == needle).unwrap()
    }

    #[test]
    fn a_flipped_byte_in_a_custom_section_is_named_with_its_offset() {
        let a = module();
        let mut b = a.clone();
        let at = find(&b, b"xs_wasm.c");
        b[at] = b'X';
        let text = describe("emcc-o0/xs-wasm.wasm", &a, &b);
        assert!(text.contains("section #7 (custom section \".debug_str\") differs"), "{text}");
        assert!(text.contains(&format!("at file offset {at}")), "{text}");
        let s = sections(&a).unwrap();
        assert!(text.contains(&format!("byte {} of its", at - s[7].contents)), "{text}");
        assert!(text.contains("A has 78") && text.contains("B has 58"), "{text}");
        assert!(text.contains("first string of \".debug_str\" only in A: \"./port/xs_wasm.c\", only in B: \"./port/Xs_wasm.c\""), "{text}");
    }

    #[test]
    fn a_flipped_byte_in_the_code_section_names_the_function() {
        let a = module();
        let mut b = a.clone();
        // the second defined function's `i32.const 2`
        let at = find(&b, &[0x41, 2, 0x1a]) + 1;
        b[at] = 7;
        let text = describe("wasi-os/xs-wasm.wasm", &a, &b);
        assert!(text.contains("section #4 (code section) differs"), "{text}");
        assert!(text.contains(&format!("at file offset {at}")), "{text}");
        assert!(text.contains("function body #1 (function index 2 \"beta\", byte 3 of the body)"), "{text}");
        // A body B cannot even frame (its size byte, 5, made 0x7f) is still placed by section and body.
        let size_at = at - 3;
        let mut b = a.clone();
        b[size_at] = 0x7f;
        let text = describe("wasi-os/xs-wasm.wasm", &a, &b);
        assert!(text.contains(&format!("section #4 (code section) differs at file offset {size_at}")) && text.contains("function body #1 "), "{text}");
    }

    #[test]
    fn data_segments_size_changes_and_extra_sections_are_described() {
        let a = module();
        let mut b = a.clone();
        let at = find(&b, b"hello!");
        b[at + 1] = b'a';
        let text = describe_wasm(&a, &b).unwrap();
        // flags 0, offset `global.get 0, i32.const 8, i32.add, end` (6 bytes), length: 'e' is byte 9
        assert!(text.contains("section #5 (data section)") && text.contains("data segment #0 (byte 9 of the segment)"), "{text}");
        let mut b = a.clone();
        let at = find(&b, b"world!");
        b[at + 1] = b'a';
        let text = describe_wasm(&a, &b).unwrap();
        // flags 1 (passive), length: 'o' is byte 3
        assert!(text.contains("data segment #1 (byte 3 of the segment)"), "{text}");

        let mut longer = a.clone();
        longer.extend(custom("producers", b"x"));
        let text = describe_wasm(&a, &longer).unwrap();
        assert!(text.contains("B has 1 more section(s)") && text.contains("\"producers\""), "{text}");

        let mut other = a[..sections(&a).unwrap()[7].start].to_vec();
        other.extend(custom(".debug_str", b"/abs/path/port/xs_wasm.c\0"));
        let text = describe_wasm(&a, &other).unwrap();
        assert!(text.contains(".debug_str") && text.contains("in its header (size 17 vs 25 bytes)"), "{text}");
        assert!(text.contains("the contents first differ at byte 0"), "{text}");
    }

    #[test]
    fn text_differences_give_line_column_and_both_lines() {
        let a = b"line one\nvar x = \"/tmp/a/src\";\nend\n";
        let b = b"line one\nvar x = \"/tmp/b/deeper/src\";\nend\n";
        let text = describe("emcc-os/xs-wasm.js", a, b);
        assert!(text.contains("line 2, column 15"), "{text}");
        assert!(text.contains("var x = \\\"/tmp/a/src\\\";") && text.contains("/tmp/b/deeper/src"), "{text}");
        let text = describe("x.bin", &[1, 2, 3, 0xff], &[1, 2, 4, 0xff]);
        assert!(text.contains("byte 2") || text.contains("offset 2"), "{text}");
    }

    #[test]
    fn single_file_js_differences_are_traced_into_the_inlined_module() {
        use crate::optimize::DATA_URI_PREFIX;
        use crate::util::base64_encode;
        let a = module();
        let mut b = a.clone();
        let at = find(&b, b"xs_wasm.c");
        b[at] = b'X';
        let js = |m: &[u8]| format!("var w=\"{DATA_URI_PREFIX}{}\";\n", base64_encode(m));
        let text = describe("emcc-os-single-esm/xs-wasm.mjs", js(&a).as_bytes(), js(&b).as_bytes());
        assert!(text.contains("line 1") && text.contains("the inlined wasm module"), "{text}");
        assert!(text.contains("custom section \".debug_str\""), "{text}");
    }

    #[test]
    fn tree_comparison_lists_missing_and_differing_files_sorted() {
        let root = std::env::temp_dir().join(format!("xtask-test-{}-trees", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let (a, b) = (root.join("a"), root.join("b"));
        let m = module();
        let mut m2 = m.clone();
        let at = find(&m2, &[0x41, 3, 0x1a]) + 1;
        m2[at] = 9;
        for (dir, wasm, extra) in [(&a, &m, "only-a.txt"), (&b, &m2, "only-b.txt")] {
            fs::create_dir_all(dir.join("wasi-os")).unwrap();
            fs::write(dir.join("wasi-os/xs-wasm.wasm"), wasm).unwrap();
            fs::write(dir.join("manifest.json"), "{}\n").unwrap();
            fs::write(dir.join(extra), "x").unwrap();
            fs::write(dir.join("wasi-os/.inputs-sha256"), dir.to_string_lossy().as_bytes()).unwrap();
        }
        let c = compare_trees(&a, &b).unwrap();
        assert_eq!(c.same, [("manifest.json".to_owned(), sha256_hex(b"{}\n"))]);
        let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["only-a.txt", "only-b.txt", "wasi-os/xs-wasm.wasm"], "sorted, dot-files skipped");
        assert_eq!(c.diffs[0].kind, DiffKind::OnlyInA);
        assert_eq!(c.diffs[1].kind, DiffKind::OnlyInB);
        let line = c.diffs[2].to_string();
        assert!(line.starts_with("wasi-os/xs-wasm.wasm: differs (sha256 A "), "{line}");
        assert!(line.contains("code section") && line.contains("\"gamma\"") && line.contains(&format!("file offset {at}")), "{line}");
        fs::remove_dir_all(&root).unwrap();
    }
}
