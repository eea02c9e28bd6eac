//! A bounded fuzz run of every parser on stable, in CI: each target of `fuzz/targets.rs` (the
//! same functions the cargo-fuzz binaries run under libFuzzer on nightly) gets the committed
//! seeds in `fuzz/seeds/<target>/` and then random mutations of them (bit flips, byte writes,
//! truncation, insertion, splicing two seeds), and must never panic.
//!
//! The run prints its seed (`fuzz: seed N`); `ADSYNC_SIM_TEST_SEED=N` (or `ADSYNC_SIM_FUZZ_SEED=N`)
//! replays it, and `ADSYNC_SIM_FUZZ_CASES` sets the mutations per target (default 3000).
//! `ADSYNC_SIM_WRITE_SEEDS=1` (re)writes the generated seeds (keyset, encrypted_configuration).

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[allow(dead_code, clippy::all)]
#[path = "../../fuzz/targets.rs"]
mod targets;

fn seeds_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// The seeds made by the simulator itself: a keyset and an encrypted_configuration value.
fn write_generated_seeds() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let keyset =
        sim_core::adsync::keyset::Keyset::generate(&mut rng, uuid::Uuid::from_u128(7), 1).unwrap();
    std::fs::write(
        seeds_dir("keyset").join("generated.bin"),
        &*keyset.to_bytes(),
    )
    .unwrap();
    let attrs =
        sim_core::adsync::credstore::EncryptedAttributes::new("password", "Seed2026!").unwrap();
    let c = sim_core::adsync::credstore::EncryptedConfiguration::seal(&[0x24; 32], [7; 16], &attrs);
    std::fs::write(
        seeds_dir("encrypted_configuration").join("generated.bin"),
        c.to_bytes(),
    )
    .unwrap();
    std::fs::write(
        seeds_dir("encrypted_configuration").join("generated.b64"),
        c.to_base64(),
    )
    .unwrap();
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = seeds_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let out: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!out.is_empty(), "{} has no seeds", dir.display());
    out
}

/// One mutation: (kind, position, byte).
fn mutate(seed: &[u8], other: &[u8], ops: &[(u8, u16, u8)]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for &(kind, pos, byte) in ops {
        let at = |len: usize| if len == 0 { 0 } else { pos as usize % len };
        match kind % 5 {
            0 if !b.is_empty() => {
                let i = at(b.len());
                b[i] ^= 1 << (byte % 8);
            }
            1 if !b.is_empty() => {
                let i = at(b.len());
                b[i] = byte;
            }
            2 => b.truncate(at(b.len() + 1)),
            3 => {
                let i = at(b.len() + 1);
                b.insert(i, byte);
            }
            _ => {
                // Splice: the head of this input, the tail of another.
                let i = at(b.len() + 1);
                let j = at(other.len() + 1);
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
        }
    }
    b
}

#[test]
fn every_parser_survives_its_seeds_and_mutations() {
    if std::env::var_os("ADSYNC_SIM_WRITE_SEEDS").is_some() {
        write_generated_seeds();
    }
    let seed = crate::support::seed_u64(Some("ADSYNC_SIM_FUZZ_SEED"));
    let cases: u32 = std::env::var("ADSYNC_SIM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    eprintln!(
        "fuzz: seed {seed} (replay with ADSYNC_SIM_TEST_SEED={seed}), {cases} cases per target"
    );
    for (name, target) in targets::TARGETS {
        let seeds = seeds(name);
        for s in &seeds {
            target(s);
        }
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..8 + name.len().min(24)].copy_from_slice(&name.as_bytes()[..name.len().min(24)]);
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &key),
        );
        let n = seeds.len();
        let strategy = (
            0..n,
            0..n,
            proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u8>()), 1..8),
        );
        let result = runner.run(&strategy, |(i, j, ops)| {
            let input = mutate(&seeds[i], &seeds[j], &ops);
            target(&input);
            Ok(())
        });
        if let Err(e) = result {
            panic!("target {name}, seed {seed}: {e}");
        }
    }
}
