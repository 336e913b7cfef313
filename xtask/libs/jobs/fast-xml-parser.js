// fast-xml-parser: parse a 50 kB XML document (attributes, CDATA, comments), build it back.
function setup() { return LibsInput.xml(150); }
function run(text) {
  var options = { ignoreAttributes: false, attributeNamePrefix: '@_', cdataPropName: '#cdata', commentPropName: '#comment', parseTagValue: true };
  var tree = new fxp.XMLParser(options).parse(text);
  var built = new fxp.XMLBuilder(Object.assign({ format: true }, options)).build(tree);
  return JSON.stringify(tree) + built;
}
