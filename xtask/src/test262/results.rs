//! Verdicts, the committed results file (`artifacts/test262.json`) and the
//! expected-failures list (`configs/test262-expected-failures.txt`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::loaders::{Ending, Outcome};
use super::suite::Case;

/// The line `$DONE()` prints when an async test ends well (harness/doneprintHandle.js).
const ASYNC_COMPLETE: &str = "Test262:AsyncTestComplete";
/// The prefix `$DONE(error)` prints.
const ASYNC_FAILURE: &str = "Test262:AsyncTestFailure";

/// `None` when the case passed, else why it failed (one line).
pub fn verdict(case: &Case, outcome: &Outcome) -> Option<String> {
    match (&case.negative, &outcome.ending) {
        (Some(expected), Ending::Threw { name, .. }) if name == expected => None,
        (Some(expected), Ending::Completed) => Some(format!("expected {expected}, but the test completed")),
        (Some(expected), Ending::Threw { name, message }) => Some(format!("expected {expected}, got {name}: {message}")),
        (_, Ending::Stopped(reason)) => Some(format!("stopped: {reason}")),
        (None, Ending::Threw { name, message }) => Some(format!("{name}: {message}")),
        (None, Ending::Completed) if !case.is_async => None,
        (None, Ending::Completed) => {
            if let Some(line) = outcome.log.lines().find(|l| l.contains(ASYNC_FAILURE)) {
                Some(line.split_once(' ').map_or(line, |(_, text)| text).to_owned())
            } else if outcome.log.lines().any(|l| l.ends_with(ASYNC_COMPLETE)) {
                None
            } else {
                Some("async test did not call $DONE".into())
            }
        }
    }
}

/// Features most of whose cases native XS fails (at least 90%, and at least
/// 4 cases): features the pinned XS does not implement.
pub fn lacking_features(cases: &[Case], native_failures: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in cases {
        let failed = native_failures.contains_key(&case.id);
        for feature in &case.features {
            let entry = counts.entry(feature).or_default();
            entry.0 += 1;
            entry.1 += usize::from(failed);
        }
    }
    counts.into_iter().filter(|(_, (all, failed))| *all >= 4 && *failed * 10 >= *all * 9).map(|(f, _)| f.to_owned()).collect()
}

/// A one-line reason for a case native XS fails, for grouping new entries of
/// the expected-failures list; classified from the failure message, the
/// test's features (`lacking`: see [`lacking_features`]) and its directory;
/// `xs` names the engine in the reason (e.g. "XS 17.9.1").
pub fn classify(case: &Case, message: &str, lacking: &BTreeSet<String>, xs: &str) -> String {
    let id = &case.id;
    let source = case.scripts.last().map_or("", String::as_str);
    if source.contains("$262.agent") {
        return "uses $262.agent: a machine is one agent with no threads; the hosts give no agents (a deliberate choice)".into();
    }
    if source.contains("$262.createRealm") {
        return "uses $262.createRealm (without the cross-realm feature tag): XS has no API to make a second realm from a host".into();
    }
    if message.contains("meter limit") {
        return "runs past the per-case meter limit (configs/test262.toml)".into();
    }
    if let Some(feature) = case.features.iter().find(|f| lacking.contains(*f)) {
        return format!("feature {feature}: not implemented by {xs} (native XS fails at least 9 in 10 of its cases)");
    }
    if message.contains("stack overflow") {
        return "stack overflow: deep recursion in the test, or in XS's parser or RegExp compiler on a large input".into();
    }
    let area: Vec<&str> = id.split(':').next().unwrap_or(id).split('/').skip(1).take(2).collect();
    if message.starts_with("SyntaxError") || message.contains("expected SyntaxError") {
        return format!("{}: {xs}'s parser differs from the specification", area.join("/"));
    }
    format!("{}: {xs} differs from the specification", area.join("/"))
}

/// What one target (a variant or `native`) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetResult {
    /// The suite commit.
    pub commit: String,
    /// 1 for the whole suite, N for the 1-in-N sample.
    pub sample: u32,
    /// Cases run (a test file runs once or twice: sloppy and strict).
    pub run: usize,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Test files skipped (modules, features in the skip list).
    pub skipped: usize,
    /// The failing cases, `path:mode`, sorted.
    pub failures: Vec<String>,
}

/// `artifacts/test262.json`: one entry per target. Written with sorted keys
/// and no times, so the same run gives the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Format version of this file.
    pub schema: u32,
    /// Results by target: `native` and variant names.
    pub targets: BTreeMap<String, TargetResult>,
}

impl Results {
    /// Pretty JSON with a final newline.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("results serialize");
        text.push('\n');
        text
    }
}

/// `configs/test262-expected-failures.txt`: the cases native XS fails.
/// Format: `# reason` lines head groups; every other non-empty line is a
/// case id (`path:mode`) failing for the group's reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    /// Case id to the reason of its group.
    pub cases: BTreeMap<String, String>,
}

impl ExpectedFailures {
    /// Parse the file's text. Errors on a case listed before any reason, or twice.
    pub fn parse(text: &str) -> Result<ExpectedFailures> {
        let mut cases = BTreeMap::new();
        let mut reason: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(r) = line.strip_prefix('#') {
                reason = Some(r.trim().to_owned());
                continue;
            }
            let r = reason.clone().with_context(|| format!("line {}: {line} has no `# reason` line above it", n + 1))?;
            if cases.insert(line.to_owned(), r).is_some() {
                anyhow::bail!("line {}: {line} is listed twice", n + 1);
            }
        }
        Ok(ExpectedFailures { cases })
    }

    /// The file at `path` (none: an empty list).
    pub fn load(path: &Path) -> Result<ExpectedFailures> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).with_context(|| format!("in {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ExpectedFailures::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The text for `failures` (case id to failure message), keeping the
    /// reasons of cases listed before; new cases are grouped under `# <new_reason>`.
    pub fn render_for(&self, failures: &BTreeMap<String, String>, header: &str, new_reason: impl Fn(&str, &str) -> String) -> String {
        let mut groups: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for (id, message) in failures {
            let reason = self.cases.get(id).cloned().unwrap_or_else(|| new_reason(id, message));
            groups.entry(reason).or_default().insert(id);
        }
        let mut text = header.to_owned();
        for (reason, ids) in groups {
            text.push_str(&format!("\n# {reason}\n"));
            for id in ids {
                text.push_str(id);
                text.push('\n');
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(negative: Option<&str>, is_async: bool) -> Case {
        Case { id: "t.js:sloppy".into(), scripts: vec![], is_async, negative: negative.map(str::to_owned), features: vec![], module: None }
    }

    fn outcome(ending: Ending, log: &str) -> Outcome {
        Outcome { ending, log: log.into(), micros: 0, create_micros: None, memory_bytes: None }
    }

    #[test]
    fn verdicts_follow_interpreting_md() {
        let threw = |name: &str| Ending::Threw { name: name.into(), message: "m".into() };
        assert_eq!(verdict(&case(None, false), &outcome(Ending::Completed, "")), None);
        assert!(verdict(&case(None, false), &outcome(threw("Test262Error"), "")).unwrap().contains("Test262Error: m"));
        assert_eq!(verdict(&case(Some("SyntaxError"), false), &outcome(threw("SyntaxError"), "")), None);
        assert!(verdict(&case(Some("SyntaxError"), false), &outcome(threw("TypeError"), "")).unwrap().contains("expected SyntaxError, got TypeError"));
        assert!(verdict(&case(Some("SyntaxError"), false), &outcome(Ending::Completed, "")).is_some());
        assert!(verdict(&case(None, false), &outcome(Ending::Stopped("meter limit reached".into()), "")).unwrap().contains("meter"));
    }

    #[test]
    fn async_tests_pass_only_when_done_reports_completion() {
        let c = case(None, true);
        assert_eq!(verdict(&c, &outcome(Ending::Completed, "1 Test262:AsyncTestComplete\n")), None);
        assert!(verdict(&c, &outcome(Ending::Completed, "1 Test262:AsyncTestFailure:Test262Error: no\n")).unwrap().contains("Failure:Test262Error: no"));
        assert!(verdict(&c, &outcome(Ending::Completed, "")).unwrap().contains("$DONE"));
    }

    #[test]
    fn failures_are_classified_by_lacking_feature_message_and_directory() {
        let with = |id: &str, features: &[&str]| Case { id: id.into(), scripts: vec![], is_async: false, negative: None, features: features.iter().map(|f| f.to_string()).collect(), module: None };
        let cases: Vec<Case> = (0..5).map(|i| with(&format!("test/built-ins/Temporal/{i}.js:strict"), &["Temporal", "BigInt"])).chain((0..10).map(|i| with(&format!("test/built-ins/BigInt/{i}.js:strict"), &["BigInt"]))).collect();
        let failures: BTreeMap<String, String> = cases[..6].iter().map(|c| (c.id.clone(), "TypeError: no function".to_owned())).collect();
        let lacking = lacking_features(&cases, &failures);
        assert_eq!(lacking.into_iter().collect::<Vec<_>>(), ["Temporal"], "BigInt fails 1 in 15: implemented");
        let lacking = lacking_features(&cases, &failures);
        assert!(classify(&cases[0], "TypeError: no function", &lacking, "XS 13.3.0").starts_with("feature Temporal: not implemented"));
        assert!(classify(&cases[5], "Test262Error: x", &lacking, "XS 13.3.0").starts_with("built-ins/BigInt: XS 13.3.0 differs"));
        assert!(classify(&with("test/language/x.js:sloppy", &[]), "SyntaxError: missing ;", &lacking, "XS 13.3.0").starts_with("language/x.js: XS 13.3.0's parser"));
        let source = |text: &str| Case { scripts: vec!["harness".into(), text.into()], ..with("test/built-ins/Atomics/x.js:strict", &[]) };
        assert!(classify(&source("$262.agent.start(`...`)"), "TypeError: cannot coerce undefined to object", &lacking, "XS 17.9.1").contains("one agent"));
        assert!(classify(&source("var other = $262.createRealm();"), "TypeError: x", &lacking, "XS 17.9.1").contains("second realm"));
        assert!(classify(&cases[5], "stopped: meter limit reached", &lacking, "XS 13.3.0").contains("meter limit"));
    }

    #[test]
    fn expected_failures_parse_and_render_with_their_reasons() {
        let text = "# header comment ignored as a reason\n\n# reason one\na.js:sloppy\nb.js:strict\n# reason two\nc.js:sloppy\n";
        let e = ExpectedFailures::parse(text).unwrap();
        assert_eq!(e.cases["a.js:sloppy"], "reason one");
        assert_eq!(e.cases["c.js:sloppy"], "reason two");
        assert!(ExpectedFailures::parse("a.js:sloppy\n").unwrap_err().to_string().contains("no `# reason`"));
        assert!(ExpectedFailures::parse("# r\na\na\n").unwrap_err().to_string().contains("twice"));
        let failures: BTreeMap<String, String> = [("a.js:sloppy", "x"), ("d.js:strict", "y")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let rendered = e.render_for(&failures, "", |id, message| format!("new: {id} {message}"));
        assert_eq!(rendered, "\n# new: d.js:strict y\nd.js:strict\n\n# reason one\na.js:sloppy\n");
    }

    #[test]
    fn results_round_trip_byte_for_byte() {
        let mut r = Results { schema: 1, targets: BTreeMap::new() };
        r.targets.insert("native".into(), TargetResult { commit: "c".into(), sample: 1, run: 2, passed: 1, failed: 1, skipped: 0, failures: vec!["a.js:strict".into()] });
        let text = r.render();
        let back: Results = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.render(), text);
    }
}
