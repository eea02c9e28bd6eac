//! `diagnose` and `remediate` through the binary: the cause, its evidence and the documented
//! plan with sources; a dry run that changes nothing; a remediation that ends healthy and is
//! journaled; passwords never printed; bad options named.

use crate::support::{Sim, fresh_seed, text};

/// A 1.1.443.0 world whose local service account was reset and whose start failed with 1069.
fn broken_old_build(sim: &mut Sim) -> serde_json::Value {
    let seed = fresh_seed();
    let init = sim.init(&[
        "--build",
        "1.1.443.0",
        "--service-account",
        "local",
        "--seed",
        &seed,
    ]);
    let account = init["service_account"]["name"].as_str().unwrap().to_owned();
    sim.ok(&["sc", "stop", "ADSync"]);
    sim.ok(&["account", "reset", &account, "--password", "Spring2026!"]);
    let o = sim.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    init
}

#[test]
fn a_healthy_world_has_no_findings_and_diagnose_exits_0() {
    let mut sim = Sim::new();
    sim.init(&["--seed", &fresh_seed(), "--kdf-rounds", "1"]);
    let o = sim.run(&["diagnose"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o)
            .contains("No symptoms: the service is running and no connector's last run failed."),
        "{}",
        text(&o)
    );
    let d = sim.json(&["diagnose"]);
    assert_eq!(d["healthy"], true);
    assert_eq!(d["result_code"], 0);
    assert_eq!(d["findings"].as_array().unwrap().len(), 0);
    assert_eq!(d["service"]["state"], "Running");
}

#[test]
fn diagnose_names_the_scm_logon_with_event_7038_and_the_2023_procedure() {
    let mut sim = Sim::new();
    let init = broken_old_build(&mut sim);
    let account = init["service_account"]["name"].as_str().unwrap();
    let o = sim.run(&["diagnose"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let d = sim.json(&["diagnose"]);
    assert_eq!(d["healthy"], false);
    let f = &d["findings"][0];
    assert_eq!(f["cause"], "service-logon-password", "{d:#}");
    assert_eq!(f["account"], account);
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("System event 7038"), "{evidence}");
    assert!(
        evidence.contains("with the currently configured password due to the following error: The user name or password is incorrect."),
        "{evidence}"
    );
    assert!(f["source"].as_str().unwrap().contains(&format!(
        "{}, 'Issues that arise from changing the password'",
        sim_core::sources::ARTICLE_2023
    )));
    let steps: Vec<&str> = d["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["run"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            format!("sc config ADSync password= <password of {account}>").as_str(),
            "Start-Service ADSync"
        ]
    );
    // Each step cites what it follows: the article for the SCM's password (by its title and
    // public address, which a reader can open), the project's ordering notes for the start
    // the article leaves implicit.
    let sources: Vec<&str> = d["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert!(
        sources[0].contains(sim_core::sources::ARTICLE_2023),
        "{sources:?}"
    );
    assert!(sources[1].starts_with("docs/adsync.md §5.5"), "{sources:?}");
    sim.assert_no_secret(&["Spring2026!"], &[]);
}

#[test]
fn dry_run_changes_nothing_and_remediate_heals_through_6028_and_is_journaled() {
    let mut sim = Sim::new();
    let init = broken_old_build(&mut sim);
    let ga_password = init["global_admin"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = sim.state.join("state.db");
    let state_of = |db: &std::path::Path| -> String {
        let c = rusqlite::Connection::open(db).unwrap();
        c.query_row("SELECT state FROM world WHERE id = 1", [], |r| r.get(0))
            .unwrap()
    };
    let before = state_of(&db);
    let o = sim.run(&["remediate", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).starts_with("Dry run: nothing was changed."),
        "{}",
        text(&o)
    );
    assert_eq!(state_of(&db), before, "a dry run changed the state");

    let r = sim.json(&["remediate"]);
    assert_eq!(r["healthy"], true, "{r:#}");
    assert_eq!(r["result_code"], 0);
    let causes: Vec<String> = r["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|round| round["diagnosis"]["findings"].as_array().unwrap().clone())
        .map(|f| f["cause"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        causes[..2],
        ["service-logon-password", "encryption-key-unreadable"]
    );
    let ran: Vec<String> = r["rounds"][1]["ran"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} -> {}", s["run"].as_str().unwrap(), s["code"]))
        .collect();
    // The article's "Navigate to folder" step, then the tool relative to it.
    assert_eq!(
        ran[0], r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\" -> 0"#,
        "{ran:#?}"
    );
    assert_eq!(ran[1], "./miiskmu.exe /a -> 0", "{ran:#?}");
    assert!(
        ran.iter()
            .any(|l| l.starts_with("Add-ADSyncAADServiceAccount"))
    );
    assert!(ran.iter().any(|l| l == "Restart-Service ADSync -> 0"));
    assert_eq!(r["verification"]["healthy"], true);
    let sc = sim.ok(&["sc", "query", "ADSync"]);
    assert!(sc.contains("RUNNING"), "{sc}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let journal: Vec<String> = c
        .prepare("SELECT command FROM journal ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        journal.iter().any(|l| l.contains("miiskmu")),
        "remediation's commands are not journaled: {journal:#?}"
    );
    sim.assert_no_secret(&["Spring2026!", &ga_password], &[]);
    let o = sim.run(&["diagnose"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_given_credential_takes_precedence_and_a_wrong_one_leaves_the_server_unhealthy() {
    let mut sim = Sim::new();
    let init = sim.init(&["--seed", &fresh_seed(), "--kdf-rounds", "1"]);
    let entra = init["entra_connector_account"].as_str().unwrap().to_owned();
    let ga = init["global_admin"]["name"].as_str().unwrap().to_owned();
    sim.ok(&[
        "exec",
        &format!("Set-MsolUserPassword -UserPrincipalName {entra} -NewPassword 'CloudReset2026!'"),
    ]);
    sim.run(&["sync", "cycle"]);
    let wrong = format!("{ga}=NotThePassword1!");
    let o = sim.run(&["remediate", "--credential", &wrong]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("Round 1: entra-connector-credentials"), "{t}");
    assert!(
        t.contains(&format!(
            "Add-ADSyncAADServiceAccount -AADCredential '{ga}:<password of {ga}>' -> 1"
        )),
        "{t}"
    );
    assert!(t.contains("Not healthy:"), "{t}");
    sim.assert_no_secret(&["NotThePassword1!", "CloudReset2026!"], &[]);
    // Without the wrong credential, what the admin was handed at install works.
    let o = sim.run(&["remediate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn bad_options_and_a_missing_world_are_named() {
    let mut sim = Sim::new();
    let o = sim.run(&["remediate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no world in"), "{}", text(&o));
    sim.init(&["--seed", "1", "--kdf-rounds", "1"]);
    let o = sim.run(&["remediate", "--credential", "=x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("--credential must be ACCOUNT=PASSWORD"),
        "{}",
        text(&o)
    );
    let o = sim.run(&["diagnose", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn exec_and_the_shell_run_the_runbook_verbs_as_the_verbs_themselves_do() {
    let mut sim = Sim::new();
    broken_old_build(&mut sim);
    let verb = sim.run(&["diagnose"]);
    let line = sim.run(&["exec", "diagnose"]);
    assert_eq!(verb.status.code(), Some(1), "{}", text(&verb));
    assert_eq!(line.status.code(), verb.status.code());
    assert_eq!(line.stdout, verb.stdout);
    assert_eq!(
        sim.json(&["exec", "remediate --dry-run"]),
        sim.json(&["remediate", "--dry-run"])
    );
    let o = sim.run(&["exec", "remediate --credential nobody"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: remediate: --credential needs ACCOUNT=PASSWORD\nusage: diagnose | remediate [--dry-run] [--credential ACCOUNT=PASSWORD]...\n"
    );
    let mut child = std::process::Command::new(crate::support::adsync_sim_bin())
        .args(["--state", sim.state.to_str().unwrap(), "shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"diagnose\nexit\n").unwrap();
    let shell = child.wait_with_output().unwrap();
    assert!(shell.status.success(), "{}", text(&shell));
    assert_eq!(shell.stdout, verb.stdout, "{}", text(&shell));
    // A remediation through exec heals and is journaled like `remediate`.
    let o = sim.run(&["exec", "remediate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sim.run(&["diagnose"]).status.code(), Some(0));
}
