//! Sealing the simulator's own secrets at rest: AES-256-GCM under a per-state key.
//!
//! docs/design.md §3: secrets the simulator must keep recoverable (LSA secret values such as
//! `_SC_ADSync`, `DPAPI_SYSTEM`) are sealed so the state database holds no plaintext and
//! tampering is detected. Real Windows formats keep their own ciphers; this is only for values
//! Windows would hold in protected memory or the SECURITY hive.
//!
//! Nonces are 96 random bits (NIST SP 800-38D §8.2.2, the random construction) from a ChaCha20
//! generator seeded from the operating system when the sealer is made and shared by its clones,
//! so a copied state directory, or two processes sealing under one key, never reuse a nonce (a
//! counter kept in the state would repeat in every copy). Named choice: the nonces, and so the
//! sealed bytes in `state.db`, differ from run to run; they protect the simulator's own store
//! at rest and are not a Windows artefact, so determinism (same seed and commands, same outputs,
//! journal and exported artefacts) does not cover them. The bound of 2^32 messages per key for
//! random nonces is far above what one state seals. The secret's name is the associated data,
//! so a sealed value moved to another name fails to open.

use crate::dpapi::secret::SecretBytes;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

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

/// The operating system gave no randomness for the sealing nonces.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no operating-system randomness for the sealing nonces: {0}")]
pub struct NoRandomness(pub String);

/// Where nonces come from: one generator seeded from the operating system, shared by clones.
#[derive(Clone)]
struct Nonces(Arc<Mutex<ChaCha20Rng>>);

impl Nonces {
    fn next(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(&mut nonce);
        nonce
    }
}

/// AES-GCM's 96-bit nonce.
const NONCE_LEN: usize = 12;

/// [`Sealer::key_id`] of `key`.
fn key_id(key: &[u8; 32]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(b"adsync-sim sealer key id");
    h.update(key);
    h.finalize().into()
}

/// The name of the key check value ([`Sealer::check_value`]).
pub const CHECK_NAME: &str = "adsync-sim key check";

/// The per-state sealing key.
#[derive(Clone)]
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
    /// [`Sealer::key_id`], computed once.
    key_id: [u8; 32],
    nonces: Nonces,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer with the given key; its nonce generator is seeded from the operating system.
    pub fn new(key: [u8; 32]) -> Result<Self, NoRandomness> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *seed).map_err(|e| NoRandomness(e.to_string()))?;
        Ok(Self {
            key_id: key_id(&key),
            key: Zeroizing::new(key),
            nonces: Nonces(Arc::new(Mutex::new(ChaCha20Rng::from_seed(*seed)))),
        })
    }

    /// A sealer for a world that is never stored (scenario runs, lab verification, exploration):
    /// its nonces follow from the key, so such runs stay reproducible to the byte. Never used for
    /// a state directory.
    pub fn in_memory(key: [u8; 32]) -> Self {
        Self {
            key_id: key_id(&key),
            key: Zeroizing::new(key),
            nonces: Nonces(Arc::new(Mutex::new(ChaCha20Rng::from_seed(key)))),
        }
    }

    /// Seals `plaintext` under `name` with a fresh random nonce.
    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Sealed {
        let nonce = self.nonces.next();
        let cipher = Aes256Gcm::new((&*self.key).into());
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
    pub fn open(&self, name: &str, sealed: &Sealed) -> Result<SecretBytes, UnsealError> {
        let err = || UnsealError {
            name: name.to_owned(),
        };
        let nonce: [u8; 12] = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(err)?;
        let ct = hex::decode(&sealed.ct).map_err(|_| err())?;
        let cipher = Aes256Gcm::new((&*self.key).into());
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: name.as_bytes(),
                },
            )
            .map(SecretBytes::new)
            .map_err(|_| err())
    }

    /// The key check value stored with the state: an empty value sealed under [`CHECK_NAME`].
    /// Only the right key opens it, so a wrong `seal.key` is refused before anything is read or
    /// committed under it.
    pub fn check_value(&self) -> Sealed {
        self.seal(CHECK_NAME, b"")
    }

    /// A name for the key that reveals nothing of it (SHA-256 of a label and the key): what a
    /// cache of opened values is keyed by, so a value is only ever served to the key that
    /// sealed it.
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    /// Whether `check` (a [`Sealer::check_value`]) was made with this key.
    pub fn verifies(&self, check: &Sealed) -> bool {
        self.open(CHECK_NAME, check).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let s = Sealer::new([7; 32]).unwrap();
        let sealed = s.seal("_SC_ADSync", b"Spring2026!");
        assert!(!sealed.ct.contains(&hex::encode(b"Spring2026!")));
        assert_eq!(&s.open("_SC_ADSync", &sealed).unwrap()[..], b"Spring2026!");
        assert!(s.open("_SC_Other", &sealed).is_err(), "bound to its name");
        let mut t = sealed.clone();
        t.ct.replace_range(0..2, if &t.ct[0..2] == "00" { "01" } else { "00" });
        assert!(s.open("_SC_ADSync", &t).is_err(), "tampering is detected");
        assert!(
            Sealer::new([8; 32])
                .unwrap()
                .open("_SC_ADSync", &sealed)
                .is_err()
        );
    }

    #[test]
    fn nonces_never_repeat_across_sealers_clones_or_copies() {
        // Two sealers under one key stand for a state directory and its copy.
        let a = Sealer::new([7; 32]).unwrap();
        let b = Sealer::new([7; 32]).unwrap();
        let c = a.clone();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            for s in [&a, &b, &c] {
                assert!(seen.insert(s.seal("x", b"same").nonce), "a nonce repeated");
            }
        }
        assert_eq!(hex::decode(a.seal("x", b"").nonce).unwrap().len(), 12);
    }

    #[test]
    fn the_check_value_tells_the_right_key_from_a_wrong_one() {
        let check = Sealer::new([7; 32]).unwrap().check_value();
        assert!(Sealer::new([7; 32]).unwrap().verifies(&check));
        assert!(!Sealer::new([8; 32]).unwrap().verifies(&check));
    }
}
