// Types of the xs-wasm package (hand-written; they describe src/*.mjs).
// They compile under `strict` with TypeScript 5.x's default `lib` (tested
// with 5.0 and 5.9): nothing here needs `esnext.disposable` or skipLibCheck.

declare global {
  // `Symbol.dispose` for libs older than esnext.disposable (TS < 5.2, or a
  // default lib): the same declaration as that lib's and @types/node's, so
  // the three merge. Sandbox has [Symbol.dispose] where the runtime has the
  // symbol (Node 18.18+, Chromium 125+, ...).
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** Severity of a guest `console` call. */
export type LogLevel = 'debug' | 'log' | 'info' | 'warn' | 'error';

/** A JSON value: what crosses the sandbox boundary. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * XS creation parameters (`xsCreation`). Zero or absent takes the default
 * shown. Counts are in XS slots (16 bytes each), sizes in bytes. On restore
 * they are ignored: heap sizes come from the snapshot.
 */
export interface Creation {
  /** First chunk block, bytes (default 256 KiB). */
  initialChunkSize?: number;
  /** Chunk block growth step, bytes (default 256 KiB). */
  incrementalChunkSize?: number;
  /** First slot heap, slots (default 16384). */
  initialHeapCount?: number;
  /** Slot heap growth step, slots (default 8192). */
  incrementalHeapCount?: number;
  /** JS stack, slots (default 131072, about 13,000 levels of plain recursion). Deeper guest recursion throws RangeError. */
  stackCount?: number;
  /** Initial property-key table, keys (default 2048). */
  initialKeyCount?: number;
  /** Key table growth step, keys (default 1024). */
  incrementalKeyCount?: number;
  /** Name hash table size (default 1993). */
  nameModulo?: number;
  /** Symbol hash table size (default 127). */
  symbolModulo?: number;
  /** Parser arena, bytes (default 1 MiB). */
  parserBufferSize?: number;
  /** Parser hash table size (default 1993). */
  parserTableModulo?: number;
}

/** An emscripten MODULARIZE factory of an xs-wasm build (`createXsWasm`). */
export type EmscriptenFactory = (moduleArg?: Record<string, unknown>) => Promise<unknown>;

/** A module's source as a ModuleLoader's load() gives it. */
export type ModuleSource = string | { type: 'js' | 'json'; source: string };

/**
 * The host's module loader (SandboxOptions.moduleLoader): both methods are
 * synchronous; what they throw fails the import with a TypeError carrying
 * the message (the sandbox stays usable).
 */
export interface ModuleLoader {
  /** The id of the module `specifier` names when the module `referrer` (an id; null: a script or the host) imports it. */
  resolve(specifier: string, referrer: string | null): string;
  /** The module `id`'s source: JavaScript module code, or `{ type: 'json', source }` for a JSON module. */
  load(id: string): ModuleSource;
}

export interface SandboxOptions {
  /**
   * Meter ticks each evaluate/sendMessage call may use (XS's meter: roughly
   * one tick per branch, call and allocation), at least 1. Infinity or
   * absent: no limit; 0 is a RangeError (a call could not run a single tick).
   * A call over the limit throws MeterLimitError and stops the sandbox.
   */
  meterLimit?: number;
  /**
   * How often XS checks the meter limit, in ticks (default 10000). A call may
   * overrun the limit by up to this many ticks before it is stopped.
   */
  meterInterval?: number;
  /**
   * Maximum memory of the guest's heap, in bytes (default 256 MiB; 0 or
   * Infinity: none; otherwise at least MIN_MEMORY_LIMIT, 1 MiB, else
   * create and restore throw RangeError): XS's chunks and heap slots, counted by XS (xs_wasm_creation's
   * memory_limit); not the JS stack (creation.stackCount slots, 2 MiB by
   * default), which comes out of the 16 MiB headroom below. Reaching it throws MemoryLimitError and stops the sandbox.
   * The sandbox's WebAssembly memory also holds the engine's static data, C
   * stack and I/O buffers; it may grow to this limit + 16 MiB
   * (MEMORY_HEADROOM, as in the Rust crate), never more: an allocation of
   * the engine past that fails (an error the guest sees, e.g. "not enough
   * memory for the reply"). With no limit it may grow to the build's
   * maximum (2 GiB). The initial heap is set with `creation`
   * (initialChunkSize, initialHeapCount).
   */
  memoryLimit?: number;
  /** XS creation parameters (initial and incremental heap sizes, stack...). */
  creation?: Creation;
  /** Handles the guest's `sendMessage(msg)`; see Sandbox.receiveMessage. */
  receiveMessage?: (this: Sandbox, message: any) => unknown;
  /** Host functions the guest calls as `host.NAME(...args)`; see Sandbox.hostFunctions. */
  hostFunctions?: Record<string, (this: Sandbox, ...args: any[]) => unknown>;
  /** The host's module loader; see Sandbox.moduleLoader and Sandbox.import. */
  moduleLoader?: ModuleLoader;
  /** Receives the guest's console output (default: the host's console). */
  onLog?: (this: Sandbox, level: LogLevel, text: string) => void;
  /**
   * Give the guest the host's clock for Date.now()/new Date(), and fire its
   * timers on wall time (default false: a virtual clock, 0 until a timer
   * fires, that run() advances to each timer's due time: deterministic).
   */
  realClock?: boolean;
  /**
   * Give the guest the host's time zone for local-time Date methods
   * (getHours, getTimezoneOffset, toString...). Default false: UTC in every
   * host, as in the Rust crate, so results do not depend on the host's TZ.
   */
  hostTimeZone?: boolean;
  /**
   * Define test262's host hooks in the machine: the global `$262`
   * (`global`, `evalScript(source)`, `gc()`, `detachArrayBuffer(buffer)`)
   * and `print(...)` (as `console.log`); `evaluate` then returns null instead
   * of the completion value (test262 ignores it). For conformance testing;
   * default false.
   */
  test262Host?: boolean;
  /**
   * Start the machine locked down (default false): Hardened JavaScript's
   * `lockdown()` runs before any guest code, so the intrinsics are frozen,
   * `harden(o)` freezes `o` deeply and each new `Compartment` gets its own
   * global object over the frozen intrinsics. The machine's own global
   * object stays writable. Ignored by `Sandbox.restore`: a snapshot
   * restores as it was written (a locked machine's snapshot, locked).
   */
  lockdown?: boolean;
  /**
   * Define the web-standard globals (default true): TextEncoder,
   * TextDecoder (UTF-8; fatal, ignoreBOM, stream), URL (WHATWG; no IDNA:
   * a host with non-ASCII characters throws a TypeError), URLSearchParams,
   * DOMException, atob, btoa, structuredClone (XS's marshalling; atob,
   * btoa and structuredClone throw DOMExceptions), queueMicrotask and
   * performance.now() (on the machine's clock: 0 unless realClock). false:
   * a bare machine. Ignored by `Sandbox.restore`.
   */
  webGlobals?: boolean;
  /**
   * true: the first sandbox of a build in this process first runs a short
   * warm-up script (50-70 ms, once) in a throwaway sandbox, so that V8
   * starts optimizing XS's interpreter loop before guest code runs (V8
   * cannot replace the baseline code of a running wasm call). Default
   * false: measured in Node 20 and Chromium 148, V8's optimized code for the
   * loop arrives 0.3-0.8 s later, so the first evaluate was no faster with
   * the warm-up (see the README's "V8 warm-up").
   */
  warmUp?: boolean;
  /**
   * Which build (variant) to run. Node: any emscripten build this package
   * ships (dist/artifacts.json; default "emcc-os", the separate-wasm build,
   * its .wasm read from disk and verified) or that `artifacts` holds.
   * Browsers: the package ships "emcc-os-single-esm" (the default); pass
   * `factory` for anything else.
   */
  build?: string;
  /**
   * Node only: a directory with artifacts.json (this package's layout) or
   * manifest.json (`cargo xtask build` output) and <build>/ folders. Every
   * file is checked against its listed sha256 before it is loaded.
   */
  artifacts?: string | URL;
  /**
   * A build you loaded yourself: its emscripten factory. A single-file
   * build's inlined module is compiled once (checked against wasmSha256
   * when given); a factory with neither wasmBinary nor an inlined module
   * needs hostTimeZone: true (the package cannot replace its time imports),
   * else ArtifactError.
   */
  factory?: EmscriptenFactory;
  /** With `factory`: the build's separate .wasm (compiled once per factory and bytes). */
  wasmBinary?: Uint8Array | ArrayBuffer;
  /** The expected sha256 (hex) of `wasmBinary`, or of a single-file factory's inlined module; a mismatch throws IntegrityError. */
  wasmSha256?: string;
  /**
   * A host key (at least 16 bytes; 32 random bytes recommended) for
   * authenticated snapshots: snapshot() appends an HMAC-SHA256 of the
   * snapshot under it (40 bytes more, the Rust crate's format), and
   * Sandbox.restore refuses a snapshot without one, with another key's or
   * with changed bytes (SnapshotAuthError) before the engine reads it.
   * Without a key, restore does not check a MAC a snapshot carries. A
   * snapshot that is not authenticated is untrusted input: the engine's
   * reader is not hardened against crafted bytes, only the meter and memory
   * limits bound it.
   */
  snapshotKey?: Uint8Array | ArrayBuffer;
  /**
   * Wall-clock deadline of each evaluate/sendMessage call, in milliseconds
   * (default 60000, as the Rust crate's Options::DEFAULT_DEADLINE; 0, null
   * or Infinity: none). Checked at every meter check (each
   * `meterInterval` ticks): a call past it throws DeadlineError and stops
   * the sandbox. Code that does not tick the meter (the collector, reading
   * a snapshot, a long built-in such as a huge BigInt's toString) is not
   * stopped by it: for a hard deadline use WorkerSandbox. In a
   * WorkerSandbox this is the worker's hard deadline instead (default none).
   */
  deadlineMs?: number | null;
  /**
   * An Int32Array (over a SharedArrayBuffer) another thread can interrupt
   * the sandbox through: `Atomics.store(buffer, 0, 1)` stops the call in
   * progress at its next meter check (InterruptedError), or else the next
   * call, and the sandbox for good.
   */
  interruptBuffer?: Int32Array;
}

/**
 * XS's heap counters (`heapStatistics()`): the same figures as the Rust
 * crate's HeapStatistics. "Used" figures count garbage not collected yet
 * unless taken with `collect: true`.
 */
export interface HeapStatistics {
  /** The memory limit, bytes (0: none). */
  memoryLimit: number;
  /** Bytes the memory limit counts now: XS's chunks and heap slots. */
  memoryUsed: number;
  /** Bytes of chunk space XS holds (strings, bytecode, buffers, tables). */
  chunkBytes: number;
  /** Bytes of it in use. */
  chunkBytesUsed: number;
  /** The most chunk bytes in use at once. */
  chunkBytesPeak: number;
  /** Slots XS holds (16 bytes each: objects, properties, values). */
  slots: number;
  /** Slots in use. */
  slotsUsed: number;
  /** The most slots in use at once. */
  slotsPeak: number;
  /** Property keys the key table has room for. */
  keys: number;
  /** Property keys defined (built-ins included). */
  keysUsed: number;
  /** The JS stack, slots. */
  stackSlots: number;
  /** Bytes of the instance's WebAssembly memory. */
  linearMemory: number;
}

/** The port ABI version this package speaks. */
export declare const ABI_VERSION: 5;
/** Default memory limit, bytes (256 MiB). */
export declare const DEFAULT_MEMORY_LIMIT: number;
/** Default meter check interval, ticks (10000). */
export declare const DEFAULT_METER_INTERVAL: number;
/** Smallest memoryLimit other than 0, bytes (1 MiB): below it create and restore throw RangeError. */
export declare const MIN_MEMORY_LIMIT: number;
/** Bytes the WebAssembly memory may hold beyond memoryLimit (16 MiB). */
export declare const MEMORY_HEADROOM: number;
/** Deepest nesting of arrays and objects accepted in JSON from the guest (127, as the Rust crate's serde_json). */
export declare const MAX_JSON_DEPTH: number;

/**
 * A sandboxed JavaScript machine: Moddable's XS in its own WebAssembly
 * instance. The guest has the ECMAScript built-ins plus `sendMessage(msg)`
 * and `console.{debug,log,info,warn,error}`; no network, file system, host
 * clock (unless realClock), host time zone (unless hostTimeZone) or host
 * randomness. The meter limit and the deadline (deadlineMs, checked at
 * each meter check) stop a call; for a deadline that stops anything, see
 * WorkerSandbox. Every call but create/restore
 * is synchronous and drains the guest's promise job queue before returning.
 */
export declare class Sandbox {
  private constructor();
  /** Create a fresh sandbox. */
  static create(options?: SandboxOptions): Promise<Sandbox>;
  /**
   * Restore a snapshot (from snapshot(), of any build with the same port ABI
   * and XS version, emscripten or WASI) into a new sandbox. Throws
   * SnapshotError for empty, truncated, corrupt, garbage or incompatible bytes.
   */
  static restore(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, options?: SandboxOptions): Promise<Sandbox>;

  /**
   * Evaluate a sloppy-mode global script (like a classic `<script>`: its
   * top-level `var`, `let`, `const`, `class` and function declarations stay
   * in the global scope for later calls; redeclaring a `let` is a
   * SyntaxError) and return its completion value as JSON (undefined,
   * functions and symbols give null; a settled promise gives its value).
   * @throws SandboxError the script threw (the sandbox stays usable)
   * @throws ResultTooLargeError the result did not fit in memory (the sandbox stays usable)
   * @throws MeterLimitError | MemoryLimitError | StackOverflowError | EngineError | DeadlineError | InterruptedError (the sandbox stops)
   * @throws SandboxStoppedError after that, or once disposed
   * @throws SandboxBusyError when called from this sandbox's own hooks
   */
  evaluate(source: string): any;
  /**
   * Call the guest's globalThis.receiveMessage(message) with a JSON copy of
   * `message` (undefined is sent as null) and return its return value as
   * JSON. Errors as evaluate().
   */
  sendMessage(message: unknown): any;
  /**
   * Import the module `specifier` names (as a script's import() does), run
   * the job queue until it is empty (top-level await) and return the
   * module's namespace as JSON (its exports). Throws SandboxError when the
   * graph fails to load, link or evaluate (the loader's errors are
   * TypeErrors) or is still evaluating once the queue is empty; other errors
   * as evaluate().
   */
  import(specifier: string): any;
  /** Write the machine's heap to a snapshot (deterministic bytes). */
  snapshot(): Uint8Array;
  /** Change the meter limit (at least 1; Infinity: none; 0 is a RangeError) and check interval for later calls. */
  setMeterLimit(limit: number, interval?: number): void;
  /**
   * Stop the sandbox: the call in progress (when called from a hook) ends
   * with InterruptedError at its next meter check, or else the next call
   * does; the sandbox is then stopped for good. Idempotent.
   */
  interrupt(): void;
  /** XS's heap counters; `collect: true` runs a full garbage collection first. */
  heapStatistics(options?: { collect?: boolean }): HeapStatistics;
  /**
   * Run the event loop. With `source`: evaluate it and, when its
   * completion is a pending promise, run until it settles; resolves to its
   * value as a real value (ArrayBuffer, typed arrays, DataView, Map, Set,
   * Date, BigInt and undefined included). Without: run until the guest is
   * idle (no timers, no host calls left). Timers fire in order of due time
   * (virtual clock: at once, and only while no host call is pending;
   * realClock: on wall time). The meter limit applies to the whole run.
   * @throws SandboxError a throw, a rejection, or a timer callback that threw
   * @throws StalledError the promise can never settle, or host calls exceeded hostCallTimeout
   */
  run(source?: string): Promise<any>;
  /**
   * A binary message: the guest's receiveMessage(message) with a copy of
   * `message` as the real value (see run()); resolves to its return value
   * (a promise awaited as in run(source)).
   */
  sendValue(message: unknown): Promise<any>;
  /** Reject every pending host call in the guest ("the host call was cancelled"); returns how many. */
  cancelHostCalls(): number;
  /** The due time (ms, on `clock`) of the guest's earliest timer, or null. */
  nextTimer(): number | null;
  /** Free the machine and drop its WebAssembly instance. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;

  /**
   * Handles the guest's `sendMessage(msg)`: called with the message (JSON),
   * its return value is what `sendMessage` returns in the guest (JSON;
   * undefined stays undefined). If it throws, `sendMessage` throws an Error
   * with the same message in the guest. Must be synchronous: a returned
   * promise is an error. Without a hook, `sendMessage` throws in the guest.
   */
  receiveMessage: ((this: Sandbox, message: any) => unknown) | undefined;
  /** The host's module loader (imports fail with a TypeError without one). */
  moduleLoader: ModuleLoader | undefined;
  /** Receives the guest's console output (default: the host's console). */
  onLog: ((this: Sandbox, level: LogLevel, text: string) => void) | undefined;
  /**
   * Host functions the guest calls as `host.NAME(...args)`: each gets the
   * decoded arguments (real ArrayBuffers, typed arrays, Maps, ...) with the
   * sandbox as `this`; its value is the call's value in the guest. A
   * promise makes the guest's call return a promise, settled while the
   * sandbox runs (run()). A throw or rejection is an Error with its message
   * in the guest; a value that cannot be sent (a function, a symbol) too.
   */
  hostFunctions: Record<string, (this: Sandbox, ...args: any[]) => unknown> | undefined;
  /** The most host calls pending at once (default 1000); the guest's next async call throws beyond. */
  maxPendingCalls: number;
  /** How long (ms) a run waits for pending host calls with no progress (default 60000; Infinity: forever). */
  hostCallTimeout: number;
  /** Host calls started and not yet settled in the guest. */
  readonly pendingCalls: number;
  /** The clock (ms): virtual (0 until a timer fires; kept in snapshots), or the wall clock with realClock. */
  readonly clock: number;

  /** Meter ticks used by the last evaluate/sendMessage call, or by the last run. */
  readonly meter: number;
  /** The wall-clock deadline of each call, milliseconds (0: none). */
  readonly deadlineMs: number;
  /** The meter limit in force (Infinity: none). */
  readonly meterLimit: number;
  /** The memory limit, bytes (0: none). */
  readonly memoryLimit: number;
  /** The build this sandbox runs ("emcc-os", ...). */
  readonly build: string;
  /** Bytes of WebAssembly memory the sandbox's instance holds (0 once released). */
  readonly memoryBytes: number;
  /** XS version, "major.minor.patch" ("" once released). */
  readonly xsVersion: string;
  /** Engine features the build lacks: `[]` for full builds, `['regexp-property-escapes', 'string-normalize']` for -lite builds. */
  readonly lacks: string[];
  /** Whether a call stopped the sandbox or it was disposed. */
  readonly stopped: boolean;
  /** Why it is stopped ("disposed", "meter limit of ..."), or null. */
  readonly stopReason: string | null;
}

/**
 * Options of WorkerSandbox.create/restore: those of Sandbox.create but the
 * ones a worker cannot receive (factory, wasmBinary, wasmSha256), plus
 * `deadlineMs`. The hooks run on the calling thread.
 */
export interface WorkerSandboxOptions extends Omit<SandboxOptions, 'factory' | 'wasmBinary' | 'wasmSha256' | 'receiveMessage' | 'onLog' | 'hostFunctions'> {
  /**
   * Wall-clock deadline of each call (create and restore included), in
   * milliseconds; 0, Infinity or absent: none. A call still running at its
   * deadline fails with DeadlineError: the worker is terminated and the
   * sandbox is gone (later calls throw SandboxStoppedError).
   */
  deadlineMs?: number;
  /**
   * Handles the guest's `sendMessage(msg)` on the calling thread, as
   * SandboxOptions.receiveMessage (synchronous). Needs SharedArrayBuffer
   * (always in Node; in browsers a cross-origin isolated page).
   */
  receiveMessage?: (this: WorkerSandbox, message: any) => unknown;
  /** Receives the guest's console output on the calling thread (default: the host's console). */
  onLog?: (this: WorkerSandbox, level: LogLevel, text: string) => void;
  /**
   * Host functions the guest calls as `host.NAME(...args)`, run on the
   * calling thread with the WorkerSandbox as `this` (as
   * SandboxOptions.hostFunctions, the same values and errors in the
   * guest): the worker waits for a synchronous one; a promise gives the
   * guest a promise that the worker's run() settles when it settles.
   * Needs SharedArrayBuffer (always in Node; in browsers a cross-origin
   * isolated page): without it, a TypeError.
   */
  hostFunctions?: Record<string, (this: WorkerSandbox, ...args: any[]) => unknown>;
  /**
   * Browsers (required there; refused in Node, where the package starts its
   * own worker thread): returns a new module Web Worker whose script calls
   * `serveWorkerSandbox()`, e.g.
   * `() => new Worker(new URL('./sandbox-worker.js', import.meta.url), { type: 'module' })`.
   */
  worker?: () => Worker;
}

/**
 * Serve a WorkerSandbox from this worker: the whole script of the worker
 * that WorkerSandboxOptions.worker starts (browsers). In Node the package's
 * own worker script calls it.
 */
export declare function serveWorkerSandbox(): void;

/**
 * A Sandbox in a worker thread of its own (Node: a worker_threads worker the
 * package starts; browsers: the Web Worker `options.worker` returns). Every call is asynchronous and runs after the calls before it; the
 * calling thread stays free while the guest runs. With `deadlineMs`, a call
 * that outlives it ends with DeadlineError and the worker is terminated:
 * unlike the meter, this stops anything, a built-in's C loop included. An
 * in-thread Sandbox can be stopped only by its meter limit.
 */
export declare class WorkerSandbox {
  private constructor();
  /** A fresh sandbox in a new worker. */
  static create(options?: WorkerSandboxOptions): Promise<WorkerSandbox>;
  /** A sandbox restored from a snapshot (Sandbox.restore's rules), in a new worker. */
  static restore(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, options?: WorkerSandboxOptions): Promise<WorkerSandbox>;
  /** Sandbox.evaluate in the worker. @throws as Sandbox.evaluate, and DeadlineError */
  evaluate(source: string): Promise<any>;
  /** Sandbox.sendMessage in the worker. */
  sendMessage(message: unknown): Promise<any>;
  /** Sandbox.import in the worker; its loader is this thread's moduleLoader (needs SharedArrayBuffer). */
  import(specifier: string): Promise<any>;
  /** Sandbox.snapshot in the worker. */
  snapshot(): Promise<Uint8Array>;
  /** Sandbox.setMeterLimit in the worker. */
  setMeterLimit(limit: number, interval?: number): Promise<void>;
  /** Sandbox.heapStatistics in the worker. */
  heapStatistics(options?: { collect?: boolean }): Promise<HeapStatistics>;
  /**
   * Sandbox.run in the worker: evaluate `source` and run the event loop
   * until its promise settles (without `source`: until the guest is idle);
   * resolves to the value as a real value. The worker's loop waits for the
   * calling thread's host functions; the deadline bounds the whole run.
   * While a run is in progress, other calls go to the worker at once (as a
   * Sandbox's methods work while its run waits) instead of after it.
   * @throws SandboxError | StalledError as Sandbox.run, and DeadlineError
   */
  run(source?: string): Promise<any>;
  /** Sandbox.sendValue in the worker (a binary message; real values both ways). */
  sendValue(message: unknown): Promise<any>;
  /** Sandbox.cancelHostCalls in the worker: reject every pending host call in the guest; resolves to how many. */
  cancelHostCalls(): Promise<number>;
  /** Sandbox.nextTimer in the worker: the due time (ms, on `clock`) of the guest's earliest timer, or null. */
  nextTimer(): Promise<number | null>;
  /** Terminate the worker now (idempotent); a call in progress fails with SandboxStoppedError. */
  dispose(): void;
  [Symbol.dispose](): void;

  receiveMessage: ((this: WorkerSandbox, message: any) => unknown) | undefined;
  /** The worker's module loader, run on this thread (synchronous; the worker waits). */
  moduleLoader: ModuleLoader | undefined;
  onLog: ((this: WorkerSandbox, level: LogLevel, text: string) => void) | undefined;
  /**
   * Host functions (see WorkerSandboxOptions.hostFunctions), looked up at
   * call time. Setting it on a WorkerSandbox without SharedArrayBuffer
   * throws TypeError.
   */
  hostFunctions: Record<string, (this: WorkerSandbox, ...args: any[]) => unknown> | undefined;
  /** As Sandbox.maxPendingCalls (default 1000), sent with each call. */
  maxPendingCalls: number;
  /** As Sandbox.hostCallTimeout (default 60000; Infinity: forever), sent with each call. The deadline bounds a run anyway. */
  hostCallTimeout: number;
  /** Host calls started and not yet settled in the guest, as of the last call. */
  readonly pendingCalls: number;
  /** The clock (ms): virtual as of the last call, or the wall clock with realClock. */
  readonly clock: number;
  /** The deadline of each call, milliseconds (0: none). */
  readonly deadlineMs: number;
  /** Meter ticks used by the last evaluate/sendMessage call, or by the last run. */
  readonly meter: number;
  /** The meter limit in force, ticks (0: none). */
  readonly meterLimit: number;
  /** The memory limit, bytes (0: none). */
  readonly memoryLimit: number;
  /** WebAssembly memory of the worker's sandbox after the last call, bytes (0 once stopped). */
  readonly memoryBytes: number;
  /** The build the sandbox runs. */
  readonly build: string;
  /** XS version ("" once stopped). */
  readonly xsVersion: string;
  /** Engine features the build lacks. */
  readonly lacks: string[];
  /** Whether a call stopped it, its deadline passed, or it was disposed. */
  readonly stopped: boolean;
  /** Why it is stopped, or null. */
  readonly stopReason: string | null;
}

/** Base class of every error xs-wasm throws on purpose. */
export declare class XsWasmError extends Error {}

/** The guest threw. The sandbox stays usable. */
export declare class SandboxError extends XsWasmError {
  /** The thrown value's name ("TypeError"...), "" for a non-object. */
  readonly guestName: string;
  /** The thrown value's message (or the value as a string). */
  readonly guestMessage: string;
  /** The guest's stack text ("" when none). */
  readonly guestStack: string;
}

/** The sandbox is stopped (by an earlier call, or disposed); also the base of the errors that stop it. */
export declare class SandboxStoppedError extends XsWasmError {
  readonly reason: string;
}
/** The call exceeded the meter limit; the sandbox is stopped. */
export declare class MeterLimitError extends SandboxStoppedError {
  /** Ticks the call used. */
  readonly meter: number;
  readonly limit: number;
}
/** The guest's heap reached the memory limit; the sandbox is stopped. */
export declare class MemoryLimitError extends SandboxStoppedError {
  readonly limit: number;
}
/** The engine's native stack overflowed unrecoverably; the sandbox is stopped. */
export declare class StackOverflowError extends SandboxStoppedError {}
/** The engine trapped or aborted; the sandbox is stopped. */
export declare class EngineError extends SandboxStoppedError {
  readonly status: number | undefined;
}
/** Bad snapshot bytes (reason from the engine), or a snapshot could not be written. */
export declare class SnapshotError extends XsWasmError {
  readonly reason: string;
}
/** Restore with a snapshotKey refused the snapshot: no MAC ("missing") or another key's / changed bytes ("mismatch"). */
export declare class SnapshotAuthError extends SnapshotError {
  readonly kind: 'missing' | 'mismatch';
}
/** A build file's sha256 differs from the one listed for it. */
export declare class IntegrityError extends XsWasmError {
  readonly file: string;
  readonly expected: string;
  readonly actual: string;
}
/** A build is missing, of an unknown form, or speaks another port ABI. */
export declare class ArtifactError extends XsWasmError {}
/** A call outlived its deadline (deadlineMs): the sandbox is stopped (a WorkerSandbox's worker terminated). */
export declare class DeadlineError extends SandboxStoppedError {
  /** The deadline in force, milliseconds. */
  readonly deadlineMs: number;
}
/** A call was stopped by interrupt() or the interruptBuffer; the sandbox is stopped. */
export declare class InterruptedError extends SandboxStoppedError {}
/** A sandbox method was called from inside the same sandbox's call (its hooks). */
export declare class SandboxBusyError extends XsWasmError {}
/** The guest's result was not JSON (the guest replaced JSON.stringify). */
export declare class InvalidJsonError extends XsWasmError {}
/** The result (`size` bytes of UTF-8 JSON) did not fit in the sandbox's memory; the sandbox stays usable. */
export declare class ResultTooLargeError extends XsWasmError {
  /** Bytes of the result. */
  readonly size: number;
  /** The memory limit, bytes. */
  readonly limit: number;
}

/**
 * A run (run(), sendValue()) cannot go on: the promise it awaits is pending
 * with no timers and no host calls left, or host calls made no progress
 * within hostCallTimeout (they were cancelled). The sandbox stays usable.
 */
export declare class StalledError extends XsWasmError {}
