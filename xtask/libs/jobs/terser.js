// terser: minify diff.js (54 kB) and a generated 70 kB module with non-ASCII strings (compress + mangle).
function setup() { return LIBS_FILES['diff.js'] + '\n' + LibsInput.jsModule(800).replace('export default', 'var exported ='); }
function run(source) {
  return Terser.minify(source, { compress: { passes: 2 }, mangle: true, sourceMap: false }).then(function (r) { return r.code; });
}
