// terser: minify mustache.js (25 kB) and a generated 14 kB module with non-ASCII strings (compress + mangle).
function setup() { return LIBS_FILES['mustache.js'] + '\n' + LibsInput.jsModule(150).replace('export default', 'var exported ='); }
function run(source) {
  return Terser.minify(source, { compress: { passes: 2 }, mangle: true, sourceMap: false }).then(function (r) { return r.code; });
}
