//! `collect --script`, `export` and `diagnose --evidence` through the binary: the collection
//! script asks for nothing and only reads; an exported bundle diagnoses as the world does; a
//! hand-made bundle in real wevtutil and sc.exe formats is diagnosed as a person would; hostile
//! bundles are refused by name; `--host local` and `collect --out` say they need Windows.

use std::path::{Path, PathBuf};

use crate::support::{Sim, fresh_seed, run, text};

fn fixture(name: &str) -> PathBuf {
    crate::support::repo()
        .join("tests/fixtures/evidence")
        .join(name)
}

/// The script, through the binary.
fn script() -> String {
    let o = run(["collect", "--script"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_collection_script_asks_for_nothing_and_only_reads() {
    let s = script();
    let lower = s.to_ascii_lowercase();
    for banned in [
        "get-credential",
        "read-host",
        "password",
        "securestring",
        "asplaintext",
        "set-service",
        "stop-service",
        "start-service",
        "restart-service",
        "remove-item",
        "set-itemproperty",
        "new-itemproperty",
        "invoke-expression",
        "iex ",
        "set-adsync",
        "add-adsync",
        "start-adsync",
        "invoke-adsync",
        "miiskmu",
        "net.exe",
        "net user",
    ] {
        assert!(!lower.contains(banned), "the script contains {banned:?}");
    }
    // External tools only in their reading forms.
    for line in s.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if line.contains("sc.exe") {
            assert!(
                line.contains("sc.exe qc ADSync") || line.contains("sc.exe queryex ADSync"),
                "{line}"
            );
        }
        if line.contains("wevtutil.exe") {
            assert!(line.contains("wevtutil.exe qe "), "{line}");
        }
        if line.contains("nltest.exe") {
            assert!(line.contains("/dsgetdc:"), "{line}");
        }
        if line.contains("New-Item") {
            assert!(line.contains("-ItemType Directory"), "{line}");
        }
    }
    // What it reads, as docs/design.md §8 lists it.
    for needed in [
        "wevtutil.exe qe",
        "/f:xml",
        "Service Control Manager",
        "EventID=7038",
        "EventID=7024",
        "EventID=7000",
        "EventID=7036",
        "@Name='ADSync' or @Name='Directory Synchronization'",
        "sc.exe qc ADSync",
        "sc.exe queryex ADSync",
        "HKLM:\\SOFTWARE\\Microsoft\\AD Sync",
        "miiserver.exe",
        "SERVICE_START_NAME",
        "Get-ADSyncConnector",
        "Get-ADSyncRunProfileResult",
        "'adsync-evidence/1'",
        "Compress-Archive",
    ] {
        assert!(s.contains(needed), "the script lacks {needed:?}");
    }
    assert!(!s.contains("@@"), "a placeholder was left in the script");
}

/// A structural check of PowerShell without PowerShell: outside comments and strings, every
/// bracket closes in order; every string closes on its line or in a here-string.
fn check_balanced(script: &str) -> Result<(), String> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (n, line) in script.lines().enumerate() {
        let n = n + 1;
        let mut chars = line.chars().peekable();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                Some(_) => match c {
                    '`' => {
                        chars.next();
                    }
                    '"' => quote = None,
                    '$' if chars.peek() == Some(&'(') => {
                        // A subexpression inside a string: its parentheses balance by themselves.
                        chars.next();
                        let mut depth = 1;
                        for d in chars.by_ref() {
                            match d {
                                '(' => depth += 1,
                                ')' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                        }
                        if depth != 0 {
                            return Err(format!("line {n}: an unclosed $( in a string"));
                        }
                    }
                    _ => {}
                },
                None => match c {
                    '#' => break,
                    '\'' | '"' => quote = Some(c),
                    '`' => {
                        chars.next();
                    }
                    '(' | '{' | '[' => stack.push((c, n)),
                    ')' | '}' | ']' => {
                        let want = match c {
                            ')' => '(',
                            '}' => '{',
                            _ => '[',
                        };
                        match stack.pop() {
                            Some((open, _)) if open == want => {}
                            Some((open, at)) => {
                                return Err(format!("line {n}: {c} closes {open} of line {at}"));
                            }
                            None => return Err(format!("line {n}: {c} closes nothing")),
                        }
                    }
                    _ => {}
                },
            }
        }
        if let Some(q) = quote {
            return Err(format!(
                "line {n}: the string opened with {q} does not close"
            ));
        }
    }
    match stack.pop() {
        Some((open, at)) => Err(format!("{open} of line {at} never closes")),
        None => Ok(()),
    }
}

#[test]
fn the_collection_script_is_well_formed() {
    check_balanced(&script()).unwrap();
    // The check can fail: it finds what a broken script would have.
    assert!(check_balanced("if ($a) { Write-Host 'x' ").is_err());
    assert!(check_balanced("$a = \"open").is_err());
    assert!(check_balanced("foo)").is_err());
    assert!(check_balanced("@(1, (2)]").is_err());
    assert!(check_balanced("# ) in a comment\n'(' + \"[$($x)]\"").is_ok());
}

#[test]
fn an_exported_bundle_diagnoses_as_the_world_does() {
    let mut sim = Sim::new();
    let init = sim.init(&[
        "--build",
        "1.1.443.0",
        "--service-account",
        "local",
        "--seed",
        &fresh_seed(),
    ]);
    let account = init["service_account"]["name"].as_str().unwrap().to_owned();
    sim.ok(&["sc", "stop", "ADSync"]);
    sim.ok(&["account", "reset", &account, "--password", "Spring2026!"]);
    let _ = sim.run(&["sc", "start", "ADSync"]);
    let live = sim.json(&["diagnose"]);
    let dir = sim.root().join("export");
    sim.ok(&["export", dir.to_str().unwrap()]);
    for f in [
        "manifest.json",
        "events/System.xml",
        "events/Application.xml",
        "scm/ADSync.qc.txt",
        "scm/ADSync.queryex.txt",
        "adsync/connectors.json",
    ] {
        assert!(dir.join(f).is_file(), "export wrote no {f}");
    }
    let system = std::fs::read_to_string(dir.join("events/System.xml")).unwrap();
    let line = system.lines().find(|l| l.contains(">7038<")).unwrap();
    assert!(line.starts_with(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager'"
    ));
    assert!(
        line.contains("<EventID Qualifiers='49152'>7038</EventID>"),
        "{line}"
    );
    assert!(line.contains("<Data Name='param1'>ADSync</Data>"), "{line}");
    assert!(line.contains("<Data Name='param3'>%%1326</Data>"), "{line}");
    let o = sim.run(&[
        "--format",
        "json",
        "diagnose",
        "--evidence",
        dir.to_str().unwrap(),
        "--credential",
        &format!("{account}=Spring2026!"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let ev: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ev["findings"], live["findings"]);
    assert_eq!(ev["service"], live["service"]);
    assert_eq!(ev["plan"]["steps"], live["plan"]["steps"]);
    assert!(
        ev["host"]
            .as_str()
            .unwrap()
            .starts_with("evidence from AADCONNECT01")
    );
    // The password given on the command line is never printed.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Spring2026!"));
}

#[test]
fn a_hand_made_bundle_is_diagnosed_as_a_person_would() {
    let dir = fixture("domain-account-logon-failure");
    let o = run(["diagnose", "--evidence", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    for want in [
        "Host: evidence from AADC01.fabrikam.com collected 2025-03-03T09:41:27Z, ADSync build 1.6.16.0",
        "Service: ADSync STOPPED (WIN32_EXIT_CODE 1069  (0x42d)), logon account FABRIKAM\\svc-adsync",
        "[service-logon-password] The SCM's stored password for FABRIKAM\\svc-adsync is not the account's password",
        "System event 7038 (Service Control Manager, record 88102, 2025-03-03T02:14:11Z): The ADSync service was unable to log on as FABRIKAM\\svc-adsync with the currently configured password due to the following error: The user name or password is incorrect.",
        "System event 7000 (Service Control Manager, record 88103, 2025-03-03T02:14:11Z): The Microsoft Azure AD Sync service failed to start due to the following error: The service did not start due to a logon failure.",
        "Set-ADAccountPassword -Identity svc-adsync -Reset -NewPassword (ConvertTo-SecureString '<new password for FABRIKAM\\svc-adsync>' -AsPlainText -Force)",
        "sc config ADSync password= <new password for FABRIKAM\\svc-adsync>",
        "Start-Service ADSync",
        "Not shown by this host (left out of the diagnosis, not guessed):",
        "the connectors and their last runs (adsync/connectors.json is not in the bundle",
        "the collector could not collect: the connectors: Get-ADSyncConnector needs the running ADSync service",
        "events/System.xml: 1 event(s) of providers or ids this tool has no message for",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // With the password the administrator knows, no reset is planned.
    let o = run([
        "diagnose",
        "--evidence",
        dir.to_str().unwrap(),
        "--credential",
        "FABRIKAM\\svc-adsync=Known-Pa55",
    ]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains("1. account reset"), "{out}");
    assert!(
        out.contains("the plan's lines are for the server itself"),
        "{out}"
    );
    assert!(out.contains("sc config ADSync password= <password of FABRIKAM\\svc-adsync>"));
}

#[test]
fn hostile_bundles_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = |to: &Path| {
        let from = fixture("domain-account-logon-failure");
        for f in [
            "manifest.json",
            "events/System.xml",
            "events/Application.xml",
            "scm/ADSync.qc.txt",
            "scm/ADSync.queryex.txt",
        ] {
            std::fs::create_dir_all(to.join(f).parent().unwrap()).unwrap();
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    };
    let refuse = |dir: &Path, want: &str| {
        let o = run(["diagnose", "--evidence", dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(want), "wanted {want:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    // An event file that is not XML.
    let a = tmp.path().join("a");
    copy(&a);
    std::fs::write(a.join("events/System.xml"), b"<Event><System></Event>").unwrap();
    refuse(&a, "events/System.xml: event 1: not well-formed XML");
    // An event file beyond its limit (sparse: no disk used).
    let b = tmp.path().join("b");
    copy(&b);
    let f = std::fs::File::create(b.join("events/Application.xml")).unwrap();
    f.set_len(65 << 20).unwrap();
    refuse(&b, "is larger than 67108864 bytes");
    // No sc.exe texts: the service's state would be a guess.
    let c = tmp.path().join("c");
    copy(&c);
    std::fs::remove_file(c.join("scm/ADSync.queryex.txt")).unwrap();
    refuse(
        &c,
        "the evidence bundle has no scm/ADSync.queryex.txt: the service's state and logon account cannot be known without it",
    );
    // A link where a file belongs.
    #[cfg(unix)]
    {
        let d = tmp.path().join("d");
        copy(&d);
        std::fs::remove_file(d.join("manifest.json")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("manifest.json")).unwrap();
        refuse(&d, "is not a regular file");
    }
    // A binary event log instead of wevtutil's XML: how to convert it.
    let e = tmp.path().join("e");
    copy(&e);
    std::fs::remove_file(e.join("events/System.xml")).unwrap();
    std::fs::write(e.join("events/System.evtx"), b"ElfFile\0").unwrap();
    refuse(&e, "wevtutil qe System.evtx /lf:true /f:xml > System.xml");
    // Not a folder.
    refuse(&tmp.path().join("missing"), "the evidence bundle");
}

#[test]
fn live_host_verbs_say_they_need_windows() {
    if cfg!(windows) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["diagnose", "--host", "local"],
        vec!["remediate", "--host", "local", "--dry-run"],
        vec!["collect", "--out", tmp.path().join("b").to_str().unwrap()],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("Windows"),
            "{args:?}: {}",
            text(&o)
        );
    }
    // Without the confirmation flag, remediate refuses before touching anything.
    let o = run(["remediate", "--host", "local"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--yes-really-on-this-host"),
        "{}",
        text(&o)
    );
}
