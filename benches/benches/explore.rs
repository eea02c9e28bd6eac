//! Exploration throughput (`scenario explore` at `--kdf-rounds 1`): cases per second on one
//! core and on every core, with the install snapshots already made (they are made once per
//! process and build/account kind), on the CLI's allocator. Criterion reports time per batch
//! of 100 cases; the throughput line gives cases per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_explore::{ExploreOptions, case, explore, setups};

/// The allocator `adsync-sim` runs on (sim-cli/src/main.rs), so the bench measures what the
/// CLI does.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn options(cases: u64, remediate: bool) -> ExploreOptions {
    ExploreOptions {
        cases,
        seed: 7,
        steps: 12,
        shard: (0, 1),
        remediate,
    }
}

fn bench(c: &mut Criterion) {
    for s in setups() {
        case::snapshot(&s, 7).expect("snapshot");
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut g = c.benchmark_group("explore");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100));
    for (name, remediate) in [("with_remediation", true), ("model_only", false)] {
        g.bench_function(format!("100_cases_one_core_{name}"), |b| {
            b.iter(|| explore(&options(100, remediate), 1, &|| {}))
        });
        g.bench_function(format!("100_cases_{threads}_cores_{name}"), |b| {
            b.iter(|| explore(&options(100, remediate), threads, &|| {}))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
