//! Runs a scenario in a fresh in-memory world: each step's placeholders are filled from what the
//! install generated, the line runs through the one command language, and its expectations are
//! checked against the outcome (docs/design.md §6). A step that fails stops the scenario and says what was
//! expected, what happened, and how to replay it.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use super::format::{EventExpect, Expect, Scenario, ScenarioError};
use crate::backend::SimHost;
use crate::command::{Command, parse_line};
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
pub(crate) fn placeholders(r: &InitReport, tenant: &str) -> Vec<(String, String)> {
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
pub(crate) fn fill(line: &str, values: &[(String, String)]) -> Result<String, String> {
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

/// Checks a step's expectations; `None` when they hold.
pub(crate) fn check(
    world: &World,
    command: Option<&Command>,
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
        let actual = world
            .state()
            .services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map(|s| s.state.as_str());
        match actual {
            Some(a)
                if crate::win::scm::ServiceState::parse(st).is_some_and(|w| w.as_str() == a) => {}
            a => problems.push(format!(
                "expected service {name} to be {st}, it is {}",
                a.unwrap_or("not installed")
            )),
        }
    }
    if let Some(status) = &e.connector {
        let agents = world.engine().map(|e| e.agents.clone()).unwrap_or_default();
        let named = command.and_then(named_connector);
        let statuses: Vec<(String, String)> = agents
            .iter()
            .filter(|a| named.is_none_or(|n| a.is_named(n)))
            .map(|a| {
                (
                    a.ma_name.clone(),
                    a.last_run
                        .as_ref()
                        .map_or("-", |r| r.status.as_str())
                        .to_owned(),
                )
            })
            .collect();
        if !statuses.iter().any(|(_, s)| s.eq_ignore_ascii_case(status)) {
            problems.push(format!(
                "expected a last run status {status}, got {}",
                statuses
                    .iter()
                    .map(|(n, s)| format!("{n}: {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if let Some(status) = &e.all_connectors {
        let agents = world.engine().map(|e| e.agents.clone()).unwrap_or_default();
        let wrong: Vec<String> = agents
            .iter()
            .filter_map(|a| {
                let s = a.last_run.as_ref().map_or("-", |r| r.status.as_str());
                (!s.eq_ignore_ascii_case(status)).then(|| format!("{}: {s}", a.ma_name))
            })
            .collect();
        if agents.is_empty() || !wrong.is_empty() {
            problems.push(format!(
                "expected every connector's last run status to be {status}, got {}",
                if agents.is_empty() {
                    "no connectors".to_owned()
                } else {
                    wrong.join(", ")
                }
            ));
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

/// `diagnose` and `remediate [--dry-run] [--credential ACCOUNT=PASSWORD]...` as scenario steps:
/// the runbook's own check and fix, run through [`SimHost`] (result code 0 when the server is,
/// or ends, healthy; 1 otherwise; 2 for bad options). `None` for any other line.
fn remedy_step(world: &mut World, line: &str) -> Option<Outcome> {
    let words = crate::command::split_words(line).ok()?;
    let (verb, rest) = words.split_first()?;
    let verb = verb.to_ascii_lowercase();
    if verb != "diagnose" && verb != "remediate" {
        return None;
    }
    let usage = |msg: String| Outcome {
        code: USAGE_CODE,
        text: format!(
            "{verb}: {msg}\nusage: diagnose | remediate [--dry-run] [--credential ACCOUNT=PASSWORD]..."
        ),
        ..Outcome::default()
    };
    let mut dry_run = false;
    let mut given = Vec::new();
    // A stray word is echoed as the grammar redacts it: it may be a password.
    let shown = crate::command::redact_words(&words);
    let mut it = rest.iter().zip(&shown[1..]);
    while let Some((w, seen)) = it.next() {
        match w.as_str() {
            "--dry-run" if verb == "remediate" => dry_run = true,
            "--credential" => match it
                .next()
                .and_then(|(v, _)| crate::remedy::parse_credential(v))
            {
                Some(c) => given.push(c),
                None => return Some(usage("--credential needs ACCOUNT=PASSWORD".into())),
            },
            _ => return Some(usage(format!("unexpected argument '{seen}'"))),
        }
    }
    let before = world.clone();
    let first_new = world.state().events.all().len();
    let mut host = SimHost::new(world);
    for (a, p) in given {
        host.give_password(&a, p);
    }
    let result = if verb == "diagnose" {
        crate::remedy::diagnose(&mut host)
            .map(|d| {
                let plan = crate::remedy::plan(&d, &host);
                (!d.healthy(), d.render(&plan))
            })
            .map_err(crate::remedy::RemedyError::from)
    } else {
        crate::remedy::remediate(&mut host, dry_run).map(|r| (!r.healthy, r.render()))
    };
    Some(match result {
        Ok((unhealthy, text)) => Outcome {
            code: u32::from(unhealthy),
            text,
            events: world.state().events.all()[first_new.min(world.state().events.all().len())..]
                .to_vec(),
            ..Outcome::default()
        },
        Err(e) => {
            *world = before;
            Outcome {
                code: REFUSED_CODE,
                text: e.to_string(),
                ..Outcome::default()
            }
        }
    })
}

/// Runs one filled line in `world`: a line that does not parse gets [`USAGE_CODE`], a command
/// the world refuses gets [`REFUSED_CODE`] and changes nothing (docs/design.md §4: it applies fully or
/// not at all).
pub(crate) fn exec_line(world: &mut World, line: &str) -> (Option<Command>, Outcome) {
    match parse_line(line) {
        Ok(c) => {
            let before = world.clone();
            match world.exec(&c) {
                Ok(o) => (Some(c), o),
                Err(e) => {
                    *world = before;
                    (
                        Some(c),
                        Outcome {
                            code: REFUSED_CODE,
                            text: e.to_string(),
                            ..Outcome::default()
                        },
                    )
                }
            }
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
pub(crate) fn memory_sealer(seed: u64) -> Sealer {
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

/// Runs a scenario from `file`'s text. `seed` overrides the file's.
pub fn run_scenario(
    file: &str,
    scenario: &Scenario,
    seed: Option<u64>,
) -> Result<ScenarioReport, ScenarioError> {
    run_scenario_observed(file, scenario, seed, &mut |_, _| {})
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
    let mut report = ScenarioReport {
        file: file.to_owned(),
        name: scenario.name.clone(),
        evidence: scenario.evidence,
        seed: options.seed,
        steps: vec![],
        error: None,
        journal_hash: String::new(),
        recorded: Scenario {
            steps: vec![],
            ..scenario.clone()
        },
        journal: vec![],
    };
    report.recorded.world.seed = Some(options.seed);
    let mut journal = Sha256::new();
    let (mut world, init) = match World::new(&options, memory_sealer(options.seed)) {
        Ok(w) => w,
        Err(e) => {
            report.error = Some(format!("the world could not be made: {e}"));
            return Ok(report);
        }
    };
    let values = placeholders(&init, &world.state().tenant.name);
    let secrets = secret_values(&values);
    let redact = |s: &str| redact_with(&secrets, s);
    for step in &scenario.steps {
        let line = match fill(&step.run, &values) {
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
        let (command, outcome) = match remedy_step(&mut world, &line) {
            Some(o) => (None, o),
            None => exec_line(&mut world, &line),
        };
        let failure = check(&world, command.as_ref(), step.expect.as_ref(), &outcome);
        // A line that did not parse is shown as the grammar redacts it, so a literal password
        // in it never reaches a report.
        let run = command.as_ref().map_or_else(
            || redact(&crate::command::redact_line(&line)),
            Command::redacted,
        );
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
        report.journal.push(crate::timeline::Entry {
            seq: report.journal.len() as u64 + 1,
            clock: world.now().to_string(),
            command: s.run.clone(),
            code: s.code,
            service: crate::timeline::Band::of(&world),
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
        observe(report.steps.len(), &world);
        let stop = s.failure.is_some();
        report.steps.push(s);
        if stop {
            break;
        }
    }
    journal.update(serde_json::to_vec(world.state()).unwrap_or_default());
    report.journal_hash = hex::encode(journal.finalize());
    Ok(report)
}
