// acorn: parse lodash.js (544 kB) with locations; summarize the tree.
function setup() { return LIBS_FILES['lodash.js']; }
function run(source) { return libsSummarizeAst(acorn.parse(source, { ecmaVersion: 2020, locations: true })); }
