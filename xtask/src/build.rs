//! `cargo xtask build`: compile, link, optimize, smoke-run and measure each
//! variant, then record it in the manifest.
//!
//! C is compiled by driving the compilers directly (xshell, a small thread
//! pool) rather than through the `cc` crate: `cc::Build` is made for build
//! scripts (it reads TARGET/HOST/OPT_LEVEL/CFLAGS from the environment, adds
//! its own target and `-ffunction-sections`/`-fPIC`-style flags, and names
//! objects by hash), while the manifest must record the exact flags and the
//! objects must be stable, sorted, and linked by emcc / `zig cc` ourselves.
//!
//! Each variant's inputs (sources, port files, flags, tool versions, variant
//! configuration) are hashed into `artifacts/<variant>/.inputs-sha256`; when
//! that hash matches and the files match their manifest entry, the variant is
//! up to date. Objects live in `<target>/xs-wasm-build/<checkout>/<variant>/obj` (see
//! [`Workspace::build_dir`]; a build holds a lock there), reused
//! (also across variants with identical compile flags) while their key matches.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use serde_json::json;
use xs_wasm::WASI_MODULE_FILE;
use xshell::{cmd, Shell};

use crate::config::{Configs, Form, ToolchainKind, Variant};
use crate::fetch::{self, Fetched};
use crate::manifest::{FileRecord, Manifest, SnapshotRecord, VariantRecord};
use crate::measure;
use crate::optimize;
use crate::plan::{self, compile_key, concrete, link_args, object_paths, plan, Plan, SourceClass, COMPILE_KEY_FILE};
use crate::progress::{Progress, Verbosity};
use crate::smoke::{self, SmokeInput};
use crate::toolchain::{self, Binaryen, CCompiler, Toolchains};
use crate::workspace::Workspace;
use crate::util::{display_relative, remove_dir_if_exists, reproducible_env, run_captured, sanitized, sha256_file, sha256_hex, tail_of_output, write_atomic};

/// The pre-initialized WASI module's file name (release variants).
const PREINIT_FILE: &str = xs_wasm::WASI_PREINIT_FILE;

/// Write `<out_dir>/xs-wasm.preinit.wasm`: the variant's module (whose
/// manifest record is `wasm`) with a default machine created in its memory,
/// made by the crate's `preinit::preinitialize` (wasmtime-wizer). Checked
/// before it is installed: a machine from it snapshots to the same bytes as
/// a fresh machine of the plain module, and evaluates. Returns its record.
fn preinitialize(name: &str, out_dir: &Path, wasm: &FileRecord) -> Result<FileRecord> {
    use xs_wasm::{ArtifactInfo, Machine, ModuleCache, Options, Runtime, RuntimeOptions};
    let base = fs::read(out_dir.join(WASI_MODULE_FILE))?;
    let info = ArtifactInfo::new(name, &wasm.sha256);
    let bytes = xs_wasm::preinit::preinitialize(&base, &info, xs_wasm::Creation::default(), &[])?;
    let uncached = RuntimeOptions { module_cache: ModuleCache::Off, pooling: None, ..RuntimeOptions::default() };
    let plain = Runtime::from_bytes(&base, &info)?;
    let preinit = Runtime::from_bytes_with(&bytes, &ArtifactInfo::new(name, sha256_hex(&bytes)), &uncached)?;
    let fresh = Machine::new(&plain, Options::default())?.snapshot()?;
    let mut machine = Machine::new(&preinit, Options::default())?;
    if machine.snapshot()? != fresh {
        bail!("a machine of the pre-initialized module does not snapshot to the bytes of a fresh machine");
    }
    let two = machine.eval("1 + 1")?;
    if two != json!(2) {
        bail!("a machine of the pre-initialized module evaluated 1 + 1 to {two}");
    }
    write_atomic(&out_dir.join(PREINIT_FILE), &bytes)?;
    let sizes = measure::sizes(&bytes)?;
    Ok(FileRecord { bytes: sizes.bytes, gzip: sizes.gzip, brotli: sizes.brotli, sha256: sha256_hex(&bytes), before_wasm_opt: None })
}

/// Options of `cargo xtask build` (its flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BuildOptions {
    /// Only these variants (default: every variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = crate::cli::jobs, default_value_t = crate::cli::default_jobs(), hide_default_value = true)]
    pub jobs: usize,
    /// Rebuild even when up to date
    #[arg(long)]
    pub force: bool,
}

/// What `verify` changes in each of its two builds; `cargo xtask build` uses
/// the default. Passed to [`build_with`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOverrides {
    /// Where objects and link outputs go (default: `<cargo target dir>/xs-wasm-build`).
    pub build_dir: Option<PathBuf>,
    /// Extra environment for every tool, set before the reproducible settings
    /// (which win); [`crate::util::LEAKY_ENV`] variables are removed from every
    /// tool call, set here or inherited. `verify` uses it for a separate HOME
    /// and TMPDIR, and for noise.
    pub env: Vec<(OsString, OsString)>,
    /// Leave out the prefix-map flags and the absolute-path check. Only for
    /// showing that `verify` catches a path leak (`XS_WASM_VERIFY_PERTURB=prefix-map`).
    pub unmapped_paths: bool,
    /// Do not print the size table at the end (`verify` runs two builds at once).
    pub no_table: bool,
}

impl VerifyOverrides {
    /// The environment every tool gets: [`VerifyOverrides::env`], then [`reproducible_env`].
    fn tool_env(&self) -> Vec<(OsString, OsString)> {
        self.env.iter().cloned().chain(reproducible_env()).collect()
    }
}

/// Everything the variants share during one build.
struct Ctx<'a> {
    repo: PathBuf,
    configs: &'a Configs,
    fetched: Fetched,
    smoke_files: fetch::SmokeFiles,
    tools: Toolchains,
    build_dir: PathBuf,
    artifacts: PathBuf,
    port_hash: String,
    abi_version: u32,
    options: &'a BuildOptions,
    overrides: &'a VerifyOverrides,
    progress: &'a Progress,
}

/// Run the whole pipeline for the selected variants; prints the size table.
pub fn build(ws: &Workspace, options: &BuildOptions, progress: &Progress) -> Result<()> {
    build_with(ws, options, &VerifyOverrides::default(), progress)
}

/// [`build`] with `verify`'s overrides.
pub fn build_with(ws: &Workspace, options: &BuildOptions, overrides: &VerifyOverrides, progress: &Progress) -> Result<()> {
    let _addresses = FixedAddresses::new(progress);
    let repo = &ws.repo;
    let build_dir = overrides.build_dir.clone().unwrap_or_else(|| ws.build_dir());
    let _lock = lock_build_dir(&build_dir, progress)?;
    let configs = Configs::load(repo)?;
    let selected = configs.variants.select(options.variants.as_deref())?;
    let fetched = fetch::fetch(ws, &configs.moddable.source(), progress)?;
    let smoke_files = fetch::smoke_bundle(ws, &configs.variants.smoke, progress)?;
    // before the port's hash is taken: the header is one of the port's files
    crate::preludes::ensure(ws, &configs, &fetched.tree_sha256, progress)?;

    let tools = toolchain::for_variants(repo, &configs.toolchains, &selected, progress)?;
    progress.step(format!("toolchains: {}", tools.labels()));

    let ctx = Ctx {
        repo: repo.to_owned(),
        configs: &configs,
        fetched,
        smoke_files,
        tools,
        build_dir,
        artifacts: ws.artifacts.clone(),
        port_hash: ws.port_hash()?,
        abi_version: abi_header(repo, &configs)?.abi_version,
        options,
        overrides,
        progress,
    };

    let manifest = build_lanes(&ctx, &selected)?;
    let names: Vec<&str> = selected.iter().map(|v| v.name.as_str()).collect();
    progress.step(format!("wrote artifacts/manifest.json and artifacts/SHA256SUMS ({} variants)", manifest.variants.len()));
    if !overrides.no_table {
        print!("{}", manifest.size_table(&names));
    }
    Ok(())
}

/// Two lanes side by side, one per toolchain (one lane with `jobs` 1): they
/// share no tool, object or output, and most of a variant's time is
/// single-threaded (emcc's link, the smoke run, pre-initialization).
///
/// (Every tool the build starts runs with address-space randomization off:
/// see [`FixedAddresses`].) Within
/// a lane variants keep their config order, so one reuses the objects of an
/// earlier one with the same compile flags (emcc-os, then its single-file forms).
fn lanes<'a>(selected: &[&'a Variant], jobs: usize) -> Vec<Vec<&'a Variant>> {
    if jobs <= 1 {
        return vec![selected.to_vec()];
    }
    let lane = |k: ToolchainKind| selected.iter().copied().filter(|v| v.toolchain == k).collect::<Vec<_>>();
    [lane(ToolchainKind::Emscripten), lane(ToolchainKind::Wasi)].into_iter().filter(|l| !l.is_empty()).collect()
}

/// Build `selected` in their [`lanes`], writing the manifest after each
/// variant; the first failure stops every lane before its next variant.
/// Returns the manifest.
fn build_lanes(ctx: &Ctx, selected: &[&Variant]) -> Result<Manifest> {
    let manifest_path = ctx.artifacts.join("manifest.json");
    let manifest = Manifest::load(&manifest_path)?.unwrap_or_else(|| Manifest::new(ctx.configs, &ctx.fetched.tree_sha256));
    let manifest = Mutex::new(manifest);
    let failed = AtomicBool::new(false);
    let run_lane = |lane: &[&Variant]| -> Result<()> {
        for variant in lane {
            if failed.load(Ordering::SeqCst) {
                break;
            }
            let previous = manifest.lock().expect("manifest lock").variants.get(&variant.name).cloned();
            let record = build_variant(ctx, variant, previous.as_ref()).with_context(|| format!("building variant {}", variant.name));
            let record = record.inspect_err(|_| failed.store(true, Ordering::SeqCst))?;
            let mut manifest = manifest.lock().expect("manifest lock");
            manifest.set_header(ctx.configs, &ctx.fetched.tree_sha256);
            manifest.merge(&variant.name, record);
            manifest.write(&ctx.artifacts)?;
        }
        Ok(())
    };
    let lanes = lanes(selected, ctx.options.jobs);
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes.iter().map(|lane| scope.spawn(|| run_lane(lane))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a build lane panicked")))).collect()
    });
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(manifest.into_inner().expect("manifest lock"))
}

/// Hold an exclusive lock on `<build_dir>/.lock` (std's advisory file lock)
/// while the build runs, so two builds of one checkout (say `cargo xtask
/// test` and a `cargo xtask build` in another terminal) take turns instead
/// of writing the same objects, link outputs and artifacts at once.
fn lock_build_dir(build_dir: &Path, progress: &Progress) -> Result<fs::File> {
    fs::create_dir_all(build_dir).with_context(|| format!("cannot create {}", build_dir.display()))?;
    let path = build_dir.join(".lock");
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            progress.step(format!("waiting for another build of this checkout to finish (it holds {})", path.display()));
            file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
    Ok(file)
}

/// One variant through the pipeline: up-to-date check, compile, link,
/// optimize, check, install (and measure), smoke run, pre-initialize, stamp.
/// Returns its manifest record.
fn build_variant(ctx: &Ctx, variant: &Variant, previous: Option<&VariantRecord>) -> Result<VariantRecord> {
    let name = &variant.name;
    let cc = ctx.tools.compiler(variant);
    let plan = plan(ctx.configs, variant, cc, !ctx.overrides.unmapped_paths);
    let tools = tool_versions(ctx, variant, cc);

    let out_dir = ctx.artifacts.join(name);
    let stamp = out_dir.join(".inputs-sha256");
    let inputs = inputs_hash(ctx, variant, &plan, &tools);
    let same_inputs = fs::read_to_string(&stamp).ok().map(|s| s.trim().to_owned()).as_deref() == Some(inputs.as_str());
    if let Some(prev) = up_to_date(ctx, name, &out_dir, same_inputs, previous)? {
        return Ok(prev);
    }
    remove_file_if_exists(&stamp)?;

    let work = ctx.build_dir.join(name);
    let objects = compile(ctx, name, cc, &plan, &work.join("obj"))?;
    link(ctx, name, cc, &plan, &work, &objects)?;
    let before = optimize_outputs(ctx, variant, &plan, &work)?;
    check_outputs(ctx, name, &plan, &work.join("out"))?;
    let mut files = install(&plan, &work.join("out"), &out_dir, &before)?;
    if same_inputs {
        warn_if_not_reproducible(ctx, name, &files, previous);
    }
    let report = smoke_run(ctx, variant, &plan, &out_dir)?;
    if variant.toolchain == ToolchainKind::Wasi && variant.release {
        pre_initialize_step(ctx, name, &out_dir, &mut files)?;
    }
    write_atomic(&stamp, format!("{inputs}\n").as_bytes())?;
    Ok(VariantRecord {
        toolchain: variant.toolchain.to_string(),
        tools,
        flags: plan.flags,
        release: variant.release,
        form: variant.form.map(|f| f.as_str().to_owned()),
        files,
        snapshot: SnapshotRecord { empty_bytes: report.empty_snapshot_bytes, bundle_bytes: report.bundle_snapshot_bytes },
        abi_version: ctx.abi_version,
        lacks: variant.lacks.iter().map(|f| f.as_str().to_owned()).collect(),
    })
}

/// The tool versions recorded for a variant: the compiler's, node's (release
/// and emscripten variants), binaryen's (release variants).
fn tool_versions(ctx: &Ctx, variant: &Variant, cc: &CCompiler) -> BTreeMap<String, String> {
    let mut tools = cc.tools.clone();
    if variant.release || variant.toolchain == ToolchainKind::Emscripten {
        tools.insert("node".into(), ctx.tools.node.version.clone());
    }
    if let Some(b) = ctx.tools.binaryen_for(variant) {
        tools.insert("binaryen".into(), b.version.clone());
    }
    tools
}

/// The hash of everything a variant's outputs depend on (its `.inputs-sha256` stamp).
fn inputs_hash(ctx: &Ctx, variant: &Variant, plan: &Plan, tools: &BTreeMap<String, String>) -> String {
    sha256_hex(
        json!({
            "build_logic": plan::BUILD_LOGIC_VERSION,
            "variant": variant,
            "common": &ctx.configs.variants.common,
            "flags": &plan.flags,
            "tools": tools,
            "tree_sha256": &ctx.fetched.tree_sha256,
            "port": &ctx.port_hash,
            "smoke": &ctx.configs.variants.smoke,
            "env": reproducible_env().iter().map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())).collect::<Vec<_>>(),
        })
        .to_string()
        .as_bytes(),
    )
}

/// The previous record, when the inputs are the same, the build is not
/// forced and the installed files match it.
fn up_to_date(ctx: &Ctx, name: &str, out_dir: &Path, same_inputs: bool, previous: Option<&VariantRecord>) -> Result<Option<VariantRecord>> {
    if same_inputs && !ctx.options.force {
        if let Some(prev) = previous {
            if files_match(out_dir, prev)? {
                ctx.progress.step(format!("{name}: up to date"));
                return Ok(Some(prev.clone()));
            }
        }
    }
    Ok(None)
}

/// Link the objects into `<work>/link`; fails unless every link output is there.
fn link(ctx: &Ctx, name: &str, cc: &CCompiler, plan: &Plan, work: &Path, objects: &[PathBuf]) -> Result<()> {
    let link_dir = work.join("link");
    remove_dir_if_exists(&link_dir)?;
    fs::create_dir_all(&link_dir)?;
    ctx.progress.step(format!("{name}: link {} objects ({})", objects.len(), cc.label));
    let env = ctx.overrides.tool_env();
    let sh = cc.shell(&ctx.repo, &env)?;
    let program = &cc.program;
    let args = link_args(cc, plan, &ctx.repo, &[], &link_dir.join(&plan.link_main), objects);
    let link = sanitized(cmd!(sh, "{program} {args...}"));
    ctx.progress.detail(link.to_string());
    run_captured(link, &format!("{name}: linking"))?;
    for f in &plan.link_outputs {
        if !link_dir.join(f).is_file() {
            bail!("{name}: the link did not write {f}");
        }
    }
    Ok(())
}

/// Copy the link outputs from `<work>/link` into the staging directory
/// `<work>/out`, through wasm-opt for release variants (also the module
/// inlined in a single-file JS). Returns the sizes before wasm-opt of the optimized files.
fn optimize_outputs(ctx: &Ctx, variant: &Variant, plan: &Plan, work: &Path) -> Result<BTreeMap<String, measure::Sizes>> {
    let (link_dir, staged) = (work.join("link"), work.join("out"));
    remove_dir_if_exists(&staged)?;
    fs::create_dir_all(&staged)?;
    let mut before = BTreeMap::new();
    let Some(b) = ctx.tools.binaryen_for(variant) else {
        for f in &plan.link_outputs {
            fs::copy(link_dir.join(f), staged.join(f))?;
        }
        return Ok(before);
    };
    let name = &variant.name;
    ctx.progress.step(format!("{name}: wasm-opt {} ({})", plan.flags.wasm_opt.join(" "), b.version));
    let env = ctx.overrides.tool_env();
    let single = variant.form.is_some_and(Form::is_single_file);
    for f in &plan.link_outputs {
        let input = link_dir.join(f);
        if f.ends_with(".wasm") {
            optimize::wasm_opt(b, &input, &staged.join(f), &plan.flags.wasm_opt, &env)?;
            before.insert(f.clone(), measure::sizes(&fs::read(&input)?)?);
        } else if single {
            let js = fs::read_to_string(&input).with_context(|| format!("cannot read {}", input.display()))?;
            fs::write(staged.join(f), optimize_inline_wasm(b, name, f, &js, work, &plan.flags.wasm_opt, &env)?)?;
            before.insert(f.clone(), measure::sizes(js.as_bytes())?);
        } else {
            fs::copy(&input, staged.join(f))?;
        }
    }
    Ok(before)
}

/// A single-file JS (`file`) with its inlined module run through wasm-opt
/// (via `<work>/inline.wasm` and `<work>/inline.opt.wasm`), then stored as
/// gzip with glue that inflates it ([`optimize::compress_inline_wasm`]).
fn optimize_inline_wasm(b: &Binaryen, name: &str, file: &str, js: &str, work: &Path, flags: &[String], env: &[(OsString, OsString)]) -> Result<String> {
    let inline = optimize::find_inline_wasm(js).with_context(|| format!("{name}: {file}"))?;
    let raw = work.join("inline.wasm");
    let opt = work.join("inline.opt.wasm");
    fs::write(&raw, &inline.wasm)?;
    optimize::wasm_opt(b, &raw, &opt, flags, env)?;
    let js = optimize::replace_inline_wasm(js, &inline, &fs::read(&opt)?);
    optimize::compress_inline_wasm(&js).with_context(|| format!("{name}: {file}"))
}

/// No staged output may contain an absolute path (skipped only for verify's perturbation knob).
fn check_outputs(ctx: &Ctx, name: &str, plan: &Plan, staged: &Path) -> Result<()> {
    if !ctx.overrides.unmapped_paths {
        for f in &plan.link_outputs {
            check_no_absolute_paths(&staged.join(f), &ctx.repo, &ctx.build_dir).with_context(|| format!("{name}: {f}"))?;
        }
    }
    Ok(())
}

/// Install the staged outputs into `artifacts/<variant>/` (removing any other
/// file there) and measure them. Returns their records.
fn install(plan: &Plan, staged: &Path, out_dir: &Path, before: &BTreeMap<String, measure::Sizes>) -> Result<BTreeMap<String, FileRecord>> {
    fs::create_dir_all(out_dir)?;
    for entry in fs::read_dir(out_dir)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && !plan.link_outputs.contains(&file) {
            fs::remove_file(entry.path())?;
        }
    }
    let mut files = BTreeMap::new();
    for f in &plan.link_outputs {
        let bytes = fs::read(staged.join(f))?;
        write_atomic(&out_dir.join(f), &bytes)?;
        let sizes = measure::sizes(&bytes)?;
        files.insert(f.clone(), FileRecord { bytes: sizes.bytes, gzip: sizes.gzip, brotli: sizes.brotli, sha256: sha256_hex(&bytes), before_wasm_opt: before.get(f).copied() });
    }
    Ok(files)
}

/// Warn when a rebuild with the same inputs gave different files.
fn warn_if_not_reproducible(ctx: &Ctx, name: &str, files: &BTreeMap<String, FileRecord>, previous: Option<&VariantRecord>) {
    if let Some(prev) = previous {
        let changed: Vec<&String> = files.iter().filter(|(f, r)| prev.files.get(*f).map(|p| &p.sha256) != Some(&r.sha256)).map(|(f, _)| f).collect();
        if !changed.is_empty() {
            ctx.progress.warn(format!("{name}: not reproducible: {changed:?} differ from the previous build with the same inputs"));
        }
    }
}

/// Run the smoke checks on the installed artifact.
fn smoke_run(ctx: &Ctx, variant: &Variant, plan: &Plan, out_dir: &Path) -> Result<smoke::SmokeReport> {
    let name = &variant.name;
    ctx.progress.step(format!("{name}: smoke run"));
    let input = SmokeInput::for_variant(variant, out_dir, &ctx.smoke_files, &ctx.tools.node.path);
    debug_assert_eq!(input.main_file, out_dir.join(&plan.link_main));
    let report = smoke::run(&input).with_context(|| {
        format!("{name}: the smoke run failed; the artifact is in {} but the manifest was not updated", display_relative(out_dir, &ctx.repo))
    })?;
    for check in &report.checks {
        ctx.progress.detail(format!("{name}: ok: {check}"));
    }
    Ok(report)
}

/// Write and record the pre-initialized module (WASI release variants).
fn pre_initialize_step(ctx: &Ctx, name: &str, out_dir: &Path, files: &mut BTreeMap<String, FileRecord>) -> Result<()> {
    ctx.progress.step(format!("{name}: pre-initialize ({PREINIT_FILE}: a machine created at build time, wasmtime-wizer)"));
    let record = preinitialize(name, out_dir, &files[WASI_MODULE_FILE]).with_context(|| format!("{name}: pre-initialization"))?;
    files.insert(PREINIT_FILE.to_owned(), record);
    Ok(())
}

/// Compile every source of the plan into `obj_dir` (in parallel), unless the
/// objects there, or in another variant's directory, have the same compile key.
/// Returns the object paths, sorted.
fn compile(ctx: &Ctx, name: &str, cc: &CCompiler, plan: &Plan, obj_dir: &Path) -> Result<Vec<PathBuf>> {
    let key = compile_key(cc, plan, &ctx.fetched.tree_sha256, &ctx.port_hash, &ctx.repo);
    let objects = object_paths(plan, obj_dir);
    if !ctx.options.force && reuse_objects(ctx, name, plan, obj_dir, &key)? {
        return Ok(objects);
    }
    remove_dir_if_exists(obj_dir)?;
    fs::create_dir_all(obj_dir).with_context(|| format!("cannot create {}", obj_dir.display()))?;
    let jobs = ctx.options.jobs.max(1);
    ctx.progress.step(format!("{name}: compile {} files ({}, {jobs} jobs)", plan.sources.len(), cc.label));
    let errors = compile_sources(ctx, cc, plan, obj_dir, jobs);
    if !errors.is_empty() {
        bail!("{name}: compile failed:\n{}", errors.join("\n"));
    }
    fs::write(obj_dir.join(COMPILE_KEY_FILE), format!("{key}\n"))?;
    Ok(objects)
}

/// Whether `obj_dir` holds the plan's objects with compile key `key`, as it
/// is or after copying them from another variant with the same compile flags
/// (e.g. emcc-os and emcc-os-single-esm).
fn reuse_objects(ctx: &Ctx, name: &str, plan: &Plan, obj_dir: &Path, key: &str) -> Result<bool> {
    let count = plan.sources.len();
    let complete = |dir: &Path| fs::read_to_string(dir.join(COMPILE_KEY_FILE)).is_ok_and(|k| k.trim() == key) && plan.sources.iter().all(|(_, o, _)| dir.join(o).is_file());
    if complete(obj_dir) {
        ctx.progress.step(format!("{name}: {count} objects up to date"));
        return Ok(true);
    }
    let Ok(entries) = fs::read_dir(&ctx.build_dir) else {
        return Ok(false);
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path().join("obj")).collect();
    dirs.sort();
    let Some(other) = dirs.into_iter().find(|d| d != obj_dir && complete(d)) else {
        return Ok(false);
    };
    remove_dir_if_exists(obj_dir)?;
    fs::create_dir_all(obj_dir)?;
    for (_, o, _) in &plan.sources {
        fs::copy(other.join(o), obj_dir.join(o))?;
    }
    fs::write(obj_dir.join(COMPILE_KEY_FILE), format!("{key}\n"))?;
    ctx.progress.step(format!("{name}: {count} objects reused from {}", display_relative(&other, &ctx.repo)));
    Ok(true)
}

/// Compile the plan's sources into `obj_dir` on `jobs` threads; the first
/// failure stops the others. Returns the errors.
fn compile_sources(ctx: &Ctx, cc: &CCompiler, plan: &Plan, obj_dir: &Path, jobs: usize) -> Vec<String> {
    let cflags = concrete(&plan.flags.cflags, &ctx.repo);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let errors = Mutex::new(Vec::<String>::new());
    let env = ctx.overrides.tool_env();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(plan.sources.len()) {
            scope.spawn(|| {
                let sh = match cc.shell(&ctx.repo, &env) {
                    Ok(sh) => sh,
                    Err(e) => return errors.lock().unwrap().push(format!("{e:#}")),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= plan.sources.len() || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Err(e) = compile_one(ctx, &sh, cc, plan, &cflags, &plan.sources[i], obj_dir) {
                        stop.store(true, Ordering::SeqCst);
                        errors.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    errors.into_inner().unwrap()
}

/// Compile one source (`(source, object, class)` of the plan) into `obj_dir`;
/// prints the compiler's output when it succeeds with some.
fn compile_one(ctx: &Ctx, sh: &Shell, cc: &CCompiler, plan: &Plan, cflags: &[String], source: &(String, String, SourceClass), obj_dir: &Path) -> Result<(), String> {
    let (src, obj, class) = source;
    let obj = obj_dir.join(obj);
    let flags: Vec<String> = match class {
        SourceClass::Xs => cflags.iter().chain(&plan.flags.cflags_xs).cloned().collect(),
        SourceClass::Port => cflags.iter().chain(&plan.flags.cflags_port).cloned().collect(),
        SourceClass::Asm => plan.flags.asmflags.clone(),
    };
    let (program, driver) = (&cc.program, &cc.driver_args);
    let c = sanitized(cmd!(sh, "{program} {driver...} {flags...} -c {src} -o {obj}"));
    ctx.progress.detail(c.to_string());
    match c.quiet().ignore_status().output() {
        Ok(out) if out.status.success() => {
            if !out.stderr.is_empty() && ctx.progress.verbosity() >= Verbosity::Normal {
                eprintln!("{src}: compiler output:\n{}", String::from_utf8_lossy(&out.stderr).trim_end());
            }
            Ok(())
        }
        Ok(out) => Err(format!("compiling {src} failed ({}):\n{}", out.status, tail_of_output(&out))),
        Err(e) => Err(format!("cannot run {} for {src}: {e}", cc.program.display())),
    }
}

/// Whether every file of a manifest entry exists in `dir` with its recorded sha256.
fn files_match(dir: &Path, record: &VariantRecord) -> Result<bool> {
    for (file, rec) in &record.files {
        let path = dir.join(file);
        if !path.is_file() || sha256_file(&path)? != rec.sha256 {
            return Ok(false);
        }
    }
    Ok(!record.files.is_empty())
}

/// Fail when an output contains the repository's (or the build directory's) absolute path.
pub fn check_no_absolute_paths(file: &Path, repo: &Path, build_dir: &Path) -> Result<()> {
    let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    for dir in [repo, build_dir] {
        let needle = dir.to_string_lossy();
        if needle.len() > 1 {
            if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle.as_bytes()) {
                let end = (at + needle.len() + 60).min(bytes.len());
                bail!(
                    "{} contains the absolute path {needle} at byte {at} ({:?}); outputs must not depend on where the repository is",
                    file.display(),
                    String::from_utf8_lossy(&bytes[at..end])
                );
            }
        }
    }
    Ok(())
}

/// The port's header, read once; the build matrix checked against it.
fn abi_header(repo: &Path, configs: &Configs) -> Result<crate::codegen::Header> {
    let header = crate::codegen::Header::load(&repo.join(crate::codegen::HEADER))?;
    crate::codegen::check_config(&header, &configs.variants)?;
    Ok(header)
}

fn remove_file_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_build_in_one_lane_per_toolchain_in_config_order_unless_one_job() {
        let configs = Configs::load(&crate::util::repo_root()).unwrap();
        let selected = configs.variants.select(Some(&["wasi-os".to_owned(), "emcc-os".to_owned(), "wasi-oz".to_owned()])).unwrap();
        let names = |lanes: Vec<Vec<&Variant>>| lanes.iter().map(|l| l.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(",")).collect::<Vec<_>>();
        let order: Vec<&str> = selected.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names(lanes(&selected, 1)), [order.join(",")]);
        let two = names(lanes(&selected, 2));
        assert_eq!(two.len(), 2, "{two:?}");
        assert_eq!(two[0], "emcc-os");
        assert!(two[1].starts_with("wasi-") && two[1].contains("wasi-os") && two[1].contains("wasi-oz"), "{two:?}");
        let wasi_only = configs.variants.select(Some(&["wasi-os".to_owned()])).unwrap();
        assert_eq!(names(lanes(&wasi_only, 4)), ["wasi-os"]);
    }

    #[test]
    fn a_second_build_of_a_checkout_waits_for_the_first() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}-lock", std::process::id()));
        let progress = Progress::new(Verbosity::Quiet);
        let first = lock_build_dir(&dir, &progress).unwrap();
        let released = std::sync::Arc::new(AtomicBool::new(false));
        let waiter = {
            let (dir, released) = (dir.clone(), released.clone());
            std::thread::spawn(move || {
                let _second = lock_build_dir(&dir, &Progress::new(Verbosity::Quiet)).unwrap();
                released.load(Ordering::SeqCst)
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        drop(first);
        assert!(waiter.join().unwrap(), "the second lock was taken while the first was held");
        fs::remove_dir_all(&dir).unwrap();
    }
    #[test]
    fn absolute_paths_in_outputs_are_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}-abspath", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.js");
        fs::write(&file, b"var a='/some/where/repo/port/x.c';").unwrap();
        let err = check_no_absolute_paths(&file, Path::new("/some/where/repo"), Path::new("/elsewhere/target")).unwrap_err().to_string();
        assert!(err.contains("/some/where/repo") && err.contains("byte 7"), "{err}");
        fs::write(&file, b"var a='./port/x.c';").unwrap();
        check_no_absolute_paths(&file, Path::new("/some/where/repo"), Path::new("/elsewhere/target")).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// Address-space layout randomization off for every tool the build starts
/// (Linux's `personality(ADDR_NO_RANDOMIZE)`, inherited by the threads and
/// processes started after it; the previous personality comes back on
/// drop). A second guard: Debian's emscripten (clang 14) compiled
/// `port/xs_wasm.c` at -Oz to other bytes about 1 compile in 6 (its wasm
/// backend ordered some blocks of functions that call setjmp by heap
/// address), which the -Oz variants now avoid by compiling the port at -Os
/// (`port_cflags` in configs/variants.toml); fixed addresses keep any other
/// such choice the same between runs in one directory. Where the call is
/// refused (Docker's default seccomp profile refuses this persona) the build
/// says so and goes on; `cargo xtask verify` compares rebuilt bytes.
pub struct FixedAddresses {
    #[cfg(target_os = "linux")]
    previous: Option<libc::c_ulong>,
}

impl FixedAddresses {
    /// Turn randomization off for the tools started from now on.
    pub fn new(progress: &Progress) -> Self {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: personality(2) only reads and sets this thread's
            // execution domain; 0xffffffff queries it without a change.
            let current = unsafe { libc::personality(0xffff_ffff) };
            if current < 0 {
                progress.step("build: cannot read the process personality: tools run with randomized addresses (emcc-oz may not be reproducible)");
                return FixedAddresses { previous: None };
            }
            let current = current as libc::c_ulong;
            let fixed = current | libc::ADDR_NO_RANDOMIZE as libc::c_ulong;
            if fixed == current {
                return FixedAddresses { previous: None };
            }
            // SAFETY: as above; a refused persona returns -1 and changes nothing.
            if unsafe { libc::personality(fixed) } < 0 {
                progress.step("build: address randomization cannot be turned off here (personality refused, e.g. Docker's default seccomp profile): emcc-oz may not be reproducible");
                return FixedAddresses { previous: None };
            }
            FixedAddresses { previous: Some(current) }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = progress;
            FixedAddresses {}
        }
    }
}

impl Drop for FixedAddresses {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(previous) = self.previous {
            // SAFETY: restores the persona read in `new`.
            unsafe { libc::personality(previous) };
        }
    }
}
