// WorkerSandbox: a Sandbox in a worker thread of its own, so that a call
// can be given a hard wall-clock deadline: past it, the worker is terminated
// (the only way to stop a thread that runs the engine's C code, which no
// meter check reaches), the call fails with DeadlineError and the sandbox
// is gone. Every method is asynchronous: the calling thread stays free
// while the guest runs.
//
// The worker runs worker-serve.mjs with the entry point of this platform
// (platform.spawnWorker). The guest's synchronous sendMessage reaches
// receiveMessage on this thread through a SharedArrayBuffer channel (the
// worker waits with Atomics.wait); so do the module loader and the guest's
// host.NAME(...args) (hostFunctions). A host function that returns a
// promise replies "pending" at once; its settlement follows as a message,
// which the worker's event loop (run, sendValue) waits for.

import {
  ArtifactError,
  DeadlineError,
  InterruptedError,
  EngineError,
  IntegrityError,
  InvalidJsonError,
  MemoryLimitError,
  MeterLimitError,
  SandboxBusyError,
  SandboxError,
  SandboxStoppedError,
  ResultTooLargeError,
  SnapshotAuthError,
  SnapshotError,
  StackOverflowError,
  StalledError,
  XsWasmError,
} from './errors.mjs';
import { deadlineOf, normalizeOptions } from './options.mjs';
import { currentPlatform } from './runtime.mjs';
import { defaultLog, hostErrorText } from './sandbox.mjs';
import { decodeValue, encodeValue } from './values.mjs';
import { HOST_ERROR, HOST_PENDING, HOST_VALUE, REPLY_CHUNK, REPLY_DONE, REPLY_MORE } from './worker-serve.mjs';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const TOKEN = Symbol('WorkerSandbox.create');
/** Options a worker cannot receive: functions, or what goes with them. */
const LOCAL_ONLY = ['factory', 'wasmBinary', 'wasmSha256'];
const NEEDS_SHARED = 'in a WorkerSandbox needs SharedArrayBuffer (in browsers, a cross-origin isolated page)';
/** Calls of the event loop: while one is in progress, other calls go to the worker at once (see #call). */
const LOOP_OPS = new Set(['run', 'sendValue']);

/**
 * The error a worker described, as this thread's class.
 * @param {Record<string, any>} e
 */
function revive(e) {
  switch (e.name) {
    case 'SandboxError':
      return new SandboxError({ name: e.guestName, message: e.guestMessage, stack: e.guestStack });
    case 'MeterLimitError':
      return new MeterLimitError(e.meter, e.limit);
    case 'MemoryLimitError':
      return new MemoryLimitError(e.limit);
    case 'StackOverflowError':
      return new StackOverflowError();
    case 'EngineError':
      return new EngineError(e.reason, { status: e.status });
    case 'SandboxStoppedError':
      return new SandboxStoppedError(e.reason);
    case 'SnapshotError':
      return new SnapshotError(e.reason);
    case 'SnapshotAuthError':
      return new SnapshotAuthError(e.kind);
    case 'ResultTooLargeError':
      return new ResultTooLargeError(e.size, e.limit);
    case 'InterruptedError':
      return new InterruptedError(e.method);
    case 'StalledError':
      return new StalledError(e.message);
    case 'SandboxBusyError': {
      const error = new SandboxBusyError('');
      error.message = e.message;
      return error;
    }
    case 'IntegrityError':
      return new IntegrityError(e.file, e.expected, e.actual);
    case 'ArtifactError':
      return new ArtifactError(e.message);
    case 'InvalidJsonError':
      return new InvalidJsonError(e.message);
    case 'TypeError':
      return new TypeError(e.message);
    case 'RangeError':
      return new RangeError(e.message);
    default: {
      const error = new XsWasmError(e.message);
      error.name = e.name;
      return error;
    }
  }
}

/**
 * A Web Worker (browsers, Deno) as WorkerSandbox drives it.
 * @param {Worker} worker
 * @returns {import('./runtime.mjs').WorkerEndpoint}
 */
function webWorkerEndpoint(worker) {
  if (!worker || typeof worker.postMessage !== 'function' || typeof worker.terminate !== 'function') {
    throw new TypeError('option worker must return a Worker (new Worker(url, { type: "module" }))');
  }
  return {
    post: (message, transfer) => worker.postMessage(message, transfer ?? []),
    onMessage: (handler) => worker.addEventListener('message', (event) => handler(/** @type {MessageEvent} */ (event).data)),
    onError: (handler) =>
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        handler(new Error(/** @type {ErrorEvent} */ (event).message || 'the worker failed to load or threw'));
      }),
    terminate: () => worker.terminate(),
  };
}

/**
 * A sandbox in a worker thread of its own, with an optional hard deadline
 * per call. Create with `await WorkerSandbox.create(options)` or
 * `await WorkerSandbox.restore(bytes, options)`.
 */
export class WorkerSandbox {
  /** @type {ReturnType<NonNullable<import('./runtime.mjs').Platform['spawnWorker']>> | null} */
  #worker = null;
  #deadlineMs = 0;
  /** @type {Promise<unknown>} calls run one after another */
  #queue = Promise.resolve();
  /** @type {Map<number, { method: string, resolve: (value: any) => void, reject: (error: unknown) => void, timer: any, loop: boolean }>} */
  #pending = new Map();
  #nextId = 1;
  /** @type {Record<string, any>} the worker's sandbox after the last call */
  #state = {};
  /** @type {SandboxStoppedError | null} */
  #stopped = null;
  #inHook = false;
  /** @type {{ control: Int32Array, data: Uint8Array } | null} */
  #channel = null;
  /** run/sendValue calls sent and not answered yet */
  #loopCalls = 0;
  #realClock = false;
  /** @type {Record<string, Function> | undefined} */
  #hostFunctions;

  /**
   * Host functions the guest calls as `host.NAME(...args)`, run on this
   * thread (as Sandbox.hostFunctions, with this WorkerSandbox as `this`):
   * the worker waits for a synchronous one; a promise gives the guest a
   * promise, settled by the worker's event loop (run, sendValue) when this
   * one settles. Names are looked up at call time. Needs SharedArrayBuffer
   * (setting it without throws a TypeError).
   * @type {Record<string, Function> | undefined}
   */
  get hostFunctions() {
    return this.#hostFunctions;
  }

  set hostFunctions(functions) {
    if (functions !== undefined && !this.#channel) throw new TypeError(`hostFunctions ${NEEDS_SHARED}`);
    this.#hostFunctions = functions;
  }

  /** As Sandbox.maxPendingCalls: the most host calls pending at once in the guest (default 1000). */
  maxPendingCalls = 1000;

  /** As Sandbox.hostCallTimeout: how long (ms) a run waits for pending host calls with no progress (default 60000; Infinity: forever). The deadline bounds the whole call anyway. */
  hostCallTimeout = 60_000;

  /**
   * Handles the guest's sendMessage(msg), on this thread; as
   * Sandbox.receiveMessage (synchronous; its value or error goes back to
   * the guest). Needs SharedArrayBuffer.
   * @type {((message: any) => any) | undefined}
   */
  receiveMessage;

  /**
   * The module loader of the worker's sandbox, on this thread; as
   * Sandbox.moduleLoader (synchronous: the worker waits for it). Needs
   * SharedArrayBuffer.
   * @type {import('../types/index.js').ModuleLoader | undefined}
   */
  moduleLoader;

  /**
   * Receives the guest's console output, on this thread (default: the
   * host's console).
   * @type {((level: 'debug' | 'log' | 'info' | 'warn' | 'error', text: string) => void) | undefined}
   */
  onLog;

  /**
   * @param {symbol} token
   * @param {number} deadlineMs
   */
  constructor(token, deadlineMs) {
    if (token !== TOKEN) throw new TypeError('use `await WorkerSandbox.create(options)` or `await WorkerSandbox.restore(bytes, options)`');
    this.#deadlineMs = deadlineMs;
  }

  /**
   * A fresh sandbox in a new worker. Options: those of Sandbox.create
   * (but `factory`, `wasmBinary`, `wasmSha256`), plus `deadlineMs`.
   * @param {import('../types/index.js').WorkerSandboxOptions} [options]
   * @returns {Promise<WorkerSandbox>}
   */
  static create(options) {
    return WorkerSandbox.#start('create', options, undefined);
  }

  /**
   * A sandbox restored from a snapshot, in a new worker.
   * @param {Uint8Array | ArrayBuffer | ArrayBufferView} bytes
   * @param {import('../types/index.js').WorkerSandboxOptions} [options]
   * @returns {Promise<WorkerSandbox>}
   */
  static restore(bytes, options) {
    const view = bytes instanceof Uint8Array ? bytes : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : null;
    if (!view) return Promise.reject(new TypeError('WorkerSandbox.restore(bytes): bytes must be a Uint8Array, an ArrayBuffer or an ArrayBufferView'));
    return WorkerSandbox.#start('restore', options, view.slice());
  }

  /**
   * @param {'create' | 'restore'} op
   * @param {unknown} options
   * @param {Uint8Array | undefined} bytes
   */
  static async #start(op, options, bytes) {
    if (options !== undefined && options !== null && typeof options !== 'object') throw new TypeError('WorkerSandbox options must be an object');
    const { deadlineMs, worker, ...rest } = /** @type {Record<string, any>} */ (options ?? {});
    const deadline = deadlineOf(deadlineMs);
    if (worker !== undefined && typeof worker !== 'function') throw new TypeError('option worker must be a function that returns a new Web Worker running serveWorkerSandbox()');
    for (const key of LOCAL_ONLY) {
      if (rest[key] !== undefined) throw new TypeError(`option ${key} is not available in a WorkerSandbox (the worker loads the package's own builds)`);
    }
    normalizeOptions(rest); // the same validation as Sandbox.create, here
    const platform = currentPlatform();
    if (worker !== undefined && platform.name === 'node') throw new TypeError('option worker is for browsers: in Node the package starts its own worker thread');
    const spawn = worker ? () => webWorkerEndpoint(worker()) : platform.spawnWorker;
    if (!spawn) {
      throw new ArtifactError(`WorkerSandbox needs option worker here (${platform.name}): a function returning a new module Web Worker whose script calls serveWorkerSandbox() from 'xs-wasm'`);
    }
    const { receiveMessage, onLog, moduleLoader, hostFunctions, ...data } = rest;
    if (data.artifacts instanceof URL) data.artifacts = data.artifacts.href;
    // The worker's own deadline (termination) bounds every call; the
    // sandbox inside it has none of its own.
    data.deadlineMs = null;
    const sandbox = new WorkerSandbox(TOKEN, deadline);
    sandbox.receiveMessage = receiveMessage;
    sandbox.onLog = onLog;
    sandbox.moduleLoader = moduleLoader;
    const shared = typeof SharedArrayBuffer === 'function' && (typeof crossOriginIsolated === 'undefined' || crossOriginIsolated) ? { control: new SharedArrayBuffer(16), data: new SharedArrayBuffer(REPLY_CHUNK) } : null;
    if (shared) sandbox.#channel = { control: new Int32Array(shared.control), data: new Uint8Array(shared.data) };
    else if (receiveMessage !== undefined) throw new TypeError(`receiveMessage ${NEEDS_SHARED}`);
    else if (moduleLoader !== undefined) throw new TypeError(`moduleLoader ${NEEDS_SHARED}`);
    else if (hostFunctions !== undefined) throw new TypeError(`option hostFunctions ${NEEDS_SHARED}`);
    sandbox.hostFunctions = hostFunctions;
    sandbox.#realClock = data.realClock === true;
    sandbox.#worker = spawn();
    sandbox.#worker.onMessage((message) => sandbox.#received(message));
    sandbox.#worker.onError((error) => sandbox.#kill(new EngineError(`the sandbox's worker failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })));
    sandbox.#worker.unref?.();
    try {
      await sandbox.#call(op, op, { options: data, hasHook: shared !== null, shared, bytes }, bytes ? [bytes.buffer] : undefined);
    } catch (error) {
      sandbox.#kill(error instanceof SandboxStoppedError ? error : new SandboxStoppedError(`${op} failed`, { cause: error }));
      throw error;
    }
    return sandbox;
  }

  /** @param {any} message */
  #received(message) {
    if (message.op === 'log') {
      try {
        (this.onLog ?? defaultLog).call(this, message.level, message.text);
      } catch {
        // as in Sandbox: a throwing log hook is ignored
      }
      return;
    }
    if (message.op === 'hook') {
      this.#hook(message.message);
      return;
    }
    if (message.op === 'module') {
      this.#moduleHook(message.call, message.args);
      return;
    }
    if (message.op === 'host') {
      this.#hostCall(message.call, message.name, message.args);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (pending.loop) this.#loopCalls--;
    clearTimeout(pending.timer);
    if (!this.#pending.size) this.#worker?.unref?.();
    if (message.state) this.#state = message.state;
    if (message.ok) {
      pending.resolve(message.value);
      return;
    }
    const error = revive(message.error);
    if (error instanceof SandboxStoppedError && !this.#stopped) {
      // the worker's sandbox is stopped: so is this one, and its worker goes
      this.#stopped = error;
      this.#terminate();
    }
    pending.reject(error);
  }

  /**
   * The guest called sendMessage: run the hook here, write its reply into
   * the shared channel (in chunks) for the waiting worker.
   * @param {unknown} message
   */
  #hook(message) {
    return this.#syncHook(() => {
      const handler = this.receiveMessage;
      if (typeof handler !== 'function') throw new Error('the host has no receiveMessage hook (set options.receiveMessage or sandbox.receiveMessage)');
      const value = handler.call(this, message);
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        throw new Error("the host's receiveMessage returned a promise: sandbox calls are synchronous, return the value itself");
      }
      return value;
    });
  }

  /**
   * The worker's sandbox asks its module loader (`call` is 'resolve' or
   * 'load'): run this thread's moduleLoader, send back what it returned
   * (JSON) or the message of what it threw. The worker's Sandbox checks
   * the value as it checks a loader of its own thread.
   * @param {'resolve' | 'load'} call
   * @param {any[]} args
   */
  #moduleHook(call, args) {
    return this.#syncHook(() => {
      const loader = this.moduleLoader;
      if (!loader) throw new Error('no module loader: the host did not set one (options.moduleLoader or sandbox.moduleLoader)');
      const value = call === 'resolve' ? loader.resolve(args[0], args[1]) : loader.load(args[0]);
      if (value !== null && typeof value === 'object' && typeof value.then === 'function') throw new Error(`the module loader's ${call} returned a promise (the loader must be synchronous)`);
      return value;
    });
  }

  /**
   * Run a synchronous hook for the waiting worker (while it runs, a call of
   * this sandbox is SandboxBusyError) and reply with its value as JSON, or
   * with the text of what it threw.
   * @param {() => unknown} run
   */
  #syncHook(run) {
    let bytes = EMPTY;
    let ok = 1;
    this.#inHook = true;
    try {
      const json = JSON.stringify(run());
      if (json !== undefined) bytes = encoder.encode(json);
    } catch (error) {
      ok = 0;
      bytes = encoder.encode(hostErrorText(error));
    } finally {
      this.#inHook = false;
    }
    return this.#reply(bytes, ok);
  }

  /**
   * The guest called host.NAME(...args): look NAME up in hostFunctions now
   * and run it here, as Sandbox does. Its value goes back encoded, its
   * error as the text the guest's Error gets (the in-thread Sandbox's
   * messages); a promise replies HOST_PENDING, and its settlement is posted
   * to the worker later ({ op: 'settle' }).
   * @param {number} call the worker's id of the call
   * @param {string} name
   * @param {Uint8Array} argBytes the arguments, encoded
   */
  #hostCall(call, name, argBytes) {
    let bytes = EMPTY;
    let status = HOST_VALUE;
    this.#inHook = true;
    try {
      const functions = this.#hostFunctions;
      const f = functions && Object.prototype.hasOwnProperty.call(functions, name) ? functions[name] : undefined;
      if (typeof f !== 'function') throw new Error(`no host function named ${JSON.stringify(name)}`);
      const args = decodeValue(argBytes);
      const result = f.apply(this, args);
      if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
        status = HOST_PENDING;
        Promise.resolve(result).then(
          (value) => this.#settleHostCall(call, true, value),
          (error) => this.#settleHostCall(call, false, error),
        );
      } else {
        try {
          bytes = encodeValue(result);
        } catch (error) {
          throw new Error(`the host function ${JSON.stringify(name)} returned a value that cannot be sent to the guest: ${hostErrorText(error)}`);
        }
      }
    } catch (error) {
      status = HOST_ERROR;
      bytes = encoder.encode(hostErrorText(error));
    } finally {
      this.#inHook = false;
    }
    return this.#reply(bytes, status);
  }

  /**
   * A host function's promise settled: send the outcome to the worker (the
   * encoded value, or the text the guest's rejection gets: the in-thread
   * Sandbox's messages).
   * @param {number} call
   * @param {boolean} ok
   * @param {unknown} outcome
   */
  #settleHostCall(call, ok, outcome) {
    const worker = this.#worker;
    if (!worker) return; // the sandbox is gone
    let value;
    if (ok) {
      try {
        value = encodeValue(outcome);
      } catch (error) {
        ok = false;
        value = `the host call's value cannot be sent to the guest: ${hostErrorText(error)}`;
      }
    } else value = hostErrorText(outcome);
    worker.post({ op: 'settle', call, ok, value });
  }

  /**
   * Write a hook's reply into the shared channel (in chunks) for the
   * waiting worker.
   * @param {Uint8Array} bytes
   * @param {number} ok
   */
  async #reply(bytes, ok) {
    const { control, data } = /** @type {NonNullable<typeof this.channel>} */ (this.#channel);
    for (let offset = 0; ; ) {
      const n = Math.min(REPLY_CHUNK, bytes.length - offset);
      data.set(bytes.subarray(offset, offset + n));
      control[1] = bytes.length;
      control[2] = ok;
      control[3] = n;
      offset += n;
      const last = offset >= bytes.length;
      Atomics.store(control, 0, last ? REPLY_DONE : REPLY_MORE);
      Atomics.notify(control, 0);
      if (last) return;
      // wait until the worker has taken the chunk (or the sandbox is gone)
      while (Atomics.load(control, 0) === REPLY_MORE && !this.#stopped) {
        const waited = typeof Atomics.waitAsync === 'function' ? Atomics.waitAsync(control, 0, REPLY_MORE, 1000) : null;
        if (waited?.async) await waited.value;
        else if (!waited) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      if (this.#stopped) return;
    }
  }

  /**
   * Send one request to the worker, after the calls before it; reject with
   * DeadlineError (and terminate the worker) if it outlives the deadline.
   * @param {string} method
   * @param {string} op
   * @param {Record<string, unknown>} args
   * @param {any[]} [transfer]
   * @returns {Promise<any>}
   */
  #call(method, op, args, transfer) {
    if (this.#inHook) return Promise.reject(new SandboxBusyError(method));
    const loop = LOOP_OPS.has(op);
    const run = () => {
      if (this.#stopped) throw new SandboxStoppedError(this.#stopped.reason, { cause: this.#stopped });
      return new Promise((resolve, reject) => {
        const id = this.#nextId++;
        const timer = this.#deadlineMs ? setTimeout(() => this.#kill(new DeadlineError(method, this.#deadlineMs)), this.#deadlineMs) : undefined;
        this.#pending.set(id, { method, resolve, reject, timer, loop });
        if (loop) this.#loopCalls++;
        this.#worker?.ref?.();
        const settings = { maxPendingCalls: this.maxPendingCalls, hostCallTimeout: this.hostCallTimeout };
        /** @type {NonNullable<typeof this.worker>} */ (this.#worker).post({ id, op, args, settings }, transfer);
      });
    };
    // While a run is in progress, a call goes to the worker at once, as a
    // Sandbox's methods work while its run waits: the worker's sandbox
    // takes it when the run's loop waits (or after the run). Queued behind
    // the run, a call from a host function the run waits for would wait
    // for the run, which waits for it.
    if (this.#loopCalls > 0) {
      try {
        return run();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * Stop for good: terminate the worker, fail the pending call with `error`.
   * @param {SandboxStoppedError} error
   */
  #kill(error) {
    if (!this.#stopped) this.#stopped = error;
    this.#terminate();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      if (pending.loop) this.#loopCalls--;
      pending.reject(error);
    }
  }

  #terminate() {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) worker.terminate();
  }

  /**
   * Sandbox.evaluate in the worker.
   * @param {string} source
   * @returns {Promise<any>}
   */
  evaluate(source) {
    if (typeof source !== 'string') return Promise.reject(new TypeError(`evaluate(source): source must be a string, got ${typeof source}`));
    return this.#call('evaluate', 'evaluate', { source });
  }

  /**
   * Sandbox.sendMessage in the worker (`message` is copied as JSON).
   * @param {any} message
   * @returns {Promise<any>}
   */
  sendMessage(message) {
    let copy;
    try {
      const json = JSON.stringify(message);
      copy = json === undefined ? null : JSON.parse(json);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call('sendMessage', 'sendMessage', { message: copy });
  }

  /**
   * Sandbox.heapStatistics in the worker.
   * @param {{ collect?: boolean }} [options]
   * @returns {Promise<import('../types/index.js').HeapStatistics>}
   */
  heapStatistics(options = {}) {
    if (typeof options !== 'object' || options === null) return Promise.reject(new TypeError('heapStatistics(options): options must be an object'));
    return this.#call('heapStatistics', 'heapStatistics', { collect: options.collect === true });
  }

  /**
   * Sandbox.import in the worker: its module loader is this thread's
   * `moduleLoader`, asked through the shared channel (as receiveMessage).
   * @param {string} specifier
   * @returns {Promise<any>}
   */
  import(specifier) {
    if (typeof specifier !== 'string') return Promise.reject(new TypeError(`import(specifier): specifier must be a string, got ${typeof specifier}`));
    return this.#call('import', 'import', { specifier });
  }

  /**
   * Sandbox.run in the worker: evaluate `source` and run the event loop
   * until its promise settles (or, without `source`, until the guest is
   * idle); resolves to the value as a real value (values.mjs). The
   * worker's loop waits for this thread's host functions; the deadline
   * bounds the whole run.
   * @param {string} [source]
   * @returns {Promise<any>}
   */
  async run(source) {
    if (source !== undefined && typeof source !== 'string') throw new TypeError(`run(source): source must be a string, got ${typeof source}`);
    const { encoded } = await this.#call('run', 'run', { source });
    return decodeValue(encoded);
  }

  /**
   * Sandbox.sendValue in the worker: the guest's receiveMessage(message)
   * with a copy of `message` as the real value; resolves to its value (a
   * promise awaited as in run(source)).
   * @param {any} message
   * @returns {Promise<any>}
   */
  async sendValue(message) {
    let bytes;
    try {
      bytes = encodeValue(message);
    } catch (error) {
      throw new TypeError(`sendValue: ${hostErrorText(error)}`);
    }
    const { encoded } = await this.#call('sendValue', 'sendValue', { message: bytes }, [bytes.buffer]);
    return decodeValue(encoded);
  }

  /**
   * Sandbox.cancelHostCalls in the worker: reject every pending host call
   * in the guest; resolves to how many there were. This thread's promises
   * are left to finish, ignored.
   * @returns {Promise<number>}
   */
  cancelHostCalls() {
    return this.#call('cancelHostCalls', 'cancelHostCalls', {});
  }

  /**
   * Sandbox.nextTimer in the worker: the due time (ms, on `clock`) of the
   * guest's earliest timer, or null.
   * @returns {Promise<number | null>}
   */
  nextTimer() {
    return this.#call('nextTimer', 'nextTimer', {});
  }

  /** @returns {Promise<Uint8Array>} Sandbox.snapshot in the worker */
  snapshot() {
    return this.#call('snapshot', 'snapshot', {});
  }

  /**
   * Sandbox.setMeterLimit in the worker.
   * @param {number} limit
   * @param {number} [interval]
   * @returns {Promise<void>}
   */
  async setMeterLimit(limit, interval) {
    await this.#call('setMeterLimit', 'setMeterLimit', { limit, interval });
  }

  /**
   * Terminate the worker (and with it the sandbox) now. Idempotent; a call
   * in progress fails with SandboxStoppedError.
   */
  dispose() {
    if (this.#inHook) throw new SandboxBusyError('dispose');
    this.#kill(this.#stopped ?? new SandboxStoppedError('disposed'));
  }

  /** The deadline of each call, in milliseconds (0: none). */
  get deadlineMs() {
    return this.#deadlineMs;
  }

  /** Host calls started and not yet settled in the guest, as of the last call. */
  get pendingCalls() {
    return this.#stopped ? 0 : (this.#state.pendingCalls ?? 0);
  }

  /** The sandbox's clock (ms): the virtual clock as of the last call (0 until a timer fires; kept in snapshots), or the wall clock with realClock. */
  get clock() {
    return this.#realClock ? Date.now() : (this.#state.clock ?? 0);
  }

  /** Meter ticks used by the last evaluate/sendMessage call, or by the last run. */
  get meter() {
    return this.#state.meter ?? 0;
  }

  /** The meter limit in force (ticks per call; 0: none). */
  get meterLimit() {
    return this.#state.meterLimit ?? 0;
  }

  /** The memory limit (bytes of XS heap; 0: none). */
  get memoryLimit() {
    return this.#state.memoryLimit ?? 0;
  }

  /** WebAssembly memory the worker's sandbox held after the last call, bytes (0 once stopped). */
  get memoryBytes() {
    return this.#stopped ? 0 : (this.#state.memoryBytes ?? 0);
  }

  /** The build the sandbox runs. */
  get build() {
    return this.#state.build ?? '';
  }

  /** XS version, "major.minor.patch". */
  get xsVersion() {
    return this.#stopped ? '' : (this.#state.xsVersion ?? '');
  }

  /** Engine features the build lacks (see Sandbox.lacks). */
  get lacks() {
    return [...(this.#state.lacks ?? [])];
  }

  /** Whether the sandbox is stopped (a call stopped it, its deadline passed, or it was disposed). */
  get stopped() {
    return this.#stopped !== null;
  }

  /** Why it is stopped, or null. */
  get stopReason() {
    return this.#stopped ? this.#stopped.reason : null;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(WorkerSandbox.prototype, Symbol.dispose, {
    value: function dispose() {
      /** @type {WorkerSandbox} */ (this).dispose();
    },
    writable: true,
    configurable: true,
  });
}
