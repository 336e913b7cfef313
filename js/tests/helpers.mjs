// Shared by the tests: where the artifacts are and which variants to test.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(PACKAGE_DIR, '..');
/** The build output of `cargo xtask build` (artifacts/manifest.json + <variant>/). */
export const ARTIFACTS_DIR = path.resolve(process.env.XS_WASM_ARTIFACTS || path.join(REPO_DIR, 'artifacts'));
export const DIST_DIR = path.join(PACKAGE_DIR, 'dist');

export function manifest() {
  return JSON.parse(fs.readFileSync(path.join(ARTIFACTS_DIR, 'manifest.json'), 'utf8'));
}

export function packaged() {
  return JSON.parse(fs.readFileSync(path.join(DIST_DIR, 'artifacts.json'), 'utf8'));
}

/**
 * Every emscripten variant of the manifest, each with the Sandbox options
 * that load it: from the package's dist/ when the package ships it, else
 * straight from the artifacts directory (e.g. the -O0 debug build).
 * `slow`: a debug (non-release) build, tested with small inputs.
 */
export function emscriptenVariants() {
  const shipped = packaged().variants;
  return Object.entries(manifest().variants)
    .filter(([, v]) => v.toolchain === 'emscripten')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, v]) => ({
      name,
      form: v.form,
      release: v.release === true,
      slow: v.release !== true,
      shipped: name in shipped,
      lacks: v.lacks ?? [],
      options: name in shipped ? { build: name } : { build: name, artifacts: ARTIFACTS_DIR },
    }));
}

/** Collects a sandbox's console output. */
export function logCollector() {
  const lines = [];
  const onLog = (level, text) => {
    lines.push([level, text]);
  };
  return { lines, onLog };
}
