//! The places of one checkout, found once (in `main.rs`) and passed to every
//! command: the repository, the cargo target directory, `artifacts/`,
//! `vendor/` and what `fetch` reads and writes, the build directory of
//! objects and link outputs; and the tree hash of the port.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::PORT_DIR;
use crate::util::{files_sha256, relative_files, sha256_hex};

/// The paths of a checkout.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The repository's root (relative `file` mirror paths are resolved against it).
    pub repo: PathBuf,
    /// The cargo target directory: `$CARGO_TARGET_DIR` (relative to the
    /// repository) or `<repo>/target`.
    pub target: PathBuf,
    /// `artifacts/`: one directory per variant, the manifest, `SHA256SUMS`.
    pub artifacts: PathBuf,
    /// `vendor/`: holds `moddable/` and, briefly, staging directories.
    pub vendor: PathBuf,
    /// Downloaded archives (`.cache/downloads`).
    pub downloads: PathBuf,
    /// Patches applied after extraction (`configs/patches`).
    pub patches: PathBuf,
    /// The smoke bundle cache (`.cache/smoke`).
    pub smoke: PathBuf,
}

impl Workspace {
    /// The standard places of the checkout at `repo`.
    pub fn of(repo: &Path) -> Workspace {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).map(|t| repo.join(t)).unwrap_or_else(|| repo.join("target"));
        Workspace {
            repo: repo.to_owned(),
            target,
            artifacts: repo.join("artifacts"),
            vendor: repo.join("vendor"),
            downloads: repo.join(".cache/downloads"),
            patches: repo.join("configs/patches"),
            smoke: repo.join(".cache/smoke"),
        }
    }

    /// `artifacts/manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.artifacts.join("manifest.json")
    }

    /// `vendor/moddable`.
    #[cfg(test)]
    pub fn moddable(&self) -> PathBuf {
        self.vendor.join("moddable")
    }

    /// Where the checkout's objects and link outputs go:
    /// `<target>/xs-wasm-build/<repo>-<12 hex of sha256 of its path>`. One
    /// directory per checkout: worktrees that share a `CARGO_TARGET_DIR`
    /// must not share objects, since each compiles its own sources (the
    /// compile key names the repository, so one checkout's build would
    /// otherwise delete and recompile the objects another one is linking,
    /// and link a mix).
    pub fn build_dir(&self) -> PathBuf {
        let repo = self.repo.canonicalize().unwrap_or_else(|_| self.repo.clone());
        let name = repo.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let hash = sha256_hex(repo.to_string_lossy().as_bytes());
        Workspace::of(&repo).target.join("xs-wasm-build").join(format!("{name}-{}", &hash[..12]))
    }

    /// The tree hash of `port/` without `port/native/` (the native reference
    /// runner, which no variant compiles).
    pub fn port_hash(&self) -> Result<String> {
        let dir = self.repo.join(PORT_DIR);
        let mut files = relative_files(&dir, true).with_context(|| format!("hashing {}", dir.display()))?;
        files.retain(|f| !f.starts_with("native/"));
        files_sha256(&dir, &files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_checkout_has_its_own_build_dir_under_the_shared_target() {
        let base = std::env::temp_dir().join(format!("xtask-test-{}-checkouts", std::process::id()));
        let (a, b) = (base.join("one/xs"), base.join("two/xs"));
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let (da, db) = (Workspace::of(&a).build_dir(), Workspace::of(&b).build_dir());
        assert_ne!(da, db, "two checkouts of the same name");
        assert_eq!(da, Workspace::of(&a).build_dir(), "stable");
        assert_eq!(da.parent().unwrap().file_name().unwrap(), "xs-wasm-build");
        assert!(da.file_name().unwrap().to_string_lossy().starts_with("xs-"), "{}", da.display());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_port_hash_leaves_out_the_native_runner() {
        let ws = Workspace::of(&crate::util::repo_root());
        let hash = ws.port_hash().unwrap();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, ws.port_hash().unwrap());
        let files = relative_files(&ws.repo.join(PORT_DIR), true).unwrap();
        assert_ne!(hash, files_sha256(&ws.repo.join(PORT_DIR), &files).unwrap(), "port/native/ is not part of it");
    }
}
