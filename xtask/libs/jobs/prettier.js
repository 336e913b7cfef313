// prettier (standalone, babel parser): format mustache.js (25 kB) and a generated module with non-ASCII strings.
function setup() { return LIBS_FILES['mustache.js'] + '\n' + LibsInput.jsModule(300); }
function run(source) {
  return prettier.format(source, { parser: 'babel', plugins: [prettierPlugins.babel, prettierPlugins.estree], printWidth: 100 });
}
