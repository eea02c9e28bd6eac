//! [`LiveHost`]: this Windows server for `remediate --host local`. It reads what the server
//! shows the way `collect` does (natively, read-only: [`crate::collect`]), so the diagnosis is
//! the one `diagnose --host local` prints, and runs each plan step through [`WindowsHost`],
//! announcing the line (passwords redacted) before it runs.

use sim_core::adsync::build::Build;
use sim_core::backend::{ConnectorStatus, DomainStatus, Host, HostError, ServiceStatus};
use sim_core::command::{Command, Secret};
use sim_core::evidence::EvidenceHost;
use sim_core::win::eventlog::EventRecord;
use sim_core::world::Outcome;

use crate::WindowsHost;

/// This server: reads through a fresh native collection, commands through [`WindowsHost`].
pub struct LiveHost {
    win: WindowsHost,
    seen: Option<EvidenceHost>,
    global_admin: Option<String>,
    announce: Box<dyn FnMut(&str)>,
}

impl std::fmt::Debug for LiveHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHost")
            .field("win", &self.win)
            .field("global_admin", &self.global_admin)
            .finish_non_exhaustive()
    }
}

impl LiveHost {
    /// The local server; `announce` receives each command line before it runs.
    pub fn new(announce: impl FnMut(&str) + 'static) -> Self {
        Self {
            win: WindowsHost::new(),
            seen: None,
            global_admin: None,
            announce: Box::new(announce),
        }
    }

    /// Adds a password the administrator gives for `account`.
    pub fn give_password(&mut self, account: &str, password: Secret) {
        self.win.give_password(account, password);
    }

    /// The tenant's Global Administrator who runs Add-ADSyncAADServiceAccount.
    pub fn set_global_administrator(&mut self, upn: &str) {
        self.global_admin = Some(upn.to_owned());
    }

    /// What the server shows now (collected once until the next command runs).
    fn seen(&mut self) -> Result<&mut EvidenceHost, HostError> {
        let host = match self.seen.take() {
            Some(host) => host,
            None => {
                let bundle = crate::collect::collect()?;
                EvidenceHost::from_bundle(&bundle).map_err(|e| HostError::Unreadable {
                    what: "what the server shows".into(),
                    reason: e.to_string(),
                })?
            }
        };
        Ok(self.seen.insert(host))
    }
}

impl Host for LiveHost {
    fn describe(&self) -> String {
        self.win.describe()
    }

    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        (self.announce)(&command.redacted());
        self.seen = None;
        self.win.run(command)
    }

    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        self.win.service_status(name)
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        self.seen()?.events()
    }

    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        self.seen()?.connectors()
    }

    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        self.seen()?.domain()
    }

    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        self.seen()?.adsync_build()
    }

    fn global_administrator(&self) -> Option<String> {
        self.global_admin.clone()
    }

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        self.win.known_password(account)
    }

    fn new_password(&mut self) -> Secret {
        self.win.new_password()
    }
}
