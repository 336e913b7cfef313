//! The layout of a module: its function bodies (with a content hash that
//! ignores call targets and global indices) and data segments.

use std::collections::HashMap;
use std::ops::Range;

use anyhow::{Context, Result};
use wasmparser::{DataKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef};

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
pub(super) fn leb_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The [`FunctionBody::shape`] of a body: its locals and instructions,
/// hashed, with the module-level indices of calls and globals left out.
pub(super) fn shape(wasm: &[u8], body: &wasmparser::FunctionBody) -> Result<u64> {
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
pub(super) fn whole_section(range: &Range<usize>) -> Range<usize> {
    let len = (range.end - range.start) as u64;
    range.start - 1 - leb_len(len)..range.end
}

/// One function body (its size field included), still unnamed.
pub(super) fn function_body(wasm: &[u8], body: &wasmparser::FunctionBody) -> Result<FunctionBody> {
    let range = body.range();
    let start = range.start - leb_len((range.end - range.start) as u64);
    let shape = shape(wasm, body).with_context(|| format!("function body at offset {}", range.start))?;
    Ok(FunctionBody { name: None, range: start..range.end, shape })
}

/// One data segment: its memory address (active segments with a constant
/// offset) and where its bytes are in the module.
pub(super) fn data_segment(wasm: &[u8], data: &wasmparser::Data) -> Result<DataSegment> {
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
pub(super) fn function_names(custom: &wasmparser::CustomSectionReader, names: &mut HashMap<u32, String>) {
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
