//! Unit tests of account policy (the logon right, password expiry, lockout), the engine's
//! database login and the scheduler's cycles that take time.

use super::*;
use crate::command::parse_line;
use crate::win::text::win32;

fn world_on(kind: Option<ServiceAccountKind>, build: &str) -> (World, InitReport) {
    let opts = WorldOptions {
        seed: 11,
        kdf_rounds: 3,
        service_account: kind,
        build: build.parse().unwrap(),
        ..WorldOptions::default()
    };
    World::new(&opts, Sealer::in_memory([2; 32])).unwrap()
}

fn run(w: &mut World, line: &str) -> Outcome {
    w.exec(&parse_line(line).unwrap()).unwrap()
}

fn has_event(out: &Outcome, id: u32, text: &str) -> bool {
    out.events
        .iter()
        .any(|e| e.id == id && e.message.contains(text))
}

#[test]
fn an_account_without_the_logon_right_gets_1069_and_event_7041() {
    let (mut w, report) = world_on(Some(ServiceAccountKind::Local), "2.5.76.0");
    let sa = report.service_account.clone();
    run(&mut w, "sc stop ADSync");
    run(
        &mut w,
        &format!("account right revoke {sa} SeServiceLogonRight"),
    );
    let out = run(&mut w, "sc start ADSync");
    assert_eq!(out.code, win32::SERVICE_LOGON_FAILED, "{}", out.text);
    assert_eq!(
        out.text,
        "[SC] StartService FAILED 1069:\n\nThe service did not start due to a logon failure.\n"
    );
    assert!(has_event(
        &out,
        7041,
        &format!(
            "The ADSync service was unable to log on as {sa} with the currently configured password due to the following error: \nLogon failure: the user has not been granted the requested logon type at this computer.\n \nService: ADSync \nDomain and account: {sa}\n \nThis service account does not have the necessary user right \"Log on as a service.\""
        )
    ));
    assert!(out.events.iter().all(|e| e.id != 7038));
    assert!(has_event(
        &out,
        7000,
        "The service did not start due to a logon failure."
    ));
    run(
        &mut w,
        &format!("account right grant {sa} SeServiceLogonRight"),
    );
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
}

#[test]
fn a_wrong_password_hides_a_missing_right() {
    let (mut w, report) = world_on(Some(ServiceAccountKind::Local), "2.5.76.0");
    let sa = report.service_account.clone();
    run(&mut w, "sc stop ADSync");
    run(
        &mut w,
        &format!("account right revoke {sa} SeServiceLogonRight"),
    );
    run(&mut w, "sc config ADSync password= 'Wrong#2026'");
    let out = run(&mut w, "sc start ADSync");
    assert!(has_event(
        &out,
        7038,
        "The user name or password is incorrect."
    ));
    assert!(out.events.iter().all(|e| e.id != 7041));
}

#[test]
fn an_account_switch_on_1_1_484_fails_at_the_database_login_and_the_original_account_works() {
    let (mut w, report) = world_on(None, "1.1.484.0");
    let ea = report.install.enterprise_admins[0].1.clone();
    let ea_pw = report.install.enterprise_admins[0].2.clone();
    run(&mut w, "sc stop ADSync");
    run(
        &mut w,
        &format!("sc config ADSync obj= {ea} password= '{}'", ea_pw.as_str()),
    );
    assert_eq!(
        run(&mut w, "sc start ADSync").code,
        win32::SERVICE_LOGON_FAILED
    );
    run(
        &mut w,
        &format!("account right grant {ea} SeServiceLogonRight"),
    );
    let out = run(&mut w, "sc start ADSync");
    assert_eq!(out.code, win32::SERVICE_SPECIFIC_ERROR, "{}", out.text);
    assert!(
        out.text
            .ends_with("refer to service-specific error code 18456."),
        "{}",
        out.text
    );
    assert!(out.events.iter().all(|e| e.id != 6028));
    assert!(has_event(&out, 7024, "%%18456"));
    let q = run(&mut w, "sc query ADSync");
    assert!(q.text.contains("18456"), "{}", q.text);
    run(
        &mut w,
        &format!("sc config ADSync obj= '{}'", report.service_account),
    );
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
    let cycle = run(&mut w, "sync cycle");
    assert!(
        cycle.json["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "success")
    );
}

#[test]
fn a_password_set_to_expire_fails_logon_after_42_days_with_1330() {
    let (mut w, report) = world_on(Some(ServiceAccountKind::Local), "2.5.76.0");
    let sa = report.service_account.clone();
    run(&mut w, "Set-ADSyncScheduler -SyncCycleEnabled $false");
    // Never-expiring by default: 100 days change nothing.
    run(&mut w, "clock advance 100d");
    run(&mut w, "sc stop ADSync");
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
    run(&mut w, &format!("account password-expires {sa}"));
    let out = run(&mut w, "Restart-Service ADSync");
    assert_eq!(out.code, win32::SERVICE_LOGON_FAILED);
    assert!(has_event(
        &out,
        7038,
        "due to the following error: The password for this account has expired."
    ));
    run(&mut w, &format!("account password-never-expires {sa}"));
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
}

#[test]
fn a_password_younger_than_the_maximum_age_still_logs_on() {
    let (mut w, report) = world_on(Some(ServiceAccountKind::Local), "2.5.76.0");
    let sa = report.service_account.clone();
    run(&mut w, "Set-ADSyncScheduler -SyncCycleEnabled $false");
    run(&mut w, &format!("account password-expires {sa}"));
    run(
        &mut w,
        &format!("clock advance {}d", MAX_PASSWORD_AGE_DAYS - 1),
    );
    assert_eq!(run(&mut w, "Restart-Service ADSync").code, 0);
    run(&mut w, "clock advance 1d");
    assert_eq!(
        run(&mut w, "Restart-Service ADSync").code,
        win32::SERVICE_LOGON_FAILED
    );
}

fn msol(w: &World) -> &crate::win::account::Account {
    w.state()
        .accounts
        .iter()
        .find(|a| a.name.starts_with("MSOL_"))
        .unwrap()
}

#[test]
fn msol_locks_out_at_the_threshold_and_never_without_one() {
    let (mut w, _) = world_on(None, "2.5.76.0");
    let name = msol(&w).qualified_name();
    run(
        &mut w,
        &format!("account reset {name} --password 'MsolRotated2026!'"),
    );
    // Windows' default threshold, 0: twenty failed binds lock nothing.
    run(&mut w, "clock advance 10h");
    // Past the end of the last scheduled cycle, so a typed one may start.
    run(&mut w, "clock advance 10m");
    assert!(!msol(&w).locked);
    run(&mut w, "net accounts /lockoutthreshold:3 /domain");
    run(&mut w, "sync cycle");
    run(&mut w, "sync cycle");
    assert!(!msol(&w).locked);
    run(&mut w, "sync cycle");
    assert!(msol(&w).locked);
    // The right password no longer helps.
    run(
        &mut w,
        "connector set-password contoso.com --password 'MsolRotated2026!'",
    );
    run(&mut w, "Restart-Service ADSync");
    let out = run(&mut w, "sync cycle");
    assert_eq!(out.json["runs"][0]["status"], "no-start-credentials");
    run(&mut w, &format!("account unlock {name}"));
    let out = run(&mut w, "sync cycle");
    assert_eq!(out.json["runs"][0]["status"], "success");
}

#[test]
fn policy_input_is_checked() {
    let e = parse_line("account right grant ADSync SeBatchLogonRight").unwrap_err();
    assert!(
        e.to_string().contains("'SeBatchLogonRight' is not a right"),
        "{e}"
    );
    let e = parse_line("net accounts /lockoutthreshold:many /domain").unwrap_err();
    assert!(e.to_string().contains("'many' is not a number"), "{e}");
    let (mut w, _) = world_on(None, "2.5.76.0");
    let before = w.state().clone();
    let err = w
        .exec(&parse_line("net accounts /lockoutthreshold:1000").unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        WorldError::Limit(Limit::LockoutThreshold { asked: 1000 })
    );
    assert_eq!(w.state(), &before);
    let err = w
        .exec(&parse_line("account password-expires 'NT SERVICE\\ADSync'").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("does not expire"), "{err}");
}

#[test]
fn a_scheduled_cycle_is_in_progress_until_its_runs_end() {
    let (mut w, _) = world_on(None, "2.5.76.0");
    let out = run(&mut w, "clock advance 30m");
    assert_eq!(out.json["sync_cycles"], 1);
    let s = run(&mut w, "Get-ADSyncScheduler");
    assert!(
        s.text
            .contains("SyncCycleInProgress                   : True"),
        "{}",
        s.text
    );
    let busy = run(&mut w, "Start-ADSyncSyncCycle -PolicyType Delta");
    assert_eq!(busy.code, CYCLE_BUSY_CODE);
    assert!(busy.text.starts_with("Start-ADSyncSyncCycle : System.InvalidOperationException: Connector: contoso.com is busy.\n"), "{}", busy.text);
    // One forest: two connectors, three profiles each.
    run(
        &mut w,
        &format!("clock advance {}s", 6 * RUN_PROFILE_SECONDS - 1),
    );
    assert!(
        run(&mut w, "Get-ADSyncScheduler")
            .text
            .contains("SyncCycleInProgress                   : True")
    );
    run(&mut w, "clock advance 1s");
    assert!(
        run(&mut w, "Get-ADSyncScheduler")
            .text
            .contains("SyncCycleInProgress                   : False")
    );
    assert_eq!(
        run(&mut w, "Start-ADSyncSyncCycle -PolicyType Delta").code,
        0
    );
    // A typed cycle has ended before the next command.
    assert_eq!(
        run(&mut w, "Start-ADSyncSyncCycle -PolicyType Delta").code,
        0
    );
}

#[test]
fn stopping_during_a_cycle_ends_its_unfinished_runs_stopped_server_down() {
    let (mut w, _) = world_on(None, "2.5.76.0");
    run(&mut w, "clock advance 30m");
    // The AD DS connector's three runs end at 3 minutes; the Entra connector's at 6.
    run(
        &mut w,
        &format!("clock advance {}s", 3 * RUN_PROFILE_SECONDS),
    );
    run(&mut w, "sc stop ADSync");
    let statuses: Vec<_> = w
        .engine()
        .unwrap()
        .agents
        .iter()
        .map(|a| a.last_run.as_ref().unwrap().status.as_str())
        .collect();
    assert_eq!(statuses, ["success", "stopped-server-down"]);
    run(&mut w, "sc start ADSync");
    let s = run(&mut w, "Get-ADSyncScheduler");
    assert!(
        s.text
            .contains("SyncCycleInProgress                   : False"),
        "{}",
        s.text
    );
}
