//! What the binary reads from outside, through the real binary: passwords from standard input,
//! a file and the environment; the named input limits (devices, oversized files, symlink loops
//! in scenario folders, steps per scenario); names checked as DNS and AD check them; a shell line
//! that is not UTF-8; and CREDHIST entries nothing can verify.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{Sim, adsync_sim_bin, run, text, vector_bytes};

const XP_SID: &str = "S-1-5-21-583907252-1547161642-682003330-1001";

fn with_stdin(args: &[&str], input: &[u8], env: &[(&str, &str)]) -> std::process::Output {
    let mut child = Command::new(adsync_sim_bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run adsync-sim");
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("wait")
}

#[test]
fn passwords_come_from_stdin_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let ch = dir.path().join("CREDHIST");
    std::fs::write(&ch, vector_bytes("dpapick_xp_credhist")).unwrap();
    let ch = ch.to_str().unwrap();
    let args = ["dpapi", "credhist", ch, "--sid", XP_SID];
    // The current password is "tutu": each way of giving it opens the same 4 entries.
    let o = with_stdin(&[&args[..], &["--password-stdin"]].concat(), b"tutu\n", &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("4 entries"), "{}", text(&o));
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "tutu\r\n").unwrap();
    let o = run([&args[..], &["--password-file", pw.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    let o = with_stdin(&args, b"", &[("ADSYNC_SIM_PASSWORD", "tutu")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = with_stdin(&args, b"", &[("ADSYNC_SIM_PASSWORD", "")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("--password-stdin, --password-file FILE, or ADSYNC_SIM_PASSWORD"),
        "{}",
        text(&o)
    );
    // Both options at once is clap's usage error.
    let o = with_stdin(
        &[&args[..], &["--password", "tutu", "--password-stdin"]].concat(),
        b"tutu\n",
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // A world verb: account reset with the password from standard input.
    let mut sim = Sim::new();
    let init = sim.init(&[
        "--build",
        "1.1.443.0",
        "--service-account",
        "local",
        "--seed",
        "5",
        "--kdf-rounds",
        "1",
    ]);
    let name = init["service_account"]["name"].as_str().unwrap();
    let st = sim.state.to_str().unwrap().to_owned();
    let o = with_stdin(
        &["--state", &st, "account", "reset", name, "--password-stdin"],
        b"FromStdin2026!\n",
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The SCM given the same password logs on (no 1069): the reset used the line from standard
    // input. (On a March 2017 build a local account's reset loses the keyset: 6028, -21451857952.)
    let o = with_stdin(
        &[
            "--state",
            &st,
            "sc",
            "config",
            "ADSync",
            "password=",
            "FromStdin2026!",
        ],
        b"",
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    sim.ok(&["sc", "stop", "ADSync"]);
    let o = sim.run(&["sc", "start", "ADSync"]);
    assert!(!text(&o).contains("1069"), "{}", text(&o));
    assert!(text(&o).contains("-21451857952"), "{}", text(&o));
    // Help names the options.
    let o = run(["dpapi", "credhist", "--help"]);
    for want in [
        "--password-stdin",
        "--password-file <FILE>",
        "ADSYNC_SIM_PASSWORD",
    ] {
        assert!(text(&o).contains(want), "{want}: {}", text(&o));
    }
}

/// Unix only: it plants symbolic links and reads /dev/zero.
#[cfg(unix)]
#[test]
fn inputs_are_bounded_by_named_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mk = d.join("mk");
    let o = run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        XP_SID,
        "--password",
        "pw",
        "--rounds",
        "1",
        "--seed",
        "1",
        "--out",
        mk.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let unprotect = |blob: &str| {
        run([
            "dpapi",
            "unprotect",
            "--masterkey",
            mk.to_str().unwrap(),
            "--sid",
            XP_SID,
            "--password",
            "pw",
            blob,
        ])
    };
    // A device, directly or through a symlink, is refused by name.
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.bin")).unwrap();
    for p in ["/dev/zero", d.join("zero.bin").to_str().unwrap()] {
        let o = unprotect(p);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            text(&o).contains("is a device or a folder, not a file"),
            "{}",
            text(&o)
        );
    }
    // A file past MAX_BLOB_BYTES is refused before it is kept.
    std::fs::write(d.join("big.bin"), vec![0u8; (1 << 20) + 1]).unwrap();
    let o = unprotect(d.join("big.bin").to_str().unwrap());
    assert!(
        text(&o).contains("is larger than 1048576 bytes (MAX_BLOB_BYTES)"),
        "{}",
        text(&o)
    );
    // Standard input is bounded too.
    let o = with_stdin(
        &[
            "dpapi",
            "unprotect",
            "--masterkey",
            mk.to_str().unwrap(),
            "--sid",
            XP_SID,
            "--password",
            "pw",
            "-",
        ],
        &vec![0u8; (1 << 20) + 10],
        &[],
    );
    assert!(
        text(&o).contains("standard input is larger than 1048576 bytes (MAX_BLOB_BYTES)"),
        "{}",
        text(&o)
    );

    // A scenario folder with two symlink loops and a *.toml link to /dev/zero: each real file
    // runs once, the device is refused by name, and the run ends.
    let s = d.join("scen");
    std::fs::create_dir(&s).unwrap();
    std::fs::write(
        s.join("a.toml"),
        "name = \"a\"\nsummary = \"s\"\nsource = \"t\"\n\n[world]\nseed = 1\nkdf_rounds = 1\n\n[[step]]\nrun = \"status\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(".", s.join("loop1")).unwrap();
    std::os::unix::fs::symlink(".", s.join("loop2")).unwrap();
    let o = run(["scenario", "run", s.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 scenarios: 1 passed, 0 failed"),
        "{}",
        text(&o)
    );
    std::os::unix::fs::symlink("/dev/zero", s.join("zero.toml")).unwrap();
    let o = run(["scenario", "run", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("zero.toml is a device or a folder, not a file"),
        "{}",
        text(&o)
    );

    // Steps per scenario.
    let mut big =
        String::from("name = \"big\"\nsummary = \"s\"\nsource = \"t\"\n\n[world]\nseed = 1\n");
    for _ in 0..10_001 {
        big.push_str("\n[[step]]\nrun = \"status\"\n");
    }
    std::fs::write(d.join("big.toml"), big).unwrap();
    let o = run(["scenario", "run", d.join("big.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("10001 steps; a scenario has at most 10000 (MAX_STEPS_PER_SCENARIO)"),
        "{}",
        text(&o)
    );
}

#[test]
fn names_are_checked_as_dns_and_ad_check_them() {
    let sim = Sim::new();
    let st = sim.state.to_str().unwrap();
    for (args, want) in [
        (
            vec!["--forest", "../../x"],
            "--forest '../../x' is not a DNS name",
        ),
        (
            vec!["--forest", "contoso.com", "--forest", "Contoso.com"],
            "--forest 'contoso.com' is given twice",
        ),
        (
            vec!["--forest", "a\u{7}b.com"],
            "--forest 'a\\u{7}b.com' is not a DNS name",
        ),
        (
            vec!["--tenant", "x/../y.onmicrosoft.com"],
            "--tenant 'x/../y.onmicrosoft.com' is not a DNS name: '/' is not allowed",
        ),
    ] {
        let o = run([&["--state", st, "init", "--kdf-rounds", "1"][..], &args].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
    let mut sim = Sim::new();
    sim.init(&["--seed", "2", "--kdf-rounds", "1"]);
    let o = sim.exec("net user CONTOSO\\a*b NewPass1!");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains(
            "'CONTOSO\\a*b' is not an account name: a sAMAccountName may not contain '*'"
        ),
        "{}",
        text(&o)
    );
}

#[test]
fn the_shell_reports_a_line_that_is_not_utf8_and_goes_on() {
    let sim = Sim::new();
    sim.init(&["--seed", "2", "--kdf-rounds", "1"]);
    let st = sim.state.to_str().unwrap().to_owned();
    let o = with_stdin(
        &["--state", &st, "shell"],
        b"sc query ADSync\n\xff\xfe oops\nGet-ADSyncScheduler\n",
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("The line is not valid UTF-8 (byte 1 cannot be read) and was not run."),
        "{t}"
    );
    assert!(t.contains("SyncCycleEnabled"), "the line after it ran: {t}");
}

#[test]
fn credhist_entries_nothing_verifies_are_said_to_be_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = vector_bytes("dpapick_xp_credhist");
    let f = dir.path().join("CREDHIST");
    std::fs::write(&f, &bytes).unwrap();
    let args = |f: &std::path::Path| {
        run([
            "dpapi",
            "credhist",
            f.to_str().unwrap(),
            "--sid",
            XP_SID,
            "--password",
            "tutu",
        ])
    };
    // Intact: exit 0, the oldest entry said to be unverified (nothing older checks it).
    let o = args(&f);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let marked: Vec<&str> = t.lines().filter(|l| l.contains("unverified")).collect();
    assert_eq!(marked.len(), 1, "{t}");
    assert!(marked[0].contains("the oldest entry"), "{t}");
    let o = run([
        "--format",
        "json",
        "dpapi",
        "credhist",
        f.to_str().unwrap(),
        "--sid",
        XP_SID,
        "--password",
        "tutu",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let verified: Vec<bool> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sha1_verified"].as_bool().unwrap())
        .collect();
    assert_eq!(verified, [true, true, true, false]);
    assert!(
        j["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["nt_verified"] == false)
    );
    assert!(
        t.contains("NT hashes are not verified: nothing in a CREDHIST file checks them"),
        "{t}"
    );
    // A flipped bit in the newest entry's first ciphertext byte (4 entries of 136 bytes, the
    // secret is each entry's last 40): its padding still reads as zeros, but the next older
    // entry does not open with the garbled SHA-1. Its hashes are marked and the exit is 1.
    let mut flipped = bytes.clone();
    flipped[3 * 136 + 96] ^= 1;
    let g = dir.path().join("CREDHIST.flipped");
    std::fs::write(&g, &flipped).unwrap();
    let o = args(&g);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("UNVERIFIED: the next older entry does not open with this SHA-1"),
        "{t}"
    );
    assert!(t.contains("0x8007000D"), "{t}");
}

/// A scenario or lab file that does not parse is named with its line and column, without the
/// source line toml would quote: that line may hold a password.
#[test]
fn a_toml_syntax_error_names_the_line_without_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "Sup3rSecretToml9";
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        format!("name = \"x\"\n[[step]]\nrun = \"net user bob {secret} extra\" oops\n"),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let labs = dir.path().to_str().unwrap();
    for args in [
        vec!["scenario", "run", path],
        vec!["--format", "json", "scenario", "run", path],
        vec!["lab", "--labs", labs, "list"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let out = text(&o);
        assert!(!out.contains(secret), "{args:?} repeats the line: {out}");
        assert!(out.contains("line 3, column"), "{args:?}: {out}");
    }
}
