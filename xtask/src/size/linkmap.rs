//! wasm-ld's link map (`--Map`, `-Wl,--print-map`): which input (object or
//! archive member) each function and data chunk comes from.

use anyhow::{bail, Context, Result};

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
pub(super) enum MapSection {
    Code,
    Data,
    Other,
}

/// One line of a link map: `Addr Off Size` then the indented name.
pub(super) struct MapLine<'a> {
    pub(super) address: Option<u64>,
    pub(super) size: u64,
    pub(super) name: &'a str,
    /// The indentation level (8 spaces each).
    pub(super) depth: usize,
}

/// Split line `n` (0-based) of a link map into its fields.
pub(super) fn map_line(n: usize, line: &str) -> Result<MapLine<'_>> {
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
pub(super) fn output_section(name: &str, section: MapSection) -> MapSection {
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
pub(super) fn push_input_chunk(map: &mut LinkMap, code: bool, name: &str, address: Option<u64>, size: u64) -> (bool, usize) {
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
