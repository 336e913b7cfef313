//! Resident memory of idle machines (Linux: `/proc/self/status`), with a
//! generous bound so that a regression shows. Alone in its test binary so no
//! other test allocates while it measures. `examples/idle_machines.rs`
//! prints the figures for 1,000 machines.

#[cfg(target_os = "linux")]
#[test]
fn a_hundred_idle_machines_stay_under_a_mebibyte_each() {
    use xs_wasm::{Machine, Options, Runtime};

    fn vm_rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
        line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
    }

    const COUNT: usize = 100;
    let runtime = Runtime::new().unwrap();
    drop(Machine::new(&runtime, Options::default()).unwrap());
    let before = vm_rss();
    let machines: Vec<Machine> = (0..COUNT).map(|_| Machine::new(&runtime, Options::default()).unwrap()).collect();
    let per_machine = vm_rss().saturating_sub(before) / COUNT as u64;
    // About 170 KiB in November 2026 (most of it pages of the module's memory
    // image, shared between machines but counted once per machine by VmRSS).
    eprintln!("{COUNT} idle machines: {} KiB resident each", per_machine / 1024);
    assert!(per_machine < 1 << 20, "{per_machine} bytes resident per idle machine");
    drop(machines);
}
