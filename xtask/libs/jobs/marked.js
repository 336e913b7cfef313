// marked: render a 50 kB markdown document (GFM) to HTML.
function setup() { return LibsInput.markdown(50000); }
function run(text) { return marked.parse(text, { gfm: true }); }
