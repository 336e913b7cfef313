// diff (jsdiff): line and word diffs of two revisions of a 30 kB document, and a unified patch.
function setup() { return LibsInput.revisions(30000); }
function run(pair) {
  var patch = Diff.createTwoFilesPatch('a/doc.md', 'b/doc.md', pair[0], pair[1], 'before', 'after', { context: 3 });
  var lines = Diff.diffLines(pair[0], pair[1]);
  var head = function (t) { return t.split('\n').slice(0, 300).join('\n'); };
  var words = Diff.diffWords(head(pair[0]), head(pair[1]));
  var applied = Diff.applyPatch(pair[0], patch);
  return patch + lines.length + ' ' + words.map(function (p) { return (p.added ? '+' : p.removed ? '-' : '=') + p.count; }).join(',') + ' ' + (applied === pair[1]);
}
