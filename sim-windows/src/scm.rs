//! The Service Control Manager: OpenSCManagerW, CreateServiceW, ChangeServiceConfigW,
//! StartServiceW, QueryServiceStatusEx, QueryServiceConfigW, ControlService, DeleteService.
//!
//! Like the simulator (its named choice in `sim_core::win::scm`), a start or stop waits for the
//! service to settle, so a service that stops during its start reports 1066 and its
//! service-specific code instead of `START_PENDING`.

use std::time::{Duration, Instant};

use sim_core::backend::{HostError, ServiceSpec};
use sim_core::win::scm::{ServiceState, StartType};
use sim_core::win::text::win32;
use windows_sys::Win32::System::Services::{
    ChangeServiceConfigW, CloseServiceHandle, ControlService, CreateServiceW, DeleteService,
    OpenSCManagerW, OpenServiceW, QUERY_SERVICE_CONFIGW, QueryServiceConfigW, QueryServiceStatusEx,
    SC_HANDLE, SC_MANAGER_ALL_ACCESS, SC_MANAGER_CONNECT, SC_STATUS_PROCESS_INFO,
    SERVICE_ALL_ACCESS, SERVICE_AUTO_START, SERVICE_CONTROL_STOP, SERVICE_DEMAND_START,
    SERVICE_DISABLED, SERVICE_ERROR_NORMAL, SERVICE_NO_CHANGE, SERVICE_QUERY_CONFIG,
    SERVICE_QUERY_STATUS, SERVICE_STATUS, SERVICE_STATUS_PROCESS, SERVICE_WIN32_OWN_PROCESS,
    StartServiceW,
};

use crate::error::{last_error, last_error_code, win32_error};
use crate::ffi::wide;
use crate::wide::from_wide;

/// How long a start or stop may take to settle (the SCM's own start timeout is 30 s).
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(45);

/// An SCM handle closed on drop.
#[derive(Debug)]
pub struct ScHandle(SC_HANDLE);

impl Drop for ScHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenSCManagerW / OpenServiceW / CreateServiceW and is
        // closed once.
        unsafe { CloseServiceHandle(self.0) };
    }
}

/// The local SCM with full access (the caller must be an administrator).
pub fn manager() -> Result<ScHandle, HostError> {
    // SAFETY: null machine and database name mean the local active database.
    let h = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ALL_ACCESS) };
    if h.is_null() {
        return Err(last_error("OpenSCManagerW"));
    }
    Ok(ScHandle(h))
}

/// Opens a service; 1060 when it does not exist.
pub fn open(name: &str, access: u32) -> Result<ScHandle, HostError> {
    let scm = manager()?;
    let n = wide("OpenServiceW", name)?;
    // SAFETY: a live SCM handle and a NUL-terminated name.
    let h = unsafe { OpenServiceW(scm.0, n.as_ptr(), access) };
    if h.is_null() {
        return Err(last_error("OpenServiceW"));
    }
    Ok(ScHandle(h))
}

/// CreateServiceW: a demand-start own-process service under `spec.account`.
pub fn create(spec: &ServiceSpec) -> Result<(), HostError> {
    let scm = manager()?;
    let name = wide("CreateServiceW", &spec.name)?;
    let display = wide("CreateServiceW", &spec.display_name)?;
    let path = wide("CreateServiceW", &spec.binary_path)?;
    let account = wide("CreateServiceW", &spec.account)?;
    let password = match &spec.password {
        Some(p) => Some(zeroize::Zeroizing::new(wide("CreateServiceW", p.expose())?)),
        None => None,
    };
    // SAFETY: every string is NUL-terminated and outlives the call; optional ones are null.
    let h = unsafe {
        CreateServiceW(
            scm.0,
            name.as_ptr(),
            display.as_ptr(),
            SERVICE_ALL_ACCESS,
            SERVICE_WIN32_OWN_PROCESS,
            SERVICE_DEMAND_START,
            SERVICE_ERROR_NORMAL,
            path.as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            account.as_ptr(),
            password.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
        )
    };
    if h.is_null() {
        return Err(last_error("CreateServiceW"));
    }
    drop(ScHandle(h));
    Ok(())
}

/// ChangeServiceConfigW of the logon account, its stored password and/or the start type.
pub fn config(
    name: &str,
    account: Option<&str>,
    password: Option<&sim_core::command::Secret>,
    start: Option<StartType>,
) -> Result<(), HostError> {
    let svc = open(name, SERVICE_ALL_ACCESS)?;
    let account = account
        .map(|a| wide("ChangeServiceConfigW", a))
        .transpose()?;
    let password = match password {
        Some(p) => Some(zeroize::Zeroizing::new(wide(
            "ChangeServiceConfigW",
            p.expose(),
        )?)),
        None => None,
    };
    // SAFETY: a live service handle; null strings leave those settings unchanged.
    let ok = unsafe {
        ChangeServiceConfigW(
            svc.0,
            SERVICE_NO_CHANGE,
            match start {
                Some(StartType::Auto) => SERVICE_AUTO_START,
                Some(StartType::Demand) => SERVICE_DEMAND_START,
                Some(StartType::Disabled) => SERVICE_DISABLED,
                None => SERVICE_NO_CHANGE,
            },
            SERVICE_NO_CHANGE,
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            account.as_ref().map_or(std::ptr::null(), |a| a.as_ptr()),
            password.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            std::ptr::null(),
        )
    };
    if ok == 0 {
        return Err(last_error("ChangeServiceConfigW"));
    }
    Ok(())
}

/// A service's status as QueryServiceStatusEx reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// `dwCurrentState`.
    pub state: u32,
    /// `dwWin32ExitCode`.
    pub win32_exit_code: u32,
    /// `dwServiceSpecificExitCode`.
    pub service_exit_code: u32,
    /// `dwProcessId`.
    pub pid: u32,
}

impl Status {
    /// The state as the simulator names it (`PAUSED` and the like do not occur for the
    /// services the simulator drives; they read as running).
    pub fn state(&self) -> ServiceState {
        match self.state {
            1 => ServiceState::Stopped,
            2 => ServiceState::StartPending,
            3 => ServiceState::StopPending,
            _ => ServiceState::Running,
        }
    }
}

fn status_of(svc: &ScHandle) -> Result<Status, HostError> {
    // SAFETY: SERVICE_STATUS_PROCESS is a plain C struct; all-zero is valid.
    let mut s: SERVICE_STATUS_PROCESS = unsafe { std::mem::zeroed() };
    let mut needed = 0u32;
    // SAFETY: the buffer is the struct itself and its exact size is passed.
    let ok = unsafe {
        QueryServiceStatusEx(
            svc.0,
            SC_STATUS_PROCESS_INFO,
            (&mut s as *mut SERVICE_STATUS_PROCESS).cast(),
            std::mem::size_of::<SERVICE_STATUS_PROCESS>() as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(last_error("QueryServiceStatusEx"));
    }
    Ok(Status {
        state: s.dwCurrentState,
        win32_exit_code: s.dwWin32ExitCode,
        service_exit_code: s.dwServiceSpecificExitCode,
        pid: s.dwProcessId,
    })
}

/// QueryServiceStatusEx.
pub fn query(name: &str) -> Result<Status, HostError> {
    status_of(&open(name, SERVICE_QUERY_STATUS)?)
}

/// Opens a service for reading only (SC_MANAGER_CONNECT, SERVICE_QUERY_CONFIG and
/// SERVICE_QUERY_STATUS): what evidence collection needs, no more. 1060 when it does not exist.
pub fn open_read(name: &str) -> Result<ScHandle, HostError> {
    // SAFETY: null machine and database name mean the local active database.
    let h = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
    if h.is_null() {
        return Err(last_error("OpenSCManagerW"));
    }
    let scm = ScHandle(h);
    let n = wide("OpenServiceW", name)?;
    // SAFETY: a live SCM handle and a NUL-terminated name.
    let h = unsafe {
        OpenServiceW(
            scm.0,
            n.as_ptr(),
            SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS,
        )
    };
    if h.is_null() {
        return Err(last_error("OpenServiceW"));
    }
    Ok(ScHandle(h))
}

/// What `sc qc` and `sc queryex` show, read-only; `None` when the service does not exist.
pub fn query_read_only(
    name: &str,
) -> Result<
    Option<(
        sim_core::evidence::sc::QueryConfig,
        sim_core::evidence::sc::QueryEx,
    )>,
    HostError,
> {
    let svc = match open_read(name) {
        Ok(s) => s,
        Err(HostError::Win32 { code, .. }) if code == win32::SERVICE_DOES_NOT_EXIST => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let c = config_of(&svc)?;
    let st = status_of(&svc)?;
    Ok(Some((
        sim_core::evidence::sc::QueryConfig {
            name: name.to_owned(),
            start_type: c.start_type,
            binary_path: c.binary_path,
            display_name: c.display_name,
            account: c.account,
        },
        sim_core::evidence::sc::QueryEx {
            name: name.to_owned(),
            state: st.state(),
            win32_exit_code: st.win32_exit_code,
            service_exit_code: st.service_exit_code,
            pid: st.pid,
        },
    )))
}

/// A service's configuration as QueryServiceConfigW returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `dwStartType`.
    pub start_type: u32,
    /// `lpBinaryPathName`.
    pub binary_path: String,
    /// `lpDisplayName`.
    pub display_name: String,
    /// `lpServiceStartName`.
    pub account: String,
}

/// The display name and logon account (QueryServiceConfigW).
pub fn query_config(name: &str) -> Result<(String, String), HostError> {
    let c = config_of(&open(name, SERVICE_QUERY_CONFIG)?)?;
    Ok((c.display_name, c.account))
}

fn config_of(svc: &ScHandle) -> Result<Config, HostError> {
    let mut needed = 0u32;
    // SAFETY: a size query: null buffer of size 0; it fails with 122 and sets `needed`.
    unsafe { QueryServiceConfigW(svc.0, std::ptr::null_mut(), 0, &mut needed) };
    // u64 elements keep the buffer aligned for QUERY_SERVICE_CONFIGW.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(8)];
    let size = (buf.len() * 8) as u32;
    let cfg = buf.as_mut_ptr().cast::<QUERY_SERVICE_CONFIGW>();
    // SAFETY: the buffer is aligned, at least `needed` bytes, and its size is passed.
    if unsafe { QueryServiceConfigW(svc.0, cfg, size, &mut needed) } == 0 {
        return Err(last_error("QueryServiceConfigW"));
    }
    // SAFETY: on success the struct is initialised and its string pointers point into `buf`
    // (or are null), NUL-terminated.
    let read = |p: *mut u16| {
        if p.is_null() {
            return String::new();
        }
        let mut len = 0;
        // SAFETY: see above: a NUL-terminated string inside `buf`.
        while unsafe { *p.add(len) } != 0 {
            len += 1;
        }
        // SAFETY: `len` units were just read from this string.
        from_wide(unsafe { std::slice::from_raw_parts(p, len) })
    };
    // SAFETY: see above.
    let (start_type, path, display, account) = unsafe {
        (
            (*cfg).dwStartType,
            (*cfg).lpBinaryPathName,
            (*cfg).lpDisplayName,
            (*cfg).lpServiceStartName,
        )
    };
    Ok(Config {
        start_type,
        binary_path: read(path),
        display_name: read(display),
        account: read(account),
    })
}

fn wait_while(svc: &ScHandle, pending: u32) -> Result<Status, HostError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let s = status_of(svc)?;
        if s.state != pending || Instant::now() > deadline {
            return Ok(s);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// StartServiceW, then waits for the service to settle. `Ok(code)`: 0 when it runs, the
/// service's Win32 exit code (1066 with a service-specific code) when it stopped during its
/// start, or StartServiceW's own error (1069, 1056, 1058, 1053, 2).
pub fn start(name: &str) -> Result<(u32, Status), HostError> {
    let svc = open(name, SERVICE_ALL_ACCESS)?;
    // SAFETY: a live handle with START access; no arguments.
    if unsafe { StartServiceW(svc.0, 0, std::ptr::null()) } == 0 {
        let code = last_error_code();
        return Ok((code, status_of(&svc)?));
    }
    let s = wait_while(&svc, 2)?;
    let code = if s.state == 1 {
        s.win32_exit_code
    } else {
        win32::SUCCESS
    };
    Ok((code, s))
}

/// ControlService(SERVICE_CONTROL_STOP), then waits for it to stop. `Ok(1062)` when it was not
/// running.
pub fn stop(name: &str) -> Result<(u32, Status), HostError> {
    let svc = open(name, SERVICE_ALL_ACCESS)?;
    // SAFETY: SERVICE_STATUS is a plain C struct; all-zero is valid.
    let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: a live handle with STOP access and a status struct to fill.
    if unsafe { ControlService(svc.0, SERVICE_CONTROL_STOP, &mut st) } == 0 {
        let code = last_error_code();
        return Ok((code, status_of(&svc)?));
    }
    Ok((win32::SUCCESS, wait_while(&svc, 3)?))
}

/// DeleteService. A running service is stopped first, so the name is free when this returns
/// (the simulator's named choice; Windows would only mark it for deletion).
pub fn delete(name: &str) -> Result<(), HostError> {
    let svc = open(name, SERVICE_ALL_ACCESS)?;
    if status_of(&svc)?.state != 1 {
        stop(name)?;
    }
    // SAFETY: a live handle with DELETE access.
    if unsafe { DeleteService(svc.0) } == 0 {
        return Err(last_error("DeleteService"));
    }
    drop(svc);
    // The SCM removes the entry once the last handle closes; wait until the name is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match open(name, SERVICE_QUERY_STATUS) {
            Err(HostError::Win32 { code, .. }) if code == win32::SERVICE_DOES_NOT_EXIST => {
                return Ok(());
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(win32_error(
        "DeleteService",
        win32::SERVICE_MARKED_FOR_DELETE,
    ))
}
