//! `cargo xtask <command>`: the build tool of xs-wasm.
//!
//! Commands: `fetch` (pinned engine source into vendor/moddable), `build`
//! (fetch, toolchains, compile, link, wasm-opt, smoke run, manifest), `test`
//! (build if needed, then every test suite), `verify` (build twice in two
//! places, compare bytes and the committed manifest) and `dist` (release files).
//! Run `cargo xtask help` for the flags.

mod bench;
mod build;
mod config;
mod diff;
mod dist;
mod fetch;
mod loaders;
mod manifest;
mod measure;
mod native;
mod optimize;
mod progress;
mod smoke;
mod test;
mod test262;
mod toolchain;
mod util;
mod verify;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use progress::{Progress, Verbosity};

const HELP: &str = "\
cargo xtask <command> [flags]

Commands:
  fetch                 download, verify and extract the pinned XS sources
                        (configs/moddable.toml) into vendor/moddable
  build                 fetch if needed, provision toolchains, then compile, link,
                        wasm-opt, smoke-run and measure each variant
                        (configs/variants.toml); writes artifacts/
  test                  bring artifacts/ up to date (incremental build), then run
                        cargo test --workspace and the JS package's tests (js/)
  verify                build the variants twice, in two different directories
                        with different HOME/TMPDIR/caches, compare every file
                        (naming the first differing wasm section and offset),
                        and compare with the committed artifacts/manifest.json
                        where the tool versions match
  test262               run test262 (configs/test262.toml) on the native XS
                        reference and the variants, one fresh machine per case;
                        fails when a variant fails a case native XS passes.
                        Default: whole suite on native, wasi-os and emcc-os,
                        1 in 10 on the other variants; writes artifacts/test262.json
  bench                 engine speed: the kernels of configs/bench.toml (Octane,
                        a lodash workload) on native XS and every variant,
                        interleaved, medians and ratios to native; writes
                        target/bench/bench.json and bench.svg
  dist                  release files in target/dist/: a .tar.gz per toolchain,
                        manifest.json, the packaged xs-wasm crate (its tests run
                        from the .crate alone), SIZES.md, SHA256SUMS
  help                  this text

Flags:
  --variants a,b        only these variants (build, verify, test262)
  --filter GLOB         test262: only tests whose path matches (test/built-ins/Array/**)
  --sample N            test262: a fixed 1-in-N sample on every target
  --update-expected     test262: rewrite configs/test262-expected-failures.txt
  --quick               bench: one repetition instead of five
  --update-docs         bench: also copy bench.json and bench.svg to docs/
  --no-peer             bench: leave out the QuickJS-wasm peer (installed from
                        npm with xtask/bench/quickjs/package-lock.json)
  --jobs N              parallel compile jobs (default: available cores)
  --force               rebuild even when up to date (build)
  --keep                keep verify's two build directories even when it passes
  --publish             dist: then `cargo publish` the crate (CARGO_REGISTRY_TOKEN)
  --quiet, -q           print only errors and the final table
  --verbose, -v         also print every command
";

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cli {
    command: Command,
    variants: Option<Vec<String>>,
    jobs: Option<usize>,
    force: bool,
    keep: bool,
    publish: bool,
    filter: Option<String>,
    sample: Option<u32>,
    update_expected: bool,
    quick: bool,
    update_docs: bool,
    no_peer: bool,
    verbosity: Verbosity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Fetch,
    Build,
    Test,
    Verify,
    Test262,
    Bench,
    Dist,
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Cli> {
    let mut cli = Cli { command: Command::Help, variants: None, jobs: None, force: false, keep: false, publish: false, filter: None, sample: None, update_expected: false, quick: false, update_docs: false, no_peer: false, verbosity: Verbosity::Normal };
    let mut command = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().with_context(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--variants" => {
                let list: Vec<String> = value("--variants")?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if list.is_empty() {
                    bail!("--variants needs at least one variant name");
                }
                cli.variants.get_or_insert_with(Vec::new).extend(list);
            }
            "--jobs" | "-j" => {
                let v = value("--jobs")?;
                let n: usize = v.parse().ok().filter(|n| *n > 0).with_context(|| format!("--jobs needs a positive number, not {v:?}"))?;
                cli.jobs = Some(n);
            }
            "--filter" => cli.filter = Some(value("--filter")?),
            "--sample" => {
                let v = value("--sample")?;
                cli.sample = Some(v.parse().ok().filter(|n| *n > 0).with_context(|| format!("--sample needs a positive number, not {v:?}"))?);
            }
            "--update-expected" => cli.update_expected = true,
            "--quick" => cli.quick = true,
            "--update-docs" => cli.update_docs = true,
            "--no-peer" => cli.no_peer = true,
            "--force" => cli.force = true,
            "--keep" => cli.keep = true,
            "--publish" => cli.publish = true,
            "--quiet" | "-q" => cli.verbosity = Verbosity::Quiet,
            "--verbose" | "-v" => cli.verbosity = Verbosity::Verbose,
            "--help" | "-h" => command = Some(Command::Help),
            f if f.starts_with('-') => bail!("unknown flag {f:?} (see `cargo xtask help`)"),
            c => {
                if command.is_some() {
                    bail!("unexpected argument {c:?} (see `cargo xtask help`)");
                }
                command = Some(match c {
                    "fetch" => Command::Fetch,
                    "build" => Command::Build,
                    "test" => Command::Test,
                    "verify" => Command::Verify,
                    "test262" => Command::Test262,
                    "bench" => Command::Bench,
                    "dist" => Command::Dist,
                    "help" => Command::Help,
                    other => bail!("unknown command {other:?} (commands: fetch, build, test, verify, test262, bench, dist, help)"),
                });
            }
        }
    }
    cli.command = command.unwrap_or(Command::Help);
    if cli.command == Command::Fetch && (cli.variants.is_some() || cli.force || cli.jobs.is_some()) {
        bail!("`fetch` takes only --quiet/--verbose");
    }
    if (cli.filter.is_some() || cli.sample.is_some() || cli.update_expected) && cli.command != Command::Test262 {
        bail!("--filter, --sample and --update-expected are flags of `test262`");
    }
    if (cli.quick || cli.update_docs || cli.no_peer) && cli.command != Command::Bench {
        bail!("--quick, --update-docs and --no-peer are flags of `bench`");
    }
    if cli.keep && cli.command != Command::Verify {
        bail!("--keep is a flag of `verify`");
    }
    if cli.publish && cli.command != Command::Dist {
        bail!("--publish is a flag of `dist`");
    }
    if cli.command == Command::Verify && cli.force {
        bail!("`verify` always builds from scratch: it takes no --force");
    }
    if cli.command == Command::Dist && (cli.variants.is_some() || cli.force || cli.jobs.is_some()) {
        bail!("`dist` packages every variant: it takes only --publish and --quiet/--verbose");
    }
    Ok(cli)
}

/// The repository root: the parent of this crate's directory.
fn run(cli: Cli) -> Result<()> {
    let repo = util::repo_root();
    let progress = Progress::new(cli.verbosity);
    match cli.command {
        Command::Help => print!("{HELP}"),
        Command::Fetch => {
            let configs = config::Configs::load(&repo)?;
            fetch::fetch(&fetch::Layout::of_repo(&repo), &configs.moddable.source(), &progress)?;
        }
        Command::Build => {
            let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let options = build::BuildOptions { variants: cli.variants, jobs, force: cli.force, ..build::BuildOptions::default() };
            build::build(&repo, &options, &progress)?;
        }
        Command::Test => {
            let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            test::test(&repo, jobs, &progress)?;
        }
        Command::Verify => {
            let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let options = verify::VerifyOptions { variants: cli.variants, jobs, keep: cli.keep, perturb: verify::Perturbation::from_env()? };
            verify::verify(&repo, &options, &progress)?;
        }
        Command::Test262 => {
            let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let options = test262::Test262Options { variants: cli.variants, filter: cli.filter, sample: cli.sample, jobs, update_expected: cli.update_expected };
            test262::test262(&repo, &options, &progress)?;
        }
        Command::Bench => {
            let jobs = cli.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let options = bench::BenchOptions { variants: cli.variants, quick: cli.quick, update_docs: cli.update_docs, peer: !cli.no_peer, jobs };
            bench::bench(&repo, &options, &progress)?;
        }
        Command::Dist => dist::dist(&repo, &dist::DistOptions { publish: cli.publish }, &progress)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(run);
    match result {
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

    fn parse(args: &[&str]) -> Result<Cli> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn build_flags_parse_in_both_spellings() {
        let cli = parse(&["build", "--variants", "wasi-os,emcc-os", "--jobs=3", "-q"]).unwrap();
        assert_eq!(cli.command, Command::Build);
        assert_eq!(cli.variants.unwrap(), ["wasi-os", "emcc-os"]);
        assert_eq!(cli.jobs, Some(3));
        assert_eq!(cli.verbosity, Verbosity::Quiet);
        let cli = parse(&["--verbose", "build", "--variants=wasi-os", "--force"]).unwrap();
        assert!(cli.force);
        assert_eq!(cli.verbosity, Verbosity::Verbose);
    }

    #[test]
    fn bad_arguments_are_errors_that_say_what_is_wrong() {
        assert!(parse(&["build", "--jobs", "0"]).unwrap_err().to_string().contains("--jobs"));
        assert!(parse(&["build", "--variants"]).unwrap_err().to_string().contains("needs a value"));
        assert!(parse(&["build", "--colour"]).unwrap_err().to_string().contains("--colour"));
        assert!(parse(&["deploy"]).unwrap_err().to_string().contains("deploy"));
        assert!(parse(&["fetch", "--variants", "x"]).is_err());
        assert_eq!(parse(&[]).unwrap().command, Command::Help);
    }

    #[test]
    fn test262_flags_parse_and_belong_to_test262() {
        let cli = parse(&["test262", "--variants", "wasi-os", "--filter", "test/built-ins/Array/**", "--sample=20", "--update-expected"]).unwrap();
        assert_eq!(cli.command, Command::Test262);
        assert_eq!(cli.filter.as_deref(), Some("test/built-ins/Array/**"));
        assert_eq!(cli.sample, Some(20));
        assert!(cli.update_expected);
        assert!(parse(&["test262", "--sample", "0"]).unwrap_err().to_string().contains("--sample"));
        assert!(parse(&["build", "--filter", "x"]).unwrap_err().to_string().contains("test262"));
    }

    #[test]
    fn verify_and_dist_take_their_own_flags_only() {
        let cli = parse(&["verify", "--variants", "wasi-os,emcc-os", "--keep", "-j", "2"]).unwrap();
        assert_eq!(cli.command, Command::Verify);
        assert_eq!(cli.variants.unwrap(), ["wasi-os", "emcc-os"]);
        assert!(cli.keep);
        let cli = parse(&["dist", "--publish"]).unwrap();
        assert_eq!(cli.command, Command::Dist);
        assert!(cli.publish);
        assert!(parse(&["verify", "--force"]).unwrap_err().to_string().contains("--force"));
        assert!(parse(&["build", "--keep"]).unwrap_err().to_string().contains("--keep"));
        assert!(parse(&["verify", "--publish"]).unwrap_err().to_string().contains("--publish"));
        assert!(parse(&["dist", "--variants", "wasi-os"]).is_err());
    }
}
