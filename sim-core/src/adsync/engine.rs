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
use crate::win::scm::{ServiceFailure, ServiceHost, ServiceProgram};

pub use crate::probe::{
    EVENT_6028_ID, EVENT_6028_TEXT, KEYSET_SERVICE_ERROR_TEXT, KEYSET_SERVICE_EXIT_CODE,
    keyset_unreadable,
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
}

/// Why the keyset could not be loaded (never shown to users beyond event 6028).
#[derive(Debug)]
enum LoadError {
    Dpapi,
    Format,
}

impl Engine {
    /// The DPAPI description of the keyset blob (`docs/adsync.md` §3.2).
    pub fn keyset_description(&self) -> String {
        super::keyset::dpapi_description(self.server.instance_id, self.server.keyset_id)
    }

    /// `KeyManager.LoadKeySet`: the keyset from where the build keeps it.
    fn load(&self, host: &mut dyn ServiceHost) -> Result<Option<Keyset>, LoadError> {
        let entropy = self.server.entropy_bytes();
        let bytes = match &self.keyset {
            StoredKeyset::None => return Ok(None),
            StoredKeyset::UserBlob { blob } => {
                let blob = hex::decode(blob).map_err(|_| LoadError::Format)?;
                host.unprotect(&blob, &entropy)
                    .map_err(|_| LoadError::Dpapi)?
            }
            StoredKeyset::Registry { blob } => {
                let blob = hex::decode(blob).map_err(|_| LoadError::Format)?;
                host.unprotect_machine(&blob, &entropy)
                    .map_err(|_| LoadError::Dpapi)?
            }
            StoredKeyset::CredentialFile { bytes, .. } => {
                let file = hex::decode(bytes).map_err(|_| LoadError::Format)?;
                let file = CredentialFile::parse(&file).map_err(|_| LoadError::Format)?;
                // CredRead as the service account: the outer, user-scope layer.
                let plain = host
                    .unprotect(&file.blob.to_bytes(), &[])
                    .map_err(|_| LoadError::Dpapi)?;
                let cred = StoredCredential::parse(&plain).map_err(|_| LoadError::Format)?;
                // The secret is the machine-scope blob with the database entropy.
                host.unprotect_machine(&cred.secret, &entropy)
                    .map_err(|_| LoadError::Dpapi)?
            }
        };
        let keyset = Keyset::parse(&bytes).map_err(|_| LoadError::Format)?;
        if keyset.instance_id() != self.server.instance_id {
            return Err(LoadError::Format);
        }
        Ok(Some(keyset))
    }

    /// Makes a new keyset and stores it where the build keeps it.
    fn create(&mut self, host: &mut dyn ServiceHost) -> Result<Keyset, LoadError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        host.random(&mut *seed);
        let mut rng = ChaCha20Rng::from_seed(*seed);
        let keyset = Keyset::generate(&mut rng, self.server.instance_id, self.server.keyset_id);
        let bytes = keyset.to_bytes();
        let entropy = self.server.entropy_bytes();
        let description = self.keyset_description();
        self.keyset = match self.build.keyset_era() {
            KeysetEra::UserDpapi => {
                let flags = ProtectFlags(CRYPTPROTECT_UI_FORBIDDEN);
                let blob = host
                    .protect(&bytes, &entropy, &description, flags)
                    .map_err(|_| LoadError::Dpapi)?;
                StoredKeyset::UserBlob {
                    blob: hex::encode(blob),
                }
            }
            KeysetEra::Registry => {
                let blob = host
                    .protect_machine(&bytes, &entropy, &description)
                    .map_err(|_| LoadError::Dpapi)?;
                StoredKeyset::Registry {
                    blob: hex::encode(blob),
                }
            }
            KeysetEra::CredentialManager => {
                let inner = host
                    .protect_machine(&bytes, &entropy, &description)
                    .map_err(|_| LoadError::Dpapi)?;
                let target = super::keyset::credential_target(
                    self.server.instance_id,
                    self.server.keyset_id,
                );
                let cred = StoredCredential::generic(
                    &target,
                    KEYSET_CREDENTIAL_USER,
                    &inner,
                    CRED_PERSIST_LOCAL_MACHINE,
                    host.now(),
                );
                // CredWrite: the credential is protected as the account, with the flags
                // Credential Manager blobs carry (`docs/dpapi.md` §2.4).
                let flags = ProtectFlags(CRYPTPROTECT_SYSTEM | CRYPTPROTECT_UI_FORBIDDEN);
                let outer = host
                    .protect(&cred.to_bytes(), &[], LOCAL_BLOB_DESCRIPTION, flags)
                    .map_err(|_| LoadError::Dpapi)?;
                let blob = Blob::parse(&outer).map_err(|_| LoadError::Format)?;
                let mut name = [0u8; 16];
                host.random(&mut name);
                StoredKeyset::CredentialFile {
                    name: hex::encode_upper(name),
                    bytes: hex::encode(CredentialFile::new(blob).to_bytes()),
                }
            }
        };
        Ok(keyset)
    }
}

impl ServiceProgram for Engine {
    fn start(&mut self, host: &mut dyn ServiceHost) -> Result<(), ServiceFailure> {
        let loaded = match self.load(host) {
            Ok(Some(k)) => Ok(k),
            Ok(None) => self.create(host),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(keyset) => {
                host.retain(MEMORY_KEYSET, &keyset.to_bytes());
                Ok(())
            }
            Err(_) => Err(keyset_unreadable(host)),
        }
    }
}
