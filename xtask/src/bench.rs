//! `cargo xtask bench`: engine speed, measured side by side. Runs the
//! kernels of `configs/bench.toml` (Octane programs and a lodash workload) on
//! the native XS reference runner, the WASI variants (wasmtime, in-process)
//! and the emscripten variants (Node), and QuickJS-on-wasm (the npm package
//! `quickjs-emscripten`, in Node) as the peer, interleaved (every kernel on
//! every target, then again) so that machine noise spreads evenly, and reports
//! the median wall time of the timed script per kernel, its ratio to native XS
//! and the geometric mean of the ratios, to native and to the peer. Start-up
//! is measured too: each variant's smoke run, the first machine of a fresh
//! process (module load and compilation included) and machine creation.
//! Writes `<target>/bench/bench.json` and `bench.svg`; `--update-docs` copies
//! both to `docs/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::config::{self, Configs, ToolchainKind};
use crate::fetch::NpmFiles;
use crate::loaders::{CrateLoader, Ending, Loader, NativeProtocol, NodeProtocol, ProcessLoader, Request};
use crate::progress::Progress;
use crate::workspace::Workspace;

/// `configs/bench.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// npm packages the kernels' files come from.
    #[serde(rename = "package")]
    pub packages: Vec<BenchPackage>,
    /// The kernels, in report order.
    #[serde(rename = "kernel")]
    pub kernels: Vec<Kernel>,
}

/// One pinned npm package.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchPackage {
    /// Name used in `files` (`<name>:<path>`).
    pub name: String,
    /// npm package name.
    pub npm_package: String,
    /// Exact version.
    pub version: String,
    /// sha256 (hex) of the tarball.
    pub sha256: String,
}

/// One benchmark kernel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    /// Name in reports.
    pub name: String,
    /// Set-up files, evaluated in order (`<package>:<path>` or `bench:<file>`); the last defines `benchmarkRun()`.
    pub files: Vec<String>,
    /// Calls of `benchmarkRun()` in the timed script.
    pub iterations: u32,
}

/// What `cargo xtask bench` was asked to do (its flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchOptions {
    /// Only these variants (native XS always runs; default: every release variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// One repetition instead of five
    #[arg(long)]
    pub quick: bool,
    /// Also copy bench.json and bench.svg to docs/
    #[arg(long)]
    pub update_docs: bool,
    /// Leave out the QuickJS-wasm peer (installed from npm with xtask/bench/quickjs/package-lock.json)
    #[arg(long = "no-peer", action = clap::ArgAction::SetFalse)]
    pub peer: bool,
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = crate::cli::jobs, default_value_t = crate::cli::default_jobs(), hide_default_value = true)]
    pub jobs: usize,
}

/// The measurements of one run: medians in ms by target, then by kernel.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    /// Repetitions per kernel and target.
    pub repetitions: usize,
    /// Kernel names, in order.
    pub kernels: Vec<String>,
    /// Targets in order: `native` first.
    pub targets: Vec<String>,
    /// Median ms by target then kernel (absent: the kernel failed there).
    pub median_ms: BTreeMap<String, BTreeMap<String, f64>>,
    /// Failures by target then kernel.
    pub errors: BTreeMap<String, BTreeMap<String, String>>,
    /// Geometric mean of the ratios to native, by target (kernels that ran everywhere).
    pub geomean_ratio: BTreeMap<String, f64>,
    /// The peer target (QuickJS-wasm), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Geometric mean of each target's time over the peer's (kernels both
    /// ran), by target: below 1 means faster than the peer.
    #[serde(default)]
    pub geomean_vs_peer: BTreeMap<String, f64>,
    /// Start-up figures by target.
    #[serde(default)]
    pub startup: BTreeMap<String, Startup>,
    /// The `xs-wasm` command line (release build), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli: Option<CliTimes>,
}

/// Wall time of `xs-wasm eval '1+1'` (release build, embedded wasi-os
/// module, process start to exit), in ms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CliTimes {
    /// First run with an empty compiled-module cache (compiles and writes the entry).
    pub cold_cache_ms: f64,
    /// Median of the runs after it (the entry is loaded).
    pub warm_cache_ms: f64,
    /// Median with `--no-cache` (compiles every time).
    pub no_cache_ms: f64,
}

/// Start-up of one target, in ms (absent: not measured there).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Startup {
    /// The build's smoke run of the artifact (`cargo xtask build`), timed
    /// again here: wall time, compilation of the module included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_ms: Option<f64>,
    /// From a fresh process (or, for WASI, a fresh `Runtime`) to its first
    /// machine: module load, compilation, the JS package's V8 warm-up, creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_machine_ms: Option<f64>,
    /// Median time to create a machine once the module is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_ms: Option<f64>,
}

/// The name of the QuickJS-wasm peer in reports.
const PEER: &str = "quickjs-wasm";

const NATIVE: &str = "native";

/// Run the benchmarks (see the module docs).
pub fn bench(ws: &Workspace, options: &BenchOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let sh = Shell::new()?;
    let configs = Configs::load(repo)?;
    let bench: BenchConfig = config::load(&repo.join("configs/bench.toml"))?;
    // Default: the full-featured release variants (a debug build measures
    // nothing a user runs; a -lite build runs the same code as its full
    // sibling). Named variants always run.
    let selected = configs.variants.select(options.variants.as_deref())?;
    let chosen: Vec<(String, ToolchainKind)> = selected.iter().filter(|v| (v.release && v.lacks.is_empty()) || options.variants.is_some()).map(|v| (v.name.clone(), v.toolchain)).collect();
    crate::build::build(ws, &crate::build::BuildOptions { variants: Some(chosen.iter().map(|(n, _)| n.clone()).collect()), jobs: options.jobs, ..Default::default() }, progress)?;
    let runner = crate::native::build_runner(ws, &configs, progress)?;
    let scripts = kernel_scripts(&sh, repo, &bench, progress)?;
    let out = ws.target.join("bench");
    std::fs::create_dir_all(&out)?;

    let mut targets: Vec<(String, Box<dyn Loader>)> = vec![(NATIVE.into(), Box::new(ProcessLoader::new(NativeProtocol { exe: runner }, TIMEOUT, out.join("native.stderr"))))];
    // WASI runtimes are compiled here, before the first request: that time
    // belongs to their first machine.
    let mut compile_ms = BTreeMap::new();
    for (name, toolchain) in &chosen {
        let start = Instant::now();
        targets.push((name.clone(), loader(ws, name, *toolchain, &out)?));
        if *toolchain == ToolchainKind::Wasi {
            compile_ms.insert(name.clone(), start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    if options.peer {
        let dir = install_peer(&sh, repo, progress)?;
        let protocol = NodeProtocol { script: repo.join(PEER_DIR).join("worker.mjs"), artifacts: dir, variant: "quickjs".into() };
        targets.push((PEER.into(), Box::new(ProcessLoader::new(protocol, TIMEOUT, out.join(format!("{PEER}.stderr"))))));
    }
    let repetitions = if options.quick { 1 } else { 5 };
    let (samples, creates) = measure(&bench.kernels, &scripts, &mut targets, repetitions, progress);
    let names: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
    drop(targets);
    let mut report = summarize(&bench.kernels, &names, samples, repetitions);
    report.startup = startup(creates, &compile_ms, smoke_ms(ws, &configs, &selected, &chosen, progress)?);
    report.cli = Some(cli_times(&sh, ws, &out, if options.quick { 3 } else { 11 }, progress)?);
    print_table(&report);
    let json = serde_json::to_string_pretty(&report)? + "\n";
    let svg = chart(&report);
    crate::util::write_atomic(&out.join("bench.json"), json.as_bytes())?;
    crate::util::write_atomic(&out.join("bench.svg"), svg.as_bytes())?;
    if options.update_docs {
        crate::util::write_atomic(&repo.join("docs/bench.json"), json.as_bytes())?;
        crate::util::write_atomic(&repo.join("docs/bench.svg"), svg.as_bytes())?;
        progress.step("wrote docs/bench.json and docs/bench.svg");
    }
    progress.step(format!("wrote {} and bench.svg", crate::util::display_relative(&out.join("bench.json"), repo)));
    Ok(())
}

/// Where the peer's package.json, package-lock.json and worker live.
pub(crate) const PEER_DIR: &str = "xtask/bench/quickjs";

/// Install the peer's locked npm packages into `.cache/bench/quickjs/` with
/// `npm ci` (npm checks every tarball against the lock's sha512 integrity),
/// unless that lock is already installed there. Returns the directory.
pub(crate) fn install_peer(sh: &Shell, repo: &Path, progress: &Progress) -> Result<PathBuf> {
    let source = repo.join(PEER_DIR);
    let dir = repo.join(".cache/bench/quickjs");
    let lock = std::fs::read(source.join("package-lock.json")).context("reading the peer's package-lock.json")?;
    let installed = dir.join("node_modules/.package-lock.json").is_file() && std::fs::read(dir.join("package-lock.json")).ok().as_deref() == Some(&lock[..]);
    if !installed {
        progress.step(format!("bench: installing the QuickJS-wasm peer (npm ci, locked in {PEER_DIR}/package-lock.json)"));
        std::fs::create_dir_all(&dir)?;
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file)).with_context(|| format!("copying {file} to {}", dir.display()))?;
        }
        let _dir = sh.push_dir(&dir);
        cmd!(sh, "npm ci --ignore-scripts --no-audit --no-fund").quiet().run().context("installing the QuickJS-wasm peer (`--no-peer` leaves it out)")?;
    }
    Ok(dir)
}

/// Each selected variant's smoke run (the build's), timed: ms by variant.
fn smoke_ms(ws: &Workspace, configs: &Configs, selected: &[&crate::config::Variant], chosen: &[(String, ToolchainKind)], progress: &Progress) -> Result<BTreeMap<String, f64>> {
    let files = crate::fetch::smoke_bundle(ws, &configs.variants.smoke, progress)?;
    let node = crate::toolchain::node(&configs.toolchains)?;
    let mut times = BTreeMap::new();
    for variant in selected.iter().filter(|v| chosen.iter().any(|(n, _)| *n == v.name)) {
        let input = crate::smoke::SmokeInput::for_variant(variant, &ws.artifacts.join(&variant.name), &files, &node.path);
        let start = Instant::now();
        crate::smoke::run(&input).with_context(|| format!("{}: smoke run", variant.name))?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        progress.detail(format!("bench: {} smoke run: {ms:.0} ms", variant.name));
        times.insert(variant.name.clone(), ms);
    }
    Ok(times)
}

/// Build the release `xs-wasm` CLI and time `eval '1+1'`: once with an empty
/// cache directory, `runs` times with it warm, and a few times with `--no-cache`.
fn cli_times(sh: &Shell, ws: &Workspace, out: &Path, runs: usize, progress: &Progress) -> Result<CliTimes> {
    let repo = &ws.repo;
    progress.step("bench: building the release xs-wasm CLI (cargo build --release -p xs-wasm --features cli)");
    {
        let _dir = sh.push_dir(repo);
        cmd!(sh, "cargo build --release --quiet --locked -p xs-wasm --features cli --bin xs-wasm").run().context("building the release xs-wasm CLI")?;
    }
    let exe = ws.target.join("release").join(format!("xs-wasm{}", std::env::consts::EXE_SUFFIX));
    let cache = out.join("cli-cache");
    crate::util::remove_dir_if_exists(&cache)?;
    let time = |args: &[&str]| -> Result<f64> {
        let start = Instant::now();
        let output = cmd!(sh, "{exe} {args...}").quiet().ignore_status().output().with_context(|| format!("running {}", exe.display()))?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if !output.status.success() || String::from_utf8_lossy(&output.stdout).trim() != "2" {
            bail!("xs-wasm {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(ms)
    };
    let cache_arg = cache.to_string_lossy().into_owned();
    let with_cache = ["--cache-dir", cache_arg.as_str(), "eval", "1+1"];
    let cold_cache_ms = time(&with_cache)?;
    let warm: Vec<f64> = (0..runs).map(|_| time(&with_cache)).collect::<Result<_>>()?;
    let none: Vec<f64> = (0..3).map(|_| time(&["--no-cache", "eval", "1+1"])).collect::<Result<_>>()?;
    let times = CliTimes { cold_cache_ms, warm_cache_ms: median(&warm), no_cache_ms: median(&none) };
    progress.step(format!("bench: xs-wasm eval '1+1': {:.0} ms with an empty cache, {:.1} ms warm, {:.0} ms without a cache", times.cold_cache_ms, times.warm_cache_ms, times.no_cache_ms));
    Ok(times)
}

/// Start-up figures from the machine-creation times of every request (in
/// request order), the WASI compile times and the smoke runs.
fn startup(creates: BTreeMap<String, Vec<f64>>, compile_ms: &BTreeMap<String, f64>, smoke_ms: BTreeMap<String, f64>) -> BTreeMap<String, Startup> {
    let mut startup: BTreeMap<String, Startup> = BTreeMap::new();
    for (target, ms) in creates {
        let Some((first, rest)) = ms.split_first() else { continue };
        let entry = startup.entry(target.clone()).or_default();
        entry.first_machine_ms = Some(first + compile_ms.get(&target).copied().unwrap_or(0.0));
        entry.create_ms = (!rest.is_empty()).then(|| median(rest));
    }
    for (target, ms) in smoke_ms {
        startup.entry(target).or_default().smoke_ms = Some(ms);
    }
    startup
}

/// A benchmark that runs longer than this is stopped.
const TIMEOUT: Duration = Duration::from_secs(600);

fn loader(ws: &Workspace, variant: &str, toolchain: ToolchainKind, out: &Path) -> Result<Box<dyn Loader>> {
    Ok(match toolchain {
        ToolchainKind::Wasi => Box::new(CrateLoader::from_runtime(CrateLoader::runtime(&ws.artifacts, variant)?)),
        ToolchainKind::Emscripten => {
            let protocol = NodeProtocol { script: ws.repo.join("js/scripts/worker.mjs"), artifacts: ws.artifacts.clone(), variant: variant.to_owned() };
            Box::new(ProcessLoader::new(protocol, TIMEOUT, out.join(format!("{variant}.stderr"))))
        }
    })
}

/// Each kernel's scripts: its set-up files, then the timed loop.
fn kernel_scripts(sh: &Shell, repo: &Path, bench: &BenchConfig, progress: &Progress) -> Result<Vec<Vec<String>>> {
    let files = resolve_all(sh, repo, bench, progress)?;
    let mut scripts = Vec::new();
    for kernel in &bench.kernels {
        let mut list = Vec::new();
        for file in &kernel.files {
            let path = &files[file.as_str()];
            list.push(std::fs::read_to_string(path).with_context(|| format!("kernel {}: cannot read {}", kernel.name, path.display()))?);
        }
        list.push(format!("for (var benchmarkIteration = 0; benchmarkIteration < {}; benchmarkIteration++) benchmarkRun();", kernel.iterations));
        scripts.push(list);
    }
    Ok(scripts)
}

/// Every `files` entry of every kernel as a path: `<package>:<path>`
/// (extracted from the pinned tarball, one extraction per package) or
/// `bench:<file>` (xtask/bench/).
fn resolve_all<'a>(sh: &Shell, repo: &Path, bench: &'a BenchConfig, progress: &Progress) -> Result<BTreeMap<&'a str, PathBuf>> {
    let mut by_origin: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for file in bench.kernels.iter().flat_map(|k| &k.files) {
        let (origin, path) = file.split_once(':').with_context(|| format!("{file:?} is not <package>:<path>"))?;
        let paths = by_origin.entry(origin).or_default();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let mut resolved = BTreeMap::new();
    for (origin, paths) in by_origin {
        let found: Vec<PathBuf> = if origin == "bench" {
            paths.iter().map(|p| repo.join("xtask/bench").join(p)).collect()
        } else {
            let Some(p) = bench.packages.iter().find(|p| p.name == origin) else { bail!("no [[package]] named {origin:?} in configs/bench.toml") };
            let npm = NpmFiles { package: &p.npm_package, version: &p.version, sha256: &p.sha256, config_file: "configs/bench.toml" };
            npm.extract(sh, &repo.join(".cache/bench"), &paths, progress)?
        };
        for file in bench.kernels.iter().flat_map(|k| &k.files) {
            if let Some(i) = file.split_once(':').filter(|(o, _)| *o == origin).and_then(|(_, path)| paths.iter().position(|p| *p == path)) {
                resolved.insert(file.as_str(), found[i].clone());
            }
        }
    }
    Ok(resolved)
}

/// ms samples by target, then kernel; or the error that stopped a kernel.
type Samples = BTreeMap<String, BTreeMap<String, Result<Vec<f64>, String>>>;

/// Every kernel on every target, `repetitions` times, interleaved. Also
/// returns each target's machine-creation times (ms), in request order.
fn measure(kernels: &[Kernel], scripts: &[Vec<String>], targets: &mut [(String, Box<dyn Loader>)], repetitions: usize, progress: &Progress) -> (Samples, BTreeMap<String, Vec<f64>>) {
    let mut samples: Samples = BTreeMap::new();
    let mut creates: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for rep in 0..repetitions {
        for (kernel, scripts) in kernels.iter().zip(scripts) {
            for (name, loader) in targets.iter_mut() {
                let entry = samples.entry(name.clone()).or_default().entry(kernel.name.clone()).or_insert_with(|| Ok(Vec::new()));
                if entry.is_err() {
                    continue;
                }
                let outcome = loader.run(&Request { scripts: scripts.clone(), meter_limit: 0, test262_host: false, module: None });
                if let Some(micros) = outcome.create_micros {
                    creates.entry(name.clone()).or_default().push(micros as f64 / 1000.0);
                }
                match outcome.ending {
                    Ending::Completed => {
                        let ms = outcome.micros as f64 / 1000.0;
                        progress.detail(format!("bench {rep}: {} on {name}: {ms:.1} ms", kernel.name));
                        entry.as_mut().expect("checked").push(ms);
                    }
                    Ending::Threw { name: error, message } => *entry = Err(format!("{error}: {message}")),
                    Ending::Stopped(reason) => *entry = Err(reason),
                }
            }
        }
        progress.step(format!("bench: repetition {} of {repetitions} done", rep + 1));
    }
    (samples, creates)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn summarize(kernels: &[Kernel], targets: &[String], samples: Samples, repetitions: usize) -> BenchReport {
    let mut report = BenchReport { repetitions, kernels: kernels.iter().map(|k| k.name.clone()).collect(), targets: targets.to_vec(), ..Default::default() };
    for (target, by_kernel) in samples {
        for (kernel, result) in by_kernel {
            match result {
                Ok(values) if !values.is_empty() => {
                    report.median_ms.entry(target.clone()).or_default().insert(kernel, median(&values));
                }
                Ok(_) => {}
                Err(e) => {
                    report.errors.entry(target.clone()).or_default().insert(kernel, e);
                }
            }
        }
    }
    let native = report.median_ms.get(NATIVE).cloned().unwrap_or_default();
    let peer = report.median_ms.get(PEER).cloned();
    report.peer = peer.is_some().then(|| PEER.to_owned());
    for target in targets {
        let Some(mine) = report.median_ms.get(target) else { continue };
        if let Some(mean) = geomean_over(mine, &native) {
            report.geomean_ratio.insert(target.clone(), mean);
        }
        if let Some(mean) = peer.as_ref().filter(|_| target != PEER).and_then(|p| geomean_over(mine, p)) {
            report.geomean_vs_peer.insert(target.clone(), mean);
        }
    }
    report
}

/// Geometric mean of `mine[k] / base[k]` over the kernels both have.
fn geomean_over(mine: &BTreeMap<String, f64>, base: &BTreeMap<String, f64>) -> Option<f64> {
    let ratios: Vec<f64> = mine.iter().filter_map(|(k, ms)| base.get(k).map(|b| ms / b)).collect();
    (!ratios.is_empty()).then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp())
}

fn print_table(report: &BenchReport) {
    let native = report.median_ms.get(NATIVE).cloned().unwrap_or_default();
    print!("\n{:<15}", "kernel (ms)");
    for t in &report.targets {
        print!(" {:>20}", t);
    }
    println!();
    for k in &report.kernels {
        print!("{k:<15}");
        for t in &report.targets {
            let cell = match (report.median_ms.get(t).and_then(|m| m.get(k)), native.get(k)) {
                (Some(ms), Some(n)) if t != NATIVE => format!("{ms:.0} ({:.1}x)", ms / n),
                (Some(ms), _) => format!("{ms:.0}"),
                (None, _) => "failed".to_owned(),
            };
            print!(" {cell:>20}");
        }
        println!();
    }
    print!("{:<15}", "geomean ratio");
    for t in &report.targets {
        print!(" {:>20}", report.geomean_ratio.get(t).map_or("-".to_owned(), |g| format!("{g:.2}x")));
    }
    println!();
    if let Some(peer) = &report.peer {
        print!("{:<15}", format!("vs {peer}"));
        for t in &report.targets {
            print!(" {:>20}", report.geomean_vs_peer.get(t).map_or("-".to_owned(), |g| format!("{g:.2}x")));
        }
        println!();
    }
    if let Some(cli) = &report.cli {
        println!("xs-wasm eval '1+1' (release CLI): {:.0} ms with an empty cache, {:.1} ms warm, {:.0} ms without a cache", cli.cold_cache_ms, cli.warm_cache_ms, cli.no_cache_ms);
    }
    for (label, field) in [("smoke run", 0), ("first machine", 1), ("create machine", 2)] {
        print!("{:<15}", format!("{label} ms"));
        for t in &report.targets {
            let s = report.startup.get(t);
            let value = s.and_then(|s| [s.smoke_ms, s.first_machine_ms, s.create_ms][field]);
            print!(" {:>20}", value.map_or("-".to_owned(), |ms| if ms < 10.0 { format!("{ms:.2}") } else { format!("{ms:.0}") }));
        }
        println!();
    }
    println!();
    for (t, errors) in &report.errors {
        for (k, e) in errors {
            println!("{t}: {k} failed: {e}");
        }
    }
}

/// A horizontal bar chart of each target's ratio to native XS per kernel (log scale).
fn chart(report: &BenchReport) -> String {
    let native = report.median_ms.get(NATIVE).cloned().unwrap_or_default();
    let targets: Vec<&String> = report.targets.iter().filter(|t| *t != NATIVE).collect();
    let (row, label_w, bar_w, top) = (14.0, 150.0, 520.0, 40.0);
    let rows = report.kernels.len() * (targets.len() + 1);
    let height = top + row * rows as f64 + 30.0;
    let max = report.median_ms.iter().filter(|(t, _)| *t != NATIVE).flat_map(|(_, m)| m.iter().filter_map(|(k, ms)| native.get(k).map(|n| ms / n))).fold(2.0f64, f64::max);
    let scale = |r: f64| bar_w * (r.max(1.0).ln() / max.ln()).clamp(0.0, 1.0);
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n", label_w + bar_w + 80.0);
    svg.push_str("<text x=\"4\" y=\"16\" font-size=\"13\">xs-wasm: time relative to native XS (1x = native; log scale; lower is better)</text>\n");
    let mut y = top;
    for k in &report.kernels {
        svg.push_str(&format!("<text x=\"4\" y=\"{:.0}\" font-weight=\"bold\">{k}</text>\n", y + 10.0));
        y += row;
        for (i, t) in targets.iter().enumerate() {
            let ratio = report.median_ms.get(*t).and_then(|m| m.get(k)).zip(native.get(k)).map(|(ms, n)| ms / n);
            svg.push_str(&format!("<text x=\"14\" y=\"{:.0}\">{t}</text>\n", y + 10.0));
            if let Some(r) = ratio {
                let hue = (i * 47) % 360;
                svg.push_str(&format!("<rect x=\"{label_w}\" y=\"{:.0}\" width=\"{:.1}\" height=\"10\" fill=\"hsl({hue},55%,55%)\"/>\n", y + 2.0, scale(r).max(1.0)));
                svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.0}\">{r:.2}x</text>\n", label_w + scale(r) + 4.0, y + 10.0));
            }
            y += row;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_geometric_means_are_computed_per_target() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let kernels = vec![Kernel { name: "a".into(), files: vec![], iterations: 1 }, Kernel { name: "b".into(), files: vec![], iterations: 1 }];
        let mut samples: Samples = BTreeMap::new();
        samples.entry(NATIVE.into()).or_default().insert("a".into(), Ok(vec![10.0, 12.0, 11.0]));
        samples.entry(NATIVE.into()).or_default().insert("b".into(), Ok(vec![1.0]));
        samples.entry("wasi-os".into()).or_default().insert("a".into(), Ok(vec![40.0]));
        samples.entry("wasi-os".into()).or_default().insert("b".into(), Ok(vec![9.0]));
        samples.entry("emcc-os".into()).or_default().insert("a".into(), Err("boom".into()));
        let report = summarize(&kernels, &[NATIVE.into(), "wasi-os".into(), "emcc-os".into()], samples, 3);
        assert_eq!(report.median_ms["native"]["a"], 11.0);
        // ratios 40/11 and 9/1: geometric mean sqrt(360/11)
        assert!((report.geomean_ratio["wasi-os"] - (360.0f64 / 11.0).sqrt()).abs() < 1e-9);
        assert_eq!(report.errors["emcc-os"]["a"], "boom");
        assert!(!report.geomean_ratio.contains_key("emcc-os"));
        let svg = chart(&report);
        assert!(svg.starts_with("<svg") && svg.contains("wasi-os") && svg.contains("9.00x"));
        assert!(report.peer.is_none() && report.geomean_vs_peer.is_empty());
    }

    #[test]
    fn targets_are_compared_with_the_peer_over_the_kernels_both_ran() {
        let kernels = vec![Kernel { name: "a".into(), files: vec![], iterations: 1 }, Kernel { name: "b".into(), files: vec![], iterations: 1 }];
        let mut samples: Samples = BTreeMap::new();
        samples.entry(NATIVE.into()).or_default().insert("a".into(), Ok(vec![10.0]));
        samples.entry(PEER.into()).or_default().insert("a".into(), Ok(vec![20.0]));
        samples.entry(PEER.into()).or_default().insert("b".into(), Ok(vec![5.0]));
        samples.entry("emcc-o2".into()).or_default().insert("a".into(), Ok(vec![10.0]));
        samples.entry("emcc-o2".into()).or_default().insert("b".into(), Ok(vec![20.0]));
        let report = summarize(&kernels, &[NATIVE.into(), "emcc-o2".into(), PEER.into()], samples, 1);
        assert_eq!(report.peer.as_deref(), Some(PEER));
        // 10/20 and 20/5: geometric mean sqrt(2) = 1.414...
        assert!((report.geomean_vs_peer["emcc-o2"] - 2f64.sqrt()).abs() < 1e-9);
        assert!(!report.geomean_vs_peer.contains_key(PEER), "the peer is not compared with itself");
        assert!((report.geomean_ratio[PEER] - 2.0).abs() < 1e-9, "the peer gets a ratio to native like any target");
    }

    #[test]
    fn the_first_machine_pays_for_compilation_and_later_ones_give_the_median() {
        let creates = BTreeMap::from([("wasi-o2".to_owned(), vec![5.0, 1.0, 3.0, 2.0]), ("emcc-os".to_owned(), vec![300.0])]);
        let compile = BTreeMap::from([("wasi-o2".to_owned(), 1000.0)]);
        let smoke = BTreeMap::from([("emcc-os".to_owned(), 4000.0)]);
        let s = startup(creates, &compile, smoke);
        assert_eq!(s["wasi-o2"], Startup { smoke_ms: None, first_machine_ms: Some(1005.0), create_ms: Some(2.0) });
        assert_eq!(s["emcc-os"], Startup { smoke_ms: Some(4000.0), first_machine_ms: Some(300.0), create_ms: None });
    }

    #[test]
    fn the_repository_bench_config_parses_and_names_known_packages() {
        let repo = crate::util::repo_root();
        let bench: BenchConfig = config::load(&repo.join("configs/bench.toml")).unwrap();
        for kernel in &bench.kernels {
            for file in &kernel.files {
                let (origin, path) = file.split_once(':').unwrap();
                assert!(origin == "bench" && repo.join("xtask/bench").join(path).is_file() || bench.packages.iter().any(|p| p.name == origin), "{file}");
            }
        }
    }
}
