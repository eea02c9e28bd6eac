//! Smoke tests of the Windows backend that Wine runs faithfully (`docs/windows-on-linux.md`):
//! string and error-code conversion, the DPAPI round trip and its error 13 paths, and the
//! service lifecycle against the real probe service executable (`examples/probe_service.rs`).
//!
//! CI runs them on Linux with `CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine`; on Windows they
//! run as they are (the service tests need an Administrator). What Wine fakes (logons and 1069,
//! accounts, passwords, impersonation, the event log) is skipped here, saying why, and covered
//! by the parity suite on a real host.
#![cfg(windows)]

use std::path::PathBuf;

use sim_core::adsync::text::KEYSET_SERVICE_EXIT_CODE;
use sim_core::backend::{Host, HostError, Principal, ServiceSpec};
use sim_core::command::{Command, Secret};
use sim_core::win::scm::ServiceState;
use sim_windows::{WindowsHost, dpapi, error, is_wine, probe, scm};

fn code_of<T: std::fmt::Debug>(r: Result<T, HostError>) -> u32 {
    match r {
        Err(HostError::Win32 { code, .. }) => code,
        other => panic!("expected a Win32 error, got {other:?}"),
    }
}

fn skip(what: &str, why: &str) {
    println!("skipped: {what}: {why}");
}

#[test]
fn wine_is_detected_when_ci_says_it_runs_wine() {
    if std::env::var("ADSYNC_SIM_EXPECT_WINE").as_deref() == Ok("1") {
        assert!(
            is_wine(),
            "CI runs these tests under Wine, but ntdll has no wine_get_version"
        );
    }
    println!("running under {}", WindowsHost::new().describe());
}

#[test]
fn system_messages_are_trimmed_and_unknown_codes_fall_back() {
    for code in [2, 5, 13, 87, 1060, 1069, 0x8009_000B] {
        let m = error::message(code);
        assert!(
            !m.is_empty() && !m.ends_with('\n') && !m.ends_with('\r'),
            "{code}: {m:?}"
        );
    }
    if !is_wine() {
        // Windows' own table says what the simulator says.
        assert_eq!(error::message(13), "The data is invalid.");
        assert_eq!(
            error::message(1069),
            "The service did not start due to a logon failure."
        );
    }
    // A code no table knows falls back to the simulator's text.
    assert_eq!(error::message(0x2BAD_C0DE), "Unknown error.");
    let e = error::win32_error("CryptUnprotectData", 13);
    assert_eq!(e.code(), Some(13));
    assert!(
        e.to_string()
            .starts_with("CryptUnprotectData failed with error 13: ")
    );
}

#[test]
fn dpapi_round_trips_with_and_without_entropy() {
    let data = b"the ADSync keyset, 64 bytes or so".as_slice();
    for entropy in [b"".as_slice(), b"\x01\x02entropy-guid-bytes"] {
        let blob = dpapi::protect(data, entropy).unwrap();
        assert_ne!(blob.as_slice(), data);
        assert_eq!(dpapi::unprotect(&blob, entropy).unwrap().as_slice(), data);
    }
    // Through the Host trait, as the calling user.
    let mut host = WindowsHost::new();
    let blob = host.protect_as(&Principal::Caller, data, b"e").unwrap();
    assert_eq!(
        host.unprotect_as(&Principal::Caller, &blob, b"e")
            .unwrap()
            .as_slice(),
        data
    );
}

#[test]
fn dpapi_wrong_entropy_and_damage_give_error_13() {
    let data = b"keyset";
    let blob = dpapi::protect(data, b"right").unwrap();
    assert_eq!(
        code_of(dpapi::unprotect(&blob, b"wrong")),
        13,
        "wrong entropy"
    );
    assert_eq!(code_of(dpapi::unprotect(&blob, b"")), 13, "missing entropy");
    let plain = dpapi::protect(data, b"").unwrap();
    assert_eq!(
        code_of(dpapi::unprotect(&plain, b"extra")),
        13,
        "extra entropy"
    );
    let mut damaged = blob.clone();
    *damaged.last_mut().unwrap() ^= 0x55;
    assert_eq!(
        code_of(dpapi::unprotect(&damaged, b"right")),
        13,
        "changed last byte"
    );
    // Not a blob at all: 13 under Wine; Windows may say 87 (invalid parameter).
    let garbage = code_of(dpapi::unprotect(b"not a DPAPI blob at all", b""));
    assert!(garbage == 13 || garbage == 87, "garbage gave {garbage}");
}

#[test]
fn what_wine_fakes_is_skipped_here() {
    let why = if is_wine() {
        "Wine fakes it (docs/windows-on-linux.md)"
    } else {
        "it changes the host: the parity suite covers it with ADSYNC_SIM_REAL_WINDOWS=1"
    };
    for what in [
        "LogonUserW and impersonation (DPAPI as another account)",
        "service logon and error 1069",
        "NetUserAdd / NetUserSetInfo / NetUserChangePassword / NetUserDel",
        "DPAPI bound to the account's password (change versus reset)",
        "ReportEventW and EvtQuery (event 6028 and the SCM's 7038, 7000, 7024)",
    ] {
        skip(what, why);
    }
}

/// The probe executable `cargo test` built beside this test binary.
fn probe_exe() -> PathBuf {
    let me = std::env::current_exe().unwrap();
    let debug = me.parent().and_then(|d| d.parent()).unwrap();
    debug.join("examples").join("probe_service.exe")
}

/// Removes a test service and its keyset, also when the test panics.
struct Installed(String);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = probe::uninstall(&self.0);
    }
}

fn install_probe_as_caller(name: &str) -> Installed {
    // Under Wine every service runs as the calling Unix user, so protecting as the caller
    // stands in for protecting as the service's account.
    let entropy = [7u8; 16];
    let blob = dpapi::protect(&[42u8; 64], &entropy).unwrap();
    probe::write_keyset(name, &blob, &entropy).unwrap();
    let guard = Installed(name.to_owned());
    scm::create(&ServiceSpec {
        name: name.to_owned(),
        display_name: format!("adsync-sim smoke {name}"),
        binary_path: format!(
            "\"{}\" {name} \"{}\"",
            probe_exe().display(),
            probe::keyset_path(name).display()
        ),
        account: "LocalSystem".into(),
        password: None,
    })
    .unwrap();
    guard
}

fn needs_admin_or_wine(what: &str) -> bool {
    if is_wine() || scm::manager().is_ok() {
        return true;
    }
    skip(what, "the Service Control Manager needs an Administrator");
    false
}

#[test]
fn the_probe_service_starts_stops_and_fails_like_adsync_when_its_keyset_is_damaged() {
    if !needs_admin_or_wine("the probe service lifecycle") {
        return;
    }
    assert!(
        probe_exe().exists(),
        "{} missing: cargo test builds examples",
        probe_exe().display()
    );
    let name = format!("AdsyncSimSmoke{}", std::process::id());
    let _installed = install_probe_as_caller(&name);
    let mut host = WindowsHost::new();
    let run = |host: &mut WindowsHost, c: Command| host.run(&c).unwrap();
    let start = || Command::ScStart { name: name.clone() };
    let stop = || Command::ScStop { name: name.clone() };

    let o = run(&mut host, start());
    assert_eq!(o.code, 0, "{}", o.text);
    let st = host.service_status(&name).unwrap().unwrap();
    assert_eq!(st.state, ServiceState::Running);
    assert_eq!(run(&mut host, start()).code, 1056, "already running");
    assert_eq!(run(&mut host, stop()).code, 0);
    assert_eq!(
        host.service_status(&name).unwrap().unwrap().state,
        ServiceState::Stopped
    );
    assert_eq!(run(&mut host, stop()).code, 1062, "not started");

    // The keyset no longer opens: the probe stops with 1066 and ADSync's service-specific code.
    let (mut blob, entropy) = probe::read_keyset(&name).unwrap();
    *blob.last_mut().unwrap() ^= 0x55;
    probe::write_keyset(&name, &blob, &entropy).unwrap();
    let o = run(&mut host, start());
    assert_eq!(o.code, 1066, "{}", o.text);
    let st = host.service_status(&name).unwrap().unwrap();
    assert_eq!(
        (st.state, st.win32_exit_code, st.service_exit_code),
        (ServiceState::Stopped, 1066, KEYSET_SERVICE_EXIT_CODE)
    );

    // Deleted, it is gone: 1060 from every verb, and the status reads as not installed.
    assert_eq!(host.service_delete(&name).unwrap().code, 0);
    assert!(host.service_status(&name).unwrap().is_none());
    assert_eq!(run(&mut host, start()).code, 1060);
    assert_eq!(
        run(&mut host, Command::ScQuery { name: name.clone() }).code,
        1060
    );
    assert_eq!(host.service_delete(&name).unwrap().code, 1060);
}

#[test]
fn a_service_whose_image_is_missing_fails_with_2_and_a_taken_name_with_1073() {
    if !needs_admin_or_wine("service creation errors") {
        return;
    }
    let name = format!("AdsyncSimMissing{}", std::process::id());
    let guard = Installed(name.clone());
    let spec = ServiceSpec {
        name: name.clone(),
        display_name: "adsync-sim smoke: missing image".into(),
        binary_path: "C:\\adsync-sim\\does-not-exist.exe".into(),
        account: "LocalSystem".into(),
        password: None,
    };
    let mut host = WindowsHost::new();
    assert_eq!(host.service_create(&spec).unwrap().code, 0);
    assert_eq!(host.service_create(&spec).unwrap().code, 1073);
    let o = host.run(&Command::ScStart { name: name.clone() }).unwrap();
    assert_eq!(o.code, 2, "{}", o.text);
    drop(guard);
    assert!(host.service_status(&name).unwrap().is_none());
}

#[test]
fn probe_run_outside_the_scm_fails_with_1063() {
    // StartServiceCtrlDispatcherW from a console process: ERROR_FAILED_SERVICE_CONTROLLER_CONNECT.
    let code = code_of(probe::run(
        "NotStartedByTheScm",
        std::path::Path::new("C:\\nowhere.keyset"),
    ));
    if is_wine() && code != 1063 {
        skip("1063 from the dispatcher", &format!("Wine returned {code}"));
        return;
    }
    assert_eq!(code, 1063);
}

#[test]
fn account_operations_refuse_cleanly_under_wine() {
    if !is_wine() {
        skip(
            "the Wine refusal of NetUserSetInfo",
            "not running under Wine",
        );
        return;
    }
    let mut host = WindowsHost::new();
    let r = host.account_reset("nobody", &Secret::new("Pass-2026!"));
    assert!(matches!(r, Err(HostError::Unsupported { .. })), "{r:?}");
}

/// A scenario's host-level steps run through `WindowsHost` as `scenario run --host windows` runs
/// them: the pre-flight passes a step the SCM answers, and the step's result code and output are
/// the SCM's (1060 for a service that is not installed).
#[test]
fn a_host_level_scenario_runs_through_the_windows_host() {
    let text = "name = \"absent\"\nsummary = \"s\"\nsource = \"x\"\n[[step]]\nrun = \"sc query AdsyncSimNoSuchService\"\nexpect = { exit = 1060, output = [\"1060\"] }\n[[step]]\nrun = \"sync cycle\"\n";
    let s = sim_core::scenario::Scenario::parse("absent.toml", text).unwrap();
    let refused = sim_core::scenario::preflight::refusals("absent.toml", &s, &[]);
    assert_eq!(refused.iter().map(|r| r.step).collect::<Vec<_>>(), [2]);
    let one = sim_core::scenario::Scenario {
        steps: s.steps[..1].to_vec(),
        ..s
    };
    let mut host = WindowsHost::new();
    let r = sim_core::scenario::run_scenario_on(&mut host, "absent.toml", &one, &[]);
    assert!(r.passed(), "{r:#?}");
    assert_eq!(r.steps[0].code, 1060);
}
