//! SHA-512 (FIPS 180-4) of a message fed piece by piece, over [`crate::compress_blocks`]: whole
//! blocks of the input are compressed where they lie, only a partial block is buffered.
//!
//! The state and the buffer are wiped when the hasher is dropped or finished (they hold keyed
//! material when the hasher is one half of an HMAC).

use aes_cbc_kernel::{Aes256CbcEnc, BLOCK as AES_BLOCK, NotWholeBlocks};
use zeroize::Zeroize;

use crate::compress_blocks;

/// FIPS 180-4 §5.3.5: SHA-512's initial hash value.
pub const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// Bytes in a SHA-512 block.
pub const BLOCK: usize = 128;

/// An incremental SHA-512.
#[derive(Clone)]
pub struct Sha512 {
    state: [u64; 8],
    buf: [u8; BLOCK],
    /// Bytes of `buf` in use (always less than a block between calls).
    buf_len: usize,
    /// Message bytes fed so far.
    total: u128,
}

impl std::fmt::Debug for Sha512 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha512(..)")
    }
}

impl Default for Sha512 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha512 {
    /// A hasher of the empty message.
    pub const fn new() -> Self {
        Self {
            state: IV,
            buf: [0; BLOCK],
            buf_len: 0,
            total: 0,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u128;
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(head);
            self.buf_len += take;
            data = rest;
            if self.buf_len < BLOCK {
                return;
            }
            compress_blocks(&mut self.state, core::slice::from_ref(&self.buf));
            self.buf_len = 0;
        }
        let (blocks, tail) = data.as_chunks::<BLOCK>();
        compress_blocks(&mut self.state, blocks);
        self.buf[..tail.len()].copy_from_slice(tail);
        self.buf_len = tail.len();
    }

    /// Encrypts `data` in place with `enc`, continuing its chain, and feeds the ciphertext:
    /// the same as `enc.encrypt_in_place(data)` then `self.update(data)`, in one pass where the
    /// CPU has AVX2, BMI2 and AES-NI and `enc` runs on AES-NI (see the crate's `stitch`
    /// module): the blocks after those being hashed are encrypted in the compression's slots.
    /// `data` must be whole AES blocks; otherwise nothing is changed.
    pub fn update_encrypting(
        &mut self,
        enc: &mut Aes256CbcEnc,
        data: &mut [u8],
    ) -> Result<(), NotWholeBlocks> {
        if !data.len().is_multiple_of(AES_BLOCK) {
            return Err(NotWholeBlocks);
        }
        #[cfg(target_arch = "x86_64")]
        if enc.is_aesni() && crate::stitch::available() {
            use crate::stitch::PAIR;
            // The bytes that complete a partly filled block, then whole pairs of blocks.
            let head = ((BLOCK - self.buf_len) % BLOCK).min(data.len());
            let pairs = (data.len() - head) / PAIR;
            if pairs > 0 {
                // Encrypted ahead: the head and the first pair, to the next AES block boundary
                // (within `data`, which is whole AES blocks and holds both).
                let first = (head + PAIR).next_multiple_of(AES_BLOCK);
                enc.encrypt_in_place(&mut data[..first])?;
                self.update(&data[..head]);
                #[allow(unsafe_code)]
                // SAFETY: `encrypt_hash_pairs` requires only that the CPU has AVX2, BMI1, BMI2
                // and AES-NI, which `stitch::available` just established at run time.
                let enc_end = head
                    + unsafe {
                        crate::stitch::encrypt_hash_pairs(
                            &mut self.state,
                            enc,
                            &mut data[head..],
                            first - head,
                            pairs,
                        )
                    };
                let hashed = head + pairs * PAIR;
                self.total += (pairs * PAIR) as u128;
                enc.encrypt_in_place(&mut data[enc_end..])?;
                self.update(&data[hashed..]);
                return Ok(());
            }
        }
        enc.encrypt_in_place(data)?;
        self.update(data);
        Ok(())
    }

    /// The digest of everything fed.
    pub fn finalize(mut self) -> [u8; 64] {
        let bits = self.total.wrapping_mul(8);
        let n = self.buf_len;
        self.buf[n] = 0x80;
        self.buf[n + 1..].fill(0);
        if n + 1 > BLOCK - 16 {
            compress_blocks(&mut self.state, core::slice::from_ref(&self.buf));
            self.buf.fill(0);
        }
        self.buf[BLOCK - 16..].copy_from_slice(&bits.to_be_bytes());
        compress_blocks(&mut self.state, core::slice::from_ref(&self.buf));
        let mut out = [0u8; 64];
        for (chunk, word) in out.chunks_exact_mut(8).zip(&self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

impl Drop for Sha512 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

/// RFC 2104 HMAC-SHA512 fed piece by piece: the hashers after the ipad and the opad block.
#[derive(Clone)]
pub struct HmacSha512 {
    inner: Sha512,
    outer: Sha512,
}

impl std::fmt::Debug for HmacSha512 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha512(..)")
    }
}

impl HmacSha512 {
    /// HMAC keyed by `key` (any length: longer than a block, it is hashed first).
    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            let mut h = Sha512::new();
            h.update(key);
            let mut d = h.finalize();
            k[..64].copy_from_slice(&d);
            d.zeroize();
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = k.map(|b| b ^ 0x36);
        let mut inner = Sha512::new();
        inner.update(&pad);
        pad = k.map(|b| b ^ 0x5c);
        let mut outer = Sha512::new();
        outer.update(&pad);
        k.zeroize();
        pad.zeroize();
        Self { inner, outer }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// [`Sha512::update_encrypting`] on the inner hash: encrypts `data` in place and MACs the
    /// ciphertext.
    pub fn update_encrypting(
        &mut self,
        enc: &mut Aes256CbcEnc,
        data: &mut [u8],
    ) -> Result<(), NotWholeBlocks> {
        self.inner.update_encrypting(enc, data)
    }

    /// The MAC of everything fed.
    pub fn finalize(self) -> [u8; 64] {
        let Self { inner, mut outer } = self;
        let mut d = inner.finalize();
        outer.update(&d);
        d.zeroize();
        outer.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sha2_digest(data: &[u8]) -> [u8; 64] {
        <sha2::Sha512 as sha2::Digest>::digest(data).into()
    }

    fn hmac_crate(key: &[u8], data: &[u8]) -> [u8; 64] {
        use hmac::{KeyInit, Mac};
        let mut m = <hmac::Hmac<sha2::Sha512> as KeyInit>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// Splits `data` at the cut points (taken modulo its length, sorted) and feeds the pieces.
    fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        at.sort_unstable();
        let mut out = Vec::new();
        let mut start = 0;
        for c in at {
            out.push(&data[start..c]);
            start = c;
        }
        out.push(&data[start..]);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Random lengths around and across block boundaries, fed in random pieces.
        #[test]
        fn digest_equals_sha2(data in proptest::collection::vec(any::<u8>(), 0..1200), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            let mut h = Sha512::new();
            for p in pieces(&data, &cuts) {
                h.update(p);
            }
            prop_assert_eq!(h.finalize(), sha2_digest(&data));
        }

        /// Keys shorter than, equal to and longer than a block.
        #[test]
        fn hmac_equals_the_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..300), data in proptest::collection::vec(any::<u8>(), 0..700), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
            let mut m = HmacSha512::new(&key);
            for p in pieces(&data, &cuts) {
                m.update(p);
            }
            prop_assert_eq!(m.finalize(), hmac_crate(&key, &data));
        }
    }

    /// The chains a stitched update can be given: the one chosen for this CPU (AES-NI where it
    /// has it, so the stitched pass runs) and the portable one (the two-step path).
    fn encryptors(key: &[u8; 32], iv: &[u8; 16]) -> [Aes256CbcEnc; 2] {
        [Aes256CbcEnc::new(key, iv), Aes256CbcEnc::portable(key, iv)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// After a prefix of any length (a partly filled block), whole AES blocks of any number
        /// (none, less than a pair, many pairs), in pieces: the ciphertext and the digest equal
        /// encrypting with a fresh chain and hashing the result.
        #[test]
        fn update_encrypting_equals_encrypt_then_hash(
            key in any::<[u8; 32]>(),
            iv in any::<[u8; 16]>(),
            prefix in proptest::collection::vec(any::<u8>(), 0..300),
            blocks in 0usize..100,
            cuts in proptest::collection::vec(0usize..100, 0..4),
            fill in any::<u8>(),
        ) {
            let data: Vec<u8> = (0..blocks * AES_BLOCK).map(|i| (i as u8).wrapping_mul(13) ^ fill).collect();
            let mut expected_ct = data.clone();
            Aes256CbcEnc::portable(&key, &iv).encrypt_in_place(&mut expected_ct).unwrap();
            let mut whole = prefix.clone();
            whole.extend_from_slice(&expected_ct);
            let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(blocks) * AES_BLOCK).collect();
            cuts.sort_unstable();
            for mut enc in encryptors(&key, &iv) {
                let (mut h, mut m) = (Sha512::new(), HmacSha512::new(&key));
                h.update(&prefix);
                m.update(&prefix);
                let (mut ct, mut ct2) = (data.clone(), data.clone());
                let mut enc2 = Aes256CbcEnc::portable(&key, &iv);
                let mut start = 0;
                for &c in cuts.iter().chain([&data.len()]) {
                    h.update_encrypting(&mut enc, &mut ct[start..c]).unwrap();
                    m.update_encrypting(&mut enc2, &mut ct2[start..c]).unwrap();
                    start = c;
                }
                prop_assert_eq!(&ct, &expected_ct, "{}", enc.path());
                prop_assert_eq!(&ct2, &expected_ct);
                prop_assert_eq!(h.finalize(), sha2_digest(&whole), "{}", enc.path());
                prop_assert_eq!(m.finalize(), hmac_crate(&key, &whole));
            }
        }
    }

    /// Partial AES blocks are refused, with the chain, the hash and the buffer unchanged.
    #[test]
    fn update_encrypting_refuses_partial_blocks_untouched() {
        let (key, iv) = ([5u8; 32], [6u8; 16]);
        for mut enc in encryptors(&key, &iv) {
            let mut h = Sha512::new();
            h.update(b"head");
            let mut data = vec![1u8; 3 * 256 + 15];
            assert_eq!(
                h.update_encrypting(&mut enc, &mut data),
                Err(NotWholeBlocks)
            );
            assert_eq!(data, vec![1u8; 3 * 256 + 15]);
            let mut block = [2u8; 16];
            h.update_encrypting(&mut enc, &mut block).unwrap();
            let mut expected = [2u8; 16];
            Aes256CbcEnc::portable(&key, &iv)
                .encrypt_in_place(&mut expected)
                .unwrap();
            assert_eq!(block, expected, "{}", enc.path());
            let mut whole = b"head".to_vec();
            whole.extend_from_slice(&expected);
            assert_eq!(h.finalize(), sha2_digest(&whole));
        }
    }

    /// Every length from 0 to three blocks: each place the padding and the length can fall.
    #[test]
    fn every_length_up_to_three_blocks() {
        let data: Vec<u8> = (0..3 * BLOCK + 1).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..=data.len() {
            let mut h = Sha512::new();
            h.update(&data[..n]);
            assert_eq!(h.finalize(), sha2_digest(&data[..n]), "length {n}");
        }
    }

    /// A megabyte in one call: the bulk path over many blocks.
    #[test]
    fn a_megabyte() {
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i ^ (i >> 9)) as u8).collect();
        let mut h = Sha512::new();
        h.update(&data);
        assert_eq!(h.finalize(), sha2_digest(&data));
    }

    /// FIPS 180-4 example "abc".
    #[test]
    fn abc() {
        let mut h = Sha512::new();
        h.update(b"abc");
        assert_eq!(
            h.finalize()[..8],
            [0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba]
        );
    }
}
