//! The three ways a script reaches an engine, behind one trait (used by
//! `cargo xtask test262` and `cargo xtask bench`): the WASI variants
//! in-process through the `xs-wasm` crate (wasmtime), the emscripten variants
//! through long-lived Node processes running the JS package
//! (`js/scripts/worker.mjs`), and the native reference runner
//! (`port/native/xs_native_runner.c`). Every request gets a fresh machine. A
//! process that dies or stays silent past the timeout is replaced, and its
//! request counted as failed: a crash never ends the run.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
// std::process::Command, not xshell as elsewhere in the xtask: the workers
// are long-lived children fed through piped stdin and read through piped
// stdout, which xshell's run-to-completion commands cannot do.
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xs_wasm::abi::{XS_WASM_JS_ERROR, XS_WASM_METER_LIMIT, XS_WASM_OK, XS_WASM_OUT_OF_MEMORY, XS_WASM_STACK_OVERFLOW};

/// Scripts to evaluate in order in one fresh machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// UTF-8 sources; evaluation stops at the first that does not complete.
    pub scripts: Vec<String>,
    /// Meter ticks per script (0: unlimited).
    pub meter_limit: u32,
    /// Create the machine with test262's host hooks (`$262`, `print`).
    pub test262_host: bool,
    /// The files the machine's imports load (test262's tests and their
    /// `_FIXTURE` files), and a module to import after the scripts.
    pub module: Option<ModuleRequest>,
}

/// The module loader of a request: the files under `root` (ids are `/` +
/// the path under it; `./` and `../` specifiers resolve from the importing
/// module's directory, or `base` for a script's `import()`, `/` ones from
/// the root; `.json` files are JSON modules), and the module to import
/// after the scripts, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleRequest {
    /// The directory module ids are relative to (absolute).
    pub root: PathBuf,
    /// The directory scripts import from, `/` + its path under the root.
    pub base: String,
    /// The module to import after the scripts, `/` + its path under the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
}

/// How one case ended, as seen by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every script completed.
    Completed,
    /// A script threw; the error's `name` ("" when the thrown value is not an object) and message.
    Threw { name: String, message: String },
    /// The machine was stopped (meter limit, memory limit, stack overflow,
    /// abort, trap) or its process crashed or hung: the reason.
    Stopped(String),
}

/// A request's ending, everything the guest printed (one line per call,
/// `<level> <text>`) and how long the last script ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// `print`/`console` output, one line per call.
    pub log: String,
    /// Wall time of the last script evaluated, microseconds.
    pub micros: u64,
    /// Wall time of creating the request's machine, microseconds, when the
    /// loader reports it. The first request of a fresh worker process also
    /// pays the module's load and compilation (and the JS package's V8 warm-up).
    pub create_micros: Option<u64>,
    /// Bytes of wasm linear memory the machine had at the end (memories only
    /// grow: its peak), when the loader can say.
    pub memory_bytes: Option<u64>,
}

impl Outcome {
    fn stopped(reason: String) -> Outcome {
        Outcome { ending: Ending::Stopped(reason), log: String::new(), micros: 0, create_micros: None, memory_bytes: None }
    }
}

/// Something that runs requests, one at a time, each in a fresh machine.
pub trait Loader: Send {
    /// Run one request.
    fn run(&mut self, request: &Request) -> Outcome;
}

/// xs_wasm_status codes (port/xs_wasm.h) as endings; `payload` is the result buffer.
fn ending_of_status(status: i32, payload: &str) -> Ending {
    match status {
        XS_WASM_OK => Ending::Completed,
        XS_WASM_JS_ERROR => {
            #[derive(Deserialize)]
            struct Thrown {
                name: String,
                message: String,
            }
            match serde_json::from_str::<Thrown>(payload) {
                Ok(t) => Ending::Threw { name: t.name, message: t.message },
                Err(_) => Ending::Stopped(format!("undescribable exception: {payload}")),
            }
        }
        XS_WASM_METER_LIMIT => Ending::Stopped("meter limit reached".into()),
        XS_WASM_OUT_OF_MEMORY => Ending::Stopped("memory limit reached".into()),
        XS_WASM_STACK_OVERFLOW => Ending::Stopped("stack overflow stopped the machine".into()),
        STOPPED_STATUS => Ending::Stopped(payload.to_owned()),
        other => Ending::Stopped(format!("status {other}: {payload}")),
    }
}

// ------------------------------------------------------------ in-process --

/// WASI variants through the `xs-wasm` crate in this process.
pub struct CrateLoader {
    runtime: xs_wasm::Runtime,
}

impl CrateLoader {
    /// The runtime of `<artifacts>/<variant>` (checked against the manifest's sha256), compiled once.
    pub fn runtime(artifacts: &Path, variant: &str) -> Result<xs_wasm::Runtime> {
        xs_wasm::Runtime::from_artifacts_dir(artifacts, variant).with_context(|| format!("loading the {variant} artifact"))
    }

    /// A loader on a compiled runtime (cheap: runtimes share their compiled module).
    pub fn from_runtime(runtime: xs_wasm::Runtime) -> CrateLoader {
        CrateLoader { runtime }
    }

    fn run_scripts(&self, request: &Request) -> Outcome {
        let meter_limit = (request.meter_limit > 0).then_some(request.meter_limit);
        let options = xs_wasm::Options { meter_limit, test262_host: request.test262_host, ..xs_wasm::Options::default() };
        let start = std::time::Instant::now();
        let mut machine = match xs_wasm::Machine::new(&self.runtime, options) {
            Ok(m) => m,
            Err(e) => return Outcome::stopped(format!("cannot create a machine: {e}")),
        };
        let create_micros = Some(start.elapsed().as_micros() as u64);
        let sink = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let writer = sink.clone();
        machine.set_log_handler(move |level, text| {
            let mut log = writer.lock().expect("log lock");
            log.push_str(&format!("{} {text}\n", level as u8));
        });
        let mut ending = Ending::Completed;
        let mut micros = 0;
        if let Some(module) = &request.module {
            match xs_wasm::FsLoader::new(&module.root) {
                Ok(loader) => machine.set_module_loader(loader.with_base(&module.base)),
                Err(e) => return Outcome::stopped(format!("module root {}: {e}", module.root.display())),
            }
        }
        let steps = request.scripts.iter().map(|s| (false, s.as_str())).chain(request.module.iter().filter_map(|m| m.import.as_deref()).map(|m| (true, m)));
        for (import, text) in steps {
            let start = std::time::Instant::now();
            let result = if import { machine.import(text) } else { machine.eval(text) };
            micros = start.elapsed().as_micros() as u64;
            match result {
                Ok(_) => continue,
                Err(xs_wasm::Error::Js { name, message, .. }) => ending = Ending::Threw { name, message },
                Err(other) => ending = Ending::Stopped(other.to_string()),
            }
            break;
        }
        let log = sink.lock().expect("log lock").clone();
        Outcome { ending, log, micros, create_micros, memory_bytes: Some(machine.memory_bytes() as u64) }
    }
}

impl Loader for CrateLoader {
    fn run(&mut self, request: &Request) -> Outcome {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_scripts(request)));
        result.unwrap_or_else(|_| Outcome::stopped("the loader panicked".into()))
    }
}

// ------------------------------------------------------------- processes --

/// How requests and replies travel to a worker process.
pub trait Protocol: Send + 'static {
    /// The command that starts one worker.
    fn command(&self) -> Command;
    /// Write one request.
    fn write(&self, stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()>;
    /// Read one reply (runs on the reader thread).
    fn read(reader: &mut BufReader<std::process::ChildStdout>) -> std::io::Result<Outcome>;
}

/// A worker process, replaced when it dies or hangs.
pub struct ProcessLoader<P: Protocol> {
    protocol: P,
    timeout: Duration,
    stderr: PathBuf,
    worker: Option<(Child, ChildStdin, Receiver<std::io::Result<Outcome>>)>,
}

impl<P: Protocol> ProcessLoader<P> {
    /// A loader whose workers write their stderr to `stderr` and get `timeout` per case.
    pub fn new(protocol: P, timeout: Duration, stderr: PathBuf) -> Self {
        ProcessLoader { protocol, timeout, stderr, worker: None }
    }

    fn start(&mut self) -> Result<()> {
        let log = File::create(&self.stderr).with_context(|| format!("cannot create {}", self.stderr.display()))?;
        let mut command = self.protocol.command();
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(log));
        let mut child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let reply = P::read(&mut stdout);
            let failed = reply.is_err();
            if tx.send(reply).is_err() || failed {
                break;
            }
        });
        self.worker = Some((child, stdin, rx));
        Ok(())
    }

    fn stop(&mut self) -> String {
        let Some((mut child, _, _)) = self.worker.take() else { return String::new() };
        let _ = child.kill();
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
        format!("{status}{}{tail}", if tail.is_empty() { "" } else { "; stderr: " })
    }
}

impl<P: Protocol> Loader for ProcessLoader<P> {
    fn run(&mut self, request: &Request) -> Outcome {
        let stopped = Outcome::stopped;
        if self.worker.is_none() {
            if let Err(e) = self.start() {
                return stopped(format!("{e:#}"));
            }
        }
        let (_, stdin, replies) = self.worker.as_mut().expect("started");
        if let Err(e) = self.protocol.write(stdin, request).and_then(|_| stdin.flush()) {
            let detail = self.stop();
            return stopped(format!("the worker process died ({e}; {detail})"));
        }
        match replies.recv_timeout(self.timeout) {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                let detail = self.stop();
                stopped(format!("the worker process crashed ({e}; {detail})"))
            }
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                stopped(format!("timed out after {} s (worker killed)", self.timeout.as_secs()))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let detail = self.stop();
                stopped(format!("the worker process crashed ({detail})"))
            }
        }
    }
}

impl<P: Protocol> Drop for ProcessLoader<P> {
    fn drop(&mut self) {
        self.stop();
    }
}

// ------------------------------------------------------- native protocol --

/// `port/native/xs_native_runner.c`'s binary protocol (documented there).
pub struct NativeProtocol {
    /// The runner executable.
    pub exe: PathBuf,
}


fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_text(r: &mut impl Read) -> std::io::Result<String> {
    let len = read_u32(r)? as usize;
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl Protocol for NativeProtocol {
    fn command(&self) -> Command {
        Command::new(&self.exe)
    }

    fn write(&self, stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        let flags = if request.test262_host { xs_wasm::abi::XS_WASM_CREATE_TEST262_HOST } else { 0 };
        for n in [flags, request.meter_limit, request.scripts.len() as u32] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        for script in &request.scripts {
            bytes.extend_from_slice(&(script.len() as u32).to_le_bytes());
            bytes.extend_from_slice(script.as_bytes());
        }
        // the loader's root and the scripts' directory as absolute paths
        // (the runner's module ids are paths), the module as a "/"
        // specifier (from the root); empty: none
        let (root, base, import) = match &request.module {
            Some(m) => {
                let root = m.root.display().to_string();
                let import = m.import.clone().unwrap_or_default();
                (root.clone(), format!("{root}{}", m.base), import)
            }
            None => Default::default(),
        };
        for text in [root, base, import] {
            bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
        }
        stdin.write_all(&bytes)
    }

    fn read(reader: &mut BufReader<std::process::ChildStdout>) -> std::io::Result<Outcome> {
        let status = read_u32(reader)?;
        let _index = read_u32(reader)?;
        let _meter = read_u32(reader)?;
        let micros = read_u32(reader)?;
        let payload = read_text(reader)?;
        let log = read_text(reader)?;
        Ok(Outcome { ending: ending_of_status(status as i32, &payload), log, micros: u64::from(micros), create_micros: None, memory_bytes: None })
    }
}

// --------------------------------------------------------- node protocol --

/// `js/scripts/worker.mjs`: one JSON line per request and per reply.
pub struct NodeProtocol {
    /// The worker script.
    pub script: PathBuf,
    /// The directory holding manifest.json and the variants (artifacts/).
    pub artifacts: PathBuf,
    /// The emscripten variant to load.
    pub variant: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeRequest<'a> {
    #[serde(borrow)]
    scripts: std::borrow::Cow<'a, [String]>,
    meter_limit: u32,
    test262_host: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    module: Option<ModuleRequest>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeReply {
    status: i32,
    payload: String,
    log: String,
    micros: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create_micros: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memory_bytes: Option<u64>,
}

/// Write `request` as one JSON line (the worker protocol of `js/scripts/worker.mjs`).
fn write_json_request(stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&NodeRequest { scripts: std::borrow::Cow::Borrowed(&request.scripts), meter_limit: request.meter_limit, test262_host: request.test262_host, module: request.module.clone() })?;
    line.push(b'\n');
    stdin.write_all(&line)
}

/// Read one JSON reply line (the worker protocol of `js/scripts/worker.mjs`).
fn read_json_reply(reader: &mut impl BufRead) -> std::io::Result<Outcome> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the worker closed its output"));
    }
    let reply: NodeReply = serde_json::from_str(&line).map_err(|e| std::io::Error::other(format!("bad reply {line:?}: {e}")))?;
    Ok(Outcome { ending: ending_of_status(reply.status, &reply.payload), log: reply.log, micros: reply.micros, create_micros: reply.create_micros, memory_bytes: reply.memory_bytes })
}

impl Protocol for NodeProtocol {
    fn command(&self) -> Command {
        let mut command = Command::new("node");
        command.arg(&self.script).arg(&self.artifacts).arg(&self.variant);
        command
    }

    fn write(&self, stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()> {
        write_json_request(stdin, request)
    }

    fn read(reader: &mut BufReader<std::process::ChildStdout>) -> std::io::Result<Outcome> {
        read_json_reply(reader)
    }
}

/// Any worker command speaking `js/scripts/worker.mjs`'s JSON line protocol
/// (`xtask/libs/node-worker.mjs`, or this program's own `libs-worker`, which
/// serves a [`CrateLoader`] with [`serve_json_lines`]).
pub struct JsonLineProtocol {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<std::ffi::OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Protocol for JsonLineProtocol {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn write(&self, stdin: &mut ChildStdin, request: &Request) -> std::io::Result<()> {
        write_json_request(stdin, request)
    }

    fn read(reader: &mut BufReader<std::process::ChildStdout>) -> std::io::Result<Outcome> {
        read_json_reply(reader)
    }
}

/// The worker side of the JSON line protocol: run each request line of
/// `input` on `loader` and write its reply line to `output`, until `input` ends.
pub fn serve_json_lines(loader: &mut dyn Loader, input: impl BufRead, mut output: impl Write) -> Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: NodeRequest = serde_json::from_str(&line).context("bad request line")?;
        let outcome = loader.run(&Request { scripts: request.scripts.into_owned(), meter_limit: request.meter_limit, test262_host: request.test262_host, module: request.module });
        let (status, payload) = match outcome.ending {
            Ending::Completed => (XS_WASM_OK, String::new()),
            Ending::Threw { name, message } => (XS_WASM_JS_ERROR, serde_json::json!({ "name": name, "message": message }).to_string()),
            Ending::Stopped(reason) => (STOPPED_STATUS, reason),
        };
        let reply = NodeReply { status, payload, log: outcome.log, micros: outcome.micros, create_micros: outcome.create_micros, memory_bytes: outcome.memory_bytes };
        writeln!(output, "{}", serde_json::to_string(&reply)?)?;
        output.flush()?;
    }
    Ok(())
}

/// The status [`serve_json_lines`] gives a stopped machine: its payload is the reason, verbatim.
const STOPPED_STATUS: i32 = 9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_loader_answers_in_json_lines_that_read_back_as_its_outcomes() {
        struct Fixed(Vec<Outcome>);
        impl Loader for Fixed {
            fn run(&mut self, request: &Request) -> Outcome {
                assert_eq!(request.scripts, ["1+1".to_owned()]);
                self.0.remove(0)
            }
        }
        let threw = Ending::Threw { name: "TypeError".into(), message: "m".into() };
        let outcomes = vec![
            Outcome { ending: threw, log: "1 hi\n".into(), micros: 7, create_micros: Some(3), memory_bytes: Some(65536) },
            Outcome::stopped("timed out".into()),
        ];
        let mut output = Vec::new();
        let request = r#"{"scripts":["1+1"],"meterLimit":0,"test262Host":false}"#;
        serve_json_lines(&mut Fixed(outcomes.clone()), format!("{request}\n\n{request}\n").as_bytes(), &mut output).unwrap();
        let mut reader = &output[..];
        assert_eq!(read_json_reply(&mut reader).unwrap(), outcomes[0]);
        assert_eq!(read_json_reply(&mut reader).unwrap(), outcomes[1]);
        assert!(read_json_reply(&mut reader).is_err(), "two requests, two replies");
    }

    #[test]
    fn statuses_become_endings() {
        assert_eq!(ending_of_status(0, ""), Ending::Completed);
        assert_eq!(ending_of_status(1, r#"{"name":"TypeError","message":"m","stack":""}"#), Ending::Threw { name: "TypeError".into(), message: "m".into() });
        assert!(matches!(ending_of_status(1, "garbage"), Ending::Stopped(r) if r.contains("garbage")));
        assert_eq!(ending_of_status(2, "meter limit reached"), Ending::Stopped("meter limit reached".into()));
        assert!(matches!(ending_of_status(8, "aborted"), Ending::Stopped(r) if r.contains("status 8")));
    }
}
