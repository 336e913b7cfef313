//! `cargo xtask test262`: the conformance gate. Runs the pinned test262
//! (configs/test262.toml) on the native XS reference runner and on the
//! variants, each case in a fresh machine, and fails when a variant fails a
//! case that native XS passes.
//!
//! Default: the whole suite on native, `wasi-os` and `emcc-os`, and a 1-in-10
//! sample on every other variant; the results are written to
//! `artifacts/test262.json` (committed). With `--variants`, `--sample` or
//! `--filter` the run is partial and the results go to
//! `<target>/test262/results.json` only.

mod metadata;
mod results;
mod suite;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::{Configs, Feature, Test262Config, ToolchainKind};
use crate::fetch;
use crate::progress::Progress;
use crate::loaders::{CrateLoader, Loader, ModuleRequest, NativeProtocol, NodeProtocol, Outcome, ProcessLoader, Request};
use crate::workspace::Workspace;
use results::{ExpectedFailures, Results, TargetResult};
use suite::{Case, Harness};

/// The target name of the native reference.
pub const NATIVE: &str = "native";
/// Variants that run the whole suite in the default run.
const FULL_VARIANTS: [&str; 2] = ["wasi-os", "emcc-os"];
/// The sample every other variant runs in the default run.
const DEFAULT_OTHER_SAMPLE: u32 = 10;
/// Cases slower than this are named in the output (they dominate run time).
const SLOW_CASE: Duration = Duration::from_secs(5);
/// The committed results (relative to the repository).
const RESULTS_FILE: &str = "artifacts/test262.json";
/// The expected failures of native XS (relative to the repository).
const EXPECTED_FILE: &str = "configs/test262-expected-failures.txt";

/// What `cargo xtask test262` was asked to do (its flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Test262Options {
    /// Only these variants (native XS always runs, as the reference; default: every variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// Only tests whose path matches, e.g. 'test/built-ins/Array/**'
    #[arg(long, value_name = "GLOB")]
    pub filter: Option<String>,
    /// A fixed 1-in-N sample on every target
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
    /// Rewrite configs/test262-expected-failures.txt from native XS's failures
    #[arg(long)]
    pub update_expected: bool,
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = crate::cli::jobs, default_value_t = crate::cli::default_jobs(), hide_default_value = true)]
    pub jobs: usize,
}

/// One thing to run the suite on, with its sample.
#[derive(Debug, Clone)]
struct Target {
    name: String,
    toolchain: Option<ToolchainKind>,
    sample: u32,
    /// Features the variant is built without: their tests are skipped.
    lacks: Vec<Feature>,
}

/// Whether `case` needs `feature`: test262 marks property escapes with a
/// feature tag; normalize() has its own directory and no tag.
fn needs(case: &Case, feature: Feature) -> bool {
    match feature {
        Feature::RegexpPropertyEscapes => case.features.iter().any(|f| f == "regexp-unicode-property-escapes"),
        Feature::StringNormalize => case.id.starts_with("test/built-ins/String/prototype/normalize/"),
    }
}

/// The cases of `selection` a target runs, and how many test files it skips
/// (the selection's, plus those of the features the target lacks).
fn cases_for<'a>(target: &Target, selection: &'a Selection) -> (Vec<&'a Case>, usize) {
    let mut left_out = BTreeSet::new();
    let cases = selection
        .cases
        .iter()
        .filter(|case| {
            let lacked = target.lacks.iter().any(|&f| needs(case, f));
            if lacked {
                left_out.insert(case.id.rsplit_once(':').map_or(case.id.as_str(), |(path, _)| path));
            }
            !lacked
        })
        .collect();
    (cases, selection.skipped + left_out.len())
}

/// The cases of one sample, plus the skipped files.
struct Selection {
    cases: Vec<Case>,
    skipped: usize,
}

/// Run the command (see the module docs).
pub fn test262(ws: &Workspace, options: &Test262Options, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let configs = Configs::load(repo)?;
    let config = Test262Config::load(repo)?;
    fetch::fetch(ws, &config.source(), progress)?;
    progress.step(format!("test262 {} ({}, {})", config.suite.commit, config.suite.upstream, config.suite.license));
    let targets = targets(&configs, options)?;
    let variant_names: Vec<String> = targets.iter().filter(|t| t.toolchain.is_some()).map(|t| t.name.clone()).collect();
    crate::build::build(ws, &crate::build::BuildOptions { variants: Some(variant_names), jobs: options.jobs, ..Default::default() }, progress)?;
    let runner = crate::native::build_runner(ws, &configs, progress)?;

    let root = ws.vendor.join("test262");
    let selections = select(&root, &config, options, &targets)?;
    let out_dir = ws.target.join("test262");
    std::fs::create_dir_all(&out_dir)?;
    let root = root.canonicalize().with_context(|| format!("cannot find {}", root.display()))?;
    let env = RunEnv { ws, runner: &runner, out_dir: &out_dir, root: &root, config: &config, jobs: options.jobs, progress };

    let mut results = Results { schema: 1, targets: BTreeMap::new() };
    let mut messages: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for target in &targets {
        let selection = &selections[&target.sample];
        let (result, failures) = run_target(&env, target, selection)?;
        results.targets.insert(target.name.clone(), result);
        messages.insert(target.name.clone(), failures);
    }
    let native_cases = &selections[&targets[0].sample].cases;
    let run = Run { targets: &targets, results: &results, messages: &messages, native_cases };
    report(repo, options, &config, &run, &out_dir, progress)
}

/// Everything a finished run produced.
struct Run<'a> {
    targets: &'a [Target],
    results: &'a Results,
    /// Failure messages by target, then by case id.
    messages: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// The cases native ran (every case any target ran).
    native_cases: &'a [Case],
}

/// Native first (on the smallest sample any target uses), then the variants.
fn targets(configs: &Configs, options: &Test262Options) -> Result<Vec<Target>> {
    let chosen = configs.variants.select(options.variants.as_deref())?;
    let mut targets: Vec<Target> = chosen
        .iter()
        .map(|v| {
            let default = if options.variants.is_some() || FULL_VARIANTS.contains(&v.name.as_str()) { 1 } else { DEFAULT_OTHER_SAMPLE };
            Target { name: v.name.clone(), toolchain: Some(v.toolchain), sample: options.sample.unwrap_or(default), lacks: v.lacks.clone() }
        })
        .collect();
    let native_sample = targets.iter().map(|t| t.sample).min().unwrap_or(options.sample.unwrap_or(1));
    for t in &targets {
        if !t.sample.is_multiple_of(native_sample) {
            bail!("sample {} of {} is not a multiple of native's {native_sample}: its cases would not all have a native result", t.sample, t.name);
        }
    }
    targets.insert(0, Target { name: NATIVE.into(), toolchain: None, sample: native_sample, lacks: Vec::new() });
    Ok(targets)
}

/// Plan every test once and keep, per sample size, the cases it selects.
fn select(root: &Path, config: &Test262Config, options: &Test262Options, targets: &[Target]) -> Result<BTreeMap<u32, Selection>> {
    let mut files = suite::discover(root, &config.run)?;
    if let Some(glob) = &options.filter {
        let pattern = glob::Pattern::new(glob).with_context(|| format!("--filter {glob:?} is not a valid glob"))?;
        files.retain(|f| pattern.matches(f));
        if files.is_empty() {
            bail!("--filter {glob:?} matches no test under {:?}", config.run.directories);
        }
    }
    let harness = Harness::load(root)?;
    let samples: BTreeSet<u32> = targets.iter().map(|t| t.sample).collect();
    let mut selections = BTreeMap::new();
    for n in samples {
        let mut selection = Selection { cases: Vec::new(), skipped: 0 };
        for path in suite::sample(files.clone(), n) {
            let source = std::fs::read_to_string(root.join(&path)).with_context(|| format!("cannot read {path}"))?;
            match suite::plan(&path, &source, &harness, &config.run)? {
                Ok(cases) => selection.cases.extend(cases),
                Err(_) => selection.skipped += 1,
            }
        }
        selections.insert(n, selection);
    }
    Ok(selections)
}

/// What every target's run needs.
struct RunEnv<'a> {
    ws: &'a Workspace,
    runner: &'a Path,
    out_dir: &'a Path,
    /// The suite's root (absolute): module tests load their files from it.
    root: &'a Path,
    config: &'a Test262Config,
    jobs: usize,
    progress: &'a Progress,
}

/// A loader for worker `index` of a target.
fn loader_for(env: &RunEnv<'_>, target: &Target, index: usize, runtime: Option<&xs_wasm::Runtime>) -> Result<Box<dyn Loader>> {
    let timeout = Duration::from_secs(env.config.run.timeout_seconds);
    let stderr = env.out_dir.join(format!("{}-{index}.stderr", target.name));
    Ok(match (target.toolchain, runtime) {
        (None, _) => Box::new(ProcessLoader::new(NativeProtocol { exe: env.runner.to_owned() }, timeout, stderr)),
        (Some(ToolchainKind::Wasi), Some(runtime)) => Box::new(CrateLoader::from_runtime(runtime.clone())),
        (Some(ToolchainKind::Wasi), None) => unreachable!("WASI targets get a runtime"),
        (Some(ToolchainKind::Emscripten), _) => {
            let protocol = NodeProtocol { script: env.ws.repo.join("js/scripts/worker.mjs"), artifacts: env.ws.artifacts.clone(), variant: target.name.clone() };
            Box::new(ProcessLoader::new(protocol, timeout, stderr))
        }
    })
}

/// Run one target's cases on `jobs` workers; returns its result and each failure's message.
fn run_target(env: &RunEnv<'_>, target: &Target, selection: &Selection) -> Result<(TargetResult, BTreeMap<String, String>)> {
    let (cases, skipped) = cases_for(target, selection);
    let cases = &cases;
    let runtime = match target.toolchain {
        Some(ToolchainKind::Wasi) => Some(CrateLoader::runtime(&env.ws.artifacts, &target.name)?),
        _ => None,
    };
    let sample = if target.sample == 1 { "whole suite".to_owned() } else { format!("1 in {}", target.sample) };
    env.progress.step(format!("test262 {}: {} cases ({sample}), {} workers", target.name, cases.len(), env.jobs));
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|scope| -> Result<()> {
        let mut handles = Vec::new();
        for index in 0..env.jobs.max(1) {
            let mut loader = loader_for(env, target, index, runtime.as_ref())?;
            let (next, outcomes) = (&next, &outcomes);
            handles.push(scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let began = Instant::now();
                let base = case.id.rsplit_once('/').map_or("", |(dir, _)| dir);
                let module = Some(ModuleRequest { root: env.root.to_owned(), base: format!("/{base}"), import: case.module.clone() });
                let outcome = loader.run(&Request { scripts: case.scripts.clone(), meter_limit: env.config.run.meter_limit, test262_host: true, module });
                let took = began.elapsed();
                if took > SLOW_CASE {
                    env.progress.warn(format!("test262 {}: {} took {:.1} s", target.name, case.id, took.as_secs_f64()));
                }
                outcomes.lock().expect("outcomes lock")[i] = Some(outcome);
                report_progress(env.progress, &target.name, i + 1, cases.len(), start);
            }));
        }
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a test262 worker thread panicked"))?;
        }
        Ok(())
    })?;
    let failures = failures_of(cases, outcomes.into_inner().expect("outcomes lock"));
    let elapsed = start.elapsed().as_secs_f64();
    env.progress.step(format!(
        "test262 {}: {} passed, {} failed in {elapsed:.0} s ({:.0} cases/s)",
        target.name,
        cases.len() - failures.len(),
        failures.len(),
        cases.len() as f64 / elapsed.max(1e-9)
    ));
    let result = TargetResult {
        commit: env.config.suite.commit.clone(),
        sample: target.sample,
        run: cases.len(),
        passed: cases.len() - failures.len(),
        failed: failures.len(),
        skipped,
        failures: failures.keys().cloned().collect(),
    };
    Ok((result, failures))
}

/// The failing cases (id to reason) among `cases` and their outcomes.
fn failures_of(cases: &[&Case], outcomes: Vec<Option<Outcome>>) -> BTreeMap<String, String> {
    let mut failures = BTreeMap::new();
    for (case, outcome) in cases.iter().zip(outcomes) {
        let outcome = outcome.expect("every case ran");
        if let Some(reason) = results::verdict(case, &outcome) {
            failures.insert(case.id.clone(), reason);
        }
    }
    failures
}

/// One progress line at every tenth of the cases.
fn report_progress(progress: &Progress, name: &str, done: usize, total: usize, start: Instant) {
    let step = (total / 10).max(1);
    if done.is_multiple_of(step) && done < total {
        progress.step(format!("test262 {name}: {done}/{total} ({:.0} cases/s)", done as f64 / start.elapsed().as_secs_f64().max(1e-9)));
    }
}

/// Compare, write the results, print the table; fail on regressions.
fn report(repo: &Path, options: &Test262Options, config: &Test262Config, run: &Run<'_>, out_dir: &Path, progress: &Progress) -> Result<()> {
    let Run { targets, results, messages, native_cases } = *run;
    let native = &messages[NATIVE];
    let cases: BTreeMap<&str, &Case> = native_cases.iter().map(|c| (c.id.as_str(), c)).collect();
    write_failure_logs(out_dir, messages)?;
    let expected_path = repo.join(EXPECTED_FILE);
    let expected = ExpectedFailures::load(&expected_path)?;
    if options.update_expected {
        let lacking = results::lacking_features(native_cases, native);
        let xs = format!("XS {}", crate::config::Configs::load(repo)?.moddable.engine.xs_version);
        let header = EXPECTED_HEADER.replace("{xs}", &xs);
        let text = expected.render_for(native, &header, |id, message| cases.get(id).map_or_else(|| "unknown case".to_owned(), |case| results::classify(case, message, &lacking, &xs)));
        crate::util::write_atomic(&expected_path, text.as_bytes())?;
        progress.step(format!("wrote {EXPECTED_FILE} ({} cases)", native.len()));
    } else {
        check_expected(&expected, native, &results.targets[NATIVE], progress);
    }
    let partial = options.variants.is_some() || options.sample.is_some() || options.filter.is_some();
    let text = results.render();
    crate::util::write_atomic(&out_dir.join("results.json"), text.as_bytes())?;
    if !partial {
        crate::util::write_atomic(&repo.join(RESULTS_FILE), text.as_bytes())?;
    }
    print_table(targets, results, native);
    let regressions = regressions(targets, messages);
    if !regressions.is_empty() {
        let list: Vec<String> = regressions.iter().map(|(t, id, why)| format!("  {t}: {id}: {why}")).collect();
        bail!("{} case(s) fail on a variant but pass on native XS (suite {}):\n{}", regressions.len(), config.suite.commit, list.join("\n"));
    }
    progress.step(format!("test262: no variant fails a case native XS passes; results in {}", if partial { "target/test262/results.json (partial run)" } else { RESULTS_FILE }));
    Ok(())
}

/// Every case a variant fails that native ran and passed: (target, case, message).
fn regressions(targets: &[Target], messages: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<(String, String, String)> {
    let native = &messages[NATIVE];
    let mut out = Vec::new();
    for t in targets.iter().filter(|t| t.toolchain.is_some()) {
        for (id, why) in &messages[&t.name] {
            if !native.contains_key(id) {
                out.push((t.name.clone(), id.clone(), why.clone()));
            }
        }
    }
    out
}

/// Native's failures against the expected list (within the cases run): differences are warnings.
fn check_expected(expected: &ExpectedFailures, native: &BTreeMap<String, String>, result: &TargetResult, progress: &Progress) {
    let unexpected: Vec<&String> = native.keys().filter(|id| !expected.cases.contains_key(*id)).collect();
    if !unexpected.is_empty() {
        progress.warn(format!("native XS fails {} case(s) not in {EXPECTED_FILE} (first: {}); `cargo xtask test262 --update-expected` rewrites it", unexpected.len(), unexpected[0]));
    }
    if result.sample == 1 {
        let fixed = expected.cases.keys().filter(|id| !native.contains_key(*id)).count();
        if fixed > 0 {
            progress.warn(format!("{fixed} case(s) in {EXPECTED_FILE} now pass on native XS (or were not run)"));
        }
    }
}

fn print_table(targets: &[Target], results: &Results, native: &BTreeMap<String, String>) {
    println!("\n{:<20} {:>7} {:>7} {:>7} {:>7} {:>8} {:>12}", "target", "sample", "run", "passed", "failed", "skipped", "regressions");
    for t in targets {
        let r = &results.targets[&t.name];
        let reg = if t.toolchain.is_none() { "-".to_owned() } else { r.failures.iter().filter(|id| !native.contains_key(*id)).count().to_string() };
        println!("{:<20} {:>7} {:>7} {:>7} {:>7} {:>8} {:>12}", t.name, format!("1/{}", r.sample), r.run, r.passed, r.failed, r.skipped, reg);
    }
    println!();
}

/// `<target>/test262/<target>.failures.txt`: every failing case and its message.
fn write_failure_logs(out_dir: &Path, messages: &BTreeMap<String, BTreeMap<String, String>>) -> Result<()> {
    for (target, failures) in messages {
        let text: String = failures.iter().map(|(id, why)| format!("{id}\t{why}\n")).collect();
        crate::util::write_atomic(&out_dir.join(format!("{target}.failures.txt")), text.as_bytes())?;
    }
    Ok(())
}

const EXPECTED_HEADER: &str = "\
# The test262 cases native {xs} fails with our configuration (the
# native reference runner built by `cargo xtask test262`), grouped by reason.
# Case ids are `path:mode` (mode: sloppy or strict; module: a module test). A variant may fail only
# these; `cargo xtask test262 --update-expected` rewrites this list from a
# full run, keeping the reason of every case already listed.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, features: &[&str]) -> Case {
        Case { id: id.into(), scripts: vec![], is_async: false, negative: None, features: features.iter().map(|f| f.to_string()).collect(), module: None }
    }

    #[test]
    fn a_target_lacking_features_skips_their_tests_and_counts_the_files() {
        let selection = Selection {
            cases: vec![
                case("test/built-ins/RegExp/property-escapes/a.js:sloppy", &["regexp-unicode-property-escapes"]),
                case("test/built-ins/RegExp/property-escapes/a.js:strict", &["regexp-unicode-property-escapes"]),
                case("test/built-ins/String/prototype/matchAll/b.js:strict", &["regexp-v-flag", "regexp-unicode-property-escapes"]),
                case("test/built-ins/String/prototype/normalize/c.js:strict", &[]),
                case("test/built-ins/String/prototype/padEnd/d.js:strict", &[]),
            ],
            skipped: 4,
        };
        let full = Target { name: "wasi-oz".into(), toolchain: Some(ToolchainKind::Wasi), sample: 1, lacks: vec![] };
        let (cases, skipped) = cases_for(&full, &selection);
        assert_eq!((cases.len(), skipped), (5, 4));
        let lite = Target { lacks: vec![Feature::RegexpPropertyEscapes, Feature::StringNormalize], ..full.clone() };
        let (cases, skipped) = cases_for(&lite, &selection);
        assert_eq!(cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["test/built-ins/String/prototype/padEnd/d.js:strict"]);
        assert_eq!(skipped, 4 + 3, "three more files: a.js (both modes), b.js, c.js");
        let no_normalize = Target { lacks: vec![Feature::StringNormalize], ..full };
        assert_eq!(cases_for(&no_normalize, &selection).0.len(), 4);
    }
}
