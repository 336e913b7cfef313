//! The artifact embedded at build time (see build.rs).

/// Variant name of the embedded module.
pub(crate) const VARIANT: &str = env!("XS_WASM_EMBEDDED_VARIANT");
/// The module bytes.
pub(crate) static MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xs-wasm.wasm"));
/// The manifest the module was built with.
pub(crate) const MANIFEST_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/manifest.json"));
