// Set-up for one Octane suite (loaded before this file): reset Octane's
// deterministic Math.random, run every benchmark's Setup, and define
// `benchmarkRun()`, which the timed script calls: one run of each benchmark.
var benchmarks = BenchmarkSuite.suites[0].benchmarks;
BenchmarkSuite.ResetRNG();
benchmarks.forEach(function (b) { b.Setup(); });
function benchmarkRun() {
  for (var i = 0; i < benchmarks.length; i++) benchmarks[i].run();
}
