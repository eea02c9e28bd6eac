//! The scenario catalogue (`scenarios/failures/`), each scenario parsed and run in a fresh world
//! on one core, as `scenario run` does per file.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::scenario::{Scenario, run_scenario};

fn catalogue(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/failures");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the catalogue")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p.display().to_string(), text)
        })
        .collect();
    files.sort();
    let mut g = c.benchmark_group("catalogue");
    g.sample_size(10);
    g.bench_function(format!("{}_scenarios_one_core", files.len()), |b| {
        b.iter(|| {
            for (name, text) in &files {
                let s = Scenario::parse(name, text).expect("parses");
                let r = run_scenario(name, &s, None).expect("runs");
                assert!(r.passed(), "{name}");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, catalogue);
criterion_main!(benches);
