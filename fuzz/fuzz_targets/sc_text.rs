//! `sc.exe qc` and `sc.exe queryex` texts (docs/design.md §8): any input either parses or is refused with
//! a reason; what parses is written back as sc.exe prints it and reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::evidence::sc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(c)) = sc::parse_qc("qc", text)
        && !c.name.contains('\n')
    {
        let _ = sc::parse_qc("qc", &sc::qc_text(&c));
    }
    if let Ok(Some(q)) = sc::parse_queryex("queryex", text) {
        let _ = sc::parse_queryex("queryex", &sc::queryex_text(&q));
    }
});
