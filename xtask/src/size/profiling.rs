//! The profiling copy: the variant's link re-run from the build's objects
//! with names and a linker map, through the same wasm-opt pass.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;
use xs_wasm::WASI_MODULE_FILE;
use xshell::cmd;

use crate::config::{Configs, Form, ToolchainKind, Variant};
use crate::optimize;
use crate::plan::{self, Plan};
use crate::progress::Progress;
use crate::toolchain::{Binaryen, CCompiler, Toolchains};
use crate::util::{display_relative, remove_dir_if_exists, reproducible_env, run_captured, sanitized, sha256_hex};

use super::linkmap::{LinkMap, parse_link_map};

/// Bump when the profiling link or its wasm-opt pass changes (invalidates
/// the cached profiling copies in `<target>/size/work`).
pub(super) const SIZE_LOGIC_VERSION: u32 = 2;

/// The arguments of zig's `wasm-ld` for a profiling link, from the output
/// of the variant's link run with `-v`: the line `wasm-ld <args>` with
/// `-s`/`--strip-all` (which drop the name section) replaced by
/// `--strip-debug` (DWARF would make wasm-opt optimize less), writing
/// `output` and the map `map`.
pub fn profiling_wasm_ld_args(verbose: &str, output: &Path, map: &Path) -> Result<Vec<String>> {
    let line = verbose.lines().map(str::trim).find(|l| l.starts_with("wasm-ld ")).context("`zig cc -v` printed no `wasm-ld ...` line")?;
    if line.contains(['"', '\'', '\\']) {
        bail!("the wasm-ld command line has quoted arguments, which this parser does not split: {line}");
    }
    let mut args = Vec::new();
    let mut words = line.split_whitespace().skip(1);
    let mut saw_output = false;
    while let Some(word) = words.next() {
        match word {
            "-s" | "--strip-all" => args.push("--strip-debug".to_owned()),
            "-o" => {
                words.next().context("`-o` without a file in the wasm-ld command line")?;
                args.push("-o".to_owned());
                args.push(output.to_string_lossy().into_owned());
                saw_output = true;
            }
            _ => args.push(word.to_owned()),
        }
    }
    if !saw_output {
        bail!("no `-o` in the wasm-ld command line: {line}");
    }
    args.push(format!("--Map={}", map.display()));
    Ok(args)
}

/// Everything the variants share.
pub(super) struct Env<'a> {
    pub(super) repo: PathBuf,
    pub(super) artifacts: PathBuf,
    pub(super) configs: &'a Configs,
    pub(super) tree_sha256: String,
    pub(super) port_hash: String,
    pub(super) tools: Toolchains,
    pub(super) build_dir: PathBuf,
    pub(super) work: PathBuf,
    pub(super) progress: &'a Progress,
}

/// Link the profiling copy of a variant (from the build's objects), run the
/// release wasm-opt pass on it with `-g`; returns it and its link map.
/// Cached in `<target>/size/work/<variant>` while its inputs are unchanged.
pub(super) fn profiling_copy(env: &Env, variant: &Variant, cc: &CCompiler, plan: &Plan) -> Result<(Vec<u8>, LinkMap)> {
    let name = &variant.name;
    let obj_dir = env.build_dir.join(name).join("obj");
    let key = plan::compile_key(cc, plan, &env.tree_sha256, &env.port_hash, &env.repo);
    let objects = plan::object_paths(plan, &obj_dir);
    check_objects(env, name, &obj_dir, &key, &objects)?;
    let binaryen = env.tools.binaryen_for(variant);
    let mut wasm_opt = plan.flags.wasm_opt.clone();
    if binaryen.is_some() {
        wasm_opt.push("-g".into());
    }
    let stamp = profiling_stamp(&key, cc, plan, &wasm_opt, binaryen);
    let work = env.work.join(name);
    let (profile, map_file, stamp_file) = (work.join("profile.wasm"), work.join("link.map"), work.join(".inputs-sha256"));
    if fs::read_to_string(&stamp_file).is_ok_and(|s| s.trim() == stamp) && profile.is_file() && map_file.is_file() {
        env.progress.step(format!("{name}: profiling copy up to date ({})", display_relative(&work, &env.repo)));
        let map = parse_link_map(&fs::read_to_string(&map_file)?)?;
        return Ok((fs::read(&profile)?, map));
    }
    remove_dir_if_exists(&work)?;
    let link_dir = work.join("link");
    fs::create_dir_all(&link_dir)?;
    let tool_env = reproducible_env();
    let sh = cc.shell(&env.repo, &tool_env)?;
    let main_out = link_dir.join(&plan.link_main);
    env.progress.step(format!("{name}: profiling link of {} objects ({}, names and a link map)", objects.len(), cc.label));
    let link = ProfilingLink { env, name, cc, plan, objects: &objects, sh: &sh, link_dir: &link_dir, main_out: &main_out, map_file: &map_file };
    let linked: Vec<u8> = match variant.toolchain {
        ToolchainKind::Emscripten => link.emscripten(variant.form.is_some_and(Form::is_single_file))?,
        ToolchainKind::Wasi => link.wasi()?,
    };
    let map = parse_link_map(&fs::read_to_string(&map_file)?).with_context(|| format!("{name}: the profiling link's map"))?;
    match binaryen {
        Some(b) => {
            env.progress.step(format!("{name}: wasm-opt {} on the profiling copy", wasm_opt.join(" ")));
            let input = work.join("profile.linked.wasm");
            fs::write(&input, &linked)?;
            optimize::wasm_opt(b, &input, &profile, &wasm_opt, &tool_env)?;
        }
        None => fs::write(&profile, &linked)?,
    }
    fs::write(&stamp_file, format!("{stamp}\n"))?;
    Ok((fs::read(&profile)?, map))
}

/// Fail unless the build's objects are all there and were compiled with `key`.
pub(super) fn check_objects(env: &Env, name: &str, obj_dir: &Path, key: &str, objects: &[PathBuf]) -> Result<()> {
    let have = fs::read_to_string(obj_dir.join(plan::COMPILE_KEY_FILE)).unwrap_or_default();
    if have.trim() != key || !objects.iter().all(|o| o.is_file()) {
        bail!(
            "{name}: the build's objects ({}) are missing or were compiled for another configuration: run `cargo xtask build --variants {name}` first",
            display_relative(obj_dir, &env.repo)
        );
    }
    Ok(())
}

/// The hash of everything a profiling copy is made from.
pub(super) fn profiling_stamp(key: &str, cc: &CCompiler, plan: &Plan, wasm_opt: &[String], binaryen: Option<&Binaryen>) -> String {
    sha256_hex(
        json!({
            "logic": SIZE_LOGIC_VERSION,
            "objects": key,
            "ldflags": &plan.flags.ldflags,
            "libs": &plan.flags.libs,
            "tools": &cc.tools,
            "wasm_opt": wasm_opt,
            "binaryen": binaryen.map(|b| &b.version),
        })
        .to_string()
        .as_bytes(),
    )
}

/// The profiling link of one variant: its inputs and where it writes.
pub(super) struct ProfilingLink<'a> {
    pub(super) env: &'a Env<'a>,
    pub(super) name: &'a str,
    pub(super) cc: &'a CCompiler,
    pub(super) plan: &'a Plan,
    pub(super) objects: &'a [PathBuf],
    pub(super) sh: &'a xshell::Shell,
    pub(super) link_dir: &'a Path,
    pub(super) main_out: &'a Path,
    pub(super) map_file: &'a Path,
}

impl ProfilingLink<'_> {
    /// Link with emcc (`--profiling-funcs`, map on stdout); returns the main
    /// module (inlined in the JS for `single_file`).
    pub(super) fn emscripten(&self, single_file: bool) -> Result<Vec<u8>> {
        let (sh, program, name) = (self.sh, &self.cc.program, self.name);
        let extra = ["--profiling-funcs".to_owned(), "-Wl,--print-map".to_owned()];
        let args = plan::link_args(self.cc, self.plan, &self.env.repo, &extra, self.main_out, self.objects);
        let c = sanitized(cmd!(sh, "{program} {args...}"));
        self.env.progress.detail(c.to_string());
        let out = run_captured(c, &format!("{name}: profiling link"))?;
        fs::write(self.map_file, &out.stdout)?;
        if single_file {
            let js = fs::read_to_string(self.main_out).with_context(|| format!("cannot read {}", self.main_out.display()))?;
            Ok(optimize::find_inline_wasm(&js)?.wasm)
        } else {
            Ok(fs::read(self.link_dir.join(WASI_MODULE_FILE))?)
        }
    }

    /// Link with a WASI toolchain (zig cc through its wasm-ld command);
    /// returns the module.
    pub(super) fn wasi(&self) -> Result<Vec<u8>> {
        let (sh, program, name) = (self.sh, &self.cc.program, self.name);
        let linked = self.link_dir.join("profile.wasm");
        if program.file_stem().is_some_and(|s| s == "zig") {
            // zig cc strips the name section (`-s`) and takes no map flag:
            // run the wasm-ld command it prints, changed.
            let args = plan::link_args(self.cc, self.plan, &self.env.repo, &["-v".to_owned()], self.main_out, self.objects);
            let out = run_captured(sanitized(cmd!(sh, "{program} {args...}")), &format!("{name}: link with -v"))?;
            let printed = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
            let ld = profiling_wasm_ld_args(&printed, &linked, self.map_file)?;
            let c = sanitized(cmd!(sh, "{program} wasm-ld {ld...}"));
            self.env.progress.detail(c.to_string());
            run_captured(c, &format!("{name}: profiling link (zig wasm-ld)"))?;
        } else {
            let extra = [format!("-Wl,--Map={}", self.map_file.display())];
            let args = plan::link_args(self.cc, self.plan, &self.env.repo, &extra, &linked, self.objects);
            let c = sanitized(cmd!(sh, "{program} {args...}"));
            self.env.progress.detail(c.to_string());
            run_captured(c, &format!("{name}: profiling link"))?;
        }
        Ok(fs::read(&linked)?)
    }
}
