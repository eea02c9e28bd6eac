//! DPAPI's PBKDF2 variant, which derives the key and IV of master key blocks and CREDHIST
//! entries from a pre-key.
//!
//! Follows `research/dpapi.md` §1.3. This is **not** RFC 2898: in each iteration the PRF input is
//! the running XOR accumulator, not the previous PRF output. For one round the two agree; for more
//! they differ, and only this variant opens real Windows files. The PRF is HMAC-SHA-512 for
//! `CALG_SHA_512` master keys and HMAC-SHA-1 for `CALG_HMAC` ones.
//!
//! The keyed HMAC state is computed once and cloned per iteration, so each iteration costs exactly
//! the two compression-function calls of one HMAC over a single block, with no allocation.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha512;
use zeroize::{Zeroize, Zeroizing};

use super::alg::Digest;
use super::crypto::SecretBytes;

/// The most rounds any DPAPI structure may ask for. Real files use 4000 to 24000 (§5); 10 million
/// lets whole-process timing isolate the KDF, and bounds the work a corrupted file can demand.
pub const MAX_ROUNDS: u32 = 10_000_000;

/// Derives `out_len` bytes from `password` and `salt` with DPAPI's PBKDF2 variant. A round count
/// of 0 behaves as 1, as the reference tools do.
pub fn dpapi_pbkdf2(
    d: Digest,
    password: &[u8],
    salt: &[u8],
    rounds: u32,
    out_len: usize,
) -> SecretBytes {
    match d {
        Digest::Sha1 => run::<Hmac<Sha1>>(password, salt, rounds, out_len),
        Digest::Sha512 => run::<Hmac<Sha512>>(password, salt, rounds, out_len),
    }
}

fn run<M: Mac + KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    rounds: u32,
    out_len: usize,
) -> SecretBytes {
    // HMAC accepts keys of any length.
    let keyed = <M as KeyInit>::new_from_slice(password).unwrap_or_else(|_| unreachable!());
    let mut out = Zeroizing::new(Vec::with_capacity(out_len));
    let mut block_index: u32 = 1;
    while out.len() < out_len {
        let mut first = keyed.clone();
        first.update(salt);
        first.update(&block_index.to_be_bytes());
        let mut acc = first.finalize().into_bytes();
        for _ in 1..rounds {
            let mut prf = keyed.clone();
            prf.update(&acc);
            let mut u = prf.finalize().into_bytes();
            for (a, b) in acc.iter_mut().zip(u.iter()) {
                *a ^= *b;
            }
            u.zeroize();
        }
        let take = (out_len - out.len()).min(acc.len());
        out.extend_from_slice(acc.get(..take).unwrap_or_default());
        acc.zeroize();
        block_index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // research/vectors/intermediate_kats.txt (dpapick tests/crypto.py).
    #[test]
    fn sha1_one_round_equals_standard_pbkdf2() {
        let out = dpapi_pbkdf2(
            Digest::Sha1,
            &h("732f73394364c930ba285063e5ff1ae49ebb3332"),
            &h("2dd1662578e68d982e18f362452d448a"),
            1,
            32,
        );
        assert_eq!(
            hex::encode(&*out),
            "b49f149f5dca24e46025fcc2fb8af8a6a19c849c7b61fcc5533c841f6eb10d8b"
        );
    }

    #[test]
    fn sha1_4000_rounds() {
        let out = dpapi_pbkdf2(
            Digest::Sha1,
            &h("732f73394364c930ba285063e5ff1ae49ebb3332"),
            &h("a432a7fe84cc5ff921eddfb645d22efc"),
            4000,
            32,
        );
        assert_eq!(
            hex::encode(&*out),
            "0cb271e155eb6fd2f9c50e1c941a248d4a1d8b1cb765e0cdb8f80e144d3dfb03"
        );
    }

    #[test]
    fn sha512_5600_rounds() {
        let out = dpapi_pbkdf2(
            Digest::Sha512,
            &h("84e40ab5bab2c5a2965fd185d60cf92fe2c1c9d2"),
            &h("1f63ff38751365ec54748b13d962698e"),
            5600,
            48,
        );
        assert_eq!(
            hex::encode(&*out),
            "38d34e6a81f8d5f650403d01407e3127f987f986328ed9c1aacd527811dd53ac5a7b8d298e37e377daa03a3ee209e638"
        );
    }

    #[test]
    fn differs_from_rfc_pbkdf2_from_three_rounds_on() {
        // Rounds 1 and 2 feed the PRF the same input in both algorithms (U1, then U1 = acc);
        // from round 3 DPAPI feeds U1^U2 where RFC 2898 feeds U2.
        for (rounds, same) in [(1, true), (2, true), (3, false), (4000, false)] {
            let mut rfc = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha1>(b"pw", b"salt", rounds, &mut rfc);
            let ours = dpapi_pbkdf2(Digest::Sha1, b"pw", b"salt", rounds, 32);
            assert_eq!(ours[..] == rfc[..], same, "rounds {rounds}");
        }
    }
}
