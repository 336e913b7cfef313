// 10,000 create/evaluate/dispose cycles of the default build (one variant
// only: about 30 s) must not grow the process: disposing a sandbox drops its
// WebAssembly instance and its memory. Runs scripts/memory.mjs in a child
// process with --expose-gc. XS_WASM_MEMORY_CYCLES changes the count.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { it } from 'node:test';
import { PACKAGE_DIR } from './helpers.mjs';

const cycles = Number(process.env.XS_WASM_MEMORY_CYCLES || 10000);
const MiB = 1024 * 1024;

it(`releases memory over ${cycles} create/dispose cycles`, { timeout: 600000 }, (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(PACKAGE_DIR, 'scripts', 'memory.mjs'), '--cycles', String(cycles), '--json'], { encoding: 'utf8' });
  const result = JSON.parse(out);
  const mib = (n) => `${(n / MiB).toFixed(1)} MiB`;
  t.diagnostic(
    `${result.cycles} cycles of ${result.build} in ${result.seconds.toFixed(1)} s (${result.perCycleMs.toFixed(2)} ms each): ` +
      `rss ${mib(result.samples[0].rss)} -> ${mib(result.samples.at(-1).rss)} (max ${mib(result.maxRss)}), ` +
      `heap growth ${mib(result.growth.heapUsed)}, external growth ${mib(result.growth.external)}`,
  );
  assert.equal(result.cycles, cycles);
  // Each sandbox holds at least 16 MiB of wasm memory (counted as external
  // memory until the GC frees it): a leak of even one sandbox in a hundred
  // would show as 1.6 GiB of external memory here. A few instances may still
  // await collection when a sample is taken.
  assert.ok(result.growth.rss < 32 * MiB, `rss grew by ${mib(result.growth.rss)}`);
  assert.ok(result.growth.heapUsed < 8 * MiB, `V8 heap grew by ${mib(result.growth.heapUsed)}`);
  assert.ok(result.growth.external < 64 * MiB, `external memory grew by ${mib(result.growth.external)}`);
});
