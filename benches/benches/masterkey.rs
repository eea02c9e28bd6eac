//! Master key files at Windows 10 cost (8000 rounds): create, decrypt with the right password,
//! and fail with a wrong one (the same KDF work, then an HMAC mismatch).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_benches::{SID, credential, master_key_file};
use sim_core::dpapi::masterkey::MasterKeyPolicy;
use sim_core::dpapi::prekey::Credential;
use sim_core::dpapi::sid::Sid;

fn masterkey(c: &mut Criterion) {
    let policy = MasterKeyPolicy::WINDOWS_10;
    let mut g = c.benchmark_group("masterkey");
    g.bench_function("create", |b| b.iter(|| master_key_file(black_box(&policy))));
    let (file, _) = master_key_file(&policy);
    let right = credential();
    let sid: Sid = SID.parse().expect("valid SID");
    let wrong = Credential::local_password(&sid, "wrong password");
    g.bench_function("decrypt_right_password", |b| {
        b.iter(|| {
            file.decrypt(black_box(&right))
                .expect("right password opens the key")
        });
    });
    g.bench_function("decrypt_wrong_password", |b| {
        b.iter(|| assert!(file.decrypt(black_box(&wrong)).is_err()));
    });
    g.finish();
}

criterion_group!(benches, masterkey);
criterion_main!(benches);
