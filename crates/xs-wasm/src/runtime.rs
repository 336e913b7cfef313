//! The compiled module, shared by every machine of a process.

use std::path::Path;
use std::sync::Arc;

use wasmtime::{Config, Engine, Module};

use crate::artifact::{ArtifactInfo, Manifest, WASI_MODULE_FILE};
use crate::cache::{CacheOutcome, Entry, ModuleCache};
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

/// How a [`Runtime`] is made. `RuntimeOptions::default()` uses the default
/// module cache ([`ModuleCache::Default`]).
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Where compiled modules are cached (see [`ModuleCache`]). A cache that
    /// cannot be read or written never makes creation fail: the module is
    /// compiled instead, and [`Runtime::cache_outcome`] says what happened.
    pub module_cache: ModuleCache,
}

/// A compiled xs-wasm module plus the engine that runs it.
///
/// Create one per process and share it (it is `Clone`, `Send` and `Sync`;
/// clones share the compiled code). Compiling takes about a second (release
/// build), so by default the compiled module is kept in a per-user cache
/// directory ([`ModuleCache`]) and later processes load it in milliseconds.
/// Creating a [`Machine`](crate::Machine) from a `Runtime` takes milliseconds.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) pre: wasmtime::InstancePre<crate::machine::HostState>,
    pub(crate) info: ArtifactInfo,
    pub(crate) cache: CacheOutcome,
    /// The record of a pre-initialized module (see [`crate::preinit`]).
    pub(crate) preinit: Option<crate::preinit::PreinitInfo>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("artifact", &self.inner.info).field("cache", &self.inner.cache).finish_non_exhaustive()
    }
}

impl Runtime {
    /// The release WASI artifact embedded at build time (cargo feature
    /// `embed`, on by default; its pre-initialized module, so machines start
    /// without XS's start-up), checked against its manifest entry, loaded
    /// from the default module cache ([`ModuleCache::Default`]) or compiled
    /// (and cached).
    ///
    /// Errors: [`Error::ArtifactMismatch`] (cannot happen unless the binary was
    /// tampered with), [`Error::Wasm`] when compilation fails. Never fails
    /// because of the cache.
    #[cfg(feature = "embed")]
    pub fn new() -> Result<Self> {
        Self::new_with(&RuntimeOptions::default())
    }

    /// [`Runtime::new`] with explicit options (e.g. another cache directory,
    /// or no cache).
    ///
    /// Errors: as [`Runtime::new`].
    #[cfg(feature = "embed")]
    pub fn new_with(options: &RuntimeOptions) -> Result<Self> {
        Self::from_bytes_with(crate::embedded::MODULE, &Self::embedded_artifact()?, options)
    }

    /// The bytes of the embedded module (feature `embed`): what
    /// [`Runtime::new`] runs, and the base that
    /// [`Runtime::from_preinitialized`] checks modules made from it against.
    #[cfg(feature = "embed")]
    pub fn embedded_module() -> &'static [u8] {
        crate::embedded::MODULE
    }

    /// The manifest entry of the embedded artifact (feature `embed`): the
    /// variant's pre-initialized module ([`crate::WASI_PREINIT_FILE`]) when
    /// the build made one, else its module.
    #[cfg(feature = "embed")]
    pub fn embedded_artifact() -> Result<ArtifactInfo> {
        Manifest::from_json(crate::embedded::MANIFEST_JSON)?.wasi_file(crate::embedded::VARIANT, crate::embedded::FILE)
    }

    /// Compile `bytes` after checking them against `info.sha256`, using the
    /// default module cache ([`Runtime::from_bytes_with`] with default options).
    ///
    /// Errors: [`Error::ArtifactMismatch`] when the hash differs,
    /// [`Error::Wasm`] when wasmtime cannot compile the module,
    /// [`Error::Incompatible`] when it lacks the xs-wasm exports.
    pub fn from_bytes(bytes: &[u8], info: &ArtifactInfo) -> Result<Self> {
        Self::from_bytes_with(bytes, info, &RuntimeOptions::default())
    }

    /// Check `bytes` against `info.sha256`, then load their compiled form
    /// from `options.module_cache` or compile them (and write the entry).
    ///
    /// A cache entry is used only after its header (entry format, a key made
    /// of the artifact's sha256 and wasmtime's engine-compatibility hash, the
    /// payload length) and the sha256 of its payload check out; a missing,
    /// corrupt or foreign entry is replaced by a fresh compilation.
    ///
    /// Errors: as [`Runtime::from_bytes`]; never because of the cache.
    pub fn from_bytes_with(bytes: &[u8], info: &ArtifactInfo, options: &RuntimeOptions) -> Result<Self> {
        info.verify(bytes)?;
        let preinit = crate::preinit::record(bytes)?;
        let engine = Engine::new(&Self::config()).map_err(Error::wasm)?;
        let (module, cache) = match options.module_cache.resolve() {
            None => (compile(&engine, bytes, preinit.is_some())?, CacheOutcome::Off),
            Some(dir) => {
                let entry = Entry::new(&engine, &dir, &info.sha256);
                // Ok(module), or Err(why an existing entry was rejected).
                let loaded = match entry.load(&engine) {
                    Ok(Some(module)) => match check_exports(&module, preinit.is_some()) {
                        Ok(()) => Ok(module),
                        Err(e) => Err(Some(e.to_string())),
                    },
                    Ok(None) => Err(None),
                    Err(reason) => Err(Some(reason)),
                };
                match loaded {
                    Ok(module) => (module, CacheOutcome::Hit { path: entry.path().to_owned() }),
                    Err(rejected) => {
                        let module = compile(&engine, bytes, preinit.is_some())?;
                        let write_error = entry.store(&module).err();
                        (module, CacheOutcome::Miss { path: entry.path().to_owned(), rejected, write_error })
                    }
                }
            }
        };
        let pre = crate::machine::instantiate_pre(&engine, &module).map_err(Error::wasm)?;
        Ok(Runtime { inner: Arc::new(RuntimeInner { engine, pre, info: info.clone(), cache, preinit }) })
    }

    /// A runtime for a pre-initialized module made from this runtime's
    /// artifact (by `xs-wasm preinit` or [`crate::preinit::preinitialize`]),
    /// which `base` (the bytes of this runtime's module) vouches for.
    ///
    /// The module must carry a pre-initialization record naming this
    /// runtime's artifact (its sha256), its code section must be the
    /// artifact's byte for byte, and the rest of the module must be what was
    /// recorded when it was made: a module made from another artifact, or
    /// changed after it was made (a flipped byte, another data segment), is
    /// refused before anything is compiled. The record is not a signature: keep
    /// such files where only you can write them, like any program.
    ///
    /// Errors: [`Error::ArtifactMismatch`] when `base` is not this runtime's
    /// module; [`Error::Incompatible`] naming the check that failed; those of
    /// [`Runtime::from_bytes_with`].
    pub fn from_preinitialized(&self, module: &[u8], base: &[u8], options: &RuntimeOptions) -> Result<Self> {
        self.inner.info.verify(base)?;
        let base_digest = crate::preinit::digest(base)?;
        let digest = crate::preinit::digest(module)?;
        crate::preinit::check_against(&digest, &self.inner.info.sha256, &base_digest.code_sha256)?;
        let info = ArtifactInfo { sha256: crate::artifact::sha256_hex(module), bytes: module.len() as u64, ..self.inner.info.clone() };
        Self::from_bytes_with(module, &info, options)
    }

    /// A runtime for wizer's instrumented copy of an artifact (no cache, no
    /// sha256: the bytes were made in this process from a verified artifact).
    /// Carries the artifact's own pre-initialization record, if it has one,
    /// so machines take its kept machine as usual.
    #[cfg(feature = "preinit")]
    pub(crate) fn for_instrumented(bytes: &[u8], base_preinit: Option<crate::preinit::PreinitInfo>, info: &ArtifactInfo) -> Result<Self> {
        let engine = Engine::new(&Self::config()).map_err(Error::wasm)?;
        let module = compile(&engine, bytes, base_preinit.is_some())?;
        let pre = crate::machine::instantiate_pre(&engine, &module).map_err(Error::wasm)?;
        Ok(Runtime { inner: Arc::new(RuntimeInner { engine, pre, info: info.clone(), cache: CacheOutcome::Off, preinit: base_preinit }) })
    }

    /// The pre-initialization record of this runtime's module: `None` for a
    /// plain artifact (see [`crate::preinit`]).
    pub fn preinit_info(&self) -> Option<&crate::preinit::PreinitInfo> {
        self.inner.preinit.as_ref()
    }

    /// Load `<dir>/<variant>/xs-wasm.wasm` and check it against
    /// `<dir>/manifest.json` (`dir` is usually the repository's `artifacts/`),
    /// using the default module cache.
    ///
    /// Errors: [`Error::Io`], [`Error::Manifest`], plus those of [`Runtime::from_bytes`].
    pub fn from_artifacts_dir(dir: &Path, variant: &str) -> Result<Self> {
        Self::from_artifacts_dir_with(dir, variant, &RuntimeOptions::default())
    }

    /// [`Runtime::from_artifacts_dir`] with explicit options.
    ///
    /// Errors: as [`Runtime::from_artifacts_dir`].
    pub fn from_artifacts_dir_with(dir: &Path, variant: &str, options: &RuntimeOptions) -> Result<Self> {
        let manifest = Manifest::from_path(&dir.join("manifest.json"))?;
        let info = manifest.wasi_artifact(variant)?;
        let path = dir.join(variant).join(WASI_MODULE_FILE);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path, source })?;
        Self::from_bytes_with(&bytes, &info, options)
    }

    /// What creation did with the module cache: [`CacheOutcome::Hit`] (loaded
    /// from a verified entry), [`CacheOutcome::Miss`] (compiled; entry written
    /// or not, and why an existing one was rejected) or [`CacheOutcome::Off`].
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.inner.cache
    }

    /// The artifact this runtime runs (variant, sha256, tool versions).
    pub fn artifact(&self) -> &ArtifactInfo {
        &self.inner.info
    }

    /// The engine configuration. Anything set here that changes compiled
    /// code is covered by wasmtime's compatibility hash, and so by the
    /// module cache's key.
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

/// Compile `bytes` and check the exports.
fn compile(engine: &Engine, bytes: &[u8], preinit: bool) -> Result<Module> {
    let module = Module::new(engine, bytes).map_err(Error::wasm)?;
    check_exports(&module, preinit)?;
    Ok(module)
}

/// Errors: [`Error::Incompatible`] naming the first missing export.
fn check_exports(module: &Module, preinit: bool) -> Result<()> {
    // wizer drops `_initialize` from a pre-initialized module: it ran when the module was made.
    for name in crate::machine::REQUIRED_EXPORTS.iter().filter(|name| !(preinit && **name == "_initialize")) {
        if module.get_export(name).is_none() {
            return Err(Error::Incompatible(format!("module has no export {name:?}")));
        }
    }
    Ok(())
}
