//! Support shared by the integration tests: where the research vectors are, how to load them,
//! and how to run the `adsync-sim` binary.
//!
//! The vectors are read from `../shared/research/vectors/` next to the repository (override with
//! `ADSYNC_SIM_VECTORS`). A missing directory fails the tests loudly rather than skipping them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The directory holding `vectors.json` and the `*.hex` artefacts.
pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADSYNC_SIM_VECTORS") {
        return PathBuf::from(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/research/vectors");
    assert!(
        dir.join("vectors.json").is_file(),
        "research vectors not found at {}; set ADSYNC_SIM_VECTORS to the directory holding vectors.json",
        dir.display()
    );
    dir
}

/// The bytes of `vectors/<name>.hex`.
pub fn vector_bytes(name: &str) -> Vec<u8> {
    let path = vectors_dir().join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    hex::decode(text.trim()).unwrap_or_else(|e| panic!("{} is not hex: {e}", path.display()))
}

/// `vectors.json`.
pub fn vectors_json() -> serde_json::Value {
    let path = vectors_dir().join("vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A hex field of a vector, decoded.
pub fn hex_field(v: &serde_json::Value, field: &str) -> Vec<u8> {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {field} missing"));
    hex::decode(s).unwrap_or_else(|e| panic!("vector field {field}: {e}"))
}

/// Path of the `adsync-sim` binary the tests run: `ADSYNC_SIM_BIN`, or the workspace's own,
/// brought up to date once per test process (`cargo test -p sim-tests` alone does not rebuild
/// another package's binary, and a stale one would test old code).
pub fn adsync_sim_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("ADSYNC_SIM_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/runner-xxxx -> target/<profile>/adsync-sim
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile directory");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "sim-cli", "--bin", "adsync-sim"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for adsync-sim");
        assert!(status.success(), "building adsync-sim failed");
        dir.join(format!("adsync-sim{}", std::env::consts::EXE_SUFFIX))
    })
    .clone()
}

/// Runs `adsync-sim` with arguments and returns its output.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(adsync_sim_bin())
        .args(args)
        .output()
        .expect("run adsync-sim")
}
