//! What an administrator does to a host besides the catalogue's commands: create and delete a
//! local account (`net user NAME P /add`, `/delete`), install and delete a service (`sc create`,
//! `sc delete`), install the keyset probe, and use DPAPI as a named account (LogonUserW, then
//! CryptProtectData / CryptUnprotectData impersonating it).
//!
//! These are what the parity suite sets up on both hosts (docs/design.md §7); they follow the world's
//! conventions: a refused call changes nothing (each is one transaction, [`World::atomically`]), a call that runs
//! returns the real API's result code in its [`Outcome`].

use crate::dpapi::secret::SecretBytes;
use serde_json::json;
use zeroize::Zeroizing;

use super::logon::StartHost;
use super::{Outcome, Program, Refusal, World, WorldError};
use crate::command::Secret;
use crate::dpapi::api::{CRYPTPROTECT_UI_FORBIDDEN, ProtectFlags};
use crate::dpapi::crypto::utf16le;
use crate::probe::KeysetProbe;
use crate::win::account::{Account, AccountKind, credential_for};
use crate::win::lsa::service_secret_name;
use crate::win::scm::{
    HostFailure, Service, ServiceHost, ServiceSpec, ServiceState, StartType, sc_failed,
};
use crate::win::text::{self, win32};

/// The keyset size the probe protects (ADSync's keyset is larger; the size does not change
/// how DPAPI treats it). Named choice.
pub const PROBE_KEYSET_LEN: usize = 64;
/// The probe's entropy size (the database entropy is a GUID).
pub const PROBE_ENTROPY_LEN: usize = 16;

/// net.exe's failure text: `System error N has occurred.` and the message.
fn net_failed(code: u32) -> String {
    format!(
        "System error {code} has occurred.\n\n{}",
        win32::message(code)
    )
}

fn failed(code: u32, text: String, json: serde_json::Value) -> Outcome {
    Outcome {
        code,
        text,
        json,
        events: vec![],
    }
}

impl World {
    /// `net user NAME P /add` (NetUserAdd level 1): a local user, or a domain user on a domain
    /// controller (which has no local accounts). Result 2224 when the name is taken.
    pub fn create_account(&mut self, name: &str, password: &Secret) -> Result<Outcome, WorldError> {
        self.atomically(|w| w.create_account_in_place(name, password))
    }

    /// [`World::create_account`] inside the caller's transaction.
    fn create_account_in_place(
        &mut self,
        name: &str,
        password: &Secret,
    ) -> Result<Outcome, WorldError> {
        let name = name.strip_prefix(".\\").unwrap_or(name);
        if name.is_empty() || name.contains(['\\', '/', '@', '"', ':', '[', ']']) {
            return Err(WorldError::bad_option(
                "user name",
                name,
                format!("'{name}' is not a user name net user accepts"),
            ));
        }
        if self.account_index(name).is_ok() {
            let code = win32::USER_EXISTS;
            return Ok(failed(
                code,
                net_failed(code),
                json!({"account": name, "error": win32::message(code)}),
            ));
        }
        let kind = if self.state.domain_controller {
            AccountKind::Domain
        } else {
            AccountKind::Local
        };
        let mut rng = self.rng();
        let q = self.create_user(kind, name, password.expose(), &mut rng)?;
        self.save_rng(&rng);
        self.learn(&q, password.expose());
        Ok(Outcome {
            code: 0,
            text: text::NET_SUCCESS.to_owned(),
            json: json!({"account": q, "operation": "add"}),
            events: vec![],
        })
    }

    /// `net user NAME /delete` (NetUserDel). Result 2221 when there is no such user.
    ///
    /// Named choice: the simulator refuses to delete an account a service still logs on as
    /// (Windows allows it and the service then fails its logon); the parity suite deletes the
    /// service first.
    pub fn delete_account(&mut self, name: &str) -> Result<Outcome, WorldError> {
        self.atomically(|w| w.delete_account_in_place(name))
    }

    /// [`World::delete_account`] inside the caller's transaction.
    fn delete_account_in_place(&mut self, name: &str) -> Result<Outcome, WorldError> {
        let Ok(idx) = self.account_index(name) else {
            let code = win32::USER_NOT_FOUND;
            return Ok(failed(
                code,
                net_failed(code),
                json!({"account": name, "error": win32::message(code)}),
            ));
        };
        let a = &self.state.accounts[idx];
        if !matches!(a.kind, AccountKind::Local | AccountKind::Domain) || a.forest.is_some() {
            return Err(WorldError::AccountRefused {
                account: a.qualified_name(),
                refusal: Refusal::NotDeletable,
            });
        }
        let q = a.qualified_name();
        let dns = self.state.domain.as_ref().map(|d| d.dns.clone());
        if let Some(s) = self
            .state
            .services
            .iter()
            .find(|s| a.is_named(&s.account, dns.as_deref()))
        {
            return Err(WorldError::AccountInUse {
                account: q,
                service: s.name.clone(),
            });
        }
        self.state.accounts.remove(idx);
        self.forget(&q);
        Ok(Outcome {
            code: 0,
            text: text::NET_SUCCESS.to_owned(),
            json: json!({"account": q, "operation": "delete"}),
            events: vec![],
        })
    }

    /// `sc create` (CreateServiceW): a demand-start service with no program of its own (it runs
    /// once its logon succeeds). Result 1073 when the name is taken, 1057 when the account does
    /// not exist.
    pub fn create_service(&mut self, spec: &ServiceSpec) -> Result<Outcome, WorldError> {
        self.atomically(|w| w.create_service_in_place(spec))
    }

    /// [`World::create_service`] inside the caller's transaction.
    fn create_service_in_place(&mut self, spec: &ServiceSpec) -> Result<Outcome, WorldError> {
        self.create_service_with(spec, None)
    }

    fn create_service_with(
        &mut self,
        spec: &ServiceSpec,
        program: Option<Program>,
    ) -> Result<Outcome, WorldError> {
        if self.service_index(&spec.name).is_some() {
            let code = win32::SERVICE_EXISTS;
            return Ok(failed(
                code,
                sc_failed("CreateService", code),
                json!({"service": spec.name, "error": win32::message(code)}),
            ));
        }
        let account = if spec.account.eq_ignore_ascii_case("LocalSystem") {
            "LocalSystem".to_owned()
        } else {
            let dns = self.state.domain.as_ref().map(|d| d.dns.as_str());
            let plain = spec.account.strip_prefix(".\\").unwrap_or(&spec.account);
            match self.state.accounts.iter().find(|a| a.is_named(plain, dns)) {
                Some(a) => {
                    // An installer grants the account it configures "Log on as a service".
                    let (q, sid) = (a.qualified_name(), a.sid.clone());
                    self.grant_service_logon(&sid);
                    q
                }
                None => {
                    let code = win32::INVALID_SERVICE_ACCOUNT;
                    return Ok(failed(
                        code,
                        sc_failed("CreateService", code),
                        json!({"service": spec.name, "error": win32::message(code), "accounts": self.state.accounts.iter().map(Account::qualified_name).collect::<Vec<_>>()}),
                    ));
                }
            }
        };
        self.state.services.push(Service {
            name: spec.name.clone(),
            display_name: spec.display_name.clone(),
            binary_path: spec.binary_path.clone(),
            start_type: StartType::Demand,
            account,
            state: ServiceState::Stopped,
            win32_exit_code: 0,
            service_exit_code: 0,
            pid: None,
        });
        if let Some(p) = &spec.password {
            self.put_secret(&service_secret_name(&spec.name), p.expose().as_bytes());
        }
        if let Some(program) = program {
            self.state.programs.insert(spec.name.clone(), program);
        }
        Ok(Outcome {
            code: 0,
            text: "[SC] CreateService SUCCESS".into(),
            json: json!({"service": spec.name}),
            events: vec![],
        })
    }

    /// `sc delete` (DeleteService): removes the service, its stored password and its program.
    ///
    /// Named choice: a running service is stopped first (Windows marks it for deletion and
    /// removes it when it stops; the simulator has no pending-deletion state).
    pub fn delete_service(&mut self, name: &str) -> Result<Outcome, WorldError> {
        self.atomically(|w| w.delete_service_in_place(name))
    }

    /// [`World::delete_service`] inside the caller's transaction.
    fn delete_service_in_place(&mut self, name: &str) -> Result<Outcome, WorldError> {
        let Some(si) = self.service_index(name) else {
            return Ok(self.no_such_service("OpenService", name));
        };
        let mut out = Outcome::default();
        if self.state.services[si].state == ServiceState::Running {
            out.events = self.stop_service(name).events;
        }
        let svc = self.state.services.remove(si);
        self.state.programs.remove(&svc.name);
        self.state
            .lsa
            .secrets
            .remove(&service_secret_name(&svc.name));
        self.clear_memory(&svc.name);
        out.text = "[SC] DeleteService SUCCESS".into();
        out.json = json!({"service": svc.name});
        Ok(out)
    }

    /// `adsync-sim probe-service install`: protects a random keyset as the service account
    /// (LogonUserW with `spec.password`), then installs a service whose program is the
    /// [`KeysetProbe`]. Result 1326 (LogonUserW) when the password does not log on.
    pub fn install_probe(&mut self, spec: &ServiceSpec) -> Result<Outcome, WorldError> {
        self.atomically(|w| w.install_probe_in_place(spec))
    }

    /// [`World::install_probe`] inside the caller's transaction.
    fn install_probe_in_place(&mut self, spec: &ServiceSpec) -> Result<Outcome, WorldError> {
        let password = spec.password.clone().unwrap_or_else(|| Secret::new(""));
        let mut rng = self.rng();
        let mut keyset = Zeroizing::new(vec![0u8; PROBE_KEYSET_LEN]);
        let mut entropy = [0u8; PROBE_ENTROPY_LEN];
        rand_core::Rng::fill_bytes(&mut rng.0, &mut keyset);
        rand_core::Rng::fill_bytes(&mut rng.0, &mut entropy);
        self.save_rng(&rng);
        let plain = spec.account.strip_prefix(".\\").unwrap_or(&spec.account);
        let blob = match self.protect_as(plain, &password, &keyset, &entropy)? {
            Ok(b) => b,
            Err(code) => {
                return Ok(failed(
                    code,
                    format!(
                        "LogonUserW / CryptProtectData failed {code}: {}",
                        win32::message(code)
                    ),
                    json!({"service": spec.name, "error": win32::message(code)}),
                ));
            }
        };
        let probe = KeysetProbe {
            blob,
            entropy: entropy.to_vec(),
        };
        self.create_service_with(spec, Some(Program::Probe(probe)))
    }

    /// CryptProtectData as `account` (LogonUserW with `password`, then impersonation). The inner
    /// error is the Win32 code: 1326 when the password does not log on, 1331 / 1909 for a
    /// disabled or locked account.
    pub fn protect_as(
        &mut self,
        account: &str,
        password: &Secret,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Result<Vec<u8>, u32>, WorldError> {
        self.atomically(|w| w.protect_as_in_place(account, password, data, entropy))
    }

    /// [`World::protect_as`] inside the caller's transaction.
    fn protect_as_in_place(
        &mut self,
        account: &str,
        password: &Secret,
        data: &[u8],
        entropy: &[u8],
    ) -> Result<Result<Vec<u8>, u32>, WorldError> {
        self.as_account(account, password, |host| {
            host.protect(data, entropy, "", ProtectFlags(CRYPTPROTECT_UI_FORBIDDEN))
        })
    }

    /// CryptUnprotectData as `account`; errors as [`World::protect_as`], and 13 or 0x8009000B
    /// from DPAPI itself.
    pub fn unprotect_as(
        &mut self,
        account: &str,
        password: &Secret,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Result<SecretBytes, u32>, WorldError> {
        self.atomically(|w| w.unprotect_as_in_place(account, password, blob, entropy))
    }

    /// [`World::unprotect_as`] inside the caller's transaction.
    fn unprotect_as_in_place(
        &mut self,
        account: &str,
        password: &Secret,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Result<SecretBytes, u32>, WorldError> {
        self.as_account(account, password, |host| host.unprotect(blob, entropy))
    }

    fn as_account<T>(
        &mut self,
        account: &str,
        password: &Secret,
        f: impl FnOnce(&mut StartHost<'_>) -> Result<T, HostFailure<WorldError>>,
    ) -> Result<Result<T, u32>, WorldError> {
        let idx = self.account_index(account)?;
        let a = self.state.accounts[idx].clone();
        if !a.enabled {
            return Ok(Err(win32::ACCOUNT_DISABLED));
        }
        if a.locked {
            return Ok(Err(win32::ACCOUNT_LOCKED_OUT));
        }
        if !a.kind.has_settable_password() || !a.password_is(password.expose()) {
            return Ok(Err(win32::LOGON_FAILURE));
        }
        let credential = credential_for(a.kind, &a.sid(), &utf16le(password.expose()));
        let result = self.with_dpapi_host(idx, String::new(), credential, f)?;
        Ok(result.map_err(|e| e.win32()))
    }
}
