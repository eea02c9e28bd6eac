//! The connector credentials (`encrypted_configuration`, `docs/adsync.md` §3.4): encrypting a
//! password under key 1 and decrypting it, as the engine does when a run starts.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_benches::rng;
use sim_core::adsync::credstore::{EncryptedAttributes, decrypt, encrypt};
use sim_core::adsync::keyset::Keyset;
use uuid::Uuid;

fn credstore(c: &mut Criterion) {
    let keyset = Keyset::generate(&mut rng(), Uuid::nil(), 1).expect("keyset id 1");
    let key = *keyset.key(1).expect("key 1");
    let attributes = EncryptedAttributes::ad("Msol-Benchmark-Password-2026!").expect("valid");
    let b64 = encrypt(&key, [3; 16], &attributes);
    let mut g = c.benchmark_group("credstore");
    g.bench_function("encrypt", |b| {
        b.iter(|| encrypt(black_box(&key), [3; 16], black_box(&attributes)))
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| decrypt(black_box(&key), black_box(&b64)).expect("opens"))
    });
    g.bench_function("keyset_parse", |b| {
        let bytes = keyset.to_bytes();
        b.iter(|| Keyset::parse(black_box(&bytes)).expect("parses"))
    });
    g.finish();
}

criterion_group!(benches, credstore);
criterion_main!(benches);
