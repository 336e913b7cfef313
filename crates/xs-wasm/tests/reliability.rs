//! Reliability (issue 22): every call ends (deadlines, interrupts), option
//! validation is one rule, host panics are contained, nothing is lost
//! silently, snapshots can be authenticated.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;
use xs_wasm::{Error, Machine, ModuleCache, Options, Runtime, RuntimeOptions};

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

fn machine() -> Machine {
    Machine::new(&runtime(), Options::default()).unwrap()
}

fn invalid(result: Result<Machine, Error>) -> String {
    match result {
        Err(Error::InvalidOptions(message)) => message,
        other => panic!("expected InvalidOptions, got {other:?}"),
    }
}

// ---------------------------------------------------------------- (a) meter

#[test]
fn a_meter_limit_of_zero_is_refused_everywhere() {
    let options = Options { meter_limit: Some(0), ..Options::default() };
    let message = invalid(Machine::new(&runtime(), options.clone()));
    assert!(message.contains("meter_limit"), "{message}");
    let snapshot = machine().snapshot().unwrap();
    let message = invalid(Machine::restore(&runtime(), &snapshot, options));
    assert!(message.contains("meter_limit"), "{message}");

    // The setter refuses it too, and the machine keeps its limit.
    let mut m = Machine::new(&runtime(), Options { meter_limit: Some(100_000), ..Options::default() }).unwrap();
    assert!(matches!(m.set_meter_limit(Some(0), 1000), Err(Error::InvalidOptions(_))));
    assert!(matches!(m.set_meter_limit(Some(10), 0), Err(Error::InvalidOptions(_))));
    assert!(matches!(m.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));

    // A limit of 1 tick is a limit: an endless loop stops.
    let mut one = Machine::new(&runtime(), Options { meter_limit: Some(1), meter_interval: 1, ..Options::default() }).unwrap();
    assert!(matches!(one.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));
}

// ------------------------------------------------------- (e) memory limits

#[test]
fn memory_limits_follow_one_rule_in_new_and_restore() {
    let snapshot = machine().snapshot().unwrap();
    for limit in [0, 1, 4096, Options::MIN_MEMORY_LIMIT - 1] {
        let options = Options { memory_limit: limit, ..Options::default() };
        let message = invalid(Machine::new(&runtime(), options.clone()));
        assert!(message.contains("memory_limit") && message.contains(&Options::MIN_MEMORY_LIMIT.to_string()), "{message}");
        assert_eq!(invalid(Machine::restore(&runtime(), &snapshot, options.clone())), message);
        assert!(matches!(options.validate(), Err(Error::InvalidOptions(_))));
    }
    // The smallest accepted limit holds a fresh machine and an empty one restored.
    let options = Options { memory_limit: Options::MIN_MEMORY_LIMIT, ..Options::default() };
    assert_eq!(Machine::new(&runtime(), options.clone()).unwrap().eval("1 + 1").unwrap(), json!(2));
    assert_eq!(Machine::restore(&runtime(), &snapshot, options).unwrap().eval("1 + 1").unwrap(), json!(2));
}

// ------------------------------------------------------ (c) deadlines

#[test]
fn an_endless_loop_ends_at_the_deadline_and_the_machine_is_then_dead() {
    let deadline = Duration::from_millis(200);
    let mut m = Machine::new(&runtime(), Options { deadline: Some(deadline), ..Options::default() }).unwrap();
    m.eval("var before = 1").unwrap();
    match m.eval("for (;;) {}") {
        Err(Error::Deadline { deadline: d }) => assert_eq!(d, deadline),
        other => panic!("expected the deadline, got {other:?}"),
    }
    assert!(m.is_stopped());
    for outcome in [m.eval("before").map(drop), m.send(&json!(1)).map(drop), m.snapshot().map(drop), m.set_meter_limit(Some(5), 5)] {
        match outcome {
            Err(Error::Dead { reason }) => assert!(reason.contains("deadline"), "{reason}"),
            other => panic!("expected Dead, got {other:?}"),
        }
    }
}

#[test]
fn the_deadline_is_per_call_and_can_be_changed() {
    let mut m = Machine::new(&runtime(), Options { deadline: Some(Duration::from_secs(30)), ..Options::default() }).unwrap();
    // Many short calls: each has its own deadline.
    for i in 0..50 {
        assert_eq!(m.eval(&format!("{i} + 1")).unwrap(), json!(i + 1));
    }
    m.set_deadline(Some(Duration::from_millis(100))).unwrap();
    assert!(matches!(m.eval("while (true) {}"), Err(Error::Deadline { .. })));
    assert!(matches!(m.set_deadline(None), Err(Error::Dead { .. })));
}

#[test]
fn deadline_options_are_checked() {
    let message = invalid(Machine::new(&runtime(), Options { deadline: Some(Duration::ZERO), ..Options::default() }));
    assert!(message.contains("deadline"), "{message}");
    let mut m = machine();
    assert!(matches!(m.set_deadline(Some(Duration::ZERO)), Err(Error::InvalidOptions(_))));
    // No deadline at all is allowed (the meter still applies).
    let mut unbounded = Machine::new(&runtime(), Options { deadline: None, meter_limit: Some(1_000_000), ..Options::default() }).unwrap();
    assert!(matches!(unbounded.eval("for (;;) {}"), Err(Error::MeterLimit { .. })));
}

#[test]
fn a_runtime_without_deadlines_refuses_them() {
    let options = RuntimeOptions { deadlines: false, module_cache: ModuleCache::Off, pooling: None };
    let plain = Runtime::new_with(&options).unwrap();
    assert!(!plain.deadlines());
    assert!(runtime().deadlines());
    let message = invalid(Machine::new(&plain, Options::default()));
    assert!(message.contains("deadline"), "{message}");
    let mut m = Machine::new(&plain, Options { deadline: None, ..Options::default() }).unwrap();
    assert_eq!(m.eval("6 * 7").unwrap(), json!(42));
    assert!(matches!(m.interrupt_handle(), Err(Error::InvalidOptions(_))));
    assert!(matches!(m.set_deadline(Some(Duration::from_secs(1))), Err(Error::InvalidOptions(_))));
    // Snapshots move between runtimes with and without deadlines.
    let snapshot = m.snapshot().unwrap();
    let mut restored = Machine::restore(&runtime(), &snapshot, Options::default()).unwrap();
    assert_eq!(restored.eval("6 * 7").unwrap(), json!(42));
}

#[test]
fn another_thread_can_interrupt_a_running_call() {
    let mut m = Machine::new(&runtime(), Options { deadline: None, ..Options::default() }).unwrap();
    let handle = m.interrupt_handle().unwrap();
    assert!(!handle.is_interrupted());
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
        handle
    });
    assert!(matches!(m.eval("for (;;) {}"), Err(Error::Interrupted)));
    assert!(interrupter.join().unwrap().is_interrupted());
    match m.eval("1") {
        Err(Error::Dead { reason }) => assert!(reason.contains("interrupted"), "{reason}"),
        other => panic!("expected Dead, got {other:?}"),
    }
}

#[test]
fn an_interrupt_while_idle_ends_the_next_call_before_it_runs() {
    let mut m = machine();
    m.eval("globalThis.ran = false").unwrap();
    m.interrupt_handle().unwrap().interrupt();
    assert!(matches!(m.eval("ran = true"), Err(Error::Interrupted)));
    assert!(matches!(m.eval("ran"), Err(Error::Dead { .. })));
    assert!(matches!(m.snapshot(), Err(Error::Dead { .. })));
    // Other machines of the runtime are not affected.
    assert_eq!(machine().eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn a_deadline_stops_one_machine_while_others_run_on() {
    let runtime = runtime();
    let busy = {
        let runtime = runtime.clone();
        std::thread::spawn(move || {
            let mut m = Machine::new(&runtime, Options { deadline: Some(Duration::from_millis(300)), ..Options::default() }).unwrap();
            m.eval("for (;;) {}")
        })
    };
    let mut other = Machine::new(&runtime, Options { deadline: Some(Duration::from_secs(30)), ..Options::default() }).unwrap();
    let mut total = 0;
    for i in 0..200 {
        total += other.eval(&format!("var s = 0; for (let k = 0; k < 1000; k++) s += k; s + {i}")).unwrap().as_i64().unwrap();
    }
    assert_eq!(total, 200 * 499_500 + 199 * 200 / 2);
    assert!(matches!(busy.join().unwrap(), Err(Error::Deadline { .. })));
}

// --------------------------------------------------- (e) host panics

#[test]
fn a_panicking_message_handler_is_a_typed_error_and_the_machine_stays_usable() {
    let mut m = machine();
    let mut calls = 0;
    m.set_message_handler(move |message| {
        calls += 1;
        if message == json!("boom") {
            panic!("handler exploded on call {calls}");
        }
        Ok(json!({ "ok": message }))
    });
    m.eval("globalThis.caught = null; globalThis.receiveMessage = (m) => { try { return sendMessage(m); } catch (e) { caught = e.message; return 'recovered'; } }").unwrap();
    match m.send(&json!("boom")) {
        Err(Error::HostPanic { message }) => assert!(message.contains("handler exploded on call 1"), "{message}"),
        other => panic!("expected HostPanic, got {other:?}"),
    }
    // The guest saw an Error; the machine is neither busy nor dead.
    assert!(!m.is_stopped());
    assert_eq!(m.eval("caught").unwrap(), json!("the host's message handler panicked: handler exploded on call 1"));
    assert_eq!(m.send(&json!("fine")).unwrap(), json!({ "ok": "fine" }));
    assert_eq!(m.eval("1 + 1").unwrap(), json!(2));
    assert!(m.snapshot().is_ok());
}

#[test]
fn a_panicking_log_handler_is_a_typed_error_too() {
    let mut m = machine();
    m.set_log_handler(|_, text| {
        if text == "explode" {
            panic!("log handler exploded");
        }
    });
    match m.eval("console.log('explode'); 5") {
        Err(Error::HostPanic { message }) => assert!(message.contains("log handler exploded"), "{message}"),
        other => panic!("expected HostPanic, got {other:?}"),
    }
    assert_eq!(m.eval("console.log('quiet'); 6").unwrap(), json!(6));
}
