// handlebars: compile a page template (each, if, helpers, partials) and render 2,000 rows.
function setup() { return LibsInput.records(2000, 37); }
function run(rows) {
  var hb = Handlebars.create();
  hb.registerHelper('upper', function (s) { return String(s).toUpperCase(); });
  hb.registerPartial('tag', '<span class="tag">{{this}}</span>');
  var page = hb.compile('<h1>{{title}}</h1>\n<table>\n{{#each rows}}<tr class="{{#if active}}on{{else}}off{{/if}}"><td>{{id}}</td><td>{{name}}</td><td>{{upper city}}</td>' +
    '<td>{{score}}</td><td>{{#each tags}}{{> tag}}{{/each}}</td><td>{{{note}}}</td><td>{{note}}</td></tr>\n{{/each}}</table>');
  return page({ title: 'Rapport — 東京 🎉', rows: rows });
}
