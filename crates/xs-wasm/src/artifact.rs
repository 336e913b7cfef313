//! Artifacts and the manifest that vouches for them.
//!
//! `cargo xtask build` writes `artifacts/manifest.json` (one entry per
//! variant, with the sha256 of every file) and `artifacts/<variant>/xs-wasm.wasm`
//! for the WASI variants this crate runs. Loading an artifact always checks its
//! sha256 against its manifest entry.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The file name of a WASI variant's module inside `artifacts/<variant>/`.
pub const WASI_MODULE_FILE: &str = "xs-wasm.wasm";

/// The file name of a WASI release variant's pre-initialized module inside
/// `artifacts/<variant>/`: the artifact with a default machine already
/// created in its memory (see [`crate::preinit`]).
pub const WASI_PREINIT_FILE: &str = "xs-wasm.preinit.wasm";

/// The parts of `artifacts/manifest.json` this crate reads (unknown fields
/// are ignored, so newer manifests stay readable).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Manifest schema number (1).
    pub schema: u32,
    /// The engine the artifacts were built from.
    pub engine: EngineInfo,
    /// One entry per variant, by variant name (e.g. `"wasi-os"`).
    pub variants: BTreeMap<String, VariantInfo>,
}

/// The pinned engine source.
#[derive(Debug, Clone, Deserialize)]
pub struct EngineInfo {
    /// Upstream repository URL.
    pub upstream: String,
    /// Upstream commit (40 hex digits).
    pub commit: String,
    /// XS version, e.g. `"17.9.1"`.
    pub xs_version: String,
    /// sha256 of the source tree (see configs/moddable.toml).
    pub tree_sha256: String,
}

/// One variant's manifest entry.
#[derive(Debug, Clone, Deserialize)]
pub struct VariantInfo {
    /// `"wasi"` or `"emscripten"`.
    pub toolchain: String,
    /// Tool name to exact version string, e.g. `"zig" -> "0.17.1"`.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    /// Files of the artifact by name (e.g. `"xs-wasm.wasm"`).
    pub files: BTreeMap<String, FileInfo>,
    /// Snapshot sizes measured by the smoke run.
    #[serde(default)]
    pub snapshot: Option<SnapshotSizes>,
    /// The port ABI version (`XS_WASM_ABI_VERSION`).
    #[serde(default)]
    pub abi_version: Option<u32>,
    /// Engine features the variant is built without (the `-lite` variants):
    /// `"regexp-property-escapes"` (`\p{...}` in patterns is a SyntaxError),
    /// `"string-normalize"` (`normalize()` throws a RangeError beyond
    /// Latin-1). Empty for full-featured variants. A snapshot restores only in
    /// a build with the same list: others refuse it with [`Error::Snapshot`](crate::Error::Snapshot).
    #[serde(default)]
    pub lacks: Vec<String>,
}

/// One file of an artifact.
#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    /// Size in bytes.
    pub bytes: u64,
    /// gzip -9 size in bytes.
    #[serde(default)]
    pub gzip: Option<u64>,
    /// brotli (quality 11) size in bytes.
    #[serde(default)]
    pub brotli: Option<u64>,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
}

/// Snapshot sizes recorded by the build's smoke run, in bytes.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct SnapshotSizes {
    /// Snapshot of a freshly created machine.
    pub empty_bytes: u64,
    /// Snapshot of a machine that loaded a library bundle and used it.
    pub bundle_bytes: u64,
}

impl Manifest {
    /// Parse a manifest from JSON text.
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] when `text` is not a manifest (not JSON, or a
    /// required field is missing).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// # const MANIFEST_JSON: &str = r#"{
    /// #     "schema": 1,
    /// #     "engine": { "upstream": "https://github.com/Moddable-OpenSource/moddable", "commit": "48ee02d8", "xs_version": "17.9.1", "tree_sha256": "2007e9d3" },
    /// #     "variants": {
    /// #         "wasi-os": { "toolchain": "wasi", "files": {
    /// #             "xs-wasm.wasm": { "bytes": 1120500, "sha256": "a1b2" },
    /// #             "xs-wasm.preinit.wasm": { "bytes": 1357739, "sha256": "c3d4" } } },
    /// #         "emcc-os": { "toolchain": "emscripten", "files": { "xs-wasm.js": { "bytes": 25908, "sha256": "e5f6" } } }
    /// #     }
    /// # }"#;
    /// use xs_wasm::{Error, Manifest};
    /// let manifest = Manifest::from_json(MANIFEST_JSON)?;
    /// assert_eq!(manifest.engine.xs_version, "17.9.1");
    /// assert!(matches!(Manifest::from_json("{}"), Err(Error::Manifest(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Manifest(format!("cannot parse manifest: {e}")))
    }

    /// Read and parse a manifest file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Manifest`] when it
    /// is not a manifest.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use std::path::Path;
    /// // The repository's artifacts/, after `cargo xtask build`.
    /// let manifest = xs_wasm::Manifest::from_path(Path::new("artifacts/manifest.json"))?;
    /// for (name, variant) in &manifest.variants {
    ///     println!("{name}: {} build", variant.toolchain);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_path(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Self::from_json(&text)
    }

    /// The entry of a WASI variant, as an [`ArtifactInfo`] for its module.
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] when the variant is missing or not WASI.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// # const MANIFEST_JSON: &str = r#"{
    /// #     "schema": 1,
    /// #     "engine": { "upstream": "https://github.com/Moddable-OpenSource/moddable", "commit": "48ee02d8", "xs_version": "17.9.1", "tree_sha256": "2007e9d3" },
    /// #     "variants": {
    /// #         "wasi-os": { "toolchain": "wasi", "files": {
    /// #             "xs-wasm.wasm": { "bytes": 1120500, "sha256": "a1b2" },
    /// #             "xs-wasm.preinit.wasm": { "bytes": 1357739, "sha256": "c3d4" } } },
    /// #         "emcc-os": { "toolchain": "emscripten", "files": { "xs-wasm.js": { "bytes": 25908, "sha256": "e5f6" } } }
    /// #     }
    /// # }"#;
    /// use xs_wasm::{Error, Manifest};
    /// let manifest = Manifest::from_json(MANIFEST_JSON)?;
    /// let info = manifest.wasi_artifact("wasi-os")?;
    /// assert_eq!((info.variant.as_str(), info.sha256.as_str()), ("wasi-os", "a1b2"));
    /// assert!(matches!(manifest.wasi_artifact("emcc-os"), Err(Error::Manifest(_))), "not a WASI build");
    /// assert!(matches!(manifest.wasi_artifact("wasi-oz"), Err(Error::Manifest(_))), "not in the manifest");
    /// # Ok(())
    /// # }
    /// ```
    pub fn wasi_artifact(&self, variant: &str) -> Result<ArtifactInfo> {
        self.wasi_file(variant, WASI_MODULE_FILE)
    }

    /// The pre-initialized module of a WASI release variant
    /// ([`WASI_PREINIT_FILE`]), as an [`ArtifactInfo`].
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] when the variant is missing, not WASI, or
    /// has no pre-initialized module (debug variants, older manifests).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// # const MANIFEST_JSON: &str = r#"{
    /// #     "schema": 1,
    /// #     "engine": { "upstream": "https://github.com/Moddable-OpenSource/moddable", "commit": "48ee02d8", "xs_version": "17.9.1", "tree_sha256": "2007e9d3" },
    /// #     "variants": {
    /// #         "wasi-os": { "toolchain": "wasi", "files": {
    /// #             "xs-wasm.wasm": { "bytes": 1120500, "sha256": "a1b2" },
    /// #             "xs-wasm.preinit.wasm": { "bytes": 1357739, "sha256": "c3d4" } } },
    /// #         "emcc-os": { "toolchain": "emscripten", "files": { "xs-wasm.js": { "bytes": 25908, "sha256": "e5f6" } } }
    /// #     }
    /// # }"#;
    /// use xs_wasm::{Error, Manifest};
    /// let manifest = Manifest::from_json(MANIFEST_JSON)?;
    /// assert_eq!(manifest.wasi_preinit_artifact("wasi-os")?.sha256, "c3d4");
    /// assert!(matches!(manifest.wasi_preinit_artifact("emcc-os"), Err(Error::Manifest(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn wasi_preinit_artifact(&self, variant: &str) -> Result<ArtifactInfo> {
        self.wasi_file(variant, WASI_PREINIT_FILE)
    }

    pub(crate) fn wasi_file(&self, variant: &str, name: &str) -> Result<ArtifactInfo> {
        let entry = self.variants.get(variant).ok_or_else(|| {
            let known: Vec<&str> = self.variants.keys().map(String::as_str).collect();
            Error::Manifest(format!("no variant {variant:?} in the manifest (it has: {})", known.join(", ")))
        })?;
        if entry.toolchain != "wasi" {
            return Err(Error::Manifest(format!("variant {variant:?} is a {} build; this crate runs WASI builds", entry.toolchain)));
        }
        let file = entry.files.get(name).ok_or_else(|| Error::Manifest(format!("variant {variant:?} has no {name}")))?;
        Ok(ArtifactInfo {
            variant: variant.to_owned(),
            sha256: file.sha256.clone(),
            bytes: file.bytes,
            xs_version: Some(self.engine.xs_version.clone()),
            engine_commit: Some(self.engine.commit.clone()),
            tools: entry.tools.clone(),
            snapshot: entry.snapshot,
            lacks: entry.lacks.clone(),
        })
    }
}

/// What is known about one WASI module: which variant it is and the sha256
/// it must have. Comes from a [`Manifest`] (or, for a module being built,
/// from [`ArtifactInfo::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    /// Variant name, e.g. `"wasi-os"`.
    pub variant: String,
    /// Expected sha256 of the module, lowercase hex.
    pub sha256: String,
    /// Expected size in bytes (informational).
    pub bytes: u64,
    /// XS version, e.g. `"17.9.1"`, when known.
    pub xs_version: Option<String>,
    /// Upstream engine commit, when known.
    pub engine_commit: Option<String>,
    /// Tools that built the module and their versions.
    pub tools: BTreeMap<String, String>,
    /// Snapshot sizes measured by the build, when known.
    pub snapshot: Option<SnapshotSizes>,
    /// Engine features the module is built without (see
    /// [`VariantInfo::lacks`]); empty for full-featured builds and when unknown.
    pub lacks: Vec<String>,
}

impl PartialEq for SnapshotSizes {
    fn eq(&self, other: &Self) -> bool {
        self.empty_bytes == other.empty_bytes && self.bundle_bytes == other.bundle_bytes
    }
}
impl Eq for SnapshotSizes {}

impl ArtifactInfo {
    /// A minimal record: variant name and expected sha256 (hex).
    pub fn new(variant: impl Into<String>, sha256: impl Into<String>) -> Self {
        ArtifactInfo {
            variant: variant.into(),
            sha256: sha256.into().to_ascii_lowercase(),
            bytes: 0,
            xs_version: None,
            engine_commit: None,
            tools: BTreeMap::new(),
            snapshot: None,
            lacks: Vec::new(),
        }
    }

    /// Check `bytes` against the expected sha256.
    ///
    /// # Errors
    ///
    /// [`Error::ArtifactMismatch`] naming both hashes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{sha256_hex, ArtifactInfo, Error};
    /// let info = ArtifactInfo::new("wasi-os", sha256_hex(b"the module's bytes"));
    /// info.verify(b"the module's bytes")?;
    /// assert!(matches!(info.verify(b"other bytes"), Err(Error::ArtifactMismatch { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        let actual = sha256_hex(bytes);
        if actual != self.sha256 {
            return Err(Error::ArtifactMismatch { variant: self.variant.clone(), expected: self.sha256.clone(), actual });
        }
        Ok(())
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}
