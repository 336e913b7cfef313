//! `artifacts/manifest.json` and `artifacts/SHA256SUMS`.
//!
//! The manifest is byte-stable: keys sorted, 2-space indent, trailing newline,
//! no timestamps and no absolute paths. Building a subset of the variants
//! replaces only their entries.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Configs;
use crate::measure::{thousands, Sizes};

/// The manifest schema this xtask writes.
pub const SCHEMA: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema number ([`SCHEMA`]).
    pub schema: u32,
    /// The engine every artifact was built from.
    pub engine: EngineRecord,
    /// The bundle the smoke run loads.
    pub smoke_bundle: SmokeBundleRecord,
    /// One entry per variant, by name.
    pub variants: BTreeMap<String, VariantRecord>,
}

/// The pinned engine (mirror-independent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineRecord {
    /// "Moddable XS".
    pub name: String,
    /// Upstream repository URL.
    pub upstream: String,
    /// Upstream commit.
    pub commit: String,
    /// XS version.
    pub xs_version: String,
    /// SPDX license of the engine sources.
    pub license: String,
    /// Tree hash of the fetched sources (configs/moddable.toml).
    pub tree_sha256: String,
    /// Tree hash after configs/patches/*.patch, when there are patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patched_tree_sha256: Option<String>,
}

/// The smoke-run bundle's package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeBundleRecord {
    /// npm package name.
    pub npm_package: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the package tarball.
    pub sha256: String,
}

/// One variant's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRecord {
    /// "emscripten" or "wasi".
    pub toolchain: String,
    /// Tool name → exact version of every tool that made the artifact.
    pub tools: BTreeMap<String, String>,
    /// The exact flags (paths repository-relative; `{repo}` stands for the
    /// repository's absolute path in the prefix-map flags).
    pub flags: FlagsRecord,
    /// Whether the wasm-opt pass ran.
    pub release: bool,
    /// Emscripten output form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// The files in `artifacts/<variant>/`, by name.
    pub files: BTreeMap<String, FileRecord>,
    /// Snapshot sizes from the smoke run, in bytes.
    pub snapshot: SnapshotRecord,
    /// `XS_WASM_ABI_VERSION` of the port.
    pub abi_version: u32,
    /// Engine features the variant is built without (`-lite` variants, e.g.
    /// `["regexp-property-escapes", "string-normalize"]`); absent for
    /// full-featured variants. Snapshots do not move between variants whose
    /// lists differ: restore refuses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacks: Vec<String>,
}

/// The flags of one variant, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagsRecord {
    /// Flags of every C compile.
    pub cflags: Vec<String>,
    /// Added for XS sources.
    pub cflags_xs: Vec<String>,
    /// Added for port sources.
    pub cflags_port: Vec<String>,
    /// Flags for assembly sources (WASI only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asmflags: Vec<String>,
    /// Link flags, before the (sorted) objects.
    pub ldflags: Vec<String>,
    /// Libraries, after the objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
    /// wasm-opt flags (release variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wasm_opt: Vec<String>,
}

/// One file of an artifact. Sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Size in bytes.
    pub bytes: u64,
    /// gzip -9 size in bytes.
    pub gzip: u64,
    /// brotli (quality 11) size in bytes.
    pub brotli: u64,
    /// sha256, lowercase hex.
    pub sha256: String,
    /// Sizes before the wasm-opt pass (only for files the pass changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_wasm_opt: Option<Sizes>,
}

/// Snapshot sizes measured by the smoke run, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Snapshot of a fresh machine.
    pub empty_bytes: u64,
    /// Snapshot after loading the bundle and parsing with it.
    pub bundle_bytes: u64,
}

impl Manifest {
    /// An empty manifest for the configured engine and smoke bundle.
    pub fn new(configs: &Configs, patched_tree: &str) -> Manifest {
        let mut m = Manifest {
            schema: SCHEMA,
            engine: EngineRecord {
                name: String::new(),
                upstream: String::new(),
                commit: String::new(),
                xs_version: String::new(),
                license: String::new(),
                tree_sha256: String::new(),
                patched_tree_sha256: None,
            },
            smoke_bundle: SmokeBundleRecord { npm_package: String::new(), version: String::new(), sha256: String::new() },
            variants: BTreeMap::new(),
        };
        m.set_header(configs, patched_tree);
        m
    }

    /// Refresh the top-level engine and smoke-bundle records from the configuration.
    pub fn set_header(&mut self, configs: &Configs, patched_tree: &str) {
        let e = &configs.moddable.engine;
        self.schema = SCHEMA;
        self.engine = EngineRecord {
            name: e.name.clone(),
            upstream: e.upstream.clone(),
            commit: e.commit.clone(),
            xs_version: e.xs_version.clone(),
            license: e.license.clone(),
            tree_sha256: e.tree_sha256.clone(),
            patched_tree_sha256: (patched_tree != e.tree_sha256).then(|| patched_tree.to_owned()),
        };
        let s = &configs.variants.smoke;
        self.smoke_bundle = SmokeBundleRecord { npm_package: s.npm_package.clone(), version: s.version.clone(), sha256: s.sha256.clone() };
    }

    /// Read a manifest; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Manifest>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let m: Manifest = serde_json::from_str(&text).with_context(|| format!("cannot parse {} (delete it and rebuild all variants)", path.display()))?;
        Ok(Some(m))
    }

    /// Replace (or add) one variant's entry, keeping the others.
    pub fn merge(&mut self, name: &str, record: VariantRecord) {
        self.variants.insert(name.to_owned(), record);
    }

    /// The canonical JSON text: sorted keys, 2-space indent, trailing newline.
    /// The keys are sorted because the manifest goes through a
    /// `serde_json::Value`, whose maps are `BTreeMap`s while serde_json's
    /// `preserve_order` feature is off (as in this workspace: the tests below
    /// fail if it is ever turned on).
    pub fn to_json(&self) -> String {
        let value = serde_json::to_value(self).expect("manifest serializes");
        let mut out = serde_json::to_string_pretty(&value).expect("a JSON value prints");
        out.push('\n');
        out
    }

    /// `SHA256SUMS`: `<sha256>  <variant>/<file>` per file, sorted by path, for `sha256sum -c`.
    pub fn sha256sums(&self) -> String {
        let mut lines: Vec<(String, &str)> = self
            .variants
            .iter()
            .flat_map(|(v, r)| r.files.iter().map(move |(f, rec)| (format!("{v}/{f}"), rec.sha256.as_str())))
            .collect();
        lines.sort();
        lines.iter().map(|(path, sha)| format!("{sha}  {path}\n")).collect()
    }

    /// Write `manifest.json` and `SHA256SUMS` into `dir` (atomically each).
    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::util::write_atomic(&dir.join("manifest.json"), self.to_json().as_bytes())?;
        crate::util::write_atomic(&dir.join("SHA256SUMS"), self.sha256sums().as_bytes())
    }

    /// The size table of `variants` (in that order): one row per file.
    pub fn size_table(&self, variants: &[&str]) -> String {
        let header = ["variant", "file", "raw", "gzip", "brotli", "wasm-opt (raw)", "empty snapshot", "bundle snapshot"];
        let mut rows: Vec<[String; 8]> = Vec::new();
        for name in variants {
            let Some(v) = self.variants.get(*name) else { continue };
            for (file, f) in &v.files {
                let opt = match &f.before_wasm_opt {
                    Some(b) => format!("{} -> {}", thousands(b.bytes), thousands(f.bytes)),
                    None => "-".to_owned(),
                };
                rows.push([
                    name.to_string(),
                    file.clone(),
                    thousands(f.bytes),
                    thousands(f.gzip),
                    thousands(f.brotli),
                    opt,
                    thousands(v.snapshot.empty_bytes),
                    thousands(v.snapshot.bundle_bytes),
                ]);
            }
        }
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i < 2 {
                    out.push_str(&format!("{cell:<w$}"));
                } else {
                    out.push_str(&format!("{cell:>w$}"));
                }
                out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
            }
        };
        line(&header.map(str::to_owned), &mut out);
        line(&widths.map(|w| "-".repeat(w)), &mut out);
        for row in &rows {
            line(row, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sha: &str) -> VariantRecord {
        let mut files = BTreeMap::new();
        files.insert(
            "xs-wasm.wasm".to_owned(),
            FileRecord { bytes: 10, gzip: 8, brotli: 7, sha256: sha.to_owned(), before_wasm_opt: Some(Sizes { bytes: 12, gzip: 9, brotli: 8 }) },
        );
        let mut tools = BTreeMap::new();
        tools.insert("zig".into(), "0.17.1".into());
        VariantRecord {
            toolchain: "wasi".into(),
            tools,
            flags: FlagsRecord {
                cflags: vec!["-Os".into()],
                cflags_xs: vec![],
                cflags_port: vec!["-Wall".into()],
                asmflags: vec![],
                ldflags: vec!["-mexec-model=reactor".into()],
                libs: vec!["-lsetjmp".into()],
                wasm_opt: vec!["-Os".into()],
            },
            release: true,
            form: None,
            files,
            snapshot: SnapshotRecord { empty_bytes: 100, bundle_bytes: 200 },
            abi_version: 1,
            lacks: vec![],
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            schema: SCHEMA,
            engine: EngineRecord {
                name: "Moddable XS".into(),
                upstream: "u".into(),
                commit: "c".into(),
                xs_version: "13.3.0".into(),
                license: "LGPL-3.0-or-later".into(),
                tree_sha256: "t".into(),
                patched_tree_sha256: None,
            },
            smoke_bundle: SmokeBundleRecord { npm_package: "acorn".into(), version: "8.15.0".into(), sha256: "s".into() },
            variants: BTreeMap::new(),
        }
    }

    #[test]
    fn manifest_json_is_byte_stable_sorted_and_roundtrips() {
        let mut m = manifest();
        m.merge("wasi-os", record("aa"));
        m.merge("emcc-os", record("bb"));
        let json = m.to_json();
        assert_eq!(json, m.to_json());
        assert!(json.ends_with("}\n"));
        assert!(json.starts_with("{\n  \"engine\": {\n    \"commit\": \"c\","), "{json}");
        // keys sorted at every level
        let abi = json.find("\"abi_version\"").unwrap();
        let files = json.find("\"files\"").unwrap();
        let tools = json.find("\"tools\"").unwrap();
        assert!(abi < files && files < tools);
        assert!(json.find("\"emcc-os\"").unwrap() < json.find("\"wasi-os\"").unwrap());
        assert!(!json.contains("patched_tree_sha256"), "absent options are omitted");
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_json(), json);
    }

    /// The exact text `manifest_json_is_exactly_this_text` expects.
    const EXPECTED_MANIFEST: &str = r#"{
  "engine": {
    "commit": "c",
    "license": "LGPL-3.0-or-later",
    "name": "Moddable XS",
    "tree_sha256": "t",
    "upstream": "u",
    "xs_version": "13.3.0"
  },
  "schema": 1,
  "smoke_bundle": {
    "npm_package": "acorn",
    "sha256": "s",
    "version": "8.15.0"
  },
  "variants": {
    "wasi-os": {
      "abi_version": 1,
      "files": {
        "xs-wasm.wasm": {
          "before_wasm_opt": {
            "brotli": 8,
            "bytes": 12,
            "gzip": 9
          },
          "brotli": 7,
          "bytes": 10,
          "gzip": 8,
          "sha256": "aa"
        }
      },
      "flags": {
        "cflags": [
          "-Os"
        ],
        "cflags_port": [
          "-Wall"
        ],
        "cflags_xs": [],
        "ldflags": [
          "-mexec-model=reactor"
        ],
        "libs": [
          "-lsetjmp"
        ],
        "wasm_opt": [
          "-Os"
        ]
      },
      "form": "esm \"single\" file",
      "release": true,
      "snapshot": {
        "bundle_bytes": 200,
        "empty_bytes": 100
      },
      "toolchain": "wasi",
      "tools": {}
    }
  }
}
"#;

    #[test]
    fn manifest_json_is_exactly_this_text() {
        let mut m = manifest();
        let mut r = record("aa");
        r.tools.clear();
        r.form = Some("esm \"single\" file".into());
        m.merge("wasi-os", r);
        let expected = EXPECTED_MANIFEST;
        assert_eq!(m.to_json(), expected);
    }

    /// The committed manifest was written by earlier versions of this code:
    /// reading it and writing it again must give the same bytes (same fields,
    /// same key order, same formatting).
    #[test]
    fn the_committed_manifest_re_renders_byte_identically() {
        let path = crate::util::repo_root().join("artifacts/manifest.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let m = Manifest::load(&path).unwrap().expect("the committed manifest exists");
        let again = m.to_json();
        if again != text {
            let at = crate::diff::first_difference(again.as_bytes(), text.as_bytes());
            panic!("artifacts/manifest.json re-renders differently from byte {at}: {}", crate::diff::describe("manifest.json", text.as_bytes(), again.as_bytes()));
        }
    }

    #[test]
    fn merge_keeps_the_other_variants() {
        let mut m = manifest();
        m.merge("wasi-os", record("aa"));
        m.merge("emcc-os", record("bb"));
        m.merge("wasi-os", record("cc"));
        assert_eq!(m.variants.len(), 2);
        assert_eq!(m.variants["emcc-os"].files["xs-wasm.wasm"].sha256, "bb");
        assert_eq!(m.variants["wasi-os"].files["xs-wasm.wasm"].sha256, "cc");
    }

    #[test]
    fn sha256sums_lines_are_sorted_by_path_in_sha256sum_format() {
        let mut m = manifest();
        m.merge("wasi-os", record(&"1".repeat(64)));
        let mut r = record(&"2".repeat(64));
        r.files.insert("xs-wasm.js".into(), FileRecord { bytes: 1, gzip: 1, brotli: 1, sha256: "0".repeat(64), before_wasm_opt: None });
        m.merge("emcc-os", r);
        let sums = m.sha256sums();
        let expected = format!("{}  emcc-os/xs-wasm.js\n{}  emcc-os/xs-wasm.wasm\n{}  wasi-os/xs-wasm.wasm\n", "0".repeat(64), "2".repeat(64), "1".repeat(64));
        assert_eq!(sums, expected);
    }

    #[test]
    fn the_loader_crate_can_read_what_we_write() {
        let mut m = manifest();
        m.merge("wasi-os", record(&"1".repeat(64)));
        let parsed = xs_wasm::Manifest::from_json(&m.to_json()).unwrap();
        let info = parsed.wasi_artifact("wasi-os").unwrap();
        assert_eq!(info.sha256, "1".repeat(64));
        assert_eq!(info.snapshot.map(|s| s.bundle_bytes), Some(200));
        assert!(info.lacks.is_empty());
    }

    #[test]
    fn the_size_table_has_a_row_per_file_of_the_named_variants_in_their_order() {
        let mut m = manifest();
        m.merge("wasi-os", record(&"1".repeat(64)));
        m.merge("wasi-oz", VariantRecord { snapshot: SnapshotRecord { empty_bytes: 1_234_567, bundle_bytes: 2 }, ..record(&"2".repeat(64)) });
        let table = m.size_table(&["wasi-oz", "wasi-os", "not-built"]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("variant") && lines[0].ends_with("bundle snapshot"), "{table}");
        assert!(lines[2].starts_with("wasi-oz ") && lines[2].contains("12 -> 10") && lines[2].contains("1,234,567"), "{table}");
        assert!(lines[3].starts_with("wasi-os "), "{table}");
    }

    #[test]
    fn lacks_is_written_only_for_lite_variants_and_reaches_the_loader_crate() {
        let mut m = manifest();
        m.merge("wasi-os", record(&"1".repeat(64)));
        m.merge("wasi-oz-lite", VariantRecord { lacks: vec!["regexp-property-escapes".into(), "string-normalize".into()], ..record(&"2".repeat(64)) });
        let json = m.to_json();
        assert_eq!(json.matches("\"lacks\"").count(), 1, "only the lite entry has the key: {json}");
        assert!(json.contains("\"lacks\": [\n        \"regexp-property-escapes\",\n        \"string-normalize\"\n      ]"), "{json}");
        let parsed = xs_wasm::Manifest::from_json(&json).unwrap();
        assert_eq!(parsed.wasi_artifact("wasi-oz-lite").unwrap().lacks, ["regexp-property-escapes", "string-normalize"]);
        assert!(parsed.wasi_artifact("wasi-os").unwrap().lacks.is_empty());
    }
}
