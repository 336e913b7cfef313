//! `cargo xtask size`: where the bytes of each variant go.
//!
//! For every selected variant (default: the release variants) it reports
//!
//! - each shipped file: raw, gzip -9 and brotli 11 (as the manifest measures them);
//! - each shipped wasm module (the one inlined as base64 in single-file
//!   emscripten JS included) by section: type, import, code, data, custom...;
//! - the main module by source file: the bytes of each function body and of
//!   each data segment, attributed to the object (= source file, or library
//!   archive) it comes from.
//!
//! The shipped module has no names. The attribution comes from a profiling
//! copy of the same variant, never shipped, linked from the build's own
//! objects (`<target>/xs-wasm-build/<checkout>/<variant>/obj`) with the variant's exact
//! link command plus a name section and a linker map: emcc
//! `--profiling-funcs -Wl,--print-map`; zig cc's link is re-run as the
//! `wasm-ld` command it prints with `-v`, with `--strip-debug` instead of
//! `-s` and with `--Map`. That copy then goes through the same wasm-opt flags
//! as the release pass, plus `-g` so the names survive. Names change the
//! order binaryen gives functions, so the shipped bodies are matched to the
//! copy's by content (a hash of each body without its call targets and
//! global indices): when every shipped body finds its twin the attribution
//! is exact and uses the shipped sizes; otherwise the output says how much
//! was matched, and the rest is attributed in proportion to the copy's
//! unmatched functions. Function names are mapped to source files through
//! the linker map (binaryen's names for merged functions and renamed
//! duplicates are traced back to the original name); a function wasm-opt
//! inlined counts in its caller's file (wasm-opt inlines any function that
//! has one caller, e.g. XS's fxCreateMachine into the port's
//! xs_wasm_create on emscripten). Data is attributed by address:
//! wasm-opt never moves memory, so each byte of a shipped data segment
//! belongs to the input data segment the map places at that address.
//!
//! Writes `<target>/size/size.json` and `<target>/size/<variant>.svg` (a
//! squarified treemap of the module by source file); `--against FILE` (a
//! manifest, or `REV:PATH` read with `git show`) compares every file's sizes
//! with that manifest's.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::json;
use wasmparser::{DataKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef};
use xs_wasm::WASI_MODULE_FILE;
use xshell::cmd;

use crate::plan::{self, Plan, SourceClass};
use crate::config::{Configs, Form, ToolchainKind, Variant};
use crate::wasm::{section_kind, sections, WASM_MAGIC};
use crate::fetch;
use crate::manifest::{Manifest, VariantRecord};
use crate::measure::{self, thousands, Sizes};
use crate::optimize;
use crate::progress::Progress;
use crate::toolchain::{self, Binaryen, CCompiler, Toolchains};
use crate::util::{display_relative, remove_dir_if_exists, reproducible_env, run_captured, sanitized, sha256_hex, write_atomic};
use crate::workspace::Workspace;

/// Options of `cargo xtask size`.
#[derive(Debug, Clone, Default)]
pub struct SizeOptions {
    /// Variant names (`None`: every release variant).
    pub variants: Option<Vec<String>>,
    /// A manifest to compare with: a file, or `REV:PATH` (`git show`).
    pub against: Option<String>,
}

// ------------------------------------------------------------- sections --

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
fn section_label(id: u8, name: Option<&str>) -> String {
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
fn compress_sections(wasm: &[u8], rows: &mut [SectionRow]) -> Result<()> {
    let ranges: Vec<Range<usize>> =
        std::iter::once(0..WASM_MAGIC.len()).chain(sections(wasm)?.into_iter().map(|s| s.start..s.end)).collect();
    for (row, range) in rows.iter_mut().zip(ranges) {
        let sizes = measure::sizes(&wasm[range])?;
        row.gzip = sizes.gzip;
        row.brotli = sizes.brotli;
    }
    Ok(())
}

// --------------------------------------------------------------- layout --

/// One function body of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionBody {
    /// From the `name` section.
    pub name: Option<String>,
    /// The body and its size field, in the file.
    pub range: Range<usize>,
    /// A hash of the body with the function, type, table and global indices
    /// of calls, `ref.func` and `global.get`/`set` left out: the same in two
    /// modules whose functions (types, globals) are the same code in another
    /// order.
    pub shape: u64,
}

impl FunctionBody {
    /// Bytes in the code section (the size field included).
    pub fn bytes(&self) -> u64 {
        (self.range.end - self.range.start) as u64
    }
}

/// One data segment of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSegment {
    /// The memory address of an active segment with a constant offset.
    pub address: Option<u64>,
    /// Its bytes in the file.
    pub data: Range<usize>,
}

/// What the attribution needs of a module: function bodies (with names),
/// data segments, and where the code and data sections are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleLayout {
    /// Defined functions, in order.
    pub functions: Vec<FunctionBody>,
    /// Data segments, in order.
    pub data: Vec<DataSegment>,
    /// The code section (id and size fields included).
    pub code_section: Option<Range<usize>>,
    /// The data section (id and size fields included).
    pub data_section: Option<Range<usize>>,
}

/// Bytes of an unsigned LEB128.
fn leb_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The [`FunctionBody::shape`] of a body: its locals and instructions,
/// hashed, with the module-level indices of calls and globals left out.
fn shape(wasm: &[u8], body: &wasmparser::FunctionBody) -> Result<u64> {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same value in every run.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    let end = body.range().end;
    let mut ops = body.get_operators_reader()?;
    wasm[body.range().start..ops.original_position()].hash(&mut h);
    let mut at = ops.original_position();
    let mut call = false;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        if offset > at {
            if call {
                // The opcode, not the function index.
                wasm[at].hash(&mut h);
            } else {
                wasm[at..offset].hash(&mut h);
            }
        }
        at = offset;
        call = matches!(
            op,
            Operator::Call { .. }
                | Operator::ReturnCall { .. }
                | Operator::RefFunc { .. }
                | Operator::CallIndirect { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::GlobalGet { .. }
                | Operator::GlobalSet { .. }
        );
    }
    if call {
        wasm[at].hash(&mut h);
    } else {
        wasm[at..end].hash(&mut h);
    }
    Ok(h.finish())
}

/// The functions, data segments and sections of a module.
pub fn module_layout(wasm: &[u8]) -> Result<ModuleLayout> {
    let mut layout = ModuleLayout::default();
    let mut imported_functions = 0u32;
    let mut names: HashMap<u32, String> = HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.context("cannot parse the wasm module")? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_functions += 1;
                    }
                }
            }
            Payload::CodeSectionStart { range, .. } => layout.code_section = Some(whole_section(&range)),
            Payload::CodeSectionEntry(body) => layout.functions.push(function_body(wasm, &body)?),
            Payload::DataSection(reader) => {
                layout.data_section = Some(whole_section(&reader.range()));
                for data in reader {
                    layout.data.push(data_segment(wasm, &data?)?);
                }
            }
            Payload::CustomSection(custom) => function_names(&custom, &mut names),
            _ => {}
        }
    }
    for (i, f) in layout.functions.iter_mut().enumerate() {
        f.name = names.get(&(imported_functions + i as u32)).cloned();
    }
    Ok(layout)
}

/// A section's range with the id byte and the size field before its contents.
fn whole_section(range: &Range<usize>) -> Range<usize> {
    let len = (range.end - range.start) as u64;
    range.start - 1 - leb_len(len)..range.end
}

/// One function body (its size field included), still unnamed.
fn function_body(wasm: &[u8], body: &wasmparser::FunctionBody) -> Result<FunctionBody> {
    let range = body.range();
    let start = range.start - leb_len((range.end - range.start) as u64);
    let shape = shape(wasm, body).with_context(|| format!("function body at offset {}", range.start))?;
    Ok(FunctionBody { name: None, range: start..range.end, shape })
}

/// One data segment: its memory address (active segments with a constant
/// offset) and where its bytes are in the module.
fn data_segment(wasm: &[u8], data: &wasmparser::Data) -> Result<DataSegment> {
    let address = match &data.kind {
        DataKind::Active { offset_expr, .. } => match offset_expr.get_operators_reader().read()? {
            Operator::I32Const { value } => Some(value as u32 as u64),
            Operator::I64Const { value } => Some(value as u64),
            _ => None,
        },
        DataKind::Passive => None,
    };
    let start = data.data.as_ptr() as usize - wasm.as_ptr() as usize;
    Ok(DataSegment { address, data: start..start + data.data.len() })
}

/// The function names of a name section, by function index.
fn function_names(custom: &wasmparser::CustomSectionReader, names: &mut HashMap<u32, String>) {
    if let KnownCustom::Name(reader) = custom.as_known() {
        for sub in reader {
            // A malformed name section is ignored (names are a debugging aid).
            let Ok(Name::Function(map)) = sub else { continue };
            for naming in map.into_iter().flatten() {
                names.insert(naming.index, naming.name.to_owned());
            }
        }
    }
}

// ------------------------------------------------------------ link maps --

/// One input chunk of a wasm-ld map: a function, or a data segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// The input file, as the map names it: `/x/obj/xsAll.o`,
    /// `/x/libc.a(dlmalloc.o)`, `<internal>`.
    pub input: String,
    /// The chunk's name: a function name, a data segment name (`.rodata.foo`).
    pub name: String,
    /// The symbols defined in it (aliases included).
    pub symbols: Vec<String>,
    /// Memory address (data).
    pub address: Option<u64>,
    /// Size in bytes.
    pub size: u64,
}

/// The functions and data segments of a wasm-ld link map (`--Map`, `--print-map`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkMap {
    /// Input functions, in code-section order.
    pub functions: Vec<MapEntry>,
    /// Input data segments (`.bss` included, which has no bytes in the file).
    pub data: Vec<MapEntry>,
}

/// Parse a wasm-ld map. Lines are `Addr Off Size` then the name, indented
/// by 8 spaces per level: output sections (`CODE`, `DATA`) and data output
/// segments (`.rodata`) at level 0, input chunks (`file:(name)`) at 1,
/// symbols at 2. Text before the `Addr` header (other output of the linker
/// driver) is skipped.
pub fn parse_link_map(text: &str) -> Result<LinkMap> {
    let mut map = LinkMap::default();
    let mut lines = text.lines().enumerate().skip_while(|(_, l)| !(l.trim_start().starts_with("Addr") && l.contains("Symbol")));
    if lines.next().is_none() {
        bail!("no wasm-ld map in the linker output (no `Addr Off Size Out In Symbol` header)");
    }
    let mut section = MapSection::Other;
    let mut last: Option<(bool, usize)> = None; // (is data, index) of the last input chunk
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let MapLine { address, size, name, depth } = map_line(n, line)?;
        match depth {
            0 => {
                section = output_section(name, section);
                last = None;
            }
            1 if section != MapSection::Other => last = Some(push_input_chunk(&mut map, section == MapSection::Code, name, address, size)),
            2 => {
                if let Some((data, i)) = last {
                    let list = if data { &mut map.data } else { &mut map.functions };
                    list[i].symbols.push(name.to_owned());
                }
            }
            _ => {}
        }
    }
    if map.functions.is_empty() {
        bail!("the link map lists no functions (no CODE section)");
    }
    Ok(map)
}

/// The output section a link map line is in.
#[derive(Clone, Copy, PartialEq)]
enum MapSection {
    Code,
    Data,
    Other,
}

/// One line of a link map: `Addr Off Size` then the indented name.
struct MapLine<'a> {
    address: Option<u64>,
    size: u64,
    name: &'a str,
    /// The indentation level (8 spaces each).
    depth: usize,
}

/// Split line `n` (0-based) of a link map into its fields.
fn map_line(n: usize, line: &str) -> Result<MapLine<'_>> {
    let bad = || format!("line {} of the link map is not `Addr Off Size Name`: {line:?}", n + 1);
    let mut rest = line;
    let mut fields = [""; 3];
    for field in &mut fields {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').with_context(bad)?;
        *field = &rest[..end];
        rest = &rest[end + 1..];
    }
    let hex = |f: &str| u64::from_str_radix(f, 16).with_context(bad);
    let address = if fields[0] == "-" { None } else { Some(hex(fields[0])?) };
    hex(fields[1])?;
    let size = hex(fields[2])?;
    let name = rest.trim_start_matches(' ');
    let depth = (rest.len() - name.len()) / 8;
    Ok(MapLine { address, size, name, depth })
}

/// The section a level-0 line (an output section or data output segment)
/// starts, given the section before it.
fn output_section(name: &str, section: MapSection) -> MapSection {
    if name == "CODE" {
        MapSection::Code
    } else if name == "DATA" || (name.starts_with('.') && section == MapSection::Data) {
        MapSection::Data
    } else {
        MapSection::Other
    }
}

/// Add a level-1 line (`file:(name)`) to the functions (`code`) or the data
/// of the map; returns (is data, index) of the new entry.
fn push_input_chunk(map: &mut LinkMap, code: bool, name: &str, address: Option<u64>, size: u64) -> (bool, usize) {
    let (input, chunk) = match name.rfind(":(") {
        Some(at) if name.ends_with(')') => (&name[..at], &name[at + 2..name.len() - 1]),
        _ => (name, ""),
    };
    let entry = MapEntry { input: input.to_owned(), name: chunk.to_owned(), symbols: Vec::new(), address, size };
    if code {
        map.functions.push(entry);
        (false, map.functions.len() - 1)
    } else {
        map.data.push(entry);
        (true, map.data.len() - 1)
    }
}

// ------------------------------------------------------------- origins --

/// What a part of a module is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    /// An XS engine source file.
    Xs,
    /// Our port (C or assembly).
    Port,
    /// A library archive of the toolchain (libc, malloc, compiler-rt...).
    Library,
    /// Made by the linker, emcc or binaryen, or not traced to a file.
    Generated,
    /// Section and segment headers, and the sections that are not code or data.
    Structure,
}

/// The object files of the build, by file name: the source file each comes from.
pub type Objects = BTreeMap<String, (String, PartKind)>;

/// The objects of a build plan: `xsAll.o` → (`xsAll.c`, Xs).
fn plan_objects(plan: &Plan) -> Objects {
    plan.sources
        .iter()
        .map(|(src, obj, class)| {
            let file = Path::new(src).file_name().map_or_else(|| src.clone(), |f| f.to_string_lossy().into_owned());
            let kind = if *class == SourceClass::Xs { PartKind::Xs } else { PartKind::Port };
            (obj.clone(), (file, kind))
        })
        .collect()
}

/// Label and kind of a map input: our objects by source file, archive
/// members by archive (`libc.a`), the linker's own chunks as `(linker)`.
pub fn origin(input: &str, objects: &Objects) -> (String, PartKind) {
    if input.starts_with('<') {
        return ("(linker)".into(), PartKind::Generated);
    }
    let base = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned();
    if let Some(open) = input.find(".a(") {
        if input.ends_with(')') {
            return (base(&input[..open + 2]), PartKind::Library);
        }
    }
    let file = base(input);
    match objects.get(&file) {
        Some((source, kind)) => (source.clone(), *kind),
        None if file.ends_with(".o") => (file, PartKind::Library),
        None => (file, PartKind::Generated),
    }
}

/// Label and kind of a data segment of the map: as [`origin`], except the
/// string literals the linker merged from every object.
fn data_origin(entry: &MapEntry, objects: &Objects) -> (String, PartKind) {
    if entry.input.starts_with('<') && entry.name.starts_with(".rodata") {
        return (STRINGS.to_owned(), PartKind::Generated);
    }
    origin(&entry.input, objects)
}

/// Function name → the (label, kind) of every input that defines it.
#[derive(Debug, Default)]
struct Origins {
    by_name: HashMap<String, BTreeSet<(String, PartKind)>>,
}

/// How a function name was traced to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Traced {
    One(String, PartKind),
    Several,
    Unknown,
}

impl Origins {
    fn new(map: &LinkMap, objects: &Objects) -> Origins {
        let mut by_name: HashMap<String, BTreeSet<(String, PartKind)>> = HashMap::new();
        for f in &map.functions {
            let o = origin(&f.input, objects);
            for name in std::iter::once(&f.name).chain(&f.symbols) {
                by_name.entry(name.clone()).or_default().insert(o.clone());
            }
        }
        Origins { by_name }
    }

    /// The names a function may have had before binaryen or LLVM renamed it:
    /// itself, the function a merged function was made from
    /// (`byn$mgfn-shared$f`), the function a legalization stub wraps
    /// (`legalstub$f`), and the name without a de-duplication suffix (`f_1`,
    /// `f.1`, `f.llvm.123`).
    fn candidates(name: &str) -> Vec<String> {
        let mut out = vec![name.to_owned()];
        let mut base = name;
        for prefix in ["byn$mgfn-shared$", "legalstub$", "legalfunc$", "orig$"] {
            if let Some(rest) = base.strip_prefix(prefix) {
                base = rest;
                out.push(base.to_owned());
            }
        }
        if let Some(at) = base.find(".llvm.") {
            out.push(base[..at].to_owned());
        }
        for sep in ['_', '.'] {
            if let Some((stem, digits)) = base.rsplit_once(sep) {
                if !stem.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    out.push(stem.to_owned());
                }
            }
        }
        out
    }

    fn trace(&self, name: Option<&str>) -> Traced {
        let Some(name) = name else { return Traced::Unknown };
        for candidate in Self::candidates(name) {
            if let Some(found) = self.by_name.get(&candidate) {
                let labels: BTreeSet<&String> = found.iter().map(|(l, _)| l).collect();
                return match labels.len() {
                    1 => {
                        let (label, kind) = found.iter().next().expect("one");
                        Traced::One(label.clone(), *kind)
                    }
                    _ => Traced::Several,
                };
            }
        }
        Traced::Unknown
    }
}

// ---------------------------------------------------------- attribution --

/// The label of functions binaryen or emcc made and the map does not list.
pub const GENERATED: &str = "(made by emcc/binaryen)";
/// The label of functions whose name several files define (`static` functions).
pub const SEVERAL: &str = "(same name in several files)";
/// The label of the string literals the linker merged (`<internal>:(.rodata)`):
/// wasm-ld merges the mergeable string segments of every object into one.
pub const STRINGS: &str = "(string literals, merged)";
/// The label of data bytes between the linker's input segments (alignment).
pub const BETWEEN: &str = "(data between segments)";

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
    ranges: Vec<(bool, Range<usize>)>,
}

impl Part {
    fn new(label: &str, kind: PartKind) -> Part {
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
fn apportion(weights: &[u64], total: u64) -> Vec<u64> {
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
fn part<'a>(parts: &'a mut BTreeMap<String, Part>, label: &str, kind: PartKind) -> &'a mut Part {
    parts.entry(label.to_owned()).or_insert_with(|| Part::new(label, kind))
}

/// The part (label and kind) of each function of the profiling copy.
fn traced_functions(lp: &ModuleLayout, origins: &Origins) -> Vec<(String, PartKind)> {
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
struct CodeMatch {
    /// The largest functions (at most 50).
    top: Vec<FunctionRow>,
    matched: usize,
    shared: usize,
    unmatched_bytes: u64,
    code_exact: bool,
}

/// Attribute the shipped function bodies of `ls`: each one matched by
/// content to a function of the profiling copy `lp` (whose parts are
/// `traced`) counts in that function's part; the bytes of the others are
/// shared among the profiling copy's unmatched functions.
fn attribute_code(ls: &ModuleLayout, lp: &ModuleLayout, traced: &[(String, PartKind)], parts: &mut BTreeMap<String, Part>) -> CodeMatch {
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
fn match_bodies(
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
fn apportion_unmatched(
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
fn attribute_data(ls: &ModuleLayout, map: &LinkMap, objects: &Objects, parts: &mut BTreeMap<String, Part>) -> u64 {
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
fn attribute_segment(seg: &DataSegment, inputs: &[(u64, u64, (String, PartKind))], parts: &mut BTreeMap<String, Part>) -> u64 {
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
fn attribute_structure(shipped: &[u8], ls: &ModuleLayout, shipped_code: u64, shipped_data: u64, parts: &mut BTreeMap<String, Part>) -> Result<()> {
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
fn sorted_parts(parts: BTreeMap<String, Part>, module_len: usize) -> Result<Vec<Part>> {
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

// -------------------------------------------------------------- treemap --

/// A rectangle of the treemap, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// The worst aspect ratio of a row of `areas` laid along a side of length `side`.
fn worst(areas: &[f64], side: f64) -> f64 {
    let sum: f64 = areas.iter().sum();
    let (min, max) = areas.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &a| (lo.min(a), hi.max(a)));
    let s2 = side * side;
    (s2 * max / (sum * sum)).max(sum * sum / (s2 * min))
}

/// A squarified treemap (Bruls, Huizing and van Wijk, 2000) of `values` in
/// `bounds`: one rectangle per value, in the order given, of area
/// proportional to it; they tile `bounds`. Values ≤ 0 get an empty rectangle.
pub fn squarify(values: &[f64], bounds: Rect) -> Vec<Rect> {
    let mut out = vec![Rect { x: bounds.x, y: bounds.y, w: 0.0, h: 0.0 }; values.len()];
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let total: f64 = order.iter().map(|&i| values[i]).sum();
    if total <= 0.0 || bounds.w <= 0.0 || bounds.h <= 0.0 {
        return out;
    }
    let scale = bounds.w * bounds.h / total;
    let areas: Vec<f64> = order.iter().map(|&i| values[i] * scale).collect();
    let mut free = bounds;
    let mut i = 0;
    while i < areas.len() {
        let side = free.w.min(free.h);
        let mut j = i + 1;
        while j < areas.len() && worst(&areas[i..=j], side) <= worst(&areas[i..j], side) {
            j += 1;
        }
        let row: f64 = areas[i..j].iter().sum();
        let last = j == areas.len();
        if free.w >= free.h {
            // A column on the left of the free space.
            let t = if last { free.w } else { row / free.h };
            let mut y = free.y;
            for k in i..j {
                let h = areas[k] / row * free.h;
                out[order[k]] = Rect { x: free.x, y, w: t, h };
                y += h;
            }
            free.x += t;
            free.w -= t;
        } else {
            // A row along the top.
            let t = if last { free.h } else { row / free.w };
            let mut x = free.x;
            for k in i..j {
                let w = areas[k] / row * free.w;
                out[order[k]] = Rect { x, y: free.y, w, h: t };
                x += w;
            }
            free.y += t;
            free.h -= t;
        }
        i = j;
    }
    out
}

/// `<`, `>`, `&` and quotes as XML entities.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `12345` → `"12.3 kB"` (kB = 1000 bytes).
fn kb(bytes: u64) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

/// The fill of a part in the treemap.
fn fill(kind: PartKind, rank: usize) -> String {
    let l = 48 + (rank % 4) * 6;
    match kind {
        PartKind::Xs => format!("hsl(210,50%,{l}%)"),
        PartKind::Port => format!("hsl(130,40%,{l}%)"),
        PartKind::Library => format!("hsl(30,70%,{l}%)"),
        PartKind::Generated => format!("hsl(280,30%,{l}%)"),
        PartKind::Structure => format!("hsl(0,0%,{}%)", 62 + (rank % 3) * 5),
    }
}

/// An SVG treemap of `parts` (labelled with name and size) under a title
/// line; the data bytes of a part are a lighter band at the bottom of its tile.
pub fn treemap_svg(title: &str, parts: &[Part]) -> String {
    let (width, height, top) = (1200.0, 760.0, 28.0);
    let values: Vec<f64> = parts.iter().map(|p| p.total() as f64).collect();
    let tiles = squarify(&values, Rect { x: 0.0, y: top, w: width, h: height - top });
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n"
    );
    svg.push_str(&format!("<text x=\"4\" y=\"18\" font-size=\"14\">{}</text>\n", xml_escape(title)));
    let total: u64 = parts.iter().map(Part::total).sum();
    for (rank, (p, r)) in parts.iter().zip(&tiles).enumerate() {
        if r.w <= 0.0 || r.h <= 0.0 {
            continue;
        }
        let share = if total == 0 { 0.0 } else { 100.0 * p.total() as f64 / total as f64 };
        let tip = format!("{}: {} bytes ({share:.1}%), code {}, data {}, other {}", p.label, thousands(p.total()), thousands(p.code), thousands(p.data), thousands(p.other));
        svg.push_str(&format!(
            "<g><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1\"/>",
            xml_escape(&tip),
            r.x,
            r.y,
            r.w,
            r.h,
            fill(p.kind, rank)
        ));
        if p.data > 0 && p.total() > 0 {
            // The data bytes: a lighter band along the bottom of the tile.
            let h = r.h * p.data as f64 / p.total() as f64;
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#fff\" fill-opacity=\"0.45\"/>",
                r.x + 0.5,
                r.y + r.h - h,
                (r.w - 1.0).max(0.0)
            ));
        }
        // About 6.2 units per character at font-size 11.
        let fits = ((r.w - 6.0) / 6.2).floor().max(0.0) as usize;
        if r.h >= 15.0 && fits >= 3 {
            let mut name: String = p.label.chars().take(fits).collect();
            if name.chars().count() < p.label.chars().count() {
                name.pop();
                name.push('…');
            }
            svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\">{}</text>", r.x + 3.0, r.y + 13.0, xml_escape(&name)));
            let size = kb(p.total());
            if r.h >= 29.0 && size.len() <= fits {
                svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" fill-opacity=\"0.75\">{size}</text>", r.x + 3.0, r.y + 26.0));
            }
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

// ----------------------------------------------------------------- diff --

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
fn render(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
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
fn load_against(repo: &Path, against: &str) -> Result<Manifest> {
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

// ------------------------------------------------------ profiling links --

/// Bump when the profiling link or its wasm-opt pass changes (invalidates
/// the cached profiling copies in `<target>/size/work`).
const SIZE_LOGIC_VERSION: u32 = 2;

/// The arguments of zig's `wasm-ld` for a profiling link, from the output
/// of the variant's link run with `-v`: the line `wasm-ld <args>` with
/// `-s`/`--strip-all` (which drop the name section) replaced by
/// `--strip-debug` (DWARF would make wasm-opt optimize less), writing
/// `output` and the map `map`.
pub fn profiling_wasm_ld_args(verbose: &str, output: &Path, map: &Path) -> Result<Vec<String>> {
    let line = verbose.lines().map(str::trim).find(|l| l.starts_with("wasm-ld ")).context("`zig cc -v` printed no `wasm-ld ...` line")?;
    if line.contains(['"', '\'', '\\']) {
        bail!("the wasm-ld command line has quoted arguments, which this parser does not split: {line}");
    }
    let mut args = Vec::new();
    let mut words = line.split_whitespace().skip(1);
    let mut saw_output = false;
    while let Some(word) = words.next() {
        match word {
            "-s" | "--strip-all" => args.push("--strip-debug".to_owned()),
            "-o" => {
                words.next().context("`-o` without a file in the wasm-ld command line")?;
                args.push("-o".to_owned());
                args.push(output.to_string_lossy().into_owned());
                saw_output = true;
            }
            _ => args.push(word.to_owned()),
        }
    }
    if !saw_output {
        bail!("no `-o` in the wasm-ld command line: {line}");
    }
    args.push(format!("--Map={}", map.display()));
    Ok(args)
}

/// Everything the variants share.
struct Env<'a> {
    repo: PathBuf,
    artifacts: PathBuf,
    configs: &'a Configs,
    tree_sha256: String,
    port_hash: String,
    tools: Toolchains,
    build_dir: PathBuf,
    work: PathBuf,
    progress: &'a Progress,
}

/// Link the profiling copy of a variant (from the build's objects), run the
/// release wasm-opt pass on it with `-g`; returns it and its link map.
/// Cached in `<target>/size/work/<variant>` while its inputs are unchanged.
fn profiling_copy(env: &Env, variant: &Variant, cc: &CCompiler, plan: &Plan) -> Result<(Vec<u8>, LinkMap)> {
    let name = &variant.name;
    let obj_dir = env.build_dir.join(name).join("obj");
    let key = plan::compile_key(cc, plan, &env.tree_sha256, &env.port_hash, &env.repo);
    let objects = plan::object_paths(plan, &obj_dir);
    check_objects(env, name, &obj_dir, &key, &objects)?;
    let binaryen = env.tools.binaryen_for(variant);
    let mut wasm_opt = plan.flags.wasm_opt.clone();
    if binaryen.is_some() {
        wasm_opt.push("-g".into());
    }
    let stamp = profiling_stamp(&key, cc, plan, &wasm_opt, binaryen);
    let work = env.work.join(name);
    let (profile, map_file, stamp_file) = (work.join("profile.wasm"), work.join("link.map"), work.join(".inputs-sha256"));
    if fs::read_to_string(&stamp_file).is_ok_and(|s| s.trim() == stamp) && profile.is_file() && map_file.is_file() {
        env.progress.step(format!("{name}: profiling copy up to date ({})", display_relative(&work, &env.repo)));
        let map = parse_link_map(&fs::read_to_string(&map_file)?)?;
        return Ok((fs::read(&profile)?, map));
    }
    remove_dir_if_exists(&work)?;
    let link_dir = work.join("link");
    fs::create_dir_all(&link_dir)?;
    let tool_env = reproducible_env();
    let sh = cc.shell(&env.repo, &tool_env)?;
    let main_out = link_dir.join(&plan.link_main);
    env.progress.step(format!("{name}: profiling link of {} objects ({}, names and a link map)", objects.len(), cc.label));
    let link = ProfilingLink { env, name, cc, plan, objects: &objects, sh: &sh, link_dir: &link_dir, main_out: &main_out, map_file: &map_file };
    let linked: Vec<u8> = match variant.toolchain {
        ToolchainKind::Emscripten => link.emscripten(variant.form.is_some_and(Form::is_single_file))?,
        ToolchainKind::Wasi => link.wasi()?,
    };
    let map = parse_link_map(&fs::read_to_string(&map_file)?).with_context(|| format!("{name}: the profiling link's map"))?;
    match binaryen {
        Some(b) => {
            env.progress.step(format!("{name}: wasm-opt {} on the profiling copy", wasm_opt.join(" ")));
            let input = work.join("profile.linked.wasm");
            fs::write(&input, &linked)?;
            optimize::wasm_opt(b, &input, &profile, &wasm_opt, &tool_env)?;
        }
        None => fs::write(&profile, &linked)?,
    }
    fs::write(&stamp_file, format!("{stamp}\n"))?;
    Ok((fs::read(&profile)?, map))
}

/// Fail unless the build's objects are all there and were compiled with `key`.
fn check_objects(env: &Env, name: &str, obj_dir: &Path, key: &str, objects: &[PathBuf]) -> Result<()> {
    let have = fs::read_to_string(obj_dir.join(plan::COMPILE_KEY_FILE)).unwrap_or_default();
    if have.trim() != key || !objects.iter().all(|o| o.is_file()) {
        bail!(
            "{name}: the build's objects ({}) are missing or were compiled for another configuration: run `cargo xtask build --variants {name}` first",
            display_relative(obj_dir, &env.repo)
        );
    }
    Ok(())
}

/// The hash of everything a profiling copy is made from.
fn profiling_stamp(key: &str, cc: &CCompiler, plan: &Plan, wasm_opt: &[String], binaryen: Option<&Binaryen>) -> String {
    sha256_hex(
        json!({
            "logic": SIZE_LOGIC_VERSION,
            "objects": key,
            "ldflags": &plan.flags.ldflags,
            "libs": &plan.flags.libs,
            "tools": &cc.tools,
            "wasm_opt": wasm_opt,
            "binaryen": binaryen.map(|b| &b.version),
        })
        .to_string()
        .as_bytes(),
    )
}

/// The profiling link of one variant: its inputs and where it writes.
struct ProfilingLink<'a> {
    env: &'a Env<'a>,
    name: &'a str,
    cc: &'a CCompiler,
    plan: &'a Plan,
    objects: &'a [PathBuf],
    sh: &'a xshell::Shell,
    link_dir: &'a Path,
    main_out: &'a Path,
    map_file: &'a Path,
}

impl ProfilingLink<'_> {
    /// Link with emcc (`--profiling-funcs`, map on stdout); returns the main
    /// module (inlined in the JS for `single_file`).
    fn emscripten(&self, single_file: bool) -> Result<Vec<u8>> {
        let (sh, program, name) = (self.sh, &self.cc.program, self.name);
        let extra = ["--profiling-funcs".to_owned(), "-Wl,--print-map".to_owned()];
        let args = plan::link_args(self.cc, self.plan, &self.env.repo, &extra, self.main_out, self.objects);
        let c = sanitized(cmd!(sh, "{program} {args...}"));
        self.env.progress.detail(c.to_string());
        let out = run_captured(c, &format!("{name}: profiling link"))?;
        fs::write(self.map_file, &out.stdout)?;
        if single_file {
            let js = fs::read_to_string(self.main_out).with_context(|| format!("cannot read {}", self.main_out.display()))?;
            Ok(optimize::find_inline_wasm(&js)?.wasm)
        } else {
            Ok(fs::read(self.link_dir.join(WASI_MODULE_FILE))?)
        }
    }

    /// Link with a WASI toolchain (zig cc through its wasm-ld command);
    /// returns the module.
    fn wasi(&self) -> Result<Vec<u8>> {
        let (sh, program, name) = (self.sh, &self.cc.program, self.name);
        let linked = self.link_dir.join("profile.wasm");
        if program.file_stem().is_some_and(|s| s == "zig") {
            // zig cc strips the name section (`-s`) and takes no map flag:
            // run the wasm-ld command it prints, changed.
            let args = plan::link_args(self.cc, self.plan, &self.env.repo, &["-v".to_owned()], self.main_out, self.objects);
            let out = run_captured(sanitized(cmd!(sh, "{program} {args...}")), &format!("{name}: link with -v"))?;
            let printed = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
            let ld = profiling_wasm_ld_args(&printed, &linked, self.map_file)?;
            let c = sanitized(cmd!(sh, "{program} wasm-ld {ld...}"));
            self.env.progress.detail(c.to_string());
            run_captured(c, &format!("{name}: profiling link (zig wasm-ld)"))?;
        } else {
            let extra = [format!("-Wl,--Map={}", self.map_file.display())];
            let args = plan::link_args(self.cc, self.plan, &self.env.repo, &extra, &linked, self.objects);
            let c = sanitized(cmd!(sh, "{program} {args...}"));
            self.env.progress.detail(c.to_string());
            run_captured(c, &format!("{name}: profiling link"))?;
        }
        Ok(fs::read(&linked)?)
    }
}

// --------------------------------------------------------------- report --

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
const SMALL_SHARE: f64 = 0.002;

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

/// `cargo xtask size`: measure, attribute, print, and write `<target>/size/`.
pub fn size(ws: &Workspace, options: &SizeOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let configs = Configs::load(repo)?;
    let selected: Vec<&Variant> = match &options.variants {
        Some(names) => configs.variants.select(Some(names))?,
        None => configs.variants.variants.iter().filter(|v| v.release).collect(),
    };
    let manifest_path = ws.manifest();
    let manifest = Manifest::load(&manifest_path)?.context("no artifacts/manifest.json: run `cargo xtask build` first")?;
    let against = options.against.as_deref().map(|a| load_against(repo, a).map(|m| (a, m))).transpose()?;
    for v in &selected {
        if !manifest.variants.contains_key(&v.name) {
            bail!("{}: not in artifacts/manifest.json: run `cargo xtask build --variants {}` first", v.name, v.name);
        }
    }

    let out_dir = ws.target.join("size");
    let env = size_env(ws, &configs, &selected, progress)?;
    let mut reports = Vec::new();
    for variant in &selected {
        let report = variant_report(&env, variant, &manifest.variants[&variant.name]).with_context(|| format!("size of {}", variant.name))?;
        write_treemap(&out_dir, &report)?;
        println!("{}", report_text(&report));
        reports.push(report);
    }
    write_size_json(&out_dir, &reports, against.as_ref().map(|(name, old)| (*name, old)))?;
    progress.step(format!("wrote {} and {} treemap(s) (<variant>.svg)", display_relative(&out_dir.join("size.json"), repo), reports.len()));
    Ok(())
}

/// Fetch the sources and provision the toolchains the `selected` variants need.
fn size_env<'a>(ws: &Workspace, configs: &'a Configs, selected: &[&Variant], progress: &'a Progress) -> Result<Env<'a>> {
    let fetched = fetch::fetch(ws, &configs.moddable.source(), progress)?;
    Ok(Env {
        repo: ws.repo.clone(),
        artifacts: ws.artifacts.clone(),
        configs,
        tree_sha256: fetched.tree_sha256,
        port_hash: ws.port_hash()?,
        tools: toolchain::for_variants(&ws.repo, &configs.toolchains, selected, progress)?,
        build_dir: ws.build_dir(),
        work: ws.target.join("size").join("work"),
        progress,
    })
}

/// Write `<out_dir>/<variant>.svg`, the treemap of the variant's main module.
fn write_treemap(out_dir: &Path, report: &VariantReport) -> Result<()> {
    let main = &report.modules[0];
    let title = format!(
        "xs-wasm {}: {} ({} bytes, gzip {}, brotli {}) by source file; lighter band: data; kB = 1000 bytes",
        report.variant,
        main.module,
        thousands(main.sizes.bytes),
        thousands(main.sizes.gzip),
        thousands(main.sizes.brotli)
    );
    write_atomic(&out_dir.join(format!("{}.svg", report.variant)), treemap_svg(&title, &report.sources.attribution.parts).as_bytes())
}

/// Print the comparison with `against` (name, manifest) if any, and write
/// `<out_dir>/size.json`.
fn write_size_json(out_dir: &Path, reports: &[VariantReport], against: Option<(&str, &Manifest)>) -> Result<()> {
    let mut json = json!({ "variants": reports });
    if let Some((name, old)) = against {
        let now: BTreeMap<String, BTreeMap<String, Sizes>> = reports.iter().map(|r| (r.variant.clone(), r.files.clone())).collect();
        let deltas = compare(old, &now);
        println!("compared with {name}:");
        print!("{}", delta_table(&deltas));
        json["against"] = json!({ "manifest": name, "files": deltas });
    }
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    write_atomic(&out_dir.join("size.json"), text.as_bytes())
}

/// Measure one variant's files and modules and attribute its main module.
fn variant_report(env: &Env, variant: &Variant, record: &VariantRecord) -> Result<VariantReport> {
    let name = &variant.name;
    let dir = env.artifacts.join(name);
    let mut files = BTreeMap::new();
    for (file, rec) in &record.files {
        let path = dir.join(file);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if sha256_hex(&bytes) != rec.sha256 {
            env.progress.warn(format!("artifacts/{name}/{file} is not the file artifacts/manifest.json records (rebuilt since?)"));
        }
        files.insert(file.clone(), measure::sizes(&bytes)?);
    }
    let (main_label, main) = match variant.form {
        Some(form) if form.is_single_file() => {
            let js = fs::read_to_string(dir.join(form.js_file()))?;
            (format!("{} (inlined wasm)", form.js_file()), optimize::find_inline_wasm(&js).with_context(|| format!("{name}: {}", form.js_file()))?.wasm)
        }
        _ => (WASI_MODULE_FILE.to_owned(), fs::read(dir.join(WASI_MODULE_FILE))?),
    };
    let mut modules = Vec::new();
    for (label, bytes) in std::iter::once((main_label.clone(), main.clone())).chain(
        record.files.keys().filter(|f| f.ends_with(".wasm") && f.as_str() != WASI_MODULE_FILE).map(|f| Ok::<_, anyhow::Error>((f.clone(), fs::read(dir.join(f))?))).collect::<Result<Vec<_>>>()?,
    ) {
        let mut sections = section_rows(&bytes)?;
        compress_sections(&bytes, &mut sections)?;
        modules.push(ModuleReport { module: label, sizes: measure::sizes(&bytes)?, sections });
    }

    let cc = env.tools.compiler(variant);
    let plan = plan::plan(env.configs, variant, cc, true);
    let (profiled, map) = profiling_copy(env, variant, cc, &plan)?;
    if map.functions.iter().any(|f| f.input.ends_with("lto.tmp") || f.input.ends_with(".lto.o")) {
        env.progress.warn(format!("{name}: a link-time-optimized link: the map names the LTO object, not the source files, for the functions it compiled"));
    }
    let mut attribution = attribute(&main, &profiled, &map, &plan_objects(&plan))?;
    if !attribution.code_exact {
        env.progress.warn(format!("{name}: not every shipped function matched one of the profiling copy's: {}", attribution.method()));
    }
    compress_parts(&mut attribution.parts, &main, &profiled)?;
    Ok(VariantReport { variant: name.clone(), files, modules, sources: SourcesReport { module: main_label, method: attribution.method(), attribution } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, ConstExpr, CustomSection, DataSection, EntityType, Function, FunctionSection, ImportSection, MemorySection, MemoryType, Module, NameMap,
        NameSection, TypeSection,
    };

    /// A module with `imports` imported functions, one function per body (a
    /// name, or none, and the number of `nop`s in it), active data segments
    /// at constant addresses, and a `producers`-like custom section.
    fn module(imports: u32, bodies: &[(Option<&str>, usize)], data: &[(i32, &[u8])]) -> Vec<u8> {
        let bodies: Vec<(Option<&str>, usize, &[u32])> = bodies.iter().map(|(n, nops)| (*n, *nops, &[][..])).collect();
        module_with_calls(imports, &bodies, data)
    }

    /// [`module`] with functions that also call others (function indices).
    fn module_with_calls(imports: u32, bodies: &[(Option<&str>, usize, &[u32])], data: &[(i32, &[u8])]) -> Vec<u8> {
        let mut m = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        m.section(&types);
        if imports > 0 {
            let mut section = ImportSection::new();
            for i in 0..imports {
                section.import("env", &format!("f{i}"), EntityType::Function(0));
            }
            m.section(&section);
        }
        // Every function has type 0; one page of memory for the data.
        m.section(&bodies.iter().fold(FunctionSection::new(), |mut section, _| {
            section.function(0);
            section
        }));
        m.section(MemorySection::new().memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None }));
        let mut code = CodeSection::new();
        for (_, nops, calls) in bodies {
            let mut body = Function::new([]);
            for _ in 0..*nops {
                body.instructions().nop();
            }
            for callee in *calls {
                body.instructions().call(*callee);
            }
            body.instructions().end();
            code.function(&body);
        }
        m.section(&code);
        if !data.is_empty() {
            let mut section = DataSection::new();
            for (address, bytes) in data {
                section.active(0, &ConstExpr::i32_const(*address), bytes.iter().copied());
            }
            m.section(&section);
        }
        let mut names = NameMap::new();
        for (i, (name, _, _)) in bodies.iter().enumerate() {
            if let Some(name) = name {
                names.append(imports + i as u32, name);
            }
        }
        if bodies.iter().any(|(n, _, _)| n.is_some()) {
            let mut section = NameSection::new();
            section.functions(&names);
            m.section(&section);
        }
        m.section(&CustomSection { name: "producers".into(), data: b"clang".as_slice().into() });
        let bytes = m.finish();
        wasmparser::Validator::new().validate_all(&bytes).expect("the test module is valid");
        bytes
    }

    /// A wasm-ld map as emcc's `-Wl,--print-map` prints it (after other output).
    const MAP: &str = "\
emcc: warning: something unrelated
    Addr      Off     Size Out     In      Symbol
       -        8       13 TYPE
       -       36        b GLOBAL
       0        0        0         __stack_pointer
       -       be       91 CODE
       -       bf        3         <internal>:(__wasm_call_ctors)
       -       c2       1e         /build/obj/a.o:(foo)
       -       c2       1e                 foo
       -       e0       18         /build/obj/a.o:(helper)
       -       e0       18                 helper
       -       f8       14         /build/obj/b.o:(bar)
       -       f8       14                 bar
       -      10c        8         /build/obj/b.o:(helper)
       -      10c        8                 helper
       -      143        9         /usr/lib/libc-optz.a(__errno_location.o):(__errno_location)
       -      143        9                 __errno_location
       -      143        9                 ___errno_location
       -      14f       3a DATA
     400      150       17 .rodata
     400      156        8         /build/obj/a.o:(.rodata.msg)
     400      156        8                 msg
     408      15e        4         /build/obj/b.o:(.rodata.k)
     420      16d       14 .data
     420      173        6         /usr/lib/libc-optz.a(x.o):(.data.tbl)
     420      173        6                 tbl
     434      14f        4 .bss
     434        0        4         /usr/lib/libc-optz.a(__errno_location.o):(.bss.__errno_storage)
       -      189       6d CUSTOM(.debug_info)
       -      1f6       5f CUSTOM(name)
";

    fn objects() -> Objects {
        [("a.o", "a.c", PartKind::Xs), ("b.o", "b.c", PartKind::Port)].into_iter().map(|(o, s, k)| (o.to_owned(), (s.to_owned(), k))).collect()
    }

    fn part<'a>(a: &'a Attribution, label: &str) -> &'a Part {
        a.parts.iter().find(|p| p.label == label).unwrap_or_else(|| panic!("no part {label:?} in {:#?}", a.parts))
    }

    #[test]
    fn sections_add_up_to_the_module_and_are_named() {
        let m = module(1, &[(Some("foo"), 3), (None, 1)], &[(1024, b"hello")]);
        let mut rows = section_rows(&m).unwrap();
        assert_eq!(rows.iter().map(|r| r.bytes).sum::<u64>(), m.len() as u64);
        let labels: Vec<&str> = rows.iter().map(|r| r.section.as_str()).collect();
        assert_eq!(labels, ["(header)", "type", "import", "function", "memory", "code", "data", "custom \"name\"", "custom \"producers\""]);
        compress_sections(&m, &mut rows).unwrap();
        assert!(rows.iter().all(|r| r.gzip > 0 && r.brotli > 0), "{rows:?}");
        assert!(section_rows(b"\0asm\x02\0\0\0").is_err());
    }

    #[test]
    fn the_layout_names_functions_past_the_imports_and_places_data() {
        let m = module(2, &[(Some("foo"), 3), (None, 200), (Some("bar"), 0)], &[(1024, b"hello"), (4096, b"world!")]);
        let l = module_layout(&m).unwrap();
        let names: Vec<Option<&str>> = l.functions.iter().map(|f| f.name.as_deref()).collect();
        assert_eq!(names, [Some("foo"), None, Some("bar")]);
        // locals count + nops + end, and the size field (2 bytes for 202).
        assert_eq!(l.functions.iter().map(FunctionBody::bytes).collect::<Vec<_>>(), [1 + 5, 2 + 202, 1 + 2]);
        assert_eq!(l.data.iter().map(|d| d.address).collect::<Vec<_>>(), [Some(1024), Some(4096)]);
        assert_eq!(&m[l.data[1].data.clone()], b"world!");
        let s = sections(&m).unwrap();
        let code = s.iter().find(|s| s.id == 10).unwrap();
        assert_eq!(l.code_section, Some(code.start..code.end));
        let data = s.iter().find(|s| s.id == 11).unwrap();
        assert_eq!(l.data_section, Some(data.start..data.end));
        // The bodies fill the code section but for its count.
        let bodies: u64 = l.functions.iter().map(FunctionBody::bytes).sum();
        assert_eq!((code.end - code.contents) as u64, bodies + 1);
    }

    #[test]
    fn the_link_map_gives_functions_data_and_aliases() {
        let map = parse_link_map(MAP).unwrap();
        let f: Vec<(&str, &str, u64)> = map.functions.iter().map(|e| (e.input.as_str(), e.name.as_str(), e.size)).collect();
        assert_eq!(
            f,
            [
                ("<internal>", "__wasm_call_ctors", 3),
                ("/build/obj/a.o", "foo", 0x1e),
                ("/build/obj/a.o", "helper", 0x18),
                ("/build/obj/b.o", "bar", 0x14),
                ("/build/obj/b.o", "helper", 8),
                ("/usr/lib/libc-optz.a(__errno_location.o)", "__errno_location", 9),
            ]
        );
        assert_eq!(map.functions[5].symbols, ["__errno_location", "___errno_location"]);
        let d: Vec<(&str, Option<u64>, u64)> = map.data.iter().map(|e| (e.name.as_str(), e.address, e.size)).collect();
        assert_eq!(d, [(".rodata.msg", Some(0x400), 8), (".rodata.k", Some(0x408), 4), (".data.tbl", Some(0x420), 6), (".bss.__errno_storage", Some(0x434), 4)]);
        assert!(parse_link_map("wasm-ld: error: undefined symbol: x\n").unwrap_err().to_string().contains("no wasm-ld map"));
        let broken = MAP.replace("     400      156        8", "     400      zzz        8");
        assert!(parse_link_map(&broken).unwrap_err().to_string().contains("line"));
        let no_code = "    Addr      Off     Size Out     In      Symbol\n       -        8       13 TYPE\n";
        assert!(parse_link_map(no_code).is_err());
    }

    #[test]
    fn inputs_are_labelled_by_source_file_or_archive() {
        let o = objects();
        assert_eq!(origin("/build/obj/a.o", &o), ("a.c".into(), PartKind::Xs));
        assert_eq!(origin("/build/obj/b.o", &o), ("b.c".into(), PartKind::Port));
        assert_eq!(origin("/usr/lib/libc-optz.a(dlmalloc.o)", &o), ("libc-optz.a".into(), PartKind::Library));
        assert_eq!(origin("/root/.cache/zig/o/123/crt1-reactor.o", &o), ("crt1-reactor.o".into(), PartKind::Library));
        assert_eq!(origin("<internal>", &o), ("(linker)".into(), PartKind::Generated));
        assert_eq!(origin("lto.tmp", &o), ("lto.tmp".into(), PartKind::Generated));
        let data = |input: &str, name: &str| MapEntry { input: input.into(), name: name.into(), symbols: vec![], address: Some(1024), size: 8 };
        assert_eq!(data_origin(&data("<internal>", ".rodata"), &o), (STRINGS.into(), PartKind::Generated));
        assert_eq!(data_origin(&data("<internal>", ".data"), &o), ("(linker)".into(), PartKind::Generated));
        assert_eq!(data_origin(&data("/build/obj/a.o", ".rodata.str1.1"), &o), ("a.c".into(), PartKind::Xs));
    }

    #[test]
    fn renamed_functions_are_traced_to_their_file() {
        let origins = Origins::new(&parse_link_map(MAP).unwrap(), &objects());
        let one = |l: &str, k| Traced::One(l.to_owned(), k);
        assert_eq!(origins.trace(Some("foo")), one("a.c", PartKind::Xs));
        assert_eq!(origins.trace(Some("___errno_location")), one("libc-optz.a", PartKind::Library), "an alias");
        assert_eq!(origins.trace(Some("byn$mgfn-shared$bar")), one("b.c", PartKind::Port), "a function merged by binaryen");
        assert_eq!(origins.trace(Some("foo_1")), one("a.c", PartKind::Xs), "binaryen's de-duplicated name");
        assert_eq!(origins.trace(Some("bar.llvm.1234")), one("b.c", PartKind::Port));
        assert_eq!(origins.trace(Some("helper")), Traced::Several, "static functions of two files");
        assert_eq!(origins.trace(Some("dynCall_vi")), Traced::Unknown);
        assert_eq!(origins.trace(None), Traced::Unknown);
        assert_eq!(Origins::candidates("f_12"), ["f_12", "f"]);
        assert_eq!(Origins::candidates("_1"), ["_1"], "no empty stem");
        assert_eq!(Origins::candidates("f_x1"), ["f_x1"]);
    }

    /// The shipped module (no names) and its profiling copy (names) of the
    /// map above: foo and helper (a.c, the second one b.c's or a.c's), bar
    /// (b.c), one function binaryen made, __errno_location (libc).
    fn pair(profiled_sizes: [usize; 5]) -> (Vec<u8>, Vec<u8>) {
        let data: [(i32, &[u8]); 2] = [(0x400, b"msgmsgmsKKKK"), (0x41e, b"ppTTTTTT")];
        let shipped = module(1, &[(None, 30), (None, 20), (None, 10), (None, 5), (None, 2)], &data);
        let names = ["foo", "bar", "byn$mgfn-shared$foo", "helper", "__errno_location"];
        let bodies: Vec<(Option<&str>, usize)> = names.iter().zip(profiled_sizes).map(|(n, s)| (Some(*n), s)).collect();
        (shipped, module(1, &bodies, &data))
    }

    #[test]
    fn every_byte_is_attributed_and_the_match_is_exact() {
        let (shipped, profiled) = pair([30, 20, 10, 5, 2]);
        let map = parse_link_map(MAP).unwrap();
        let mut a = attribute(&shipped, &profiled, &map, &objects()).unwrap();
        assert!(a.code_exact && a.data_exact, "{}", a.method());
        assert!(a.method().contains("functions: exact") && a.method().contains("data: exact"));
        assert_eq!(a.parts.iter().map(Part::total).sum::<u64>(), shipped.len() as u64);
        // Bodies: nops + 2 bytes (locals, end) + 1 size byte.
        let a_c = part(&a, "a.c");
        assert_eq!((a_c.code, a_c.functions), (33 + 13, 2), "foo and the function merged from it");
        // .rodata.msg is 8 bytes at 0x400.
        assert_eq!(a_c.data, 8);
        let b_c = part(&a, "b.c");
        assert_eq!((b_c.code, b_c.data), (23, 4));
        assert_eq!(part(&a, SEVERAL).code, 8);
        let libc = part(&a, "libc-optz.a");
        assert_eq!((libc.code, libc.data), (5, 6), ".data.tbl at 0x420..0x426 within the segment at 0x41e");
        // The 2 bytes of the second segment before tbl.
        assert_eq!(part(&a, BETWEEN).data, 2);
        assert_eq!(part(&a, "[code section: size fields]").other, 2 + 1, "section id, size and count");
        assert!(part(&a, "[custom \"producers\" section]").other > 0 && part(&a, "[type section]").other > 0);
        assert_eq!(part(&a, "[header]").other, 8);
        assert_eq!(a.top_functions[0].name, "foo");
        assert_eq!((a.top_functions[0].bytes, a.top_functions[0].part.as_str()), (33, "a.c"));
        // Largest first.
        assert!(a.parts.windows(2).all(|w| w[0].total() >= w[1].total()));
        compress_parts(&mut a.parts, &shipped, &profiled).unwrap();
        assert!(part(&a, "a.c").gzip > 0 && part(&a, "a.c").brotli > 0);
        assert_eq!(part(&a, "[code section: size fields]").gzip, 0, "no contiguous bytes");
    }

    #[test]
    fn a_copy_that_differs_is_scaled_and_says_so() {
        let (shipped, profiled) = pair([61, 41, 21, 11, 3]);
        let map = parse_link_map(MAP).unwrap();
        let a = attribute(&shipped, &profiled, &map, &objects()).unwrap();
        assert!(!a.code_exact && a.data_exact);
        assert!(a.method().contains("APPROXIMATE (0 of 5 shipped function bodies matched"), "{}", a.method());
        assert_eq!((a.matched, a.unmatched_bytes), (0, 33 + 23 + 13 + 8 + 5));
        assert_eq!(a.parts.iter().map(Part::total).sum::<u64>(), shipped.len() as u64, "still adds up");
        let code: u64 = a.parts.iter().map(|p| p.code).sum();
        let shipped_code: u64 = module_layout(&shipped).unwrap().functions.iter().map(FunctionBody::bytes).sum();
        assert_eq!(code, shipped_code);
        // A different number of functions, and other data.
        let other = module(0, &[(Some("foo"), 3)], &[(0x400, b"other data!!")]);
        let a = attribute(&shipped, &other, &map, &objects()).unwrap();
        assert!(!a.code_exact && !a.data_exact);
        assert_eq!(a.functions, (5, 1));
        assert_eq!(part(&a, "a.c").code, module_layout(&shipped).unwrap().functions.iter().map(FunctionBody::bytes).sum::<u64>());
        assert_eq!(a.parts.iter().map(Part::total).sum::<u64>(), shipped.len() as u64);
    }

    #[test]
    fn functions_in_another_order_match_by_content_with_the_shipped_sizes() {
        // Shipped: f0 calls f1 (1 nop), f2 (3 nops) calls f0 and f1 and the
        // import; 200 other functions push the callees' indices past 127 in
        // the profiling copy (2-byte call targets there).
        let filler: Vec<(Option<&str>, usize, &[u32])> = (0..200).map(|i| (None, 10 + i % 7, &[][..])).collect();
        let mut shipped_bodies: Vec<(Option<&str>, usize, &[u32])> = vec![(None, 0, &[2]), (None, 1, &[]), (None, 3, &[1, 2, 0])];
        shipped_bodies.extend(filler.iter().cloned());
        let shipped = module_with_calls(1, &shipped_bodies, &[]);
        let mut profiled_bodies: Vec<(Option<&str>, usize, &[u32])> = filler.iter().cloned().map(|(_, n, c)| (Some("__errno_location"), n, c)).collect();
        // In the copy bar is function 201, foo 202, helper 203 (renamed helper_1).
        profiled_bodies.extend([(Some("bar"), 3, &[202, 203, 0][..]), (Some("foo"), 0, &[203]), (Some("helper_1"), 1, &[])]);
        let profiled = module_with_calls(1, &profiled_bodies, &[]);
        let map = parse_link_map(MAP).unwrap();
        let a = attribute(&shipped, &profiled, &map, &objects()).unwrap();
        assert!(a.code_exact, "{}", a.method());
        assert_eq!(a.matched, 203);
        let l = module_layout(&shipped).unwrap();
        assert_eq!(part(&a, "a.c").code, l.functions[0].bytes(), "foo, with its shipped size");
        assert_eq!(part(&a, "b.c").code, l.functions[2].bytes(), "bar");
        assert_eq!(part(&a, SEVERAL).code, l.functions[1].bytes(), "helper_1: helper is in a.c and b.c");
        assert_eq!(part(&a, "libc-optz.a").code, l.functions[3..].iter().map(FunctionBody::bytes).sum::<u64>());
        assert_eq!(a.shared, 0, "the fillers with the same code are all libc's: {}", a.method());
        assert_eq!(a.parts.iter().map(Part::total).sum::<u64>(), shipped.len() as u64);
        // The shapes differ from the bytes: the profiling copy's bar is 2 bytes larger (two 2-byte targets).
        let lp = module_layout(&profiled).unwrap();
        assert_eq!(lp.functions[200].bytes(), l.functions[2].bytes() + 2);
        assert_eq!(lp.functions[200].shape, l.functions[2].shape);
        assert_ne!(lp.functions[200].shape, lp.functions[201].shape);
        // Two files with a function of the same code: matched, and counted as shared.
        let shipped = module(0, &[(None, 4), (None, 4)], &[]);
        let profiled = module(0, &[(Some("foo"), 4), (Some("bar"), 4)], &[]);
        let a = attribute(&shipped, &profiled, &map, &objects()).unwrap();
        assert!(a.code_exact && a.shared == 2, "{}", a.method());
        assert!(a.method().contains("2 of them with code that functions of several files share"), "{}", a.method());
    }

    #[test]
    fn apportioned_shares_add_up() {
        assert_eq!(apportion(&[1, 1, 1], 10), [4, 3, 3]);
        assert_eq!(apportion(&[0, 0], 5), [0, 0]);
        let w = [17, 3, 999, 1, 250];
        for total in [0, 1, 7, 1000, 123_457] {
            let s = apportion(&w, total);
            assert_eq!(s.iter().sum::<u64>(), total);
            assert!(s[2] >= s[4] && s[4] >= s[0] && s[0] >= s[1]);
        }
    }

    fn overlap(a: &Rect, b: &Rect) -> f64 {
        let w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
        let h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
        w.max(0.0) * h.max(0.0)
    }

    #[test]
    fn the_treemap_tiles_the_area_in_proportion_with_squarish_tiles() {
        let bounds = Rect { x: 10.0, y: 20.0, w: 600.0, h: 400.0 };
        let values = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0, 0.0];
        let tiles = squarify(&values, bounds);
        assert_eq!(tiles.len(), values.len());
        let total: f64 = values.iter().sum();
        for (v, t) in values.iter().zip(&tiles) {
            assert!((t.w * t.h - v / total * bounds.w * bounds.h).abs() < 1e-6, "{v}: {t:?}");
            assert!(t.x >= bounds.x - 1e-9 && t.y >= bounds.y - 1e-9 && t.x + t.w <= bounds.x + bounds.w + 1e-6 && t.y + t.h <= bounds.y + bounds.h + 1e-6, "{t:?}");
        }
        for i in 0..tiles.len() {
            for j in i + 1..tiles.len() {
                assert!(overlap(&tiles[i], &tiles[j]) < 1e-6, "{i} and {j} overlap: {:?} {:?}", tiles[i], tiles[j]);
            }
        }
        // The classic example of the paper: its aspect ratios stay under 3 (slicing gives 36).
        let worst_ratio = tiles.iter().filter(|t| t.w > 0.0).map(|t| (t.w / t.h).max(t.h / t.w)).fold(0.0, f64::max);
        assert!(worst_ratio < 3.0, "{worst_ratio}: {tiles:?}");
        assert!(squarify(&[0.0, 0.0], bounds).iter().all(|t| t.w == 0.0));
        let one = squarify(&[5.0], bounds);
        assert_eq!(one[0], bounds);
    }

    #[test]
    fn the_svg_labels_tiles_and_escapes_text() {
        let mut parts = vec![Part::new("xsRun.c", PartKind::Xs), Part::new("<tiny & odd>", PartKind::Generated), Part::new("[type section]", PartKind::Structure)];
        parts[0].code = 90_000;
        parts[1].data = 10;
        parts[2].other = 9_000;
        let svg = treemap_svg("emcc-oz: \"xs-wasm.wasm\"", &parts);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 4, "three tiles and the data band of one");
        assert_eq!(svg.matches("fill-opacity=\"0.45\"").count(), 1);
        assert!(svg.contains(">xsRun.c</text>") && svg.contains(">90.0 kB</text>"), "{svg}");
        assert!(svg.contains("&lt;tiny &amp; odd&gt;: 10 bytes"), "tooltips are escaped: {svg}");
        assert!(svg.contains("emcc-oz: &quot;xs-wasm.wasm&quot;"));
        assert!(!svg.contains("<tiny"));
    }

    fn manifest_with(files: &[(&str, &str, u64, u64, u64)]) -> Manifest {
        let mut m: Manifest = serde_json::from_str(&fs::read_to_string(crate::util::repo_root().join("artifacts/manifest.json")).unwrap()).unwrap();
        let template = m.variants.values().next().unwrap().clone();
        m.variants.clear();
        for (variant, file, bytes, gzip, brotli) in files {
            let v = m.variants.entry(variant.to_string()).or_insert_with(|| VariantRecord { files: BTreeMap::new(), ..template.clone() });
            v.files.insert(file.to_string(), crate::manifest::FileRecord { bytes: *bytes, gzip: *gzip, brotli: *brotli, sha256: "0".repeat(64), before_wasm_opt: None });
        }
        m
    }

    #[test]
    fn the_comparison_shows_changes_new_and_removed_files() {
        let old = manifest_with(&[("emcc-oz", "xs-wasm.wasm", 937_083, 291_375, 230_000), ("emcc-oz", "xs-wasm.js", 50_000, 12_000, 10_000), ("wasi-oz", "xs-wasm.wasm", 1, 1, 1)]);
        let s = |bytes, gzip, brotli| Sizes { bytes, gzip, brotli };
        let now: BTreeMap<String, BTreeMap<String, Sizes>> = [
            ("emcc-oz".to_owned(), [("xs-wasm.wasm".to_owned(), s(900_000, 291_375, 231_000)), ("xs-wasm.mjs".to_owned(), s(5, 5, 5))].into_iter().collect()),
            ("emcc-new".to_owned(), [("xs-wasm.js".to_owned(), s(7, 7, 7))].into_iter().collect()),
        ]
        .into_iter()
        .collect();
        let d = compare(&old, &now);
        let keys: Vec<(&str, &str, bool, bool)> = d.iter().map(|d| (d.variant.as_str(), d.file.as_str(), d.old.is_some(), d.new.is_some())).collect();
        assert_eq!(
            keys,
            [("emcc-new", "xs-wasm.js", false, true), ("emcc-oz", "xs-wasm.js", true, false), ("emcc-oz", "xs-wasm.mjs", false, true), ("emcc-oz", "xs-wasm.wasm", true, true)],
            "variants not measured (wasi-oz) are left out"
        );
        let table = delta_table(&d);
        assert!(table.contains("937,083 -> 900,000  -37,083 (-3.96%)"), "{table}");
        assert!(table.contains("291,375 -> 291,375  0"), "{table}");
        assert!(table.contains("230,000 -> 231,000  +1,000 (+0.43%)"), "{table}");
        assert!(table.contains("50,000 (removed)") && table.contains("(new) 5"), "{table}");
        assert_eq!(change(0, 5), "+5");
        assert_eq!(change(200, 100), "-100 (-50.00%)");
    }

    #[test]
    fn against_reads_a_file_or_a_git_revision_and_refuses_the_rest() {
        let repo = crate::util::repo_root();
        let m = load_against(&repo, "artifacts/manifest.json").unwrap();
        assert!(m.variants.contains_key("emcc-oz"));
        assert!(load_against(&repo, "no/such/manifest.json").unwrap_err().to_string().contains("REV:PATH"));
        assert!(load_against(&repo, "HEAD:no/such/manifest.json").is_err());
        assert!(load_against(&repo, "README.md").unwrap_err().to_string().contains("not a manifest"));
    }

    #[test]
    fn zig_s_wasm_ld_line_is_rerun_with_names_and_a_map() {
        let printed = "some note\nwasm-ld --error-limit=0 --export-memory -s --stack-first --export=bar -z stack-size=1048576 -o /w/link/xs-wasm.wasm /c/crt1-reactor.o /c/libc.a /o/a.o /o/b.o /c/libcompiler_rt.a\n";
        let args = profiling_wasm_ld_args(printed, Path::new("/w/p.wasm"), Path::new("/w/link.map")).unwrap();
        assert_eq!(
            args.join(" "),
            "--error-limit=0 --export-memory --strip-debug --stack-first --export=bar -z stack-size=1048576 -o /w/p.wasm /c/crt1-reactor.o /c/libc.a /o/a.o /o/b.o /c/libcompiler_rt.a --Map=/w/link.map"
        );
        assert!(profiling_wasm_ld_args("clang -cc1 ...", Path::new("p"), Path::new("m")).is_err());
        assert!(profiling_wasm_ld_args("wasm-ld a.o", Path::new("p"), Path::new("m")).unwrap_err().to_string().contains("-o"));
        assert!(profiling_wasm_ld_args("wasm-ld -o \"a b.wasm\" a.o", Path::new("p"), Path::new("m")).is_err());
    }

    #[test]
    fn the_text_report_has_files_sections_sources_and_the_method() {
        let (shipped, profiled) = pair([30, 20, 10, 5, 2]);
        let attribution = attribute(&shipped, &profiled, &parse_link_map(MAP).unwrap(), &objects()).unwrap();
        let sizes = measure::sizes(&shipped).unwrap();
        let report = VariantReport {
            variant: "emcc-oz".into(),
            files: [("xs-wasm.wasm".to_owned(), sizes)].into_iter().collect(),
            modules: vec![ModuleReport { module: "xs-wasm.wasm".into(), sizes, sections: section_rows(&shipped).unwrap() }],
            sources: SourcesReport { module: "xs-wasm.wasm".into(), method: attribution.method(), attribution },
        };
        let text = report_text(&report);
        for needle in ["== emcc-oz ==", "xs-wasm.wasm by section", "code", "xs-wasm.wasm by source file", "a.c", "libc-optz.a", "functions: exact", "largest functions: foo 33 (a.c)"] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sources"]["code_exact"], true);
        assert_eq!(json["sources"]["parts"][0]["label"], report.sources.attribution.parts[0].label.as_str());
    }
}
