//! Find or provision the toolchains, and record their exact versions.
//!
//! - emscripten: `$EMSDK/upstream/emscripten/emcc`, else `emcc` on PATH, else
//!   (as root) Debian's package via apt-get.
//! - WASI C: `$WASI_SDK_PATH/bin/clang`, else the PyPI `ziglang` wheel
//!   installed into `.cache/toolchains/ziglang-<version>` and run as `zig cc`.
//! - node: on PATH, at least `[node] minimum_major`.
//! - binaryen: the npm package installed into `.cache/toolchains/binaryen-<version>`,
//!   its Node-run `wasm-opt`.
//!
//! Nothing outside the repository is written except by apt-get (as root only).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::config::{ToolchainKind, ToolchainsConfig, Variant};
use crate::progress::Progress;
use crate::util::{display_relative, remove_dir_if_exists, run_captured};

/// A C compiler driver and how to call it.
#[derive(Debug, Clone)]
pub struct CCompiler {
    /// The executable (emcc, zig, clang).
    pub program: PathBuf,
    /// Arguments that select the driver mode (`["cc"]` for zig), not recorded as flags.
    pub driver_args: Vec<String>,
    /// Target selection, recorded with the flags (e.g. `["-target", "wasm32-wasi"]`).
    pub target_args: Vec<String>,
    /// Extra environment for every call.
    pub env: Vec<(OsString, OsString)>,
    /// Short label for progress lines, e.g. "zig cc 0.17.1".
    pub label: String,
    /// Tool name → exact version, for the manifest.
    pub tools: BTreeMap<String, String>,
}

impl CCompiler {
    /// A shell whose commands run in `dir` with `extra`, then this compiler's
    /// environment (pass the commands through [`crate::util::sanitized`]).
    pub fn shell(&self, dir: &Path, extra: &[(OsString, OsString)]) -> Result<Shell> {
        let sh = Shell::new()?;
        sh.change_dir(dir);
        crate::util::apply_env(&sh, extra.iter().chain(&self.env));
        Ok(sh)
    }
}

/// `node` and its version.
#[derive(Debug, Clone)]
pub struct Node {
    /// The executable.
    pub path: PathBuf,
    /// `node --version`, e.g. "v20.20.2".
    pub version: String,
}

/// The Node-run `wasm-opt` of the npm package `binaryen`.
#[derive(Debug, Clone)]
pub struct Binaryen {
    /// node.
    pub node: PathBuf,
    /// The `wasm-opt` JS entry point.
    pub wasm_opt: PathBuf,
    /// `wasm-opt --version`, e.g. "wasm-opt version 132 (version_132)".
    pub version: String,
}

/// Find node; errors when it is missing or older than `[node] minimum_major`.
pub fn node(config: &ToolchainsConfig) -> Result<Node> {
    let path = which("node").context("`node` is not on PATH: install Node.js >= 18 (e.g. apt-get install nodejs npm)")?;
    let sh = Shell::new()?;
    let version = first_line(&run_captured(cmd!(sh, "{path} --version"), "asking node for its version")?.stdout);
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).with_context(|| format!("cannot parse node's version {version:?}"))?;
    if major < config.node.minimum_major {
        bail!("node {version} is too old: configs/toolchains.toml needs major >= {}", config.node.minimum_major);
    }
    Ok(Node { path, version })
}

/// Find or install emcc (announced when installing).
pub fn emscripten(config: &ToolchainsConfig, progress: &Progress) -> Result<CCompiler> {
    let sh = Shell::new()?;
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let emcc = if let Some(emsdk) = std::env::var_os("EMSDK") {
        let emcc = PathBuf::from(emsdk).join("upstream/emscripten/emcc");
        if !emcc.is_file() {
            bail!("$EMSDK is set but {} does not exist: run `emsdk install {v} && emsdk activate {v}` or unset EMSDK", emcc.display(), v = config.emscripten.emsdk_version);
        }
        emcc
    } else {
        let emcc = match which("emcc") {
            Some(emcc) => emcc,
            None => install_debian_emscripten(&sh, config, progress)?,
        };
        check_debian_version(&sh, &emcc, config, progress);
        // Debian's emcc needs acorn & co. from Debian's node modules, which node does not search.
        let debian_modules = Path::new("/usr/share/nodejs");
        if debian_modules.join("acorn").is_dir() {
            let mut paths = vec![debian_modules.to_owned()];
            if let Some(existing) = std::env::var_os("NODE_PATH") {
                paths.extend(std::env::split_paths(&existing));
            }
            env.push(("NODE_PATH".into(), std::env::join_paths(paths)?));
        }
        emcc
    };
    // EM_CACHE is left alone: Debian's emcc is configured with FROZEN_CACHE and
    // a complete prebuilt cache in /usr/share/emscripten/cache (read-only use,
    // no writes); pointing EM_CACHE elsewhere makes it fail ("FROZEN_CACHE is
    // set, but cache file is missing"). emsdk keeps its cache inside $EMSDK.
    crate::util::apply_env(&sh, &env);
    let version_out = run_captured(cmd!(sh, "{emcc} --version"), "asking emcc for its version")?;
    let version_line = first_line(&version_out.stdout);
    let version = version_line
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .rev()
        .find(|t| t.split('.').count() == 3 && t.split('.').all(|p| p.parse::<u32>().is_ok()))
        .with_context(|| format!("cannot find a version in `emcc --version`: {version_line:?}"))?
        .to_owned();
    if parse_version(&version) < parse_version(&config.emscripten.minimum_version) {
        bail!("emcc {version} ({}) is older than the minimum {} in configs/toolchains.toml", emcc.display(), config.emscripten.minimum_version);
    }
    let verbose = run_captured(cmd!(sh, "{emcc} -v"), "asking emcc for its clang version")?;
    let text = format!("{}{}", String::from_utf8_lossy(&verbose.stdout), String::from_utf8_lossy(&verbose.stderr));
    let clang = text.lines().find(|l| l.contains("clang version")).map(str::trim).unwrap_or("unknown").to_owned();
    let mut tools = BTreeMap::new();
    tools.insert("emcc".to_owned(), version_line);
    tools.insert("clang".to_owned(), clang);
    // The binaryen emcc runs at link time (Debian: /usr/bin/wasm-opt).
    if let Some(v) = emcc_binaryen_version(&emcc, &sh) {
        tools.insert("emcc-binaryen".to_owned(), v);
    }
    Ok(CCompiler { program: emcc, driver_args: vec![], target_args: vec![], env, label: format!("emcc {version}"), tools })
}

fn emcc_binaryen_version(emcc: &Path, sh: &Shell) -> Option<String> {
    let em_config = emcc.with_file_name("em-config");
    let root = run_captured(cmd!(sh, "{em_config} BINARYEN_ROOT"), "em-config").ok()?;
    let wasm_opt = PathBuf::from(first_line(&root.stdout)).join("bin/wasm-opt");
    let out = run_captured(cmd!(sh, "{wasm_opt} --version"), "wasm-opt --version").ok()?;
    Some(first_line(&out.stdout))
}

fn install_debian_emscripten(sh: &Shell, config: &ToolchainsConfig, progress: &Progress) -> Result<PathBuf> {
    let package = &config.emscripten.debian_package;
    let uid = run_captured(cmd!(sh, "id -u"), "checking for root").map(|o| first_line(&o.stdout)).unwrap_or_default();
    if uid != "0" || which("apt-get").is_none() {
        bail!(
            "no emcc found: install emscripten >= {min} (emsdk: `emsdk install {v} && emsdk activate {v}` and set EMSDK; \
             Debian/Ubuntu as root: `apt-get install --no-install-recommends {package}`), or run as root so the xtask installs it",
            min = config.emscripten.minimum_version,
            v = config.emscripten.emsdk_version
        );
    }
    let policy = run_captured(cmd!(sh, "apt-cache policy {package}"), "apt-cache policy").map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    if !policy.contains("Candidate:") || policy.contains("Candidate: (none)") {
        progress.step("toolchain: apt-get update (emscripten is not in the package lists)");
        run_captured(cmd!(sh, "apt-get update"), "apt-get update")?;
    }
    let pinned = format!("{package}={}", config.emscripten.debian_version);
    progress.step(format!("toolchain: installing Debian's {pinned} with apt-get (no emcc found)"));
    run_captured(
        cmd!(sh, "apt-get install -y --no-install-recommends {pinned}").env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("installing {pinned} (configs/toolchains.toml pins it; is this Debian 12?)"),
    )?;
    which("emcc").context("apt-get installed emscripten but `emcc` is still not on PATH")
}

/// When `emcc` is Debian's (it resolves into /usr/bin or /usr/share/emscripten
/// and dpkg knows the package), warn unless the package is at the
/// pinned version: another version may make other bytes than the committed
/// manifest records.
fn check_debian_version(sh: &Shell, emcc: &Path, config: &ToolchainsConfig, progress: &Progress) {
    let Ok(real) = fs::canonicalize(emcc) else { return };
    if !real.starts_with("/usr/share/emscripten") && !real.starts_with("/usr/bin") {
        return;
    }
    let package = &config.emscripten.debian_package;
    let format = "-f=${Version}";
    let Ok(out) = run_captured(cmd!(sh, "dpkg-query -W {format} {package}"), "dpkg-query") else { return };
    let found = first_line(&out.stdout);
    if found != config.emscripten.debian_version {
        progress.warn(format!(
            "Debian's {package} is {found}, configs/toolchains.toml pins {}: the emscripten artifacts may differ from the committed manifest",
            config.emscripten.debian_version
        ));
    }
}

/// Find or install the WASI C compiler: wasi-sdk's clang when `$WASI_SDK_PATH`
/// is set, else `zig cc` from the PyPI `ziglang` wheel (installed once into
/// `.cache/toolchains`, announced).
pub fn wasi(repo: &Path, config: &ToolchainsConfig, progress: &Progress) -> Result<CCompiler> {
    let sh = Shell::new()?;
    if let Some(sdk) = std::env::var_os("WASI_SDK_PATH") {
        // Untested flavour (no wasi-sdk on the dev machine); same flags, wasip1 triple.
        let clang = PathBuf::from(&sdk).join("bin/clang");
        if !clang.is_file() {
            bail!("$WASI_SDK_PATH is set but {} does not exist (install wasi-sdk {} or unset it)", clang.display(), config.wasi.wasi_sdk_version);
        }
        let line = first_line(&run_captured(cmd!(sh, "{clang} --version"), "asking wasi-sdk's clang for its version")?.stdout);
        let mut tools = BTreeMap::new();
        tools.insert("clang".to_owned(), line.clone());
        // wasi-sdk releases carry a VERSION file ("25.0", then component lines).
        let sdk_version = fs::read_to_string(PathBuf::from(&sdk).join("VERSION")).map(|t| first_line(t.as_bytes())).unwrap_or_else(|_| "unknown (no VERSION file)".to_owned());
        tools.insert("wasi-sdk".to_owned(), sdk_version.clone());
        return Ok(CCompiler {
            program: clang,
            driver_args: vec![],
            target_args: vec!["--target=wasm32-wasip1".into()],
            env: vec![],
            label: format!("wasi-sdk {sdk_version}"),
            tools,
        });
    }
    let version = &config.wasi.ziglang_version;
    let toolchains = repo.join(".cache/toolchains");
    let dir = toolchains.join(format!("ziglang-{version}"));
    let zig = dir.join("ziglang/zig");
    if !zig.is_file() {
        progress.step(format!("toolchain: installing ziglang {version} from PyPI into {} (about 100 MB, once)", display_relative(&dir, repo)));
        let partial = toolchains.join(format!("ziglang-{version}.partial"));
        remove_dir_if_exists(&partial)?;
        fs::create_dir_all(&toolchains)?;
        let python = which("python3").context("`python3` is not on PATH: install python3 and pip (apt-get install python3-pip), or set WASI_SDK_PATH")?;
        let spec = format!("ziglang=={version}");
        run_captured(
            cmd!(sh, "{python} -m pip install --disable-pip-version-check --no-input --no-deps --only-binary=:all: --target {partial} {spec}"),
            &format!("installing {spec} with pip (is PyPI reachable? is pip installed: apt-get install python3-pip?)"),
        )?;
        fs::rename(&partial, &dir).with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))?;
    }
    let cache = repo.join(".cache/zig");
    let env: Vec<(OsString, OsString)> = vec![("ZIG_GLOBAL_CACHE_DIR".into(), cache.clone().into()), ("ZIG_LOCAL_CACHE_DIR".into(), cache.into())];
    let got = first_line(&run_captured(cmd!(sh, "{zig} version"), "asking zig for its version")?.stdout);
    if got != *version {
        bail!("{} reports version {got}, configs/toolchains.toml pins {version}: remove {} and rerun", zig.display(), dir.display());
    }
    let mut tools = BTreeMap::new();
    tools.insert("zig".to_owned(), got.clone());
    Ok(CCompiler {
        program: zig,
        driver_args: vec!["cc".into()],
        target_args: vec!["-target".into(), "wasm32-wasi".into()],
        env,
        label: format!("zig cc {got}"),
        tools,
    })
}

/// Find or install (npm, into `.cache/toolchains/binaryen-<version>`, scripts
/// not run) the pinned binaryen's Node-run `wasm-opt`.
pub fn binaryen(repo: &Path, config: &ToolchainsConfig, node: &Node, progress: &Progress) -> Result<Binaryen> {
    let b = &config.binaryen;
    let sh = Shell::new()?;
    let dir = repo.join(".cache/toolchains").join(format!("{}-{}", b.npm_package, b.version));
    let package_dir = dir.join("node_modules").join(&b.npm_package);
    let installed_version = fs::read_to_string(package_dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| j.get("version").and_then(|v| v.as_str()).map(str::to_owned));
    if installed_version.as_deref() != Some(b.version.as_str()) {
        progress.step(format!("toolchain: installing {}@{} from npm into {} (once)", b.npm_package, b.version, display_relative(&dir, repo)));
        fs::create_dir_all(&dir)?;
        let spec = format!("{}@{}", b.npm_package, b.version);
        run_captured(
            cmd!(sh, "npm install --prefix {dir} --no-save --ignore-scripts --no-audit --no-fund {spec}"),
            &format!("installing {spec} with npm (is the npm registry reachable?)"),
        )?;
    }
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(package_dir.join("package.json"))?)?;
    let bin = manifest.get("bin").and_then(|bin| bin.get("wasm-opt")).and_then(|p| p.as_str()).with_context(|| format!("{} names no wasm-opt in `bin`", package_dir.join("package.json").display()))?;
    let wasm_opt = package_dir.join(bin);
    let node_path = &node.path;
    let version = first_line(&run_captured(cmd!(sh, "{node_path} {wasm_opt} --version"), "asking wasm-opt for its version")?.stdout);
    Ok(Binaryen { node: node.path.clone(), wasm_opt, version })
}

/// The tools a set of variants needs, provisioned once: node always, the C
/// compiler of each toolchain among them, binaryen when one is a release
/// variant (debug variants get no wasm-opt pass).
pub struct Toolchains {
    pub node: Node,
    pub emcc: Option<CCompiler>,
    pub wasi: Option<CCompiler>,
    pub binaryen: Option<Binaryen>,
}

/// Find or provision what `variants` need (see [`Toolchains`]).
pub fn for_variants(repo: &Path, config: &ToolchainsConfig, variants: &[&Variant], progress: &Progress) -> Result<Toolchains> {
    let node = node(config)?;
    let needs = |k: ToolchainKind| variants.iter().any(|v| v.toolchain == k);
    let emcc = if needs(ToolchainKind::Emscripten) { Some(emscripten(config, progress)?) } else { None };
    let wasi = if needs(ToolchainKind::Wasi) { Some(wasi(repo, config, progress)?) } else { None };
    let binaryen = if variants.iter().any(|v| v.release) { Some(binaryen(repo, config, &node, progress)?) } else { None };
    Ok(Toolchains { node, emcc, wasi, binaryen })
}

impl Toolchains {
    /// The C compiler of `variant`'s toolchain.
    ///
    /// Panics for a variant the tools were not provisioned for (a bug).
    pub fn compiler(&self, variant: &Variant) -> &CCompiler {
        match variant.toolchain {
            ToolchainKind::Emscripten => self.emcc.as_ref(),
            ToolchainKind::Wasi => self.wasi.as_ref(),
        }
        .expect("toolchain provisioned for every selected variant")
    }

    /// The binaryen of a release variant; `None` for a debug variant.
    pub fn binaryen_for(&self, variant: &Variant) -> Option<&Binaryen> {
        variant.release.then(|| self.binaryen.as_ref().expect("binaryen provisioned for release variants"))
    }

    /// One line naming each tool's version, for the progress output.
    pub fn labels(&self) -> String {
        let mut labels = vec![format!("node {}", self.node.version)];
        labels.extend(self.emcc.iter().chain(&self.wasi).map(|c| c.label.clone()));
        labels.extend(self.binaryen.iter().map(|b| b.version.clone()));
        labels.join(", ")
    }
}

/// A program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or_default().trim().to_owned()
}

fn parse_version(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("3.1.6"), [3, 1, 6]);
        // Numbers, not strings: "10" > "6" although '1' < '6'.
        assert!(parse_version("3.1.10") > parse_version("3.1.6"));
        assert!(parse_version("3.0.99") < parse_version("3.1.6"));
        assert!(parse_version("4.0.0") > parse_version("3.99.99"));
        assert!(parse_version("3.1.5") < parse_version("3.1.6"));
        assert_eq!(parse_version("3.01.6"), parse_version("3.1.6"), "leading zeros do not matter");
        // A longer version is newer than its prefix; parts that are not numbers count as 0.
        assert!(parse_version("3.1.6.1") > parse_version("3.1.6"));
        assert_eq!(parse_version("3.1.x"), [3, 1, 0]);
    }

    #[test]
    fn first_line_is_trimmed_and_empty_output_gives_an_empty_string() {
        assert_eq!(first_line(b"  v20.20.2 \nsecond line\n"), "v20.20.2");
        assert_eq!(first_line(b""), "");
    }
}
