//! `diagnose` and `remediate [--dry-run]`: the runbook pipeline (`sim_core::remedy::run_runbook`,
//! the one `exec`, the shell and scenarios use) on the simulated host, as one transaction on the
//! state directory; `diagnose --evidence DIR` over a collected bundle
//! (`sim_core::evidence::EvidenceHost`); and `--host local`, this Windows server.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use sim_core::command::{self, Credential, Runbook};
use sim_core::evidence::EvidenceHost;
use sim_core::remedy;
use sim_store::StateDir;

use crate::cli::{CredentialArgs, DiagnoseArgs, HostChoice, RemediateArgs};
use crate::output::Outcome;

/// `ACCOUNT=PASSWORD` pairs from `--credential`.
pub(crate) fn credentials(args: &CredentialArgs) -> Result<Vec<Credential>> {
    args.credentials
        .iter()
        .map(|c| {
            command::parse_credential(c)
                .map(|(account, password)| Credential { account, password })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--credential must be ACCOUNT=PASSWORD (e.g. 'CONTOSO\\MSOL_1a2b=…'); got a value without an account name before '='"
                    )
                })
        })
        .collect()
}

/// A runbook's outcome as the front end prints it: result code 1 when the server is (or ends)
/// unhealthy.
pub(crate) fn printed(o: sim_core::world::Outcome) -> Outcome {
    Outcome {
        human: o.text,
        json: o.json,
        raw: None,
        result_code: o.code,
    }
}

/// The report of a diagnosis ([`remedy::diagnosis_outcome`]), with what the host could not
/// show (`unknown`) and `notes` (evidence and live hosts).
pub(crate) fn report(
    d: &remedy::Diagnosis,
    plan: &remedy::Plan,
    unknown: &[String],
    notes: &[String],
) -> Result<Outcome> {
    let mut out = printed(remedy::diagnosis_outcome(d, plan)?);
    if !unknown.is_empty() || !notes.is_empty() {
        out.json["unknown"] = json!(unknown);
        out.json["notes"] = json!(notes);
    }
    if !unknown.is_empty() {
        out.human
            .push_str("\nNot shown by this host (left out of the diagnosis, not guessed):\n");
        for u in unknown {
            out.human.push_str(&format!("  - {u}\n"));
        }
    }
    if !notes.is_empty() {
        out.human.push_str("\nNotes:\n");
        for n in notes {
            out.human.push_str(&format!("  - {n}\n"));
        }
    }
    Ok(out)
}

/// Runs a runbook line on the state directory's world: `remediate` without `--dry-run` as one
/// write transaction (every command it ran journaled), the rest read only.
pub(crate) fn on_state(state: &Path, runbook: &Runbook) -> Result<Outcome> {
    let mut dir = StateDir::open(state)?;
    let o = dir
        .with_host(runbook.mutates(), |host| remedy::run_runbook(host, runbook))?
        .context(runbook.verb())?;
    Ok(printed(o))
}

/// `adsync-sim diagnose`: read only; result code 1 when something is wrong.
pub fn diagnose(state: &Path, args: &DiagnoseArgs) -> Result<Outcome> {
    let given = credentials(&args.credentials)?;
    if let Some(dir) = &args.evidence {
        let bundle = crate::evidence_cmd::read_bundle(dir)?;
        let mut host = EvidenceHost::from_bundle(&bundle)
            .with_context(|| format!("reading the evidence bundle {}", dir.display()))?;
        for c in &given {
            host.give_password(&c.account, c.password.clone());
        }
        if let Some(upn) = &args.global_admin {
            host.set_global_administrator(upn);
        }
        let (d, plan) = remedy::diagnose_and_plan(&mut host).context("diagnose")?;
        let mut notes = host.notes().to_vec();
        if !plan.steps.is_empty() {
            notes.push(
                "the plan's lines are for the server itself: type them there (`account reset NAME` is `net user NAME PASSWORD`, with `/domain` for a domain account), or run `adsync-sim remediate --host local` on it".into(),
            );
        }
        return report(&d, &plan, host.unknown(), &notes);
    }
    if args.host == Some(HostChoice::Local) {
        return crate::windows_cmd::diagnose_local(&given, args.global_admin.as_deref());
    }
    on_state(state, &Runbook::Diagnose { credentials: given })
}

/// `adsync-sim remediate [--dry-run]`: result code 0 only when the server ends healthy.
pub fn remediate(state: &Path, args: &RemediateArgs) -> Result<Outcome> {
    let given = credentials(&args.credentials)?;
    if args.host == Some(HostChoice::Local) {
        if !args.dry_run && !args.yes_really_on_this_host {
            anyhow::bail!(
                "remediate --host local changes this server (the SCM's stored password, services, accounts, the ADSync key set); review the plan with --dry-run, then run again with --yes-really-on-this-host"
            );
        }
        return crate::windows_cmd::remediate_local(
            &given,
            args.global_admin.as_deref(),
            args.dry_run,
        );
    }
    on_state(
        state,
        &Runbook::Remediate {
            dry_run: args.dry_run,
            credentials: given,
        },
    )
}
