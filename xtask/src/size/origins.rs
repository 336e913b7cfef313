//! The source file (or library archive) of each function and data input,
//! from the link map and the build plan's objects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::plan::{Plan, SourceClass};

use super::linkmap::{LinkMap, MapEntry};

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
pub(super) fn plan_objects(plan: &Plan) -> Objects {
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
pub(super) fn data_origin(entry: &MapEntry, objects: &Objects) -> (String, PartKind) {
    if entry.input.starts_with('<') && entry.name.starts_with(".rodata") {
        return (STRINGS.to_owned(), PartKind::Generated);
    }
    origin(&entry.input, objects)
}

/// Function name → the (label, kind) of every input that defines it.
#[derive(Debug, Default)]
pub(super) struct Origins {
    pub(super) by_name: HashMap<String, BTreeSet<(String, PartKind)>>,
}

/// How a function name was traced to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Traced {
    One(String, PartKind),
    Several,
    Unknown,
}

impl Origins {
    pub(super) fn new(map: &LinkMap, objects: &Objects) -> Origins {
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
    pub(super) fn candidates(name: &str) -> Vec<String> {
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

    pub(super) fn trace(&self, name: Option<&str>) -> Traced {
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

/// The label of functions binaryen or emcc made and the map does not list.
pub const GENERATED: &str = "(made by emcc/binaryen)";
/// The label of functions whose name several files define (`static` functions).
pub const SEVERAL: &str = "(same name in several files)";
/// The label of the string literals the linker merged (`<internal>:(.rodata)`):
/// wasm-ld merges the mergeable string segments of every object into one.
pub const STRINGS: &str = "(string literals, merged)";
/// The label of data bytes between the linker's input segments (alignment).
pub const BETWEEN: &str = "(data between segments)";
