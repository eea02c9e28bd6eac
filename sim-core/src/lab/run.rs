//! Playing a lab: starting it (the install, then the hidden break steps), checking its
//! objectives on copies of the world, scoring, and verifying a lab file end to end.

use crate::dpapi::secret::SecretBytes;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::format::{LabError, LabFile};
use crate::backend::{Host, SimHost, fingerprint_of};
use crate::command::split_words;
use crate::scenario::runner::{
    check as check_expect, fill, memory_sealer, placeholders, redact_with, run_line, secret_values,
};
use crate::seal::{Sealed, Sealer, UnsealError};
use crate::world::World;

/// Points a hint costs (named choice, README modelling choice 'Lab scores'): a lab solved
/// without hints scores 100.
pub const HINT_COST: u32 = 10;
/// The name the handed-over values are sealed under.
const VALUES_NAME: &str = "lab:values";

/// A lab file with its name and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lab {
    /// Where it came from (a path, or `scenarios/labs/…` for the built-in ones).
    pub file: String,
    /// The file's text.
    pub text: String,
    /// The parsed file.
    pub def: LabFile,
}

impl Lab {
    /// Parses a lab file.
    pub fn parse(file: &str, text: &str) -> Result<Self, LabError> {
        Ok(Self {
            file: file.to_owned(),
            text: text.to_owned(),
            def: LabFile::parse(file, text)?,
        })
    }

    /// Whether `name` names this lab: its name, its file's stem, or the stem without its
    /// number (`01-…`).
    pub fn is_named(&self, name: &str) -> bool {
        let stem = std::path::Path::new(&self.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let bare = stem
            .split_once('-')
            .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
            .map_or(stem, |(_, rest)| rest);
        [self.def.name.as_str(), stem, bare]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name.trim()))
            || stem
                .split_once('-')
                .is_some_and(|(n, _)| n == name.trim() || n.trim_start_matches('0') == name.trim())
    }
}

/// The lab among `labs` that `name` names.
pub fn find<'a>(labs: &'a [Lab], name: &str) -> Result<&'a Lab, LabError> {
    labs.iter()
        .find(|l| l.is_named(name))
        .ok_or_else(|| LabError::Unknown {
            name: name.to_owned(),
            known: labs
                .iter()
                .map(|l| l.def.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The placeholder values of a started lab (what the install generated), passwords included.
#[derive(Clone, Debug, Default)]
pub struct Values(Vec<(String, String)>);

impl Drop for Values {
    fn drop(&mut self) {
        for (_, v) in &mut self.0 {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

impl Values {
    /// Fills `text`'s placeholders.
    pub fn fill(&self, text: &str) -> Result<String, String> {
        fill(text, &self.0)
    }

    /// `text` with every password replaced by `********`.
    pub fn redact(&self, text: &str) -> String {
        redact_with(&secret_values(&self.0), text)
    }

    /// A line of the lab file as reports show it: redacted by the grammar (a literal password
    /// in it is hidden, a placeholder is kept) and then by the install's passwords.
    pub fn redact_line(&self, line: &str) -> String {
        self.redact(&crate::command::redact_line(line))
    }
}

/// A started lab's world.
#[derive(Debug)]
pub struct Started {
    /// The broken world.
    pub world: World,
    /// What the install generated.
    pub values: Values,
}

/// Makes the lab's world with `sealer` and runs its hidden break steps.
pub fn start(lab: &Lab, sealer: Sealer) -> Result<Started, LabError> {
    let failed = |message: String| LabError::Start {
        file: lab.file.clone(),
        message,
    };
    let options = lab.def.world.options(&lab.file, None)?;
    let (mut world, init) = World::new(&options, sealer)
        .map_err(|e| failed(format!("the world could not be made: {e}")))?;
    let mut host = SimHost::new(&mut world);
    let tenant = host
        .tenant()
        .map_err(|e| failed(e.to_string()))?
        .unwrap_or_default();
    let values = Values(placeholders(&init, &tenant));
    for (i, step) in lab.def.lab.break_steps.iter().enumerate() {
        let line = values.fill(&step.run).map_err(|e| failed(e.to_string()))?;
        let (parsed, outcome) = run_line(&mut host, &line);
        if let Some(why) = check_expect(&mut host, parsed.as_ref(), step.expect.as_ref(), &outcome)
        {
            return Err(failed(format!(
                "break step {} `{}` did not do what the file expects: {}; it printed: {}",
                i + 1,
                values.redact_line(&step.run),
                why,
                values.redact(outcome.text.trim())
            )));
        }
    }
    Ok(Started { world, values })
}

/// One objective's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveResult {
    /// The objective.
    pub title: String,
    /// Whether it holds.
    pub met: bool,
    /// Why not (passwords redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// What `lab check` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Each objective, in the file's order.
    pub objectives: Vec<ObjectiveResult>,
}

impl CheckReport {
    /// How many objectives hold.
    pub fn met(&self) -> usize {
        self.objectives.iter().filter(|o| o.met).count()
    }

    /// Whether every objective holds.
    pub fn all_met(&self) -> bool {
        self.objectives.iter().all(|o| o.met)
    }

    /// The score: the share of objectives met out of 100, less [`HINT_COST`] per hint shown,
    /// never below 0.
    pub fn score(&self, hints_shown: usize) -> u32 {
        let total = self.objectives.len().max(1);
        let base = u32::try_from(self.met() * 100 / total).unwrap_or(100);
        let cost = u32::try_from(hints_shown)
            .unwrap_or(u32::MAX)
            .saturating_mul(HINT_COST);
        base.saturating_sub(cost)
    }
}

/// Checks every objective, each on its own copy of `world`: `world` itself never changes.
pub fn check(lab: &Lab, world: &World, values: &Values) -> CheckReport {
    let objectives = lab
        .def
        .lab
        .objectives
        .iter()
        .map(|o| {
            let why = (|| {
                let mut copy = world.clone();
                let mut host = SimHost::new(&mut copy);
                for (i, b) in o.before.iter().enumerate() {
                    let line = values.fill(b)?;
                    let (_, out) = run_line(&mut host, &line);
                    if out.code != 0 {
                        return Err(format!(
                            "`{}` (step {} before the check) returned {}: {}",
                            values.redact_line(b),
                            i + 1,
                            out.code,
                            out.text.trim()
                        ));
                    }
                }
                let line = values.fill(&o.run)?;
                let (parsed, out) = run_line(&mut host, &line);
                match check_expect(&mut host, parsed.as_ref(), Some(&o.expect), &out) {
                    None => Ok(()),
                    Some(why) => Err(format!("`{}`: {why}", values.redact_line(&o.run))),
                }
            })()
            .err();
            ObjectiveResult {
                title: o.title.clone(),
                met: why.is_none(),
                why: why.map(|w| values.redact(&w)),
            }
        })
        .collect();
    CheckReport { objectives }
}

/// A lab's progress, kept in the state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// How many hints `lab hint` has shown.
    pub hints_shown: usize,
    /// How many times `lab check` ran.
    pub checks: u32,
    /// The last check's score.
    pub last_score: u32,
    /// The best score so far.
    pub best_score: u32,
    /// Whether a check found every objective met.
    pub solved: bool,
    /// The last check's objectives.
    #[serde(default)]
    pub last: Vec<ObjectiveResult>,
}

impl Progress {
    /// Records a check.
    pub fn record(&mut self, report: &CheckReport) -> u32 {
        let score = report.score(self.hints_shown);
        self.checks += 1;
        self.last_score = score;
        self.best_score = self.best_score.max(score);
        self.solved |= report.all_met();
        self.last.clone_from(&report.objectives);
        score
    }
}

/// The active lab as the state keeps it: its definition (so a lab started from a folder keeps
/// working without it), the handed-over values sealed under the state's key, and the progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// The lab's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// The file, without its solution, as TOML.
    pub definition: String,
    /// The placeholder values, as JSON, sealed.
    pub values: Sealed,
    /// Progress.
    pub progress: Progress,
}

impl LabState {
    /// The record of a lab just started with `sealer`.
    pub fn new(lab: &Lab, values: &Values, sealer: &Sealer) -> Self {
        let json = Zeroizing::new(serde_json::to_vec(&values.0).unwrap_or_default());
        Self {
            name: lab.def.name.clone(),
            file: lab.file.clone(),
            definition: lab.def.to_stored(),
            values: sealer.seal(VALUES_NAME, &json),
            progress: Progress::default(),
        }
    }

    /// The lab (without its solution).
    pub fn lab(&self) -> Result<Lab, LabError> {
        Ok(Lab {
            file: self.file.clone(),
            text: self.definition.clone(),
            def: LabFile::parse_stored(&self.file, &self.definition)?,
        })
    }

    /// The handed-over values, opened with `open` (the state's sealer).
    pub fn values<F>(&self, open: F) -> Result<Values, LabError>
    where
        F: FnOnce(&str, &Sealed) -> Result<SecretBytes, UnsealError>,
    {
        let bytes = open(VALUES_NAME, &self.values).map_err(|e| LabError::Damaged {
            what: VALUES_NAME.into(),
            reason: e.to_string(),
        })?;
        serde_json::from_slice(&bytes)
            .map(Values)
            .map_err(|e| LabError::Damaged {
                what: VALUES_NAME.into(),
                reason: e.to_string(),
            })
    }
}

/// One solution line as `lab verify` ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SolutionStep {
    /// The line, passwords redacted.
    pub run: String,
    /// Its result code.
    pub code: u32,
    /// What it printed, passwords redacted.
    pub output: String,
}

/// What `lab verify` found for one lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The lab's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Objectives right after the start (some must fail).
    pub before: Option<CheckReport>,
    /// The solution's lines as run.
    pub solution: Vec<SolutionStep>,
    /// Objectives after the solution (all must hold).
    pub after: Option<CheckReport>,
    /// What went wrong, if anything.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether the lab starts broken, its brief keeps the fix to itself, it is deterministic,
    /// and its solution makes every objective hold.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The tools and cmdlets the solution names that the brief must not: words with a hyphen
/// (cmdlets), `.exe` tools and `miiskmu`.
fn giveaways(lab: &Lab) -> Vec<String> {
    let brief = lab.def.lab.brief.to_ascii_lowercase();
    let mut out = Vec::new();
    for line in &lab.def.lab.solution {
        let Some(first) = split_words(line).ok().and_then(|w| w.into_iter().next()) else {
            continue;
        };
        let base = first
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&first)
            .to_ascii_lowercase();
        let tool = base.contains('-') || base.ends_with(".exe") || base.contains("miiskmu");
        if tool && brief.contains(base.trim_end_matches(".exe")) && !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

/// Verifies a lab in a scratch world: it starts broken (some objective fails), the same seed
/// gives the same broken world, the brief names no tool of the fix, every solution line exits
/// 0, and afterwards every objective holds.
pub fn verify(lab: &Lab) -> VerifyReport {
    let mut report = VerifyReport {
        name: lab.def.name.clone(),
        file: lab.file.clone(),
        before: None,
        solution: vec![],
        after: None,
        problems: vec![],
    };
    let seed = lab.def.world.seed.unwrap_or(0);
    let started = match start(lab, memory_sealer(seed)) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    match start(lab, memory_sealer(seed)) {
        Ok(again) if fingerprint_of(&again.world) == fingerprint_of(&started.world) => {}
        Ok(_) => report
            .problems
            .push("the same seed gave a different broken world".into()),
        Err(e) => report.problems.push(e.to_string()),
    }
    let give = giveaways(lab);
    if !give.is_empty() {
        report.problems.push(format!(
            "the brief names what the solution runs ({}); a brief describes symptoms",
            give.join(", ")
        ));
    }
    let Started { mut world, values } = started;
    let before = check(lab, &world, &values);
    if before.all_met() {
        report
            .problems
            .push("the lab does not start broken: every objective already holds".into());
    }
    report.before = Some(before);
    for (i, l) in lab.def.lab.solution.iter().enumerate() {
        let line = match values.fill(l) {
            Ok(x) => x,
            Err(e) => {
                report
                    .problems
                    .push(format!("solution line {}: {e}", i + 1));
                return report;
            }
        };
        let (_, out) = run_line(&mut SimHost::new(&mut world), &line);
        report.solution.push(SolutionStep {
            run: values.redact_line(l),
            code: out.code,
            output: values.redact(out.text.trim_end()),
        });
        if out.code != 0 {
            report.problems.push(format!(
                "solution line {} `{}` returned {}: {}",
                i + 1,
                values.redact_line(l),
                out.code,
                values.redact(out.text.trim())
            ));
            return report;
        }
    }
    let after = check(lab, &world, &values);
    for o in after.objectives.iter().filter(|o| !o.met) {
        report.problems.push(format!(
            "after the solution, objective '{}' does not hold: {}",
            o.title,
            o.why.as_deref().unwrap_or("")
        ));
    }
    report.after = Some(after);
    report
}
