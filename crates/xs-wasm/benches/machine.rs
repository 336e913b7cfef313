//! Benchmarks of start-up, restore and calls: `cargo bench -p xs-wasm`
//! (release profile). Medians are reported in README.md ("Start-up and
//! memory"); nothing here is asserted.
//!
//! Every `Machine::new` / `restore` figure includes dropping the machine (the
//! next iteration reuses its pool slot). Each restore benchmark has a runtime
//! (and so a pool) of its own, so that one benchmark's machines do not decide
//! which pages the next one finds resident; one benchmark measures that case
//! on purpose. The lodash benchmark needs `.cache/bench/lodash-4.17.21/lodash.js`
//! (fetched by the repository's `cargo xtask bench`) and is skipped without it.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use xs_wasm::{Machine, ModuleCache, Options, Pooling, Runtime, RuntimeOptions};

/// The repository's (or the packaged crate's) artifacts directory.
fn artifacts_dir() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let packaged = crate_dir.join("artifacts");
    if packaged.join("manifest.json").is_file() {
        packaged
    } else {
        crate_dir.join("../../artifacts")
    }
}

fn lodash_source() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/bench/lodash-4.17.21/lodash.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            eprintln!("note: skipping the lodash restore benchmark: {}: {e} (run `cargo xtask bench` once to fetch it)", path.display());
            None
        }
    }
}

fn runtime() -> Runtime {
    Runtime::new().unwrap()
}

fn unpooled() -> Runtime {
    Runtime::new_with(&RuntimeOptions { pooling: None, ..RuntimeOptions::default() }).unwrap()
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    let off = RuntimeOptions { module_cache: ModuleCache::Off, ..RuntimeOptions::default() };
    group.bench_function("Runtime::new, no cache (compile)", |b| b.iter(|| Runtime::new_with(&off).unwrap()));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xs-wasm-bench-cache");
    let cached = RuntimeOptions { module_cache: ModuleCache::Dir(dir), ..RuntimeOptions::default() };
    Runtime::new_with(&cached).unwrap();
    group.sample_size(30);
    group.bench_function("Runtime::new, from the cache", |b| b.iter(|| Runtime::new_with(&cached).unwrap()));
    group.bench_function("Runtime::new, from the cache, no pool", |b| b.iter(|| Runtime::new_with(&RuntimeOptions { pooling: None, ..cached.clone() }).unwrap()));
    group.finish();
}

fn machines(c: &mut Criterion) {
    let mut group = c.benchmark_group("machine");
    group.sample_size(50);
    let runtime = runtime();
    let plain = Runtime::from_artifacts_dir(&artifacts_dir(), &runtime.artifact().variant).unwrap();
    group.bench_function("Machine::new, plain module", |b| b.iter(|| Machine::new(&plain, Options::default()).unwrap()));
    group.bench_function("Machine::new, pre-initialized", |b| b.iter(|| Machine::new(&runtime, Options::default()).unwrap()));
    let no_pool = unpooled();
    group.bench_function("Machine::new, pre-initialized, no pool", |b| b.iter(|| Machine::new(&no_pool, Options::default()).unwrap()));

    let empty = Machine::new(&runtime, Options::default()).unwrap().snapshot().unwrap();
    let own = self::runtime();
    group.bench_function("restore empty snapshot", |b| b.iter(|| Machine::restore(&own, &empty, Options::default()).unwrap()));
    group.bench_function("restore empty snapshot, no pool", |b| b.iter(|| Machine::restore(&no_pool, &empty, Options::default()).unwrap()));
    if let Some(source) = lodash_source() {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        m.eval(&source).unwrap();
        let lodash = m.snapshot().unwrap();
        let own = self::runtime();
        group.bench_function("restore lodash snapshot", |b| b.iter(|| Machine::restore(&own, &lodash, Options::default()).unwrap()));
        group.bench_function("restore lodash snapshot, no pool", |b| b.iter(|| Machine::restore(&no_pool, &lodash, Options::default()).unwrap()));
        // The pool slot the lodash machines used, now restoring the empty
        // snapshot: the pages kept resident are lodash's.
        let after_lodash = Runtime::new_with(&RuntimeOptions { pooling: Some(Pooling { max_machines: 1, ..Pooling::default() }), ..RuntimeOptions::default() }).unwrap();
        for _ in 0..3 {
            Machine::restore(&after_lodash, &lodash, Options::default()).unwrap();
        }
        group.bench_function("restore empty snapshot, slot used by lodash", |b| b.iter(|| Machine::restore(&after_lodash, &empty, Options::default()).unwrap()));
    }
    group.finish();
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("calls");
    group.sample_size(50);
    let runtime = runtime();
    let mut machine = Machine::new(&runtime, Options::default()).unwrap();
    machine.eval("var n = 0; globalThis.receiveMessage = (m) => ({ n: n += m.add })").unwrap();
    group.bench_function("eval small script", |b| b.iter(|| machine.eval("(() => { let s = 0; for (let i = 0; i < 100; i++) s += i; return s })()").unwrap()));
    group.bench_function("message round trip", |b| b.iter(|| machine.send(&json!({ "add": 1 })).unwrap()));
    group.bench_function("snapshot", |b| b.iter(|| machine.snapshot().unwrap()));
    group.finish();
}

criterion_group!(machine, startup, machines, calls);
criterion_main!(machine);
