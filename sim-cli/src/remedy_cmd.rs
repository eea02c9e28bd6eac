//! `diagnose` and `remediate [--dry-run]`: the simulated host behind `sim_core::remedy`, as one
//! transaction on the state directory; `diagnose --evidence DIR` over a collected bundle
//! (`sim_core::evidence::EvidenceHost`); and `--host local`, this Windows server.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use sim_core::backend::SimHost;
use sim_core::command::Secret;
use sim_core::evidence::EvidenceHost;
use sim_core::remedy;
use sim_store::StateDir;

use crate::cli::{CredentialArgs, DiagnoseArgs, HostChoice, RemediateArgs};
use crate::output::Outcome;

/// `ACCOUNT=PASSWORD` pairs from `--credential`.
pub(crate) fn credentials(args: &CredentialArgs) -> Result<Vec<(String, Secret)>> {
    args.credentials
        .iter()
        .map(|c| {
            remedy::parse_credential(c).ok_or_else(|| {
                anyhow::anyhow!(
                    "--credential must be ACCOUNT=PASSWORD (e.g. 'CONTOSO\\MSOL_1a2b=…'); got a value without an account name before '='"
                )
            })
        })
        .collect()
}

fn give(host: &mut SimHost<'_>, given: &[(String, Secret)]) {
    for (a, p) in given {
        host.give_password(a, p.clone());
    }
}

/// The report of a diagnosis: result code 1 when something is wrong. `unknown` and `notes` say
/// what the host could not show (evidence and live hosts).
pub(crate) fn report(
    d: &remedy::Diagnosis,
    plan: &remedy::Plan,
    unknown: &[String],
    notes: &[String],
) -> Result<Outcome> {
    let mut doc = serde_json::to_value(d)?;
    doc["healthy"] = json!(d.healthy());
    doc["plan"] = serde_json::to_value(plan)?;
    let mut human = d.render(plan);
    if !unknown.is_empty() || !notes.is_empty() {
        doc["unknown"] = json!(unknown);
        doc["notes"] = json!(notes);
    }
    if !unknown.is_empty() {
        human.push_str("\nNot shown by this host (left out of the diagnosis, not guessed):\n");
        for u in unknown {
            human.push_str(&format!("  - {u}\n"));
        }
    }
    if !notes.is_empty() {
        human.push_str("\nNotes:\n");
        for n in notes {
            human.push_str(&format!("  - {n}\n"));
        }
    }
    Ok(Outcome {
        human,
        json: doc,
        raw: None,
        result_code: u32::from(!d.healthy()),
    })
}

/// `adsync-sim diagnose`: read only; result code 1 when something is wrong.
pub fn diagnose(state: &Path, args: &DiagnoseArgs) -> Result<Outcome> {
    let given = credentials(&args.credentials)?;
    if let Some(dir) = &args.evidence {
        let bundle = crate::evidence_cmd::read_bundle(dir)?;
        let mut host = EvidenceHost::from_bundle(&bundle)
            .with_context(|| format!("reading the evidence bundle {}", dir.display()))?;
        for (a, p) in &given {
            host.give_password(a, p.clone());
        }
        if let Some(upn) = &args.global_admin {
            host.set_global_administrator(upn);
        }
        let d = remedy::diagnose(&mut host).context("diagnose")?;
        let plan = remedy::plan(&d, &host);
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
    let mut dir = StateDir::open(state)?;
    let (d, plan) = dir
        .with_host(false, |host| {
            give(host, &given);
            let d = remedy::diagnose(host)?;
            let plan = remedy::plan(&d, host);
            Ok::<_, remedy::RemedyError>((d, plan))
        })?
        .context("diagnose")?;
    report(&d, &plan, &[], &[])
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
    let mut dir = StateDir::open(state)?;
    let r = dir
        .with_host(!args.dry_run, |host| {
            give(host, &given);
            remedy::remediate(host, args.dry_run)
        })?
        .context("remediate")?;
    remediation(&r)
}

/// The report of a remediation.
pub(crate) fn remediation(r: &remedy::Remediation) -> Result<Outcome> {
    Ok(Outcome {
        human: r.render(),
        json: serde_json::to_value(r)?,
        raw: None,
        result_code: u32::from(!r.healthy),
    })
}
