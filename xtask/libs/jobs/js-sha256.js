// js-sha256: SHA-256 and HMAC of 1,000 non-ASCII strings (UTF-8 inside) and of a 50 kB text.
function setup() { return { rows: LibsInput.records(1000, 67), text: LibsInput.markdown(50000, 71) }; }
function run(input) {
  var out = [];
  for (var i = 0; i < input.rows.length; i++) {
    var r = input.rows[i];
    out.push(jsSha256.sha256(r.name + '|' + r.note), jsSha256.sha256.hmac('clé 🔑', r.email + r.city));
  }
  out.push(jsSha256.sha256(input.text), jsSha256.sha224(input.text));
  return out.join('\n');
}
