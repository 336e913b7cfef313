//! The compiled-module cache: Cranelift's output for one artifact on one
//! engine configuration, kept on disk so later processes skip compilation.
//!
//! # Entries
//! One file per (artifact, engine configuration) pair, named
//! `xs-wasm-<artifact sha256, 16 hex>-<engine key, 16 hex>.cwasm`, made of a
//! fixed header followed by the bytes of [`wasmtime::Module::serialize`]:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8  | magic `b"XSWASMCM"` |
//! | 8  | 4  | entry format ([`FORMAT`]), little-endian |
//! | 12 | 4  | header size (60), little-endian |
//! | 16 | 32 | entry key: sha256 of the artifact sha256 and the engine key |
//! | 48 | 8  | payload size in bytes, little-endian |
//! | 56 | 4  | CRC-32 (IEEE) of the payload, little-endian |
//! | 60 | …  | payload (the `.cwasm` wasmtime wrote) |
//!
//! The engine key is the sha256 of [`wasmtime::Engine::precompile_compatibility_hash`]
//! (which covers the wasmtime version, the target triple, the Cranelift and
//! CPU-feature flags, the tunables and the wasm features), the host's
//! architecture and OS, and [`FORMAT`].
//!
//! An entry is used only when every header field matches and the payload's
//! CRC-32 is the recorded one; anything else (missing, truncated, garbage,
//! another artifact's or another engine's entry) is a miss, and the freshly
//! compiled module replaces the entry. Entries are written to a temporary
//! file in the cache directory and renamed over the final name, so readers
//! see either a complete old entry or a complete new one.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// The entry format number; bump it when the header or payload changes meaning.
/// 2: the payload checksum is a CRC-32 (format 1 had a sha256, which took
/// 6 ms of every load of the pre-initialized module's 11 MB entry).
const FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"XSWASMCM";
const HEADER_LEN: usize = 60;
/// Prefix and suffix of entry file names (and of the pruning pattern).
const PREFIX: &str = "xs-wasm-";
const SUFFIX: &str = ".cwasm";
const TMP_SUFFIX: &str = ".tmp";
/// Entries neither modified nor read for this long are removed when a new
/// entry is written; temporary files left by a crashed writer after an hour.
const STALE_ENTRY: Duration = Duration::from_secs(30 * 24 * 3600);
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Where [`Runtime`](crate::Runtime) keeps compiled modules.
///
/// `ModuleCache::default()` is [`ModuleCache::Default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ModuleCache {
    /// The environment decides, then the platform's cache directory:
    /// 1. `XS_WASM_CACHE=off` (also `0`, `false`, `no`; any case): no cache;
    /// 2. `XS_WASM_CACHE_DIR=DIR`: that directory; set but empty: no cache;
    /// 3. else [`ModuleCache::platform_dir`]; no cache when there is none
    ///    (no `HOME`).
    #[default]
    Default,
    /// This directory (created, with its parents, when an entry is written).
    /// The environment is not consulted.
    Dir(PathBuf),
    /// No cache: compile every time, read and write nothing.
    Off,
}

impl ModuleCache {
    /// The directory this setting uses, `None` when the cache is off
    /// (see [`ModuleCache::Default`] for the environment variables read).
    /// Nothing is created or checked on disk.
    pub fn resolve(&self) -> Option<PathBuf> {
        match self {
            ModuleCache::Off => None,
            ModuleCache::Dir(dir) => Some(dir.clone()),
            ModuleCache::Default => {
                if let Some(value) = std::env::var_os("XS_WASM_CACHE") {
                    let value = value.to_string_lossy().trim().to_ascii_lowercase();
                    if matches!(value.as_str(), "off" | "0" | "false" | "no") {
                        return None;
                    }
                }
                match std::env::var_os("XS_WASM_CACHE_DIR") {
                    Some(dir) if dir.is_empty() => None,
                    Some(dir) => Some(PathBuf::from(dir)),
                    None => Self::platform_dir(),
                }
            }
        }
    }

    /// The platform's per-user cache directory for xs-wasm, ignoring the
    /// `XS_WASM_*` variables: `$XDG_CACHE_HOME/xs-wasm` (when absolute) or
    /// `$HOME/.cache/xs-wasm` on Linux and other Unix systems,
    /// `$HOME/Library/Caches/xs-wasm` on macOS, `%LOCALAPPDATA%\xs-wasm` on
    /// Windows. `None` when the variables it needs are unset or empty.
    pub fn platform_dir() -> Option<PathBuf> {
        fn var(name: &str) -> Option<PathBuf> {
            std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
        }
        let base = if cfg!(windows) {
            var("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            var("HOME").map(|home| home.join("Library").join("Caches"))
        } else {
            // The XDG spec says relative values are invalid and to be ignored.
            var("XDG_CACHE_HOME").filter(|dir| dir.is_absolute()).or_else(|| var("HOME").map(|home| home.join(".cache")))
        };
        base.map(|dir| dir.join("xs-wasm"))
    }
}

/// What [`Runtime`](crate::Runtime) creation did with the module cache
/// ([`Runtime::cache_outcome`](crate::Runtime::cache_outcome)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheOutcome {
    /// The cache was off ([`ModuleCache::Off`], `XS_WASM_CACHE=off`, an empty
    /// `XS_WASM_CACHE_DIR`, or no platform cache directory): the module was
    /// compiled and nothing was read or written.
    Off,
    /// The module was loaded from the verified entry `path`; nothing was compiled.
    Hit {
        /// The entry file.
        path: PathBuf,
    },
    /// The module was compiled.
    Miss {
        /// The entry file that was (or could not be) written.
        path: PathBuf,
        /// Why an existing entry was not used (`"checksum mismatch"`,
        /// `"written for another artifact or engine"`, …); `None` when there
        /// was no entry.
        rejected: Option<String>,
        /// Why the new entry could not be written (read-only directory, …);
        /// `None` when it was written.
        write_error: Option<String>,
    },
}

/// The entry for one artifact on one engine, in one directory.
pub(crate) struct Entry {
    path: PathBuf,
    key: [u8; 32],
}

/// A [`Hasher`] feeding sha256, to turn wasmtime's `impl Hash` into a digest
/// that is the same in every process (std's `DefaultHasher` promises no
/// stability across releases). `Hash` implementations write native-endian
/// integers; the target is part of the hashed data anyway.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The engine key (see the module docs): sha256 over wasmtime's own
/// compatibility hash, the host arch and OS, and [`FORMAT`].
fn engine_key(engine: &Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.0.update(b"xs-wasm module cache\0");
    hasher.0.update(FORMAT.to_le_bytes());
    hasher.0.update(std::env::consts::ARCH.as_bytes());
    hasher.0.update(b"\0");
    hasher.0.update(std::env::consts::OS.as_bytes());
    hasher.0.update(b"\0");
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

impl Entry {
    /// The entry of the artifact whose (verified, lowercase hex) sha256 is
    /// `artifact_sha256`, for `engine`, in `dir`.
    pub(crate) fn new(engine: &Engine, dir: &Path, artifact_sha256: &str) -> Entry {
        let engine_key = engine_key(engine);
        let mut key = Sha256::new();
        key.update(b"xs-wasm module cache entry\0");
        key.update(engine_key);
        key.update(artifact_sha256.as_bytes());
        let key: [u8; 32] = key.finalize().into();
        // The artifact hash was verified as 64 hex digits; keep only hex
        // digits anyway so a file name can never leave `dir`.
        let artifact: String = artifact_sha256.chars().filter(char::is_ascii_hexdigit).take(16).collect();
        let path = dir.join(format!("{PREFIX}{artifact}-{}{SUFFIX}", &hex(&engine_key)[..16]));
        Entry { path, key }
    }

    /// The entry file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Load the module from the entry: `Ok(None)` when there is no entry,
    /// `Err(reason)` when there is one that cannot be used.
    pub(crate) fn load(&self, engine: &Engine) -> Result<Option<Module>, String> {
        // Read the whole entry into memory: the bytes checked below are then
        // exactly the bytes wasmtime deserializes (no window in which the file
        // could change between check and use, as with a mapped file).
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            // No entry, or no directory (possibly a file where it should be).
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => return Ok(None),
            Err(e) => return Err(format!("unreadable: {e}")),
        };
        let payload = self.verify(&bytes)?;
        // SAFETY: `Module::deserialize` trusts its input to be wasmtime's own
        // output for a compatible engine. `payload` is:
        // - bytes this crate wrote from `Module::serialize` (`Entry::store`):
        //   the cache directory is the user's own (their platform cache dir or
        //   one they chose), so only the user's own processes write it, and
        //   anyone who could forge an entry there could already run code as
        //   the user;
        // - the entry for this artifact on this engine configuration: the
        //   header's key (sha256 over the artifact's verified sha256 and
        //   wasmtime's precompile compatibility hash) equals ours;
        // - unmodified: its length and CRC-32 equal those recorded in the
        //   header, so truncation, disk corruption or a stray file are
        //   refused above (the checksum is against accidents, not forgers:
        //   per the first point, a forger could rewrite any checksum), and
        //   `bytes` is our private in-memory copy, so nothing can change it
        //   between the check and this call.
        // On top of that, wasmtime checks the payload's ELF header and its
        // recorded wasmtime version and engine settings against `engine`, and
        // returns `Err` (never UB) for output of another version or config.
        let module = unsafe { Module::deserialize(engine, payload) };
        module.map(Some).map_err(|e| format!("refused by wasmtime: {e:#}"))
    }

    /// Check the header and the payload checksum; the payload on success.
    fn verify<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], String> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err("not an xs-wasm module cache entry".into());
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        if u32_at(8) != FORMAT || u32_at(12) as usize != HEADER_LEN {
            return Err(format!("entry format {} (this build reads {FORMAT})", u32_at(8)));
        }
        if bytes[16..48] != self.key {
            return Err("written for another artifact or engine configuration".into());
        }
        let len = u64::from_le_bytes(bytes[48..56].try_into().expect("8 bytes"));
        let payload = &bytes[HEADER_LEN..];
        if len != payload.len() as u64 {
            return Err(format!("truncated or extended: {} payload bytes, header says {len}", payload.len()));
        }
        if crc32fast::hash(payload).to_le_bytes() != bytes[56..60] {
            return Err("checksum mismatch".into());
        }
        Ok(payload)
    }

    /// Write `module` as the entry, atomically (temporary file in the same
    /// directory, then rename). Also removes stale entries and temporary files.
    /// `Err(reason)` when anything fails; the directory is left without a
    /// partial entry.
    pub(crate) fn store(&self, module: &Module) -> Result<(), String> {
        let payload = module.serialize().map_err(|e| format!("cannot serialize the module: {e:#}"))?;
        let dir = self.path.parent().ok_or("the entry has no directory")?;
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT.to_le_bytes());
        header.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        header.extend_from_slice(&self.key);
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        debug_assert_eq!(header.len(), HEADER_LEN);

        let name = self.path.file_name().and_then(|n| n.to_str()).ok_or("bad entry name")?;
        // Unique among concurrent writers: process id, a per-process counter.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{count}{TMP_SUFFIX}", std::process::id()));
        let written = (|| {
            // A leftover of the same name belongs to a dead process (same pid).
            let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            file.write_all(&header)?;
            file.write_all(&payload)?;
            // A crash after the rename must not leave a named entry whose
            // data never reached the disk (it would be refused, but recompiled).
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(format!("cannot write {}: {e}", self.path.display()));
        }
        prune(dir, &self.path);
        Ok(())
    }
}

/// Remove entries (by our name pattern) neither modified nor accessed for
/// [`STALE_ENTRY`] and temporary files older than [`STALE_TMP`]; keep `keep`.
/// Best effort: errors are ignored.
fn prune(dir: &Path, keep: &Path) {
    let Ok(read) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for item in read.flatten() {
        let path = item.path();
        if path == keep {
            continue;
        }
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let max_age = if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(TMP_SUFFIX) {
            STALE_TMP
        } else if name.starts_with(PREFIX) && name.ends_with(SUFFIX) {
            STALE_ENTRY
        } else {
            continue;
        };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let last_use = [meta.modified().ok(), meta.accessed().ok()].into_iter().flatten().max();
        if last_use.and_then(|t| now.duration_since(t).ok()).is_some_and(|age| age > max_age) {
            let _ = fs::remove_file(&path);
        }
    }
}
