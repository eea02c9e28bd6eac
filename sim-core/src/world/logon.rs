//! Logon and processes: how the SCM logs a service account on and starts its program, and what
//! the program sees while it starts (DPAPI as its account, the event log).
//!
//! Follows `docs/adsync.md` §4 (F1: logon failure 1069 and event 7038; F2: the keyset cannot be
//! opened, event 6028) and the Service Control Manager's documented start sequence.

use crate::dpapi::secret::SecretBytes;
use rand_core::Rng;
use serde_json::json;
use zeroize::Zeroizing;

use super::{ADSYNC_SERVICE, Outcome, Stream, World, WorldError};
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::dpapi::crypto::utf16le;
use crate::dpapi::prekey::Credential;
use crate::dpapi::store::DomainBackup;
use crate::filetime::FileTime;
use crate::win::account::{AccountKind, credential_for};
use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::lsa::service_secret_name;
use crate::win::scm::{
    HostFailure, Service, ServiceFailure, ServiceHost, ServiceState, StartFailure, StartType,
    sc_failed,
};
use crate::win::text;
use crate::win::text::{SCM_SOURCE, win32};

/// The host a service program sees while it starts: DPAPI as its account (with domain
/// recovery through the DC), and the event log. A call the world cannot answer (its own state
/// is damaged) fails with [`HostFailure::Host`] and the world's error.
pub(super) struct StartHost<'a> {
    pub(super) world: &'a mut World,
    pub(super) service: String,
    pub(super) account: usize,
    pub(super) credential: Credential,
    pub(super) rng: &'a mut Stream,
    pub(super) out: &'a mut Outcome,
}

/// The world's answer to a DPAPI call: DPAPI's refusal inside, the world's own failure outside.
type Answer<T> = Result<Result<T, DpapiError>, WorldError>;

/// One failure for the program: DPAPI's refusal or the world's.
fn flatten<T>(answer: Answer<T>) -> Result<T, HostFailure<WorldError>> {
    answer
        .map_err(HostFailure::Host)?
        .map_err(HostFailure::Dpapi)
}

impl StartHost<'_> {
    /// `CryptUnprotectData` as the account, asking the DC for recovery when `with_dc`.
    fn unprotect_as_account(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
        with_dc: bool,
    ) -> Result<SecretBytes, HostFailure<WorldError>> {
        let mut store = self
            .world
            .load_store(self.account)
            .map_err(HostFailure::Host)?;
        let dc = self
            .world
            .dc()
            .map_err(HostFailure::Host)?
            .filter(|_| with_dc);
        let result = store.unprotect_recovering(
            &mut self.rng.0,
            &self.credential,
            blob,
            entropy,
            dc.as_ref().map(|d| d as &dyn DomainBackup),
        );
        // A recovery through the DC re-protects the key: keep what DPAPI wrote.
        self.world.save_store(self.account, &store);
        Ok(result.map(|(_, plain)| plain)?)
    }
}

impl ServiceHost for StartHost<'_> {
    type Error = WorldError;

    fn unprotect(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<WorldError>> {
        self.unprotect_as_account(blob, entropy, true)
    }

    fn unprotect_without_backup_key(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<WorldError>> {
        self.unprotect_as_account(blob, entropy, false)
    }

    fn protect(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
    ) -> Result<Vec<u8>, HostFailure<WorldError>> {
        let mut store = self
            .world
            .load_store(self.account)
            .map_err(HostFailure::Host)?;
        let dc = self.world.dc().map_err(HostFailure::Host)?;
        let blob = store.protect_with(
            &mut self.rng.0,
            &self.credential,
            data,
            entropy,
            description,
            flags,
            self.world.state.clock,
            dc.as_ref().map(|d| d as &dyn DomainBackup),
        )?;
        self.world.save_store(self.account, &store);
        Ok(blob)
    }

    fn unprotect_machine(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<SecretBytes, HostFailure<WorldError>> {
        flatten(self.world.unprotect_machine(blob, entropy))
    }

    fn protect_machine(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, HostFailure<WorldError>> {
        self.world
            .protect_machine_with(self.rng, data, entropy, description)
            .map_err(HostFailure::Host)
    }

    fn account_sid(&self) -> String {
        self.world
            .state
            .accounts
            .get(self.account)
            .map(|a| a.sid.clone())
            .unwrap_or_default()
    }

    fn random(&mut self, buf: &mut [u8]) {
        self.rng.0.fill_bytes(buf);
    }

    fn now(&self) -> FileTime {
        self.world.state.clock
    }

    fn retain(&mut self, name: &str, secret: &[u8]) {
        self.world.memory_put(&self.service, name, secret);
    }

    fn write_event(&mut self, event: NewEvent) {
        self.world.write_event(self.out, event);
    }
}

impl World {
    /// The credential a service's logon session holds, from the SCM's stored password (user
    /// accounts), `DPAPI_SYSTEM` (virtual accounts) or the directory (gMSA).
    pub(in crate::world) fn service_credential(
        &self,
        service: &Service,
        idx: usize,
    ) -> Result<Credential, WorldError> {
        let a = &self.state.accounts[idx];
        Ok(match a.kind {
            AccountKind::Virtual => Credential::virtual_account(&self.dpapi_system()?, &a.sid()),
            AccountKind::Gmsa | AccountKind::Smsa => {
                credential_for(a.kind, &a.sid(), &self.managed_password(&a.name)?)
            }
            AccountKind::Local | AccountKind::Domain => {
                let pw = self
                    .secret(&service_secret_name(&service.name))?
                    .unwrap_or_default();
                credential_for(a.kind, &a.sid(), &utf16le(&String::from_utf8_lossy(&pw)))
            }
        })
    }

    /// Starts a service: the logon check, then the program (docs/design.md §3, the host world).
    ///
    /// Longer than 80 lines on purpose: it follows the SCM's start sequence in order (state
    /// checks, logon, logon right, process, the program's start, 7036 or the failure events).
    pub(in crate::world) fn start_service(
        &mut self,
        name: &str,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let Some(si) = self.service_index(name) else {
            return Ok(self.no_such_service("StartService: OpenService", name));
        };
        let svc = self.state.services[si].clone();
        let fail = |code: u32| Outcome {
            code,
            text: sc_failed("StartService", code),
            json: json!({"service": svc.name, "state": svc.state.as_str(), "error": win32::message(code)}),
            events: vec![],
        };
        if svc.state == ServiceState::Running {
            return Ok(fail(win32::SERVICE_ALREADY_RUNNING));
        }
        if svc.start_type == StartType::Disabled {
            return Ok(fail(win32::SERVICE_DISABLED));
        }
        let ai = self.account_index(&svc.account)?;
        let mut out = Outcome::default();
        if let Some(reason) = self.logon_failure(&svc, ai)? {
            // "Azure AD Connect sync: Changing the Azure AD Connect Sync service account password" (2017-04-03): error 1069 and event 7038.
            let code = win32::SERVICE_LOGON_FAILED;
            let s = &mut self.state.services[si];
            s.win32_exit_code = code;
            s.service_exit_code = 0;
            let account = svc.account.clone();
            if reason == win32::LOGON_FAILURE {
                // A wrong password counts toward the lockout threshold (`rights`).
                self.bad_logon(ai);
            }
            // A missing "Log on as a service" right is 7041, the SCM's own event for 1385
            // (`text::event_7041`); every other reason is 7038 with the reason's text.
            let (id, message) = if reason == win32::LOGON_TYPE_NOT_GRANTED {
                (7041, text::event_7041(&svc.name, &account))
            } else {
                (
                    7038,
                    text::event_7038(&svc.name, &account, win32::message(reason)),
                )
            };
            self.write_event(
                &mut out,
                NewEvent {
                    log: LogName::System,
                    source: SCM_SOURCE,
                    id,
                    level: Level::Error,
                    message,
                },
            );
            self.write_event(
                &mut out,
                NewEvent {
                    log: LogName::System,
                    source: SCM_SOURCE,
                    id: 7000,
                    level: Level::Error,
                    message: text::event_7000(&svc.display_name, win32::message(code)),
                },
            );
            out.code = code;
            // sc.exe's own text only; the Services console's dialog
            // ([`text::start_failed_dialog`]) is the console's.
            out.text = sc_failed("StartService", code);
            out.json =
                json!({"service": svc.name, "state": "STOPPED", "error": win32::message(code)});
            return Ok(out);
        }
        self.good_logon(ai);
        let cred = self.service_credential(&svc, ai)?;
        if let Some(mut program) = self.state.programs.get(&svc.name).cloned() {
            let mut host = StartHost {
                world: self,
                service: svc.name.clone(),
                account: ai,
                credential: cred,
                rng,
                out: &mut out,
            };
            let failure = match program.as_program().start(&mut host) {
                Ok(()) => None,
                Err(StartFailure::Host(e)) => return Err(e),
                Err(StartFailure::Service(failure)) => Some(failure),
            };
            self.state.programs.insert(svc.name.clone(), program);
            if let Some(failure) = failure {
                self.clear_memory(&svc.name);
                return Ok(self.service_failed(si, failure, out));
            }
        }
        let pid = self.state.next_pid;
        self.state.next_pid += 4;
        let s = &mut self.state.services[si];
        s.state = ServiceState::Running;
        s.win32_exit_code = 0;
        s.service_exit_code = 0;
        s.pid = Some(pid);
        let started = s.clone();
        self.state_event(&mut out, si);
        if svc.name.eq_ignore_ascii_case(ADSYNC_SERVICE) {
            self.scheduler_resume();
        }
        out.text = started.sc_start_pending();
        out.json = json!({"service": svc.name, "state": "RUNNING", "pid": pid});
        Ok(out)
    }

    /// The program stopped with a service-specific error: the SCM records it (1066 and the code,
    /// System event 7024) and the Services console shows its dialog, verbatim from
    /// "Azure AD Connect sync: Changing the Azure AD Connect Sync service account password" (2017-04-03) (which drops the word "service").
    pub(in crate::world) fn service_failed(
        &mut self,
        si: usize,
        failure: ServiceFailure,
        mut out: Outcome,
    ) -> Outcome {
        let s = &mut self.state.services[si];
        s.state = ServiceState::Stopped;
        s.win32_exit_code = win32::SERVICE_SPECIFIC_ERROR;
        s.service_exit_code = failure.code;
        s.pid = None;
        let (name, display) = (s.name.clone(), s.display_name.clone());
        self.write_event(
            &mut out,
            NewEvent {
                log: LogName::System,
                source: SCM_SOURCE,
                id: 7024,
                level: Level::Error,
                message: text::event_7024(&display, failure.code),
            },
        );
        out.code = win32::SERVICE_SPECIFIC_ERROR;
        out.text = format!(
            "Windows could not start the {display} on Local Computer. For more information, review the System Event log. If this is a non-Microsoft service, contact the service vendor, and refer to service-specific error code {}.",
            failure.code_text
        );
        out.json = json!({"service": name, "state": "STOPPED", "win32_exit_code": win32::SERVICE_SPECIFIC_ERROR, "service_exit_code": failure.code});
        out
    }

    /// Why the SCM cannot log the service on, as a Win32 reason code, or `None`.
    pub(in crate::world) fn logon_failure(
        &self,
        svc: &Service,
        ai: usize,
    ) -> Result<Option<u32>, WorldError> {
        let a = &self.state.accounts[ai];
        if !a.enabled {
            return Ok(Some(win32::ACCOUNT_DISABLED));
        }
        if a.locked {
            return Ok(Some(win32::ACCOUNT_LOCKED_OUT));
        }
        if !a.kind.has_settable_password() {
            return Ok(super::rights::after_password(self, ai));
        }
        let stored = self
            .secret(&service_secret_name(&svc.name))?
            .unwrap_or_default();
        let stored = Zeroizing::new(String::from_utf8_lossy(&stored).into_owned());
        if !a.password_is(&stored) {
            return Ok(Some(win32::LOGON_FAILURE));
        }
        Ok(super::rights::after_password(self, ai))
    }
}
