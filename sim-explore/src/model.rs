//! The reference model: a small abstract state machine of booleans and version counters that
//! predicts the result code of every action and the connectors' last run statuses, from the
//! rules the sources state (docs/sources.md, docs/adsync.md) — not from the world's code:
//!
//! - the SCM logs the service on only with the account's current password (2023 article,
//!   'Issues that arise from changing the password'; managed and virtual accounts always);
//! - a reset leaves the account's master keys under the old password, a change re-wraps them
//!   with CREDHIST (`docs/dpapi.md` §4); a domain account recovers them through a reachable DC
//!   (MS-BKRP), and a domain account's new master key needs one (§3.1);
//! - where the keyset lives decides whether that matters: user DPAPI up to 1.1.443.0 and in
//!   Credential Manager from 1.4.18.0, machine DPAPI in the registry in between
//!   (`docs/adsync.md` §3.2);
//! - unless the world option `keyset_follows_dpapi` is on, the 2023 article outranks DPAPI: a
//!   reset up to 1.1.443.0 destroys the keys with no recovery through the DC, and from
//!   1.1.484.0 a reset is supported (the engine protects its Credential Manager keyset again);
//! - `miiskmu /a` refuses while the service runs (80131600, §4 F6) and makes the next start
//!   create a new keyset, under which no stored credential decrypts (§5.1);
//! - runs decrypt a connector's stored password at their first connect and keep it until the
//!   service stops (2017-change-ad-ds-account-password.md step 8); AD DS refuses a wrong one
//!   (no-start-credentials), Entra an outdated one (stopped-server-down);
//! - the scheduler runs a delta cycle every 30 minutes while the service runs.

use serde::{Deserialize, Serialize};

use sim_core::adsync::build::{Build, KeysetEra};
use sim_core::win::text::win32;
use sim_core::world::ServiceAccountKind;

/// The builds exploration installs, one per keyset era and service-account default.
pub const BUILDS: [&str; 4] = ["1.1.443.0", "1.1.484.0", "1.4.18.0", "2.5.76.0"];

/// Hours after which a master key is no longer preferred for new protections (90 days,
/// `docs/dpapi.md` §3.1).
const MASTER_KEY_HOURS: u64 = 90 * 24;

/// What `init` chooses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// The ADSync build.
    pub build: String,
    /// The service account kind.
    pub kind: ServiceAccountKind,
    /// The opt-in world option `keyset_follows_dpapi` (the default follows the 2023 article).
    #[serde(default)]
    pub keyset_follows_dpapi: bool,
}

impl Setup {
    /// The keyset era of the build.
    pub fn era(&self) -> KeysetEra {
        self.build
            .parse::<Build>()
            .map_or(KeysetEra::CredentialManager, Build::keyset_era)
    }

    /// Whether the service account has a password an administrator sets.
    pub fn has_password(&self) -> bool {
        matches!(
            self.kind,
            ServiceAccountKind::Local | ServiceAccountKind::Domain
        )
    }

    /// Whether its master keys live in the domain (recovery and new keys need a DC).
    pub fn domain_keys(&self) -> bool {
        matches!(
            self.kind,
            ServiceAccountKind::Domain | ServiceAccountKind::Gmsa | ServiceAccountKind::Smsa
        )
    }
}

/// One administrator action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// `account reset SA --password P`.
    ResetServiceAccount,
    /// `account change SA --old CURRENT --new P`.
    ChangeServiceAccount,
    /// `sc config ADSync password= CURRENT`.
    ScConfigCurrent,
    /// `sc config ADSync password= WRONG`.
    ScConfigWrong,
    /// `sc start ADSync`.
    ScStart,
    /// `sc stop ADSync`.
    ScStop,
    /// `./miiskmu.exe /a`.
    Miiskmu,
    /// `account reset MSOL --password P`.
    ResetMsol,
    /// `connector set-password FOREST --password CURRENT-MSOL`.
    SetAdConnectorPassword,
    /// `Set-MsolUserPassword -UserPrincipalName Sync_… -NewPassword P`.
    CloudResetSync,
    /// `Add-ADSyncAADServiceAccount -AADCredential GA`.
    AddAadServiceAccount,
    /// `Start-ADSyncSyncCycle -PolicyType Delta`.
    SyncCycle,
    /// `clock advance Nh`.
    ClockAdvance {
        /// Hours.
        hours: u32,
    },
    /// `dc disconnect`.
    DcDisconnect,
    /// `dc connect`.
    DcConnect,
}

/// A password version the SCM holds that is nobody's password.
const WRONG: u32 = u32::MAX;

/// A connector's credential as the model tracks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cred {
    /// The version of the account's password where it authenticates.
    pub actual: u32,
    /// The version stored in the engine and the keyset generation it is encrypted under.
    pub stored: Option<(u32, u32)>,
    /// The version the running engine caches.
    pub cache: Option<u32>,
    /// The last run status.
    #[serde(skip)]
    pub last: Option<&'static str>,
}

/// The reference state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// The install.
    pub setup: Setup,
    /// Actions applied so far (names new passwords).
    pub step: u32,
    /// Whether ADSync runs.
    pub running: bool,
    /// The service account's password version.
    pub sa_pw: u32,
    /// The version the SCM holds.
    pub scm_pw: u32,
    /// Whether the account's master keys open with its current password.
    pub keys_open: bool,
    /// Hours since its preferred master key was made.
    pub preferred_age: u64,
    /// Whether a writable DC answers.
    pub dc: bool,
    /// The keyset generation.
    pub keyset_gen: u32,
    /// Whether `miiskmu /a` abandoned the keyset (a new one at the next start).
    pub abandoned: bool,
    /// The AD DS connector.
    pub ad: Cred,
    /// The Entra connector.
    pub entra: Cred,
    /// Whether a scheduled sync cycle is in progress: a `clock advance` of whole hours while
    /// the service runs ends on a scheduled cycle's start, and commands take no time.
    #[serde(default)]
    pub busy: bool,
}

/// `ERROR_SERVICE_ALREADY_RUNNING` (sc.exe on a running service).
pub const ALREADY_RUNNING: u32 = win32::SERVICE_ALREADY_RUNNING;
/// `ERROR_SERVICE_NOT_ACTIVE` (a stop, or a console or cmdlet, with the service stopped).
pub const NOT_ACTIVE: u32 = win32::SERVICE_NOT_ACTIVE;
/// `Start-ADSyncSyncCycle` while a cycle runs.
pub const CYCLE_BUSY: u32 = sim_core::world::CYCLE_BUSY_CODE;
/// `ERROR_SERVICE_LOGON_FAILED` (2023 article, "Error 1069").
pub const LOGON_FAILED: u32 = win32::SERVICE_LOGON_FAILED;
/// `ERROR_SERVICE_SPECIFIC_ERROR`, with event 6028 (2023 article).
pub const SPECIFIC: u32 = win32::SERVICE_SPECIFIC_ERROR;
/// `miiskmu /a` while the service runs (`docs/adsync.md` §4 F6).
pub const MIISKMU_RUNNING: u32 = sim_core::adsync::text::MIISKMU_RUNNING_CODE;

impl Model {
    /// A fresh install: the service running, every credential stored and valid.
    pub fn new(setup: Setup) -> Self {
        let cred = Cred {
            actual: 0,
            stored: Some((0, 0)),
            cache: None,
            last: None,
        };
        Self {
            setup,
            step: 0,
            running: true,
            sa_pw: 0,
            scm_pw: 0,
            keys_open: true,
            preferred_age: 0,
            dc: true,
            keyset_gen: 0,
            abandoned: false,
            ad: cred.clone(),
            entra: cred,
            busy: false,
        }
    }

    /// Whether `action` applies to this install (passwords only for accounts that have one).
    pub fn applicable(&self, action: &Action) -> bool {
        match action {
            Action::ResetServiceAccount
            | Action::ChangeServiceAccount
            | Action::ScConfigCurrent
            | Action::ScConfigWrong => self.setup.has_password(),
            _ => true,
        }
    }

    /// Whether the SCM can log the service on.
    pub fn logon_works(&self) -> bool {
        !self.setup.has_password() || self.scm_pw == self.sa_pw
    }

    /// Whether the stored keyset opens at a start (without changing anything).
    pub fn keyset_opens(&self) -> bool {
        if self.abandoned {
            return self.can_protect();
        }
        match (self.setup.era(), self.setup.keyset_follows_dpapi) {
            (KeysetEra::Registry, _) => true,
            // The 2023 article: from April 2017 a reset is supported, the product handles the
            // key itself.
            (KeysetEra::CredentialManager, false) => true,
            // The 2023 article: up to March 2017 a reset destroys the keys, domain or not.
            (KeysetEra::UserDpapi, false) => self.keys_open,
            // DPAPI alone: a domain account recovers through a reachable DC.
            (_, true) => self.keys_open || (self.setup.domain_keys() && self.dc),
        }
    }

    /// Whether a new user-DPAPI protection succeeds: the preferred key is current and opens,
    /// or a new one can be made.
    fn can_protect(&self) -> bool {
        self.setup.era() == KeysetEra::Registry
            || (self.keys_open && self.preferred_age < MASTER_KEY_HOURS)
            || !self.setup.domain_keys()
            || self.dc
    }

    fn start(&mut self) -> u32 {
        if self.running {
            return ALREADY_RUNNING;
        }
        if !self.logon_works() {
            return LOGON_FAILED;
        }
        if !self.keyset_opens() {
            return SPECIFIC;
        }
        if self.setup.era() != KeysetEra::Registry {
            // A new keyset needs a current preferred key that opens, else DPAPI makes one.
            if self.abandoned && !(self.keys_open && self.preferred_age < MASTER_KEY_HOURS) {
                self.preferred_age = 0;
            }
            if self.setup.era() == KeysetEra::CredentialManager
                && !self.setup.keyset_follows_dpapi
                && !self.abandoned
                && !self.keys_open
            {
                // The credential's outer layer opens only through the DC; otherwise the engine
                // reads its machine-scope copy and protects the credential again, which makes
                // a new master key when DPAPI can (a domain account's needs the DC).
                if self.setup.domain_keys() && self.dc {
                    self.keys_open = true;
                } else if self.can_protect() {
                    self.preferred_age = 0;
                    self.keys_open = true;
                }
            } else {
                // Either way the keys now open: made anew, or recovered through the DC and
                // re-protected under the current password.
                self.keys_open = true;
            }
        }
        if self.abandoned {
            self.abandoned = false;
            self.keyset_gen += 1;
        }
        self.running = true;
        0
    }

    fn stop(&mut self) {
        self.running = false;
        self.busy = false;
        self.ad.cache = None;
        self.entra.cache = None;
    }

    fn run_connector(c: &mut Cred, keyset_gen: u32, ad: bool) {
        if c.cache.is_none() {
            c.cache = c.stored.filter(|(_, g)| *g == keyset_gen).map(|(v, _)| v);
        }
        c.last = Some(match c.cache {
            Some(v) if v == c.actual => "success",
            None => "no-start-credentials",
            Some(_) if ad => "no-start-credentials",
            Some(_) => "stopped-server-down",
        });
    }

    fn cycle(&mut self) {
        Self::run_connector(&mut self.ad, self.keyset_gen, true);
        Self::run_connector(&mut self.entra, self.keyset_gen, false);
    }

    /// Applies an action and returns the result code the world must give.
    pub fn apply(&mut self, action: &Action) -> u32 {
        self.step += 1;
        let new = self.step;
        match action {
            Action::ResetServiceAccount => {
                self.sa_pw = new;
                self.keys_open = false;
                0
            }
            Action::ChangeServiceAccount => {
                self.sa_pw = new;
                0
            }
            Action::ScConfigCurrent => {
                self.scm_pw = self.sa_pw;
                0
            }
            Action::ScConfigWrong => {
                self.scm_pw = WRONG;
                0
            }
            Action::ScStart => self.start(),
            Action::ScStop => {
                if self.running {
                    if self.busy {
                        // The cycle's runs had not ended: the stop ends them.
                        for c in [&mut self.ad, &mut self.entra] {
                            if c.last.is_some() {
                                c.last = Some("stopped-server-down");
                            }
                        }
                    }
                    self.stop();
                    0
                } else {
                    NOT_ACTIVE
                }
            }
            Action::Miiskmu => {
                if self.running {
                    MIISKMU_RUNNING
                } else {
                    self.abandoned = true;
                    0
                }
            }
            Action::ResetMsol => {
                self.ad.actual = new;
                0
            }
            Action::SetAdConnectorPassword => {
                if !self.running {
                    return NOT_ACTIVE;
                }
                self.ad.stored = Some((self.ad.actual, self.keyset_gen));
                0
            }
            Action::CloudResetSync => {
                self.entra.actual = new;
                0
            }
            Action::AddAadServiceAccount => {
                if !self.running {
                    return NOT_ACTIVE;
                }
                self.entra.actual = new;
                self.entra.stored = Some((new, self.keyset_gen));
                self.entra.cache = Some(new);
                0
            }
            Action::SyncCycle => {
                if !self.running {
                    return NOT_ACTIVE;
                }
                if self.busy {
                    return CYCLE_BUSY;
                }
                // A typed cycle has ended before the next command (`world::sync::run_time`).
                self.cycle();
                0
            }
            Action::ClockAdvance { hours } => {
                self.preferred_age += u64::from(*hours);
                if self.running {
                    self.cycle();
                    self.busy = *hours > 0;
                }
                0
            }
            Action::DcDisconnect => {
                self.dc = false;
                0
            }
            Action::DcConnect => {
                self.dc = true;
                0
            }
        }
    }
}
