//! Machine creation time: `cargo run --release --example create_drop [COUNT] [ARTIFACTS_DIR VARIANT]`.
//!
//! Creates and drops COUNT (default 200) machines, one after the other, and
//! prints the mean time per machine for: the embedded pre-initialized module
//! (`Runtime::new()`, the kept machine is taken), a machine XS creates
//! (`Runtime::from_artifacts_dir`: with web globals, without them, locked
//! down) and a restore of a fresh machine's snapshot; then the size of that
//! snapshot and the heap statistics of a fresh machine (and of one taken
//! from the pre-initialized module). Without
//! ARTIFACTS_DIR VARIANT only the embedded module is measured.

use std::time::Instant;

use xs_wasm::{Machine, Options, Runtime};

fn per_machine(count: usize, mut make: impl FnMut() -> Result<Machine, xs_wasm::Error>) -> Result<f64, xs_wasm::Error> {
    drop(make()?); // one-time costs (code pages, the pool's first slot) not charged
    let start = Instant::now();
    for _ in 0..count {
        drop(make()?);
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0 / count as f64)
}

fn main() -> Result<(), xs_wasm::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().map_or(200, |a| a.parse().expect("COUNT: a number of machines"));
    let embedded = Runtime::new()?;
    let ms = per_machine(count, || Machine::new(&embedded, Options::default()))?;
    println!("embedded pre-initialized module: {ms:.3} ms per machine (create + drop, {count} machines)");
    println!("embedded pre-initialized machine heap: {:?}", Machine::new(&embedded, Options::default())?.heap_statistics(false)?);
    if let [_, dir, variant] = &args[..] {
        let runtime = Runtime::from_artifacts_dir(std::path::Path::new(dir), variant)?;
        let cases: [(&str, Options); 3] = [
            ("default", Options::default()),
            ("no web globals", Options { web_globals: false, ..Options::default() }),
            ("lockdown", Options { lockdown: true, ..Options::default() }),
        ];
        for (label, options) in cases {
            let ms = per_machine(count, || Machine::new(&runtime, options.clone()))?;
            println!("{variant} {label}: {ms:.3} ms per machine (create + drop)");
        }
        let mut fresh = Machine::new(&runtime, Options::default())?;
        let snapshot = fresh.snapshot()?;
        let ms = per_machine(count, || Machine::restore(&runtime, &snapshot, Options::default()))?;
        println!("{variant} restore of a fresh machine's snapshot: {ms:.3} ms per machine; snapshot {} bytes", snapshot.len());
        if let Ok(path) = std::env::var("XS_PRELUDE") {
            // parsing alone: `void (function (...) {...})` in a bare machine
            let text = format!("void {}", std::fs::read_to_string(&path).expect("XS_PRELUDE: a file"));
            let mut total = 0.0;
            for _ in 0..count {
                let mut machine = Machine::new(&runtime, Options { web_globals: false, ..Options::default() })?;
                let start = Instant::now();
                machine.eval(&text)?;
                total += start.elapsed().as_secs_f64() * 1000.0;
            }
            println!("{variant} eval of {path} (parse, no call): {:.3} ms", total / count as f64);
        }
        let mut fresh = Machine::new(&runtime, Options::default())?;
        println!("{variant} fresh machine heap: {:?}", fresh.heap_statistics(false)?);
    }
    Ok(())
}
