//! DPAPI blobs (`docs/dpapi.md` §2.4): any input that parses re-serialises to a blob that
//! parses to the same value, and opening it with a fixed master key never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::dpapi::blob::Blob;
use sim_core::dpapi::masterkey::{MASTER_KEY_LEN, MasterKey};

fuzz_target!(|data: &[u8]| {
    let Ok(blob) = Blob::parse(data) else {
        return;
    };
    let bytes = blob.to_bytes();
    let again = Blob::parse(&bytes).expect("a re-serialised blob parses");
    assert_eq!(again, blob);
    let key = MasterKey::from_bytes([0x42; MASTER_KEY_LEN]);
    let _ = blob.open(&key, b"");
    let _ = blob.open(&key, b"entropy");
});
