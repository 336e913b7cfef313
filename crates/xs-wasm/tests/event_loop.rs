//! The event loop through the public API: timers, host functions, runs,
//! binary values, snapshots of timers, and the bad inputs of each.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde_json::json;
use xs_wasm::{Error, JsValue, Machine, Options, Runtime, TypedArrayKind};

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

fn machine() -> Machine {
    Machine::new(&runtime(), Options::default()).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

/// A future another thread completes (after `delay`): no runtime involved,
/// only the waker.
struct Later<T> {
    shared: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

impl<T: Send + 'static> Later<T> {
    fn new(value: T, delay: Duration) -> Self {
        let shared = Arc::new(Mutex::new((None, None::<Waker>)));
        let other = shared.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let mut state = other.lock().unwrap();
            state.0 = Some(value);
            if let Some(waker) = state.1.take() {
                waker.wake();
            }
        });
        Later { shared }
    }
}

impl<T> Future for Later<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared.lock().unwrap();
        match state.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

const EXPECTED: &str = "hello from the host; sum 15; tick 10, tick 20; at 25";

/// The README's example on a fresh machine: (result, meter, snapshot).
/// `greeting_delay`/`numbers_delay`: how long each host call takes, in real time.
fn run_example(greeting_delay: u64, numbers_delay: u64) -> (JsValue, u64, Vec<u8>) {
    let mut m = machine();
    let greeting = fixture("async-greeting.txt");
    let numbers = fixture("async-numbers.bin");
    m.register_async_function("greeting", move |_| Later::new(Ok(JsValue::from(greeting.clone())), Duration::from_millis(greeting_delay)));
    m.register_async_function("numbers", move |_| Later::new(Ok(JsValue::from(numbers.clone())), Duration::from_millis(numbers_delay)));
    let source = String::from_utf8(fixture("async-example.js")).unwrap();
    let value = m.eval_and_run(&source).unwrap();
    let meter = m.meter();
    m.run_until_idle().unwrap();
    (value, meter, m.snapshot().unwrap())
}

#[test]
fn the_example_awaits_two_host_functions_uses_timers_and_returns_bytes() {
    let (value, meter, snapshot) = run_example(5, 1);
    assert_eq!(value, JsValue::TypedArray(TypedArrayKind::Uint8, EXPECTED.as_bytes().to_vec()));
    assert!(meter > 0);
    // deterministic on the virtual clock, whichever host call finishes first
    let (again, again_meter, again_snapshot) = run_example(1, 5);
    assert_eq!(again, value);
    assert_eq!(again_meter, meter, "same guest, same meter count");
    assert_eq!(again_snapshot, snapshot, "same guest, same snapshot bytes");
}

#[test]
fn the_async_run_needs_no_runtime_and_is_a_plain_future() {
    let mut m = machine();
    m.register_async_function("later", |args| Later::new(Ok(args[0].clone()), Duration::from_millis(2)));
    // polled by a minimal executor: a thread-parking waker, nothing else
    let value = block_on(m.eval_async("(async () => [await host.later(1), await host.later('two')])()")).unwrap();
    assert_eq!(value, JsValue::Array(vec![JsValue::Number(1.0), JsValue::from("two")]));
}

fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn timers_fire_in_order_of_due_time_on_the_virtual_clock() {
    let mut m = machine();
    m.eval(
        "var log = [];
         setTimeout(() => log.push(['b', Date.now()]), 20);
         setTimeout(() => log.push(['a', Date.now()]), 10);
         setTimeout((x, y) => log.push([x + y, performance.timeOrigin + performance.now()]), 10, 'a', '2');
         var gone = setTimeout(() => log.push('never'), 5); clearTimeout(gone);
         var n = 0, every = setInterval(() => { log.push(['i', Date.now()]); if (++n === 3) clearInterval(every); }, 7);
         Promise.resolve().then(() => log.push(['job', Date.now()]));",
    )
    .unwrap();
    assert_eq!(m.next_timer().unwrap(), Some(7.0));
    m.run_until_idle().unwrap();
    assert_eq!(m.eval("log").unwrap(), json!([["job", 0], ["i", 7], ["a", 10], ["a2", 10], ["i", 14], ["b", 20], ["i", 21]]));
    assert_eq!(m.clock(), 21.0);
    assert_eq!(m.next_timer().unwrap(), None);
}

#[test]
fn a_snapshot_keeps_pending_timers_and_the_clock() {
    let mut m = machine();
    m.eval("var fired = []; setTimeout(() => fired.push(Date.now()), 100)").unwrap();
    m.run_until_idle().unwrap();
    m.eval("setTimeout(() => fired.push(Date.now()), 50); setInterval(() => fired.length < 4 && fired.push(Date.now()), 30)").unwrap();
    let snapshot = m.snapshot().unwrap();
    let mut restored = Machine::restore(&runtime(), &snapshot, Options::default()).unwrap();
    assert_eq!(restored.clock(), 100.0);
    assert_eq!(restored.next_timer().unwrap(), Some(130.0));
    restored.set_meter_limit(Some(1_000_000), 1_000).unwrap();
    // the interval never stops by itself: the meter limit of the run ends it
    assert!(matches!(restored.run_until_idle(), Err(Error::MeterLimit { .. })));
    let mut again = Machine::restore(&runtime(), &snapshot, Options::default()).unwrap();
    again.eval("setTimeout(() => clearInterval(3), 200)").unwrap();
    again.run_until_idle().unwrap();
    assert_eq!(again.eval("fired").unwrap(), json!([100, 130, 150, 160]));
}

#[test]
fn sync_host_functions_return_values_and_throw_errors() {
    let mut m = machine();
    m.register_function("concat", |args| {
        let mut out = Vec::new();
        for a in &args {
            out.extend_from_slice(a.as_bytes().ok_or("concat: expected bytes")?);
        }
        Ok(JsValue::Bytes(out))
    });
    m.register_function("boom", |_| panic!("kaboom"));
    let value = m.eval("Array.from(new Uint8Array(host.concat(new Uint8Array([1, 2]), new Uint8Array([3]).buffer)))").unwrap();
    assert_eq!(value, json!([1, 2, 3]));
    assert_eq!(m.eval("try { host.concat(1) } catch (e) { e.message }").unwrap(), json!("concat: expected bytes"));
    let panicked = m.eval("try { host.boom() } catch (e) { e.message }").unwrap();
    assert!(panicked.as_str().unwrap().contains("panicked: kaboom"), "{panicked}");
    assert_eq!(m.eval("try { host.missing() } catch (e) { e.message }").unwrap(), json!("no host function named \"missing\""));
    let unclonable = m.eval("try { host.concat(() => 1) } catch (e) { e.name + ': ' + e.message }").unwrap();
    assert_eq!(unclonable, json!("TypeError: cannot send a function to the host"));
    assert_eq!(m.eval("1 + 1").unwrap(), json!(2), "the machine stays usable");
}

#[test]
fn async_host_function_errors_are_rejections() {
    let mut m = machine();
    m.register_async_function("fail", |_| async { Err::<JsValue, _>("no such file".to_owned()) });
    m.register_async_function("explode", |_| async { panic!("in the future") });
    let value = m.eval_and_run("(async () => { try { await host.fail() } catch (e) { return e.message } })()").unwrap();
    assert_eq!(value, JsValue::from("no such file"));
    let value = m.eval_and_run("host.explode().catch((e) => e.message)").unwrap();
    assert!(value.as_str().unwrap().contains("panicked: in the future"), "{value:?}");
    match m.eval_and_run("host.fail()") {
        Err(Error::Js { message, .. }) => assert_eq!(message, "no such file"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_call_that_never_settles_times_out_or_is_cancelled() {
    let mut m = machine();
    m.register_async_function("never", |_| std::future::pending::<xs_wasm::HostResult>());
    m.set_host_call_timeout(Some(Duration::from_millis(20)));
    match m.eval_and_run("host.never()") {
        Err(Error::Stalled(reason)) => assert!(reason.contains("cancelled"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.pending_calls(), 0);
    // cancelled by the host: a plain eval starts the call, cancel rejects it
    m.eval("var outcome = 'pending'; host.never().then(() => outcome = 'settled', (e) => outcome = e.message)").unwrap();
    assert_eq!(m.pending_calls(), 1);
    assert!(matches!(m.snapshot(), Err(Error::Snapshot { reason }) if reason.contains("host call(s) are pending")));
    assert_eq!(m.cancel_host_calls().unwrap(), 1);
    assert_eq!(m.eval("outcome").unwrap(), json!("the host call was cancelled"));
    m.snapshot().unwrap();
    // a promise nothing can settle: the run says so instead of waiting
    assert!(matches!(m.eval_and_run("new Promise(() => {})"), Err(Error::Stalled(_))));
}

#[test]
fn floods_of_timers_and_host_calls_end_in_errors_or_the_meter() {
    let mut m = machine();
    let flood = m.eval("let i = 0; try { for (;;) { setTimeout(() => {}, 1); i++ } } catch (e) { [i, e.name, e.message] }").unwrap();
    assert_eq!(flood, json!([10000, "RangeError", "setTimeout: too many timers (at most 10000 at once)"]));
    m.register_async_function("wait", |_| std::future::pending::<xs_wasm::HostResult>());
    m.set_max_pending_calls(100);
    let calls = m.eval("let n = 0; try { for (;;) { host.wait(); n++ } } catch (e) { [n, e.message] }").unwrap();
    assert_eq!(calls, json!([100, "too many pending host calls (at most 100 at once)"]));
    assert_eq!(m.cancel_host_calls().unwrap(), 100);
    let mut spinner = machine();
    spinner.set_meter_limit(Some(2_000_000), 1_000).unwrap();
    spinner.eval("(function again() { setTimeout(again, 0) })()").unwrap();
    match spinner.run_until_idle() {
        Err(Error::MeterLimit { used }) => assert!(used >= 2_000_000, "{used}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_timer_that_throws_ends_the_run_with_its_error() {
    let mut m = machine();
    m.eval("var later = false; setTimeout(() => { throw new TypeError('bad tick') }, 1); setTimeout(() => { later = true }, 2)").unwrap();
    match m.run_until_idle() {
        Err(Error::Js { name, message, .. }) => assert_eq!((name.as_str(), message.as_str()), ("TypeError", "bad tick")),
        other => panic!("{other:?}"),
    }
    m.run_until_idle().unwrap();
    assert_eq!(m.eval("later").unwrap(), json!(true));
}

#[test]
fn binary_messages_carry_every_kind_of_value() {
    let mut m = machine();
    m.eval("globalThis.receiveMessage = (v) => [typeof v.get('n'), v.get('big') * 2n, v.get('when') instanceof Date, new Float64Array(v.get('floats'))[1], v.get('set').has('x'), v.get('u'), v.get('buf').byteLength]").unwrap();
    let message = JsValue::Map(vec![
        (JsValue::from("n"), JsValue::Number(1.0)),
        (JsValue::from("big"), JsValue::BigInt("12345678901234567890".into())),
        (JsValue::from("when"), JsValue::Date(86_400_000.0)),
        (JsValue::from("floats"), JsValue::TypedArray(TypedArrayKind::Float64, [1.5f64, 2.5].iter().flat_map(|f| f.to_le_bytes()).collect())),
        (JsValue::from("set"), JsValue::Set(vec![JsValue::from("x")])),
        (JsValue::from("u"), JsValue::Undefined),
        (JsValue::from("buf"), JsValue::Bytes(vec![0; 1 << 20])),
    ]);
    let reply = m.send_value_and_run(&message).unwrap();
    assert_eq!(
        reply,
        JsValue::Array(vec![JsValue::from("number"), JsValue::BigInt("24691357802469135780".into()), JsValue::Bool(true), JsValue::Number(2.5), JsValue::Bool(true), JsValue::Undefined, JsValue::Number(1048576.0)])
    );
    // results as JSON takes them: a function is undefined
    assert_eq!(m.eval_and_run("({ f() {}, d: new DataView(new ArrayBuffer(2)) })").unwrap(), JsValue::Object(vec![("f".into(), JsValue::Undefined), ("d".into(), JsValue::TypedArray(TypedArrayKind::DataView, vec![0, 0]))]));
}

#[test]
fn real_clock_timers_fire_on_wall_time() {
    let mut m = Machine::new(&runtime(), Options { real_clock: true, ..Options::default() }).unwrap();
    m.eval("var start = Date.now(), waited; setTimeout(() => { waited = Date.now() - start }, 5)").unwrap();
    m.run_until_idle().unwrap();
    assert!(m.eval("waited").unwrap().as_f64().unwrap() >= 5.0);
}

/// The figures of the report: host-call round trips (sync and async) and
/// a 1 MiB message, each against the JSON path (`sendMessage` /
/// `Machine::send`), in one run. `cargo test --release --test event_loop -- --ignored --nocapture`.
#[test]
#[ignore = "measurement: prints figures"]
fn figures() {
    use std::time::Instant;
    let mut m = machine();
    m.set_message_handler(Ok);
    m.register_function("echo", |mut args| Ok(args.pop().unwrap_or(JsValue::Undefined)));
    m.register_async_function("echoAsync", |mut args| async move { Ok(args.pop().unwrap_or(JsValue::Undefined)) });
    let n = 20_000;
    let time = |m: &mut Machine, source: &str| {
        let start = Instant::now();
        m.eval_and_run(source).unwrap();
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    let json = time(&mut m, &format!("for (let i = 0; i < {n}; i++) sendMessage({{ i }})"));
    let sync = time(&mut m, &format!("for (let i = 0; i < {n}; i++) host.echo({{ i }})"));
    let asynchronous = time(&mut m, &format!("(async () => {{ for (let i = 0; i < {n}; i++) await host.echoAsync({{ i }}) }})()"));
    println!("host call round trip, us per call: JSON sendMessage {json:.2}, sync host function {sync:.2}, async host function {asynchronous:.2}");
    m.eval("globalThis.receiveMessage = (m) => m").unwrap();
    let bytes = vec![7u8; 1 << 20];
    let as_json = serde_json::Value::Array(bytes.iter().map(|&b| json!(b)).collect());
    let rounds = 20;
    let start = Instant::now();
    for _ in 0..rounds {
        m.send(&as_json).unwrap();
    }
    let json_ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(rounds);
    let message = JsValue::Bytes(bytes);
    let start = Instant::now();
    for _ in 0..rounds {
        m.send_value_and_run(&message).unwrap();
    }
    let binary_ms = start.elapsed().as_secs_f64() * 1e3 / f64::from(rounds);
    println!("1 MiB round trip, ms: JSON array of numbers (send) {json_ms:.2}, ArrayBuffer (send_value) {binary_ms:.2}");
}

#[tokio::test(flavor = "current_thread")]
async fn runs_under_tokio_with_host_futures_on_tokio_timers() {
    let mut m = machine();
    m.register_async_function("sleepy", |args| async move {
        tokio::time::sleep(Duration::from_millis(3)).await;
        Ok(args[0].clone())
    });
    let value = m.eval_async("(async () => { const a = await host.sleepy(1); await new Promise((r) => setTimeout(r, 1000)); return [a, await host.sleepy('b'), Date.now()] })()").await.unwrap();
    assert_eq!(value, JsValue::Array(vec![JsValue::Number(1.0), JsValue::from("b"), JsValue::Number(1000.0)]));
    m.eval("host.sleepy(3).then((v) => globalThis.late = v)").unwrap();
    m.run().await.unwrap();
    assert_eq!(m.eval("late").unwrap(), json!(3));
}
