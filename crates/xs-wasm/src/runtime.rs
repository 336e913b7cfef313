//! The compiled module, shared by every machine of a process.

use std::path::Path;
use std::sync::Arc;

use wasmtime::{Config, Engine, Module};

use crate::artifact::{ArtifactInfo, Manifest, WASI_MODULE_FILE};
use crate::{Error, Result};

/// The wasm call-stack budget of guest code, in bytes (8 MiB).
///
/// Guest code runs on a separate fiber stack of [`FIBER_STACK`] bytes that
/// wasmtime allocates, so the calling thread's own stack size does not
/// matter. XS's C-stack limit (1 MiB shadow stack in linear memory, see
/// `configs/variants.toml`) turns deep script recursion into a JS
/// `RangeError` well before this budget is used; only recursion XS cannot
/// see (marking ~10^5-deep nested objects during garbage collection) can
/// exhaust it, which traps and stops that machine.
pub const MAX_WASM_STACK: usize = 8 << 20;

/// Size of the fiber stack guest calls run on, in bytes: [`MAX_WASM_STACK`]
/// plus 2 MiB for the host functions the guest calls (message and log handlers).
pub const FIBER_STACK: usize = MAX_WASM_STACK + (2 << 20);

/// A compiled xs-wasm module plus the engine that runs it.
///
/// Create one per process and share it (it is `Clone`, `Send` and `Sync`;
/// clones share the compiled code). Compiling takes about a second; creating a
/// [`Machine`](crate::Machine) from a `Runtime` takes milliseconds.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) pre: wasmtime::InstancePre<crate::machine::HostState>,
    pub(crate) info: ArtifactInfo,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("artifact", &self.inner.info).finish_non_exhaustive()
    }
}

impl Runtime {
    /// The release WASI artifact embedded at build time (cargo feature
    /// `embed`, on by default), checked against its manifest entry.
    ///
    /// Errors: [`Error::ArtifactMismatch`] (cannot happen unless the binary was
    /// tampered with), [`Error::Wasm`] when compilation fails.
    #[cfg(feature = "embed")]
    pub fn new() -> Result<Self> {
        let manifest = Manifest::from_json(crate::embedded::MANIFEST_JSON)?;
        let info = manifest.wasi_artifact(crate::embedded::VARIANT)?;
        Self::from_bytes(crate::embedded::MODULE, &info)
    }

    /// The manifest entry of the embedded artifact (feature `embed`).
    #[cfg(feature = "embed")]
    pub fn embedded_artifact() -> Result<ArtifactInfo> {
        Manifest::from_json(crate::embedded::MANIFEST_JSON)?.wasi_artifact(crate::embedded::VARIANT)
    }

    /// Compile `bytes` after checking them against `info.sha256`.
    ///
    /// Errors: [`Error::ArtifactMismatch`] when the hash differs,
    /// [`Error::Wasm`] when wasmtime cannot compile the module,
    /// [`Error::Incompatible`] when it lacks the xs-wasm exports.
    pub fn from_bytes(bytes: &[u8], info: &ArtifactInfo) -> Result<Self> {
        info.verify(bytes)?;
        let engine = Engine::new(&Self::config()).map_err(Error::wasm)?;
        let module = Module::new(&engine, bytes).map_err(Error::wasm)?;
        for name in crate::machine::REQUIRED_EXPORTS {
            if module.get_export(name).is_none() {
                return Err(Error::Incompatible(format!("module has no export {name:?}")));
            }
        }
        let pre = crate::machine::instantiate_pre(&engine, &module).map_err(Error::wasm)?;
        Ok(Runtime { inner: Arc::new(RuntimeInner { engine, pre, info: info.clone() }) })
    }

    /// Load `<dir>/<variant>/xs-wasm.wasm` and check it against
    /// `<dir>/manifest.json` (`dir` is usually the repository's `artifacts/`).
    ///
    /// Errors: [`Error::Io`], [`Error::Manifest`], plus those of [`Runtime::from_bytes`].
    pub fn from_artifacts_dir(dir: &Path, variant: &str) -> Result<Self> {
        let manifest = Manifest::from_path(&dir.join("manifest.json"))?;
        let info = manifest.wasi_artifact(variant)?;
        let path = dir.join(variant).join(WASI_MODULE_FILE);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path, source })?;
        Self::from_bytes(&bytes, &info)
    }

    /// The artifact this runtime runs (variant, sha256, tool versions).
    pub fn artifact(&self) -> &ArtifactInfo {
        &self.inner.info
    }

    fn config() -> Config {
        let mut config = Config::new();
        // setjmp/longjmp in the WASI builds use the exception-handling
        // proposal (standard exnref form); on by default since wasmtime 47,
        // stated here so the requirement is visible.
        config.wasm_exceptions(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.async_stack_size(FIBER_STACK);
        config
    }
}
