//! [`SimHost`]: the simulated world behind the [`Host`] trait. Commands go through
//! `World::exec`; reads come from the world's public state, shaped as `sc query`, the event
//! viewer and the Connectors tab show them.

use zeroize::Zeroizing;

use super::{
    ConnectorStatus, DomainStatus, Host, HostError, Principal, ServiceSpec, ServiceStatus,
};
use crate::adsync::build::Build;
use crate::adsync::connector::ConnectorType;
use crate::command::{Command, Secret};
use crate::timeline::Band;
use crate::win::eventlog::EventRecord;
use crate::win::text::win32;
use crate::world::{GLOBAL_ADMIN_NAME, Outcome, World, WorldError};

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
}

impl<'w> SimHost<'w> {
    /// Wraps a world.
    pub fn new(world: &'w mut World) -> Self {
        Self {
            world,
            given: Vec::new(),
            ran: Vec::new(),
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
        Ok(self
            .world
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
            }))
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        Ok(self.world.state().events.all().to_vec())
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
                        return Err(HostError::Damaged(format!(
                            "connector list gave an unknown type {other:?}"
                        )));
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

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        let lower = account.to_ascii_lowercase();
        if let Some((_, p)) = self.given.iter().rev().find(|(n, _)| *n == lower) {
            return Ok(Some(p.clone()));
        }
        self.world
            .known_password(account)
            .map(|p| p.map(|p| Secret::new(p.as_str())))
            .map_err(|e| HostError::Damaged(e.to_string()))
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
    ) -> Result<Zeroizing<Vec<u8>>, HostError> {
        self.dpapi_as("CryptUnprotectData", principal, |w, n, p| {
            w.unprotect_as(n, p, blob, entropy)
        })
    }
}
