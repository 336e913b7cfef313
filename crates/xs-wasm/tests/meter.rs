//! The meter limit stops long loops inside XS's built-ins (C code), not only
//! script loops: each case below runs for seconds or minutes unmetered.

use std::sync::OnceLock;

use xs_wasm::{Error, Machine, Options, Runtime};

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

/// Built-in calls that loop in C for a long time (seconds to minutes without
/// a limit, natively; issue "Reliability", item 4).
const LONG_BUILT_IN_CALLS: &[&str] = &[
    "Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 1)",
    "Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 1)",
    "Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 0, 1)",
    "Array.prototype.fill.call({ length: 2 ** 53 - 1 }, 1)",
    "new Array(2 ** 32 - 1).indexOf(1)",
    "Array.prototype.join.call({ length: 2 ** 31 }, 'x').length",
    // quadratic: 5.3 s natively, charged linearly before configs/patches/0008
    "(1n << 1000000n).toString().length",
    "/^(a+)+$/.test('a'.repeat(40) + 'b')",
];

#[test]
fn built_in_loops_stop_at_the_meter_limit() {
    for source in LONG_BUILT_IN_CALLS {
        let mut m = Machine::new(&runtime(), Options { meter_limit: Some(1_000_000), ..Options::default() }).unwrap();
        match m.eval(source) {
            // stopped near the limit, not charged afterwards for work done past it
            Err(Error::MeterLimit { used }) => assert!(used < 1_100_000, "{source}: stopped after {used} ticks"),
            other => panic!("{source}: expected the meter limit, got {other:?}"),
        }
    }
}

/// A machine whose meter limit is `setup`'s cost (measured on a probe
/// machine, where `setup` must give `length`) plus 100,000 ticks, and that limit.
fn limited_after(setup: &str, length: u64) -> (u32, Machine) {
    let mut probe = Machine::new(&runtime(), Options::default()).unwrap();
    assert_eq!(probe.eval(setup).unwrap(), serde_json::json!(length));
    let limit = u32::try_from(probe.meter() + 100_000).expect("the set-up costs less than 2^32 ticks");
    (limit, Machine::new(&runtime(), Options { meter_limit: Some(limit), ..Options::default() }).unwrap())
}

/// The default sort (no comparator: each comparison converts both items to
/// strings) stops at the limit once the array exists: the limit is the
/// array's cost plus a margin, measured on a probe machine.
#[test]
fn the_default_sort_stops_at_the_meter_limit() {
    let setup = "var a = new Array(200000).fill(0).map(function (_, i) { return (i * 7919) % 100003; }); a.length";
    let (limit, mut m) = limited_after(setup, 200000);
    match m.eval(&format!("{setup}; a.sort(); a[0]")) {
        // unchecked, the sort ran to its end: about 3 ticks per comparison,
        // 3.4 million comparisons, 10 million ticks past the limit
        Err(Error::MeterLimit { used }) => assert!(used < u64::from(limit) + 1_000_000, "stopped after {used} ticks, limit {limit}"),
        other => panic!("expected the meter limit, got {other:?}"),
    }
}

#[test]
fn a_big_bigint_converts_without_a_limit() {
    let mut m = Machine::new(&runtime(), Options::default()).unwrap();
    assert_eq!(m.eval("(1n << 20000n).toString().length").unwrap(), serde_json::json!(6021));
    assert_eq!(m.eval("(-(3n ** 5000n)).toString(36).slice(0, 8)").unwrap(), serde_json::json!("-mfi5rk0"));
}

/// A typed-array sort without a comparator runs in C's qsort, which cannot
/// meter: it is charged before it starts, so a sort that would pass the
/// limit does not start (unchecked, it ran to its end, charged nothing).
#[test]
fn a_typed_array_sort_past_the_limit_does_not_start() {
    let setup = "var t = new Float64Array(1000000).map(function (_, i) { return (i * 7919) % 100003; }); t.length";
    let (_, mut m) = limited_after(setup, 1000000);
    match m.eval(&format!("{setup}; t.sort()[0]")) {
        Err(Error::MeterLimit { .. }) => {}
        other => panic!("expected the meter limit, got {other:?}"),
    }
    // Without a limit it sorts (and toSorted too).
    let mut free = Machine::new(&runtime(), Options::default()).unwrap();
    assert_eq!(free.eval("new Float32Array([NaN, -0, 0, -1, 3]).toSorted().join()").unwrap(), serde_json::json!("-1,0,0,3,NaN"));
}
