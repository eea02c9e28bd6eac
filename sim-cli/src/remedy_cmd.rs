//! `diagnose` and `remediate [--dry-run]`: the simulated host behind `sim_core::remedy`, as one
//! transaction on the state directory.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use sim_core::backend::SimHost;
use sim_core::command::Secret;
use sim_core::remedy;
use sim_core::store::StateDir;

use crate::cli::{CredentialArgs, RemediateArgs};
use crate::output::Outcome;

/// `ACCOUNT=PASSWORD` pairs from `--credential`.
fn credentials(args: &CredentialArgs) -> Result<Vec<(String, Secret)>> {
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

/// `adsync-sim diagnose`: read only; result code 1 when something is wrong.
pub fn diagnose(state: &Path, args: &CredentialArgs) -> Result<Outcome> {
    let given = credentials(args)?;
    let mut dir = StateDir::open(state)?;
    let (d, plan) = dir
        .with_host(false, |host| {
            give(host, &given);
            let d = remedy::diagnose(host)?;
            let plan = remedy::plan(&d, host);
            Ok::<_, remedy::RemedyError>((d, plan))
        })?
        .context("diagnose")?;
    let mut doc = serde_json::to_value(&d)?;
    doc["healthy"] = json!(d.healthy());
    doc["plan"] = serde_json::to_value(&plan)?;
    Ok(Outcome {
        human: d.render(&plan),
        json: doc,
        raw: None,
        result_code: u32::from(!d.healthy()),
    })
}

/// `adsync-sim remediate [--dry-run]`: result code 0 only when the server ends healthy.
pub fn remediate(state: &Path, args: &RemediateArgs) -> Result<Outcome> {
    let given = credentials(&args.credentials)?;
    let mut dir = StateDir::open(state)?;
    let r = dir
        .with_host(!args.dry_run, |host| {
            give(host, &given);
            remedy::remediate(host, args.dry_run)
        })?
        .context("remediate")?;
    Ok(Outcome {
        human: r.render(),
        json: serde_json::to_value(&r)?,
        raw: None,
        result_code: u32::from(!r.healthy),
    })
}
