// lodash: group, sort, dedupe, deep-merge, clone and case-convert 3,000 records with non-ASCII names.
function setup() { return LibsInput.records(3000, 53); }
function run(rows) {
  var byCity = _.mapValues(_.groupBy(rows, 'city'), function (g) { return { count: g.length, mean: _.round(_.meanBy(g, 'score'), 2), top: _.map(_.take(_.orderBy(g, ['score', 'id'], ['desc', 'asc']), 3), 'id') }; });
  var words = _.uniq(_.flatMap(rows, function (r) { return _.words(r.note); }));
  var cases = _.map(_.take(rows, 500), function (r) { return [_.camelCase(r.name), _.kebabCase(r.note), _.snakeCase(r.city), _.deburr(r.name), _.startCase(r.note), _.truncate(r.note, { length: 24 })].join(' | '); });
  var merged = _.merge({}, _.cloneDeep(_.keyBy(_.take(rows, 300), 'id')), _.keyBy(_.map(_.take(rows, 300), function (r) { return _.pick(r, ['id', 'tags']); }), 'id'));
  var chunks = _.map(_.chunk(_.sortBy(rows, ['name', 'id']), 250), function (c) { return _.head(c).id + '-' + _.last(c).id; });
  return JSON.stringify([byCity, words.length, _.take(words, 200), cases, merged, chunks, _.countBy(rows, 'active'), _.escape(rows[0].note)]);
}
