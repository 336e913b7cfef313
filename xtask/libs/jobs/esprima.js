// esprima: parse lodash.js (544 kB) with locations and ranges; summarize the tree.
function setup() { return LIBS_FILES['lodash.js']; }
function run(source) { return libsSummarizeAst(esprima.parseScript(source, { loc: true, range: true })); }
