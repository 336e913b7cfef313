// dayjs (UTC plugin): parse 5,000 ISO timestamps, do calendar arithmetic, format them.
function setup() { dayjs.extend(dayjs_plugin_utc); return LibsInput.records(5000, 47).map(function (r) { return r.created; }); }
function run(dates) {
  var out = [];
  var base = dayjs.utc('2020-01-01T00:00:00Z');
  for (var i = 0; i < dates.length; i++) {
    var d = dayjs.utc(dates[i]);
    var e = d.add(i % 40, 'day').subtract(i % 7, 'hour').startOf(i % 2 ? 'month' : 'week');
    out.push(d.format('YYYY-MM-DD HH:mm:ss dddd MMMM [Q]') + ' | ' + e.format('ddd D MMM YY h:mm A') + ' | ' + d.diff(base, 'day') + ' ' + e.diff(d, 'hour') + ' ' + d.isBefore(e) + ' ' + e.toISOString() + ' ' + d.daysInMonth());
  }
  return out.join('\n');
}
