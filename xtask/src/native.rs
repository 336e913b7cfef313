//! The native XS reference runner: XS and our port compiled for the host
//! with the `cc` crate, using the same platform header, feature switches
//! (`[common] defines` of configs/variants.toml) and host API as every wasm
//! variant, plus `port/native/xs_native_runner.c` as its `main`. It answers
//! "what does XS itself do with our configuration" for `cargo xtask test262`
//! (and the benchmarks). Built into `<target>/xs-native/`, never shipped.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::config::{expand, Configs, PORT_DIR, XS_DIR};
use crate::progress::Progress;
use crate::workspace::Workspace;

/// The runner's C `main` (relative to the repository).
const RUNNER_SOURCE: &str = "port/native/xs_native_runner.c";
/// Optimisation level of the reference build (`-O3`, as XS's own release builds).
const OPT_LEVEL: u32 = 3;

/// Where the runner is built: `<cargo target dir>/xs-native/xs_native_runner`.
pub fn runner_path(ws: &Workspace) -> PathBuf {
    ws.target.join("xs-native").join("xs_native_runner")
}

/// Build the native runner unless the one in `target/` was built from the
/// same sources and flags. Returns its path. Needs `vendor/moddable` (fetched).
pub fn build_runner(ws: &Workspace, configs: &Configs, progress: &Progress) -> Result<PathBuf> {
    let repo = &ws.repo;
    let exe = runner_path(ws);
    let dir = exe.parent().expect("runner path has a parent").to_owned();
    let (xs_files, port_files) = sources(repo, configs);
    let key = inputs_hash(repo, configs, &xs_files, &port_files)?;
    let stamp = dir.join("inputs.sha256");
    if exe.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == key) {
        progress.step("native runner up to date");
        return Ok(exe);
    }
    progress.step(format!("native runner: compile {} files with the host C compiler (cc crate, -O{OPT_LEVEL})", xs_files.len() + port_files.len()));
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _ = fs::remove_file(&stamp);
    let mut objects = compile(repo, configs, &xs_files, &dir.join("obj-xs"), false)?;
    objects.extend(compile(repo, configs, &port_files, &dir.join("obj-port"), true)?);
    link(repo, configs, &objects, &exe)?;
    fs::write(&stamp, format!("{key}\n"))?;
    progress.step(format!("native runner: {}", crate::util::display_relative(&exe, repo)));
    Ok(exe)
}

/// The XS sources and the port sources (with the runner), repository-relative.
fn sources(repo: &Path, configs: &Configs) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let common = &configs.variants.common;
    let xs = common.xs_sources.iter().map(|s| repo.join(XS_DIR).join("sources").join(s)).collect();
    let mut port: Vec<PathBuf> = common.port_sources.iter().map(|s| repo.join(PORT_DIR).join(s)).collect();
    port.push(repo.join(RUNNER_SOURCE));
    (xs, port)
}

/// sha256 over the flags, every source and every header the build can read.
fn inputs_hash(repo: &Path, configs: &Configs, xs: &[PathBuf], port: &[PathBuf]) -> Result<String> {
    let common = &configs.variants.common;
    let mut hasher = Sha256::new();
    hasher.update(format!("{:?}|{:?}|{OPT_LEVEL}|{}\n", common.defines, common.include_dirs, env!("XTASK_TARGET")));
    let mut files: Vec<PathBuf> = xs.iter().chain(port).cloned().collect();
    for dir in &common.include_dirs {
        let dir = repo.join(expand(dir));
        for rel in crate::util::relative_files(&dir, false)? {
            if rel.ends_with(".h") {
                files.push(dir.join(rel));
            }
        }
    }
    for file in files {
        let bytes = fs::read(&file).with_context(|| format!("cannot read {} (run `cargo xtask fetch`?)", file.display()))?;
        hasher.update(file.strip_prefix(repo).unwrap_or(&file).to_string_lossy().as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// A `cc::Build` for the host with the port's defines and include directories.
fn base_build(repo: &Path, configs: &Configs) -> cc::Build {
    let common = &configs.variants.common;
    let target = env!("XTASK_TARGET");
    let mut build = cc::Build::new();
    build.target(target).host(target).opt_level(OPT_LEVEL).debug(false).cargo_metadata(false).cargo_warnings(false).emit_rerun_if_env_changed(false);
    for define in &common.defines {
        match define.split_once('=') {
            Some((name, value)) => build.define(name, Some(value)),
            None => build.define(define, None),
        };
    }
    for dir in &common.include_dirs {
        build.include(repo.join(expand(dir)));
    }
    build
}

fn compile(repo: &Path, configs: &Configs, files: &[PathBuf], out: &Path, port: bool) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut build = base_build(repo, configs);
    build.out_dir(out).files(files);
    if port {
        build.warnings(true).extra_warnings(true).flag("-Wno-unused-parameter").flag("-Wno-missing-field-initializers");
    } else {
        // XS's sources are not warning-clean (as in the wasm builds).
        build.warnings(false).flag("-w");
    }
    build.try_compile_intermediates().with_context(|| format!("compiling the native runner's {} sources", if port { "port" } else { "XS" }))
}

fn link(repo: &Path, configs: &Configs, objects: &[PathBuf], exe: &Path) -> Result<()> {
    let compiler = base_build(repo, configs).try_get_compiler().context("finding the host C compiler")?;
    let mut command = compiler.to_command();
    command.args(objects).arg("-o").arg(exe).arg("-lm");
    let output = command.output().with_context(|| format!("running {:?}", compiler.path()))?;
    if !output.status.success() {
        anyhow::bail!("linking the native runner failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
