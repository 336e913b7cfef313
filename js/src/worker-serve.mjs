// The worker side of WorkerSandbox (worker-sandbox.mjs): one Sandbox in this
// worker, driven by requests from the thread that made the worker. Started
// by worker-node.mjs (worker_threads) with its endpoint.
//
// Requests: { id, op, args, settings }; op is 'create', 'restore',
// 'evaluate', 'sendMessage', 'import', 'run', 'sendValue',
// 'cancelHostCalls', 'nextTimer', 'snapshot', 'setMeterLimit',
// 'heapStatistics' or 'dispose'; settings ({ maxPendingCalls,
// hostCallTimeout }) are set on the sandbox before the call. Replies:
// { id, ok: true, value, state } or { id, ok: false, error, state }, state
// being the sandbox's properties after the call (run and sendValue reply
// with their value encoded, values.mjs). Events: { op: 'log', level, text }
// for the guest's console; { op: 'hook', message } for the guest's
// sendMessage, { op: 'module', call, args } for the module loader and
// { op: 'host', call, name, args } for the guest's host.NAME(...args): the
// worker then blocks (Atomics.wait) until the other thread has written the
// reply into the shared channel (see REPLY_* below), since these are
// synchronous in the guest. A host function that returned a promise on the
// other thread replies HOST_PENDING: the guest gets a promise, settled when
// the other thread posts { op: 'settle', call, ok, value } (value: the
// encoded value, or the error's text).

import { decodeValue, encodeValue } from './values.mjs';

// The shared channel: control = Int32Array [state, total length, ok, chunk
// length]; data = the chunk. The other thread writes a chunk and sets state
// to MORE (more chunks follow: the worker copies it and sets state to
// WAITING) or DONE. The ok word of the reply: HOST_ERROR (the reply is an
// error's text), HOST_VALUE (JSON, or for a host function an encoded value)
// or HOST_PENDING (a host function's promise: nothing follows).
export const REPLY_WAITING = 0;
export const REPLY_MORE = 1;
export const REPLY_DONE = 2;
export const REPLY_CHUNK = 64 * 1024;
export const HOST_ERROR = 0;
export const HOST_VALUE = 1;
export const HOST_PENDING = 2;

/** @param {unknown} error */
function describeError(error) {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  /** @type {Record<string, unknown>} */
  const described = { name: error.name, message: error.message };
  for (const key of ['guestName', 'guestMessage', 'guestStack', 'reason', 'meter', 'limit', 'status', 'file', 'expected', 'actual', 'size', 'kind', 'method', 'deadlineMs']) {
    if (key in error) described[key] = /** @type {any} */ (error)[key];
  }
  return described;
}

/**
 * Post `message` to the other thread and block until its reply has arrived
 * (in chunks through the shared `data` buffer, `control` saying how far).
 * @param {{ control: Int32Array, data: Uint8Array }} channel
 * @param {{ post: (message: any, transfer?: any[]) => void }} endpoint
 * @param {unknown} message
 * @returns {{ status: number, bytes: Uint8Array }}
 */
function exchange({ control, data }, endpoint, message) {
  Atomics.store(control, 0, REPLY_WAITING);
  endpoint.post(message);
  const chunks = [];
  for (;;) {
    Atomics.wait(control, 0, REPLY_WAITING);
    const step = Atomics.load(control, 0);
    chunks.push(data.slice(0, control[3]));
    if (step === REPLY_DONE) break;
    Atomics.store(control, 0, REPLY_WAITING);
    Atomics.notify(control, 0);
  }
  const status = control[2];
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { status, bytes };
}

/**
 * The guest's sendMessage (or the module loader) in the worker: ask the
 * other thread and return its reply (JSON), or throw the host hook's error.
 * @param {{ control: Int32Array, data: Uint8Array }} channel
 * @param {{ post: (message: any, transfer?: any[]) => void }} endpoint
 * @param {TextDecoder} decoder
 * @param {unknown} message
 */
function askHost(channel, endpoint, decoder, message) {
  const { status, bytes } = exchange(channel, endpoint, message);
  const text = decoder.decode(bytes);
  if (status !== HOST_VALUE) throw new Error(text);
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * @param {typeof import('./node.mjs')} api the package's entry in this worker
 * @param {{ post: (message: any, transfer?: any[]) => void, listen: (handler: (message: any) => void) => void }} endpoint
 */
export function serve(api, endpoint) {
  /** @type {import('./sandbox.mjs').Sandbox | null} */
  let sandbox = null;
  /** @type {{ control: Int32Array, data: Uint8Array } | null} */
  let channel = null;
  const decoder = new TextDecoder();

  const state = () =>
    sandbox
      ? { meter: sandbox.meter, stopped: sandbox.stopped, stopReason: sandbox.stopReason, build: sandbox.build, xsVersion: sandbox.xsVersion, lacks: sandbox.lacks, memoryBytes: sandbox.memoryBytes, meterLimit: sandbox.meterLimit, memoryLimit: sandbox.memoryLimit, pendingCalls: sandbox.pendingCalls, clock: sandbox.clock }
      : null;

  /** The guest's sendMessage: ask the other thread, wait for its reply. */
  const hook = (/** @type {unknown} */ message) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'hook', message });
  /** The module loader: asks the other thread's moduleLoader. */
  const moduleLoader = {
    resolve: (/** @type {string} */ specifier, /** @type {string | null} */ referrer) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'module', call: 'resolve', args: [specifier, referrer] }),
    load: (/** @type {string} */ id) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'module', call: 'load', args: [id] }),
  };

  /** @type {Map<number, { resolve: (value: any) => void, reject: (error: string) => void }>} host calls whose promise is pending on the other thread */
  const calls = new Map();
  let nextCall = 1;
  /**
   * The guest's host.NAME(...args): ask the other thread, which looks NAME
   * up in its WorkerSandbox's hostFunctions and runs it. Its value comes
   * back encoded; its error as the text the in-thread Sandbox would give
   * the guest (thrown as that string, which Sandbox passes on unchanged); a
   * promise there is a promise here, settled by a later 'settle' message.
   * @param {string} name
   */
  const hostFunction = (name) =>
    function proxy(/** @type {any[]} */ ...args) {
      if (!channel) throw new TypeError('host functions in a WorkerSandbox need SharedArrayBuffer (in browsers, a cross-origin isolated page)');
      const call = nextCall++;
      const { status, bytes } = exchange(channel, endpoint, { op: 'host', call, name, args: encodeValue(args) });
      if (status === HOST_VALUE) return decodeValue(bytes);
      if (status === HOST_PENDING) return new Promise((resolve, reject) => calls.set(call, { resolve, reject }));
      throw decoder.decode(bytes);
    };
  /** Every name is a host function here: the other thread says which exist, at call time. */
  const hostFunctions = new Proxy(
    {},
    {
      getOwnPropertyDescriptor: (_target, name) => (typeof name === 'string' ? { value: hostFunction(name), writable: true, enumerable: true, configurable: true } : undefined),
      get: (_target, name) => (typeof name === 'string' ? hostFunction(name) : undefined),
      has: (_target, name) => typeof name === 'string',
    },
  );
  /** @param {{ call: number, ok: boolean, value: any }} message */
  const settle = ({ call, ok, value }) => {
    const pending = calls.get(call);
    if (!pending) return; // cancelled, or the sandbox refused the call (maxPendingCalls)
    calls.delete(call);
    if (ok) pending.resolve(decodeValue(value));
    else pending.reject(value);
  };

  /** @param {any} request */
  const run = async ({ op, args }) => {
    switch (op) {
      case 'create':
      case 'restore': {
        const { options, hasHook, shared } = args;
        channel = shared ? { control: new Int32Array(shared.control), data: new Uint8Array(shared.data) } : null;
        const full = { ...options, onLog: (/** @type {string} */ level, /** @type {string} */ text) => endpoint.post({ op: 'log', level, text }) };
        if (hasHook) {
          full.receiveMessage = hook;
          full.moduleLoader = moduleLoader;
        }
        full.hostFunctions = hostFunctions;
        sandbox = op === 'create' ? await api.Sandbox.create(full) : await api.Sandbox.restore(args.bytes, full);
        return null;
      }
      case 'evaluate':
        return /** @type {any} */ (sandbox).evaluate(args.source);
      case 'sendMessage':
        return /** @type {any} */ (sandbox).sendMessage(args.message);
      case 'import':
        return /** @type {any} */ (sandbox).import(args.specifier);
      case 'run':
        return { encoded: encodeValue(await /** @type {any} */ (sandbox).run(args.source)) };
      case 'sendValue':
        return { encoded: encodeValue(await /** @type {any} */ (sandbox).sendValue(decodeValue(args.message))) };
      case 'cancelHostCalls':
        return /** @type {any} */ (sandbox).cancelHostCalls();
      case 'nextTimer':
        return /** @type {any} */ (sandbox).nextTimer();
      case 'snapshot':
        return /** @type {any} */ (sandbox).snapshot();
      case 'setMeterLimit':
        return /** @type {any} */ (sandbox).setMeterLimit(args.limit, args.interval);
      case 'heapStatistics':
        return /** @type {any} */ (sandbox).heapStatistics({ collect: args.collect });
      case 'dispose':
        sandbox?.dispose();
        return null;
      default:
        throw new TypeError(`unknown request ${String(op)}`);
    }
  };

  endpoint.listen(async (request) => {
    if (request.op === 'settle') {
      settle(request);
      return;
    }
    try {
      if (sandbox && request.settings) Object.assign(sandbox, request.settings);
      const value = await run(request);
      endpoint.post({ id: request.id, ok: true, value, state: state() }, value instanceof Uint8Array ? [value.buffer] : value?.encoded instanceof Uint8Array ? [value.encoded.buffer] : undefined);
    } catch (error) {
      endpoint.post({ id: request.id, ok: false, error: describeError(error), state: state() });
    }
  });
}
