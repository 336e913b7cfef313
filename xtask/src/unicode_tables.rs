//! The packed Unicode tables of configs/patches/0004 and 0005, generated
//! right after `cargo xtask fetch` applies the patches:
//! - `xs/sources/xsre_packed.h` from the character-set tables of the
//!   (patched) `xs/sources/xsre.c` (0004, below);
//! - `xs/sources/xsString_packed.h` from the decomposition indexes of
//!   `xs/sources/xsString.c` (0005, [`parse_decomposition_indexes`]).
//!
//! XS's tables are `static const txInteger gxCharSet_<name>[mxCharSet_<name>]`
//! arrays of ascending code-point boundaries (start, end, start, end...). The
//! header stores each one as LEB128 differences from the previous boundary
//! (the first from 0) in one byte array, `gxCharSetPacked`; tables with the
//! same contents are stored once. It defines the same names the C uses:
//! `mxCharSet_<name>` (the boundary count, unchanged) and `gxCharSet_<name>`
//! (a `const txU1*` to the table's first byte), expanded by the patch's
//! `fxUnpackCharSet`. The output is a pure function of xsre.c (same input,
//! same bytes).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The patched engine file the tables come from (relative to the moddable root).
pub const SOURCE: &str = "xs/sources/xsre.c";
/// The header written beside it.
pub const HEADER: &str = "xs/sources/xsre_packed.h";
/// The engine file the decomposition indexes come from.
pub const STRING_SOURCE: &str = "xs/sources/xsString.c";
/// The header written beside it.
pub const STRING_HEADER: &str = "xs/sources/xsString_packed.h";
/// Part of the fetch stamp: a vendor tree made by another version of this
/// generator is made again.
pub const GENERATOR_VERSION: &str = "unicode-tables 3";

/// One character-set table of xsre.c.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `<name>` of `gxCharSet_<name>` / `mxCharSet_<name>`.
    pub name: String,
    /// The boundaries, ascending (a boundary may repeat).
    pub values: Vec<u32>,
}

/// What [`generate`] wrote, for the progress lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Generated {
    /// The property tables (xsre.c), when the tree has the file.
    pub property_tables: Option<Packed>,
    /// The decomposition indexes (xsString.c), when the tree has the file:
    /// their values (u16) and the packed bytes.
    pub decomposition_indexes: Option<(usize, usize)>,
}

/// What [`header`] packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Tables found (and named in the header).
    pub tables: usize,
    /// Their values, and their size as XS stores them (4 bytes each).
    pub values: usize,
    /// Bytes of the packed array.
    pub packed_bytes: usize,
}

/// Write `<root>/xs/sources/xsre_packed.h` from `<root>/xs/sources/xsre.c`
/// and `<root>/xs/sources/xsString_packed.h` from
/// `<root>/xs/sources/xsString.c`; a file the tree does not have is skipped.
///
/// Errors: a source unreadable, or its tables not in the shape this
/// generator knows (a count that disagrees with the values, boundaries not
/// ascending or beyond U+10FFFF+1, a missing table): XS changed, and so must
/// this.
pub fn generate(root: &Path) -> Result<Generated> {
    let mut generated = Generated::default();
    let source = root.join(SOURCE);
    if source.is_file() {
        let text = fs::read_to_string(&source).with_context(|| format!("cannot read {}", source.display()))?;
        let tables = parse(&text).with_context(|| format!("reading the character-set tables of {SOURCE}"))?;
        let (header, packed) = header(&tables)?;
        let path = root.join(HEADER);
        fs::write(&path, header).with_context(|| format!("cannot write {}", path.display()))?;
        generated.property_tables = Some(packed);
    }
    let source = root.join(STRING_SOURCE);
    if source.is_file() {
        let text = fs::read_to_string(&source).with_context(|| format!("cannot read {}", source.display()))?;
        let indexes = parse_decomposition_indexes(&text).with_context(|| format!("reading the decomposition indexes of {STRING_SOURCE}"))?;
        let (header, values, packed) = decomposition_header(&indexes)?;
        let path = root.join(STRING_HEADER);
        fs::write(&path, header).with_context(|| format!("cannot write {}", path.display()))?;
        generated.decomposition_indexes = Some((values, packed));
    }
    Ok(generated)
}

/// The three `gxDecompositionIndex<n>` tables of xsString.c (n = 0, 1, 2,
/// in order): u16 pairs (code, offset with 0x8000 as the compatibility
/// flag), each table's count from its `#define mxDecompositionCount<n>`.
pub fn parse_decomposition_indexes(text: &str) -> Result<Vec<Vec<u16>>> {
    let mut tables = Vec::new();
    for n in 0..3 {
        let define = format!("#define mxDecompositionCount{n} ");
        let count: usize = text
            .lines()
            .find_map(|l| l.strip_prefix(&define))
            .with_context(|| format!("no `{define}<count>`"))?
            .trim()
            .parse()
            .with_context(|| format!("`{define}` is not a number"))?;
        let decl = format!("static const txU2 gxDecompositionIndex{n}[mxDecompositionCount{n}] ICACHE_XS6RO_ATTR = {{");
        let start = text.find(&decl).with_context(|| format!("no `{decl}`"))? + decl.len();
        let end = start + text[start..].find("};").with_context(|| format!("gxDecompositionIndex{n}: no closing `}};`"))?;
        let values = text[start..end]
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                let hex = v.strip_prefix("0x").with_context(|| format!("gxDecompositionIndex{n}: {v:?} is not a 0x number"))?;
                u16::from_str_radix(hex, 16).with_context(|| format!("gxDecompositionIndex{n}: {v:?}"))
            })
            .collect::<Result<Vec<u16>>>()?;
        if values.len() != count || !count.is_multiple_of(2) {
            bail!("gxDecompositionIndex{n}: mxDecompositionCount{n} is {count} but the table holds {} values (pairs expected)", values.len());
        }
        tables.push(values);
    }
    Ok(tables)
}

/// A decomposition index as the patch's fxUnpackDecompositionIndex reads it:
/// per pair, the code's difference from the previous code (modulo 0x10000),
/// then the offset's difference (modulo 0x8000) times two plus the flag, both
/// LEB128.
pub fn pack_pairs(values: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len());
    let (mut code, mut offset) = (0u16, 0u16);
    for pair in values.chunks_exact(2) {
        push_leb128(&mut out, u32::from(pair[0].wrapping_sub(code)));
        code = pair[0];
        let (flag, value) = (pair[1] >> 15, pair[1] & 0x7FFF);
        push_leb128(&mut out, (u32::from(value.wrapping_sub(offset) & 0x7FFF) << 1) | u32::from(flag));
        offset = value;
    }
    out
}

/// The inverse of [`pack_pairs`] for `count` values. `None` if `bytes` ends early.
pub fn unpack_pairs(bytes: &[u8], count: usize) -> Option<Vec<u16>> {
    let mut at = 0;
    let (mut code, mut offset) = (0u32, 0u32);
    let mut values = Vec::with_capacity(count);
    for _ in 0..count / 2 {
        code = (code + read_leb128(bytes, &mut at)?) & 0xFFFF;
        let delta = read_leb128(bytes, &mut at)?;
        offset = (offset + (delta >> 1)) & 0x7FFF;
        values.push(code as u16);
        values.push((offset | ((delta & 1) << 15)) as u16);
    }
    Some(values)
}

/// The text of xsString_packed.h, the number of values and the packed bytes.
/// Errors if an index does not unpack to itself.
pub fn decomposition_header(indexes: &[Vec<u16>]) -> Result<(String, usize, usize)> {
    let mut h = String::new();
    let _ = writeln!(h, "/* Generated by `cargo xtask fetch` (xtask/src/unicode_tables.rs) from the");
    let _ = writeln!(h, "   gxDecompositionIndex* tables of xsString.c: see configs/patches/0005. Do not edit. */");
    let (mut values, mut packed) = (0, 0);
    for (n, index) in indexes.iter().enumerate() {
        let bytes = pack_pairs(index);
        if unpack_pairs(&bytes, index.len()).as_deref() != Some(&index[..]) {
            bail!("gxDecompositionIndex{n}: the packed index does not unpack to the original");
        }
        values += index.len();
        packed += bytes.len();
        let _ = writeln!(h);
        let _ = writeln!(h, "/* {} values ({} bytes as txU2) in {} bytes */", index.len(), index.len() * 2, bytes.len());
        let _ = writeln!(h, "static const txU1 ICACHE_RODATA_ATTR gxDecompositionIndexPacked{n}[{}] = {{", bytes.len().max(1));
        for chunk in bytes.chunks(24) {
            let line: Vec<String> = chunk.iter().map(|b| format!("{b}")).collect();
            let _ = writeln!(h, "\t{},", line.join(","));
        }
        let _ = writeln!(h, "}};");
    }
    Ok((h, values, packed))
}

/// Follow the preprocessor conditions around `line`: one entry per open
/// `#if`, whether it is `#ifdef mxRegExpUnicodePropertyEscapes` or `#if
/// mxRegExpUnicodePropertyEscapes` (false again after its `#else`). Returns
/// whether `line` was such a directive.
fn track_condition(line: &str, conditions: &mut Vec<bool>) -> bool {
    let directive = line.trim_start();
    if directive.starts_with("#if") {
        conditions.push(matches!(directive.split_whitespace().collect::<Vec<_>>()[..], ["#ifdef" | "#if", "mxRegExpUnicodePropertyEscapes"]));
    } else if directive.starts_with("#else") || directive.starts_with("#elif") {
        if let Some(top) = conditions.last_mut() {
            *top = false;
        }
    } else if directive.starts_with("#endif") {
        conditions.pop();
    } else {
        return false;
    }
    true
}

/// The values of the table `gxCharSet_<name>` whose declaration was the last
/// line read: `0x` numbers, up to its closing `};`.
fn table_values<'a>(lines: &mut impl Iterator<Item = &'a str>, name: &str) -> Result<Vec<u32>> {
    let mut values = Vec::new();
    loop {
        let Some(body) = lines.next() else { bail!("gxCharSet_{name}: no closing `}};`") };
        let body = body.trim();
        if body == "};" {
            return Ok(values);
        }
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let hex = item.strip_prefix("0x").with_context(|| format!("gxCharSet_{name}: {item:?} is not a 0x number"))?;
            values.push(u32::from_str_radix(hex, 16).with_context(|| format!("gxCharSet_{name}: {item:?}"))?);
        }
    }
}

/// The `gxCharSet_*` tables of xsre.c that only `\p{...}` uses, in file
/// order: those inside `#ifdef mxRegExpUnicodePropertyEscapes` or
/// `#if mxRegExpUnicodePropertyEscapes` (XS 17 has both), the boundaries of
/// the properties of strings (`gxCharSet_Basic_Emoji`...) included. The
/// others (Case_Ignorable and Cased, which case mapping searches as
/// txInteger arrays) are left to the C, and so are the sets XS declares
/// empty (`#define gxCharSet_<name> C_NULL`).
pub fn parse(text: &str) -> Result<Vec<Table>> {
    const DECL: &str = "static const txInteger ICACHE_RODATA_ATTR gxCharSet_";
    let mut tables = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    // See track_condition.
    let mut conditions: Vec<bool> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if track_condition(line, &mut conditions) || !conditions.contains(&true) {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#define mxCharSet_") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(count)) = (parts.next(), parts.next()) {
                if let Ok(count) = count.parse() {
                    counts.insert(name, count);
                }
            }
            continue;
        }
        let Some(rest) = line.strip_prefix(DECL) else { continue };
        let Some((name, _)) = rest.split_once('[') else { bail!("unexpected declaration: {line}") };
        let values = table_values(&mut lines, name)?;
        let Some(&count) = counts.get(name) else { bail!("gxCharSet_{name} has no #define mxCharSet_{name} before it") };
        if count != values.len() {
            bail!("gxCharSet_{name}: mxCharSet_{name} is {count} but the table holds {} values", values.len());
        }
        // Non-decreasing: XS's sets may repeat a boundary (an empty range,
        // e.g. Any = 0, 0xdc00, 0xdc00, 0xe000, 0xe000, 0x110000).
        if values.windows(2).any(|w| w[0] > w[1]) || values.last().is_some_and(|&v| v > 0x11_0000) {
            bail!("gxCharSet_{name}: the boundaries are not ascending code points");
        }
        tables.push(Table { name: name.to_owned(), values });
    }
    if tables.is_empty() {
        bail!("no `{DECL}<name>[...]` table found");
    }
    Ok(tables)
}

/// `values` as LEB128 differences (the first from 0).
pub fn pack(values: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2);
    let mut previous = 0;
    for &value in values {
        push_leb128(&mut out, value - previous);
        previous = value;
    }
    out
}

/// The inverse of [`pack`] for `count` values (what the patch's
/// fxUnpackCharSet does in C). `None` if `bytes` ends early.
pub fn unpack(bytes: &[u8], count: usize) -> Option<Vec<u32>> {
    let mut values = Vec::with_capacity(count);
    let mut at = 0;
    let mut value = 0u32;
    for _ in 0..count {
        value += read_leb128(bytes, &mut at)?;
        values.push(value);
    }
    Some(values)
}

/// One unsigned LEB128 number (at most 32 bits) appended to `out`.
fn push_leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The unsigned LEB128 number at `bytes[*at..]`, moving `at` past it. `None`
/// if `bytes` ends first.
fn read_leb128(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let (mut value, mut shift) = (0u32, 0);
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u32::from(byte & 0x7F) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
}

/// Every table packed into one array (equal tables once): the array and
/// each table's offset in it.
pub fn pack_all(tables: &[Table]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut offsets: HashMap<&[u32], usize> = HashMap::new();
    let mut placed = Vec::with_capacity(tables.len());
    for table in tables {
        let offset = *offsets.entry(&table.values).or_insert_with(|| {
            let at = bytes.len();
            bytes.extend(pack(&table.values));
            at
        });
        placed.push(offset);
    }
    (bytes, placed)
}

/// The header's text and what it holds. Errors if a table does not unpack
/// to its own values (a bug here, never silently shipped).
pub fn header(tables: &[Table]) -> Result<(String, Packed)> {
    let (bytes, placed) = pack_all(tables);
    for (table, &offset) in tables.iter().zip(&placed) {
        if unpack(&bytes[offset..], table.values.len()).as_deref() != Some(&table.values[..]) {
            bail!("gxCharSet_{}: the packed table does not unpack to the original", table.name);
        }
    }
    let values = tables.iter().map(|t| t.values.len()).sum();
    let mut h = String::new();
    let _ = writeln!(h, "/* Generated by `cargo xtask fetch` (xtask/src/unicode_tables.rs) from the");
    let _ = writeln!(h, "   gxCharSet_* tables of xsre.c: see configs/patches/0004. Do not edit.");
    let _ = writeln!(h, "   {} tables, {values} boundaries ({} bytes as txInteger), packed in {} bytes. */", tables.len(), values * 4, bytes.len());
    let _ = writeln!(h);
    for table in tables {
        let _ = writeln!(h, "#define mxCharSet_{} {}", table.name, table.values.len());
    }
    let _ = writeln!(h);
    let _ = writeln!(h, "static const txU1 ICACHE_RODATA_ATTR gxCharSetPacked[{}] = {{", bytes.len().max(1));
    for chunk in bytes.chunks(24) {
        let line: Vec<String> = chunk.iter().map(|b| format!("{b}")).collect();
        let _ = writeln!(h, "\t{},", line.join(","));
    }
    let _ = writeln!(h, "}};");
    let _ = writeln!(h);
    for (table, offset) in tables.iter().zip(&placed) {
        let _ = writeln!(h, "#define gxCharSet_{} (gxCharSetPacked + {offset})", table.name);
    }
    Ok((h, Packed { tables: tables.len(), values, packed_bytes: bytes.len() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
#ifdef mxRegExpUnicodePropertyEscapes
typedef struct { char* id; txInteger length; const txInteger* data; } txCharSetUnicodeProperty;
#ifdef mxPackedUnicodePropertyTables
#include \"xsre_packed.h\"
#else
#define mxCharSet_Binary_Property_ASCII 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Binary_Property_ASCII[mxCharSet_Binary_Property_ASCII] = {
\t0x000000, 0x000080, 
};
#define mxCharSet_Script_Yi 4
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Script_Yi[mxCharSet_Script_Yi] = {
\t0x00a000, 0x00a48d, 
\t0x00a490, 0x10ffff, 
};
#endif
#endif
#define mxCharSet_Binary_Property_Cased 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Binary_Property_Cased[mxCharSet_Binary_Property_Cased] = {
\t0x000041, 0x00005b, 
};
#ifdef mxRegExpUnicodePropertyEscapes
#ifndef mxPackedUnicodePropertyTables
#define mxCharSet_General_Category_ASCII_Too 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_General_Category_ASCII_Too[mxCharSet_General_Category_ASCII_Too] = {
\t0x000000, 0x000080, 
};
#endif
#define mxCharSet_Binary_Property 1
#else
#define mxCharSet_Binary_Property_Elsewhere 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Binary_Property_Elsewhere[mxCharSet_Binary_Property_Elsewhere] = {
\t0x000000, 0x000080, 
};
#endif
";

    #[test]
    fn only_the_property_escape_tables_are_read_with_their_names_and_values() {
        let tables = parse(SAMPLE).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Binary_Property_ASCII", "Script_Yi", "General_Category_ASCII_Too"]);
        assert_eq!(tables[1].values, [0xa000, 0xa48d, 0xa490, 0x10ffff]);
    }

    /// XS 17's shape: a second block under `#if` (not `#ifdef`), and the
    /// properties of strings, some with boundaries, some declared empty.
    const SAMPLE_XS17: &str = "\
#ifdef mxRegExpUnicodePropertyEscapes
#ifdef mxPackedUnicodePropertyTables
#include \"xsre_packed.h\"
#else
#define mxCharSet_Binary_Property_ASCII 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Binary_Property_ASCII[mxCharSet_Binary_Property_ASCII] = {
\t0x000000, 0x000080, 
};
#endif
#endif
#define mxCharSet_Binary_Property_Cased 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Binary_Property_Cased[mxCharSet_Binary_Property_Cased] = {
\t0x000041, 0x00005b, 
};
#if mxRegExpUnicodePropertyEscapes
#ifndef mxPackedUnicodePropertyTables
#define mxCharSet_Script_Yi 2
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Script_Yi[mxCharSet_Script_Yi] = {
\t0x00a000, 0x00a48d, 
};
#endif
#define mxCharSet_Binary_Property 1
#ifndef mxPackedUnicodePropertyTables
#define mxCharSet_Basic_Emoji 4
static const txInteger ICACHE_RODATA_ATTR gxCharSet_Basic_Emoji[mxCharSet_Basic_Emoji] = {
\t0x00231a, 0x00231c,
\t0x0023e9, 0x0023ed,
};
#endif
#define mxStrings_Basic_Emoji 1
static const txString ICACHE_RODATA_ATTR gxStrings_Basic_Emoji[mxStrings_Basic_Emoji] = {
\t\"\\xF0\\x9F\\x9B\\xB3\\xEF\\xB8\\x8F\",
};
#define mxCharSet_Emoji_Keycap_Sequence 0
#define gxCharSet_Emoji_Keycap_Sequence C_NULL
#define mxStrings_Emoji_Keycap_Sequence 1
static const txString ICACHE_RODATA_ATTR gxStrings_Emoji_Keycap_Sequence[mxStrings_Emoji_Keycap_Sequence] = {
\t\"#\\xEF\\xB8\\x8F\\xE2\\x83\\xA3\",
};
#else
void* fxCharSetUnicodeProperty(txPatternParser* parser);
#endif
";

    #[test]
    fn xs17_tables_under_if_and_the_boundaries_of_properties_of_strings_are_read() {
        let tables = parse(SAMPLE_XS17).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Binary_Property_ASCII", "Script_Yi", "Basic_Emoji"]);
        assert_eq!(tables[2].values, [0x231a, 0x231c, 0x23e9, 0x23ed]);
        let (text, packed) = header(&tables).unwrap();
        assert_eq!(packed.tables, 3);
        assert!(text.contains("#define mxCharSet_Basic_Emoji 4\n"), "{text}");
        // An empty set stays XS's own C_NULL.
        assert!(!text.contains("Emoji_Keycap_Sequence"), "{text}");
    }

    #[test]
    fn packing_round_trips_every_width_of_difference() {
        let values = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x4000, 0x1f_ffff, 0x11_0000 - 1, 0x11_0000];
        let mut ascending = values.to_vec();
        ascending.sort_unstable();
        let packed = pack(&ascending);
        assert_eq!(unpack(&packed, ascending.len()).unwrap(), ascending);
        assert_eq!(unpack(&packed[..packed.len() - 1], ascending.len()), None);
        // Small differences take one byte each.
        assert_eq!(pack(&[0x41, 0x5b, 0x61, 0x7b]), [0x41, 0x1a, 0x06, 0x1a]);
    }

    #[test]
    fn the_header_defines_every_name_and_stores_equal_tables_once() {
        let tables = parse(SAMPLE).unwrap();
        let (text, packed) = header(&tables).unwrap();
        // 0x00, 0x80 pack in 3 bytes: 0 then 0x80 as two LEB128 bytes.
        assert_eq!(pack(&tables[0].values), [0x00, 0x80, 0x01]);
        assert_eq!(packed, Packed { tables: 3, values: 8, packed_bytes: 3 + pack(&tables[1].values).len() });
        assert!(text.contains("#define mxCharSet_Script_Yi 4\n"), "{text}");
        assert!(text.contains("#define gxCharSet_Binary_Property_ASCII (gxCharSetPacked + 0)\n"), "{text}");
        assert!(text.contains("#define gxCharSet_Script_Yi (gxCharSetPacked + 3)\n"), "{text}");
        assert!(text.contains("#define gxCharSet_General_Category_ASCII_Too (gxCharSetPacked + 0)\n"), "{text}");
        // Same input, same bytes.
        assert_eq!(header(&tables).unwrap().0, text);
    }

    #[test]
    fn tables_not_in_the_known_shape_are_refused() {
        let wrong_count = SAMPLE.replace("#define mxCharSet_Script_Yi 4", "#define mxCharSet_Script_Yi 3");
        assert!(format!("{:#}", parse(&wrong_count).unwrap_err()).contains("mxCharSet_Script_Yi is 3 but the table holds 4"));
        let descending = SAMPLE.replace("0x00a490", "0x00a400");
        assert!(format!("{:#}", parse(&descending).unwrap_err()).contains("not ascending"));
        assert!(parse("int x;\n").is_err());
    }

    #[test]
    fn a_tree_without_the_sources_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("xs-wasm-unicode-tables-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(generate(&dir).unwrap(), Generated::default());
        assert!(!dir.join(HEADER).exists() && !dir.join(STRING_HEADER).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn decomposition_sample(count1: usize) -> String {
        format!(
            "#define mxDecompositionCount0 6\n#ifndef mxPackedDecompositionIndex\n\
             static const txU2 gxDecompositionIndex0[mxDecompositionCount0] ICACHE_XS6RO_ATTR = {{\n\
             \t0x00A0,0x8000,0x00A8,0x8001,\n\t0xFFFF,0x0003,\n}};\n#endif\n\
             #define mxDecompositionCount1 {count1}\n\
             static const txU2 gxDecompositionIndex1[mxDecompositionCount1] ICACHE_XS6RO_ATTR = {{\n\t0x0781,0x8000,0xFFFF,0x0912,\n}};\n\
             #define mxDecompositionCount2 2\n\
             static const txU2 gxDecompositionIndex2[mxDecompositionCount2] ICACHE_XS6RO_ATTR = {{\n\t0xFFFF,0x06C3,\n}};\n"
        )
    }

    #[test]
    fn decomposition_indexes_are_read_packed_and_unpacked_exactly() {
        let indexes = parse_decomposition_indexes(&decomposition_sample(4)).unwrap();
        assert_eq!(indexes[0], [0x00A0, 0x8000, 0x00A8, 0x8001, 0xFFFF, 0x0003]);
        assert_eq!(indexes[1], [0x0781, 0x8000, 0xFFFF, 0x0912]);
        // Differences: code 0xA0, offset 0 with the flag; code +8, offset +1 with the flag...
        assert_eq!(pack_pairs(&indexes[0][..4]), [0xA0, 0x01, 0x01, 0x08, 0x03]);
        for index in &indexes {
            assert_eq!(unpack_pairs(&pack_pairs(index), index.len()).as_ref(), Some(index));
        }
        // Codes that go down and offsets that wrap still round-trip (modular differences).
        let odd = [0xFFF0, 0x7FFF, 0x0010, 0x8001, 0x0005, 0x0000];
        assert_eq!(unpack_pairs(&pack_pairs(&odd), odd.len()).unwrap(), odd);
        assert_eq!(unpack_pairs(&pack_pairs(&odd)[..2], odd.len()), None);
        let (text, values, packed) = decomposition_header(&indexes).unwrap();
        assert_eq!(values, 12);
        assert!(text.contains("static const txU1 ICACHE_RODATA_ATTR gxDecompositionIndexPacked1["), "{text}");
        assert_eq!(packed, indexes.iter().map(|i| pack_pairs(i).len()).sum::<usize>());
    }

    #[test]
    fn decomposition_indexes_not_in_the_known_shape_are_refused() {
        let err = parse_decomposition_indexes(&decomposition_sample(6)).unwrap_err();
        assert!(format!("{err:#}").contains("mxDecompositionCount1 is 6 but the table holds 4 values"), "{err:#}");
        assert!(parse_decomposition_indexes("#define mxDecompositionCount0 2\n").is_err());
    }
}
