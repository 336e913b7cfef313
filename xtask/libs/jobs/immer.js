// immer: 1,000 produce() updates on a store of 300 records (structural sharing, patches).
function setup() { immer.enablePatches(); return { users: LibsInput.records(300, 59), log: [], version: 0 }; }
function run(state) {
  var patches = 0;
  for (var i = 0; i < 1000; i++) {
    state = immer.produce(state, function (draft) {
      var u = draft.users[(i * 37) % draft.users.length];
      u.score = Math.round((u.score + i) * 100) / 100;
      if (i % 5 === 0) u.tags.push('v' + i);
      if (i % 50 === 0) draft.log.push(u.name + ' → ' + i);
      if (i % 97 === 0) draft.users.splice(i % draft.users.length, 1);
      draft.version++;
    }, function (p) { patches += p.length; });
  }
  return JSON.stringify(state) + patches + Object.isFrozen(state.users[0]);
}
