//! `port/xs_wasm.h` read as data: the ABI version, the status codes, the
//! creation struct, the creation flags, the lacks bits and the exported
//! functions. A reader for this header's own plain style (one declaration
//! per statement, `/* */` comments after the item they describe), not for C
//! in general: anything it does not recognise in the parts it reads is an
//! error naming it, never skipped.

use anyhow::{bail, Context, Result};

/// A `#define` or enum constant: its C name, value and trailing comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    /// The C name, e.g. `XS_WASM_JS_ERROR`.
    pub name: String,
    pub value: i64,
    /// The comment after it (whitespace collapsed; may be empty).
    pub doc: String,
}

/// A C scalar type of the ABI, as wasm32 passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmType {
    /// `int32_t`.
    I32,
    /// `uint32_t`, `size_t` and every pointer (wasm32 addresses).
    U32,
    /// `double`.
    F64,
}

impl WasmType {
    /// The wasm32 type of the C type `c` (`None` for `void`).
    fn of(c: &str) -> Result<Option<WasmType>> {
        let c = c.trim();
        Ok(Some(match c {
            "void" => return Ok(None),
            "int32_t" => WasmType::I32,
            "uint32_t" | "size_t" => WasmType::U32,
            "double" => WasmType::F64,
            _ if c.ends_with('*') => WasmType::U32,
            _ => bail!("C type `{c}` has no wasm32 mapping in the ABI reader (xtask/src/codegen/header.rs)"),
        }))
    }
}

/// A field of `xs_wasm_creation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The C name, e.g. `initial_chunk_size`.
    pub name: String,
    /// `int32_t` or `uint32_t`.
    pub signed: bool,
    /// Byte offset in the struct.
    pub offset: u32,
    /// The comment after it.
    pub doc: String,
}

/// An exported function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The C name, e.g. `xs_wasm_eval`.
    pub name: String,
    pub params: Vec<WasmType>,
    /// `None` for `void`.
    pub result: Option<WasmType>,
    /// The C declaration, whitespace collapsed.
    pub prototype: String,
}

/// What hosts need of `port/xs_wasm.h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `XS_WASM_ABI_VERSION`.
    pub abi_version: u32,
    /// `XS_WASM_SNAPSHOT_FORMAT`.
    pub snapshot_format: u32,
    /// `XS_WASM_SNAPSHOT_HEADER_SIZE`.
    pub snapshot_header_size: u32,
    /// `xs_wasm_status`, in order.
    pub statuses: Vec<Constant>,
    /// The comment before `typedef struct` of `xs_wasm_creation`.
    pub creation_doc: String,
    /// `xs_wasm_creation`, in order.
    pub creation: Vec<Field>,
    /// The `XS_WASM_CREATE_*` flags.
    pub create_flags: Vec<Constant>,
    /// The `XS_WASM_LACKS_*` bits.
    pub lacks: Vec<Constant>,
    /// The `XS_WASM_MODULE_*` kinds (host_load's `kind`).
    pub module_kinds: Vec<Constant>,
    /// Every function the header declares (the exports), in order.
    pub exports: Vec<Function>,
}

/// The trimmed text of a comment body, whitespace collapsed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` with every `/* */` comment replaced by one space.
fn strip_comments(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        out.push(' ');
        let end = rest[start..].find("*/").context("unterminated comment in the header")?;
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An integer literal (decimal or `0x` hex).
fn integer(text: &str) -> Result<i64> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.with_context(|| format!("`{t}` is not an integer literal"))
}

/// Every `#define XS_WASM_<name> <integer>` (with its trailing comment).
fn defines(text: &str) -> Result<Vec<Constant>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("#define ") else { continue };
        let (code, doc) = match rest.split_once("/*") {
            Some((code, comment)) => (code, collapse(comment.trim_end().trim_end_matches("*/"))),
            None => (rest, String::new()),
        };
        let mut words = code.split_whitespace();
        let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else { continue };
        if name.starts_with("XS_WASM_") {
            out.push(Constant { name: name.to_owned(), value: integer(value).with_context(|| format!("#define {name}"))?, doc });
        }
    }
    Ok(out)
}

/// The body of `typedef <kind> { ... } <name>;` and the comment just before it.
fn typedef_body<'a>(text: &'a str, kind: &str, name: &str) -> Result<(&'a str, String)> {
    let close = format!("}} {name};");
    let end = text.find(&close).with_context(|| format!("no `typedef {kind} {{ ... }} {name};`"))?;
    let open = format!("typedef {kind} {{");
    let start = text[..end].rfind(&open).with_context(|| format!("no `typedef {kind} {{` before `{close}`"))?;
    let before = text[..start].trim_end();
    let doc = match before.strip_suffix("*/") {
        Some(b) => collapse(&b[b.rfind("/*").map_or(0, |i| i + 2)..]),
        None => String::new(),
    };
    Ok((&text[start + open.len()..end], doc))
}

/// The items of a typedef body: each item's code (up to `separator`) and
/// the comments that follow it.
fn items(body: &str, separator: char) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        if let Some(comment) = rest.strip_prefix("/*") {
            let end = comment.find("*/").context("unterminated comment")?;
            let last = out.last_mut().context("a comment before the first item")?;
            last.1 = collapse(&format!("{} {}", last.1, &comment[..end]));
            rest = comment[end + 2..].trim_start();
            continue;
        }
        let end = rest.find([separator, '/']).unwrap_or(rest.len());
        let code = rest[..end].trim();
        if code.is_empty() {
            bail!("unexpected text in a typedef: {:?}", &rest[..rest.len().min(40)]);
        }
        out.push((code.to_owned(), String::new()));
        rest = rest[end..].strip_prefix(separator).unwrap_or(&rest[end..]).trim_start();
    }
    Ok(out)
}

/// `xs_wasm_status`: `NAME = value` entries.
fn statuses(text: &str) -> Result<Vec<Constant>> {
    let (body, _) = typedef_body(text, "enum", "xs_wasm_status")?;
    items(body, ',')?
        .into_iter()
        .map(|(code, doc)| {
            let (name, value) = code.split_once('=').with_context(|| format!("xs_wasm_status entry `{code}` has no explicit value"))?;
            Ok(Constant { name: name.trim().to_owned(), value: integer(value)?, doc })
        })
        .collect()
}

/// `xs_wasm_creation`: 32-bit integer fields, in order.
fn creation(text: &str) -> Result<(Vec<Field>, String)> {
    let (body, doc) = typedef_body(text, "struct", "xs_wasm_creation")?;
    let mut fields = Vec::new();
    for (i, (code, doc)) in items(body, ';')?.into_iter().enumerate() {
        let (ty, name) = code.rsplit_once(char::is_whitespace).with_context(|| format!("xs_wasm_creation field `{code}`"))?;
        let signed = match ty.trim() {
            "int32_t" => true,
            "uint32_t" => false,
            other => bail!("xs_wasm_creation field `{name}` is a `{other}`: the ABI reader knows int32_t and uint32_t fields"),
        };
        fields.push(Field { name: name.to_owned(), signed, offset: 4 * i as u32, doc });
    }
    Ok((fields, doc))
}

/// `decl` split into its type and its trailing identifier
/// (`const char* json` is `("const char*", "json")`).
fn type_and_name(decl: &str) -> (&str, &str) {
    let decl = decl.trim();
    let start = decl.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    (decl[..start].trim(), &decl[start..])
}

/// One function declaration `ret name(type name, ...)`.
fn function(statement: &str) -> Result<Function> {
    let open = statement.find('(').context("no parameter list")?;
    let (ret, name) = type_and_name(&statement[..open]);
    let params = statement[open + 1..].strip_suffix(')').context("no `)` at the end")?;
    let mut types = Vec::new();
    for param in params.split(',').map(str::trim).filter(|p| *p != "void") {
        let (ty, _) = type_and_name(param);
        types.push(WasmType::of(ty)?.with_context(|| format!("parameter `{param}`"))?);
    }
    Ok(Function { name: name.to_owned(), params: types, result: WasmType::of(ret)?, prototype: format!("{statement};") })
}

/// The function declarations outside comments, typedefs and preprocessor lines.
fn functions(text: &str) -> Result<Vec<Function>> {
    let code = strip_comments(text)?;
    let code: Vec<&str> = code.lines().map(str::trim).filter(|l| !l.starts_with('#') && *l != "extern \"C\" {" && *l != "}").collect();
    let mut out = Vec::new();
    for statement in code.join("\n").split(';').map(collapse) {
        if statement.contains('(') && !statement.contains("typedef") {
            out.push(function(&statement).with_context(|| format!("declaration `{statement}`"))?);
        }
    }
    Ok(out)
}

/// The value of the define `name`, which must be there.
fn define(all: &[Constant], name: &str) -> Result<u32> {
    let c = all.iter().find(|c| c.name == name).with_context(|| format!("no `#define {name} <n>`"))?;
    u32::try_from(c.value).with_context(|| format!("{name} = {} is not a u32", c.value))
}

impl Header {
    /// Read the header's text.
    pub fn parse(text: &str) -> Result<Header> {
        let all = defines(text)?;
        let prefixed = |prefix: &str| all.iter().filter(|c| c.name.starts_with(prefix)).cloned().collect::<Vec<_>>();
        let (creation, creation_doc) = creation(text)?;
        let header = Header {
            abi_version: define(&all, "XS_WASM_ABI_VERSION")?,
            snapshot_format: define(&all, "XS_WASM_SNAPSHOT_FORMAT")?,
            snapshot_header_size: define(&all, "XS_WASM_SNAPSHOT_HEADER_SIZE")?,
            statuses: statuses(text)?,
            creation_doc,
            creation,
            create_flags: prefixed("XS_WASM_CREATE_"),
            lacks: prefixed("XS_WASM_LACKS_"),
            module_kinds: prefixed("XS_WASM_MODULE_"),
            exports: functions(text)?,
        };
        if header.exports.iter().any(|f| !f.name.starts_with("xs_wasm_")) {
            bail!("every declared function is an export named xs_wasm_*");
        }
        Ok(header)
    }

    /// Read `path`.
    pub fn load(path: &std::path::Path) -> Result<Header> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Header::parse(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// The name of a lacks bit as the manifest and `variants.toml` spell it
    /// (`XS_WASM_LACKS_STRING_NORMALIZE` is `string-normalize`).
    pub fn lacks_name(constant: &Constant) -> String {
        constant.name.trim_start_matches("XS_WASM_LACKS_").to_ascii_lowercase().replace('_', "-")
    }
}
