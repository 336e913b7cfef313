//! Heap statistics and the deadline checked at the guest's meter checks
//! (issue 26, item 4), through the public API.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use xs_wasm::{Error, HeapStatistics, Machine, Options, Runtime};

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

fn machine() -> Machine {
    Machine::new(&runtime(), Options::default()).unwrap()
}

fn consistent(s: &HeapStatistics) {
    assert!(s.chunk_bytes_used <= s.chunk_bytes && s.chunk_bytes_used <= s.chunk_bytes_peak, "{s:?}");
    assert!(s.slots_used <= s.slots && s.slots_used <= s.slots_peak, "{s:?}");
    assert!(s.keys_used <= s.keys, "{s:?}");
    // The limit counts the chunk and slot blocks.
    assert!(s.memory_used >= s.chunk_bytes + s.slots * 16, "{s:?}");
    assert!(s.memory_limit == 0 || s.memory_used <= s.memory_limit, "{s:?}");
    assert!(s.linear_memory >= s.memory_used, "{s:?}");
}

#[test]
fn heap_statistics_follow_what_the_guest_allocates_and_frees() {
    let mut m = machine();
    let fresh = m.heap_statistics(true).unwrap();
    consistent(&fresh);
    assert_eq!(fresh.memory_limit, 256 << 20);
    assert_eq!(fresh.stack_slots, 131_072, "the default creation's JS stack");
    assert!(fresh.keys_used > 100, "the built-ins' keys: {fresh:?}");

    // 100,000 objects of one property: at least two slots each stay alive.
    m.eval("globalThis.keep = Array.from({ length: 100000 }, (_, i) => ({ i })); 0").unwrap();
    let full = m.heap_statistics(true).unwrap();
    consistent(&full);
    assert!(full.slots_used >= fresh.slots_used + 200_000, "{fresh:?} -> {full:?}");
    // A string of 1 MiB lives in chunks.
    m.eval("globalThis.text = 'x'.repeat(1 << 20); 0").unwrap();
    let text = m.heap_statistics(true).unwrap();
    assert!(text.chunk_bytes_used >= full.chunk_bytes_used + (1 << 20), "{full:?} -> {text:?}");

    // Dropped and collected: the used figures come back down, the peaks stay.
    m.eval("keep = undefined; text = undefined; 0").unwrap();
    let freed = m.heap_statistics(true).unwrap();
    consistent(&freed);
    assert!(freed.slots_used < fresh.slots_used + 10_000, "{fresh:?} -> {freed:?}");
    assert!(freed.chunk_bytes_used < fresh.chunk_bytes_used + 100_000, "{fresh:?} -> {freed:?}");
    assert!(freed.slots_peak >= full.slots_used && freed.chunk_bytes_peak >= text.chunk_bytes_used);
    // Property keys are never collected.
    assert!(freed.keys_used >= full.keys_used);
}

#[test]
fn heap_statistics_without_a_collection_count_garbage_and_change_nothing() {
    let mut a = machine();
    let mut b = machine();
    // 3,000 garbage objects fit in a fresh heap's free slots: no collection
    // runs during the loop.
    for m in [&mut a, &mut b] {
        m.eval("for (let i = 0; i < 3000; i++) ({ i }); 0").unwrap();
    }
    let garbage = a.heap_statistics(false).unwrap();
    let live = b.heap_statistics(true).unwrap();
    assert!(garbage.slots_used >= live.slots_used + 6000, "{garbage:?} vs {live:?}");
    // Measuring without a collection leaves the heap as it was: same snapshot.
    let before = a.snapshot().unwrap();
    a.heap_statistics(false).unwrap();
    assert_eq!(a.snapshot().unwrap(), before);
    // The same history gives the same figures (the linear memory aside).
    let mut c = machine();
    c.eval("for (let i = 0; i < 3000; i++) ({ i }); 0").unwrap();
    let (mut c, mut b) = (c.heap_statistics(true).unwrap(), b.heap_statistics(true).unwrap());
    (c.linear_memory, b.linear_memory) = (0, 0);
    assert_eq!(c, b);
}

#[test]
fn heap_statistics_of_a_stopped_machine_is_dead() {
    let mut m = Machine::new(&runtime(), Options { meter_limit: Some(10_000), ..Options::default() }).unwrap();
    assert!(matches!(m.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));
    assert!(matches!(m.heap_statistics(false), Err(Error::Dead { .. })));
}

#[test]
fn a_deadline_ends_a_metered_loop_at_a_meter_check_with_its_ticks_counted() {
    let mut m = Machine::new(&runtime(), Options { deadline: Some(Duration::from_millis(200)), ..Options::default() }).unwrap();
    let start = Instant::now();
    match m.eval("for (;;) {}") {
        Err(Error::Deadline { deadline }) => assert_eq!(deadline, Duration::from_millis(200)),
        other => panic!("expected Error::Deadline, got {other:?}"),
    }
    assert!(start.elapsed() >= Duration::from_millis(200));
    // Stopped at a meter check (host_interrupt), not by a trap: the ticks of
    // the call are known.
    assert!(m.meter() > 0, "meter {}", m.meter());
    assert!(m.is_stopped());
    assert!(matches!(m.eval("1"), Err(Error::Dead { .. })));
}

#[test]
fn an_interrupt_from_another_thread_ends_a_metered_loop_at_a_meter_check() {
    let mut m = machine();
    let handle = m.interrupt_handle().unwrap();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    assert!(matches!(m.eval("for (;;) {}"), Err(Error::Interrupted)));
    stopper.join().unwrap();
    assert!(m.meter() > 0, "meter {}", m.meter());
    assert!(matches!(m.eval("1"), Err(Error::Dead { .. })));
}

#[test]
fn a_deadline_ends_an_event_loop_run_too() {
    let mut m = Machine::new(&runtime(), Options { deadline: Some(Duration::from_millis(200)), ..Options::default() }).unwrap();
    match m.eval_and_run("new Promise((resolve) => setTimeout(() => { for (;;) {} }, 10))") {
        Err(Error::Deadline { deadline }) => assert_eq!(deadline, Duration::from_millis(200)),
        other => panic!("expected Error::Deadline, got {other:?}"),
    }
    assert!(m.is_stopped());
}
