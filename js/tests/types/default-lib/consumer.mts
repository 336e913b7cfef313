// Type-checked by tests/types.test.mjs with TypeScript 5.0 and the pinned 5.x,
// `strict` and the default `lib` of the target (no esnext.disposable, no
// skipLibCheck): what a consumer gets without configuring anything.
import { Sandbox, SandboxError, type SandboxOptions } from 'xs-wasm';

const options: SandboxOptions = { meterLimit: 1_000_000, memoryLimit: 64 << 20, onLog: (level, text) => console.log(level, text) };

export async function main(): Promise<unknown> {
  const s = await Sandbox.create(options);
  try {
    return s.evaluate('1 + 1');
  } catch (error) {
    if (error instanceof SandboxError) return error.guestMessage;
    throw error;
  } finally {
    s[Symbol.dispose]();
  }
}
