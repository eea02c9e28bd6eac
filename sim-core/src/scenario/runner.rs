//! Runs a scenario: each step's placeholders are filled, the line parses through the one command
//! language ([`Line`]) and runs on a [`Host`], and its expectations are checked against the
//! outcome and what the host shows (docs/design.md §6). A step that fails stops the scenario and
//! says what was expected, what happened, and how to replay it.
//!
//! [`run_scenario`] makes a fresh in-memory world behind a [`SimHost`], with the placeholders
//! filled from what its install generated; [`run_scenario_on`] runs a scenario that passed the
//! real-host pre-flight ([`super::preflight`]) on any host. The runner reads the host only
//! through [`Host`]: the service's status, the connectors' last runs, the event logs, the clock.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use super::format::{EventExpect, Expect, Scenario, ScenarioError};
use crate::backend::{Host, HostError, SimHost};
use crate::command::{Command, Line};
use crate::seal::Sealer;
use crate::win::eventlog::EventRecord;
use crate::world::{ADSYNC_SERVICE, InitReport, Outcome, World};

/// The result code a line that does not parse gets (the process's usage exit status).
pub const USAGE_CODE: u32 = crate::exit::USAGE as u32;
/// The result code a command the world refuses gets (the process's failure exit status).
pub const REFUSED_CODE: u32 = crate::exit::FAILURE as u32;

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// The line as run, passwords redacted.
    pub run: String,
    /// The result code.
    pub code: u32,
    /// What it printed.
    pub output: String,
    /// The events it added, one line each.
    pub events: Vec<String>,
    /// Why its expectations failed, if they did.
    pub failure: Option<String>,
}

/// What a scenario did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioReport {
    /// The file.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// Its evidence level.
    pub evidence: Option<super::format::Evidence>,
    /// The seed it ran with.
    pub seed: u64,
    /// The steps that ran (a failed step is the last).
    pub steps: Vec<StepReport>,
    /// Why it could not run at all.
    pub error: Option<String>,
    /// SHA-256 of the journal: every step's command, result, output and events, and the final
    /// state.
    pub journal_hash: String,
    /// The executed steps as a scenario that replays identically: the same lines (placeholders
    /// kept, so no password is written), this run's seed, and each step's result code and
    /// events as its expectations.
    pub recorded: Scenario,
    /// The journal of the run, one entry per step (what `timeline --scenario` draws).
    pub journal: Vec<crate::timeline::Entry>,
}

impl ScenarioReport {
    /// Whether every step met its expectations.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| s.failure.is_none())
    }

    /// The first failing step, 1-based, with its report.
    pub fn failed_step(&self) -> Option<(usize, &StepReport)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.failure.is_some())
            .map(|(i, s)| (i + 1, s))
    }
}

/// The placeholders docs/design.md §6 names, from what the install generated.
pub fn placeholders(r: &InitReport, tenant: &str) -> Vec<(String, String)> {
    let mut out = vec![
        ("${service_account}".to_owned(), r.service_account.clone()),
        (
            "${service_account_password}".to_owned(),
            r.service_account_password
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "${entra_connector_account}".to_owned(),
            r.install.entra_account.clone(),
        ),
        (
            "${global_admin}".to_owned(),
            r.install.global_admin.0.clone(),
        ),
        (
            "${global_admin_password}".to_owned(),
            r.install.global_admin.1.as_str().to_owned(),
        ),
        ("${tenant}".to_owned(), tenant.to_owned()),
    ];
    for (forest, name) in &r.install.ad_accounts {
        out.push((format!("${{ad_connector_account:{forest}}}"), name.clone()));
        // The sAMAccountName alone, as `Set-ADAccountPassword -Identity` and `net user … /domain`
        // take it.
        let sam = name.rsplit_once('\\').map_or(name.as_str(), |(_, s)| s);
        out.push((format!("${{ad_connector_sam:{forest}}}"), sam.to_owned()));
    }
    for (forest, name, pw) in &r.install.enterprise_admins {
        out.push((format!("${{enterprise_admin:{forest}}}"), name.clone()));
        out.push((
            format!("${{enterprise_admin_password:{forest}}}"),
            pw.as_str().to_owned(),
        ));
    }
    out
}

/// Fills a line's placeholders; an unknown one is an error listing the known ones.
pub fn fill(line: &str, values: &[(String, String)]) -> Result<String, String> {
    let mut s = line.to_owned();
    for (k, v) in values {
        s = s.replace(k.as_str(), v);
    }
    match s.find("${") {
        Some(i) => {
            let end = s[i..].find('}').map_or(s.len(), |e| i + e + 1);
            let known: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
            Err(format!(
                "unknown placeholder {}; the placeholders are: {}",
                &s[i..end],
                known.join(", ")
            ))
        }
        None => Ok(s),
    }
}

/// An event as one line of a report.
pub(crate) fn event_line(e: &EventRecord) -> String {
    format!(
        "{} {} {} {}: {}",
        e.log.as_str(),
        e.id,
        e.level.as_str(),
        e.source,
        e.message
    )
}

fn event_matches(want: &EventExpect, e: &EventRecord) -> bool {
    want.log
        .as_ref()
        .is_none_or(|l| l.eq_ignore_ascii_case(e.log.as_str()))
        && want.id.is_none_or(|i| i == e.id)
        && want
            .source
            .as_ref()
            .is_none_or(|s| s.eq_ignore_ascii_case(&e.source))
        && want.text.as_ref().is_none_or(|t| e.message.contains(t))
}

fn parse_code(s: &str) -> Option<u32> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t
            .parse::<u32>()
            .ok()
            .or_else(|| t.parse::<i32>().ok().map(|v| v as u32)),
    }
}

/// The connector a command names, if any.
fn named_connector(c: &Command) -> Option<&str> {
    match c {
        Command::SyncRun { connector, .. } => Some(connector),
        Command::ConnectorSetPassword { name, .. } => Some(name),
        Command::AddAddsConnectorAccount { connector, .. } => Some(connector),
        _ => None,
    }
}

/// The service a command names, if any.
fn named_service(c: &Command) -> Option<&str> {
    match c {
        Command::ScQuery { name }
        | Command::ScQueryEx { name }
        | Command::ScQc { name }
        | Command::ScStart { name }
        | Command::ScStop { name }
        | Command::ScConfig { name, .. }
        | Command::PsService { name, .. } => Some(name),
        _ => None,
    }
}

/// The last run status of each connector `named` names (every connector when `None`), `-` for
/// one that never ran.
fn run_statuses(
    host: &mut dyn Host,
    named: Option<&str>,
) -> Result<Vec<(String, String)>, HostError> {
    let connectors = match named {
        Some(n) => host.connectors_named(n)?,
        None => host.connectors()?,
    };
    Ok(connectors
        .into_iter()
        .map(|c| (c.name, c.last_run.unwrap_or_else(|| "-".to_owned())))
        .collect())
}

/// Checks a step's expectations against its outcome and what `host` shows after it; `None`
/// when they hold.
///
/// Longer than 80 lines on purpose: one check per expectation key of the scenario format, in
/// the format's order (docs/design.md §6).
pub(crate) fn check(
    host: &mut dyn Host,
    line: Option<&Line>,
    expect: Option<&Expect>,
    o: &Outcome,
) -> Option<String> {
    let Some(e) = expect else {
        return (o.code != 0).then(|| {
            format!(
                "expected the step to succeed (a step without expect must exit 0), got result code {}",
                o.code
            )
        });
    };
    let command = match line {
        Some(Line::Command(c)) => Some(c),
        _ => None,
    };
    let mut problems = Vec::new();
    if let Some(x) = e.exit
        && x != o.code
    {
        problems.push(format!("expected exit {x}, got {}", o.code));
    }
    if let Some(f) = &e.fails_with {
        match parse_code(f) {
            Some(c) if c == o.code => {}
            Some(c) => problems.push(format!(
                "expected to fail with {f} (0x{c:08X}), got result code {} (0x{:08X})",
                o.code, o.code
            )),
            None => problems.push(format!("fails_with = '{f}' is not a number or 0x… HRESULT")),
        }
    }
    for s in &e.output {
        if !o.text.contains(s.as_str()) {
            problems.push(format!("expected the output to contain {s:?}"));
        }
    }
    for want in &e.events {
        if !o.events.iter().any(|ev| event_matches(want, ev)) {
            problems.push(format!(
                "expected an event {} among the {} the step added",
                describe_event(want),
                o.events.len()
            ));
        }
    }
    if let Some(st) = &e.service {
        let name = command.and_then(named_service).unwrap_or(ADSYNC_SERVICE);
        match host.service_status(name) {
            Ok(actual) => {
                let actual = actual.map(|s| s.state);
                match actual {
                    Some(a)
                        if crate::win::scm::ServiceState::parse(st)
                            .is_some_and(|w| w.as_str() == a.as_str()) => {}
                    a => problems.push(format!(
                        "expected service {name} to be {st}, it is {}",
                        a.map_or("not installed", |a| a.as_str())
                    )),
                }
            }
            Err(err) => problems.push(format!(
                "expected service {name} to be {st}; the host could not show it: {err}"
            )),
        }
    }
    if let Some(status) = &e.connector {
        match run_statuses(host, command.and_then(named_connector)) {
            Ok(statuses) if statuses.iter().any(|(_, s)| s.eq_ignore_ascii_case(status)) => {}
            Ok(statuses) => problems.push(format!(
                "expected a last run status {status}, got {}",
                statuses
                    .iter()
                    .map(|(n, s)| format!("{n}: {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(err) => problems.push(format!(
                "expected a last run status {status}; the host could not show the connectors: {err}"
            )),
        }
    }
    if let Some(status) = &e.all_connectors {
        match run_statuses(host, None) {
            Ok(statuses) => {
                let wrong: Vec<String> = statuses
                    .iter()
                    .filter(|(_, s)| !s.eq_ignore_ascii_case(status))
                    .map(|(n, s)| format!("{n}: {s}"))
                    .collect();
                if statuses.is_empty() || !wrong.is_empty() {
                    problems.push(format!(
                        "expected every connector's last run status to be {status}, got {}",
                        if statuses.is_empty() {
                            "no connectors".to_owned()
                        } else {
                            wrong.join(", ")
                        }
                    ));
                }
            }
            Err(err) => problems.push(format!(
                "expected every connector's last run status to be {status}; the host could not show the connectors: {err}"
            )),
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn describe_event(e: &EventExpect) -> String {
    let mut parts = Vec::new();
    if let Some(l) = &e.log {
        parts.push(format!("log {l}"));
    }
    if let Some(i) = e.id {
        parts.push(format!("id {i}"));
    }
    if let Some(s) = &e.source {
        parts.push(format!("source {s:?}"));
    }
    if let Some(t) = &e.text {
        parts.push(format!("text {t:?}"));
    }
    format!("({})", parts.join(", "))
}

fn refused(text: String) -> Outcome {
    Outcome {
        code: REFUSED_CODE,
        text,
        ..Outcome::default()
    }
}

/// Runs a runbook line (`diagnose`, `remediate`): its outcome with the events written while it
/// ran. When it fails part way, a simulated world returns to where it was (a real host cannot
/// undo what ran).
fn run_runbook_line(host: &mut dyn Host, runbook: &crate::command::Runbook) -> Outcome {
    let mark = host.event_mark().ok();
    if let Some(s) = host.simulated() {
        s.checkpoint();
    }
    match crate::remedy::run_runbook(host, runbook) {
        Ok(mut o) => {
            if let Some(s) = host.simulated() {
                s.commit();
            }
            if let Some(m) = mark {
                o.events = host.events_since(m).unwrap_or_default();
            }
            o
        }
        Err(e) => {
            if let Some(s) = host.simulated() {
                s.rollback();
            }
            refused(e.to_string())
        }
    }
}

/// Runs one filled line on `host`: a line that does not parse gets [`USAGE_CODE`], a command
/// the host refuses gets [`REFUSED_CODE`] and changes nothing (docs/design.md §4: it applies
/// fully or not at all).
pub(crate) fn run_line(host: &mut dyn Host, line: &str) -> (Option<Line>, Outcome) {
    match Line::parse(line) {
        Ok(l) => {
            let outcome = match &l {
                Line::Command(c) => match host.run(c) {
                    Ok(o) => o,
                    Err(HostError::Refused { reason, .. }) => refused(reason),
                    Err(e) => refused(e.to_string()),
                },
                Line::Runbook(r) => run_runbook_line(host, r),
            };
            (Some(l), outcome)
        }
        Err(e) => (
            None,
            Outcome {
                code: USAGE_CODE,
                text: e.to_string(),
                ..Outcome::default()
            },
        ),
    }
}

/// The sealing key only protects state at rest; an in-memory world derives it from the seed
/// (and its nonces from the key: [`Sealer::in_memory`]).
pub fn memory_sealer(seed: u64) -> Sealer {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    Sealer::in_memory(key)
}

/// The placeholder values that are passwords: what reports must redact.
pub(crate) fn secret_values(values: &[(String, String)]) -> Vec<String> {
    values
        .iter()
        .filter(|(k, v)| k.contains("password") && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// `s` with every secret replaced by `********`.
pub(crate) fn redact_with(secrets: &[String], s: &str) -> String {
    let mut s = s.to_owned();
    for p in secrets {
        s = s.replace(p.as_str(), "********");
    }
    s
}

/// Runs a scenario from `file`'s text in a fresh in-memory world. `seed` overrides the file's.
pub fn run_scenario(
    file: &str,
    scenario: &Scenario,
    seed: Option<u64>,
) -> Result<ScenarioReport, ScenarioError> {
    run_scenario_observed(file, scenario, seed, &mut |_, _| {})
}

fn empty_report(file: &str, scenario: &Scenario, seed: u64) -> ScenarioReport {
    let mut report = ScenarioReport {
        file: file.to_owned(),
        name: scenario.name.clone(),
        evidence: scenario.evidence,
        seed,
        steps: vec![],
        error: None,
        journal_hash: String::new(),
        recorded: Scenario {
            steps: vec![],
            ..scenario.clone()
        },
        journal: vec![],
    };
    report.recorded.world.seed = Some(seed);
    report
}

/// [`run_scenario`], calling `observe` with each step's 0-based index and the world after it
/// (property tests use it to check invariants, such as remediation healing, at every point).
pub fn run_scenario_observed(
    file: &str,
    scenario: &Scenario,
    seed: Option<u64>,
    observe: &mut dyn FnMut(usize, &World),
) -> Result<ScenarioReport, ScenarioError> {
    let options = scenario.options(file, seed)?;
    let mut report = empty_report(file, scenario, options.seed);
    let (mut world, init) = match World::new(&options, memory_sealer(options.seed)) {
        Ok(w) => w,
        Err(e) => {
            report.error = Some(format!("the world could not be made: {e}"));
            return Ok(report);
        }
    };
    let mut host = SimHost::new(&mut world);
    let tenant = host.tenant().ok().flatten().unwrap_or_default();
    let values = placeholders(&init, &tenant);
    let mut journal = run_steps(&mut host, scenario, &values, &mut report, &mut |i, h| {
        if let Some(s) = h.simulated() {
            observe(i, s.world());
        }
    });
    // The final state, so two runs that print the same but leave different worlds differ.
    journal.update(crate::backend::Simulated::fingerprint(&host));
    report.journal_hash = hex::encode(journal.finalize());
    Ok(report)
}

/// Runs a scenario on `host` as it is: no world is made, so the file's `[world]` is not used and
/// only `values` fill placeholders. The journal hash covers the steps (a real host has no state
/// to hash). Run [`super::preflight::refusals`] first: a step the host cannot do fails here.
pub fn run_scenario_on(
    host: &mut dyn Host,
    file: &str,
    scenario: &Scenario,
    values: &[(String, String)],
) -> ScenarioReport {
    let mut report = empty_report(file, scenario, scenario.world.seed.unwrap_or(0));
    let journal = run_steps(host, scenario, values, &mut report, &mut |_, _| {});
    report.journal_hash = hex::encode(journal.finalize());
    report
}

/// Runs the steps on `host` into `report`, calling `observe` after each; the journal so far.
///
/// Longer than 80 lines on purpose: one step's life in order (fill, run, journal, check,
/// record), which reads best in one place.
fn run_steps(
    host: &mut dyn Host,
    scenario: &Scenario,
    values: &[(String, String)],
    report: &mut ScenarioReport,
    observe: &mut dyn FnMut(usize, &mut dyn Host),
) -> Sha256 {
    let mut journal = Sha256::new();
    let secrets = secret_values(values);
    let redact = |s: &str| redact_with(&secrets, s);
    for step in &scenario.steps {
        let line = match fill(&step.run, values) {
            Ok(l) => l,
            Err(why) => {
                report.steps.push(StepReport {
                    run: step.run.clone(),
                    code: USAGE_CODE,
                    output: String::new(),
                    events: vec![],
                    failure: Some(why),
                });
                break;
            }
        };
        let (parsed, outcome) = run_line(host, &line);
        let failure = check(host, parsed.as_ref(), step.expect.as_ref(), &outcome);
        // A line that did not parse is shown as the grammar redacts it, so a literal password
        // in it never reaches a report.
        let run = match &parsed {
            Some(Line::Command(c)) => c.redacted(),
            _ => redact(&crate::command::redact_line(&line)),
        };
        let s = StepReport {
            run,
            code: outcome.code,
            output: redact(&outcome.text),
            events: outcome.events.iter().map(event_line).collect(),
            failure,
        };
        report.recorded.steps.push(super::format::Step {
            run: step.run.clone(),
            expect: Some(Expect {
                exit: Some(outcome.code),
                events: outcome
                    .events
                    .iter()
                    .map(|e| EventExpect {
                        log: Some(e.log.as_str().to_owned()),
                        id: Some(e.id),
                        source: Some(e.source.clone()),
                        text: None,
                    })
                    .collect(),
                ..Expect::default()
            }),
            source: step.source.clone(),
        });
        let service = host
            .service_status(ADSYNC_SERVICE)
            .map_or(crate::timeline::Band::Unknown, |s| {
                crate::timeline::Band::of_status(s.as_ref())
            });
        report.journal.push(crate::timeline::Entry {
            seq: report.journal.len() as u64 + 1,
            clock: host.clock().map(|c| c.to_string()).unwrap_or_default(),
            command: s.run.clone(),
            code: s.code,
            service,
            events: outcome
                .events
                .iter()
                .map(|e| EventRecord {
                    message: redact(&e.message),
                    ..e.clone()
                })
                .collect(),
        });
        let mut entry = format!("{}\n{}\n{}\n", s.run, s.code, s.output);
        for e in &s.events {
            let _ = writeln!(entry, "{e}");
        }
        journal.update(entry.as_bytes());
        observe(report.steps.len(), host);
        let stop = s.failure.is_some();
        report.steps.push(s);
        if stop {
            break;
        }
    }
    journal
}
