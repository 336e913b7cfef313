// The library suite's prelude (`cargo xtask libs`): evaluated first in every
// job's fresh machine, on every engine. Defines the summary every job ends
// with: ONE console.log line, JSON {"length", "hash"} of the job's output
// string, so that engines are compared by JS semantics (UTF-16 code units
// through charCodeAt), not by bytes.

// FNV-1a, 32 bits, over the UTF-16 code units of `text`; 8 hex digits.
// Through split(''), not text.charCodeAt(i) over the whole text: XS 13
// finds index i of a non-ASCII string by walking it from the start, which
// made the hash of a 200 kB output take 29 s of CPU (docs/libraries.md);
// split('') is one pass, and charCodeAt(0) of each piece is the same code
// unit (or, where an engine gets strings wrong, the same wrong one).
function libsHash(text) {
  var units = text.split('');
  var h = 0x811c9dc5;
  for (var i = 0; i < units.length; i++) {
    h ^= units[i].charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return ('0000000' + h.toString(16)).slice(-8);
}

function libsReport(output) {
  if (typeof output !== 'string') output = JSON.stringify(output);
  console.log(JSON.stringify({ length: output.length, hash: libsHash(output) }));
}

function libsFail(error) {
  var name = error && error.name ? error.name : 'Error';
  var message = error && error.message !== undefined ? error.message : String(error);
  console.log(JSON.stringify({ error: name + ': ' + message }));
}

// The timed script calls this: the job's `run(INPUT)` (a string, or a promise
// of one: the loaders run the job queue before the script counts as done).
function libsRun() {
  var result = run(INPUT);
  if (result && typeof result.then === 'function') result.then(libsReport, libsFail);
  else libsReport(result);
}

// A parser's syntax tree in a few numbers: node count per type (in order of
// first appearance), total nodes, deepest nesting, the last node's line,
// and a hash of every identifier name and string literal in order.
function libsSummarizeAst(root) {
  var types = {};
  var nodes = 0;
  var depth = 0;
  var names = [];
  var lastLine = 0;
  function visit(node, level) {
    if (Array.isArray(node)) {
      for (var i = 0; i < node.length; i++) visit(node[i], level);
      return;
    }
    if (!node || typeof node.type !== 'string') return;
    nodes++;
    types[node.type] = (types[node.type] || 0) + 1;
    if (level > depth) depth = level;
    if (node.loc) lastLine = node.loc.end.line;
    if (node.type === 'Identifier') names.push(node.name);
    else if (node.type === 'Literal' && typeof node.value === 'string') names.push(node.value);
    for (var key in node) {
      if (key !== 'loc' && key !== 'range' && node[key] && typeof node[key] === 'object') visit(node[key], level + 1);
    }
  }
  visit(root, 0);
  return JSON.stringify({ nodes: nodes, depth: depth, lastLine: lastLine, names: names.length, namesHash: libsHash(names.join('\u0000')), types: types });
}
