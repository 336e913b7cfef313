//! `cargo xtask fetch`: the pinned engine source, downloaded, verified and
//! extracted atomically into `vendor/moddable`.
//!
//! Each mirror's archive is checked against its own pinned hashes (when it has
//! them), the files selected by `[engine] include` are extracted into a staging
//! directory inside `vendor/`, their tree hash is compared with `tree_sha256`,
//! patches from `configs/patches/*.patch` are applied, and only then does the
//! staging directory replace `vendor/moddable`. Any failure leaves `vendor/`
//! exactly as it was.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256, Sha512};
use xshell::{cmd, Shell};

use crate::config::{Mirror, SmokeBundle, SourceSpec};
use crate::progress::Progress;
use crate::workspace::Workspace;
use crate::util::{base64_encode, display_relative, relative_files, remove_dir_if_exists, run_captured, sha256_file, write_atomic};

/// Name of the stamp file inside `vendor/moddable` (not part of the tree hash).
pub const STAMP_FILE: &str = ".xs-wasm-tree";
/// The value `tree_sha256` has before anyone computed it.
pub const UNFILLED: &str = "TO-BE-FILLED";

/// `vendor/<dir>`, where a pinned source is installed.
fn source_dir(ws: &Workspace, spec: &SourceSpec<'_>) -> PathBuf {
    ws.vendor.join(spec.dir)
}

/// The result of a fetch: the verified tree in `vendor/moddable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Tree hash of the sources as fetched (equals `[engine] tree_sha256`).
    pub source_tree_sha256: String,
    /// Tree hash after patches (equal to the source hash when there are none).
    pub tree_sha256: String,
    /// Whether this run changed `vendor/moddable` (false: it was up to date).
    pub changed: bool,
}

/// The contents of the stamp file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    source_tree: String,
    patches: String,
    tree: String,
}

impl Stamp {
    fn render(&self) -> String {
        format!("tree_sha256 {}\npatches_sha256 {}\npatched_tree_sha256 {}\n", self.source_tree, self.patches, self.tree)
    }
    fn parse(text: &str) -> Option<Stamp> {
        let mut fields = std::collections::BTreeMap::new();
        for line in text.lines() {
            let (k, v) = line.split_once(' ')?;
            fields.insert(k, v.to_owned());
        }
        Some(Stamp {
            source_tree: fields.remove("tree_sha256")?,
            patches: fields.remove("patches_sha256")?,
            tree: fields.remove("patched_tree_sha256")?,
        })
    }
}

/// Tree hash of the files under `dir` (the stamp file at its top excluded):
/// relative '/'-separated paths sorted bytewise; for each file the path bytes,
/// 0x00, the length as u64 little-endian, the contents; sha256 of it all.
/// Errors on symlinks and non-UTF-8 names.
pub fn tree_sha256(dir: &Path) -> Result<String> {
    let mut files = relative_files(dir, true)?;
    files.retain(|p| p != STAMP_FILE);
    crate::util::files_sha256(dir, &files)
}

/// The hash of the patch set: sorted `*.patch` names and contents (sha256 of
/// the empty string when there are none). Returns the patch paths too.
fn patch_set(dir: &Path) -> Result<(Vec<PathBuf>, String)> {
    let mut patches = Vec::new();
    if dir.is_dir() {
        for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "patch") {
                patches.push(path);
            }
        }
    }
    patches.sort();
    let mut hasher = Sha256::new();
    for p in &patches {
        let contents = fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok((patches, format!("{:x}", hasher.finalize())))
}

/// The patches a source gets: `configs/patches/*.patch` for the engine, none
/// otherwise. The engine's hash also covers the generator of the files made
/// after patching (see [`crate::unicode_tables`]).
fn patches_of(ws: &Workspace, spec: &SourceSpec<'_>) -> Result<(Vec<PathBuf>, String)> {
    if spec.patched {
        let (patches, hash) = patch_set(&ws.patches)?;
        let mut hasher = Sha256::new();
        hasher.update(format!("{hash}\n{}\n", crate::unicode_tables::GENERATOR_VERSION));
        Ok((patches, format!("{:x}", hasher.finalize())))
    } else {
        patch_set(Path::new(""))
    }
}

/// The verified state of `vendor/<dir>`, if it matches the configuration
/// and the patch set (its files are re-hashed, so local edits are noticed).
pub fn current(ws: &Workspace, spec: &SourceSpec<'_>) -> Result<Option<Fetched>> {
    let dir = source_dir(ws, spec);
    let Ok(text) = fs::read_to_string(dir.join(STAMP_FILE)) else { return Ok(None) };
    let Some(stamp) = Stamp::parse(&text) else { return Ok(None) };
    let (_, patches) = patches_of(ws, spec)?;
    if stamp.source_tree != spec.tree_sha256 || stamp.patches != patches {
        return Ok(None);
    }
    if tree_sha256(&dir)? != stamp.tree {
        return Ok(None);
    }
    Ok(Some(Fetched { source_tree_sha256: stamp.source_tree, tree_sha256: stamp.tree, changed: false }))
}

/// Make `vendor/<dir>` hold the verified (and, for the engine, patched)
/// tree of a pinned source. Does no work when it already does. Errors list
/// every mirror's failure.
pub fn fetch(ws: &Workspace, spec: &SourceSpec<'_>, progress: &Progress) -> Result<Fetched> {
    if let Some(done) = current(ws, spec)? {
        progress.step(format!("vendor/{} up to date (tree sha256 {})", spec.dir, done.tree_sha256));
        return Ok(done);
    }
    let sh = Shell::new()?;
    let mut failures = Vec::new();
    for mirror in spec.mirrors {
        progress.step(format!("fetch {}: trying mirror {:?}", spec.dir, mirror.name()));
        match fetch_from(&sh, ws, spec, mirror, progress) {
            Ok(fetched) => return Ok(fetched),
            Err(e) => {
                progress.warn(format!("mirror {:?} failed: {e}", mirror.name()));
                failures.push(format!("  mirror {:?}: {e:#}", mirror.name()));
            }
        }
    }
    bail!("could not fetch {} {} from any mirror ({}); vendor/ is unchanged:\n{}", spec.name, spec.commit, spec.config_file, failures.join("\n"))
}

fn fetch_from(sh: &Shell, ws: &Workspace, spec: &SourceSpec<'_>, mirror: &Mirror, progress: &Progress) -> Result<Fetched> {
    let archive = obtain_archive(sh, ws, mirror, progress)?;
    verify_archive(&archive, mirror)?;
    install(sh, ws, spec, &archive, mirror.root(), progress)
}

/// A file mirror given by bare file name: the first file of that name in
/// the directories of `$XS_WASM_MIRRORS` (a path list), else in any
/// directory up to two levels below the repository's parent (offline
/// machines keep their mirrors beside the checkout). The archive's sha256 is
/// checked afterwards like any mirror's, so where it was found does not
/// matter for trust.
fn find_local_mirror(repo: &Path, name: &Path, listed: Option<&std::ffi::OsStr>) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = listed.map(|v| std::env::split_paths(v).collect()).unwrap_or_default();
    if dirs.is_empty() {
        if let Some(parent) = repo.parent() {
            let below = |dir: &Path| -> Vec<PathBuf> {
                let mut found: Vec<PathBuf> = fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
                found.sort();
                found
            };
            for child in below(parent) {
                dirs.extend(below(&child));
                dirs.push(child);
            }
        }
    }
    dirs.iter().map(|dir| dir.join(name)).find(|path| path.is_file()).with_context(|| {
        format!("no {} found in $XS_WASM_MIRRORS or beside the repository (searched {} directories)", name.display(), dirs.len())
    })
}

/// Download (or locate) a mirror's archive; returns its path.
fn obtain_archive(sh: &Shell, ws: &Workspace, mirror: &Mirror, progress: &Progress) -> Result<PathBuf> {
    match mirror {
        Mirror::File { path, .. } if path.components().count() == 1 => find_local_mirror(&ws.repo, path, std::env::var_os("XS_WASM_MIRRORS").as_deref()),
        Mirror::File { path, .. } => {
            let path = ws.repo.join(path);
            if !path.is_file() {
                bail!("archive {} does not exist", path.display());
            }
            Ok(path)
        }
        Mirror::Npm { package, version, sha256, .. } => {
            let cached = ws.downloads.join(npm_tarball_name(package, version));
            if cached.is_file() && sha256_file(&cached)? == *sha256 {
                progress.step(format!("fetch: using cached {}", display_relative(&cached, &ws.repo)));
                return Ok(cached);
            }
            let spec = format!("{package}@{version}");
            progress.step(format!("fetch: npm pack {spec} (no scripts run)"));
            npm_pack(sh, &spec, &ws.downloads)
        }
        Mirror::Url { name, url, .. } => {
            fs::create_dir_all(&ws.downloads).with_context(|| format!("cannot create {}", ws.downloads.display()))?;
            let dest = ws.downloads.join(format!("{name}.tar.gz"));
            let partial = ws.downloads.join(format!("{name}.tar.gz.partial"));
            if crate::toolchain::which("curl").is_none() {
                bail!("`curl` is not installed; install it (apt-get install curl) or use another mirror");
            }
            progress.step(format!("fetch: curl {url}"));
            let result = run_captured(cmd!(sh, "curl -fsSL --retry 2 --connect-timeout 20 -o {partial} {url}"), &format!("downloading {url}"));
            if let Err(e) = result {
                let _ = fs::remove_file(&partial);
                return Err(e.context(format!("{url} is not reachable from this machine")));
            }
            fs::rename(&partial, &dest)?;
            Ok(dest)
        }
    }
}

/// The file name `npm pack` gives a package's tarball (`@a/b` → `a-b-<version>.tgz`).
pub fn npm_tarball_name(package: &str, version: &str) -> String {
    format!("{}-{version}.tgz", package.trim_start_matches('@').replace('/', "-"))
}

/// `npm pack <spec>` into `dest` (the ordinary npm client; the package's
/// scripts never run). Returns the tarball's path.
pub fn npm_pack(sh: &Shell, spec: &str, dest: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let _dir = sh.push_dir(dest);
    let output = run_captured(cmd!(sh, "npm pack {spec} --ignore-scripts --json --pack-destination {dest}"), &format!("downloading the npm package {spec} (is the npm registry reachable?)"))?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| format!("`npm pack {spec} --json` printed no JSON"))?;
    let name = json.get(0).and_then(|e| e.get("filename")).and_then(|f| f.as_str()).with_context(|| format!("`npm pack {spec} --json` named no file"))?;
    // npm < 9 names scoped tarballs "@scope/name-1.0.0.tgz" in its JSON but writes "scope-name-1.0.0.tgz".
    let file = dest.join(name.trim_start_matches('@').replace('/', "-"));
    if !file.is_file() {
        bail!("`npm pack {spec}` did not write {}", file.display());
    }
    Ok(file)
}

/// Check an archive against the mirror's pinned hashes. Errors name expected and actual values.
pub fn verify_archive(archive: &Path, mirror: &Mirror) -> Result<()> {
    let bytes = fs::read(archive).with_context(|| format!("cannot read {}", archive.display()))?;
    let (sha256, integrity) = match mirror {
        Mirror::Npm { sha256, integrity, .. } => (Some(sha256), Some(integrity)),
        Mirror::Url { sha256, .. } | Mirror::File { sha256, .. } => (sha256.as_ref(), None),
    };
    if let Some(expected) = sha256 {
        let actual = crate::util::sha256_hex(&bytes);
        if &actual != expected {
            bail!("{} has the wrong sha256: expected {expected}, actual {actual}; refusing it (tampered or corrupted download)", archive.display());
        }
    }
    if let Some(expected) = integrity {
        let actual = format!("sha512-{}", base64_encode(&Sha512::digest(&bytes)));
        if &actual != expected {
            bail!("{} has the wrong integrity: expected {expected}, actual {actual}; refusing it", archive.display());
        }
    }
    Ok(())
}

/// Extract, verify, patch and atomically install an archive as `vendor/<dir>`.
fn install(sh: &Shell, ws: &Workspace, spec: &SourceSpec<'_>, archive: &Path, root: &str, progress: &Progress) -> Result<Fetched> {
    fs::create_dir_all(&ws.vendor).with_context(|| format!("cannot create {}", ws.vendor.display()))?;
    let staging = ws.vendor.join(format!(".staging-{}", std::process::id()));
    remove_dir_if_exists(&staging)?;
    let result = install_staged(sh, ws, spec, archive, root, &staging, progress);
    if result.is_err() {
        let _ = remove_dir_if_exists(&staging);
    }
    result
}

fn install_staged(sh: &Shell, ws: &Workspace, spec: &SourceSpec<'_>, archive: &Path, root: &str, staging: &Path, progress: &Progress) -> Result<Fetched> {
    let count = extract(archive, root, spec.include, staging)?;
    let source_tree = tree_sha256(staging)?;
    progress.step(format!("fetch {}: extracted {count} files, tree sha256 {source_tree}", spec.dir));
    if spec.tree_sha256 == UNFILLED {
        bail!("{} has no tree_sha256 yet; this verified archive gives tree sha256 {source_tree}: set `tree_sha256 = \"{source_tree}\"` after reviewing the source", spec.config_file);
    }
    if source_tree != spec.tree_sha256 {
        bail!("the extracted tree has the wrong tree sha256: expected {}, actual {source_tree}; refusing it", spec.tree_sha256);
    }
    let (patches, patches_sha256) = patches_of(ws, spec)?;
    for patch in &patches {
        progress.step(format!("fetch: apply {}", display_relative(patch, &ws.repo)));
        apply_patch(sh, staging, patch)?;
    }
    if spec.patched {
        let generated = crate::unicode_tables::generate(staging)?;
        if let Some(packed) = generated.property_tables {
            progress.step(format!(
                "fetch: generated {} ({} Unicode property tables, {} bytes as txInteger, packed in {})",
                crate::unicode_tables::HEADER,
                packed.tables,
                packed.values * 4,
                packed.packed_bytes
            ));
        }
        if let Some((values, packed)) = generated.decomposition_indexes {
            progress.step(format!("fetch: generated {} (decomposition indexes, {} bytes as txU2, packed in {packed})", crate::unicode_tables::STRING_HEADER, values * 2));
        }
    }
    let tree = if patches.is_empty() && !spec.patched { source_tree.clone() } else { tree_sha256(staging)? };
    let stamp = Stamp { source_tree: source_tree.clone(), patches: patches_sha256, tree: tree.clone() };
    fs::write(staging.join(STAMP_FILE), stamp.render())?;

    // Swap: the old tree goes only after the new one is in place.
    let target = source_dir(ws, spec);
    let old = ws.vendor.join(format!(".old-{}", std::process::id()));
    let had_old = target.exists();
    if had_old {
        remove_dir_if_exists(&old)?;
        fs::rename(&target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
    }
    if let Err(e) = fs::rename(staging, &target) {
        if had_old {
            let _ = fs::rename(&old, &target);
        }
        return Err(e).with_context(|| format!("cannot rename {} to {}", staging.display(), target.display()));
    }
    if had_old {
        remove_dir_if_exists(&old)?;
    }
    progress.step(format!("fetch: vendor/{} verified (tree sha256 {tree})", spec.dir));
    Ok(Fetched { source_tree_sha256: source_tree, tree_sha256: tree, changed: true })
}

/// Extract the regular files under `root/<one of include>` of a `.tar.gz`
/// into `dest` (paths relative to `root`). Refuses links and unsafe paths.
/// Returns the number of files extracted.
pub fn extract(archive: &Path, root: &str, include: &[String], dest: &Path) -> Result<usize> {
    let file = fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let root_prefix = format!("{}/", root.trim_end_matches('/'));
    let mut count = 0;
    fs::create_dir_all(dest)?;
    for entry in tar.entries().with_context(|| format!("{} is not a .tar.gz archive", archive.display()))? {
        let mut entry = entry.with_context(|| format!("corrupt archive {}", archive.display()))?;
        let path = entry.path()?.to_string_lossy().replace('\\', "/");
        let path = path.trim_start_matches("./");
        let Some(rel) = path.strip_prefix(&root_prefix) else { continue };
        if !include.iter().any(|p| rel.starts_with(p.as_str())) {
            continue;
        }
        if rel.split('/').any(|c| c == ".." || c == ".") || rel.starts_with('/') || rel == STAMP_FILE {
            bail!("{} has an unsafe path {path:?}", archive.display());
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            bail!("{} has a link or special file at {path:?}; refusing it", archive.display());
        }
        let out = dest.join(rel);
        fs::create_dir_all(out.parent().unwrap())?;
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).with_context(|| format!("corrupt archive {} at {path}", archive.display()))?;
        fs::write(&out, contents).with_context(|| format!("cannot write {}", out.display()))?;
        count += 1;
    }
    if count == 0 {
        bail!("{} has no files under {root_prefix}{{{}}}", archive.display(), include.join(","));
    }
    Ok(count)
}

/// Apply one `patch -p1` patch (paths relative to the moddable root) strictly:
/// no fuzz, no reversed hunks, no backup or reject files.
fn apply_patch(sh: &Shell, dir: &Path, patch: &Path) -> Result<()> {
    run_captured(
        cmd!(sh, "patch -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch --reject-file=- --quiet -d {dir} -i {patch}"),
        &format!("applying {} (is GNU patch installed? does the patch still apply?)", patch.display()),
    )?;
    Ok(())
}

/// The smoke run's files: the bundle (e.g. acorn's `dist/acorn.js`) and the
/// program it parses (`parse_input`).
#[derive(Debug, Clone)]
pub struct SmokeFiles {
    /// The library bundle.
    pub bundle: PathBuf,
    /// The program parsed with it.
    pub parse_input: PathBuf,
}

/// Make sure the smoke files (e.g. acorn's `dist/acorn.js` and `dist/bin.js`)
/// are in `.cache/smoke/<package>-<version>/`; returns their paths.
pub fn smoke_bundle(ws: &Workspace, smoke: &SmokeBundle, progress: &Progress) -> Result<SmokeFiles> {
    let package = NpmFiles { package: &smoke.npm_package, version: &smoke.version, sha256: &smoke.sha256, config_file: "configs/variants.toml [smoke]" };
    let mut files = package.extract(&Shell::new()?, &ws.smoke, &[&smoke.bundle, &smoke.parse_input], progress)?;
    Ok(SmokeFiles { parse_input: files.pop().expect("two files"), bundle: files.pop().expect("two files") })
}

/// Files taken from a pinned npm package (the smoke bundle, benchmark programs).
#[derive(Debug, Clone, Copy)]
pub struct NpmFiles<'a> {
    /// npm package name.
    pub package: &'a str,
    /// Exact version.
    pub version: &'a str,
    /// sha256 (hex) of the package tarball.
    pub sha256: &'a str,
    /// Where the pin is written (for messages).
    pub config_file: &'a str,
}

impl NpmFiles<'_> {
    /// Make sure `files` (paths inside the tarball, e.g. `package/dist/acorn.js`)
    /// are extracted in `<cache>/<package>-<version>/` (without the `package/`
    /// prefix); returns their paths in the same order. The tarball comes from
    /// `npm pack` (no scripts run) and must have the pinned sha256; the
    /// extracted files are re-hashed against a stamp on every call.
    pub fn extract(&self, sh: &Shell, cache: &Path, files: &[&str], progress: &Progress) -> Result<Vec<PathBuf>> {
        let dir = cache.join(format!("{}-{}", self.package.trim_start_matches('@').replace('/', "-"), self.version));
        let local = |inner: &str| dir.join(inner.strip_prefix("package/").unwrap_or(inner));
        let paths: Vec<PathBuf> = files.iter().map(|f| local(f)).collect();
        let stamp = dir.join(".sha256");
        let expected_stamp = || -> Result<String> {
            let mut text = self.sha256.to_owned();
            for p in &paths {
                text.push(' ');
                text.push_str(&sha256_file(p)?);
            }
            Ok(text)
        };
        if let (Ok(recorded), true) = (fs::read_to_string(&stamp), paths.iter().all(|p| p.is_file())) {
            if recorded.trim() == expected_stamp()? {
                return Ok(paths);
            }
        }
        let tarball = self.tarball(sh, cache, progress)?;
        remove_dir_if_exists(&dir)?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(&tarball)?));
        let mut found = 0;
        for entry in tar.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.to_string_lossy().into_owned();
            if files.contains(&path.as_str()) {
                let mut contents = Vec::new();
                entry.read_to_end(&mut contents)?;
                write_atomic(&local(&path), &contents)?;
                found += 1;
            }
        }
        if found != files.len() {
            bail!("{} lacks one of {files:?}", tarball.display());
        }
        fs::write(&stamp, format!("{}\n", expected_stamp()?))?;
        Ok(paths)
    }

    /// The verified tarball in `cache` (downloaded with `npm pack` when missing).
    fn tarball(&self, sh: &Shell, cache: &Path, progress: &Progress) -> Result<PathBuf> {
        let tarball = cache.join(npm_tarball_name(self.package, self.version));
        if tarball.is_file() && sha256_file(&tarball)? == self.sha256 {
            return Ok(tarball);
        }
        let spec = format!("{}@{}", self.package, self.version);
        progress.step(format!("npm pack {spec} (no scripts run)"));
        let got = npm_pack(sh, &spec, cache)?;
        let actual = sha256_file(&got)?;
        if actual != self.sha256 {
            bail!("{} has the wrong sha256: expected {} ({}), actual {actual}; refusing it", got.display(), self.sha256, self.config_file);
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_mirror_by_name_is_found_beside_the_repository_or_in_the_listed_directories() {
        let root = std::env::temp_dir().join(format!("xs-wasm-mirror-{}", std::process::id()));
        let repo = root.join("checkout");
        let mirrors = root.join("shared").join("test262");
        fs::create_dir_all(&repo).unwrap();
        fs::create_dir_all(&mirrors).unwrap();
        let name = Path::new("suite.tar.gz");
        assert!(find_local_mirror(&repo, name, None).is_err(), "nothing there yet");
        fs::write(mirrors.join(name), b"archive").unwrap();
        assert_eq!(find_local_mirror(&repo, name, None).unwrap(), mirrors.join(name));
        let elsewhere = root.join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let listed = std::env::join_paths([&elsewhere]).unwrap();
        assert!(find_local_mirror(&repo, name, Some(&listed)).is_err(), "the listed directories replace the search");
        fs::write(elsewhere.join(name), b"archive").unwrap();
        assert_eq!(find_local_mirror(&repo, name, Some(&listed)).unwrap(), elsewhere.join(name));
        fs::remove_dir_all(&root).unwrap();
    }
    use crate::config::{Engine, ModdableConfig};
    use crate::progress::Verbosity;
    use std::collections::BTreeMap;

    /// A fresh temporary directory, removed when dropped.
    struct TempDir(PathBuf);
    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn temp_dir(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write_tree(dir: &Path, files: &[(&str, &str)]) {
        for (path, contents) in files {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, contents).unwrap();
        }
    }

    const FILES: &[(&str, &str)] = &[
        ("xs/sources/xsAll.c", "int all;\n"),
        ("xs/includes/xs.h", "#define XS 1\n"),
        ("xs/platforms/p.h", ""),
        ("build/ignored.txt", "not included\n"),
    ];

    /// A `.tgz` with the files under `root/`, returns (path, sha256).
    fn make_tgz(dir: &Path, root: &str, files: &[(&str, &str)]) -> (PathBuf, String) {
        let path = dir.join("src.tgz");
        let gz = flate2::write::GzEncoder::new(fs::File::create(&path).unwrap(), flate2::Compression::default());
        let mut builder = tar::Builder::new(gz);
        for (name, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, format!("{root}/{name}"), contents.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let sha = sha256_file(&path).unwrap();
        (path, sha)
    }

    fn config(archive: &Path, sha256: &str, tree: &str) -> ModdableConfig {
        ModdableConfig {
            engine: Engine {
                name: "test".into(),
                upstream: "u".into(),
                commit: "c".into(),
                xs_version: "0".into(),
                license: "l".into(),
                include: vec!["xs/includes/".into(), "xs/platforms/".into(), "xs/sources/".into()],
                tree_sha256: tree.into(),
            },
            mirrors: vec![Mirror::File { name: "local".into(), path: archive.to_owned(), sha256: Some(sha256.into()), root: "pkg/moddable".into() }],
        }
    }

    fn layout(dir: &Path) -> Workspace {
        let l = Workspace::of(dir);
        fs::create_dir_all(&l.vendor).unwrap();
        fs::write(l.vendor.join("README.md"), "vendor readme\n").unwrap();
        l
    }

    /// Every file under `dir` with its contents.
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        relative_files(dir, true).unwrap().into_iter().map(|f| (f.clone(), fs::read(dir.join(&f)).unwrap())).collect()
    }

    fn quiet() -> Progress {
        Progress::new(Verbosity::Quiet)
    }

    /// The tree hash of FILES' included part, computed independently (python3 hashlib, same algorithm).
    const KNOWN_TREE: &str = "261cd3113f0e8de5a7e4b2fcb89de0a405df3d4e3e5c27858f45ca2727104130";

    #[test]
    fn tree_hash_has_the_known_value_and_ignores_creation_order() {
        let a = temp_dir("tree-a");
        write_tree(&a, &FILES[..3]);
        let b = temp_dir("tree-b");
        let mut reversed = FILES[..3].to_vec();
        reversed.reverse();
        write_tree(&b, &reversed);
        let ha = tree_sha256(&a).unwrap();
        assert_eq!(ha, tree_sha256(&b).unwrap());
        assert_eq!(ha, KNOWN_TREE);
        // The stamp file is not part of the tree; any other change is.
        fs::write(a.join(STAMP_FILE), "x").unwrap();
        assert_eq!(tree_sha256(&a).unwrap(), ha);
        fs::write(a.join("xs/platforms/p.h"), " ").unwrap();
        assert_ne!(tree_sha256(&a).unwrap(), ha);
    }

    #[test]
    fn fetch_installs_a_verified_tree_and_a_second_fetch_is_a_no_op() {
        let dir = temp_dir("fetch-ok");
        let (tgz, sha) = make_tgz(&dir, "pkg/moddable", FILES);
        let l = layout(&dir);
        let cfg = config(&tgz, &sha, KNOWN_TREE);
        let first = fetch(&l, &cfg.source(), &quiet()).unwrap();
        assert!(first.changed);
        assert_eq!(first.tree_sha256, KNOWN_TREE);
        assert!(l.moddable().join("xs/sources/xsAll.c").is_file());
        assert!(!l.moddable().join("build").exists(), "files outside `include` are not extracted");
        let before = snapshot(&l.vendor);
        let second = fetch(&l, &cfg.source(), &quiet()).unwrap();
        assert!(!second.changed);
        assert_eq!(snapshot(&l.vendor), before);
        // A local edit makes the tree stale: the next fetch restores it.
        fs::write(l.moddable().join("xs/sources/xsAll.c"), "edited").unwrap();
        assert!(fetch(&l, &cfg.source(), &quiet()).unwrap().changed);
        assert_eq!(snapshot(&l.vendor), before);
    }

    #[test]
    fn tampered_archive_is_refused_naming_both_hashes_and_vendor_is_unchanged() {
        let dir = temp_dir("fetch-tampered");
        let (tgz, sha) = make_tgz(&dir, "pkg/moddable", FILES);
        let l = layout(&dir);
        fetch(&l, &config(&tgz, &sha, KNOWN_TREE).source(), &quiet()).unwrap();
        let before = snapshot(&l.vendor);

        let mut bytes = fs::read(&tgz).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        let bad = dir.join("bad.tgz");
        fs::write(&bad, &bytes).unwrap();
        let actual = crate::util::sha256_hex(&bytes);
        // A config whose stamp would not match (other tree), so fetch must try the archive.
        let mut cfg = config(&bad, &sha, KNOWN_TREE);
        cfg.engine.tree_sha256 = "0".repeat(64);
        let err = format!("{:#}", fetch(&l, &cfg.source(), &quiet()).unwrap_err());
        assert!(err.contains(&sha) && err.contains(&actual), "{err}");
        assert!(err.contains("wrong sha256"), "{err}");
        assert_eq!(snapshot(&l.vendor), before, "vendor/ must be untouched");
    }

    #[test]
    fn tree_mismatch_is_refused_and_vendor_is_unchanged() {
        let dir = temp_dir("fetch-tree");
        let l = layout(&dir);
        let before = snapshot(&l.vendor);
        let mut files = FILES.to_vec();
        files[0] = ("xs/sources/xsAll.c", "int all; /* changed */\n");
        let (tgz, sha) = make_tgz(&dir, "pkg/moddable", &files);
        let err = format!("{:#}", fetch(&l, &config(&tgz, &sha, KNOWN_TREE).source(), &quiet()).unwrap_err());
        assert!(err.contains("wrong tree sha256") && err.contains(KNOWN_TREE), "{err}");
        assert_eq!(snapshot(&l.vendor), before);
        assert_eq!(fs::read_dir(&l.vendor).unwrap().count(), 1, "no staging directory left behind");
    }

    #[test]
    fn unfilled_tree_hash_reports_the_computed_value() {
        let dir = temp_dir("fetch-unfilled");
        let (tgz, sha) = make_tgz(&dir, "pkg/moddable", FILES);
        let l = layout(&dir);
        let err = format!("{:#}", fetch(&l, &config(&tgz, &sha, UNFILLED).source(), &quiet()).unwrap_err());
        assert!(err.contains(KNOWN_TREE), "{err}");
        assert!(!l.moddable().exists());
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let dir = temp_dir("fetch-unsafe");
        // `tar::Builder` refuses to write "..", so the path is written into the raw header.
        let path = dir.join("evil.tgz");
        let gz = flate2::write::GzEncoder::new(fs::File::create(&path).unwrap(), flate2::Compression::default());
        let mut builder = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        let name = b"pkg/moddable/xs/sources/../../../../evil";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        builder.into_inner().unwrap().finish().unwrap();
        let out = dir.join("out");
        let err = extract(&path, "pkg/moddable", &["xs/sources/".into()], &out).unwrap_err().to_string();
        assert!(err.contains("unsafe path"), "{err}");
        assert!(!dir.join("evil").exists());
    }

    #[test]
    fn patches_are_applied_and_recorded_in_the_stamp() {
        // `apply_patch` runs GNU patch: what this test checks needs it (CI has it).
        assert!(crate::toolchain::which("patch").is_some(), "this test needs the `patch` command on PATH (apt-get install patch)");
        let dir = temp_dir("fetch-patch");
        let (tgz, sha) = make_tgz(&dir, "pkg/moddable", FILES);
        let l = layout(&dir);
        fs::create_dir_all(&l.patches).unwrap();
        fs::write(
            l.patches.join("0001-all.patch"),
            "--- a/xs/sources/xsAll.c\n+++ b/xs/sources/xsAll.c\n@@ -1 +1 @@\n-int all;\n+int all = 1;\n",
        )
        .unwrap();
        let done = fetch(&l, &config(&tgz, &sha, KNOWN_TREE).source(), &quiet()).unwrap();
        assert_eq!(fs::read_to_string(l.moddable().join("xs/sources/xsAll.c")).unwrap(), "int all = 1;\n");
        assert_eq!(done.source_tree_sha256, KNOWN_TREE);
        assert_ne!(done.tree_sha256, KNOWN_TREE);
        assert_eq!(done.tree_sha256, tree_sha256(&l.moddable()).unwrap());
        assert!(!fetch(&l, &config(&tgz, &sha, KNOWN_TREE).source(), &quiet()).unwrap().changed);
        // A patch that does not apply fails the fetch and leaves vendor/ alone.
        let before = snapshot(&l.vendor);
        fs::write(l.patches.join("0002-bad.patch"), "--- a/xs/sources/xsAll.c\n+++ b/xs/sources/xsAll.c\n@@ -1 +1 @@\n-int nothing;\n+int x;\n").unwrap();
        assert!(fetch(&l, &config(&tgz, &sha, KNOWN_TREE).source(), &quiet()).is_err());
        assert_eq!(snapshot(&l.vendor), before);
    }

    #[test]
    fn npm_integrity_is_checked() {
        let dir = temp_dir("integrity");
        let archive = dir.join("p-1.tgz");
        fs::write(&archive, "xs-wasm npm integrity\n").unwrap();
        // Computed outside Rust, once: `printf 'xs-wasm npm integrity\n' | sha256sum` and
        // `printf 'xs-wasm npm integrity\n' | openssl dgst -sha512 -binary | base64 -w0`.
        const SHA256: &str = "24c897d93bdb66c9a403f8cd52bae0ba241da792cc75ffe9f803edf31b723b34";
        const GOOD: &str = "sha512-05eFxiyp9o1nWm60ebQy+soo4I/49hXUtU5sD7TQ6lLhjTBvodTfNoNUofsVZo3fgIrWclob15TjtFSwDX/eTg==";
        let mirror = |integrity: &str| Mirror::Npm {
            name: "npm".into(),
            package: "p".into(),
            version: "1".into(),
            integrity: integrity.into(),
            sha256: SHA256.into(),
            root: "package/moddable".into(),
        };
        verify_archive(&archive, &mirror(GOOD)).unwrap();
        let err = verify_archive(&archive, &mirror("sha512-AAAA")).unwrap_err().to_string();
        assert!(err.contains("wrong integrity") && err.contains("sha512-AAAA") && err.contains(GOOD), "{err}");
        // Other bytes: the pinned sha256 refuses them before the integrity is looked at.
        fs::write(&archive, "xs-wasm npm integrity!\n").unwrap();
        let err = verify_archive(&archive, &mirror(GOOD)).unwrap_err().to_string();
        assert!(err.contains("wrong sha256") && err.contains(SHA256), "{err}");
    }

    #[test]
    fn npm_tarball_names_follow_npm() {
        assert_eq!(npm_tarball_name("@agoric/xsnap", "0.15.0"), "agoric-xsnap-0.15.0.tgz");
        assert_eq!(npm_tarball_name("acorn", "8.15.0"), "acorn-8.15.0.tgz");
    }
}
