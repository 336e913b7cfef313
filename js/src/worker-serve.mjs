// The worker side of WorkerSandbox (worker-sandbox.mjs): one Sandbox in this
// worker, driven by requests from the thread that made the worker. Started
// by worker-node.mjs (worker_threads) with its endpoint.
//
// Requests: { id, op, args }; op is 'create', 'restore', 'evaluate',
// 'sendMessage', 'snapshot', 'setMeterLimit', 'heapStatistics' or 'dispose'. Replies:
// { id, ok: true, value, state } or { id, ok: false, error, state }, state
// being the sandbox's properties after the call. Events: { op: 'log', level,
// text } for the guest's console, { op: 'hook', message } for the guest's
// sendMessage: the worker then blocks (Atomics.wait) until the other thread
// has written the reply into the shared channel (see REPLY_* below), since
// the guest's sendMessage is synchronous.

// The shared channel: control = Int32Array [state, total length, ok, chunk
// length]; data = the chunk. The other thread writes a chunk and sets state
// to MORE (more chunks follow: the worker copies it and sets state to
// WAITING) or DONE.
export const REPLY_WAITING = 0;
export const REPLY_MORE = 1;
export const REPLY_DONE = 2;
export const REPLY_CHUNK = 64 * 1024;

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
 * The guest's sendMessage in the worker: post `message` to the other
 * thread, block until its reply has arrived (in chunks through the shared
 * `data` buffer, `control` saying how far), and return it (JSON), or throw
 * the host hook's error.
 * @param {{ control: Int32Array, data: Uint8Array }} channel
 * @param {{ post: (message: any, transfer?: any[]) => void }} endpoint
 * @param {TextDecoder} decoder
 * @param {unknown} message
 */
function askHost({ control, data }, endpoint, decoder, message) {
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
  const ok = control[2] === 1;
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const text = decoder.decode(bytes);
  if (!ok) throw new Error(text);
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
      ? { meter: sandbox.meter, stopped: sandbox.stopped, stopReason: sandbox.stopReason, build: sandbox.build, xsVersion: sandbox.xsVersion, lacks: sandbox.lacks, memoryBytes: sandbox.memoryBytes, meterLimit: sandbox.meterLimit, memoryLimit: sandbox.memoryLimit }
      : null;

  /** The guest's sendMessage: ask the other thread, wait for its reply. */
  const hook = (/** @type {unknown} */ message) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'hook', message });
  /** The module loader: asks the other thread's moduleLoader. */
  const moduleLoader = {
    resolve: (/** @type {string} */ specifier, /** @type {string | null} */ referrer) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'module', call: 'resolve', args: [specifier, referrer] }),
    load: (/** @type {string} */ id) => askHost(/** @type {NonNullable<typeof channel>} */ (channel), endpoint, decoder, { op: 'module', call: 'load', args: [id] }),
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
        sandbox = op === 'create' ? await api.Sandbox.create(full) : await api.Sandbox.restore(args.bytes, full);
        return null;
      }
      case 'evaluate':
        return /** @type {any} */ (sandbox).evaluate(args.source);
      case 'sendMessage':
        return /** @type {any} */ (sandbox).sendMessage(args.message);
      case 'import':
        return /** @type {any} */ (sandbox).import(args.specifier);
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
    try {
      const value = await run(request);
      endpoint.post({ id: request.id, ok: true, value, state: state() }, value instanceof Uint8Array ? [value.buffer] : undefined);
    } catch (error) {
      endpoint.post({ id: request.id, ok: false, error: describeError(error), state: state() });
    }
  });
}
