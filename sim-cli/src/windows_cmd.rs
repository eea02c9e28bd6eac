//! `probe-service install|run|uninstall` and `parity`: the Windows backend (`sim_windows`),
//! present in builds for Windows with `--features windows`. Elsewhere they fail with a message
//! saying so, instead of being missing.

#[cfg(not(all(windows, feature = "windows")))]
use anyhow::Result;

#[cfg(not(all(windows, feature = "windows")))]
use crate::cli::ProbeServiceCommand;
#[cfg(not(all(windows, feature = "windows")))]
use crate::output::Outcome;

#[cfg(not(all(windows, feature = "windows")))]
fn unavailable(verb: &str) -> Result<Outcome> {
    anyhow::bail!(
        "`adsync-sim {verb}` needs Windows and a build with --features windows (cargo build -p sim-cli --features windows on a Windows host or for x86_64-pc-windows-gnu)"
    )
}

/// `probe-service install|run|uninstall`.
#[cfg(not(all(windows, feature = "windows")))]
pub fn probe_service(cmd: ProbeServiceCommand) -> Result<Outcome> {
    let verb = match cmd {
        ProbeServiceCommand::Install(_) => "probe-service install",
        ProbeServiceCommand::Run(_) => "probe-service run",
        ProbeServiceCommand::Uninstall(_) => "probe-service uninstall",
    };
    unavailable(verb)
}

/// `parity`.
#[cfg(not(all(windows, feature = "windows")))]
pub fn parity() -> Result<Outcome> {
    unavailable("parity")
}

#[cfg(all(windows, feature = "windows"))]
mod real {
    use anyhow::{Context, Result};
    use serde_json::json;
    use sim_core::backend::{HostError, ServiceSpec};
    use sim_core::command::Secret;
    use sim_windows::probe;

    use crate::cli::ProbeServiceCommand;
    use crate::output::{Failure, Outcome};

    fn host_error(e: HostError) -> anyhow::Error {
        match e.code() {
            Some(code) => Failure {
                result_code: code,
                message: e.to_string(),
            }
            .into(),
            None => e.into(),
        }
    }

    pub fn probe_service(cmd: ProbeServiceCommand) -> Result<Outcome> {
        match cmd {
            ProbeServiceCommand::Install(a) => {
                let exe = std::env::current_exe().context("locate adsync-sim.exe")?;
                let spec = ServiceSpec {
                    name: a.name.name.clone(),
                    display_name: format!("adsync-sim keyset probe ({})", a.name.name),
                    binary_path: probe::binary_path(&exe, &a.name.name),
                    account: a.account.clone(),
                    password: Some(a.password.required()?),
                };
                probe::install(&spec).map_err(host_error)?;
                Ok(Outcome {
                    human: format!(
                        "[SC] CreateService SUCCESS\nThe probe {} runs as {}; its keyset is {}.",
                        spec.name,
                        spec.account,
                        probe::keyset_path(&spec.name).display()
                    ),
                    json: json!({"service": spec.name, "account": spec.account}),
                    ..Outcome::default()
                })
            }
            ProbeServiceCommand::Run(a) => {
                probe::run(&a.name.name, &a.keyset).map_err(host_error)?;
                Ok(Outcome::default())
            }
            ProbeServiceCommand::Uninstall(a) => {
                probe::uninstall(&a.name).map_err(host_error)?;
                Ok(Outcome {
                    human: "[SC] DeleteService SUCCESS".into(),
                    json: json!({"service": a.name}),
                    ..Outcome::default()
                })
            }
        }
    }

    pub fn parity() -> Result<Outcome> {
        let exe = std::env::current_exe().context("locate adsync-sim.exe")?;
        let report = sim_windows::parity::run(&exe).map_err(host_error)?;
        let differing = report
            .steps
            .iter()
            .filter(|s| !s.differences.is_empty())
            .count() as u32;
        Ok(Outcome {
            human: report.render(),
            json: serde_json::to_value(&report)?,
            raw: None,
            // The number of differing steps: 0 when the simulator and Windows agree.
            result_code: differing,
        })
    }
}

#[cfg(all(windows, feature = "windows"))]
pub use real::{parity, probe_service};
