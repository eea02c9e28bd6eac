//! `scenario run PATH... [--format human|json|junit] [--out FILE] [--seed N] [--host sim|windows]`
//! (docs/design.md §4, §6): scenario files and folders (recursive, `*.toml`), each in a fresh
//! in-memory world, in parallel across cores, reported in a stable order; or, with `--host
//! windows`, one after the other on this machine through the Windows backend, after a pre-flight
//! that refuses, by step, what a machine without ADSync cannot do
//! (`sim_core::scenario::preflight`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{Value, json};
use sim_core::limits::MAX_TOML_BYTES;
use sim_core::scenario::preflight::refusals;
use sim_core::scenario::{Scenario, ScenarioReport, run_scenario, run_scenario_on};

use crate::cli::{Format, ScenarioHost, ScenarioRunArgs};
use crate::output::Outcome;

/// Every `*.toml` under the paths, sorted within each folder, each file once
/// ([`crate::input::collect_tomls`]).
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let out = crate::input::collect_tomls(paths, "scenario")?;
    if out.is_empty() {
        bail!(
            "no scenario files (*.toml) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(out)
}

fn run_one(path: &Path, seed: Option<u64>) -> Result<ScenarioReport> {
    let name = path.display().to_string();
    let text =
        crate::input::read_text_bounded(path, MAX_TOML_BYTES, "MAX_TOML_BYTES", "scenario file")?;
    if is_lab(&text) {
        return lab_as_scenario(&name, &text);
    }
    let scenario = Scenario::parse(&name, &text)?;
    Ok(run_scenario(&name, &scenario, seed)?)
}

/// Whether a file is a lab (a top-level `[lab]` table): `scenario run scenarios/` meets
/// `scenarios/labs/` too.
fn is_lab(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("lab"))
}

/// A lab file in a scenario run is verified as `lab verify` does it (it starts broken, its
/// solution makes every objective hold) and reported as a scenario whose steps are the
/// solution's lines.
fn lab_as_scenario(name: &str, text: &str) -> Result<ScenarioReport> {
    let lab = sim_core::lab::Lab::parse(name, text)?;
    let v = sim_core::lab::verify(&lab);
    let d = &lab.def;
    Ok(ScenarioReport {
        file: name.to_owned(),
        name: d.name.clone(),
        evidence: d.evidence,
        seed: d.world.seed.unwrap_or(0),
        steps: v
            .solution
            .iter()
            .map(|s| sim_core::scenario::StepReport {
                run: s.run.clone(),
                code: s.code,
                output: s.output.clone(),
                events: vec![],
                failure: None,
            })
            .collect(),
        error: (!v.passed()).then(|| format!("lab verify: {}", v.problems.join("; "))),
        journal_hash: String::new(),
        recorded: Scenario {
            name: d.name.clone(),
            summary: d.summary.clone(),
            source: d.source.clone(),
            evidence: d.evidence,
            world: d.world.clone(),
            steps: vec![],
        },
        journal: vec![],
    })
}

/// Runs the scenarios on every core, keeping the order of the files.
fn run_all(files: &[PathBuf], seed: Option<u64>) -> Vec<Result<ScenarioReport>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<ScenarioReport>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break mine };
                        mine.push((i, run_one(f, seed)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut slots: Vec<Option<Result<ScenarioReport>>> = files.iter().map(|_| None).collect();
    for (i, r) in done.drain(..) {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("the scenario did not run"))))
        .collect()
}

fn replay(r: &ScenarioReport, host: ScenarioHost) -> String {
    match host {
        ScenarioHost::Sim => format!("adsync-sim scenario run '{}' --seed {}", r.file, r.seed),
        ScenarioHost::Windows => format!(
            "adsync-sim scenario run '{}' --host windows --yes-really-on-this-host",
            r.file
        ),
    }
}

fn human(
    files: &[PathBuf],
    results: &[Result<ScenarioReport>],
    host: ScenarioHost,
) -> (String, usize) {
    let mut out = String::new();
    let mut failed = 0;
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(r) if r.passed() => {
                out.push_str(&format!(
                    "PASS  {} ({} steps)  {}\n",
                    r.name,
                    r.steps.len(),
                    f.display()
                ));
            }
            Ok(r) => {
                failed += 1;
                out.push_str(&format!("FAIL  {}  {}\n", r.name, f.display()));
                if let Some(e) = &r.error {
                    out.push_str(&format!("      {e}\n"));
                }
                if let Some((n, s)) = r.failed_step() {
                    out.push_str(&format!("      step {n}: {}\n", s.run));
                    out.push_str(&format!("      {}\n", s.failure.as_deref().unwrap_or("")));
                    out.push_str(&format!("      result code {}; output:\n", s.code));
                    for l in s.output.lines() {
                        out.push_str(&format!("        | {l}\n"));
                    }
                    for e in &s.events {
                        out.push_str(&format!("        event {e}\n"));
                    }
                }
                out.push_str(&format!("      replay: {}\n", replay(r, host)));
            }
            Err(e) => {
                failed += 1;
                out.push_str(&format!("ERROR {}: {e:#}\n", f.display()));
            }
        }
    }
    let ok: Vec<&ScenarioReport> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut evidence = std::collections::BTreeMap::<&str, usize>::new();
    for r in &ok {
        *evidence
            .entry(r.evidence.map_or("unrated", |e| e.as_str()))
            .or_default() += 1;
    }
    out.push_str(&format!(
        "\n{} scenarios: {} passed, {failed} failed. Evidence: {}\n",
        results.len(),
        results.len() - failed,
        evidence
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    (out, failed)
}

fn step_json(s: &sim_core::scenario::StepReport) -> Value {
    json!({"run": s.run, "result_code": s.code, "output": s.output, "events": s.events, "failure": s.failure})
}

fn json_report(files: &[PathBuf], results: &[Result<ScenarioReport>], host: ScenarioHost) -> Value {
    let rows: Vec<Value> = files
        .iter()
        .zip(results)
        .map(|(f, r)| match r {
            Ok(r) => json!({
                "file": f.display().to_string(),
                "name": r.name,
                "passed": r.passed(),
                "evidence": r.evidence.map(|e| e.as_str()),
                "seed": r.seed,
                "journal_hash": r.journal_hash,
                "error": r.error,
                "failed_step": r.failed_step().map(|(n, _)| n),
                "replay": replay(r, host),
                "steps": r.steps.iter().map(step_json).collect::<Vec<_>>(),
            }),
            Err(e) => {
                json!({"file": f.display().to_string(), "passed": false, "error": format!("{e:#}")})
            }
        })
        .collect();
    let passed = rows.iter().filter(|r| r["passed"] == true).count();
    json!({"scenarios": rows, "passed": passed, "failed": rows.len() - passed})
}

fn junit(
    files: &[PathBuf],
    results: &[Result<ScenarioReport>],
    host: ScenarioHost,
) -> Result<String> {
    let mut report = Report::new("adsync-sim");
    let mut suite = TestSuite::new("scenarios");
    for (f, r) in files.iter().zip(results) {
        let file = f.display().to_string();
        let case = match r {
            Ok(r) => {
                let status = if r.passed() {
                    TestCaseStatus::success()
                } else {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let msg = match (r.failed_step(), &r.error) {
                        (Some((n, s)), _) => format!(
                            "step {n} ({}): {}",
                            s.run,
                            s.failure.as_deref().unwrap_or("")
                        ),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "failed".into(),
                    };
                    st.set_message(msg).set_type("expectation");
                    st.set_description(format!("replay: {}", replay(r, host)));
                    st
                };
                let mut case = TestCase::new(r.name.clone(), status);
                case.set_classname(file.clone());
                let mut out = String::new();
                for (i, s) in r.steps.iter().enumerate() {
                    out.push_str(&format!(
                        "step {}: {}\nresult code {}\n{}\n",
                        i + 1,
                        s.run,
                        s.code,
                        s.output
                    ));
                    for e in &s.events {
                        out.push_str(&format!("event {e}\n"));
                    }
                }
                case.set_system_out(out);
                case
            }
            Err(e) => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(format!("{e:#}"));
                let mut case = TestCase::new(file.clone(), st);
                case.set_classname(file);
                case
            }
        };
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

/// `scenario run --host windows`: every file is read and checked before anything runs (a lab,
/// or a step this machine cannot do, refuses the whole run, naming each step), then the
/// scenarios run one after the other on this machine.
fn run_on_this_machine(
    files: &[PathBuf],
    a: &ScenarioRunArgs,
) -> Result<Vec<Result<ScenarioReport>>> {
    let mut host = crate::windows_cmd::this_machine("scenario run --host windows")?;
    if a.seed.is_some() {
        bail!(
            "--seed chooses the simulated world's randomness; --host windows runs on this machine, which has none to choose"
        );
    }
    let mut scenarios = Vec::new();
    let mut refused = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = crate::input::read_text_bounded(
            path,
            MAX_TOML_BYTES,
            "MAX_TOML_BYTES",
            "scenario file",
        )?;
        if is_lab(&text) {
            refused.push(format!(
                "{name}: a lab runs in the simulated world only (its break steps and objectives need copies of the world)"
            ));
            continue;
        }
        let scenario = Scenario::parse(&name, &text)?;
        refused.extend(
            refusals(&name, &scenario, &[])
                .iter()
                .map(ToString::to_string),
        );
        scenarios.push((name, scenario));
    }
    if !refused.is_empty() {
        bail!(
            "nothing ran: {} without ADSync cannot run these steps:\n  {}",
            host.describe(),
            refused.join("\n  ")
        );
    }
    if !a.yes_really_on_this_host {
        bail!(
            "scenario run --host windows changes this machine ({}): account passwords, the services' logon accounts, starts and stops; read the steps, then run again with --yes-really-on-this-host",
            host.describe()
        );
    }
    Ok(scenarios
        .iter()
        .map(|(name, s)| Ok(run_scenario_on(host.as_mut(), name, s, &[])))
        .collect())
}

/// Runs `scenario run`.
pub fn run(format: Format, a: ScenarioRunArgs) -> Result<Outcome> {
    let files = collect(&a.paths)?;
    if a.record.is_some() && files.len() != 1 {
        bail!(
            "--record writes one scenario: give one file ({} found)",
            files.len()
        );
    }
    let results = match a.host {
        ScenarioHost::Sim => run_all(&files, a.seed),
        ScenarioHost::Windows => run_on_this_machine(&files, &a)?,
    };
    if let (Some(path), Some(Ok(r))) = (&a.record, results.first()) {
        let mut text = format!(
            "# Recorded by `adsync-sim scenario run --record` from {}.\n",
            r.file
        );
        text.push_str(&r.recorded.to_toml());
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let (text, failed) = human(&files, &results, a.host);
    let doc = json_report(&files, &results, a.host);
    let rendered = match format {
        Format::Human => text.clone(),
        Format::Json | Format::Html => format!("{doc}\n"),
        Format::Junit => junit(&files, &results, a.host)?,
    };
    let mut outcome = Outcome {
        human: text.clone(),
        json: doc,
        raw: (format == Format::Junit).then(|| rendered.clone().into_bytes()),
        result_code: u32::from(failed > 0),
    };
    if let Some(out) = &a.out {
        std::fs::write(out, rendered.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
        // The report went to the file; the terminal gets the summary.
        outcome.raw = Some(text.into_bytes());
    }
    Ok(outcome)
}
