//! The composed world: one Windows server (and its domain) with everything ADSync's secrets
//! depend on, changed only through [`World::exec`].
//!
//! docs/design.md §2-§3: deterministic from one seed (a ChaCha20 stream whose position is part of the
//! state), simulated time, real DPAPI bytes in every `Protect` folder, hashes instead of
//! passwords, and LSA secrets sealed at rest. A command that fails validation changes nothing;
//! a command that runs applies all of its effects (including the events a failure writes).
//!
//! This module holds the state, the command dispatch ([`World::exec`]) and the seed's stream.
//! Each concept has its own child module: `install` (what `init` builds), `accounts` (creating
//! and finding accounts), `passwords` (resets, changes, account states), `domain` (the backup key
//! and the DC), `protect` (DPAPI stores at rest), `dpapi_as` (DPAPI as a named account), `logon`
//! (the SCM's logon and the service's start), `services` (the SCM's state changes), `clock` (time
//! and what falls due), `location` (`cd`), `sync` (ADSync: runs, scheduler, cmdlets, memory),
//! `knowledge` (what the administrator knows), `admin` (host-level operations for parity and
//! remediation), `domain_reset`, `export` (the artefacts on disk) and `render` (what read-only
//! commands print).

use crate::dpapi::secret::SecretBytes;
use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::adsync::build::{Build, DEFAULT_BUILD};
use crate::adsync::engine::Engine;
use crate::cloud::Tenant;
use crate::command::Command;
use crate::dpapi::api::DpapiError;
use crate::dpapi::masterkey::MasterKeyPolicy;
use crate::filetime::FileTime;
use crate::probe::KeysetProbe;
use crate::seal::{Sealed, Sealer, UnsealError};
use crate::win::account::{Account, StoredProtect};
use crate::win::eventlog::{EventLogs, EventRecord, NewEvent};
use crate::win::lsa::Lsa;
use crate::win::scm::{Service, ServiceProgram};

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
mod accounts;
pub mod admin;
mod clock;
mod domain;
mod domain_reset;
mod dpapi_as;
mod export;
mod install;
mod knowledge;
mod limit;
pub mod location;
mod logon;
mod passwords;
mod protect;
mod refusal;
mod render;
mod rights;
mod services;
mod sync;
mod transaction;

pub use limit::Limit;
pub use refusal::{PasswordAction, Refusal};
pub use transaction::Savepoint;

pub use rights::{
    AccountPolicy, MAX_LOCKOUT_THRESHOLD, MAX_PASSWORD_AGE_DAYS, SERVICE_LOGON_RIGHT,
};
pub use sync::{
    CYCLE_BUSY_CODE, ENTERPRISE_ADMIN_NAME, GLOBAL_ADMIN_NAME, InstallReport, RUN_PROFILE_SECONDS,
};

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
    /// The domain's DPAPI backup key pair, named when the first domain account with a `Protect`
    /// folder is created.
    #[serde(default)]
    pub backup_key: Option<StoredBackupKey>,
}

/// A domain backup key pair at rest: its GUID. The key itself is a function of the world's seed
/// (README choice 70), made when first used; a state written before that holds it sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBackupKey {
    /// The key pair's GUID (`BCKUPKEY_<guid>`).
    pub guid: String,
    /// The private key as PKCS#8, sealed (states written before the key was made when used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
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
    fn as_program(&mut self) -> &mut dyn ServiceProgram<WorldError> {
        match self {
            Self::Engine(e) => e.as_mut(),
            Self::Probe(p) => p,
        }
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
    /// Account policy: the "Log on as a service" right, password expiry, lockout (`rights`).
    #[serde(default)]
    pub policy: AccountPolicy,
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
    /// The account's password or state is Windows' or the directory's to manage, or the
    /// account is not the kind the command works on.
    #[error("{}", refusal.sentence(account))]
    AccountRefused {
        /// The account, qualified.
        account: String,
        /// Why.
        refusal: Refusal,
    },
    /// A sealed secret would not open.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// A command would pass one of the simulator's named limits.
    #[error("{0}")]
    Limit(Limit),
    /// An option or argument is not acceptable: `option` names the input, `value` is what was
    /// given (empty when the input was missing or is a password), `reason` says what is wrong.
    #[error("{reason}")]
    BadOption {
        /// The option or argument, as the user spells it (`--forest`, `user name`).
        option: String,
        /// What was given.
        value: String,
        /// What is wrong, as one sentence naming the input.
        reason: String,
        /// What to do instead, when there is a single answer ([`WorldError::hint`]).
        hint: Option<String>,
    },
    /// The command needs the server to be in a domain, and it is not.
    #[error("{subject}: the server is not in a domain")]
    NotInDomain {
        /// What needed the domain (the command or the account named).
        subject: String,
    },
    /// An account cannot be deleted while a service logs on as it.
    #[error("the service {service} logs on as {account}")]
    AccountInUse {
        /// The account, qualified.
        account: String,
        /// The service.
        service: String,
    },
    /// The service the command needs is not installed.
    #[error("{service} is not installed")]
    NotInstalled {
        /// The service.
        service: String,
    },
    /// The stored world has another layout version than this build reads.
    #[error("the world state has format {found}; this adsync-sim reads format {supported} only")]
    StateFormat {
        /// The stored version.
        found: u32,
        /// [`STATE_FORMAT`].
        supported: u32,
    },
    /// A stored value is not what its field holds (an edited or damaged state).
    #[error("the world state is damaged: {field} is '{value}', which is not {expected}")]
    BadValue {
        /// The field, as stored (`rng_pos`, `mms_server_configuration.keyset_id`).
        field: String,
        /// The stored value.
        value: String,
        /// What the field must hold.
        expected: String,
    },
    /// Stored bytes are not hexadecimal.
    #[error("the world state is damaged: {what} at {path} is not hex")]
    BadHex {
        /// What the bytes are.
        what: String,
        /// Where they are kept (the artefact's path).
        path: String,
    },
    /// A stored structure does not parse.
    #[error("the world state is damaged: {what} does not parse{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    BadFormat {
        /// What was read.
        what: String,
        /// The parser's reason, when it gives one.
        reason: Option<String>,
    },
    /// An LSA secret the world needs is not stored.
    #[error("the world state is damaged: the secret {name} is missing")]
    MissingSecret {
        /// The secret's name (`DPAPI_SYSTEM`, `msDS-ManagedPassword:NAME`).
        name: String,
    },
    /// Something the state must hold is missing.
    #[error("the world state is damaged: {what} is missing")]
    Missing {
        /// What is missing.
        what: String,
    },
    /// DPAPI refused an operation on the world's own, healthy-by-construction artefacts.
    #[error("the world state is damaged: {what}: {source}")]
    Artefact {
        /// The operation and whose keys.
        what: String,
        /// DPAPI's error, with its code ([`DpapiError::win32`]).
        source: DpapiError,
    },
    /// A master key of the world's own stores could not be opened or changed.
    #[error("the world state is damaged: {what}: {source}")]
    MasterKey {
        /// The operation and whose keys.
        what: String,
        /// Why the master key did not open.
        source: crate::dpapi::masterkey::MasterKeyError,
    },
    /// A service the install starts did not start.
    #[error("the service {service} did not start at install: {text}")]
    InstallStart {
        /// The service.
        service: String,
        /// The Win32 code of the failed start.
        code: u32,
        /// What the start printed.
        text: String,
    },
    /// The scheduler ran more cycles in one advance than `check_advance` counted.
    #[error("the world state is damaged: the scheduler ran more than {max} cycles in one advance")]
    SchedulerRunaway {
        /// [`MAX_SYNC_CYCLES_PER_ADVANCE`].
        max: u64,
    },
    /// No such connector.
    #[error("no connector named '{name}'; the connectors are: {known}")]
    UnknownConnector {
        /// What was asked for.
        name: String,
        /// The connectors that exist.
        known: String,
    },
}

impl WorldError {
    /// What to do instead, apart from the message (as `hint:` after it), when there is one
    /// answer.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::BadOption { hint, .. } => hint.as_deref(),
            Self::AccountInUse { .. } => Some("delete the service first"),
            Self::StateFormat { .. } => Some(
                "use the adsync-sim that wrote this state, or replace the world with `init --force`",
            ),
            _ => None,
        }
    }

    /// The Windows (Win32 or HRESULT) code behind the error, when Windows gave one.
    pub fn win32(&self) -> Option<u32> {
        match self {
            Self::Artefact { source, .. } => Some(source.win32()),
            Self::InstallStart { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A damaged stored value of `field`.
    pub(crate) fn bad_value(
        field: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self::BadValue {
            field: field.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// Something the state must hold is missing.
    pub(crate) fn missing(what: impl Into<String>) -> Self {
        Self::Missing { what: what.into() }
    }

    /// An option or argument that is not acceptable, without a hint.
    pub(crate) fn bad_option(
        option: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::BadOption {
            option: option.into(),
            value: value.into(),
            reason: reason.into(),
            hint: None,
        }
    }
}

/// The live world: its state and the key that opens its sealed secrets.
#[derive(Debug, Clone)]
pub struct World {
    state: WorldState,
    sealer: Sealer,
    /// `state.rng_pos`, parsed once when the world is restored.
    rng_pos: u128,
    /// Whether `clock advance` repeats steady cycles instead of running each in full
    /// (`sync::steady`; the same world either way, so only tests turn it off).
    steady_shortcut: bool,
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

/// The stored position in the seed's stream: a damaged one is an error, never position 0 (which
/// would replay randomness already used).
fn rng_position(stored: &str) -> Result<u128, WorldError> {
    stored
        .parse()
        .map_err(|_| WorldError::bad_value("rng_pos", stored, "a decimal stream position"))
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
    /// Restores a world from its persisted state.
    pub fn from_state(state: WorldState, sealer: Sealer) -> Result<Self, WorldError> {
        if state.format != STATE_FORMAT {
            return Err(WorldError::StateFormat {
                found: state.format,
                supported: STATE_FORMAT,
            });
        }
        let rng_pos = rng_position(&state.rng_pos)?;
        if let Some(Program::Engine(e)) = state.programs.get(ADSYNC_SERVICE) {
            let id = e.server.keyset_id;
            if crate::adsync::keyset::keyset_number(id).is_none() {
                return Err(WorldError::bad_value(
                    "mms_server_configuration.keyset_id",
                    id.to_string(),
                    format!(
                        "a keyset id from 1 to {}",
                        crate::adsync::keyset::MAX_KEYSET_ID
                    ),
                ));
            }
        }
        Ok(Self {
            state,
            sealer,
            rng_pos,
            steady_shortcut: true,
        })
    }

    /// Runs every scheduled cycle of a `clock advance` in full instead of repeating a steady
    /// one (`sync::steady`): the same world, more slowly. For tests that check exactly that.
    #[doc(hidden)]
    pub fn run_every_cycle_in_full(&mut self) {
        self.steady_shortcut = false;
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
        r.set_word_pos(self.rng_pos);
        Stream(r)
    }

    fn save_rng(&mut self, rng: &Stream) {
        self.rng_pos = rng.0.get_word_pos();
        self.state.rng_pos = self.rng_pos.to_string();
    }

    fn put_secret(&mut self, name: &str, value: &[u8]) {
        let sealed = self.sealer.seal(name, value);
        self.state.lsa.secrets.insert(name.to_owned(), sealed);
    }

    fn secret(&self, name: &str) -> Result<Option<SecretBytes>, WorldError> {
        match self.state.lsa.secrets.get(name) {
            None => Ok(None),
            Some(s) => Ok(Some(self.sealer.open(name, s)?)),
        }
    }

    fn write_event(&mut self, out: &mut Outcome, e: NewEvent) {
        let rec = self.state.events.write(self.state.clock, e);
        out.events.push(rec);
    }

    /// Runs one command as one transaction ([`World::atomically`]): a command the world refuses
    /// changes nothing, whichever step refused it.
    pub fn exec(&mut self, command: &Command) -> Result<Outcome, WorldError> {
        if command.mutates() {
            self.atomically(|w| w.apply(command))
        } else {
            self.apply(command)
        }
    }

    fn apply(&mut self, command: &Command) -> Result<Outcome, WorldError> {
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
            Command::AccountPolicy { name, change } => self.account_policy(name, *change),
            Command::NetAccounts { lockout_threshold } => {
                self.set_lockout_threshold(*lockout_threshold)
            }
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
}

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;
