// The hand-written types (types/index.d.ts, and cjs/node.d.cts generated from
// it) compile, and describe the package as ESM and CommonJS consumers see it:
// tsc --noEmit over tests/types/consumer.{mts,cts} (TypeScript is a
// devDependency; skipped when it is not installed).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { PACKAGE_DIR } from './helpers.mjs';

const tsc = path.join(PACKAGE_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
const skip = fs.existsSync(tsc) ? false : 'typescript is not installed (npm install)';

it('type-checks ESM and CommonJS consumers against the shipped declarations', { skip, timeout: 120000 }, () => {
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(PACKAGE_DIR, 'tests', 'types', 'tsconfig.json')], { cwd: PACKAGE_DIR, encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
