// ajv (6, browser bundle): compile a schema (formats, patterns, unions) and validate 2,000 records, some broken.
function setup() {
  var rows = LibsInput.records(2000, 43);
  for (var i = 0; i < rows.length; i += 9) { rows[i].email = 'not an email ' + rows[i].name; rows[i].score = -1; }
  for (var j = 4; j < rows.length; j += 13) { delete rows[j].name; rows[j].tags.push(42); }
  return rows;
}
function run(rows) {
  var ajv = new Ajv({ allErrors: true, format: 'full' });
  var validate = ajv.compile({
    type: 'object', required: ['id', 'name', 'email', 'created'], additionalProperties: false,
    properties: {
      id: { type: 'integer', minimum: 1 }, name: { type: 'string', minLength: 2, maxLength: 40 }, email: { type: 'string', format: 'email' },
      city: { type: 'string', pattern: '^[^0-9]+$' }, active: { type: 'boolean' }, score: { type: 'number', minimum: 0, maximum: 1000 },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 3 }, created: { type: 'string', format: 'date-time' }, note: { type: 'string' }
    }
  });
  var out = [];
  for (var i = 0; i < rows.length; i++) out.push(validate(rows[i]) ? 'ok' : ajv.errorsText(validate.errors));
  return out.join('\n');
}
