//! `cargo xtask dist`: the release files, in `<cargo target dir>/dist/`:
//!
//! - `xs-wasm-<group>-<version>.tar.gz` per toolchain group (`emscripten`,
//!   `wasi`), each holding `xs-wasm-<group>-<version>/` with `<variant>/<file>`,
//!   the full `manifest.json` and a `SHA256SUMS` for its own files;
//!   deterministic: sorted entries, fixed mtime (`SOURCE_DATE_EPOCH`, else 0),
//!   uid/gid 0, modes 0644/0755, gzip level 9 without a timestamp or name;
//! - `manifest.json` (the committed one);
//! - `xs-wasm-<version>.crate`: the `xs-wasm` crate from `cargo package`, with
//!   the manifest and its embedded WASI artifact inside, so it builds from the
//!   .crate alone; dist unpacks it into a temporary directory and runs its
//!   tests there, without the repository's `artifacts/`;
//! - `xs-wasm-<version>.tgz`: the npm package (`npm pack` in `js/`, whose
//!   `prepack` copies the release emscripten builds in from `artifacts/`,
//!   checking each against the manifest); its version must be the crate's;
//! - `xs-wasm-<version>.crate.cdx.json` and `xs-wasm-<version>.npm.cdx.json`:
//!   CycloneDX SBOMs of the two packages, made by `cargo cyclonedx`
//!   (cargo-cyclonedx 0.5.9, `cargo install --locked cargo-cyclonedx
//!   --version 0.5.9`; every optional feature's dependencies, every target)
//!   and by `cyclonedx-npm` (@cyclonedx/cyclonedx-npm, a pinned devDependency
//!   of js/: `npm ci` there first; runtime dependencies only, of which the
//!   package has none); both reproducible: timestamp `SOURCE_DATE_EPOCH`,
//!   no serial number, the crate's local `path+file://` id replaced by its
//!   crates.io id;
//! - `SIZES.md` (the release notes: files, sizes, tools) and `SHA256SUMS`
//!   (every other file of `dist/`).
//!
//! Both packages are checked as the registries would take them: `cargo
//! publish --dry-run` of the staged crate (its default features, built with
//! the workspace's `[profile]` optimisation levels) and `npm publish
//! --dry-run` of the tarball. They are made here rather than in the release
//! workflow so that CI's `cargo xtask dist` checks the same thing a release
//! runs, and SHA256SUMS (and so the provenance attestation) covers them.
//!
//! The version is the `xs-wasm` crate's. The artifacts must be the ones the
//! manifest records (dist packages, it does not build).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xs_wasm::WASI_MODULE_FILE;
use xshell::{cmd, Shell};

use crate::config::Configs;
use crate::manifest::Manifest;
use crate::measure::thousands;
use crate::progress::Progress;
use crate::util::{remove_dir_if_exists, sha256_file, sha256_hex, tail_of_output};
use crate::workspace::Workspace;

/// The crate that is packaged, relative to the repository.
const CRATE_DIR: &str = "crates/xs-wasm";
/// The crate's package name.
const CRATE_NAME: &str = "xs-wasm";
/// The variant the crate embeds: crates/xs-wasm/build.rs's default
/// (`$XS_WASM_VARIANT` overrides both).
const DEFAULT_EMBEDDED_VARIANT: &str = "wasi-os";

/// Options of `cargo xtask dist` (its flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DistOptions {
    /// Then `cargo publish` the crate (needs CARGO_REGISTRY_TOKEN)
    #[arg(long)]
    pub publish: bool,
}

/// Make `<target>/dist/`; see the module documentation.
pub fn dist(ws: &Workspace, options: &DistOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let sh = Shell::new()?;
    let configs = Configs::load(repo)?;
    let artifacts = &ws.artifacts;
    let manifest_path = ws.manifest();
    let manifest = Manifest::load(&manifest_path)?.context("artifacts/manifest.json does not exist: run `cargo xtask build` first")?;
    check_artifacts(&configs, &manifest, artifacts)?;
    let version = crate_version(&repo.join(CRATE_DIR).join("Cargo.toml"))?;
    let mtime = source_date_epoch()?;
    let target = &ws.target;
    let dist = target.join("dist");
    remove_dir_if_exists(&dist)?;
    fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;
    let manifest_bytes = fs::read(&manifest_path)?;

    write_tarballs(&configs, &manifest, &manifest_bytes, artifacts, &dist, &version, mtime, progress)?;
    fs::write(dist.join("manifest.json"), &manifest_bytes)?;

    // ---- the crate, packaged and tested from the .crate alone
    let variant = std::env::var("XS_WASM_VARIANT").unwrap_or_else(|_| DEFAULT_EMBEDDED_VARIANT.to_owned());
    let crate_file = package_crate(&sh, ws, &version, &variant, &manifest, progress)?;
    test_packaged_crate(&sh, repo, target, &crate_file, &version, progress)?;
    let crate_name = format!("{CRATE_NAME}-{version}.crate");
    fs::copy(&crate_file, dist.join(&crate_name))?;

    // ---- the npm package and the SBOMs
    let tgz = npm_pack(&sh, repo, &dist, &version, progress)?;
    npm_publish_dry_run(&sh, &tgz, progress)?;
    cargo_publish_dry_run(&sh, ws, &variant, progress)?;
    crate_sbom(&sh, target, &crate_file, &version, mtime, &dist, progress)?;
    npm_sbom(&sh, repo, &version, mtime, &dist, progress)?;

    // ---- release notes and checksums
    fs::write(dist.join("SIZES.md"), sizes_md(&manifest, &version, &release_files(&dist)?))?;
    let listing = release_files(&dist)?;
    let sums: String = listing.iter().map(|(name, _, sha)| format!("{sha}  {name}\n")).collect();
    fs::write(dist.join("SHA256SUMS"), sums)?;

    if options.publish {
        progress.step(format!("dist: cargo publish -p {CRATE_NAME}"));
        let _staged = Staged::new(ws, &variant)?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let _dir = sh.push_dir(repo);
        // cargo's output goes to the terminal; stdin is /dev/null (cargo publish asks nothing).
        cmd!(sh, "{cargo} publish -p {CRATE_NAME} --allow-dirty --no-verify --locked")
            .quiet()
            .run()
            .with_context(|| format!("cargo publish -p {CRATE_NAME} failed; target/dist/ is complete"))?;
    }

    println!("{}", dist.display());
    for (name, bytes, sha) in release_files(&dist)? {
        println!("  {name:<40} {:>12}  {sha}", thousands(bytes));
    }
    Ok(())
}

/// One `xs-wasm-<group>-<version>.tar.gz` per toolchain group in `dist`,
/// each with the manifest, the group's variants' files and their SHA256SUMS.
#[allow(clippy::too_many_arguments)]
fn write_tarballs(configs: &Configs, manifest: &Manifest, manifest_bytes: &[u8], artifacts: &Path, dist: &Path, version: &str, mtime: u64, progress: &Progress) -> Result<()> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for v in &configs.variants.variants {
        groups.entry(v.toolchain.to_string()).or_default().push(v.name.as_str());
    }
    for (group, variants) in &groups {
        let top = format!("xs-wasm-{group}-{version}");
        let mut files: Vec<(String, Vec<u8>)> = vec![(format!("{top}/manifest.json"), manifest_bytes.to_vec())];
        let mut sums = String::new();
        let mut listed: Vec<(String, String)> = Vec::new();
        for variant in variants {
            for (file, rec) in &manifest.variants[*variant].files {
                let rel = format!("{variant}/{file}");
                files.push((format!("{top}/{rel}"), fs::read(artifacts.join(&rel))?));
                listed.push((rel, rec.sha256.clone()));
            }
        }
        listed.sort();
        for (rel, sha) in &listed {
            sums.push_str(&format!("{sha}  {rel}\n"));
        }
        files.push((format!("{top}/SHA256SUMS"), sums.into_bytes()));
        let archive = tar_gz(&files, mtime)?;
        fs::write(dist.join(format!("{top}.tar.gz")), &archive)?;
        progress.step(format!("dist: {top}.tar.gz ({} variants, {} bytes)", variants.len(), thousands(archive.len() as u64)));
    }
    Ok(())
}

/// Every configured variant is in the manifest, no other one is, and every
/// recorded file is in `artifacts/` with its recorded sha256.
fn check_artifacts(configs: &Configs, manifest: &Manifest, artifacts: &Path) -> Result<()> {
    for v in &configs.variants.variants {
        if !manifest.variants.contains_key(&v.name) {
            bail!("artifacts/manifest.json has no entry for variant {} (configs/variants.toml): run `cargo xtask build`", v.name);
        }
    }
    for (name, record) in &manifest.variants {
        if !configs.variants.variants.iter().any(|v| &v.name == name) {
            bail!("artifacts/manifest.json records variant {name}, which configs/variants.toml no longer defines: run `cargo xtask build` and remove the entry");
        }
        for (file, rec) in &record.files {
            let path = artifacts.join(name).join(file);
            let actual = sha256_file(&path).with_context(|| format!("artifacts/{name}/{file} is missing: run `cargo xtask build`"))?;
            if actual != rec.sha256 {
                bail!("artifacts/{name}/{file} is not the recorded artifact (sha256 {actual}, manifest {}): run `cargo xtask build`", rec.sha256);
            }
        }
    }
    Ok(())
}

/// `[package] version` of a Cargo.toml.
fn crate_version(cargo_toml: &Path) -> Result<String> {
    let text = fs::read_to_string(cargo_toml).with_context(|| format!("cannot read {}", cargo_toml.display()))?;
    let value: toml::Value = toml::from_str(&text).with_context(|| format!("cannot parse {}", cargo_toml.display()))?;
    value.get("package").and_then(|p| p.get("version")).and_then(|v| v.as_str()).map(str::to_owned).with_context(|| format!("{} has no [package] version", cargo_toml.display()))
}

/// `SOURCE_DATE_EPOCH` as seconds, 0 when unset.
fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")),
        _ => Ok(0),
    }
}

/// A deterministic `.tar.gz` of `files` ('/'-separated paths → contents): the
/// parent directories are added, entries sorted by path, ustar headers with
/// `mtime`, uid/gid 0, no user names, mode 0755 (directories) / 0644 (files);
/// gzip level 9 with mtime 0, no file name, OS "unknown".
pub fn tar_gz(files: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let mut entries: BTreeMap<String, Option<&[u8]>> = BTreeMap::new();
    for (path, data) in files {
        if path.starts_with('/') || path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            bail!("bad archive path {path:?}");
        }
        let mut dir = String::new();
        for component in path.split('/').collect::<Vec<_>>().split_last().expect("non-empty").1 {
            dir.push_str(component);
            dir.push('/');
            entries.insert(dir.clone(), None);
        }
        if entries.insert(path.clone(), Some(data)).is_some() {
            bail!("{path} is in the archive twice");
        }
    }
    let gz = flate2::GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in &entries {
        let mut header = tar::Header::new_ustar();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        match data {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, path, std::io::empty())?;
            }
            Some(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(bytes.len() as u64);
                tar.append_data(&mut header, path, *bytes)?;
            }
        }
    }
    let gz = tar.into_inner()?;
    Ok(gz.finish()?)
}

/// `artifacts/` staged inside the crate for `cargo package`/`publish`; removed when dropped.
struct Staged(PathBuf);

impl Staged {
    fn new(ws: &Workspace, variant: &str) -> Result<Staged> {
        let dir = ws.repo.join(CRATE_DIR).join("artifacts");
        remove_dir_if_exists(&dir)?;
        let staged = Staged(dir.clone());
        fs::create_dir_all(dir.join(variant))?;
        fs::copy(ws.manifest(), dir.join("manifest.json"))?;
        let module = ws.artifacts.join(variant).join(WASI_MODULE_FILE);
        fs::copy(&module, dir.join(variant).join(WASI_MODULE_FILE)).with_context(|| format!("cannot copy {} (is {variant} a WASI variant?)", module.display()))?;
        let preinit = ws.artifacts.join(variant).join(xs_wasm::WASI_PREINIT_FILE);
        if preinit.is_file() {
            fs::copy(&preinit, dir.join(variant).join(xs_wasm::WASI_PREINIT_FILE))?;
        }
        Ok(staged)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `cargo package` the crate with the manifest and the embedded variant staged
/// inside it; checks that both are in the .crate. Returns the .crate's path.
fn package_crate(sh: &Shell, ws: &Workspace, version: &str, variant: &str, manifest: &Manifest, progress: &Progress) -> Result<PathBuf> {
    progress.step(format!("dist: cargo package -p {CRATE_NAME} (embedding {variant})"));
    let record = manifest.variants.get(variant).with_context(|| format!("the manifest has no variant {variant} to embed"))?;
    let module_sha = &record.files.get(WASI_MODULE_FILE).with_context(|| format!("{variant} has no {WASI_MODULE_FILE}: the crate embeds a WASI variant"))?.sha256;
    let output = {
        let _staged = Staged::new(ws, variant)?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let _dir = sh.push_dir(&ws.repo);
        cmd!(sh, "{cargo} package -p {CRATE_NAME} --allow-dirty --no-verify --locked").quiet().ignore_status().output().context("running cargo package")?
    };
    if !output.status.success() {
        bail!("cargo package -p {CRATE_NAME} failed ({}):\n{}", output.status, tail_of_output(&output));
    }
    let crate_file = ws.target.join("package").join(format!("{CRATE_NAME}-{version}.crate"));
    let top = format!("{CRATE_NAME}-{version}");
    let contents = read_tar_gz(&crate_file)?;
    let mut expect = vec![(format!("{top}/artifacts/manifest.json"), sha256_hex(&fs::read(ws.manifest())?)), (format!("{top}/artifacts/{variant}/{WASI_MODULE_FILE}"), module_sha.clone())];
    if let Some(preinit) = record.files.get(xs_wasm::WASI_PREINIT_FILE) {
        expect.push((format!("{top}/artifacts/{variant}/{}", xs_wasm::WASI_PREINIT_FILE), preinit.sha256.clone()));
    }
    for (path, sha) in &expect {
        match contents.get(path) {
            Some(bytes) if &sha256_hex(bytes) == sha => {}
            Some(_) => bail!("{} holds {path} with the wrong contents", crate_file.display()),
            None => bail!("{} lacks {path}: check `include` in {CRATE_DIR}/Cargo.toml", crate_file.display()),
        }
    }
    Ok(crate_file)
}

/// The npm program's name.
fn npm() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

/// `npm pack` the JS package into `dist`; its version must be `version`.
/// Returns the tarball's path.
fn npm_pack(sh: &Shell, repo: &Path, dist: &Path, version: &str, progress: &Progress) -> Result<PathBuf> {
    let js = repo.join("js");
    let package: serde_json::Value = serde_json::from_slice(&fs::read(js.join("package.json"))?).context("cannot parse js/package.json")?;
    let (name, js_version) = (package["name"].as_str().unwrap_or_default(), package["version"].as_str().unwrap_or_default());
    if js_version != version {
        bail!("js/package.json has version {js_version:?}, the crate {version:?}: release both with one version");
    }
    progress.step(format!("dist: npm pack (js/, {name} {version})"));
    let npm = npm();
    let output = {
        let _dir = sh.push_dir(&js);
        cmd!(sh, "{npm} pack --json --pack-destination {dist}").quiet().ignore_status().output().context("running npm pack")?
    };
    if !output.status.success() {
        bail!("npm pack in js/ failed ({}):\n{}", output.status, tail_of_output(&output));
    }
    let expected = format!("{name}-{version}.tgz");
    let path = dist.join(&expected);
    if !path.is_file() {
        bail!("npm pack did not write {expected} into {}", dist.display());
    }
    Ok(path)
}

/// `npm publish --dry-run` of the packed tarball (no token needed).
fn npm_publish_dry_run(sh: &Shell, tgz: &Path, progress: &Progress) -> Result<()> {
    progress.step(format!("dist: npm publish --dry-run {}", tgz.file_name().unwrap_or_default().to_string_lossy()));
    let npm = npm();
    let dir = tgz.parent().context("the tarball has a directory")?;
    let _dir = sh.push_dir(dir);
    let output = cmd!(sh, "{npm} publish --dry-run --ignore-scripts {tgz}").quiet().ignore_status().output().context("running npm publish --dry-run")?;
    if !output.status.success() {
        bail!("npm publish --dry-run of {} failed ({}):\n{}", tgz.display(), output.status, tail_of_output(&output));
    }
    Ok(())
}

/// `cargo publish --dry-run` of the crate with its artifacts staged: cargo
/// packages it, resolves its dependencies on crates.io and builds it with
/// its default features, as `cargo publish` would (the workspace's
/// `[profile]` optimisation levels are passed on, so the dependencies
/// already compiled are reused).
fn cargo_publish_dry_run(sh: &Shell, ws: &Workspace, variant: &str, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    progress.step(format!("dist: cargo publish --dry-run -p {CRATE_NAME}"));
    let mut args: Vec<String> = vec!["publish".into(), "--dry-run".into(), "-p".into(), CRATE_NAME.into(), "--allow-dirty".into(), "--locked".into()];
    for setting in profile_settings(&fs::read_to_string(repo.join("Cargo.toml"))?)? {
        args.push("--config".into());
        args.push(setting);
    }
    let _staged = Staged::new(ws, variant)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let _dir = sh.push_dir(repo);
    let output = cmd!(sh, "{cargo} {args...}").env_remove("XS_WASM_ARTIFACTS").env_remove("XS_WASM_VARIANT").quiet().ignore_status().output().context("running cargo publish --dry-run")?;
    if !output.status.success() {
        bail!("cargo publish --dry-run -p {CRATE_NAME} failed ({}):\n{}", output.status, tail_of_output(&output));
    }
    Ok(())
}

/// The crate's CycloneDX SBOM (`cargo cyclonedx` on the unpacked .crate,
/// its Cargo.lock) as `dist/xs-wasm-<version>.crate.cdx.json`.
fn crate_sbom(sh: &Shell, target: &Path, crate_file: &Path, version: &str, mtime: u64, dist: &Path, progress: &Progress) -> Result<()> {
    progress.step("dist: CycloneDX SBOM of the crate (cargo cyclonedx)");
    let dir = target.join("dist-sbom");
    remove_dir_if_exists(&dir)?;
    fs::create_dir_all(&dir)?;
    tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(crate_file)?)).unpack(&dir).with_context(|| format!("cannot unpack {}", crate_file.display()))?;
    let package = dir.join(format!("{CRATE_NAME}-{version}"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = {
        let _dir = sh.push_dir(&package);
        cmd!(sh, "{cargo} cyclonedx --format json --spec-version 1.5 --all-features --target all --override-filename sbom -q")
            .env("SOURCE_DATE_EPOCH", mtime.to_string())
            .env("CARGO_TARGET_DIR", target)
            .quiet()
            .ignore_status()
            .output()
            .context("running cargo cyclonedx")?
    };
    if !output.status.success() {
        bail!(
            "cargo cyclonedx failed ({}); install it with `cargo install --locked cargo-cyclonedx --version 0.5.9`:\n{}",
            output.status,
            tail_of_output(&output)
        );
    }
    let text = fs::read_to_string(package.join("sbom.json")).context("cargo cyclonedx wrote no sbom.json")?;
    let local = format!("path+file://{}", package.display());
    // `path+file:///tmp/.../xs-wasm-<version>#xs-wasm@<version>` → `registry+https://github.com/rust-lang/crates.io-index#xs-wasm@<version>`.
    let published = "registry+https://github.com/rust-lang/crates.io-index";
    let sbom = reproducible_sbom(&text.replace(&local, published))?;
    if sbom.contains(&*dir.to_string_lossy()) {
        bail!("the crate's SBOM still names the directory it was made in ({})", dir.display());
    }
    fs::write(dist.join(format!("{CRATE_NAME}-{version}.crate.cdx.json")), sbom)?;
    remove_dir_if_exists(&dir)?;
    Ok(())
}

/// The npm package's CycloneDX SBOM (`cyclonedx-npm` in js/, runtime
/// dependencies only) as `dist/xs-wasm-<version>.npm.cdx.json`.
fn npm_sbom(sh: &Shell, repo: &Path, version: &str, mtime: u64, dist: &Path, progress: &Progress) -> Result<()> {
    progress.step("dist: CycloneDX SBOM of the npm package (cyclonedx-npm)");
    let js = repo.join("js");
    let tool = js.join("node_modules/.bin").join(if cfg!(windows) { "cyclonedx-npm.cmd" } else { "cyclonedx-npm" });
    if !tool.is_file() {
        bail!("{} is missing: run `npm ci` in js/ (it is a pinned devDependency)", tool.display());
    }
    let out = dist.join(format!("xs-wasm-{version}.npm.cdx.json"));
    let output = {
        let _dir = sh.push_dir(&js);
        cmd!(sh, "{tool} --omit dev --output-reproducible --output-format JSON --spec-version 1.5 --output-file {out}")
            .env("SOURCE_DATE_EPOCH", mtime.to_string())
            .quiet()
            .ignore_status()
            .output()
            .context("running cyclonedx-npm")?
    };
    if !output.status.success() {
        bail!("cyclonedx-npm failed ({}):\n{}", output.status, tail_of_output(&output));
    }
    let sbom = reproducible_sbom(&fs::read_to_string(&out)?)?;
    fs::write(&out, sbom)?;
    Ok(())
}

/// A CycloneDX JSON document without the fields that differ between two runs
/// on the same input (`serialNumber`, a random URN), pretty-printed with a
/// final newline. Fails unless it is a CycloneDX document.
pub fn reproducible_sbom(text: &str) -> Result<String> {
    let mut doc: serde_json::Value = serde_json::from_str(text).context("the SBOM is not JSON")?;
    if doc["bomFormat"] != "CycloneDX" {
        bail!("the SBOM is not a CycloneDX document (bomFormat {})", doc["bomFormat"]);
    }
    if let Some(object) = doc.as_object_mut() {
        object.remove("serialNumber");
    }
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// Every file of a .tar.gz, by path.
fn read_tar_gz(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let name = entry.path()?.to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes)?;
            out.insert(name, bytes);
        }
    }
    Ok(out)
}

/// Unpack the .crate into a temporary directory (where `../../artifacts` does
/// not exist) and run `cargo test --locked` there, with the shared target
/// directory and the workspace's `[profile]` settings (optimisation levels
/// only: they let the already compiled dependencies be reused).
fn test_packaged_crate(sh: &Shell, repo: &Path, target: &Path, crate_file: &Path, version: &str, progress: &Progress) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("xs-wasm-dist-check-{}", std::process::id()));
    remove_dir_if_exists(&dir)?;
    let unpacked = dir.join("unpacked");
    fs::create_dir_all(&unpacked)?;
    tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(crate_file)?)).unpack(&unpacked).with_context(|| format!("cannot unpack {}", crate_file.display()))?;
    let package = unpacked.join(format!("{CRATE_NAME}-{version}"));
    if package.join("../../artifacts").exists() {
        bail!("{} exists: the packaged crate's test would not be alone", package.join("../../artifacts").display());
    }
    let workspace_toml = fs::read_to_string(repo.join("Cargo.toml"))?;
    // Every feature but `profiling` (wasmtime's profiling agents, C): the CLI's tests too.
    let mut args: Vec<String> = vec!["test".into(), "--locked".into(), "--features".into(), "cli".into()];
    for setting in profile_settings(&workspace_toml)? {
        args.push("--config".into());
        args.push(setting);
    }
    progress.step(format!("dist: cargo test in the unpacked {} ({})", crate_file.file_name().unwrap_or_default().to_string_lossy(), package.display()));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = {
        let _dir = sh.push_dir(&package);
        cmd!(sh, "{cargo} {args...}")
            .env("CARGO_TARGET_DIR", target)
            .env_remove("XS_WASM_ARTIFACTS")
            .env_remove("XS_WASM_VARIANT")
            .quiet()
            .ignore_status()
            .output()
            .context("running cargo test on the packaged crate")?
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let results: Vec<&str> = stdout.lines().filter(|l| l.starts_with("test result:")).collect();
    if !output.status.success() {
        bail!("the packaged crate's tests failed in {} ({}):\n{}", package.display(), output.status, tail_of_output(&output));
    }
    let passed: u64 = results.iter().filter_map(|l| l.split_once(". ").and_then(|(_, r)| r.split(' ').next()).and_then(|n| n.parse::<u64>().ok())).sum();
    progress.step(format!("dist: packaged crate: {passed} tests passed ({} test binaries)", results.len()));
    remove_dir_if_exists(&dir)?;
    Ok(())
}

/// The `[profile]` table of a Cargo.toml as `--config` settings
/// (`profile.dev.package.sha2.opt-level=2`), sorted.
pub fn profile_settings(cargo_toml: &str) -> Result<Vec<String>> {
    fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') { k.clone() } else { format!("{k:?}") };
                    flatten(&format!("{prefix}.{key}"), v, out);
                }
            }
            other => out.push(format!("{prefix}={other}")),
        }
    }
    let value: toml::Value = toml::from_str(cargo_toml).context("cannot parse the workspace Cargo.toml")?;
    let mut out = Vec::new();
    if let Some(profile) = value.get("profile") {
        flatten("profile", profile, &mut out);
    }
    out.sort();
    Ok(out)
}

/// (name, bytes, sha256) of every file in `dist` except SHA256SUMS, sorted.
fn release_files(dist: &Path) -> Result<Vec<(String, u64, String)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dist)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && name != "SHA256SUMS" {
            out.push((name, entry.metadata()?.len(), sha256_file(&entry.path())?));
        }
    }
    out.sort();
    Ok(out)
}

/// The release notes: what is in the release, the size of every artifact, the tools.
pub fn sizes_md(manifest: &Manifest, version: &str, files: &[(String, u64, String)]) -> String {
    let e = &manifest.engine;
    let mut md = format!(
        "# xs-wasm {version}\n\n{} {} ({} at `{}`), {}.\nEvery file is listed with its sha256 in `SHA256SUMS`; `artifacts/manifest.json` records how each artifact was built. \
         See \"Verifying a release\" in the README: `sha256sum -c SHA256SUMS`, then `cargo xtask verify` rebuilds and compares.\n\n",
        e.name, e.xs_version, e.upstream, e.commit, e.license
    );
    md.push_str("## Release files\n\n| file | bytes | sha256 |\n|---|---:|---|\n");
    for (name, bytes, sha) in files.iter().filter(|(n, _, _)| n != "SIZES.md") {
        md.push_str(&format!("| {name} | {} | `{sha}` |\n", thousands(*bytes)));
    }
    md.push_str("\n## Artifact sizes (bytes)\n\n| variant | file | raw | gzip -9 | brotli 11 | before wasm-opt | empty snapshot | bundle snapshot |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, v) in &manifest.variants {
        for (file, f) in &v.files {
            let before = f.before_wasm_opt.map(|b| thousands(b.bytes)).unwrap_or_else(|| "-".to_owned());
            md.push_str(&format!(
                "| {name} | {file} | {} | {} | {} | {before} | {} | {} |\n",
                thousands(f.bytes),
                thousands(f.gzip),
                thousands(f.brotli),
                thousands(v.snapshot.empty_bytes),
                thousands(v.snapshot.bundle_bytes)
            ));
        }
    }
    md.push_str("\n## Tools\n\n| variants | tools |\n|---|---|\n");
    let mut sets: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, v) in &manifest.variants {
        let tools = v.tools.iter().map(|(k, t)| format!("{k}: {t}")).collect::<Vec<_>>().join("; ");
        sets.entry(tools).or_default().push(name);
    }
    for (tools, names) in &sets {
        md.push_str(&format!("| {} | {} |\n", names.join(", "), tools.replace('|', "\\|")));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("top/wasi-os/xs-wasm.wasm".to_owned(), b"\0asm\x01\0\0\0".to_vec()),
            ("top/SHA256SUMS".to_owned(), b"x  wasi-os/xs-wasm.wasm\n".to_vec()),
            ("top/manifest.json".to_owned(), b"{}\n".to_vec()),
        ]
    }

    #[test]
    fn archives_are_deterministic_sorted_and_normalised() {
        let a = tar_gz(&files(), 0).unwrap();
        let mut reversed = files();
        reversed.reverse();
        assert_eq!(a, tar_gz(&reversed, 0).unwrap(), "input order does not matter");
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0], "gzip, no name/comment flags");
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip mtime 0");
        assert_eq!(a[9], 255, "gzip OS unknown");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&a[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!((h.mtime().unwrap(), h.uid().unwrap(), h.gid().unwrap()), (0, 0, 0));
            assert_eq!(h.username().unwrap(), Some(""));
            let dir = h.entry_type().is_dir();
            assert_eq!(h.mode().unwrap(), if dir { 0o755 } else { 0o644 });
            seen.push(entry.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(seen, ["top/", "top/SHA256SUMS", "top/manifest.json", "top/wasi-os/", "top/wasi-os/xs-wasm.wasm"]);
        let b = tar_gz(&files(), 1_700_000_000).unwrap();
        assert_ne!(a, b, "SOURCE_DATE_EPOCH reaches the entries");
    }

    #[test]
    fn sboms_lose_their_serial_number_and_nothing_else() {
        let text = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427","version":1,"metadata":{"timestamp":"1970-01-01T00:00:00Z"},"components":[{"name":"a"}]}"#;
        let out = reproducible_sbom(text).unwrap();
        assert!(out.ends_with("}\n"));
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc.get("serialNumber"), None);
        assert_eq!(doc["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(doc["components"][0]["name"], "a");
        assert_eq!(reproducible_sbom(&out).unwrap(), out, "idempotent");
        assert!(reproducible_sbom(r#"{"spdxVersion":"SPDX-2.3"}"#).is_err());
    }

    #[test]
    fn bad_archive_paths_are_refused() {
        for bad in ["/abs", "a/../b", "a//b", "a/"] {
            assert!(tar_gz(&[(bad.to_owned(), vec![])], 0).is_err(), "{bad}");
        }
        let twice = vec![("a".to_owned(), vec![]), ("a".to_owned(), vec![1])];
        assert!(tar_gz(&twice, 0).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn profile_settings_flatten_the_workspace_profiles() {
        let toml = "[workspace]\nmembers=[]\n[profile.dev.package.cranelift-codegen]\nopt-level = 2\n[profile.release]\nlto = \"thin\"\n";
        assert_eq!(profile_settings(toml).unwrap(), ["profile.dev.package.cranelift-codegen.opt-level=2", "profile.release.lto=\"thin\""]);
        assert!(profile_settings("[workspace]\n").unwrap().is_empty());
    }

    #[test]
    fn the_crate_version_is_read_from_its_cargo_toml() {
        let repo = &crate::util::repo_root();
        let v = crate_version(&repo.join(CRATE_DIR).join("Cargo.toml")).unwrap();
        assert!(v.split('.').count() == 3, "{v}");
    }

    #[test]
    fn sizes_md_lists_files_sizes_and_tool_sets() {
        let repo = &crate::util::repo_root();
        let manifest = Manifest::load(&repo.join("artifacts/manifest.json")).unwrap().expect("artifacts/manifest.json is committed");
        assert!(!manifest.variants.is_empty());
        let md = sizes_md(&manifest, "0.1.0", &[("xs-wasm-wasi-0.1.0.tar.gz".into(), 1234567, "ab".repeat(32))]);
        assert!(md.starts_with("# xs-wasm 0.1.0\n"));
        assert!(md.contains("| xs-wasm-wasi-0.1.0.tar.gz | 1,234,567 | `"), "{md}");
        for name in manifest.variants.keys() {
            assert!(md.contains(&format!("| {name} | ")), "{name}");
        }
        assert!(md.contains("## Tools"));
    }
}
