//! CREDHIST files (`docs/dpapi.md` §2.3): any input that parses re-serialises to a file that
//! parses to the same value, and walking its chain never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::dpapi::credhist::CredHistFile;

/// Walking runs the KDF of every entry it reaches (up to `kdf::MAX_ROUNDS` rounds each); inputs
/// asking for more than this are only parsed, so each run stays fast.
const MAX_WALK_ROUNDS: u32 = 1000;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = CredHistFile::parse(data) else {
        return;
    };
    let bytes = file.to_bytes();
    let again = CredHistFile::parse(&bytes).expect("a re-serialised CREDHIST parses");
    assert_eq!(again, file);
    if file.entries.iter().all(|e| e.rounds <= MAX_WALK_ROUNDS) {
        let walked = file.walk(&[0x5a; 20]);
        assert!(walked.len() <= file.entries.len());
    }
});
