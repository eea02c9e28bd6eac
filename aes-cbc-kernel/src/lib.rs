//! AES-256-CBC for DPAPI: the cipher of a blob's data (`docs/dpapi.md` §1.5: the data is
//! PKCS#7-padded and CBC-encrypted with IV 0 under the derived key, and signed), encryption
//! ([`Aes256CbcEnc`]) and decryption ([`Aes256CbcDec`]).
//!
//! CBC encryption is a chain: each block's input is the previous block's output, so its speed is
//! the latency of one block's fourteen AES rounds, not the cipher's throughput. The `cbc` crate's
//! `Encryptor` over the `aes` crate enters the cipher's backend once per block and keeps the
//! chaining value in memory between blocks, so each block pays a store and a reload of the chain
//! inside the serial path (a store-to-load forwarding delay) besides its rounds. The encryption
//! here runs a whole buffer in one function compiled for AES-NI
//! (`#[target_feature(enable = "aes")]`), the chaining value in a register from the first block to
//! the last and the fifteen round keys loop-invariant (in registers, or memory operands loaded off
//! the chain's path), as OpenSSL's `aesni_cbc_encrypt` does.
//!
//! CBC decryption has no chain: every block is `D(c[i]) ^ c[i-1]`. The AES-NI build decrypts
//! eight blocks at a time (eight independent `AESDEC` streams keep the unit busy, as OpenSSL's
//! `aesni_cbc_decrypt` does) and XORs each with the ciphertext before it while both are still in
//! registers, writing the plaintext once. Where the CPU also has AVX-512F and VAES, a third
//! build decrypts sixteen blocks at a time in four 512-bit registers (one `VAESDEC` is a round of
//! four blocks) and XORs them with the ciphertext one block back, loaded four blocks at a time,
//! as OpenSSL's AVX-512 CBC decryption does. (The `aes` crate's VAES backend decrypts as wide,
//! but it is entered per call and its result was XORed in a second pass over memory.) Valgrind
//! does not report AVX-512 to the programs it runs, so under it the AES-NI build is the one
//! exercised; the property tests run every build the CPU has, each on its own.
//!
//! For a caller that stitches the encryption into other work (`sha512-kernel` hashes a blob's
//! ciphertext in the same pass), [`Aes256CbcEnc::encrypt_block_aesni`] is one block's step,
//! built for AES-NI and inlined into a caller built with it; [`Aes256CbcEnc::is_aesni`] says
//! whether a chain is on AES-NI. (Decryption is not stitched: it is throughput-bound, and the
//! wide builds above beat one block at a time between another loop's instructions.)
//!
//! The AES-NI builds are chosen at run time when the CPU has AES-NI; elsewhere, and on other
//! architectures (AArch64's AES instructions through `aes`), the `aes` and `cbc` crates run it.
//! The crate's `unsafe` blocks are the calls into the AES-NI builds, made only by values that
//! exist after the detection succeeded, and the unaligned 16-byte loads and stores of the blocks;
//! each has its SAFETY comment. The property tests compare both builds with the `aes` and `cbc`
//! crates on random keys, IVs, lengths and cuts of a chain, and pass under valgrind (which
//! executes AES-NI).
//!
//! The round keys and the chaining value are wiped when a value is dropped (the portable build
//! through the `aes` crate's `zeroize` feature). As with any compiled code, copies the compiler
//! spills to the stack while a buffer is processed are not tracked.
//!
//! `benches/README.md` in the workspace has the measurements.

#![deny(unsafe_op_in_unsafe_fn)]

use cbc::cipher::{BlockCipherDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};

/// AES-256 key length in bytes.
pub const KEY_LEN: usize = 32;
/// AES block length in bytes, also the IV's.
pub const BLOCK: usize = 16;

/// The data given to [`Aes256CbcEnc`] was not a whole number of blocks, or the input and output
/// buffers had different lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotWholeBlocks;

impl std::fmt::Display for NotWholeBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CBC data must be a whole number of 16-byte blocks, input and output alike")
    }
}

impl std::error::Error for NotWholeBlocks {}

/// An AES-256-CBC encryption chain that continues across calls: encrypting a buffer in pieces
/// gives the bytes of encrypting it at once.
pub struct Aes256CbcEnc(Imp);

// One per blob operation, on the stack or inside its owner: boxing the portable variant would
// only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Imp {
    #[cfg(target_arch = "x86_64")]
    AesNi(aesni::Chain),
    Portable(cbc::Encryptor<aes::Aes256>),
}

impl std::fmt::Debug for Aes256CbcEnc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aes256CbcEnc({})", self.path())
    }
}

impl Aes256CbcEnc {
    /// A chain under `key` starting from `iv`, on the AES-NI build when the CPU has AES-NI.
    pub fn new(key: &[u8; KEY_LEN], iv: &[u8; BLOCK]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(chain) = aesni::Chain::new(key, iv) {
            return Self(Imp::AesNi(chain));
        }
        Self::portable(key, iv)
    }

    /// A chain on the `aes` and `cbc` crates whatever the CPU has (the tests compare the builds).
    pub fn portable(key: &[u8; KEY_LEN], iv: &[u8; BLOCK]) -> Self {
        Self(Imp::Portable(cbc::Encryptor::new(key.into(), iv.into())))
    }

    /// Which build this chain runs: `"AES-NI"` or `"aes + cbc crates"`.
    pub fn path(&self) -> &'static str {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            Imp::AesNi(_) => "AES-NI",
            Imp::Portable(_) => "aes + cbc crates",
        }
    }

    /// Whether this chain runs on AES-NI, so that [`Aes256CbcEnc::encrypt_block_aesni`] is a
    /// handful of instructions a caller built for AES-NI can interleave with its own work.
    pub fn is_aesni(&self) -> bool {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            Imp::AesNi(_) => true,
            Imp::Portable(_) => false,
        }
    }

    /// Encrypts one block in place, continuing the chain: the step of a caller that stitches
    /// encryption into other work (`sha512-kernel` hashes a blob's ciphertext while encrypting
    /// the blocks after it). Built for AES-NI, so that it inlines into such a caller; on a
    /// portable chain it takes the `cbc` crate's path, block by block.
    ///
    /// # Safety
    ///
    /// A safe call from code built with AES-NI (`#[target_feature(enable = "aes")]`); anywhere
    /// else the CPU must have AES-NI, which the caller establishes
    /// (`is_x86_feature_detected!("aes")`) before calling it in an `unsafe` block.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "aes")]
    pub fn encrypt_block_aesni(&mut self, block: &mut [u8; BLOCK]) {
        match &mut self.0 {
            Imp::AesNi(chain) => chain.encrypt_one(block),
            Imp::Portable(enc) => enc.encrypt_block(block.into()),
        }
    }

    /// Encrypts `buf` in place, continuing the chain. `buf` must be a whole number of blocks;
    /// otherwise nothing is changed.
    pub fn encrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), NotWholeBlocks> {
        if !buf.len().is_multiple_of(BLOCK) {
            return Err(NotWholeBlocks);
        }
        match &mut self.0 {
            #[cfg(target_arch = "x86_64")]
            Imp::AesNi(chain) => chain.encrypt(buf),
            Imp::Portable(enc) => {
                let (blocks, _tail) = cbc::cipher::InOutBuf::from(buf).into_chunks();
                enc.encrypt_blocks_inout(blocks);
            }
        }
        Ok(())
    }

    /// Encrypts `input` into `out` (of the same length), continuing the chain.
    pub fn encrypt_to(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), NotWholeBlocks> {
        if input.len() != out.len() {
            return Err(NotWholeBlocks);
        }
        if !input.len().is_multiple_of(BLOCK) {
            return Err(NotWholeBlocks);
        }
        // A copy runs at memory speed, an order of magnitude faster than the chain.
        out.copy_from_slice(input);
        self.encrypt_in_place(out)
    }
}

/// An AES-256-CBC decryption chain that continues across calls: decrypting a buffer in pieces
/// gives the bytes of decrypting it at once.
pub struct Aes256CbcDec(DecImp);

enum DecImp {
    #[cfg(target_arch = "x86_64")]
    AesNi(aesni::DecChain),
    Portable(PortableDec),
}

impl std::fmt::Debug for Aes256CbcDec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aes256CbcDec({})", self.path())
    }
}

/// Blocks decrypted in place at a time: their ciphertext, which the next blocks XOR with, is
/// copied aside first.
const IN_PLACE_RUN: usize = 64 * BLOCK;

impl Aes256CbcDec {
    /// A chain under `key` starting from `iv`, on the AES-NI build when the CPU has AES-NI.
    pub fn new(key: &[u8; KEY_LEN], iv: &[u8; BLOCK]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(chain) = aesni::DecChain::new(key, iv, true) {
            return Self(DecImp::AesNi(chain));
        }
        Self::portable(key, iv)
    }

    /// A chain on the `aes` crate whatever the CPU has (the tests compare the builds).
    pub fn portable(key: &[u8; KEY_LEN], iv: &[u8; BLOCK]) -> Self {
        Self(DecImp::Portable(PortableDec {
            cipher: aes::Aes256Dec::new(key.into()),
            prev: *iv,
        }))
    }

    /// Which build this chain runs: `"VAES-512"`, `"AES-NI"` or `"aes crate"`.
    pub fn path(&self) -> &'static str {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            DecImp::AesNi(chain) if chain.wide() => "VAES-512",
            #[cfg(target_arch = "x86_64")]
            DecImp::AesNi(_) => "AES-NI",
            DecImp::Portable(_) => "aes crate",
        }
    }

    /// Decrypts `input` into `out` (of the same length, whole blocks), continuing the chain;
    /// otherwise nothing is changed.
    pub fn decrypt_to(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), NotWholeBlocks> {
        if input.len() != out.len() || !input.len().is_multiple_of(BLOCK) {
            return Err(NotWholeBlocks);
        }
        match &mut self.0 {
            #[cfg(target_arch = "x86_64")]
            DecImp::AesNi(chain) => chain.decrypt(input, out),
            DecImp::Portable(dec) => dec.decrypt(input, out),
        }
        Ok(())
    }

    /// Decrypts `buf` in place (whole blocks), continuing the chain; otherwise nothing is
    /// changed.
    pub fn decrypt_in_place(&mut self, buf: &mut [u8]) -> Result<(), NotWholeBlocks> {
        if !buf.len().is_multiple_of(BLOCK) {
            return Err(NotWholeBlocks);
        }
        let mut copy = [0u8; IN_PLACE_RUN];
        for run in buf.chunks_mut(IN_PLACE_RUN) {
            let ct = &mut copy[..run.len()];
            ct.copy_from_slice(run);
            self.decrypt_to(ct, run)?;
        }
        zeroize::Zeroize::zeroize(&mut copy[..]);
        Ok(())
    }
}

/// The portable decryption: the `aes` crate decrypts a run of blocks (its AES-NI and VAES
/// backends decrypt 8 to 64 at once), then the run is XORed with the ciphertext before it while
/// both are still in L1.
struct PortableDec {
    cipher: aes::Aes256Dec,
    /// The ciphertext block before the next one (the IV at the start).
    prev: [u8; BLOCK],
}

impl Drop for PortableDec {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.prev);
    }
}

/// Bytes the portable decryption decrypts before their XOR: four of the VAES-512 backend's
/// 64-block batches, so that the run's ciphertext and plaintext (8 KiB together) stay in L1.
const FUSED_RUN: usize = 256 * BLOCK;

impl PortableDec {
    /// `out = D(input) ^ (prev || input[..len - 16])`, whole blocks of one length.
    fn decrypt(&mut self, input: &[u8], out: &mut [u8]) {
        for (ct, pt) in input.chunks(FUSED_RUN).zip(out.chunks_mut(FUSED_RUN)) {
            let Some(last) = ct.len().checked_sub(BLOCK) else {
                return;
            };
            let (blocks, _tail) = cbc::cipher::InOutBuf::new(ct, pt)
                .unwrap_or_else(|_| unreachable!("chunks of equal buffers have equal lengths"))
                .into_chunks();
            self.cipher.decrypt_blocks_inout(blocks);
            let (first, rest) = pt.split_at_mut(BLOCK);
            for (o, p) in first.iter_mut().zip(&self.prev) {
                *o ^= *p;
            }
            for (o, c) in rest.iter_mut().zip(&ct[..last]) {
                *o ^= *c;
            }
            self.prev.copy_from_slice(&ct[last..]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
// The crate's `unsafe` is here and nowhere else: see the crate docs.
#[allow(unsafe_code)]
mod aesni {
    use std::arch::x86_64::{
        __m128i, __m512i, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm_aesenc_si128,
        _mm_aesenclast_si128, _mm_aesimc_si128, _mm_aeskeygenassist_si128, _mm_loadu_si128,
        _mm_setzero_si128, _mm_shuffle_epi32, _mm_slli_si128, _mm_storeu_si128, _mm_xor_si128,
        _mm512_aesdec_epi128, _mm512_aesdeclast_epi128, _mm512_broadcast_i32x4, _mm512_loadu_si512,
        _mm512_setzero_si512, _mm512_storeu_si512, _mm512_xor_si512,
    };

    use zeroize::Zeroize;

    use super::{BLOCK, KEY_LEN};

    /// The expanded key and the chaining value. A value of this type exists only when the CPU
    /// has AES-NI ([`Chain::new`] checks), which is what makes its calls into the AES-NI build
    /// sound.
    pub(super) struct Chain {
        keys: [__m128i; 15],
        chain: __m128i,
    }

    impl Chain {
        /// The chain, or `None` when the CPU has no AES-NI.
        pub(super) fn new(key: &[u8; KEY_LEN], iv: &[u8; BLOCK]) -> Option<Self> {
            if !std::is_x86_feature_detected!("aes") {
                return None;
            }
            // SAFETY: `expand` requires AES-NI (and SSE2, part of x86-64), which the detection
            // just above established.
            let keys = unsafe { expand(key) };
            // SAFETY: as for `expand`: `load` requires AES-NI, detected above.
            let chain = unsafe { load(iv) };
            Some(Self { keys, chain })
        }

        /// Encrypts `buf` (whole blocks; a partial block at the end is left as it is).
        pub(super) fn encrypt(&mut self, buf: &mut [u8]) {
            // SAFETY: `encrypt_blocks` requires AES-NI; `self` exists, so `Chain::new` found it.
            unsafe { encrypt_blocks(&self.keys, &mut self.chain, buf) }
        }

        /// Encrypts one block in place.
        #[inline]
        #[target_feature(enable = "aes")]
        pub(super) fn encrypt_one(&mut self, block: &mut [u8; BLOCK]) {
            let x = encrypt1(&self.keys, _mm_xor_si128(load(block), self.chain));
            self.chain = x;
            store(block, x);
        }
    }

    impl Drop for Chain {
        fn drop(&mut self) {
            self.keys.zeroize();
            self.chain.zeroize();
        }
    }

    /// The decryption round keys and the last ciphertext block. Like [`Chain`], a value exists
    /// only when the CPU has AES-NI.
    pub(super) struct DecChain {
        keys: [__m128i; 15],
        prev: __m128i,
        /// Whether the CPU also has AVX-512F and VAES, and the wide build runs.
        wide: bool,
    }

    impl DecChain {
        /// The chain, or `None` when the CPU has no AES-NI; on the wide build when `wide` and
        /// the CPU has AVX-512F and VAES.
        pub(super) fn new(key: &[u8; KEY_LEN], iv: &[u8; BLOCK], wide: bool) -> Option<Self> {
            if !std::is_x86_feature_detected!("aes") {
                return None;
            }
            // SAFETY: `expand` requires AES-NI (and SSE2, part of x86-64), which the detection
            // just above established.
            let mut enc = unsafe { expand(key) };
            // SAFETY: as for `expand`: `invert` requires AES-NI, detected above.
            let keys = unsafe { invert(&enc) };
            enc.zeroize();
            // SAFETY: as for `expand`: `load` requires AES-NI, detected above.
            let prev = unsafe { load(iv) };
            let wide = wide
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("vaes");
            Some(Self { keys, prev, wide })
        }

        /// Whether the wide (VAES-512) build runs.
        pub(super) fn wide(&self) -> bool {
            self.wide
        }

        /// Decrypts `input` into `out` (whole blocks of one length).
        pub(super) fn decrypt(&mut self, input: &[u8], out: &mut [u8]) {
            if self.wide {
                // SAFETY: `decrypt_blocks_wide` requires AES-NI, AVX-512F and VAES; `wide` is
                // set only when `DecChain::new` detected all three.
                unsafe { decrypt_blocks_wide(&self.keys, &mut self.prev, input, out) }
            } else {
                // SAFETY: `decrypt_blocks` requires AES-NI; `self` exists, so `DecChain::new`
                // found it.
                unsafe { decrypt_blocks(&self.keys, &mut self.prev, input, out) }
            }
        }
    }

    impl Drop for DecChain {
        fn drop(&mut self) {
            self.keys.zeroize();
            self.prev.zeroize();
        }
    }

    /// The 16 bytes of `block` as a vector.
    #[inline]
    #[target_feature(enable = "aes")]
    fn load(block: &[u8; BLOCK]) -> __m128i {
        // SAFETY: `block` is 16 readable bytes, and `_mm_loadu_si128` has no alignment
        // requirement.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    /// Writes `v` into the 16 bytes of `block`.
    #[inline]
    #[target_feature(enable = "aes")]
    fn store(block: &mut [u8; BLOCK], v: __m128i) {
        // SAFETY: `block` is 16 writable bytes, and `_mm_storeu_si128` has no alignment
        // requirement.
        unsafe { _mm_storeu_si128(block.as_mut_ptr().cast(), v) }
    }

    /// `w ^ (w << 32) ^ (w << 64) ^ (w << 96) ^ t`: the running XOR of a key schedule step.
    #[inline]
    #[target_feature(enable = "aes")]
    fn mix(w: __m128i, t: __m128i) -> __m128i {
        let mut w = w;
        w = _mm_xor_si128(w, _mm_slli_si128::<4>(w));
        w = _mm_xor_si128(w, _mm_slli_si128::<4>(w));
        w = _mm_xor_si128(w, _mm_slli_si128::<4>(w));
        _mm_xor_si128(w, t)
    }

    /// FIPS 197's AES-256 key expansion (§5.2) into fifteen round keys, with `AESKEYGENASSIST`
    /// for `SubWord`, `RotWord` and the round constant.
    #[target_feature(enable = "aes")]
    fn expand(key: &[u8; KEY_LEN]) -> [__m128i; 15] {
        let mut k = [_mm_setzero_si128(); 15];
        let (lo, hi) = key.split_at(BLOCK);
        k[0] = load(lo.try_into().unwrap_or(&[0; BLOCK]));
        k[1] = load(hi.try_into().unwrap_or(&[0; BLOCK]));
        // Round keys 2i and 2i + 1 from 2i - 2 and 2i - 1: the first with
        // SubWord(RotWord(last word)) ^ rcon (word 3 of AESKEYGENASSIST), the second with
        // SubWord(last word) (word 2).
        macro_rules! even {
            ($i:expr, $rcon:expr) => {
                k[$i] = mix(
                    k[$i - 2],
                    _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<$rcon>(k[$i - 1])),
                );
            };
        }
        macro_rules! odd {
            ($i:expr) => {
                k[$i] = mix(
                    k[$i - 2],
                    _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(k[$i - 1])),
                );
            };
        }
        even!(2, 0x01);
        odd!(3);
        even!(4, 0x02);
        odd!(5);
        even!(6, 0x04);
        odd!(7);
        even!(8, 0x08);
        odd!(9);
        even!(10, 0x10);
        odd!(11);
        even!(12, 0x20);
        odd!(13);
        even!(14, 0x40);
        k
    }

    /// The round keys of the equivalent inverse cipher (FIPS 197 §5.3.5) for `AESDEC`: the
    /// encryption keys in reverse order, `InvMixColumns` applied to all but the first and last.
    #[target_feature(enable = "aes")]
    fn invert(enc: &[__m128i; 15]) -> [__m128i; 15] {
        let mut dec = [_mm_setzero_si128(); 15];
        dec[0] = enc[14];
        for i in 1..14 {
            dec[i] = _mm_aesimc_si128(enc[14 - i]);
        }
        dec[14] = enc[0];
        dec
    }

    /// One block encrypted: the fourteen rounds on `x` (the plaintext XORed with the chain).
    #[inline]
    #[target_feature(enable = "aes")]
    fn encrypt1(keys: &[__m128i; 15], x: __m128i) -> __m128i {
        let mut x = _mm_xor_si128(x, keys[0]);
        for k in &keys[1..14] {
            x = _mm_aesenc_si128(x, *k);
        }
        _mm_aesenclast_si128(x, keys[14])
    }

    /// One block decrypted (before the XOR with the ciphertext before it).
    #[inline]
    #[target_feature(enable = "aes")]
    fn decrypt1(keys: &[__m128i; 15], c: __m128i) -> __m128i {
        let mut x = _mm_xor_si128(c, keys[0]);
        for k in &keys[1..14] {
            x = _mm_aesdec_si128(x, *k);
        }
        _mm_aesdeclast_si128(x, keys[14])
    }

    /// Eight blocks decrypted at once: `AESDEC` on eight independent blocks, round by round.
    #[inline]
    #[target_feature(enable = "aes")]
    fn decrypt8(keys: &[__m128i; 15], c: &[__m128i; 8]) -> [__m128i; 8] {
        let mut x = [_mm_setzero_si128(); 8];
        for j in 0..8 {
            x[j] = _mm_xor_si128(c[j], keys[0]);
        }
        for k in &keys[1..14] {
            for v in &mut x {
                *v = _mm_aesdec_si128(*v, *k);
            }
        }
        for v in &mut x {
            *v = _mm_aesdeclast_si128(*v, keys[14]);
        }
        x
    }

    /// CBC-decrypts the whole blocks of `input` into `out` from `prev` (the ciphertext block
    /// before them), leaving the last ciphertext block in `prev`: eight blocks at a time, each
    /// XORed with the ciphertext before it in registers and stored once, then one at a time.
    #[target_feature(enable = "aes")]
    fn decrypt_blocks(keys: &[__m128i; 15], prev: &mut __m128i, input: &[u8], out: &mut [u8]) {
        let (inb, _) = input.as_chunks::<BLOCK>();
        let (outb, _) = out.as_chunks_mut::<BLOCK>();
        let mut p = *prev;
        let mut ins = inb.chunks_exact(8);
        let mut outs = outb.chunks_exact_mut(8);
        for (ci, co) in (&mut ins).zip(&mut outs) {
            let mut c = [_mm_setzero_si128(); 8];
            for (v, b) in c.iter_mut().zip(ci) {
                *v = load(b);
            }
            let x = decrypt8(keys, &c);
            store(&mut co[0], _mm_xor_si128(x[0], p));
            for j in 1..8 {
                store(&mut co[j], _mm_xor_si128(x[j], c[j - 1]));
            }
            p = c[7];
        }
        for (ci, co) in ins.remainder().iter().zip(outs.into_remainder()) {
            let c = load(ci);
            store(co, _mm_xor_si128(decrypt1(keys, c), p));
            p = c;
        }
        *prev = p;
    }

    /// Sixteen blocks in four 512-bit registers.
    const WIDE: usize = 16 * BLOCK;

    /// The 64 bytes of `b` as a vector.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load512(b: &[u8; 64]) -> __m512i {
        // SAFETY: `b` is 64 readable bytes, and `_mm512_loadu_si512` has no alignment
        // requirement.
        unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
    }

    /// Writes `v` into the 64 bytes of `b`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store512(b: &mut [u8; 64], v: __m512i) {
        // SAFETY: `b` is 64 writable bytes, and `_mm512_storeu_si512` has no alignment
        // requirement.
        unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) }
    }

    /// [`decrypt_blocks`] sixteen blocks at a time with VAES (each `VAESDEC` runs a round on four
    /// blocks), as OpenSSL's AVX-512 CBC decryption does. Every block but the first XORs with the
    /// ciphertext block just before it, which one 512-bit load from one block back gives four at
    /// a time; the first block (it XORs with `prev`) and those after the last group of sixteen
    /// go through the 128-bit build.
    #[target_feature(enable = "aes,avx512f,vaes")]
    fn decrypt_blocks_wide(keys: &[__m128i; 15], prev: &mut __m128i, input: &[u8], out: &mut [u8]) {
        let n = input.len().min(out.len()) / BLOCK * BLOCK;
        if n < BLOCK + WIDE {
            return decrypt_blocks(keys, prev, input, out);
        }
        decrypt_blocks(keys, prev, &input[..BLOCK], &mut out[..BLOCK]);
        let mut k = [_mm512_setzero_si512(); 15];
        for (w, key) in k.iter_mut().zip(keys) {
            *w = _mm512_broadcast_i32x4(*key);
        }
        let mut at = BLOCK;
        while at + WIDE <= n {
            let (src, _) = input[at..at + WIDE].as_chunks::<64>();
            let (back, _) = input[at - BLOCK..at - BLOCK + WIDE].as_chunks::<64>();
            let (dst, _) = out[at..at + WIDE].as_chunks_mut::<64>();
            let mut x = [_mm512_setzero_si512(); 4];
            for (v, c) in x.iter_mut().zip(src) {
                *v = _mm512_xor_si512(load512(c), k[0]);
            }
            for key in &k[1..14] {
                for v in &mut x {
                    *v = _mm512_aesdec_epi128(*v, *key);
                }
            }
            for ((v, d), b) in x.iter_mut().zip(dst).zip(back) {
                store512(
                    d,
                    _mm512_xor_si512(_mm512_aesdeclast_epi128(*v, k[14]), load512(b)),
                );
            }
            at += WIDE;
        }
        let (last, _) = input[at - BLOCK..at].as_chunks::<BLOCK>();
        *prev = load(&last[0]);
        decrypt_blocks(keys, prev, &input[at..n], &mut out[at..n]);
    }

    /// CBC-encrypts the whole blocks of `buf` in place from `chain`, leaving the last ciphertext
    /// block in `chain`. The round keys are copied into locals before the loop so that the
    /// compiler keeps them in registers; the chaining value never leaves a register.
    ///
    /// The chain's path through a block is one XOR and the fourteen rounds: the loop carries
    /// `c ^ k0` (the last round's key is `k14 ^ k0`, so `AESENCLAST` yields it directly) and
    /// XORs it into the plaintext, whose own whitening with `k0` is then already done; the
    /// stored ciphertext `c` is `(c ^ k0) ^ k0`, off the path. (Written as `p ^ k0 ^ c`, the
    /// compiler reassociates it into two XORs on the path.)
    #[target_feature(enable = "aes")]
    fn encrypt_blocks(keys: &[__m128i; 15], chain: &mut __m128i, buf: &mut [u8]) {
        let [
            k0,
            k1,
            k2,
            k3,
            k4,
            k5,
            k6,
            k7,
            k8,
            k9,
            k10,
            k11,
            k12,
            k13,
            k14,
        ] = *keys;
        let k14k0 = _mm_xor_si128(k14, k0);
        let mut cw = _mm_xor_si128(*chain, k0);
        let (blocks, _partial) = buf.as_chunks_mut::<BLOCK>();
        for block in blocks {
            let mut x = _mm_xor_si128(load(block), cw);
            x = _mm_aesenc_si128(x, k1);
            x = _mm_aesenc_si128(x, k2);
            x = _mm_aesenc_si128(x, k3);
            x = _mm_aesenc_si128(x, k4);
            x = _mm_aesenc_si128(x, k5);
            x = _mm_aesenc_si128(x, k6);
            x = _mm_aesenc_si128(x, k7);
            x = _mm_aesenc_si128(x, k8);
            x = _mm_aesenc_si128(x, k9);
            x = _mm_aesenc_si128(x, k10);
            x = _mm_aesenc_si128(x, k11);
            x = _mm_aesenc_si128(x, k12);
            x = _mm_aesenc_si128(x, k13);
            cw = _mm_aesenclast_si128(x, k14k0);
            store(block, _mm_xor_si128(cw, k0));
        }
        *chain = _mm_xor_si128(cw, k0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The `cbc` crate's AES-256-CBC encryption of `pt` (whole blocks): the reference.
    fn reference(key: &[u8; 32], iv: &[u8; 16], pt: &[u8]) -> Vec<u8> {
        let mut buf = pt.to_vec();
        let len = buf.len();
        cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into())
            .encrypt_padded::<cbc::cipher::block_padding::NoPadding>(&mut buf, len)
            .unwrap();
        buf
    }

    /// Every build this CPU can run: the selected one, and the portable one on its own.
    fn chains(key: &[u8; 32], iv: &[u8; 16]) -> Vec<Aes256CbcEnc> {
        vec![Aes256CbcEnc::new(key, iv), Aes256CbcEnc::portable(key, iv)]
    }

    /// NIST SP 800-38A F.2.5 / F.2.6, CBC-AES256 (FIPS 197's key schedule under it): key, IV,
    /// plaintext and ciphertext.
    fn sp_800_38a() -> ([u8; 32], [u8; 16], [u8; 64], [u8; 64]) {
        (
            hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"),
            hex("000102030405060708090a0b0c0d0e0f"),
            hex(concat!(
                "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
                "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
            )),
            hex(concat!(
                "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d",
                "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
            )),
        )
    }

    #[test]
    fn fips_197_and_sp_800_38a_vectors() {
        // NIST SP 800-38A F.2.5, CBC-AES256.Encrypt.
        let (key, iv, pt, ct) = sp_800_38a();
        for mut chain in chains(&key, &iv) {
            let mut buf = pt;
            chain.encrypt_in_place(&mut buf).unwrap();
            assert_eq!(buf, ct, "{}", chain.path());
        }
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    /// The `cbc` crate's AES-256-CBC decryption of `ct` (whole blocks): the reference.
    fn reference_decrypt(key: &[u8; 32], iv: &[u8; 16], ct: &[u8]) -> Vec<u8> {
        use cbc::cipher::BlockModeDecrypt;
        let mut buf = ct.to_vec();
        cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into())
            .decrypt_padded::<cbc::cipher::block_padding::NoPadding>(&mut buf)
            .unwrap();
        buf
    }

    /// Every decryption build this CPU can run: the selected one (VAES-512 where the CPU has
    /// it), AES-NI on its own, and the portable one.
    fn decryptors(key: &[u8; 32], iv: &[u8; 16]) -> Vec<Aes256CbcDec> {
        let mut all = vec![Aes256CbcDec::new(key, iv), Aes256CbcDec::portable(key, iv)];
        #[cfg(target_arch = "x86_64")]
        all.extend(aesni::DecChain::new(key, iv, false).map(|c| Aes256CbcDec(DecImp::AesNi(c))));
        all
    }

    #[test]
    fn sp_800_38a_decryption() {
        // NIST SP 800-38A F.2.6, CBC-AES256.Decrypt.
        let (key, iv, pt, ct) = sp_800_38a();
        for mut chain in decryptors(&key, &iv) {
            let mut out = [0u8; 64];
            chain.decrypt_to(&ct, &mut out).unwrap();
            assert_eq!(out, pt, "{}", chain.path());
        }
    }

    #[test]
    fn the_selected_build_is_aes_ni_where_the_cpu_has_it() {
        let dec = Aes256CbcDec::new(&[0; 32], &[0; 16]);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            dec.path(),
            match (
                std::is_x86_feature_detected!("aes"),
                std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("vaes")
            ) {
                (true, true) => "VAES-512",
                (true, false) => "AES-NI",
                (false, _) => "aes crate",
            }
        );
        let chain = Aes256CbcEnc::new(&[0; 32], &[0; 16]);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            chain.path() == "AES-NI",
            std::is_x86_feature_detected!("aes")
        );
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(chain.path(), "aes + cbc crates");
    }

    #[test]
    fn partial_blocks_and_unequal_buffers_are_refused_untouched() {
        for mut chain in chains(&[1; 32], &[2; 16]) {
            let mut buf = [7u8; 17];
            assert_eq!(chain.encrypt_in_place(&mut buf), Err(NotWholeBlocks));
            assert_eq!(buf, [7u8; 17]);
            assert_eq!(
                chain.encrypt_to(&[0; 32], &mut [0; 16]),
                Err(NotWholeBlocks)
            );
            assert_eq!(
                chain.encrypt_to(&[0; 15], &mut [0; 15]),
                Err(NotWholeBlocks)
            );
            // The chain did not move: it still encrypts like a fresh one.
            let mut b = [9u8; 16];
            chain.encrypt_in_place(&mut b).unwrap();
            assert_eq!(b.to_vec(), reference(&[1; 32], &[2; 16], &[9; 16]));
        }
        for mut chain in decryptors(&[1; 32], &[2; 16]) {
            let mut buf = [7u8; 17];
            assert_eq!(chain.decrypt_in_place(&mut buf), Err(NotWholeBlocks));
            assert_eq!(buf, [7u8; 17]);
            let mut out = [5u8; 16];
            assert_eq!(chain.decrypt_to(&[0; 32], &mut out), Err(NotWholeBlocks));
            assert_eq!(out, [5u8; 16]);
            assert_eq!(
                chain.decrypt_to(&[0; 15], &mut [0; 15]),
                Err(NotWholeBlocks)
            );
            let mut b = [9u8; 16];
            chain.decrypt_in_place(&mut b).unwrap();
            assert_eq!(b.to_vec(), reference_decrypt(&[1; 32], &[2; 16], &[9; 16]));
        }
    }

    /// Cuts `len` bytes (whole blocks) at the given points, in order, ending with `len`.
    fn cut_points(len: usize, cuts: &[usize]) -> Vec<usize> {
        let blocks = len / BLOCK;
        let mut at: Vec<usize> = cuts.iter().map(|c| BLOCK * (c % (blocks + 1))).collect();
        at.sort_unstable();
        at.push(len);
        at
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Both builds, in place and from one buffer into another, over random keys, IVs and
        /// lengths cut into random pieces of a continuing chain, equal the `cbc` crate's
        /// encryption of the whole.
        #[test]
        fn equals_the_cbc_crate(
            key in any::<[u8; 32]>(),
            iv in any::<[u8; 16]>(),
            pt in proptest::collection::vec(any::<[u8; 16]>(), 0..40)
                .prop_map(|blocks| blocks.concat()),
            cuts in proptest::collection::vec(any::<usize>(), 0..4),
        ) {
            let want = reference(&key, &iv, &pt);
            let at = cut_points(pt.len(), &cuts);
            for (mut in_place, mut b2b) in chains(&key, &iv).into_iter().zip(chains(&key, &iv)) {
                let mut buf = pt.clone();
                let mut out = vec![0u8; pt.len()];
                let mut start = 0;
                for &end in &at {
                    in_place.encrypt_in_place(&mut buf[start..end]).unwrap();
                    b2b.encrypt_to(&pt[start..end], &mut out[start..end]).unwrap();
                    start = end;
                }
                prop_assert_eq!(&buf, &want, "{} in place", in_place.path());
                prop_assert_eq!(&out, &want, "{} into a buffer", b2b.path());
            }
        }

        /// Both decryption builds, in place and from one buffer into another, over random keys,
        /// IVs and lengths (past the eight-block batches, the 64-block in-place runs and the
        /// portable build's 256-block runs) cut into random pieces, equal the `cbc` crate's
        /// decryption of the whole.
        #[test]
        fn decryption_equals_the_cbc_crate(
            key in any::<[u8; 32]>(),
            iv in any::<[u8; 16]>(),
            blocks in 0usize..300,
            seed in any::<u64>(),
            cuts in proptest::collection::vec(any::<usize>(), 0..5),
        ) {
            let mut x = seed | 1;
            let ct: Vec<u8> = (0..BLOCK * blocks)
                .map(|_| {
                    // xorshift64: cheap random bytes for long inputs.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let want = reference_decrypt(&key, &iv, &ct);
            let at = cut_points(ct.len(), &cuts);
            for (mut in_place, mut b2b) in decryptors(&key, &iv).into_iter().zip(decryptors(&key, &iv)) {
                let mut buf = ct.clone();
                let mut out = vec![0u8; ct.len()];
                let mut start = 0;
                for &end in &at {
                    in_place.decrypt_in_place(&mut buf[start..end]).unwrap();
                    b2b.decrypt_to(&ct[start..end], &mut out[start..end]).unwrap();
                    start = end;
                }
                prop_assert_eq!(&buf, &want, "{} in place", in_place.path());
                prop_assert_eq!(&out, &want, "{} into a buffer", b2b.path());
            }
        }
    }
}
