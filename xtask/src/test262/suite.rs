//! The tests of the fetched suite: discovery, sampling, skipping, and the
//! scripts each run evaluates (harness files, then the test), following
//! test262's INTERPRETING.md.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::metadata::{Metadata, Mode};
use crate::config::Test262Run;

/// One run of one test file in one mode, ready for a loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `test/built-ins/...js:strict`: path relative to the suite root, mode.
    pub id: String,
    /// Scripts evaluated in order in one fresh machine.
    pub scripts: Vec<String>,
    /// The test reports its end through `print` (`$DONE`), not by returning.
    pub is_async: bool,
    /// The error name the test must end with, for negative tests.
    pub negative: Option<String>,
    /// The test's `features` (to explain failures).
    pub features: Vec<String>,
    /// A module test (`flags: [module]`): the test file to import after the
    /// harness scripts, `/` + its path under the suite's root (its imports,
    /// the `_FIXTURE` files, load from the suite's files).
    pub module: Option<String>,
}

/// A test that is not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Path relative to the suite root.
    pub path: String,
    /// The reason (a feature from the skip list, or modules).
    pub reason: String,
}

/// Test files (relative, '/'-separated, sorted) under the configured
/// directories, leaving out fixtures (`*_FIXTURE.js`), which other tests import.
pub fn discover(root: &Path, run: &Test262Run) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for dir in &run.directories {
        let rels = crate::util::relative_files(&root.join(dir), false).with_context(|| format!("listing the tests under {dir} (is vendor/test262 fetched?)"))?;
        files.extend(rels.into_iter().filter(|r| r.ends_with(".js") && !r.ends_with("_FIXTURE.js")).map(|r| format!("{dir}/{r}")));
    }
    files.sort();
    Ok(files)
}

/// The fixed 1-in-`n` subset: every `n`th file of the sorted list, starting with the first.
pub fn sample(files: Vec<String>, n: u32) -> Vec<String> {
    files.into_iter().step_by(n.max(1) as usize).collect()
}

/// Harness files, read once.
#[derive(Debug, Default)]
pub struct Harness {
    files: BTreeMap<String, String>,
}

impl Harness {
    /// Every `harness/*.js` of the suite.
    pub fn load(root: &Path) -> Result<Harness> {
        let dir = root.join("harness");
        let mut files = BTreeMap::new();
        for rel in crate::util::relative_files(&dir, false)? {
            if rel.ends_with(".js") {
                let text = fs::read_to_string(dir.join(&rel)).with_context(|| format!("cannot read harness/{rel}"))?;
                files.insert(rel, text);
            }
        }
        Ok(Harness { files })
    }

    fn get(&self, name: &str) -> Result<&str> {
        self.files.get(name).map(String::as_str).with_context(|| format!("harness/{name} does not exist"))
    }

    /// The harness script of a test: assert.js and sta.js (unless `raw`),
    /// doneprintHandle.js for async tests, then the test's `includes`.
    pub fn prelude(&self, metadata: &Metadata) -> Result<String> {
        let mut names = vec!["assert.js", "sta.js"];
        if metadata.has_flag("async") {
            names.push("doneprintHandle.js");
        }
        names.extend(metadata.includes.iter().map(String::as_str));
        let mut text = String::new();
        for name in names {
            text.push_str(self.get(name)?);
            text.push('\n');
        }
        Ok(text)
    }
}

/// What to do with one test file: its cases, or why it is skipped.
pub fn plan(path: &str, source: &str, harness: &Harness, run: &Test262Run) -> Result<std::result::Result<Vec<Case>, Skipped>> {
    let metadata = Metadata::parse(source).with_context(|| format!("reading the front matter of {path}"))?;
    if let Some(skip) = run.skip_features.iter().find(|s| metadata.features.contains(&s.feature)) {
        return Ok(Err(Skipped { path: path.to_owned(), reason: format!("feature {}: {}", skip.feature, skip.reason) }));
    }
    if metadata.has_flag("module") {
        // Module code is strict by itself: one run, the harness as scripts,
        // then the test imported as a module (INTERPRETING.md).
        let prelude = harness.prelude(&metadata)?;
        return Ok(Ok(vec![Case {
            id: format!("{path}:module"),
            scripts: vec![prelude],
            is_async: metadata.has_flag("async"),
            negative: metadata.negative.as_ref().map(|n| n.error.clone()),
            features: metadata.features.clone(),
            module: Some(format!("/{path}")),
        }]));
    }
    let raw = metadata.has_flag("raw");
    let prelude = if raw { None } else { Some(harness.prelude(&metadata)?) };
    let cases = metadata
        .modes()
        .into_iter()
        .map(|mode| {
            let test = match mode {
                Mode::Strict => format!("\"use strict\";\n{source}"),
                Mode::Sloppy => source.to_owned(),
            };
            let scripts = prelude.iter().cloned().chain([test]).collect();
            Case {
                id: format!("{path}:{}", mode.as_str()),
                scripts,
                is_async: metadata.has_flag("async"),
                negative: metadata.negative.as_ref().map(|n| n.error.clone()),
                features: metadata.features.clone(),
                module: None,
            }
        })
        .collect();
    Ok(Ok(cases))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SkipFeature;

    fn run_config() -> Test262Run {
        Test262Run {
            directories: vec!["test".into()],
            meter_limit: 1,
            timeout_seconds: 1,
            ci_sample: 1,
            skip_features: vec![SkipFeature { feature: "Temporal".into(), reason: "absent".into() }],
        }
    }

    fn harness() -> Harness {
        let files = [("assert.js", "ASSERT"), ("sta.js", "STA"), ("doneprintHandle.js", "DONE"), ("compareArray.js", "CMP")];
        Harness { files: files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn a_plain_test_runs_sloppy_and_strict_after_its_harness() {
        let src = "/*---\nincludes: [compareArray.js]\n---*/\nx();";
        let cases = plan("test/a.js", src, &harness(), &run_config()).unwrap().unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "test/a.js:sloppy");
        assert_eq!(cases[0].scripts, ["ASSERT\nSTA\nCMP\n", src]);
        assert_eq!(cases[1].id, "test/a.js:strict");
        assert_eq!(cases[1].scripts[1], format!("\"use strict\";\n{src}"));
    }

    #[test]
    fn raw_async_and_negative_tests_are_composed_as_interpreting_md_says() {
        let raw = "/*---\nflags: [raw]\nnegative:\n  phase: parse\n  type: SyntaxError\n---*/\n(";
        let cases = plan("test/r.js", raw, &harness(), &run_config()).unwrap().unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].scripts, [raw], "raw: no harness, no strict prefix");
        assert_eq!(cases[0].negative.as_deref(), Some("SyntaxError"));
        let asynchronous = "/*---\nflags: [async, onlyStrict]\n---*/\n$DONE();";
        let cases = plan("test/b.js", asynchronous, &harness(), &run_config()).unwrap().unwrap();
        assert!(cases[0].is_async);
        assert_eq!(cases[0].scripts[0], "ASSERT\nSTA\nDONE\n");
    }

    #[test]
    fn a_module_test_runs_once_imported_after_its_harness() {
        let module = "/*---\nflags: [module, async]\n---*/\nexport {};";
        let cases = plan("test/m.js", module, &harness(), &run_config()).unwrap().unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].id, "test/m.js:module");
        assert_eq!(cases[0].scripts, ["ASSERT\nSTA\nDONE\n"]);
        assert_eq!(cases[0].module.as_deref(), Some("/test/m.js"));
        assert!(cases[0].is_async);
    }

    #[test]
    fn listed_features_are_skipped_with_a_reason() {
        let temporal = "/*---\nfeatures: [BigInt, Temporal]\n---*/\n";
        assert!(plan("test/t.js", temporal, &harness(), &run_config()).unwrap().unwrap_err().reason.contains("Temporal: absent"));
        let missing = "/*---\nincludes: [nope.js]\n---*/\n";
        assert!(format!("{:#}", plan("test/n.js", missing, &harness(), &run_config()).unwrap_err()).contains("harness/nope.js"));
    }

    #[test]
    fn the_sample_takes_every_nth_file_from_the_first() {
        let files: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
        assert_eq!(sample(files.clone(), 4), ["f0", "f4", "f8"]);
        assert_eq!(sample(files.clone(), 1).len(), 10);
    }
}
