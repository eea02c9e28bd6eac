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
    #[serde(with = "plain_hex")]
    pub blob: Vec<u8>,
    /// Its entropy (the database entropy GUID bytes).
    #[serde(with = "plain_hex")]
    pub entropy: Vec<u8>,
}

/// Bytes as lowercase hex without a prefix, the state's spelling; reading takes exactly that
/// (either case), never a `0x` prefix.
mod plain_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.starts_with("0x") || text.starts_with("0X") {
            return Err(D::Error::custom("hex without a 0x prefix"));
        }
        hex::decode(&text).map_err(D::Error::custom)
    }
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
            r#"{"blob":"0x01ab","entropy":"ff"}"#,
        ] {
            assert!(serde_json::from_str::<KeysetProbe>(bad).is_err(), "{bad}");
        }
    }
}
