//! Embeds the release WASI artifact (feature `embed`).
//!
//! Looks in `$XS_WASM_ARTIFACTS` if set, else in `artifacts/` packaged with
//! the crate (cargo package / dist), else in the repository's `artifacts/`.
//! The variant is `$XS_WASM_VARIANT` or `wasi-os`. Its pre-initialized
//! module (`xs-wasm.preinit.wasm`, a machine already created in its memory)
//! is embedded when the directory has it, else the plain module.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=XS_WASM_ARTIFACTS");
    println!("cargo:rerun-if-env-changed=XS_WASM_VARIANT");
    if std::env::var_os("CARGO_FEATURE_EMBED").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let variant = std::env::var("XS_WASM_VARIANT").unwrap_or_else(|_| "wasi-os".to_owned());
    let candidates: Vec<PathBuf> = match std::env::var_os("XS_WASM_ARTIFACTS") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![manifest_dir.join("artifacts"), manifest_dir.join("../../artifacts")],
    };
    let found = candidates.iter().find(|dir| dir.join("manifest.json").is_file() && dir.join(&variant).join("xs-wasm.wasm").is_file());
    let Some(dir) = found else {
        let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
        panic!(
            "\n\nxs-wasm: no built artifact to embed: looked for manifest.json and {variant}/xs-wasm.wasm in {}.\n\
             Run `cargo xtask build` in the repository first (or set XS_WASM_ARTIFACTS to a directory\n\
             holding manifest.json and {variant}/xs-wasm.wasm, or build with --no-default-features and\n\
             load an artifact at run time with Runtime::from_artifacts_dir).\n\n",
            looked.join(" and ")
        );
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let preinit = dir.join(&variant).join("xs-wasm.preinit.wasm");
    let file = if preinit.is_file() { "xs-wasm.preinit.wasm" } else { "xs-wasm.wasm" };
    let module = dir.join(&variant).join(file);
    let manifest = dir.join("manifest.json");
    println!("cargo:rerun-if-changed={}", preinit.display());
    println!("cargo:rerun-if-changed={}", module.display());
    println!("cargo:rerun-if-changed={}", manifest.display());
    std::fs::copy(&module, out.join("xs-wasm.wasm")).expect("copy the artifact into OUT_DIR");
    std::fs::copy(&manifest, out.join("manifest.json")).expect("copy the manifest into OUT_DIR");
    println!("cargo:rustc-env=XS_WASM_EMBEDDED_VARIANT={variant}");
    println!("cargo:rustc-env=XS_WASM_EMBEDDED_FILE={file}");
}
