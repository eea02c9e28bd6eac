//! The host world through the real binary: change
//! versus reset of a local service account, no password in state, exports or JSON, parallel
//! writers, SIGKILL mid-command, and bad input named clearly.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::run;

struct World {
    _dir: tempfile::TempDir,
    state: PathBuf,
    outputs: Vec<Vec<u8>>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Self {
            _dir: dir,
            state,
            outputs: vec![],
        }
    }

    fn root(&self) -> &Path {
        self._dir.path()
    }

    /// Runs `adsync-sim --state S ARGS…` and keeps its output for the leak search.
    fn run(&mut self, args: &[&str]) -> Output {
        let mut full = vec!["--state", self.state.to_str().unwrap()];
        full.extend_from_slice(args);
        let o = run(&full);
        self.outputs.push(o.stdout.clone());
        self.outputs.push(o.stderr.clone());
        o
    }

    fn json(&mut self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let o = self.run(&full);
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stdout)))
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn seed() -> String {
    crate::support::fresh_seed()
}

fn init_local(w: &mut World, seed: &str) -> (String, String) {
    // init's own output is the one place a password may appear (docs/design.md §4), so it is not kept.
    let o = run([
        "--state",
        w.state.to_str().unwrap(),
        "--format",
        "json",
        "init",
        "--service-account",
        "local",
        // DPAPI's own change-versus-reset on the default (Credential Manager) build is the
        // opt-in departure from the 2023 article; these tests exercise DPAPI.
        "--keyset-follows-dpapi",
        "--seed",
        seed,
        "--kdf-rounds",
        "50",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        j["service_account"]["name"].as_str().unwrap().to_owned(),
        j["service_account"]["password"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn local_service_account_reset_versus_change() {
    let seed = seed();
    // Reset: the SCM's password is stale (1069, 7038); once it is updated, the keyset protected
    // under the old password no longer opens (1066, 6028).
    let mut w = World::new();
    let (account, _) = init_local(&mut w, &seed);
    let status = w.json(&["status"]);
    assert_eq!(status["clock"], "2026-01-05T09:00:00Z");
    assert_eq!(status["services"][0]["state"], "RUNNING");
    assert!(w.run(&["sc", "stop", "ADSync"]).status.success());
    assert!(
        w.run(&["account", "reset", &account, "--password", "Reset-2026!"])
            .status
            .success()
    );
    // sc.exe's 1069 text is pinned by the snapshot `sc_start_1069_human` (cli_snapshots).
    let o = w.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1));
    let j = w.json(&["sc", "start", "ADSync"]);
    assert_eq!(j["result_code"], 1069);
    let ev = w.json(&["events", "--log", "System", "--id", "7038", "--last", "1"]);
    let msg = ev["events"][0]["message"].as_str().unwrap();
    assert_eq!(ev["events"][0]["source"], "Service Control Manager");
    assert_eq!(
        msg,
        format!(
            "The ADSync service was unable to log on as {account} with the currently configured password due to the following error: The user name or password is incorrect.\n\nTo ensure that the service is configured properly, use the Services snap-in in Microsoft Management Console (MMC)."
        )
    );
    assert!(
        w.run(&["sc", "config", "ADSync", "password=", "Reset-2026!"])
            .status
            .success()
    );
    // The console's -21451857952 text: snapshot `sc_start_6028_human`.
    let o = w.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1));
    let q = w.json(&["sc", "query", "ADSync"]);
    assert_eq!(
        (q["state"].as_str(), q["win32_exit_code"].as_u64()),
        (Some("STOPPED"), Some(1066))
    );
    let ev = w.json(&["events", "--log", "Application", "--id", "6028"]);
    assert_eq!(
        ev["events"][0]["message"],
        "The server encryption key cannot be accessed."
    );
    // Get-WinEvent's row of 6028: snapshot `exec_get_winevent_6028_human`.

    // Change by the owner: DPAPI follows; only the SCM password needs updating.
    let mut w = World::new();
    let (account, password) = init_local(&mut w, &seed);
    assert!(w.run(&["sc", "stop", "ADSync"]).status.success());
    // The wrong old password's text: snapshot `account_change_wrong_old_human`.
    let o = w.run(&[
        "account", "change", &account, "--old", "wrong", "--new", "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        w.run(&[
            "account",
            "change",
            &account,
            "--old",
            &password,
            "--new",
            "Changed-2026!"
        ])
        .status
        .success()
    );
    assert_eq!(
        w.run(&["sc", "start", "ADSync"]).status.code(),
        Some(1),
        "the SCM still holds the old password"
    );
    assert!(
        w.run(&["sc", "config", "ADSync", "password=", "Changed-2026!"])
            .status
            .success()
    );
    let o = w.run(&["exec", "Start-Service ADSync"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(w.json(&["sc", "query", "ADSync"])["state"], "RUNNING");
}

#[test]
fn no_password_in_state_exports_or_outputs() {
    let seed = seed();
    let mut w = World::new();
    let (account, password) = init_local(&mut w, &seed);
    let secrets = [
        password.clone(),
        "Reset-Pw-31337!".to_owned(),
        "Changed-Pw-4242?".to_owned(),
    ];
    w.run(&["sc", "stop", "ADSync"]);
    w.run(&[
        "account",
        "change",
        &account,
        "--old",
        &password,
        "--new",
        &secrets[2],
    ]);
    w.run(&["sc", "config", "ADSync", "password=", &secrets[2]]);
    w.run(&["sc", "start", "ADSync"]);
    w.run(&["exec", &format!("net user {account} {}", secrets[1])]);
    w.run(&["sc", "config", "ADSync", "password=", &secrets[1]]);
    w.run(&["sc", "stop", "ADSync"]);
    w.run(&["exec", "sc.exe start ADSync"]);
    w.run(&[
        "sc",
        "config",
        "ADSync",
        &format!("password={}", secrets[1]),
    ]);
    for args in [
        &["status"][..],
        &["account", "list"],
        &["events"],
        &["sc", "query", "ADSync"],
    ] {
        w.json(args);
    }
    let export = w.root().join("export");
    assert!(
        w.run(&["export", export.to_str().unwrap()])
            .status
            .success()
    );
    let mut haystacks: Vec<(String, Vec<u8>)> = all_files(&w.state)
        .into_iter()
        .chain(all_files(&export))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    haystacks.extend(
        w.outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("output #{i}"), o.clone())),
    );
    for secret in &secrets {
        for (what, hay) in &haystacks {
            assert!(
                !contains(hay, secret.as_bytes()),
                "a password appears in UTF-8 in {what}"
            );
            assert!(
                !contains(hay, &utf16(secret)),
                "a password appears in UTF-16LE in {what}"
            );
        }
    }
    // The export holds the real Windows layout.
    let files: Vec<String> = all_files(&export)
        .iter()
        .map(|p| p.strip_prefix(&export).unwrap().display().to_string())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("AppData/Roaming/Microsoft/Protect/CREDHIST")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("/Preferred")), "{files:?}");
    assert!(
        files
            .iter()
            .any(|f| f == "Windows/System32/winevt/Logs/System.json"),
        "{files:?}"
    );
}

#[test]
fn four_parallel_writers_lose_no_update() {
    let mut w = World::new();
    init_local(&mut w, "5");
    let state = w.state.clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let state = state.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let o = run(["--state", state.to_str().unwrap(), "clock", "advance", "1m"]);
                    assert!(o.status.success(), "{}", text(&o));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        w.json(&["status"])["clock"],
        "2026-01-05T10:40:00Z",
        "exactly 100 minutes later"
    );
}

#[test]
fn sigkill_mid_command_always_leaves_a_state_that_opens() {
    let mut w = World::new();
    let (account, password) = init_local(&mut w, "9");
    let bin = crate::support::adsync_sim_bin();
    let mut current = password;
    for i in 0..30u64 {
        let next = format!("Kill-{i}-pw");
        let args: Vec<String> = match i % 3 {
            0 => vec!["clock".into(), "advance".into(), "1h".into()],
            1 => vec![
                "account".into(),
                "change".into(),
                account.clone(),
                "--old".into(),
                current.clone(),
                "--new".into(),
                next.clone(),
            ],
            _ => vec!["sc".into(), "stop".into(), "ADSync".into()],
        };
        let mut child = std::process::Command::new(&bin)
            .arg("--state")
            .arg(&w.state)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis((i * 7) % 40));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let o = w.run(&["--format", "json", "status"]);
        assert!(o.status.success(), "after kill {i}: {}", text(&o));
        // Whether the change landed decides which password is current now.
        if i % 3 == 1 && status.success() {
            current = next;
        } else if i % 3 == 1 {
            let probe = w.run(&[
                "account", "change", &account, "--old", &next, "--new", &next,
            ]);
            if probe.status.success() {
                current = next;
            }
        }
    }
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let mut w = World::new();
    init_local(&mut w, "11");
    let before = std::fs::read(w.state.join("state.db")).ok();
    // The errors' texts are pinned by the snapshots `account_reset_unknown_*`,
    // `sc_config_no_space_*`, `events_unknown_log_*`, `exec_unknown_command_*` and
    // `account_reset_virtual_*` (cli_snapshots); here, their exit codes, that nothing changes and
    // that a mistyped password is not echoed.
    let o = w.run(&["account", "reset", "nobody", "--password", "x"]);
    assert_eq!(o.status.code(), Some(1));
    let o = w.run(&["sc", "config", "ADSync", "password=hunter2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!text(&o).contains("hunter2"));
    let j = w.json(&["sc", "query", "NoSuchService"]);
    assert_eq!(
        (j["result_code"].as_u64(), j["services"].as_str()),
        (Some(1060), Some("ADSync"))
    );
    let o = w.run(&["events", "--log", "Security"]);
    assert_eq!(o.status.code(), Some(2));
    let o = w.run(&["clock", "advance", "5y"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = before;

    // A virtual account has no password to reset.
    let mut v = World::new();
    let o = run([
        "--state",
        v.state.to_str().unwrap(),
        "init",
        "--seed",
        "3",
        "--kdf-rounds",
        "20",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = v.run(&["account", "reset", "NT SERVICE\\ADSync", "--password", "x"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn foreign_and_corrupt_state_files_are_named_and_kept() {
    let w = World::new();
    std::fs::create_dir_all(&w.state).unwrap();
    let db = w.state.join("state.db");
    std::fs::write(&db, b"this is not a database, it is a note").unwrap();
    let o = run(["--state", w.state.to_str().unwrap(), "status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("state.db is not an adsync-sim state file"),
        "{}",
        text(&o)
    );
    let o = run(["--state", w.state.to_str().unwrap(), "init", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("already holds a world; pass --force"),
        "{}",
        text(&o)
    );
    let o = run([
        "--state",
        w.state.to_str().unwrap(),
        "init",
        "--seed",
        "1",
        "--force",
    ]);
    // A state.db that is not a database at all is a broken state: --force replaces it (another
    // program's SQLite database is never replaced: cli_state).
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        run(["--state", w.state.to_str().unwrap(), "status"])
            .status
            .success()
    );
    let empty = w.root().join("empty");
    let o = run(["--state", empty.to_str().unwrap(), "status"]);
    assert!(text(&o).contains("no world in"), "{}", text(&o));
    // A world whose key file is damaged says so.
    let good = w.root().join("good");
    assert!(
        run([
            "--state",
            good.to_str().unwrap(),
            "init",
            "--seed",
            "2",
            "--kdf-rounds",
            "5"
        ])
        .status
        .success()
    );
    std::fs::write(good.join("seal.key"), b"zz").unwrap();
    let o = run(["--state", good.to_str().unwrap(), "status"]);
    assert!(
        text(&o).contains("seal.key is not an adsync-sim state file: it is not 64 hex digits"),
        "{}",
        text(&o)
    );
}

#[test]
fn domain_account_reset_recovers_through_a_reachable_dc() {
    let mut w = World::new();
    let o = run([
        "--state",
        w.state.to_str().unwrap(),
        "--format",
        "json",
        "init",
        "--service-account",
        "domain",
        // DPAPI's recovery through the DC is the opt-in departure from the 2023 article.
        "--keyset-follows-dpapi",
        "--seed",
        "21",
        "--kdf-rounds",
        "20",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let account = j["service_account"]["name"].as_str().unwrap().to_owned();
    assert!(account.starts_with("CONTOSO\\AAD_"), "{account}");
    assert!(w.json(&["status"])["domain"]["backup_key"].is_string());
    w.run(&["sc", "stop", "ADSync"]);
    w.run(&["account", "reset", &account, "--password", "Dom-Reset-2026"]);
    w.run(&["sc", "config", "ADSync", "password=", "Dom-Reset-2026"]);
    assert!(w.run(&["dc", "disconnect"]).status.success());
    assert_eq!(w.json(&["status"])["domain"]["dc_reachable"], false);
    assert_eq!(
        w.json(&["sc", "start", "ADSync"])["result_code"],
        1066,
        "no DC: the key stays undecryptable"
    );
    assert!(w.run(&["dc", "connect"]).status.success());
    let o = w.run(&["sc", "start", "ADSync"]);
    assert!(
        o.status.success(),
        "recovered through the domain backup key: {}",
        text(&o)
    );
    // A disabled account fails the logon, as net.exe spells it.
    w.run(&["sc", "stop", "ADSync"]);
    assert!(
        w.run(&["exec", &format!("net user {account} /active:no")])
            .status
            .success()
    );
    let o = w.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1));
    let ev = w.json(&["events", "--id", "7038", "--last", "1"]);
    assert!(
        ev["events"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("This user can't sign in because this account is currently disabled.\n\nTo ensure that the service is configured properly, use the Services snap-in in Microsoft Management Console (MMC).")
    );
}
