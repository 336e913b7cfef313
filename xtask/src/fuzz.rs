//! `cargo xtask fuzz`: crafted snapshots, messages and sources through both
//! loaders, deterministic (a seeded xorshift generator: the same cases every
//! run), so that a failure is a test case.
//!
//! - Snapshots: the machine of `configs/fuzz/heap.js` is snapshotted, then
//!   each case changes 1-4 bytes or aligned 32-bit words of the payload
//!   (random bytes, small and boundary integers, words copied from elsewhere
//!   in the snapshot: the shapes of sizes, offsets and slot indexes) and
//!   recomputes the header's checksum, so that XS's reader sees every case.
//!   Each case is restored, `configs/fuzz/check.js` is evaluated in it and it
//!   is snapshotted again.
//! - Inputs: the sources of `configs/fuzz/sources/` and the messages of
//!   `configs/fuzz/messages/`, mutated (bytes changed, inserted — NUL, invalid
//!   UTF-8 — deleted, duplicated, truncated, nested thousands of levels deep),
//!   evaluated or sent to the heap.js machine.
//!
//! The Rust crate runs in this process (one WASI variant), each call under
//! its epoch deadline; the JS package (one emscripten variant) in a Node
//! process, `js/scripts/fuzz.mjs`, that reports each case on a line and is
//! replaced when it stays silent past the deadline: its snapshot cases run
//! in a `WorkerSandbox` with the deadline (an in-thread sandbox can only be
//! stopped by the meter, and a restored heap can loop in C where the meter
//! never looks), its input cases in an in-thread `Sandbox` under the meter. A case passes when it ends within its deadline with a value or
//! a typed error; the run fails on a host panic, a hang, or an untyped
//! failure (a JS loader error that is not one of the package's error classes).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use xs_wasm::{Error, Machine, Options, Runtime};

use crate::progress::Progress;
use crate::workspace::Workspace;

/// What `cargo xtask fuzz` runs (its flags).
#[derive(Debug, Clone, clap::Args)]
pub struct FuzzOptions {
    /// Crafted snapshots through the Rust crate
    #[arg(long = "cases", value_name = "N", default_value_t = 100_000)]
    pub snapshots: usize,
    /// Crafted snapshots through the JS package
    #[arg(long = "js-cases", value_name = "N", default_value_t = 10_000)]
    pub js_snapshots: usize,
    /// Mutated messages and sources through each loader
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub inputs: usize,
    /// The generator's seed (the same seed gives the same cases)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Each call's deadline, milliseconds (the crate's epoch deadline; the JS worker's silence limit is twice it plus 5 s)
    #[arg(long = "deadline-ms", value_name = "MS", default_value_t = 2_000)]
    pub deadline_ms: u64,
    /// The WASI variant the crate runs
    #[arg(long, default_value = "wasi-os")]
    pub variant: String,
    /// The emscripten variant the JS package runs
    #[arg(long, default_value = "emcc-os")]
    pub js_variant: String,
}

impl FuzzOptions {
    /// The pass `cargo xtask test` runs (about half a minute; the full run is `cargo xtask fuzz`).
    pub fn short() -> FuzzOptions {
        FuzzOptions {
            snapshots: 3_000,
            js_snapshots: 500,
            inputs: 1_000,
            seed: 1,
            deadline_ms: 2_000,
            variant: "wasi-os".into(),
            js_variant: "emcc-os".into(),
        }
    }
}

/// The meter limit of every call of a case, ticks: a mutated source that loops ends here.
const METER_LIMIT: u32 = 20_000_000;
/// The memory limit of every machine, bytes.
const MEMORY_LIMIT: u32 = 64 << 20;

/// Run the cases; fails when one panicked, hung or failed untyped.
pub fn fuzz(ws: &Workspace, options: &FuzzOptions, progress: &Progress) -> Result<()> {
    let corpus = Corpus::load(&ws.repo.join("configs/fuzz"))?;
    let artifacts = &ws.artifacts;
    let mut report = Vec::new();
    if options.snapshots + options.inputs > 0 {
        let runtime = crate::loaders::CrateLoader::runtime(artifacts, &options.variant)?;
        let rust = RustTarget::new(&runtime, &corpus, Duration::from_millis(options.deadline_ms))?;
        if options.snapshots > 0 {
            progress.step(format!("fuzz: {} crafted snapshots through the crate ({})", options.snapshots, options.variant));
            report.push(("crate", "snapshots", rust.snapshots(options.snapshots, options.seed, progress)));
        }
        if options.inputs > 0 {
            progress.step(format!("fuzz: {} messages and sources through the crate ({})", options.inputs, options.variant));
            report.push(("crate", "inputs", rust.inputs(&corpus, options.inputs, options.seed, progress)));
        }
    }
    for (mode, count) in [("snapshots", options.js_snapshots), ("inputs", options.inputs)] {
        if count > 0 {
            progress.step(format!("fuzz: {count} {} through the JS package ({})", if mode == "inputs" { "messages and sources" } else { "crafted snapshots" }, options.js_variant));
            report.push(("js", mode, js_cases(ws, options, mode, count)?));
        }
    }
    let mut failed = Vec::new();
    for (loader, mode, counts) in &report {
        let total: usize = counts.values().sum();
        let line = counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        progress.step(format!("fuzz: {loader} {mode}: {total} cases: {line}"));
        for bad in ["panic", "hang", "untyped"] {
            if let Some(n) = counts.get(bad) {
                failed.push(format!("{loader} {mode}: {n} {bad}"));
            }
        }
    }
    if !failed.is_empty() {
        bail!("fuzz: {} (rerun with the same --seed to reproduce)", failed.join("; "));
    }
    Ok(())
}

// --------------------------------------------------------------- corpus --

/// `configs/fuzz/`: the heap to snapshot, the script that reads it, seeds.
struct Corpus {
    heap: String,
    check: String,
    sources: Vec<String>,
    messages: Vec<String>,
}

impl Corpus {
    fn load(dir: &Path) -> Result<Corpus> {
        let read = |p: PathBuf| std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()));
        let seeds = |sub: &str| -> Result<Vec<String>> {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(sub)).with_context(|| format!("listing {}/{sub}", dir.display()))?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
            paths.sort();
            paths.into_iter().map(read).collect()
        };
        Ok(Corpus { heap: read(dir.join("heap.js"))?, check: read(dir.join("check.js"))?, sources: seeds("sources")?, messages: seeds("messages")? })
    }
}

// ------------------------------------------------------------ mutations --

/// xorshift64: the same sequence for the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The snapshot header's checksum: FNV-1a over the payload (port/xs_wasm.h).
fn checksum(payload: &[u8]) -> u32 {
    payload.iter().fold(2_166_136_261u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(16_777_619))
}

/// Bytes of the snapshot header (port/xs_wasm.h); the checksum is its last 4.
const HEADER: usize = 32;

/// `snapshot` with 1-4 bytes or words of its payload changed, checksum recomputed.
fn craft_snapshot(snapshot: &[u8], rng: &mut Rng) -> Vec<u8> {
    const WORDS: [u32; 10] = [0, 1, 2, 3, 4, 8, 16, u32::MAX, 0x8000_0000, 0x7FFF_FFFF];
    let mut bytes = snapshot.to_vec();
    let span = bytes.len() - HEADER - 4;
    for _ in 0..1 + rng.below(4) {
        let at = HEADER + rng.below(span);
        let word = at & !3;
        match rng.below(3) {
            0 => bytes[at] = rng.next() as u8,
            1 => {
                let value = if rng.next() & 1 == 0 { WORDS[rng.below(WORDS.len())] } else { rng.below(4096) as u32 };
                bytes[word..word + 4].copy_from_slice(&value.to_le_bytes());
            }
            _ => {
                let from = (HEADER + rng.below(span)) & !3;
                bytes.copy_within(from..from + 4, word);
            }
        }
    }
    let sum = checksum(&bytes[HEADER..]);
    bytes[HEADER - 4..HEADER].copy_from_slice(&sum.to_le_bytes());
    bytes
}

/// `seed` mutated: bytes changed, inserted, deleted, duplicated, truncated, or nested deep.
fn mutate_text(seed: &str, rng: &mut Rng) -> Vec<u8> {
    const INSERTS: [&[u8]; 8] = [b"\0", b"\xff", b"\xed\xa0\x80", b"{", b"[", b"\"", b"\\u", b"(("];
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
            1 => {
                let insert = INSERTS[rng.below(INSERTS.len())];
                bytes.splice(at..at, insert.iter().copied());
            }
            2 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(64)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            4 => bytes.truncate(at),
            _ => {
                let depth = [10, 200, 5_000, 20_000][rng.below(4)];
                let (open, close) = [("[", "]"), ("(", ")"), ("{\"a\":", "}"), ("-", "")][rng.below(4)];
                let mut nested = open.repeat(depth).into_bytes();
                nested.extend_from_slice(&bytes);
                nested.extend_from_slice(close.repeat(depth).as_bytes());
                bytes = nested;
            }
        }
    }
    bytes
}

// ---------------------------------------------------------------- crate --

/// The crate's side: a runtime and the heap.js machine's snapshot.
struct RustTarget<'a> {
    runtime: &'a Runtime,
    snapshot: Vec<u8>,
    expected: serde_json::Value,
    check: String,
    deadline: Duration,
}

impl<'a> RustTarget<'a> {
    fn new(runtime: &'a Runtime, corpus: &Corpus, deadline: Duration) -> Result<RustTarget<'a>> {
        let mut machine = Machine::new(runtime, Self::options(deadline)).context("creating the heap.js machine")?;
        machine.eval(&corpus.heap).context("configs/fuzz/heap.js")?;
        let snapshot = machine.snapshot()?;
        let expected = machine.eval(&corpus.check).context("configs/fuzz/check.js")?;
        let mut restored = Machine::restore(runtime, &snapshot, Self::options(deadline)).context("restoring the heap.js machine's own snapshot")?;
        let again = restored.eval(&corpus.check).context("configs/fuzz/check.js in the restored machine")?;
        if again != expected {
            bail!("the heap.js machine computes {again} after a restore, {expected} before");
        }
        Ok(RustTarget { runtime, snapshot, expected, check: corpus.check.clone(), deadline })
    }

    fn options(deadline: Duration) -> Options {
        Options { meter_limit: Some(METER_LIMIT), memory_limit: MEMORY_LIMIT as usize, deadline: Some(deadline), ..Options::default() }
    }

    /// One case under catch_unwind and a wall clock: its outcome's name.
    fn case(&self, run: impl FnOnce() -> &'static str) -> &'static str {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or("panic");
        // The epoch ticker ends a call within a tick of its deadline; twice
        // the deadline plus a second is a call that did not end.
        if start.elapsed() > self.deadline * 2 + Duration::from_secs(1) {
            return "hang";
        }
        outcome
    }

    fn snapshots(&self, count: usize, seed: u64, progress: &Progress) -> BTreeMap<&'static str, usize> {
        let mut rng = Rng(seed);
        let mut counts = BTreeMap::new();
        for i in 0..count {
            let bytes = craft_snapshot(&self.snapshot, &mut rng);
            let outcome = self.case(|| match Machine::restore(self.runtime, &bytes, Self::options(self.deadline)) {
                Err(e) => error_name(&e, "refused"),
                Ok(mut machine) => {
                    machine.set_log_handler(|_, _| {}); // a crafted heap's console output is noise here
                    let outcome = match machine.eval(&self.check) {
                        Ok(v) if v == self.expected => "restored-same",
                        Ok(_) => "restored-different",
                        Err(e) => error_name(&e, "restored-error"),
                    };
                    match machine.snapshot() {
                        Err(Error::Deadline { .. }) => "snapshot-deadline",
                        _ => outcome,
                    }
                }
            });
            if outcome == "panic" || outcome == "hang" {
                progress.warn(format!("fuzz: snapshot case {i} (seed {seed}): {outcome}"));
            }
            *counts.entry(outcome).or_default() += 1;
            if (i + 1) % 10_000 == 0 {
                progress.detail(format!("fuzz: {} snapshot cases", i + 1));
            }
        }
        counts
    }

    fn inputs(&self, corpus: &Corpus, count: usize, seed: u64, progress: &Progress) -> BTreeMap<&'static str, usize> {
        let mut rng = Rng(seed ^ 0x5555_5555);
        let mut counts = BTreeMap::new();
        let machine = || Machine::restore(self.runtime, &self.snapshot, Self::options(self.deadline));
        for i in 0..count {
            let message = i % 2 == 1;
            let seeds = if message { &corpus.messages } else { &corpus.sources };
            let text = mutate_text(&seeds[rng.below(seeds.len())], &mut rng);
            let outcome = self.case(|| {
                let mut m = match machine() {
                    Ok(m) => m,
                    Err(e) => return error_name(&e, "setup-error"),
                };
                m.set_log_handler(|_, _| {});
                let result = if message {
                    match serde_json::from_slice::<serde_json::Value>(&text) {
                        Ok(value) => m.send(&value),
                        Err(_) => return "not-json",
                    }
                } else {
                    m.eval(&String::from_utf8_lossy(&text))
                };
                match result {
                    Ok(_) => "ok",
                    Err(e) => error_name(&e, "other-error"),
                }
            });
            if outcome == "panic" || outcome == "hang" {
                progress.warn(format!("fuzz: input case {i} (seed {seed}): {outcome}"));
            }
            *counts.entry(outcome).or_default() += 1;
        }
        counts
    }
}

/// A typed error's short name (`prefix` for a snapshot the reader refused).
fn error_name(error: &Error, prefix: &'static str) -> &'static str {
    match error {
        Error::Snapshot { .. } => prefix,
        Error::Js { .. } => "js-error",
        Error::MeterLimit { .. } => "meter-limit",
        Error::OutOfMemory => "memory-limit",
        Error::StackOverflow => "stack-overflow",
        Error::Deadline { .. } => "deadline",
        Error::ResultTooLarge { .. } => "result-too-large",
        Error::InvalidJson(_) => "invalid-json",
        Error::Wasm(_) | Error::Wasmtime { .. } => "engine-trap",
        Error::HostPanic { .. } => "panic",
        _ => "other-error",
    }
}

// ------------------------------------------------------------------- JS --

/// The JS package's cases in `node js/scripts/fuzz.mjs`, restarted after a
/// silent case (counted as a hang).
fn js_cases(ws: &Workspace, options: &FuzzOptions, mode: &str, count: usize) -> Result<BTreeMap<&'static str, usize>> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut start = 0;
    let silence = Duration::from_millis(options.deadline_ms) * 2 + Duration::from_secs(5);
    while start < count {
        let mut child = spawn_js(ws, options, mode, start, count)?;
        let stdout = child.stdout.take().context("the fuzz worker's stdout")?;
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut next = start;
        loop {
            match receive.recv_timeout(if next == start { silence + Duration::from_secs(30) } else { silence }) {
                Ok(Ok(line)) => {
                    let (index, outcome) = line.split_once(' ').context("a fuzz worker line")?;
                    next = index.parse::<usize>().context("a fuzz worker case index")? + 1;
                    *counts.entry(intern(outcome)).or_default() += 1;
                }
                Ok(Err(e)) => bail!("reading the fuzz worker: {e}"),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    eprintln!("fuzz: js {mode} case {next} (seed {}): no answer within {silence:?}: a hang", options.seed);
                    *counts.entry("hang").or_default() += 1;
                    next += 1;
                    break;
                }
            }
        }
        let _ = child.kill();
        let status = child.wait()?;
        if next == start {
            bail!("the fuzz worker (js/scripts/fuzz.mjs) ended without a case: {status}");
        }
        start = next;
    }
    Ok(counts)
}

fn spawn_js(ws: &Workspace, options: &FuzzOptions, mode: &str, start: usize, count: usize) -> Result<Child> {
    Command::new("node")
        .arg(ws.repo.join("js/scripts/fuzz.mjs"))
        .args([ws.artifacts.display().to_string(), options.js_variant.clone(), mode.to_owned()])
        .args([start.to_string(), count.to_string(), options.seed.to_string(), METER_LIMIT.to_string(), MEMORY_LIMIT.to_string(), options.deadline_ms.to_string()])
        .current_dir(ws.repo.join("js"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting node js/scripts/fuzz.mjs")
}

/// The outcome names the JS worker prints, as static strings.
fn intern(name: &str) -> &'static str {
    const NAMES: [&str; 18] = [
        "deadline",
        "invalid-message",
        "refused", "restored-same", "restored-different", "restored-error", "snapshot-error", "ok", "js-error", "meter-limit", "memory-limit", "stack-overflow", "engine-trap",
        "result-too-large", "invalid-json", "not-json", "setup-error", "other-error",
    ];
    NAMES.iter().find(|n| **n == name).copied().unwrap_or("untyped")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crafted_snapshots_keep_the_header_and_a_valid_checksum() {
        let mut snapshot = vec![7u8; 256];
        let sum = checksum(&snapshot[HEADER..]);
        snapshot[HEADER - 4..HEADER].copy_from_slice(&sum.to_le_bytes());
        let mut rng = Rng(1);
        for _ in 0..100 {
            let crafted = craft_snapshot(&snapshot, &mut rng);
            assert_eq!(crafted.len(), snapshot.len());
            assert_eq!(crafted[..HEADER - 4], snapshot[..HEADER - 4]);
            assert_eq!(crafted[HEADER - 4..HEADER], checksum(&crafted[HEADER..]).to_le_bytes());
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let (mut a, mut b) = (Rng(42), Rng(42));
        let cases = |rng: &mut Rng| (0..50).map(|_| mutate_text("[1, {\"a\": 2}]", rng)).collect::<Vec<_>>();
        assert_eq!(cases(&mut a), cases(&mut b));
    }

    #[test]
    fn unknown_worker_outcomes_are_untyped() {
        assert_eq!(intern("refused"), "refused");
        assert_eq!(intern("TypeError: x is not a function"), "untyped");
    }
}
