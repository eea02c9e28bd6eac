//! The domain DPAPI backup key (MS-BKRP): how a domain user's master key is wrapped for the
//! domain's RSA backup key pair when it is created, and recovered by a domain controller after a
//! password reset.
//!
//! Follows `docs/dpapi.md` §2.1 (DOMAINKEY block, version 2: `EncryptedSecret` is
//! RSA-PKCS#1 v1.5 of `u32 cbSecret (64) | u32 cbPayloadKey (32) | master key | payload key`,
//! stored byte-reversed; the access check is 3DES-CBC under the payload key of
//! `u32 1 | u32 cbNonce | nonce | SID | pad | SHA1(all before)`), §3.1 (ClientWrap at creation, from
//! a writable DC), §3.2 step 4 and §4 (recovery with `BACKUPKEY_RESTORE_GUID`, the DC checking the
//! SID in the access check). Tools take `RSA-decrypt(reverse(EncryptedSecret))[8..72]` as the key.

use std::sync::Arc;

use rand_chacha_06::ChaCha20Rng as Rng06;
use rand_chacha_06::rand_core::SeedableRng as _;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts as _;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest as _, Sha1};
use thiserror::Error;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::alg::CipherAlg;
use super::crypto::{Padding, cbc_decrypt, cbc_encrypt};
use super::domainkey::DomainKeyBlock;
use super::masterkey::{MASTER_KEY_LEN, MasterKey};
use super::memo::Memo;
use super::sid::Sid;

mod primes;

/// Modulus size of the domain backup key (RSA-2048, `docs/dpapi.md` §2.1).
pub const BACKUP_KEY_BITS: usize = 2048;
/// Size of the access-check nonce. Named choice: 32 bytes, which gives the 88-byte access check
/// of the real domain sample for a 28-byte user SID.
const NONCE_LEN: usize = 32;

/// A domain controller could not recover a master key from its domain key block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BkrpError {
    /// The block was wrapped for another backup key.
    #[error("the block names backup key {0}, which this domain does not hold")]
    OtherKey(Uuid),
    /// RSA decryption or the secret's layout failed.
    #[error("the encrypted secret does not decrypt with the backup key")]
    BadSecret,
    /// The access check is damaged or names another user.
    #[error("the access check does not name the requesting user")]
    AccessDenied,
}

/// How many RSA decryptions a key pair and its clones remember. Recovering a master key is one
/// RSA-2048 private-key operation, the most expensive step of a domain account's DPAPI call
/// after a reset; a simulation repeats the same recovery whenever a step is rolled back or
/// retried, so the last 64 (a few KB) are kept, the oldest going first and wiped as it goes.
const DECRYPTED_MEMO: usize = 64;

/// Pairs of primes a generation tries: a pair fails only when its primes are equal or 65537
/// divides `p - 1` or `q - 1` (about 1 in 32,000), so a second pair is already rare.
const MAX_PRIME_PAIRS: u64 = 8;

/// Encrypted secrets and what they decrypt to.
type Decrypted = Arc<Memo<Vec<u8>, Zeroizing<Vec<u8>>>>;

/// The domain's DPAPI backup key pair (`BCKUPKEY_<guid>` on the DCs).
#[derive(Clone)]
pub struct BackupKeyPair {
    /// The key pair's GUID (`guidKey` of every block wrapped for it).
    pub guid: Uuid,
    private: RsaPrivateKey,
    /// The pair's recent RSA decryptions, shared by its clones ([`DECRYPTED_MEMO`]).
    decrypted: Decrypted,
}

/// Two pairs are equal when their GUIDs and keys are (the memo is bookkeeping).
impl PartialEq for BackupKeyPair {
    fn eq(&self, other: &Self) -> bool {
        self.guid == other.guid && self.private == other.private
    }
}

impl Eq for BackupKeyPair {}

impl std::fmt::Debug for BackupKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupKeyPair")
            .field("guid", &self.guid)
            .finish_non_exhaustive()
    }
}

impl BackupKeyPair {
    /// A new RSA-2048 pair (public exponent 65537), all randomness from `seed`: primes `2i` and
    /// `2i + 1` of the seed (the `primes` module, which finds the two at once) for the first
    /// `i` whose pair makes a key.
    pub fn generate(guid: Uuid, seed: [u8; 32]) -> Result<Self, rsa::Error> {
        let seed = Zeroizing::new(seed);
        for i in 0..MAX_PRIME_PAIRS {
            let (Some(p), Some(q)) = primes::pair(&seed, 2 * i) else {
                continue;
            };
            // Distinct primes, with φ(n) prime to the exponent (what `RsaPrivateKey::new` checks of
            // its own primes).
            if let Ok(private) = RsaPrivateKey::from_primes(vec![p, q], 65537u32.into())
                && private.n().bits() == BACKUP_KEY_BITS
            {
                return Ok(Self {
                    guid,
                    private,
                    decrypted: Arc::new(Memo::new(DECRYPTED_MEMO)),
                });
            }
        }
        Err(rsa::Error::InvalidPrime)
    }

    /// The private key as PKCS#8 DER, the form [`BackupKeyPair::from_pkcs8`] reads (states
    /// written before the key was made from the world's seed hold it sealed in this form).
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, rsa::pkcs8::Error> {
        Ok(Zeroizing::new(
            self.private.to_pkcs8_der()?.as_bytes().to_vec(),
        ))
    }

    /// Restores a pair from its GUID and PKCS#8 DER.
    pub fn from_pkcs8(guid: Uuid, der: &[u8]) -> Result<Self, rsa::pkcs8::Error> {
        Ok(Self {
            guid,
            private: RsaPrivateKey::from_pkcs8_der(der)?,
            decrypted: Arc::new(Memo::new(DECRYPTED_MEMO)),
        })
    }

    /// The public half, as clients fetch it with `BACKUPKEY_RETRIEVE_BACKUP_KEY_GUID`.
    pub fn public(&self) -> RsaPublicKey {
        RsaPublicKey::from(&self.private)
    }

    /// Wraps a new master key for this pair (ClientWrap, version 2), all randomness from `seed`.
    pub fn wrap(
        &self,
        key: &MasterKey,
        sid: &Sid,
        seed: [u8; 32],
    ) -> Result<DomainKeyBlock, rsa::Error> {
        let mut rng = Rng06::from_seed(seed);
        let mut randoms = Zeroizing::new([0u8; NONCE_LEN + 32]);
        rand_chacha_06::rand_core::RngCore::fill_bytes(&mut rng, &mut *randoms);
        let (nonce, payload_key) = randoms.split_at(NONCE_LEN);
        let mut secret = Zeroizing::new(Vec::with_capacity(8 + MASTER_KEY_LEN + 32));
        secret.extend_from_slice(&(MASTER_KEY_LEN as u32).to_le_bytes());
        secret.extend_from_slice(&32u32.to_le_bytes());
        secret.extend_from_slice(key.as_bytes());
        secret.extend_from_slice(payload_key);
        let mut encrypted = self.public().encrypt(&mut rng, Pkcs1v15Encrypt, &secret)?;
        encrypted.reverse(); // CryptoAPI stores big numbers little-endian.
        let mut check = Vec::with_capacity(96);
        check.extend_from_slice(&1u32.to_le_bytes());
        check.extend_from_slice(&(NONCE_LEN as u32).to_le_bytes());
        check.extend_from_slice(nonce);
        check.extend_from_slice(&sid.to_bytes());
        let pad = (8 - (check.len() + 20) % 8) % 8;
        check.extend(std::iter::repeat_n(0u8, pad));
        let digest = Sha1::digest(&check);
        check.extend_from_slice(&digest);
        let (k, iv) = payload_key.split_at(24);
        let access_check = cbc_encrypt(CipherAlg::TripleDes, k, iv, &check, Padding::None)
            .map_err(|_| rsa::Error::Internal)?;
        Ok(DomainKeyBlock {
            version: 2,
            guid_key: self.guid,
            encrypted_secret: encrypted,
            access_check,
        })
    }

    /// RSA-PKCS#1 v1.5 decryption of a block's (byte-reversed) `EncryptedSecret`, remembered
    /// for the next time the same secret comes ([`DECRYPTED_MEMO`]).
    fn decrypt_secret(&self, encrypted: &[u8]) -> Result<Zeroizing<Vec<u8>>, BkrpError> {
        let encrypted = encrypted.to_vec();
        if let Some(secret) = self.decrypted.get(&encrypted) {
            return Ok(secret);
        }
        let mut ct = encrypted.clone();
        ct.reverse();
        let secret = Zeroizing::new(
            self.private
                .decrypt(Pkcs1v15Encrypt, &ct)
                .map_err(|_| BkrpError::BadSecret)?,
        );
        self.decrypted.insert(encrypted, secret.clone());
        Ok(secret)
    }

    /// Recovers the master key as a DC does for `BACKUPKEY_RESTORE_GUID`: decrypt the secret,
    /// then check that the access check names `requester`.
    pub fn recover(&self, block: &DomainKeyBlock, requester: &Sid) -> Result<MasterKey, BkrpError> {
        if block.guid_key != self.guid {
            return Err(BkrpError::OtherKey(block.guid_key));
        }
        let secret = self.decrypt_secret(&block.encrypted_secret)?;
        let key: [u8; MASTER_KEY_LEN] = secret
            .get(8..8 + MASTER_KEY_LEN)
            .and_then(|k| k.try_into().ok())
            .ok_or(BkrpError::BadSecret)?;
        let payload = secret
            .get(8 + MASTER_KEY_LEN..8 + MASTER_KEY_LEN + 32)
            .ok_or(BkrpError::BadSecret)?;
        let (k, iv) = payload.split_at(24);
        let check = cbc_decrypt(
            CipherAlg::TripleDes,
            k,
            iv,
            &block.access_check,
            Padding::None,
        )
        .map_err(|_| BkrpError::AccessDenied)?;
        let (body, digest) =
            check.split_at(check.len().checked_sub(20).ok_or(BkrpError::AccessDenied)?);
        if Sha1::digest(body).as_slice() != digest {
            return Err(BkrpError::AccessDenied);
        }
        let nonce_len = body
            .get(4..8)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(BkrpError::AccessDenied)?;
        let sid = requester.to_bytes();
        if body.get(8 + nonce_len..8 + nonce_len + sid.len()) != Some(sid.as_slice()) {
            return Err(BkrpError::AccessDenied);
        }
        Ok(MasterKey::from_bytes(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_recover_and_the_sample_sizes() {
        let pair = BackupKeyPair::generate(Uuid::from_u128(7), [3; 32]).unwrap();
        let sid: Sid = "S-1-5-21-1-2-3-1104".parse().unwrap();
        let key = MasterKey::from_bytes([0x5a; 64]);
        let block = pair.wrap(&key, &sid, [4; 32]).unwrap();
        // `docs/dpapi.md` §2.1: version 2, 256-byte secret, 88-byte access check.
        assert_eq!(
            (
                block.version,
                block.encrypted_secret.len(),
                block.access_check.len()
            ),
            (2, 256, 88)
        );
        assert_eq!(pair.recover(&block, &sid).unwrap(), key);
        let other: Sid = "S-1-5-21-1-2-3-1105".parse().unwrap();
        // The second recovery reuses the RSA decryption and still runs the access check.
        assert_eq!(pair.recover(&block, &other), Err(BkrpError::AccessDenied));
        assert_eq!(pair.clone().recover(&block, &sid).unwrap(), key);
        let mut damaged = block.clone();
        damaged.encrypted_secret[100] ^= 1;
        assert_eq!(pair.recover(&damaged, &sid), Err(BkrpError::BadSecret));
        let restored = BackupKeyPair::from_pkcs8(pair.guid, &pair.to_pkcs8().unwrap()).unwrap();
        assert_eq!(restored.recover(&block, &sid).unwrap(), key);
    }
}
