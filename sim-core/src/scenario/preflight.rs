//! Which steps of a scenario a real Windows host without ADSync can run (`scenario run --host
//! windows`), decided before anything runs: a scenario that changes a real machine must not stop
//! half way at a step the machine cannot do.
//!
//! A real host runs what the Windows backend maps to a Windows call (`sim_windows::WindowsHost`):
//! the Service Control Manager (`sc query|start|stop|config`, `Start-|Stop-|Restart-Service`),
//! local accounts (`net user NAME PASSWORD`, `account reset|change`) and the event logs
//! (`events`, `Get-WinEvent`). Everything else is refused by name:
//! - ADSync's own tools, cmdlets and connectors (`miiskmu`, the ADSync module, sync runs and
//!   cycles, the scheduler, the connectors' passwords): there is no ADSync on the host;
//! - the runbook verbs (`diagnose`, `remediate`): they read ADSync's connectors and the server's
//!   domain (`adsync-sim diagnose --host local` and `remediate --host local` do this on a real
//!   ADSync server);
//! - the simulator's own verbs (`clock advance`, `dc connect|disconnect`, `status`, `account
//!   list|enable|disable|lock|unlock`): a real clock cannot be moved, a real domain controller is
//!   not the simulator's to switch;
//! - changes to Entra ID (`Set-MsolUserPassword`) and domain accounts (`Set-ADAccountPassword`,
//!   `net user … /domain`): they change a tenant or a domain beyond the host;
//! - reads the backend does not map yet (`sc queryex`, `sc qc`, `Get-Service`, `Get-EventLog`,
//!   `cd`);
//! - an expectation on a connector's last run (`connector`, `all_connectors`): there are none;
//! - a placeholder the host does not define: only the simulated install makes the accounts and
//!   passwords `${service_account}` and the others stand for.
//!
//! A line that does not parse is not refused: it fails the same on every host, before reaching
//! it.

use super::format::{Scenario, Step};
use super::runner::fill;
use crate::command::{Command, Line, redact_line};

/// A step a real host cannot run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The scenario file.
    pub file: String,
    /// The step, from 1.
    pub step: usize,
    /// The step's line as written (placeholders kept, passwords redacted).
    pub line: String,
    /// Why a real host cannot run it.
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: step {} `{}`: {}",
            self.file, self.step, self.line, self.why
        )
    }
}

const NO_ADSYNC: &str = "needs ADSync (its tools, cmdlets and connectors), which a real host without ADSync does not have";

/// Why a real host without ADSync cannot run `command`; `None` when it can.
pub fn real_host_refuses(command: &Command) -> Option<&'static str> {
    match command {
        Command::ScQuery { .. }
        | Command::ScStart { .. }
        | Command::ScStop { .. }
        | Command::ScConfig { .. }
        | Command::PsService { .. }
        | Command::AccountReset { .. }
        | Command::AccountChange { .. }
        | Command::Events { .. } => None,
        Command::Miiskmu
        | Command::MiiskmuRelative { .. }
        | Command::ConnectorList
        | Command::GetConnector { .. }
        | Command::ConnectorSetPassword { .. }
        | Command::SyncRun { .. }
        | Command::SyncCycle { .. }
        | Command::GetScheduler
        | Command::SetScheduler { .. }
        | Command::AddAadServiceAccount { .. }
        | Command::AddAddsConnectorAccount { .. } => Some(NO_ADSYNC),
        Command::ClockAdvance { .. } => {
            Some("advances the simulated clock; a real host's clock cannot be moved")
        }
        Command::CloudReset { .. } => Some("changes a user in Entra ID, a tenant beyond the host"),
        Command::DomainAccountReset { .. } => Some(
            "resets a domain account on a domain controller, which the Windows backend does not drive",
        ),
        Command::DcReachable(_) => Some(
            "connects or disconnects the simulated domain controller; a real one is not the simulator's to switch",
        ),
        Command::Status
        | Command::AccountList
        | Command::AccountState { .. }
        | Command::AccountPolicy { .. }
        | Command::NetAccounts { .. } => Some(
            "is the simulator's own verb, which the Windows backend does not map to a Windows call",
        ),
        Command::ScQueryEx { .. }
        | Command::ScQc { .. }
        | Command::GetService { .. }
        | Command::GetEventLog { .. }
        | Command::SetLocation { .. } => {
            Some("is not mapped to a Windows call by the Windows backend")
        }
    }
}

/// Why a real host without ADSync cannot run `step` with `values` for its placeholders; `None`
/// when it can.
pub fn step_refusal(step: &Step, values: &[(String, String)]) -> Option<String> {
    let Ok(line) = fill(&step.run, values) else {
        let filled = values
            .iter()
            .fold(step.run.clone(), |s, (k, v)| s.replace(k.as_str(), v));
        let start = filled.find("${").unwrap_or(0);
        let end = filled[start..]
            .find('}')
            .map_or(filled.len(), |e| start + e + 1);
        return Some(format!(
            "uses the placeholder {}, which only the simulated install defines (a real host has no install to take its account or password from)",
            &filled[start..end]
        ));
    };
    let why = match Line::parse(&line) {
        // A line that does not parse fails the same on every host, before reaching it.
        Err(_) => None,
        Ok(Line::Runbook(r)) => Some(format!(
            "`{}` reads ADSync's connectors and the server's domain; on a real ADSync server use `adsync-sim {} --host local`",
            r.verb(),
            r.verb()
        )),
        Ok(Line::Command(c)) => real_host_refuses(&c).map(str::to_owned),
    };
    if why.is_some() {
        return why;
    }
    let expect = step.expect.as_ref()?;
    (expect.connector.is_some() || expect.all_connectors.is_some()).then(|| {
        "expects a connector's last run, and a real host without ADSync has no connectors"
            .to_owned()
    })
}

/// Every step of `scenario` a real host without ADSync cannot run, in order; empty when the
/// whole scenario can run there.
pub fn refusals(file: &str, scenario: &Scenario, values: &[(String, String)]) -> Vec<Refusal> {
    scenario
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| {
            step_refusal(step, values).map(|why| Refusal {
                file: file.to_owned(),
                step: i + 1,
                line: redact_line(&step.run),
                why,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(lines: &[&str]) -> Scenario {
        let mut text = "name = \"t\"\nsummary = \"s\"\nsource = \"x\"\n".to_owned();
        for l in lines {
            text.push_str(&format!("[[step]]\nrun = {l:?}\n"));
        }
        Scenario::parse("t.toml", &text).unwrap()
    }

    #[test]
    fn host_level_steps_pass_and_the_rest_are_named() {
        let s = scenario(&[
            "net user adsim1 'Spring2026!'",
            "sc config Probe obj= .\\adsim1 password= 'Spring2026!'",
            "sc start Probe",
            "Get-WinEvent -LogName System -MaxEvents 5",
            "./miiskmu.exe /a",
            "clock advance 1d",
            "remediate",
            "account reset ${service_account} --password x",
        ]);
        let r = refusals("t.toml", &s, &[]);
        let steps: Vec<usize> = r.iter().map(|r| r.step).collect();
        assert_eq!(steps, [5, 6, 7, 8]);
        assert_eq!(
            r[0].to_string(),
            format!("t.toml: step 5 `./miiskmu.exe /a`: {NO_ADSYNC}")
        );
        assert!(r[1].why.contains("clock"), "{}", r[1]);
        assert!(r[2].why.contains("--host local"), "{}", r[2]);
        assert!(
            r[3].why
                .starts_with("uses the placeholder ${service_account}, "),
            "{}",
            r[3]
        );
        assert!(!r.iter().any(|r| r.line.contains("Spring2026!")));
    }

    /// The shipped catalogue, file name and scenario.
    fn catalogue() -> Vec<(String, Scenario)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/failures");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let s = Scenario::parse(&name, &std::fs::read_to_string(p).unwrap()).unwrap();
                (name, s)
            })
            .collect()
    }

    #[test]
    fn over_the_catalogue_only_host_level_steps_are_runnable() {
        let all = catalogue();
        assert!(all.len() >= 20);
        let (mut runnable, mut refused) = (0, 0);
        for (file, s) in &all {
            let r = refusals(file, s, &[]);
            // Every catalogue scenario starts from the simulated install or needs ADSync.
            assert!(
                !r.is_empty(),
                "{file} would run whole on a machine without ADSync"
            );
            for (i, step) in s.steps.iter().enumerate() {
                let why = r.iter().find(|r| r.step == i + 1).map(|r| r.why.as_str());
                let first = step
                    .run
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_ascii_lowercase();
                let adsync = [
                    "sync",
                    "connector",
                    "./miiskmu.exe",
                    "start-adsyncsynccycle",
                ]
                .contains(&first.as_str())
                    || first.starts_with("add-adsync");
                if adsync && Line::parse(&step.run).is_ok() {
                    assert!(
                        why.is_some_and(|w| w == NO_ADSYNC || w.starts_with("uses the placeholder")),
                        "{file} step {}: {why:?}",
                        i + 1
                    );
                }
                if [
                    "diagnose",
                    "remediate",
                    "clock",
                    "set-msoluserpassword",
                    "dc",
                ]
                .contains(&first.as_str())
                {
                    assert!(why.is_some(), "{file} step {} ran", i + 1);
                }
                let host_level = ["sc", "start-service", "stop-service", "restart-service"]
                    .contains(&first.as_str())
                    && !step.run.contains("${")
                    && step
                        .expect
                        .as_ref()
                        .is_none_or(|e| e.connector.is_none() && e.all_connectors.is_none());
                if host_level {
                    assert_eq!(why, None, "{file} step {}", i + 1);
                }
                if why.is_some() {
                    refused += 1;
                } else {
                    runnable += 1;
                }
            }
        }
        assert!(
            runnable > 20 && refused > 20,
            "{runnable} runnable, {refused} refused"
        );
        // The first scenario: only the reset of the install's account needs the install.
        let r = refusals(&all[0].0, &all[0].1, &[]);
        assert_eq!(r.iter().map(|r| r.step).collect::<Vec<_>>(), [1]);
        assert_eq!(
            r[0].line,
            "account reset ${service_account} --password ********"
        );
    }
}
