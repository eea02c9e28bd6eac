//! The ADSync model inside the world. This module installs ADSync (the accounts, the keyset and
//! the connectors an install creates); its children own the engine's memory (`memory`), connector
//! runs and sync cycles (`runs`), the time a cycle takes (`run_time`), the scheduler (`scheduler`), the administrator's tools
//! (`cmdlets`) and what `status` and `export` show of ADSync (`report`).
//!
//! Follows `docs/adsync.md` §2 (the accounts an install creates), §3.5 (the engine decrypts
//! connector credentials when a run starts and caches them until the service restarts), §4
//! (F2, F3, F4, F6, F7), §5 (the tools and their ordering rules) and the seed articles.

use zeroize::Zeroizing;

use super::{Stream, World, WorldError, generate_password};
use crate::adsync::build::Build;
use crate::adsync::connector::{ConnectorType, ENTRA_MA_TYPE, ENTRA_NAME_SUFFIX, ManagementAgent};
use crate::adsync::credstore;
use crate::adsync::engine::{Engine, INITIAL_KEYSET_ID, ServerConfiguration, StoredKeyset};
use crate::adsync::run::Scheduler;
use crate::cloud::{ROLE_DIRECTORY_SYNC, ROLE_GLOBAL_ADMIN};

mod cmdlets;
mod memory;
mod report;
mod run_time;
pub use run_time::{CYCLE_BUSY_CODE, RUN_PROFILE_SECONDS};
mod runs;
mod scheduler;
mod steady;
pub(in crate::world) use steady::{MAX_STEADY_CHECK_GAP, SteadyCycle};

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

impl World {
    /// Installs ADSync: the engine with its server configuration, its first keyset (made at the
    /// first start), one AD DS connector per forest with its `MSOL_` account, the Entra connector
    /// with its `Sync_` account and the tenant's Global Administrator.
    ///
    /// Longer than 80 lines on purpose: the wizard's steps in the wizard's order.
    pub(in crate::world) fn install_adsync(
        &mut self,
        build: Build,
        keyset_follows_dpapi: bool,
        forests: &[String],
        hex_suffix: &str,
        rng: &mut Stream,
    ) -> Result<InstallReport, WorldError> {
        let now = self.state.clock;
        // The install creates the database's login for the service account (`database`).
        let owner = self.account_index(&self.state.service_account)?;
        let database_owner = Some(self.state.accounts[owner].sid.clone());
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
            database_owner,
        };
        self.state.programs.insert(
            ADSYNC_SERVICE.into(),
            super::Program::Engine(Box::new(engine)),
        );
        let started = self.start_service(ADSYNC_SERVICE, rng)?;
        if started.code != 0 {
            return Err(WorldError::InstallStart {
                service: ADSYNC_SERVICE.into(),
                code: started.code,
                text: started.text,
            });
        }
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::missing("the engine's keyset after its first start"))?;

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
}

/// The NetBIOS name of a forest (its first label, upper case).
pub(in crate::world) fn netbios_of(dns: &str) -> String {
    dns.split('.').next().unwrap_or(dns).to_ascii_uppercase()
}
