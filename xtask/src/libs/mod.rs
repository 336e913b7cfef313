//! `cargo xtask libs`: real libraries on every engine. Runs the jobs of
//! `configs/libraries.toml` (widely used npm packages doing what people use
//! them for, on generated input with accents, CJK and emoji) on native XS,
//! the release variants (WASI through the crate, emscripten through the JS
//! package in Node), QuickJS-wasm (the peer for time) and Node itself;
//! compares each job's summary line with Node's, committed in
//! `configs/libraries-expected.json` (`--record` rewrites it), and times the
//! last script of each job. Writes `<target>/libs/libraries.json`,
//! `libraries.svg` and `libraries.md` (`--update-docs`: the json and svg to
//! `docs/`). [`quick_check`] is `cargo xtask test`'s quick mode.
//!
//! Every target runs in a worker process with a per-job timeout (a job that
//! runs past it is reported, its worker replaced): the WASI variants too, in
//! this program's hidden `libs-worker` command (a [`CrateLoader`] behind the
//! JSON line protocol), so that a hang or a memory blow-up in wasmtime never
//! stops the run.

mod report;

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha512};
use xshell::Shell;

use crate::config::{self, Configs, ToolchainKind};
use crate::fetch::NpmFiles;
use crate::loaders::{JsonLineProtocol, Loader, NativeProtocol, NodeProtocol, ProcessLoader, Protocol, Request};
use crate::progress::Progress;
use crate::workspace::Workspace;
pub use report::{LibsReport, Summary};
use report::{JobInfo, Samples};

/// `configs/libraries.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrariesConfig {
    /// The pinned npm packages.
    #[serde(rename = "package")]
    pub packages: Vec<LibPackage>,
    /// The jobs, in report order.
    #[serde(rename = "job")]
    pub jobs: Vec<LibJob>,
}

/// One pinned npm package.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibPackage {
    /// Name used in `files` and `texts` (`<name>:<path>`).
    pub name: String,
    /// npm package name.
    pub npm_package: String,
    /// Exact version.
    pub version: String,
    /// npm's integrity string of the tarball (`sha512-<base64>`).
    pub integrity: String,
    /// sha256 (hex) of the tarball.
    pub sha256: String,
}

/// One job: a library doing one realistic thing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibJob {
    /// Name in reports; also its script, `xtask/libs/jobs/<name>.js`.
    pub name: String,
    /// What kind of library (markdown, YAML...), for the tables.
    pub kind: String,
    /// The library's files (`<package>:<path in its tarball>`), evaluated in order.
    pub files: Vec<String>,
    /// Files the job reads as text (`LIBS_FILES[<file name>]`).
    #[serde(default)]
    pub texts: Vec<String>,
    /// Wrap each of `files` in a CommonJS shim; this global gets `module.exports`.
    #[serde(default)]
    pub commonjs: Option<String>,
}

/// What `cargo xtask libs` was asked to do (its flags).
#[derive(Debug, Clone, clap::Args)]
pub struct LibsOptions {
    /// Only these variants (native XS, QuickJS-wasm and Node always run; default: every release variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// Only these jobs (names in configs/libraries.toml)
    #[arg(long, alias = "jobs-filter", value_name = "NAME,NAME", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// One repetition instead of three
    #[arg(long)]
    pub quick: bool,
    /// Run the jobs in Node only and rewrite configs/libraries-expected.json
    #[arg(long)]
    pub record: bool,
    /// Also copy libraries.json and libraries.svg to docs/
    #[arg(long)]
    pub update_docs: bool,
    /// Leave out the QuickJS-wasm peer
    #[arg(long = "no-peer", action = clap::ArgAction::SetFalse)]
    pub peer: bool,
    /// Only the quick mode of `cargo xtask test`: every job once on wasi-os and emcc-os, failing on a regression against docs/libraries.json
    #[arg(long, conflicts_with_all = ["record", "update_docs", "quick", "only", "variants"])]
    pub check: bool,
    /// Run nothing: print the tables of docs/libraries.json and rewrite docs/libraries.svg (after a change to their format)
    #[arg(long, conflicts_with_all = ["record", "update_docs", "quick", "only", "variants", "check"])]
    pub render: bool,
    /// Seconds a job may run on a target before it is stopped and reported
    #[arg(long, value_name = "SECONDS", default_value = DEFAULT_TIMEOUT_SECONDS, value_parser = crate::cli::seconds)]
    pub timeout: Duration,
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = crate::cli::jobs, default_value_t = crate::cli::default_jobs(), hide_default_value = true)]
    pub jobs: usize,
}

const CONFIG: &str = "configs/libraries.toml";
const EXPECTED: &str = "configs/libraries-expected.json";
const LIBS_DIR: &str = "xtask/libs";
/// The reference targets' names in reports.
pub const NATIVE: &str = "native";
pub const PEER: &str = "quickjs-wasm";
pub const NODE: &str = "node";
/// Default per-job timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// [`DEFAULT_TIMEOUT`] as `--timeout`'s default (a test checks they agree).
const DEFAULT_TIMEOUT_SECONDS: &str = "600";

/// One job's scripts, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The job.
    pub job: LibJob,
    /// `<npm package>@<version>` of its main library.
    pub library: String,
    /// Set-up scripts, then the timed one.
    pub scripts: Vec<String>,
}

/// Run the suite (see the module docs).
pub fn libs(ws: &Workspace, options: &LibsOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    if options.check {
        return quick_check(ws, progress);
    }
    if options.render {
        let report: LibsReport = serde_json::from_str(&std::fs::read_to_string(repo.join("docs/libraries.json")).context("reading docs/libraries.json")?)?;
        print!("{}", report.markdown());
        return crate::util::write_atomic(&repo.join("docs/libraries.svg"), report.chart().as_bytes());
    }
    let sh = Shell::new()?;
    let config: LibrariesConfig = config::load(&repo.join(CONFIG))?;
    let prepared = prepare(&sh, repo, &config, options.only.as_deref(), progress)?;
    let out = ws.target.join("libs");
    std::fs::create_dir_all(&out)?;
    if options.record {
        return record(repo, &prepared, options, &out, progress);
    }
    let expected = load_expected(repo)?;
    let mut targets = targets(&sh, ws, options, &out, progress)?;
    let repetitions = if options.quick { 1 } else { 3 };
    let samples = measure(&prepared, &mut targets, repetitions, progress);
    let names: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
    drop(targets);
    let jobs: Vec<JobInfo> = prepared.iter().map(JobInfo::of).collect();
    let report = LibsReport::new(jobs, names, repetitions, &samples, &expected);
    report.print_table();
    let json = serde_json::to_string_pretty(&report)? + "\n";
    let svg = report.chart();
    crate::util::write_atomic(&out.join("libraries.json"), json.as_bytes())?;
    crate::util::write_atomic(&out.join("libraries.svg"), svg.as_bytes())?;
    crate::util::write_atomic(&out.join("libraries.md"), report.markdown().as_bytes())?;
    if options.update_docs {
        crate::util::write_atomic(&repo.join("docs/libraries.json"), json.as_bytes())?;
        crate::util::write_atomic(&repo.join("docs/libraries.svg"), svg.as_bytes())?;
        progress.step("wrote docs/libraries.json and docs/libraries.svg");
    }
    progress.step(format!("wrote {} (and .svg, .md)", crate::util::display_relative(&out.join("libraries.json"), repo)));
    let failures = report.failures();
    if !failures.is_empty() {
        bail!("{} job result(s) differ from Node's:\n  {}", failures.len(), failures.join("\n  "));
    }
    Ok(())
}

/// `--record`: run every job in Node and write its summaries as the expected results.
fn record(repo: &Path, prepared: &[Prepared], options: &LibsOptions, out: &Path, progress: &Progress) -> Result<()> {
    let mut node = node_loader(repo, options.timeout, out);
    let mut expected = if options.only.is_some() { load_expected(repo)? } else { BTreeMap::new() };
    for p in prepared {
        let outcome = node.run(&Request { scripts: p.scripts.clone(), meter_limit: 0, test262_host: false, module: None });
        let summary = report::summary_of(&outcome).map_err(|e| anyhow::anyhow!("{} in Node: {e}", p.job.name))?;
        progress.step(format!("libs --record: {} in Node: {} ({:.0} ms)", p.job.name, summary, outcome.micros as f64 / 1000.0));
        expected.insert(p.job.name.clone(), summary);
    }
    let json = serde_json::to_string_pretty(&expected)? + "\n";
    crate::util::write_atomic(&repo.join(EXPECTED), json.as_bytes())?;
    progress.step(format!("wrote {EXPECTED}"));
    Ok(())
}

/// The committed expected summaries, by job.
pub fn load_expected(repo: &Path) -> Result<BTreeMap<String, Summary>> {
    let text = std::fs::read_to_string(repo.join(EXPECTED)).with_context(|| format!("reading {EXPECTED} (`cargo xtask libs --record` writes it)"))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {EXPECTED}"))
}

/// Every job's scripts (see configs/libraries.toml for the order).
pub fn prepare(sh: &Shell, repo: &Path, config: &LibrariesConfig, only: Option<&[String]>, progress: &Progress) -> Result<Vec<Prepared>> {
    if let Some(unknown) = only.into_iter().flatten().find(|n| !config.jobs.iter().any(|j| &j.name == *n)) {
        bail!("no job named {unknown:?} in {CONFIG}");
    }
    let jobs: Vec<&LibJob> = config.jobs.iter().filter(|j| only.is_none_or(|o| o.contains(&j.name))).collect();
    let files = resolve(sh, repo, config, &jobs, progress)?;
    let read = |spec: &str| std::fs::read_to_string(&files[spec]).with_context(|| format!("reading {}", files[spec].display()));
    let libs = repo.join(LIBS_DIR);
    let own = |file: &str| std::fs::read_to_string(libs.join(file)).with_context(|| format!("reading {LIBS_DIR}/{file}"));
    let mut prepared = Vec::new();
    for job in jobs {
        let mut scripts = vec![own("prelude.js")?, own("inputs.js")?];
        for spec in &job.files {
            let text = read(spec)?;
            scripts.push(match &job.commonjs {
                Some(name) => format!("var module = {{ exports: {{}} }}, exports = module.exports;\n{text}\n;var {name} = module.exports;\n"),
                None => text,
            });
        }
        if !job.texts.is_empty() {
            let mut texts = BTreeMap::new();
            for spec in &job.texts {
                texts.insert(spec.rsplit('/').next().unwrap_or(spec).to_owned(), read(spec)?);
            }
            scripts.push(format!("var LIBS_FILES = {};\n", serde_json::to_string(&texts)?));
        }
        scripts.push(own(&format!("jobs/{}.js", job.name))?);
        scripts.push("var INPUT = setup();\n".into());
        scripts.push("libsRun();\n".into());
        let package = job.files[0].split_once(':').map_or("", |(p, _)| p);
        let library = config.packages.iter().find(|p| p.name == package).map_or(package.to_owned(), |p| format!("{}@{}", p.npm_package, p.version));
        prepared.push(Prepared { job: job.clone(), library, scripts });
    }
    Ok(prepared)
}

/// Every `files` and `texts` entry of `jobs` as an extracted path (one
/// `npm pack` per package, checked against its sha256 and integrity).
fn resolve(sh: &Shell, repo: &Path, config: &LibrariesConfig, jobs: &[&LibJob], progress: &Progress) -> Result<BTreeMap<String, PathBuf>> {
    let mut by_package: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for spec in jobs.iter().flat_map(|j| j.files.iter().chain(&j.texts)) {
        let (package, path) = spec.split_once(':').with_context(|| format!("{spec:?} is not <package>:<path>"))?;
        let paths = by_package.entry(package).or_default();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let cache = repo.join(".cache/libs");
    let mut resolved = BTreeMap::new();
    for (name, paths) in by_package {
        let Some(p) = config.packages.iter().find(|p| p.name == name) else { bail!("no [[package]] named {name:?} in {CONFIG}") };
        let npm = NpmFiles { package: &p.npm_package, version: &p.version, sha256: &p.sha256, config_file: CONFIG };
        let found = npm.extract(sh, &cache, &paths, progress)?;
        check_integrity(&cache.join(crate::fetch::npm_tarball_name(&p.npm_package, &p.version)), &p.integrity)?;
        for (path, file) in paths.iter().zip(found) {
            resolved.insert(format!("{name}:{path}"), file);
        }
    }
    Ok(resolved)
}

/// The tarball's npm integrity (sha512) must be the pinned one. (Its sha256
/// was checked when it was extracted; a tarball already gone from the cache
/// after extraction is not checked again.)
fn check_integrity(tarball: &Path, integrity: &str) -> Result<()> {
    let Ok(bytes) = std::fs::read(tarball) else { return Ok(()) };
    let actual = format!("sha512-{}", crate::util::base64_encode(&Sha512::digest(&bytes)));
    if actual != integrity {
        bail!("{} has the wrong integrity: expected {integrity} ({CONFIG}), actual {actual}; refusing it", tarball.display());
    }
    Ok(())
}

type Targets = Vec<(String, Box<dyn Loader>)>;

/// native, the chosen variants, the peer, Node: each a worker process.
fn targets(sh: &Shell, ws: &Workspace, options: &LibsOptions, out: &Path, progress: &Progress) -> Result<Targets> {
    let repo = &ws.repo;
    let configs = Configs::load(repo)?;
    let selected = configs.variants.select(options.variants.as_deref())?;
    let chosen: Vec<(String, ToolchainKind)> = selected.iter().filter(|v| v.release || options.variants.is_some()).map(|v| (v.name.clone(), v.toolchain)).collect();
    crate::build::build(ws, &crate::build::BuildOptions { variants: Some(chosen.iter().map(|(n, _)| n.clone()).collect()), jobs: options.jobs, ..Default::default() }, progress)?;
    let runner = crate::native::build_runner(ws, &configs, progress)?;
    let native = CappedNative { runner: NativeProtocol { exe: runner }, kib: NATIVE_MEMORY_KIB };
    let mut targets: Targets = vec![(NATIVE.into(), Box::new(ProcessLoader::new(native, options.timeout, out.join("native.stderr"))))];
    for (name, toolchain) in &chosen {
        targets.push((name.clone(), variant_loader(ws, name, *toolchain, options.timeout, out)?));
    }
    if options.peer {
        let dir = crate::bench::install_peer(sh, repo, progress)?;
        let protocol = NodeProtocol { script: repo.join(crate::bench::PEER_DIR).join("worker.mjs"), artifacts: dir, variant: "quickjs".into() };
        targets.push((PEER.into(), Box::new(ProcessLoader::new(protocol, options.timeout, out.join(format!("{PEER}.stderr"))))));
    }
    targets.push((NODE.into(), Box::new(node_loader(repo, options.timeout, out))));
    Ok(targets)
}

/// The native runner's address space, KiB (`ulimit -v`): 4 GiB. Native XS
/// has no memory limit of its own, and marked's job made it allocate until
/// the kernel's OOM killer stopped it at 24 GB (docs/libraries.md); the wasm
/// variants stop at their 256 MiB default.
const NATIVE_MEMORY_KIB: u64 = 4 << 20;

/// The native runner's protocol, started under `ulimit -v` by `sh`.
struct CappedNative {
    runner: NativeProtocol,
    kib: u64,
}

impl Protocol for CappedNative {
    fn command(&self) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!("ulimit -v {} && exec \"$0\"", self.kib)).arg(&self.runner.exe);
        command
    }

    fn write(&self, stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()> {
        self.runner.write(stdin, request)
    }

    fn read(reader: &mut BufReader<ChildStdout>) -> std::io::Result<crate::loaders::Outcome> {
        NativeProtocol::read(reader)
    }
}

/// A release variant's worker: `libs-worker` (this program, the crate) for
/// WASI, `js/scripts/worker.mjs` (the JS package) for emscripten.
pub fn variant_loader(ws: &Workspace, variant: &str, toolchain: ToolchainKind, timeout: Duration, out: &Path) -> Result<Box<dyn Loader>> {
    let stderr = out.join(format!("{variant}.stderr"));
    Ok(match toolchain {
        ToolchainKind::Wasi => {
            let program = std::env::current_exe().context("locating this program for its libs-worker")?;
            let args = vec!["libs-worker".into(), "--artifacts".into(), ws.artifacts.clone().into_os_string(), "--variant".into(), variant.into()];
            Box::new(ProcessLoader::new(JsonLineProtocol { program, args, env: Vec::new() }, timeout, stderr))
        }
        ToolchainKind::Emscripten => {
            let protocol = NodeProtocol { script: ws.repo.join("js/scripts/worker.mjs"), artifacts: ws.artifacts.clone(), variant: variant.to_owned() };
            Box::new(ProcessLoader::new(protocol, timeout, stderr))
        }
    })
}

/// Node (V8) in a fresh `vm` context per job, with TZ=UTC.
fn node_loader(repo: &Path, timeout: Duration, out: &Path) -> ProcessLoader<JsonLineProtocol> {
    let protocol = JsonLineProtocol { program: "node".into(), args: vec![repo.join(LIBS_DIR).join("node-worker.mjs").into_os_string()], env: vec![("TZ".into(), "UTC".into())] };
    ProcessLoader::new(protocol, timeout, out.join(format!("{NODE}.stderr")))
}

/// The hidden `libs-worker` command: serve the crate's loader for one WASI
/// variant over stdin/stdout (the JSON line protocol).
pub fn worker(artifacts: &Path, variant: &str) -> Result<()> {
    let mut loader = crate::loaders::CrateLoader::from_runtime(crate::loaders::CrateLoader::runtime(artifacts, variant)?);
    crate::loaders::serve_json_lines(&mut loader, std::io::stdin().lock(), std::io::stdout().lock())
}

/// Every job on every target, `repetitions` times, interleaved; a job that
/// did not complete on a target is not run there again.
fn measure(prepared: &[Prepared], targets: &mut Targets, repetitions: usize, progress: &Progress) -> Samples {
    let mut samples = Samples::new();
    for rep in 0..repetitions {
        for p in prepared {
            for (name, loader) in targets.iter_mut() {
                let entry = samples.entry(name.clone()).or_default().entry(p.job.name.clone()).or_default();
                if entry.last.as_ref().is_some_and(|o| !report::completed(o)) {
                    continue;
                }
                let outcome = loader.run(&Request { scripts: p.scripts.clone(), meter_limit: 0, test262_host: false, module: None });
                progress.detail(format!("libs {rep}: {} on {name}: {:.0} ms, {:?}", p.job.name, outcome.micros as f64 / 1000.0, outcome.ending));
                entry.add(outcome);
            }
            progress.step(format!("libs: {} done (repetition {} of {repetitions})", p.job.name, rep + 1));
        }
    }
    samples
}

/// `cargo xtask test`'s quick mode: every job once on wasi-os and emcc-os
/// (side by side, one thread each), correctness only. Fails on a
/// regression: a job that `docs/libraries.json` records as equal to Node's
/// on that target and that now differs, throws or stops. Other differences
/// (known ones) are listed; a job that became equal is reported as an
/// improvement.
pub fn quick_check(ws: &Workspace, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let start = Instant::now();
    let sh = Shell::new()?;
    let config: LibrariesConfig = config::load(&repo.join(CONFIG))?;
    let prepared = prepare(&sh, repo, &config, None, progress)?;
    let expected = load_expected(repo)?;
    let baseline: LibsReport = serde_json::from_str(&std::fs::read_to_string(repo.join("docs/libraries.json")).context("reading docs/libraries.json")?)?;
    let out = ws.target.join("libs-quick");
    std::fs::create_dir_all(&out)?;
    let chosen = [("wasi-os", ToolchainKind::Wasi), ("emcc-os", ToolchainKind::Emscripten)];
    let mut loaders = Vec::new();
    for (name, toolchain) in chosen {
        loaders.push((name.to_owned(), variant_loader(ws, name, toolchain, DEFAULT_TIMEOUT, &out)?));
    }
    let samples: Samples = std::thread::scope(|scope| {
        let handles: Vec<_> = loaders.into_iter().map(|target| scope.spawn(|| measure(&prepared, &mut vec![target], 1, progress))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("a quick-mode thread panicked")).collect()
    });
    let jobs: Vec<JobInfo> = prepared.iter().map(JobInfo::of).collect();
    let report = LibsReport::new(jobs, chosen.iter().map(|(n, _)| n.to_string()).collect(), 1, &samples, &expected);
    let check = report.compare_with(&baseline);
    for line in &check.known {
        progress.step(format!("libs (known difference): {line}"));
    }
    for line in &check.improvements {
        progress.step(format!("libs: IMPROVED: {line} (now equal to Node's; update docs/libraries.json)"));
    }
    progress.step(format!("libs quick mode: {} jobs on wasi-os and emcc-os in {:.0} s", prepared.len(), start.elapsed().as_secs_f64()));
    if !check.regressions.is_empty() {
        bail!("library suite regressions (equal to Node's in docs/libraries.json, not now):\n  {}", check.regressions.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_config_parses_and_every_job_has_its_script_and_packages() {
        let repo = crate::util::repo_root();
        let config: LibrariesConfig = config::load(&repo.join(CONFIG)).unwrap();
        assert!(config.jobs.len() >= 15, "at least 15 library jobs");
        for job in &config.jobs {
            assert!(repo.join(LIBS_DIR).join("jobs").join(format!("{}.js", job.name)).is_file(), "{}", job.name);
            for spec in job.files.iter().chain(&job.texts) {
                let (package, _) = spec.split_once(':').unwrap();
                assert!(config.packages.iter().any(|p| p.name == package), "{spec}");
            }
        }
        for p in &config.packages {
            assert!(p.integrity.starts_with("sha512-") && p.sha256.len() == 64, "{}", p.name);
        }
        let expected = load_expected(&repo).unwrap();
        assert!(config.jobs.iter().all(|j| expected.contains_key(&j.name)), "every job has an expected result");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "[[package]]\nname='a'\nnpm_package='a'\nversion='1'\nintegrity='sha512-x'\nsha256='y'\n[[job]]\nname='a'\nkind='k'\nfiles=['a:x.js']\ntimeout=3\n";
        let error = toml::from_str::<LibrariesConfig>(text).unwrap_err().to_string();
        assert!(error.contains("unknown field `timeout`"), "{error}");
    }

    #[test]
    fn a_wrong_integrity_is_refused() {
        let dir = std::env::temp_dir().join(format!("xs-wasm-libs-integrity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tarball = dir.join("a-1.tgz");
        std::fs::write(&tarball, b"abc").unwrap();
        // sha512("abc"), base64: the FIPS 180-2 test vector.
        let right = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";
        check_integrity(&tarball, right).unwrap();
        let error = check_integrity(&tarball, "sha512-AAAA").unwrap_err().to_string();
        assert!(error.contains("wrong integrity") && error.contains(right), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
