//! Benchmarks of the embedded artifact: `cargo bench -p xs-wasm`.
//! Medians are reported in the issue notes; nothing here is asserted.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use xs_wasm::{Machine, Options, Runtime};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("xs-wasm");
    group.sample_size(10);
    group.bench_function("compile module (Runtime::new)", |b| b.iter(|| Runtime::new().unwrap()));
    let runtime = Runtime::new().unwrap();
    group.sample_size(50);
    group.bench_function("create machine", |b| b.iter(|| Machine::new(&runtime, Options::default()).unwrap()));
    let mut machine = Machine::new(&runtime, Options::default()).unwrap();
    machine.eval("var n = 0; globalThis.receiveMessage = (m) => ({ n: n += m.add })").unwrap();
    let snapshot = machine.snapshot().unwrap();
    group.bench_function("restore machine from snapshot", |b| b.iter(|| Machine::restore(&runtime, &snapshot, Options::default()).unwrap()));
    group.bench_function("eval small script", |b| b.iter(|| machine.eval("(() => { let s = 0; for (let i = 0; i < 100; i++) s += i; return s })()").unwrap()));
    group.bench_function("message round trip", |b| b.iter(|| machine.send(&json!({ "add": 1 })).unwrap()));
    group.bench_function("snapshot", |b| b.iter(|| machine.snapshot().unwrap()));
    group.finish();
}

criterion_group!(machine, benches);
criterion_main!(machine);
