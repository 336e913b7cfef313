//! `cargo xtask size`: where the bytes of each variant go.
//!
//! For every selected variant (default: the release variants) it reports
//!
//! - each shipped file: raw, gzip -9 and brotli 11 (as the manifest measures them);
//! - each shipped wasm module (the one inlined as base64 in single-file
//!   emscripten JS included) by section: type, import, code, data, custom...;
//! - the main module by source file: the bytes of each function body and of
//!   each data segment, attributed to the object (= source file, or library
//!   archive) it comes from.
//!
//! The shipped module has no names. The attribution comes from a profiling
//! copy of the same variant, never shipped, linked from the build's own
//! objects (`<target>/xs-wasm-build/<checkout>/<variant>/obj`) with the variant's exact
//! link command plus a name section and a linker map: emcc
//! `--profiling-funcs -Wl,--print-map`; zig cc's link is re-run as the
//! `wasm-ld` command it prints with `-v`, with `--strip-debug` instead of
//! `-s` and with `--Map`. That copy then goes through the same wasm-opt flags
//! as the release pass, plus `-g` so the names survive. Names change the
//! order binaryen gives functions, so the shipped bodies are matched to the
//! copy's by content (a hash of each body without its call targets and
//! global indices): when every shipped body finds its twin the attribution
//! is exact and uses the shipped sizes; otherwise the output says how much
//! was matched, and the rest is attributed in proportion to the copy's
//! unmatched functions. Function names are mapped to source files through
//! the linker map (binaryen's names for merged functions and renamed
//! duplicates are traced back to the original name); a function wasm-opt
//! inlined counts in its caller's file (wasm-opt inlines any function that
//! has one caller, e.g. XS's fxCreateMachine into the port's
//! xs_wasm_create on emscripten). Data is attributed by address:
//! wasm-opt never moves memory, so each byte of a shipped data segment
//! belongs to the input data segment the map places at that address.
//!
//! Writes `<target>/size/size.json` and `<target>/size/<variant>.svg` (a
//! squarified treemap of the module by source file); `--against FILE` (a
//! manifest, or `REV:PATH` read with `git show`) compares every file's sizes
//! with that manifest's.

mod against;
mod attribution;
mod layout;
mod linkmap;
mod origins;
mod profiling;
mod report;
mod sections;
#[cfg(test)]
mod tests;
mod treemap;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::json;
use xs_wasm::WASI_MODULE_FILE;

use crate::config::{Configs, Variant};
use crate::fetch;
use crate::manifest::{Manifest, VariantRecord};
use crate::measure::{self, thousands, Sizes};
use crate::optimize;
use crate::plan;
use crate::progress::Progress;
use crate::toolchain;
use crate::util::{display_relative, sha256_hex, write_atomic};
use crate::workspace::Workspace;
use against::{compare, delta_table, load_against};
use attribution::{attribute, compress_parts};
use origins::plan_objects;
use profiling::{profiling_copy, Env};
use report::{report_text, ModuleReport, SourcesReport, VariantReport};
use sections::{compress_sections, section_rows};
use treemap::treemap_svg;

/// Options of `cargo xtask size` (its flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SizeOptions {
    /// Only these variants (default: every release variant)
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = crate::cli::variant_name)]
    pub variants: Option<Vec<String>>,
    /// Compare each file's sizes with this manifest: a file, or REV:PATH read with git (e.g. HEAD:artifacts/manifest.json)
    #[arg(long, value_name = "MANIFEST")]
    pub against: Option<String>,
}

/// `cargo xtask size`: measure, attribute, print, and write `<target>/size/`.
pub fn size(ws: &Workspace, options: &SizeOptions, progress: &Progress) -> Result<()> {
    let repo = &ws.repo;
    let configs = Configs::load(repo)?;
    let selected: Vec<&Variant> = match &options.variants {
        Some(names) => configs.variants.select(Some(names))?,
        None => configs.variants.variants.iter().filter(|v| v.release).collect(),
    };
    let manifest_path = ws.manifest();
    let manifest = Manifest::load(&manifest_path)?.context("no artifacts/manifest.json: run `cargo xtask build` first")?;
    let against = options.against.as_deref().map(|a| load_against(repo, a).map(|m| (a, m))).transpose()?;
    for v in &selected {
        if !manifest.variants.contains_key(&v.name) {
            bail!("{}: not in artifacts/manifest.json: run `cargo xtask build --variants {}` first", v.name, v.name);
        }
    }

    let out_dir = ws.target.join("size");
    let env = size_env(ws, &configs, &selected, progress)?;
    let mut reports = Vec::new();
    for variant in &selected {
        let report = variant_report(&env, variant, &manifest.variants[&variant.name]).with_context(|| format!("size of {}", variant.name))?;
        write_treemap(&out_dir, &report)?;
        println!("{}", report_text(&report));
        reports.push(report);
    }
    write_size_json(&out_dir, &reports, against.as_ref().map(|(name, old)| (*name, old)))?;
    progress.step(format!("wrote {} and {} treemap(s) (<variant>.svg)", display_relative(&out_dir.join("size.json"), repo), reports.len()));
    Ok(())
}

/// Fetch the sources and provision the toolchains the `selected` variants need.
fn size_env<'a>(ws: &Workspace, configs: &'a Configs, selected: &[&Variant], progress: &'a Progress) -> Result<Env<'a>> {
    let fetched = fetch::fetch(ws, &configs.moddable.source(), progress)?;
    Ok(Env {
        repo: ws.repo.clone(),
        artifacts: ws.artifacts.clone(),
        configs,
        tree_sha256: fetched.tree_sha256,
        port_hash: ws.port_hash()?,
        tools: toolchain::for_variants(&ws.repo, &configs.toolchains, selected, progress)?,
        build_dir: ws.build_dir(),
        work: ws.target.join("size").join("work"),
        progress,
    })
}

/// Write `<out_dir>/<variant>.svg`, the treemap of the variant's main module.
fn write_treemap(out_dir: &Path, report: &VariantReport) -> Result<()> {
    let main = &report.modules[0];
    let title = format!(
        "xs-wasm {}: {} ({} bytes, gzip {}, brotli {}) by source file; lighter band: data; kB = 1000 bytes",
        report.variant,
        main.module,
        thousands(main.sizes.bytes),
        thousands(main.sizes.gzip),
        thousands(main.sizes.brotli)
    );
    write_atomic(&out_dir.join(format!("{}.svg", report.variant)), treemap_svg(&title, &report.sources.attribution.parts).as_bytes())
}

/// Print the comparison with `against` (name, manifest) if any, and write
/// `<out_dir>/size.json`.
fn write_size_json(out_dir: &Path, reports: &[VariantReport], against: Option<(&str, &Manifest)>) -> Result<()> {
    let mut json = json!({ "variants": reports });
    if let Some((name, old)) = against {
        let now: BTreeMap<String, BTreeMap<String, Sizes>> = reports.iter().map(|r| (r.variant.clone(), r.files.clone())).collect();
        let deltas = compare(old, &now);
        println!("compared with {name}:");
        print!("{}", delta_table(&deltas));
        json["against"] = json!({ "manifest": name, "files": deltas });
    }
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    write_atomic(&out_dir.join("size.json"), text.as_bytes())
}

/// Measure one variant's files and modules and attribute its main module.
fn variant_report(env: &Env, variant: &Variant, record: &VariantRecord) -> Result<VariantReport> {
    let name = &variant.name;
    let dir = env.artifacts.join(name);
    let mut files = BTreeMap::new();
    for (file, rec) in &record.files {
        let path = dir.join(file);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if sha256_hex(&bytes) != rec.sha256 {
            env.progress.warn(format!("artifacts/{name}/{file} is not the file artifacts/manifest.json records (rebuilt since?)"));
        }
        files.insert(file.clone(), measure::sizes(&bytes)?);
    }
    let (main_label, main) = match variant.form {
        Some(form) if form.is_single_file() => {
            let js = fs::read_to_string(dir.join(form.js_file()))?;
            (format!("{} (inlined wasm)", form.js_file()), optimize::find_inline_wasm(&js).with_context(|| format!("{name}: {}", form.js_file()))?.wasm)
        }
        _ => (WASI_MODULE_FILE.to_owned(), fs::read(dir.join(WASI_MODULE_FILE))?),
    };
    let mut modules = Vec::new();
    for (label, bytes) in std::iter::once((main_label.clone(), main.clone())).chain(
        record.files.keys().filter(|f| f.ends_with(".wasm") && f.as_str() != WASI_MODULE_FILE).map(|f| Ok::<_, anyhow::Error>((f.clone(), fs::read(dir.join(f))?))).collect::<Result<Vec<_>>>()?,
    ) {
        let mut sections = section_rows(&bytes)?;
        compress_sections(&bytes, &mut sections)?;
        modules.push(ModuleReport { module: label, sizes: measure::sizes(&bytes)?, sections });
    }

    let cc = env.tools.compiler(variant);
    let plan = plan::plan(env.configs, variant, cc, true);
    let (profiled, map) = profiling_copy(env, variant, cc, &plan)?;
    if map.functions.iter().any(|f| f.input.ends_with("lto.tmp") || f.input.ends_with(".lto.o")) {
        env.progress.warn(format!("{name}: a link-time-optimized link: the map names the LTO object, not the source files, for the functions it compiled"));
    }
    let mut attribution = attribute(&main, &profiled, &map, &plan_objects(&plan))?;
    if !attribution.code_exact {
        env.progress.warn(format!("{name}: not every shipped function matched one of the profiling copy's: {}", attribution.method()));
    }
    compress_parts(&mut attribution.parts, &main, &profiled)?;
    Ok(VariantReport { variant: name.clone(), files, modules, sources: SourcesReport { module: main_label, method: attribution.method(), attribution } })
}
