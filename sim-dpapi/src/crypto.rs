//! The primitives DPAPI builds on: hashes, HMAC (RFC 2104 and the non-RFC variant of SHA-1
//! blobs), `CryptDeriveKey`, and CBC with or without PKCS#7 padding (AES-256 through
//! `aes_cbc_kernel`, AES-NI loops chosen at run time; 3DES through the `des` and `cbc` crates).
//!
//! Follows `docs/dpapi.md` §1.4 (master key blocks: CBC without padding) and §1.5 (blobs:
//! session key, `CryptDeriveKey` expansion, CBC with IV 0 and PKCS#7, the non-RFC HMAC).

use aes_cbc_kernel::{Aes256CbcDec, Aes256CbcEnc};
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha512_kernel::{HmacSha512, Sha512};
use zeroize::Zeroizing;

use super::alg::{CipherAlg, Digest};

pub use crate::secret::SecretBytes;

/// `H(parts[0] || parts[1] || …)`.
pub fn hash(d: Digest, parts: &[&[u8]]) -> SecretBytes {
    fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut h = D::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().to_vec()
    }
    SecretBytes::new(match d {
        Digest::Sha1 => run::<Sha1>(parts),
        Digest::Sha512 => {
            let mut h = Sha512::new();
            for p in parts {
                h.update(p);
            }
            finish_512(h.finalize())
        }
    })
}

/// A SHA-512 digest as the `Vec` the callers keep, the stack copy wiped.
fn finish_512(mut d: [u8; 64]) -> Vec<u8> {
    let v = d.to_vec();
    zeroize::Zeroize::zeroize(&mut d);
    v
}

/// RFC 2104 `HMAC-H(key, parts[0] || parts[1] || …)`.
pub fn hmac(d: Digest, key: &[u8], parts: &[&[u8]]) -> SecretBytes {
    let mut m = KeyedHash::rfc(d, key);
    for p in parts {
        m.update(p);
    }
    m.finalize()
}

/// The non-RFC HMAC of XP-era SHA-1 blobs (§1.5):
/// `H((K^opad) || H((K^ipad) || inner) || outer_extra…)`, where the extra data goes into the
/// *outer* hash. `K` is the key zero-padded to the hash block size.
pub fn hmac_outer_extra(d: Digest, key: &[u8], inner: &[u8], outer_extra: &[&[u8]]) -> SecretBytes {
    let mut h = KeyedHash::outer_extra(d, key, inner);
    for p in outer_extra {
        h.update(p);
    }
    h.finalize()
}

/// A keyed hash fed piece by piece, in either of the two forms DPAPI blobs use (§1.5): RFC 2104
/// HMAC, or the non-RFC form of [`hmac_outer_extra`] whose extra data goes into the outer hash.
/// Lets a blob's sign run over the data where it lies, chunk by chunk, without first copying the
/// signed region into one buffer. SHA-512 runs on `sha512_kernel`'s bulk compression (the AVX2 +
/// BMI2 build where the CPU has both), which is what bounds a blob's speed.
pub struct KeyedHash(KeyedState);

// One per blob operation, on the stack: boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum KeyedState {
    Sha1Rfc(Hmac<Sha1>),
    Sha512Rfc(HmacSha512),
    Sha1Outer(Sha1),
    Sha512Outer(Sha512),
}

impl std::fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHash(..)")
    }
}

impl KeyedHash {
    /// RFC 2104 `HMAC-H(key, …)`.
    pub fn rfc(d: Digest, key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        Self(match d {
            Digest::Sha1 => KeyedState::Sha1Rfc(
                <Hmac<Sha1> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!()),
            ),
            Digest::Sha512 => KeyedState::Sha512Rfc(HmacSha512::new(key)),
        })
    }

    /// The non-RFC form `H((K^opad) || H((K^ipad) || inner) || …)`: what is fed afterwards goes
    /// into the outer hash, as in [`hmac_outer_extra`].
    pub fn outer_extra(d: Digest, key: &[u8], inner: &[u8]) -> Self {
        let block = d.block_len();
        let mut k = Zeroizing::new(if key.len() > block {
            hash(d, &[key]).to_vec()
        } else {
            key.to_vec()
        });
        k.resize(block, 0);
        let ipad = SecretBytes::new(k.iter().map(|b| b ^ 0x36).collect());
        let opad = SecretBytes::new(k.iter().map(|b| b ^ 0x5c).collect());
        let inner_hash = hash(d, &[&ipad, inner]);
        Self(match d {
            Digest::Sha1 => {
                let mut h = Sha1::default();
                sha2::Digest::update(&mut h, &opad);
                sha2::Digest::update(&mut h, &inner_hash);
                KeyedState::Sha1Outer(h)
            }
            Digest::Sha512 => {
                let mut h = Sha512::new();
                h.update(&opad);
                h.update(&inner_hash);
                KeyedState::Sha512Outer(h)
            }
        })
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            KeyedState::Sha1Rfc(m) => m.update(data),
            KeyedState::Sha512Rfc(m) => m.update(data),
            KeyedState::Sha1Outer(h) => sha2::Digest::update(h, data),
            KeyedState::Sha512Outer(h) => h.update(data),
        }
    }

    /// The keyed hash of everything fed.
    pub fn finalize(self) -> SecretBytes {
        SecretBytes::new(match self.0 {
            KeyedState::Sha1Rfc(m) => m.finalize().into_bytes().to_vec(),
            KeyedState::Sha512Rfc(m) => finish_512(m.finalize()),
            KeyedState::Sha1Outer(h) => sha2::Digest::finalize(h).to_vec(),
            KeyedState::Sha512Outer(h) => finish_512(h.finalize()),
        })
    }
}

/// `CryptDeriveKey`: the session key truncated to `key_len`, or, when it is too short (SHA-1 for
/// 3DES), expanded to `H(ipad ^ K) || H(opad ^ K)` over the hash block size (§1.5).
pub fn derive_key(d: Digest, session_key: &[u8], key_len: usize) -> SecretBytes {
    let mut sk = SecretBytes::new(if session_key.len() > d.block_len() {
        hmac(d, session_key, &[]).to_vec()
    } else {
        session_key.to_vec()
    });
    if sk.len() >= key_len {
        sk.truncate(key_len);
        return sk;
    }
    sk.resize(d.block_len(), 0);
    let ipad = SecretBytes::new(sk.iter().map(|b| b ^ 0x36).collect());
    let opad = SecretBytes::new(sk.iter().map(|b| b ^ 0x5c).collect());
    let mut out = hash(d, &[&ipad]);
    out.extend_from_slice(&hash(d, &[&opad]));
    out.truncate(key_len);
    out
}

/// Padding of a CBC operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the data is a whole number of blocks (master key blocks, CREDHIST entries).
    None,
    /// PKCS#7, a full block when already aligned (blob data).
    Pkcs7,
}

/// CBC decryption failed: the key or IV has the wrong size, the ciphertext is not a whole number
/// of blocks, or the PKCS#7 padding is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CbcError;

/// CBC-encrypts `data`. `key` and `iv` must have the cipher's sizes; with [`Padding::None`] the
/// data must be block-aligned.
pub fn cbc_encrypt(
    alg: CipherAlg,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    padding: Padding,
) -> Result<Vec<u8>, CbcError> {
    fn run<C>(key: &[u8], iv: &[u8], data: &[u8], padding: Padding) -> Result<Vec<u8>, CbcError>
    where
        C: cbc::cipher::BlockCipherEncrypt + cbc::cipher::KeyInit,
    {
        let enc = cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|_| CbcError)?;
        match padding {
            Padding::Pkcs7 => Ok(enc.encrypt_padded_vec::<Pkcs7>(data)),
            Padding::None => {
                let mut buf = data.to_vec();
                let len = buf.len();
                enc.encrypt_padded::<NoPadding>(&mut buf, len)
                    .map_err(|_| CbcError)?;
                Ok(buf)
            }
        }
    }
    match alg {
        CipherAlg::TripleDes => run::<des::TdesEde3>(key, iv, data, padding),
        CipherAlg::Aes256 => {
            let (key, iv) = aes_key_iv(key, iv)?;
            let mut buf = Vec::with_capacity(pkcs7_len(data.len(), 16));
            match padding {
                Padding::Pkcs7 => pkcs7_append(&mut buf, data, 16),
                Padding::None => buf.extend_from_slice(data),
            }
            Aes256CbcEnc::new(key, iv)
                .encrypt_in_place(&mut buf)
                .map_err(|_| CbcError)?;
            Ok(buf)
        }
    }
}

/// CBC-decrypts `data`; see [`cbc_encrypt`].
pub fn cbc_decrypt(
    alg: CipherAlg,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    padding: Padding,
) -> Result<SecretBytes, CbcError> {
    fn run<C>(key: &[u8], iv: &[u8], data: &[u8], padding: Padding) -> Result<Vec<u8>, CbcError>
    where
        C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
    {
        let dec = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| CbcError)?;
        match padding {
            Padding::Pkcs7 => dec.decrypt_padded_vec::<Pkcs7>(data).map_err(|_| CbcError),
            Padding::None => {
                let mut buf = data.to_vec();
                dec.decrypt_padded::<NoPadding>(&mut buf)
                    .map_err(|_| CbcError)?;
                Ok(buf)
            }
        }
    }
    match alg {
        CipherAlg::TripleDes => run::<des::TdesEde3>(key, iv, data, padding).map(SecretBytes::new),
        CipherAlg::Aes256 => {
            let mut out = SecretBytes::zeroed(data.len());
            let (key, iv) = aes_key_iv(key, iv)?;
            Aes256CbcDec::new(key, iv)
                .decrypt_to(data, &mut out)
                .map_err(|_| CbcError)?;
            if padding == Padding::Pkcs7 {
                let len = pkcs7_unpad_len(&out, 16).ok_or(CbcError)?;
                out.truncate(len);
            }
            Ok(out)
        }
    }
}

/// A CBC chain that continues across calls, for data processed a chunk at a time (blobs: each
/// chunk is encrypted in place and hashed while it is still in the cache, and a stream never
/// holds more than one chunk). Padding is the caller's: see [`pkcs7_pad`] and [`pkcs7_len`].
pub struct CbcChain(ChainState);

enum ChainState {
    Aes256Enc(Aes256CbcEnc),
    Aes256Dec(Aes256CbcDec),
    TdesEnc(cbc::Encryptor<des::TdesEde3>),
    TdesDec(cbc::Decryptor<des::TdesEde3>),
}

impl std::fmt::Debug for CbcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CbcChain(..)")
    }
}

fn blocks_in_place<C, F>(buf: &mut [u8], f: F) -> Result<(), CbcError>
where
    C: cbc::cipher::BlockSizeUser,
    F: FnOnce(cbc::cipher::InOutBuf<'_, '_, cbc::cipher::Block<C>>),
{
    blocks_b2b::<C, _>(cbc::cipher::InOutBuf::from(buf), f)
}

impl CbcChain {
    /// An encrypting chain. `key` and `iv` must have the cipher's sizes.
    pub fn encryptor(alg: CipherAlg, key: &[u8], iv: &[u8]) -> Result<Self, CbcError> {
        Ok(Self(match alg {
            CipherAlg::Aes256 => {
                let (key, iv) = aes_key_iv(key, iv)?;
                ChainState::Aes256Enc(Aes256CbcEnc::new(key, iv))
            }
            CipherAlg::TripleDes => {
                ChainState::TdesEnc(cbc::Encryptor::new_from_slices(key, iv).map_err(|_| CbcError)?)
            }
        }))
    }

    /// A decrypting chain. `key` and `iv` must have the cipher's sizes.
    pub fn decryptor(alg: CipherAlg, key: &[u8], iv: &[u8]) -> Result<Self, CbcError> {
        Ok(Self(match alg {
            CipherAlg::Aes256 => {
                let (key, iv) = aes_key_iv(key, iv)?;
                ChainState::Aes256Dec(Aes256CbcDec::new(key, iv))
            }
            CipherAlg::TripleDes => {
                ChainState::TdesDec(cbc::Decryptor::new_from_slices(key, iv).map_err(|_| CbcError)?)
            }
        }))
    }

    /// Encrypts or decrypts `buf` in place, continuing the chain. `buf` must be a whole number of
    /// blocks.
    pub fn apply(&mut self, buf: &mut [u8]) -> Result<(), CbcError> {
        match &mut self.0 {
            ChainState::Aes256Enc(c) => c.encrypt_in_place(buf).map_err(|_| CbcError),
            ChainState::Aes256Dec(c) => c.decrypt_in_place(buf).map_err(|_| CbcError),
            ChainState::TdesEnc(c) => {
                blocks_in_place::<des::TdesEde3, _>(buf, |b| c.encrypt_blocks_inout(b))
            }
            ChainState::TdesDec(c) => {
                blocks_in_place::<des::TdesEde3, _>(buf, |b| c.decrypt_blocks_inout(b))
            }
        }
    }
}

impl CbcChain {
    /// Like [`CbcChain::apply`], from `input` into `out` (of the same length).
    pub fn apply_b2b(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), CbcError> {
        let state = match &mut self.0 {
            ChainState::Aes256Dec(c) => return c.decrypt_to(input, out).map_err(|_| CbcError),
            ChainState::Aes256Enc(c) => return c.encrypt_to(input, out).map_err(|_| CbcError),
            other => other,
        };
        let buf = cbc::cipher::InOutBuf::new(input, out).map_err(|_| CbcError)?;
        match state {
            ChainState::TdesEnc(c) => {
                blocks_b2b::<des::TdesEde3, _>(buf, |b| c.encrypt_blocks_inout(b))
            }
            ChainState::TdesDec(c) => {
                blocks_b2b::<des::TdesEde3, _>(buf, |b| c.decrypt_blocks_inout(b))
            }
            // Returned above.
            ChainState::Aes256Dec(_) | ChainState::Aes256Enc(_) => Err(CbcError),
        }
    }
}

/// Bytes a chain encrypts or decrypts before the sign reads them, where the two are not
/// stitched: small enough that the sign finds them in the cache the cipher just wrote them to.
pub(crate) const SIGN_RUN: usize = 16 << 10;

impl CbcChain {
    /// Encrypts `buf` in place (as [`CbcChain::apply`] on an encrypting chain) and feeds the
    /// ciphertext to `sign`. An AES-256 chain with a SHA-512 sign runs as one stitched pass
    /// (`sha512_kernel`'s `update_encrypting`: the blocks are encrypted while the ones before
    /// them are hashed, so the chain's latency hides in the hash's rounds); any other pair, one
    /// after the other, a cache-sized run at a time.
    /// A partial block is refused with `buf` unchanged and `sign` fed all of it.
    pub fn encrypt_signing(
        &mut self,
        buf: &mut [u8],
        sign: &mut KeyedHash,
    ) -> Result<(), CbcError> {
        if !buf.len().is_multiple_of(self.block_len()) {
            sign.update(buf);
            return Err(CbcError);
        }
        // Whole blocks from here on, which no path refuses.
        if let ChainState::Aes256Enc(enc) = &mut self.0 {
            match &mut sign.0 {
                KeyedState::Sha512Rfc(m) => {
                    return m.update_encrypting(enc, buf).map_err(|_| CbcError);
                }
                KeyedState::Sha512Outer(h) => {
                    return h.update_encrypting(enc, buf).map_err(|_| CbcError);
                }
                KeyedState::Sha1Rfc(_) | KeyedState::Sha1Outer(_) => {}
            }
        }
        for run in buf.chunks_mut(SIGN_RUN) {
            self.apply(run)?;
            sign.update(run);
        }
        Ok(())
    }

    /// The cipher's block length.
    fn block_len(&self) -> usize {
        match &self.0 {
            ChainState::Aes256Enc(_) | ChainState::Aes256Dec(_) => CipherAlg::Aes256.block_len(),
            ChainState::TdesEnc(_) | ChainState::TdesDec(_) => CipherAlg::TripleDes.block_len(),
        }
    }

    /// Decrypts `input` into `out` (as [`CbcChain::apply_b2b`] on a decrypting chain) and feeds
    /// the ciphertext to `sign`, a cache-sized run at a time (not stitched: decryption is
    /// throughput-bound, and AES-256's wide build decrypting a run before it is hashed measured
    /// faster than one block between the hash's rounds). A partial block or unequal buffers are
    /// refused with `out` unchanged and `sign` fed all of `input`.
    pub fn decrypt_signing(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        sign: &mut KeyedHash,
    ) -> Result<(), CbcError> {
        if input.len() != out.len() || !input.len().is_multiple_of(self.block_len()) {
            sign.update(input);
            return Err(CbcError);
        }
        for (run, o) in input.chunks(SIGN_RUN).zip(out.chunks_mut(SIGN_RUN)) {
            self.apply_b2b(run, o)?;
            sign.update(run);
        }
        Ok(())
    }
}

/// The caller's key and IV slices as AES-256-CBC's (`aes_cbc_kernel` takes arrays), or
/// [`CbcError`] when their sizes are not the cipher's.
fn aes_key_iv<'a>(
    key: &'a [u8],
    iv: &'a [u8],
) -> Result<
    (
        &'a [u8; aes_cbc_kernel::KEY_LEN],
        &'a [u8; aes_cbc_kernel::BLOCK],
    ),
    CbcError,
> {
    Ok((
        key.try_into().map_err(|_| CbcError)?,
        iv.try_into().map_err(|_| CbcError)?,
    ))
}

fn blocks_b2b<'i, 'o, C, F>(buf: cbc::cipher::InOutBuf<'i, 'o, u8>, f: F) -> Result<(), CbcError>
where
    C: cbc::cipher::BlockSizeUser,
    F: FnOnce(cbc::cipher::InOutBuf<'i, 'o, cbc::cipher::Block<C>>),
{
    let (blocks, tail) = buf.into_chunks::<C::BlockSize>();
    if !tail.is_empty() {
        return Err(CbcError);
    }
    f(blocks);
    Ok(())
}

/// Length of `msg_len` bytes after PKCS#7 padding to `block` bytes: always at least one byte of
/// padding, a whole block when already aligned.
pub const fn pkcs7_len(msg_len: usize, block: usize) -> usize {
    (msg_len / block + 1) * block
}

/// Writes the PKCS#7 padding of a `msg_len`-byte message into `tail`, the bytes from `msg_len`
/// to [`pkcs7_len`].
pub fn pkcs7_pad(tail: &mut [u8]) {
    let n = tail.len() as u8;
    tail.fill(n);
}

/// Appends `msg` and its PKCS#7 padding to `block` bytes to `out` ([`pkcs7_len`] bytes in all).
pub fn pkcs7_append(out: &mut Vec<u8>, msg: &[u8], block: usize) {
    let start = out.len();
    out.extend_from_slice(msg);
    out.resize(start + pkcs7_len(msg.len(), block), 0);
    pkcs7_pad(out.get_mut(start + msg.len()..).unwrap_or_default());
}

/// The message length of PKCS#7-padded `data` (a whole number of `block`-byte blocks), or
/// `None` when the padding is invalid.
pub fn pkcs7_unpad_len(data: &[u8], block: usize) -> Option<usize> {
    let &n = data.last()?;
    let n = usize::from(n);
    if n == 0 || n > block || n > data.len() {
        return None;
    }
    let start = data.len() - n;
    data.get(start..)?
        .iter()
        .all(|&b| usize::from(b) == n)
        .then_some(start)
}

/// Constant-time equality of two MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// UTF-16LE code units of `s` as bytes, without a terminator.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// The signs a blob can use: both digests, RFC and the non-RFC outer form.
    fn signs() -> Vec<KeyedHash> {
        let mut v = Vec::new();
        for d in [Digest::Sha512, Digest::Sha1] {
            v.push(KeyedHash::rfc(d, b"sign key"));
            v.push(KeyedHash::outer_extra(d, b"sign key", b"inner"));
        }
        v
    }

    /// Encrypting and decrypting while signing equal the chain and the sign run one after the
    /// other, stitched (AES-256 encryption with SHA-512) or not, across several runs; a partial
    /// block is refused with the sign still fed every byte.
    #[test]
    fn signing_passes_equal_cipher_then_sign() {
        for alg in [CipherAlg::Aes256, CipherAlg::TripleDes] {
            let (key, iv) = (vec![7u8; alg.key_len()], vec![0u8; alg.block_len()]);
            let data: Vec<u8> = (0..3 * SIGN_RUN + 5 * 16 + 7)
                .map(|i| (i * 31) as u8)
                .collect();
            for len in [
                0,
                16,
                3 * 16,
                2 * SIGN_RUN + 16 * 17,
                data.len() - 7,
                data.len(),
            ] {
                for (mut sign, mut reference) in signs().into_iter().zip(signs()) {
                    sign.update(b"header");
                    reference.update(b"header");
                    let mut ct = data[..len].to_vec();
                    let mut chain = CbcChain::encryptor(alg, &key, &iv).unwrap();
                    let enc = chain.encrypt_signing(&mut ct, &mut sign);
                    let mut expected = data[..len].to_vec();
                    let whole = CbcChain::encryptor(alg, &key, &iv)
                        .unwrap()
                        .apply(&mut expected);
                    reference.update(&expected);
                    assert_eq!(enc, whole, "{alg:?} {len}");
                    assert!(ct == expected, "{alg:?} {len}: ciphertexts differ");
                    assert_eq!(
                        &sign.finalize()[..],
                        &reference.finalize()[..],
                        "{alg:?} {len}"
                    );
                }
                if !len.is_multiple_of(alg.block_len()) {
                    continue;
                }
                let ct = data[..len].to_vec();
                for (mut sign, mut reference) in signs().into_iter().zip(signs()) {
                    let mut pt = vec![0u8; len];
                    let mut chain = CbcChain::decryptor(alg, &key, &iv).unwrap();
                    chain.decrypt_signing(&ct, &mut pt, &mut sign).unwrap();
                    let mut expected = vec![0u8; len];
                    CbcChain::decryptor(alg, &key, &iv)
                        .unwrap()
                        .apply_b2b(&ct, &mut expected)
                        .unwrap();
                    reference.update(&ct);
                    assert!(pt == expected, "{alg:?} {len}: plaintexts differ");
                    assert_eq!(
                        &sign.finalize()[..],
                        &reference.finalize()[..],
                        "{alg:?} {len}"
                    );
                }
            }
            for (mut sign, mut reference) in signs().into_iter().zip(signs()) {
                let ct = &data[..2 * SIGN_RUN + 3];
                let mut pt = vec![0u8; ct.len()];
                let mut chain = CbcChain::decryptor(alg, &key, &iv).unwrap();
                assert_eq!(chain.decrypt_signing(ct, &mut pt, &mut sign), Err(CbcError));
                reference.update(ct);
                assert_eq!(&sign.finalize()[..], &reference.finalize()[..], "{alg:?}");
            }
        }
    }

    #[test]
    fn derive_key_expands_a_sha1_session_key() {
        // tests/vectors/intermediate_kats.txt, derive_key hash=sha1.
        let out = derive_key(
            Digest::Sha1,
            &h("9e0ee9a096bcd43c315a211dc7fdb1fd1a01cbec"),
            40,
        );
        assert_eq!(
            hex::encode(&*out),
            "e41a0d8b93243370b3722699588a83b228b533d82e609a6932bb2f9899be9a4af06a5a420963de45"
        );
    }

    #[test]
    fn non_rfc_session_key_of_the_xp_entropy_blob() {
        // intermediate_kats.txt: session_key for the XP blob with entropy "toto123" (non-RFC HMAC).
        let mk = h(
            "d0c624a61e4080ac28ec07f33466581ec04980f26953aa940258dc4ced7fd545251208d88d6bac5c64b5cd69b4e2140093174f51ab07f0f5fb7a45462a2c00e4",
        );
        let mkh = hash(Digest::Sha1, &[&mk]);
        let sk = hmac_outer_extra(
            Digest::Sha1,
            &mkh,
            &h("0c1e54f10d3ac713ef4c19dbc440e4a7"),
            &[b"toto123"],
        );
        assert_eq!(
            hex::encode(&*sk),
            "9e0ee9a096bcd43c315a211dc7fdb1fd1a01cbec"
        );
    }

    /// The `cbc` crate's AES-256-CBC decryption of `ct`: the reference.
    fn reference_decrypt(key: &[u8; 32], iv: &[u8; 16], ct: &[u8]) -> Vec<u8> {
        let mut buf = ct.to_vec();
        cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .unwrap()
            .decrypt_padded::<NoPadding>(&mut buf)
            .unwrap();
        buf
    }

    /// Cuts `len` (whole blocks) into runs of whole blocks at the given points.
    fn runs(len: usize, cuts: &[usize]) -> Vec<std::ops::Range<usize>> {
        let blocks = len / 16;
        let mut at: Vec<usize> = cuts.iter().map(|c| 16 * (c % (blocks + 1))).collect();
        at.sort_unstable();
        let mut out = Vec::new();
        let mut start = 0;
        for c in at.into_iter().chain([len]) {
            out.push(start..c);
            start = c;
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, failure_persistence: None, ..Default::default() })]

        /// The chain's AES-256 decryption, from one buffer into another and in place, over random
        /// lengths (past the in-place run of 64 blocks) cut into random runs, equals the `cbc`
        /// crate's.
        #[test]
        fn aes_cbc_decryption_equals_the_cbc_crate(
            key in proptest::prelude::any::<[u8; 32]>(),
            iv in proptest::prelude::any::<[u8; 16]>(),
            blocks in 0usize..200,
            seed in proptest::prelude::any::<u8>(),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..5),
        ) {
            let ct: Vec<u8> = (0..16 * blocks).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            let want = reference_decrypt(&key, &iv, &ct);
            let mut b2b = CbcChain::decryptor(CipherAlg::Aes256, &key, &iv).unwrap();
            let mut in_place = CbcChain::decryptor(CipherAlg::Aes256, &key, &iv).unwrap();
            let mut out = vec![0u8; ct.len()];
            let mut buf = ct.clone();
            for r in runs(ct.len(), &cuts) {
                b2b.apply_b2b(&ct[r.clone()], &mut out[r.clone()]).unwrap();
                in_place.apply(&mut buf[r]).unwrap();
            }
            proptest::prop_assert_eq!(&out, &want);
            proptest::prop_assert_eq!(&buf, &want);
            let whole = cbc_decrypt(CipherAlg::Aes256, &key, &iv, &ct, Padding::None).unwrap();
            proptest::prop_assert_eq!(&whole[..], &want[..]);
            // PKCS#7: the same result and the same refusals as the `cbc` crate's unpadding.
            let theirs = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
                .unwrap()
                .decrypt_padded_vec::<Pkcs7>(&ct)
                .ok();
            let ours = cbc_decrypt(CipherAlg::Aes256, &key, &iv, &ct, Padding::Pkcs7).ok();
            proptest::prop_assert_eq!(ours.as_deref().map(|v| &v[..]), theirs.as_deref());
        }
    }

    #[test]
    fn aes_cbc_decryption_refuses_partial_blocks() {
        let mut c = CbcChain::decryptor(CipherAlg::Aes256, &[1; 32], &[0; 16]).unwrap();
        assert_eq!(c.apply_b2b(&[0; 17], &mut [0; 17]), Err(CbcError));
        assert_eq!(c.apply_b2b(&[0; 32], &mut [0; 16]), Err(CbcError));
        assert_eq!(c.apply(&mut [0; 15]), Err(CbcError));
        assert!(CbcChain::decryptor(CipherAlg::Aes256, &[1; 31], &[0; 16]).is_err());
        assert!(CbcChain::decryptor(CipherAlg::Aes256, &[1; 32], &[0; 15]).is_err());
    }

    #[test]
    fn pkcs7_cbc_round_trip_and_bad_padding() {
        let key = [7u8; 32];
        let iv = [0u8; 16];
        let ct = cbc_encrypt(
            CipherAlg::Aes256,
            &key,
            &iv,
            b"sixteen byte msg",
            Padding::Pkcs7,
        )
        .unwrap();
        assert_eq!(ct.len(), 32, "an aligned message gets a full padding block");
        let pt = cbc_decrypt(CipherAlg::Aes256, &key, &iv, &ct, Padding::Pkcs7).unwrap();
        assert_eq!(&pt[..], b"sixteen byte msg");
        assert_eq!(
            cbc_decrypt(CipherAlg::Aes256, &[8u8; 32], &iv, &ct, Padding::Pkcs7).err(),
            Some(CbcError)
        );
    }
}
