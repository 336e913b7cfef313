//! Tests of `cargo xtask size`'s parts.

use super::*;
use crate::wasm::sections;

use super::{attribution::*, against::*, layout::*, linkmap::*, origins::*, profiling::*, report::*, sections::*, treemap::*};
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
