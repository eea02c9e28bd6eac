//! The composed world: one Windows server (and its domain) with everything ADSync's secrets
//! depend on, changed only through [`World::exec`].
//!
//! docs/design.md §2-§3: deterministic from one seed (a ChaCha20 stream whose position is part of the
//! state), simulated time, real DPAPI bytes in every `Protect` folder, hashes instead of
//! passwords, and LSA secrets sealed at rest. A command that fails validation changes nothing;
//! a command that runs applies all of its effects (including the events a failure writes).

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::adsync::build::{Build, DEFAULT_BUILD};
use crate::adsync::engine::Engine;
use crate::cloud::Tenant;
use crate::command::{AccountState, Command, PsServiceVerb, Secret};
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::dpapi::bkrp::BackupKeyPair;
use crate::dpapi::blob::BlobPolicy;
use crate::dpapi::crypto::utf16le;
use crate::dpapi::masterkey::MasterKeyPolicy;
use crate::dpapi::prekey::{Credential, DpapiSystem, hashes_utf16le};
use crate::dpapi::sid::Sid;
use crate::dpapi::store::DomainBackup;
use crate::dpapi::store::{ProtectStore, StoreKind};
use crate::filetime::FileTime;
use crate::probe::KeysetProbe;
use crate::seal::{Sealed, Sealer, UnsealError};
use crate::win::account::{
    Account, AccountKind, GMSA_PASSWORD_LEN, GMSA_ROTATION_DAYS, StoredHashes, StoredProtect,
    credential_for,
};
use crate::win::clock::world_epoch;
use crate::win::eventlog::{EventLogs, EventRecord, Level, LogName, NewEvent};
use crate::win::lsa::{DPAPI_SYSTEM, Lsa, service_secret_name};
use crate::win::scm::{
    Service, ServiceFailure, ServiceHost, ServiceProgram, ServiceState, StartType, sc_failed,
};
use crate::win::text::{self, SCM_SOURCE, win32};

/// Version of the persisted world layout.
pub const STATE_FORMAT: u32 = 2;
/// The server's name. Named choice: one fixed NetBIOS name, so outputs are stable.
pub const SERVER_NAME: &str = "AADCONNECT01";
/// Rounds of new master keys by default (Windows 10, `docs/dpapi.md` §5).
pub const DEFAULT_KDF_ROUNDS: u32 = 8000;
/// The most scheduled sync cycles one `clock advance` may run: two leap years of 30-minute
/// cycles (2 × 366 × 48). Each cycle writes run history and events; a longer run with the
/// scheduler on is no runbook's step, and the bound keeps one command's work to seconds.
pub const MAX_SYNC_CYCLES_PER_ADVANCE: u64 = 2 * 366 * 48;
/// The ADSync service's key name (`docs/adsync.md` §1).
pub const ADSYNC_SERVICE: &str = "ADSync";
/// Its image path (`docs/adsync.md` §1: `Bin\miiserver.exe` under the install root).
pub const ADSYNC_BINARY: &str =
    "\"C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\miiserver.exe\"";
pub mod admin;
mod domain_reset;
mod dpapi_as;
mod knowledge;
pub mod location;
mod sync;

pub use sync::{ENTERPRISE_ADMIN_NAME, GLOBAL_ADMIN_NAME, InstallReport};

/// How the ADSync service account is provisioned at install (`docs/adsync.md` §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAccountKind {
    /// `NT SERVICE\ADSync` (1.1.484.0 and later).
    Virtual,
    /// A local `AAD_<hex>` user (1.1.443.0 and earlier).
    Local,
    /// A domain `AAD_<hex>` user.
    Domain,
    /// A group managed service account.
    Gmsa,
    /// A standalone managed service account, `ADSyncMSA_<hex>$` (the 1.6.2.4 default on a domain
    /// controller).
    Smsa,
}

impl ServiceAccountKind {
    /// The word `init --service-account` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::Local => "local",
            Self::Domain => "domain",
            Self::Gmsa => "gmsa",
            Self::Smsa => "smsa",
        }
    }

    /// The default of a build (`docs/adsync.md` §2.1: a local `AAD_` account up to
    /// 1.1.443.0, `NT SERVICE\ADSync` from 1.1.484.0 on a member server).
    pub fn default_for(build: Build, domain_controller: bool) -> Self {
        match (domain_controller, build.supports_managed_accounts()) {
            // §2.1: on a DC, the wizard creates an sMSA from 1.6.2.4 and a domain AAD_ before.
            (true, _) if build >= crate::adsync::build::SMSA_FROM => Self::Smsa,
            (true, _) => Self::Domain,
            (false, true) => Self::Virtual,
            (false, false) => Self::Local,
        }
    }

    /// Parses `virtual|local|domain|gmsa`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "virtual" => Some(Self::Virtual),
            "local" => Some(Self::Local),
            "domain" => Some(Self::Domain),
            "gmsa" => Some(Self::Gmsa),
            "smsa" => Some(Self::Smsa),
            _ => None,
        }
    }
}

/// What `init` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldOptions {
    /// The seed of every random choice.
    pub seed: u64,
    /// PBKDF2 rounds of new master keys (8000 on Windows 10).
    pub kdf_rounds: u32,
    /// The ADSync service account kind; `None` takes the build's default.
    pub service_account: Option<ServiceAccountKind>,
    /// Forests (DNS names); the first is the server's own domain.
    pub forests: Vec<String>,
    /// The installed build.
    pub build: Build,
    /// The tenant's initial domain; `None` names it after the first forest.
    pub tenant: Option<String>,
    /// Whether the server is a domain controller of the first forest.
    pub domain_controller: bool,
    /// Opt-in departure from the seed articles: the keyset survives or breaks exactly as DPAPI
    /// decides (`--keyset-follows-dpapi`, see [`crate::adsync::engine::Engine::keyset_follows_dpapi`]).
    pub keyset_follows_dpapi: bool,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            kdf_rounds: DEFAULT_KDF_ROUNDS,
            service_account: None,
            forests: vec!["contoso.com".into()],
            build: DEFAULT_BUILD,
            tenant: None,
            domain_controller: false,
            keyset_follows_dpapi: false,
        }
    }
}

/// The server's domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// DNS name, e.g. `contoso.com`.
    pub dns: String,
    /// NetBIOS name, e.g. `CONTOSO`.
    pub netbios: String,
    /// Domain SID.
    pub sid: String,
    /// Whether a writable domain controller answers.
    pub dc_reachable: bool,
    /// The next RID the domain hands out.
    pub next_rid: u32,
    /// The domain's DPAPI backup key pair, made when the first domain account with a `Protect`
    /// folder is created.
    #[serde(default)]
    pub backup_key: Option<StoredBackupKey>,
}

/// A domain backup key pair at rest: its GUID and its sealed PKCS#8 private key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBackupKey {
    /// The key pair's GUID (`BCKUPKEY_<guid>`).
    pub guid: String,
    /// The private key, sealed.
    pub sealed: Sealed,
}

/// The program behind a service, persisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Program {
    /// The Synchronization Service engine (`miiserver.exe`).
    Engine(Box<Engine>),
    /// The keyset probe (`adsync-sim probe-service run`), for parity with a Windows host.
    Probe(KeysetProbe),
}

impl Program {
    fn as_program(&mut self) -> &mut dyn ServiceProgram {
        match self {
            Self::Engine(e) => e.as_mut(),
            Self::Probe(p) => p,
        }
    }
}

/// The host a service program sees while it starts: DPAPI as its account (with domain
/// recovery through the DC), and the event log.
struct StartHost<'a> {
    world: &'a mut World,
    service: String,
    account: usize,
    credential: Credential,
    rng: &'a mut Stream,
    out: &'a mut Outcome,
    error: Option<WorldError>,
}

impl StartHost<'_> {
    /// `CryptUnprotectData` as the account, asking the DC for recovery when `with_dc`.
    fn unprotect_as_account(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
        with_dc: bool,
    ) -> Result<Zeroizing<Vec<u8>>, DpapiError> {
        let (mut store, dc) = match (self.world.load_store(self.account), self.world.dc()) {
            (Ok(s), Ok(dc)) => (s, dc.filter(|_| with_dc)),
            (Err(e), _) | (_, Err(e)) => {
                self.error = Some(e);
                return Err(DpapiError::InvalidParameter);
            }
        };
        let result = store.unprotect_recovering(
            &mut self.rng.0,
            &self.credential,
            blob,
            entropy,
            dc.as_ref().map(|d| d as &dyn DomainBackup),
        );
        // A recovery through the DC re-protects the key: keep what DPAPI wrote.
        self.world.save_store(self.account, &store);
        result.map(|(_, plain)| plain)
    }
}

impl ServiceHost for StartHost<'_> {
    fn unprotect(&mut self, blob: &[u8], entropy: &[u8]) -> Result<Zeroizing<Vec<u8>>, DpapiError> {
        self.unprotect_as_account(blob, entropy, true)
    }

    fn unprotect_without_backup_key(
        &mut self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DpapiError> {
        self.unprotect_as_account(blob, entropy, false)
    }

    fn protect(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
    ) -> Result<Vec<u8>, DpapiError> {
        let (mut store, dc) = match (self.world.load_store(self.account), self.world.dc()) {
            (Ok(s), Ok(dc)) => (s, dc),
            (Err(e), _) | (_, Err(e)) => {
                self.error = Some(e);
                return Err(DpapiError::InvalidParameter);
            }
        };
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
    ) -> Result<Zeroizing<Vec<u8>>, DpapiError> {
        match self.world.unprotect_machine(blob, entropy) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(e);
                Err(DpapiError::InvalidParameter)
            }
        }
    }

    fn protect_machine(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, DpapiError> {
        match self
            .world
            .protect_machine_with(self.rng, data, entropy, description)
        {
            Ok(b) => Ok(b),
            Err(e) => {
                self.error = Some(e);
                Err(DpapiError::InvalidParameter)
            }
        }
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

/// The persisted world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldState {
    /// [`STATE_FORMAT`].
    pub format: u32,
    /// The seed.
    pub seed: u64,
    /// Position in the seed's ChaCha20 stream (decimal `u128`).
    pub rng_pos: String,
    /// Rounds of new master keys.
    pub kdf_rounds: u32,
    /// The simulated clock.
    pub clock: FileTime,
    /// The server's machine SID (local accounts' domain SID).
    pub machine_sid: String,
    /// The server's domain.
    pub domain: Option<Domain>,
    /// Other forests the server connects to (DNS names).
    pub other_forests: Vec<String>,
    /// Accounts, in creation order.
    pub accounts: Vec<Account>,
    /// LocalSystem's machine-scope store (`System32\Microsoft\Protect\S-1-5-18`).
    pub machine_store: StoredProtect,
    /// LocalSystem's own user-scope store (`System32\Microsoft\Protect\S-1-5-18\User`).
    #[serde(default)]
    pub system_user_store: StoredProtect,
    /// LSA secrets.
    pub lsa: Lsa,
    /// Managed passwords of gMSAs, sealed (the directory's `msDS-ManagedPassword`).
    pub managed_passwords: BTreeMap<String, Sealed>,
    /// Installed services.
    pub services: Vec<Service>,
    /// The program of each service, by service name.
    pub programs: BTreeMap<String, Program>,
    /// The ADSync service account as installed (its qualified name).
    pub service_account: String,
    /// The event logs.
    pub events: EventLogs,
    /// Next process id.
    pub next_pid: u32,
    /// The Entra tenant.
    pub tenant: Tenant,
    /// Whether the server is a domain controller (no local accounts; `docs/adsync.md` §2.1).
    #[serde(default)]
    pub domain_controller: bool,
    /// What running services hold in memory (the engine's keyset and cached credentials),
    /// sealed, by `memory:<service>:<name>`; cleared when the service stops.
    pub memory: BTreeMap<String, Sealed>,
    /// What the administrator knows (see `knowledge`), sealed, by `knows:<account>`.
    #[serde(default)]
    pub admin_knows: BTreeMap<String, Sealed>,
    /// PowerShell's current location (`cd`); `None` is where an elevated PowerShell starts,
    /// [`location::START`].
    #[serde(default)]
    pub location: Option<String>,
}

/// The result of a command: its result code, what it prints, and the events it wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// 0, or the Win32 / HRESULT / tool code the real command returns.
    pub code: u32,
    /// What the command prints, as the real tool prints it.
    pub text: String,
    /// The JSON document of `--format json` (without `result_code`).
    pub json: Value,
    /// Events the command added.
    pub events: Vec<EventRecord>,
}

/// A command that could not run: bad input, named with what exists.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WorldError {
    /// No such account.
    #[error("no account named '{name}'; the accounts are: {known}")]
    UnknownAccount {
        /// What was asked for.
        name: String,
        /// The accounts that exist.
        known: String,
    },
    /// The account's password cannot be set.
    #[error("{0}")]
    NoPassword(String),
    /// A sealed secret would not open.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// Stored state is inconsistent.
    #[error("the world state is damaged: {0}")]
    Damaged(String),
    /// A command would pass one of the simulator's named limits.
    #[error("{0}")]
    Limit(String),
    /// The options are invalid.
    #[error("{0}")]
    Options(String),
    /// No such connector.
    #[error("no connector named '{name}'; the connectors are: {known}")]
    UnknownConnector {
        /// What was asked for.
        name: String,
        /// The connectors that exist.
        known: String,
    },
}

/// The live world: its state and the key that opens its sealed secrets.
#[derive(Debug, Clone)]
pub struct World {
    state: WorldState,
    sealer: Sealer,
}

/// The per-command randomness: the seed's stream from the persisted position.
struct Stream(ChaCha20Rng);

impl Stream {
    fn guid(&mut self) -> uuid::Uuid {
        crate::dpapi::store::new_guid(&mut self.0)
    }
    fn hex(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.0.fill_bytes(&mut b);
        hex::encode(b)
    }
    fn sub_authorities(&mut self) -> [u32; 3] {
        // Real machine and domain SIDs use 21-<three 32-bit values>.
        [self.0.next_u32(), self.0.next_u32(), self.0.next_u32()]
    }
}

/// A password the simulator generates for accounts it creates (as the wizard does): 24
/// characters from a set without look-alikes, so an admin can type it.
fn generate_password(rng: &mut Stream) -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=?";
    let mut out = Zeroizing::new(String::with_capacity(24));
    for _ in 0..24 {
        let i = (rng.0.next_u32() as usize) % ALPHABET.len();
        out.push(char::from(ALPHABET[i]));
    }
    out
}

/// What `init` reports: what a real admin knows after an install (docs/design.md §4).
#[derive(Debug, Clone)]
pub struct InitReport {
    /// The service account's qualified name.
    pub service_account: String,
    /// Its password, for custom user accounts only.
    pub service_account_password: Option<Zeroizing<String>>,
    /// Its kind.
    pub service_account_kind: ServiceAccountKind,
    /// The installed build.
    pub build: Build,
    /// The ADSync install: tenant admin, forest admins, connector accounts.
    pub install: InstallReport,
}

impl World {
    /// Builds a healthy world: the server, its domain, the ADSync service under the chosen
    /// account, its keyset, and the service running.
    pub fn new(options: &WorldOptions, sealer: Sealer) -> Result<(Self, InitReport), WorldError> {
        if options.kdf_rounds == 0 || options.kdf_rounds > crate::dpapi::kdf::MAX_ROUNDS {
            return Err(WorldError::Options(format!(
                "--kdf-rounds must be from 1 to {}",
                crate::dpapi::kdf::MAX_ROUNDS
            )));
        }
        let forests: Vec<String> = options
            .forests
            .iter()
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        if forests.is_empty() {
            return Err(WorldError::Options(
                "each --forest must be a DNS name such as contoso.com".into(),
            ));
        }
        for (i, f) in forests.iter().enumerate() {
            crate::win::names::check_dns_name("--forest", f).map_err(WorldError::Options)?;
            if forests[..i].contains(f) {
                return Err(WorldError::Options(format!(
                    "--forest '{f}' is given twice: each forest is connected once"
                )));
            }
        }
        let build = options.build;
        let kind = options
            .service_account
            .unwrap_or_else(|| ServiceAccountKind::default_for(build, options.domain_controller));
        if options.domain_controller {
            match kind {
                ServiceAccountKind::Virtual => {
                    return Err(WorldError::Options(
                        "a virtual service account on a domain controller is not supported \"due to DPAPI issues\" (docs/adsync.md §2.1); use --service-account domain, gmsa or smsa".into(),
                    ));
                }
                ServiceAccountKind::Local => {
                    return Err(WorldError::Options(
                        "a domain controller has no local accounts: the wizard creates AAD_ in the domain there (docs/adsync.md §2.1); use --service-account domain".into(),
                    ));
                }
                _ => {}
            }
        }
        if matches!(
            kind,
            ServiceAccountKind::Virtual | ServiceAccountKind::Gmsa | ServiceAccountKind::Smsa
        ) && !build.supports_managed_accounts()
        {
            return Err(WorldError::Options(format!(
                "--service-account {} needs build {} or later (docs/adsync.md §2.1); build {build} installs a local or domain AAD_ account",
                kind.as_str(),
                crate::adsync::build::VIRTUAL_ACCOUNT_FROM
            )));
        }
        let tenant = match &options.tenant {
            Some(t) => {
                let t = t.trim().to_ascii_lowercase();
                crate::win::names::check_dns_name("--tenant", &t).map_err(|e| {
                    WorldError::Options(format!(
                        "{e} (write the tenant's domain, such as contoso.onmicrosoft.com)"
                    ))
                })?;
                t
            }
            None => format!(
                "{}.onmicrosoft.com",
                forests[0].split('.').next().unwrap_or("contoso")
            ),
        };
        let mut rng = Stream(ChaCha20Rng::seed_from_u64(options.seed));
        let [a, b, c] = rng.sub_authorities();
        let machine_sid = format!("S-1-5-21-{a}-{b}-{c}");
        let [d, e, f] = rng.sub_authorities();
        let dns = forests[0].clone();
        let netbios = sync::netbios_of(&dns);
        let mut world = Self {
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
                tenant: Tenant::new(&tenant),
                domain_controller: options.domain_controller,
                memory: BTreeMap::new(),
                admin_knows: BTreeMap::new(),
                location: None,
            },
            sealer,
        };
        let dpapi_system = DpapiSystem::generate(&mut rng.0);
        world.put_secret(DPAPI_SYSTEM, &dpapi_system.to_bytes());
        // Sysprep's specialize pass makes the first SYSTEM master keys (`docs/dpapi.md` §3.1):
        // the machine store under the machine half, LocalSystem's own under the user half.
        let now = world.state.clock;
        for (user, cred) in [
            (false, Credential::system_machine(&dpapi_system)),
            (true, Credential::system_user(&dpapi_system)),
        ] {
            let mut store = ProtectStore::new(
                &mut rng.0,
                Sid::local_system(),
                StoreKind::System,
                world.policy(),
                BlobPolicy::WINDOWS_10,
            );
            store
                .create_master_key(&mut rng.0, &cred, now)
                .map_err(|e| WorldError::Damaged(format!("SYSTEM master key: {e}")))?;
            if user {
                world.state.system_user_store = StoredProtect::capture(&store);
            } else {
                world.state.machine_store = StoredProtect::capture(&store);
            }
        }

        let hex_suffix = rng.hex(6);
        let (account, password) = match kind {
            ServiceAccountKind::Virtual => (world.create_virtual(ADSYNC_SERVICE, &mut rng)?, None),
            ServiceAccountKind::Local | ServiceAccountKind::Domain => {
                let pw = generate_password(&mut rng);
                let k = if kind == ServiceAccountKind::Local {
                    AccountKind::Local
                } else {
                    AccountKind::Domain
                };
                (
                    world.create_user(k, &format!("AAD_{hex_suffix}"), &pw, &mut rng)?,
                    Some(pw),
                )
            }
            ServiceAccountKind::Gmsa => (
                world.create_managed(AccountKind::Gmsa, "gmsaADSync$", &mut rng)?,
                None,
            ),
            // Named choice: five hex digits keep the name within sAMAccountName's 20 characters.
            ServiceAccountKind::Smsa => (
                world.create_managed(
                    AccountKind::Smsa,
                    &format!("ADSyncMSA_{}$", &hex_suffix[..5]),
                    &mut rng,
                )?,
                None,
            ),
        };
        world.state.service_account = account.clone();
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

    /// Restores a world from its persisted state.
    pub fn from_state(state: WorldState, sealer: Sealer) -> Result<Self, WorldError> {
        if state.format != STATE_FORMAT {
            return Err(WorldError::Damaged(format!(
                "state format {} is not the supported format {STATE_FORMAT}",
                state.format
            )));
        }
        Ok(Self { state, sealer })
    }

    /// The persisted state.
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// The simulated time.
    pub fn now(&self) -> FileTime {
        self.state.clock
    }

    fn policy(&self) -> MasterKeyPolicy {
        MasterKeyPolicy::WINDOWS_10.with_rounds(self.state.kdf_rounds)
    }

    fn rng(&self) -> Stream {
        let mut r = ChaCha20Rng::seed_from_u64(self.state.seed);
        r.set_word_pos(self.state.rng_pos.parse().unwrap_or(0));
        Stream(r)
    }

    fn save_rng(&mut self, rng: &Stream) {
        self.state.rng_pos = rng.0.get_word_pos().to_string();
    }

    fn put_secret(&mut self, name: &str, value: &[u8]) {
        let sealed = self.sealer.seal(name, value);
        self.state.lsa.secrets.insert(name.to_owned(), sealed);
    }

    fn secret(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, WorldError> {
        match self.state.lsa.secrets.get(name) {
            None => Ok(None),
            Some(s) => Ok(Some(self.sealer.open(name, s)?)),
        }
    }

    /// The machine's `DPAPI_SYSTEM` secret.
    pub fn dpapi_system(&self) -> Result<DpapiSystem, WorldError> {
        let bytes = self
            .secret(DPAPI_SYSTEM)?
            .ok_or_else(|| WorldError::Damaged("DPAPI_SYSTEM is missing".into()))?;
        DpapiSystem::parse(&bytes).map_err(|e| WorldError::Damaged(format!("DPAPI_SYSTEM: {e}")))
    }

    fn create_virtual(&mut self, service: &str, rng: &mut Stream) -> Result<String, WorldError> {
        let sid = Sid::for_service(service);
        let store = ProtectStore::new(
            &mut rng.0,
            sid.clone(),
            StoreKind::VirtualAccount,
            self.policy(),
            BlobPolicy::WINDOWS_10,
        );
        let account = Account {
            name: service.to_owned(),
            authority: "NT SERVICE".into(),
            kind: AccountKind::Virtual,
            sid: sid.to_string(),
            hashes: None,
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Windows/ServiceProfiles/{service}"),
            protect: StoredProtect::capture(&store),
            forest: None,
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    fn create_user(
        &mut self,
        kind: AccountKind,
        name: &str,
        password: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let pw = Zeroizing::new(utf16le(password));
        self.create_user_utf16(kind, name, &pw, rng)
    }

    /// A user in a forest: the server's own domain, or another forest the server connects to
    /// (a directory account with no profile on this server).
    fn create_forest_user(
        &mut self,
        forest: &str,
        name: &str,
        password: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        if self
            .state
            .domain
            .as_ref()
            .is_some_and(|d| d.dns.eq_ignore_ascii_case(forest))
        {
            return self.create_user(AccountKind::Domain, name, password, rng);
        }
        // Another forest's domain SID: stable per forest name.
        let digest =
            crate::dpapi::crypto::hash(crate::dpapi::alg::Digest::Sha1, &[forest.as_bytes()]);
        let sub =
            |i: usize| u32::from_le_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
        let rid = 1103
            + self
                .state
                .accounts
                .iter()
                .filter(|a| a.forest.as_deref() == Some(forest))
                .count() as u32;
        let account = Account {
            name: name.to_owned(),
            authority: sync::netbios_of(forest),
            kind: AccountKind::Domain,
            sid: format!("S-1-5-21-{}-{}-{}-{rid}", sub(0), sub(4), sub(8)),
            hashes: Some(StoredHashes::of_password(password)),
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Users/{name}"),
            protect: StoredProtect::default(),
            forest: Some(forest.to_owned()),
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    fn create_user_utf16(
        &mut self,
        kind: AccountKind,
        name: &str,
        password_utf16: &[u8],
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let (sid, authority) = match kind {
            AccountKind::Local => {
                // The next RID after the highest local one, so a deleted account's RID is
                // not handed out again while a later one exists (SAM never reuses RIDs).
                let rid = self
                    .state
                    .accounts
                    .iter()
                    .filter(|a| a.kind == AccountKind::Local)
                    .filter_map(|a| a.sid.rsplit('-').next()?.parse::<u32>().ok())
                    .filter(|r| *r >= 1000)
                    .max()
                    .map_or(1000, |r| r + 1);
                (
                    format!("{}-{rid}", self.state.machine_sid),
                    SERVER_NAME.to_owned(),
                )
            }
            _ => {
                self.ensure_backup_key(rng)?;
                let d = self
                    .state
                    .domain
                    .as_mut()
                    .ok_or_else(|| WorldError::Damaged("no domain".into()))?;
                let rid = d.next_rid;
                d.next_rid += 1;
                (format!("{}-{rid}", d.sid), d.netbios.clone())
            }
        };
        let sid_v: Sid = sid
            .parse()
            .map_err(|e| WorldError::Damaged(format!("{e}")))?;
        let store = ProtectStore::new(
            &mut rng.0,
            sid_v,
            kind.store_kind(),
            self.policy(),
            BlobPolicy::WINDOWS_10,
        );
        let account = Account {
            name: name.to_owned(),
            authority,
            kind,
            sid,
            hashes: Some(StoredHashes::of(&hashes_utf16le(password_utf16))),
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Users/{name}"),
            protect: StoredProtect::capture(&store),
            forest: None,
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    /// The domain's DPAPI backup key pair: made once, sealed at rest.
    fn ensure_backup_key(&mut self, rng: &mut Stream) -> Result<(), WorldError> {
        if self
            .state
            .domain
            .as_ref()
            .is_none_or(|d| d.backup_key.is_some())
        {
            return Ok(());
        }
        let guid = rng.guid();
        let mut seed = [0u8; 32];
        rng.0.fill_bytes(&mut seed);
        let pair = BackupKeyPair::generate(guid, seed)
            .map_err(|e| WorldError::Damaged(format!("backup key: {e}")))?;
        let der = pair
            .to_pkcs8()
            .map_err(|e| WorldError::Damaged(format!("backup key: {e}")))?;
        let name = format!("BCKUPKEY_{guid}");
        let sealed = self.sealer.seal(&name, &der);
        if let Some(d) = self.state.domain.as_mut() {
            d.backup_key = Some(StoredBackupKey {
                guid: guid.to_string(),
                sealed,
            });
        }
        Ok(())
    }

    /// The domain backup service, when a writable DC answers.
    fn dc(&self) -> Result<Option<BackupKeyPair>, WorldError> {
        let Some(d) = self.state.domain.as_ref().filter(|d| d.dc_reachable) else {
            return Ok(None);
        };
        let Some(k) = &d.backup_key else {
            return Ok(None);
        };
        let der = self
            .sealer
            .open(&format!("BCKUPKEY_{}", k.guid), &k.sealed)?;
        let guid = k
            .guid
            .parse()
            .map_err(|_| WorldError::Damaged("backup key GUID".into()))?;
        BackupKeyPair::from_pkcs8(guid, &der)
            .map(Some)
            .map_err(|e| WorldError::Damaged(format!("backup key: {e}")))
    }

    fn create_managed(
        &mut self,
        kind: AccountKind,
        name: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let mut managed = Zeroizing::new(vec![0u8; GMSA_PASSWORD_LEN]);
        rng.0.fill_bytes(&mut managed);
        let q = self.create_user_utf16(kind, name, &managed, rng)?;
        self.seal_managed_password(name, &managed);
        Ok(q)
    }

    fn seal_managed_password(&mut self, name: &str, managed: &[u8]) {
        let key = format!("msDS-ManagedPassword:{name}");
        let sealed = self.sealer.seal(&key, managed);
        self.state.managed_passwords.insert(name.to_owned(), sealed);
    }

    fn managed_password(&self, name: &str) -> Result<Zeroizing<Vec<u8>>, WorldError> {
        let key = format!("msDS-ManagedPassword:{name}");
        let sealed = self
            .state
            .managed_passwords
            .get(name)
            .ok_or_else(|| WorldError::Damaged(format!("no managed password for {name}")))?;
        Ok(self.sealer.open(&key, sealed)?)
    }

    fn account_index(&self, name: &str) -> Result<usize, WorldError> {
        let dns = self.state.domain.as_ref().map(|d| d.dns.as_str());
        self.state
            .accounts
            .iter()
            .position(|a| a.is_named(name, dns))
            .ok_or_else(|| WorldError::UnknownAccount {
                name: name.to_owned(),
                known: self
                    .state
                    .accounts
                    .iter()
                    .map(Account::qualified_name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn service_index(&self, name: &str) -> Option<usize> {
        self.state
            .services
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn known_services(&self) -> String {
        self.state
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn load_store(&self, idx: usize) -> Result<ProtectStore, WorldError> {
        let a = &self.state.accounts[idx];
        a.protect
            .restore(&a.sid(), a.kind.store_kind())
            .ok_or_else(|| {
                WorldError::Damaged(format!(
                    "the Protect folder of {} does not parse",
                    a.qualified_name()
                ))
            })
    }

    fn save_store(&mut self, idx: usize, store: &ProtectStore) {
        self.state.accounts[idx].protect = StoredProtect::capture(store);
    }

    /// The credential a service's logon session holds, from the SCM's stored password (user
    /// accounts), `DPAPI_SYSTEM` (virtual accounts) or the directory (gMSA).
    fn service_credential(&self, service: &Service, idx: usize) -> Result<Credential, WorldError> {
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

    fn write_event(&mut self, out: &mut Outcome, e: NewEvent) {
        let rec = self.state.events.write(self.state.clock, e);
        out.events.push(rec);
    }

    fn state_event(&mut self, out: &mut Outcome, si: usize) {
        let s = &self.state.services[si];
        let msg = text::event_7036(&s.display_name, s.state.event_word());
        self.write_event(
            out,
            NewEvent {
                log: LogName::System,
                source: SCM_SOURCE,
                id: 7036,
                level: Level::Information,
                message: msg,
            },
        );
    }

    /// Runs one command.
    pub fn exec(&mut self, command: &Command) -> Result<Outcome, WorldError> {
        let mut rng = self.rng();
        let out = match command {
            Command::Status => Ok(self.status()),
            Command::AccountList => Ok(self.account_list()),
            Command::AccountReset {
                name,
                password,
                net_user,
            } => self.account_reset(name, password, *net_user),
            Command::AccountChange { name, old, new } => {
                self.account_change(name, old, new, &mut rng)
            }
            Command::ScQuery { name } => Ok(self.sc_query(name)),
            Command::ScQueryEx { name } => Ok(self.sc_queryex(name)),
            Command::ScQc { name } => Ok(self.sc_qc(name)),
            Command::GetService { name } => Ok(self.get_service(name.as_deref())),
            Command::GetEventLog { log, newest } => Ok(self.get_eventlog(*log, *newest)),
            Command::SetLocation { path } => Ok(self.set_location(path)),
            Command::MiiskmuRelative { typed } => self.miiskmu_relative(typed),
            Command::ScStart { name } => self.start_service(name, &mut rng),
            Command::ScStop { name } => Ok(self.stop_service(name)),
            Command::ScConfig {
                name,
                obj,
                password,
                start,
            } => self.sc_config(name, obj.as_deref(), password.as_ref(), *start),
            Command::PsService { verb, name } => self.ps_service(*verb, name, &mut rng),
            Command::Events {
                log,
                id,
                last,
                get_winevent,
            } => Ok(self.events(*log, *id, *last, *get_winevent)),
            Command::ClockAdvance { secs } => self.clock_advance(*secs, &mut rng),
            Command::AccountState {
                name,
                state,
                net_user,
            } => self.account_state(name, *state, *net_user),
            Command::DcReachable(reachable) => self.dc_reachable(*reachable),
            Command::Miiskmu => self.miiskmu_abandon(),
            Command::ConnectorList => self.connector_list(None, false),
            Command::GetConnector { name } => self.connector_list(name.as_deref(), true),
            Command::ConnectorSetPassword { name, password } => {
                self.connector_set_password(name, password, &mut rng)
            }
            Command::SyncRun { connector, profile } => self.sync_run(connector, *profile),
            Command::SyncCycle { policy } => self.sync_cycle(*policy),
            Command::GetScheduler => self.get_scheduler(),
            Command::SetScheduler { enabled } => self.set_scheduler(*enabled),
            Command::AddAadServiceAccount { credential, name } => {
                self.add_aad_service_account(credential, name.as_deref(), &mut rng)
            }
            Command::AddAddsConnectorAccount {
                connector,
                credential,
            } => self.add_adds_connector_account(connector, credential, &mut rng),
            Command::CloudReset { upn, password } => self.cloud_reset(upn, password),
            Command::DomainAccountReset {
                identity,
                server,
                password,
                tool,
            } => self.domain_account_reset(identity, server.as_deref(), password, *tool),
        }?;
        self.save_rng(&rng);
        Ok(out)
    }

    fn status(&self) -> Outcome {
        let s = &self.state;
        let services: Vec<Value> = s
            .services
            .iter()
            .map(|v| json!({"name": v.name, "state": v.state.as_str(), "account": v.account, "win32_exit_code": v.win32_exit_code, "service_exit_code": v.service_exit_code}))
            .collect();
        let sa = s
            .accounts
            .iter()
            .find(|a| a.qualified_name() == s.service_account);
        let json = json!({
            "clock": s.clock.to_string(),
            "seed": s.seed,
            "kdf_rounds": s.kdf_rounds,
            "server": SERVER_NAME,
            "domain_controller": s.domain_controller,
            "domain": s.domain.as_ref().map(|d| json!({"dns": d.dns, "netbios": d.netbios, "sid": d.sid, "dc_reachable": d.dc_reachable, "backup_key": d.backup_key.as_ref().map(|k| k.guid.clone())})),
            "service_account": {"name": s.service_account, "kind": sa.map(|a| a.kind.as_str())},
            "services": services,
            "accounts": s.accounts.len(),
            "events": s.events.all().len(),
            "adsync": self.adsync_status(),
        });
        let mut text = format!(
            "Server {SERVER_NAME}{}, domain {}\nClock {}\nSeed {}, master key rounds {}{}\n",
            if s.domain_controller {
                " (domain controller)"
            } else {
                ""
            },
            s.domain.as_ref().map_or("(none)", |d| d.dns.as_str()),
            s.clock,
            s.seed,
            s.kdf_rounds,
            if s.kdf_rounds == DEFAULT_KDF_ROUNDS {
                ""
            } else {
                " (lowered; Windows uses 8000)"
            }
        );
        for v in &s.services {
            text.push_str(&format!(
                "Service {} ({}): {} as {}\n",
                v.name,
                v.display_name,
                v.state.as_str(),
                v.account
            ));
        }
        if let Ok(e) = self.engine() {
            text.push_str(&format!(
                "{} build {}: keyset in {} ({}), tenant {}, scheduler {}\n",
                e.build.product_name(),
                e.build,
                e.build.keyset_era().as_str(),
                if e.keyset == crate::adsync::engine::StoredKeyset::None {
                    "none yet: made at the next start"
                } else {
                    "stored"
                },
                s.tenant.name,
                if e.scheduler.sync_cycle_enabled {
                    format!("on, next cycle {}", e.scheduler.next_cycle)
                } else {
                    "off".to_owned()
                }
            ));
            if e.keyset_follows_dpapi {
                text.push_str(crate::adsync::engine::KEYSET_FOLLOWS_DPAPI_STATUS);
                text.push('\n');
            }
            for a in &e.agents {
                text.push_str(&format!(
                    "Connector {} ({}): last run {}\n",
                    a.ma_name,
                    a.kind.as_str(),
                    a.last_run.as_ref().map_or("-", |r| r.status.as_str())
                ));
            }
        }
        Outcome {
            code: 0,
            text,
            json,
            events: vec![],
        }
    }

    fn account_list(&self) -> Outcome {
        let mut text = format!(
            "{:<32} {:<8} {:<8} {:<20} {}\n",
            "NAME", "KIND", "ENABLED", "PASSWORD LAST SET", "SID"
        );
        let mut rows = Vec::new();
        for a in &self.state.accounts {
            let pls = if a.kind == AccountKind::Virtual {
                "-".to_owned()
            } else {
                a.password_last_set.to_string()
            };
            text.push_str(&format!(
                "{:<32} {:<8} {:<8} {:<20} {}\n",
                a.qualified_name(),
                a.kind.as_str(),
                if a.enabled { "yes" } else { "no" },
                pls,
                a.sid
            ));
            rows.push(json!({"name": a.qualified_name(), "kind": a.kind.as_str(), "sid": a.sid, "enabled": a.enabled, "password_last_set": (a.kind != AccountKind::Virtual).then(|| a.password_last_set.to_string()), "master_keys": a.protect.files.iter().filter(|(p, _)| !p.ends_with("Preferred") && !p.ends_with("CREDHIST")).count()}));
        }
        Outcome {
            code: 0,
            text,
            json: json!({"accounts": rows}),
            events: vec![],
        }
    }

    /// `net user NAME …` for a name the SAM does not hold: net.exe prints `NERR_UserNotFound`'s
    /// message and its `NET HELPMSG` pointer (its exit status is 2; the outcome carries 2221,
    /// the code it names).
    fn net_user_not_found(name: &str) -> Outcome {
        let code = win32::USER_NOT_FOUND;
        Outcome {
            code,
            text: text::net_error(code),
            json: json!({"account": name, "error": win32::message(code)}),
            events: vec![],
        }
    }

    fn refuse_password(a: &Account, what: &str) -> WorldError {
        match a.kind {
            AccountKind::Virtual => WorldError::NoPassword(format!(
                "{} is a virtual account: it has no password to {what}. Windows manages its credentials; DPAPI protects its keys with the machine's DPAPI_SYSTEM secret.",
                a.qualified_name()
            )),
            _ => WorldError::NoPassword(format!(
                "{} is a {} managed service account: Active Directory manages its password and rotates it every {GMSA_ROTATION_DAYS} days; it cannot be {what} by hand.",
                a.qualified_name(),
                if a.kind == AccountKind::Smsa {
                    "standalone"
                } else {
                    "group"
                }
            )),
        }
    }

    fn account_reset(
        &mut self,
        name: &str,
        password: &Secret,
        net_user: bool,
    ) -> Result<Outcome, WorldError> {
        if self.account_index(name).is_err() && self.is_cloud_user(name) {
            return self.cloud_reset(name, password);
        }
        let idx = match self.account_index(name) {
            Err(_) if net_user => return Ok(Self::net_user_not_found(name)),
            r => r?,
        };
        if !self.state.accounts[idx].kind.has_settable_password() {
            return Err(Self::refuse_password(&self.state.accounts[idx], "reset"));
        }
        // An administrative reset: new hashes, and DPAPI cannot follow (`docs/dpapi.md` §4).
        let mut store = self.load_store(idx)?;
        store.reset_password();
        self.save_store(idx, &store);
        let a = &mut self.state.accounts[idx];
        a.hashes = Some(StoredHashes::of_password(password.expose()));
        a.password_last_set = self.state.clock;
        a.locked = false;
        let q = a.qualified_name();
        self.learn(&q, password.expose());
        let text = if net_user {
            text::NET_SUCCESS.to_owned()
        } else {
            format!("The password of {q} was reset.")
        };
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"account": q, "operation": "reset"}),
            events: vec![],
        })
    }

    fn account_change(
        &mut self,
        name: &str,
        old: &Secret,
        new: &Secret,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let idx = self.account_index(name)?;
        let a = self.state.accounts[idx].clone();
        if !a.kind.has_settable_password() {
            return Err(Self::refuse_password(&a, "changed"));
        }
        let old_utf16 = Zeroizing::new(utf16le(old.expose()));
        if !a
            .hashes
            .as_ref()
            .is_some_and(|h| h.matches(&hashes_utf16le(&old_utf16)))
        {
            let code = win32::INVALID_PASSWORD;
            return Ok(Outcome {
                code,
                text: format!(
                    "System error {code} has occurred.\n\n{}",
                    win32::message(code)
                ),
                json: json!({"account": a.qualified_name(), "operation": "change", "error": win32::message(code)}),
                events: vec![],
            });
        }
        self.change_password_utf16(idx, &old_utf16, &utf16le(new.expose()), rng)?;
        let q = a.qualified_name();
        self.learn(&q, new.expose());
        Ok(Outcome {
            code: 0,
            text: format!("The password of {q} was changed."),
            json: json!({"account": q, "operation": "change"}),
            events: vec![],
        })
    }

    /// A password change with the old password known: DPAPI re-protects the master keys and
    /// extends CREDHIST (`docs/dpapi.md` §4).
    fn change_password_utf16(
        &mut self,
        idx: usize,
        old: &[u8],
        new: &[u8],
        rng: &mut Stream,
    ) -> Result<(), WorldError> {
        let a = self.state.accounts[idx].clone();
        let sid = a.sid();
        let mut store = self.load_store(idx)?;
        store
            .change_password(
                &mut rng.0,
                &credential_for(a.kind, &sid, old),
                &credential_for(a.kind, &sid, new),
            )
            .map_err(|e| WorldError::Damaged(format!("DPAPI password change: {e}")))?;
        self.save_store(idx, &store);
        let acc = &mut self.state.accounts[idx];
        acc.hashes = Some(StoredHashes::of(&hashes_utf16le(new)));
        acc.password_last_set = self.state.clock;
        Ok(())
    }

    fn account_state(
        &mut self,
        name: &str,
        state: AccountState,
        net_user: bool,
    ) -> Result<Outcome, WorldError> {
        let idx = match self.account_index(name) {
            Err(_) if net_user => return Ok(Self::net_user_not_found(name)),
            r => r?,
        };
        let a = &mut self.state.accounts[idx];
        if a.kind == AccountKind::Virtual {
            return Err(WorldError::NoPassword(format!(
                "{} is a virtual account: Windows manages it; it cannot be disabled or locked.",
                a.qualified_name()
            )));
        }
        match state {
            AccountState::Enable => a.enabled = true,
            AccountState::Disable => a.enabled = false,
            AccountState::Lock => a.locked = true,
            AccountState::Unlock => a.locked = false,
        }
        let q = a.qualified_name();
        let text = if net_user {
            text::NET_SUCCESS.to_owned()
        } else {
            format!("{q}: enabled {}, locked {}.", a.enabled, a.locked)
        };
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"account": q, "enabled": a.enabled, "locked": a.locked}),
            events: vec![],
        })
    }

    fn dc_reachable(&mut self, reachable: bool) -> Result<Outcome, WorldError> {
        let d = self
            .state
            .domain
            .as_mut()
            .ok_or_else(|| WorldError::Options("the server has no domain".into()))?;
        d.dc_reachable = reachable;
        let text = format!(
            "A writable domain controller of {} is {}.",
            d.dns,
            if reachable {
                "reachable"
            } else {
                "unreachable"
            }
        );
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"domain": d.dns, "dc_reachable": reachable}),
            events: vec![],
        })
    }

    /// `CryptProtectData` with `CRYPTPROTECT_LOCAL_MACHINE`: the machine's `S-1-5-18` keys,
    /// opened with `DPAPI_SYSTEM`'s machine half (`docs/dpapi.md` §2.6).
    pub fn protect_machine(
        &mut self,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, WorldError> {
        let mut rng = self.rng();
        let blob = self.protect_machine_with(&mut rng, data, entropy, description)?;
        self.save_rng(&rng);
        Ok(blob)
    }

    fn protect_machine_with(
        &mut self,
        rng: &mut Stream,
        data: &[u8],
        entropy: &[u8],
        description: &str,
    ) -> Result<Vec<u8>, WorldError> {
        let cred = Credential::system_machine(&self.dpapi_system()?);
        let mut store = self.machine_store()?;
        let flags = ProtectFlags(
            crate::dpapi::api::CRYPTPROTECT_LOCAL_MACHINE
                | crate::dpapi::api::CRYPTPROTECT_UI_FORBIDDEN,
        );
        let blob = store
            .protect(
                &mut rng.0,
                &cred,
                data,
                entropy,
                description,
                flags,
                self.state.clock,
            )
            .map_err(|e| WorldError::Damaged(format!("{e}")))?;
        self.state.machine_store = StoredProtect::capture(&store);
        Ok(blob)
    }

    /// `CryptUnprotectData` of a `LOCAL_MACHINE` blob on this machine.
    pub fn unprotect_machine(
        &self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Result<Zeroizing<Vec<u8>>, DpapiError>, WorldError> {
        let cred = Credential::system_machine(&self.dpapi_system()?);
        Ok(self
            .machine_store()?
            .unprotect(&cred, blob, entropy)
            .map(|(_, p)| p))
    }

    fn machine_store(&self) -> Result<ProtectStore, WorldError> {
        self.state
            .machine_store
            .restore(&Sid::local_system(), StoreKind::System)
            .ok_or_else(|| WorldError::Damaged("the S-1-5-18 store does not parse".into()))
    }

    fn sc_query(&self, name: &str) -> Outcome {
        self.sc_read(name, "EnumQueryServicesStatus:OpenService", |s| {
            (s.sc_query(), Self::service_status_json(s))
        })
    }

    fn sc_queryex(&self, name: &str) -> Outcome {
        self.sc_read(name, "EnumQueryServicesStatus:OpenService", |s| {
            (s.sc_queryex(), Self::service_status_json(s))
        })
    }

    fn sc_qc(&self, name: &str) -> Outcome {
        self.sc_read(name, "OpenService", |s| {
            (
                s.sc_qc(),
                json!({"service": s.name, "display_name": s.display_name, "binary_path": s.binary_path, "start_type": s.start_type.display(), "account": s.account}),
            )
        })
    }

    /// A reading `sc` verb: the service's text and JSON, or sc.exe's 1060 failure naming the
    /// call (`op`) that failed.
    fn sc_read(
        &self,
        name: &str,
        op: &str,
        show: impl FnOnce(&Service) -> (String, serde_json::Value),
    ) -> Outcome {
        match self.service_index(name) {
            Some(i) => {
                let (text, json) = show(&self.state.services[i]);
                Outcome {
                    code: 0,
                    text,
                    json,
                    events: vec![],
                }
            }
            None => self.no_such_service(op, name),
        }
    }

    fn service_status_json(s: &Service) -> serde_json::Value {
        json!({"service": s.name, "display_name": s.display_name, "state": s.state.as_str(), "win32_exit_code": s.win32_exit_code, "service_exit_code": s.service_exit_code, "account": s.account, "pid": s.pid})
    }

    fn no_such_service(&self, op: &str, name: &str) -> Outcome {
        let code = win32::SERVICE_DOES_NOT_EXIST;
        Outcome {
            code,
            text: sc_failed(op, code),
            json: json!({"service": name, "error": win32::message(code), "services": self.known_services()}),
            events: vec![],
        }
    }

    /// Starts a service: the logon check, then the program (docs/design.md §3, the host world).
    fn start_service(&mut self, name: &str, rng: &mut Stream) -> Result<Outcome, WorldError> {
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
            self.write_event(
                &mut out,
                NewEvent {
                    log: LogName::System,
                    source: SCM_SOURCE,
                    id: 7038,
                    level: Level::Error,
                    message: text::event_7038(&svc.name, &account, win32::message(reason)),
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
        let cred = self.service_credential(&svc, ai)?;
        if let Some(mut program) = self.state.programs.get(&svc.name).cloned() {
            let mut host = StartHost {
                world: self,
                service: svc.name.clone(),
                account: ai,
                credential: cred,
                rng,
                out: &mut out,
                error: None,
            };
            let result = program.as_program().start(&mut host);
            if let Some(e) = host.error {
                return Err(e);
            }
            self.state.programs.insert(svc.name.clone(), program);
            if let Err(failure) = result {
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
    fn service_failed(&mut self, si: usize, failure: ServiceFailure, mut out: Outcome) -> Outcome {
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
    fn logon_failure(&self, svc: &Service, ai: usize) -> Result<Option<u32>, WorldError> {
        let a = &self.state.accounts[ai];
        if !a.enabled {
            return Ok(Some(win32::ACCOUNT_DISABLED));
        }
        if a.locked {
            return Ok(Some(win32::ACCOUNT_LOCKED_OUT));
        }
        if !a.kind.has_settable_password() {
            return Ok(None);
        }
        let stored = self
            .secret(&service_secret_name(&svc.name))?
            .unwrap_or_default();
        let stored = Zeroizing::new(String::from_utf8_lossy(&stored).into_owned());
        Ok((!a.password_is(&stored)).then_some(win32::LOGON_FAILURE))
    }

    fn stop_service(&mut self, name: &str) -> Outcome {
        let Some(si) = self.service_index(name) else {
            return self.no_such_service("ControlService: OpenService", name);
        };
        if self.state.services[si].state != ServiceState::Running {
            let code = win32::SERVICE_NOT_ACTIVE;
            return Outcome {
                code,
                text: sc_failed("ControlService", code),
                json: json!({"service": name, "error": win32::message(code)}),
                events: vec![],
            };
        }
        let mut out = Outcome::default();
        let s = &mut self.state.services[si];
        let pending = s.clone();
        s.state = ServiceState::Stopped;
        s.pid = None;
        s.win32_exit_code = 0;
        s.service_exit_code = 0;
        let service = s.name.clone();
        self.clear_memory(&service);
        self.state_event(&mut out, si);
        out.text = pending.sc_stop_pending();
        out.json = json!({"service": service, "state": "STOPPED"});
        out
    }

    fn sc_config(
        &mut self,
        name: &str,
        obj: Option<&str>,
        password: Option<&Secret>,
        start: Option<StartType>,
    ) -> Result<Outcome, WorldError> {
        let Some(si) = self.service_index(name) else {
            return Ok(self.no_such_service("OpenService", name));
        };
        let account = match obj {
            Some(o) if o.eq_ignore_ascii_case("LocalSystem") => Some("LocalSystem".to_owned()),
            Some(o) => {
                let dns = self.state.domain.as_ref().map(|d| d.dns.as_str());
                match self.state.accounts.iter().find(|a| a.is_named(o, dns)) {
                    Some(a) => Some(a.qualified_name()),
                    None => {
                        let code = win32::INVALID_SERVICE_ACCOUNT;
                        return Ok(Outcome {
                            code,
                            text: sc_failed("ChangeServiceConfig", code),
                            json: json!({"service": name, "error": win32::message(code), "accounts": self.state.accounts.iter().map(Account::qualified_name).collect::<Vec<_>>()}),
                            events: vec![],
                        });
                    }
                }
            }
            None => None,
        };
        if let Some(acc) = account {
            self.state.services[si].account = acc;
        }
        if let Some(p) = password {
            let sname = self.state.services[si].name.clone();
            self.put_secret(&service_secret_name(&sname), p.expose().as_bytes());
        }
        if let Some(t) = start {
            self.state.services[si].start_type = t;
        }
        Ok(Outcome {
            code: 0,
            text: "[SC] ChangeServiceConfig SUCCESS".into(),
            json: json!({"service": self.state.services[si].name}),
            events: vec![],
        })
    }

    fn ps_service(
        &mut self,
        verb: PsServiceVerb,
        name: &str,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = match verb {
            PsServiceVerb::Start => "Start-Service",
            PsServiceVerb::Stop => "Stop-Service",
            PsServiceVerb::Restart => "Restart-Service",
        };
        let typed = format!("{cmdlet} {name}");
        let Some(si) = self.service_index(name) else {
            let code = win32::SERVICE_DOES_NOT_EXIST;
            return Ok(Outcome {
                code,
                text: text::ps_service_not_found(cmdlet, name, &typed),
                json: json!({"service": name, "error": "not found", "services": self.known_services()}),
                events: vec![],
            });
        };
        let svc_name = self.state.services[si].name.clone();
        let display = self.state.services[si].display_name.clone();
        let mut events = Vec::new();
        if matches!(verb, PsServiceVerb::Stop | PsServiceVerb::Restart)
            && self.state.services[si].state == ServiceState::Running
        {
            let o = self.stop_service(&svc_name);
            events.extend(o.events);
        }
        if verb == PsServiceVerb::Stop {
            return Ok(Outcome {
                code: 0,
                text: String::new(),
                json: json!({"service": svc_name, "state": "STOPPED"}),
                events,
            });
        }
        if self.state.services[si].state == ServiceState::Running {
            return Ok(Outcome {
                code: 0,
                text: String::new(),
                json: json!({"service": svc_name, "state": "RUNNING"}),
                events,
            });
        }
        let mut o = self.start_service(&svc_name, rng)?;
        events.append(&mut o.events);
        o.events = events;
        // PowerShell prints its own error record only (never sc.exe's line or the console's
        // dialog). `StartService` refused (1069, 1058): `CouldNotStartService`; the service
        // started and then stopped with its own error (1066): `StartServiceFailed`.
        o.text = match o.code {
            0 => String::new(),
            win32::SERVICE_SPECIFIC_ERROR => {
                text::ps_start_failed(cmdlet, &display, &svc_name, &typed)
            }
            _ => text::ps_cannot_start(cmdlet, &display, &svc_name, &typed),
        };
        Ok(o)
    }

    /// `Get-Service [NAME]`: PowerShell's default table for `ServiceController` objects.
    fn get_service(&self, name: Option<&str>) -> Outcome {
        let services: Vec<&Service> = match name {
            Some(n) => match self.service_index(n) {
                Some(i) => vec![&self.state.services[i]],
                None => {
                    return Outcome {
                        code: win32::SERVICE_DOES_NOT_EXIST,
                        text: text::ps_service_not_found(
                            "Get-Service",
                            n,
                            &format!("Get-Service {n}"),
                        ),
                        json: json!({"service": n, "error": "not found", "services": self.known_services()}),
                        events: vec![],
                    };
                }
            },
            None => {
                let mut all: Vec<&Service> = self.state.services.iter().collect();
                all.sort_by_key(|s| s.name.to_ascii_lowercase());
                all
            }
        };
        let rows: Vec<(String, String, String)> = services
            .iter()
            .map(|s| {
                (
                    crate::win::pstable::status(s.state).to_owned(),
                    s.name.clone(),
                    s.display_name.clone(),
                )
            })
            .collect();
        Outcome {
            code: 0,
            text: crate::win::pstable::service_table(&rows),
            json: json!({"services": services.iter().map(|s| json!({"Status": crate::win::pstable::status(s.state), "Name": s.name, "DisplayName": s.display_name})).collect::<Vec<_>>()}),
            events: vec![],
        }
    }

    /// `Get-EventLog -LogName L [-Newest N]`: newest first, in PowerShell's `EventLogEntry`
    /// table.
    fn get_eventlog(&self, log: LogName, newest: Option<usize>) -> Outcome {
        let mut recs = self.state.events.query(Some(log), None, newest);
        recs.reverse();
        let rows: Vec<Value> = recs.iter().map(|r| event_json(r)).collect();
        Outcome {
            code: 0,
            text: crate::win::pstable::eventlog_table(&recs),
            json: json!({"events": rows}),
            events: vec![],
        }
    }

    /// `cd PATH`: moves PowerShell's location to a folder of the simulated server.
    fn set_location(&mut self, path: &str) -> Outcome {
        let here = self.location().to_owned();
        match location::resolve(&here, path) {
            Ok(folder) => {
                self.state.location = Some(folder.clone());
                Outcome {
                    code: 0,
                    text: String::new(),
                    json: json!({"location": folder}),
                    events: vec![],
                }
            }
            Err(shown) => Outcome {
                code: win32::FILE_NOT_FOUND,
                text: text::ps_path_not_found(
                    "cd",
                    &shown,
                    &Command::SetLocation {
                        path: path.to_owned(),
                    }
                    .redacted(),
                ),
                json: json!({"location": here, "error": "path not found", "path": shown}),
                events: vec![],
            },
        }
    }

    /// PowerShell's current location.
    pub fn location(&self) -> &str {
        self.state.location.as_deref().unwrap_or(location::START)
    }

    /// `./miiskmu.exe /a`: PowerShell runs it only when the current location holds it.
    fn miiskmu_relative(&mut self, typed: &str) -> Result<Outcome, WorldError> {
        if self.location().eq_ignore_ascii_case(location::ADSYNC_BIN) {
            return self.miiskmu_abandon();
        }
        Ok(Outcome {
            code: win32::FILE_NOT_FOUND,
            text: text::ps_not_recognized(typed, &format!("{typed} /a")),
            json: json!({"location": self.location(), "error": "not recognized", "command": typed, "folder": location::ADSYNC_BIN}),
            events: vec![],
        })
    }

    fn events(
        &self,
        log: Option<LogName>,
        id: Option<u32>,
        last: Option<usize>,
        newest_first: bool,
    ) -> Outcome {
        let mut recs = self.state.events.query(log, id, last);
        if newest_first {
            recs.reverse();
        }
        let mut text = String::new();
        if newest_first {
            text.push_str(&format!(
                "{:<22} {:>6} {:<16} {}\n",
                "TimeCreated", "Id", "LevelDisplayName", "Message"
            ));
        }
        for r in &recs {
            if newest_first {
                text.push_str(&format!(
                    "{:<22} {:>6} {:<16} {}\n",
                    r.time.to_string(),
                    r.id,
                    r.level.as_str(),
                    r.message
                ));
            } else {
                text.push_str(&format!(
                    "{} {:<11} {:<11} {:>5} {}: {}\n",
                    r.time,
                    r.log.as_str(),
                    r.level.as_str(),
                    r.id,
                    r.source,
                    r.message
                ));
            }
        }
        let rows: Vec<Value> = recs.iter().map(|r| event_json(r)).collect();
        Outcome {
            code: 0,
            text,
            json: json!({"events": rows}),
            events: vec![],
        }
    }

    /// Moves the clock: gMSA passwords rotate on their 30-day schedule and the sync scheduler
    /// runs its cycles, each at its own time, in order.
    fn clock_advance(&mut self, secs: u64, rng: &mut Stream) -> Result<Outcome, WorldError> {
        self.check_advance(secs)?;
        let target = self.state.clock.plus_secs(secs);
        let mut out = Outcome::default();
        let mut cycles = 0u64;
        loop {
            if cycles > MAX_SYNC_CYCLES_PER_ADVANCE {
                // `check_advance` counted them: only a damaged scheduler gets here.
                return Err(WorldError::Damaged(format!(
                    "the scheduler ran more than {MAX_SYNC_CYCLES_PER_ADVANCE} cycles in one advance"
                )));
            }
            let gmsa = self
                .state
                .accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind.is_managed())
                .map(|(i, a)| (a.password_last_set.plus_days(GMSA_ROTATION_DAYS), i))
                .filter(|(t, _)| *t <= target)
                .min();
            let cycle = self.next_cycle_due(target);
            let gmsa_first = match (gmsa, cycle) {
                (None, None) => break,
                (Some((g, _)), Some(c)) => g <= c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if let (true, Some((when, idx))) = (gmsa_first, gmsa) {
                // A gMSA rotation is a password change: the old password is known.
                self.state.clock = when;
                let name = self.state.accounts[idx].name.clone();
                let old = self.managed_password(&name)?;
                let mut new = Zeroizing::new(vec![0u8; GMSA_PASSWORD_LEN]);
                rng.0.fill_bytes(&mut new);
                self.change_password_utf16(idx, &old, &new, rng)?;
                self.seal_managed_password(&name, &new);
            } else if let Some(when) = cycle {
                self.state.clock = when;
                self.scheduled_cycle(&mut out)?;
                cycles += 1;
            }
        }
        self.state.clock = target;
        out.text = format!("Clock is now {}", self.state.clock);
        if cycles > 0 {
            out.text
                .push_str(&format!("\n{cycles} scheduled sync cycle(s) ran."));
        }
        out.json = json!({"clock": self.state.clock.to_string(), "sync_cycles": cycles});
        Ok(out)
    }

    /// Whether `clock advance` by `secs` stays within the limits: the clock's maximum
    /// ([`crate::win::clock::MAX_CLOCK_UNIX`]) and the scheduled cycles one command may run
    /// ([`MAX_SYNC_CYCLES_PER_ADVANCE`]). Checked before anything changes.
    pub fn check_advance(&self, secs: u64) -> Result<(), WorldError> {
        let max = crate::win::clock::max_clock();
        let target = self.state.clock.plus_secs(secs);
        if target > max {
            return Err(WorldError::Limit(format!(
                "the clock cannot pass {max} (the latest time Windows tools show, .NET's DateTime.MaxValue); it is {} now",
                self.state.clock
            )));
        }
        let cycles = self.sync_cycles_due(target);
        if cycles > MAX_SYNC_CYCLES_PER_ADVANCE {
            return Err(WorldError::Limit(format!(
                "advancing {secs} s would run {cycles} scheduled sync cycles, more than the {MAX_SYNC_CYCLES_PER_ADVANCE} one command may run (two years of 30-minute cycles); advance in shorter steps, or pause the scheduler first (Set-ADSyncScheduler -SyncCycleEnabled $false)"
            )));
        }
        Ok(())
    }

    /// Every account's `Protect` folder, the machine store and `DPAPI_SYSTEM`, as the real paths
    /// and bytes `export` writes (docs/design.md §5).
    pub fn artefacts(&self) -> Result<Vec<(String, Vec<u8>)>, WorldError> {
        let mut out = Vec::new();
        for a in &self.state.accounts {
            let base = format!("{}/AppData/Roaming/Microsoft/Protect", a.profile);
            for (path, hexbytes) in &a.protect.files {
                let bytes = hex::decode(hexbytes)
                    .map_err(|_| WorldError::Damaged("protect file".into()))?;
                out.push((format!("{base}/{path}"), bytes));
            }
        }
        for (path, hexbytes) in &self.state.machine_store.files {
            let bytes =
                hex::decode(hexbytes).map_err(|_| WorldError::Damaged("machine store".into()))?;
            out.push((format!("Windows/System32/Microsoft/Protect/{path}"), bytes));
        }
        // LocalSystem's user-scope keys live in the `User` subfolder of the S-1-5-18 folder.
        for (path, hexbytes) in &self.state.system_user_store.files {
            let bytes = hex::decode(hexbytes)
                .map_err(|_| WorldError::Damaged("system user store".into()))?;
            let rel = path.replacen("S-1-5-18/", "S-1-5-18/User/", 1);
            out.push((format!("Windows/System32/Microsoft/Protect/{rel}"), bytes));
        }
        out.push((
            "Windows/System32/config/LSA/DPAPI_SYSTEM".into(),
            self.dpapi_system()?.to_bytes().to_vec(),
        ));
        if let Some(keyset) = self.keyset_artefact()? {
            out.push(keyset);
        }
        Ok(out)
    }

    /// The event logs as JSON documents, one per log.
    pub fn event_logs_json(&self) -> Vec<(String, Value)> {
        LogName::ALL
            .iter()
            .map(|l| {
                let rows: Vec<Value> = self
                    .state
                    .events
                    .query(Some(*l), None, None)
                    .into_iter()
                    .map(event_json)
                    .collect();
                (
                    l.as_str().to_owned(),
                    json!({"log": l.as_str(), "events": rows}),
                )
            })
            .collect()
    }
}

fn event_json(r: &EventRecord) -> Value {
    json!({"record_id": r.record_id, "log": r.log.as_str(), "source": r.source, "id": r.id, "level": r.level.as_str(), "time": r.time.to_string(), "message": r.message})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse_line;

    /// A world on the default build that follows DPAPI alone (the opt-in option): these
    /// tests exercise DPAPI's change versus reset and its recovery through the DC.
    fn world(kind: ServiceAccountKind) -> (World, InitReport) {
        world_with(kind, DEFAULT_BUILD, true)
    }

    fn world_with(kind: ServiceAccountKind, build: Build, dpapi: bool) -> (World, InitReport) {
        let opts = WorldOptions {
            seed: 7,
            kdf_rounds: 3,
            service_account: Some(kind),
            build,
            keyset_follows_dpapi: dpapi,
            ..WorldOptions::default()
        };
        World::new(&opts, Sealer::in_memory([1; 32])).unwrap()
    }

    /// The default world follows the 2023 article's Important notes: from April 2017 a reset
    /// is supported (the engine protects its Credential Manager keyset again, even with no DC
    /// for a domain account); up to March 2017 it destroys the keys for a domain account too.
    #[test]
    fn the_default_world_follows_the_2023_article_on_resets() {
        for kind in [ServiceAccountKind::Local, ServiceAccountKind::Domain] {
            let (mut w, report) = world_with(kind, DEFAULT_BUILD, false);
            let name = report.service_account.clone();
            run(&mut w, "sc stop ADSync");
            run(
                &mut w,
                &format!("account reset {name} --password 'Reset#2026'"),
            );
            run(&mut w, "sc config ADSync password= 'Reset#2026'");
            run(&mut w, "dc disconnect");
            let start = run(&mut w, "sc start ADSync");
            assert_eq!(start.code, 0, "{kind:?}: {}", start.text);
            assert!(start.events.iter().all(|e| e.id != 6028), "{kind:?}");
            // The credential was protected again: the next start needs no copy for a local
            // account (a domain account's new protection waits for the DC).
            run(&mut w, "sc stop ADSync");
            assert_eq!(run(&mut w, "sc start ADSync").code, 0, "{kind:?}");
        }
        let (mut w, report) = world_with(
            ServiceAccountKind::Domain,
            "1.1.443.0".parse().unwrap(),
            false,
        );
        let name = report.service_account.clone();
        run(&mut w, "sc stop ADSync");
        run(
            &mut w,
            &format!("account reset {name} --password 'Reset#2026'"),
        );
        run(&mut w, "sc config ADSync password= 'Reset#2026'");
        let start = run(&mut w, "sc start ADSync");
        assert_eq!(start.code, win32::SERVICE_SPECIFIC_ERROR, "{}", start.text);
        assert!(start.events.iter().any(|e| e.id == 6028));
        // The option: DPAPI recovers through the reachable DC.
        let (mut w, report) = world_with(
            ServiceAccountKind::Domain,
            "1.1.443.0".parse().unwrap(),
            true,
        );
        let name = report.service_account.clone();
        run(&mut w, "sc stop ADSync");
        run(
            &mut w,
            &format!("account reset {name} --password 'Reset#2026'"),
        );
        run(&mut w, "sc config ADSync password= 'Reset#2026'");
        assert_eq!(run(&mut w, "sc start ADSync").code, 0);
    }

    fn run(w: &mut World, line: &str) -> Outcome {
        w.exec(&parse_line(line).unwrap()).unwrap()
    }

    #[test]
    fn local_reset_gives_1069_then_6028_and_change_gives_neither() {
        let (mut w, report) = world(ServiceAccountKind::Local);
        let name = report.service_account.clone();
        assert_eq!(run(&mut w, "sc query ADSync").json["state"], "RUNNING");
        assert_eq!(run(&mut w, "sc stop ADSync").code, 0);
        assert_eq!(
            run(
                &mut w,
                &format!("account reset {name} --password 'Reset#2026'")
            )
            .code,
            0
        );
        let o = run(&mut w, "sc start ADSync");
        assert_eq!(o.code, 1069);
        assert!(
            o.text.contains("[SC] StartService FAILED 1069:"),
            "{}",
            o.text
        );
        assert!(o.events.iter().any(|e| {
            e.id == 7038
                && e.message
                    .contains("The user name or password is incorrect.")
        }));
        assert_eq!(run(&mut w, "sc config ADSync password= Reset#2026").code, 0);
        let o = run(&mut w, "sc start ADSync");
        assert_eq!(o.code, 1066, "{}", o.text);
        assert!(
            o.text.contains("service-specific error code -21451857952"),
            "{}",
            o.text
        );
        assert!(
            o.events
                .iter()
                .any(|e| e.id == 6028 && e.message == crate::probe::EVENT_6028_TEXT)
        );

        // The same account changed by its owner: DPAPI follows, the service starts.
        let (mut w, report) = world(ServiceAccountKind::Local);
        let old = report.service_account_password.clone().unwrap();
        run(&mut w, "sc stop ADSync");
        let o = run(
            &mut w,
            &format!(
                "account change {} --old '{}' --new 'Changed#2026'",
                report.service_account,
                old.as_str()
            ),
        );
        assert_eq!(o.code, 0, "{}", o.text);
        assert_eq!(
            run(&mut w, "sc start ADSync").code,
            1069,
            "the SCM still has the old password"
        );
        run(&mut w, "sc config ADSync password= Changed#2026");
        let o = run(&mut w, "sc start ADSync");
        assert_eq!(o.code, 0, "{}", o.text);
    }

    #[test]
    fn virtual_account_has_no_password_and_survives_rotation() {
        let (mut w, report) = world(ServiceAccountKind::Virtual);
        assert_eq!(report.service_account, "NT SERVICE\\ADSync");
        let e = w
            .exec(&parse_line("account reset ADSync --password x").unwrap())
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("virtual account: it has no password"),
            "{e}"
        );
        run(&mut w, "clock advance 200d");
        run(&mut w, "Restart-Service ADSync");
        assert_eq!(run(&mut w, "sc query ADSync").json["state"], "RUNNING");
    }

    #[test]
    fn gmsa_rotates_every_30_days_without_breaking_dpapi() {
        let (mut w, _) = world(ServiceAccountKind::Gmsa);
        let before = w.state().accounts[0].hashes.clone();
        run(&mut w, "clock advance 95d");
        assert_ne!(w.state().accounts[0].hashes, before);
        run(&mut w, "sc stop ADSync");
        assert_eq!(run(&mut w, "sc start ADSync").code, 0);
    }

    #[test]
    fn domain_reset_recovers_through_the_dc_backup_key_only_when_reachable() {
        for reachable in [true, false] {
            let (mut w, report) = world(ServiceAccountKind::Domain);
            let name = report.service_account.clone();
            assert!(w.state().domain.as_ref().unwrap().backup_key.is_some());
            let acc = w
                .state()
                .accounts
                .iter()
                .find(|a| a.qualified_name() == name)
                .unwrap()
                .clone();
            let st = acc
                .protect
                .restore(&acc.sid(), acc.kind.store_kind())
                .unwrap();
            assert!(
                st.master_keys.values().all(|f| f.domain_key.is_some()),
                "domain keys are wrapped for the DC"
            );
            run(&mut w, "sc stop ADSync");
            run(
                &mut w,
                &format!("account reset {name} --password Dom-Reset-1"),
            );
            run(&mut w, "sc config ADSync password= Dom-Reset-1");
            if !reachable {
                run(&mut w, "dc disconnect");
            }
            let o = run(&mut w, "sc start ADSync");
            if reachable {
                assert_eq!(o.code, 0, "recovered through the backup key: {}", o.text);
                // The key was re-protected under the new password: no DC needed any more.
                run(&mut w, "sc stop ADSync");
                run(&mut w, "dc disconnect");
                assert_eq!(run(&mut w, "sc start ADSync").code, 0);
            } else {
                assert_eq!(o.code, 1066, "{}", o.text);
                run(&mut w, "dc connect");
                assert_eq!(
                    run(&mut w, "sc start ADSync").code,
                    0,
                    "recovered once the DC answers"
                );
            }
        }
    }

    #[test]
    fn disabled_or_locked_accounts_fail_the_logon() {
        let (mut w, report) = world(ServiceAccountKind::Local);
        let name = report.service_account.clone();
        run(&mut w, "sc stop ADSync");
        run(&mut w, &format!("net user {name} /active:no"));
        let o = run(&mut w, "sc start ADSync");
        assert_eq!(o.code, 1069);
        assert!(
            o.events[0]
                .message
                .contains("due to the following error: This user can't sign in because this account is currently disabled.\n\n")
        );
        run(&mut w, &format!("account enable {name}"));
        run(&mut w, &format!("account lock {name}"));
        assert_eq!(run(&mut w, "sc start ADSync").code, 1069);
        run(&mut w, &format!("account unlock {name}"));
        assert_eq!(run(&mut w, "sc start ADSync").code, 0);
    }

    #[test]
    fn machine_scope_blobs_need_this_machines_dpapi_system() {
        let (mut w, _) = world(ServiceAccountKind::Virtual);
        let blob = w
            .protect_machine(b"keyset", b"entropy", "MMS_ENCRYPTION_KEYSET")
            .unwrap();
        assert_eq!(
            &w.unprotect_machine(&blob, b"entropy").unwrap().unwrap()[..],
            b"keyset"
        );
        let parsed = crate::dpapi::blob::Blob::parse(&blob).unwrap();
        assert_eq!(parsed.flags, crate::dpapi::api::CRYPTPROTECT_LOCAL_MACHINE);
        let opts = WorldOptions {
            seed: 8,
            kdf_rounds: 3,
            ..WorldOptions::default()
        };
        let (other, _) = World::new(&opts, Sealer::in_memory([1; 32])).unwrap();
        assert!(matches!(
            other.unprotect_machine(&blob, b"entropy").unwrap(),
            Err(DpapiError::BadKeyState { .. })
        ));
    }

    #[test]
    fn sysprep_made_system_keys_open_with_their_dpapi_system_halves() {
        let (w, _) = world(ServiceAccountKind::Virtual);
        let secret = w.dpapi_system().unwrap();
        let files = w.artefacts().unwrap();
        let key = |prefix: &str| {
            files
                .iter()
                .find(|(p, _)| {
                    p.starts_with(prefix)
                        && !p.ends_with("Preferred")
                        && p[prefix.len()..].len() == 36
                })
                .map(|(_, b)| crate::dpapi::masterkey::MasterKeyFile::parse(b).unwrap())
                .unwrap_or_else(|| panic!("no key under {prefix}"))
        };
        let machine = key("Windows/System32/Microsoft/Protect/S-1-5-18/");
        let user = key("Windows/System32/Microsoft/Protect/S-1-5-18/User/");
        assert_eq!(machine.flags, 6);
        assert!(
            machine
                .decrypt(&Credential::system_machine(&secret))
                .is_ok()
        );
        assert!(machine.decrypt(&Credential::system_user(&secret)).is_err());
        assert!(user.decrypt(&Credential::system_user(&secret)).is_ok());
    }

    #[test]
    fn same_seed_same_state() {
        let (a, _) = world(ServiceAccountKind::Local);
        let (b, _) = world(ServiceAccountKind::Local);
        assert_eq!(
            serde_json::to_string(a.state()).unwrap(),
            serde_json::to_string(b.state()).unwrap()
        );
    }
}
