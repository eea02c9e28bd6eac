//! Diagnose and remediate (docs/design.md §2 `remedy`): symptoms an administrator can see, the
//! documented cause, and the documented procedure, executed through [`Host`] and verified.
//!
//! [`diagnose`] reads; [`plan`] turns a diagnosis into command lines, each citing the seed
//! article section it follows; [`remediate`] runs the plan, then diagnoses again, up to
//! [`MAX_ROUNDS`] times, because some causes only show once the one in front of them is fixed
//! (after the SCM has the right password, a reset on a 2017 build then shows event 6028). It ends
//! with the verification the articles' "Next steps" imply: the service runs and a delta sync
//! cycle succeeds on every connector. Remediation only produces and runs commands; it never
//! reaches into the world, so it runs unchanged against a Windows host.

mod diagnose;
mod plan;
mod report;
mod runbook;

use std::collections::BTreeMap;

pub use diagnose::{Cause, Diagnosis, Finding, diagnose};
pub use plan::{Missing, Plan, PlanStep, StepError, plan};
pub use runbook::{diagnose_and_plan, diagnosis_outcome, remediation_outcome, run_runbook};

/// `--credential ACCOUNT=PASSWORD`'s parser, which the command language owns.
pub use crate::command::parse_credential;

use serde::Serialize;

use crate::adsync::run::PolicyType;
use crate::backend::{ConnectorStatus, Host, HostError};
use crate::command::{Command, Secret};
use crate::win::scm::ServiceState;
use crate::world::ADSYNC_SERVICE;

/// How many diagnose-plan-run rounds remediation tries before it gives up (named choice: the
/// deepest chain is a stopped service, then the SCM password, then a writable DC for a domain
/// account, then the abandoned key on a March 2017 build, then verification).
pub const MAX_ROUNDS: usize = 5;

/// One step as it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRun {
    /// The line as shown (passwords as references).
    pub run: String,
    /// The article section it follows.
    pub source: String,
    /// Its result code.
    pub code: u32,
    /// What it printed (first line).
    pub output: String,
}

/// One round: what was seen, what was planned, what ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Round {
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// The plan.
    pub plan: Plan,
    /// The steps that ran (a failed step is the last).
    pub ran: Vec<StepRun>,
}

/// The final check: the service runs and a delta cycle succeeds on every connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The service's state.
    pub service: Option<ServiceState>,
    /// `Start-ADSyncSyncCycle -PolicyType Delta`'s result code.
    pub cycle_code: Option<u32>,
    /// The connectors after the cycle.
    pub connectors: Vec<ConnectorStatus>,
    /// Whether all of it is healthy.
    pub healthy: bool,
}

/// What remediation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remediation {
    /// The host.
    pub host: String,
    /// Whether only the plan was made.
    pub dry_run: bool,
    /// The rounds.
    pub rounds: Vec<Round>,
    /// The last verification.
    pub verification: Option<Verification>,
    /// Whether the server ended healthy.
    pub healthy: bool,
    /// Why remediation stopped short, if it did.
    pub stopped: Option<String>,
}

/// Remediation could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RemedyError {
    /// The host failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A step could not be made into a command.
    #[error(transparent)]
    Step(#[from] StepError),
    /// A report could not be made into JSON.
    #[error("the report could not be written as JSON: {0}")]
    Json(String),
}

/// Runs one line of a plan.
fn run_step(
    host: &mut dyn Host,
    step: &PlanStep,
    fresh: &mut BTreeMap<String, Secret>,
) -> Result<StepRun, RemedyError> {
    let command = step.command(host, fresh)?;
    let out = host.run(&command)?;
    Ok(StepRun {
        run: step.run.clone(),
        source: step.source.clone(),
        code: out.code,
        output: out.text.lines().next().unwrap_or_default().to_owned(),
    })
}

/// How long the verification waits for a sync cycle already in progress before it starts its
/// own: ten minutes, longer than a scheduled cycle of three forests takes
/// (`crate::world::RUN_PROFILE_SECONDS` per run profile) and shorter than the scheduler's
/// 30-minute interval. Where the host cannot wait (a real server), the refusal stands.
pub const CYCLE_WAIT_SECONDS: u64 = 10 * 60;

/// The verification: the service runs and a delta cycle succeeds on every connector.
pub fn verify(host: &mut dyn Host) -> Result<Verification, RemedyError> {
    let service = host.service_status(ADSYNC_SERVICE)?.map(|s| s.state);
    let mut cycle_code = None;
    if service == Some(ServiceState::Running) {
        let cycle = Command::SyncCycle {
            policy: PolicyType::Delta,
        };
        let mut out = host.run(&cycle)?;
        if out.code == crate::world::CYCLE_BUSY_CODE
            && host
                .run(&Command::ClockAdvance {
                    secs: CYCLE_WAIT_SECONDS,
                })
                .is_ok()
        {
            // The 2023 article: "If a synchronization is in progress, wait until it
            // completes"; then the verification's own cycle runs.
            out = host.run(&cycle)?;
        }
        cycle_code = Some(out.code);
    }
    let connectors = host.connectors()?;
    let healthy = service == Some(ServiceState::Running)
        && cycle_code == Some(0)
        && connectors
            .iter()
            .all(|c| c.last_run.as_deref() == Some("success"));
    Ok(Verification {
        service,
        cycle_code,
        connectors,
        healthy,
    })
}

/// Diagnoses, plans and (unless `dry_run`) runs the plan and verifies, round by round, until the
/// server is healthy, a plan cannot run, or [`MAX_ROUNDS`] rounds have passed.
pub fn remediate(host: &mut dyn Host, dry_run: bool) -> Result<Remediation, RemedyError> {
    let mut r = Remediation {
        host: host.describe(),
        dry_run,
        rounds: Vec::new(),
        verification: None,
        healthy: false,
        stopped: None,
    };
    for _ in 0..MAX_ROUNDS {
        let diagnosis = diagnose(host)?;
        let plan = plan(&diagnosis, host);
        let healthy_looking = diagnosis.healthy();
        let blocked = if !plan.unfixable.is_empty() {
            Some(format!(
                "no documented procedure fixes this from the server: {}",
                plan.unfixable.join(" ")
            ))
        } else if !plan.missing.is_empty() {
            Some(format!(
                "the plan needs passwords nobody has given: {}",
                plan.missing
                    .iter()
                    .map(|m| format!("{} (for {})", m.account, m.needed_for))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            None
        };
        let mut round = Round {
            diagnosis,
            plan,
            ran: Vec::new(),
        };
        if dry_run {
            r.healthy = healthy_looking;
            r.stopped = blocked;
            r.rounds.push(round);
            return Ok(r);
        }
        if let Some(why) = blocked {
            r.stopped = Some(why);
            r.rounds.push(round);
            return Ok(r);
        }
        if !healthy_looking {
            let mut fresh = BTreeMap::new();
            for step in &round.plan.steps.clone() {
                let ran = run_step(host, step, &mut fresh)?;
                let failed = ran.code != 0;
                round.ran.push(ran);
                if failed {
                    break;
                }
            }
        }
        r.rounds.push(round);
        // Run statuses only change when connectors run: the verification's cycle is also what
        // shows the next round whether the connectors work now.
        let v = verify(host)?;
        let ok = v.healthy;
        r.verification = Some(v);
        if ok {
            r.healthy = true;
            return Ok(r);
        }
    }
    r.stopped = Some(format!(
        "the server is not healthy after {MAX_ROUNDS} rounds of diagnosis and remediation"
    ));
    Ok(r)
}
