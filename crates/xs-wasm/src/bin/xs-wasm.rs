//! `xs-wasm`: run JavaScript in an xs-wasm sandbox from the command line.
//!
//! Exit status: 0 success, 1 JS exception, 2 meter limit, 3 bad usage, I/O
//! or snapshot error (and any other failure), 4 deadline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use xs_wasm::{Creation, Error, FsLoader, Machine, ModuleCache, Options, Runtime, RuntimeOptions};

/// Run JavaScript in a sandboxed XS machine (Moddable XS on WebAssembly).
///
/// Prints the completion value of the script as JSON on stdout (with `run`,
/// a promise is awaited and bytes are an array of numbers; with `eval`, the
/// value at once, as `Machine::eval` gives it), after running the script's
/// timers and host calls until none is left. Guest
/// console output goes to stderr.
///
/// Exit status: 0 success; 1 the script threw (prints `Name: message` and
/// the stack on stderr); 2 the meter limit was reached; 3 bad usage, I/O
/// error, snapshot error, or any other failure (out of memory included); 4
/// the deadline was reached.
///
/// Compiled-module cache: the first run compiles the engine (about a second)
/// and keeps the result in a cache directory; later runs start in
/// milliseconds. The directory is --cache-dir, else $XS_WASM_CACHE_DIR
/// (empty: no cache), else $XDG_CACHE_HOME/xs-wasm or ~/.cache/xs-wasm
/// (Linux), ~/Library/Caches/xs-wasm (macOS), %LOCALAPPDATA%\xs-wasm
/// (Windows). --no-cache or XS_WASM_CACHE=off turn it off. A corrupt or
/// foreign entry is replaced; an unwritable directory only costs the
/// compilation.
#[derive(Parser, Debug)]
#[command(name = "xs-wasm", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Stop the script after this many XS meter ticks.
    #[arg(long, global = true, value_name = "TICKS")]
    meter_limit: Option<u32>,
    /// Wall-clock time each step (creating or restoring the machine, the
    /// script, writing the snapshot) may take, in milliseconds.
    #[arg(long, global = true, value_name = "MS", default_value_t = 60_000, conflicts_with = "no_deadline")]
    deadline_ms: u64,
    /// No deadline (only the meter limit, if any, stops an endless script).
    #[arg(long, global = true)]
    no_deadline: bool,
    /// Memory limit of the machine in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 256 << 20)]
    memory_limit: usize,
    /// Start from this snapshot instead of a fresh machine.
    #[arg(long, global = true, value_name = "FILE")]
    snapshot_in: Option<PathBuf>,
    /// After running, write the machine's snapshot to this file, atomically:
    /// to a temporary file in the same directory, flushed to disk, then
    /// renamed over FILE (a kill or a full disk leaves the previous FILE as
    /// it was).
    #[arg(long, global = true, value_name = "FILE")]
    snapshot_out: Option<PathBuf>,
    /// Authenticate snapshots with the key in this file (its bytes, at least
    /// 16; 32 random bytes recommended): --snapshot-out writes an HMAC-SHA256
    /// after the snapshot, and --snapshot-in refuses a snapshot without this
    /// key's MAC (exit 3). Without it, an --snapshot-in file is untrusted
    /// input, bounded only by the deadline and the limits.
    #[arg(long, global = true, value_name = "FILE")]
    snapshot_key_file: Option<PathBuf>,
    /// Load this WASI variant from ARTIFACTS_DIR instead of the embedded one.
    #[arg(long, global = true, value_name = "VARIANT", requires = "artifacts")]
    variant: Option<String>,
    /// Directory with manifest.json and <variant>/xs-wasm.wasm.
    #[arg(long, global = true, value_name = "ARTIFACTS_DIR")]
    artifacts: Option<PathBuf>,
    /// Run on this pre-initialized module (made by `xs-wasm preinit` from the
    /// same engine module; checked against it before use).
    #[arg(long, global = true, value_name = "FILE")]
    module: Option<PathBuf>,
    /// Give the script the real clock (Date.now), and fire its timers on
    /// wall time; off for determinism (a virtual clock that jumps to each
    /// timer's due time: a script's timers fire at once, in order).
    #[arg(long, global = true)]
    real_clock: bool,
    /// Grant the script one file: `host.NAME()` returns a promise of the
    /// file's bytes (a Uint8Array), read when called. Repeatable.
    #[arg(long = "host-file", global = true, value_name = "NAME=PATH", value_parser = host_file)]
    host_files: Vec<(String, PathBuf)>,
    /// Start the machine locked down (Hardened JavaScript's lockdown():
    /// the intrinsics frozen before the script runs). With `preinit`: the
    /// module's machine is locked down after the setup files, so every
    /// machine made from it starts locked. Ignored with --snapshot-in (a
    /// snapshot restores as it was written).
    #[arg(long, global = true)]
    lockdown: bool,
    /// Leave out the web-standard globals (TextEncoder, TextDecoder, URL,
    /// URLSearchParams, DOMException, atob, btoa, structuredClone,
    /// queueMicrotask, performance): a bare machine.
    /// Ignored with --snapshot-in.
    #[arg(long, global = true)]
    no_web_globals: bool,
    /// After running, print the machine's heap statistics (XS's chunk, slot
    /// and key counts after a full garbage collection, and the linear
    /// memory; `xs_wasm::HeapStatistics`) on stderr as one line of JSON.
    #[arg(long, global = true)]
    heap_statistics: bool,
    /// Keep compiled modules in DIR (created if missing) instead of the default cache directory.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Compile the module without reading or writing the compiled-module cache.
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(flatten)]
    creation: CreationArgs,
}

/// XS creation parameters (`xs_wasm::Creation`); unset: the port's default.
#[derive(Args, Debug)]
#[command(next_help_heading = "Creation (XS heap and stack sizes; ignored with --snapshot-in)")]
struct CreationArgs {
    /// JS stack, in slots (16 bytes each; default 131072, about 13,000 levels of plain recursion).
    #[arg(long, global = true, value_name = "SLOTS")]
    stack_count: Option<u32>,
    /// First slot heap, in slots (default 16384).
    #[arg(long, global = true, value_name = "SLOTS")]
    initial_heap_count: Option<u32>,
    /// Slot heap growth step, in slots (default 8192).
    #[arg(long, global = true, value_name = "SLOTS")]
    incremental_heap_count: Option<u32>,
    /// First chunk block, in bytes (default 256 KiB).
    #[arg(long, global = true, value_name = "BYTES")]
    initial_chunk_size: Option<u32>,
    /// Chunk block growth step, in bytes (default 256 KiB).
    #[arg(long, global = true, value_name = "BYTES")]
    incremental_chunk_size: Option<u32>,
    /// Initial property-key table, in keys (default 2048).
    #[arg(long, global = true, value_name = "KEYS")]
    initial_key_count: Option<u32>,
    /// Key table growth step, in keys (default 1024).
    #[arg(long, global = true, value_name = "KEYS")]
    incremental_key_count: Option<u32>,
    /// Parser arena, in bytes (default 1 MiB).
    #[arg(long, global = true, value_name = "BYTES")]
    parser_buffer_size: Option<u32>,
    /// Name hash table size (default 1993).
    #[arg(long, global = true, value_name = "N")]
    name_modulo: Option<u32>,
    /// Symbol hash table size (default 127).
    #[arg(long, global = true, value_name = "N")]
    symbol_modulo: Option<u32>,
    /// Parser hash table size (default 1993).
    #[arg(long, global = true, value_name = "N")]
    parser_table_modulo: Option<u32>,
}

impl CreationArgs {
    fn creation(&self) -> Creation {
        Creation {
            stack_count: self.stack_count.unwrap_or(0),
            initial_heap_count: self.initial_heap_count.unwrap_or(0),
            incremental_heap_count: self.incremental_heap_count.unwrap_or(0),
            initial_chunk_size: self.initial_chunk_size.unwrap_or(0),
            incremental_chunk_size: self.incremental_chunk_size.unwrap_or(0),
            initial_key_count: self.initial_key_count.unwrap_or(0),
            incremental_key_count: self.incremental_key_count.unwrap_or(0),
            parser_buffer_size: self.parser_buffer_size.unwrap_or(0),
            name_modulo: self.name_modulo.unwrap_or(0),
            symbol_modulo: self.symbol_modulo.unwrap_or(0),
            parser_table_modulo: self.parser_table_modulo.unwrap_or(0),
        }
    }
}

/// `NAME=PATH` of --host-file.
fn host_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok((name.to_owned(), PathBuf::from(path))),
        _ => Err(format!("{text:?} is not NAME=PATH")),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a script file, or a module (a `.mjs` file, or any file with
    /// --module-mode). A script runs through the event loop: a promise
    /// completion is awaited (timers fire, host calls settle), and its value
    /// printed; a module prints its namespace (its exports) as JSON.
    ///
    /// Imports (static, `import()` from scripts and modules, JSON modules
    /// with `with { type: "json" }`) load files under --root (default: the
    /// file's directory): "./" and "../" specifiers from the importing
    /// module's directory, "/" ones from the root, bare names only through
    /// --map. A path outside the root, or a bare name without a mapping, is
    /// an error naming it (a TypeError in the guest, exit 1).
    Run {
        /// The script (sloppy-mode global code) or module.
        file: PathBuf,
        /// Run FILE as a module whatever its extension.
        #[arg(long)]
        module_mode: bool,
        /// The directory modules are loaded from (default: FILE's directory);
        /// FILE must be inside it.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Map a bare specifier to a file under the root, e.g.
        /// `--map lodash=./vendor/lodash.mjs` (repeatable).
        #[arg(long = "map", value_name = "NAME=SPECIFIER")]
        maps: Vec<String>,
    },
    /// Evaluate the code given on the command line (its completion printed
    /// at once, as JSON; then its timers and host calls run until idle).
    Eval {
        /// The code.
        code: String,
    },
    /// Make a pre-initialized module: the engine's module with a machine
    /// already created in its memory and the setup files run in it (in
    /// order), so `--module OUTPUT run FILE` starts from that state without
    /// XS's start-up or the setup's cost. Uses the creation flags; prints
    /// the output's size and sha256 as JSON.
    Preinit {
        /// Setup scripts (sloppy-mode global code), run once, in order.
        #[arg(required = true)]
        setup: Vec<PathBuf>,
        /// Where to write the module.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.clone(), source })
}

/// The engine's runtime and the bytes of its module: the embedded module,
/// or `<ARTIFACTS_DIR>/<VARIANT>/xs-wasm.wasm`.
fn base(cli: &Cli, options: &RuntimeOptions) -> Result<(Runtime, Vec<u8>), Error> {
    match (&cli.artifacts, &cli.variant) {
        (Some(dir), variant) => {
            let variant = variant.as_deref().unwrap_or("wasi-os");
            let runtime = Runtime::from_artifacts_dir_with(dir, variant, options)?;
            Ok((runtime, read(&dir.join(variant).join(xs_wasm::WASI_MODULE_FILE))?))
        }
        (None, _) => embedded(options),
    }
}

/// The runtime to run on: `--module`'s (checked against the engine's
/// module), else the engine's.
fn runtime(cli: &Cli) -> Result<Runtime, Error> {
    let module_cache = match (&cli.cache_dir, cli.no_cache) {
        (_, true) => ModuleCache::Off,
        (Some(dir), false) => ModuleCache::Dir(dir.clone()),
        (None, false) => ModuleCache::Default,
    };
    // One machine per process: a machine pool would only cost its reservation.
    let options = RuntimeOptions { module_cache, pooling: None, ..RuntimeOptions::default() };
    let (runtime, bytes) = base(cli, &options)?;
    match &cli.module {
        Some(path) => runtime.from_preinitialized(&read(path)?, &bytes, &options),
        None => Ok(runtime),
    }
}

#[cfg(feature = "embed")]
fn embedded(options: &RuntimeOptions) -> Result<(Runtime, Vec<u8>), Error> {
    Ok((Runtime::new_with(options)?, Runtime::embedded_module().to_vec()))
}

#[cfg(not(feature = "embed"))]
fn embedded(_: &RuntimeOptions) -> Result<(Runtime, Vec<u8>), Error> {
    Err(Error::Manifest("this build has no embedded artifact: pass --artifacts DIR".into()))
}

/// `preinit`: write the module, report its size and sha256.
fn preinit(cli: &Cli, setup: &[PathBuf], output: &PathBuf) -> Result<serde_json::Value, Error> {
    let scripts = setup.iter().map(|path| std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.clone(), source })).collect::<Result<Vec<_>, _>>()?;
    let mut scripts: Vec<&str> = scripts.iter().map(String::as_str).collect();
    if cli.no_web_globals {
        return Err(Error::InvalidOptions("--no-web-globals: a pre-initialized module keeps a machine with the web-standard globals (create bare machines from the engine's module instead)".into()));
    }
    if cli.lockdown {
        scripts.push("try { lockdown(); } catch (error) { if (!Object.isFrozen(Object.prototype)) throw error; }");
    }
    let (runtime, bytes) = base(cli, &RuntimeOptions { module_cache: ModuleCache::Off, pooling: None, ..RuntimeOptions::default() })?;
    let module = xs_wasm::preinit::preinitialize(&bytes, runtime.artifact(), cli.creation.creation(), &scripts)?;
    std::fs::write(output, &module).map_err(|source| Error::Io { path: output.clone(), source })?;
    Ok(serde_json::json!({ "output": output, "bytes": module.len(), "sha256": xs_wasm::sha256_hex(&module), "base_sha256": runtime.artifact().sha256 }))
}

/// What `run` runs: a script's source, or a module's id under a loader.
enum Job {
    Script(String, Option<FsLoader>),
    Module(String, FsLoader),
}

/// The loader of `run FILE` (root: --root or FILE's directory, with the
/// --map mappings) and FILE's module id under it.
fn file_loader(file: &std::path::Path, root: Option<&PathBuf>, maps: &[String]) -> Result<(FsLoader, String), Error> {
    let io = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let real = file.canonicalize().map_err(io(file))?;
    let root = match root {
        Some(dir) => dir.clone(),
        None => real.parent().map(std::path::Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/")),
    };
    let mut loader = FsLoader::new(&root).map_err(io(&root))?;
    let relative = real.strip_prefix(loader.root()).map_err(|_| Error::InvalidOptions(format!("{} is outside --root {}: modules are loaded from under the root only", file.display(), root.display())))?;
    let id: String = relative.components().map(|c| format!("/{}", c.as_os_str().to_string_lossy())).collect();
    // a script's import() resolves "./" from the script's directory
    loader = loader.with_base(id.rsplit_once('/').map_or("", |(dir, _)| dir));
    for map in maps {
        let (name, target) = map.split_once('=').ok_or_else(|| Error::InvalidOptions(format!("--map {map:?}: expected NAME=SPECIFIER")))?;
        loader = loader.map(name, target);
    }
    Ok((loader, id))
}

fn run(cli: &Cli) -> Result<serde_json::Value, Error> {
    let job = match &cli.command {
        Command::Run { file, module_mode, root, maps } => {
            let source = std::fs::read_to_string(file).map_err(|source| Error::Io { path: file.clone(), source })?;
            let (loader, id) = file_loader(file, root.as_ref(), maps)?;
            if *module_mode || file.extension().is_some_and(|e| e == "mjs") {
                Job::Module(id, loader)
            } else {
                Job::Script(source, Some(loader))
            }
        }
        Command::Eval { code } => Job::Script(code.clone(), None),
        Command::Preinit { setup, output } => return preinit(cli, setup, output),
    };
    let runtime = runtime(cli)?;
    let deadline = (!cli.no_deadline).then(|| std::time::Duration::from_millis(cli.deadline_ms));
    let snapshot_key = match &cli.snapshot_key_file {
        Some(path) => Some(xs_wasm::SnapshotKey::new(read(path)?)?),
        None => None,
    };
    let options = Options { meter_limit: cli.meter_limit, memory_limit: cli.memory_limit, real_clock: cli.real_clock, lockdown: cli.lockdown, web_globals: !cli.no_web_globals, creation: cli.creation.creation(), deadline, snapshot_key, ..Options::default() };
    let mut machine = match &cli.snapshot_in {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.clone(), source })?;
            Machine::restore(&runtime, &bytes, options)?
        }
        None => Machine::new(&runtime, options)?,
    };
    for (name, path) in &cli.host_files {
        let path = path.clone();
        machine.register_async_function(name, move |_args| {
            let path = path.clone();
            async move { std::fs::read(&path).map(xs_wasm::JsValue::from).map_err(|e| format!("{}: {e}", path.display())) }
        });
    }
    // `run`: a script's completion through the event loop (a pending
    // promise is awaited), or a module's namespace; `eval`: the completion
    // as JSON at once, as Machine::eval gives it (the same history as the JS
    // package's evaluate(), so the same snapshot bytes). Then both run the
    // loop until idle: timers and host calls left over fire before the exit.
    let value = match job {
        Job::Script(source, Some(loader)) => {
            machine.set_module_loader(loader);
            machine.eval_and_run(&source)?.to_json()
        }
        Job::Script(source, None) => machine.eval(&source)?,
        Job::Module(id, loader) => {
            machine.set_module_loader(loader);
            machine.import(&id)?
        }
    };
    machine.run_until_idle()?;
    if cli.heap_statistics {
        let statistics = machine.heap_statistics(true)?;
        eprintln!("{}", serde_json::to_string(&statistics)?);
    }
    if let Some(path) = &cli.snapshot_out {
        let bytes = machine.snapshot()?;
        write_atomically(path, &bytes).map_err(|source| Error::Io { path: path.clone(), source })?;
    }
    Ok(value)
}

/// Write `bytes` to `path` so that `path` is at every moment either its old
/// contents or all of `bytes`: a temporary file in the same directory
/// (same file system, so the rename is atomic), its data flushed to disk,
/// renamed over `path`, then the directory flushed (Unix) so the rename
/// itself survives a crash. On failure the temporary file is removed.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut file = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(&dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 3 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli) {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(Error::Js { name, message, stack }) => {
            if name.is_empty() {
                eprintln!("Uncaught {message}");
            } else {
                eprintln!("{name}: {message}");
            }
            if !stack.is_empty() {
                eprintln!("{stack}");
            }
            ExitCode::from(1)
        }
        Err(e @ Error::MeterLimit { .. }) => {
            eprintln!("xs-wasm: {e}");
            ExitCode::from(2)
        }
        Err(e @ Error::Deadline { .. }) => {
            eprintln!("xs-wasm: {e}");
            ExitCode::from(4)
        }
        Err(e) => {
            eprintln!("xs-wasm: {e}");
            ExitCode::from(3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_creation_field_of_the_abi_has_a_flag_and_no_other() {
        let command = CreationArgs::augment_args(clap::Command::new("xs-wasm"));
        let mut flags: Vec<String> = command.get_arguments().filter_map(|a| a.get_long()).map(str::to_owned).collect();
        let mut fields: Vec<String> = xs_wasm::abi::CREATION_FIELD_NAMES.iter().map(|f| f.replace('_', "-")).collect();
        flags.sort();
        fields.sort();
        assert_eq!(flags, fields);
    }

    #[test]
    fn each_creation_flag_sets_its_field() {
        let args = Cli::try_parse_from(["xs-wasm", "--stack-count", "7", "--parser-table-modulo", "9", "eval", "1"]).unwrap();
        let creation = args.creation.creation();
        assert_eq!((creation.stack_count, creation.parser_table_modulo, creation.initial_chunk_size), (7, 9, 0));
    }
}
