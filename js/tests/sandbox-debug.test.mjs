// The behaviour suite over every debug (non-release) emscripten variant of the
// manifest, e.g. emcc-o0.
//
// V8's optimizing tier needs about 20 s (mostly in the kernel: memory) to
// compile the -O0 build's huge functions (XS's fxRunID); with Liftoff only,
// the build runs at once. The flag is set before any module is compiled and
// affects this test process only.
import v8 from 'node:v8';
import { emscriptenVariants } from './helpers.mjs';
import { sandboxSuite } from './suite.mjs';

v8.setFlagsFromString('--liftoff-only');
const api = await import('../src/node.mjs');
for (const variant of emscriptenVariants().filter((v) => !v.release)) sandboxSuite(variant, api);
