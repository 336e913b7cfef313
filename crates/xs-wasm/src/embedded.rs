//! The artifact embedded at build time (see build.rs).

/// Variant name of the embedded module.
pub(crate) const VARIANT: &str = env!("XS_WASM_EMBEDDED_VARIANT");
/// File name of the embedded module in its variant's directory: the
/// pre-initialized module when the build had one, else the plain module.
pub(crate) const FILE: &str = env!("XS_WASM_EMBEDDED_FILE");
/// The module bytes.
pub(crate) static MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xs-wasm.wasm"));
/// The manifest the module was built with.
pub(crate) const MANIFEST_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/manifest.json"));
