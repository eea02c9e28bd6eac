//! `lab` through the binary: the shipped labs are at least six, each starts broken and each
//! reference solution makes every objective hold (`lab verify`); a lab played with the real
//! command lines is checked, scored and reset with its progress kept in the state; bad lab
//! files and misuse give errors naming what is wrong; no handed-over password lands in the state.

use crate::support::{Sim, run, text};
use serde_json::Value;

fn labs() -> Vec<Value> {
    let o = run(["--format", "json", "lab", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["labs"].as_array().unwrap().clone()
}

#[test]
fn at_least_six_labs_and_every_reference_solution_verifies() {
    let labs = labs();
    assert!(labs.len() >= 6, "{labs:#?}");
    let o = run(["--format", "json", "lab", "verify"]);
    let doc: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let rows = doc["labs"].as_array().unwrap();
    assert_eq!(rows.len(), labs.len());
    for r in rows {
        assert_eq!(r["passed"], true, "{r:#}");
        assert_eq!(r["starts_broken"], true, "{r:#}");
        assert_eq!(r["after"]["objectives"].as_array().unwrap().len(), {
            r["before"]["objectives"].as_array().unwrap().len()
        });
    }
    // The human output of one lab by name is pinned by the snapshot `lab_verify_human`
    // (cli_snapshots).
}

#[test]
fn every_lab_starts_broken_in_the_state_directory() {
    let mut names = String::new();
    for l in labs() {
        let name = l["name"].as_str().unwrap();
        names.push_str(name);
        let mut sim = Sim::new();
        let o = sim.run(&["lab", "start", name]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let o = sim.run(&["--format", "json", "lab", "check"]);
        assert_eq!(o.status.code(), Some(1), "{name} must start broken");
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["solved"], false);
        assert!(doc["met"].as_u64() < doc["total"].as_u64(), "{doc:#}");
    }
    // The six kinds of fault the labs teach are all there.
    for kind in [
        "old-build",
        "april-2017",
        "ad-ds-connector",
        "entra-service-account",
        "wrong-scm",
        "two-faults",
    ] {
        assert!(names.contains(kind), "no lab for {kind}");
    }
}

#[test]
fn a_lab_played_with_real_commands_is_checked_scored_and_reset() {
    let mut sim = Sim::new();
    let start = sim.ok(&["lab", "start", "3"]);
    assert!(
        start.contains("New AD users missing in Microsoft 365"),
        "{start}"
    );
    assert!(!start.contains("${"), "placeholders are filled: {start}");
    let brief = sim.json(&["lab", "brief"]);
    let brief_text = brief["brief"].as_str().unwrap().to_owned();
    let ga_password = brief_text
        .lines()
        .find(|l| l.contains("Global Administrator:"))
        .and_then(|l| l.split(" / ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert!(ga_password.len() >= 12, "{brief_text}");

    let first = sim.run(&["lab", "check"]);
    assert_eq!(first.status.code(), Some(1));
    let t = text(&first);
    assert!(t.contains("[x] The ADSync service is running"), "{t}");
    assert!(t.contains("[ ] An import from contoso.com succeeds"), "{t}");
    assert!(t.contains("1 of 3 objectives met. Score 33/100"), "{t}");

    let h1 = sim.ok(&["lab", "hint"]);
    assert!(h1.contains("Hint 1 of 3"), "{h1}");
    let h2 = sim.ok(&["lab", "hint"]);
    assert!(
        h2.contains("Hint 1 of 3") && h2.contains("Hint 2 of 3"),
        "{h2}"
    );

    // The admin's moves, as typed on the server.
    let connectors = sim.json(&["connector", "list"]);
    let msol = connectors["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "AD")
        .map(|c| c["account"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{connectors:#}"));
    assert!(
        sim.exec("Get-WinEvent -LogName Application -MaxEvents 5")
            .status
            .success()
    );
    let o = sim.exec(&format!("net user {msol} MsolKnown2026!"));
    assert!(o.status.success(), "{}", text(&o));
    let o = sim.run(&[
        "connector",
        "set-password",
        "contoso.com",
        "--password",
        "MsolKnown2026!",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Not yet: the engine still has the old password in its memory cache.
    let o = sim.run(&["lab", "check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(sim.exec("Restart-Service ADSync").status.success());

    let done = sim.json(&["lab", "check"]);
    assert_eq!(done["solved"], true, "{done:#}");
    assert_eq!(done["score"], 80, "two hints cost 20 points: {done:#}");
    assert_eq!(done["checks"], 3);
    assert_eq!(done["result_code"], 0);

    // Reset: broken again, hints still counted.
    let reset = sim.ok(&["lab", "reset"]);
    assert!(reset.contains("broken again"), "{reset}");
    let again = sim.json(&["lab", "check"]);
    assert_eq!(again["solved"], false);
    assert_eq!(again["hints_shown"], 2);
    assert_eq!(again["best_score"], 80);

    // The state keeps no handed-over or typed password in the clear.
    sim.outputs.clear();
    sim.assert_no_secret(&["MsolKnown2026!", &ga_password], &[]);
}

#[test]
fn misuse_and_bad_lab_files_give_clear_errors() {
    let mut sim = Sim::new();
    let o = sim.run(&["lab", "check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("run `adsync-sim init` first"),
        "{}",
        text(&o)
    );
    sim.init(&["--seed", "7"]);
    let o = sim.run(&["lab", "brief"]);
    assert!(text(&o).contains("is not a lab"), "{}", text(&o));
    let o = sim.run(&["lab", "start", "wrong-scm-password"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("pass --force"), "{}", text(&o));
    let o = sim.run(&["lab", "start", "no-such-lab"]);
    assert!(
        text(&o)
            .contains("no lab named 'no-such-lab'; the labs are: old-build-service-account-reset"),
        "{}",
        text(&o)
    );
    sim.ok(&["lab", "start", "wrong-scm-password", "--force"]);

    // A folder of lab files: an unknown key names file, line and key; a lab whose solution
    // does not fix it fails verification.
    let dir = sim.root().join("labs");
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/labs/05-wrong-scm-password.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        good.replace("[lab]\n", "[lab]\ndifficulty = 3\n"),
    )
    .unwrap();
    let o = run(["lab", "--labs", dir.to_str().unwrap(), "list"]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("bad.toml") && t.contains("difficulty") && t.contains("line"),
        "{t}"
    );

    std::fs::write(
        dir.join("bad.toml"),
        good.replace("    \"Start-Service ADSync\",\n", ""),
    )
    .unwrap();
    let o = run(["lab", "--labs", dir.to_str().unwrap(), "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("FAIL  wrong-scm-password"), "{t}");
    assert!(t.contains("returned 1062"), "{t}");

    std::fs::write(
        dir.join("bad.toml"),
        good.replace("${service_account_password}'", "${sa_password}'"),
    )
    .unwrap();
    let o = run(["lab", "--labs", dir.to_str().unwrap(), "list"]);
    let t = text(&o);
    assert!(
        t.contains("unknown placeholder ${sa_password}") && t.contains("lab.solution"),
        "{t}"
    );
}
