// pako: gzip and gunzip a 50 kB markdown text (UTF-8 through pako's own string coding), in hex.
function setup() { return LibsInput.markdown(50000, 61); }
function run(text) {
  var packed = pako.gzip(text, { level: 6 });
  var back = pako.ungzip(packed, { to: 'string' });
  var deflated = pako.deflateRaw(text, { level: 9 });
  var hex = [];
  for (var i = 0; i < packed.length; i++) hex.push((packed[i] < 16 ? '0' : '') + packed[i].toString(16));
  return hex.join('') + ' ' + deflated.length + ' ' + (back === text);
}
