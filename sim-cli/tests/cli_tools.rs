//! Each tool prints its own text, through the real binary: PowerShell's error records for
//! `Start-Service` / `Restart-Service`, sc.exe's `query` / `queryex` / `qc` layouts, one
//! spelling of ADSync's service-specific code, `Get-Service`, `Get-EventLog`, net.exe's
//! "user name could not be found", the article's `cd` to the bin folder before
//! `./miiskmu.exe /a`, and the scheduler that runs only while the service runs.

use crate::support::{Sim, text};

/// A 1.1.443.0 world (local `AAD_` service account) and the service account's name.
fn old_build(seed: &str) -> (Sim, String) {
    let sim = Sim::new();
    let init = sim.init(&["--seed", seed, "--build", "1.1.443.0"]);
    let account = init["service_account"]["name"].as_str().unwrap().to_owned();
    (sim, account)
}

fn out(o: &std::process::Output) -> String {
    text(o).trim_end().to_owned()
}

const LOGON_RECORD: &str = "Start-Service : Service 'Microsoft Azure AD Sync (ADSync)' cannot be started due to the following error: Cannot start service ADSync on computer '.'.
At line:1 char:1
+ Start-Service ADSync
+ ~~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : OpenError: (System.ServiceProcess.ServiceController:ServiceController) [Start-Service], ServiceCommandException
    + FullyQualifiedErrorId : CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand";

const FAILED_RECORD: &str = "Restart-Service : Failed to start service 'Microsoft Azure AD Sync (ADSync)'.
At line:1 char:1
+ Restart-Service ADSync
+ ~~~~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : OpenError: (System.ServiceProcess.ServiceController:ServiceController) [Restart-Service], ServiceCommandException
    + FullyQualifiedErrorId : StartServiceFailed,Microsoft.PowerShell.Commands.RestartServiceCommand";

#[test]
fn powershell_prints_its_own_error_record_only() {
    let (mut w, account) = old_build("501");
    let name = account.rsplit('\\').next().unwrap().to_owned();
    w.ok(&["exec", &format!("net user {name} Reset-2026-b!")]);
    w.ok(&["exec", "Stop-Service ADSync"]);
    // The logon fails: StartService itself refuses, so CouldNotStartService.
    let o = w.exec("Start-Service ADSync");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), LOGON_RECORD);
    // The service logs on, then stops with its own error after 6028: StartServiceFailed.
    w.ok(&["sc", "config", "ADSync", "password=", "Reset-2026-b!"]);
    let o = w.exec("Restart-Service ADSync");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), FAILED_RECORD);
    let t = out(&o);
    assert!(
        !t.contains("[SC]") && !t.contains("Windows could not start"),
        "{t}"
    );
    // An unknown service.
    let o = w.exec("Start-Service NoSuch");
    assert_eq!(
        out(&o),
        "Start-Service : Cannot find any service with service name 'NoSuch'.
At line:1 char:1
+ Start-Service NoSuch
+ ~~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : ObjectNotFound: (NoSuch:String) [Start-Service], ServiceCommandException
    + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.StartServiceCommand"
    );
}

#[test]
fn one_service_specific_code_in_sc_query_7024_and_diagnose() {
    let (mut w, account) = old_build("502");
    w.ok(&["account", "reset", &account, "--password", "Reset-2026-c!"]);
    w.ok(&["sc", "stop", "ADSync"]);
    w.ok(&["sc", "config", "ADSync", "password=", "Reset-2026-c!"]);
    // The Services console's dialog keeps the seed article's text: snapshot `sc_start_6028_human`
    // (cli_snapshots).
    let o = w.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1));
    let q = out(&w.exec("sc query ADSync"));
    assert_eq!(
        q,
        "SERVICE_NAME: ADSync
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 1  STOPPED
                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)
        WIN32_EXIT_CODE    : 1066  (0x42a)
        SERVICE_EXIT_CODE  : -2145185792  (0x80231000)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0"
    );
    let ev = w.json(&["events", "--log", "System", "--id", "7024", "--last", "1"]);
    assert_eq!(
        ev["events"][0]["message"],
        "The Microsoft Azure AD Sync service terminated with the following service-specific error: %%-2145185792"
    );
    // diagnose's evidence line of the same code: snapshot `diagnose_6028_human`.
    let d = text(&w.run(&["diagnose"]));
    assert!(!d.contains("2149781504"), "{d}");
}

#[test]
fn sc_query_queryex_qc_and_stop_print_scs_layouts() {
    let mut w = Sim::new();
    w.init(&["--seed", "503"]);
    let q = out(&w.exec("sc query ADSync"));
    assert!(!q.contains("PID") && !q.contains("FLAGS"), "{q}");
    let qx = out(&w.exec("sc queryex ADSync"));
    assert!(qx.starts_with(&q), "{qx}");
    let tail = &qx[q.len()..];
    assert!(
        tail.starts_with("\n        PID                : ")
            && tail.ends_with("\n        FLAGS              :"),
        "{qx}"
    );
    // sc qc's and sc stop's layouts are pinned whole by the snapshots `sc_qc_human` and
    // `sc_stop_human` (cli_snapshots); here, that stop's layout is query's, without queryex's PID.
    let display = w.json(&["status"])["services"][0]["name"].clone();
    assert_eq!(display, "ADSync");
    let stop = out(&w.exec("sc stop ADSync"));
    assert!(!stop.contains("PID"), "{stop}");
    let o = w.exec("sc qc NoSuch");
    assert_eq!(
        out(&o),
        "[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service."
    );
}

#[test]
fn get_service_and_get_eventlog_print_powershells_tables() {
    let (mut w, account) = old_build("504");
    let t = text(&w.exec("Get-Service ADSync"));
    assert_eq!(
        t.trim_end_matches('\n'),
        "\nStatus   Name               DisplayName\n------   ----               -----------\nRunning  ADSync             Microsoft Azure AD Sync"
    );
    w.ok(&["account", "reset", &account, "--password", "Reset-2026-d!"]);
    w.ok(&["sc", "stop", "ADSync"]);
    w.run(&["sc", "start", "ADSync"]);
    let t = text(&w.exec("Get-EventLog -LogName System -Newest 2"));
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[1],
        "   Index Time          EntryType   Source                 InstanceID Message"
    );
    assert_eq!(
        lines[2],
        "   ----- ----          ---------   ------                 ---------- -------"
    );
    // Newest first: 7000 (InstanceID 0xC0001B58), then 7038 (0xC0001B7E).
    assert!(
        lines[3].starts_with("       ")
            && lines[3].contains(" Jan 05 09:00  Error       Service Control M...   3221232472 The Microsoft Azure AD Sync service failed to start"),
        "{t}"
    );
    assert!(
        lines[4].contains("   3221232510 The ADSync service was unable to log on as "),
        "{t}"
    );
    assert_eq!(lines.len(), 5, "{t}");
}

#[test]
fn net_user_names_an_unknown_user_as_net_exe_does() {
    let mut w = Sim::new();
    w.init(&["--seed", "505"]);
    let o = w.exec("net user nosuchuser P4ss-word!");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o),
        "The user name could not be found.\n\nMore help is available by typing NET HELPMSG 2221."
    );
    assert!(!text(&o).contains("P4ss-word!"));
    let o = w.exec("net user nosuchuser /active:no");
    assert_eq!(
        out(&o),
        "The user name could not be found.\n\nMore help is available by typing NET HELPMSG 2221."
    );
}

#[test]
fn miiskmu_runs_relative_to_the_articles_bin_folder() {
    let mut w = Sim::new();
    w.init(&["--seed", "506"]);
    w.ok(&["sc", "stop", "ADSync"]);
    let o = w.exec("./miiskmu.exe /a");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o),
        "./miiskmu.exe : The term './miiskmu.exe' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.
At line:1 char:1
+ ./miiskmu.exe /a
+ ~~~~~~~~~~~~~
    + CategoryInfo          : ObjectNotFound: (./miiskmu.exe:String) [], CommandNotFoundException
    + FullyQualifiedErrorId : CommandNotFoundException"
    );
    let o = w.exec("cd C:\\nowhere");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).starts_with(
            "cd : Cannot find path 'C:\\nowhere' because it does not exist.\nAt line:1 char:1\n+ cd C:\\nowhere\n"
        ),
        "{}",
        out(&o)
    );
    // The 2023 article: "Navigate to folder: '$env:ProgramFiles\Microsoft Azure AD Sync\bin\'",
    // then "./miiskmu.exe /a".
    w.ok(&[
        "exec",
        "cd \"$env:ProgramFiles\\Microsoft Azure AD Sync\\bin\\\"",
    ]);
    let o = w.exec("./miiskmu.exe /a");
    assert!(o.status.success(), "{}", text(&o));
    // The simulator's own verb stays, wherever the location is.
    w.ok(&["exec", "cd \\"]);
    w.ok(&["miiskmu", "/a"]);
}

/// The scheduler lives in the service: nothing runs while it is stopped, and a restart
/// catches up with one cycle, stamped after the start.
#[test]
fn the_scheduler_catches_up_with_one_cycle_after_a_stop() {
    let sim = Sim::new();
    let init = sim.init(&["--seed", "507"]);
    let mut w = sim;
    let msol = init["ad_connector_accounts"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok(&["account", "reset", &msol, "--password", "Msol-Reset-2026!"]);
    w.ok(&["sc", "stop", "ADSync"]);
    let o = w.json(&["clock", "advance", "2h"]);
    assert_eq!(o["sync_cycles"], 0);
    w.ok(&["sc", "start", "ADSync"]);
    let o = w.json(&["clock", "advance", "1m"]);
    assert_eq!(o["sync_cycles"], 1);
    let ev = w.json(&["events", "--log", "Application", "--id", "6000"]);
    let times: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["2026-01-05T11:00:00Z"]);
    w.ok(&["sc", "stop", "ADSync"]);
    assert_eq!(w.json(&["clock", "advance", "91d"])["sync_cycles"], 0);
    w.ok(&["sc", "start", "ADSync"]);
    assert_eq!(w.json(&["clock", "advance", "1m"])["sync_cycles"], 1);
}
