//! The build plan of a variant: its compile and link flags, sources,
//! objects and link outputs, derived from the configuration alone (pure:
//! nothing here runs a tool or touches a file). `build` runs the plan;
//! `size` re-links the same objects with it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::json;
use xs_wasm::WASI_MODULE_FILE;

use crate::config::{expand, Configs, Form, ToolchainKind, Variant, PORT_DIR, XS_DIR};
use crate::manifest::FlagsRecord;
use crate::toolchain::CCompiler;
use crate::util::sha256_hex;

/// Bump when the build logic changes in a way that changes outputs.
pub(crate) const BUILD_LOGIC_VERSION: u32 = 2;
/// Stands for the repository's absolute path in recorded flags.
const REPO_PLACEHOLDER: &str = "{repo}";
/// The flags and files of one variant, derived from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) flags: FlagsRecord,
    /// (repo-relative source, object file name, per-class flags)
    pub(crate) sources: Vec<(String, String, SourceClass)>,
    /// Files the link writes, by name (emscripten cjs: js + wasm).
    pub(crate) link_outputs: Vec<String>,
    /// The file emcc/zig is told to write (`-o`).
    pub(crate) link_main: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceClass {
    Xs,
    Port,
    Asm,
}

/// `map_paths`: add the prefix-map flags (always, except for verify's perturbation knob).
pub(crate) fn plan(configs: &Configs, variant: &Variant, cc: &CCompiler, map_paths: bool) -> Plan {
    let common = &configs.variants.common;
    let tcflags = &configs.variants.toolchain;
    let s = |v: &[String]| v.iter().map(|f| expand(f)).collect::<Vec<_>>();
    let (tc_cflags, tc_ldflags) = match variant.toolchain {
        ToolchainKind::Emscripten => (s(&tcflags.emscripten.cflags), s(&tcflags.emscripten.ldflags)),
        ToolchainKind::Wasi => (s(&tcflags.wasi.cflags), s(&tcflags.wasi.ldflags)),
    };
    let cflags = compile_flags(common, variant, cc, &tc_cflags, map_paths);
    let mut sources = c_sources(common);
    let obj = object_name;
    let mut asmflags = Vec::new();
    let mut libs = Vec::new();
    let mut ldflags = cc.target_args.clone();
    ldflags.push(variant.opt.clone());
    ldflags.extend(tc_ldflags);
    let (link_main, link_outputs, wasm_opt) = match variant.toolchain {
        ToolchainKind::Wasi => {
            for src in &tcflags.wasi.asm_sources {
                sources.push((format!("{PORT_DIR}/{src}"), obj(src), SourceClass::Asm));
            }
            asmflags = cc.target_args.clone();
            asmflags.extend(tc_cflags.iter().filter(|f| f.as_str() == "-mexception-handling").cloned());
            libs = s(&tcflags.wasi.libs);
            ldflags.push(format!("-Wl,-z,stack-size={}", common.stack_size));
            ldflags.extend(common.exports.iter().map(|e| format!("-Wl,--export={e}")));
            ldflags.extend(s(&variant.ldflags));
            let features: Vec<String> = tcflags.wasi.wasm_opt_features.iter().chain(&tcflags.wasi.wasm_opt_flags).cloned().collect();
            (WASI_MODULE_FILE.to_owned(), vec![WASI_MODULE_FILE.to_owned()], wasm_opt_flags(variant, &features))
        }
        ToolchainKind::Emscripten => {
            let form = variant.form.expect("validated: emscripten variants have a form");
            ldflags.push(format!("-sTOTAL_STACK={}", common.stack_size));
            let mut exports = vec!["\"_malloc\"".to_owned(), "\"_free\"".to_owned()];
            exports.extend(common.exports.iter().map(|e| format!("\"_{e}\"")));
            ldflags.push(format!("-sEXPORTED_FUNCTIONS=[{}]", exports.join(",")));
            ldflags.extend(s(&variant.ldflags));
            let js = form.js_file().to_owned();
            let mut outputs = vec![js.clone()];
            if form == Form::Cjs {
                outputs.push(WASI_MODULE_FILE.to_owned());
            }
            (js, outputs, wasm_opt_flags(variant, &tcflags.emscripten.wasm_opt_features))
        }
    };
    let mut cflags_port = s(&common.port_cflags);
    cflags_port.extend(s(&variant.port_cflags));
    let flags = FlagsRecord { cflags, cflags_xs: s(&common.xs_cflags), cflags_port, asmflags, ldflags, libs, wasm_opt };
    Plan { flags, sources, link_outputs, link_main }
}

/// The C compile flags of a variant: target, level, toolchain and variant
/// flags, XS's feature switches, include directories and (`map_paths`) the
/// prefix maps that keep absolute paths out of the objects.
fn compile_flags(common: &crate::config::Common, variant: &Variant, cc: &CCompiler, tc_cflags: &[String], map_paths: bool) -> Vec<String> {
    let mut cflags = cc.target_args.clone();
    cflags.push(variant.opt.clone());
    cflags.extend(tc_cflags.iter().cloned());
    cflags.extend(variant.cflags.iter().map(|f| expand(f)));
    cflags.extend(common.defines_without(&variant.lacks).iter().map(|d| format!("-D{d}")));
    cflags.extend(common.include_dirs.iter().map(|d| format!("-I{}", expand(d))));
    // No absolute path may reach an object: sources are passed repo-relative
    // and anything else under the repository (toolchain headers in .cache) is remapped.
    if map_paths {
        cflags.push(format!("-ffile-prefix-map={REPO_PLACEHOLDER}=."));
        cflags.push(format!("-fdebug-prefix-map={REPO_PLACEHOLDER}=."));
        cflags.push("-fdebug-compilation-dir=.".into());
    }
    cflags
}

/// `<stem>.o` for a source file.
fn object_name(src: &str) -> String {
    format!("{}.o", Path::new(src).file_stem().unwrap().to_string_lossy())
}

/// The C sources every variant compiles (XS's, then the port's), with their
/// object names and classes.
fn c_sources(common: &crate::config::Common) -> Vec<(String, String, SourceClass)> {
    let mut sources = Vec::new();
    for src in &common.xs_sources {
        sources.push((format!("{XS_DIR}/sources/{src}"), object_name(src), SourceClass::Xs));
    }
    for src in &common.port_sources {
        sources.push((format!("{PORT_DIR}/{src}"), object_name(src), SourceClass::Port));
    }
    sources
}

fn wasm_opt_flags(variant: &Variant, features: &[String]) -> Vec<String> {
    match (&variant.wasm_opt, variant.release) {
        (Some(level), true) => features.iter().cloned().chain([level.clone()]).collect(),
        _ => vec![],
    }
}

/// The arguments of a variant's link after the program (`{program} {args...}`,
/// run in the repository with [`CCompiler::shell`]): the driver arguments, the
/// link flags, `extra` (e.g. the profiling flags of `cargo xtask size`), `-o
/// main_out`, the objects, the libraries.
pub(crate) fn link_args(cc: &CCompiler, plan: &Plan, repo: &Path, extra: &[String], main_out: &Path, objects: &[PathBuf]) -> Vec<OsString> {
    let mut args: Vec<OsString> = cc.driver_args.iter().map(OsString::from).collect();
    args.extend(concrete(&plan.flags.ldflags, repo).into_iter().map(OsString::from));
    args.extend(extra.iter().map(OsString::from));
    args.push("-o".into());
    args.push(main_out.into());
    args.extend(objects.iter().map(OsString::from));
    args.extend(plan.flags.libs.iter().map(OsString::from));
    args
}

/// Replace `{repo}` by the repository's absolute path, for the real command line.
pub(crate) fn concrete(flags: &[String], repo: &Path) -> Vec<String> {
    let repo = repo.to_string_lossy();
    flags.iter().map(|f| f.replace(REPO_PLACEHOLDER, &repo)).collect()
}

/// The file in an object directory that holds the [`compile_key`] of its objects.
pub(crate) const COMPILE_KEY_FILE: &str = ".compile-sha256";

/// What the objects of a plan depend on (compiler, flags, sources, the
/// engine tree, the port, the repository's place): objects are reused while it matches.
pub(crate) fn compile_key(cc: &CCompiler, plan: &Plan, tree_sha256: &str, port_hash: &str, repo: &Path) -> String {
    sha256_hex(
        json!({
            "build_logic": BUILD_LOGIC_VERSION,
            "compiler": &cc.tools,
            "program": cc.label,
            "flags": [&plan.flags.cflags, &plan.flags.cflags_xs, &plan.flags.cflags_port, &plan.flags.asmflags],
            "sources": plan.sources.iter().map(|(s, o, _)| format!("{s}:{o}")).collect::<Vec<_>>(),
            "tree_sha256": tree_sha256,
            "port": port_hash,
            "repo": repo.to_string_lossy(),
        })
        .to_string()
        .as_bytes(),
    )
}

/// The object files of a plan in `obj_dir`, sorted (the link order).
pub(crate) fn object_paths(plan: &Plan, obj_dir: &Path) -> Vec<PathBuf> {
    let mut objects: Vec<PathBuf> = plan.sources.iter().map(|(_, o, _)| obj_dir.join(o)).collect();
    objects.sort();
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn configs() -> Configs {
        Configs::load(&crate::util::repo_root()).unwrap()
    }

    fn zig() -> CCompiler {
        CCompiler {
            program: "zig".into(),
            driver_args: vec!["cc".into()],
            target_args: vec!["-target".into(), "wasm32-wasi".into()],
            env: vec![],
            label: "zig cc".into(),
            tools: BTreeMap::new(),
        }
    }

    #[test]
    fn wasi_plan_exports_each_function_and_records_relative_paths() {
        let c = configs();
        let v = c.variants.variants.iter().find(|v| v.name == "wasi-os").unwrap();
        let p = plan(&c, v, &zig(), true);
        assert!(p.flags.ldflags.contains(&"-Wl,--export=xs_wasm_create".to_owned()));
        assert!(!p.flags.ldflags.iter().any(|f| f.contains("export-dynamic")));
        assert!(p.flags.cflags.contains(&"-Ivendor/moddable/xs/includes".to_owned()));
        assert!(p.flags.cflags.contains(&"-ffile-prefix-map={repo}=.".to_owned()));
        assert_eq!(p.flags.wasm_opt.last().unwrap(), "-Os");
        assert!(!p.flags.wasm_opt.iter().any(|f| f == "--all-features"));
        assert_eq!(p.flags.libs, ["-lsetjmp"]);
        assert!(p.sources.iter().any(|(s, o, k)| s == "port/wasi_sjlj.s" && o == "wasi_sjlj.o" && *k == SourceClass::Asm));
        assert_eq!(p.link_outputs, [WASI_MODULE_FILE]);
        let json = serde_json::to_string(&p.flags).unwrap();
        assert!(!json.contains(crate::util::xtask_dir().to_str().unwrap()), "no absolute path in recorded flags");
    }

    #[test]
    fn emscripten_plans_name_their_outputs_by_form() {
        let c = configs();
        let cc = CCompiler { program: "emcc".into(), driver_args: vec![], target_args: vec![], env: vec![], label: "emcc".into(), tools: BTreeMap::new() };
        let get = |n: &str| plan(&c, c.variants.variants.iter().find(|v| v.name == n).unwrap(), &cc, true);
        assert_eq!(get("emcc-os").link_outputs, ["xs-wasm.js", "xs-wasm.wasm"]);
        assert_eq!(get("emcc-os-single-esm").link_outputs, ["xs-wasm.mjs"]);
        assert_eq!(get("emcc-os-single-cjs").link_outputs, ["xs-wasm.js"]);
        let p = get("emcc-os");
        let exported = p.flags.ldflags.iter().find(|f| f.starts_with("-sEXPORTED_FUNCTIONS=")).unwrap();
        assert!(exported.starts_with("-sEXPORTED_FUNCTIONS=[\"_malloc\",\"_free\",\"_xs_wasm_abi_version\""), "{exported}");
        assert!(p.flags.ldflags.contains(&"--js-library=port/xs_wasm_library.js".to_owned()));
        assert!(get("emcc-o0").flags.wasm_opt.is_empty(), "debug variants get no wasm-opt pass");
    }

    #[test]
    fn the_link_command_is_driver_flags_extra_output_objects_libraries() {
        let c = configs();
        let v = c.variants.variants.iter().find(|v| v.name == "wasi-oz").unwrap();
        let p = plan(&c, v, &zig(), true);
        let objects = object_paths(&p, Path::new("/t/obj"));
        assert!(objects.windows(2).all(|w| w[0] < w[1]) && objects.len() == p.sources.len());
        let args = link_args(&zig(), &p, Path::new("/repo"), &["-v".to_owned()], Path::new("/t/link/xs-wasm.wasm"), &objects);
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args[0], "cc");
        assert_eq!(&args[1..=p.flags.ldflags.len()], &p.flags.ldflags[..]);
        let at = 1 + p.flags.ldflags.len();
        assert_eq!(&args[at..at + 3], ["-v", "-o", "/t/link/xs-wasm.wasm"]);
        assert_eq!(args[at + 3], objects[0].to_string_lossy());
        assert!(args.iter().any(|a| a == "/t/obj/wasi_sjlj.o"), "the WASI sjlj object is linked");
        assert_eq!(args.last().unwrap(), "-lsetjmp");
        assert_eq!(args.len(), at + 3 + objects.len() + p.flags.libs.len());
    }
}
