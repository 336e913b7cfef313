//! `cargo xtask codegen`: one source for the port ABI.
//!
//! `port/xs_wasm.h` is the truth. This step reads it ([`header`]) and
//! writes what the two loaders need of it (the ABI version, the snapshot
//! header constants, the status codes, `xs_wasm_creation`'s fields and
//! offsets, the creation flags, the lacks bits, the export names and wasm
//! signatures) as committed files: `crates/xs-wasm/src/abi.rs`
//! ([`rust::render`]) and `js/src/abi.mjs` ([`js::render`]). They hold no
//! timestamp or path, so the same header gives the same bytes.
//!
//! `cargo xtask test` starts with [`check`] (the files are what the header
//! gives, and `configs/variants.toml`'s `exports` are the header's
//! functions); `cargo xtask build` checks the exports too. Like
//! rust-analyzer's generated sources: edit the header, run
//! `cargo xtask codegen`, commit both.

pub mod header;
mod js;
mod rust;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::VariantsConfig;

pub use header::Header;

/// The header, relative to the repository.
pub const HEADER: &str = "port/xs_wasm.h";

/// Fields of `xs_wasm_creation` a loader fills from its other options (the
/// memory limit, the test262 host flag), not from its creation parameters.
pub const HOST_FIELDS: [&str; 2] = ["memory_limit", "flags"];

/// One generated file: where it goes (relative to the repository) and its text.
pub struct Generated {
    pub path: &'static str,
    pub text: String,
}

/// Every file the header gives.
pub fn generate(header: &Header) -> Result<Vec<Generated>> {
    for host in HOST_FIELDS {
        if !header.creation.iter().any(|f| f.name == host) {
            bail!("xs_wasm_creation has no `{host}` field, which the loaders fill from their options");
        }
    }
    Ok(vec![
        Generated { path: "crates/xs-wasm/src/abi.rs", text: rust::render(header) },
        Generated { path: "js/src/abi.mjs", text: js::render(header) },
    ])
}

/// Write the generated files under `repo` (only those whose text changed);
/// the paths written.
pub fn write(repo: &Path) -> Result<Vec<PathBuf>> {
    let header = Header::load(&repo.join(HEADER))?;
    let mut written = Vec::new();
    for file in generate(&header)? {
        let path = repo.join(file.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(file.text.as_str()) {
            crate::util::write_atomic(&path, file.text.as_bytes())?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The generated files under `repo` are what the header gives, and the
/// build matrix agrees with it ([`check_config`]).
pub fn check(repo: &Path, variants: &VariantsConfig) -> Result<()> {
    let header = Header::load(&repo.join(HEADER))?;
    check_config(&header, variants)?;
    let stale: Vec<&str> = generate(&header)?
        .into_iter()
        .filter(|file| std::fs::read_to_string(repo.join(file.path)).ok().as_deref() != Some(file.text.as_str()))
        .map(|file| file.path)
        .collect();
    if !stale.is_empty() {
        let verb = if stale.len() == 1 { "is" } else { "are" };
        bail!("{} {verb} not what {HEADER} gives: run `cargo xtask codegen` and commit the result", stale.join(" and "));
    }
    Ok(())
}

/// `configs/variants.toml` agrees with the header: `[common] exports` are
/// its functions ([`check_exports`]) and every `lacks` entry has its
/// `XS_WASM_LACKS_*` bit.
pub fn check_config(header: &Header, variants: &VariantsConfig) -> Result<()> {
    check_exports(header, &variants.common.exports)?;
    let bits: Vec<String> = header.lacks.iter().map(Header::lacks_name).collect();
    for variant in &variants.variants {
        if let Some(feature) = variant.lacks.iter().find(|f| !bits.iter().any(|b| b == f.as_str())) {
            bail!("variant {} lacks {:?}, which has no XS_WASM_LACKS_* bit in {HEADER}", variant.name, feature.as_str());
        }
    }
    Ok(())
}

/// `exports` (the link's export list) names exactly the header's functions.
pub fn check_exports(header: &Header, exports: &[String]) -> Result<()> {
    let declared: Vec<&str> = header.exports.iter().map(|f| f.name.as_str()).collect();
    let missing: Vec<&str> = declared.iter().copied().filter(|d| !exports.iter().any(|e| e == d)).collect();
    let extra: Vec<&str> = exports.iter().map(String::as_str).filter(|e| !declared.contains(e)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        bail!(
            "configs/variants.toml [common] exports differ from the functions {HEADER} declares: missing {missing:?}, not declared {extra:?}"
        );
    }
    Ok(())
}

/// `cargo xtask codegen`: write the files and say which changed.
pub fn codegen(repo: &Path, progress: &crate::progress::Progress) -> Result<()> {
    let written = write(repo).context("cargo xtask codegen")?;
    check_config(&Header::load(&repo.join(HEADER))?, &crate::config::Configs::load(repo)?.variants)?;
    if written.is_empty() {
        progress.step("codegen: the generated ABI files are up to date");
    }
    for path in written {
        progress.step(format!("codegen: wrote {}", crate::util::display_relative(&path, repo)));
    }
    Ok(())
}

/// `snake_case` as `camelCase`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_header() -> (PathBuf, Header) {
        let repo = crate::util::repo_root();
        let header = Header::load(&repo.join(HEADER)).unwrap();
        (repo, header)
    }

    #[test]
    fn the_header_reads_as_the_abi_it_declares() {
        let (_, h) = repo_header();
        assert!(h.abi_version >= 3);
        assert_eq!(h.snapshot_header_size, 32);
        let status = |name: &str| h.statuses.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(status("XS_WASM_OK"), Some(0));
        assert_eq!(status("XS_WASM_RESULT_TOO_LARGE"), Some(9));
        assert_eq!(h.creation.first().map(|f| (f.name.as_str(), f.offset, f.signed)), Some(("initial_chunk_size", 0, true)));
        assert_eq!(h.creation.last().map(|f| (f.name.as_str(), f.signed)), Some(("flags", false)));
        let eval = h.exports.iter().find(|f| f.name == "xs_wasm_eval").unwrap();
        assert_eq!(eval.params, [header::WasmType::U32, header::WasmType::U32, header::WasmType::U32]);
        assert_eq!(eval.result, Some(header::WasmType::I32));
        assert_eq!(h.lacks.iter().map(Header::lacks_name).collect::<Vec<_>>(), ["regexp-property-escapes", "string-normalize"]);
    }

    #[test]
    fn a_changed_status_code_or_creation_field_changes_both_generated_files() {
        let (repo, h) = repo_header();
        let text = std::fs::read_to_string(repo.join(HEADER)).unwrap();
        let before = generate(&h).unwrap();
        let changed = text.replace("XS_WASM_RESULT_TOO_LARGE = 9", "XS_WASM_RESULT_TOO_LARGE = 10").replace("int32_t parser_table_modulo;", "int32_t parser_table_modulo;\n\tint32_t extra_count; /* new */");
        let after = generate(&Header::parse(&changed).unwrap()).unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert_ne!(b.text, a.text, "{}", b.path);
            assert!(a.text.contains("10") && (a.text.contains("extra_count") || a.text.contains("extraCount")), "{}", a.text);
        }
    }

    #[test]
    fn a_stale_generated_file_fails_the_check() {
        let (repo, _) = repo_header();
        let dir = std::env::temp_dir().join(format!("xs-wasm-codegen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("port")).unwrap();
        std::fs::copy(repo.join(HEADER), dir.join(HEADER)).unwrap();
        let variants = crate::config::Configs::load(&repo).unwrap().variants;
        assert!(check(&dir, &variants).is_err(), "missing files are stale");
        assert_eq!(write(&dir).unwrap().len(), 2);
        check(&dir, &variants).unwrap();
        assert!(write(&dir).unwrap().is_empty(), "a second run writes nothing");
        let abi_rs = dir.join("crates/xs-wasm/src/abi.rs");
        let text = std::fs::read_to_string(&abi_rs).unwrap();
        std::fs::write(&abi_rs, text.replace("XS_WASM_DEAD: i32 = 6", "XS_WASM_DEAD: i32 = 7")).unwrap();
        let error = check(&dir, &variants).unwrap_err().to_string();
        assert!(error.contains("crates/xs-wasm/src/abi.rs") && error.contains("cargo xtask codegen"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_export_list_must_name_the_header_s_functions() {
        let (_, h) = repo_header();
        let mut exports: Vec<String> = h.exports.iter().map(|f| f.name.clone()).collect();
        check_exports(&h, &exports).unwrap();
        exports.pop();
        exports.push("xs_wasm_gone".into());
        let error = check_exports(&h, &exports).unwrap_err().to_string();
        let last = h.exports.last().unwrap().name.clone();
        assert!(error.contains(&last) && error.contains("xs_wasm_gone"), "{error}");
    }

    #[test]
    fn variants_toml_agrees_with_the_header_and_a_lacks_without_a_bit_is_refused() {
        let (repo, mut h) = repo_header();
        let variants = crate::config::Configs::load(&repo).unwrap().variants;
        check_config(&h, &variants).unwrap();
        h.lacks.retain(|c| c.name != "XS_WASM_LACKS_STRING_NORMALIZE");
        let error = check_config(&h, &variants).unwrap_err().to_string();
        assert!(error.contains("-lite") && error.contains("string-normalize"), "{error}");
    }

    #[test]
    fn camel_case_names() {
        assert_eq!(camel("initial_chunk_size"), "initialChunkSize");
        assert_eq!(camel("flags"), "flags");
    }
}
