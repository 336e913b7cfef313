//! Resident memory of idle machines: `cargo run --release --example idle_machines [COUNT]`.
//!
//! Creates COUNT (default 1,000) machines from `Runtime::new()` with default
//! options, keeps them alive doing nothing, and prints the process's resident
//! memory growth per machine (Linux: `/proc/self/status` VmRSS, and the
//! proportional set size from `/proc/self/smaps_rollup`, which counts pages
//! shared between machines, such as the module's memory image, once; VmRSS
//! counts a shared page once per machine that maps it). `XS_WASM_POOL=N`
//! sizes the machine pool (`off`: none).

use std::time::Instant;

use xs_wasm::{Machine, Options, Runtime};

/// (VmRSS, Pss) in bytes, when the platform has them.
fn resident() -> Option<(u64, u64)> {
    let field = |text: &str, name: &str| -> Option<u64> {
        let line = text.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    };
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    Some((field(&status, "VmRSS:")?, field(&rollup, "Pss:")?))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn main() -> Result<(), xs_wasm::Error> {
    let count: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().expect("COUNT: a number of machines"),
        None => 1000,
    };
    let runtime = Runtime::new()?;
    // One machine made and dropped first, so that one-time costs (code pages,
    // the allocator's first slot) are not charged to the idle machines.
    let mut warm = Machine::new(&runtime, Options::default())?;
    warm.eval("1 + 1")?;
    drop(warm);
    let Some((rss_before, pss_before)) = resident() else {
        eprintln!("resident memory is read from /proc (Linux only)");
        return Ok(());
    };
    let start = Instant::now();
    let machines = (0..count).map(|_| Machine::new(&runtime, Options::default())).collect::<Result<Vec<_>, _>>()?;
    let elapsed = start.elapsed();
    let (rss_after, pss_after) = resident().expect("read above");
    let per = |before: u64, after: u64| after.saturating_sub(before) as f64 / count as f64 / 1024.0;
    match runtime.pooling() {
        Some(pool) if count > pool.max_machines as usize => println!("machine pool: {} machines (the others are made without it)", pool.max_machines),
        Some(pool) => println!("machine pool: {} machines", pool.max_machines),
        None => println!("machine pool: none"),
    }
    println!("{count} idle machines, created in {:.1} ms ({:.1} µs each)", elapsed.as_secs_f64() * 1e3, elapsed.as_secs_f64() * 1e6 / count as f64);
    println!("resident (VmRSS): {:.1} MiB -> {:.1} MiB, {:.1} KiB per machine", mib(rss_before), mib(rss_after), per(rss_before, rss_after));
    println!("proportional (Pss): {:.1} MiB -> {:.1} MiB, {:.1} KiB per machine", mib(pss_before), mib(pss_after), per(pss_before, pss_after));
    let linear: usize = machines.iter().map(Machine::memory_bytes).sum();
    println!("linear memory (wasm size, mostly untouched): {:.1} MiB per machine", linear as f64 / count as f64 / (1 << 20) as f64);
    drop(machines);
    if let Some((rss, pss)) = resident() {
        println!("after dropping them: VmRSS {:.1} MiB, Pss {:.1} MiB", mib(rss), mib(pss));
    }
    Ok(())
}
