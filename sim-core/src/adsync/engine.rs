//! The Synchronization Service engine (`miiserver.exe`) as a service program: what it keeps at
//! rest (the server configuration, the keyset where its build keeps it, the connectors, the
//! scheduler) and what it does when the SCM starts it.
//!
//! Follows `docs/adsync.md` §3.2 (where each era keeps the keyset and how it is protected),
//! §3.5 (`KeyManager.LoadKeySet(entropy, instanceId, keySetId)`: the engine loads and decrypts
//! the keyset at start), §4 F2 and the seeds "Azure AD Connect sync: How to manage the encryption key" (2017-03-26) and
//! 2023-change-adsync-service-account-password.md (Application event 6028 and the
//! service-specific error when the key cannot be accessed), and §5.1 (`miiskmu /a`: a new
//! keyset is made at the next start).

use crate::dpapi::secret::SecretBytes;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::build::{Build, KeysetEra};
use super::connector::ManagementAgent;
use super::keyset::Keyset;
use super::run::Scheduler;
use crate::dpapi::api::{CRYPTPROTECT_SYSTEM, CRYPTPROTECT_UI_FORBIDDEN, ProtectFlags};
use crate::dpapi::blob::Blob;
use crate::dpapi::credential::{
    CRED_PERSIST_LOCAL_MACHINE, Credential as StoredCredential, LOCAL_BLOB_DESCRIPTION,
};
use crate::dpapi::credfile::CredentialFile;
use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::scm::{HostFailure, ServiceFailure, ServiceHost, ServiceProgram, StartFailure};

use super::text::{
    ADSYNC_SOURCE, EVENT_6028_ID, EVENT_6028_TEXT, KEYSET_SERVICE_ERROR_TEXT,
    KEYSET_SERVICE_EXIT_CODE,
};

/// Where ≤1.1.443 builds keep their user-scope keyset blob. Named choice: the location is not
/// public (`docs/adsync.md` §3.2 UNK), so the simulator keeps it where the next era keeps
/// its blob, `HKLM\SOFTWARE\Microsoft\Ad Sync\Shared\<keyset_id>`; only the protection differs
/// (user scope of the service account, which is what the 2017 docs describe).
pub const LEGACY_KEYSET_LOCATION: &str = REGISTRY_KEYSET_KEY;
/// The registry key of 1.1.484–1.3.x keysets (`docs/adsync.md` §3.2); the value is the
/// key's default value under the subkey named by `keyset_id`.
pub const REGISTRY_KEYSET_KEY: &str = "HKLM\\SOFTWARE\\Microsoft\\Ad Sync\\Shared";
/// The Credential Manager folder of the service account (`docs/adsync.md` §3.2).
pub const CREDENTIALS_FOLDER: &str = "AppData/Local/Microsoft/Credentials";
pub use super::keyset::CREDENTIAL_USER_NAME as KEYSET_CREDENTIAL_USER;
/// The keyset id a new install gets (`docs/adsync.md` §3.1: a public sample shows 1).
pub const INITIAL_KEYSET_ID: u32 = 1;
/// What the engine's process memory holds the keyset under.
pub const MEMORY_KEYSET: &str = "keyset";

/// `mms_server_configuration` (`docs/adsync.md` §3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfiguration {
    /// `keyset_id`.
    pub keyset_id: u32,
    /// `instance_id`: names the keyset.
    pub instance_id: uuid::Uuid,
    /// `entropy`: its `Guid.ToByteArray()` bytes are the DPAPI entropy.
    pub entropy: uuid::Uuid,
}

impl ServerConfiguration {
    /// The DPAPI entropy: the GUID's .NET byte order (`docs/adsync.md` §3.1).
    pub fn entropy_bytes(&self) -> [u8; 16] {
        self.entropy.to_bytes_le()
    }
}

/// The keyset at rest, where the build keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoredKeyset {
    /// None: a new install, or `miiskmu /a` abandoned it. The next start makes a new one.
    None,
    /// ≤1.1.443: a user-scope DPAPI blob of the service account (hex).
    UserBlob {
        /// The blob, hex.
        blob: String,
    },
    /// 1.1.484–1.3.x: the registry value, a machine-scope blob (hex).
    Registry {
        /// The blob, hex.
        blob: String,
    },
    /// ≥1.4: a Credential Manager file of the service account.
    CredentialFile {
        /// The file's name (32 hex digits, as Windows names them).
        name: String,
        /// The file, hex.
        bytes: String,
        /// The machine-scope blob inside the credential, kept again at the registry era's
        /// location (hex) in a world that follows the seed articles, from which the engine
        /// re-protects the credential after the service account's password was reset (see
        /// [`Engine::keyset_follows_dpapi`]). `None` where the world follows DPAPI alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        machine_copy: Option<String>,
        /// The SID of the account the credential belongs to. The copy serves only that account:
        /// the 2023 article supports changing the password, not the account ("you cannot
        /// change the account used"), so after a switch the keyset stays unreadable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
}

/// The engine at rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    /// The installed build.
    pub build: Build,
    /// `mms_server_configuration`.
    pub server: ServerConfiguration,
    /// The keyset at rest.
    pub keyset: StoredKeyset,
    /// `mms_management_agent`, in creation order.
    pub agents: Vec<ManagementAgent>,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Named, opt-in departure from the seed articles (`init --keyset-follows-dpapi`, a
    /// scenario's `[world] keyset_follows_dpapi = true`): the keyset survives or breaks exactly
    /// as DPAPI decides.
    ///
    /// Off (the default), the world follows the 2023 article's Important notes
    /// ([`crate::sources::ARTICLE_2023`], introduction and 'Abandoning the ADSync service
    /// account encryption key'): from April 2017 (1.1.484.0) "it is supported to change the
    /// password on the service account" and the key is "handled by Microsoft Entra Connect
    /// itself", so on a Credential Manager build the engine re-protects its keyset when the
    /// service account's password was reset (how the product does it is not public: the
    /// simulator keeps the credential's machine-scope blob also at the registry era's location,
    /// INF); up to March 2017 (1.1.443.0) "you should not reset the password on the service
    /// account since Windows destroys the encryption keys", for every kind of account, so the
    /// engine reads its keyset with the password alone, without the domain backup key.
    ///
    /// On, DPAPI alone decides (`docs/adsync.md` §6 'Change vs reset', INF; `docs/dpapi.md` §4,
    /// RE): a local account's reset loses the Credential Manager layer on 1.4.18.0 and later
    /// (event 6028), and a domain account recovers its master keys through a reachable DC's
    /// backup key (MS-BKRP) on every build.
    #[serde(default)]
    pub keyset_follows_dpapi: bool,
    /// The SID of the account whose Windows login owns the engine's database: the account the
    /// service was installed with (`super::database`). `None` in a world saved before the login
    /// was modelled (no check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_owner: Option<String>,
}

/// The line `status` adds when a world departs from the seed articles.
pub const KEYSET_FOLLOWS_DPAPI_STATUS: &str = "Option keyset-follows-dpapi (INF/RE, departs from the 2023 article): the keyset survives or breaks as DPAPI alone decides";

/// Why the keyset could not be loaded: DPAPI refused or the bytes are not a keyset (never
/// shown to users beyond event 6028), or the host failed under the engine (`E`, its error).
#[derive(Debug)]
enum LoadError<E> {
    Dpapi,
    Format,
    Host(E),
}

impl<E> From<HostFailure<E>> for LoadError<E> {
    fn from(f: HostFailure<E>) -> Self {
        match f {
            HostFailure::Dpapi(_) => Self::Dpapi,
            HostFailure::Host(e) => Self::Host(e),
        }
    }
}

impl Engine {
    /// The DPAPI description of the keyset blob (`docs/adsync.md` §3.2).
    pub fn keyset_description(&self) -> String {
        super::keyset::dpapi_description(self.server.instance_id, self.server.keyset_id)
    }

    /// `KeyManager.LoadKeySet`: the keyset from where the build keeps it, and whether it was
    /// read from the machine-scope copy because the Credential Manager layer no longer opens.
    fn load<E>(
        &self,
        host: &mut dyn ServiceHost<Error = E>,
    ) -> Result<Option<(Keyset, bool)>, LoadError<E>> {
        let entropy = self.server.entropy_bytes();
        let mut from_copy = false;
        let bytes = match &self.keyset {
            StoredKeyset::None => return Ok(None),
            StoredKeyset::UserBlob { blob } => {
                let blob = hex::decode(blob).map_err(|_| LoadError::Format)?;
                if self.keyset_follows_dpapi {
                    host.unprotect(&blob, &entropy)
                } else {
                    host.unprotect_without_backup_key(&blob, &entropy)
                }?
            }
            StoredKeyset::Registry { blob } => {
                let blob = hex::decode(blob).map_err(|_| LoadError::Format)?;
                host.unprotect_machine(&blob, &entropy)?
            }
            StoredKeyset::CredentialFile {
                bytes,
                machine_copy,
                owner,
                ..
            } => match Self::read_credential(host, bytes, &entropy) {
                Ok(plain) => plain,
                Err(LoadError::Host(e)) => return Err(LoadError::Host(e)),
                Err(e) => {
                    let same_account = owner.as_deref() == Some(host.account_sid().as_str());
                    let Some(copy) = machine_copy
                        .as_ref()
                        .filter(|_| !self.keyset_follows_dpapi && same_account)
                    else {
                        return Err(e);
                    };
                    from_copy = true;
                    let blob = hex::decode(copy).map_err(|_| LoadError::Format)?;
                    host.unprotect_machine(&blob, &entropy)?
                }
            },
        };
        let keyset = Keyset::parse(&bytes).map_err(|_| LoadError::Format)?;
        if keyset.instance_id() != self.server.instance_id {
            return Err(LoadError::Format);
        }
        Ok(Some((keyset, from_copy)))
    }

    /// `CredRead` of the keyset credential as the service account (the outer, user-scope
    /// layer), then the machine-scope blob inside it with the database entropy.
    fn read_credential<E>(
        host: &mut dyn ServiceHost<Error = E>,
        bytes: &str,
        entropy: &[u8],
    ) -> Result<SecretBytes, LoadError<E>> {
        let file = hex::decode(bytes).map_err(|_| LoadError::Format)?;
        let file = CredentialFile::parse(&file).map_err(|_| LoadError::Format)?;
        let plain = host.unprotect(&file.blob.to_bytes(), &[])?;
        let cred = StoredCredential::parse(&plain).map_err(|_| LoadError::Format)?;
        Ok(host.unprotect_machine(&cred.secret, entropy)?)
    }

    /// `CredWrite` of the keyset credential: `inner` (the machine-scope blob) wrapped as the
    /// service account, under the file name `name` (a new random one when `None`, drawn after
    /// the protection, as a new install always drew it).
    fn write_credential<E>(
        &self,
        host: &mut dyn ServiceHost<Error = E>,
        inner: &[u8],
        name: Option<String>,
    ) -> Result<StoredKeyset, LoadError<E>> {
        let target =
            super::keyset::credential_target(self.server.instance_id, self.server.keyset_id);
        let cred = StoredCredential::generic(
            &target,
            KEYSET_CREDENTIAL_USER,
            inner,
            CRED_PERSIST_LOCAL_MACHINE,
            host.now(),
        );
        // CredWrite: the credential is protected as the account, with the flags Credential
        // Manager blobs carry (`docs/dpapi.md` §2.4).
        let flags = ProtectFlags(CRYPTPROTECT_SYSTEM | CRYPTPROTECT_UI_FORBIDDEN);
        let outer = host.protect(&cred.to_bytes(), &[], LOCAL_BLOB_DESCRIPTION, flags)?;
        let blob = Blob::parse(&outer).map_err(|_| LoadError::Format)?;
        let name = name.unwrap_or_else(|| {
            let mut n = [0u8; 16];
            host.random(&mut n);
            hex::encode_upper(n)
        });
        Ok(StoredKeyset::CredentialFile {
            name,
            bytes: hex::encode(CredentialFile::new(blob).to_bytes()),
            machine_copy: (!self.keyset_follows_dpapi).then(|| hex::encode(inner)),
            owner: (!self.keyset_follows_dpapi).then(|| host.account_sid()),
        })
    }

    /// After the Credential Manager layer no longer opened (the service account's password was
    /// reset) and the keyset came from the machine-scope copy: protect the credential again
    /// under the account's current password, as the product "handles it itself". When DPAPI
    /// cannot protect now (a domain account whose new master key needs a DC), the stored
    /// credential stays and the next start reads the copy again. Only the host's own failure
    /// is an error.
    fn reprotect_credential<E>(&mut self, host: &mut dyn ServiceHost<Error = E>) -> Result<(), E> {
        let StoredKeyset::CredentialFile {
            name,
            machine_copy: Some(copy),
            ..
        } = &self.keyset
        else {
            return Ok(());
        };
        let Ok(inner) = hex::decode(copy) else {
            return Ok(());
        };
        match self.write_credential(host, &inner, Some(name.clone())) {
            Ok(k) => self.keyset = k,
            Err(LoadError::Host(e)) => return Err(e),
            Err(LoadError::Dpapi | LoadError::Format) => {}
        }
        Ok(())
    }

    /// Makes a new keyset and stores it where the build keeps it.
    fn create<E>(&mut self, host: &mut dyn ServiceHost<Error = E>) -> Result<Keyset, LoadError<E>> {
        let mut seed = Zeroizing::new([0u8; 32]);
        host.random(&mut *seed);
        let mut rng = ChaCha20Rng::from_seed(*seed);
        // An id no keyset can carry: the engine cannot make its keyset (a restored world refuses
        // such an id before any start; see `World::from_state`).
        let keyset = Keyset::generate(&mut rng, self.server.instance_id, self.server.keyset_id)
            .map_err(|_| LoadError::Format)?;
        let bytes = keyset.to_bytes();
        let entropy = self.server.entropy_bytes();
        let description = self.keyset_description();
        self.keyset = match self.build.keyset_era() {
            KeysetEra::UserDpapi => {
                let flags = ProtectFlags(CRYPTPROTECT_UI_FORBIDDEN);
                let blob = host.protect(&bytes, &entropy, &description, flags)?;
                StoredKeyset::UserBlob {
                    blob: hex::encode(blob),
                }
            }
            KeysetEra::Registry => {
                let blob = host.protect_machine(&bytes, &entropy, &description)?;
                StoredKeyset::Registry {
                    blob: hex::encode(blob),
                }
            }
            KeysetEra::CredentialManager => {
                let inner = host.protect_machine(&bytes, &entropy, &description)?;
                self.write_credential(host, &inner, None)?
            }
        };
        Ok(keyset)
    }
}

impl<E> ServiceProgram<E> for Engine {
    fn start(&mut self, host: &mut dyn ServiceHost<Error = E>) -> Result<(), StartFailure<E>> {
        let loaded = match self.load(host) {
            Ok(Some((k, from_copy))) => {
                if from_copy {
                    self.reprotect_credential(host)
                        .map_err(StartFailure::Host)?;
                }
                Ok(k)
            }
            Ok(None) => self.create(host),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(keyset) => {
                // The keyset read, the engine opens its database with the account's login: an
                // account switched after the install has none (`docs/adsync.md` §4 F10).
                if self
                    .database_owner
                    .as_ref()
                    .is_some_and(|owner| *owner != host.account_sid())
                {
                    return Err(StartFailure::Service(super::database::login_failed()));
                }
                host.retain(MEMORY_KEYSET, &keyset.to_bytes());
                Ok(())
            }
            Err(LoadError::Host(e)) => Err(StartFailure::Host(e)),
            Err(LoadError::Dpapi | LoadError::Format) => {
                Err(StartFailure::Service(keyset_unreadable(host)))
            }
        }
    }
}

/// What ADSync does when it cannot read its keyset: Application event 6028, then a stop with the
/// documented service-specific error.
pub fn keyset_unreadable<E>(host: &mut dyn ServiceHost<Error = E>) -> ServiceFailure {
    host.write_event(NewEvent {
        log: LogName::Application,
        source: ADSYNC_SOURCE,
        id: EVENT_6028_ID,
        level: Level::Error,
        message: EVENT_6028_TEXT.into(),
    });
    ServiceFailure {
        code: KEYSET_SERVICE_EXIT_CODE,
        code_text: KEYSET_SERVICE_ERROR_TEXT.into(),
    }
}
