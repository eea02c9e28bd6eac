//! DPAPI's PBKDF2 variant at the round counts Windows uses (`docs/dpapi.md` §5): 8000 rounds
//! of HMAC-SHA512 (Windows 8.1-11), 17400 (Server 2008 R2), and 4000 of HMAC-SHA1 (XP).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::dpapi::alg::Digest;
use sim_core::dpapi::kdf::dpapi_pbkdf2;

fn kdf(c: &mut Criterion) {
    let prekey = [0x42u8; 20];
    let salt = [0x17u8; 16];
    let mut g = c.benchmark_group("kdf");
    for (name, digest, rounds, len) in [
        ("hmac_sha512_8000", Digest::Sha512, 8000, 48),
        ("hmac_sha512_17400", Digest::Sha512, 17400, 48),
        ("hmac_sha1_4000", Digest::Sha1, 4000, 32),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| dpapi_pbkdf2(digest, black_box(&prekey), black_box(&salt), rounds, len));
        });
    }
    g.finish();
}

criterion_group!(benches, kdf);
criterion_main!(benches);
