//! The event loop of a machine (`port/xs_wasm.h`, "The event loop"):
//! host functions, timers, runs, binary messages.
//!
//! The guest's timers, host-call promises and awaited promise live in its
//! heap; this module drives them: it settles the host calls whose futures
//! finished, fires the timers that are due, and waits for either. Nothing
//! here needs an async runtime: the futures are polled with the caller's
//! waker (the `async fn`s) or a thread-parking one (the blocking forms), and
//! a wait for a real-clock timer is a sleeping thread that wakes the task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::Machine;
use crate::abi::{XS_WASM_OK, XS_WASM_PENDING};
use crate::error::{Error, Result};
use crate::guest::{wall_clock, HostFunction, HostResult, PendingCall, RunSync};
use crate::JsValue;

/// Run `future` to completion on this thread, parking it while the future
/// waits (its wakers unpark it). No runtime needed.
pub(crate) fn block_on_parking<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Pending once (after arranging a wake-up at `at`, if any), then ready:
/// the loop's wait for a host call's waker or a timer.
struct Wait {
    at: Option<Instant>,
    polled: bool,
}

impl Future for Wait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        if let Some(at) = self.at {
            let waker = cx.waker().clone();
            let delay = at.saturating_duration_since(Instant::now());
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                waker.wake();
            });
        }
        Poll::Pending
    }
}

/// Which loop export a step calls.
enum Step<'a> {
    Eval(&'a [u8]),
    Send(&'a [u8]),
    Awaited,
    Settle(u32, bool, &'a [u8]),
    Timers(f64),
}

impl Machine {
    /// Make `host.NAME(...args)` in the guest call `function` with the
    /// arguments (decoded: [`JsValue`]s) and return its value at once; an
    /// `Err(message)` throws an `Error` with that message in the guest, as
    /// does a panic (caught; the machine stays usable). Replaces a function
    /// of the same name. Host functions are not part of snapshots: register
    /// them again on a restored machine.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{JsValue, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.register_function("add", |args| Ok(JsValue::Number(args.iter().filter_map(JsValue::as_f64).sum())));
    /// assert_eq!(machine.eval("host.add(1, 2, 3)")?, serde_json::json!(6));
    /// # Ok(())
    /// # }
    /// ```
    pub fn register_function<F>(&mut self, name: &str, function: F)
    where
        F: FnMut(Vec<JsValue>) -> HostResult + Send + 'static,
    {
        self.store.data_mut().functions.insert(name.to_owned(), HostFunction::Sync(Box::new(function)));
    }

    /// Make `host.NAME(...args)` in the guest return a promise that the
    /// future `function` returns settles: fulfilled with its `Ok` value,
    /// rejected with an `Error` of its `Err` message (or of its panic). The
    /// future runs while the machine runs its loop ([`Machine::run`],
    /// [`Machine::eval_async`], their blocking forms); at most
    /// [`Machine::set_max_pending_calls`] calls may be pending at once (the
    /// guest's call throws beyond). On the virtual clock (the default)
    /// calls settle in the order they were made, and a call takes no
    /// virtual time (timers wait for pending calls): the same guest gives
    /// the same results whatever the futures' timing. A snapshot of a
    /// machine with pending calls is refused ([`Error::Snapshot`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{JsValue, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.register_async_function("double", |args| async move {
    ///     Ok(JsValue::Number(args[0].as_f64().unwrap_or(0.0) * 2.0))
    /// });
    /// let value = machine.eval_and_run("(async () => await host.double(21))()")?;
    /// assert_eq!(value, JsValue::Number(42.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn register_async_function<F, Fut>(&mut self, name: &str, mut function: F)
    where
        F: FnMut(Vec<JsValue>) -> Fut + Send + 'static,
        Fut: Future<Output = HostResult> + Send + 'static,
    {
        self.store.data_mut().functions.insert(name.to_owned(), HostFunction::Async(Box::new(move |args| Box::pin(function(args)))));
    }

    /// The most host calls that may be pending at once (default 1000): the
    /// guest's next async call throws an `Error` beyond it.
    pub fn set_max_pending_calls(&mut self, max: usize) {
        self.store.data_mut().max_pending = max;
    }

    /// How long a run waits for pending host calls while nothing else
    /// happens (default: the machine's [`Options::deadline`](crate::Options::deadline),
    /// 60 s; `None`: forever). Past it the calls are cancelled and the run
    /// ends with [`Error::Stalled`].
    pub fn set_host_call_timeout(&mut self, timeout: Option<Duration>) {
        self.host_call_timeout = timeout;
    }

    /// Host calls started and not yet settled in the guest.
    pub fn pending_calls(&self) -> usize {
        self.store.data().pending.len()
    }

    /// The machine's clock in ms: the virtual clock (0 until a timer fires,
    /// then the due time of the latest timer fired; kept in snapshots), or
    /// the wall clock with [`Options::real_clock`](crate::Options::real_clock).
    pub fn clock(&self) -> f64 {
        if self.store.data().real_clock {
            wall_clock()
        } else {
            self.store.data().clock
        }
    }

    /// The due time (ms, on [`Machine::clock`]) of the guest's earliest
    /// timer, if it has one.
    ///
    /// # Errors
    ///
    /// [`Error::Dead`], and the errors of a trap.
    pub fn next_timer(&mut self) -> Result<Option<f64>> {
        let _call = self.begin()?;
        let handle = self.handle;
        let due = match self.exports.next_timer.run(&mut self.store, handle) {
            Ok(due) => due,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        Ok((due >= 0.0).then_some(due))
    }

    /// Cancel every pending host call: its promise is rejected in the guest
    /// with `Error("the host call was cancelled")` (guest code runs), and
    /// its future is dropped. Returns how many there were.
    ///
    /// # Errors
    ///
    /// Those of [`Machine::eval`] for the guest code that runs.
    pub fn cancel_host_calls(&mut self) -> Result<usize> {
        self.cancel_with("the host call was cancelled")
    }

    fn cancel_with(&mut self, message: &str) -> Result<usize> {
        let ids: Vec<u32> = self.store.data().pending.keys().copied().collect();
        for &id in &ids {
            self.store.data_mut().pending.remove(&id);
            self.step(Step::Settle(id, false, message.as_bytes()))?;
        }
        Ok(ids.len())
    }

    /// Run the event loop until the guest is idle: settle host calls, fire
    /// timers (on the virtual clock, advancing it to each one's due time at
    /// once; on the real clock, waiting for it), until no timer and no host
    /// call is left. The meter limit applies to the whole run (what
    /// [`Machine::meter`] then reports), the memory limit throughout.
    /// Needs no async runtime (works under any, tokio included); the
    /// future may be dropped between steps (the guest's state stays as
    /// the steps left it; pending calls stay pending).
    ///
    /// # Errors
    ///
    /// [`Error::Js`] when a timer callback throws (the later timers stay
    /// queued); [`Error::Stalled`] when host calls exceed the host-call
    /// timeout; those of [`Machine::eval`].
    pub async fn run(&mut self) -> Result<()> {
        self.begin_run()?;
        let result = self.drive(false).await.map(drop);
        self.end_run(result)
    }

    /// [`Machine::run`], blocking the calling thread.
    ///
    /// # Errors
    ///
    /// As [`Machine::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use serde_json::json;
    /// use xs_wasm::{Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.eval("var log = []; setTimeout(() => log.push(Date.now()), 1000); setTimeout(() => log.push(Date.now()), 10)")?;
    /// machine.run_until_idle()?;
    /// assert_eq!(machine.eval("log")?, json!([10, 1000]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_until_idle(&mut self) -> Result<()> {
        block_on_parking(self.run())
    }

    /// Evaluate `source` as [`Machine::eval`] does, and when its completion
    /// is a pending promise, run the event loop until it settles: its value
    /// as a [`JsValue`] (bytes, `Map`s, `undefined` and the rest included).
    /// Timers and host calls still pending then stay for a later run.
    ///
    /// # Errors
    ///
    /// [`Error::Js`] for a rejection or a throw; [`Error::Stalled`] when the
    /// promise can never settle (nothing left to run) or host calls time
    /// out; those of [`Machine::eval`] and [`Machine::run`].
    pub async fn eval_async(&mut self, source: &str) -> Result<JsValue> {
        self.begin_run()?;
        let result = match self.step(Step::Eval(source.as_bytes())) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => self.drive(true).await,
            Err(e) => Err(e),
        };
        self.end_run(result)
    }

    /// [`Machine::eval_async`], blocking the calling thread.
    ///
    /// # Errors
    ///
    /// As [`Machine::eval_async`].
    pub fn eval_and_run(&mut self, source: &str) -> Result<JsValue> {
        block_on_parking(self.eval_async(source))
    }

    /// A binary message: call the guest's `receiveMessage(message)` with
    /// `message` as a JavaScript value (an `ArrayBuffer` for
    /// [`JsValue::Bytes`], a `Map` for [`JsValue::Map`], ...), and return
    /// its return value; a promise is awaited as in [`Machine::eval_async`].
    ///
    /// # Errors
    ///
    /// As [`Machine::eval_async`].
    pub async fn send_value(&mut self, message: &JsValue) -> Result<JsValue> {
        self.begin_run()?;
        let bytes = message.encode();
        let result = match self.step(Step::Send(&bytes)) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => self.drive(true).await,
            Err(e) => Err(e),
        };
        self.end_run(result)
    }

    /// [`Machine::send_value`], blocking the calling thread.
    ///
    /// # Errors
    ///
    /// As [`Machine::send_value`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), xs_wasm::Error> {
    /// use xs_wasm::{JsValue, Machine, Options, Runtime};
    /// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
    /// machine.eval("globalThis.receiveMessage = (buffer) => new Uint8Array(buffer).reverse()")?;
    /// let reply = machine.send_value_and_run(&JsValue::Bytes(vec![1, 2, 3]))?;
    /// assert_eq!(reply.as_bytes(), Some(&[3u8, 2, 1][..]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_value_and_run(&mut self, message: &JsValue) -> Result<JsValue> {
        block_on_parking(self.send_value(message))
    }

    fn begin_run(&mut self) -> Result<()> {
        self.check_alive()?;
        self.run_meter = 0;
        self.meter = 0;
        Ok(())
    }

    /// Give the machine back its whole meter limit per call.
    fn end_run<T>(&mut self, result: Result<T>) -> Result<T> {
        if let (Some(limit), false) = (self.meter_limit, self.is_stopped()) {
            let handle = self.handle;
            if let Err(trap) = self.exports.set_meter.run(&mut self.store, (handle, limit, self.meter_interval)) {
                return Err(self.stop(Error::wasm(trap)));
            }
        }
        result
    }

    /// One call of a loop export, within what is left of the run's meter
    /// limit: `Some(value)` for a value, `None` for `XS_WASM_PENDING`.
    fn step(&mut self, step: Step<'_>) -> Result<Option<JsValue>> {
        if let Some(limit) = self.meter_limit {
            let left = u64::from(limit).saturating_sub(self.run_meter);
            if left == 0 {
                self.meter = self.run_meter;
                return Err(self.stop(Error::MeterLimit { used: self.run_meter }));
            }
            let handle = self.handle;
            if let Err(trap) = self.exports.set_meter.run(&mut self.store, (handle, left as u32, self.meter_interval)) {
                return Err(self.stop(Error::wasm(trap)));
            }
        }
        let _call = self.begin()?;
        let handle = self.handle;
        let input: &[u8] = match &step {
            Step::Eval(b) | Step::Send(b) | Step::Settle(_, _, b) => b,
            Step::Awaited | Step::Timers(_) => &[],
        };
        let ptr = match Self::write_input(&mut self.store, &self.exports, input) {
            Ok(ptr) => ptr,
            Err(e) => return Err(self.stop(e)),
        };
        let len = input.len() as u32;
        let exports = &self.exports;
        let store = &mut self.store;
        let status = match step {
            Step::Eval(_) => exports.eval_async.run(store, (handle, ptr, len)),
            Step::Send(_) => exports.send_value.run(store, (handle, ptr, len)),
            Step::Awaited => exports.awaited.run(store, handle),
            Step::Settle(id, ok, _) => exports.settle.run(store, (handle, id, i32::from(ok), ptr, len)),
            Step::Timers(now) => exports.run_timers.run(store, (handle, now)),
        };
        let status = match status {
            Ok(status) => status,
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        if let Err(trap) = self.exports.free.run(&mut self.store, ptr) {
            return Err(self.stop(Error::wasm(trap)));
        }
        let ticks = match self.exports.meter.run(&mut self.store, handle) {
            Ok(ticks) => u64::from(ticks),
            Err(trap) => return Err(self.stop(Error::wasm(trap))),
        };
        self.run_meter += ticks;
        self.meter = self.run_meter;
        let payload = self.result()?;
        match status {
            XS_WASM_OK if payload.is_empty() => Ok(Some(JsValue::Undefined)),
            XS_WASM_OK => JsValue::decode(&payload).map(Some).map_err(|e| Error::InvalidJson(format!("the guest's value: {e}"))),
            XS_WASM_PENDING => Ok(None),
            other => Err(self.status_error(other, payload)),
        }
    }

    /// Poll the running host calls once with `cx` (registering its waker).
    fn poll_calls(&mut self, cx: &mut Context<'_>) {
        for call in self.store.data_mut().pending.values_mut() {
            if let PendingCall::Running(future) = call {
                let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx)));
                match polled {
                    Ok(Poll::Ready(outcome)) => *call = PendingCall::Done(outcome),
                    Ok(Poll::Pending) => {}
                    Err(payload) => {
                        let message = payload.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default();
                        *call = PendingCall::Done(Err(format!("the host call panicked: {message}")));
                    }
                }
            }
        }
    }

    /// The finished call to settle next: on the virtual clock the oldest
    /// call only once it finished (calls settle in the order they were
    /// made); on the real clock the oldest finished one.
    fn take_done(&mut self) -> Option<(u32, HostResult)> {
        let state = self.store.data_mut();
        let id = if state.real_clock {
            state.pending.iter().find(|(_, call)| matches!(call, PendingCall::Done(_))).map(|(&id, _)| id)?
        } else {
            state.pending.first_key_value().filter(|(_, call)| matches!(call, PendingCall::Done(_))).map(|(&id, _)| id)?
        };
        match state.pending.remove(&id) {
            Some(PendingCall::Done(outcome)) => Some((id, outcome)),
            _ => None,
        }
    }

    /// The loop; `awaiting`: until the awaited promise settles (its value),
    /// else until idle (`Undefined`). The guest is asked about the awaited
    /// promise only after a step that ran guest code (not after each wake):
    /// the steps and their meter counts do not depend on the host's timing.
    async fn drive(&mut self, awaiting: bool) -> Result<JsValue> {
        let mut progress = Instant::now();
        let mut changed = true;
        // the wake-up a sleeping thread will give (one thread at a time)
        let mut armed: Option<Instant> = None;
        loop {
            if awaiting && changed {
                if let Some(value) = self.step(Step::Awaited)? {
                    return Ok(value);
                }
            }
            changed = true;
            std::future::poll_fn(|cx| {
                self.poll_calls(cx);
                Poll::Ready(())
            })
            .await;
            if let Some((id, outcome)) = self.take_done() {
                let (ok, payload) = match outcome {
                    Ok(value) => (true, value.encode()),
                    Err(message) => (false, message.into_bytes()),
                };
                self.step(Step::Settle(id, ok, &payload))?;
                progress = Instant::now();
                continue;
            }
            let next = self.next_timer()?;
            let pending = !self.store.data().pending.is_empty();
            let real = self.store.data().real_clock;
            let mut wake_at = None;
            if let Some(due) = next {
                if !real && !pending {
                    let state = self.store.data_mut();
                    state.clock = state.clock.max(due);
                    let now = state.clock;
                    self.step(Step::Timers(now))?;
                    progress = Instant::now();
                    continue;
                }
                if real {
                    let now = wall_clock();
                    if due <= now {
                        self.step(Step::Timers(now))?;
                        progress = Instant::now();
                        continue;
                    }
                    wake_at = Some(Instant::now() + Duration::from_secs_f64(((due - now) / 1000.0).min(1e9)));
                }
            }
            if !pending && next.is_none() {
                if awaiting {
                    return Err(Error::Stalled("the awaited promise is pending, but the guest has no timers and no host calls left: it can never settle".into()));
                }
                return Ok(JsValue::Undefined);
            }
            if pending {
                if let Some(timeout) = self.host_call_timeout {
                    let limit = progress + timeout;
                    if Instant::now() >= limit {
                        let count = self.cancel_with("the host call was cancelled: it made no progress within the host-call timeout")?;
                        return Err(Error::Stalled(format!("{count} host call(s) made no progress within {} ms; they were cancelled", timeout.as_millis())));
                    }
                    wake_at = Some(wake_at.map_or(limit, |at: Instant| at.min(limit)));
                }
            }
            changed = false;
            let now = Instant::now();
            let at = wake_at.filter(|&at| armed.is_none_or(|armed| armed <= now || armed > at));
            if at.is_some() {
                armed = at;
            }
            Wait { at, polled: false }.await;
        }
    }
}
