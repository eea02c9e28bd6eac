//! What the running engine holds in memory: the keyset it opened at start and the connector
//! credentials it decrypted, sealed at rest and cleared when the service stops.
//!
//! Follows `docs/adsync.md` §3.5 (the engine decrypts connector credentials when a run starts and
//! caches them until the service restarts).

use crate::dpapi::secret::SecretBytes;

use crate::adsync::engine::{Engine, MEMORY_KEYSET};
use crate::adsync::keyset::Keyset;
use crate::win::scm::ServiceState;
use crate::world::{ADSYNC_SERVICE, World, WorldError};

impl World {
    /// The engine at rest.
    pub fn engine(&self) -> Result<&Engine, WorldError> {
        match self.state.programs.get(ADSYNC_SERVICE) {
            Some(crate::world::Program::Engine(e)) => Ok(e),
            _ => Err(WorldError::NotInstalled {
                service: ADSYNC_SERVICE.into(),
            }),
        }
    }

    pub(in crate::world) fn engine_mut(&mut self) -> Result<&mut Engine, WorldError> {
        match self.state.programs.get_mut(ADSYNC_SERVICE) {
            Some(crate::world::Program::Engine(e)) => Ok(e),
            _ => Err(WorldError::NotInstalled {
                service: ADSYNC_SERVICE.into(),
            }),
        }
    }

    pub(in crate::world) fn adsync_running(&self) -> bool {
        self.service_index(ADSYNC_SERVICE)
            .is_some_and(|i| self.state.services[i].state == ServiceState::Running)
    }

    /// Keeps a secret in a running service's memory (sealed at rest).
    pub(in crate::world) fn memory_put(&mut self, service: &str, name: &str, value: &[u8]) {
        let key = memory_key(service, name);
        let sealed = self.sealer.seal(&key, value);
        self.state.memory.insert(key, sealed);
    }

    pub(in crate::world) fn memory_get(
        &self,
        name: &str,
    ) -> Result<Option<SecretBytes>, WorldError> {
        let key = memory_key(ADSYNC_SERVICE, name);
        match self.state.memory.get(&key) {
            None => Ok(None),
            Some(s) => Ok(Some(self.sealer.open(&key, s)?)),
        }
    }

    /// A service's process ended: its memory is gone.
    pub(in crate::world) fn clear_memory(&mut self, service: &str) {
        let prefix = memory_key(service, "");
        self.state.memory.retain(|k, _| !k.starts_with(&prefix));
    }

    pub(in crate::world) fn memory_keyset(&self) -> Result<Option<Keyset>, WorldError> {
        match self.memory_get(MEMORY_KEYSET)? {
            None => Ok(None),
            Some(b) => Keyset::parse(&b)
                .map(Some)
                .map_err(|e| WorldError::BadFormat {
                    what: "the running engine's keyset".into(),
                    reason: Some(e.to_string()),
                }),
        }
    }
}

/// Where a running service's secret lives in [`crate::world::WorldState::memory`].
pub(super) fn memory_key(service: &str, name: &str) -> String {
    format!("memory:{service}:{name}")
}

/// Where the engine keeps a connector's decrypted password.
pub(super) fn credential_memory(ma_name: &str) -> String {
    format!("credential:{ma_name}")
}
