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

use std::ops::Range;

use uuid::Uuid;

use super::alg::{CipherAlg, Digest, HashAlg};
use super::crypto::{self, CbcChain, KeyedHash, SecretBytes};
use super::masterkey::MasterKey;
use super::reader::{FormatError, Reader, Writer, len_u32};

pub mod stream;

/// Bytes the streaming paths ([`stream`]) read, encrypt or decrypt, and hash at a time: their
/// memory bound.
const CHUNK: usize = 16 << 10;

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

/// What reads a blob's fields in order: the bytes of a whole blob ([`Reader`]) or a stream
/// (`stream`), so both check the header the same way.
pub(crate) trait FieldSource {
    /// The reader's error; every format error converts into it.
    type Error: From<FormatError>;
    /// A little-endian DWORD.
    fn u32(&mut self, field: &'static str) -> Result<u32, Self::Error>;
    /// A GUID in its Windows byte order.
    fn guid(&mut self, field: &'static str) -> Result<Uuid, Self::Error>;
    /// A DWORD length and that many bytes.
    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, Self::Error>;
    /// Bytes read so far.
    fn offset(&self) -> usize;
}

impl FieldSource for Reader<'_> {
    type Error = FormatError;
    fn u32(&mut self, field: &'static str) -> Result<u32, FormatError> {
        Reader::u32(self, field)
    }
    fn guid(&mut self, field: &'static str) -> Result<Uuid, FormatError> {
        Reader::guid(self, field)
    }
    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, FormatError> {
        self.len_prefixed(field).map(<[u8]>::to_vec)
    }
    fn offset(&self) -> usize {
        self.pos()
    }
}

/// A blob's field holding a value its format does not allow.
fn invalid(field: &'static str, offset: usize, value: u64, reason: &'static str) -> FormatError {
    FormatError::InvalidValue {
        structure: BLOB,
        field,
        offset,
        value,
        reason,
    }
}

/// The name errors give a blob.
const BLOB: &str = "DPAPI blob";

/// Reads a blob's fields from `dwVersion` to `pbHmac2Key` with every check [`Blob::parse`]
/// makes; `data` and `sign` are left empty for the caller.
pub(crate) fn read_header<R: FieldSource>(r: &mut R) -> Result<Blob, R::Error> {
    // The first 20 bytes lie outside the sign, so they are checked here: a blob with another
    // version or provider is not a DPAPI blob (§2.4).
    let version = r.u32("dwVersion")?;
    if version != 1 {
        return Err(invalid("dwVersion", 0, version.into(), "a DPAPI blob has version 1").into());
    }
    let provider = r.guid("guidProvider")?;
    if provider != PROVIDER_GUID {
        return Err(invalid(
            "guidProvider",
            4,
            0,
            "a DPAPI blob names provider df9d8cd0-1501-11d1-8c7a-00c04fc297eb",
        )
        .into());
    }
    let master_key_version = r.u32("dwMasterKeyVersion")?;
    let master_key_guid = r.guid("guidMasterKey")?;
    let flags = r.u32("dwFlags")?;
    let off = r.offset();
    let description = r.bytes("szDescription")?;
    if description.len() % 2 != 0 {
        return Err(invalid(
            "dwDescriptionLen",
            off,
            description.len() as u64,
            "a UTF-16 description has an even length",
        )
        .into());
    }
    let off = r.offset();
    let id = r.u32("algCrypt")?;
    let alg_crypt = CipherAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
        structure: BLOB,
        kind: "cipher",
        id,
        offset: off,
    })?;
    let alg_crypt_bits = r.u32("dwAlgCryptLen")?;
    let salt = r.bytes("pbSalt")?;
    let hmac_key = r.bytes("pbHmacKey")?;
    let off = r.offset();
    let id = r.u32("algHash")?;
    let alg_hash = HashAlg::from_id(id).ok_or(FormatError::UnknownAlgorithm {
        structure: BLOB,
        kind: "hash",
        id,
        offset: off,
    })?;
    let alg_hash_bits = r.u32("dwAlgHashLen")?;
    let hmac2_key = r.bytes("pbHmac2Key")?;
    Ok(Blob {
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
        data: vec![],
        sign: vec![],
    })
}

impl Blob {
    /// Reads a blob that occupies exactly `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, BLOB);
        let mut blob = read_header(&mut r)?;
        let off = r.pos();
        let data = r.len_prefixed("pbData")?.to_vec();
        if data.is_empty() || data.len() % blob.alg_crypt.block_len() != 0 {
            return Err(r.invalid(
                "dwDataLen",
                off,
                data.len() as u64,
                "encrypted data is a non-zero multiple of the cipher block size",
            ));
        }
        let sign = r.len_prefixed("pbSign")?.to_vec();
        r.finish()?;
        blob.data = data;
        blob.sign = sign;
        Ok(blob)
    }

    /// Bytes of the signed region before the data: from `dwMasterKeyVersion` (byte 20) to
    /// `dwDataLen`, for `data_len` bytes of data.
    fn write_signed_header(&self, out: &mut Vec<u8>, data_len: usize) {
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
        out.put_u32(len_u32(data_len));
    }

    /// Length of the whole blob with `data_len` bytes of data and a `sign_len`-byte sign.
    fn encoded_len(&self, data_len: usize, sign_len: usize) -> usize {
        20 + 64
            + self.description.len()
            + self.salt.len()
            + self.hmac_key.len()
            + self.hmac2_key.len()
            + data_len
            + 4
            + sign_len
    }

    /// The blob's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len(self.data.len(), self.sign.len()));
        out.put_u32(self.version);
        out.put_guid(&self.provider);
        self.write_signed_header(&mut out, self.data.len());
        out.extend_from_slice(&self.data);
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

    /// `HMAC-H(key, first || …)` in the given form (§1.5), ready for the rest of the message.
    fn keyed_hasher(&self, form: HmacForm, mkh: &[u8], first: &[u8]) -> KeyedHash {
        let d = self.alg_hash.digest();
        match form {
            HmacForm::OuterExtra => KeyedHash::outer_extra(d, mkh, first),
            HmacForm::Rfc => {
                let mut h = KeyedHash::rfc(d, mkh);
                h.update(first);
                h
            }
        }
    }

    /// The sign's keyed hash fed with everything before the signed region: `hmac2Key`, then the
    /// entropy (§1.5). The region follows.
    fn signer(&self, form: HmacForm, mkh: &[u8], entropy: &[u8]) -> KeyedHash {
        let mut h = self.keyed_hasher(form, mkh, &self.hmac2_key);
        h.update(entropy);
        h
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
        let mut session = self.keyed_hasher(form, mkh, &self.salt);
        session.update(entropy);
        crypto::derive_key(
            self.alg_hash.digest(),
            &session.finalize(),
            self.alg_crypt.key_len(),
        )
    }

    /// The sign over this blob's region, fed where the bytes lie (no copy of the data).
    fn compute_sign(&self, form: HmacForm, mkh: &[u8], entropy: &[u8]) -> SecretBytes {
        let mut h = self.signer(form, mkh, entropy);
        let mut header = Vec::with_capacity(self.encoded_len(0, 0));
        self.write_signed_header(&mut header, self.data.len());
        h.update(&header);
        h.update(&self.data);
        h.finalize()
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
        let sign_form = self.windows_form(true);
        let block = self.alg_crypt.block_len();
        let iv = vec![0u8; block];
        // Whether the sign in Windows' form matches: computed during the first decryption, in the
        // same pass over the ciphertext (`CbcChain::decrypt_signing`; the sign does not depend on
        // the session key).
        let mut windows_sign: Option<bool> = None;
        let mut result = Err(BlobError::BadPadding);
        for &session in sessions {
            let key = self.data_key(session, &mkh, entropy);
            let Ok(mut chain) = CbcChain::decryptor(self.alg_crypt, &key, &iv) else {
                continue;
            };
            let mut plain = SecretBytes::zeroed(self.data.len());
            let mut signer = match windows_sign {
                None => {
                    let mut h = self.signer(sign_form, &mkh, entropy);
                    let mut header = Vec::with_capacity(self.encoded_len(0, 0));
                    self.write_signed_header(&mut header, self.data.len());
                    h.update(&header);
                    Some(h)
                }
                Some(_) => None,
            };
            let decrypted = match signer.as_mut() {
                Some(h) => chain.decrypt_signing(&self.data, &mut plain, h),
                None => chain.apply_b2b(&self.data, &mut plain),
            }
            .is_ok();
            if let Some(h) = signer {
                windows_sign = Some(crypto::ct_eq(&h.finalize(), &self.sign));
            }
            let Some(len) = decrypted
                .then(|| crypto::pkcs7_unpad_len(&plain, block))
                .flatten()
            else {
                continue;
            };
            if windows_sign == Some(true)
                || crypto::ct_eq(
                    &self.compute_sign(sign_form.other(), &mkh, entropy),
                    &self.sign,
                )
            {
                plain.truncate(len);
                return Ok(plain);
            }
            result = Err(BlobError::BadSign);
        }
        result
    }

    /// The blob of these algorithms and keys, with no data and no sign yet.
    fn template(
        master_key_guid: Uuid,
        description: &str,
        flags: u32,
        policy: &BlobPolicy,
        salt: Vec<u8>,
        hmac2_key: Vec<u8>,
    ) -> Self {
        let mut description: Vec<u8> = crypto::utf16le(description);
        description.extend_from_slice(&[0, 0]);
        Self {
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
        }
    }

    /// Seals `plaintext` under this template's fields into the blob's bytes, in one buffer sized
    /// up front: the plaintext is copied once into place, padded, and CBC-encrypted in place in
    /// one pass with the sign over it (`CbcChain::encrypt_signing`). Returns the bytes and where
    /// the data and the sign lie in them.
    fn seal_layout(
        &self,
        master_key: &MasterKey,
        plaintext: &[u8],
        entropy: &[u8],
    ) -> (Vec<u8>, Range<usize>, Range<usize>) {
        let block = self.alg_crypt.block_len();
        let data_len = crypto::pkcs7_len(plaintext.len(), block);
        let sign_len = self.alg_hash.digest().output_len();
        let mut out = Vec::with_capacity(self.encoded_len(data_len, sign_len));
        out.put_u32(self.version);
        out.put_guid(&self.provider);
        self.write_signed_header(&mut out, data_len);
        let start = out.len();
        crypto::pkcs7_append(&mut out, plaintext, block);

        let mkh = master_key.sha1();
        let key = self.data_key(self.windows_form(!entropy.is_empty()), &mkh, entropy);
        let iv = vec![0u8; block];
        let mut signer = self.signer(self.windows_form(true), &mkh, entropy);
        let (head, data) = out.split_at_mut(start);
        signer.update(head.get(20..).unwrap_or_default());
        // The key has the cipher's key length and the IV its block length, and the data is whole
        // blocks, so the chain cannot refuse them.
        if let Ok(mut chain) = CbcChain::encryptor(self.alg_crypt, &key, &iv) {
            let _whole_blocks = chain.encrypt_signing(data, &mut signer);
        }
        let sign = signer.finalize();
        let end = out.len();
        out.put_len_prefixed(&sign);
        (out, start..end, end + 4..end + 4 + sign.len())
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
        let mut blob = Self::template(master_key_guid, description, flags, policy, salt, hmac2_key);
        let (bytes, data, sign) = blob.seal_layout(master_key, plaintext, entropy);
        blob.data = bytes.get(data).unwrap_or_default().to_vec();
        blob.sign = bytes.get(sign).unwrap_or_default().to_vec();
        blob
    }

    /// [`Blob::seal_with`] straight to the blob's bytes: one buffer, no copy of the ciphertext.
    #[allow(clippy::too_many_arguments)] // mirrors the blob's inputs one for one
    pub fn seal_bytes_with(
        master_key: &MasterKey,
        master_key_guid: Uuid,
        plaintext: &[u8],
        entropy: &[u8],
        description: &str,
        flags: u32,
        policy: &BlobPolicy,
        salt: Vec<u8>,
        hmac2_key: Vec<u8>,
    ) -> Vec<u8> {
        Self::template(master_key_guid, description, flags, policy, salt, hmac2_key)
            .seal_layout(master_key, plaintext, entropy)
            .0
    }

    /// [`Blob::seal`] straight to the blob's bytes (what `CryptProtectData` returns): one buffer,
    /// no copy of the ciphertext.
    #[allow(clippy::too_many_arguments)] // CryptProtectData's own inputs plus key and rng
    pub fn seal_bytes<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        master_key: &MasterKey,
        master_key_guid: Uuid,
        plaintext: &[u8],
        entropy: &[u8],
        description: &str,
        flags: u32,
        policy: &BlobPolicy,
    ) -> Vec<u8> {
        let (salt, hmac2) = draw_keys(rng, policy);
        Self::seal_bytes_with(
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
        let (salt, hmac2) = draw_keys(rng, policy);
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

/// A new blob's salt and HMAC2 key, in that order from `rng`.
fn draw_keys<R: rand_core::CryptoRng + ?Sized>(
    rng: &mut R,
    policy: &BlobPolicy,
) -> (SecretBytes, SecretBytes) {
    let mut salt = SecretBytes::zeroed(policy.salt_len);
    rng.fill_bytes(&mut salt);
    let mut hmac2 = SecretBytes::zeroed(policy.salt_len);
    rng.fill_bytes(&mut hmac2);
    (salt, hmac2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Padding, SIGN_RUN};
    use proptest::prelude::*;

    /// The blob the way §1.5 spells it, with every step in its own buffer: the reference the
    /// one-buffer, chunked path must equal byte for byte.
    fn reference_bytes(
        mk: &MasterKey,
        plaintext: &[u8],
        entropy: &[u8],
        policy: &BlobPolicy,
        salt: &[u8],
        hmac2: &[u8],
    ) -> Vec<u8> {
        let d = policy.alg_hash.digest();
        let mkh = mk.sha1();
        let sha1_extra = d == Digest::Sha1;
        let session = if sha1_extra && !entropy.is_empty() {
            crypto::hmac_outer_extra(d, &mkh, salt, &[entropy])
        } else {
            crypto::hmac(d, &mkh, &[salt, entropy])
        };
        let key = crypto::derive_key(d, &session, policy.alg_crypt.key_len());
        let iv = vec![0u8; policy.alg_crypt.block_len()];
        let data =
            crypto::cbc_encrypt(policy.alg_crypt, &key, &iv, plaintext, Padding::Pkcs7).unwrap();
        let mut region = Vec::new();
        region.put_u32(1);
        region.put_guid(&Uuid::from_u128(7));
        region.put_u32(0);
        let mut desc = crypto::utf16le("d");
        desc.extend_from_slice(&[0, 0]);
        region.put_len_prefixed(&desc);
        region.put_u32(policy.alg_crypt.id());
        region.put_u32(policy.alg_crypt_bits);
        region.put_len_prefixed(salt);
        region.put_len_prefixed(&[]);
        region.put_u32(policy.alg_hash.id());
        region.put_u32(policy.alg_hash.bits());
        region.put_len_prefixed(hmac2);
        region.put_len_prefixed(&data);
        let sign = if sha1_extra {
            crypto::hmac_outer_extra(d, &mkh, hmac2, &[entropy, &region])
        } else {
            crypto::hmac(d, &mkh, &[hmac2, entropy, &region])
        };
        let mut out = Vec::new();
        out.put_u32(1);
        out.put_guid(&PROVIDER_GUID);
        out.extend_from_slice(&region);
        out.put_len_prefixed(&sign);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        /// Sizes around the block boundaries and those of the runs the cipher and the sign take
        /// in turn (`crypto::SIGN_RUN`), both policies, with and without entropy: the one-buffer
        /// path, the struct path and the reference agree, and the blob opens.
        #[test]
        fn one_buffer_seal_equals_reference(
            len in prop_oneof![0usize..100, (SIGN_RUN - 40)..(SIGN_RUN + 40), (2 * SIGN_RUN - 20)..(2 * SIGN_RUN + 70)],
            entropy in proptest::collection::vec(any::<u8>(), 0..20),
            xp in any::<bool>(),
            fill in any::<u8>(),
        ) {
            let policy = if xp { BlobPolicy::WINDOWS_XP } else { BlobPolicy::WINDOWS_10 };
            let mk = MasterKey::from_bytes([fill ^ 0x5a; 64]);
            let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ fill).collect();
            let (salt, hmac2) = (vec![fill; policy.salt_len], vec![fill ^ 1; policy.salt_len]);
            let bytes = Blob::seal_bytes_with(
                &mk, Uuid::from_u128(7), &plain, &entropy, "d", 0, &policy, salt.clone(), hmac2.clone(),
            );
            prop_assert_eq!(&bytes, &reference_bytes(&mk, &plain, &entropy, &policy, &salt, &hmac2));
            let blob = Blob::seal_with(
                &mk, Uuid::from_u128(7), &plain, &entropy, "d", 0, &policy, salt, hmac2,
            );
            prop_assert_eq!(&blob.to_bytes(), &bytes);
            let parsed = Blob::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed.open(&mk, &entropy).unwrap()[..], &plain[..]);
        }
    }

    #[test]
    fn wrong_entropy_and_tampering_are_refused() {
        let mk = MasterKey::from_bytes([3; 64]);
        let plain = vec![9u8; 3 * SIGN_RUN + 5];
        let bytes = Blob::seal_bytes_with(
            &mk,
            Uuid::from_u128(7),
            &plain,
            b"e",
            "d",
            0,
            &BlobPolicy::WINDOWS_10,
            vec![1; 32],
            vec![2; 32],
        );
        let blob = Blob::parse(&bytes).unwrap();
        assert!(blob.open(&mk, b"f").is_err());
        assert!(blob.open(&MasterKey::from_bytes([4; 64]), b"e").is_err());
        let mut tampered = blob.clone();
        tampered.data[100] ^= 1;
        assert_eq!(tampered.open(&mk, b"e"), Err(BlobError::BadSign));
        let mut bad_pad = blob.clone();
        let n = bad_pad.data.len();
        bad_pad.data[n - 1] ^= 0x80;
        assert_eq!(bad_pad.open(&mk, b"e"), Err(BlobError::BadPadding));
        let mut empty = blob;
        empty.data.clear();
        assert_eq!(empty.open(&mk, b"e"), Err(BlobError::BadPadding));
    }
}
