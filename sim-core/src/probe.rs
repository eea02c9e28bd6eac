//! The keyset probe: the smallest program that fails the way ADSync fails, for hosts without
//! ADSync (the Windows backend's probe service, docs/design.md §7).
//!
//! At install it protects a random keyset with the service account's user-scope DPAPI; at every
//! start it must unprotect it. When it cannot, it writes Application event 6028 and stops with
//! the service-specific error the seed article documents
//! ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03; `docs/adsync.md` §3.2):
//! it does what the simulated ADSync engine does ([`crate::adsync::engine::keyset_unreadable`]),
//! with the event and error texts ADSync owns ([`crate::adsync::text`]).

use serde::{Deserialize, Serialize};

use crate::adsync::engine::keyset_unreadable;
use crate::win::scm::{ServiceFailure, ServiceHost, ServiceProgram};

/// The keyset blob and its entropy, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetProbe {
    /// The DPAPI blob of the keyset, hex.
    pub blob: String,
    /// Its entropy (the database entropy GUID bytes), hex.
    pub entropy: String,
}

impl ServiceProgram for KeysetProbe {
    fn start(&mut self, host: &mut dyn ServiceHost) -> Result<(), ServiceFailure> {
        let blob = hex::decode(&self.blob).unwrap_or_default();
        let entropy = hex::decode(&self.entropy).unwrap_or_default();
        if host.unprotect(&blob, &entropy).is_ok() {
            return Ok(());
        }
        Err(keyset_unreadable(host))
    }
}
