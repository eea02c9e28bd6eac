//! Blob protect and unprotect (AES-256 / SHA-512, 16 bytes of entropy) at 64 B, 4 KiB, 64 KiB and
//! 1 MiB, reported as throughput.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sim_benches::{blob, master_key_file, rng};
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::masterkey::MasterKeyPolicy;
use uuid::Uuid;

fn blobs(c: &mut Criterion) {
    let (_, key) = master_key_file(&MasterKeyPolicy::WINDOWS_10.with_rounds(1));
    let mut g = c.benchmark_group("blob");
    for len in [64usize, 4 << 10, 64 << 10, 1 << 20] {
        let data = vec![0xa5u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("protect", len), &data, |b, data| {
            let mut r = rng();
            b.iter(|| {
                Blob::seal_bytes(
                    &mut r,
                    &key,
                    Uuid::nil(),
                    black_box(data),
                    &[7; 16],
                    "",
                    0,
                    &BlobPolicy::WINDOWS_10,
                )
            });
        });
        let sealed = blob(&key, len);
        g.bench_with_input(BenchmarkId::new("unprotect", len), &sealed, |b, sealed| {
            b.iter(|| sealed.open(&key, black_box(&[7; 16])).expect("opens"));
        });
    }
    g.finish();
}

criterion_group!(benches, blobs);
criterion_main!(benches);
