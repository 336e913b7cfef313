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
// worker waits with Atomics.wait).

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
  XsWasmError,
} from './errors.mjs';
import { deadlineOf, normalizeOptions } from './options.mjs';
import { currentPlatform } from './runtime.mjs';
import { defaultLog, hostErrorText } from './sandbox.mjs';
import { REPLY_CHUNK, REPLY_DONE, REPLY_MORE } from './worker-serve.mjs';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const TOKEN = Symbol('WorkerSandbox.create');
/** Options a worker cannot receive: functions, or what goes with them. */
const LOCAL_ONLY = ['factory', 'wasmBinary', 'wasmSha256'];

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
  /** @type {Map<number, { method: string, resolve: (value: any) => void, reject: (error: unknown) => void, timer: any }>} */
  #pending = new Map();
  #nextId = 1;
  /** @type {Record<string, any>} the worker's sandbox after the last call */
  #state = {};
  /** @type {SandboxStoppedError | null} */
  #stopped = null;
  #inHook = false;
  /** @type {{ control: Int32Array, data: Uint8Array } | null} */
  #channel = null;

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
    if (rest.hostFunctions !== undefined) throw new TypeError('option hostFunctions is not available in a WorkerSandbox (yet): use a Sandbox');
    normalizeOptions(rest); // the same validation as Sandbox.create, here
    const platform = currentPlatform();
    if (worker !== undefined && platform.name === 'node') throw new TypeError('option worker is for browsers: in Node the package starts its own worker thread');
    const spawn = worker ? () => webWorkerEndpoint(worker()) : platform.spawnWorker;
    if (!spawn) {
      throw new ArtifactError(`WorkerSandbox needs option worker here (${platform.name}): a function returning a new module Web Worker whose script calls serveWorkerSandbox() from 'xs-wasm'`);
    }
    const { receiveMessage, onLog, moduleLoader, ...data } = rest;
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
    else if (receiveMessage !== undefined) throw new TypeError('receiveMessage in a WorkerSandbox needs SharedArrayBuffer (in browsers, a cross-origin isolated page)');
    else if (moduleLoader !== undefined) throw new TypeError('moduleLoader in a WorkerSandbox needs SharedArrayBuffer (in browsers, a cross-origin isolated page)');
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
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
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
    let bytes = EMPTY;
    let ok = 1;
    this.#inHook = true;
    try {
      const handler = this.receiveMessage;
      if (typeof handler !== 'function') throw new Error('the host has no receiveMessage hook (set options.receiveMessage or sandbox.receiveMessage)');
      const value = handler.call(this, message);
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        throw new Error("the host's receiveMessage returned a promise: sandbox calls are synchronous, return the value itself");
      }
      const json = JSON.stringify(value);
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
   * The worker's sandbox asks its module loader (`call` is 'resolve' or
   * 'load'): run this thread's moduleLoader, send back what it returned
   * (JSON) or the message of what it threw. The worker's Sandbox checks
   * the value as it checks a loader of its own thread.
   * @param {'resolve' | 'load'} call
   * @param {any[]} args
   */
  #moduleHook(call, args) {
    let bytes = EMPTY;
    let ok = 1;
    this.#inHook = true;
    try {
      const loader = this.moduleLoader;
      if (!loader) throw new Error('no module loader: the host did not set one (options.moduleLoader or sandbox.moduleLoader)');
      const value = call === 'resolve' ? loader.resolve(args[0], args[1]) : loader.load(args[0]);
      if (value !== null && typeof value === 'object' && typeof value.then === 'function') throw new Error(`the module loader's ${call} returned a promise (the loader must be synchronous)`);
      const json = JSON.stringify(value);
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
    const run = () => {
      if (this.#stopped) throw new SandboxStoppedError(this.#stopped.reason, { cause: this.#stopped });
      return new Promise((resolve, reject) => {
        const id = this.#nextId++;
        const timer = this.#deadlineMs ? setTimeout(() => this.#kill(new DeadlineError(method, this.#deadlineMs)), this.#deadlineMs) : undefined;
        this.#pending.set(id, { method, resolve, reject, timer });
        this.#worker?.ref?.();
        /** @type {NonNullable<typeof this.worker>} */ (this.#worker).post({ id, op, args }, transfer);
      });
    };
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

  /** Meter ticks used by the last evaluate/sendMessage call. */
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
