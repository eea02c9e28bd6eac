//! A whole evidence bundle (`manifest.json`, the sc.exe texts, the event files, the connectors):
//! the input is split into the bundle's files at NUL bytes, and reading it either yields a host
//! the diagnosis runs on, or a clear error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::evidence::{Bundle, EvidenceHost, FILES};

fuzz_target!(|data: &[u8]| {
    let mut bundle = Bundle::default();
    for (file, part) in FILES.iter().zip(data.split(|b| *b == 0)) {
        bundle.put(file, part.to_vec());
    }
    if let Ok(mut host) = EvidenceHost::from_bundle(&bundle) {
        let _ = sim_core::remedy::diagnose(&mut host);
    }
});
