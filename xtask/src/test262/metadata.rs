//! A test262 test file's front matter (the YAML between `/*---` and `---*/`)
//! and the runs it asks for, as test262's INTERPRETING.md describes them.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The front-matter keys the runner uses (others, such as `description`, are ignored).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Metadata {
    /// Harness files (under `harness/`) to evaluate before the test.
    pub includes: Vec<String>,
    /// `onlyStrict`, `noStrict`, `raw`, `async`, `module`, `CanBlockIs*`...
    pub flags: Vec<String>,
    /// Features the test needs (skips are decided by these).
    pub features: Vec<String>,
    /// Present when the test must throw.
    pub negative: Option<Negative>,
}

/// `negative:`: the phase (`parse`, `resolution`, `runtime`) and the error constructor's name.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Negative {
    /// `parse`, `resolution` or `runtime`.
    pub phase: String,
    /// The expected error's `name`, e.g. `SyntaxError`.
    #[serde(rename = "type")]
    pub error: String,
}

/// Strict or sloppy: the two ways a script test is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Non-strict code, the source as it is.
    Sloppy,
    /// `"use strict";` prepended.
    Strict,
}

impl Mode {
    /// `sloppy` or `strict`, as in test identifiers.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sloppy => "sloppy",
            Mode::Strict => "strict",
        }
    }
}

impl Metadata {
    /// Parse the front matter of `source`. Errors when there is none or its YAML is invalid.
    pub fn parse(source: &str) -> Result<Metadata> {
        let start = source.find("/*---").context("no front matter (/*--- ... ---*/)")?;
        let rest = &source[start + 5..];
        let end = rest.find("---*/").context("front matter is not closed with ---*/")?;
        let yaml = &rest[..end];
        if yaml.trim().is_empty() {
            return Ok(Metadata::default());
        }
        let metadata: Metadata = serde_yaml_ng::from_str(yaml).context("front matter is not valid YAML")?;
        if let Some(n) = &metadata.negative {
            if !matches!(n.phase.as_str(), "parse" | "resolution" | "runtime") {
                bail!("negative phase {:?} is not parse, resolution or runtime", n.phase);
            }
        }
        Ok(metadata)
    }

    /// Whether the flag is set.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The modes to run in: `raw` and `noStrict` tests once sloppy, `onlyStrict` once strict, others both.
    pub fn modes(&self) -> Vec<Mode> {
        if self.has_flag("raw") || self.has_flag("noStrict") {
            vec![Mode::Sloppy]
        } else if self.has_flag("onlyStrict") {
            vec![Mode::Strict]
        } else {
            vec![Mode::Sloppy, Mode::Strict]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_fields_are_read_and_others_ignored() {
        let source = "// Copyright\n/*---\nesid: sec-x\ndescription: >\n  a: colon\nincludes: [compareArray.js, propertyHelper.js]\nflags: [onlyStrict, async]\nfeatures:\n  - BigInt\nnegative:\n  phase: parse\n  type: SyntaxError\n---*/\n$DONOTEVALUATE();\n";
        let m = Metadata::parse(source).unwrap();
        assert_eq!(m.includes, ["compareArray.js", "propertyHelper.js"]);
        assert!(m.has_flag("async") && m.has_flag("onlyStrict") && !m.has_flag("raw"));
        assert_eq!(m.features, ["BigInt"]);
        assert_eq!(m.negative, Some(Negative { phase: "parse".into(), error: "SyntaxError".into() }));
        assert_eq!(m.modes(), [Mode::Strict]);
    }

    #[test]
    fn modes_follow_the_flags() {
        let with = |flags: &str| Metadata::parse(&format!("/*---\nflags: [{flags}]\n---*/")).unwrap().modes();
        assert_eq!(with(""), [Mode::Sloppy, Mode::Strict]);
        assert_eq!(with("noStrict"), [Mode::Sloppy]);
        assert_eq!(with("raw"), [Mode::Sloppy]);
        assert_eq!(with("onlyStrict"), [Mode::Strict]);
    }

    #[test]
    fn missing_or_broken_front_matter_is_an_error() {
        assert!(Metadata::parse("var x = 1;").unwrap_err().to_string().contains("no front matter"));
        assert!(Metadata::parse("/*---\nflags: [a\n").unwrap_err().to_string().contains("not closed"));
        assert!(Metadata::parse("/*---\nflags: [a\n---*/").is_err());
        let bad_phase = "/*---\nnegative:\n  phase: early\n  type: SyntaxError\n---*/";
        assert!(format!("{:#}", Metadata::parse(bad_phase).unwrap_err()).contains("early"));
    }
}
