//! The Python oracles (`tests/oracles/`): finding the interpreter, skipping without it, and
//! running a script on a JSON job.
//!
//! The Python side runs in the interpreter named by `ADSYNC_SIM_PYTHON`, else
//! `<repo>/.venv/bin/python`. Without it (or without impacket, dpapick3 and pypykatz) a test
//! prints a one-line skip notice and passes, unless `ADSYNC_SIM_REQUIRE_ORACLES=1`, which makes it
//! fail. Every run draws its random cases from one seed, printed at the start of each test;
//! `ADSYNC_SIM_ORACLE_SEED=<seed>` replays a run.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// How to set the oracles up.
pub const SETUP_HINT: &str = "set up the oracles with `python3 -m venv .venv && .venv/bin/pip install \
                          impacket dpapick3 pypykatz` at the repository root, or point \
                          ADSYNC_SIM_PYTHON at an interpreter that has them";

/// `tests/oracles`.
pub fn oracle_dir() -> PathBuf {
    super::repo().join("tests/oracles")
}

fn interpreter() -> PathBuf {
    if let Some(p) = std::env::var_os("ADSYNC_SIM_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = super::repo().join(".venv");
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The interpreter, if it runs and imports the three tools; otherwise why not. Checked once.
fn availability() -> &'static Result<PathBuf, String> {
    static AVAILABLE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    AVAILABLE.get_or_init(|| {
        let python = interpreter();
        // ADSYNC_SIM_PYTHON may name a command on PATH; the default must be the venv's file.
        if std::env::var_os("ADSYNC_SIM_PYTHON").is_none() && !python.is_file() {
            return Err(format!("no Python interpreter at {}", python.display()));
        }
        let out = Command::new(&python)
            .args([
                "-c",
                "import impacket.dpapi, dpapick3.masterkey, pypykatz.dpapi.dpapi",
            ])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output();
        match out {
            Err(e) => Err(format!("cannot run {}: {e}", python.display())),
            Ok(o) if !o.status.success() => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output");
                Err(format!(
                    "{} cannot import impacket, dpapick3 and pypykatz: {last}",
                    python.display()
                ))
            }
            Ok(_) => Ok(python),
        }
    })
}

/// The run's seed: `ADSYNC_SIM_ORACLE_SEED` or `ADSYNC_SIM_TEST_SEED`, else the clock (printed).
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| super::seed_u64(Some("ADSYNC_SIM_ORACLE_SEED")))
}

/// Start of every test: the Python runner and this test's RNG, or `None` after a skip notice.
/// Notices name the test by its full path (`oracles::credhist`), which the test harness gives
/// the thread running it; `test` also salts the test's random stream.
pub fn setup(test: &str) -> Option<(Python, ChaCha20Rng)> {
    let thread = std::thread::current();
    let name = thread.name().filter(|n| *n != "main").unwrap_or(test);
    let python = match availability() {
        Ok(p) => p.clone(),
        Err(why) => {
            assert!(
                std::env::var("ADSYNC_SIM_REQUIRE_ORACLES").as_deref() != Ok("1"),
                "{name}: ADSYNC_SIM_REQUIRE_ORACLES=1 but {why}; {SETUP_HINT}"
            );
            // Written to the process's stderr directly, so the test harness does not capture it.
            let _ = writeln!(std::io::stderr(), "SKIPPED {name}: {why}; {SETUP_HINT}");
            return None;
        }
    };
    let seed = seed();
    eprintln!("{name}: seed {seed} (replay with ADSYNC_SIM_TEST_SEED={seed})");
    // One stream per test, all from the one printed seed (FNV-1a of the test name).
    let salt = test.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Some((
        Python { exe: python },
        ChaCha20Rng::seed_from_u64(seed ^ salt),
    ))
}

/// A Python interpreter that has the oracles.
#[derive(Debug)]
pub struct Python {
    exe: PathBuf,
}

impl Python {
    /// Runs `tests/oracles/<script>` with a JSON job on stdin and returns the JSON after `marker`.
    pub fn run(&self, script: &str, job: &Value, marker: &str) -> Value {
        let mut child = Command::new(&self.exe)
            .arg(oracle_dir().join(script))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} {script}: {e}", self.exe.display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(job.to_string().as_bytes())
            .expect("write the job to Python");
        drop(stdin);
        let out = child.wait_with_output().expect("wait for Python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Shown only if the test fails: the tools' own messages and tracebacks.
        let tail = stderr.char_indices().rev().nth(6000).map_or(0, |(i, _)| i);
        if !stderr.trim().is_empty() {
            eprintln!("--- {script} stderr (tail) ---\n{}", &stderr[tail..]);
        }
        let line = stdout.lines().rev().find_map(|l| l.strip_prefix(marker));
        match line {
            Some(json) if out.status.success() => serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("{script} printed invalid JSON ({e}): {json}")),
            _ => panic!(
                "{script} failed ({}); stdout:\n{stdout}\nstderr:\n{}",
                out.status,
                &stderr[tail..]
            ),
        }
    }

    /// Runs `script` on `{"ops": ops}` and returns one result per op.
    pub fn ops(&self, script: &str, marker: &str, ops: &[Value]) -> Vec<Value> {
        let out = self.run(script, &json!({ "ops": ops }), marker);
        let results = out["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            results.len(),
            ops.len(),
            "{script} returned {} results for {} ops",
            results.len(),
            ops.len()
        );
        results
    }

    /// Runs `oracle.py` (impacket, dpapick3, pypykatz) on `ops`.
    pub fn oracle(&self, ops: &[Value]) -> Vec<Value> {
        self.ops("oracle.py", "ORACLE-RESULT ", ops)
    }

    /// Runs `adsync_reference.py` (the independent ADSync codec model) on `ops`.
    pub fn adsync_reference(&self, ops: &[Value]) -> Vec<Value> {
        self.ops("adsync_reference.py", "ADSYNC-REFERENCE-RESULT ", ops)
    }

    /// Runs `reference.py` on a job.
    pub fn reference(&self, job: &Value) -> Value {
        self.run("reference.py", job, "REFERENCE-RESULT ")
    }
}
