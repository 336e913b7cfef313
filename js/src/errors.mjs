// Error classes of the xs-wasm package. Every error the package throws on
// purpose is an XsWasmError; TypeError/RangeError are used for bad arguments.

/** Base class of every error thrown by xs-wasm on purpose. */
export class XsWasmError extends Error {
  /**
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The guest threw: evaluate() or sendMessage() ended with an exception. The
 * sandbox stays usable.
 *
 * `guestName` is the thrown value's `name` ("TypeError", "RangeError", ...)
 * or "" when the guest threw something that is not an object (a string, a
 * number...); `guestMessage` its `message` (or the thrown value as a string);
 * `guestStack` the guest's stack text ("" when XS gives none).
 */
export class SandboxError extends XsWasmError {
  /** @param {{ name?: unknown, message?: unknown, stack?: unknown }} thrown */
  constructor(thrown) {
    const guestName = typeof thrown.name === 'string' ? thrown.name : '';
    const guestMessage = typeof thrown.message === 'string' ? thrown.message : String(thrown.message ?? '');
    super(guestName ? `${guestName}: ${guestMessage}` : `guest threw ${guestMessage}`);
    /** @type {string} */ this.guestName = guestName;
    /** @type {string} */ this.guestMessage = guestMessage;
    /** @type {string} */ this.guestStack = typeof thrown.stack === 'string' ? thrown.stack : '';
  }
}

/**
 * The sandbox is stopped and refuses calls. Thrown by every call after the
 * one that stopped it (`reason` says why; `cause` is the original error), and
 * by calls on a disposed sandbox. The errors of the stopping call itself
 * (MeterLimitError, MemoryLimitError, StackOverflowError, EngineError) are
 * subclasses, so `instanceof SandboxStoppedError` catches "this sandbox is
 * gone, make a new one" in one test.
 */
export class SandboxStoppedError extends XsWasmError {
  /**
   * @param {string} reason
   * @param {{ cause?: unknown }} [options]
   */
  constructor(reason, options) {
    super(`the sandbox is stopped: ${reason}`, options);
    /** @type {string} */ this.reason = reason;
  }
}

/** The call used more meter ticks than the meter limit. Stops the sandbox. */
export class MeterLimitError extends SandboxStoppedError {
  /**
   * @param {number} used ticks used by the call
   * @param {number} limit the meter limit in force
   */
  constructor(used, limit) {
    super(`meter limit of ${limit} ticks reached (${used} ticks used)`);
    /** @type {number} */ this.meter = used;
    /** @type {number} */ this.limit = limit;
  }
}

/** The guest's heap reached the memory limit. Stops the sandbox. */
export class MemoryLimitError extends SandboxStoppedError {
  /** @param {number} limit bytes (0: no limit, the wasm memory itself ran out) */
  constructor(limit) {
    super(limit ? `memory limit of ${limit} bytes reached` : 'out of memory');
    /** @type {number} */ this.limit = limit;
  }
}

/**
 * The engine's native stack overflowed in a way XS could not turn into a
 * guest RangeError. Stops the sandbox. (Ordinary deep recursion in guest
 * code is a SandboxError with guestName "RangeError" instead.)
 */
export class StackOverflowError extends SandboxStoppedError {
  /** @param {{ cause?: unknown }} [options] */
  constructor(options) {
    super('stack overflow', options);
  }
}

/**
 * The engine aborted or trapped (a WebAssembly RuntimeError, an XS fatal
 * error, an unexpected status). Stops the sandbox. `status` is the port's
 * status code when there was one.
 */
export class EngineError extends SandboxStoppedError {
  /**
   * @param {string} reason
   * @param {{ cause?: unknown, status?: number }} [options]
   */
  constructor(reason, options = {}) {
    super(reason, { cause: options.cause });
    /** @type {number | undefined} */ this.status = options.status;
  }
}

/**
 * A snapshot could not be read (empty, truncated, corrupt, garbage, written
 * by an incompatible build) or written. `reason` is the engine's own reason
 * (xs_wasm_last_error). No sandbox is created; nothing else is affected.
 */
export class SnapshotError extends XsWasmError {
  /** @param {string} reason */
  constructor(reason) {
    super(`snapshot error: ${reason}`);
    /** @type {string} */ this.reason = reason;
  }
}

/**
 * Restore with a snapshot key (option snapshotKey) refused the snapshot
 * before the engine read it: `kind` is "missing" (it carries no MAC: written
 * without a key) or "mismatch" (another key's MAC, or changed bytes).
 */
export class SnapshotAuthError extends SnapshotError {
  /** @param {'missing' | 'mismatch'} kind */
  constructor(kind) {
    super(
      kind === 'missing'
        ? 'refused: it carries no MAC (it was written without a snapshot key)'
        : 'refused: its MAC does not match (written with another key, or changed since)',
    );
    /** @type {'missing' | 'mismatch'} */ this.kind = kind;
  }
}

/** A loaded artifact file's sha256 is not the one its metadata lists. */
export class IntegrityError extends XsWasmError {
  /**
   * @param {string} file
   * @param {string} expected sha256, hex
   * @param {string} actual sha256, hex
   */
  constructor(file, expected, actual) {
    super(`integrity check failed for ${file}: expected sha256 ${expected}, got ${actual}; refusing to instantiate it`);
    /** @type {string} */ this.file = file;
    /** @type {string} */ this.expected = expected;
    /** @type {string} */ this.actual = actual;
  }
}

/** The artifact is missing, of an unknown form, or speaks another port ABI. */
export class ArtifactError extends XsWasmError {}

/**
 * A sandbox method was called while the same sandbox is inside a call (from a
 * receiveMessage or onLog hook). Sandboxes are synchronous and not
 * re-entrant; use another sandbox, or call after the current call returns.
 */
export class SandboxBusyError extends XsWasmError {
  /** @param {string} method */
  constructor(method) {
    super(`re-entrant call: ${method}() was called while the sandbox is busy with another call`);
  }
}

/** The guest's reply was not JSON (the guest replaced JSON.stringify). */
export class InvalidJsonError extends XsWasmError {}

/**
 * A call ran past its deadline (option `deadlineMs`, wall-clock time) and
 * the sandbox was stopped: in a Sandbox, at the guest's next meter check
 * (its machine stopped, its instance released); in a WorkerSandbox, by
 * terminating the worker. Either way every later call throws
 * SandboxStoppedError. `deadlineMs` is the deadline in force, in
 * milliseconds.
 */
export class DeadlineError extends SandboxStoppedError {
  /**
   * @param {string} method the call that ran out of time
   * @param {number} deadlineMs
   */
  constructor(method, deadlineMs, how = 'the worker was terminated') {
    super(`${method}() ran past its deadline of ${deadlineMs} ms: ${how}`);
    /** @type {number} */ this.deadlineMs = deadlineMs;
  }
}

/**
 * A call was stopped by `sandbox.interrupt()` or through the sandbox's
 * `interruptBuffer` (another thread): the sandbox is stopped for good.
 */
export class InterruptedError extends SandboxStoppedError {
  /** @param {string} method the call that was interrupted */
  constructor(method) {
    super(`${method}() was interrupted by the host`);
    /** @type {string} the call that was interrupted */ this.method = method;
  }
}

/**
 * The call completed, but its result (`size` bytes of UTF-8 JSON) did not
 * fit in the sandbox's memory to be copied out (`limit`: the memory limit,
 * bytes). Nothing of the result is returned; the sandbox stays usable (what
 * the call did stays done).
 */
export class ResultTooLargeError extends XsWasmError {
  /**
   * @param {number} size bytes of the result
   * @param {number} limit the memory limit, bytes
   */
  constructor(size, limit) {
    super(`the result is ${size} bytes, more than fits in the sandbox's memory (memory limit ${limit} bytes)`);
    /** @type {number} */ this.size = size;
    /** @type {number} */ this.limit = limit;
  }
}

/**
 * An event-loop run (`sandbox.run()`, `sandbox.sendValue()`) cannot go on:
 * the promise it awaits is pending while the guest has no timers and no
 * host calls left (it can never settle), or host calls made no progress
 * within `sandbox.hostCallTimeout` (they were cancelled: rejected in the
 * guest). The sandbox stays usable.
 */
export class StalledError extends XsWasmError {}
