// Type-checked by tests/types.test.mjs (tsc --noEmit): the ESM view of the package.
import { Sandbox, WorkerSandbox, DeadlineError, SandboxError, MeterLimitError, SandboxStoppedError, SnapshotError, IntegrityError, type SandboxOptions, type LogLevel, type ModuleLoader } from 'xs-wasm';

const options: SandboxOptions = {
  meterLimit: 1_000_000,
  meterInterval: 1000,
  memoryLimit: 64 << 20,
  creation: { stackCount: 2048 },
  receiveMessage(message) {
    return { echo: message, build: this.build };
  },
  onLog(level: LogLevel, text: string) {
    console.log(level, text);
  },
  moduleLoader: {
    resolve: (specifier: string, referrer: string | null) => (referrer ?? '') + specifier,
    load: (id: string) => (id.endsWith('.json') ? { type: 'json', source: '{}' } : 'export default 1;'),
  },
};

const loader: ModuleLoader | undefined = options.moduleLoader;

export async function main(): Promise<number> {
  const s = await Sandbox.create(options);
  const value: unknown = s.evaluate('1 + 1');
  s.sendMessage({ hello: 'guest' });
  const namespace: any = s.import('./main.mjs');
  s.moduleLoader = loader;
  const meter: number = s.meter;
  const bytes: Uint8Array = s.snapshot();
  const restored = await Sandbox.restore(bytes, { build: 'emcc-os' });
  s.receiveMessage = (m) => m;
  s.onLog = undefined;
  try {
    restored.evaluate('for (;;) {}');
  } catch (error) {
    if (error instanceof MeterLimitError) console.log(error.meter, error.limit, error.reason);
    else if (error instanceof SandboxStoppedError) console.log(error.reason);
    else if (error instanceof SandboxError) console.log(error.guestName, error.guestMessage, error.guestStack);
    else if (error instanceof SnapshotError || error instanceof IntegrityError) console.log(error.message);
  }
  {
    using disposable = await Sandbox.create();
    disposable.evaluate('1');
  }
  s.dispose();
  const ws = await WorkerSandbox.create({
    deadlineMs: 1000,
    meterLimit: 1_000_000,
    receiveMessage: (m) => m,
    hostFunctions: {
      now: () => new Date(0),
      async read(this: WorkerSandbox, name: string) {
        return new TextEncoder().encode(name + this.build);
      },
    },
  });
  try {
    const result: unknown = await ws.evaluate('1 + 1');
    ws.hostFunctions = { ...ws.hostFunctions, later: async () => 1 };
    ws.hostCallTimeout = Infinity;
    ws.maxPendingCalls = 10;
    const ran: any = await ws.run('host.later()');
    const sent: any = await ws.sendValue(new Map([[1, 2n]]));
    const cancelled: number = await ws.cancelHostCalls();
    const next: number | null = await ws.nextTimer();
    console.log(ran, sent, cancelled, next, ws.pendingCalls, ws.clock);
    const imported: unknown = await ws.import('./main.mjs');
    ws.moduleLoader = loader;
    console.log(result, ws.deadlineMs, await ws.snapshot());
  } catch (error) {
    if (error instanceof DeadlineError) console.log(error.deadlineMs, error.reason);
  }
  ws.dispose();
  // @ts-expect-error a worker cannot receive a factory
  await WorkerSandbox.create({ factory: () => Promise.resolve(null) });
  // @ts-expect-error the constructor is private: use Sandbox.create
  new Sandbox();
  // @ts-expect-error unknown options are refused
  await Sandbox.create({ meterlimit: 1 });
  return meter + (typeof value === 'number' ? value : 0);
}
