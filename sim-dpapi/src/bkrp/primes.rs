//! The backup key's primes, found on every core yet the same on any machine: candidate `k` of
//! prime `j` is 128 bytes from its own place in a ChaCha20 stream of the seed (stream `j`, word
//! `32 k`), with the top two bits set (so two of them multiply to exactly 2048 bits, as
//! `num-bigint-dig`'s `gen_prime` does) and the lowest bit set. The prime is the candidate of
//! the lowest index that passes `probably_prime` (trial division, 21 Miller–Rabin rounds and a
//! Lucas test: what `gen_prime` runs). Threads take indices in turn and stop once the lowest
//! prime index found so far is below their next one, so whatever the thread count and timing,
//! every index below the answer has been tested and the answer is that lowest index.

use std::sync::atomic::{AtomicU64, Ordering};

use num_bigint_dig::BigUint;
use num_bigint_dig::prime::probably_prime;
use rand_chacha_06::ChaCha20Rng;
use rand_chacha_06::rand_core::{RngCore as _, SeedableRng as _};
use zeroize::Zeroizing;

/// Bytes of one candidate: half of the 2048-bit modulus.
const PRIME_BYTES: usize = 128;
/// Candidates one search may test. A random odd 1024-bit number is prime with probability
/// about 1/355, so 2^16 candidates hold none with probability below e^-184: the bound only
/// keeps a broken RNG from looping forever.
const MAX_CANDIDATES: u64 = 1 << 16;
/// Miller–Rabin rounds, as `gen_prime` asks of `probably_prime`.
const ROUNDS: usize = 20;
/// Threads one search uses at most (an RSA-2048 generation has two primes of ~100
/// candidates' Miller–Rabin tests each; more threads than that would find nothing to do).
const MAX_THREADS: usize = 8;

/// Candidate `k` of prime `j`.
fn candidate(seed: &[u8; 32], j: u64, k: u64) -> BigUint {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(j);
    rng.set_word_pos(u128::from(k) * (PRIME_BYTES as u128 / 4));
    let mut bytes = Zeroizing::new([0u8; PRIME_BYTES]);
    rng.fill_bytes(&mut *bytes);
    bytes[0] |= 0xc0;
    bytes[PRIME_BYTES - 1] |= 1;
    BigUint::from_bytes_be(&*bytes)
}

/// Tests candidates `first`, `first + stride`, … of prime `j` until one is prime or `found`
/// (the lowest prime index any search has found) is below the next.
fn search(seed: &[u8; 32], j: u64, first: u64, stride: u64, found: &AtomicU64) {
    let mut k = first;
    while k < found.load(Ordering::Acquire) {
        if probably_prime(&candidate(seed, j, k), ROUNDS) {
            found.fetch_min(k, Ordering::AcqRel);
            return;
        }
        k += stride;
    }
}

/// Prime `j` of `seed` (see the module), or `None` if none of [`MAX_CANDIDATES`] is prime.
pub(super) fn prime(seed: &[u8; 32], j: u64) -> Option<BigUint> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_THREADS) as u64;
    let found = AtomicU64::new(MAX_CANDIDATES);
    let all_spawned = std::thread::scope(|s| {
        let spawned = (1..threads).all(|t| {
            let found = &found;
            std::thread::Builder::new()
                .spawn_scoped(s, move || search(seed, j, t, threads, found))
                .is_ok()
        });
        search(seed, j, 0, threads, &found);
        spawned
    });
    if !all_spawned {
        // A thread the system would not start left its candidates untested: one search over
        // them all gives the same answer.
        found.store(MAX_CANDIDATES, Ordering::Release);
        search(seed, j, 0, 1, &found);
    }
    let k = found.into_inner();
    (k < MAX_CANDIDATES).then(|| candidate(seed, j, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer is the lowest prime index, tested one candidate at a time.
    #[test]
    fn the_lowest_prime_candidate_whatever_the_threads() {
        let seed = [9u8; 32];
        let p = prime(&seed, 0).unwrap();
        let first = (0..MAX_CANDIDATES)
            .find(|&k| probably_prime(&candidate(&seed, 0, k), ROUNDS))
            .unwrap();
        assert_eq!(p, candidate(&seed, 0, first));
        assert_eq!(p.bits(), 1024);
        // Any number of searches taking indices in turn, run in any order, agree.
        for stride in 2..=3 {
            let found = AtomicU64::new(MAX_CANDIDATES);
            for t in (0..stride).rev() {
                search(&seed, 0, t, stride, &found);
            }
            assert_eq!(found.into_inner(), first);
        }
        assert_ne!(p, prime(&seed, 1).unwrap());
    }
}
