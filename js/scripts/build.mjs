#!/usr/bin/env node
// Build the package's generated files (run by `npm run build`, `npm test`
// and `npm pack` through prepack). No bundler, no dependencies.
//
// 1. dist/<variant>/...  the emscripten artifacts the package ships, copied
//    from the repository's artifacts/ (written by `cargo xtask build`) after
//    checking each file against artifacts/manifest.json (never edited here).
//    Shipped: every emscripten variant the manifest marks `release: true`.
// 2. dist/artifacts.json  what ships: per variant its form and each file's
//    bytes and sha256, straight from the manifest; plus the default builds
//    (package.json "xsWasm".defaults) and the engine record.
// 3. dist/browser-build.mjs  re-exports the default browser build's factory
//    (a static import path, so bundlers see it) and the sha256 of the module
//    it inlines. No URL of the glue: a bundler would copy the file again as
//    an asset (Vite, webpack) or leave a URL that does not exist (esbuild,
//    Rollup).
// 4. cjs/*.cjs  the CommonJS entry, generated from src/*.mjs by a small
//    syntax-directed rewrite of import/export lines (see toCommonJs), and
//    cjs/node.d.cts, the types for require() users.
//
// usage: node scripts/build.mjs [--artifacts DIR]   (or env XS_WASM_ARTIFACTS)

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlinedPayload } from '../src/runtime.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const artifactsArg = args.indexOf('--artifacts');
const artifactsDir = path.resolve(
  artifactsArg >= 0 ? args[artifactsArg + 1] : process.env.XS_WASM_ARTIFACTS || path.join(root, '..', 'artifacts'),
);

function fail(message) {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeIfChanged(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(file, text);
}

// ------------------------------------------------------------ artifacts --

function buildDist() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const defaults = pkg.xsWasm?.defaults ?? {};
  const manifestFile = path.join(artifactsDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) fail(`${manifestFile} is missing: run \`cargo xtask build\` in the repository first`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const shipped = Object.entries(manifest.variants ?? {})
    .filter(([, v]) => v.toolchain === 'emscripten' && v.release === true)
    .sort(([a], [b]) => a.localeCompare(b));
  for (const [role, name] of Object.entries(defaults)) {
    if (!shipped.some(([n]) => n === name)) {
      fail(`the default ${role} build "${name}" (package.json xsWasm.defaults) is not a release emscripten variant in ${manifestFile}: run \`cargo xtask build\``);
    }
  }
  const dist = path.join(root, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  const variants = {};
  for (const [name, v] of shipped) {
    const files = {};
    for (const [file, meta] of Object.entries(v.files).sort(([a], [b]) => a.localeCompare(b))) {
      const from = path.join(artifactsDir, name, file);
      if (!fs.existsSync(from)) fail(`${from} is listed in the manifest but missing: run \`cargo xtask build\``);
      const bytes = fs.readFileSync(from);
      const actual = sha256(bytes);
      if (actual !== meta.sha256) {
        fail(`${from} does not match the manifest (sha256 ${actual}, manifest ${meta.sha256}): run \`cargo xtask build\``);
      }
      const to = path.join(dist, name, file);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, bytes);
      files[file] = { bytes: meta.bytes, sha256: meta.sha256 };
      // A single-file build's module (its gzip, as the glue inlines it):
      // recorded from the verified glue, checked again when it is loaded.
      const payload = v.form.startsWith('single-') ? inlinedPayload(bytes.toString('latin1')) : null;
      if (payload) files[file].inlined = { bytes: payload.length, sha256: sha256(payload) };
    }
    variants[name] = {
      toolchain: v.toolchain,
      form: v.form,
      abi_version: v.abi_version,
      description: v.description,
      // Features a -lite build lacks (absent for full builds).
      lacks: v.lacks,
      files,
      tools: v.tools,
    };
  }
  const metadata = {
    schema: 1,
    package: `${pkg.name}@${pkg.version}`,
    source: 'artifacts/manifest.json',
    engine: manifest.engine,
    defaults,
    variants,
  };
  fs.writeFileSync(path.join(dist, 'artifacts.json'), JSON.stringify(metadata, null, 2) + '\n');
  // .js files under dist/ are emscripten's CommonJS glue.
  fs.writeFileSync(path.join(dist, 'package.json'), '{ "type": "commonjs" }\n');
  const browser = defaults.browser;
  const browserEntry = browser && variants[browser];
  if (browserEntry) {
    const file = Object.keys(browserEntry.files).find((f) => f.endsWith('.mjs'));
    if (!file) fail(`the default browser build ${browser} has no .mjs file (form ${browserEntry.form})`);
    const inlined = browserEntry.files[file].inlined;
    if (!inlined) fail(`the default browser build ${browser} inlines no module in ${file}`);
    fs.writeFileSync(
      path.join(dist, 'browser-build.mjs'),
      `// Generated by scripts/build.mjs: the default browser build.\n` +
        `export { default } from './${browser}/${file}';\n` +
        `export const variant = ${JSON.stringify(browser)};\n` +
        `// sha256 of the module the build inlines (its payload, as the glue holds it):\n` +
        `// the browser entry checks it before it compiles the module.\n` +
        `export const inlinedSha256 = ${JSON.stringify(inlined.sha256)};\n`,
    );
  }
  const summary = Object.entries(variants)
    .map(([name, v]) => `${name} (${v.form}, ${Object.values(v.files).reduce((n, f) => n + f.bytes, 0)} bytes)`)
    .join(', ');
  process.stdout.write(`build: dist/ from ${path.relative(root, artifactsDir) || '.'}: ${summary}\n`);
}

// ------------------------------------------------------------ CommonJS --

/**
 * Rewrite an ES module of this package's own restricted style into CommonJS.
 * Supported (one statement per line, as src/ is written):
 *   import { a, b as c } from 'x';     import * as ns from 'x';
 *   export class|function|async function|const|let NAME ...
 *   export { a, b } from 'x';          export * from 'x';
 *   import.meta.url
 * './x.mjs' specifiers become './x.cjs'. Anything else starting with
 * `import ` or `export ` is an error, so a new construct cannot slip through
 * untranslated.
 */
export function toCommonJs(source, fileName) {
  const spec = (s) => JSON.stringify(s.replace(/\.mjs$/, '.cjs'));
  const names = [];
  const out = ['"use strict";'];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    let m;
    // multi-line `import {\n a,\n b\n} from 'x';` : join until the closing line
    if (/^(import|export) \{[^}]*$/.test(line)) {
      while (!/\}/.test(line) && i + 1 < lines.length) line += ' ' + lines[++i].trim();
    }
    if ((m = /^import \{([^}]*)\} from '([^']+)';$/.exec(line))) {
      const bindings = m[1].split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.replace(/^(\w+) as (\w+)$/, '$1: $2'));
      out.push(`const { ${bindings.join(', ')} } = require(${spec(m[2])});`);
    } else if ((m = /^import \* as (\w+) from '([^']+)';$/.exec(line))) {
      out.push(`const ${m[1]} = require(${spec(m[2])});`);
    } else if ((m = /^export \{([^}]*)\} from '([^']+)';$/.exec(line))) {
      const bindings = m[1].split(',').map((s) => s.trim()).filter(Boolean);
      out.push(`{ const m = require(${spec(m[2])}); ${bindings.map((b) => `exports.${b} = m.${b};`).join(' ')} }`);
    } else if ((m = /^export \* from '([^']+)';$/.exec(line))) {
      out.push(`Object.assign(exports, require(${spec(m[1])}));`);
    } else if ((m = /^export (class|function|async function|const|let) (\w+)/.exec(line))) {
      names.push(m[2]);
      out.push(line.replace(/^export /, ''));
    } else if (/^(import|export)\b/.test(line)) {
      throw new Error(`${fileName}:${i + 1}: toCommonJs cannot translate: ${line}`);
    } else {
      out.push(line);
    }
  }
  let text = out.join('\n').replace(/\bimport\.meta\.url\b/g, 'require("node:url").pathToFileURL(__filename).href');
  if (names.length) text += `\n${names.map((n) => `exports.${n} = ${n};`).join('\n')}\n`;
  return `// Generated by scripts/build.mjs from src/${fileName}: edit that file.\n${text}`;
}

function buildCjs() {
  const src = path.join(root, 'src');
  const cjs = path.join(root, 'cjs');
  for (const file of fs.readdirSync(src).filter((f) => f.endsWith('.mjs')).sort()) {
    // browsers get the ES modules themselves; Node's workers always run the ES module worker script
    if (file === 'browser.mjs' || file === 'worker-node.mjs') continue;
    const text = toCommonJs(fs.readFileSync(path.join(src, file), 'utf8'), file);
    writeIfChanged(path.join(cjs, file.replace(/\.mjs$/, '.cjs')), text);
  }
  writeIfChanged(path.join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
  // Types for require() users: the same declarations, as a CommonJS module.
  const dts = fs.readFileSync(path.join(root, 'types', 'index.d.ts'), 'utf8');
  writeIfChanged(path.join(cjs, 'node.d.cts'), `// Generated by scripts/build.mjs from types/index.d.ts: edit that file.\n${dts}`);
}

if (!args.includes('--cjs-only')) buildDist();
buildCjs();
