// The published package: `npm pack` holds every shipped build with the
// sha256 of the manifest, and the tarball, installed into an empty project
// (offline: the package has no dependencies), works from ESM and CommonJS.
// Packs the current dist/ (--ignore-scripts: `npm test` built it already).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { PACKAGE_DIR, manifest, packaged } from './helpers.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-wasm-pack-'));
after(() => fs.rmSync(temp, { recursive: true, force: true }));
const quietNpm = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } };

describe('npm pack', () => {
  let tarball;
  let files;

  it('packs the wrapper, its types, the CommonJS entry and every shipped build', () => {
    const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], { ...quietNpm, cwd: PACKAGE_DIR });
    const [info] = JSON.parse(out);
    tarball = path.join(temp, info.filename);
    files = info.files.map((f) => f.path);
    for (const file of ['package.json', 'README.md', 'src/node.mjs', 'src/browser.mjs', 'src/sandbox.mjs', 'src/errors.mjs', 'cjs/node.cjs', 'cjs/node.d.cts', 'types/index.d.ts', 'dist/artifacts.json', 'dist/browser-build.mjs']) {
      assert.ok(files.includes(file), `${file} is not in the tarball`);
    }
    const m = manifest();
    for (const [name, v] of Object.entries(packaged().variants)) {
      for (const [file, meta] of Object.entries(v.files)) {
        assert.ok(files.includes(`dist/${name}/${file}`), `dist/${name}/${file} is not in the tarball`);
        assert.equal(meta.sha256, m.variants[name].files[file].sha256);
      }
    }
    assert.ok(!files.some((f) => f.startsWith('tests/') || f.startsWith('scripts/') || f.startsWith('node_modules/')), 'no tests, scripts or node_modules');
  });

  it('works when installed from the tarball, from ESM and CommonJS', { timeout: 120000 }, () => {
    const project = path.join(temp, 'consumer');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { ...quietNpm, cwd: project });
    const esm = `
      import { Sandbox, SnapshotError } from 'xs-wasm';
      const s = await Sandbox.create({ receiveMessage: (m) => m + '!' });
      const r = await Sandbox.restore(s.snapshot());
      let refused = false;
      try { await Sandbox.restore(new Uint8Array(3)); } catch (e) { refused = e instanceof SnapshotError; }
      console.log(JSON.stringify([s.build, s.evaluate('sendMessage("esm")'), r.evaluate('1 + 1'), refused]));`;
    const cjs = `
      const { Sandbox } = require('xs-wasm');
      Sandbox.create({ build: 'emcc-os-single-cjs' }).then((s) => console.log(JSON.stringify([s.build, s.evaluate('"cjs"')])));`;
    const run = (args) => JSON.parse(execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8' }));
    assert.deepEqual(run(['--input-type=module', '-e', esm]), ['emcc-os', 'esm!', 2, true]);
    assert.deepEqual(run(['-e', cjs]), ['emcc-os-single-cjs', 'cjs']);
  });
});
