// js-yaml: dump 300 records to YAML, load the text back, dump again.
function setup() { return LibsInput.records(300, 31); }
function run(rows) {
  var text = jsyaml.dump({ version: 3, rows: rows });
  var back = jsyaml.load(text);
  return text + JSON.stringify(back);
}
