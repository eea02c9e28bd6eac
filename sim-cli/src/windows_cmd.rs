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

/// `diagnose --host local`.
#[cfg(not(all(windows, feature = "windows")))]
pub fn diagnose_local(
    _given: &[sim_core::command::Credential],
    _global_admin: Option<&str>,
) -> Result<Outcome> {
    unavailable("diagnose --host local")
}

/// `remediate --host local`.
#[cfg(not(all(windows, feature = "windows")))]
pub fn remediate_local(
    _given: &[sim_core::command::Credential],
    _global_admin: Option<&str>,
    _dry_run: bool,
) -> Result<Outcome> {
    unavailable("remediate --host local")
}

/// This machine as a host (`verb` is what asked, for the error).
#[cfg(not(feature = "windows"))]
pub fn this_machine(verb: &str) -> Result<Box<dyn sim_core::backend::Host>> {
    anyhow::bail!(
        "`adsync-sim {verb}` runs on this machine through the Windows backend, and this adsync-sim was built without the `windows` feature: build it with `cargo build -p sim-cli --features windows` (on Windows, or for x86_64-pc-windows-gnu), or leave out --host to run in the simulated world"
    )
}

/// This machine as a host (`verb` is what asked, for the error).
#[cfg(all(feature = "windows", not(windows)))]
pub fn this_machine(verb: &str) -> Result<Box<dyn sim_core::backend::Host>> {
    anyhow::bail!(
        "`adsync-sim {verb}` needs Windows: this adsync-sim was built with the `windows` feature for another system, where the Windows backend is empty"
    )
}

/// This machine as a host: `WindowsHost`, the real APIs.
#[cfg(all(windows, feature = "windows"))]
pub fn this_machine(_verb: &str) -> anyhow::Result<Box<dyn sim_core::backend::Host>> {
    Ok(Box::new(sim_windows::WindowsHost::new()))
}

/// `collect --out DIR`.
#[cfg(not(all(windows, feature = "windows")))]
pub fn collect_local(_out: &std::path::Path) -> Result<Outcome> {
    anyhow::bail!(
        "`adsync-sim collect --out DIR` collects on the Windows server it runs on (a build with --features windows); elsewhere, print the script with `adsync-sim collect --script`, run it on the server, and give its folder to `adsync-sim diagnose --evidence DIR`"
    )
}

#[cfg(all(windows, feature = "windows"))]
mod real {
    use anyhow::{Context, Result};
    use serde_json::json;
    use sim_core::backend::{HostError, ServiceSpec};
    use sim_core::command::{Credential, Runbook};
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

    /// `diagnose --host local`: collect natively (read-only) and diagnose the bundle.
    pub fn diagnose_local(given: &[Credential], global_admin: Option<&str>) -> Result<Outcome> {
        let bundle = sim_windows::collect::collect().map_err(host_error)?;
        let mut host = sim_core::evidence::EvidenceHost::from_bundle(&bundle)
            .context("reading what this server shows")?;
        for c in given {
            host.give_password(&c.account, c.password.clone());
        }
        if let Some(upn) = global_admin {
            host.set_global_administrator(upn);
        }
        let (d, plan) = sim_core::remedy::diagnose_and_plan(&mut host).context("diagnose")?;
        crate::remedy_cmd::report(&d, &plan, host.unknown(), host.notes())
    }

    /// `remediate --host local`: the live host, each command printed before it runs.
    pub fn remediate_local(
        given: &[Credential],
        global_admin: Option<&str>,
        dry_run: bool,
    ) -> Result<Outcome> {
        let mut host = sim_windows::live::LiveHost::new(|line| eprintln!("> {line}"));
        if let Some(upn) = global_admin {
            host.set_global_administrator(upn);
        }
        let runbook = Runbook::Remediate {
            dry_run,
            credentials: given.to_vec(),
        };
        let o = sim_core::remedy::run_runbook(&mut host, &runbook).context("remediate")?;
        Ok(crate::remedy_cmd::printed(o))
    }

    /// `collect --out DIR`: the bundle, collected natively and read-only.
    pub fn collect_local(out: &std::path::Path) -> Result<Outcome> {
        let bundle = sim_windows::collect::collect().map_err(host_error)?;
        let written = crate::evidence_cmd::write_bundle(out, &bundle)?;
        Ok(Outcome {
            human: format!(
                "Collected {} files into {}:\n{}",
                written.len(),
                out.display(),
                written.join("\n")
            ),
            json: json!({ "dir": out.display().to_string(), "files": written }),
            ..Outcome::default()
        })
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
pub use real::{collect_local, diagnose_local, parity, probe_service, remediate_local};
