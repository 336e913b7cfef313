// The hand-written types (types/index.d.ts, and cjs/node.d.cts generated from
// it) compile, and describe the package as ESM and CommonJS consumers see it:
// tsc --noEmit over tests/types/consumer.{mts,cts}; they compile under
// `strict` with the default `lib` of TypeScript 5.0 and of the pinned 5.x
// (tests/types/default-lib); and every option the runtime accepts is
// declared with a doc comment. TypeScript (both versions) is a
// devDependency: `npm ci` installs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { Sandbox } from '../src/node.mjs';
import { PACKAGE_DIR } from './helpers.mjs';

const TYPESCRIPTS = { 'the pinned TypeScript': 'typescript', 'TypeScript 5.0': 'typescript-5.0' };

function tsc(pkg, project) {
  const bin = path.join(PACKAGE_DIR, 'node_modules', pkg, 'bin', 'tsc');
  assert.ok(fs.existsSync(bin), `${pkg} is not installed: run npm ci`);
  const run = spawnSync(process.execPath, [bin, '-p', path.join(PACKAGE_DIR, 'tests', 'types', project)], { cwd: PACKAGE_DIR, encoding: 'utf8' });
  assert.equal(run.status, 0, `${pkg}: tsc failed:\n${run.stdout}${run.stderr}`);
}

it('type-checks ESM and CommonJS consumers against the shipped declarations', { timeout: 120000 }, () => {
  tsc('typescript', 'tsconfig.json');
});

for (const [name, pkg] of Object.entries(TYPESCRIPTS)) {
  it(`compiles under strict with ${name}'s default lib (no esnext.disposable, no skipLibCheck)`, { timeout: 120000 }, () => {
    tsc(pkg, path.join('default-lib', 'tsconfig.json'));
  });
}

it('declares every option the runtime accepts, each with a doc comment, and no other', async () => {
  // The runtime names the options it knows when it refuses an unknown one.
  const refused = await Sandbox.create({ notAnOption: 1 }).then(
    () => assert.fail('an unknown option was accepted'),
    (error) => error,
  );
  assert.ok(refused instanceof TypeError, String(refused));
  const known = /\(known: ([^)]*)\)/.exec(refused.message)[1].split(', ').sort();
  const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'types', 'index.d.ts'), 'utf8');
  const body = /export interface SandboxOptions \{\n([\s\S]*?)\n\}/.exec(dts)[1];
  const declared = [];
  const lines = body.split('\n');
  lines.forEach((line, i) => {
    const member = /^ {2}(\w+)\??:/.exec(line);
    if (!member) return;
    declared.push(member[1]);
    assert.match(lines[i - 1] ?? '', /\*\/\s*$/, `SandboxOptions.${member[1]} has no doc comment`);
  });
  assert.deepEqual(declared.sort(), known);
});

it('declares every creation field the runtime accepts (port/xs_wasm.h, through abi.mjs), each with a doc comment, and no other', async () => {
  const refused = await Sandbox.create({ creation: { notAField: 1 } }).then(
    () => assert.fail('an unknown creation field was accepted'),
    (error) => error,
  );
  assert.ok(refused instanceof TypeError, String(refused));
  const known = /\(known: ([^)]*)\)/.exec(refused.message)[1].split(', ');
  const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'types', 'index.d.ts'), 'utf8');
  const lines = /export interface Creation \{\n([\s\S]*?)\n\}/.exec(dts)[1].split('\n');
  const declared = [];
  lines.forEach((line, i) => {
    const member = /^ {2}(\w+)\?: number;/.exec(line);
    if (!member) return;
    declared.push(member[1]);
    assert.match(lines[i - 1] ?? '', /\*\/\s*$/, `Creation.${member[1]} has no doc comment`);
  });
  assert.deepEqual(declared, known, 'types/index.d.ts declares the fields in xs_wasm_creation order');
});
