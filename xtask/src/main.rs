//! `cargo xtask <command>`: the build tool of xs-wasm.
//!
//! Commands: `fetch` (pinned engine source into vendor/moddable), `build`
//! (fetch, toolchains, compile, link, wasm-opt, smoke run, manifest), `test`
//! (build if needed, then every test suite), `verify` (build twice in two
//! places, compare bytes and the committed manifest), `test262` (conformance),
//! `bench` (engine speed), `libs` (real libraries against Node), `size`
//! (where the bytes go) and `dist` (release files). Run `cargo xtask help`
//! (or `cargo xtask help <command>`) for the flags.

mod bench;
mod build;
mod cli;
mod codegen;
mod config;
mod diff;
mod dist;
mod fetch;
mod fuzz;
mod libs;
mod loaders;
mod manifest;
mod measure;
mod native;
mod optimize;
mod preludes;
mod plan;
mod progress;
mod size;
mod smoke;
mod test;
mod test262;
mod toolchain;
mod unicode_tables;
mod util;
mod verify;
mod wasm;
mod workspace;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, Parser, Subcommand};

use progress::{Progress, Verbosity};

/// The build tool of xs-wasm: Moddable's XS engine compiled to WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", after_help = "`cargo xtask help <command>` (or `cargo xtask <command> --help`) lists the flags of a command.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    output: Output,
}

/// `--quiet` and `--verbose`: accepted before the command and after it.
/// Not clap `global` flags: clap's `overrides_with` does not reach across a
/// subcommand (clap-rs/clap#6049), and here the last of the two wins.
#[derive(Debug, Args)]
struct Output {
    /// Print only errors and the final table
    #[arg(short, long, overrides_with = "verbose")]
    quiet: bool,
    /// Also print every command
    #[arg(short, long, overrides_with = "quiet")]
    verbose: bool,
}

impl Output {
    fn given(&self) -> Option<Verbosity> {
        match (self.quiet, self.verbose) {
            (true, _) => Some(Verbosity::Quiet),
            (_, true) => Some(Verbosity::Verbose),
            _ => None,
        }
    }
}

impl Cli {
    /// `--quiet` or `--verbose`, the last one given (flags after the command
    /// come after those before it); `Normal` without either.
    fn verbosity(&self) -> Verbosity {
        self.command.as_ref().and_then(|c| c.output().given()).or(self.output.given()).unwrap_or(Verbosity::Normal)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download, verify and extract the pinned XS sources (configs/moddable.toml) into vendor/moddable
    Fetch(FetchArgs),
    /// Fetch if needed, provision toolchains, then compile, link, wasm-opt, smoke-run and measure each variant (configs/variants.toml); writes artifacts/
    Build(WithOutput<build::BuildOptions>),
    /// Bring artifacts/ up to date (incremental build), then run every test suite
    ///
    /// Bring artifacts/ up to date (incremental build), then run test262 on
    /// CI's sample (wasi-os and emcc-os), `cargo test --workspace` and the JS
    /// package's tests (js/; the cross-build tests use the xs-wasm CLI, built
    /// first).
    Test(TestArgs),
    /// Build the variants twice, in two different places, and compare every file and the committed manifest
    ///
    /// Build the variants twice, in two different directories with different
    /// HOME/TMPDIR/caches, compare every file (naming the first differing wasm
    /// section and offset), and compare with the committed
    /// artifacts/manifest.json where the tool versions match.
    Verify(WithOutput<verify::VerifyOptions>),
    /// Run test262 on the native XS reference and the variants, one fresh machine per case
    ///
    /// Run test262 (configs/test262.toml) on the native XS reference and the
    /// variants, one fresh machine per case; fails when a variant fails a case
    /// native XS passes. Default: the whole suite on native, wasi-os and
    /// emcc-os, 1 in 10 on the other variants; writes artifacts/test262.json.
    Test262(WithOutput<test262::Test262Options>),
    /// Engine speed: the kernels of configs/bench.toml on native XS and every variant
    ///
    /// Engine speed: the kernels of configs/bench.toml (Octane, a lodash
    /// workload) on native XS and every variant, interleaved, medians and
    /// ratios to native; writes target/bench/bench.json and bench.svg.
    Bench(WithOutput<bench::BenchOptions>),
    /// Real libraries: the jobs of configs/libraries.toml on every engine, checked against Node's output, timed against QuickJS-wasm
    ///
    /// Real libraries: the jobs of configs/libraries.toml (markdown, YAML,
    /// parsers, templating, ...) on native XS, every release variant,
    /// QuickJS-wasm and Node; each job's summary (length and hash of its
    /// output) is compared with Node's (configs/libraries-expected.json,
    /// `--record` rewrites it); fails when one differs. Writes
    /// target/libs/libraries.json, .svg and .md.
    Libs(WithOutput<libs::LibsOptions>),
    /// Serve one WASI variant's machines over stdin/stdout for `libs` (internal)
    #[command(hide = true)]
    LibsWorker(LibsWorkerArgs),
    /// Bytes of each variant by wasm section and by source file, with gzip and brotli; --against compares with a manifest
    ///
    /// Bytes of each variant (default: the release variants) by file, by wasm
    /// section and by source file (attributed through a profiling link of the
    /// same objects with names and a linker map, through the same wasm-opt
    /// pass), with gzip and brotli; writes target/size/size.json and a treemap
    /// target/size/<variant>.svg. `--against` compares every file's sizes
    /// with a manifest, e.g. the committed one (HEAD:artifacts/manifest.json).
    Size(WithOutput<size::SizeOptions>),
    /// Regenerate the loaders' ABI files (crates/xs-wasm/src/abi.rs, js/src/abi.mjs) from port/xs_wasm.h
    ///
    /// Regenerate the loaders' ABI files (crates/xs-wasm/src/abi.rs,
    /// js/src/abi.mjs) from port/xs_wasm.h, and check the exports of
    /// configs/variants.toml against it. `cargo xtask test` fails while they
    /// are stale.
    Codegen(CodegenArgs),
    /// Release files in target/dist/
    ///
    /// Release files in target/dist/: a .tar.gz per toolchain, manifest.json,
    /// the packaged xs-wasm crate (its tests run from the .crate alone), the
    /// npm tarball, CycloneDX SBOMs of both packages, SIZES.md, SHA256SUMS;
    /// checks both packages with `cargo publish --dry-run` and `npm publish
    /// --dry-run`. Needs cargo-cyclonedx 0.5.9 and `npm ci` in js/.
    Dist(WithOutput<dist::DistOptions>),
    /// Crafted snapshots, messages and sources through the crate and the JS package: 0 panics, 0 hangs, only typed errors
    ///
    /// Crafted snapshots (payload bytes and words changed, the header's
    /// checksum recomputed so that XS reads them), and mutated messages and
    /// sources (configs/fuzz/), through the Rust crate (a WASI variant, in
    /// this process) and the JS package (an emscripten variant, in Node).
    /// Deterministic for a --seed. Fails when a case panics the host, does
    /// not end within twice its deadline, or fails with an untyped error.
    Fuzz(WithOutput<fuzz::FuzzOptions>),
}

impl Command {
    fn output(&self) -> &Output {
        match self {
            Command::Fetch(a) => &a.output,
            Command::Build(a) => &a.output,
            Command::Test(a) => &a.output,
            Command::Verify(a) => &a.output,
            Command::Test262(a) => &a.output,
            Command::Bench(a) => &a.output,
            Command::Libs(a) => &a.output,
            Command::LibsWorker(a) => &a.output,
            Command::Size(a) => &a.output,
            Command::Codegen(a) => &a.output,
            Command::Dist(a) => &a.output,
            Command::Fuzz(a) => &a.output,
        }
    }
}

#[derive(Debug, Args)]
struct FetchArgs {
    #[command(flatten)]
    output: Output,
}

/// A command's flags (its options struct) and `--quiet`/`--verbose`.
#[derive(Debug, Args)]
struct WithOutput<T: Args> {
    #[command(flatten)]
    options: T,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Parallel jobs (default: the available cores)
    #[arg(short, long, value_name = "N", value_parser = cli::jobs, default_value_t = cli::default_jobs(), hide_default_value = true)]
    jobs: usize,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct LibsWorkerArgs {
    /// The artifacts directory
    #[arg(long)]
    artifacts: std::path::PathBuf,
    /// The WASI variant
    #[arg(long)]
    variant: String,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct CodegenArgs {
    #[command(flatten)]
    output: Output,
}

fn run(cli: Cli) -> Result<()> {
    let progress = Progress::new(cli.verbosity());
    let Some(command) = cli.command else {
        Cli::command().print_help()?;
        return Ok(());
    };
    let ws = workspace::Workspace::of(&util::repo_root());
    let repo = &ws.repo;
    match command {
        Command::Fetch(_) => {
            let configs = config::Configs::load(repo)?;
            fetch::fetch(&ws, &configs.moddable.source(), &progress)?;
        }
        Command::Build(args) => build::build(&ws, &args.options, &progress)?,
        Command::Test(args) => test::test(&ws, args.jobs, &progress)?,
        Command::Verify(args) => {
            let options = verify::VerifyOptions { perturb: verify::Perturbation::from_env()?, ..args.options };
            verify::verify(&ws, &options, &progress)?;
        }
        Command::Test262(args) => test262::test262(&ws, &args.options, &progress)?,
        Command::Bench(args) => bench::bench(&ws, &args.options, &progress)?,
        Command::Libs(args) => libs::libs(&ws, &args.options, &progress)?,
        Command::LibsWorker(args) => libs::worker(&args.artifacts, &args.variant)?,
        Command::Size(args) => size::size(&ws, &args.options, &progress)?,
        Command::Codegen(_) => codegen::codegen(repo, &progress)?,
        Command::Dist(args) => dist::dist(&ws, &args.options, &progress)?,
        Command::Fuzz(args) => fuzz::fuzz(&ws, &args.options, &progress)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
    }

    fn command(args: &[&str]) -> Command {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}")).command.unwrap_or_else(|| panic!("{args:?}: no command"))
    }

    /// The error of a command line that must not parse, as text.
    fn refused(args: &[&str]) -> String {
        match parse(args) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn build_flags_parse_in_both_spellings() {
        let cli = parse(&["build", "--variants", "wasi-os,emcc-os", "--jobs=3", "-q"]).unwrap();
        assert_eq!(cli.verbosity(), Verbosity::Quiet);
        let Some(Command::Build(args)) = cli.command else { panic!("{cli:?}") };
        assert_eq!(args.options.variants.unwrap(), ["wasi-os", "emcc-os"]);
        assert_eq!(args.options.jobs, 3);
        assert!(!args.options.force);
        let cli = parse(&["--verbose", "build", "--variants=wasi-os", "--variants", " emcc-os ", "--force", "-j", "2"]).unwrap();
        assert_eq!(cli.verbosity(), Verbosity::Verbose);
        let Some(Command::Build(args)) = cli.command else { panic!("{cli:?}") };
        assert_eq!(args.options.variants.unwrap(), ["wasi-os", "emcc-os"], "repeated --variants add up, names are trimmed");
        assert!(args.options.force);
        assert_eq!(args.options.jobs, 2);
    }

    #[test]
    fn defaults_are_every_variant_the_available_cores_and_normal_output() {
        let cli = parse(&["build"]).unwrap();
        assert_eq!(cli.verbosity(), Verbosity::Normal);
        let Some(Command::Build(args)) = cli.command else { panic!("{cli:?}") };
        assert_eq!(args.options.variants, None);
        assert_eq!(args.options.jobs, cli::default_jobs());
        assert!(cli::default_jobs() >= 1);
    }

    #[test]
    fn quiet_and_verbose_are_global_and_the_last_one_wins() {
        assert_eq!(parse(&["-q", "fetch"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["fetch", "--quiet"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["test", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["--verbose", "build", "--force"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["build", "-q", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["build", "-v", "-q"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["-q", "build", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["-v", "build", "--quiet"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["-v", "-q", "build", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["-q", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
    }

    #[test]
    fn no_command_is_help_and_help_is_clap_s() {
        // `cargo xtask` alone: `run` prints the help and succeeds.
        assert!(parse(&[]).unwrap().command.is_none());
        assert!(parse(&["-q"]).unwrap().command.is_none());
        for args in [&["help"][..], &["--help"], &["-h"], &["help", "test262"], &["bench", "--help"]] {
            assert_eq!(parse(args).unwrap_err().kind(), ErrorKind::DisplayHelp, "{args:?}");
        }
    }

    #[test]
    fn the_help_names_every_command_and_flag() {
        let help = Cli::command().render_long_help().to_string();
        for name in ["fetch", "build", "test", "verify", "test262", "bench", "size", "dist", "help", "--quiet", "--verbose"] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
        let flags: &[(&str, &[&str])] = &[
            ("build", &["--variants <A,B>", "--jobs <N>", "--force"]),
            ("test", &["--jobs <N>"]),
            ("verify", &["--variants <A,B>", "--jobs <N>", "--keep"]),
            ("test262", &["--variants <A,B>", "--filter <GLOB>", "--sample <N>", "--update-expected", "--jobs <N>"]),
            ("bench", &["--variants <A,B>", "--quick", "--update-docs", "--no-peer", "--jobs <N>"]),
            ("libs", &["--variants <A,B>", "--only <NAME,NAME>", "--quick", "--record", "--update-docs", "--no-peer", "--check", "--render", "--timeout <SECONDS>"]),
            ("size", &["--variants <A,B>", "--against <MANIFEST>"]),
            ("dist", &["--publish"]),
        ];
        let mut cli = Cli::command();
        for (name, flags) in flags {
            let help = cli.find_subcommand_mut(name).unwrap().render_long_help().to_string();
            for flag in *flags {
                assert!(help.contains(flag), "{flag} missing from the help of {name}:\n{help}");
            }
        }
    }

    #[test]
    fn bad_values_are_errors_that_say_what_is_wrong() {
        assert!(refused(&["build", "--jobs", "0"]).contains("--jobs"));
        assert!(refused(&["build", "--jobs", "many"]).contains("--jobs"));
        assert!(refused(&["build", "--variants"]).contains("--variants"));
        assert!(refused(&["build", "--variants", ""]).contains("empty variant name"));
        assert!(refused(&["build", "--variants", "wasi-os,,emcc-os"]).contains("empty variant name"));
        assert!(refused(&["build", "--colour"]).contains("--colour"));
        assert!(refused(&["deploy"]).contains("deploy"));
        assert!(refused(&["build", "extra"]).contains("extra"));
    }

    #[test]
    fn test262_flags_parse_and_belong_to_test262() {
        let Command::Test262(args) = command(&["test262", "--variants", "wasi-os", "--filter", "test/built-ins/Array/**", "--sample=20", "--update-expected", "-j", "1"]) else { panic!() };
        assert_eq!(args.options.variants.unwrap(), ["wasi-os"]);
        assert_eq!(args.options.filter.as_deref(), Some("test/built-ins/Array/**"));
        assert_eq!(args.options.sample, Some(20));
        assert!(args.options.update_expected);
        assert_eq!(args.options.jobs, 1);
        let Command::Test262(args) = command(&["test262"]) else { panic!() };
        assert_eq!((args.options.filter, args.options.sample, args.options.update_expected), (None, None, false));
        assert!(refused(&["test262", "--sample", "0"]).contains("--sample"));
        for flag in [&["--filter", "x"][..], &["--sample", "2"], &["--update-expected"]] {
            for other in ["build", "test", "verify", "bench", "dist", "fetch"] {
                let args: Vec<&str> = std::iter::once(other).chain(flag.iter().copied()).collect();
                assert!(refused(&args).contains(flag[0]), "{args:?}");
            }
        }
    }

    #[test]
    fn libs_flags_parse_and_the_quick_mode_stands_alone() {
        let Command::Libs(args) = command(&["libs", "--variants", "wasi-os", "--jobs-filter", "marked,lodash", "--quick", "--update-docs", "--no-peer", "--timeout", "30"]) else { panic!() };
        assert_eq!(args.options.only.unwrap(), ["marked", "lodash"]);
        assert!(args.options.quick && args.options.update_docs && !args.options.peer && !args.options.record && !args.options.check && args.options.timeout == std::time::Duration::from_secs(30));
        let Command::Libs(args) = command(&["libs", "--only", "acorn", "--record"]) else { panic!() };
        assert!(args.options.record && args.options.only.unwrap() == ["acorn"]);
        let Command::Libs(args) = command(&["libs"]) else { panic!() };
        assert_eq!(args.options.timeout, libs::DEFAULT_TIMEOUT, "--timeout's default is DEFAULT_TIMEOUT");
        assert!(args.options.peer && args.options.only.is_none());
        assert!(refused(&["libs", "--check", "--record"]).contains("--record"));
        assert!(refused(&["libs", "--timeout", "0"]).contains("--timeout"));
        assert!(refused(&["bench", "--record"]).contains("--record"));
    }

    #[test]
    fn bench_flags_parse_and_belong_to_bench() {
        let Command::Bench(args) = command(&["bench", "--variants", "wasi-o2,emcc-o2", "--quick", "--update-docs", "--no-peer"]) else { panic!() };
        assert_eq!(args.options.variants.unwrap(), ["wasi-o2", "emcc-o2"]);
        assert!(args.options.quick && args.options.update_docs && !args.options.peer);
        let Command::Bench(args) = command(&["bench"]) else { panic!() };
        assert!(!args.options.quick && !args.options.update_docs && args.options.peer);
        for flag in ["--quick", "--update-docs", "--no-peer"] {
            for other in ["build", "test", "verify", "test262", "dist", "fetch"] {
                assert!(refused(&[other, flag]).contains(flag), "{other} {flag}");
            }
        }
    }

    #[test]
    fn size_flags_parse_and_belong_to_size() {
        let Command::Size(args) = command(&["size", "--variants", "emcc-oz,wasi-oz", "--against", "HEAD:artifacts/manifest.json", "-q"]) else { panic!() };
        assert_eq!(args.options.variants.unwrap(), ["emcc-oz", "wasi-oz"]);
        assert_eq!(args.options.against.as_deref(), Some("HEAD:artifacts/manifest.json"));
        let Command::Size(args) = command(&["size"]) else { panic!() };
        assert_eq!((args.options.variants, args.options.against), (None, None));
        assert!(refused(&["size", "--against"]).contains("--against"));
        assert!(refused(&["size", "--jobs", "2"]).contains("--jobs"));
        for other in ["build", "test", "verify", "test262", "bench", "dist", "fetch"] {
            assert!(refused(&[other, "--against", "x.json"]).contains("--against"), "{other}");
        }
    }

    #[test]
    fn verify_dist_fetch_and_test_take_their_own_flags_only() {
        let Command::Verify(args) = command(&["verify", "--variants", "wasi-os,emcc-os", "--keep", "-j", "2"]) else { panic!() };
        assert_eq!(args.options.variants.unwrap(), ["wasi-os", "emcc-os"]);
        assert!(args.options.keep);
        assert_eq!(args.options.jobs, 2);
        let Command::Dist(args) = command(&["dist", "--publish"]) else { panic!() };
        assert!(args.options.publish);
        let Command::Dist(args) = command(&["dist"]) else { panic!() };
        assert!(!args.options.publish);
        let Command::Test(args) = command(&["test", "--jobs", "4"]) else { panic!() };
        assert_eq!(args.jobs, 4);
        assert!(matches!(command(&["fetch", "-v"]), Command::Fetch(_)));
        // `verify` always builds from scratch; `dist` packages every variant;
        // `fetch` only fetches; `test` runs everything.
        assert!(refused(&["verify", "--force"]).contains("--force"));
        assert!(refused(&["build", "--keep"]).contains("--keep"));
        assert!(refused(&["verify", "--publish"]).contains("--publish"));
        for flag in [&["--variants", "wasi-os"][..], &["--jobs", "2"], &["--force"], &["--keep"]] {
            for other in ["dist", "fetch"] {
                let args: Vec<&str> = std::iter::once(other).chain(flag.iter().copied()).collect();
                assert!(refused(&args).contains(flag[0]), "{args:?}");
            }
        }
        assert!(refused(&["test", "--variants", "wasi-os"]).contains("--variants"));
        assert!(refused(&["fetch", "--publish"]).contains("--publish"));
    }

    /// The invocations the README shows, parsed as documented.
    #[test]
    fn the_readme_s_examples_mean_what_it_says() {
        let Command::Build(args) = command(&["build", "--variants", "wasi-os,emcc-os", "--jobs", "2"]) else { panic!() };
        assert_eq!((args.options.variants.unwrap(), args.options.jobs), (vec!["wasi-os".to_owned(), "emcc-os".to_owned()], 2));
        let Command::Test262(args) = command(&["test262", "--variants", "wasi-o2", "--filter", "test/built-ins/Array/**"]) else { panic!() };
        assert_eq!((args.options.variants.unwrap(), args.options.filter.unwrap()), (vec!["wasi-o2".to_owned()], "test/built-ins/Array/**".to_owned()));
        let Command::Test262(args) = command(&["test262", "--variants", "wasi-os,emcc-os", "--sample", "20"]) else { panic!() };
        assert_eq!((args.options.variants.unwrap(), args.options.sample), (vec!["wasi-os".to_owned(), "emcc-os".to_owned()], Some(20)));
        let Command::Bench(args) = command(&["bench", "--variants", "wasi-o2,emcc-o2", "--quick"]) else { panic!() };
        assert!(args.options.quick && args.options.jobs == cli::default_jobs());
        let Command::Verify(args) = command(&["verify", "--variants", "emcc-o0,wasi-os"]) else { panic!() };
        assert_eq!(args.options.variants.unwrap(), ["emcc-o0", "wasi-os"]);
        for args in [&["fetch"][..], &["build"], &["test"], &["test262"], &["bench"], &["verify"], &["dist"], &["dist", "--publish"], &["build", "--quiet"], &["build", "--verbose"]] {
            command(args);
        }
    }

    /// Every `cargo xtask …` in the README, the JS package's README, the CI
    /// script and the workflows, with where it is: the words after
    /// `cargo xtask` up to the end of the line, a backtick, `#`, `;` or `)`,
    /// quotes removed (a shell would).
    fn documented_invocations() -> Vec<(String, Vec<String>)> {
        let repo = util::repo_root();
        let mut files = vec![repo.join("README.md"), repo.join("js/README.md"), repo.join(".ci/run")];
        let mut workflows: Vec<_> = std::fs::read_dir(repo.join(".github/workflows")).unwrap().map(|e| e.unwrap().path()).collect();
        workflows.sort();
        files.extend(workflows);
        let mut found = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for (n, line) in text.lines().enumerate() {
                for (at, _) in line.match_indices("cargo xtask") {
                    let rest = &line[at + "cargo xtask".len()..];
                    let rest = &rest[..rest.find(['`', '#', ';', ')']).unwrap_or(rest.len())];
                    let args = rest.split_whitespace().map(|w| w.trim_matches(['\'', '"']).to_owned()).collect();
                    found.push((format!("{}:{}", util::display_relative(&file, &repo), n + 1), args));
                }
            }
        }
        found
    }

    #[test]
    fn every_documented_invocation_parses() {
        let found = documented_invocations();
        for (place, args) in &found {
            match Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().map(String::as_str))) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::DisplayHelp => {}
                Err(e) => panic!("{place}: `cargo xtask {}` does not parse:\n{e}", args.join(" ")),
            }
        }
        // The scan did find them: every command, and invocations with flags.
        let lines: Vec<String> = found.iter().map(|(_, args)| args.join(" ")).collect();
        for name in ["fetch", "build", "test", "verify", "test262", "bench", "size", "dist", "help"] {
            assert!(lines.iter().any(|l| l.split(' ').next() == Some(name)), "no documented `cargo xtask {name}` found in: {lines:#?}");
        }
        let with_flags = lines.iter().filter(|l| l.contains(" --")).count();
        assert!(with_flags >= 5, "only {with_flags} documented invocations with flags found: {lines:#?}");
    }
}
