// mustache: render 2,000 rows through a page template with sections and escaping.
function setup() { return LibsInput.records(2000, 41); }
function run(rows) {
  var template = '<h1>{{title}}</h1>\n<table>\n{{#rows}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{city}}</td>{{#active}}<td>on</td>{{/active}}{{^active}}<td>off</td>{{/active}}' +
    '<td>{{score}}</td><td>{{#tags}}<i>{{.}}</i>{{/tags}}</td><td>{{{note}}}</td><td>{{note}}</td></tr>\n{{/rows}}</table>';
  return Mustache.render(template, { title: 'Rapport — 東京 🎉', rows: rows });
}
