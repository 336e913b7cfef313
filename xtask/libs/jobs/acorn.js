// acorn: parse lodash's core.js (116 kB) with locations; summarize the tree.
function setup() { return LIBS_FILES['core.js']; }
function run(source) { return libsSummarizeAst(acorn.parse(source, { ecmaVersion: 2020, locations: true })); }
