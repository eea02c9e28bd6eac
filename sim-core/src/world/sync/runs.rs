//! Connector runs and sync cycles: a run logs the connector account on with the password the
//! credential store decrypts, and records its result in the run history.
//!
//! Follows `docs/adsync.md` §4 (F3 `no-start-credentials` / event 6000, F4 AADSTS50054 / events
//! 6900 and 659, F6, F7) and the 2023 article's account of what breaks after a reset.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::memory::credential_memory;
use crate::adsync::connector::{ConnectorType, ManagementAgent};
use crate::adsync::run::{PolicyType, RunProfile, RunRecord, RunStatus};
use crate::adsync::{credstore, text};
use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::text::win32;
use crate::world::{ADSYNC_SERVICE, Outcome, World, WorldError};

impl World {
    /// The password a run uses: the engine's cached one, or the stored one decrypted with the
    /// keyset in memory (and then cached until the service stops). `None` when it cannot be
    /// decrypted.
    pub(in crate::world) fn run_password(
        &mut self,
        idx: usize,
    ) -> Result<Option<Zeroizing<String>>, WorldError> {
        let ma_name = self.engine()?.agents[idx].ma_name.clone();
        if let Some(cached) = self.memory_get(&credential_memory(&ma_name))? {
            return Ok(Some(Zeroizing::new(
                String::from_utf8_lossy(&cached).into_owned(),
            )));
        }
        let Some(keyset) = self.memory_keyset()? else {
            return Ok(None);
        };
        let Some(key) = keyset.key(1) else {
            return Ok(None);
        };
        let b64 = self.engine()?.agents[idx].encrypted_configuration.clone();
        let Ok(attributes) = credstore::decrypt(key, &b64) else {
            return Ok(None);
        };
        let password = attributes.into_password();
        self.memory_put(
            ADSYNC_SERVICE,
            &credential_memory(&ma_name),
            password.as_bytes(),
        );
        Ok(Some(password))
    }

    pub(in crate::world) fn connector_index(&self, name: &str) -> Result<usize, WorldError> {
        let agents = &self.engine()?.agents;
        agents
            .iter()
            .position(|a| a.is_named(name))
            .ok_or_else(|| WorldError::UnknownConnector {
                name: name.to_owned(),
                known: agents
                    .iter()
                    .map(|a| a.ma_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The directory account a connector logs on with (AD: in its forest).
    pub(in crate::world) fn ad_login_account(&self, agent: &ManagementAgent) -> Option<usize> {
        let user = credstore::login_user(&agent.private_configuration_xml)?;
        self.state.accounts.iter().position(|a| {
            a.name.eq_ignore_ascii_case(&user)
                && a.forest_dns(self.state.domain.as_ref().map(|d| d.dns.as_str()))
                    .is_some_and(|f| f.eq_ignore_ascii_case(&agent.target))
        })
    }

    /// One run of one profile on one connector (`docs/adsync.md` §4 F3, F4). When the engine's
    /// sign-in to Entra fails, `entra_error` receives the service's error text (for 659).
    pub(in crate::world) fn run_connector(
        &mut self,
        idx: usize,
        profile: RunProfile,
        out: &mut Outcome,
        entra_error: &mut Option<String>,
    ) -> Result<RunStatus, WorldError> {
        let agent = self.engine()?.agents[idx].clone();
        let status = if !profile.connects() {
            RunStatus::Success
        } else {
            let password = self.run_password(idx)?;
            match agent.kind {
                ConnectorType::Ad => {
                    // The connector binds as its account: a wrong password counts toward the
                    // lockout threshold, an expired one fails like a wrong one (`rights`).
                    let ok = match (password.as_ref(), self.ad_login_account(&agent)) {
                        (Some(pw), Some(ai)) => {
                            let a = &self.state.accounts[ai];
                            let (usable, right) = (a.enabled && !a.locked, a.password_is(pw));
                            if usable && !right {
                                self.bad_logon(ai);
                            }
                            let ok = usable && right && !self.password_expired(ai);
                            if ok {
                                self.good_logon(ai);
                            }
                            ok
                        }
                        _ => false,
                    };
                    if ok {
                        RunStatus::Success
                    } else {
                        self.engine_event(out, 6000, text::event_6000(&agent.ma_name));
                        RunStatus::NoStartCredentials
                    }
                }
                ConnectorType::Entra => match password {
                    None => {
                        self.engine_event(out, 6000, text::event_6000(&agent.ma_name));
                        RunStatus::NoStartCredentials
                    }
                    Some(pw) => {
                        let user = credstore::login_user(&agent.private_configuration_xml)
                            .unwrap_or_default();
                        match self.state.tenant.sign_in(&user, &pw) {
                            Ok(_) => RunStatus::Success,
                            Err(e) => {
                                // `docs/adsync.md` §4 F4; the status is COMM (F9). Named
                                // choice (INF): 6900 is written when the sync engine's
                                // sign-in to Entra fails, once per run that signs in; the
                                // seed lists it among errors a credentials reset fixes,
                                // without saying which operation writes it.
                                self.engine_event(out, 6900, text::event_6900(e.text()));
                                *entra_error = Some(e.text().to_owned());
                                RunStatus::StoppedServerDown
                            }
                        }
                    }
                },
            }
        };
        let now = self.state.clock;
        self.engine_mut()?.agents[idx].last_run = Some(RunRecord {
            profile,
            status,
            time: now,
        });
        Ok(status)
    }

    pub(in crate::world) fn engine_event(&mut self, out: &mut Outcome, id: u32, message: String) {
        self.write_event(
            out,
            NewEvent {
                log: LogName::Application,
                source: text::ENGINE_SOURCE,
                id,
                level: Level::Error,
                message,
            },
        );
    }

    /// A command that needs the running engine, refused with ERROR_SERVICE_NOT_ACTIVE (1062,
    /// the system message table's code for a service that has not been started).
    pub(in crate::world) fn not_running(&self, what: String) -> Outcome {
        let code = win32::SERVICE_NOT_ACTIVE;
        Outcome {
            code,
            text: what,
            json: json!({"service": ADSYNC_SERVICE, "state": "STOPPED", "error": win32::message(code)}),
            events: vec![],
        }
    }

    /// `sync run CONNECTOR --profile P`, `Invoke-ADSyncRunProfile`.
    pub(in crate::world) fn sync_run(
        &mut self,
        connector: &str,
        profile: RunProfile,
    ) -> Result<Outcome, WorldError> {
        let idx = self.connector_index(connector)?;
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Invoke-ADSyncRunProfile")));
        }
        let mut out = Outcome::default();
        let status = self.run_connector(idx, profile, &mut out, &mut None)?;
        let name = self.engine()?.agents[idx].ma_name.clone();
        out.text = text::run_result(&name, profile.as_str(), status.as_str());
        out.json =
            json!({"connector": name, "profile": profile.as_str(), "status": status.as_str()});
        out.code = if status == RunStatus::Success { 0 } else { 1 };
        Ok(out)
    }

    /// One sync cycle: each connector's profiles in order; a connector whose run fails does
    /// not go on to its next profile.
    ///
    /// Named choice (INF): event 659 ("Error while retrieving password policy sync
    /// configuration") belongs to password hash synchronisation, not to a run profile; the
    /// simulator writes it once per sync cycle whose Entra sign-in failed (password hash
    /// synchronisation reads its configuration from Entra with the same connector account),
    /// never for a single `Invoke-ADSyncRunProfile`.
    pub(in crate::world) fn cycle(
        &mut self,
        policy: PolicyType,
        out: &mut Outcome,
    ) -> Result<Vec<Value>, WorldError> {
        let mut rows = Vec::new();
        let mut entra_error = None;
        let mut ran = Vec::new();
        for idx in 0..self.engine()?.agents.len() {
            let mut last = RunStatus::Success;
            let mut profiles = 0u64;
            for profile in policy.profiles() {
                profiles += 1;
                last = self.run_connector(idx, profile, out, &mut entra_error)?;
                if last != RunStatus::Success {
                    break;
                }
            }
            let a = &self.engine()?.agents[idx];
            rows.push(json!({"connector": a.ma_name, "status": last.as_str()}));
            ran.push((a.ma_name.clone(), profiles));
        }
        self.cycle_started(&ran)?;
        if let Some(aadsts) = entra_error {
            self.write_event(
                out,
                NewEvent {
                    log: LogName::Application,
                    source: text::PHS_SOURCE,
                    id: 659,
                    level: Level::Error,
                    message: text::event_659(&aadsts),
                },
            );
        }
        Ok(rows)
    }

    /// `sync cycle`, `Start-ADSyncSyncCycle -PolicyType P`.
    pub(in crate::world) fn sync_cycle(
        &mut self,
        policy: PolicyType,
    ) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Start-ADSyncSyncCycle")));
        }
        if let Some(busy) = self.cycle_busy() {
            let typed = format!("Start-ADSyncSyncCycle -PolicyType {}", policy.as_str());
            return Ok(self.cycle_refused(&busy, &typed));
        }
        let mut out = Outcome::default();
        let rows = self.cycle(policy, &mut out)?;
        let now = self.state.clock;
        let engine = self.engine_mut()?;
        engine.scheduler.reschedule(now);
        // Named choice (INF, `run_time`): commands take no simulated time, so a typed cycle has
        // ended before the next line; only the scheduler's cycles, which start inside a
        // `clock advance`, can still be running when a command comes.
        engine.scheduler.in_progress = None;
        out.text = text::SYNC_CYCLE_STARTED.to_owned();
        out.json = json!({"result": "Success", "policy": policy.as_str(), "runs": rows});
        Ok(out)
    }
}
