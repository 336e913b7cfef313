// The behaviour suite over every release emscripten variant of the manifest.
import * as api from '../src/node.mjs';
import { emscriptenVariants } from './helpers.mjs';
import { sandboxSuite } from './suite.mjs';

for (const variant of emscriptenVariants().filter((v) => v.release)) sandboxSuite(variant, api);
