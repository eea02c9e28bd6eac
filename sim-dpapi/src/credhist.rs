//! The `CREDHIST` file (`%APPDATA%\Microsoft\Protect\CREDHIST`): the chain of a user's former
//! password hashes, each encrypted under the next newer password, that keeps master keys readable
//! across password changes.
//!
//! Follows `docs/dpapi.md` §2.3 (layout, chain, byte-identical rebuild of the XP file) and §4
//! (a change appends an entry; a reset cannot). The file is `E_0 … E_{n-1} H_cur`, oldest first;
//! each entry starts with a 24-byte header `u32 version | GUID | u32 cbPrev` whose GUID names the
//! password stored in it and whose `cbPrev` is the size of the entry before it. The last 24 bytes
//! are the header of the current password. The secret is
//! `CBC(dpapi_pbkdf2(prekey(newer SHA-1 hash, SID)), SHA1(old) | NT(old) | zeros)`.
//!
//! An entry carries no MAC: as in impacket and dpapick3, a decryption is accepted when the bytes
//! after the NT hash are all zero.

use uuid::Uuid;
use zeroize::Zeroizing;

use super::alg::{CipherAlg, HashAlg};
use super::crypto::{self, Padding};
use super::kdf::{MAX_ROUNDS, dpapi_pbkdf2};
use super::prekey::{PasswordHashes, PreKey};
use super::reader::{FormatError, Reader, Writer, len_u32};
use super::sid::Sid;

/// Size of an entry header and of the trailing current-credential header.
const HEADER_LEN: usize = 24;
/// Fixed part of an entry after its header, before the SID.
const BODY_FIXED_LEN: usize = 7 * 4 + 16;

/// One former password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredHistEntry {
    /// Header version, 1.
    pub version: u32,
    /// GUID of the password whose hashes this entry stores.
    pub guid: Uuid,
    /// `dwCredLinkType`, 1.
    pub link_type: u32,
    /// Hash of the PBKDF2 PRF.
    pub alg_hash: HashAlg,
    /// PBKDF2 rounds.
    pub rounds: u32,
    /// Cipher of the secret.
    pub alg_crypt: CipherAlg,
    /// Bytes of the SHA-1 hash slot (20).
    pub sha1_len: u32,
    /// Bytes of the NT hash slot (20 on XP: 16 plus 4 zeros).
    pub nt_len: u32,
    /// PBKDF2 salt.
    pub salt: [u8; 16],
    /// The owner's SID.
    pub sid: Sid,
    /// The encrypted hashes.
    pub secret: Vec<u8>,
}

/// A parsed CREDHIST file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredHistFile {
    /// Entries, oldest first.
    pub entries: Vec<CredHistEntry>,
    /// Version of the trailing header, 1.
    pub current_version: u32,
    /// GUID of the current password (the one master keys reference).
    pub current_guid: Uuid,
}

/// Why a CREDHIST entry could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredHistError {
    /// The key did not produce a well-formed plaintext: wrong password.
    #[error("the entry could not be decrypted: wrong password")]
    WrongKey,
    /// The entry asks for more PBKDF2 rounds than allowed.
    #[error("the entry asks for {0} PBKDF2 rounds; at most {max} are allowed", max = MAX_ROUNDS)]
    TooManyRounds(u32),
    /// The hash slot sizes do not fit the secret.
    #[error("the entry's hash lengths do not fit its secret")]
    BadLengths,
}

impl CredHistEntry {
    fn body_len(&self) -> usize {
        BODY_FIXED_LEN + self.sid.to_bytes().len() + self.secret.len()
    }

    /// Total size including the 24-byte header.
    pub fn len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    /// Always false: an entry has at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn parse(bytes: &[u8]) -> Result<(Self, u32), FormatError> {
        let mut r = Reader::new(bytes, "CREDHIST entry");
        let version = r.u32("dwVersion")?;
        let guid = r.guid("guid")?;
        let prev_len = r.u32("cbPrev")?;
        let link_type = r.u32("dwCredLinkType")?;
        let off = r.pos();
        let id = r.u32("algHash")?;
        let alg_hash = HashAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure: "CREDHIST entry",
            kind: "hash",
            id,
            offset: off,
        })?;
        let rounds = r.u32("rounds")?;
        let sid_len = r.u32("cbSid")?;
        let off = r.pos();
        let id = r.u32("algCrypt")?;
        let alg_crypt = CipherAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure: "CREDHIST entry",
            kind: "cipher",
            id,
            offset: off,
        })?;
        let sha1_len = r.u32("cbSha1")?;
        let nt_len = r.u32("cbMd4")?;
        let salt = r.array("salt")?;
        let sid = Sid::from_bytes(r.bytes(sid_len.into(), "SID")?)?;
        let off = r.pos();
        let secret = r.bytes(r.remaining() as u64, "secret")?.to_vec();
        if secret.len() % alg_crypt.block_len() != 0 {
            return Err(r.invalid(
                "secret length",
                off,
                secret.len() as u64,
                "must be a multiple of the cipher block size",
            ));
        }
        let e = Self {
            version,
            guid,
            link_type,
            alg_hash,
            rounds,
            alg_crypt,
            sha1_len,
            nt_len,
            salt,
            sid,
            secret,
        };
        Ok((e, prev_len))
    }

    fn write(&self, out: &mut Vec<u8>, prev_len: u32) {
        out.put_u32(self.version);
        out.put_guid(&self.guid);
        out.put_u32(prev_len);
        out.put_u32(self.link_type);
        out.put_u32(self.alg_hash.id());
        out.put_u32(self.rounds);
        let sid = self.sid.to_bytes();
        out.put_u32(len_u32(sid.len()));
        out.put_u32(self.alg_crypt.id());
        out.put_u32(self.sha1_len);
        out.put_u32(self.nt_len);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&sid);
        out.extend_from_slice(&self.secret);
    }

    fn key_iv(&self, prekey: &PreKey) -> Result<crate::crypto::SecretBytes, CredHistError> {
        if self.rounds > MAX_ROUNDS {
            return Err(CredHistError::TooManyRounds(self.rounds));
        }
        let c = self.alg_crypt;
        Ok(dpapi_pbkdf2(
            self.alg_hash.digest(),
            prekey.as_bytes(),
            &self.salt,
            self.rounds,
            c.key_len() + c.block_len(),
        ))
    }

    /// Decrypts the stored hashes with the pre-key of the next newer password.
    pub fn open(&self, prekey: &PreKey) -> Result<PasswordHashes, CredHistError> {
        let sha1_len = usize::try_from(self.sha1_len).map_err(|_| CredHistError::BadLengths)?;
        let nt_len = usize::try_from(self.nt_len).map_err(|_| CredHistError::BadLengths)?;
        if sha1_len != 20 || nt_len < 16 || sha1_len + nt_len > self.secret.len() {
            return Err(CredHistError::BadLengths);
        }
        let kiv = self.key_iv(prekey)?;
        let (key, iv) = kiv.split_at(self.alg_crypt.key_len());
        let pt = crypto::cbc_decrypt(self.alg_crypt, key, iv, &self.secret, Padding::None)
            .map_err(|_| CredHistError::BadLengths)?;
        let (sha1, rest) = pt.split_at(20);
        let (nt, zeros) = rest.split_at(16);
        if zeros.iter().any(|&b| b != 0) {
            return Err(CredHistError::WrongKey);
        }
        let mut h = PasswordHashes {
            sha1: [0; 20],
            nt: [0; 16],
        };
        h.sha1.copy_from_slice(sha1);
        h.nt.copy_from_slice(nt);
        Ok(h)
    }

    /// Builds an entry storing `old` (named `guid`) under the pre-key of the newer password.
    #[allow(clippy::too_many_arguments)] // one argument per field of the entry
    pub fn seal(
        guid: Uuid,
        old: &PasswordHashes,
        newer: &PreKey,
        sid: &Sid,
        alg_hash: HashAlg,
        alg_crypt: CipherAlg,
        rounds: u32,
        salt: [u8; 16],
    ) -> Result<Self, CredHistError> {
        let mut e = Self {
            version: 1,
            guid,
            link_type: 1,
            alg_hash,
            rounds,
            alg_crypt,
            sha1_len: 20,
            nt_len: 20,
            salt,
            sid: sid.clone(),
            secret: vec![],
        };
        let mut pt = Zeroizing::new(Vec::with_capacity(48));
        pt.extend_from_slice(&old.sha1);
        pt.extend_from_slice(&old.nt);
        pt.resize(40usize.next_multiple_of(alg_crypt.block_len()), 0);
        let kiv = e.key_iv(newer)?;
        let (key, iv) = kiv.split_at(alg_crypt.key_len());
        e.secret = crypto::cbc_encrypt(alg_crypt, key, iv, &pt, Padding::None)
            .map_err(|_| CredHistError::BadLengths)?;
        Ok(e)
    }
}

impl CredHistFile {
    /// A fresh account's CREDHIST: only the current header (24 bytes, §2.3).
    pub fn new(current_guid: Uuid) -> Self {
        Self {
            entries: vec![],
            current_version: 1,
            current_guid,
        }
    }

    /// Reads a CREDHIST file, walking the `cbPrev` links back from the end.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        const S: &str = "CREDHIST file";
        let trailer_at = bytes
            .len()
            .checked_sub(HEADER_LEN)
            .ok_or(FormatError::Truncated {
                structure: S,
                field: "current credential header",
                offset: 0,
                needed: HEADER_LEN as u64,
                available: bytes.len(),
            })?;
        let mut r = Reader::new(bytes.get(trailer_at..).unwrap_or_default(), S);
        let current_version = r.u32("dwVersion")?;
        let current_guid = r.guid("guid")?;
        let mut prev_len = r.u32("cbPrev")?;
        let mut end = trailer_at;
        let mut entries = Vec::new();
        while prev_len != 0 {
            let len = usize::try_from(prev_len).unwrap_or(usize::MAX);
            let start = end
                .checked_sub(len)
                .filter(|_| len >= HEADER_LEN + BODY_FIXED_LEN)
                .ok_or(FormatError::InvalidValue {
                    structure: S,
                    field: "cbPrev",
                    offset: end,
                    value: prev_len.into(),
                    reason: "the previous entry must fit between the file start and this header",
                })?;
            let (entry, p) = CredHistEntry::parse(bytes.get(start..end).unwrap_or_default())?;
            entries.push(entry);
            prev_len = p;
            end = start;
        }
        if end != 0 {
            return Err(FormatError::InvalidValue {
                structure: S,
                field: "cbPrev",
                offset: end,
                value: 0,
                reason: "the oldest entry must start at the beginning of the file",
            });
        }
        entries.reverse();
        Ok(Self {
            entries,
            current_version,
            current_guid,
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = 0u32;
        for e in &self.entries {
            e.write(&mut out, prev);
            prev = len_u32(e.len());
        }
        out.put_u32(self.current_version);
        out.put_guid(&self.current_guid);
        out.put_u32(prev);
        out
    }

    /// Records a password change: the old password's hashes become the newest entry, encrypted
    /// under the new password, and `new_guid` becomes the current credential (§4).
    #[allow(clippy::too_many_arguments)] // the entry's algorithm choices plus the two passwords
    pub fn push_change(
        &mut self,
        old: &PasswordHashes,
        new_prekey: &PreKey,
        new_guid: Uuid,
        sid: &Sid,
        alg_hash: HashAlg,
        alg_crypt: CipherAlg,
        rounds: u32,
        salt: [u8; 16],
    ) -> Result<(), CredHistError> {
        let entry = CredHistEntry::seal(
            self.current_guid,
            old,
            new_prekey,
            sid,
            alg_hash,
            alg_crypt,
            rounds,
            salt,
        )?;
        self.entries.push(entry);
        self.current_guid = new_guid;
        Ok(())
    }

    /// Walks the chain back from the current password's SHA-1 hash and returns each former
    /// password's hashes with the GUID naming it, newest first. Stops at the first entry that does
    /// not open (the chain was broken, e.g. by a reset).
    pub fn walk(&self, current_sha1: &[u8; 20]) -> Vec<(Uuid, PasswordHashes)> {
        let mut out = Vec::new();
        let mut sha1 = Zeroizing::new(*current_sha1);
        for e in self.entries.iter().rev() {
            let prekey = PreKey::from_hash(&*sha1, &e.sid.to_string());
            match e.open(&prekey) {
                Ok(h) => {
                    *sha1 = h.sha1;
                    out.push((e.guid, h));
                }
                Err(_) => break,
            }
        }
        out
    }
}
