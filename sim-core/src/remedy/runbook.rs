//! The runbook verbs as every front end runs them: `diagnose` (diagnose, then plan, then the
//! report) and `remediate [--dry-run]`, over any [`Host`], with the passwords given on the line
//! in front of what the host knows ([`Given`]). The command line's `diagnose` and `remediate`,
//! `exec`, the shell, scenario and lab steps all come here, so each prints the same report and
//! ends with the same result code: 0 when the server is (or ends) healthy, 1 otherwise.

use serde_json::json;

use super::{Diagnosis, Plan, Remediation, RemedyError, diagnose, plan, remediate};
use crate::backend::{Given, Host};
use crate::command::Runbook;
use crate::world::Outcome;

/// Diagnoses `host` and plans the documented fix: the first half of `diagnose`, which every
/// host's `diagnose` (simulated, evidence bundle, this server) goes through.
pub fn diagnose_and_plan(host: &mut dyn Host) -> Result<(Diagnosis, Plan), RemedyError> {
    let d = diagnose(host)?;
    let p = plan(&d, host);
    Ok((d, p))
}

/// A diagnosis and its plan as `diagnose` reports them: the rendered report, the diagnosis as
/// JSON with `healthy` and `plan`, and result code 1 when something is wrong.
pub fn diagnosis_outcome(d: &Diagnosis, plan: &Plan) -> Result<Outcome, RemedyError> {
    let json_err = |e: serde_json::Error| RemedyError::Json(e.to_string());
    let mut doc = serde_json::to_value(d).map_err(json_err)?;
    doc["healthy"] = json!(d.healthy());
    doc["plan"] = serde_json::to_value(plan).map_err(json_err)?;
    Ok(Outcome {
        code: u32::from(!d.healthy()),
        text: d.render(plan),
        json: doc,
        events: Vec::new(),
    })
}

/// A remediation as `remediate` reports it: result code 0 only when the server ended healthy.
pub fn remediation_outcome(r: &Remediation) -> Result<Outcome, RemedyError> {
    Ok(Outcome {
        code: u32::from(!r.healthy),
        text: r.render(),
        json: serde_json::to_value(r).map_err(|e| RemedyError::Json(e.to_string()))?,
        events: Vec::new(),
    })
}

/// Runs a runbook verb on `host`. The outcome carries no events: a caller that shows them asks
/// the host for the records written meanwhile ([`Host::events_since`]).
pub fn run_runbook(host: &mut dyn Host, runbook: &Runbook) -> Result<Outcome, RemedyError> {
    let mut host = Given::new(host, runbook.credentials());
    match runbook {
        Runbook::Diagnose { .. } => {
            let (d, p) = diagnose_and_plan(&mut host)?;
            diagnosis_outcome(&d, &p)
        }
        Runbook::Remediate { dry_run, .. } => remediation_outcome(&remediate(&mut host, *dry_run)?),
    }
}
