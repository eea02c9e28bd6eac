//! Master key files (`docs/dpapi.md` §2.1): any input that parses re-serialises to a file
//! that parses to the same value, and opening it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::dpapi::masterkey::MasterKeyFile;
use sim_core::dpapi::prekey::PreKey;

/// Opening runs the KDF for as many rounds as the block asks (up to `kdf::MAX_ROUNDS`); inputs
/// asking for more than this are only parsed, so each run stays fast.
const MAX_OPEN_ROUNDS: u32 = 1000;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = MasterKeyFile::parse(data) else {
        return;
    };
    let bytes = file.to_bytes();
    let again = MasterKeyFile::parse(&bytes).expect("a re-serialised master key file parses");
    assert_eq!(again, file);
    if file
        .master_key
        .as_ref()
        .is_some_and(|b| b.rounds <= MAX_OPEN_ROUNDS)
    {
        let _ = file.open(&PreKey::from_bytes([0x11; 20]));
    }
});
