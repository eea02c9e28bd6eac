//! The ADSync model inside the world: install, the engine's memory, connector runs, the
//! scheduler, `miiskmu /a`, the Synchronization Service Manager's password dialog and the ADSync
//! cmdlets.
//!
//! Follows `docs/adsync.md` §2 (the accounts an install creates), §3.5 (the engine decrypts
//! connector credentials when a run starts and caches them until the service restarts), §4
//! (F2, F3, F4, F6, F7), §5 (the tools and their ordering rules) and the seed articles.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Outcome, Stream, World, WorldError, generate_password};
use crate::adsync::build::Build;
use crate::adsync::connector::{ConnectorType, ENTRA_MA_TYPE, ENTRA_NAME_SUFFIX, ManagementAgent};
use crate::adsync::credstore;
use crate::adsync::engine::{
    CREDENTIALS_FOLDER, Engine, INITIAL_KEYSET_ID, MEMORY_KEYSET, REGISTRY_KEYSET_KEY,
    ServerConfiguration, StoredKeyset,
};
use crate::adsync::keyset::Keyset;
use crate::adsync::run::{
    PolicyType, RunProfile, RunRecord, RunStatus, SYNC_CYCLE_MINUTES, Scheduler,
};
use crate::adsync::text;
use crate::cloud::{ROLE_DIRECTORY_SYNC, ROLE_GLOBAL_ADMIN, ROLE_HYBRID_IDENTITY_ADMIN};
use crate::command::{PsCredential, Secret};
use crate::filetime::FileTime;
use crate::win::account::StoredHashes;
use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::scm::ServiceState;
use crate::win::text::win32;

/// The ADSync service's name.
pub use super::ADSYNC_SERVICE;

/// The name of the Global Administrator an install creates in the tenant. Named choice: the
/// sources do not name it.
pub const GLOBAL_ADMIN_NAME: &str = "admin";
/// The Enterprise Admin each forest has (the built-in domain Administrator).
pub const ENTERPRISE_ADMIN_NAME: &str = "Administrator";

/// What an install reports about the accounts an admin knows (docs/design.md §4).
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The Global Administrator's UPN and password.
    pub global_admin: (String, Zeroizing<String>),
    /// Each forest's Enterprise Admin: forest, qualified name, password.
    pub enterprise_admins: Vec<(String, String, Zeroizing<String>)>,
    /// The Entra connector account's UPN.
    pub entra_account: String,
    /// Each forest's AD DS connector account: forest, qualified name.
    pub ad_accounts: Vec<(String, String)>,
}

/// Where a running service's secret lives in [`super::WorldState::memory`].
fn memory_key(service: &str, name: &str) -> String {
    format!("memory:{service}:{name}")
}

fn credential_memory(ma_name: &str) -> String {
    format!("credential:{ma_name}")
}

impl World {
    /// Installs ADSync: the engine with its server configuration, its first keyset (made at the
    /// first start), one AD DS connector per forest with its `MSOL_` account, the Entra connector
    /// with its `Sync_` account and the tenant's Global Administrator.
    pub(super) fn install_adsync(
        &mut self,
        build: Build,
        keyset_follows_dpapi: bool,
        forests: &[String],
        hex_suffix: &str,
        rng: &mut Stream,
    ) -> Result<InstallReport, WorldError> {
        let now = self.state.clock;
        let engine = Engine {
            build,
            server: ServerConfiguration {
                keyset_id: INITIAL_KEYSET_ID,
                instance_id: rng.guid(),
                entropy: rng.guid(),
            },
            keyset: StoredKeyset::None,
            agents: vec![],
            scheduler: Scheduler::new(now),
            keyset_follows_dpapi,
        };
        self.state.programs.insert(
            ADSYNC_SERVICE.into(),
            super::Program::Engine(Box::new(engine)),
        );
        let started = self.start_service(ADSYNC_SERVICE, rng)?;
        if started.code != 0 {
            return Err(WorldError::Damaged(format!(
                "the service did not start at install: {}",
                started.text
            )));
        }
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::Damaged("no keyset after the first start".into()))?;

        let mut report = InstallReport {
            global_admin: (String::new(), Zeroizing::new(String::new())),
            enterprise_admins: vec![],
            entra_account: String::new(),
            ad_accounts: vec![],
        };
        for forest in forests {
            let ea_pw = generate_password(rng);
            let ea = self.create_forest_user(forest, ENTERPRISE_ADMIN_NAME, &ea_pw, rng)?;
            report.enterprise_admins.push((forest.clone(), ea, ea_pw));
            // `docs/adsync.md` §2.2: MSOL_<hex>, a long random password nobody is told.
            let pw = generate_password(rng);
            let user = format!("MSOL_{hex_suffix}");
            let q = self.create_forest_user(forest, &user, &pw, rng)?;
            let agent = ManagementAgent {
                ma_id: rng.guid().to_string(),
                ma_name: forest.clone(),
                ma_type: credstore::AD_MA_TYPE.into(),
                subtype: String::new(),
                private_configuration_xml: credstore::ad_private_configuration(
                    forest, &user, forest,
                ),
                encrypted_configuration: String::new(),
                kind: ConnectorType::Ad,
                target: forest.clone(),
                last_run: None,
            };
            self.engine_mut()?.agents.push(agent);
            let idx = self.engine()?.agents.len() - 1;
            self.store_connector_password(idx, &keyset, &pw, rng)?;
            report.ad_accounts.push((forest.clone(), q));
        }
        // `docs/adsync.md` §2.3: Sync_<SERVER>_<hex>@tenant with the Directory Synchronization
        // Accounts role; the admin never learns its password.
        let tenant = self.state.tenant.name.clone();
        let admin_pw = generate_password(rng);
        let admin = format!("{GLOBAL_ADMIN_NAME}@{tenant}");
        self.state
            .tenant
            .put_user(&admin, &admin_pw, &[ROLE_GLOBAL_ADMIN], now);
        report.global_admin = (admin, admin_pw);
        let sync_upn = format!("Sync_{}_{hex_suffix}@{tenant}", super::SERVER_NAME);
        let sync_pw = generate_password(rng);
        self.state
            .tenant
            .put_user(&sync_upn, &sync_pw, &[ROLE_DIRECTORY_SYNC], now);
        let agent = ManagementAgent {
            ma_id: credstore::ENTRA_CONNECTOR_ID.to_string(),
            ma_name: format!("{tenant}{ENTRA_NAME_SUFFIX}"),
            ma_type: ENTRA_MA_TYPE.into(),
            subtype: credstore::ENTRA_SUBTYPE.into(),
            private_configuration_xml: credstore::entra_private_configuration(&sync_upn),
            encrypted_configuration: String::new(),
            kind: ConnectorType::Entra,
            target: tenant,
            last_run: None,
        };
        self.engine_mut()?.agents.push(agent);
        let idx = self.engine()?.agents.len() - 1;
        self.store_connector_password(idx, &keyset, &sync_pw, rng)?;
        report.entra_account = sync_upn;
        Ok(report)
    }

    /// The engine at rest.
    pub fn engine(&self) -> Result<&Engine, WorldError> {
        match self.state.programs.get(ADSYNC_SERVICE) {
            Some(super::Program::Engine(e)) => Ok(e),
            _ => Err(WorldError::Damaged("ADSync is not installed".into())),
        }
    }

    fn engine_mut(&mut self) -> Result<&mut Engine, WorldError> {
        match self.state.programs.get_mut(ADSYNC_SERVICE) {
            Some(super::Program::Engine(e)) => Ok(e),
            _ => Err(WorldError::Damaged("ADSync is not installed".into())),
        }
    }

    fn adsync_running(&self) -> bool {
        self.service_index(ADSYNC_SERVICE)
            .is_some_and(|i| self.state.services[i].state == ServiceState::Running)
    }

    /// Keeps a secret in a running service's memory (sealed at rest).
    pub(super) fn memory_put(&mut self, service: &str, name: &str, value: &[u8]) {
        let key = memory_key(service, name);
        let sealed = self.sealer.seal(&key, value);
        self.state.memory.insert(key, sealed);
    }

    fn memory_get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, WorldError> {
        let key = memory_key(ADSYNC_SERVICE, name);
        match self.state.memory.get(&key) {
            None => Ok(None),
            Some(s) => Ok(Some(self.sealer.open(&key, s)?)),
        }
    }

    /// A service's process ended: its memory is gone.
    pub(super) fn clear_memory(&mut self, service: &str) {
        let prefix = memory_key(service, "");
        self.state.memory.retain(|k, _| !k.starts_with(&prefix));
    }

    fn memory_keyset(&self) -> Result<Option<Keyset>, WorldError> {
        match self.memory_get(MEMORY_KEYSET)? {
            None => Ok(None),
            Some(b) => Keyset::parse(&b)
                .map(Some)
                .map_err(|e| WorldError::Damaged(format!("the engine's keyset: {e}"))),
        }
    }

    /// `Key.EncryptStringToBase64` with key 1 (`docs/adsync.md` §3.4, §3.5).
    fn store_connector_password(
        &mut self,
        idx: usize,
        keyset: &Keyset,
        password: &str,
        rng: &mut Stream,
    ) -> Result<(), WorldError> {
        let kind = self.engine()?.agents[idx].kind;
        let key = keyset
            .key(1)
            .ok_or_else(|| WorldError::Damaged("the keyset has no key 1".into()))?;
        let mut iv = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut rng.0, &mut iv);
        let attributes = match kind {
            ConnectorType::Ad => credstore::EncryptedAttributes::ad(password),
            ConnectorType::Entra => credstore::EncryptedAttributes::entra(password),
        }
        .map_err(|e| WorldError::Options(format!("the password cannot be stored: {e}")))?;
        let b64 = credstore::encrypt(key, iv, &attributes);
        self.engine_mut()?.agents[idx].encrypted_configuration = b64;
        Ok(())
    }

    /// The password a run uses: the engine's cached one, or the stored one decrypted with the
    /// keyset in memory (and then cached until the service stops). `None` when it cannot be
    /// decrypted.
    fn run_password(&mut self, idx: usize) -> Result<Option<Zeroizing<String>>, WorldError> {
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

    fn connector_index(&self, name: &str) -> Result<usize, WorldError> {
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
    fn ad_login_account(&self, agent: &ManagementAgent) -> Option<usize> {
        let user = credstore::login_user(&agent.private_configuration_xml)?;
        self.state.accounts.iter().position(|a| {
            a.name.eq_ignore_ascii_case(&user)
                && a.forest_dns(self.state.domain.as_ref().map(|d| d.dns.as_str()))
                    .is_some_and(|f| f.eq_ignore_ascii_case(&agent.target))
        })
    }

    /// One run of one profile on one connector (`docs/adsync.md` §4 F3, F4). When the engine's
    /// sign-in to Entra fails, `entra_error` receives the service's error text (for 659).
    fn run_connector(
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
                    let ok = password.as_ref().is_some_and(|pw| {
                        self.ad_login_account(&agent).is_some_and(|ai| {
                            let a = &self.state.accounts[ai];
                            a.enabled && !a.locked && a.password_is(pw)
                        })
                    });
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

    fn engine_event(&mut self, out: &mut Outcome, id: u32, message: String) {
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
    fn not_running(&self, what: String) -> Outcome {
        let code = win32::SERVICE_NOT_ACTIVE;
        Outcome {
            code,
            text: what,
            json: json!({"service": ADSYNC_SERVICE, "state": "STOPPED", "error": win32::message(code)}),
            events: vec![],
        }
    }

    /// `sync run CONNECTOR --profile P`, `Invoke-ADSyncRunProfile`.
    pub(super) fn sync_run(
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
    fn cycle(&mut self, policy: PolicyType, out: &mut Outcome) -> Result<Vec<Value>, WorldError> {
        let mut rows = Vec::new();
        let mut entra_error = None;
        for idx in 0..self.engine()?.agents.len() {
            let mut last = RunStatus::Success;
            for profile in policy.profiles() {
                last = self.run_connector(idx, profile, out, &mut entra_error)?;
                if last != RunStatus::Success {
                    break;
                }
            }
            let a = &self.engine()?.agents[idx];
            rows.push(json!({"connector": a.ma_name, "status": last.as_str()}));
        }
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
    pub(super) fn sync_cycle(&mut self, policy: PolicyType) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Start-ADSyncSyncCycle")));
        }
        let mut out = Outcome::default();
        let rows = self.cycle(policy, &mut out)?;
        let now = self.state.clock;
        self.engine_mut()?.scheduler.reschedule(now);
        out.text = text::SYNC_CYCLE_STARTED.to_owned();
        out.json = json!({"result": "Success", "policy": policy.as_str(), "runs": rows});
        Ok(out)
    }

    /// The scheduler's cycles due up to `until` (called as the clock advances): a cycle every
    /// 30 minutes while the service runs and `SyncCycleEnabled` is true. The scheduler lives in
    /// the service (`docs/adsync.md` §5.3), so no cycle runs, and none is stamped, while it is
    /// stopped; a cycle due in the past runs once, now.
    pub(super) fn next_cycle_due(&self, until: FileTime) -> Option<FileTime> {
        let e = self.engine().ok()?;
        let due = e.scheduler.next_cycle.max(self.state.clock);
        (self.adsync_running() && e.scheduler.sync_cycle_enabled && due <= until).then_some(due)
    }

    /// After the service starts: the cycles missed while it was stopped collapse into one,
    /// due now. Named choice (INF, `docs/adsync.md` §5.3): the scheduler keeps one next-cycle
    /// time (`NextSyncCycleStartTimeInUTC`), not a queue of missed cycles.
    pub(super) fn scheduler_resume(&mut self) {
        let now = self.state.clock;
        if let Ok(e) = self.engine_mut()
            && e.scheduler.next_cycle < now
        {
            e.scheduler.next_cycle = now;
        }
    }

    /// How many scheduled cycles an advance to `until` would run at most (the service keeps
    /// running through an advance, so this is the count unless a cycle stops it).
    pub(super) fn sync_cycles_due(&self, until: FileTime) -> u64 {
        let interval = SYNC_CYCLE_MINUTES * 60 * 10_000_000;
        self.next_cycle_due(until)
            .map_or(0, |next| (until.0 - next.0) / interval + 1)
    }

    /// Runs the scheduled cycle at the current clock.
    pub(super) fn scheduled_cycle(&mut self, out: &mut Outcome) -> Result<(), WorldError> {
        let policy = self.engine()?.scheduler.next_policy;
        self.cycle(policy, out)?;
        let now = self.state.clock;
        self.engine_mut()?.scheduler.reschedule(now);
        Ok(())
    }

    /// `Get-ADSyncScheduler` (`docs/adsync.md` §5.3 lists its properties).
    pub(super) fn get_scheduler(&self) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Get-ADSyncScheduler")));
        }
        let s = &self.engine()?.scheduler;
        let interval = "00:30:00";
        let rows = [
            ("AllowedSyncCycleInterval", interval.to_owned()),
            ("CurrentlyEffectiveSyncCycleInterval", interval.to_owned()),
            ("CustomizedSyncCycleInterval", String::new()),
            ("NextSyncCyclePolicyType", s.next_policy.as_str().to_owned()),
            ("NextSyncCycleStartTimeInUTC", s.next_cycle.to_string()),
            ("PurgeRunHistoryInterval", "7.00:00:00".to_owned()),
            ("SyncCycleEnabled", ps_bool(s.sync_cycle_enabled)),
            ("MaintenanceEnabled", ps_bool(true)),
            ("StagingModeEnabled", ps_bool(false)),
            ("SchedulerSuspended", ps_bool(false)),
            ("SyncCycleInProgress", ps_bool(false)),
        ];
        let text = rows
            .iter()
            .map(|(k, v)| format!("{k:<37} : {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let json: serde_json::Map<String, Value> = rows
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        Ok(Outcome {
            code: 0,
            text,
            json: Value::Object(json),
            events: vec![],
        })
    }

    /// `Set-ADSyncScheduler -SyncCycleEnabled B`.
    pub(super) fn set_scheduler(&mut self, enabled: bool) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Set-ADSyncScheduler")));
        }
        let now = self.state.clock;
        let s = &mut self.engine_mut()?.scheduler;
        if enabled && !s.sync_cycle_enabled {
            s.reschedule(now);
        }
        s.sync_cycle_enabled = enabled;
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"SyncCycleEnabled": enabled}),
            events: vec![],
        })
    }

    /// `connector list` and `Get-ADSyncConnector`.
    pub(super) fn connector_list(
        &self,
        only: Option<&str>,
        cmdlet: bool,
    ) -> Result<Outcome, WorldError> {
        let engine = self.engine()?;
        let picked: Vec<&ManagementAgent> = match only {
            Some(n) => vec![&engine.agents[self.connector_index(n)?]],
            None => engine.agents.iter().collect(),
        };
        let mut rows = Vec::new();
        let mut text = if cmdlet {
            String::new()
        } else {
            format!(
                "{:<36} {:<6} {:<52} {}\n",
                "NAME", "TYPE", "ACCOUNT", "LAST RUN"
            )
        };
        for a in picked {
            let account = credstore::login_user(&a.private_configuration_xml).unwrap_or_default();
            let account = match a.kind {
                ConnectorType::Ad => format!("{}\\{account}", netbios_of(&a.target)),
                ConnectorType::Entra => account,
            };
            let last = a.last_run.as_ref().map(|r| r.status.as_str());
            if cmdlet {
                text.push_str(&format!(
                    "Identifier             : {}\nName                   : {}\nType                   : {}\nSubtype                : {}\nConnectivityParameters : {{UserName={account}}}\n\n",
                    a.ma_id,
                    a.ma_name,
                    a.ma_type,
                    a.subtype
                ));
            } else {
                text.push_str(&format!(
                    "{:<36} {:<6} {:<52} {}\n",
                    a.ma_name,
                    a.kind.as_str(),
                    account,
                    last.unwrap_or("-")
                ));
            }
            rows.push(json!({
                "name": a.ma_name,
                "type": a.kind.as_str(),
                "account": account,
                "identifier": a.ma_id,
                "last_run": last,
                "last_run_profile": a.last_run.as_ref().map(|r| r.profile.as_str()),
            }));
        }
        Ok(Outcome {
            code: 0,
            text: text.trim_end().to_owned(),
            json: json!({"connectors": rows}),
            events: vec![],
        })
    }

    /// `connector set-password NAME --password P`: the Synchronization Service Manager's
    /// dialog ("Azure AD Connect sync: Changing the AD DS account password" (2017-07-12) steps 1–7). The engine
    /// stores the password under the current keyset; its cached one stays until a restart.
    pub(super) fn connector_set_password(
        &mut self,
        name: &str,
        password: &Secret,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let idx = self.connector_index(name)?;
        if !self.adsync_running() {
            return Ok(self.not_running(text::SSM_NOT_RUNNING.to_owned()));
        }
        let agent = self.engine()?.agents[idx].clone();
        if agent.kind == ConnectorType::Entra {
            return Ok(Outcome {
                code: 1,
                text: text::ENTRA_PASSWORD_REFUSED.to_owned(),
                json: json!({"connector": agent.ma_name, "error": text::ENTRA_PASSWORD_REFUSED}),
                events: vec![],
            });
        }
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::Damaged("the running engine has no keyset".into()))?;
        self.store_connector_password(idx, &keyset, password.expose(), rng)?;
        Ok(Outcome {
            code: 0,
            text: text::console_password_saved(&agent.ma_name),
            json: json!({"connector": agent.ma_name, "saved": true, "restart_required": true}),
            events: vec![],
        })
    }

    /// `miiskmu.exe /a` (`docs/adsync.md` §5.1, §4 F6).
    pub(super) fn miiskmu_abandon(&mut self) -> Result<Outcome, WorldError> {
        if self.adsync_running() {
            return Ok(Outcome {
                code: text::MIISKMU_RUNNING_CODE,
                text: text::MIISKMU_RUNNING.to_owned(),
                json: json!({"error": text::MIISKMU_RUNNING}),
                events: vec![],
            });
        }
        self.engine_mut()?.keyset = StoredKeyset::None;
        Ok(Outcome {
            code: 0,
            text: text::MIISKMU_ABANDONED.to_owned(),
            json: json!({"abandoned": true}),
            events: vec![],
        })
    }

    /// Signs an administrator in to the tenant for a cmdlet; `Err` is the cmdlet's failure.
    fn cloud_admin(&self, cmdlet: &str, c: &PsCredential) -> Result<(), Outcome> {
        let fail = |msg: String| Outcome {
            code: 1,
            text: format!("{cmdlet} : {msg}"),
            json: json!({"error": msg}),
            events: vec![],
        };
        match self.state.tenant.sign_in(&c.user, c.password.expose()) {
            Err(e) => Err(fail(e.text().to_owned())),
            Ok(u)
                if !u
                    .roles
                    .iter()
                    .any(|r| r == ROLE_GLOBAL_ADMIN || r == ROLE_HYBRID_IDENTITY_ADMIN) =>
            {
                Err(fail(text::not_an_admin(&u.upn)))
            }
            Ok(_) => Ok(()),
        }
    }

    /// `Add-ADSyncAADServiceAccount -AADCredential C [-Name N]` (`docs/adsync.md` §5.3;
    /// "Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08): "resets the password for the
    /// service account and update it both in Azure AD and in the sync engine").
    pub(super) fn add_aad_service_account(
        &mut self,
        credential: &PsCredential,
        name: Option<&str>,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = "Add-ADSyncAADServiceAccount";
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running(cmdlet)));
        }
        if let Err(o) = self.cloud_admin(cmdlet, credential) {
            return Ok(o);
        }
        let idx = self
            .engine()?
            .agents
            .iter()
            .position(|a| a.kind == ConnectorType::Entra)
            .ok_or_else(|| WorldError::Damaged("no Entra connector".into()))?;
        let current = credstore::login_user(&self.engine()?.agents[idx].private_configuration_xml)
            .unwrap_or_default();
        let upn = match name {
            Some(n) => self.state.tenant.upn(n),
            None => current,
        };
        let pw = generate_password(rng);
        let now = self.state.clock;
        self.state
            .tenant
            .put_user(&upn, &pw, &[ROLE_DIRECTORY_SYNC], now);
        self.forget(&upn);
        self.engine_mut()?.agents[idx].private_configuration_xml =
            credstore::entra_private_configuration(&upn);
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::Damaged("the running engine has no keyset".into()))?;
        self.store_connector_password(idx, &keyset, &pw, rng)?;
        let ma_name = self.engine()?.agents[idx].ma_name.clone();
        self.memory_put(ADSYNC_SERVICE, &credential_memory(&ma_name), pw.as_bytes());
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"connector": ma_name, "account": upn}),
            events: vec![],
        })
    }

    /// `Add-ADSyncADDSConnectorAccount -Name FOREST -EACredential C` (`docs/adsync.md`
    /// §5.3: "resets the password for the service account and updates it" in the directory and
    /// the sync engine).
    pub(super) fn add_adds_connector_account(
        &mut self,
        connector: &str,
        credential: &PsCredential,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = "Add-ADSyncADDSConnectorAccount";
        let idx = self.connector_index(connector)?;
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running(cmdlet)));
        }
        let agent = self.engine()?.agents[idx].clone();
        if agent.kind != ConnectorType::Ad {
            return Err(WorldError::UnknownConnector {
                name: connector.to_owned(),
                known: self.ad_connector_names()?,
            });
        }
        // The Enterprise Admin must authenticate in that forest.
        let dns = self.state.domain.as_ref().map(|d| d.dns.clone());
        let ea_ok = self.state.accounts.iter().any(|a| {
            a.forest_dns(dns.as_deref())
                .is_some_and(|f| f.eq_ignore_ascii_case(&agent.target))
                && (a.is_named(&credential.user, Some(&agent.target)))
                && a.enabled
                && a.password_is(credential.password.expose())
        });
        if !ea_ok {
            let msg = win32::message(win32::LOGON_FAILURE);
            return Ok(Outcome {
                code: 1,
                text: format!("{cmdlet} : {msg}"),
                json: json!({"error": msg}),
                events: vec![],
            });
        }
        let ai = self.ad_login_account(&agent).ok_or_else(|| {
            WorldError::Damaged(format!(
                "the account of connector {} is missing",
                agent.ma_name
            ))
        })?;
        let pw = generate_password(rng);
        let now = self.state.clock;
        let a = &mut self.state.accounts[ai];
        a.hashes = Some(StoredHashes::of_password(&pw));
        a.password_last_set = now;
        a.locked = false;
        let q = a.qualified_name();
        self.forget(&q);
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::Damaged("the running engine has no keyset".into()))?;
        self.store_connector_password(idx, &keyset, &pw, rng)?;
        self.memory_put(
            ADSYNC_SERVICE,
            &credential_memory(&agent.ma_name),
            pw.as_bytes(),
        );
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"connector": agent.ma_name, "account": self.state.accounts[ai].qualified_name()}),
            events: vec![],
        })
    }

    fn ad_connector_names(&self) -> Result<String, WorldError> {
        Ok(self
            .engine()?
            .agents
            .iter()
            .filter(|a| a.kind == ConnectorType::Ad)
            .map(|a| a.ma_name.as_str())
            .collect::<Vec<_>>()
            .join(", "))
    }

    /// `Set-MsolUserPassword` (or `account reset UPN`): a cloud administrator resets a cloud
    /// user's password ("Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08): "a Global
    /// Administrator has by mistake reset the password on the service account using
    /// PowerShell").
    pub(super) fn cloud_reset(
        &mut self,
        upn: &str,
        password: &Secret,
    ) -> Result<Outcome, WorldError> {
        let now = self.state.clock;
        if !self.state.tenant.set_password(upn, password.expose(), now) {
            return Err(WorldError::UnknownAccount {
                name: upn.to_owned(),
                known: self.state.tenant.known_users(),
            });
        }
        let upn = self.state.tenant.upn(upn);
        self.learn(&upn, password.expose());
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"account": upn, "operation": "reset"}),
            events: vec![],
        })
    }

    /// Whether `name` is a user of the tenant (for `account reset`).
    pub(super) fn is_cloud_user(&self, name: &str) -> bool {
        name.contains('@') && self.state.tenant.user(name).is_some()
    }

    /// The ADSync part of `status`.
    pub(super) fn adsync_status(&self) -> Value {
        let Ok(e) = self.engine() else {
            return Value::Null;
        };
        json!({
            "build": e.build.to_string(),
            "keyset_era": e.build.keyset_era().as_str(),
            "keyset_follows_dpapi": e.keyset_follows_dpapi,
            "keyset": match &e.keyset {
                StoredKeyset::None => "none",
                StoredKeyset::UserBlob { .. } => "user-dpapi",
                StoredKeyset::Registry { .. } => "registry",
                StoredKeyset::CredentialFile { .. } => "credential-manager",
            },
            "instance_id": e.server.instance_id.to_string(),
            "keyset_id": e.server.keyset_id,
            "tenant": self.state.tenant.name,
            "scheduler": {"sync_cycle_enabled": e.scheduler.sync_cycle_enabled, "next_cycle": e.scheduler.next_cycle.to_string()},
            "connectors": e.agents.iter().map(|a| json!({"name": a.ma_name, "type": a.kind.as_str(), "last_run": a.last_run.as_ref().map(|r| r.status.as_str())})).collect::<Vec<_>>(),
        })
    }

    /// The keyset as the build stores it, as an exported file: path and bytes.
    pub(super) fn keyset_artefact(&self) -> Result<Option<(String, Vec<u8>)>, WorldError> {
        let e = self.engine()?;
        let bad = |_| WorldError::Damaged("the stored keyset is not hex".into());
        Ok(match &e.keyset {
            StoredKeyset::None => None,
            StoredKeyset::UserBlob { blob } | StoredKeyset::Registry { blob } => Some((
                format!(
                    "Registry/{}/{}/(Default)",
                    REGISTRY_KEYSET_KEY.replace('\\', "/"),
                    e.server.keyset_id
                ),
                hex::decode(blob).map_err(bad)?,
            )),
            StoredKeyset::CredentialFile { name, bytes, .. } => {
                let ai = self.account_index(&self.state.service_account)?;
                let profile = &self.state.accounts[ai].profile;
                Some((
                    format!("{profile}/{CREDENTIALS_FOLDER}/{name}"),
                    hex::decode(bytes).map_err(bad)?,
                ))
            }
        })
    }
}

fn ps_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

/// The NetBIOS name of a forest (its first label, upper case).
pub(super) fn netbios_of(dns: &str) -> String {
    dns.split('.').next().unwrap_or(dns).to_ascii_uppercase()
}
