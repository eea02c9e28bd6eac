//! The keyset probe as a real Windows service (docs/design.md §7): the smallest program that fails the
//! way ADSync fails, for hosts without ADSync.
//!
//! `install` protects a random keyset with DPAPI as the service account (LogonUserW +
//! ImpersonateLoggedOnUser, with its profile loaded), writes it to
//! `%ProgramData%\adsync-sim\SERVICE.keyset`, grants the account "Log on as a service" and
//! creates the service. At every start the service unprotects the keyset as itself; when it
//! cannot, it writes Application event 6028 ("The server encryption key cannot be accessed.",
//! source ADSync) and stops with 1066 and the service-specific code 0x80231000, the constants
//! `sim_core::probe` shares with the simulated engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

use sim_core::adsync::text::{
    ADSYNC_SOURCE, EVENT_6028_ID, EVENT_6028_TEXT, KEYSET_SERVICE_EXIT_CODE,
};
use sim_core::backend::{HostError, Principal, ServiceSpec};
use sim_core::command::Secret;
use sim_core::world::admin::{PROBE_ENTROPY_LEN, PROBE_KEYSET_LEN};
use windows_sys::Win32::Foundation::{
    ERROR_CALL_NOT_IMPLEMENTED, ERROR_SERVICE_SPECIFIC_ERROR, NO_ERROR,
};
use windows_sys::Win32::System::Services::{
    RegisterServiceCtrlHandlerExW, SERVICE_ACCEPT_STOP, SERVICE_CONTROL_INTERROGATE,
    SERVICE_CONTROL_STOP, SERVICE_RUNNING, SERVICE_START_PENDING, SERVICE_STATUS,
    SERVICE_STATUS_HANDLE, SERVICE_STOP_PENDING, SERVICE_STOPPED, SERVICE_TABLE_ENTRYW,
    SERVICE_WIN32_OWN_PROCESS, SetServiceStatus, StartServiceCtrlDispatcherW,
};

use crate::error::last_error;
use crate::ffi::wide;
use crate::{accounts, dpapi, events, scm};

/// Where a probe keeps its keyset: `%ProgramData%\adsync-sim\SERVICE.keyset`, as the installing
/// administrator's environment names it. The path goes on the service's command line, because a
/// service's environment may differ (under Wine, services see `ProgramData=C:\users\Public`).
pub fn keyset_path(service: &str) -> PathBuf {
    let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
    PathBuf::from(base)
        .join("adsync-sim")
        .join(format!("{service}.keyset"))
}

/// Writes a keyset file: the blob's hex, a line break, the entropy's hex.
pub fn write_keyset(service: &str, blob: &[u8], entropy: &[u8]) -> Result<(), HostError> {
    let path = keyset_path(service);
    let io = |e: std::io::Error| HostError::Refused {
        command: format!("write {}", path.display()),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(
        &path,
        format!("{}\n{}\n", hex::encode(blob), hex::encode(entropy)),
    )
    .map_err(io)
}

/// Reads a keyset file back: (blob, entropy).
pub fn read_keyset(service: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    read_keyset_at(&keyset_path(service))
}

fn read_keyset_at(path: &std::path::Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    Some((
        hex::decode(lines.next()?).ok()?,
        hex::decode(lines.next()?).ok()?,
    ))
}

/// The command line the SCM runs: `"EXE" probe-service run --name SERVICE --keyset "PATH"`.
pub fn binary_path(exe: &std::path::Path, service: &str) -> String {
    format!(
        "\"{}\" probe-service run --name {service} --keyset \"{}\"",
        exe.display(),
        keyset_path(service).display()
    )
}

/// Installs the probe: grants the account "Log on as a service", protects a fresh random keyset
/// as the account, writes it, and creates the service. Errors: 1326 from LogonUserW when the
/// password does not log on, 1073 when the service exists. Nothing is left behind on failure.
pub fn install(spec: &ServiceSpec) -> Result<(), HostError> {
    let password = spec.password.clone().unwrap_or_else(|| Secret::new(""));
    accounts::service_logon_right(&spec.account, true)?;
    let mut keyset = zeroize::Zeroizing::new(vec![0u8; PROBE_KEYSET_LEN]);
    let mut entropy = [0u8; PROBE_ENTROPY_LEN];
    getrandom::fill(&mut keyset)
        .and_then(|()| getrandom::fill(&mut entropy))
        .map_err(|e| HostError::System {
            what: "random number generator",
            reason: e.to_string(),
        })?;
    let principal = Principal::Account {
        name: spec.account.clone(),
        password,
    };
    let blob = dpapi::as_principal(&principal, || dpapi::protect(&keyset, &entropy))?;
    write_keyset(&spec.name, &blob, &entropy)?;
    scm::create(spec).inspect_err(|_| {
        let _ = std::fs::remove_file(keyset_path(&spec.name));
    })
}

/// Removes the probe: the service (stopped first) and its keyset file. 1060 when it is not
/// installed.
pub fn uninstall(service: &str) -> Result<(), HostError> {
    let r = scm::delete(service);
    let _ = std::fs::remove_file(keyset_path(service));
    r
}

// The service side. The SCM calls `service_main` on its own thread and `handler` on the
// dispatcher thread; they share the status handle and a stop channel.
static SERVICE_NAME: OnceLock<Vec<u16>> = OnceLock::new();
static KEYSET: OnceLock<PathBuf> = OnceLock::new();
static STATUS_HANDLE: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(std::ptr::null_mut());
static STOP: OnceLock<Mutex<Option<Sender<()>>>> = OnceLock::new();

fn set_status(state: u32, win32_exit: u32, service_exit: u32) {
    let status = SERVICE_STATUS {
        dwServiceType: SERVICE_WIN32_OWN_PROCESS,
        dwCurrentState: state,
        dwControlsAccepted: if state == SERVICE_RUNNING {
            SERVICE_ACCEPT_STOP
        } else {
            0
        },
        dwWin32ExitCode: win32_exit,
        dwServiceSpecificExitCode: service_exit,
        dwCheckPoint: 0,
        dwWaitHint: if state == SERVICE_RUNNING || state == SERVICE_STOPPED {
            0
        } else {
            10_000
        },
    };
    let h: SERVICE_STATUS_HANDLE = STATUS_HANDLE.load(Ordering::SeqCst);
    if !h.is_null() {
        // SAFETY: the handle came from RegisterServiceCtrlHandlerExW and stays valid for the
        // process's life; the status is a local that outlives the call.
        unsafe { SetServiceStatus(h, &status) };
    }
}

unsafe extern "system" fn handler(
    control: u32,
    _event_type: u32,
    _event_data: *mut core::ffi::c_void,
    _context: *mut core::ffi::c_void,
) -> u32 {
    match control {
        SERVICE_CONTROL_STOP => {
            set_status(SERVICE_STOP_PENDING, NO_ERROR, 0);
            if let Some(tx) = STOP.get().and_then(|m| m.lock().ok()?.take()) {
                let _ = tx.send(());
            }
            NO_ERROR
        }
        SERVICE_CONTROL_INTERROGATE => NO_ERROR,
        _ => ERROR_CALL_NOT_IMPLEMENTED,
    }
}

/// What the probe does at start: unprotect its keyset as the service's own account.
fn keyset_opens(path: &std::path::Path) -> bool {
    read_keyset_at(path).is_some_and(|(blob, entropy)| dpapi::unprotect(&blob, &entropy).is_ok())
}

unsafe extern "system" fn service_main(_argc: u32, _argv: *mut windows_sys::core::PWSTR) {
    let Some(name) = SERVICE_NAME.get() else {
        return;
    };
    // SAFETY: the name is a NUL-terminated static; the handler is a valid `extern "system"` fn
    // for the life of the process.
    let h =
        unsafe { RegisterServiceCtrlHandlerExW(name.as_ptr(), Some(handler), std::ptr::null()) };
    if h.is_null() {
        return;
    }
    STATUS_HANDLE.store(h, Ordering::SeqCst);
    let (tx, rx): (Sender<()>, Receiver<()>) = channel();
    let _ = STOP.set(Mutex::new(Some(tx)));
    set_status(SERVICE_START_PENDING, NO_ERROR, 0);
    if !KEYSET.get().is_some_and(|p| keyset_opens(p)) {
        // What ADSync does when it cannot read its keyset (sim_core::adsync::engine::keyset_unreadable).
        let _ = events::report_error(ADSYNC_SOURCE, EVENT_6028_ID, EVENT_6028_TEXT);
        set_status(
            SERVICE_STOPPED,
            ERROR_SERVICE_SPECIFIC_ERROR,
            KEYSET_SERVICE_EXIT_CODE,
        );
        return;
    }
    set_status(SERVICE_RUNNING, NO_ERROR, 0);
    let _ = rx.recv();
    set_status(SERVICE_STOPPED, NO_ERROR, 0);
}

/// `adsync-sim probe-service run --name SERVICE --keyset PATH`: hands the process to the SCM's
/// dispatcher and returns when the service stopped. Fails with 1063 when not started by the SCM.
pub fn run(service: &str, keyset: &std::path::Path) -> Result<(), HostError> {
    let name = wide("StartServiceCtrlDispatcherW", service)?;
    let _ = KEYSET.set(keyset.to_owned());
    let name = SERVICE_NAME.get_or_init(|| name);
    let table = [
        SERVICE_TABLE_ENTRYW {
            lpServiceName: name.as_ptr().cast_mut(),
            lpServiceProc: Some(service_main),
        },
        SERVICE_TABLE_ENTRYW {
            lpServiceName: std::ptr::null_mut(),
            lpServiceProc: None,
        },
    ];
    // SAFETY: a null-terminated table whose name is a static NUL-terminated string; the call
    // blocks until every service of the process stopped.
    if unsafe { StartServiceCtrlDispatcherW(table.as_ptr()) } == 0 {
        return Err(last_error("StartServiceCtrlDispatcherW"));
    }
    Ok(())
}
