//! Protect and unprotect with bounded memory: the blob's data flows from a reader to a writer a
//! chunk at a time, so memory stays at a few chunks whatever the size of the data.
//!
//! The layout is the same as [`Blob`]'s (`docs/dpapi.md` §2.4) and the bytes are identical to
//! [`Blob::seal_bytes`]'s for the same inputs; the cryptography is §1.5's. Two properties of the
//! format shape the calls:
//!
//! - `dwDataLen` comes before the data, so protect needs the plaintext's length up front (a file's
//!   length, say) and fails if the reader yields more or fewer bytes.
//! - The sign follows the data, so unprotect needs to read its input twice ([`Seek`]): first to
//!   check the sign, then to decrypt. Nothing is written unless the sign matches.
//!
//! Neither call limits the size of the data beyond the format's own 32-bit `dwDataLen`: a caller
//! that reads untrusted input applies its own bound (the command line uses its one blob limit)
//! before calling them.

use std::io::{self, Read, Seek, SeekFrom, Write};

use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Blob, BlobError, BlobPolicy, CHUNK, FieldSource, HmacForm, draw_keys, read_header};
use crate::crypto::{self, CbcChain};
use crate::masterkey::MasterKey;
use crate::reader::{FormatError, Writer};

/// Bytes of each length-prefixed field before the data (description, salt, HMAC keys) that a
/// stream accepts. Real blobs have a few dozen; this bounds what a corrupt length field can make
/// the reader allocate.
pub const MAX_HEADER_FIELD: u32 = 64 << 10;

/// Why a streamed protect or unprotect failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the input or writing the output failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The plaintext reader ended before the declared length.
    #[error("the input ended after {read} of the {declared} bytes declared")]
    Short {
        /// The length given to protect.
        declared: u64,
        /// The bytes the reader gave.
        read: u64,
    },
    /// The plaintext reader holds more than the declared length.
    #[error("the input holds more than the {declared} bytes declared")]
    Long {
        /// The length given to protect.
        declared: u64,
    },
    /// The data is longer than a blob's 32-bit `dwDataLen` can hold.
    #[error("{len} bytes do not fit in a blob (at most {max})")]
    TooLarge {
        /// The length asked for.
        len: u64,
        /// The most a blob holds.
        max: u64,
    },
    /// The input is not a DPAPI blob.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The blob did not decrypt with this key and entropy.
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// Protects the `len` bytes `input` yields into a blob written to `output`, drawing the salt and
/// HMAC2 key from `rng` (as [`Blob::seal_bytes`] does, with the same bytes for the same `rng`).
/// Returns the number of bytes written.
#[allow(clippy::too_many_arguments)] // CryptProtectData's own inputs plus key, rng and streams
pub fn seal_to_writer<G, R, W>(
    rng: &mut G,
    master_key: &MasterKey,
    master_key_guid: Uuid,
    input: R,
    len: u64,
    entropy: &[u8],
    description: &str,
    flags: u32,
    policy: &BlobPolicy,
    output: W,
) -> Result<u64, StreamError>
where
    G: rand_core::CryptoRng + ?Sized,
    R: Read,
    W: Write,
{
    let (salt, hmac2) = draw_keys(rng, policy);
    seal_with_to_writer(
        master_key,
        master_key_guid,
        input,
        len,
        entropy,
        description,
        flags,
        policy,
        salt.to_vec(),
        hmac2.to_vec(),
        output,
    )
}

/// [`seal_to_writer`] with explicit salt and HMAC2 key.
#[allow(clippy::too_many_arguments)] // mirrors the blob's inputs one for one
pub fn seal_with_to_writer<R: Read, W: Write>(
    master_key: &MasterKey,
    master_key_guid: Uuid,
    mut input: R,
    len: u64,
    entropy: &[u8],
    description: &str,
    flags: u32,
    policy: &BlobPolicy,
    salt: Vec<u8>,
    hmac2_key: Vec<u8>,
    mut output: W,
) -> Result<u64, StreamError> {
    let blob = Blob::template(master_key_guid, description, flags, policy, salt, hmac2_key);
    let block = blob.alg_crypt.block_len();
    let max = u64::from(u32::MAX) / block as u64 * block as u64 - 1;
    if len > max {
        return Err(StreamError::TooLarge { len, max });
    }
    let data_len = (len / block as u64 + 1) * block as u64;
    let mkh = master_key.sha1();
    let key = blob.data_key(blob.windows_form(!entropy.is_empty()), &mkh, entropy);
    let iv = vec![0u8; block];
    let mut chain = CbcChain::encryptor(blob.alg_crypt, &key, &iv)
        .map_err(|_| io::Error::other("cipher refused its own key size"))?;
    let mut signer = blob.signer(blob.windows_form(true), &mkh, entropy);

    let mut head = Vec::with_capacity(blob.encoded_len(0, 0));
    head.put_u32(blob.version);
    head.put_guid(&blob.provider);
    // `dwDataLen` fits in 32 bits: `len` was bounded above.
    blob.write_signed_header(&mut head, data_len as usize);
    signer.update(head.get(20..).unwrap_or_default());
    output.write_all(&head)?;
    let mut written = head.len() as u64;

    // Whole blocks of plaintext go through the chain a chunk at a time; the last partial block
    // (possibly empty) gets the padding.
    let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
    let mut read: u64 = 0;
    loop {
        let filled = fill(&mut input, &mut buf)?;
        read += filled as u64;
        if read > len {
            return Err(StreamError::Long { declared: len });
        }
        if filled < CHUNK {
            let padded = crypto::pkcs7_len(filled, block);
            let chunk = buf.get_mut(..padded).unwrap_or_default();
            crypto::pkcs7_pad(chunk.get_mut(filled..).unwrap_or_default());
            finish_chunk(&mut chain, &mut signer, chunk, &mut output)?;
            written += padded as u64;
            if read < len {
                return Err(StreamError::Short {
                    declared: len,
                    read,
                });
            }
            break;
        }
        if read == len {
            // The data ends on a chunk boundary: one whole block of padding follows.
            finish_chunk(&mut chain, &mut signer, &mut buf[..], &mut output)?;
            written += CHUNK as u64;
            if fill(&mut input, &mut buf[..1])? != 0 {
                return Err(StreamError::Long { declared: len });
            }
            let mut pad = vec![0u8; block];
            crypto::pkcs7_pad(&mut pad);
            finish_chunk(&mut chain, &mut signer, &mut pad, &mut output)?;
            written += block as u64;
            break;
        }
        finish_chunk(&mut chain, &mut signer, &mut buf[..], &mut output)?;
        written += CHUNK as u64;
    }
    let sign = signer.finalize();
    let mut tail = Vec::with_capacity(4 + sign.len());
    tail.put_len_prefixed(&sign);
    output.write_all(&tail)?;
    output.flush()?;
    Ok(written + tail.len() as u64)
}

/// Encrypts `chunk` in place, feeds it to the sign and writes it.
fn finish_chunk<W: Write>(
    chain: &mut CbcChain,
    signer: &mut crypto::KeyedHash,
    chunk: &mut [u8],
    output: &mut W,
) -> Result<(), StreamError> {
    chain
        .encrypt_signing(chunk, signer)
        .map_err(|_| io::Error::other("CBC over a partial block"))?;
    output.write_all(chunk)?;
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Unprotects the blob `input` holds, writing the plaintext to `output`: first a pass that checks
/// the sign, then one that decrypts. Returns the blob's fields with empty `data` (its
/// description, flags, algorithms) and the number of plaintext bytes written. Accepts the same
/// HMAC forms as [`Blob::open`] and fails the same way.
pub fn open_to_writer<R: Read + Seek, W: Write>(
    mut input: R,
    master_key: &MasterKey,
    entropy: &[u8],
    mut output: W,
) -> Result<(Blob, u64), StreamError> {
    let start = input.stream_position()?;
    let mut r = Fields {
        input: &mut input,
        pos: 0,
    };
    let (mut blob, data_len) = r.header()?;
    let data_at = r.pos;
    let block = blob.alg_crypt.block_len();
    let mkh = master_key.sha1();

    // Pass 1: the sign in Windows' form over the header and the data, then the stored sign.
    let sign_form = blob.windows_form(true);
    let mut header = Vec::with_capacity(blob.encoded_len(0, 0));
    blob.write_signed_header(&mut header, data_len);
    let mut signer = blob.signer(sign_form, &mkh, entropy);
    signer.update(&header);
    let mut buf = vec![0u8; CHUNK];
    let mut left = data_len;
    let mut last = vec![0u8; 2 * block];
    while left > 0 {
        let n = left.min(CHUNK);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        r.exact(chunk, "pbData")?;
        signer.update(chunk);
        // Keep the last two blocks: the padding check needs the last one and its CBC input.
        keep_tail(&mut last, chunk);
        left -= n;
    }
    blob.sign = r.field("pbSign")?;
    r.end()?;
    let windows_sign = crypto::ct_eq(&signer.finalize(), &blob.sign);

    // The session key whose decryption of the last block has valid padding (that is all the
    // padding check of `Blob::open` looks at), in `open`'s order.
    let session_form = blob.windows_form(!entropy.is_empty());
    let sessions: &[HmacForm] = if entropy.is_empty() {
        &[session_form]
    } else {
        &[session_form, session_form.other()]
    };
    let iv = vec![0u8; block];
    let (prev, final_block) = if data_len >= 2 * block {
        last.split_at(block)
    } else {
        (&iv[..], &last[block..])
    };
    let mut chosen = None;
    for &session in sessions {
        let key = blob.data_key(session, &mkh, entropy);
        let Ok(mut chain) = CbcChain::decryptor(blob.alg_crypt, &key, prev) else {
            continue;
        };
        let mut plain_last = Zeroizing::new(vec![0u8; block]);
        if chain.apply_b2b(final_block, &mut plain_last).is_ok()
            && let Some(keep) = crypto::pkcs7_unpad_len(&plain_last, block)
        {
            chosen = Some((key, block - keep));
            break;
        }
    }
    let Some((key, pad)) = chosen else {
        return Err(BlobError::BadPadding.into());
    };
    if !windows_sign {
        // The other form over a second read of the data (impacket's SHA-1 blobs, §8.2).
        let mut other = blob.signer(sign_form.other(), &mkh, entropy);
        other.update(&header);
        input.seek(SeekFrom::Start(start + data_at as u64))?;
        let mut left = data_len;
        while left > 0 {
            let n = left.min(CHUNK);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            input.read_exact(chunk)?;
            other.update(chunk);
            left -= n;
        }
        if !crypto::ct_eq(&other.finalize(), &blob.sign) {
            return Err(BlobError::BadSign.into());
        }
    }

    // Pass 2: decrypt and write everything but the padding.
    input.seek(SeekFrom::Start(start + data_at as u64))?;
    let mut chain = CbcChain::decryptor(blob.alg_crypt, &key, &iv)
        .map_err(|_| io::Error::other("cipher refused its own key size"))?;
    let mut plain = Zeroizing::new(vec![0u8; CHUNK]);
    let mut left = data_len;
    let mut written: u64 = 0;
    while left > 0 {
        let n = left.min(CHUNK);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        input.read_exact(chunk)?;
        let out = plain.get_mut(..n).unwrap_or_default();
        chain
            .apply_b2b(chunk, out)
            .map_err(|_| io::Error::other("CBC over a partial block"))?;
        left -= n;
        let keep = if left == 0 { n - pad } else { n };
        output.write_all(out.get(..keep).unwrap_or_default())?;
        written += keep as u64;
    }
    output.flush()?;
    Ok((blob, written))
}

/// Shifts `chunk`'s last bytes into `last` (which keeps the last `last.len()` bytes seen).
fn keep_tail(last: &mut [u8], chunk: &[u8]) {
    let k = last.len();
    if chunk.len() >= k {
        last.copy_from_slice(chunk.get(chunk.len() - k..).unwrap_or_default());
    } else {
        last.rotate_left(chunk.len());
        if let Some(dst) = last.get_mut(k - chunk.len()..) {
            dst.copy_from_slice(chunk);
        }
    }
}

impl<R: Read> FieldSource for Fields<'_, R> {
    type Error = StreamError;
    fn u32(&mut self, field: &'static str) -> Result<u32, StreamError> {
        Fields::u32(self, field)
    }
    fn guid(&mut self, field: &'static str) -> Result<Uuid, StreamError> {
        Fields::guid(self, field)
    }
    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, StreamError> {
        self.field(field)
    }
    fn offset(&self) -> usize {
        self.pos
    }
}

/// The blob's fields read from a stream, with the offsets and errors of [`Blob::parse`].
struct Fields<'a, R> {
    input: &'a mut R,
    pos: usize,
}

const S: &str = "DPAPI blob";

impl<R: Read> Fields<'_, R> {
    fn exact(&mut self, buf: &mut [u8], field: &'static str) -> Result<(), StreamError> {
        let got = fill(self.input, buf)?;
        if got < buf.len() {
            return Err(FormatError::Truncated {
                structure: S,
                field,
                offset: self.pos,
                needed: buf.len() as u64,
                available: got,
            }
            .into());
        }
        self.pos += buf.len();
        Ok(())
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, StreamError> {
        let mut b = [0u8; 4];
        self.exact(&mut b, field)?;
        Ok(u32::from_le_bytes(b))
    }

    fn guid(&mut self, field: &'static str) -> Result<Uuid, StreamError> {
        let mut b = [0u8; 16];
        self.exact(&mut b, field)?;
        Ok(Uuid::from_bytes_le(b))
    }

    fn field(&mut self, field: &'static str) -> Result<Vec<u8>, StreamError> {
        let at = self.pos;
        let len = self.u32(field)?;
        if len > MAX_HEADER_FIELD {
            return Err(FormatError::InvalidValue {
                structure: S,
                field,
                offset: at,
                value: len.into(),
                reason: "a streamed blob's header fields are at most 64 KiB each",
            }
            .into());
        }
        let mut v = vec![0u8; len as usize];
        self.exact(&mut v, field)?;
        Ok(v)
    }

    fn end(&mut self) -> Result<(), StreamError> {
        let mut b = [0u8; 1];
        if fill(self.input, &mut b)? != 0 {
            return Err(FormatError::TrailingBytes {
                structure: S,
                offset: self.pos,
                extra: 1,
            }
            .into());
        }
        Ok(())
    }

    fn invalid(
        &self,
        field: &'static str,
        offset: usize,
        value: u64,
        reason: &'static str,
    ) -> StreamError {
        FormatError::InvalidValue {
            structure: S,
            field,
            offset,
            value,
            reason,
        }
        .into()
    }

    /// Everything up to and including `dwDataLen`, checked as [`Blob::parse`] checks it.
    fn header(&mut self) -> Result<(Blob, usize), StreamError> {
        let blob = read_header(self)?;
        let off = self.pos;
        let data_len = self.u32("dwDataLen")?;
        if data_len == 0 || !(data_len as usize).is_multiple_of(blob.alg_crypt.block_len()) {
            return Err(self.invalid(
                "dwDataLen",
                off,
                data_len.into(),
                "encrypted data is a non-zero multiple of the cipher block size",
            ));
        }
        Ok((blob, data_len as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn sealed(len: usize, entropy: &[u8], policy: &BlobPolicy) -> (MasterKey, Vec<u8>, Vec<u8>) {
        let mk = MasterKey::from_bytes([0x21; 64]);
        let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let bytes = Blob::seal_bytes_with(
            &mk,
            Uuid::from_u128(9),
            &plain,
            entropy,
            "desc",
            4,
            policy,
            vec![5; policy.salt_len],
            vec![6; policy.salt_len],
        );
        (mk, plain, bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

        /// The streamed blob is the in-memory one byte for byte, and streams back to the plaintext.
        #[test]
        fn stream_equals_in_memory(
            len in prop_oneof![0usize..70, (CHUNK - 20)..(CHUNK + 20), (2 * CHUNK - 17)..(2 * CHUNK + 17)],
            entropy in proptest::collection::vec(any::<u8>(), 0..8),
            xp in any::<bool>(),
        ) {
            let policy = if xp { BlobPolicy::WINDOWS_XP } else { BlobPolicy::WINDOWS_10 };
            let (mk, plain, bytes) = sealed(len, &entropy, &policy);
            let mut out = Vec::new();
            let n = seal_with_to_writer(
                &mk, Uuid::from_u128(9), &plain[..], len as u64, &entropy, "desc", 4, &policy,
                vec![5; policy.salt_len], vec![6; policy.salt_len], &mut out,
            ).unwrap();
            prop_assert_eq!(n, out.len() as u64);
            prop_assert_eq!(&out, &bytes);
            let mut back = Vec::new();
            let (blob, m) = open_to_writer(Cursor::new(&bytes), &mk, &entropy, &mut back).unwrap();
            prop_assert_eq!(m, len as u64);
            prop_assert_eq!(&back, &plain);
            prop_assert_eq!(blob.description_text(), "desc");
        }
    }

    #[test]
    fn refusals_match_open_and_write_nothing() {
        let (mk, _, bytes) = sealed(3 * CHUNK + 3, b"e", &BlobPolicy::WINDOWS_10);
        let run = |b: &[u8], mk: &MasterKey, e: &[u8]| {
            let mut out = Vec::new();
            let r = open_to_writer(Cursor::new(b), mk, e, &mut out);
            (r.map(|x| x.1), out)
        };
        for (b, key, e) in [
            (bytes.clone(), mk.clone(), &b"f"[..]),
            (bytes.clone(), MasterKey::from_bytes([1; 64]), &b"e"[..]),
        ] {
            let (r, out) = run(&b, &key, e);
            let in_memory = Blob::parse(&b).unwrap().open(&key, e).unwrap_err();
            assert!(matches!(r, Err(StreamError::Blob(x)) if x == in_memory));
            assert!(out.is_empty());
        }
        let mut tampered = bytes.clone();
        tampered[200] ^= 1;
        let (r, out) = run(&tampered, &mk, b"e");
        assert!(matches!(r, Err(StreamError::Blob(BlobError::BadSign))));
        assert!(out.is_empty());
        let (r, _) = run(&bytes[..bytes.len() - 1], &mk, b"e");
        assert!(matches!(
            r,
            Err(StreamError::Format(FormatError::Truncated {
                field: "pbSign",
                ..
            }))
        ));
        let mut long = bytes.clone();
        long.push(0);
        let (r, _) = run(&long, &mk, b"e");
        assert!(matches!(
            r,
            Err(StreamError::Format(FormatError::TrailingBytes { .. }))
        ));
    }

    #[test]
    fn protect_checks_the_declared_length() {
        let mk = MasterKey::from_bytes([2; 64]);
        let p = &BlobPolicy::WINDOWS_10;
        let go = |data: &[u8], len: u64| {
            seal_with_to_writer(
                &mk,
                Uuid::nil(),
                data,
                len,
                b"",
                "",
                0,
                p,
                vec![1; 32],
                vec![2; 32],
                io::sink(),
            )
        };
        assert!(matches!(
            go(&[0; 10], 11),
            Err(StreamError::Short {
                declared: 11,
                read: 10
            })
        ));
        assert!(matches!(
            go(&[0; 10], 9),
            Err(StreamError::Long { declared: 9 })
        ));
        assert!(matches!(
            go(&vec![0; CHUNK + 1], CHUNK as u64),
            Err(StreamError::Long { .. })
        ));
        assert!(matches!(
            go(&[], u64::from(u32::MAX)),
            Err(StreamError::TooLarge { .. })
        ));
        assert!(go(&vec![0; CHUNK], CHUNK as u64).is_ok());
    }
}
