// markdown-it: render a 50 kB markdown document to HTML (tables, linkify, typographer).
function setup() { return LibsInput.markdown(50000); }
function run(text) { return markdownit({ linkify: true, typographer: true }).render(text); }
