//! The host that remediation, scenarios and the parity suite drive (docs/design.md §2 `backend`, §7).
//!
//! [`Host`] is the only way `remedy` touches a server: it reads what an administrator can see
//! (a service's status as `sc query` shows it, the event logs, the connectors' last runs, the
//! installed build) and runs lines of the one command language as the administrator would type
//! them. [`SimHost`] wraps the simulated world; a Windows implementation drives the real APIs
//! behind the `windows` feature. Outcomes use the same [`Outcome`] type on both, so a plan run
//! against either can be compared step by step.

mod given;
pub mod parity;
mod sim;

pub use crate::win::scm::ServiceSpec;
pub use given::Given;
pub use sim::{Ran, SimHost, fingerprint_of, service_status_of};

use crate::dpapi::secret::SecretBytes;
use serde::Serialize;
use thiserror::Error;

use crate::adsync::build::Build;
use crate::adsync::connector::ConnectorType;
use crate::command::{Command, Secret};
use crate::filetime::FileTime;
use crate::win::eventlog::{EventRecord, LogName};
use crate::win::scm::ServiceState;
use crate::win::text::win32;
use crate::world::{Outcome, World, WorldError};

/// A service's status, as `sc query` and `sc qc` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// The service name (`ADSync`).
    pub name: String,
    /// Its display name.
    pub display_name: String,
    /// `dwCurrentState`.
    pub state: ServiceState,
    /// `dwWin32ExitCode` of its last stop.
    pub win32_exit_code: u32,
    /// `dwServiceSpecificExitCode` of its last stop.
    pub service_exit_code: u32,
    /// The logon account (`sc qc`'s `SERVICE_START_NAME`).
    pub account: String,
}

impl ServiceStatus {
    /// Whether the logon account has a password an administrator sets (not a virtual account,
    /// LocalSystem, or a managed service account whose name ends in `$`;
    /// `docs/adsync.md` §2.1).
    pub fn account_has_password(&self) -> bool {
        let a = self.account.to_ascii_lowercase();
        !(a.starts_with("nt service\\")
            || a.starts_with("nt authority\\")
            || a == "localsystem"
            || a.ends_with('$'))
    }
}

/// A connector as the Synchronization Service Manager's Connectors tab shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectorStatus {
    /// The connector (management agent) name.
    pub name: String,
    /// AD DS or Entra.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// The account it connects with (`DOMAIN\MSOL_…` or `Sync_…@tenant`).
    pub account: String,
    /// The status of its last run (`success`, `no-start-credentials`, …), if it ran.
    pub last_run: Option<String>,
}

impl ConnectorStatus {
    /// Whether `name` names it by its name, or, for the Entra connector, by `aad`, `entra` or
    /// `azuread` (what a host that knows no more than the Connectors tab can match).
    pub fn is_named(&self, name: &str) -> bool {
        let n = name.trim();
        n.eq_ignore_ascii_case(&self.name)
            || (self.kind == ConnectorType::Entra
                && ["aad", "entra", "azuread"].contains(&n.to_ascii_lowercase().as_str()))
    }
}

/// Where the event logs stood at one moment: the newest record number of each log. Record
/// numbers keep counting when a full log overwrites its oldest records, so the records after a
/// mark are exactly those written since.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventMark {
    /// The System log's newest record number.
    pub system: u64,
    /// The Application log's newest record number.
    pub application: u64,
}

impl EventMark {
    /// The mark after `records`.
    pub fn after<'a>(records: impl IntoIterator<Item = &'a EventRecord>) -> Self {
        let mut m = Self::default();
        for r in records {
            let n = match r.log {
                LogName::System => &mut m.system,
                LogName::Application => &mut m.application,
            };
            *n = (*n).max(r.record_id);
        }
        m
    }

    /// Whether `r` was written after the mark.
    pub fn precedes(&self, r: &EventRecord) -> bool {
        r.record_id
            > match r.log {
                LogName::System => self.system,
                LogName::Application => self.application,
            }
    }
}

/// What only a simulated host can do: show its whole state (a scenario's journal hashes it), and
/// return to an earlier state when a runbook line fails part way (a real host cannot undo what
/// ran). A real host has none of this: [`Host::simulated`] is `None` there.
pub trait Simulated {
    /// The world.
    fn world(&self) -> &World;
    /// The world's whole state as bytes (its persisted JSON): equal bytes, equal worlds.
    fn fingerprint(&self) -> Vec<u8>;
    /// Opens a savepoint of the world to return to (the world's own transaction,
    /// [`World::savepoint`]); a newer checkpoint keeps what the older one covered.
    fn checkpoint(&mut self);
    /// Returns to the last checkpoint (and forgets it); nothing when there is none.
    fn rollback(&mut self);
    /// Forgets the last checkpoint.
    fn commit(&mut self);
}

/// The server's domain as `nltest /dsgetdc:DOMAIN` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomainStatus {
    /// DNS name.
    pub dns: String,
    /// NetBIOS name.
    pub netbios: String,
    /// Whether a writable domain controller answers.
    pub dc_reachable: bool,
}

/// Why a host could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HostError {
    /// The host refused the command as given (bad input: an unknown account, connector, …).
    #[error("{command}: {reason}")]
    Refused {
        /// The command, secrets redacted.
        command: String,
        /// Why.
        reason: String,
    },
    /// A Windows API call failed with a Win32 error.
    #[error("{call} failed with error {code}: {message}")]
    Win32 {
        /// The API.
        call: &'static str,
        /// `GetLastError()`.
        code: u32,
        /// Its message.
        message: String,
    },
    /// This host cannot do that (e.g. a simulated operation without a Windows equivalent).
    #[error("{host} cannot {what}")]
    Unsupported {
        /// The host.
        host: String,
        /// What was asked.
        what: String,
    },
    /// What the host shows could not be read (a listing in a shape the reader does not know,
    /// a file without the resource it must have, a document that does not encode).
    #[error("{what} cannot be read: {reason}")]
    Unreadable {
        /// What was being read.
        what: String,
        /// Why not.
        reason: String,
    },
    /// A service of the operating system itself failed (its clock, its random number generator).
    #[error("the system's {what} failed: {reason}")]
    System {
        /// Which service.
        what: &'static str,
        /// Its error.
        reason: String,
    },
    /// The simulated world refused or is damaged.
    #[error(transparent)]
    World(#[from] WorldError),
}

impl HostError {
    /// A Win32 failure of `call` with the system message the simulator knows for `code`
    /// (`WindowsHost` builds the variant itself, with `FormatMessageW`'s text).
    pub fn win32(call: &'static str, code: u32) -> Self {
        Self::Win32 {
            call,
            code,
            message: win32::message(code).to_owned(),
        }
    }

    /// The result code this error stands for when outcomes are compared: the Win32 code, or
    /// `None` for a refusal or an unsupported operation.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Win32 { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Whose user-scope DPAPI keys a protect or unprotect uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The calling user (on [`SimHost`]: not modelled, there is no interactive user).
    Caller,
    /// Another account, logged on with its password (LogonUserW, then ImpersonateLoggedOnUser
    /// on Windows). A password that does not log on fails with 1326.
    Account {
        /// The account (`NAME`, `.\NAME`, `DOMAIN\NAME`).
        name: String,
        /// Its password.
        password: Secret,
    },
}

/// A server that remediation and scenarios drive (docs/design.md §2, §7).
pub trait Host {
    /// What this host is, for reports ("the simulated world (seed 7)", "HOSTNAME (Windows)").
    fn describe(&self) -> String;

    /// Runs one line of the command language as the administrator would type it on the server.
    /// The outcome's `code` is the real tool's result code; `Err` is a command the host refused
    /// outright.
    fn run(&mut self, command: &Command) -> Result<Outcome, HostError>;

    /// A service's status (`sc query` / `sc qc`); `None` when no such service is installed.
    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError>;

    /// The records of the System and Application logs, in the order they were written (on
    /// Windows, merged by `TimeCreated`).
    fn events(&mut self) -> Result<Vec<EventRecord>, HostError>;

    /// The ADSync connectors and their last runs (empty when ADSync is not installed).
    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError>;

    /// The server's domain, if it is joined to one (`nltest /dsgetdc:`).
    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError>;

    /// The installed ADSync build (Programs and Features), if any.
    fn adsync_build(&mut self) -> Result<Option<Build>, HostError>;

    /// The tenant's Global Administrator the administrator signs in with, if known.
    fn global_administrator(&self) -> Option<String>;

    /// The time on the host now (the simulated clock on [`SimHost`]).
    fn clock(&mut self) -> Result<FileTime, HostError> {
        Err(self.unsupported("tell the time"))
    }

    /// The Entra tenant the server synchronises to (its initial domain name), if known.
    fn tenant(&mut self) -> Result<Option<String>, HostError> {
        Err(self.unsupported("name the Entra tenant"))
    }

    /// Where the event logs stand now.
    fn event_mark(&mut self) -> Result<EventMark, HostError> {
        Ok(EventMark::after(&self.events()?))
    }

    /// The records written after `mark`, in the order they were written.
    fn events_since(&mut self, mark: EventMark) -> Result<Vec<EventRecord>, HostError> {
        Ok(self
            .events()?
            .into_iter()
            .filter(|e| mark.precedes(e))
            .collect())
    }

    /// The connectors `name` names (as `sync run`, `connector set-password` and
    /// `Add-ADSyncADDSConnectorAccount -Name` take a connector), with their last runs.
    fn connectors_named(&mut self, name: &str) -> Result<Vec<ConnectorStatus>, HostError> {
        Ok(self
            .connectors()?
            .into_iter()
            .filter(|c| c.is_named(name))
            .collect())
    }

    /// The simulated world behind this host; `None` on a real host.
    fn simulated(&mut self) -> Option<&mut dyn Simulated> {
        None
    }

    /// The password the administrator knows for `account` (from the install hand-over, from
    /// what they set since, or given on the command line); `None` when nobody knows it.
    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError>;

    /// A fresh password for an account the administrator must set to a known value (24
    /// characters, typeable; from the host's seeded randomness on [`SimHost`]).
    fn new_password(&mut self) -> Secret;

    /// `account reset NAME --password P` (NetUserSetInfo level 1003 on Windows).
    fn account_reset(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        self.run(&Command::AccountReset {
            name: name.to_owned(),
            password: password.clone(),
            net_user: false,
        })
    }

    /// `account change NAME --old P --new Q` (NetUserChangePassword on Windows).
    fn account_change(
        &mut self,
        name: &str,
        old: &Secret,
        new: &Secret,
    ) -> Result<Outcome, HostError> {
        self.run(&Command::AccountChange {
            name: name.to_owned(),
            old: old.clone(),
            new: new.clone(),
        })
    }

    /// `sc config NAME [obj= A] [password= P]` (ChangeServiceConfigW on Windows).
    fn service_config(
        &mut self,
        name: &str,
        account: Option<&str>,
        password: Option<&Secret>,
    ) -> Result<Outcome, HostError> {
        self.run(&Command::ScConfig {
            name: name.to_owned(),
            obj: account.map(str::to_owned),
            password: password.cloned(),
            start: None,
        })
    }

    /// `sc start NAME` (StartServiceW on Windows).
    fn service_start(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.run(&Command::ScStart {
            name: name.to_owned(),
        })
    }

    /// `sc stop NAME` (ControlService(SERVICE_CONTROL_STOP) on Windows).
    fn service_stop(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.run(&Command::ScStop {
            name: name.to_owned(),
        })
    }

    /// Says that this host cannot do `what`.
    fn unsupported(&self, what: &str) -> HostError {
        HostError::Unsupported {
            host: self.describe(),
            what: what.to_owned(),
        }
    }

    /// `net user NAME P /add` (NetUserAdd on Windows): a local user. Result 2224 when the name
    /// is taken.
    fn account_create(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        let _ = (name, password);
        Err(self.unsupported("create accounts"))
    }

    /// `net user NAME /delete` (NetUserDel on Windows). Result 2221 for an unknown user.
    fn account_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        let _ = name;
        Err(self.unsupported("delete accounts"))
    }

    /// `sc create` (CreateServiceW): a demand-start service. Result 1073 when the name is taken,
    /// 1057 for an unknown account.
    fn service_create(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        let _ = spec;
        Err(self.unsupported("create services"))
    }

    /// `sc delete` (DeleteService). Result 1060 for an unknown service.
    fn service_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        let _ = name;
        Err(self.unsupported("delete services"))
    }

    /// `sc query NAME` (QueryServiceStatusEx). Result 1060 for an unknown service.
    fn service_query(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.run(&Command::ScQuery {
            name: name.to_owned(),
        })
    }

    /// `adsync-sim probe-service install`: protects a random keyset with DPAPI as the service's
    /// account (its password in `spec`), then creates a service running the keyset probe
    /// ([`crate::probe`]).
    fn probe_install(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        let _ = spec;
        Err(self.unsupported("install the probe service"))
    }

    /// CryptProtectData as `principal` (user scope, no UI).
    fn protect_as(
        &mut self,
        principal: &Principal,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Vec<u8>, HostError> {
        let _ = (principal, data, entropy);
        Err(self.unsupported("use DPAPI"))
    }

    /// CryptUnprotectData as `principal`: 13 for wrong entropy or a damaged blob, 0x8009000B
    /// when the principal's master key cannot be opened.
    fn unprotect_as(
        &mut self,
        principal: &Principal,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostError> {
        let _ = (principal, blob, entropy);
        Err(self.unsupported("use DPAPI"))
    }

    /// The records of one log with one event id, oldest first.
    fn events_with_id(&mut self, log: LogName, id: u32) -> Result<Vec<EventRecord>, HostError> {
        Ok(self
            .events()?
            .into_iter()
            .filter(|e| e.log == log && e.id == id)
            .collect())
    }
}
