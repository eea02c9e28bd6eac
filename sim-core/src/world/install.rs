//! Install: the world `init` builds — the server, its domain and forests, the ADSync service
//! under the chosen account, its keyset, and the service running.
//!
//! Follows the install the 2023 article describes ("Microsoft Entra Connect Sync: Changing the
//! ADSync service account password", 2023-01-26) and `docs/adsync.md` §2 (the accounts an install
//! creates, by build).

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use super::{
    ADSYNC_BINARY, ADSYNC_SERVICE, AccountPolicy, Domain, InitReport, STATE_FORMAT,
    ServiceAccountKind, Stream, World, WorldError, WorldOptions, WorldState, generate_password,
    sync,
};
use crate::cloud::Tenant;
use crate::dpapi::blob::BlobPolicy;
use crate::dpapi::prekey::{Credential, DpapiSystem};
use crate::dpapi::sid::Sid;
use crate::dpapi::store::{ProtectStore, StoreKind};
use crate::seal::Sealer;
use crate::win::account::{AccountKind, StoredProtect};
use crate::win::clock::world_epoch;
use crate::win::eventlog::EventLogs;
use crate::win::lsa::{DPAPI_SYSTEM, Lsa, service_secret_name};
use crate::win::scm::{Service, ServiceState, StartType};
use crate::win::text::win32;

impl World {
    /// Builds a healthy world: the server, its domain, the ADSync service under the chosen
    /// account, its keyset, and the service running. The steps follow an install's order:
    /// the options checked, the bare server, Sysprep's SYSTEM keys, the service account, the
    /// service, then ADSync itself.
    pub fn new(options: &WorldOptions, sealer: Sealer) -> Result<(Self, InitReport), WorldError> {
        if options.kdf_rounds == 0 || options.kdf_rounds > crate::dpapi::kdf::MAX_ROUNDS {
            return Err(WorldError::bad_option(
                "--kdf-rounds",
                options.kdf_rounds.to_string(),
                format!(
                    "--kdf-rounds must be from 1 to {}",
                    crate::dpapi::kdf::MAX_ROUNDS
                ),
            ));
        }
        let forests = checked_forests(options)?;
        let build = options.build;
        let kind = checked_account_kind(options)?;
        let tenant = checked_tenant(options, &forests)?;
        let mut rng = Stream(ChaCha20Rng::seed_from_u64(options.seed));
        let mut world = Self::bare_server(options, &forests, &tenant, sealer, &mut rng);
        world.sysprep_system_keys(&mut rng)?;
        let hex_suffix = rng.hex(6);
        let (account, password) = world.create_service_account(kind, &hex_suffix, &mut rng)?;
        world.state.service_account = account.clone();
        // The wizard grants the account it configures "Log on as a service" (`rights`).
        let sid = world.state.accounts[world.account_index(&account)?]
            .sid
            .clone();
        world.grant_service_logon(&sid);
        world.state.services.push(Service {
            name: ADSYNC_SERVICE.into(),
            display_name: build.display_name().into(),
            binary_path: ADSYNC_BINARY.into(),
            start_type: StartType::Auto,
            account: account.clone(),
            state: ServiceState::Stopped,
            win32_exit_code: win32::SUCCESS,
            service_exit_code: 0,
            pid: None,
        });
        if let Some(pw) = &password {
            world.put_secret(&service_secret_name(ADSYNC_SERVICE), pw.as_bytes());
        }
        let install = world.install_adsync(
            build,
            options.keyset_follows_dpapi,
            &forests,
            &hex_suffix,
            &mut rng,
        )?;
        // What the wizard's operator typed or was handed over (`knowledge`).
        if let Some(pw) = &password {
            world.learn(&account, pw);
        }
        world.learn(&install.global_admin.0, &install.global_admin.1);
        for (_, name, pw) in &install.enterprise_admins {
            world.learn(name, pw);
        }
        world.save_rng(&rng);
        let report = InitReport {
            service_account: account,
            service_account_password: password,
            service_account_kind: kind,
            build,
            install,
        };
        Ok((world, report))
    }

    /// The server before anything is installed: its SIDs, its domain and forests, the clock at
    /// the world's epoch, no accounts and no services.
    fn bare_server(
        options: &WorldOptions,
        forests: &[String],
        tenant: &str,
        sealer: Sealer,
        rng: &mut Stream,
    ) -> Self {
        let [a, b, c] = rng.sub_authorities();
        let machine_sid = format!("S-1-5-21-{a}-{b}-{c}");
        let [d, e, f] = rng.sub_authorities();
        let dns = forests[0].clone();
        let netbios = sync::netbios_of(&dns);
        Self {
            state: WorldState {
                format: STATE_FORMAT,
                seed: options.seed,
                rng_pos: "0".into(),
                kdf_rounds: options.kdf_rounds,
                clock: world_epoch(),
                machine_sid,
                domain: Some(Domain {
                    dns,
                    netbios,
                    sid: format!("S-1-5-21-{d}-{e}-{f}"),
                    dc_reachable: true,
                    next_rid: 1103,
                    backup_key: None,
                }),
                other_forests: forests[1..].to_vec(),
                accounts: vec![],
                machine_store: StoredProtect::default(),
                system_user_store: StoredProtect::default(),
                lsa: Lsa::default(),
                managed_passwords: BTreeMap::new(),
                services: vec![],
                programs: BTreeMap::new(),
                service_account: String::new(),
                events: EventLogs::default(),
                next_pid: 4000,
                tenant: Tenant::new(tenant),
                domain_controller: options.domain_controller,
                memory: BTreeMap::new(),
                admin_knows: BTreeMap::new(),
                location: None,
                policy: AccountPolicy::default(),
            },
            sealer,
            rng_pos: 0,
            steady_shortcut: true,
        }
    }

    /// `DPAPI_SYSTEM` and the first SYSTEM master keys, as Sysprep's specialize pass makes them.
    fn sysprep_system_keys(&mut self, rng: &mut Stream) -> Result<(), WorldError> {
        let dpapi_system = DpapiSystem::generate(&mut rng.0);
        self.put_secret(DPAPI_SYSTEM, &dpapi_system.to_bytes());
        // Sysprep's specialize pass makes the first SYSTEM master keys (`docs/dpapi.md` §3.1):
        // the machine store under the machine half, LocalSystem's own under the user half.
        let now = self.state.clock;
        for (user, cred) in [
            (false, Credential::system_machine(&dpapi_system)),
            (true, Credential::system_user(&dpapi_system)),
        ] {
            let mut store = ProtectStore::new(
                &mut rng.0,
                Sid::local_system(),
                StoreKind::System,
                self.policy(),
                BlobPolicy::WINDOWS_10,
            );
            store
                .create_master_key(&mut rng.0, &cred, now)
                .map_err(|source| WorldError::MasterKey {
                    what: "a new SYSTEM master key".into(),
                    source,
                })?;
            if user {
                self.state.system_user_store = StoredProtect::capture(&store);
            } else {
                self.state.machine_store = StoredProtect::capture(&store);
            }
        }
        Ok(())
    }

    /// The service account the wizard creates for `kind` and its password (user accounts only).
    fn create_service_account(
        &mut self,
        kind: ServiceAccountKind,
        hex_suffix: &str,
        rng: &mut Stream,
    ) -> Result<(String, Option<Zeroizing<String>>), WorldError> {
        Ok(match kind {
            ServiceAccountKind::Virtual => (self.create_virtual(ADSYNC_SERVICE, rng)?, None),
            ServiceAccountKind::Local | ServiceAccountKind::Domain => {
                let pw = generate_password(rng);
                let k = if kind == ServiceAccountKind::Local {
                    AccountKind::Local
                } else {
                    AccountKind::Domain
                };
                (
                    self.create_user(k, &format!("AAD_{hex_suffix}"), &pw, rng)?,
                    Some(pw),
                )
            }
            ServiceAccountKind::Gmsa => (
                self.create_managed(AccountKind::Gmsa, "gmsaADSync$", rng)?,
                None,
            ),
            // Named choice: five hex digits keep the name within sAMAccountName's 20 characters.
            ServiceAccountKind::Smsa => (
                self.create_managed(
                    AccountKind::Smsa,
                    &format!("ADSyncMSA_{}$", &hex_suffix[..5]),
                    rng,
                )?,
                None,
            ),
        })
    }
}

/// The forests `--forest` names: DNS names, each once.
fn checked_forests(options: &WorldOptions) -> Result<Vec<String>, WorldError> {
    let forests: Vec<String> = options
        .forests
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    if forests.is_empty() {
        return Err(WorldError::bad_option(
            "--forest",
            "",
            "each --forest must be a DNS name such as contoso.com",
        ));
    }
    for (i, f) in forests.iter().enumerate() {
        crate::win::names::check_dns_name("--forest", f)
            .map_err(|reason| WorldError::bad_option("--forest", f, reason))?;
        if forests[..i].contains(f) {
            return Err(WorldError::bad_option(
                "--forest",
                f,
                format!("--forest '{f}' is given twice: each forest is connected once"),
            ));
        }
    }
    Ok(forests)
}

/// The service account kind: the one asked for, or the build's default; refused where the
/// build or a domain controller rules it out (`docs/adsync.md` §2.1).
fn checked_account_kind(options: &WorldOptions) -> Result<ServiceAccountKind, WorldError> {
    let build = options.build;
    let kind = options
        .service_account
        .unwrap_or_else(|| ServiceAccountKind::default_for(build, options.domain_controller));
    if options.domain_controller {
        match kind {
            ServiceAccountKind::Virtual => {
                return Err(WorldError::BadOption {
                    option: "--service-account".into(),
                    value: kind.as_str().into(),
                    reason: "a virtual service account on a domain controller is not supported \"due to DPAPI issues\" (docs/adsync.md §2.1)".into(),
                    hint: Some("use --service-account domain, gmsa or smsa".into()),
                });
            }
            ServiceAccountKind::Local => {
                return Err(WorldError::BadOption {
                    option: "--service-account".into(),
                    value: kind.as_str().into(),
                    reason: "a domain controller has no local accounts: the wizard creates AAD_ in the domain there (docs/adsync.md §2.1)".into(),
                    hint: Some("use --service-account domain".into()),
                });
            }
            _ => {}
        }
    }
    if matches!(
        kind,
        ServiceAccountKind::Virtual | ServiceAccountKind::Gmsa | ServiceAccountKind::Smsa
    ) && !build.supports_managed_accounts()
    {
        return Err(WorldError::bad_option(
            "--service-account",
            kind.as_str(),
            format!(
                "--service-account {} needs build {} or later (docs/adsync.md §2.1); build {build} installs a local or domain AAD_ account",
                kind.as_str(),
                crate::adsync::build::VIRTUAL_ACCOUNT_FROM
            ),
        ));
    }
    Ok(kind)
}

/// The tenant's domain: the one asked for, or `<first forest's label>.onmicrosoft.com`.
fn checked_tenant(options: &WorldOptions, forests: &[String]) -> Result<String, WorldError> {
    Ok(match &options.tenant {
        Some(t) => {
            let t = t.trim().to_ascii_lowercase();
            crate::win::names::check_dns_name("--tenant", &t).map_err(|reason| {
                WorldError::BadOption {
                    option: "--tenant".into(),
                    value: t.clone(),
                    reason,
                    hint: Some("write the tenant's domain, such as contoso.onmicrosoft.com".into()),
                }
            })?;
            t
        }
        None => format!(
            "{}.onmicrosoft.com",
            forests[0].split('.').next().unwrap_or("contoso")
        ),
    })
}
