//! Master key files (`…\Microsoft\Protect\<SID>\<GUID>`): the 64-byte master keys every DPAPI
//! blob is ultimately protected with, encrypted under the owner's pre-key.
//!
//! Follows `docs/dpapi.md` §2.1 for the layout (header, master key block, backup key block,
//! CREDHIST block, domain key block, each present when its length is non-zero) and §1.4 for the
//! block cryptography: DPAPI-PBKDF2 gives key and IV, CBC without padding, plaintext
//! `hmacSalt16 | HMAC(HMAC(prekey, hmacSalt), secret) | [pad] | secret`. Given the same salts this
//! rebuilds the real XP, Windows 7, 8.1 and Server 2008 R2 files byte for byte.

use std::fmt;

use thiserror::Error;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::alg::{CipherAlg, Digest, HashAlg};
use super::crypto::{self, Padding, SecretBytes};
use super::domainkey::DomainKeyBlock;
use super::kdf::{MAX_ROUNDS, dpapi_pbkdf2};
use super::prekey::{Credential, PreKey, PreKeyKind};
use super::reader::{FormatError, Reader, Writer};

/// `dwFlags` bit 0x1: the backup block needs `DPAPI_SYSTEM`.
pub const FLAG_BACKUP_DPAPI_SYSTEM: u32 = 0x1;
/// `dwFlags` bit 0x2: a SYSTEM key whose pre-key is a `DPAPI_SYSTEM` half.
pub const FLAG_SYSTEM: u32 = 0x2;
/// `dwFlags` bit 0x4: the password hash is SHA-1 (a local account); clear means NT (domain).
pub const FLAG_SHA1: u32 = 0x4;
/// Flags Windows writes for a local user's keys (§2.1: 5).
pub const FLAGS_LOCAL_USER: u32 = FLAG_SHA1 | FLAG_BACKUP_DPAPI_SYSTEM;
/// Flags Windows writes for a domain user's keys (§2.1: 0).
pub const FLAGS_DOMAIN_USER: u32 = 0;
/// Flags Windows writes for SYSTEM keys (§2.1: 6).
pub const FLAGS_SYSTEM: u32 = FLAG_SYSTEM | FLAG_SHA1;

/// Size of a master key.
pub const MASTER_KEY_LEN: usize = 64;
/// Size of the secret in the backup key block (§2.1, "local encryption key").
pub const BACKUP_SECRET_LEN: usize = 32;
/// Size of the fixed header before the blocks.
const HEADER_LEN: usize = 0x80;

/// A 64-byte master key. Zeroized on drop; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl MasterKey {
    /// Wraps known key bytes.
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh random master key.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; MASTER_KEY_LEN];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }

    /// `SHA1(master key)`, the value blobs are keyed with (§1.5).
    pub fn sha1(&self) -> SecretBytes {
        crypto::hash(Digest::Sha1, &[&self.0])
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Algorithms and cost of new master key blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterKeyPolicy {
    /// Hash of the PBKDF2 PRF and the block HMAC.
    pub alg_hash: HashAlg,
    /// Cipher of the block.
    pub alg_crypt: CipherAlg,
    /// PBKDF2 rounds.
    pub rounds: u32,
}

impl MasterKeyPolicy {
    /// Windows 8.1 / 10 / 11: AES-256, SHA-512, 8000 rounds (§5).
    pub const WINDOWS_10: Self = Self {
        alg_hash: HashAlg::Sha512,
        alg_crypt: CipherAlg::Aes256,
        rounds: 8000,
    };
    /// Windows Server 2008 R2: AES-256, SHA-512, 17400 rounds (§5).
    pub const SERVER_2008_R2: Self = Self {
        alg_hash: HashAlg::Sha512,
        alg_crypt: CipherAlg::Aes256,
        rounds: 17400,
    };
    /// Windows XP / 2003: 3DES, `CALG_HMAC` (SHA-1), 4000 rounds (§5).
    pub const WINDOWS_XP: Self = Self {
        alg_hash: HashAlg::Hmac,
        alg_crypt: CipherAlg::TripleDes,
        rounds: 4000,
    };

    /// This policy with another round count.
    pub const fn with_rounds(self, rounds: u32) -> Self {
        Self { rounds, ..self }
    }
}

impl Default for MasterKeyPolicy {
    fn default() -> Self {
        Self::WINDOWS_10
    }
}

/// Why a master key block could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The HMAC check failed: the pre-key (password) is wrong.
    #[error("the master key could not be decrypted: wrong password or key")]
    WrongKey,
    /// The block asks for more PBKDF2 rounds than this implementation allows.
    #[error("the block asks for {rounds} PBKDF2 rounds; at most {max} are allowed", max = MAX_ROUNDS)]
    TooManyRounds {
        /// Rounds in the block.
        rounds: u32,
    },
    /// The ciphertext is too short to hold the salt, the HMAC and the secret.
    #[error("the block's ciphertext is {len} bytes, too short for its algorithms")]
    CiphertextTooShort {
        /// Length of the ciphertext.
        len: usize,
    },
    /// The file has no master key block.
    #[error("the file has no master key block")]
    NoMasterKeyBlock,
}

/// The random inputs of one block, for byte-identical rebuilding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRandoms {
    /// PBKDF2 salt.
    pub salt: [u8; 16],
    /// HMAC salt (first 16 plaintext bytes).
    pub hmac_salt: [u8; 16],
    /// Junk bytes between HMAC and secret (3DES blocks: 4 bytes; AES blocks: none).
    pub pad: Vec<u8>,
}

impl BlockRandoms {
    /// Fresh randoms for a block of the given policy.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        policy: &MasterKeyPolicy,
        secret_len: usize,
    ) -> Self {
        let mut r = Self {
            salt: [0; 16],
            hmac_salt: [0; 16],
            pad: vec![],
        };
        rng.fill_bytes(&mut r.salt);
        rng.fill_bytes(&mut r.hmac_salt);
        r.pad = vec![0; pad_len(policy, secret_len)];
        rng.fill_bytes(&mut r.pad);
        r
    }
}

fn pad_len(policy: &MasterKeyPolicy, secret_len: usize) -> usize {
    let used = 16 + policy.alg_hash.digest().output_len() + secret_len;
    used.next_multiple_of(policy.alg_crypt.block_len()) - used
}

/// A MASTERKEY block (used for both the master key and the backup key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterKeyBlock {
    /// Block version, 2.
    pub version: u32,
    /// PBKDF2 salt.
    pub salt: [u8; 16],
    /// PBKDF2 rounds.
    pub rounds: u32,
    /// Hash algorithm.
    pub alg_hash: HashAlg,
    /// Cipher.
    pub alg_crypt: CipherAlg,
    /// The encrypted `hmacSalt | HMAC | [pad] | secret`.
    pub ciphertext: Vec<u8>,
}

impl MasterKeyBlock {
    /// Reads a block that occupies exactly `bytes`.
    pub fn parse(bytes: &[u8], structure: &'static str) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, structure);
        let version = r.u32("dwVersion")?;
        let salt = r.array("salt")?;
        let rounds = r.u32("rounds")?;
        let off = r.pos();
        let id = r.u32("algHash")?;
        let alg_hash = HashAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure,
            kind: "hash",
            id,
            offset: off,
        })?;
        let off = r.pos();
        let id = r.u32("algCrypt")?;
        let alg_crypt = CipherAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure,
            kind: "cipher",
            id,
            offset: off,
        })?;
        let off = r.pos();
        let ciphertext = r.bytes(r.remaining() as u64, "ciphertext")?.to_vec();
        if ciphertext.is_empty() || ciphertext.len() % alg_crypt.block_len() != 0 {
            return Err(r.invalid(
                "ciphertext length",
                off,
                ciphertext.len() as u64,
                "must be a non-zero multiple of the cipher block size",
            ));
        }
        Ok(Self {
            version,
            salt,
            rounds,
            alg_hash,
            alg_crypt,
            ciphertext,
        })
    }

    /// The block's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.ciphertext.len());
        out.put_u32(self.version);
        out.extend_from_slice(&self.salt);
        out.put_u32(self.rounds);
        out.put_u32(self.alg_hash.id());
        out.put_u32(self.alg_crypt.id());
        out.extend_from_slice(&self.ciphertext);
        out
    }

    fn key_iv(&self, prekey: &[u8]) -> Result<SecretBytes, MasterKeyError> {
        if self.rounds > MAX_ROUNDS {
            return Err(MasterKeyError::TooManyRounds {
                rounds: self.rounds,
            });
        }
        let c = self.alg_crypt;
        Ok(dpapi_pbkdf2(
            self.alg_hash.digest(),
            prekey,
            &self.salt,
            self.rounds,
            c.key_len() + c.block_len(),
        ))
    }

    /// Decrypts the block with a pre-key and returns its `secret_len`-byte secret, if the HMAC
    /// check passes.
    pub fn open(&self, prekey: &[u8], secret_len: usize) -> Result<SecretBytes, MasterKeyError> {
        let d = self.alg_hash.digest();
        let hl = d.output_len();
        let too_short = MasterKeyError::CiphertextTooShort {
            len: self.ciphertext.len(),
        };
        if self.ciphertext.len() < 16 + hl + secret_len {
            return Err(too_short);
        }
        let kiv = self.key_iv(prekey)?;
        let (key, iv) = kiv.split_at(self.alg_crypt.key_len());
        let pt = crypto::cbc_decrypt(self.alg_crypt, key, iv, &self.ciphertext, Padding::None)
            .map_err(|_| too_short)?;
        let (hmac_salt, rest) = pt.split_at(16);
        let mac = rest.get(..hl).ok_or(too_short)?;
        let secret = pt.get(pt.len() - secret_len..).ok_or(too_short)?;
        let hmac_key = crypto::hmac(d, prekey, &[hmac_salt]);
        let expected = crypto::hmac(d, &hmac_key, &[secret]);
        if crypto::ct_eq(mac, &expected) {
            Ok(SecretBytes::new(secret.to_vec()))
        } else {
            Err(MasterKeyError::WrongKey)
        }
    }

    /// Encrypts `secret` under a pre-key with the given policy and randoms.
    pub fn seal(
        prekey: &[u8],
        secret: &[u8],
        policy: &MasterKeyPolicy,
        randoms: &BlockRandoms,
    ) -> Result<Self, MasterKeyError> {
        if policy.rounds > MAX_ROUNDS {
            return Err(MasterKeyError::TooManyRounds {
                rounds: policy.rounds,
            });
        }
        let d = policy.alg_hash.digest();
        let hmac_key = crypto::hmac(d, prekey, &[&randoms.hmac_salt]);
        let mac = crypto::hmac(d, &hmac_key, &[secret]);
        let mut pt = zeroize::Zeroizing::new(Vec::with_capacity(160));
        pt.extend_from_slice(&randoms.hmac_salt);
        pt.extend_from_slice(&mac);
        pt.extend_from_slice(&randoms.pad);
        pt.extend_from_slice(secret);
        let mut block = Self {
            version: 2,
            salt: randoms.salt,
            rounds: policy.rounds,
            alg_hash: policy.alg_hash,
            alg_crypt: policy.alg_crypt,
            ciphertext: vec![],
        };
        let kiv = block.key_iv(prekey)?;
        let (key, iv) = kiv.split_at(policy.alg_crypt.key_len());
        block.ciphertext = crypto::cbc_encrypt(policy.alg_crypt, key, iv, &pt, Padding::None)
            .map_err(|_| MasterKeyError::CiphertextTooShort { len: pt.len() })?;
        Ok(block)
    }
}

/// The CREDHIST block of a master key file: which password credential protects the key (§2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredHistRef {
    /// Version, 3.
    pub version: u32,
    /// GUID of the password credential (the CREDHIST file's current GUID when written).
    pub guid: Uuid,
}

impl CredHistRef {
    /// A version-3 reference to a credential GUID.
    pub fn new(guid: Uuid) -> Self {
        Self { version: 3, guid }
    }
}

/// A master key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterKeyFile {
    /// `dwVersion`, 2 on every file seen.
    pub version: u32,
    /// The two reserved DWORDs at 0x04 and 0x08.
    pub reserved: [u32; 2],
    /// The key's GUID (also the file name).
    pub guid: Uuid,
    /// The two reserved DWORDs at 0x54 and 0x58 (junk on some files).
    pub reserved2: [u32; 2],
    /// `dwFlags`: see [`FLAGS_LOCAL_USER`], [`FLAGS_DOMAIN_USER`], [`FLAGS_SYSTEM`].
    pub flags: u32,
    /// The master key, encrypted under the owner's pre-key.
    pub master_key: Option<MasterKeyBlock>,
    /// The vestigial backup ("local encryption key") block; dpapick3 needs it present.
    pub backup_key: Option<MasterKeyBlock>,
    /// The CREDHIST reference.
    pub credhist: Option<CredHistRef>,
    /// The domain backup block (domain accounts).
    pub domain_key: Option<DomainKeyBlock>,
}

impl MasterKeyFile {
    /// Reads a master key file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        const S: &str = "master key file";
        let mut r = Reader::new(bytes, S);
        let version = r.u32("dwVersion")?;
        let reserved = [r.u32("reserved")?, r.u32("reserved")?];
        let off = r.pos();
        let guid_utf16: [u8; 72] = r.array("szGuid")?;
        let guid = parse_guid_text(&guid_utf16)
            .ok_or_else(|| r.invalid("szGuid", off, 0, "must be 36 UTF-16 characters of a GUID"))?;
        let reserved2 = [r.u32("reserved")?, r.u32("reserved")?];
        let flags = r.u32("dwFlags")?;
        let mk_len = r.u64("cbMasterKey")?;
        let bk_len = r.u64("cbBackupKey")?;
        let ch_len = r.u64("cbCredHist")?;
        let dk_len = r.u64("cbDomainKey")?;
        debug_assert_eq!(r.pos(), HEADER_LEN);
        let master_key = match r.bytes(mk_len, "MasterKey block")? {
            [] => None,
            b => Some(MasterKeyBlock::parse(b, "master key block")?),
        };
        let backup_key = match r.bytes(bk_len, "BackupKey block")? {
            [] => None,
            b => Some(MasterKeyBlock::parse(b, "backup key block")?),
        };
        let off = r.pos();
        let credhist = match r.bytes(ch_len, "CredHist block")? {
            [] => None,
            b => {
                let mut c = Reader::new(b, "master key CREDHIST block");
                let v = CredHistRef {
                    version: c.u32("dwVersion")?,
                    guid: c.guid("guid")?,
                };
                c.finish().map_err(|_| {
                    r.invalid("cbCredHist", off, ch_len, "the CREDHIST block is 20 bytes")
                })?;
                Some(v)
            }
        };
        let domain_key = match r.bytes(dk_len, "DomainKey block")? {
            [] => None,
            b => Some(DomainKeyBlock::parse(b)?),
        };
        r.finish()?;
        Ok(Self {
            version,
            reserved,
            guid,
            reserved2,
            flags,
            master_key,
            backup_key,
            credhist,
            domain_key,
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mk = self
            .master_key
            .as_ref()
            .map(MasterKeyBlock::to_bytes)
            .unwrap_or_default();
        let bk = self
            .backup_key
            .as_ref()
            .map(MasterKeyBlock::to_bytes)
            .unwrap_or_default();
        let ch = self
            .credhist
            .map(|c| {
                let mut v = Vec::with_capacity(20);
                v.put_u32(c.version);
                v.put_guid(&c.guid);
                v
            })
            .unwrap_or_default();
        let dk = self
            .domain_key
            .as_ref()
            .map(DomainKeyBlock::to_bytes)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + mk.len() + bk.len() + ch.len() + dk.len());
        out.put_u32(self.version);
        out.put_u32(self.reserved[0]);
        out.put_u32(self.reserved[1]);
        out.extend(
            self.guid
                .hyphenated()
                .to_string()
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        out.put_u32(self.reserved2[0]);
        out.put_u32(self.reserved2[1]);
        out.put_u32(self.flags);
        for len in [mk.len(), bk.len(), ch.len(), dk.len()] {
            out.put_u64(len as u64);
        }
        out.extend_from_slice(&mk);
        out.extend_from_slice(&bk);
        out.extend_from_slice(&ch);
        out.extend_from_slice(&dk);
        out
    }

    /// The file name Windows gives this key: its GUID in lowercase.
    pub fn file_name(&self) -> String {
        self.guid.hyphenated().to_string()
    }

    /// Opens the master key with one pre-key.
    pub fn open(&self, prekey: &PreKey) -> Result<MasterKey, MasterKeyError> {
        let block = self
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::NoMasterKeyBlock)?;
        let secret = block.open(prekey.as_bytes(), MASTER_KEY_LEN)?;
        let mut k = [0u8; MASTER_KEY_LEN];
        k.copy_from_slice(&secret);
        Ok(MasterKey(k))
    }

    /// Opens the master key with the first of a credential's pre-keys that works, and says which.
    pub fn decrypt(
        &self,
        credential: &Credential,
    ) -> Result<(PreKeyKind, MasterKey), MasterKeyError> {
        let mut last = MasterKeyError::WrongKey;
        for (kind, prekey) in credential.prekeys() {
            match self.open(prekey) {
                Ok(k) => return Ok((*kind, k)),
                Err(MasterKeyError::WrongKey) => {}
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Builds a new file for `master_key` with explicit randoms (for byte-identical rebuilds).
    #[allow(clippy::too_many_arguments)] // mirrors the file's fields one for one
    pub fn seal_with(
        guid: Uuid,
        flags: u32,
        master_key: &MasterKey,
        prekey: &PreKey,
        policy: &MasterKeyPolicy,
        mk_randoms: &BlockRandoms,
        backup: (&PreKey, &[u8; BACKUP_SECRET_LEN], &BlockRandoms),
        credhist: Option<Uuid>,
    ) -> Result<Self, MasterKeyError> {
        let master =
            MasterKeyBlock::seal(prekey.as_bytes(), master_key.as_bytes(), policy, mk_randoms)?;
        let backup_block = MasterKeyBlock::seal(backup.0.as_bytes(), backup.1, policy, backup.2)?;
        Ok(Self {
            version: 2,
            reserved: [0, 0],
            guid,
            reserved2: [0, 0],
            flags,
            master_key: Some(master),
            backup_key: Some(backup_block),
            credhist: credhist.map(CredHistRef::new),
            domain_key: None,
        })
    }

    /// Builds a new file for `master_key` protected by `prekey`, drawing every random from `rng`.
    ///
    /// The backup block gets a random 32-byte secret under [`backup_prekey`]; no tool reads it,
    /// but dpapick3 needs it present (§2.1).
    #[allow(clippy::too_many_arguments)] // the file's fields plus the two pre-keys and rng
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        guid: Uuid,
        flags: u32,
        master_key: &MasterKey,
        prekey: &PreKey,
        backup_prekey: &PreKey,
        policy: &MasterKeyPolicy,
        credhist: Option<Uuid>,
    ) -> Result<Self, MasterKeyError> {
        let mk_randoms = BlockRandoms::generate(rng, policy, MASTER_KEY_LEN);
        let mut secret = zeroize::Zeroizing::new([0u8; BACKUP_SECRET_LEN]);
        rng.fill_bytes(&mut *secret);
        let bk_randoms = BlockRandoms::generate(rng, policy, BACKUP_SECRET_LEN);
        Self::seal_with(
            guid,
            flags,
            master_key,
            prekey,
            policy,
            &mk_randoms,
            (backup_prekey, &secret, &bk_randoms),
            credhist,
        )
    }

    /// Re-encrypts the master key under a new pre-key (a password change), keeping the GUID,
    /// flags, backup and domain blocks, and pointing the CREDHIST block at `credhist`.
    pub fn reseal<R: rand_core::CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        master_key: &MasterKey,
        prekey: &PreKey,
        credhist: Option<Uuid>,
    ) -> Result<Self, MasterKeyError> {
        let old = self
            .master_key
            .as_ref()
            .ok_or(MasterKeyError::NoMasterKeyBlock)?;
        let policy = MasterKeyPolicy {
            alg_hash: old.alg_hash,
            alg_crypt: old.alg_crypt,
            rounds: old.rounds,
        };
        let randoms = BlockRandoms::generate(rng, &policy, MASTER_KEY_LEN);
        let mut out = self.clone();
        out.master_key = Some(MasterKeyBlock::seal(
            prekey.as_bytes(),
            master_key.as_bytes(),
            &policy,
            &randoms,
        )?);
        if credhist.is_some() {
            out.credhist = credhist.map(CredHistRef::new);
        }
        Ok(out)
    }
}

/// The pre-key of the backup block: `SHA1(UTF-16LE(SID) || 00 00)`, mimikatz's SID-only form
/// (§2.1). Named choice: `docs/dpapi.md` §8.8 could not reproduce Windows' derivation and no
/// tool reads this block, so the simulator uses this documented formula for every key.
pub fn backup_prekey(sid: &str) -> PreKey {
    let mut msg = crypto::utf16le(sid);
    msg.extend_from_slice(&[0, 0]);
    let h = crypto::hash(Digest::Sha1, &[&msg]);
    let mut out = [0u8; 20];
    out.copy_from_slice(h.get(..20).unwrap_or(&[0; 20]));
    PreKey::from_bytes(out)
}

fn parse_guid_text(utf16: &[u8; 72]) -> Option<Uuid> {
    let units: Vec<u16> = utf16
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).ok()?;
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(&text).ok()
}
