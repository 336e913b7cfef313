// Type-checked by tests/types.test.mjs (tsc --noEmit): the CommonJS view of the package.
import xs = require('xs-wasm');

export async function main(): Promise<string> {
  const s = await xs.Sandbox.create({ build: 'emcc-os', realClock: true });
  const stack: string = (() => {
    try {
      s.evaluate('null.x');
      return '';
    } catch (error) {
      return error instanceof xs.SandboxError ? error.guestStack : String(error);
    }
  })();
  s.dispose();
  const abi: 5 = xs.ABI_VERSION;
  return stack + abi;
}
