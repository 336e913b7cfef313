//! The record a pre-initialized module carries, and the checks of a module
//! against the artifact it names (what a [`Runtime`](crate::Runtime) reads
//! before it compiles anything; making one is [`super::make`]'s).

use serde::{Deserialize, Serialize};
use wasmparser::{Parser, Payload};

use crate::abi::CREATION_FIELDS;
use crate::artifact::sha256_hex;
use crate::error::{Error, Result};

/// Name of the custom section that describes a pre-initialized module.
pub const PREINIT_SECTION: &str = "xs-wasm-preinit";

/// Format number of [`PreinitInfo`].
pub const PREINIT_FORMAT: u32 = 1;

/// The record a pre-initialized module carries (custom section
/// [`PREINIT_SECTION`], JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreinitInfo {
    /// [`PREINIT_FORMAT`].
    pub format: u32,
    /// Variant of the artifact it was made from.
    pub variant: String,
    /// sha256 (hex) of the artifact it was made from.
    pub base_sha256: String,
    /// sha256 (hex) of the code section, equal to that of the artifact.
    pub code_sha256: String,
    /// sha256 (hex) of every section but this record, in order: detects a
    /// module changed after it was made.
    pub module_sha256: String,
    /// Creation parameters of the kept machine, in `xs_wasm_creation` order
    /// (0: the port's default). A [`Machine::new`](crate::Machine::new) with
    /// the same [`Creation`](crate::Creation) (and no test262 host) gets that machine.
    pub creation: [u32; CREATION_FIELDS],
    /// sha256 (hex) of the setup scripts, each followed by a NUL byte;
    /// `None` when no setup code ran.
    pub setup_sha256: Option<String>,
}

/// The sections of a module, read with wasmparser: the record (if any), the
/// sha256 of the code section, and the sha256 of every other section but the
/// record (ids, sizes and contents, in order).
pub(crate) struct ModuleDigest {
    pub record: Option<PreinitInfo>,
    pub code_sha256: String,
    pub module_sha256: String,
}

/// The pre-initialization record of `bytes`, if it has one (sections are
/// walked, nothing is hashed). A module made from a pre-initialized one
/// holds both records; the last is its own.
///
/// Errors: as [`digest`].
pub(crate) fn record(bytes: &[u8]) -> Result<Option<PreinitInfo>> {
    let mut record = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| Error::Incompatible(format!("not a wasm module: {e}")))?;
        if let Payload::CustomSection(reader) = &payload {
            if reader.name() == PREINIT_SECTION {
                record = Some(parse_record(reader.data())?);
            }
        }
    }
    Ok(record)
}

fn parse_record(data: &[u8]) -> Result<PreinitInfo> {
    let info: PreinitInfo = serde_json::from_slice(data).map_err(|e| Error::Incompatible(format!("bad {PREINIT_SECTION} section: {e}")))?;
    if info.format != PREINIT_FORMAT {
        return Err(Error::Incompatible(format!("{PREINIT_SECTION} format {} (this crate reads {PREINIT_FORMAT})", info.format)));
    }
    Ok(info)
}

/// Read `bytes` as a wasm module: digests and the pre-initialization record.
///
/// Errors: [`Error::Incompatible`] for bytes that are not a module, or a
/// record that is not valid JSON of the known format.
pub(crate) fn digest(bytes: &[u8]) -> Result<ModuleDigest> {
    use sha2::{Digest, Sha256};
    let bad = |e: wasmparser::BinaryReaderError| Error::Incompatible(format!("not a wasm module: {e}"));
    let mut module = Sha256::new();
    let mut code = None;
    let mut record = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(bad)?;
        if let Payload::CustomSection(reader) = &payload {
            if reader.name() == PREINIT_SECTION {
                record = Some(parse_record(reader.data())?);
                continue;
            }
        }
        if let Payload::CodeSectionStart { range, .. } = &payload {
            code = Some(sha256_hex(&bytes[range.clone()]));
        }
        if let Some((id, range)) = payload.as_section() {
            module.update([id]);
            module.update((range.len() as u64).to_le_bytes());
            module.update(&bytes[range]);
        }
    }
    let module_sha256 = module.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(ModuleDigest { record, code_sha256: code.unwrap_or_default(), module_sha256 })
}

/// Check a pre-initialized module against the artifact it claims to come
/// from: its record names `base` (sha256), its code section is `base`'s, and
/// the rest of the module is what was recorded when it was made.
///
/// Errors: [`Error::Incompatible`] naming the first check that fails.
pub(crate) fn check_against(module: &ModuleDigest, base_sha256: &str, base_code_sha256: &str) -> Result<PreinitInfo> {
    let Some(record) = &module.record else {
        return Err(Error::Incompatible(format!("not a pre-initialized module: no {PREINIT_SECTION} section")));
    };
    if record.base_sha256 != base_sha256 {
        return Err(Error::Incompatible(format!("the module was made from artifact {}, not from {base_sha256}", record.base_sha256)));
    }
    if module.code_sha256 != base_code_sha256 || record.code_sha256 != base_code_sha256 {
        return Err(Error::Incompatible(format!("the module's code (sha256 {}) is not that of artifact {base_sha256}", module.code_sha256)));
    }
    if module.module_sha256 != record.module_sha256 {
        return Err(Error::Incompatible(format!("the module was changed after it was made (sections sha256 {}, recorded {})", module.module_sha256, record.module_sha256)));
    }
    Ok(record.clone())
}
