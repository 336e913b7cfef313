// Deterministic input generators of `cargo xtask libs` (evaluated after the
// prelude in every job's machine, before the libraries): documents sized like
// real ones, with accents, CJK, emoji and ZWJ sequences among plain ASCII.
// Only integer arithmetic and string concatenation: every engine builds the
// same strings.

var LibsInput = (function () {
  var seed = 1;
  // mulberry32
  function next() {
    seed = (seed + 0x6d2b79f5) | 0;
    var t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  function int(n) { return Math.floor(next() * n); }
  function pick(list) { return list[int(list.length)]; }
  var ascii = ('the of and to in is was for that with as on by at from it an be this which or are have not had ' +
    'data value report system window server client parse render module config build index table ' +
    'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor').split(' ');
  var latin = ['café', 'naïve', 'über', 'façade', 'señor', 'jalapeño', 'Ærøskøbing', 'Łódź', 'crème brûlée', 'Zürich', 'São Paulo', 'Dvořák', 'smörgåsbord', 'déjà vu', 'Ελληνικά', 'Москва', 'Köln'];
  var cjk = ['東京', '日本語', '中文', '北京', '한국어', '漢字', 'こんにちは', '数据', '服务器', 'テスト'];
  var emoji = ['😀', '🎉', '👍🏽', '🚀', '❤️', '👨‍👩‍👧', '🇫🇷', '🐍', '✨', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'];
  function word() {
    var r = int(100);
    if (r < 70) return pick(ascii);
    if (r < 85) return pick(latin);
    if (r < 95) return pick(cjk);
    return pick(emoji);
  }
  function words(n) {
    var out = [];
    for (var i = 0; i < n; i++) out.push(word());
    return out.join(' ');
  }
  // Starts with an ASCII word: the generators never index into non-ASCII text.
  function sentence() {
    var first = pick(ascii);
    return first.charAt(0).toUpperCase() + first.slice(1) + ' ' + words(4 + int(12)) + pick(['.', '.', '!', '?', '…']);
  }
  function paragraph() {
    var out = [];
    for (var i = 1 + int(5); i > 0; i--) out.push(sentence());
    return out.join(' ');
  }
  function name() {
    return pick(['Zoë', 'José', 'Ana', 'Björn', 'Łukasz', 'Amélie', 'John', 'Mary', '王芳', '佐藤', '김민준', 'Ольга', 'Priya', 'Chloé', 'Søren']) + ' ' +
      pick(['Müller', 'García', 'Smith', 'Nguyễn', 'O\'Brien', 'Dubois', '李', '田中', 'Иванов', 'Østergård', 'Kowalski', 'Lefèvre']);
  }
  function iso(i) {
    var d = new Date(Date.UTC(2020, 0, 1) + i * 3600 * 1000 * 7 + int(3600) * 1000);
    return d.toISOString();
  }

  // Rows of a typical table (people, orders, notes).
  function records(n, s) {
    seed = s || 7;
    var rows = [];
    for (var i = 0; i < n; i++) {
      rows.push({
        id: i + 1,
        name: name(),
        email: 'user' + i + '@example.' + pick(['com', 'org', 'fr', 'jp']),
        city: pick(latin.concat(cjk)),
        active: int(3) > 0,
        score: int(100000) / 100,
        tags: [word(), word(), word()].slice(0, 1 + int(3)),
        created: iso(i),
        note: sentence()
      });
    }
    return rows;
  }

  function markdown(size, s) {
    seed = s || 11;
    var out = [];
    var total = 0;
    var n = 0;
    while (total < size) {
      var k = int(10);
      var block;
      n++;
      if (k === 0) block = pick(['#', '##', '###']) + ' ' + words(3 + int(4)) + ' ' + n;
      else if (k === 1) block = '- ' + sentence() + '\n- **' + words(2) + '** ' + sentence() + '\n  - nested _' + words(3) + '_\n- [link ' + words(1) + '](https://example.com/' + n + ')';
      else if (k === 2) block = '1. ' + sentence() + '\n2. `code ' + words(2) + '` ' + sentence() + '\n3. ' + sentence();
      else if (k === 3) block = '```js\nconst x' + n + ' = "' + words(3) + '";\nconsole.log(x' + n + '.length);\n```';
      else if (k === 4) block = '> ' + paragraph() + '\n> — ' + name();
      else if (k === 5) block = '| name | city | score |\n|---|:---:|---:|\n| ' + name() + ' | ' + pick(latin) + ' | ' + int(1000) + ' |\n| ' + name() + ' | ' + pick(cjk) + ' | ' + int(1000) + ' |';
      else block = paragraph().replace(/ (\S+) /, ' **$1** ').replace(/ (\S+)\./, ' *$1*.') + ' See <https://example.org/' + n + '> & "quotes" <b>html</b>.';
      out.push(block);
      total += block.length + 2;
    }
    return out.join('\n\n') + '\n';
  }

  function escapeXml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function xml(n, s) {
    var rows = records(n, s || 13);
    var out = ['<?xml version="1.0" encoding="UTF-8"?>\n<catalog xmlns:x="urn:example" version="2">'];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      out.push('  <person id="' + r.id + '" active="' + r.active + '" city="' + escapeXml(r.city) + '">\n' +
        '    <name>' + escapeXml(r.name) + '</name>\n    <email>' + r.email + '</email>\n' +
        '    <score>' + r.score + '</score>\n    <created>' + r.created + '</created>\n' +
        r.tags.map(function (t) { return '    <tag>' + escapeXml(t) + '</tag>\n'; }).join('') +
        (i % 7 === 0 ? '    <note><![CDATA[' + r.note + ' <raw> & ]]></note>\n' : '    <note>' + escapeXml(r.note) + '</note>\n') +
        '    <!-- row ' + i + ' -->\n  </person>');
    }
    out.push('</catalog>\n');
    return out.join('\n');
  }

  function csvField(v) {
    var s = String(v);
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csv(n, s) {
    var rows = records(n, s || 17);
    var out = ['id,name,email,city,active,score,tags,created,note'];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var note = i % 11 === 0 ? r.note + '\nsecond line, with "quotes"' : r.note;
      out.push([r.id, r.name, r.email, r.city, r.active, r.score, r.tags.join(';'), r.created, note].map(csvField).join(','));
    }
    return out.join('\r\n') + '\r\n';
  }

  function tomlString(s) {
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
  }
  function toml(n, s) {
    var rows = records(n, s || 19);
    var out = ['# generated configuration: ' + words(4), 'title = ' + tomlString(sentence()), '', '[owner]', 'name = ' + tomlString(name()), 'since = 1979-05-27T07:32:00Z', ''];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      out.push('[[servers]]', 'id = ' + r.id, 'name = ' + tomlString(r.name), 'city = ' + tomlString(r.city), 'active = ' + r.active,
        'score = ' + (r.score % 1 === 0 ? r.score + '.0' : r.score), 'tags = [' + r.tags.map(tomlString).join(', ') + ']', 'created = ' + r.created,
        "note = '" + r.note.replace(/'/g, '') + "'", '[servers.limits]', 'cpu = ' + (1 + i % 8), 'memory = "' + (256 << (i % 4)) + 'MiB"', '');
    }
    return out.join('\n');
  }

  // A text and an edited copy of it (lines inserted, deleted, changed).
  function revisions(size, s) {
    var a = markdown(size, s || 23).split('\n');
    var b = [];
    for (var i = 0; i < a.length; i++) {
      var r = int(20);
      if (r === 0) continue;
      if (r === 1) b.push(sentence());
      if (r === 2) b.push(a[i].replace(/e/g, 'é'));
      else b.push(a[i]);
    }
    return [a.join('\n'), b.join('\n')];
  }

  // A JS module of data with non-ASCII strings (for formatters).
  function jsModule(n, s) {
    var rows = records(n, s || 29);
    var out = ['// generated: ' + sentence(), "'use strict';", 'const messages = {'];
    for (var i = 0; i < rows.length; i++) out.push('  m' + i + ': ' + JSON.stringify(rows[i].note) + ', who: ' + JSON.stringify(rows[i].name) + ',');
    out.push('};', 'function greet(id, opts = {}) { const m = messages["m" + id]; if (!m) { throw new Error(`no message ${id} — 😀`) } return opts.upper ? m.toUpperCase() : m }',
      'export default { messages, greet, list: [' + rows.slice(0, 50).map(function (r) { return r.score; }).join(',') + '] };');
    return out.join('\n') + '\n';
  }

  return { records: records, markdown: markdown, xml: xml, csv: csv, toml: toml, revisions: revisions, jsModule: jsModule, words: words, sentence: sentence, name: name };
})();
