//! The machine pool (`xs_wasm::Pooling`): pooled machines behave like
//! unpooled ones, a reused pool slot starts clean, machines beyond the pool
//! still work, and the memory limit holds in the pool.

use std::sync::OnceLock;

use serde_json::json;
use xs_wasm::{Error, Machine, ModuleCache, Options, Pooling, Runtime, RuntimeOptions};

fn options() -> RuntimeOptions {
    RuntimeOptions { module_cache: ModuleCache::Default, ..RuntimeOptions::default() }
}

/// The embedded runtime with a pool of `max_machines`.
fn pooled(max_machines: u32) -> Runtime {
    let runtime = Runtime::new_with(&RuntimeOptions { pooling: Some(Pooling { max_machines, ..Pooling::default() }), ..options() }).expect("pooled runtime");
    if cfg!(target_pointer_width = "64") {
        assert_eq!(runtime.pooling().map(|p| p.max_machines), Some(max_machines), "the pool is reserved on a 64-bit host");
    }
    runtime
}

/// The embedded runtime without a pool: what pooled machines must equal.
fn unpooled() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = Runtime::new_with(&RuntimeOptions { pooling: None, ..options() }).expect("unpooled runtime");
        assert!(runtime.pooling().is_none());
        runtime
    })
}

fn fresh_snapshot() -> &'static [u8] {
    static SNAPSHOT: OnceLock<Vec<u8>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| Machine::new(unpooled(), Options::default()).unwrap().snapshot().unwrap())
}

#[test]
fn a_reused_pool_slot_starts_clean() {
    // One slot: every machine below reuses the memory, stack and table the
    // previous one wrote to.
    let runtime = pooled(1);
    for round in 0..3 {
        let mut m = Machine::new(&runtime, Options::default()).unwrap();
        assert_eq!(m.snapshot().unwrap(), fresh_snapshot(), "round {round}: a machine from a reused slot snapshots to the bytes of a fresh one");
        assert_eq!(m.eval("typeof leftover").unwrap(), json!("undefined"), "round {round}");
        // Write well past the pages the slot keeps resident, then throw (the
        // GC heap) and recurse (the stack).
        m.eval("globalThis.leftover = []; for (let i = 0; i < 200; i++) leftover.push(new Array(10000).fill(i))").unwrap();
        m.eval("function f(n) { return n ? f(n - 1) + 1 : 0 } f(5000)").unwrap();
        assert!(matches!(m.eval("throw new Error('x')"), Err(Error::Js { .. })));
        assert!(m.memory_bytes() > 16 << 20, "the machine grew its memory: {}", m.memory_bytes());
    }
    // A restore into the reused slot gets the snapshot's state only.
    let mut source = Machine::new(&runtime, Options::default()).unwrap();
    source.eval("globalThis.kept = { n: 41 }").unwrap();
    let snapshot = source.snapshot().unwrap();
    drop(source);
    let mut restored = Machine::restore(&runtime, &snapshot, Options::default()).unwrap();
    assert_eq!(restored.eval("[kept.n + 1, typeof leftover]").unwrap(), json!([42, "undefined"]));
}

#[test]
fn machines_beyond_the_pool_work_like_pooled_ones() {
    let runtime = pooled(2);
    let mut machines: Vec<Machine> = (0..6).map(|_| Machine::new(&runtime, Options::default()).unwrap()).collect();
    // The two pooled machines and the four beyond the pool: the same bytes.
    for m in &mut machines {
        assert_eq!(m.snapshot().unwrap(), fresh_snapshot());
    }
    for (i, m) in machines.iter_mut().enumerate() {
        m.eval(&format!("globalThis.id = {i}")).unwrap();
    }
    for (i, m) in machines.iter_mut().enumerate() {
        assert_eq!(m.eval("id").unwrap(), json!(i), "machines do not share state");
    }
    let snapshot = machines[0].snapshot().unwrap();
    // Restores beyond the pool, then in it again once machines are dropped.
    let mut restored: Vec<Machine> = (0..3).map(|_| Machine::restore(&runtime, &snapshot, Options::default()).unwrap()).collect();
    assert_eq!(restored[2].eval("id").unwrap(), json!(0));
    machines.clear();
    restored.clear();
    let mut again = Machine::new(&runtime, Options::default()).unwrap();
    assert_eq!(again.eval("typeof id").unwrap(), json!("undefined"));
}

#[test]
fn the_memory_limit_and_the_meter_hold_in_the_pool() {
    let runtime = pooled(1);
    let mut bomb = Machine::new(&runtime, Options { memory_limit: 32 << 20, ..Options::default() }).unwrap();
    assert!(matches!(bomb.eval("var a = []; for (;;) a.push(new Array(100000).fill(1))"), Err(Error::OutOfMemory)));
    drop(bomb);
    // The slot the bomb filled serves the next machine, with its own limit.
    let mut limited = Machine::new(&runtime, Options { memory_limit: 8 << 20, meter_limit: Some(100_000), ..Options::default() }).unwrap();
    assert!(matches!(limited.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));
    drop(limited);
    let mut small = Machine::new(&runtime, Options { memory_limit: 8 << 20, ..Options::default() }).unwrap();
    assert!(matches!(small.eval("const b = []; for (;;) b.push(new Array(1e5).fill(1))"), Err(Error::OutOfMemory)));
    drop(small);
    let mut m = Machine::new(&runtime, Options::default()).unwrap();
    assert_eq!(m.eval("[1, 2, 3].map(x => x * 2)").unwrap(), json!([2, 4, 6]));
}

#[test]
fn pooled_machines_move_between_threads() {
    let runtime = pooled(4);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let runtime = runtime.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let mut m = Machine::new(&runtime, Options::default()).unwrap();
                    assert_eq!(m.eval(&format!("{i} * 2")).unwrap(), json!(i * 2));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
