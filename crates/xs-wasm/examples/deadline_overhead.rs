//! What deadlines cost on CPU-bound scripts: `cargo run --example
//! deadline_overhead [ROUNDS]`.
//!
//! Runs the same CPU-bound kernels on two runtimes of the embedded module,
//! one with deadlines (wasmtime's epoch interruption: a check at every loop
//! back-edge and function entry of the compiled code, plus the ticker
//! thread) and one without, alternating one call on each (so that load from
//! other processes falls on both alike), ROUNDS times (default 7), and prints
//! each kernel's median time on both and their ratio. The guest's code is
//! what Cranelift compiled, the same in a debug or a release build of the
//! host, so a debug build measures the same ratio (its host-side share of
//! these calls is under a millisecond).

use std::time::{Duration, Instant};

use xs_wasm::{Machine, ModuleCache, Options, Runtime, RuntimeOptions};

const KERNELS: &[(&str, &str)] = &[
    (
        "calls and properties",
        "var o = { n: 0, add(k) { this.n += k; return this } }; for (let i = 0; i < 2e6; i++) o.add(i & 7); o.n",
    ),
    (
        "sieve",
        "var n = 1e6, s = new Uint8Array(n), c = 0; for (let i = 2; i < n; i++) { if (!s[i]) { c++; for (let j = i * 2; j < n; j += i) s[j] = 1; } } c",
    ),
    (
        "objects and closures",
        "var a = []; for (let i = 0; i < 3e5; i++) a.push({ i, f: () => i * 2 }); a.reduce((t, x) => t + x.f(), 0)",
    ),
    ("strings", "var s = ''; for (let i = 0; i < 5e4; i++) s += String.fromCharCode(97 + (i % 26)); s.split('a').length"),
];

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> Result<(), xs_wasm::Error> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let with = Runtime::new_with(&RuntimeOptions { module_cache: ModuleCache::Default, pooling: None, deadlines: true })?;
    let without = Runtime::new_with(&RuntimeOptions { module_cache: ModuleCache::Default, pooling: None, deadlines: false })?;
    println!("| kernel | without deadlines (ms) | with deadlines (ms) | ratio |");
    println!("|---|---:|---:|---:|");
    let mut product = 1.0f64;
    for (name, source) in KERNELS {
        let mut on = Vec::new();
        let mut off = Vec::new();
        for _ in 0..rounds {
            for (runtime, times, deadline) in [(&with, &mut on, Some(Duration::from_secs(600))), (&without, &mut off, None)] {
                let mut machine = Machine::new(runtime, Options { deadline, ..Options::default() })?;
                let start = Instant::now();
                machine.eval(source)?;
                times.push(start.elapsed());
            }
        }
        let (on, off) = (median(&mut on), median(&mut off));
        let ratio = on.as_secs_f64() / off.as_secs_f64();
        product *= ratio;
        println!("| {name} | {:.1} | {:.1} | {ratio:.3} |", off.as_secs_f64() * 1e3, on.as_secs_f64() * 1e3);
    }
    println!("| geometric mean | | | {:.3} |", product.powf(1.0 / KERNELS.len() as f64));

    // Short calls: what a call costs beyond its script (arming the deadline,
    // the ticker's bookkeeping), per `eval("1")`, and per Machine::new.
    let mut per_call = [Vec::new(), Vec::new()];
    let mut per_new = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, (runtime, deadline)) in [(&without, None), (&with, Some(Duration::from_secs(600)))].into_iter().enumerate() {
            let options = Options { deadline, ..Options::default() };
            let start = Instant::now();
            for _ in 0..200 {
                drop(Machine::new(runtime, options.clone())?);
            }
            per_new[i].push(start.elapsed() / 200);
            let mut machine = Machine::new(runtime, options)?;
            let start = Instant::now();
            for _ in 0..2000 {
                machine.eval("1")?;
            }
            per_call[i].push(start.elapsed() / 2000);
        }
    }
    let [mut a, mut b] = per_call;
    println!("| eval(\"1\"), per call (µs) | {:.1} | {:.1} | |", median(&mut a).as_secs_f64() * 1e6, median(&mut b).as_secs_f64() * 1e6);
    let [mut a, mut b] = per_new;
    println!("| Machine::new, no pool (µs) | {:.1} | {:.1} | |", median(&mut a).as_secs_f64() * 1e6, median(&mut b).as_secs_f64() * 1e6);
    Ok(())
}
