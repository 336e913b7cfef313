//! The configuration files in `configs/`, as typed data.
//!
//! Every struct denies unknown fields, so a misspelt key is an error that
//! names the key and the file instead of a silently ignored setting.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The placeholder in `variants.toml` paths for the fetched XS tree (`vendor/moddable/xs`).
pub const XS_PLACEHOLDER: &str = "{xs}";
/// The placeholder in `variants.toml` paths for our port sources (`port`).
pub const PORT_PLACEHOLDER: &str = "{port}";
/// `{xs}` as a path relative to the repository root.
pub const XS_DIR: &str = "vendor/moddable/xs";
/// `{port}` as a path relative to the repository root.
pub const PORT_DIR: &str = "port";

/// Read and parse one TOML file; errors name the file (and, from `toml`, the key and line).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, path)
}

/// Parse TOML text that came from `origin` (used in error messages only).
pub fn parse<T: DeserializeOwned>(text: &str, origin: &Path) -> Result<T> {
    toml::from_str(text).map_err(|e| anyhow::anyhow!("invalid configuration in {}: {}", origin.display(), e.to_string().trim_end()))
}

// ------------------------------------------------------------ moddable.toml --

/// `configs/moddable.toml`: the pinned engine and where to get it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModdableConfig {
    /// The engine and the tree hash every mirror must reproduce.
    pub engine: Engine,
    /// Mirrors, tried in order.
    #[serde(rename = "mirror")]
    pub mirrors: Vec<Mirror>,
}

/// `[engine]` of `moddable.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    /// Human-readable name ("Moddable XS").
    pub name: String,
    /// Upstream repository URL.
    pub upstream: String,
    /// Upstream commit, 40 hex digits.
    pub commit: String,
    /// XS version of that commit, e.g. "13.3.0".
    pub xs_version: String,
    /// SPDX license expression of the fetched sources.
    pub license: String,
    /// Path prefixes (relative to the moddable root, '/'-separated) extracted and hashed.
    pub include: Vec<String>,
    /// sha256 (hex) of the extracted tree, before patches (see [`crate::fetch::tree_sha256`]).
    pub tree_sha256: String,
}

/// One `[[mirror]]` of `moddable.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Mirror {
    /// An npm package tarball, downloaded with `npm pack` (no scripts run).
    Npm {
        /// Mirror name (for messages).
        name: String,
        /// npm package name, e.g. "@agoric/xsnap".
        package: String,
        /// Exact version.
        version: String,
        /// The registry's `dist.integrity` (`sha512-<base64>`).
        integrity: String,
        /// sha256 (hex) of the tarball.
        sha256: String,
        /// Directory inside the archive that is the moddable root.
        root: String,
    },
    /// A `.tar.gz` archive downloaded with `curl`.
    Url {
        /// Mirror name (for messages).
        name: String,
        /// Archive URL.
        url: String,
        /// sha256 (hex) of the archive, when the server promises stable bytes.
        sha256: Option<String>,
        /// Directory inside the archive that is the moddable root.
        root: String,
    },
    /// A local `.tar.gz` (offline machines, tests). `path` is relative to the repository root.
    File {
        /// Mirror name (for messages).
        name: String,
        /// Path of the archive.
        path: PathBuf,
        /// sha256 (hex) of the archive.
        sha256: Option<String>,
        /// Directory inside the archive that is the moddable root.
        root: String,
    },
}

impl Mirror {
    /// The mirror's name.
    pub fn name(&self) -> &str {
        match self {
            Mirror::Npm { name, .. } | Mirror::Url { name, .. } | Mirror::File { name, .. } => name,
        }
    }
    /// The directory inside the archive that holds the moddable root.
    pub fn root(&self) -> &str {
        match self {
            Mirror::Npm { root, .. } | Mirror::Url { root, .. } | Mirror::File { root, .. } => root,
        }
    }
}

/// A pinned source tree as `crate::fetch` sees it: what to extract from
/// which mirrors, the tree hash every mirror must reproduce, and where it goes.
#[derive(Debug, Clone, Copy)]
pub struct SourceSpec<'a> {
    /// Human-readable name ("Moddable XS", "test262").
    pub name: &'a str,
    /// Upstream commit (for messages).
    pub commit: &'a str,
    /// Path prefixes extracted and hashed (relative to the archive's root).
    pub include: &'a [String],
    /// Expected tree hash before patches.
    pub tree_sha256: &'a str,
    /// Mirrors, tried in order.
    pub mirrors: &'a [Mirror],
    /// Directory under `vendor/`.
    pub dir: &'a str,
    /// The configuration file it comes from (for messages).
    pub config_file: &'a str,
    /// Whether `configs/patches/*.patch` apply to it (the engine only).
    pub patched: bool,
}

impl ModdableConfig {
    /// The engine as a pinned source: `vendor/moddable`, patched.
    pub fn source(&self) -> SourceSpec<'_> {
        SourceSpec {
            name: &self.engine.name,
            commit: &self.engine.commit,
            include: &self.engine.include,
            tree_sha256: &self.engine.tree_sha256,
            mirrors: &self.mirrors,
            dir: "moddable",
            config_file: "configs/moddable.toml",
            patched: true,
        }
    }

    /// Check the values serde cannot: hex hashes, at least one mirror, sane prefixes.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        validate_source(&self.source(), origin)
    }
}

/// The checks every pinned source gets: mirrors, include prefixes, hashes.
fn validate_source(spec: &SourceSpec<'_>, origin: &Path) -> Result<()> {
    let ctx = || format!("in {}", origin.display());
    if spec.mirrors.is_empty() {
            bail!("{}: no [[mirror]] entries", ctx());
        }
        if spec.include.is_empty() {
            bail!("{}: include is empty", ctx());
        }
        for prefix in spec.include {
            if prefix.starts_with('/') || prefix.split('/').any(|c| c == "..") {
                bail!("{}: include prefix {prefix:?} must be relative and must not contain '..'", ctx());
            }
        }
        if spec.tree_sha256 != "TO-BE-FILLED" {
            check_hex(spec.tree_sha256, 64).with_context(|| format!("{}: tree_sha256", ctx()))?;
        }
        for mirror in spec.mirrors {
            let sha = match mirror {
                Mirror::Npm { sha256, .. } => Some(sha256),
                Mirror::Url { sha256, .. } | Mirror::File { sha256, .. } => sha256.as_ref(),
            };
            if let Some(sha) = sha {
                check_hex(sha, 64).with_context(|| format!("{}: mirror {:?} sha256", ctx(), mirror.name()))?;
            }
        }
        Ok(())
}

// ------------------------------------------------------------ test262.toml --

/// `configs/test262.toml`: the pinned conformance suite and how it is run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test262Config {
    /// The suite and the tree hash every mirror must reproduce.
    pub suite: Test262Suite,
    /// Mirrors, tried in order.
    #[serde(rename = "mirror")]
    pub mirrors: Vec<Mirror>,
    /// How tests are run.
    pub run: Test262Run,
}

/// `[suite]` of `test262.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test262Suite {
    /// Upstream repository URL.
    pub upstream: String,
    /// Upstream commit, 40 hex digits.
    pub commit: String,
    /// SPDX license expression of the suite.
    pub license: String,
    /// Path prefixes (relative to the archive root) extracted and hashed.
    pub include: Vec<String>,
    /// sha256 (hex) of the extracted tree (see [`crate::fetch::tree_sha256`]).
    pub tree_sha256: String,
}

/// `[run]` of `test262.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test262Run {
    /// Directories of tests (relative to the suite root), walked recursively.
    pub directories: Vec<String>,
    /// Meter ticks one test may use before it is stopped (and fails).
    pub meter_limit: u32,
    /// Wall-clock seconds after which a loader's worker is presumed hung and killed.
    pub timeout_seconds: u64,
    /// The sample used by CI (`--sample N` default in `.ci/run`).
    pub ci_sample: u32,
    /// Tests whose `features` include one of these are skipped (with the reason).
    pub skip_features: Vec<SkipFeature>,
}

/// One feature the runner skips, and why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipFeature {
    /// test262 feature name (the `features:` front-matter key).
    pub feature: String,
    /// Why tests needing it are not run.
    pub reason: String,
}

impl Test262Config {
    /// The suite as a pinned source: `vendor/test262`, never patched.
    pub fn source(&self) -> SourceSpec<'_> {
        SourceSpec {
            name: "test262",
            commit: &self.suite.commit,
            include: &self.suite.include,
            tree_sha256: &self.suite.tree_sha256,
            mirrors: &self.mirrors,
            dir: "test262",
            config_file: "configs/test262.toml",
            patched: false,
        }
    }

    /// Load and validate `configs/test262.toml` under `repo`.
    pub fn load(repo: &Path) -> Result<Test262Config> {
        let path = repo.join("configs/test262.toml");
        let config: Test262Config = load(&path)?;
        validate_source(&config.source(), &path)?;
        check_hex(&config.suite.commit, 40).with_context(|| format!("in {}: [suite] commit", path.display()))?;
        if config.run.directories.is_empty() || config.run.meter_limit == 0 || config.run.ci_sample == 0 {
            bail!("in {}: [run] needs directories, a meter_limit > 0 and a ci_sample > 0", path.display());
        }
        Ok(config)
    }
}

fn check_hex(value: &str, len: usize) -> Result<()> {
    if value.len() != len || !value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        bail!("{value:?} is not {len} lowercase hex digits");
    }
    Ok(())
}

// ---------------------------------------------------------- toolchains.toml --

/// `configs/toolchains.toml`: pinned toolchain versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainsConfig {
    /// emcc.
    pub emscripten: EmscriptenToolchain,
    /// The WASI C compiler.
    pub wasi: WasiToolchain,
    /// wasm-opt.
    pub binaryen: BinaryenToolchain,
    /// node (runs emcc's JS tools, wasm-opt and the emscripten smoke runs).
    pub node: NodeToolchain,
}

/// `[emscripten]` of `toolchains.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmscriptenToolchain {
    /// Debian package installed (as root) when no emcc is found.
    pub debian_package: String,
    /// The exact Debian package version installed and expected (`dpkg-query`).
    pub debian_version: String,
    /// The emsdk release named in hints (`$EMSDK` users).
    pub emsdk_version: String,
    /// Oldest emcc accepted, "major.minor.patch".
    pub minimum_version: String,
}

/// `[wasi]` of `toolchains.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasiToolchain {
    /// The PyPI `ziglang` version installed into `.cache/toolchains/ziglang-<version>`.
    pub ziglang_version: String,
    /// The wasi-sdk release named in hints (`$WASI_SDK_PATH` users).
    pub wasi_sdk_version: String,
}

/// `[binaryen]` of `toolchains.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryenToolchain {
    /// npm package name ("binaryen").
    pub npm_package: String,
    /// Exact version.
    pub version: String,
}

/// `[node]` of `toolchains.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeToolchain {
    /// Oldest accepted major version.
    pub minimum_major: u32,
}

// ------------------------------------------------------------ variants.toml --

/// `configs/variants.toml`: the build matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantsConfig {
    /// Settings shared by every variant.
    pub common: Common,
    /// Per-toolchain flags.
    pub toolchain: ToolchainFlags,
    /// The variants, in build order.
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
    /// The smoke-run bundle.
    pub smoke: SmokeBundle,
}

/// `[common]` of `variants.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// XS sources, relative to `{xs}/sources`.
    pub xs_sources: Vec<String>,
    /// Port sources, relative to `{port}`.
    pub port_sources: Vec<String>,
    /// Include directories (with placeholders).
    pub include_dirs: Vec<String>,
    /// Preprocessor definitions, without `-D`.
    pub defines: Vec<String>,
    /// Extra flags for XS sources.
    pub xs_cflags: Vec<String>,
    /// Extra flags for port sources.
    pub port_cflags: Vec<String>,
    /// Exported function names (C names, no leading underscore).
    pub exports: Vec<String>,
    /// Shadow stack size in bytes.
    pub stack_size: u64,
}

/// `[toolchain]` of `variants.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainFlags {
    /// Flags for emscripten variants.
    pub emscripten: EmscriptenFlags,
    /// Flags for WASI variants.
    pub wasi: WasiFlags,
}

/// `[toolchain.emscripten]` of `variants.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmscriptenFlags {
    /// Compile flags.
    pub cflags: Vec<String>,
    /// Link flags (with placeholders).
    pub ldflags: Vec<String>,
    /// wasm-opt feature flags for the release pass over emscripten modules.
    pub wasm_opt_features: Vec<String>,
}

/// `[toolchain.wasi]` of `variants.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasiFlags {
    /// Compile flags.
    pub cflags: Vec<String>,
    /// Link flags.
    pub ldflags: Vec<String>,
    /// Assembly sources, relative to `{port}`.
    pub asm_sources: Vec<String>,
    /// Libraries, after the objects on the link line.
    pub libs: Vec<String>,
    /// wasm-opt feature flags for the release pass over WASI modules.
    pub wasm_opt_features: Vec<String>,
    /// Other wasm-opt flags for that pass, before the variant's level.
    #[serde(default)]
    pub wasm_opt_flags: Vec<String>,
}

/// Which C toolchain builds a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolchainKind {
    /// emcc: JS glue + wasm for browsers and Node.
    Emscripten,
    /// wasm32-wasi: one reactor module for wasmtime.
    Wasi,
}

impl fmt::Display for ToolchainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ToolchainKind::Emscripten => "emscripten",
            ToolchainKind::Wasi => "wasi",
        })
    }
}

/// The output form of an emscripten variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// CommonJS/UMD glue `xs-wasm.js` plus `xs-wasm.wasm`.
    Cjs,
    /// One browser ES module `xs-wasm.mjs`, wasm inlined.
    SingleEsm,
    /// One CommonJS file `xs-wasm.js`, wasm inlined.
    SingleCjs,
}

impl Form {
    /// The name used in configs and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Cjs => "cjs",
            Form::SingleEsm => "single-esm",
            Form::SingleCjs => "single-cjs",
        }
    }
    /// The JS file emcc writes (`-o`).
    pub fn js_file(self) -> &'static str {
        match self {
            Form::SingleEsm => "xs-wasm.mjs",
            Form::Cjs | Form::SingleCjs => "xs-wasm.js",
        }
    }
    /// Whether the wasm is inlined into the JS as base64.
    pub fn is_single_file(self) -> bool {
        !matches!(self, Form::Cjs)
    }
}

/// One `[[variant]]` of `variants.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name; also the directory `artifacts/<name>/`.
    pub name: String,
    /// The C toolchain.
    pub toolchain: ToolchainKind,
    /// Optimisation flag for compile and link, e.g. "-Os".
    pub opt: String,
    /// Whether the wasm-opt pass runs.
    pub release: bool,
    /// The wasm-opt level, e.g. "-Os" (required when `release`).
    pub wasm_opt: Option<String>,
    /// Emscripten output form (required for emscripten, absent for WASI).
    pub form: Option<Form>,
    /// Extra compile flags.
    #[serde(default)]
    pub cflags: Vec<String>,
    /// Extra compile flags for the port's own sources only (`[common]
    /// port_sources`), after every other flag: a later `-O` overrides `opt`.
    #[serde(default)]
    pub port_cflags: Vec<String>,
    /// Extra link flags.
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// One line for humans.
    pub description: Option<String>,
    /// Engine features this variant is built without (a `-lite` variant):
    /// their XS switches are left out of `[common] defines`. Recorded in the
    /// manifest; the engine refuses snapshots across builds that differ here.
    #[serde(default)]
    pub lacks: Vec<Feature>,
}

/// An engine feature a variant can be built without, named as in the
/// manifest's `lacks` list. Each is one of XS's switches in `[common] defines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// `\p{...}` / `\P{...}` in `u`/`v` patterns (`mxRegExpUnicodePropertyEscapes`;
    /// without it such a pattern is a SyntaxError).
    RegexpPropertyEscapes,
    /// `String.prototype.normalize` beyond Latin-1 (`mxStringNormalize`;
    /// without it, strings of other characters throw a RangeError).
    StringNormalize,
}

impl Feature {
    /// The name in `variants.toml` and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::RegexpPropertyEscapes => "regexp-property-escapes",
            Feature::StringNormalize => "string-normalize",
        }
    }
    /// The XS switch (a `[common] defines` entry, before any `=`) that builds the feature.
    pub fn xs_define(self) -> &'static str {
        match self {
            Feature::RegexpPropertyEscapes => "mxRegExpUnicodePropertyEscapes",
            Feature::StringNormalize => "mxStringNormalize",
        }
    }
}

impl Common {
    /// `defines` without the switches of the features in `lacks`.
    pub fn defines_without(&self, lacks: &[Feature]) -> Vec<String> {
        self.defines
            .iter()
            .filter(|d| {
                let name = d.split('=').next().unwrap_or(d);
                !lacks.iter().any(|f| f.xs_define() == name)
            })
            .cloned()
            .collect()
    }
}

/// `[smoke]` of `variants.toml`: the npm package whose bundle the smoke run loads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeBundle {
    /// npm package name.
    pub npm_package: String,
    /// Exact version.
    pub version: String,
    /// sha256 (hex) of the package tarball.
    pub sha256: String,
    /// Path of the bundle inside the tarball.
    pub bundle: String,
    /// Path inside the tarball of the program the smoke run parses with the bundle.
    pub parse_input: String,
}

impl VariantsConfig {
    /// Check what serde cannot: unique, path-safe names; the fields each toolchain needs.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let mut seen = BTreeSet::new();
        for v in &self.variants {
            let ctx = || format!("{}: variant {:?}", origin.display(), v.name);
            if v.name.is_empty() || !v.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                bail!("{}: name must be lowercase letters, digits and '-'", ctx());
            }
            if !seen.insert(v.name.as_str()) {
                bail!("{}: defined twice", ctx());
            }
            if v.release && v.wasm_opt.is_none() {
                bail!("{}: release = true needs `wasm_opt` (e.g. \"-Os\")", ctx());
            }
            if !v.release && v.wasm_opt.is_some() {
                bail!("{}: `wasm_opt` is only used when release = true", ctx());
            }
            match (v.toolchain, v.form) {
                (ToolchainKind::Emscripten, None) => bail!("{}: emscripten variants need `form`", ctx()),
                (ToolchainKind::Wasi, Some(_)) => bail!("{}: `form` is for emscripten variants only", ctx()),
                _ => {}
            }
            for feature in &v.lacks {
                if !self.common.defines.iter().any(|d| d.split('=').next() == Some(feature.xs_define())) {
                    bail!("{}: lacks {:?}, but [common] defines has no {} to leave out", ctx(), feature.as_str(), feature.xs_define());
                }
            }
        }
        check_hex(&self.smoke.sha256, 64).with_context(|| format!("{}: [smoke] sha256", origin.display()))?;
        let mut objects = BTreeSet::new();
        for src in self.common.xs_sources.iter().chain(&self.common.port_sources).chain(&self.toolchain.wasi.asm_sources) {
            let stem = Path::new(src).file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            if !objects.insert(stem) {
                bail!("{}: two sources would compile to the same object name ({src})", origin.display());
            }
        }
        Ok(())
    }

    /// The variants named in `names` (in config order), or all when `names` is `None`.
    /// Errors name an unknown variant and list the valid ones.
    pub fn select(&self, names: Option<&[String]>) -> Result<Vec<&Variant>> {
        let Some(names) = names else { return Ok(self.variants.iter().collect()) };
        for name in names {
            if !self.variants.iter().any(|v| &v.name == name) {
                let valid: Vec<&str> = self.variants.iter().map(|v| v.name.as_str()).collect();
                bail!("unknown variant {name:?} (configs/variants.toml defines: {})", valid.join(", "));
            }
        }
        Ok(self.variants.iter().filter(|v| names.contains(&v.name)).collect())
    }
}

/// Replace `{xs}` and `{port}` by their repository-relative paths.
pub fn expand(value: &str) -> String {
    value.replace(XS_PLACEHOLDER, XS_DIR).replace(PORT_PLACEHOLDER, PORT_DIR)
}

/// All three configuration files of a repository, parsed and validated.
#[derive(Debug, Clone)]
pub struct Configs {
    /// `configs/moddable.toml`.
    pub moddable: ModdableConfig,
    /// `configs/toolchains.toml`.
    pub toolchains: ToolchainsConfig,
    /// `configs/variants.toml`.
    pub variants: VariantsConfig,
}

impl Configs {
    /// Load `configs/*.toml` under `repo`.
    pub fn load(repo: &Path) -> Result<Configs> {
        let dir = repo.join("configs");
        let moddable_path = dir.join("moddable.toml");
        let moddable: ModdableConfig = load(&moddable_path)?;
        moddable.validate(&moddable_path)?;
        let toolchains: ToolchainsConfig = load(&dir.join("toolchains.toml"))?;
        let variants_path = dir.join("variants.toml");
        let variants: VariantsConfig = load(&variants_path)?;
        variants.validate(&variants_path)?;
        Ok(Configs { moddable, toolchains, variants })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        crate::util::repo_root()
    }

    #[test]
    fn the_repository_configs_parse_and_validate() {
        let c = Configs::load(&repo()).unwrap();
        assert!(c.variants.variants.iter().any(|v| v.name == "wasi-os"));
        assert!(matches!(&c.moddable.mirrors[0], Mirror::File { path, .. } if path.components().count() == 1), "the local mirror, found by file name, comes first");
    }

    #[test]
    fn unknown_key_is_an_error_naming_key_and_file() {
        let text = std::fs::read_to_string(repo().join("configs/variants.toml")).unwrap();
        let bad = text.replacen("opt = \"-Os\"", "opt = \"-Os\"\noptimise = true", 1);
        let err = parse::<VariantsConfig>(&bad, Path::new("configs/variants.toml")).unwrap_err().to_string();
        assert!(err.contains("optimise"), "{err}");
        assert!(err.contains("configs/variants.toml"), "{err}");

        let text = std::fs::read_to_string(repo().join("configs/moddable.toml")).unwrap();
        let bad = text.replacen("kind = \"file\"", "kind = \"file\"\nmirrror = 1", 1);
        let err = parse::<ModdableConfig>(&bad, Path::new("configs/moddable.toml")).unwrap_err().to_string();
        assert!(err.contains("mirrror") && err.contains("configs/moddable.toml"), "{err}");

        let text = std::fs::read_to_string(repo().join("configs/toolchains.toml")).unwrap();
        let bad = text.replacen("[node]", "[node]\nmaximum_major = 99", 1);
        let err = parse::<ToolchainsConfig>(&bad, Path::new("configs/toolchains.toml")).unwrap_err().to_string();
        assert!(err.contains("maximum_major") && err.contains("configs/toolchains.toml"), "{err}");
    }

    #[test]
    fn a_lite_variant_leaves_out_the_switches_of_what_it_lacks() {
        let c = Configs::load(&repo()).unwrap();
        let lite = c.variants.variants.iter().find(|v| v.name == "emcc-oz-lite").unwrap();
        assert_eq!(lite.lacks, [Feature::RegexpPropertyEscapes, Feature::StringNormalize]);
        let defines = c.variants.common.defines_without(&lite.lacks);
        assert_eq!(defines.len(), c.variants.common.defines.len() - 2);
        assert!(!defines.iter().any(|d| d == "mxRegExpUnicodePropertyEscapes=1" || d == "mxStringNormalize=1"));
        assert!(defines.iter().any(|d| d == "mxPackedUnicodePropertyTables=1"), "other switches stay");
        assert_eq!(c.variants.common.defines_without(&[]), c.variants.common.defines);

        let text = std::fs::read_to_string(repo().join("configs/variants.toml")).unwrap();
        let bad = text.replacen("lacks = [\"regexp-property-escapes\", \"string-normalize\"]", "lacks = [\"regexp-lookbehind\"]", 1);
        let err = parse::<VariantsConfig>(&bad, Path::new("configs/variants.toml")).unwrap_err().to_string();
        assert!(err.contains("regexp-lookbehind"), "an unknown feature is named: {err}");
        let no_switch = text.replacen("  \"mxStringNormalize=1\",\n", "", 1);
        let parsed: VariantsConfig = parse(&no_switch, Path::new("configs/variants.toml")).unwrap();
        let err = parsed.validate(Path::new("configs/variants.toml")).unwrap_err().to_string();
        assert!(err.contains("emcc-oz-lite") && err.contains("mxStringNormalize"), "{err}");
    }

    #[test]
    fn unknown_variant_is_an_error_listing_valid_ones() {
        let c = Configs::load(&repo()).unwrap();
        let err = c.variants.select(Some(&["wasi-os".into(), "wasi-o9".into()])).unwrap_err().to_string();
        assert!(err.contains("\"wasi-o9\""), "{err}");
        assert!(err.contains("wasi-os") && err.contains("emcc-os-single-esm"), "{err}");
        let picked = c.variants.select(Some(&["wasi-os".into()])).unwrap();
        assert_eq!(picked.len(), 1);
    }

    #[test]
    fn release_variant_without_wasm_opt_is_refused() {
        let text = std::fs::read_to_string(repo().join("configs/variants.toml")).unwrap();
        let bad = text.replacen("wasm_opt = \"-O2\"\nform = \"cjs\"", "form = \"cjs\"", 1);
        let cfg: VariantsConfig = parse(&bad, Path::new("v.toml")).unwrap();
        let err = cfg.validate(Path::new("v.toml")).unwrap_err().to_string();
        assert!(err.contains("emcc-o2") && err.contains("wasm_opt"), "{err}");
    }

    #[test]
    fn placeholders_expand_to_repository_relative_paths() {
        assert_eq!(expand("-I{xs}/includes"), "-Ivendor/moddable/xs/includes");
        assert_eq!(expand("--js-library={port}/x.js"), "--js-library=port/x.js");
    }
}
