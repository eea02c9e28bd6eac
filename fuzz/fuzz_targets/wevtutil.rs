//! `wevtutil qe /f:xml` event files (docs/design.md §8): any input either parses or is refused with a
//! reason; an event that parses is written back as one line that parses to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_core::evidence::wevtutil;

fuzz_target!(|data: &[u8]| {
    let Ok(events) = wevtutil::parse("events/System.xml", data) else {
        return;
    };
    for e in events {
        let line = wevtutil::to_line(&e);
        let again = wevtutil::parse("line", line.as_bytes()).expect("a written line parses");
        assert_eq!(again.len(), 1);
    }
});
