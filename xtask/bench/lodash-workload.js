// A lodash workload over 2,000 generated rows: groupBy, sortBy, a compiled
// template and a chain, the kind of data shaping a plugin or a report does.
// Defines `benchmarkRun()`, which the timed script calls.
var rows = [];
(function () {
  var seed = 42;
  function next() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; }
  var cities = ['Paris', 'Lyon', 'Oslo', 'Lima', 'Pune', 'Kobe', 'Graz', 'Cork'];
  for (var i = 0; i < 2000; i++) {
    rows.push({ id: i, city: cities[next() % cities.length], score: next() % 1000, name: 'user' + (next() % 5000) });
  }
})();
var render = _.template('<li><%- name %> (<%= city %>): <%= score %></li>');
function benchmarkRun() {
  var byCity = _.groupBy(rows, 'city');
  var sorted = _.sortBy(rows, ['score', 'name']);
  var top = _.chain(sorted).takeRight(500).map(function (r) { return render(r); }).join('\n').value();
  var totals = _.mapValues(byCity, function (list) { return _.sumBy(list, 'score'); });
  return top.length + _.size(totals);
}
