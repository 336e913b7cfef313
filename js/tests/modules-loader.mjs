// A module loader over a map of files ({ "/main.mjs": text, ... }) with the
// crate's FsLoader rules: ids are "/" + the path under the root; "./" and
// "../" specifiers resolve from the importing module's directory (the root
// for a script or sandbox.import), "/" ones from the root; a path that
// leaves the root or a bare specifier is an error naming it; ".json" files
// are JSON modules. Used by tests/modules.test.mjs (Node) and the browser
// test (Chromium), with the crate's fixture graph.

/** The example graph's files, relative to crates/xs-wasm/tests/fixtures/modules. */
export const EXAMPLE_FILES = ['main.mjs', 'config.json', 'lib/greet.mjs', 'lib/name.mjs', 'lib/math.mjs'];

/**
 * @param {Record<string, string>} files by id
 * @param {string[]} [loads] receives each id load() is asked for
 */
export function filesLoader(files, loads = []) {
  return {
    resolve(specifier, referrer) {
      const from = referrer === null ? 'the root' : `"${referrer}"`;
      let dir = '';
      if (specifier.startsWith('./') || specifier.startsWith('../')) dir = referrer === null ? '' : referrer.slice(0, referrer.lastIndexOf('/'));
      else if (!specifier.startsWith('/')) throw new Error(`cannot import "${specifier}" from ${from}: a bare specifier without a mapping`);
      const parts = dir.split('/').filter(Boolean);
      for (const part of specifier.split('/')) {
        if (part === '' || part === '.') continue;
        if (part !== '..') parts.push(part);
        else if (parts.pop() === undefined) throw new Error(`cannot import "${specifier}" from ${from}: the path is outside the root`);
      }
      const id = `/${parts.join('/')}`;
      if (!Object.hasOwn(files, id)) throw new Error(`cannot import "${specifier}" from ${from}: no module ${id} under the root`);
      return id;
    },
    load(id) {
      loads.push(id);
      return id.endsWith('.json') ? { type: 'json', source: files[id] } : files[id];
    },
  };
}
