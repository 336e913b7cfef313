//! The library suite's results: verdicts against Node's summaries, the
//! report (`libraries.json`), its tables and chart, and the regression check
//! of the quick mode.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Prepared, NATIVE, PEER};
use crate::loaders::{Ending, Outcome};

/// A job's summary line: its output's length (UTF-16 code units) and FNV-1a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// `output.length`.
    pub length: u64,
    /// FNV-1a 32 over the code units, 8 hex digits.
    pub hash: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "length {} hash {}", self.length, self.hash)
    }
}

/// The summary a completed job printed (its last `console.log` line), or
/// what went wrong: the error it threw (also asynchronously), the reason it
/// stopped, or a missing or malformed summary line.
pub fn summary_of(outcome: &Outcome) -> Result<Summary, String> {
    match &outcome.ending {
        Ending::Threw { name, message } => return Err(format!("threw {name}: {message}")),
        Ending::Stopped(reason) => return Err(format!("stopped: {reason}")),
        Ending::Completed => {}
    }
    let Some(line) = outcome.log.lines().rev().find_map(|l| l.strip_prefix("1 ")) else { return Err("printed no summary line".into()) };
    if let Ok(summary) = serde_json::from_str::<Summary>(line) {
        return Ok(summary);
    }
    match serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| v["error"].as_str().map(str::to_owned)) {
        Some(error) => Err(format!("threw {error}")),
        None => Err(format!("printed {line:?}, not a summary")),
    }
}

/// Whether the machine ran the job to its end (whatever it printed).
pub fn completed(outcome: &Outcome) -> bool {
    matches!(outcome.ending, Ending::Completed)
}

/// The runs of one job on one target.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// ms of the timed script, per completed run.
    pub ms: Vec<f64>,
    /// The largest memory reported.
    pub memory_bytes: Option<u64>,
    /// The last outcome.
    pub last: Option<Outcome>,
}

impl Runs {
    /// Record one run.
    pub fn add(&mut self, outcome: Outcome) {
        if completed(&outcome) {
            self.ms.push(outcome.micros as f64 / 1000.0);
        }
        self.memory_bytes = self.memory_bytes.max(outcome.memory_bytes);
        self.last = Some(outcome);
    }
}

/// Runs by target, then job.
pub type Samples = BTreeMap<String, BTreeMap<String, Runs>>;

/// How a job's output compares with Node's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Same summary as Node's.
    Equal,
    /// It completed with another summary (or none).
    Differs,
    /// It threw (synchronously or in a promise job).
    Threw,
    /// The machine was stopped (memory, stack, timeout, crash).
    Stopped,
}

/// One job on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Equal to Node's or not, and how.
    pub verdict: Verdict,
    /// What it printed or why it failed, when not equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Median ms of the timed script (when it completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    /// Peak wasm memory, when the loader can say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

/// A job as reports name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Job name.
    pub name: String,
    /// Kind of library.
    pub kind: String,
    /// `<package>@<version>`.
    pub library: String,
}

impl JobInfo {
    /// The job of `p`.
    pub fn of(p: &Prepared) -> JobInfo {
        JobInfo { name: p.job.name.clone(), kind: p.job.kind.clone(), library: p.library.clone() }
    }
}

/// `libraries.json`: every job on every target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LibsReport {
    /// Repetitions per job and target (the medians' sample size).
    pub repetitions: usize,
    /// The jobs, in order.
    pub jobs: Vec<JobInfo>,
    /// The targets, in order.
    pub targets: Vec<String>,
    /// By target, then job.
    pub results: BTreeMap<String, BTreeMap<String, JobResult>>,
}

/// The quick mode's comparison with a committed report.
#[derive(Debug, Default, PartialEq)]
pub struct Check {
    /// Equal there, not now.
    pub regressions: Vec<String>,
    /// Not equal there, equal now.
    pub improvements: Vec<String>,
    /// Not equal there nor now (or not recorded there).
    pub known: Vec<String>,
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// The verdict of `runs` against `expected` (`None`: not recorded).
fn judge(runs: &Runs, expected: Option<&Summary>) -> JobResult {
    let Some(last) = &runs.last else { return JobResult { verdict: Verdict::Stopped, detail: Some("did not run".into()), ms: None, memory_bytes: None } };
    let (verdict, detail) = match (summary_of(last), &last.ending) {
        (Ok(got), _) if Some(&got) == expected => (Verdict::Equal, None),
        (Ok(got), _) => (Verdict::Differs, Some(format!("{got}; Node: {}", expected.map_or("not recorded".to_owned(), |e| e.to_string())))),
        (Err(e), Ending::Stopped(_)) => (Verdict::Stopped, Some(e)),
        (Err(e), _) if e.starts_with("threw") => (Verdict::Threw, Some(e)),
        (Err(e), _) => (Verdict::Differs, Some(e)),
    };
    JobResult { verdict, detail, ms: median(&runs.ms), memory_bytes: runs.memory_bytes }
}

impl LibsReport {
    /// The report of `samples`, judged against Node's `expected` summaries.
    pub fn new(jobs: Vec<JobInfo>, targets: Vec<String>, repetitions: usize, samples: &Samples, expected: &BTreeMap<String, Summary>) -> LibsReport {
        let mut results: BTreeMap<String, BTreeMap<String, JobResult>> = BTreeMap::new();
        for (target, by_job) in samples {
            for (job, runs) in by_job {
                results.entry(target.clone()).or_default().insert(job.clone(), judge(runs, expected.get(job)));
            }
        }
        LibsReport { repetitions, jobs, targets, results }
    }

    /// Every result that is not equal to Node's: library, target, both values.
    pub fn failures(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for job in &self.jobs {
            for target in &self.targets {
                if let Some(r) = self.results.get(target).and_then(|m| m.get(&job.name)).filter(|r| r.verdict != Verdict::Equal) {
                    lines.push(format!("{} ({}) on {target}: {}", job.name, job.library, r.detail.as_deref().unwrap_or("?")));
                }
            }
        }
        lines
    }

    /// Compare with a committed report, target by target (see [`Check`]).
    pub fn compare_with(&self, baseline: &LibsReport) -> Check {
        let mut check = Check::default();
        for (target, jobs) in &self.results {
            for (job, now) in jobs {
                let was = baseline.results.get(target).and_then(|m| m.get(job)).map(|r| r.verdict);
                let line = format!("{job} on {target}: {}", now.detail.as_deref().unwrap_or("equal"));
                match (was == Some(Verdict::Equal), now.verdict == Verdict::Equal) {
                    (true, false) => check.regressions.push(line),
                    (false, true) if was.is_some() => check.improvements.push(line),
                    (false, false) => check.known.push(line),
                    _ => {}
                }
            }
        }
        check
    }

    fn result(&self, target: &str, job: &str) -> Option<&JobResult> {
        self.results.get(target).and_then(|m| m.get(job))
    }

    /// One table cell: ms (ratio to native XS / to QuickJS-wasm), marked when not equal.
    fn cell(&self, target: &str, job: &str) -> String {
        let Some(r) = self.result(target, job) else { return "-".into() };
        let mark = match r.verdict {
            Verdict::Equal => "",
            Verdict::Differs => "≠ ",
            Verdict::Threw => return "throws".into(),
            Verdict::Stopped if r.detail.as_deref().is_some_and(|d| d.contains("timed out")) => return "timeout".into(),
            Verdict::Stopped => return "stopped".into(),
        };
        let Some(ms) = r.ms else { return format!("{mark}-") };
        let ratio = |base: &str| self.result(base, job).filter(|_| base != target).and_then(|b| b.ms).map(|b| format_ratio(ms / b));
        let ratios: Vec<String> = [NATIVE, PEER].iter().map(|b| ratio(b).unwrap_or_else(|| "-".into())).collect();
        if target == NATIVE || target == PEER || ratios.iter().all(|r| r == "-") {
            return format!("{mark}{}", thousands(ms));
        }
        format!("{mark}{} ({})", thousands(ms), ratios.join(" / "))
    }

    /// The Markdown tables: per job, per target, ms with ratios; then peak memory.
    pub fn markdown(&self) -> String {
        let mut md = format!("| job | library | {} |\n|---|---|{}\n", self.targets.join(" | "), "---:|".repeat(self.targets.len()));
        for job in &self.jobs {
            let cells: Vec<String> = self.targets.iter().map(|t| self.cell(t, &job.name)).collect();
            md.push_str(&format!("| {} ({}) | {} | {} |\n", job.name, job.kind, job.library, cells.join(" | ")));
        }
        let measured: Vec<&String> = self.targets.iter().filter(|t| self.results.get(*t).is_some_and(|m| m.values().any(|r| r.memory_bytes.is_some()))).collect();
        if !measured.is_empty() {
            md.push_str(&format!("\n| peak wasm memory (MiB) | {} |\n|---|{}\n", measured.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" | "), "---:|".repeat(measured.len())));
            for job in &self.jobs {
                let cells: Vec<String> = measured.iter().map(|t| self.result(t, &job.name).and_then(|r| r.memory_bytes).map_or("-".into(), |b| format!("{:.0}", b as f64 / 1048576.0))).collect();
                md.push_str(&format!("| {} | {} |\n", job.name, cells.join(" | ")));
            }
        }
        md
    }

    /// Print the tables and every failure.
    pub fn print_table(&self) {
        println!("\nms of the timed script (ratio to native XS / to QuickJS-wasm); ≠: output differs from Node's\n");
        print!("{}", self.markdown());
        println!();
        for line in self.failures() {
            println!("not equal: {line}");
        }
    }

    /// Bars of each target's time over QuickJS-wasm's per job (log scale), red when the output is wrong.
    pub fn chart(&self) -> String {
        let targets: Vec<&String> = self.targets.iter().filter(|t| *t != PEER).collect();
        let (row, label_w, bar_w, top) = (14.0, 170.0, 520.0, 40.0);
        let height = top + row * (self.jobs.len() * (targets.len() + 1)) as f64 + 30.0;
        let ratio = |t: &str, j: &str| self.result(t, j).and_then(|r| r.ms).zip(self.result(PEER, j).and_then(|r| r.ms)).map(|(a, b)| a / b);
        let max = self.jobs.iter().flat_map(|j| targets.iter().filter_map(|t| ratio(t, &j.name))).fold(10.0f64, f64::max);
        let (low, high) = (0.01f64.ln(), max.ln());
        let x = |r: f64| bar_w * ((r.max(0.01).ln() - low) / (high - low)).clamp(0.0, 1.0);
        let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n", label_w + bar_w + 120.0);
        svg.push_str("<text x=\"4\" y=\"16\" font-size=\"13\">Real libraries: time relative to QuickJS-wasm (log scale, line = 1x; lower is better; red: output differs from Node's)</text>\n");
        svg.push_str(&format!("<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{1:.0}\" stroke=\"#888\"/>\n", label_w + x(1.0), height - 30.0));
        let mut y = top;
        for job in &self.jobs {
            svg.push_str(&format!("<text x=\"4\" y=\"{:.0}\" font-weight=\"bold\">{} ({})</text>\n", y + 10.0, job.name, job.kind));
            y += row;
            for t in &targets {
                svg.push_str(&format!("<text x=\"14\" y=\"{:.0}\">{t}</text>\n", y + 10.0));
                let verdict = self.result(t, &job.name).map(|r| r.verdict);
                let label = match (ratio(t, &job.name), verdict) {
                    (Some(r), Some(v)) => {
                        let fill = if v == Verdict::Equal { "hsl(210,55%,55%)" } else { "hsl(0,70%,55%)" };
                        svg.push_str(&format!("<rect x=\"{label_w}\" y=\"{:.0}\" width=\"{:.1}\" height=\"10\" fill=\"{fill}\"/>\n", y + 2.0, x(r).max(1.0)));
                        format_ratio(r)
                    }
                    (_, Some(Verdict::Threw)) => "throws".into(),
                    (_, Some(Verdict::Stopped)) => "stopped".into(),
                    _ => "-".into(),
                };
                svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.0}\">{label}</text>\n", label_w + x(ratio(t, &job.name).unwrap_or(0.01)) + 4.0, y + 10.0));
                y += row;
            }
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn format_ratio(r: f64) -> String {
    match r {
        r if r >= 10.0 => format!("{r:.0}x"),
        r if r >= 0.1 => format!("{r:.1}x"),
        r => format!("{r:.2}x"),
    }
}

/// `1234.5` → `"1,235"`; under 10 ms one decimal.
fn thousands(ms: f64) -> String {
    if ms < 10.0 {
        return format!("{ms:.1}");
    }
    let digits = format!("{ms:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(ending: Ending, log: &str, micros: u64) -> Outcome {
        Outcome { ending, log: log.into(), micros, create_micros: None, memory_bytes: Some(1 << 20) }
    }

    fn runs(outcomes: Vec<Outcome>) -> Runs {
        let mut r = Runs::default();
        outcomes.into_iter().for_each(|o| r.add(o));
        r
    }

    #[test]
    fn summaries_are_read_from_the_last_log_line_and_errors_are_named() {
        let ok = outcome(Ending::Completed, "1 noise\n1 {\"length\":3,\"hash\":\"0000abcd\"}\n", 5);
        assert_eq!(summary_of(&ok), Ok(Summary { length: 3, hash: "0000abcd".into() }));
        let rejected = outcome(Ending::Completed, "1 {\"error\":\"TypeError: x\"}\n", 5);
        assert_eq!(summary_of(&rejected), Err("threw TypeError: x".into()));
        assert_eq!(summary_of(&outcome(Ending::Completed, "", 5)), Err("printed no summary line".into()));
        let threw = outcome(Ending::Threw { name: "Error".into(), message: "Infinite loop on byte: 10".into() }, "", 5);
        assert_eq!(summary_of(&threw), Err("threw Error: Infinite loop on byte: 10".into()));
    }

    #[test]
    fn a_differing_summary_names_the_library_the_target_and_both_values() {
        let expected = BTreeMap::from([("marked".to_owned(), Summary { length: 3, hash: "0000abcd".into() })]);
        let mut samples = Samples::new();
        let good = || outcome(Ending::Completed, "1 {\"length\":3,\"hash\":\"0000abcd\"}\n", 2000);
        samples.entry("node".into()).or_default().insert("marked".into(), runs(vec![good(), good(), good()]));
        let bad = outcome(Ending::Completed, "1 {\"length\":4,\"hash\":\"ffff0000\"}\n", 8000);
        samples.entry("wasi-os".into()).or_default().insert("marked".into(), runs(vec![bad]));
        let jobs = vec![JobInfo { name: "marked".into(), kind: "markdown".into(), library: "marked@12.0.2".into() }];
        let report = LibsReport::new(jobs, vec!["wasi-os".into(), "node".into()], 1, &samples, &expected);
        assert_eq!(report.results["node"]["marked"].verdict, Verdict::Equal);
        assert_eq!(report.results["node"]["marked"].ms, Some(2.0));
        let failures = report.failures();
        assert_eq!(failures, ["marked (marked@12.0.2) on wasi-os: length 4 hash ffff0000; Node: length 3 hash 0000abcd"]);
        assert!(report.markdown().contains("| ≠ 8.0 |"), "{}", report.markdown());
    }

    #[test]
    fn only_an_equal_result_that_stops_being_equal_is_a_regression() {
        let r = |verdict| JobResult { verdict, detail: (verdict != Verdict::Equal).then(|| "d".into()), ms: Some(1.0), memory_bytes: None };
        let report = |pairs: &[(&str, Verdict)]| LibsReport { results: BTreeMap::from([("wasi-os".to_owned(), pairs.iter().map(|(j, v)| (j.to_string(), r(*v))).collect())]), ..Default::default() };
        let baseline = report(&[("a", Verdict::Equal), ("b", Verdict::Differs), ("c", Verdict::Threw), ("d", Verdict::Equal)]);
        let now = report(&[("a", Verdict::Stopped), ("b", Verdict::Differs), ("c", Verdict::Equal), ("d", Verdict::Equal), ("e", Verdict::Differs)]);
        let check = now.compare_with(&baseline);
        assert_eq!(check.regressions, ["a on wasi-os: d"]);
        assert_eq!(check.improvements, ["c on wasi-os: equal"]);
        assert_eq!(check.known, ["b on wasi-os: d", "e on wasi-os: d"]);
    }

    #[test]
    fn cells_give_ratios_to_native_and_to_the_peer_and_name_failures() {
        let r = |verdict, ms: Option<f64>, detail: &str| JobResult { verdict, detail: Some(detail.into()), ms, memory_bytes: None };
        let mut results: BTreeMap<String, BTreeMap<String, JobResult>> = BTreeMap::new();
        results.entry(NATIVE.into()).or_default().insert("j".into(), r(Verdict::Equal, Some(1000.0), ""));
        results.entry(PEER.into()).or_default().insert("j".into(), r(Verdict::Equal, Some(100.0), ""));
        results.entry("emcc-os".into()).or_default().insert("j".into(), r(Verdict::Equal, Some(2000.0), ""));
        results.entry("wasi-os".into()).or_default().insert("j".into(), r(Verdict::Stopped, None, "stopped: timed out after 600 s (worker killed)"));
        let report = LibsReport { results, ..Default::default() };
        assert_eq!(report.cell("emcc-os", "j"), "2,000 (2.0x / 20x)");
        assert_eq!(report.cell(NATIVE, "j"), "1,000");
        assert_eq!(report.cell("wasi-os", "j"), "timeout");
        assert_eq!(report.cell("other", "j"), "-");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!((format_ratio(0.034), format_ratio(0.5), format_ratio(42.4)), ("0.03x".into(), "0.5x".into(), "42x".into()));
    }
}
