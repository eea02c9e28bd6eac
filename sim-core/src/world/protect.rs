//! DPAPI stores at rest: loading and saving an account's `Protect` folder, the machine store
//! under `System32\Microsoft\Protect\S-1-5-18`, and machine-scope protect and unprotect.
//!
//! Follows `docs/dpapi.md` §3 (the machine store and `DPAPI_SYSTEM`).

use crate::dpapi::secret::SecretBytes;

use super::{Stream, World, WorldError};
use crate::dpapi::api::{DpapiError, ProtectFlags};
use crate::dpapi::prekey::{Credential, DpapiSystem};
use crate::dpapi::sid::Sid;
use crate::dpapi::store::{ProtectStore, StoreKind};
use crate::win::account::StoredProtect;
use crate::win::lsa::DPAPI_SYSTEM;

impl World {
    /// The machine's `DPAPI_SYSTEM` secret.
    pub fn dpapi_system(&self) -> Result<DpapiSystem, WorldError> {
        let bytes = self
            .secret(DPAPI_SYSTEM)?
            .ok_or_else(|| WorldError::MissingSecret {
                name: DPAPI_SYSTEM.into(),
            })?;
        DpapiSystem::parse(&bytes).map_err(|e| WorldError::BadFormat {
            what: format!("the secret {DPAPI_SYSTEM}"),
            reason: Some(e.to_string()),
        })
    }

    pub(in crate::world) fn load_store(&self, idx: usize) -> Result<ProtectStore, WorldError> {
        let a = &self.state.accounts[idx];
        a.protect
            .restore(&a.sid(), a.kind.store_kind())
            .ok_or_else(|| WorldError::BadFormat {
                what: format!("the Protect folder of {}", a.qualified_name()),
                reason: None,
            })
    }

    pub(in crate::world) fn save_store(&mut self, idx: usize, store: &ProtectStore) {
        self.state.accounts[idx].protect = StoredProtect::capture(store);
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

    pub(in crate::world) fn protect_machine_with(
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
            .map_err(|source| WorldError::Artefact {
                what: "CryptProtectData with the machine's keys".into(),
                source,
            })?;
        self.state.machine_store = StoredProtect::capture(&store);
        Ok(blob)
    }

    /// `CryptUnprotectData` of a `LOCAL_MACHINE` blob on this machine.
    pub fn unprotect_machine(
        &self,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<Result<SecretBytes, DpapiError>, WorldError> {
        let cred = Credential::system_machine(&self.dpapi_system()?);
        Ok(self
            .machine_store()?
            .unprotect(&cred, blob, entropy)
            .map(|(_, p)| p))
    }

    pub(in crate::world) fn machine_store(&self) -> Result<ProtectStore, WorldError> {
        self.state
            .machine_store
            .restore(&Sid::local_system(), StoreKind::System)
            .ok_or_else(|| WorldError::BadFormat {
                what: "the S-1-5-18 DPAPI store".into(),
                reason: None,
            })
    }
}
