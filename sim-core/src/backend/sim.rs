//! [`SimHost`]: the simulated world behind the [`Host`] trait. Commands go through
//! `World::exec`; reads come from the world's public state, shaped as `sc query`, the event
//! viewer and the Connectors tab show them.

use crate::dpapi::secret::SecretBytes;

use super::{
    ConnectorStatus, DomainStatus, EventMark, Host, HostError, Principal, ServiceSpec,
    ServiceStatus, Simulated,
};
use crate::adsync::build::Build;
use crate::adsync::connector::ConnectorType;
use crate::command::{Command, Secret};
use crate::filetime::FileTime;
use crate::timeline::Band;
use crate::win::eventlog::EventRecord;
use crate::win::text::win32;
use crate::world::{GLOBAL_ADMIN_NAME, Outcome, Savepoint, World, WorldError};

/// A service of `world` as `sc query` and `sc qc` show it; `None` when none is named `name`.
pub fn service_status_of(world: &World, name: &str) -> Option<ServiceStatus> {
    world
        .state()
        .services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .map(|s| ServiceStatus {
            name: s.name.clone(),
            display_name: s.display_name.clone(),
            state: s.state,
            win32_exit_code: s.win32_exit_code,
            service_exit_code: s.service_exit_code,
            account: s.account.clone(),
        })
}

/// The world's whole state as bytes: what a scenario's journal hashes and what a lab's
/// determinism check compares.
pub fn fingerprint_of(world: &World) -> Vec<u8> {
    serde_json::to_vec(world.state()).unwrap_or_default()
}

/// A command [`SimHost`] ran, as the state's journal records it.
#[derive(Clone, Debug)]
pub struct Ran {
    /// Simulated time after it.
    pub clock: String,
    /// The line, passwords redacted.
    pub command: String,
    /// Its result code.
    pub code: u32,
    /// The ADSync service's band after it (`timeline::Band`).
    pub service: &'static str,
    /// The events it wrote.
    pub events: Vec<EventRecord>,
}

/// The simulated world as a host.
#[derive(Debug)]
pub struct SimHost<'w> {
    world: &'w mut World,
    /// Passwords given on the command line (`remediate --credential NAME=P`), by lower-case
    /// name; they take precedence over what the world remembers.
    given: Vec<(String, Secret)>,
    /// The commands run so far, for the journal.
    ran: Vec<Ran>,
    /// The world's savepoint to return to ([`Simulated::checkpoint`]).
    saved: Option<Savepoint>,
}

impl<'w> SimHost<'w> {
    /// Wraps a world.
    pub fn new(world: &'w mut World) -> Self {
        Self {
            world,
            given: Vec::new(),
            ran: Vec::new(),
            saved: None,
        }
    }

    /// Adds a password the administrator gives for `account`.
    pub fn give_password(&mut self, account: &str, password: Secret) {
        self.given.push((account.to_ascii_lowercase(), password));
    }

    /// The world.
    pub fn world(&self) -> &World {
        self.world
    }

    /// Runs one of the world's operations (each is a transaction of its own: on a refusal the
    /// world is left as it was) and journals it. `line` is what the journal records.
    fn transact(
        &mut self,
        line: String,
        op: impl FnOnce(&mut World) -> Result<Outcome, WorldError>,
    ) -> Result<Outcome, HostError> {
        match op(self.world) {
            Ok(o) => {
                self.ran.push(Ran {
                    clock: self.world.now().to_string(),
                    command: line,
                    code: o.code,
                    service: Band::of(self.world).as_str(),
                    events: o.events.clone(),
                });
                Ok(o)
            }
            Err(e) => Err(HostError::Refused {
                command: line,
                reason: e.to_string(),
            }),
        }
    }

    /// DPAPI as a principal: only named accounts (the world has no interactive user).
    fn dpapi_as<T>(
        &mut self,
        call: &'static str,
        principal: &Principal,
        op: impl FnOnce(&mut World, &str, &Secret) -> Result<Result<T, u32>, WorldError>,
    ) -> Result<T, HostError> {
        let Principal::Account { name, password } = principal else {
            return Err(self.unsupported(
                "use DPAPI as the calling user: the simulated world has no interactive user; name an account",
            ));
        };
        match op(self.world, name, password) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(code)) => {
                let call = if matches!(
                    code,
                    win32::LOGON_FAILURE | win32::ACCOUNT_DISABLED | win32::ACCOUNT_LOCKED_OUT
                ) {
                    "LogonUserW"
                } else {
                    call
                };
                Err(HostError::win32(call, code))
            }
            Err(e) => Err(HostError::Refused {
                command: format!("{call} as {name}"),
                reason: e.to_string(),
            }),
        }
    }

    /// The commands run so far, for the journal.
    pub fn take_ran(&mut self) -> Vec<Ran> {
        std::mem::take(&mut self.ran)
    }
}

impl Host for SimHost<'_> {
    fn describe(&self) -> String {
        format!("the simulated world (seed {})", self.world.state().seed)
    }

    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        self.transact(command.redacted(), |w| w.exec(command))
    }

    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        Ok(service_status_of(self.world, name))
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        Ok(self.world.state().events.all().cloned().collect())
    }

    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        if self.world.engine().is_err() {
            return Ok(Vec::new());
        }
        // The Connectors tab as `connector list` shows it (accounts as DOMAIN\\MSOL_…).
        let out = self.run(&Command::ConnectorList)?;
        let rows = out.json["connectors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().map(str::to_owned);
                let kind = match r["type"].as_str() {
                    Some("AD") => ConnectorType::Ad,
                    Some("Entra") => ConnectorType::Entra,
                    other => {
                        return Err(HostError::Unreadable {
                            what: "the connector list".into(),
                            reason: format!("it gave an unknown connector type {other:?}"),
                        });
                    }
                };
                Ok(ConnectorStatus {
                    name: text("name").unwrap_or_default(),
                    kind,
                    account: text("account").unwrap_or_default(),
                    last_run: text("last_run"),
                })
            })
            .collect()
    }

    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        Ok(self.world.state().domain.as_ref().map(|d| DomainStatus {
            dns: d.dns.clone(),
            netbios: d.netbios.clone(),
            dc_reachable: d.dc_reachable,
        }))
    }

    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        Ok(self.world.engine().ok().map(|e| e.build))
    }

    fn global_administrator(&self) -> Option<String> {
        Some(self.world.state().tenant.upn(GLOBAL_ADMIN_NAME))
    }

    fn clock(&mut self) -> Result<FileTime, HostError> {
        Ok(self.world.now())
    }

    fn tenant(&mut self) -> Result<Option<String>, HostError> {
        Ok(Some(self.world.state().tenant.name.clone()))
    }

    fn event_mark(&mut self) -> Result<EventMark, HostError> {
        Ok(EventMark::after(self.world.state().events.all()))
    }

    fn events_since(&mut self, mark: EventMark) -> Result<Vec<EventRecord>, HostError> {
        Ok(self
            .world
            .state()
            .events
            .all()
            .filter(|e| mark.precedes(e))
            .cloned()
            .collect())
    }

    fn connectors_named(&mut self, name: &str) -> Result<Vec<ConnectorStatus>, HostError> {
        // The engine knows a connector by its name, identifier and forest too.
        let names: Vec<String> = match self.world.engine() {
            Ok(e) => e
                .agents
                .iter()
                .filter(|a| a.is_named(name))
                .map(|a| a.ma_name.clone())
                .collect(),
            Err(_) => return Ok(Vec::new()),
        };
        Ok(self
            .connectors()?
            .into_iter()
            .filter(|c| names.contains(&c.name))
            .collect())
    }

    fn simulated(&mut self) -> Option<&mut dyn Simulated> {
        Some(self)
    }

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        let lower = account.to_ascii_lowercase();
        if let Some((_, p)) = self.given.iter().rev().find(|(n, _)| *n == lower) {
            return Ok(Some(p.clone()));
        }
        self.world
            .known_password(account)
            .map(|p| p.map(|p| Secret::new(p.as_str())))
            .map_err(HostError::World)
    }

    fn new_password(&mut self) -> Secret {
        Secret::new(self.world.generate_admin_password().as_str())
    }

    fn account_create(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        self.transact(format!("net user {name} ******** /add"), |w| {
            w.create_account(name, password)
        })
    }

    fn account_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.transact(format!("net user {name} /delete"), |w| {
            w.delete_account(name)
        })
    }

    fn service_create(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        self.transact(
            format!("sc create {} obj= {}", spec.name, spec.account),
            |w| w.create_service(spec),
        )
    }

    fn service_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.transact(format!("sc delete {name}"), |w| w.delete_service(name))
    }

    fn probe_install(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        self.transact(
            format!(
                "probe-service install --name {} --account {} --password ********",
                spec.name, spec.account
            ),
            |w| w.install_probe(spec),
        )
    }

    fn protect_as(
        &mut self,
        principal: &Principal,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Vec<u8>, HostError> {
        self.dpapi_as("CryptProtectData", principal, |w, n, p| {
            w.protect_as(n, p, data, entropy)
        })
    }

    fn unprotect_as(
        &mut self,
        principal: &Principal,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostError> {
        self.dpapi_as("CryptUnprotectData", principal, |w, n, p| {
            w.unprotect_as(n, p, blob, entropy)
        })
    }
}

impl Simulated for SimHost<'_> {
    fn world(&self) -> &World {
        self.world
    }

    fn fingerprint(&self) -> Vec<u8> {
        fingerprint_of(self.world)
    }

    fn checkpoint(&mut self) {
        if let Some(older) = self.saved.take() {
            self.world.release(older);
        }
        self.saved = Some(self.world.savepoint());
    }

    fn rollback(&mut self) {
        if let Some(savepoint) = self.saved.take() {
            self.world.rollback_to(savepoint);
        }
    }

    fn commit(&mut self) {
        if let Some(savepoint) = self.saved.take() {
            self.world.release(savepoint);
        }
    }
}
