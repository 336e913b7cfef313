//! `cargo xtask bench`: engine speed, measured side by side. Runs the
//! kernels of `configs/bench.toml` (Octane programs and a lodash workload) on
//! the native XS reference runner, the WASI variants (wasmtime, in-process)
//! and the emscripten variants (Node), interleaved (every kernel on every
//! target, then again) so that machine noise spreads evenly, and reports the
//! median wall time of the timed script per kernel, its ratio to native XS
//! and the geometric mean of the ratios. Writes `<target>/bench/bench.json`
//! and `bench.svg`; `--update-docs` copies both to `docs/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::{self, Configs, ToolchainKind};
use crate::fetch::NpmFiles;
use crate::loaders::{CrateLoader, Ending, Loader, NativeProtocol, NodeProtocol, ProcessLoader, Request};
use crate::progress::Progress;

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

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Only these variants (default: every release variant; native always runs: ratios are to it).
    pub variants: Option<Vec<String>>,
    /// One repetition instead of five.
    pub quick: bool,
    /// Copy bench.json and bench.svg to docs/.
    pub update_docs: bool,
    /// Compile jobs for the build step.
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
}

const NATIVE: &str = "native";

/// Run the benchmarks (see the module docs).
pub fn bench(repo: &Path, options: &BenchOptions, progress: &Progress) -> Result<()> {
    let configs = Configs::load(repo)?;
    let bench: BenchConfig = config::load(&repo.join("configs/bench.toml"))?;
    // Default: the release variants (a debug build measures nothing a user runs).
    let selected = configs.variants.select(options.variants.as_deref())?;
    let chosen: Vec<(String, ToolchainKind)> = selected.iter().filter(|v| v.release || options.variants.is_some()).map(|v| (v.name.clone(), v.toolchain)).collect();
    crate::build::build(repo, &crate::build::BuildOptions { variants: Some(chosen.iter().map(|(n, _)| n.clone()).collect()), jobs: options.jobs, ..Default::default() }, progress)?;
    let runner = crate::native::build_runner(repo, &configs, progress)?;
    let scripts = kernel_scripts(repo, &bench, progress)?;
    let out = crate::build::cargo_target_dir(repo).join("bench");
    std::fs::create_dir_all(&out)?;

    let mut targets: Vec<(String, Box<dyn Loader>)> = vec![(NATIVE.into(), Box::new(ProcessLoader::new(NativeProtocol { exe: runner }, TIMEOUT, out.join("native.stderr"))))];
    for (name, toolchain) in &chosen {
        targets.push((name.clone(), loader(repo, name, *toolchain, &out)?));
    }
    let repetitions = if options.quick { 1 } else { 5 };
    let samples = measure(&bench.kernels, &scripts, &mut targets, repetitions, progress);
    let report = summarize(&bench.kernels, &targets.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), samples, repetitions);
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

/// A benchmark that runs longer than this is stopped.
const TIMEOUT: Duration = Duration::from_secs(600);

fn loader(repo: &Path, variant: &str, toolchain: ToolchainKind, out: &Path) -> Result<Box<dyn Loader>> {
    Ok(match toolchain {
        ToolchainKind::Wasi => Box::new(CrateLoader::from_runtime(CrateLoader::runtime(&repo.join("artifacts"), variant)?)),
        ToolchainKind::Emscripten => {
            let protocol = NodeProtocol { script: repo.join("js/scripts/worker.mjs"), artifacts: repo.join("artifacts"), variant: variant.to_owned() };
            Box::new(ProcessLoader::new(protocol, TIMEOUT, out.join(format!("{variant}.stderr"))))
        }
    })
}

/// Each kernel's scripts: its set-up files, then the timed loop.
fn kernel_scripts(repo: &Path, bench: &BenchConfig, progress: &Progress) -> Result<Vec<Vec<String>>> {
    let files = resolve_all(repo, bench, progress)?;
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
fn resolve_all<'a>(repo: &Path, bench: &'a BenchConfig, progress: &Progress) -> Result<BTreeMap<&'a str, PathBuf>> {
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
            npm.extract(&repo.join(".cache/bench"), &paths, progress)?
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

/// Every kernel on every target, `repetitions` times, interleaved.
fn measure(kernels: &[Kernel], scripts: &[Vec<String>], targets: &mut [(String, Box<dyn Loader>)], repetitions: usize, progress: &Progress) -> Samples {
    let mut samples: Samples = BTreeMap::new();
    for rep in 0..repetitions {
        for (kernel, scripts) in kernels.iter().zip(scripts) {
            for (name, loader) in targets.iter_mut() {
                let entry = samples.entry(name.clone()).or_default().entry(kernel.name.clone()).or_insert_with(|| Ok(Vec::new()));
                if entry.is_err() {
                    continue;
                }
                let outcome = loader.run(&Request { scripts: scripts.clone(), meter_limit: 0, test262_host: false });
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
    samples
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
    for target in targets {
        let Some(mine) = report.median_ms.get(target) else { continue };
        let ratios: Vec<f64> = mine.iter().filter_map(|(k, ms)| native.get(k).map(|n| ms / n)).collect();
        if !ratios.is_empty() {
            let mean = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
            report.geomean_ratio.insert(target.clone(), mean);
        }
    }
    report
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
    println!("\n");
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
