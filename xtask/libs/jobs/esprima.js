// esprima: parse lodash's core.js (116 kB) with locations and ranges; summarize the tree.
function setup() { return LIBS_FILES['core.js']; }
function run(source) { return libsSummarizeAst(esprima.parseScript(source, { loc: true, range: true })); }
