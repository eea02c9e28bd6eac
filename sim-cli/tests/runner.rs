//! The one integration test binary of `adsync-sim`: every test module is listed here. The CLI
//! tests run the binary Cargo built for this test run (`CARGO_BIN_EXE_adsync-sim`); the data
//! they read (vectors, fixtures, oracles) is in the repository's `tests/` folder.

mod support;

mod adsync_codecs;
mod cli_adsync;
mod cli_contract;
mod cli_dpapi;
mod cli_evidence;
mod cli_input;
mod cli_install;
mod cli_lab;
mod cli_remedy;
mod cli_scenario;
mod cli_shell;
mod cli_snapshots;
mod cli_state;
mod cli_timeline;
mod cli_tools;
mod cli_world;
mod credential;
mod evidence;
mod explore;
mod fuzz_bounded;
mod oracles;
mod precedence;
mod properties;
mod remedy;
mod secret_leaks;
mod vectors;
mod windows;
mod world_properties;

/// Every file in `sim-cli/tests/` is a module of this binary: a test file nobody lists would never
/// run, silently.
#[test]
fn no_forgotten_test_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let runner = std::fs::read_to_string(dir.join("runner.rs")).expect("runner.rs");
    let mut forgotten = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("sim-cli/tests") {
        let path = entry.expect("directory entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let is_rust = path.extension().is_some_and(|e| e == "rs");
        if (is_rust || path.is_dir())
            && stem != "runner"
            && stem != "support"
            // insta's `.snap` files of `cli_snapshots`
            && stem != "snapshots"
            && !runner.contains(&format!("mod {stem};"))
        {
            forgotten.push(stem.to_owned());
        }
    }
    forgotten.sort();
    assert!(
        forgotten.is_empty(),
        "not listed in sim-cli/tests/runner.rs: {forgotten:?}"
    );
}
