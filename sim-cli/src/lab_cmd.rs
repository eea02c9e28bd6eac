//! `lab list | start NAME | brief | hint | check | reset | verify [NAME]`: break/fix labs
//! (`sim_core::lab`) on the world in the state directory. `start` and `reset` make the lab's
//! broken world like `init` does; `check` runs the objectives on copies of the world and keeps
//! the progress in the state; `verify` runs each reference solution in a scratch world.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sim_core::lab::{self, Lab, LabState, Values, VerifyReport};
use sim_core::world::World;
use sim_store::{StateDir, StoreError};

use crate::cli::{LabArgs, LabCommand};
use crate::output::Outcome;

/// Runs a `lab` command.
pub fn run(state: &Path, a: LabArgs) -> Result<Outcome> {
    match a.command {
        LabCommand::List => list(&catalogue(a.labs.as_deref())?),
        LabCommand::Start { name, force } => {
            let labs = catalogue(a.labs.as_deref())?;
            let lab = lab::find(&labs, &name)?;
            start(state, lab, force, None)
        }
        LabCommand::Brief => {
            let (dir, rec) = active(state)?;
            let (lab, values) = open(&dir, &rec)?;
            brief(&lab, &values, &rec)
        }
        LabCommand::Hint => hint(state),
        LabCommand::Check => check(state),
        LabCommand::Reset => {
            let (dir, rec) = active(state)?;
            let lab = rec.lab()?;
            drop(dir);
            start(state, &lab, true, Some(rec))
        }
        LabCommand::Verify { name } => {
            let labs = catalogue(a.labs.as_deref())?;
            let chosen: Vec<&Lab> = match &name {
                Some(n) => vec![lab::find(&labs, n)?],
                None => labs.iter().collect(),
            };
            verify(&chosen)
        }
    }
}

/// The built-in labs, or the `*.toml` files of `dir`.
fn catalogue(dir: Option<&Path>) -> Result<Vec<Lab>> {
    let Some(dir) = dir else {
        return Ok(lab::catalogue::builtin()?);
    };
    // The folder's own *.toml files (each once, bounded), not its subfolders.
    let files: Vec<PathBuf> = crate::input::collect_tomls(&[dir.to_path_buf()], "lab")?
        .into_iter()
        .filter(|f| f.parent() == Some(dir))
        .collect();
    if files.is_empty() {
        bail!("no lab files (*.toml) in {}", dir.display());
    }
    files
        .iter()
        .map(|f| {
            let name = f.display().to_string();
            let text = crate::input::read_text_bounded(
                f,
                sim_core::limits::MAX_TOML_BYTES,
                "MAX_TOML_BYTES",
                "lab file",
            )?;
            Ok(Lab::parse(&name, &text)?)
        })
        .collect()
}

fn list(labs: &[Lab]) -> Result<Outcome> {
    let mut human = String::new();
    for (i, l) in labs.iter().enumerate() {
        human.push_str(&format!(
            "{:>2}  {:<40} {}\n    {}\n",
            i + 1,
            l.def.name,
            l.def.lab.title,
            l.def.summary
        ));
    }
    human.push_str(&format!(
        "\n{} labs. Start one with: adsync-sim lab start NAME",
        labs.len()
    ));
    let rows: Vec<Value> = labs
        .iter()
        .map(|l| {
            json!({
                "name": l.def.name,
                "title": l.def.lab.title,
                "summary": l.def.summary,
                "source": l.def.source,
                "file": l.file,
                "objectives": l.def.lab.objectives.len(),
                "hints": l.def.lab.hints.len(),
            })
        })
        .collect();
    Ok(Outcome {
        human,
        json: json!({ "labs": rows }),
        raw: None,
        result_code: 0,
    })
}

/// Makes the lab's broken world in `state`. A world already there is replaced when it is a lab
/// (or `force`); `previous` keeps its progress (`lab reset`).
fn start(state: &Path, lab: &Lab, force: bool, previous: Option<LabState>) -> Result<Outcome> {
    let mut replace = force;
    match StateDir::open(state) {
        Ok(dir) => {
            if dir.lab()?.is_some() {
                replace = true;
            } else if !force {
                bail!(
                    "{} holds a world made by `init`, not a lab; pass --force to replace it",
                    state.display()
                );
            }
        }
        Err(StoreError::NoWorld { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let verb = if previous.is_some() { "reset" } else { "start" };
    let (dir, _) = StateDir::create_with(state, replace, |sealer| {
        let started = lab::start(lab, sealer.clone())?;
        let mut rec = LabState::new(lab, &started.values, &sealer);
        if let Some(p) = previous {
            rec.progress = p.progress;
        }
        Ok((
            started.world,
            sim_core::world::Outcome::default(),
            format!("lab {verb} {}", lab.def.name),
            Some(rec),
        ))
    })?;
    let (dir_lab, values) = {
        let rec = dir.lab()?.context("the lab record was not written")?;
        let (l, v) = open(&dir, &rec)?;
        (l, (v, rec))
    };
    let (values, rec) = values;
    let mut out = brief(&dir_lab, &values, &rec)?;
    let head = if verb == "reset" {
        format!(
            "Lab {} is broken again in {}.\n\n",
            lab.def.name,
            state.display()
        )
    } else {
        format!(
            "Lab {} started in {}. Work on AADCONNECT01 with `adsync-sim shell` (or `adsync-sim exec`), then run `adsync-sim lab check`.\n\n",
            lab.def.name,
            state.display()
        )
    };
    out.human = format!("{head}{}", out.human);
    out.json["state"] = json!(state.display().to_string());
    Ok(out)
}

fn active(state: &Path) -> Result<(StateDir, LabState)> {
    let dir = StateDir::open(state)?;
    let Some(rec) = dir.lab()? else {
        bail!(
            "the world in {} is not a lab: start one with `adsync-sim lab start NAME` (see `adsync-sim lab list`)",
            state.display()
        );
    };
    Ok((dir, rec))
}

fn open(dir: &StateDir, rec: &LabState) -> Result<(Lab, Values)> {
    let lab = rec.lab()?;
    let values = rec.values(|n, s| dir.open_sealed(n, s))?;
    Ok((lab, values))
}

fn brief(lab: &Lab, values: &Values, rec: &LabState) -> Result<Outcome> {
    let text = values
        .fill(&lab.def.lab.brief)
        .map_err(|e| anyhow::anyhow!("{}: lab.brief: {e}", lab.file))?;
    let human = format!(
        "{}\n{}\n\n{}\n\n{} objectives; {} hints (adsync-sim lab hint, {} points each).",
        lab.def.lab.title,
        "=".repeat(lab.def.lab.title.chars().count()),
        text.trim(),
        lab.def.lab.objectives.len(),
        lab.def.lab.hints.len(),
        lab::HINT_COST
    );
    Ok(Outcome {
        human,
        json: json!({
            "lab": rec.name,
            "title": lab.def.lab.title,
            "brief": text.trim(),
            "objectives": lab.def.lab.objectives.iter().map(|o| o.title.clone()).collect::<Vec<_>>(),
            "hints": lab.def.lab.hints.len(),
            "hints_shown": rec.progress.hints_shown,
        }),
        raw: None,
        result_code: 0,
    })
}

/// The lab record changed by `f` in one write transaction with the world it reads, so parallel
/// `lab hint` and `lab check` runs each count (none of their updates is lost).
fn update<T>(
    state: &Path,
    f: impl FnOnce(&World, &mut LabState, Lab, Values) -> Result<T>,
) -> Result<(T, LabState)> {
    let (mut dir, _) = active(state)?;
    let done = dir.update_lab(|sealer, world, rec| {
        let lab = rec.lab()?;
        let values = rec.values(|n, s| sealer.open(n, s))?;
        f(world, rec, lab, values).map(|t| (t, rec.clone()))
    })?;
    match done {
        Some(r) => r,
        None => bail!("the world in {} is no longer a lab", state.display()),
    }
}

fn hint(state: &Path) -> Result<Outcome> {
    let ((lab, values), rec) = update(state, |_, rec, lab, values| {
        if rec.progress.hints_shown < lab.def.lab.hints.len() {
            rec.progress.hints_shown += 1;
        }
        Ok((lab, values))
    })?;
    let hints = &lab.def.lab.hints;
    let total = hints.len();
    let shown = rec.progress.hints_shown;
    let mut human = String::new();
    for (i, h) in hints.iter().take(shown).enumerate() {
        let text = values.fill(h).map_err(|e| anyhow::anyhow!("{e}"))?;
        human.push_str(&format!("Hint {} of {total}: {text}\n", i + 1));
    }
    if shown == total {
        human.push_str("That was the last hint.");
    }
    let newest = hints
        .get(shown.saturating_sub(1))
        .map(|h| values.fill(h).unwrap_or_default());
    Ok(Outcome {
        human: human.trim_end().to_owned(),
        json: json!({ "lab": rec.name, "hint": newest, "number": shown, "hints": total }),
        raw: None,
        result_code: 0,
    })
}

fn check(state: &Path) -> Result<Outcome> {
    let ((lab, report, score), rec) = update(state, |world, rec, lab, values| {
        let report = lab::check(&lab, world, &values);
        let score = rec.progress.record(&report);
        Ok((lab, report, score))
    })?;
    let total = report.objectives.len();
    let met = report.met();
    let mut human = format!("Lab {}: {}\n\n", rec.name, lab.def.lab.title);
    for o in &report.objectives {
        human.push_str(&format!(
            "  [{}] {}\n",
            if o.met { "x" } else { " " },
            o.title
        ));
        if let Some(w) = &o.why {
            human.push_str(&format!("      not yet: {w}\n"));
        }
    }
    human.push_str(&format!(
        "\n{met} of {total} objectives met. Score {score}/100 ({} hints used, check {}).",
        rec.progress.hints_shown, rec.progress.checks
    ));
    if report.all_met() {
        human.push_str("\nSolved: synchronization is healthy again.");
    }
    Ok(Outcome {
        human,
        json: json!({
            "lab": rec.name,
            "objectives": report.objectives,
            "met": met,
            "total": total,
            "score": score,
            "best_score": rec.progress.best_score,
            "hints_shown": rec.progress.hints_shown,
            "checks": rec.progress.checks,
            "solved": report.all_met(),
        }),
        raw: None,
        // Like a failing test: not solved yet is a failure of the command.
        result_code: u32::from(!report.all_met()),
    })
}

fn verify(labs: &[&Lab]) -> Result<Outcome> {
    // The labs are independent: verify them on every core, keeping the order.
    let reports: Vec<VerifyReport> = std::thread::scope(|s| {
        let handles: Vec<_> = labs.iter().map(|l| s.spawn(|| lab::verify(l))).collect();
        handles
            .into_iter()
            .zip(labs)
            .map(|(h, l)| {
                h.join().unwrap_or_else(|_| VerifyReport {
                    name: l.def.name.clone(),
                    file: l.file.clone(),
                    before: None,
                    solution: vec![],
                    after: None,
                    problems: vec!["verification panicked".into()],
                })
            })
            .collect()
    });
    let mut human = String::new();
    let mut failed = 0;
    for r in &reports {
        let counts = |c: &Option<lab::CheckReport>| {
            c.as_ref().map_or("-".to_owned(), |c| {
                format!("{}/{}", c.met(), c.objectives.len())
            })
        };
        if r.passed() {
            human.push_str(&format!(
                "PASS  {:<40} starts broken ({} objectives met), solution {} lines, then {}\n",
                r.name,
                counts(&r.before),
                r.solution.len(),
                counts(&r.after)
            ));
        } else {
            failed += 1;
            human.push_str(&format!("FAIL  {}  {}\n", r.name, r.file));
            for p in &r.problems {
                human.push_str(&format!("      {p}\n"));
            }
        }
    }
    human.push_str(&format!(
        "\n{} labs: {} verified, {failed} failed.",
        reports.len(),
        reports.len() - failed
    ));
    let rows: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "file": r.file,
                "passed": r.passed(),
                "starts_broken": r.before.as_ref().is_some_and(|c| !c.all_met()),
                "before": r.before,
                "solution": r.solution,
                "after": r.after,
                "problems": r.problems,
            })
        })
        .collect();
    Ok(Outcome {
        human,
        json: json!({ "labs": rows, "verified": reports.len() - failed, "failed": failed }),
        raw: None,
        result_code: u32::from(failed > 0),
    })
}
