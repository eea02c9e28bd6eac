//! [`Given`]: a host with passwords the administrator gives for one runbook line
//! (`remediate --credential ACCOUNT=PASSWORD`). They take precedence over what the host knows
//! and are forgotten when the line is done; everything else is the host's own.

use crate::dpapi::secret::SecretBytes;

use super::{
    ConnectorStatus, DomainStatus, EventMark, Host, HostError, Principal, ServiceSpec,
    ServiceStatus, Simulated,
};
use crate::adsync::build::Build;
use crate::command::{Command, Credential, Secret};
use crate::filetime::FileTime;
use crate::win::eventlog::{EventRecord, LogName};
use crate::world::Outcome;

/// `host`, with `given` passwords in front of what it knows.
pub struct Given<'h> {
    host: &'h mut dyn Host,
    /// By lower-case account name, in the order given (the last one for a name wins).
    given: Vec<(String, Secret)>,
}

impl std::fmt::Debug for Given<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Given")
            .field("host", &self.host.describe())
            .field("given", &self.given.len())
            .finish()
    }
}

impl<'h> Given<'h> {
    /// Wraps `host` with the passwords of `credentials`.
    pub fn new(host: &'h mut dyn Host, credentials: &[Credential]) -> Self {
        Self {
            host,
            given: credentials
                .iter()
                .map(|c| (c.account.to_ascii_lowercase(), c.password.clone()))
                .collect(),
        }
    }
}

impl Host for Given<'_> {
    fn describe(&self) -> String {
        self.host.describe()
    }

    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        self.host.run(command)
    }

    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        self.host.service_status(name)
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        self.host.events()
    }

    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        self.host.connectors()
    }

    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        self.host.domain()
    }

    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        self.host.adsync_build()
    }

    fn global_administrator(&self) -> Option<String> {
        self.host.global_administrator()
    }

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        let lower = account.to_ascii_lowercase();
        match self.given.iter().rev().find(|(n, _)| *n == lower) {
            Some((_, p)) => Ok(Some(p.clone())),
            None => self.host.known_password(account),
        }
    }

    fn new_password(&mut self) -> Secret {
        self.host.new_password()
    }

    fn clock(&mut self) -> Result<FileTime, HostError> {
        self.host.clock()
    }

    fn tenant(&mut self) -> Result<Option<String>, HostError> {
        self.host.tenant()
    }

    fn event_mark(&mut self) -> Result<EventMark, HostError> {
        self.host.event_mark()
    }

    fn events_since(&mut self, mark: EventMark) -> Result<Vec<EventRecord>, HostError> {
        self.host.events_since(mark)
    }

    fn connectors_named(&mut self, name: &str) -> Result<Vec<ConnectorStatus>, HostError> {
        self.host.connectors_named(name)
    }

    fn simulated(&mut self) -> Option<&mut dyn Simulated> {
        self.host.simulated()
    }

    fn account_reset(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        self.host.account_reset(name, password)
    }

    fn account_change(
        &mut self,
        name: &str,
        old: &Secret,
        new: &Secret,
    ) -> Result<Outcome, HostError> {
        self.host.account_change(name, old, new)
    }

    fn service_config(
        &mut self,
        name: &str,
        account: Option<&str>,
        password: Option<&Secret>,
    ) -> Result<Outcome, HostError> {
        self.host.service_config(name, account, password)
    }

    fn service_start(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.host.service_start(name)
    }

    fn service_stop(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.host.service_stop(name)
    }

    fn account_create(&mut self, name: &str, password: &Secret) -> Result<Outcome, HostError> {
        self.host.account_create(name, password)
    }

    fn account_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.host.account_delete(name)
    }

    fn service_create(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        self.host.service_create(spec)
    }

    fn service_delete(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.host.service_delete(name)
    }

    fn service_query(&mut self, name: &str) -> Result<Outcome, HostError> {
        self.host.service_query(name)
    }

    fn probe_install(&mut self, spec: &ServiceSpec) -> Result<Outcome, HostError> {
        self.host.probe_install(spec)
    }

    fn protect_as(
        &mut self,
        principal: &Principal,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Vec<u8>, HostError> {
        self.host.protect_as(principal, data, entropy)
    }

    fn unprotect_as(
        &mut self,
        principal: &Principal,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostError> {
        self.host.unprotect_as(principal, blob, entropy)
    }

    fn events_with_id(&mut self, log: LogName, id: u32) -> Result<Vec<EventRecord>, HostError> {
        self.host.events_with_id(log, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::SimHost;
    use crate::scenario::runner::memory_sealer;
    use crate::world::{World, WorldOptions};

    #[test]
    fn given_passwords_win_and_are_forgotten_with_the_wrapper() {
        let options = WorldOptions {
            seed: 3,
            ..WorldOptions::default()
        };
        let (mut world, init) = World::new(&options, memory_sealer(3)).unwrap();
        let mut host = SimHost::new(&mut world);
        let account = init.service_account.clone();
        let before = host
            .known_password(&account)
            .unwrap()
            .map(|p| p.expose().to_owned());
        {
            let given = Given::new(
                &mut host,
                &[Credential {
                    account: account.to_ascii_uppercase(),
                    password: Secret::new("Given1!"),
                }],
            );
            assert_eq!(
                given.known_password(&account).unwrap().unwrap().expose(),
                "Given1!"
            );
        }
        let after = host
            .known_password(&account)
            .unwrap()
            .map(|p| p.expose().to_owned());
        assert_eq!(before, after);
    }
}
