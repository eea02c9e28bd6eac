//! `scenario run` through the binary: the shipped catalogue passes and covers every documented
//! symptom and remedy, reports are valid and deterministic, and broken scenario files fail with
//! the step, the expectation, what happened and how to replay it.

use std::path::{Path, PathBuf};

use crate::support::{run, text};
use serde_json::Value;

fn catalogue() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn json_run(args: &[&str]) -> (Option<i32>, Value) {
    let mut full = vec!["--format", "json", "scenario", "run"];
    full.extend_from_slice(args);
    let o = run(&full);
    let doc = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code(), doc)
}

#[test]
fn the_catalogue_passes_covers_every_symptom_and_replays_identically() {
    let dir = catalogue();
    let (code, doc) = json_run(&[dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{doc:#}");
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 12);
    let mut seen = String::new();
    for s in scenarios {
        assert_eq!(s["passed"], true, "{s:#}");
        for step in s["steps"].as_array().unwrap() {
            seen.push_str(&format!(
                "{} {} {}\n",
                step["run"], step["result_code"], step["output"]
            ));
            for e in step["events"].as_array().unwrap() {
                seen.push_str(&format!("{e}\n"));
            }
        }
    }
    for symptom in [
        "1069",
        "System 7038",
        "Application 6028",
        "-21451857952",
        "Application 6000",
        "Application 6900",
        "Application 659",
        "no-start-credentials",
        "AADSTS50054",
        "80131600",
    ] {
        assert!(
            seen.contains(symptom),
            "the catalogue never shows {symptom}"
        );
    }
    for remedy in [
        "miiskmu.exe /a",
        "Add-ADSyncAADServiceAccount -AADCredential",
        "connector set-password",
        "sc config ADSync password=",
    ] {
        assert!(
            seen.contains(remedy),
            "the catalogue never applies {remedy}"
        );
    }
    // The same files and seeds give the same journal.
    let (_, again) = json_run(&[dir.to_str().unwrap()]);
    for (a, b) in scenarios.iter().zip(again["scenarios"].as_array().unwrap()) {
        assert_eq!(a["journal_hash"], b["journal_hash"], "{}", a["name"]);
    }
    // JUnit: one testcase per scenario, no failures.
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report.xml");
    let o = run([
        "--format",
        "junit",
        "scenario",
        "run",
        dir.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains(&format!("tests=\"{}\"", scenarios.len())) && xml.contains("failures=\"0\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), scenarios.len());
    assert!(
        text(&o).contains("passed, 0 failed"),
        "the terminal gets the summary"
    );
}

#[test]
fn a_wrong_expectation_fails_with_the_step_and_a_replay_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wrong.toml");
    std::fs::write(
        &file,
        r#"name = "wrong-expectation"
summary = "A reset and a restart, expecting the wrong code."
source = "docs/design.md §6"

[world]
build = "1.1.380.0"
service_account = "domain"
forests = ["contoso.com"]
seed = 7

[[step]]
run = "account reset ${service_account} --password 'Spring2026!'"

[[step]]
run = "Restart-Service ADSync"
expect = { exit = 1066, events = [{ log = "System", id = 7038 }] }
"#,
    )
    .unwrap();
    let o = run(["scenario", "run", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("FAIL  wrong-expectation"), "{t}");
    assert!(t.contains("step 2: Restart-Service ADSync"), "{t}");
    assert!(t.contains("expected exit 1066, got 1069"), "{t}");
    assert!(t.contains("--seed 7"), "{t}");
    assert!(!t.contains("Spring2026!"), "passwords are redacted: {t}");
    // Fixed, it passes.
    let fixed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("exit = 1066", "exit = 1069");
    std::fs::write(&file, fixed).unwrap();
    let o = run(["scenario", "run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn unknown_keys_and_placeholders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(
        &file,
        "name = \"t\"\nsummary = \"s\"\nsource = \"x\"\n\n[[step]]\nrun = \"status\"\nexpcet = { exit = 0 }\n",
    )
    .unwrap();
    let t = text(&run(["scenario", "run", file.to_str().unwrap()]));
    assert!(
        t.contains("line 7") && t.contains("unknown field `expcet`"),
        "{t}"
    );
    std::fs::write(
        &file,
        "name = \"t\"\nsummary = \"s\"\nsource = \"x\"\n\n[[step]]\nrun = \"account reset ${nobody} --password x\"\n",
    )
    .unwrap();
    let t = text(&run(["scenario", "run", file.to_str().unwrap()]));
    assert!(
        t.contains("unknown placeholder ${nobody}") && t.contains("${service_account}"),
        "{t}"
    );
    let t = text(&run([
        "scenario",
        "run",
        dir.path().join("missing").to_str().unwrap(),
    ]));
    assert!(t.contains("no such scenario file or folder"), "{t}");
}

#[test]
fn record_writes_a_scenario_that_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("recorded.toml");
    let src = catalogue().join("failures/06-ad-ds-password-changed.toml");
    let (code, first) = json_run(&[
        src.to_str().unwrap(),
        "--seed",
        "4242",
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{first:#}");
    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(
        text.contains("seed = 4242") && text.contains("id = 6000"),
        "{text}"
    );
    let (code, again) = json_run(&[rec.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{again:#}");
    assert_eq!(
        first["scenarios"][0]["journal_hash"],
        again["scenarios"][0]["journal_hash"]
    );
    // One scenario at a time.
    let o = run([
        "scenario",
        "run",
        catalogue().to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn scenario_run_help_shows_where_the_steps_run() {
    let o = run(["scenario", "run", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--host <HOST>"), "{help}");
    assert!(help.contains("- sim:"), "{help}");
    assert!(help.contains("- windows:"), "{help}");
    assert!(help.contains("[default: sim]"), "{help}");
    assert!(help.contains("--yes-really-on-this-host"), "{help}");
}

/// The message a binary built without the `windows` feature gives for `--host windows`.
const NO_WINDOWS_FEATURE: &str = "`adsync-sim scenario run --host windows` runs on this machine through the Windows backend, and this adsync-sim was built without the `windows` feature: build it with `cargo build -p sim-cli --features windows` (on Windows, or for x86_64-pc-windows-gnu), or leave out --host to run in the simulated world";

#[test]
fn host_windows_without_the_windows_feature_refuses_before_anything_runs() {
    let file = catalogue().join("failures/01-local-reset-logon-failure.toml");
    let file = file.to_str().unwrap();
    let o = run(["scenario", "run", file, "--host", "windows"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {NO_WINDOWS_FEATURE}\n")
    );
    let (code, doc) = json_run(&[file, "--host", "windows", "--yes-really-on-this-host"]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["error"], NO_WINDOWS_FEATURE);
    assert_eq!(doc["result_code"], 1);
    // The simulated host is the default and stays available.
    let (code, doc) = json_run(&[file, "--host", "sim"]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["passed"], 1);
}

#[test]
fn a_scenario_takes_exactly_the_lines_exec_takes() {
    // The runbook verbs parse through the command language in both: the same usage error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"bad\"\nsummary = \"s\"\nsource = \"x\"\n[[step]]\nrun = \"diagnose --dry-run\"\nexpect = { exit = 0 }\n",
    )
    .unwrap();
    let (code, doc) = json_run(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{doc:#}");
    let step = &doc["scenarios"][0]["steps"][0];
    assert_eq!(step["result_code"], 2);
    let mut sim = crate::support::Sim::new();
    sim.init(&["--seed", "5", "--kdf-rounds", "1"]);
    let o = sim.run(&["exec", "diagnose --dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {}\n", step["output"].as_str().unwrap())
    );
}
