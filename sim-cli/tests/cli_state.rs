//! The state directory under attack and under load, through the real binary: a world is replaced
//! atomically (kill -9 at any moment leaves the old world or the new one), concurrent `init`s
//! serialise, `--force` replaces a broken state, a wrong `seal.key` is refused, a copied state
//! never reuses a sealing nonce, files are private, writes never follow symbolic links, lab
//! progress is never lost, readers do not wait for writers, and the clock stops at its maximum.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Sim, adsync_sim_bin, run, text};

/// A quick world: few KDF rounds so the tests spend their time on the state, not the KDF.
const ROUNDS: &str = "50";

fn init(state: &Path, seed: &str, force: bool) -> std::process::Output {
    let mut args = vec![
        "--state",
        state.to_str().unwrap(),
        "--format",
        "json",
        "init",
        "--seed",
        seed,
        "--kdf-rounds",
        ROUNDS,
    ];
    if force {
        args.push("--force");
    }
    run(&args)
}

fn status(state: &Path) -> std::process::Output {
    run([
        "--state",
        state.to_str().unwrap(),
        "--format",
        "json",
        "status",
    ])
}

fn seed_of(state: &Path) -> Option<u64> {
    let o = status(state);
    if !o.status.success() {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(&o.stdout).ok()?["seed"].as_u64()
}

fn world_json(state: &Path) -> String {
    let c = rusqlite::Connection::open(state.join("state.db")).unwrap();
    c.query_row("SELECT state FROM world WHERE id = 1", [], |r| r.get(0))
        .unwrap()
}

fn nonces(json: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let (Some(n), Some(_)) = (m.get("nonce"), m.get("ct")) {
                    out.insert(n.as_str().unwrap().to_owned());
                }
                m.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(&serde_json::from_str(json).unwrap(), &mut out);
    out
}

#[test]
fn kill_9_during_init_force_leaves_the_old_world_or_the_new_one() {
    let sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    // How long a whole replacement takes, to spread the kills over it.
    let t = Instant::now();
    assert!(init(&sim.state, "2", true).status.success());
    let whole = t.elapsed().max(Duration::from_millis(20));
    let mut old = 2u64;
    let mut seen_new = 0;
    for i in 0..30u32 {
        let new = 100 + u64::from(i);
        let mut child = Command::new(adsync_sim_bin())
            .args([
                "--state",
                sim.state.to_str().unwrap(),
                "init",
                "--force",
                "--seed",
                &new.to_string(),
                "--kdf-rounds",
                ROUNDS,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kills spread over twice the measured time (a loaded machine runs slower than the
        // measurement); the last replacement runs to its end, so one surely finishes.
        if i < 29 {
            std::thread::sleep(whole * i / 15);
            let _ = child.kill(); // SIGKILL on Unix
        }
        let _ = child.wait();
        let now = seed_of(&sim.state);
        assert!(
            now == Some(old) || now == Some(new),
            "iteration {i}: after a kill the world is {now:?}, neither the old seed {old} nor the new {new}: {}",
            text(&status(&sim.state))
        );
        // The world that is there works: its sealed secrets open under its key.
        let o = run([
            "--state",
            sim.state.to_str().unwrap(),
            "exec",
            "Restart-Service ADSync",
        ]);
        assert!(o.status.success(), "iteration {i}: {}", text(&o));
        if now == Some(new) {
            seen_new += 1;
        }
        old = now.unwrap();
        assert!(!sim.state.join("state.new").exists() || seed_of(&sim.state).is_some());
    }
    assert!(
        seen_new > 0,
        "no replacement ever finished: the delays are too short"
    );
}

#[test]
fn concurrent_inits_run_one_after_the_other_and_leave_one_whole_world() {
    for round in 0..3 {
        let sim = Sim::new();
        let children: Vec<_> = (0..4)
            .map(|i| {
                Command::new(adsync_sim_bin())
                    .args([
                        "--state",
                        sim.state.to_str().unwrap(),
                        "init",
                        "--force",
                        "--seed",
                        &(i + 10).to_string(),
                        "--kdf-rounds",
                        ROUNDS,
                    ])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {}", text(&o));
            assert!(o.stderr.is_empty(), "round {round}: {}", text(&o));
        }
        let o = run([
            "--state",
            sim.state.to_str().unwrap(),
            "exec",
            "Restart-Service ADSync",
        ]);
        assert!(
            o.status.success(),
            "round {round}: the key and the database are from different runs: {}",
            text(&o)
        );
        // Without --force, the losers wait for the winner and are then refused in one line.
        let fresh = Sim::new();
        let kids: Vec<_> = (0..3)
            .map(|i| {
                Command::new(adsync_sim_bin())
                    .args([
                        "--state",
                        fresh.state.to_str().unwrap(),
                        "init",
                        "--seed",
                        &(i + 20).to_string(),
                        "--kdf-rounds",
                        ROUNDS,
                    ])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<_> = kids
            .into_iter()
            .map(|k| k.wait_with_output().unwrap())
            .collect();
        assert_eq!(outs.iter().filter(|o| o.status.success()).count(), 1);
        for o in outs.iter().filter(|o| !o.status.success()) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains("already holds a world; pass --force"), "{err}");
        }
    }
}

#[test]
fn force_replaces_a_broken_state_and_nothing_else() {
    let sim = Sim::new();
    let db = sim.state.join("state.db");
    let key = sim.state.join("seal.key");
    let broken: [(&str, &dyn Fn()); 4] = [
        ("an empty state.db", &|| std::fs::write(&db, b"").unwrap()),
        ("a garbage state.db", &|| {
            std::fs::write(&db, vec![0x5a; 8192]).unwrap();
        }),
        ("a missing seal.key", &|| {
            std::fs::remove_file(&key).unwrap()
        }),
        ("a wrong seal.key", &|| {
            std::fs::write(&key, "11".repeat(32)).unwrap()
        }),
    ];
    for (what, breakit) in broken {
        assert!(init(&sim.state, "1", true).status.success());
        for f in ["state.db-wal", "state.db-shm"] {
            let _ = std::fs::remove_file(sim.state.join(f));
        }
        breakit();
        let o = status(&sim.state);
        assert!(
            !o.status.success(),
            "{what}: status works on a broken state"
        );
        let o = init(&sim.state, "3", false);
        assert!(
            !o.status.success(),
            "{what}: init without --force replaced it"
        );
        let o = init(&sim.state, "3", true);
        assert!(o.status.success(), "{what}: {}", text(&o));
        assert_eq!(seed_of(&sim.state), Some(3), "{what}");
    }
    // Another program's database is never replaced.
    std::fs::remove_dir_all(&sim.state).unwrap();
    std::fs::create_dir(&sim.state).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("CREATE TABLE accounts (name TEXT); INSERT INTO accounts VALUES ('x');")
        .unwrap();
    drop(c);
    let o = init(&sim.state, "3", true);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("is not an adsync-sim state file"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_wrong_seal_key_is_refused_naming_the_file_and_nothing_is_committed() {
    let a = Sim::new();
    let b = Sim::new();
    assert!(init(&a.state, "1", false).status.success());
    assert!(init(&b.state, "2", false).status.success());
    std::fs::copy(b.state.join("seal.key"), a.state.join("seal.key")).unwrap();
    let before = world_json(&a.state);
    for args in [
        vec!["status"],
        vec!["account", "reset", "NT SERVICE\\ADSync", "--password", "x"],
        vec!["sc", "start", "ADSync"],
        vec!["clock", "advance", "1d"],
    ] {
        let mut full = vec!["--state", a.state.to_str().unwrap()];
        full.extend(args.iter().copied());
        let o = run(&full);
        assert!(!o.status.success(), "{args:?} ran under a wrong key");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{}", a.state.join("seal.key").display()))
                && err.contains("is not the key this world was sealed with"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    assert_eq!(world_json(&a.state), before, "something was committed");
    let c = rusqlite::Connection::open(a.state.join("state.db")).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "only init's row");
}

#[test]
fn an_older_state_adopts_no_wrong_key_when_it_is_upgraded() {
    let a = Sim::new();
    let b = Sim::new();
    assert!(init(&a.state, "1", false).status.success());
    assert!(init(&b.state, "2", false).status.success());
    // A schema 3 state (before the key check value) with another world's key.
    let c = rusqlite::Connection::open(a.state.join("state.db")).unwrap();
    c.execute_batch(
        "DELETE FROM meta WHERE key = 'key_check';
         UPDATE meta SET value = '3' WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(c);
    std::fs::copy(b.state.join("seal.key"), a.state.join("seal.key")).unwrap();
    let o = status(&a.state);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("is not the key this world was sealed with"),
        "{}",
        text(&o)
    );
    let c = rusqlite::Connection::open(a.state.join("state.db")).unwrap();
    let version: String = c
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "3", "nothing was upgraded under the wrong key");
}

#[test]
fn a_copied_state_never_seals_under_a_nonce_the_original_used() {
    let mut a = Sim::new();
    assert!(init(&a.state, "1", false).status.success());
    let mut b = Sim::new();
    copy_dir(&a.state, &b.state);
    let shared = nonces(&world_json(&a.state));
    for s in [&mut a, &mut b] {
        s.ok(&[
            "account",
            "reset",
            "CONTOSO\\Administrator",
            "--password",
            "Same#Pass1",
        ]);
        s.ok(&["sc", "stop", "ADSync"]);
        s.ok(&["sc", "start", "ADSync"]);
    }
    let na: BTreeSet<_> = nonces(&world_json(&a.state))
        .difference(&shared)
        .cloned()
        .collect();
    let nb: BTreeSet<_> = nonces(&world_json(&b.state))
        .difference(&shared)
        .cloned()
        .collect();
    assert!(
        !na.is_empty() && !nb.is_empty(),
        "the commands sealed nothing new"
    );
    assert!(
        na.is_disjoint(&nb),
        "the copy reused a nonce: {:?}",
        na.intersection(&nb).collect::<Vec<_>>()
    );
    assert!(na.iter().all(|n| n.len() == 24), "96-bit nonces");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn state_and_export_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    sim.ok(&["sc", "stop", "ADSync"]);
    assert_eq!(mode(&sim.state), 0o700);
    for e in std::fs::read_dir(&sim.state).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // The journal files SQLite makes take the database's mode: hold a reader open to see them.
    let c = rusqlite::Connection::open(sim.state.join("state.db")).unwrap();
    c.query_row("SELECT count(*) FROM journal", [], |r| r.get::<_, i64>(0))
        .unwrap();
    for f in ["state.db-wal", "state.db-shm"] {
        let p = sim.state.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    drop(c);
    let out = sim.root().join("export");
    sim.ok(&["export", out.to_str().unwrap()]);
    let mut files = 0;
    let mut stack = vec![out.clone()];
    assert_eq!(mode(&out), 0o700);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                assert_eq!(mode(&p), 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                files += 1;
            }
        }
    }
    assert!(files > 5, "{files} files exported");
    assert!(
        out.join("Windows/System32/config/LSA/DPAPI_SYSTEM")
            .is_file()
    );
}

#[cfg(unix)]
#[test]
fn a_planted_seal_key_tmp_link_is_never_followed() {
    let sim = Sim::new();
    std::fs::create_dir_all(&sim.state).unwrap();
    let target = sim.root().join("elsewhere");
    std::fs::write(&target, b"untouched").unwrap();
    std::os::unix::fs::symlink(&target, sim.state.join("seal.key.tmp")).unwrap();
    // A link where the key goes is replaced by the key, never written through.
    std::os::unix::fs::symlink(&target, sim.state.join("seal.key")).unwrap();
    let o = init(&sim.state, "1", false);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
    let key = sim.state.join("seal.key");
    assert!(!key.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&key).unwrap().trim().len(), 64);
    assert!(status(&sim.state).status.success());
    // A link planted in the staging directory's place is removed, not followed.
    let planted = sim.root().join("planted");
    std::fs::create_dir(&planted).unwrap();
    std::os::unix::fs::symlink(&planted, sim.state.join("state.new")).unwrap();
    assert!(init(&sim.state, "2", true).status.success());
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
    assert_eq!(seed_of(&sim.state), Some(2));
}

#[cfg(unix)]
#[test]
fn export_refuses_a_link_inside_its_directory() {
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    let out = sim.root().join("export");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(sim.root(), out.join("Windows")).unwrap();
    let o = sim.run(&["export", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("is not empty"), "{}", text(&o));
}

#[test]
fn parallel_lab_checks_and_hints_all_count() {
    let mut sim = Sim::new();
    sim.ok(&["lab", "start", "ad-ds-connector-password-changed"]);
    let state = sim.state.clone();
    let spawn = |verb: &'static str| {
        let state = state.clone();
        std::thread::spawn(move || run(["--state", state.to_str().unwrap(), "lab", verb]))
    };
    let checks: Vec<_> = (0..8).map(|_| spawn("check")).collect();
    for c in checks {
        let o = c.join().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o)); // not solved yet
    }
    let hints: Vec<_> = (0..8).map(|_| spawn("hint")).collect();
    for h in hints {
        assert!(h.join().unwrap().status.success());
    }
    let j = sim.json(&["lab", "check"]);
    assert_eq!(j["checks"], 9, "{j}");
    let total = sim.json(&["lab", "brief"])["hints"].as_u64().unwrap();
    assert_eq!(j["hints_shown"].as_u64(), Some(total.min(8)), "{j}");
}

#[test]
fn readers_do_not_wait_for_a_writer_and_writers_wait_for_it() {
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    let db = sim.state.join("state.db");
    let (tx, rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut c = rusqlite::Connection::open(&db).unwrap();
        let t = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        t.commit().unwrap();
    });
    rx.recv().unwrap();
    // export only reads: it finishes while the writer holds the database.
    let t = Instant::now();
    let out = sim.root().join("export");
    sim.ok(&["export", out.to_str().unwrap()]);
    let export_took = t.elapsed();
    // A command that writes waits for the writer, then runs.
    sim.ok(&["sc", "stop", "ADSync"]);
    let write_took = t.elapsed();
    holder.join().unwrap();
    assert!(
        export_took < Duration::from_secs(3) && write_took >= Duration::from_secs(2),
        "export {export_took:?}, write {write_took:?}"
    );
}

#[test]
fn a_long_advance_commits_in_chunks_and_a_huge_one_is_refused() {
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    let j = sim.json(&["clock", "advance", "100d"]);
    assert_eq!(j["sync_cycles"], 100 * 48, "{j}");
    assert_eq!(j["clock"], "2026-04-15T09:00:00Z", "{j}");
    let c = rusqlite::Connection::open(sim.state.join("state.db")).unwrap();
    let rows: Vec<String> = c
        .prepare("SELECT command FROM journal WHERE command LIKE 'clock advance%' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            "clock advance 2592000s",
            "clock advance 2592000s",
            "clock advance 2592000s",
            "clock advance 864000s"
        ]
    );
    let o = sim.run(&["clock", "advance", "800d"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("more than the 35136 one command may run"),
        "{}",
        text(&o)
    );
    assert_eq!(sim.json(&["status"])["clock"], "2026-04-15T09:00:00Z");
}

#[test]
fn the_clock_stops_at_its_maximum_with_the_scheduler_on() {
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    // Put the clock one second before 9999-12-31T23:59:59Z (FILETIME).
    let max: u64 = (253_402_300_799 + 11_644_473_600) * 10_000_000;
    let db = sim.state.join("state.db");
    let mut w: serde_json::Value = serde_json::from_str(&world_json(&sim.state)).unwrap();
    w["clock"] = serde_json::json!(max - 10_000_000);
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("UPDATE world SET state = ?1 WHERE id = 1", [w.to_string()])
        .unwrap();
    drop(c);
    sim.ok(&["exec", "Set-ADSyncScheduler -SyncCycleEnabled $false"]);
    sim.ok(&["exec", "Set-ADSyncScheduler -SyncCycleEnabled $true"]);
    let mut child = Command::new(adsync_sim_bin())
        .args([
            "--state",
            sim.state.to_str().unwrap(),
            "--format",
            "json",
            "clock",
            "advance",
            "1s",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("clock advance 1s at the maximum did not return");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(sim.json(&["status"])["clock"], "9999-12-31T23:59:59Z");
    let o = sim.run(&["clock", "advance", "1s"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the clock cannot pass 9999-12-31T23:59:59Z"),
        "{}",
        text(&o)
    );
}

/// `mms_server_configuration` is the table the state's docs invite an admin to read and edit
/// with sqlite3: a `keyset_id` no keyset can carry (the id at offset 8 is `keyset_id × 100000`,
/// 1 to 255) is refused by every command with the column and its value, exit status 1, and
/// nothing committed; it never panics, even on the path that makes a new keyset.
#[test]
fn a_keyset_id_outside_1_to_255_is_refused_naming_the_column() {
    for id in [0i64, 256, -1] {
        let mut sim = Sim::new();
        assert!(init(&sim.state, "1", false).status.success());
        let c = rusqlite::Connection::open(sim.state.join("state.db")).unwrap();
        c.execute("UPDATE mms_server_configuration SET keyset_id = ?1", [id])
            .unwrap();
        drop(c);
        let before = world_json(&sim.state);
        for args in [
            vec!["status"],
            vec!["sc", "stop", "ADSync"],
            vec!["exec", "./miiskmu.exe /a"],
            vec!["sc", "start", "ADSync"],
        ] {
            let o = sim.run(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            if id >= 0 {
                assert_eq!(
                    err,
                    format!(
                        "error: the world state is damaged: mms_server_configuration.keyset_id is '{id}', which is not a keyset id from 1 to 255\n"
                    ),
                    "{args:?}"
                );
            } else {
                // SQLite's own refusal to give -1 as an unsigned id, naming the database.
                assert!(
                    err.starts_with("error: ") && err.contains("state.db"),
                    "{err}"
                );
            }
            assert!(!err.contains("panicked"), "{err}");
        }
        assert_eq!(world_json(&sim.state), before, "something was committed");
    }
}

/// The position in the seed's stream is part of the state: a damaged one is refused, never read
/// as position 0 (which would hand out the same keys and passwords again).
#[test]
fn a_damaged_rng_pos_is_refused_not_rewound() {
    let mut sim = Sim::new();
    assert!(init(&sim.state, "1", false).status.success());
    let db = sim.state.join("state.db");
    let mut w: serde_json::Value = serde_json::from_str(&world_json(&sim.state)).unwrap();
    w["rng_pos"] = serde_json::json!("not a number");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("UPDATE world SET state = ?1 WHERE id = 1", [w.to_string()])
        .unwrap();
    drop(c);
    let o = sim.run(&["account", "reset", "NT SERVICE\\ADSync", "--password", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: the world state is damaged: rng_pos is 'not a number', which is not a decimal stream position\n"
    );
    let o = sim.run(&["--format", "json", "status"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["result_code"], 1);
    assert_eq!(
        doc["error"],
        "the world state is damaged: rng_pos is 'not a number', which is not a decimal stream position"
    );
}
