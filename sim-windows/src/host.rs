//! [`WindowsHost`]: the `Host` trait over the real APIs.

use std::time::Duration;

use serde_json::json;
use sim_core::adsync::build::Build;
use sim_core::backend::{
    ConnectorStatus, DomainStatus, EventMark, Host, HostError, Principal, ServiceSpec,
    ServiceStatus,
};
use sim_core::command::{Command, PsServiceVerb, Secret};
use sim_core::dpapi::secret::SecretBytes;
use sim_core::filetime::FileTime;
use sim_core::win::eventlog::EventRecord;
use sim_core::win::scm::{Service, StartType, sc_failed};
use sim_core::win::text::{self, win32};
use sim_core::world::{ADSYNC_SERVICE, Outcome};

use crate::events::{self, Cursor};
use crate::ffi::is_wine;
use crate::{accounts, dpapi, probe, scm};

/// How long the SCM may take to write the events of a start or stop after the call returned.
const EVENT_SETTLE: Duration = Duration::from_millis(750);

/// The local Windows server as a host. Must run as an Administrator (the SCM, accounts and the
/// local security policy need it).
#[derive(Debug)]
pub struct WindowsHost {
    computer: String,
    wine: bool,
    given: Vec<(String, Secret)>,
}

impl Default for WindowsHost {
    fn default() -> Self {
        Self::new()
    }
}

fn outcome(code: u32, text: String, json: serde_json::Value) -> Outcome {
    Outcome {
        code,
        text,
        json,
        events: Vec::new(),
    }
}

/// A Win32 failure of an SCM call as sc.exe reports it; other errors pass through.
fn sc_result(op: &str, r: Result<Outcome, HostError>) -> Result<Outcome, HostError> {
    match r {
        Err(HostError::Win32 { code, message, .. }) => Ok(outcome(
            code,
            sc_failed(op, code),
            json!({"error": message}),
        )),
        other => other,
    }
}

/// A NetUser* failure as net.exe reports it.
fn net_result(r: Result<(), HostError>, ok_text: String) -> Result<Outcome, HostError> {
    match r {
        Ok(()) => Ok(outcome(0, ok_text, json!({}))),
        Err(HostError::Win32 { code, message, .. }) => Ok(outcome(
            code,
            format!("System error {code} has occurred.\n\n{message}"),
            json!({"error": message}),
        )),
        Err(e) => Err(e),
    }
}

impl WindowsHost {
    /// The local computer.
    pub fn new() -> Self {
        Self {
            computer: std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".into()),
            wine: is_wine(),
            given: Vec::new(),
        }
    }

    /// Adds a password the administrator gives for `account`.
    pub fn give_password(&mut self, account: &str, password: Secret) {
        self.given.push((account.to_ascii_lowercase(), password));
    }

    /// Whether this host is Wine rather than Windows.
    pub fn is_wine(&self) -> bool {
        self.wine
    }

    fn refuse_under_wine(&self, what: &str, why: &str) -> Result<(), HostError> {
        if self.wine {
            return Err(HostError::Unsupported {
                host: self.describe(),
                what: format!("{what} ({why})"),
            });
        }
        Ok(())
    }

    /// Runs `f`, then attaches the SCM and ADSync events written meanwhile.
    fn with_events(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Outcome, HostError>,
    ) -> Result<Outcome, HostError> {
        let before = events::now().unwrap_or_default();
        let mut out = f(self)?;
        std::thread::sleep(EVENT_SETTLE);
        out.events = events::read_after(before).unwrap_or_default();
        Ok(out)
    }

    fn sc_service(name: &str) -> Result<Service, HostError> {
        let st = scm::query(name)?;
        let (display_name, account) = scm::query_config(name)?;
        Ok(Service {
            name: name.to_owned(),
            display_name,
            binary_path: String::new(),
            start_type: StartType::Demand,
            account,
            state: st.state(),
            win32_exit_code: st.win32_exit_code,
            service_exit_code: st.service_exit_code,
            pid: (st.pid != 0).then_some(st.pid),
        })
    }

    fn sc_query(name: &str) -> Result<Outcome, HostError> {
        sc_result("EnumQueryServicesStatus:OpenService", {
            Self::sc_service(name).map(|s| {
                outcome(
                    0,
                    s.sc_query(),
                    json!({"service": s.name, "state": s.state.as_str(), "win32_exit_code": s.win32_exit_code, "service_exit_code": s.service_exit_code}),
                )
            })
        })
    }

    fn sc_start(name: &str) -> Result<Outcome, HostError> {
        sc_result("StartService: OpenService", {
            scm::start(name).map(|(code, st)| {
                let j = json!({"service": name, "state": st.state().as_str(), "win32_exit_code": st.win32_exit_code, "service_exit_code": st.service_exit_code});
                match code {
                    0 => outcome(0, Self::sc_query(name).map(|o| o.text).unwrap_or_default(), j),
                    win32::SERVICE_SPECIFIC_ERROR => outcome(
                        code,
                        format!(
                            "The service stopped during its start with service-specific error code {} (0x{:x}).",
                            st.service_exit_code as i32, st.service_exit_code
                        ),
                        j,
                    ),
                    _ => outcome(code, sc_failed("StartService", code), j),
                }
            })
        })
    }

    fn sc_stop(name: &str) -> Result<Outcome, HostError> {
        sc_result("ControlService: OpenService", {
            scm::stop(name).map(|(code, st)| {
                let j = json!({"service": name, "state": st.state().as_str()});
                if code == 0 {
                    outcome(
                        0,
                        Self::sc_query(name).map(|o| o.text).unwrap_or_default(),
                        j,
                    )
                } else {
                    outcome(code, sc_failed("ControlService", code), j)
                }
            })
        })
    }

    /// The ADSync tools (miiskmu.exe, the ADSync PowerShell module) when ADSync is installed.
    fn adsync_tool(&self, command: &Command) -> Result<Outcome, HostError> {
        if scm::query(ADSYNC_SERVICE).is_err() {
            return Err(self.unsupported(&format!(
                "run '{}': ADSync is not installed here",
                command.redacted()
            )));
        }
        let ps = |script: String| {
            let mut c = std::process::Command::new("powershell.exe");
            c.args(["-NoProfile", "-NonInteractive", "-Command", &script]);
            c
        };
        let mut cmd = match command {
            Command::Miiskmu => {
                let mut c = std::process::Command::new(
                    "C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\miiskmu.exe",
                );
                c.arg("/a");
                c
            }
            Command::SyncCycle { policy } => ps(format!(
                "Import-Module ADSync; Start-ADSyncSyncCycle -PolicyType {}",
                policy.as_str()
            )),
            Command::GetScheduler => ps("Import-Module ADSync; Get-ADSyncScheduler".into()),
            Command::SetScheduler { enabled } => ps(format!(
                "Import-Module ADSync; Set-ADSyncScheduler -SyncCycleEnabled ${enabled}"
            )),
            Command::GetConnector { name } => ps(match name {
                Some(n) => format!(
                    "Import-Module ADSync; Get-ADSyncConnector -Name '{}'",
                    n.replace('\'', "''")
                ),
                None => "Import-Module ADSync; Get-ADSyncConnector".into(),
            }),
            other => {
                return Err(self.unsupported(&format!(
                    "run '{}' (not mapped to a Windows call or ADSync tool)",
                    other.redacted()
                )));
            }
        };
        let out = cmd.output().map_err(|e| HostError::Refused {
            command: command.redacted(),
            reason: e.to_string(),
        })?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(outcome(
            out.status.code().unwrap_or(1) as u32,
            text,
            json!({"command": command.redacted()}),
        ))
    }
}

impl Host for WindowsHost {
    fn describe(&self) -> String {
        if self.wine {
            format!("{} (Wine)", self.computer)
        } else {
            format!("{} (Windows)", self.computer)
        }
    }

    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        match command {
            Command::ScQuery { name } => Self::sc_query(name),
            Command::ScStart { name }
            | Command::PsService {
                verb: PsServiceVerb::Start,
                name,
            } => self.with_events(|_| Self::sc_start(name)),
            Command::ScStop { name }
            | Command::PsService {
                verb: PsServiceVerb::Stop,
                name,
            } => self.with_events(|_| Self::sc_stop(name)),
            Command::PsService {
                verb: PsServiceVerb::Restart,
                name,
            } => self.with_events(|_| {
                let stopped = Self::sc_stop(name)?;
                if stopped.code != 0 && stopped.code != win32::SERVICE_NOT_ACTIVE {
                    return Ok(stopped);
                }
                Self::sc_start(name)
            }),
            Command::ScConfig {
                name,
                obj,
                password,
                start,
            } => sc_result(
                "ChangeServiceConfig",
                scm::config(name, obj.as_deref(), password.as_ref(), *start).map(|()| {
                    outcome(
                        0,
                        "[SC] ChangeServiceConfig SUCCESS".into(),
                        json!({"service": name}),
                    )
                }),
            ),
            Command::AccountReset { name, password, .. } => {
                self.refuse_under_wine(
                    "reset a password",
                    "Wine does not implement NetUserSetInfo and kills the process",
                )?;
                self.with_events(|_| {
                    net_result(accounts::reset(name, password), text::NET_SUCCESS.into())
                })
            }
            Command::AccountChange { name, old, new } => self.with_events(|_| {
                net_result(
                    accounts::change(name, old, new),
                    format!("The password of {name} was changed."),
                )
            }),
            Command::Events { log, id, last, .. } => {
                let mut records: Vec<EventRecord> = events::read_after(Cursor::default())?
                    .into_iter()
                    .filter(|r| log.is_none_or(|l| r.log == l) && id.is_none_or(|i| r.id == i))
                    .collect();
                if let Some(n) = last {
                    let skip = records.len().saturating_sub(*n);
                    records.drain(..skip);
                }
                let text = records
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {} {} {}",
                            r.log.as_str(),
                            r.record_id,
                            r.source,
                            r.id,
                            r.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(outcome(0, text, json!({"count": records.len()})))
            }
            // What is not mapped above is refused before a scenario starts
            // (`sim_core::scenario::preflight`); keep the two in step.
            other => self.adsync_tool(other),
        }
    }

    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        match Self::sc_service(name) {
            Ok(s) => Ok(Some(ServiceStatus {
                name: s.name,
                display_name: s.display_name,
                state: s.state,
                win32_exit_code: s.win32_exit_code,
                service_exit_code: s.service_exit_code,
                account: s.account,
            })),
            Err(HostError::Win32 { code, .. }) if code == win32::SERVICE_DOES_NOT_EXIST => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        events::read_after(Cursor::default())
    }

    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        if scm::query(ADSYNC_SERVICE).is_err() {
            return Ok(Vec::new());
        }
        Err(self.unsupported("read ADSync's connectors and their last runs"))
    }

    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        Err(self.unsupported("read the server's domain (nltest /dsgetdc:)"))
    }

    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        if scm::query(ADSYNC_SERVICE).is_err() {
            return Ok(None);
        }
        Err(self.unsupported("read the installed ADSync build"))
    }

    fn global_administrator(&self) -> Option<String> {
        None
    }

    fn clock(&mut self) -> Result<FileTime, HostError> {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| HostError::System {
                what: "clock",
                reason: format!("it reads before 1970: {e}"),
            })?;
        let secs = i64::try_from(since_epoch.as_secs()).map_err(|_| HostError::System {
            what: "clock",
            reason: "it reads beyond FILETIME's range".into(),
        })?;
        Ok(FileTime::from_unix_secs(secs))
    }

    fn tenant(&mut self) -> Result<Option<String>, HostError> {
        if scm::query(ADSYNC_SERVICE).is_err() {
            return Ok(None);
        }
        Err(self.unsupported("name the Entra tenant ADSync synchronises to"))
    }

    fn event_mark(&mut self) -> Result<EventMark, HostError> {
        let c = events::now()?;
        Ok(EventMark {
            system: c.system,
            application: c.application,
        })
    }

    fn events_since(&mut self, mark: EventMark) -> Result<Vec<EventRecord>, HostError> {
        events::read_after(Cursor {
            system: mark.system,
            application: mark.application,
        })
    }

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        let lower = account.to_ascii_lowercase();
        Ok(self
            .given
            .iter()
            .rev()
            .find(|(n, _)| *n == lower)
            .map(|(_, p)| p.clone()))
    }

    fn new_password(&mut self) -> Secret {
        new_password()
    }

    fn account_create(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        net_result(accounts::add(name, password), text::NET_SUCCESS.into())
    }

    fn account_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        // What the account left: its policy rights and the profile DPAPI made.
        let sid = accounts::sid(name)
            .and_then(|s| accounts::sid_string(&s))
            .ok();
        let _ = accounts::service_logon_right(name, false);
        if let Some(sid) = &sid {
            let _ = accounts::delete_profile(sid);
        }
        net_result(accounts::delete(name), text::NET_SUCCESS.into())
    }

    fn service_create(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        sc_result(
            "CreateService",
            scm::create(spec).map(|()| {
                outcome(
                    0,
                    "[SC] CreateService SUCCESS".into(),
                    json!({"service": spec.name}),
                )
            }),
        )
    }

    fn service_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.with_events(|_| {
            sc_result(
                "DeleteService",
                probe::uninstall(name).map(|()| {
                    outcome(
                        0,
                        "[SC] DeleteService SUCCESS".into(),
                        json!({"service": name}),
                    )
                }),
            )
        })
    }

    fn probe_install(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        match probe::install(spec) {
            Ok(()) => Ok(outcome(
                0,
                "[SC] CreateService SUCCESS".into(),
                json!({"service": spec.name}),
            )),
            Err(HostError::Win32 {
                call,
                code,
                message,
            }) => Ok(outcome(
                code,
                format!("{call} failed {code}: {message}"),
                json!({"service": spec.name, "error": message}),
            )),
            Err(e) => Err(e),
        }
    }

    fn protect_as(
        &mut self,
        principal: &Principal,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Vec<u8>, HostError> {
        dpapi::as_principal(principal, || dpapi::protect(data, entropy))
    }

    fn unprotect_as(
        &mut self,
        principal: &Principal,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostError> {
        dpapi::as_principal(principal, || dpapi::unprotect(blob, entropy))
    }
}

/// A fresh 24-character password from the system's randomness, with upper and lower case,
/// digits and symbols (Windows' complexity rule), from the simulator's typeable alphabet.
pub fn new_password() -> Secret {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=?";
    let mut raw = [0u8; 20];
    // A failing system RNG leaves zeros; the fixed classes below still make it valid, and the
    // parity suite's accounts are throwaway.
    let _ = getrandom::fill(&mut raw);
    let mut s: String = raw
        .iter()
        .map(|b| char::from(ALPHABET[*b as usize % ALPHABET.len()]))
        .collect();
    s.push_str("Aa7!");
    Secret::new(s)
}
