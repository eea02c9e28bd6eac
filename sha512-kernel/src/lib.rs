//! SHA-512 for DPAPI: the compression of the one block shape every iteration of DPAPI's PBKDF2
//! hashes, the iteration loop itself ([`hmac_xor_chain`]), and the compression of whole blocks
//! ([`compress_blocks`]) under an incremental [`Sha512`] and [`HmacSha512`] for long messages (a
//! blob's sign over its ciphertext).
//!
//! Both hashes of an HMAC-SHA512 iteration over a 64-byte message end with the block
//! `m || 0x80 || 0… || 1536` (the message after one 128-byte keyed block: 192 bytes, 1536 bits).
//! [`compress_digest_block`] takes `m` as the eight big-endian words it is (the previous chaining
//! state or accumulator, so there is no byte-order conversion at all) and runs FIPS 180-4's
//! compression with the other eight words as constants.
//!
//! On x86-64 the message schedule runs two words at a time in SSE2 registers (part of the x86-64
//! baseline) through `safe_arch`'s safe wrappers, while the rounds run in scalar registers: the
//! schedule does not compete with the rounds for the integer ALUs. The schedule for rounds 16–31
//! is written out with the padding words as constants, which the compiler folds; rounds 32–63 are
//! a loop whose `K[t] + W[t]` go to a stack array that the rounds read as memory operands, which
//! keeps the compiler from hoisting the whole schedule ahead of the rounds.
//!
//! The same code is compiled twice on x86-64: for the baseline, and for AVX2 and BMI2, where the
//! compiler uses BMI2's non-destructive `rorx` for the rounds' rotations and the three-operand
//! VEX forms for the schedule (no register copies before each shift). The second is chosen at run
//! time when the CPU has both features. The crate's `unsafe` blocks are those calls, one per
//! entry point (the digest block, the KDF loop, whole blocks, the stitched pass), each after
//! its own detection; the one 512-bit store of the four-block schedule; and the one round in
//! inline assembly (below), each with its own SAFETY comment.
//! The KDF loop has a third build, for AVX-512F and AVX-512VL (the compiler then uses `vprorq`
//! and `vpternlogq` in the schedule), chosen before the AVX2 one when the CPU has them: 10–15%
//! less time per iteration on the machine in `benches/README.md`. Valgrind does not report
//! AVX-512 to the programs it runs, so under it the AVX2 build is the one exercised; the
//! property tests run every build the CPU has, each on its own.
//!
//! Whole blocks use the same compression with the sixteen message words read big-endian, so the
//! padding constants of the digest block are the only difference; the AVX2 + BMI2 build takes
//! them two at a time, with both blocks' message schedules in 256-bit registers (only value
//! intrinsics, safe to call in that build), so each block pays half the schedule. Where the CPU
//! has AVX-512F, whole blocks go four at a time: each 512-bit register holds two schedule words
//! of each of the four blocks, computed with AVX-512's rotations (`vprorq`) and three-way XORs
//! (`vpternlogq`) during the first block's rounds, so each block pays a quarter of a schedule
//! that is itself cheaper (2–7% faster whole blocks than pairs, `benches/README.md`).
//!
//! Rounds that read their `K + W` from memory with no schedule work among them are inline
//! assembly in the BMI builds (`round_mem!`): the blocks after the first of a pair or a quad,
//! and every group of eight rounds of the one-block compression (the KDF's, whose schedule steps
//! run between the groups). Their order takes one dependent instruction fewer from one round's
//! `e` to the next than the compiler's order of the same arithmetic. That measured 1.3–2.7%
//! faster in the four-block build (three of its four blocks), 1–3% in the KDF loop and no
//! different in the pair build, which uses it all the same: there is one version of those rounds,
//! and valgrind, which runs the AVX2 builds, checks it.
//!
//! A blob's sign is an HMAC-SHA512 over its AES-256-CBC ciphertext, so
//! [`Sha512::update_encrypting`] (and [`HmacSha512`]'s) runs the encryption inside the two-block
//! compression: the `stitch` module calls `aes-cbc-kernel`'s one-block AES-NI step from slots
//! between the groups of eight rounds, sixteen AES blocks (one pair of SHA-512 blocks' worth)
//! per pair, one pair ahead of the hash, in a function built for AVX2, BMI2 and AES-NI so that
//! both inline into one instruction stream. CBC encryption is a chain bound by the latency of
//! its fourteen `AESENC`, and SHA-512's rounds leave issue slots idle, so the processor runs each
//! in the other's gaps: a blob's encryption and sign then cost about the sign alone, as OpenSSL's
//! stitched `aesni-sha*` modes do. Elsewhere, and when the chain runs on the portable build, the
//! two run one after the other. Decryption is not stitched: it is throughput-bound, and
//! `aes-cbc-kernel`'s wide builds decrypting a run before it is hashed measured 1–2% faster than
//! one block per slot (`benches/README.md`).
//!
//! Elsewhere (AArch64 has SHA-512 instructions, which `sha2` uses) the block is laid out in bytes
//! and given to `sha2`'s compression function, and whole blocks go to it directly.
//!
//! `benches/README.md` in the workspace has the measurements.

#![deny(unsafe_op_in_unsafe_fn)]

mod hasher;

pub use hasher::{BLOCK, HmacSha512, IV, Sha512};

/// The 64-byte message's bit length after one 128-byte block.
const BITS: u64 = 8 * (128 + 64);

/// `state = compress(state, m || 0x80 || 0… || BE128(1536))`, `m` as big-endian words.
#[inline]
pub fn compress_digest_block(state: &mut [u64; 8], m: &[u64; 8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_bmi() {
            #[allow(unsafe_code)]
            // SAFETY: `compress_avx2_bmi2` requires only that the CPU has AVX2, BMI1 and BMI2,
            // which `has_avx2_bmi` just established at run time.
            unsafe {
                imp::compress_avx2_bmi2(state, m);
            }
        } else {
            imp::compress_baseline(state, m);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    imp::compress(state, m);
}

/// The loop of [`hmac_xor_chain`] over the compression `$compress`, written out where it is used
/// so that the compression inlines into each build (a function passed as a value would be
/// called through a shim compiled without the build's features). The temporaries are wiped.
macro_rules! xor_chain {
    ($inner:expr, $outer:expr, $acc:expr, $iterations:expr, $compress:path) => {{
        let (inner, outer, acc): (&[u64; 8], &[u64; 8], &mut [u64; 8]) = ($inner, $outer, $acc);
        let (mut s, mut t) = ([0u64; 8], [0u64; 8]);
        for _ in 0..$iterations {
            s = *inner;
            $compress(&mut s, acc);
            t = *outer;
            $compress(&mut t, &s);
            for (a, b) in acc.iter_mut().zip(&t) {
                *a ^= *b;
            }
        }
        zeroize::Zeroize::zeroize(&mut s);
        zeroize::Zeroize::zeroize(&mut t);
    }};
}

/// Whether the CPU runs the KDF loop's AVX-512 build: AVX2 and BMI2 as the AVX2 build, and
/// AVX-512F with AVX-512VL, whose 128-bit `vprorq` and `vpternlogq` the compiler uses for the
/// message schedule's rotations and three-way XORs. (Whole blocks have an AVX-512 build of
/// their own, four blocks at a time: [`compress_blocks`].)
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512vl() -> bool {
    has_avx2_bmi()
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512vl")
}

/// DPAPI's PBKDF2 iterations after the first (`docs/dpapi.md` §1.3), `iterations` times:
/// `acc ^= HMAC(acc)`, where the HMAC's key is given as `inner` and `outer`, the SHA-512 states
/// after its ipad and opad blocks. Each iteration is two [`compress_digest_block`] shapes; the
/// loop runs inside one build (AVX-512VL, AVX2 + BMI2 or baseline, chosen once per call), so the
/// compressions inline into it and the states stay in registers between them.
pub fn hmac_xor_chain(inner: &[u64; 8], outer: &[u64; 8], acc: &mut [u64; 8], iterations: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512vl() {
            #[allow(unsafe_code)]
            // SAFETY: `xor_chain_avx512` requires only that the CPU has AVX2, BMI1, BMI2,
            // AVX-512F and AVX-512VL, which `has_avx512vl` just established at run time.
            unsafe {
                imp::xor_chain_avx512(inner, outer, acc, iterations);
            }
        } else if has_avx2_bmi() {
            #[allow(unsafe_code)]
            // SAFETY: `xor_chain_avx2_bmi2` requires only that the CPU has AVX2, BMI1 and BMI2,
            // which `has_avx2_bmi` just established at run time.
            unsafe {
                imp::xor_chain_avx2_bmi2(inner, outer, acc, iterations);
            }
        } else {
            imp::xor_chain_baseline(inner, outer, acc, iterations);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    xor_chain!(inner, outer, acc, iterations, imp::compress);
}

/// `state = compress(state, block)` for each block in turn: SHA-512 over whole blocks, the bulk
/// of a long message (a blob's sign). The same compression as [`compress_digest_block`], with the
/// sixteen message words read big-endian from each block.
#[inline]
pub fn compress_blocks(state: &mut [u64; 8], blocks: &[[u8; 128]]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_bulk_avx512() {
            #[allow(unsafe_code)]
            // SAFETY: `compress_blocks_avx512` requires only that the CPU has AVX-512F, AVX2,
            // BMI1 and BMI2, which `has_bulk_avx512` just established at run time.
            unsafe {
                imp::compress_blocks_avx512(state, blocks);
            }
        } else if has_avx2_bmi() {
            #[allow(unsafe_code)]
            // SAFETY: `compress_blocks_avx2_bmi2` requires only that the CPU has AVX2, BMI1 and
            // BMI2, which `has_avx2_bmi` just established at run time.
            unsafe {
                imp::compress_blocks_avx2_bmi2(state, blocks);
            }
        } else {
            imp::compress_blocks_baseline(state, blocks);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    sha2::block_api::compress512(state, blocks);
}

/// Whether the CPU runs the AVX2 builds: AVX2 for the schedule, BMI2's `rorx` and BMI1's `andn`
/// for the rounds.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2_bmi() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
}

/// Whether the CPU runs the bulk compression's AVX-512 build (four blocks at a time): the AVX2
/// build's features and AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_bulk_avx512() -> bool {
    has_avx2_bmi() && std::is_x86_feature_detected!("avx512f")
}

/// Which compression [`compress_digest_block`] runs on this CPU.
pub fn selected_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_bmi() {
            "x86-64 AVX2 + BMI2"
        } else {
            "x86-64 baseline (SSE2)"
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "sha2::block_api::compress512"
    }
}

/// AES-256-CBC encryption stitched into the whole-block compression (x86-64 with AVX2, BMI2 and
/// AES-NI): each pair of SHA-512 blocks is compressed by [`imp::two_blocks::compress_pair_with`]
/// while its slots encrypt one AES block each, so the cipher's work fills issue slots the rounds
/// leave idle, as OpenSSL's stitched `aesni-sha*` modes do. CBC encryption is a chain that waits
/// on the AES unit's latency (fourteen dependent rounds a block), which alone leaves that unit
/// and most issue slots idle; stitched, its blocks cost little more than their instructions. The
/// caller is [`Sha512::update_encrypting`].
#[cfg(target_arch = "x86_64")]
mod stitch {
    use aes_cbc_kernel::{Aes256CbcEnc, BLOCK as AES_BLOCK};

    use crate::imp::two_blocks::{SLOTS, compress_pair_with};

    /// SHA-512 bytes a pair of blocks covers, and AES blocks in it: one AES block per slot.
    pub(crate) const PAIR: usize = 2 * crate::BLOCK;
    const AES_PER_PAIR: usize = PAIR / AES_BLOCK;
    const _: () = assert!(AES_PER_PAIR <= SLOTS);

    /// Whether the CPU runs the stitched builds: AVX2, BMI1 and BMI2 for the compression, AES-NI
    /// for the cipher.
    pub(crate) fn available() -> bool {
        crate::has_avx2_bmi() && std::is_x86_feature_detected!("aes")
    }

    /// Hashes `pairs` pairs of blocks from the start of `body`, encrypting in place, in the
    /// slots of each pair, the next [`AES_PER_PAIR`] AES blocks from `enc_pos` (a block
    /// boundary of the chain). `body[..enc_pos]` must be encrypted already and hold the first
    /// pair (`enc_pos >= PAIR`); then each pair is encrypted before it is hashed. Returns the
    /// new `enc_pos`.
    #[target_feature(enable = "avx2,bmi1,bmi2,aes")]
    pub(crate) fn encrypt_hash_pairs(
        state: &mut [u64; 8],
        enc: &mut Aes256CbcEnc,
        body: &mut [u8],
        mut enc_pos: usize,
        pairs: usize,
    ) -> usize {
        for i in 0..pairs {
            let (done, rest) = body.split_at_mut(enc_pos);
            let (ahead, _) = rest.as_chunks_mut::<AES_BLOCK>();
            let n = ahead.len().min(AES_PER_PAIR);
            let ahead = &mut ahead[..n];
            let (blocks, _) = done[i * PAIR..(i + 1) * PAIR].as_chunks::<{ crate::BLOCK }>();
            if let [a, b] = blocks {
                compress_pair_with(state, a, b, |k| {
                    if let Some(block) = ahead.get_mut(k) {
                        enc.encrypt_block_aesni(block);
                    }
                });
            }
            enc_pos += n * AES_BLOCK;
        }
        enc_pos
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::BITS;

    #[inline]
    pub(super) fn compress(state: &mut [u64; 8], m: &[u64; 8]) {
        let mut block = [0u8; 128];
        for (chunk, word) in block.chunks_exact_mut(8).zip(m) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[64] = 0x80;
        block[120..].copy_from_slice(&BITS.to_be_bytes());
        sha2::block_api::compress512(state, core::slice::from_ref(&block));
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::BITS;
    use safe_arch::{
        add_i64_m128i, bitxor_m128i, cast_to_m128d_from_m128i, cast_to_m128i_from_m128d, m128i,
        shl_imm_u64_m128i, shr_imm_u64_m128i, shuffle_abi_f64_all_m128d,
    };

    /// FIPS 180-4 §4.2.3.
    const K: [u64; 80] = [
        0x428a_2f98_d728_ae22,
        0x7137_4491_23ef_65cd,
        0xb5c0_fbcf_ec4d_3b2f,
        0xe9b5_dba5_8189_dbbc,
        0x3956_c25b_f348_b538,
        0x59f1_11f1_b605_d019,
        0x923f_82a4_af19_4f9b,
        0xab1c_5ed5_da6d_8118,
        0xd807_aa98_a303_0242,
        0x1283_5b01_4570_6fbe,
        0x2431_85be_4ee4_b28c,
        0x550c_7dc3_d5ff_b4e2,
        0x72be_5d74_f27b_896f,
        0x80de_b1fe_3b16_96b1,
        0x9bdc_06a7_25c7_1235,
        0xc19b_f174_cf69_2694,
        0xe49b_69c1_9ef1_4ad2,
        0xefbe_4786_384f_25e3,
        0x0fc1_9dc6_8b8c_d5b5,
        0x240c_a1cc_77ac_9c65,
        0x2de9_2c6f_592b_0275,
        0x4a74_84aa_6ea6_e483,
        0x5cb0_a9dc_bd41_fbd4,
        0x76f9_88da_8311_53b5,
        0x983e_5152_ee66_dfab,
        0xa831_c66d_2db4_3210,
        0xb003_27c8_98fb_213f,
        0xbf59_7fc7_beef_0ee4,
        0xc6e0_0bf3_3da8_8fc2,
        0xd5a7_9147_930a_a725,
        0x06ca_6351_e003_826f,
        0x1429_2967_0a0e_6e70,
        0x27b7_0a85_46d2_2ffc,
        0x2e1b_2138_5c26_c926,
        0x4d2c_6dfc_5ac4_2aed,
        0x5338_0d13_9d95_b3df,
        0x650a_7354_8baf_63de,
        0x766a_0abb_3c77_b2a8,
        0x81c2_c92e_47ed_aee6,
        0x9272_2c85_1482_353b,
        0xa2bf_e8a1_4cf1_0364,
        0xa81a_664b_bc42_3001,
        0xc24b_8b70_d0f8_9791,
        0xc76c_51a3_0654_be30,
        0xd192_e819_d6ef_5218,
        0xd699_0624_5565_a910,
        0xf40e_3585_5771_202a,
        0x106a_a070_32bb_d1b8,
        0x19a4_c116_b8d2_d0c8,
        0x1e37_6c08_5141_ab53,
        0x2748_774c_df8e_eb99,
        0x34b0_bcb5_e19b_48a8,
        0x391c_0cb3_c5c9_5a63,
        0x4ed8_aa4a_e341_8acb,
        0x5b9c_ca4f_7763_e373,
        0x682e_6ff3_d6b2_b8a3,
        0x748f_82ee_5def_b2fc,
        0x78a5_636f_4317_2f60,
        0x84c8_7814_a1f0_ab72,
        0x8cc7_0208_1a64_39ec,
        0x90be_fffa_2363_1e28,
        0xa450_6ceb_de82_bde9,
        0xbef9_a3f7_b2c6_7915,
        0xc671_78f2_e372_532b,
        0xca27_3ece_ea26_619c,
        0xd186_b8c7_21c0_c207,
        0xeada_7dd6_cde0_eb1e,
        0xf57d_4f7f_ee6e_d178,
        0x06f0_67aa_7217_6fba,
        0x0a63_7dc5_a2c8_98a6,
        0x113f_9804_bef9_0dae,
        0x1b71_0b35_131c_471b,
        0x28db_77f5_2304_7d84,
        0x32ca_ab7b_40c7_2493,
        0x3c9e_be0a_15c9_bebc,
        0x431d_67c4_9c10_0d4c,
        0x4cc5_d4be_cb3e_42b6,
        0x597f_299c_fc65_7e2a,
        0x5fcb_6fab_3ad6_faec,
        0x6c44_198c_4a47_5817,
    ];

    #[inline(always)]
    fn big_sigma0(x: u64) -> u64 {
        x.rotate_right(28) ^ x.rotate_right(34) ^ x.rotate_right(39)
    }

    #[inline(always)]
    fn big_sigma1(x: u64) -> u64 {
        x.rotate_right(14) ^ x.rotate_right(18) ^ x.rotate_right(41)
    }

    /// σ0 of both lanes: `ror 1 ^ ror 8 ^ shr 7` (SSE2 has no 64-bit rotate: the two halves of
    /// each rotation are disjoint, so XOR joins them).
    #[inline(always)]
    fn small_sigma0(v: m128i) -> m128i {
        let r1 = bitxor_m128i(shr_imm_u64_m128i::<1>(v), shl_imm_u64_m128i::<63>(v));
        let r8 = bitxor_m128i(shr_imm_u64_m128i::<8>(v), shl_imm_u64_m128i::<56>(v));
        bitxor_m128i(bitxor_m128i(r1, r8), shr_imm_u64_m128i::<7>(v))
    }

    /// σ1 of both lanes: `ror 19 ^ ror 61 ^ shr 6`.
    #[inline(always)]
    fn small_sigma1(v: m128i) -> m128i {
        let r19 = bitxor_m128i(shr_imm_u64_m128i::<19>(v), shl_imm_u64_m128i::<45>(v));
        let r61 = bitxor_m128i(shr_imm_u64_m128i::<61>(v), shl_imm_u64_m128i::<3>(v));
        bitxor_m128i(bitxor_m128i(r19, r61), shr_imm_u64_m128i::<6>(v))
    }

    /// `[a[1], b[0]]`: a pair of schedule words that straddles two registers (SSE2 `shufpd`).
    #[inline(always)]
    fn straddle(a: m128i, b: m128i) -> m128i {
        cast_to_m128i_from_m128d(shuffle_abi_f64_all_m128d::<0b01>(
            cast_to_m128d_from_m128i(a),
            cast_to_m128d_from_m128i(b),
        ))
    }

    /// One round; the caller rotates the names. `Maj(a,b,c) = ((a^b) & (b^c)) ^ b`, whose `b^c` is
    /// the previous round's `a^b` (the compiler keeps it).
    macro_rules! round {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $kw:expr) => {{
            let t1 = $h
                .wrapping_add($kw)
                .wrapping_add($g ^ ($e & ($f ^ $g)))
                .wrapping_add(big_sigma1($e));
            $d = $d.wrapping_add(t1);
            $h = t1
                .wrapping_add(big_sigma0($a))
                .wrapping_add((($a ^ $b) & ($b ^ $c)) ^ $b);
        }};
    }

    /// Eight rounds from `t`, reading `K[t] + W[t]` from `kw`.
    macro_rules! rounds8 {
        ($kw:ident, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $t:expr) => {{
            let t: usize = $t;
            round!($a, $b, $c, $d, $e, $f, $g, $h, $kw[t]);
            round!($h, $a, $b, $c, $d, $e, $f, $g, $kw[t + 1]);
            round!($g, $h, $a, $b, $c, $d, $e, $f, $kw[t + 2]);
            round!($f, $g, $h, $a, $b, $c, $d, $e, $kw[t + 3]);
            round!($e, $f, $g, $h, $a, $b, $c, $d, $kw[t + 4]);
            round!($d, $e, $f, $g, $h, $a, $b, $c, $kw[t + 5]);
            round!($c, $d, $e, $f, $g, $h, $a, $b, $kw[t + 6]);
            round!($b, $c, $d, $e, $f, $g, $h, $a, $kw[t + 7]);
        }};
    }

    /// Eight rounds from `t` as `rounds8!`, reading round `t + i`'s `K + W` at `$kw[$at(t + i)]`,
    /// with `$s0`…`$s3` (the schedule's steps) after the first round of each pair of rounds: spread
    /// this finely through the rounds, the vector work competes less with them for issue slots
    /// than in larger groups (3–5% faster whole blocks than two and four steps between groups of
    /// eight, `benches/README.md`). The first block of a pair and of a quad.
    macro_rules! rounds8_with {
        ($kw:ident, $at:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $t:expr, $s0:block, $s1:block, $s2:block, $s3:block) => {{
            let t: usize = $t;
            round!($a, $b, $c, $d, $e, $f, $g, $h, $kw[$at(t)]);
            $s0
            round!($h, $a, $b, $c, $d, $e, $f, $g, $kw[$at(t + 1)]);
            round!($g, $h, $a, $b, $c, $d, $e, $f, $kw[$at(t + 2)]);
            $s1
            round!($f, $g, $h, $a, $b, $c, $d, $e, $kw[$at(t + 3)]);
            round!($e, $f, $g, $h, $a, $b, $c, $d, $kw[$at(t + 4)]);
            $s2
            round!($d, $e, $f, $g, $h, $a, $b, $c, $kw[$at(t + 5)]);
            round!($c, $d, $e, $f, $g, $h, $a, $b, $kw[$at(t + 6)]);
            $s3
            round!($b, $c, $d, $e, $f, $g, $h, $a, $kw[$at(t + 7)]);
        }};
    }

    /// One round as `round!`, in hand-ordered BMI1/BMI2 instructions, reading `K[t] + W[t]`
    /// from memory at `$kwp + $off` bytes; for rounds whose schedule is already in memory (the
    /// blocks after the first of a pair or a quad). Two values cross rounds: `$s0`, the previous
    /// round's `Σ0(a)`, not yet added to this round's `a` (added first thing here, off the path
    /// from one `e` to the next), and `$bc = b ^ c` (the previous round's `a ^ b`), for
    /// `Maj(a,b,c) = ((a^b) & (b^c)) ^ b`; start a block with `$s0 = 0`, `$bc = b ^ c`, and add
    /// `$s0` to `a` after its last round. `Ch(e,f,g) = (!e & g) + (e & f)` (the two terms share no
    /// bit), both added to `h` before `Σ1(e)`, so that `e` reaches the next `e` in five dependent
    /// instructions (`rorx`, two `xor`, two `add`); the compiler's own order of the same
    /// arithmetic takes six, and this order measured 2% faster (`benches/README.md`). `$c` is not
    /// read: `$bc` stands for it.
    macro_rules! round_mem {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $kwp:ident, $off:expr, $s0:ident, $bc:ident) => {{
            let ab: u64;
            #[allow(unsafe_code)]
            // SAFETY: the template reads the eight bytes at `$kwp + $off`, which its callers
            // derive from a live borrow of an initialised `[u64]` slice covering them (so the
            // read is in bounds, aligned and unaliased by writes while the borrow lives); the
            // rest is register arithmetic, with no stack use. `rorx` and `andn` need BMI2 and
            // BMI1: every caller is built for both and is reached only after the run-time
            // detection of both (`has_avx2_bmi`).
            unsafe {
                core::arch::asm!(
                    "add {h}, qword ptr [{kw} + {off}]",
                    "andn {ab}, {e}, {g}",
                    "rorx {t0}, {e}, 14",
                    "add {a}, {s0}",
                    "add {h}, {ab}",
                    "mov {ab}, {f}",
                    "rorx {s0}, {e}, 18",
                    "and {ab}, {e}",
                    "xor {t0}, {s0}",
                    "add {h}, {ab}",
                    "rorx {s0}, {e}, 41",
                    "xor {t0}, {s0}",
                    "rorx {s0}, {a}, 28",
                    "add {h}, {t0}",
                    "rorx {t0}, {a}, 34",
                    "mov {ab}, {a}",
                    "add {d}, {h}",
                    "xor {s0}, {t0}",
                    "xor {ab}, {b}",
                    "rorx {t0}, {a}, 39",
                    "and {bc}, {ab}",
                    "xor {s0}, {t0}",
                    "xor {bc}, {b}",
                    "add {h}, {bc}",
                    a = inout(reg) $a,
                    b = in(reg) $b,
                    d = inout(reg) $d,
                    e = in(reg) $e,
                    f = in(reg) $f,
                    g = in(reg) $g,
                    h = inout(reg) $h,
                    kw = in(reg) $kwp,
                    off = const $off,
                    s0 = inout(reg) $s0,
                    bc = inout(reg) $bc => _,
                    ab = out(reg) ab,
                    t0 = out(reg) _,
                    options(pure, readonly, nostack),
                );
            }
            $bc = ab;
        }};
    }

    /// Eight rounds of `round_mem!`, `K + W` of round `t + i` at `$kw[$base + $rel(i)]` (`$rel`
    /// a `const fn`, so the offsets are constants in the instructions). Slicing `$kw` up to
    /// `$base + $rel(7)` checks the bounds once for the eight.
    macro_rules! rounds8_mem {
        ($kw:ident, $base:expr, $rel:path, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $s0:ident, $bc:ident) => {{
            let base: usize = $base;
            let kw: &[u64] = &$kw[base..=base + $rel(7)];
            let kwp: *const u64 = kw.as_ptr();
            round_mem!($a, $b, $c, $d, $e, $f, $g, $h, kwp, 8 * $rel(0), $s0, $bc);
            round_mem!($h, $a, $b, $c, $d, $e, $f, $g, kwp, 8 * $rel(1), $s0, $bc);
            round_mem!($g, $h, $a, $b, $c, $d, $e, $f, kwp, 8 * $rel(2), $s0, $bc);
            round_mem!($f, $g, $h, $a, $b, $c, $d, $e, kwp, 8 * $rel(3), $s0, $bc);
            round_mem!($e, $f, $g, $h, $a, $b, $c, $d, kwp, 8 * $rel(4), $s0, $bc);
            round_mem!($d, $e, $f, $g, $h, $a, $b, $c, kwp, 8 * $rel(5), $s0, $bc);
            round_mem!($c, $d, $e, $f, $g, $h, $a, $b, kwp, 8 * $rel(6), $s0, $bc);
            round_mem!($b, $c, $d, $e, $f, $g, $h, $a, kwp, 8 * $rel(7), $s0, $bc);
        }};
    }

    /// The 80 rounds of one block whose `K + W` are all in memory, `round t` at
    /// `$kw[$at(t)]` (`$at` a function of the round with `$at(t + i) = $at(t) + $rel(i)` for `t`
    /// a multiple of 8), and the chaining addition: `state += rounds(state)`. `$side(k)` runs
    /// before the `k`-th group of eight rounds.
    macro_rules! block_mem {
        ($state:ident, $kw:ident, $at:expr, $rel:path, $side:expr) => {{
            let state: &mut [u64; 8] = $state;
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
            let (mut s0, mut bc) = (0u64, b ^ c);
            let mut t = 0;
            while t < 80 {
                $side(t / 8);
                rounds8_mem!($kw, $at(t), $rel, a, b, c, d, e, f, g, h, s0, bc);
                t += 8;
            }
            a = a.wrapping_add(s0);
            for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
                *s = s.wrapping_add(v);
            }
        }};
    }

    /// `$rel` of `rounds8_mem!` for an array in round order: round `t + i` is `i` after `t`.
    const fn consecutive(i: usize) -> usize {
        i
    }

    /// The schedule words `W[t], W[t+1]` (`t` = 16 + 2·(pair index)), from the ring `x` of the
    /// last 16 words in pairs, where slot `J` holds `W[t-16], W[t-15]`; stores them in slot `J`
    /// and `K + W` in `kw[t], kw[t+1]`.
    macro_rules! schedule2 {
        ($x:ident, $kw:ident, $j:expr, $t:expr) => {{
            const J: usize = $j;
            let n = add_i64_m128i(
                add_i64_m128i($x[J], small_sigma0(straddle($x[J], $x[(J + 1) % 8]))),
                add_i64_m128i(
                    straddle($x[(J + 4) % 8], $x[(J + 5) % 8]),
                    small_sigma1($x[(J + 7) % 8]),
                ),
            );
            $x[J] = n;
            let t: usize = $t;
            let kw: [u64; 2] = add_i64_m128i(n, m128i::from([K[t], K[t + 1]])).into();
            $kw[t] = kw[0];
            $kw[t + 1] = kw[1];
        }};
    }

    /// The compression built for the x86-64 baseline (SSE2).
    #[inline(never)]
    pub(super) fn compress_baseline(state: &mut [u64; 8], m: &[u64; 8]) {
        compress::<false>(state, m);
    }

    /// The same compression built for AVX2 and BMI2 (`rorx`, three-operand vector forms).
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    pub(super) fn compress_avx2_bmi2(state: &mut [u64; 8], m: &[u64; 8]) {
        compress::<true>(state, m);
    }

    /// [`super::hmac_xor_chain`] built for the x86-64 baseline (SSE2).
    #[inline(never)]
    pub(super) fn xor_chain_baseline(
        inner: &[u64; 8],
        outer: &[u64; 8],
        acc: &mut [u64; 8],
        iterations: u32,
    ) {
        xor_chain!(inner, outer, acc, iterations, compress::<false>);
    }

    /// The same for AVX2 and BMI2.
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    pub(super) fn xor_chain_avx2_bmi2(
        inner: &[u64; 8],
        outer: &[u64; 8],
        acc: &mut [u64; 8],
        iterations: u32,
    ) {
        xor_chain!(inner, outer, acc, iterations, compress::<true>);
    }

    /// The same for AVX2, BMI2, AVX-512F and AVX-512VL.
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2,avx512f,avx512vl")]
    pub(super) fn xor_chain_avx512(
        inner: &[u64; 8],
        outer: &[u64; 8],
        acc: &mut [u64; 8],
        iterations: u32,
    ) {
        xor_chain!(inner, outer, acc, iterations, compress::<true>);
    }

    /// Whole blocks, in order, built for the x86-64 baseline (SSE2).
    #[inline(never)]
    pub(super) fn compress_blocks_baseline(state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        for block in blocks {
            compress_words::<false>(state, &load_be(block));
        }
    }

    /// The same for AVX2 and BMI2.
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    pub(super) fn compress_blocks_avx2_bmi2(state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        let (pairs, rest) = blocks.as_chunks::<2>();
        for [a, b] in pairs {
            two_blocks::compress_pair(state, a, b);
        }
        for block in rest {
            compress_words::<true>(state, &load_be(block));
        }
    }

    /// The same for AVX-512F (with AVX2 and BMI2): four blocks at a time, their message
    /// schedules in 512-bit registers; the AVX2 build for the rest (a pair, a single block).
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2,avx512f")]
    pub(super) fn compress_blocks_avx512(state: &mut [u64; 8], blocks: &[[u8; 128]]) {
        let (quads, rest) = blocks.as_chunks::<4>();
        for quad in quads {
            four_blocks::compress_quad(state, quad);
        }
        compress_blocks_avx2_bmi2(state, rest);
    }

    /// The sixteen big-endian message words of a block.
    #[inline(always)]
    fn load_be(block: &[u8; 128]) -> [u64; 16] {
        let mut w = [0u64; 16];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            *word = u64::from_be_bytes(b);
        }
        w
    }

    #[inline(always)]
    fn compress<const ASM: bool>(state: &mut [u64; 8], m: &[u64; 8]) {
        let w: [u64; 16] = [
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6],
            m[7],
            1 << 63,
            0,
            0,
            0,
            0,
            0,
            0,
            BITS,
        ];
        compress_words::<ASM>(state, &w);
    }

    /// FIPS 180-4's compression of the message words `w`. Inlined into each caller, so that
    /// constant words (the digest block's padding) fold.
    #[inline(always)]
    fn compress_words<const ASM: bool>(state: &mut [u64; 8], w: &[u64; 16]) {
        let mut x = [m128i::default(); 8];
        let mut kw = [0u64; 80];
        for (p, slot) in x.iter_mut().enumerate() {
            *slot = m128i::from([w[2 * p], w[2 * p + 1]]);
            kw[2 * p] = K[2 * p].wrapping_add(w[2 * p]);
            kw[2 * p + 1] = K[2 * p + 1].wrapping_add(w[2 * p + 1]);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        let (mut s0, mut bc) = (0u64, b ^ c);
        // Eight rounds from `t`: `round_mem!`'s where the build has BMI1 and BMI2.
        macro_rules! eight {
            ($t:expr) => {{
                if ASM {
                    rounds8_mem!(kw, $t, consecutive, a, b, c, d, e, f, g, h, s0, bc);
                } else {
                    rounds8!(kw, a, b, c, d, e, f, g, h, $t);
                }
            }};
        }
        // Sixteen rounds from `t` and the schedule for the sixteen after them.
        macro_rules! sixteen {
            ($t:expr) => {{
                let t: usize = $t;
                schedule2!(x, kw, 0, t + 16);
                schedule2!(x, kw, 1, t + 18);
                eight!(t);
                schedule2!(x, kw, 2, t + 20);
                schedule2!(x, kw, 3, t + 22);
                schedule2!(x, kw, 4, t + 24);
                schedule2!(x, kw, 5, t + 26);
                eight!(t + 8);
                schedule2!(x, kw, 6, t + 28);
                schedule2!(x, kw, 7, t + 30);
            }};
        }
        // Rounds 0–15 on their own, so that the padding words fold as constants.
        sixteen!(0);
        let mut t = 16;
        while t < 64 {
            sixteen!(t);
            t += 16;
        }
        eight!(64);
        eight!(72);
        // The last round's `b ^ c` has no next round.
        let _ = bc;
        a = a.wrapping_add(s0);
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    /// Two consecutive blocks at once, for AVX2 only: the message schedules of both run in 256-bit
    /// registers (the first block's words in the low 128-bit lane, the second's in the high one),
    /// interleaved with the first block's rounds; the second block's rounds then find all their
    /// `K + W` computed. Half the schedule work per block of [`compress_words`], the layout of
    /// OpenSSL's and `sha2`'s AVX2 code, with this crate's BMI2 rounds. Only value intrinsics are
    /// used, which are safe to call inside these `#[target_feature]` functions.
    pub(super) mod two_blocks {
        use super::{K, big_sigma0, big_sigma1, consecutive, load_be};
        use core::arch::x86_64::{
            __m256i, _mm256_add_epi64, _mm256_castpd_si256, _mm256_castsi256_pd,
            _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_set_epi64x,
            _mm256_setzero_si256, _mm256_shuffle_pd, _mm256_slli_epi64, _mm256_srli_epi64,
            _mm256_xor_si256,
        };
        use safe_arch::m128i;

        /// σ0 of the four lanes: `ror 1 ^ ror 8 ^ shr 7`.
        #[inline]
        #[target_feature(enable = "avx2")]
        fn small_sigma0(v: __m256i) -> __m256i {
            let r1 = _mm256_xor_si256(_mm256_srli_epi64::<1>(v), _mm256_slli_epi64::<63>(v));
            let r8 = _mm256_xor_si256(_mm256_srli_epi64::<8>(v), _mm256_slli_epi64::<56>(v));
            _mm256_xor_si256(_mm256_xor_si256(r1, r8), _mm256_srli_epi64::<7>(v))
        }

        /// σ1 of the four lanes: `ror 19 ^ ror 61 ^ shr 6`.
        #[inline]
        #[target_feature(enable = "avx2")]
        fn small_sigma1(v: __m256i) -> __m256i {
            let r19 = _mm256_xor_si256(_mm256_srli_epi64::<19>(v), _mm256_slli_epi64::<45>(v));
            let r61 = _mm256_xor_si256(_mm256_srli_epi64::<61>(v), _mm256_slli_epi64::<3>(v));
            _mm256_xor_si256(_mm256_xor_si256(r19, r61), _mm256_srli_epi64::<6>(v))
        }

        /// `[a[1], b[0]]` in each 128-bit lane (`vshufpd` works lane by lane).
        #[inline]
        #[target_feature(enable = "avx2")]
        fn straddle(a: __m256i, b: __m256i) -> __m256i {
            _mm256_castpd_si256(_mm256_shuffle_pd::<0b0101>(
                _mm256_castsi256_pd(a),
                _mm256_castsi256_pd(b),
            ))
        }

        /// The two words of each block at `p` (`W[2p]`, `W[2p+1]`): first block low, second high.
        #[inline]
        #[target_feature(enable = "avx2")]
        fn pair(wa: &[u64; 16], wb: &[u64; 16], p: usize) -> __m256i {
            _mm256_set_epi64x(
                wb[2 * p + 1] as i64,
                wb[2 * p] as i64,
                wa[2 * p + 1] as i64,
                wa[2 * p] as i64,
            )
        }

        /// Schedule words `t`, `t+1` of both blocks from the ring `x` (slot `J` holds words
        /// `t-16`, `t-15`), stored in slot `J`, and `K + W` into `kwa` and `kwb`.
        macro_rules! schedule2x {
            ($x:ident, $kwa:ident, $kwb:ident, $j:expr, $t:expr) => {{
                const J: usize = $j;
                let n = _mm256_add_epi64(
                    _mm256_add_epi64($x[J], small_sigma0(straddle($x[J], $x[(J + 1) % 8]))),
                    _mm256_add_epi64(
                        straddle($x[(J + 4) % 8], $x[(J + 5) % 8]),
                        small_sigma1($x[(J + 7) % 8]),
                    ),
                );
                $x[J] = n;
                let t: usize = $t;
                let kw = _mm256_add_epi64(
                    n,
                    _mm256_set_epi64x(K[t + 1] as i64, K[t] as i64, K[t + 1] as i64, K[t] as i64),
                );
                let lo: [u64; 2] = m128i(_mm256_castsi256_si128(kw)).into();
                let hi: [u64; 2] = m128i(_mm256_extracti128_si256::<1>(kw)).into();
                $kwa[t] = lo[0];
                $kwa[t + 1] = lo[1];
                $kwb[t] = hi[0];
                $kwb[t + 1] = hi[1];
            }};
        }

        /// `state = compress(compress(state, a), b)`.
        #[inline]
        #[target_feature(enable = "avx2,bmi1,bmi2")]
        pub(in super::super) fn compress_pair(state: &mut [u64; 8], a: &[u8; 128], b: &[u8; 128]) {
            compress_pair_with(state, a, b, |_| {});
        }

        /// Groups of eight rounds in [`compress_pair_with`], and so the slots it offers.
        pub(in super::super) const SLOTS: usize = 20;

        /// [`compress_pair`] calling `side(k)` before the `k`-th group of eight rounds (`k` in
        /// `0..SLOTS`, in order): other work a caller interleaves with the rounds, which the
        /// processor then runs in the rounds' idle issue slots (the caller's stitched AES-CBC).
        #[inline]
        #[target_feature(enable = "avx2,bmi1,bmi2")]
        pub(in super::super) fn compress_pair_with(
            state: &mut [u64; 8],
            a: &[u8; 128],
            b: &[u8; 128],
            mut side: impl FnMut(usize),
        ) {
            let (wa, wb) = (load_be(a), load_be(b));
            let mut x = [_mm256_setzero_si256(); 8];
            let mut kwa = [0u64; 80];
            let mut kwb = [0u64; 80];
            for (p, slot) in x.iter_mut().enumerate() {
                *slot = pair(&wa, &wb, p);
            }
            for t in 0..16 {
                kwa[t] = K[t].wrapping_add(wa[t]);
                kwb[t] = K[t].wrapping_add(wb[t]);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
            let mut t = 0;
            while t < 64 {
                side(t / 8);
                rounds8_with!(
                    kwa,
                    consecutive,
                    a,
                    b,
                    c,
                    d,
                    e,
                    f,
                    g,
                    h,
                    t,
                    {
                        schedule2x!(x, kwa, kwb, 0, t + 16);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 1, t + 18);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 2, t + 20);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 3, t + 22);
                    }
                );
                side(t / 8 + 1);
                rounds8_with!(
                    kwa,
                    consecutive,
                    a,
                    b,
                    c,
                    d,
                    e,
                    f,
                    g,
                    h,
                    t + 8,
                    {
                        schedule2x!(x, kwa, kwb, 4, t + 24);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 5, t + 26);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 6, t + 28);
                    },
                    {
                        schedule2x!(x, kwa, kwb, 7, t + 30);
                    }
                );
                t += 16;
            }
            side(8);
            rounds8!(kwa, a, b, c, d, e, f, g, h, 64);
            side(9);
            rounds8!(kwa, a, b, c, d, e, f, g, h, 72);
            for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
                *s = s.wrapping_add(v);
            }
            block_mem!(state, kwb, |t| t, consecutive, |k| side(10 + k));
        }
    }

    /// Four blocks at a time (AVX-512F): each 512-bit register holds two schedule words of
    /// each of the four blocks (a 128-bit lane per block), so one step of the schedule serves
    /// four blocks, with AVX-512's rotations (`vprorq`) and three-way XORs (`vpternlogq`). The
    /// first block's rounds run between the steps; the other three read `K + W` from memory.
    pub(super) mod four_blocks {
        use super::{K, big_sigma0, big_sigma1, load_be};
        use core::arch::x86_64::{
            __m512i, _mm512_add_epi64, _mm512_castpd_si512, _mm512_castsi512_pd, _mm512_ror_epi64,
            _mm512_set_epi64, _mm512_setzero_si512, _mm512_shuffle_pd, _mm512_srli_epi64,
            _mm512_storeu_epi64, _mm512_ternarylogic_epi64,
        };

        /// `K + W` of the four blocks for all 80 rounds, as the schedule's steps store them:
        /// rounds `t`, `t + 1` (`t` even) of the four blocks, two words a block, in block order.
        type Kw4 = [u64; 320];

        /// Where [`Kw4`] keeps round `t` of block `j`.
        #[inline(always)]
        const fn at(j: usize, t: usize) -> usize {
            4 * (t & !1) + 2 * j + (t & 1)
        }

        /// `at(j, t + i) - at(j, t)` for even `t`.
        const fn rel(i: usize) -> usize {
            4 * (i & !1) + (i & 1)
        }

        /// σ0 of the eight lanes: `ror 1 ^ ror 8 ^ shr 7`.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn small_sigma0(v: __m512i) -> __m512i {
            _mm512_ternarylogic_epi64::<0x96>(
                _mm512_ror_epi64::<1>(v),
                _mm512_ror_epi64::<8>(v),
                _mm512_srli_epi64::<7>(v),
            )
        }

        /// σ1 of the eight lanes: `ror 19 ^ ror 61 ^ shr 6`.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn small_sigma1(v: __m512i) -> __m512i {
            _mm512_ternarylogic_epi64::<0x96>(
                _mm512_ror_epi64::<19>(v),
                _mm512_ror_epi64::<61>(v),
                _mm512_srli_epi64::<6>(v),
            )
        }

        /// `[a[1], b[0]]` in each 128-bit lane.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn straddle(a: __m512i, b: __m512i) -> __m512i {
            _mm512_castpd_si512(_mm512_shuffle_pd::<0b0101_0101>(
                _mm512_castsi512_pd(a),
                _mm512_castsi512_pd(b),
            ))
        }

        /// `v + [K[t], K[t + 1]]` in every lane, stored as rounds `t`, `t + 1` of the four
        /// blocks (`t` even, below 80).
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn store_kw(kw: &mut Kw4, t: usize, v: __m512i) {
            let (k0, k1) = (K[t] as i64, K[t + 1] as i64);
            let v = _mm512_add_epi64(v, _mm512_set_epi64(k1, k0, k1, k0, k1, k0, k1, k0));
            let (slots, _) = kw.as_chunks_mut::<8>();
            let slot = &mut slots[t / 2];
            #[allow(unsafe_code)]
            // SAFETY: `slot` is eight writable, initialised `u64` (64 bytes) and
            // `_mm512_storeu_epi64` writes exactly 64 bytes to it, with no alignment required.
            unsafe {
                _mm512_storeu_epi64(slot.as_mut_ptr().cast(), v);
            }
        }

        /// Schedule words `t`, `t+1` of the four blocks from the ring `x` (slot `J` holds
        /// words `t-16`, `t-15`), stored in slot `J`, and `K + W` into `kw`.
        macro_rules! schedule4x {
            ($x:ident, $kw:ident, $j:expr, $t:expr) => {{
                const J: usize = $j;
                let n = _mm512_add_epi64(
                    _mm512_add_epi64($x[J], small_sigma0(straddle($x[J], $x[(J + 1) % 8]))),
                    _mm512_add_epi64(
                        straddle($x[(J + 4) % 8], $x[(J + 5) % 8]),
                        small_sigma1($x[(J + 7) % 8]),
                    ),
                );
                $x[J] = n;
                store_kw(&mut $kw, $t, n);
            }};
        }

        /// `state = compress(…compress(state, blocks[0])…, blocks[3])`.
        #[inline]
        #[target_feature(enable = "avx2,bmi1,bmi2,avx512f")]
        pub(in super::super) fn compress_quad(state: &mut [u64; 8], blocks: &[[u8; 128]; 4]) {
            let w: [[u64; 16]; 4] = core::array::from_fn(|j| load_be(&blocks[j]));
            let mut x = [_mm512_setzero_si512(); 8];
            let mut kw: Kw4 = [0; 320];
            for (p, slot) in x.iter_mut().enumerate() {
                let word = |j: usize, k: usize| w[j][2 * p + k] as i64;
                *slot = _mm512_set_epi64(
                    word(3, 1),
                    word(3, 0),
                    word(2, 1),
                    word(2, 0),
                    word(1, 1),
                    word(1, 0),
                    word(0, 1),
                    word(0, 0),
                );
                store_kw(&mut kw, 2 * p, *slot);
            }
            // The first block, with the schedule of all four: one step after the first round of
            // each pair of rounds, the spacing `two_blocks` measured best.
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
            let mut t = 0;
            while t < 64 {
                rounds8_with!(
                    kw,
                    |t| at(0, t),
                    a,
                    b,
                    c,
                    d,
                    e,
                    f,
                    g,
                    h,
                    t,
                    {
                        schedule4x!(x, kw, 0, t + 16);
                    },
                    {
                        schedule4x!(x, kw, 1, t + 18);
                    },
                    {
                        schedule4x!(x, kw, 2, t + 20);
                    },
                    {
                        schedule4x!(x, kw, 3, t + 22);
                    }
                );
                rounds8_with!(
                    kw,
                    |t| at(0, t),
                    a,
                    b,
                    c,
                    d,
                    e,
                    f,
                    g,
                    h,
                    t + 8,
                    {
                        schedule4x!(x, kw, 4, t + 24);
                    },
                    {
                        schedule4x!(x, kw, 5, t + 26);
                    },
                    {
                        schedule4x!(x, kw, 6, t + 28);
                    },
                    {
                        schedule4x!(x, kw, 7, t + 30);
                    }
                );
                t += 16;
            }
            rounds8_with!(kw, |t| at(0, t), a, b, c, d, e, f, g, h, 64, {}, {}, {}, {});
            rounds8_with!(kw, |t| at(0, t), a, b, c, d, e, f, g, h, 72, {}, {}, {}, {});
            for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
                *s = s.wrapping_add(v);
            }
            // The other three read their schedules from `kw`.
            for j in 1..4 {
                block_mem!(state, kw, |t| at(j, t), rel, |_| ());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_sha2(state: &[u64; 8], m: &[u64; 8]) -> [u64; 8] {
        let mut block = [0u8; 128];
        for (chunk, word) in block.chunks_exact_mut(8).zip(m) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[64] = 0x80;
        block[120..].copy_from_slice(&BITS.to_be_bytes());
        let mut s = *state;
        sha2::block_api::compress512(&mut s, core::slice::from_ref(&block));
        s
    }

    type Compress = fn(&mut [u64; 8], &[u64; 8]);

    /// Every compression this CPU can run: the dispatching entry point, and on x86-64 the baseline
    /// build on its own (the entry point takes the AVX2 + BMI2 build when the CPU has both).
    fn paths() -> Vec<(&'static str, Compress)> {
        let mut v: Vec<(&'static str, Compress)> = vec![(selected_path(), compress_digest_block)];
        #[cfg(target_arch = "x86_64")]
        v.push(("x86-64 baseline (SSE2)", imp::compress_baseline));
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn equals_sha2_compression(state in any::<[u64; 8]>(), m in any::<[u64; 8]>()) {
            for (name, compress) in paths() {
                let mut s = state;
                compress(&mut s, &m);
                prop_assert_eq!(s, by_sha2(&state, &m), "{}", name);
            }
        }
    }

    type CompressBlocks = fn(&mut [u64; 8], &[[u8; 128]]);

    /// Every bulk compression this CPU can run, as [`paths`].
    fn block_paths() -> Vec<(&'static str, CompressBlocks)> {
        let mut v: Vec<(&'static str, CompressBlocks)> = vec![("the one chosen", compress_blocks)];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(("x86-64 baseline (SSE2)", imp::compress_blocks_baseline));
            // The AVX2 build on its own, on CPUs where the AVX-512 one is chosen.
            if has_avx2_bmi() {
                v.push(("x86-64 AVX2 + BMI", |state, blocks| {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX2, BMI1 and BMI2 (detected just above), all the
                    // build needs.
                    unsafe {
                        imp::compress_blocks_avx2_bmi2(state, blocks)
                    }
                }));
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn blocks_equal_sha2_compression(
            state in any::<[u64; 8]>(),
            bytes in proptest::collection::vec(any::<u8>(), 0..12 * 128),
        ) {
            let (blocks, _) = bytes.as_chunks::<128>();
            let mut theirs = state;
            sha2::block_api::compress512(&mut theirs, blocks);
            for (name, compress) in block_paths() {
                let mut s = state;
                compress(&mut s, blocks);
                prop_assert_eq!(s, theirs, "{}", name);
            }
        }
    }

    type XorChain = fn(&[u64; 8], &[u64; 8], &mut [u64; 8], u32);

    /// Every build of the KDF loop this CPU can run, as [`paths`].
    fn chain_paths() -> Vec<(&'static str, XorChain)> {
        let mut v: Vec<(&'static str, XorChain)> = vec![("the one chosen", hmac_xor_chain)];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(("x86-64 baseline (SSE2)", imp::xor_chain_baseline));
            // The AVX2 + BMI2 build on its own, on CPUs where the AVX-512 one is chosen.
            if has_avx2_bmi() {
                v.push(("x86-64 AVX2 + BMI2", |inner, outer, acc, n| {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX2, BMI1 and BMI2 (detected just above), all the build
                    // needs.
                    unsafe {
                        imp::xor_chain_avx2_bmi2(inner, outer, acc, n)
                    }
                }));
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        /// `acc ^= HMAC(acc)` with sha2's compression, iteration by iteration.
        #[test]
        fn xor_chain_equals_sha2(
            inner in any::<[u64; 8]>(),
            outer in any::<[u64; 8]>(),
            acc in any::<[u64; 8]>(),
            iterations in 0u32..40,
        ) {
            let mut theirs = acc;
            for _ in 0..iterations {
                let s = by_sha2(&inner, &theirs);
                let t = by_sha2(&outer, &s);
                for (a, b) in theirs.iter_mut().zip(&t) {
                    *a ^= *b;
                }
            }
            for (name, chain) in chain_paths() {
                let mut ours = acc;
                chain(&inner, &outer, &mut ours, iterations);
                prop_assert_eq!(ours, theirs, "{}", name);
            }
        }
    }

    #[test]
    fn extreme_words() {
        for (name, compress) in paths() {
            for fill in [0u64, u64::MAX, 0x8000_0000_0000_0000, 1] {
                let (state, m) = ([fill; 8], [!fill; 8]);
                let mut s = state;
                compress(&mut s, &m);
                assert_eq!(s, by_sha2(&state, &m), "{name}");
            }
        }
    }

    /// A chain of compressions, each fed the previous state, as the KDF runs them: equals sha2's.
    #[test]
    fn chains_equal_sha2() {
        for (name, compress) in paths() {
            let (mut ours, mut theirs) = ([7u64; 8], [7u64; 8]);
            let mut m = [0x0123_4567_89ab_cdefu64; 8];
            for _ in 0..1000 {
                compress(&mut ours, &m);
                theirs = by_sha2(&theirs, &m);
                m = ours;
            }
            assert_eq!(ours, theirs, "{name}");
        }
    }
}
