// smol-toml: parse a 50 kB TOML configuration (arrays of tables, dates), stringify it back.
function setup() { return LibsInput.toml(200); }
function run(text) {
  var data = smolToml.parse(text);
  return JSON.stringify(data) + smolToml.stringify(data);
}
