//! DPAPI blobs: what `CryptProtectData` returns.
//!
//! Follows `docs/dpapi.md` §2.4 for the layout and §1.5 for the cryptography:
//! - session key `HMAC-H(SHA1(MK), salt || entropy)`; for SHA-1 blobs with entropy the non-RFC
//!   form that puts the entropy in the *outer* hash (dpapick3's reading, verified on XP);
//! - data key by `CryptDeriveKey`; data in CBC with a zero IV and PKCS#7 padding;
//! - sign over `hmac2Key || entropy || blob[20 .. end of data]`, keyed by `SHA1(MK)`: RFC HMAC for
//!   SHA-512 blobs, always the non-RFC form for SHA-1 blobs.
//!
//! Given the same salt and HMAC2 key, sealing rebuilds the eight real blobs in `tests/vectors/`
//! byte for byte.

use uuid::Uuid;
use zeroize::Zeroizing;

use super::alg::{CipherAlg, Digest, HashAlg};
use super::crypto::{self, Padding, SecretBytes};
use super::masterkey::MasterKey;
use super::reader::{FormatError, Reader, Writer};

/// `guidProvider` of every DPAPI blob: `df9d8cd0-1501-11d1-8c7a-00c04fc297eb` (§2.4).
pub const PROVIDER_GUID: Uuid = Uuid::from_u128(0xdf9d8cd0_1501_11d1_8c7a_00c04fc297eb);

/// Why a parsed blob did not decrypt. Callers map both to `ERROR_INVALID_DATA` (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The PKCS#7 padding is invalid (wrong key or entropy, or corrupted data).
    #[error("the blob's data does not decrypt to valid padding")]
    BadPadding,
    /// The sign does not match (wrong entropy, or corrupted blob).
    #[error("the blob's signature does not match")]
    BadSign,
}

/// The two HMAC constructions DPAPI blobs use (§1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HmacForm {
    /// RFC 2104 HMAC.
    Rfc,
    /// `H((K^opad) || H((K^ipad) || first) || extra…)`: the extra data in the outer hash.
    OuterExtra,
}

impl HmacForm {
    fn other(self) -> Self {
        match self {
            Self::Rfc => Self::OuterExtra,
            Self::OuterExtra => Self::Rfc,
        }
    }
}

/// Algorithms of new blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobPolicy {
    /// Cipher of the data.
    pub alg_crypt: CipherAlg,
    /// Value of `dwAlgCryptLen` (bits).
    pub alg_crypt_bits: u32,
    /// Hash of the session key and sign.
    pub alg_hash: HashAlg,
    /// Bytes of salt and of HMAC2 key.
    pub salt_len: usize,
}

impl BlobPolicy {
    /// Windows 7 and later: AES-256, SHA-512, 32-byte salt and HMAC2 key (§2.4).
    pub const WINDOWS_10: Self = Self {
        alg_crypt: CipherAlg::Aes256,
        alg_crypt_bits: 256,
        alg_hash: HashAlg::Sha512,
        salt_len: 32,
    };
    /// Windows XP: 3DES (168 bits), SHA-1, 16-byte salt and HMAC2 key (§2.4).
    pub const WINDOWS_XP: Self = Self {
        alg_crypt: CipherAlg::TripleDes,
        alg_crypt_bits: 168,
        alg_hash: HashAlg::Sha1,
        salt_len: 16,
    };
}

impl Default for BlobPolicy {
    fn default() -> Self {
        Self::WINDOWS_10
    }
}

/// A parsed DPAPI blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// `dwVersion`, 1.
    pub version: u32,
    /// `guidProvider`, [`PROVIDER_GUID`].
    pub provider: Uuid,
    /// `dwMasterKeyVersion`, 1.
    pub master_key_version: u32,
    /// GUID of the master key that protects the blob.
    pub master_key_guid: Uuid,
    /// `dwFlags` (0, `CRYPTPROTECT_LOCAL_MACHINE` 0x4, `CRYPTPROTECT_SYSTEM` 0x20000000).
    pub flags: u32,
    /// `szDescription` as stored: UTF-16LE with its terminating NUL.
    pub description: Vec<u8>,
    /// Data cipher.
    pub alg_crypt: CipherAlg,
    /// `dwAlgCryptLen` in bits.
    pub alg_crypt_bits: u32,
    /// Session key salt.
    pub salt: Vec<u8>,
    /// The first HMAC key field (empty on every blob seen).
    pub hmac_key: Vec<u8>,
    /// Session key and sign hash.
    pub alg_hash: HashAlg,
    /// `dwAlgHashLen` in bits.
    pub alg_hash_bits: u32,
    /// The HMAC2 key, input to the sign.
    pub hmac2_key: Vec<u8>,
    /// The encrypted data.
    pub data: Vec<u8>,
    /// The sign.
    pub sign: Vec<u8>,
}

impl Blob {
    /// Reads a blob that occupies exactly `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        const S: &str = "DPAPI blob";
        let mut r = Reader::new(bytes, S);
        // The first 20 bytes lie outside the sign, so they are checked here: a blob with another
        // version or provider is not a DPAPI blob (§2.4).
        let version = r.u32("dwVersion")?;
        if version != 1 {
            return Err(r.invalid("dwVersion", 0, version.into(), "a DPAPI blob has version 1"));
        }
        let provider = r.guid("guidProvider")?;
        if provider != PROVIDER_GUID {
            return Err(r.invalid(
                "guidProvider",
                4,
                0,
                "a DPAPI blob names provider df9d8cd0-1501-11d1-8c7a-00c04fc297eb",
            ));
        }
        let master_key_version = r.u32("dwMasterKeyVersion")?;
        let master_key_guid = r.guid("guidMasterKey")?;
        let flags = r.u32("dwFlags")?;
        let off = r.pos();
        let description = r.len_prefixed("szDescription")?.to_vec();
        if description.len() % 2 != 0 {
            return Err(r.invalid(
                "dwDescriptionLen",
                off,
                description.len() as u64,
                "a UTF-16 description has an even length",
            ));
        }
        let off = r.pos();
        let id = r.u32("algCrypt")?;
        let alg_crypt = CipherAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure: S,
            kind: "cipher",
            id,
            offset: off,
        })?;
        let alg_crypt_bits = r.u32("dwAlgCryptLen")?;
        let salt = r.len_prefixed("pbSalt")?.to_vec();
        let hmac_key = r.len_prefixed("pbHmacKey")?.to_vec();
        let off = r.pos();
        let id = r.u32("algHash")?;
        let alg_hash = HashAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
            structure: S,
            kind: "hash",
            id,
            offset: off,
        })?;
        let alg_hash_bits = r.u32("dwAlgHashLen")?;
        let hmac2_key = r.len_prefixed("pbHmac2Key")?.to_vec();
        let off = r.pos();
        let data = r.len_prefixed("pbData")?.to_vec();
        if data.is_empty() || data.len() % alg_crypt.block_len() != 0 {
            return Err(r.invalid(
                "dwDataLen",
                off,
                data.len() as u64,
                "encrypted data is a non-zero multiple of the cipher block size",
            ));
        }
        let sign = r.len_prefixed("pbSign")?.to_vec();
        r.finish()?;
        Ok(Self {
            version,
            provider,
            master_key_version,
            master_key_guid,
            flags,
            description,
            alg_crypt,
            alg_crypt_bits,
            salt,
            hmac_key,
            alg_hash,
            alg_hash_bits,
            hmac2_key,
            data,
            sign,
        })
    }

    /// Bytes 20 up to the end of `pbData`: the region the sign covers.
    fn signed_region(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.description.len() + self.data.len());
        out.put_u32(self.master_key_version);
        out.put_guid(&self.master_key_guid);
        out.put_u32(self.flags);
        out.put_len_prefixed(&self.description);
        out.put_u32(self.alg_crypt.id());
        out.put_u32(self.alg_crypt_bits);
        out.put_len_prefixed(&self.salt);
        out.put_len_prefixed(&self.hmac_key);
        out.put_u32(self.alg_hash.id());
        out.put_u32(self.alg_hash_bits);
        out.put_len_prefixed(&self.hmac2_key);
        out.put_len_prefixed(&self.data);
        out
    }

    /// The blob's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let region = self.signed_region();
        let mut out = Vec::with_capacity(24 + region.len() + self.sign.len());
        out.put_u32(self.version);
        out.put_guid(&self.provider);
        out.extend_from_slice(&region);
        out.put_len_prefixed(&self.sign);
        out
    }

    /// The description as text, without its terminating NUL.
    pub fn description_text(&self) -> String {
        let units: Vec<u16> = self
            .description
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
            .trim_end_matches('\0')
            .to_owned()
    }

    /// `HMAC-H(key, first || extra…)` in the given form (§1.5).
    fn keyed_hash(&self, form: HmacForm, mkh: &[u8], first: &[u8], extra: &[&[u8]]) -> SecretBytes {
        let d = self.alg_hash.digest();
        match form {
            HmacForm::OuterExtra => crypto::hmac_outer_extra(d, mkh, first, extra),
            HmacForm::Rfc => {
                let mut parts = vec![first];
                parts.extend_from_slice(extra);
                crypto::hmac(d, mkh, &parts)
            }
        }
    }

    /// The form Windows uses: the non-RFC one for SHA-1 blobs whenever there is extra data (the
    /// sign always has some), RFC HMAC otherwise (§1.5, §8.2).
    fn windows_form(&self, has_extra: bool) -> HmacForm {
        if self.alg_hash.digest() == Digest::Sha1 && has_extra {
            HmacForm::OuterExtra
        } else {
            HmacForm::Rfc
        }
    }

    fn data_key(&self, form: HmacForm, mkh: &[u8], entropy: &[u8]) -> SecretBytes {
        let session = self.keyed_hash(form, mkh, &self.salt, &[entropy]);
        crypto::derive_key(self.alg_hash.digest(), &session, self.alg_crypt.key_len())
    }

    fn compute_sign(&self, form: HmacForm, mkh: &[u8], entropy: &[u8]) -> SecretBytes {
        let region = self.signed_region();
        self.keyed_hash(form, mkh, &self.hmac2_key, &[entropy, &region])
    }

    /// Decrypts the data with the master key and checks the sign. `entropy` is the optional
    /// entropy (`&[]` for none).
    ///
    /// Named choice: a blob whose session key or sign uses the other HMAC form than Windows'
    /// (impacket and pypykatz write SHA-1 blobs with entropy that way, §8.2) is accepted too, as
    /// dpapick3 and impacket accept both. The sign is keyed by the master key in either form, so
    /// this opens no way to tampering; protect always writes Windows' form.
    pub fn open(&self, master_key: &MasterKey, entropy: &[u8]) -> Result<SecretBytes, BlobError> {
        let mkh = master_key.sha1();
        let session_form = self.windows_form(!entropy.is_empty());
        // Without entropy both session key forms are the same computation.
        let sessions: &[HmacForm] = if entropy.is_empty() {
            &[session_form]
        } else {
            &[session_form, session_form.other()]
        };
        let iv = vec![0u8; self.alg_crypt.block_len()];
        let mut result = Err(BlobError::BadPadding);
        for &session in sessions {
            let key = self.data_key(session, &mkh, entropy);
            let Ok(plain) =
                crypto::cbc_decrypt(self.alg_crypt, &key, &iv, &self.data, Padding::Pkcs7)
            else {
                continue;
            };
            let sign_form = self.windows_form(true);
            if [sign_form, sign_form.other()]
                .into_iter()
                .any(|form| crypto::ct_eq(&self.compute_sign(form, &mkh, entropy), &self.sign))
            {
                return Ok(plain);
            }
            result = Err(BlobError::BadSign);
        }
        result
    }

    /// Protects `plaintext` with explicit salt and HMAC2 key (for byte-identical rebuilds).
    #[allow(clippy::too_many_arguments)] // mirrors the blob's inputs one for one
    pub fn seal_with(
        master_key: &MasterKey,
        master_key_guid: Uuid,
        plaintext: &[u8],
        entropy: &[u8],
        description: &str,
        flags: u32,
        policy: &BlobPolicy,
        salt: Vec<u8>,
        hmac2_key: Vec<u8>,
    ) -> Self {
        let mut description: Vec<u8> = crypto::utf16le(description);
        description.extend_from_slice(&[0, 0]);
        let mut blob = Self {
            version: 1,
            provider: PROVIDER_GUID,
            master_key_version: 1,
            master_key_guid,
            flags,
            description,
            alg_crypt: policy.alg_crypt,
            alg_crypt_bits: policy.alg_crypt_bits,
            salt,
            hmac_key: vec![],
            alg_hash: policy.alg_hash,
            alg_hash_bits: policy.alg_hash.bits(),
            hmac2_key,
            data: vec![],
            sign: vec![],
        };
        let mkh = master_key.sha1();
        let key = blob.data_key(blob.windows_form(!entropy.is_empty()), &mkh, entropy);
        let iv = vec![0u8; blob.alg_crypt.block_len()];
        // Key and IV sizes come from the cipher itself, so encryption cannot fail.
        blob.data = crypto::cbc_encrypt(blob.alg_crypt, &key, &iv, plaintext, Padding::Pkcs7)
            .unwrap_or_default();
        blob.sign = blob
            .compute_sign(blob.windows_form(true), &mkh, entropy)
            .to_vec();
        blob
    }

    /// Protects `plaintext`, drawing the salt and HMAC2 key from `rng`.
    #[allow(clippy::too_many_arguments)] // CryptProtectData's own inputs plus key and rng
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        master_key: &MasterKey,
        master_key_guid: Uuid,
        plaintext: &[u8],
        entropy: &[u8],
        description: &str,
        flags: u32,
        policy: &BlobPolicy,
    ) -> Self {
        let mut salt = Zeroizing::new(vec![0u8; policy.salt_len]);
        rng.fill_bytes(&mut salt);
        let mut hmac2 = Zeroizing::new(vec![0u8; policy.salt_len]);
        rng.fill_bytes(&mut hmac2);
        Self::seal_with(
            master_key,
            master_key_guid,
            plaintext,
            entropy,
            description,
            flags,
            policy,
            salt.to_vec(),
            hmac2.to_vec(),
        )
    }
}
