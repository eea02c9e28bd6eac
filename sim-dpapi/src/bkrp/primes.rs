//! The backup key's primes: prime `j` of a seed is the first that `crypto-primes` finds from a
//! ChaCha20 stream of the seed (stream `j`): a random odd 1024-bit start with its top two bits
//! set (so two such primes multiply to exactly 2048 bits), sieved by the small primes, each
//! survivor tested with Baillie–PSW (Miller–Rabin base 2 and a strong Lucas test, the test
//! `rsa` 0.10 generates its keys with). The two primes of a key are searched for at once, one
//! per thread, each from its own stream, so the key is the same whatever the machine's core
//! count (on the 64-bit targets: the integers' limbs are drawn from the stream a limb at a time).

use crypto_bigint::U1024;
use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
use crypto_primes::{Flavor, is_prime, sieve_and_find};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use rsa::BigUint;
use zeroize::{Zeroize as _, Zeroizing};

/// Bits of each prime: half of the 2048-bit modulus.
const PRIME_BITS: u32 = 1024;

/// Prime `j` of `seed` (see the module); `None` if the search fails (it does not for a
/// 1024-bit range, which holds primes in every sieve window).
fn prime(seed: &[u8; 32], j: u64) -> Option<BigUint> {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(j);
    let factory =
        SmallFactorsSieveFactory::<U1024>::new(Flavor::Any, PRIME_BITS, SetBits::TwoMsb).ok()?;
    let mut p = sieve_and_find(&mut rng, factory, |_, c| is_prime(Flavor::Any, c)).ok()??;
    let bytes = Zeroizing::new(p.to_be_bytes());
    p.zeroize();
    Some(BigUint::from_bytes_be(&bytes[..]))
}

/// Primes `j` and `j + 1` of `seed`, found at the same time on two threads (on one, if the
/// system will not start a second).
pub(super) fn pair(seed: &[u8; 32], j: u64) -> (Option<BigUint>, Option<BigUint>) {
    std::thread::scope(|s| {
        let q = std::thread::Builder::new().spawn_scoped(s, || prime(seed, j + 1));
        let p = prime(seed, j);
        let q = match q {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            Err(_) => prime(seed, j + 1),
        };
        (p, q)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair is the two streams' primes, each of exactly 1024 bits with its top two bits
    /// set, and the same however it is computed.
    #[test]
    fn two_primes_from_two_streams() {
        let seed = [9u8; 32];
        let (p, q) = pair(&seed, 0);
        let (p, q) = (p.unwrap(), q.unwrap());
        assert_eq!((p.bits(), q.bits()), (1024, 1024));
        assert!((&p >> 1022usize) == BigUint::from(3u8) && (&q >> 1022usize) == BigUint::from(3u8));
        assert_ne!(p, q);
        assert_eq!((&p * &q).bits(), 2048);
        assert_eq!(Some(p), prime(&seed, 0));
        assert_eq!(Some(q), prime(&seed, 1));
    }
}
