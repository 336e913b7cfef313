//! `cargo xtask verify`: build the selected variants twice (side by side), in
//! two different absolute directories with different HOME, TMPDIR and caches,
//! and compare every output byte for byte; then compare the fresh build with
//! the committed `artifacts/manifest.json` wherever the recorded tool versions
//! are the ones found on this machine.
//!
//! Each build root gets a copy of what the build reads: `configs/`, `port/`,
//! the verified `vendor/moddable` tree, and the download caches; the
//! provisioned toolchains (`.cache/toolchains`) are hard-linked (copied across
//! file systems), so each build runs them from its own path. Nothing else is
//! shared: each root has its own zig cache (zig rebuilds wasi-libc into it),
//! object directory, artifacts and manifest. Debian's emscripten uses its
//! frozen, read-only system cache in both builds.
//!
//! Build B also runs with noise that must not reach the outputs: another
//! locale and time zone (overridden), compiler-flag variables (removed, see
//! `util::LEAKY_ENV`) and single-threaded binaryen (`BINARYEN_CORES=1`).
//!
//! `XS_WASM_VERIFY_PERTURB=prefix-map` builds B without the prefix-map flags
//! (and without the build's own absolute-path check): a demonstration that
//! verify catches a path leak.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build::{self, BuildOptions, VerifyOverrides};
use crate::config::Configs;
use crate::diff::{self, DiffKind};
use crate::fetch;
use crate::manifest::{Manifest, VariantRecord};
use crate::progress::Progress;
use crate::toolchain;
use crate::util::{display_relative, remove_dir_if_exists, sha256_file};
use crate::workspace::Workspace;

/// Options of `cargo xtask verify` (its flags; `perturb` comes from the environment).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyOptions {
    /// Only these variants (default: every variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = crate::cli::jobs, default_value_t = crate::cli::default_jobs(), hide_default_value = true)]
    pub jobs: usize,
    /// Keep the two build directories even when verify passes
    #[arg(long)]
    pub keep: bool,
    /// A deliberate difference in build B (`XS_WASM_VERIFY_PERTURB`, [`Perturbation::from_env`]).
    #[arg(skip)]
    pub perturb: Option<Perturbation>,
}

/// A deliberate source of drift in build B, to show that verify catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perturbation {
    /// No `-ffile-prefix-map`/`-fdebug-prefix-map`/`-fdebug-compilation-dir`.
    PrefixMap,
}

impl Perturbation {
    /// The environment variable that selects a perturbation.
    pub const VAR: &'static str = "XS_WASM_VERIFY_PERTURB";

    /// Read [`Perturbation::VAR`] ([`Perturbation::parse`]; unset is `None`).
    pub fn from_env() -> Result<Option<Perturbation>> {
        Self::parse(&std::env::var(Self::VAR).unwrap_or_default())
    }

    /// The perturbation a value of [`Perturbation::VAR`] names: empty is
    /// `None`, an unknown value an error.
    pub fn parse(value: &str) -> Result<Option<Perturbation>> {
        match value {
            "" => Ok(None),
            "prefix-map" => Ok(Some(Perturbation::PrefixMap)),
            other => bail!("{}={other:?} is not a known perturbation (known: prefix-map)", Self::VAR),
        }
    }
}

/// What each build root receives from the repository: (path, hard-link).
/// Missing sources are skipped (a build that needs them fetches them).
const COPIED: &[(&str, bool)] = &[
    ("configs", false),
    ("port", false),
    ("vendor/moddable", false),
    (".cache/downloads", false),
    (".cache/smoke", false),
    (".cache/toolchains", true),
];

/// One of the two builds.
struct Side {
    label: &'static str,
    /// e.g. /tmp/xs-wasm-verify-a (removed before and, on success, after).
    top: PathBuf,
    /// The repository copy the build runs in.
    root: PathBuf,
}

/// Build twice, compare, compare with the committed manifest; errors when
/// anything differs (the report names file, section and offset).
pub fn verify(ws: &Workspace, options: &VerifyOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let started = Instant::now();
    let configs = Configs::load(repo)?;
    let selected = configs.variants.select(options.variants.as_deref())?;
    let names: Vec<&str> = selected.iter().map(|v| v.name.as_str()).collect();
    let tmp = std::env::temp_dir();
    let sides = [
        Side { label: "A", top: tmp.join("xs-wasm-verify-a"), root: tmp.join("xs-wasm-verify-a/src") },
        Side { label: "B", top: tmp.join("xs-wasm-verify-b"), root: tmp.join("xs-wasm-verify-b/some/deeper/src") },
    ];
    if let Some(p) = options.perturb {
        progress.warn(format!("{}: build B is perturbed ({p:?}): verify is expected to fail", Perturbation::VAR));
    }
    provision(ws, &configs, &selected, progress)?;
    let times = build_both(repo, &sides, options, names.len(), progress)?;
    let (a, b) = (&sides[0].root, &sides[1].root);
    let (wa, wb) = (Workspace::of(a), Workspace::of(b));
    let comparison = diff::compare_trees(&wa.artifacts, &wb.artifacts)?;
    let failures = describe_differences(a, b, &comparison)?;
    let fresh = Manifest::load(&wa.manifest())?.context("build A wrote no manifest")?;
    let committed_path = ws.manifest();
    let committed = Manifest::load(&committed_path)?;
    let report = against_committed(&fresh, committed.as_ref(), &names);

    println!();
    println!("verify: build A {} ({}), build B {} ({}), run side by side", a.display(), minutes(times[0]), b.display(), minutes(times[1]));
    println!("verify: A against B: {} file(s) identical, {} differ", comparison.same.len(), comparison.diffs.len());
    for (path, sha) in &comparison.same {
        progress.detail(format!("same {sha}  artifacts/{path}"));
    }
    for f in &failures {
        println!("  DIFFERS {f}");
    }
    print_committed_report(ws, &wa, &committed_path, committed.is_some(), &report);
    let committed_failures = report.header.len() + report.variants.iter().map(|(_, c)| if let Committed::Differs(l) = c { l.len() } else { 0 }).sum::<usize>();
    let not_compared = report.variants.iter().filter(|(_, c)| matches!(c, Committed::NotRecorded | Committed::ToolsDiffer(_))).count();

    let total = started.elapsed();
    if !failures.is_empty() || committed_failures > 0 {
        bail!(
            "verify failed after {}: {} file(s) differ between the two builds, {} difference(s) from the committed manifest; both builds are kept in {} and {}",
            minutes(total),
            failures.len(),
            committed_failures,
            sides[0].top.display(),
            sides[1].top.display()
        );
    }
    if options.keep {
        println!("verify: builds kept in {} and {}", sides[0].top.display(), sides[1].top.display());
    } else {
        for side in &sides {
            remove_dir_if_exists(&side.top)?;
        }
    }
    let note = if not_compared > 0 { format!("; {not_compared} variant(s) not compared with the committed manifest (see above)") } else { String::new() };
    println!("verify: OK in {}: {} variant(s) reproducible, {} file(s) identical{note}", minutes(total), names.len(), comparison.same.len());
    Ok(())
}

/// Fetch the sources and provision the toolchains once, in the repository
/// (so the two builds never install anything at the same time); `populate`
/// then copies them into each root.
fn provision(ws: &Workspace, configs: &Configs, selected: &[&crate::config::Variant], progress: &Progress) -> Result<()> {
    fetch::fetch(ws, &configs.moddable.source(), progress)?;
    fetch::smoke_bundle(ws, &configs.variants.smoke, progress)?;
    toolchain::for_variants(&ws.repo, &configs.toolchains, selected, progress)?;
    Ok(())
}

/// Prepare both roots and run both builds at once: they share nothing, and
/// most of a build is single-threaded (smoke runs, wasm-opt), so two use both
/// cores. Returns how long each took.
fn build_both(repo: &Path, sides: &[Side; 2], options: &VerifyOptions, variants: usize, progress: &Progress) -> Result<Vec<Duration>> {
    for side in sides {
        remove_dir_if_exists(&side.top)?;
        populate(repo, &side.root).with_context(|| format!("preparing build {} in {}", side.label, side.root.display()))?;
        progress.step(format!("verify: build {} of {variants} variant(s) in {}", side.label, side.root.display()));
    }
    let results: Vec<Result<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sides.iter().map(|side| scope.spawn(|| build_side(side, options, &progress.labelled(&format!("{}: ", side.label))))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the build thread panicked")))).collect()
    });
    let mut times = Vec::new();
    for (side, result) in sides.iter().zip(results) {
        times.push(result.with_context(|| format!("verify: build {} in {} failed (kept for inspection)", side.label, side.root.display()))?);
    }
    Ok(times)
}

/// One line per file that differs between the builds in roots `a` and `b`,
/// naming the compiled objects that differ too.
fn describe_differences(a: &Path, b: &Path, comparison: &diff::Comparison) -> Result<Vec<String>> {
    let mut failures: Vec<String> = Vec::new();
    for d in &comparison.diffs {
        let mut line = format!("artifacts/{d}");
        if let (DiffKind::Content { .. }, Some((variant, _))) = (&d.kind, d.path.split_once('/')) {
            for hint in differing_objects(&a.join("target/xs-wasm-build").join(variant).join("obj"), &b.join("target/xs-wasm-build").join(variant).join("obj"))? {
                line.push_str(&format!("\n      object {hint}"));
            }
        }
        failures.push(line);
    }
    Ok(failures)
}

/// Print the comparison of build A (in `fresh_root`) with the committed manifest.
fn print_committed_report(ws: &Workspace, fresh: &Workspace, committed_path: &Path, committed_exists: bool, report: &CommittedReport) {
    println!("verify: against {}:", display_relative(committed_path, &ws.repo));
    for line in &report.header {
        println!("  DIFFERS {line}");
    }
    for (name, check) in &report.variants {
        match check {
            Committed::Matches { files } => println!("  {name}: same tools, {files} file(s) match the committed sha256"),
            Committed::NotRecorded => println!("  {name}: NOT COMPARED: the committed manifest has no entry for it"),
            Committed::ToolsDiffer(lines) => println!("  {name}: NOT COMPARED: the tool versions differ from the recorded ones ({})", lines.join("; ")),
            Committed::Differs(lines) => {
                for line in lines {
                    let mut line = format!("{name}/{line}");
                    if let Some(detail) = committed_file_detail(ws, fresh, name, line.as_str()) {
                        line.push_str(&format!(": {detail}"));
                    }
                    println!("  DIFFERS {line}");
                }
            }
        }
    }
    if !committed_exists {
        println!("  NOT COMPARED: {} does not exist", committed_path.display());
    }
}

/// Run one side's build with its own HOME and TMPDIR (and, for B, the noise
/// and the perturbation); returns how long it took.
fn build_side(side: &Side, options: &VerifyOptions, progress: &Progress) -> Result<Duration> {
    let home = side.root.join(".verify-home");
    let tmpdir = side.root.join(".verify-tmp");
    fs::create_dir_all(&home)?;
    fs::create_dir_all(&tmpdir)?;
    let mut env: Vec<(OsString, OsString)> = vec![("HOME".into(), home.into()), ("TMPDIR".into(), tmpdir.into())];
    let second = side.label == "B";
    if second {
        env.extend(noise());
    }
    let build_options = BuildOptions {
        variants: options.variants.clone(),
        jobs: options.jobs,
        // The root is new: nothing in it is up to date, and objects are
        // only reused between variants of this same build.
        force: false,
    };
    let overrides = VerifyOverrides {
        build_dir: Some(side.root.join("target/xs-wasm-build")),
        env,
        unmapped_paths: second && options.perturb == Some(Perturbation::PrefixMap),
        no_table: true,
    };
    let t = Instant::now();
    build::build_with(&Workspace::of(&side.root), &build_options, &overrides, progress)?;
    Ok(t.elapsed())
}

/// Variables set in build B only. None of them may change an output: LC_ALL
/// and TZ are overridden by the build, the flag variables are removed from
/// every tool call, BINARYEN_CORES only changes emcc's wasm-opt threading.
fn noise() -> Vec<(OsString, OsString)> {
    [
        ("LANG", "de_DE.UTF-8"),
        ("LC_ALL", "tr_TR.UTF-8"),
        ("TZ", "Pacific/Chatham"),
        ("CFLAGS", "-DXS_WASM_VERIFY_NOISE=1"),
        ("EMCC_CFLAGS", "-DXS_WASM_VERIFY_NOISE=1"),
        ("CPATH", "/nonexistent/include"),
        ("BINARYEN_CORES", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect()
}

/// Fill a build root with [`COPIED`].
fn populate(repo: &Path, root: &Path) -> Result<()> {
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    for (rel, link) in COPIED {
        let src = repo.join(rel);
        if src.exists() {
            copy_tree(&src, &root.join(rel), *link).with_context(|| format!("copying {} into {}", src.display(), root.display()))?;
        }
    }
    Ok(())
}

/// Copy a directory tree; with `link`, hard-link files where possible.
/// Symbolic links are recreated as they are.
pub fn copy_tree(src: &Path, dst: &Path, link: bool) -> Result<()> {
    fs::create_dir_all(dst).with_context(|| format!("cannot create {}", dst.display()))?;
    for entry in fs::read_dir(src).with_context(|| format!("cannot list {}", src.display()))? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&from, &to, link)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&from)?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &to).with_context(|| format!("cannot link {}", to.display()))?;
            #[cfg(not(unix))]
            fs::copy(&from, &to).with_context(|| format!("cannot copy {} ({})", from.display(), target.display()))?;
        } else if !(link && fs::hard_link(&from, &to).is_ok()) {
            fs::copy(&from, &to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

/// Objects that differ between two object directories (at most 5), described.
fn differing_objects(a: &Path, b: &Path) -> Result<Vec<String>> {
    if !a.is_dir() || !b.is_dir() {
        return Ok(vec![]);
    }
    let c = diff::compare_trees(a, b)?;
    let mut out: Vec<String> = c.diffs.iter().take(5).map(|d| d.to_string()).collect();
    if c.diffs.len() > 5 {
        out.push(format!("... and {} more differing object(s)", c.diffs.len() - 5));
    }
    Ok(out)
}

/// How one variant of the fresh build compares with the committed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Same tools, same record; `files` files compared.
    Matches {
        /// Number of files whose sha256 matched.
        files: usize,
    },
    /// The committed manifest has no entry for the variant.
    NotRecorded,
    /// The tools found are not the recorded ones: one line per tool.
    ToolsDiffer(Vec<String>),
    /// Same tools, different outputs or record: one line per difference,
    /// starting with the file name for file differences.
    Differs(Vec<String>),
}

/// The comparison with the committed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedReport {
    /// Differences in the engine / smoke-bundle records.
    pub header: Vec<String>,
    /// Per selected variant, in the given order.
    pub variants: Vec<(String, Committed)>,
}

/// Compare the fresh manifest with the committed one for `names`.
pub fn against_committed(fresh: &Manifest, committed: Option<&Manifest>, names: &[&str]) -> CommittedReport {
    let mut report = CommittedReport { header: vec![], variants: vec![] };
    let Some(committed) = committed else {
        report.variants = names.iter().map(|n| (n.to_string(), Committed::NotRecorded)).collect();
        return report;
    };
    if fresh.engine != committed.engine {
        report.header.push(format!("engine: committed {}, fresh {}", json(&committed.engine), json(&fresh.engine)));
    }
    if fresh.smoke_bundle != committed.smoke_bundle {
        report.header.push(format!("smoke_bundle: committed {}, fresh {}", json(&committed.smoke_bundle), json(&fresh.smoke_bundle)));
    }
    for name in names {
        let check = match (fresh.variants.get(*name), committed.variants.get(*name)) {
            (_, None) => Committed::NotRecorded,
            (None, Some(_)) => Committed::Differs(vec!["(the fresh build has no entry for it)".to_owned()]),
            (Some(f), Some(c)) => compare_records(f, c),
        };
        report.variants.push((name.to_string(), check));
    }
    report
}

fn compare_records(fresh: &VariantRecord, committed: &VariantRecord) -> Committed {
    if fresh.tools != committed.tools {
        let keys: std::collections::BTreeSet<&String> = fresh.tools.keys().chain(committed.tools.keys()).collect();
        let lines = keys
            .into_iter()
            .filter(|k| fresh.tools.get(*k) != committed.tools.get(*k))
            .map(|k| {
                let show = |v: Option<&String>| v.map(|s| format!("{s:?}")).unwrap_or_else(|| "none".to_owned());
                format!("{k}: recorded {}, found {}", show(committed.tools.get(k)), show(fresh.tools.get(k)))
            })
            .collect();
        return Committed::ToolsDiffer(lines);
    }
    let mut lines = Vec::new();
    let files: std::collections::BTreeSet<&String> = fresh.files.keys().chain(committed.files.keys()).collect();
    for file in files {
        match (fresh.files.get(file), committed.files.get(file)) {
            (Some(f), Some(c)) if f.sha256 != c.sha256 => lines.push(format!("{file}: sha256 committed {}, fresh {}", c.sha256, f.sha256)),
            (Some(f), Some(c)) if f != c => lines.push(format!("{file}: same sha256, other measurements differ: committed {}, fresh {}", json(c), json(f))),
            (Some(_), None) => lines.push(format!("{file}: not in the committed manifest")),
            (None, Some(_)) => lines.push(format!("{file}: in the committed manifest, not built")),
            _ => {}
        }
    }
    let fields = |r: &VariantRecord| {
        let mut v = serde_json::to_value(r).expect("records serialize");
        v.as_object_mut().expect("an object").remove("files");
        v
    };
    let (fv, cv) = (fields(fresh), fields(committed));
    for (key, value) in fv.as_object().expect("an object") {
        if cv.get(key) != Some(value) {
            lines.push(format!("(record field {key:?}): committed {}, fresh {value}", cv.get(key).map(|v| v.to_string()).unwrap_or_else(|| "none".to_owned())));
        }
    }
    if lines.is_empty() {
        Committed::Matches { files: fresh.files.len() }
    } else {
        Committed::Differs(lines)
    }
}

/// For a "<variant>/<file>: sha256 committed X, fresh Y" line: when the
/// repository's artifacts/<variant>/<file> is the committed file, where the
/// fresh one differs from it.
fn committed_file_detail(ws: &Workspace, fresh: &Workspace, variant: &str, line: &str) -> Option<String> {
    let rest = line.strip_prefix(&format!("{variant}/"))?;
    let (file, sums) = rest.split_once(": sha256 committed ")?;
    let committed_sha = sums.split(',').next()?.trim();
    let local = ws.artifacts.join(variant).join(file);
    if sha256_file(&local).ok()? != committed_sha {
        return None;
    }
    let committed_bytes = fs::read(&local).ok()?;
    let fresh_bytes = fs::read(fresh.artifacts.join(variant).join(file)).ok()?;
    Some(format!("against the committed file (artifacts/{variant}/{file}): {}", diff::describe(file, &committed_bytes, &fresh_bytes).replace("A has", "committed has").replace("B has", "fresh has")))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{EngineRecord, FileRecord, FlagsRecord, SmokeBundleRecord, SnapshotRecord};
    use std::collections::BTreeMap;

    fn record(tools: &[(&str, &str)], sha: &str) -> VariantRecord {
        let mut files = BTreeMap::new();
        files.insert("xs-wasm.wasm".to_owned(), FileRecord { bytes: 10, gzip: 8, brotli: 7, sha256: sha.to_owned(), before_wasm_opt: None });
        VariantRecord {
            toolchain: "wasi".into(),
            tools: tools.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            flags: FlagsRecord { cflags: vec!["-Os".into()], cflags_xs: vec![], cflags_port: vec![], asmflags: vec![], ldflags: vec![], libs: vec![], wasm_opt: vec![] },
            release: true,
            form: None,
            files,
            snapshot: SnapshotRecord { empty_bytes: 1, bundle_bytes: 2 },
            abi_version: 1,
            lacks: vec![],
        }
    }

    fn manifest(variants: &[(&str, VariantRecord)]) -> Manifest {
        Manifest {
            schema: crate::manifest::SCHEMA,
            engine: EngineRecord { name: "XS".into(), upstream: "u".into(), commit: "c".into(), xs_version: "1".into(), license: "l".into(), tree_sha256: "t".into(), patched_tree_sha256: None },
            smoke_bundle: SmokeBundleRecord { npm_package: "acorn".into(), version: "1".into(), sha256: "s".into() },
            variants: variants.iter().map(|(n, r)| (n.to_string(), r.clone())).collect(),
        }
    }

    const ZIG: &[(&str, &str)] = &[("zig", "0.17.1"), ("binaryen", "132")];

    #[test]
    fn same_tools_and_hashes_match() {
        let m = manifest(&[("wasi-os", record(ZIG, "aa"))]);
        let r = against_committed(&m, Some(&m), &["wasi-os"]);
        assert!(r.header.is_empty());
        assert_eq!(r.variants, [("wasi-os".to_owned(), Committed::Matches { files: 1 })]);
    }

    #[test]
    fn other_tool_versions_are_reported_not_compared() {
        let fresh = manifest(&[("wasi-os", record(&[("zig", "0.15.1"), ("binaryen", "132")], "bb"))]);
        let committed = manifest(&[("wasi-os", record(ZIG, "aa"))]);
        let r = against_committed(&fresh, Some(&committed), &["wasi-os"]);
        assert_eq!(r.variants[0].1, Committed::ToolsDiffer(vec!["zig: recorded \"0.17.1\", found \"0.15.1\"".to_owned()]));
        let missing_tool = manifest(&[("wasi-os", record(&[("zig", "0.17.1")], "aa"))]);
        let r = against_committed(&missing_tool, Some(&committed), &["wasi-os"]);
        assert_eq!(r.variants[0].1, Committed::ToolsDiffer(vec!["binaryen: recorded \"132\", found none".to_owned()]));
    }

    #[test]
    fn a_different_hash_with_the_same_tools_is_a_difference_naming_the_file() {
        let fresh = manifest(&[("wasi-os", record(ZIG, "bb"))]);
        let committed = manifest(&[("wasi-os", record(ZIG, "aa")), ("wasi-oz", record(ZIG, "cc"))]);
        let r = against_committed(&fresh, Some(&committed), &["wasi-os"]);
        assert_eq!(r.variants, [("wasi-os".to_owned(), Committed::Differs(vec!["xs-wasm.wasm: sha256 committed aa, fresh bb".to_owned()]))]);

        let mut other_snapshot = record(ZIG, "aa");
        other_snapshot.snapshot.bundle_bytes = 3;
        let r = against_committed(&manifest(&[("wasi-os", other_snapshot)]), Some(&committed), &["wasi-os"]);
        match &r.variants[0].1 {
            Committed::Differs(lines) => assert!(lines[0].starts_with("(record field \"snapshot\")"), "{lines:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_entries_and_other_engines_are_reported() {
        let fresh = manifest(&[("wasi-os", record(ZIG, "aa"))]);
        let mut committed = manifest(&[]);
        committed.engine.commit = "d".into();
        let r = against_committed(&fresh, Some(&committed), &["wasi-os"]);
        assert_eq!(r.variants[0].1, Committed::NotRecorded);
        assert!(r.header[0].starts_with("engine: committed"), "{:?}", r.header);
        let r = against_committed(&fresh, None, &["wasi-os"]);
        assert_eq!(r.variants[0].1, Committed::NotRecorded);
    }

    #[test]
    fn the_perturbation_knob_is_parsed_strictly() {
        assert_eq!(Perturbation::parse("prefix-map").unwrap(), Some(Perturbation::PrefixMap));
        let err = Perturbation::parse("everything").unwrap_err().to_string();
        assert!(err.contains("everything") && err.contains(Perturbation::VAR), "{err}");
        assert!(Perturbation::parse("Prefix-Map").is_err());
        assert_eq!(Perturbation::parse("").unwrap(), None);
    }

    #[test]
    fn copy_tree_copies_and_links() {
        let root = std::env::temp_dir().join(format!("xtask-test-{}-copy", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("src/sub")).unwrap();
        fs::write(root.join("src/sub/f.txt"), "x").unwrap();
        copy_tree(&root.join("src"), &root.join("copy"), false).unwrap();
        copy_tree(&root.join("src"), &root.join("link"), true).unwrap();
        assert_eq!(fs::read_to_string(root.join("copy/sub/f.txt")).unwrap(), "x");
        assert_eq!(fs::read_to_string(root.join("link/sub/f.txt")).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = |rel: &str| fs::metadata(root.join(rel)).unwrap();
            let (src, copy, link) = (meta("src/sub/f.txt"), meta("copy/sub/f.txt"), meta("link/sub/f.txt"));
            assert_eq!((link.dev(), link.ino()), (src.dev(), src.ino()), "with `link`, the file is a hard link to the source");
            assert_eq!(src.nlink(), 2, "the source and its one hard link");
            assert_ne!(copy.ino(), src.ino(), "without `link`, the file is a copy");
            assert_eq!(copy.nlink(), 1);
        }
        fs::remove_dir_all(&root).unwrap();
    }
}
