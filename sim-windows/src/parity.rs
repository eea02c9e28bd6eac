//! The parity run against the real host (docs/design.md §7): a throwaway local account and probe
//! service, the seed steps (`sim_core::backend::parity::seed_steps`) played on the simulator
//! and on this host, compared step by step.
//!
//! It changes the host, so it runs only when `ADSYNC_SIM_REAL_WINDOWS=1` is set, as an
//! Administrator, on a host that is not Wine. Everything it creates (the account, its policy
//! right and profile, the service, the keyset file) is removed by [`Cleanup`]'s `Drop`, also
//! after a failure or a panic.

use std::path::Path;

use sim_core::backend::parity::{ParityReport, SeedNames, compare, seed_steps};
use sim_core::backend::{Host, HostError, SimHost};
use sim_core::seal::Sealer;
use sim_core::world::{ServiceAccountKind, World, WorldOptions};

use crate::host::new_password;
use crate::{REAL_WINDOWS_ENV, WindowsHost, accounts, ffi::is_wine, probe};

/// Removes what a parity run created, whatever state it is in. Each removal tolerates "not
/// there" (1060, 2221), so it is safe after the steps removed things themselves.
#[derive(Debug)]
pub struct Cleanup {
    account: String,
    service: String,
}

impl Cleanup {
    /// Arms the cleanup of `account` and `service` (before either exists).
    pub fn new(account: &str, service: &str) -> Self {
        Self {
            account: account.to_owned(),
            service: service.to_owned(),
        }
    }

    /// Removes everything now; returns what could not be removed.
    pub fn run(&self) -> Vec<String> {
        let mut left = Vec::new();
        match probe::uninstall(&self.service) {
            Ok(()) => {}
            Err(HostError::Win32 { code: 1060, .. }) => {}
            Err(e) => left.push(format!("service {}: {e}", self.service)),
        }
        if let Ok(sid) = accounts::sid(&self.account) {
            if let Err(e) = accounts::service_logon_right(&self.account, false) {
                left.push(format!("policy rights of {}: {e}", self.account));
            }
            if let Ok(s) = accounts::sid_string(&sid) {
                // 2: DPAPI never loaded a profile for it.
                match accounts::delete_profile(&s) {
                    Ok(()) | Err(HostError::Win32 { code: 2, .. }) => {}
                    Err(e) => left.push(format!("profile of {}: {e}", self.account)),
                }
            }
        }
        match accounts::delete(&self.account) {
            Ok(()) | Err(HostError::Win32 { code: 2221, .. }) => {}
            Err(e) => left.push(format!("account {}: {e}", self.account)),
        }
        left
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for l in self.run() {
            eprintln!("parity cleanup could not remove {l}");
        }
    }
}

/// Why the parity run will not run here, if it will not.
pub fn refusal() -> Option<String> {
    if is_wine() {
        return Some(
            "Wine fakes logons, accounts, passwords and the event log (docs/windows-on-linux.md); parity needs real Windows".into(),
        );
    }
    if std::env::var(REAL_WINDOWS_ENV).as_deref() != Ok("1") {
        return Some(format!(
            "the parity suite creates a local account and a service on this host; set {REAL_WINDOWS_ENV}=1 on a throwaway host, as an Administrator, to run it"
        ));
    }
    None
}

/// Plays the seed steps on a fresh simulated world (left) and on this host (right), with the
/// probe service running `exe`. Refuses (see [`refusal`]) unless armed.
pub fn run(exe: &Path) -> Result<ParityReport, HostError> {
    if let Some(why) = refusal() {
        return Err(HostError::Unsupported {
            host: WindowsHost::new().describe(),
            what: format!("run the parity suite: {why}"),
        });
    }
    let suffix = std::process::id().to_string();
    let service = format!("AdsyncSimProbe_{suffix}");
    let names = SeedNames::throwaway(
        &suffix,
        probe::binary_path(exe, &service),
        [new_password(), new_password(), new_password()],
    );
    let _cleanup = Cleanup::new(&names.account, &names.service);
    let options = WorldOptions {
        seed: 1,
        service_account: Some(ServiceAccountKind::Virtual),
        ..WorldOptions::default()
    };
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| HostError::System {
        what: "random number generator",
        reason: e.to_string(),
    })?;
    let sealer = Sealer::new(key).map_err(|e| HostError::System {
        what: "random number generator",
        reason: e.to_string(),
    })?;
    let (mut world, _) = World::new(&options, sealer).map_err(HostError::World)?;
    let mut sim = SimHost::new(&mut world);
    let mut windows = WindowsHost::new();
    Ok(compare(&mut sim, &mut windows, &seed_steps(&names)))
}
