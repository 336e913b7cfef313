// papaparse: parse a 50 kB CSV file (header row, quoted fields, newlines in fields), write it back.
function setup() { return LibsInput.csv(330); }
function run(text) {
  var result = Papa.parse(text, { header: true, dynamicTyping: true, skipEmptyLines: true });
  return JSON.stringify(result.data) + JSON.stringify(result.errors) + Papa.unparse(result.data);
}
