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
use crate::win::scm::{HostFailure, ServiceHost, ServiceProgram, StartFailure};

/// The keyset blob and its entropy, stored as hex: a state whose hex is damaged does not load
/// (an error naming the state), rather than starting the probe with no blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetProbe {
    /// The DPAPI blob of the keyset.
    #[serde(with = "hex::serde")]
    pub blob: Vec<u8>,
    /// Its entropy (the database entropy GUID bytes).
    #[serde(with = "hex::serde")]
    pub entropy: Vec<u8>,
}

impl<E> ServiceProgram<E> for KeysetProbe {
    fn start(&mut self, host: &mut dyn ServiceHost<Error = E>) -> Result<(), StartFailure<E>> {
        match host.unprotect(&self.blob, &self.entropy) {
            Ok(_) => Ok(()),
            Err(HostFailure::Host(e)) => Err(StartFailure::Host(e)),
            Err(HostFailure::Dpapi(_)) => Err(StartFailure::Service(keyset_unreadable(host))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state keeps the blob as lowercase hex, as before; damaged hex does not load.
    #[test]
    fn the_stored_blob_is_hex_and_damaged_hex_does_not_load() {
        let p = KeysetProbe {
            blob: vec![0x01, 0xAB],
            entropy: vec![0xFF],
        };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"blob":"01ab","entropy":"ff"}"#);
        assert_eq!(serde_json::from_str::<KeysetProbe>(&text).unwrap(), p);
        for bad in [
            r#"{"blob":"zz","entropy":"ff"}"#,
            r#"{"blob":"01ab","entropy":"f"}"#,
        ] {
            assert!(serde_json::from_str::<KeysetProbe>(bad).is_err(), "{bad}");
        }
    }
}
