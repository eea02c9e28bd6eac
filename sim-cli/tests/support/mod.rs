//! Support shared by the integration tests: where the test vectors are, how to load them,
//! and how to run the `adsync-sim` binary (the one Cargo built for this test run,
//! `CARGO_BIN_EXE_adsync-sim`).
//!
//! The vectors are read from `tests/vectors/` in the repository, whose README gives each file's
//! provenance (override with `ADSYNC_SIM_VECTORS`). A missing directory fails the tests loudly
//! rather than skipping them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod oracle;

/// The directory holding `vectors.json` and the `*.hex` artefacts.
pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADSYNC_SIM_VECTORS") {
        return PathBuf::from(dir);
    }
    let dir = repo().join("tests/vectors");
    assert!(
        dir.join("vectors.json").is_file(),
        "test vectors not found at {}; set ADSYNC_SIM_VECTORS to the directory holding vectors.json",
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

/// The repository's root (the tests' data lives in `tests/`: vectors, fixtures, oracles).
pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Path of the `adsync-sim` binary the tests run: `ADSYNC_SIM_BIN`, or the one Cargo built for
/// this test run.
pub fn adsync_sim_bin() -> PathBuf {
    std::env::var_os("ADSYNC_SIM_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_adsync-sim")),
        PathBuf::from,
    )
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

/// A property test's configuration: `cases` cases, or `PROPTEST_CASES` when set (for a longer
/// run: `PROPTEST_CASES=5000 cargo test -p sim-cli --test runner properties --release`), and no
/// failure files written into the source tree.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        // The printed seed replays the cases: `ADSYNC_SIM_TEST_SEED=N`.
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed_u64(None)),
        ..proptest::test_runner::Config::default()
    }
}

/// A world in a temporary state directory, driven through the binary. Every output is kept so
/// a test can search them for passwords.
#[derive(Debug)]
pub struct Sim {
    dir: tempfile::TempDir,
    /// The state directory.
    pub state: PathBuf,
    /// Standard output and error of every command run through [`Sim::run`].
    pub outputs: Vec<Vec<u8>>,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// An empty temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let state = dir.path().join("state");
        Self {
            dir,
            state,
            outputs: vec![],
        }
    }

    /// The temporary directory (the state directory's parent).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `adsync-sim init --format json ARGS…`, whose output (the one place passwords may appear,
    /// docs/design.md §4) is not kept.
    pub fn init(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec![
            "--state",
            self.state.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "init",
        ];
        full.extend_from_slice(args);
        let o = run(&full);
        assert!(o.status.success(), "init {args:?}: {}", text(&o));
        serde_json::from_slice(&o.stdout).expect("init prints JSON")
    }

    /// Runs `adsync-sim --state S ARGS…`.
    pub fn run(&mut self, args: &[&str]) -> Output {
        let mut full = vec!["--state", self.state.to_str().expect("utf-8 path")];
        full.extend_from_slice(args);
        let o = run(&full);
        self.outputs.push(o.stdout.clone());
        self.outputs.push(o.stderr.clone());
        o
    }

    /// Runs a line through `exec`.
    pub fn exec(&mut self, line: &str) -> Output {
        self.run(&["exec", line])
    }

    /// Runs with `--format json` and parses the document.
    pub fn json(&mut self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let o = self.run(&full);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&o)))
    }

    /// Runs and asserts success.
    pub fn ok(&mut self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", text(&o));
        text(&o)
    }

    /// Asserts that no password appears, in UTF-8 or UTF-16LE, in the state directory, in
    /// `extra` directories, or in any kept output.
    pub fn assert_no_secret(&self, secrets: &[&str], extra: &[&Path]) {
        let mut hay: Vec<(String, Vec<u8>)> = all_files(&self.state)
            .into_iter()
            .chain(extra.iter().flat_map(|d| all_files(d)))
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
            .collect();
        hay.extend(
            self.outputs
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("output #{i}"), o.clone())),
        );
        for s in secrets {
            let u16: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            for (what, h) in &hay {
                assert!(
                    !contains(h, s.as_bytes()),
                    "a password appears in UTF-8 in {what}"
                );
                assert!(
                    !contains(h, &u16),
                    "a password appears in UTF-16LE in {what}"
                );
            }
        }
    }
}

/// Standard output and error of a run, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The variable that replays a test run with the seed a failure printed.
pub const SEED_ENV: &str = "ADSYNC_SIM_TEST_SEED";

/// A fresh seed for a test run, printed with the command that replays it; `ADSYNC_SIM_TEST_SEED`
/// gives the seed instead.
pub fn fresh_seed() -> String {
    let s = match std::env::var(SEED_ENV) {
        Ok(s) => {
            assert!(
                s.parse::<u64>().is_ok(),
                "{SEED_ENV} must be a number, not {s:?}"
            );
            s
        }
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970");
            (t.as_nanos() as u64 % 1_000_000).to_string()
        }
    };
    eprintln!("seed {s} (replay: {SEED_ENV}={s} cargo test -p sim-cli --test runner …)");
    s
}

/// [`fresh_seed`] as a number. `alias` is an older variable a README documents for one test
/// (`ADSYNC_SIM_FUZZ_SEED`, `ADSYNC_SIM_ORACLE_SEED`); when set it gives the seed instead.
pub fn seed_u64(alias: Option<&str>) -> u64 {
    if let Some(var) = alias
        && let Ok(s) = std::env::var(var)
    {
        let seed = s
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{var}={s:?} is not a u64: {e}"));
        eprintln!("seed {seed} (from {var})");
        return seed;
    }
    fresh_seed().parse().expect("fresh_seed gives a number")
}

/// Every file under a directory.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
