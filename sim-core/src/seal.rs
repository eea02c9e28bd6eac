//! Sealing the simulator's own secrets at rest: AES-256-GCM under a per-state key.
//!
//! docs/design.md §3: secrets the simulator must keep recoverable (LSA secret values such as
//! `_SC_ADSync`, `DPAPI_SYSTEM`) are sealed so the state database holds no plaintext and
//! tampering is detected. Real Windows formats keep their own ciphers; this is only for values
//! Windows would hold in protected memory or the SECURITY hive.
//!
//! Nonces are a counter persisted with the world in the same transaction as the ciphertext, so
//! no nonce is ever stored twice under one key. The secret's name is the associated data, so a
//! sealed value moved to another name fails to open.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A sealed value: 12-byte nonce and AES-256-GCM ciphertext with tag, hex in the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The nonce, hex.
    pub nonce: String,
    /// Ciphertext and tag, hex.
    pub ct: String,
}

/// A sealed value failed to open: wrong key, or tampered state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "sealed secret '{name}' does not open: the state was tampered with or belongs to another key"
)]
pub struct UnsealError {
    /// The secret's name.
    pub name: String,
}

/// The per-state sealing key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Sealer {
    key: [u8; 32],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer with the given key.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Seals `plaintext` under `name` with the nonce `counter`.
    pub fn seal(&self, counter: u64, name: &str, plaintext: &[u8]) -> Sealed {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&counter.to_le_bytes());
        let cipher = Aes256Gcm::new((&self.key).into());
        // Encryption only fails for inputs over 64 GiB.
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: name.as_bytes(),
                },
            )
            .unwrap_or_default();
        Sealed {
            nonce: hex::encode(nonce),
            ct: hex::encode(ct),
        }
    }

    /// Opens a value sealed under `name`.
    pub fn open(&self, name: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
        let err = || UnsealError {
            name: name.to_owned(),
        };
        let nonce: [u8; 12] = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(err)?;
        let ct = hex::decode(&sealed.ct).map_err(|_| err())?;
        let cipher = Aes256Gcm::new((&self.key).into());
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: name.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let s = Sealer::new([7; 32]);
        let sealed = s.seal(1, "_SC_ADSync", b"Spring2026!");
        assert!(!sealed.ct.contains(&hex::encode(b"Spring2026!")));
        assert_eq!(&s.open("_SC_ADSync", &sealed).unwrap()[..], b"Spring2026!");
        assert!(s.open("_SC_Other", &sealed).is_err(), "bound to its name");
        let mut t = sealed.clone();
        t.ct.replace_range(0..2, if &t.ct[0..2] == "00" { "01" } else { "00" });
        assert!(s.open("_SC_ADSync", &t).is_err(), "tampering is detected");
        assert!(Sealer::new([8; 32]).open("_SC_ADSync", &sealed).is_err());
    }
}
