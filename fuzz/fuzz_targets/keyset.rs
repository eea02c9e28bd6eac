//! The `keyset` target of `fuzz/targets.rs` under libFuzzer.
#![no_main]

include!("../targets.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyset(data));
