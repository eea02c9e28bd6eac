//! Starting ADSync in a world (`docs/adsync.md` §3.5): the SCM's logon check, then the engine
//! loading the keyset as the service account, per era, with Windows 10's 8000 master-key rounds;
//! and one scheduled sync cycle.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sim_core::command::parse_line;
use sim_core::seal::Sealer;
use sim_core::world::{ServiceAccountKind, World, WorldOptions};

fn world(build: &str, kind: ServiceAccountKind) -> World {
    let opts = WorldOptions {
        seed: 1,
        service_account: Some(kind),
        build: build.parse().expect("build"),
        ..WorldOptions::default()
    };
    let (mut w, _) = World::new(&opts, Sealer::in_memory([5; 32])).expect("world");
    w.exec(&parse_line("sc stop ADSync").expect("parses"))
        .expect("stops");
    w
}

fn service_start(c: &mut Criterion) {
    let mut g = c.benchmark_group("service_start");
    g.sample_size(20);
    let start = parse_line("sc start ADSync").expect("parses");
    for (build, kind, label) in [
        ("1.1.443.0", ServiceAccountKind::Local, "user-dpapi local"),
        ("1.1.484.0", ServiceAccountKind::Virtual, "registry virtual"),
        (
            "2.5.76.0",
            ServiceAccountKind::Virtual,
            "credential-manager virtual",
        ),
        (
            "2.5.76.0",
            ServiceAccountKind::Domain,
            "credential-manager domain",
        ),
    ] {
        let stopped = world(build, kind);
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_batched(
                || stopped.clone(),
                |mut w| {
                    let o = w.exec(&start).expect("runs");
                    assert_eq!(o.code, 0);
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    let cycle = parse_line("sync cycle").expect("parses");
    let mut running = world("2.5.76.0", ServiceAccountKind::Virtual);
    running.exec(&start).expect("starts");
    g.bench_function("sync_cycle", |b| {
        b.iter(|| running.exec(&cycle).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, service_start);
criterion_main!(benches);
