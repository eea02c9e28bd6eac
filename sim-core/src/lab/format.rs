//! The lab file format: a scenario file's `name`, `summary`, `source`, `evidence` and `[world]`
//! (docs/design.md §6) plus a `[lab]` table with the ticket (`title`, `brief`), the hidden `[[lab.break]]`
//! steps, the `[[lab.objectives]]` that `lab check` tests, ordered `hints` and the reference
//! `solution` that only `lab verify` runs. Unknown keys and placeholders are errors naming the
//! file, the line and the key.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::scenario::format::{Evidence, Expect, ScenarioError, Step, WorldSpec};

/// A lab file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    /// A short name, what `lab start NAME` takes.
    pub name: String,
    /// What the lab trains, in one sentence (for trainers; `lab list` shows it).
    pub summary: String,
    /// The article and section the fault and its fix follow.
    pub source: String,
    /// The strongest source behind the lab's behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The world (the options of `init`); `seed` is required, so a lab is the same every time.
    pub world: WorldSpec,
    /// The lab itself.
    pub lab: LabSpec,
}

/// `[lab]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// The ticket's subject.
    pub title: String,
    /// The ticket as a user writes it: symptoms and what the admin is handed (placeholders
    /// allowed), never the fix.
    pub brief: String,
    /// Hidden steps that break the world after the install; each must meet its `expect` (or
    /// exit 0 without one), as scenario steps do.
    #[serde(rename = "break")]
    pub break_steps: Vec<Step>,
    /// What `lab check` tests, each on a copy of the current world.
    pub objectives: Vec<Objective>,
    /// Hints, in the order `lab hint` reveals them.
    pub hints: Vec<String>,
    /// The documented remediation as command lines (placeholders allowed); only `lab verify`
    /// runs it, and every line must exit 0.
    #[serde(default)]
    pub solution: Vec<String>,
}

/// One objective: a line run on a copy of the world (after `before`), and what must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// What the admin has achieved when it holds ("The ADSync service is running").
    pub title: String,
    /// Lines run first on the copy, each must exit 0 (e.g. a restart before a sync cycle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// The line whose outcome is checked.
    pub run: String,
    /// What must hold: the expectation kinds of scenario steps.
    pub expect: Expect,
}

/// A lab that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LabError {
    /// The TOML does not parse or has unknown keys (toml's message names the line and key).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// toml's message.
        message: String,
    },
    /// A value is missing or wrong.
    #[error("{file}:{line}: {key}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The line (1-based) of the key, or of its table.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A `[world]` value is invalid.
    #[error(transparent)]
    World(#[from] ScenarioError),
    /// No lab has that name.
    #[error("no lab named '{name}'; the labs are: {known}")]
    Unknown {
        /// What was asked for.
        name: String,
        /// The labs there are.
        known: String,
    },
    /// The world could not be made or broken as the file says.
    #[error("{file}: {message}")]
    Start {
        /// The file.
        file: String,
        /// What happened.
        message: String,
    },
    /// The state's lab record is damaged: `what` part of it, and why it does not read.
    #[error("the active lab's record is damaged: {what}: {reason}")]
    Damaged {
        /// The part of the record (the lab file as stored, its handed-over values).
        what: String,
        /// Why it does not read.
        reason: String,
    },
}

/// The placeholders docs/design.md §6 names: the plain ones, and those taking a forest.
pub const PLACEHOLDERS: &[&str] = &[
    "service_account",
    "service_account_password",
    "entra_connector_account",
    "global_admin",
    "global_admin_password",
    "tenant",
];
/// Placeholders written `${NAME:FOREST}`.
pub const FOREST_PLACEHOLDERS: &[&str] = &[
    "ad_connector_account",
    "ad_connector_sam",
    "enterprise_admin",
    "enterprise_admin_password",
];

/// The 1-based line of the first line that starts (after spaces) with `key`, else 1.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(1, |i| i + 1)
}

/// The 1-based line where `needle` first occurs, else the line of `fallback`.
fn line_with(text: &str, needle: &str, fallback: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or_else(|| line_of(text, fallback), |i| i + 1)
}

impl LabFile {
    /// Parses and checks a lab file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, LabError> {
        let lab: Self = toml::from_str(text).map_err(|e| LabError::Parse {
            file: file.to_owned(),
            message: crate::scenario::format::toml_error(text, &e),
        })?;
        lab.validate(file, text, true)?;
        Ok(lab)
    }

    /// Parses a lab as the state keeps it: without its solution.
    pub fn parse_stored(file: &str, text: &str) -> Result<Self, LabError> {
        let lab: Self = toml::from_str(text).map_err(|e| LabError::Damaged {
            what: file.to_owned(),
            reason: crate::scenario::format::toml_error(text, &e),
        })?;
        lab.validate(file, text, false)?;
        Ok(lab)
    }

    /// The file as the state keeps it: the solution left out, so the state of a lab in progress
    /// does not hold the answer.
    pub fn to_stored(&self) -> String {
        let mut copy = self.clone();
        copy.lab.solution.clear();
        toml::to_string(&copy).unwrap_or_default()
    }

    /// Checks every rule of the lab format, in the order of the file's keys, each refusal naming
    /// the key and its line. Longer than 80 lines on purpose: one check per rule, read top to
    /// bottom like the format's description.
    fn validate(&self, file: &str, text: &str, with_solution: bool) -> Result<(), LabError> {
        let invalid = |key: &str, line: usize, message: String| LabError::Invalid {
            file: file.to_owned(),
            line,
            key: key.to_owned(),
            message,
        };
        let table = line_of(text, "[lab]");
        if self.world.seed.is_none() {
            return Err(invalid(
                "world.seed",
                line_of(text, "[world]"),
                "a lab needs a seed, so it starts the same every time".into(),
            ));
        }
        self.world.options(file, None)?;
        let l = &self.lab;
        let steps = l.break_steps.len() + l.objectives.len() + l.solution.len();
        if steps > crate::limits::MAX_STEPS_PER_SCENARIO {
            return Err(invalid(
                "lab",
                table,
                format!(
                    "{steps} break steps, objectives and solution lines; a lab has at most {} (MAX_STEPS_PER_SCENARIO)",
                    crate::limits::MAX_STEPS_PER_SCENARIO
                ),
            ));
        }
        for (key, empty) in [
            ("lab.title", l.title.trim().is_empty()),
            ("lab.brief", l.brief.trim().is_empty()),
            ("lab.break", l.break_steps.is_empty()),
            ("lab.objectives", l.objectives.is_empty()),
            ("lab.hints", l.hints.is_empty()),
            ("lab.solution", with_solution && l.solution.is_empty()),
        ] {
            if empty {
                return Err(invalid(
                    key,
                    table,
                    "is missing or empty; a lab needs a title, a brief, at least one break step, objective, hint and solution line".into(),
                ));
            }
        }
        for (i, o) in l.objectives.iter().enumerate() {
            if o.expect == Expect::default() {
                return Err(invalid(
                    &format!("lab.objectives[{}].expect", i + 1),
                    line_with(text, &o.title, "[[lab.objectives]]"),
                    "checks nothing; give exit, output, events, service, connector, all_connectors or fails_with".into(),
                ));
            }
        }
        let forests = self
            .world
            .forests
            .clone()
            .unwrap_or_else(|| vec!["contoso.com".to_owned()]);
        let mut texts: Vec<(&str, &str)> = vec![("lab.brief", &l.brief)];
        texts.extend(
            l.break_steps
                .iter()
                .map(|s| ("lab.break.run", s.run.as_str())),
        );
        for o in &l.objectives {
            texts.push(("lab.objectives.run", &o.run));
            texts.extend(
                o.before
                    .iter()
                    .map(|b| ("lab.objectives.before", b.as_str())),
            );
        }
        texts.extend(l.hints.iter().map(|h| ("lab.hints", h.as_str())));
        texts.extend(l.solution.iter().map(|s| ("lab.solution", s.as_str())));
        for (key, t) in texts {
            if let Some(bad) = unknown_placeholder(t, &forests) {
                return Err(invalid(
                    key,
                    line_with(text, &bad, "[lab]"),
                    format!(
                        "unknown placeholder {bad}; the placeholders are ${{{}}} and ${{{}:FOREST}} for the forests {}",
                        PLACEHOLDERS.join("}, ${"),
                        FOREST_PLACEHOLDERS.join(":FOREST}, ${"),
                        forests.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The first `${…}` in `text` that is not a known placeholder.
fn unknown_placeholder(text: &str, forests: &[String]) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Some(rest[i..].chars().take(40).collect());
        };
        let name = &after[..end];
        let known = match name.split_once(':') {
            None => PLACEHOLDERS.contains(&name),
            Some((kind, forest)) => {
                FOREST_PLACEHOLDERS.contains(&kind)
                    && forests.iter().any(|f| f.eq_ignore_ascii_case(forest))
            }
        };
        if !known {
            return Some(format!("${{{name}}}"));
        }
        rest = &after[end + 1..];
    }
    None
}
