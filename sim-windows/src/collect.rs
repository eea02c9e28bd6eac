//! Evidence collection on this Windows server, natively and read-only (`adsync-sim collect
//! --out DIR`, `diagnose --host local`): the same bundle the collection script writes
//! (`sim_core::evidence`, docs/design.md §8).
//!
//! - events: EvtQuery with the script's XPath queries, each record as EvtRender's XML (what
//!   `wevtutil qe /f:xml` prints);
//! - the service: OpenSCManagerW(SC_MANAGER_CONNECT), QueryServiceConfigW and
//!   QueryServiceStatusEx, formatted as sc.exe prints them;
//! - the build: `HKLM\SOFTWARE\Microsoft\AD Sync` `Location` (RegGetValueW), then
//!   `Bin\miiserver.exe`'s fixed file version (GetFileVersionInfoW; docs/adsync.md §1);
//! - the domain: GetComputerNameExW(ComputerNameDnsDomain), the NetBIOS name from
//!   `Winlogon\CachePrimaryDomain`, and DsGetDcNameW(DS_WRITABLE_REQUIRED) for a writable DC;
//! - the connectors: the ADSync PowerShell module (there is no native API), through
//!   `powershell.exe -NonInteractive` running [`sim_core::evidence::script::connectors_script`];
//!   when that fails, the manifest says so.

use sim_core::backend::HostError;
use sim_core::evidence::sc::{missing_text, qc_text, queryex_text};
use sim_core::evidence::{
    self, APPLICATION_XML, Bundle, CONNECTORS, FORMAT, MANIFEST, Manifest, ManifestAccount,
    ManifestDomain, SC_QC, SC_QUERYEX, SYSTEM_XML, account_kind, script,
};
use sim_core::win::eventlog::LogName;
use sim_core::world::ADSYNC_SERVICE;
use windows_sys::Win32::Foundation::ERROR_SUCCESS;
use windows_sys::Win32::NetworkManagement::NetManagement::NetApiBufferFree;
use windows_sys::Win32::Networking::ActiveDirectory::{
    DOMAIN_CONTROLLER_INFOW, DS_WRITABLE_REQUIRED, DsGetDcNameW,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetFileVersionInfoSizeW, GetFileVersionInfoW, VS_FIXEDFILEINFO, VerQueryValueW,
};
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
use windows_sys::Win32::System::SystemInformation::{
    ComputerNameDnsDomain, ComputerNameNetBIOS, GetComputerNameExW,
};

use crate::error::win32_error;
use crate::events;
use crate::ffi::wide;
use crate::scm;
use crate::wide::from_wide;

/// Most records read per log (the script's `-MaxEvents` default).
pub const MAX_EVENTS: usize = 2000;

/// What collected the bundle, as the manifest says.
pub const COLLECTOR: &str = "adsync-sim collect";

/// A string value under HKLM (RegGetValueW, REG_SZ only); `None` when absent.
fn registry_string(key: &str, value: &str) -> Result<Option<String>, HostError> {
    let k = wide("RegGetValueW", key)?;
    let v = wide("RegGetValueW", value)?;
    let mut size = 0u32;
    // SAFETY: a size query: NUL-terminated key and value names, null buffer.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            k.as_ptr(),
            v.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut size,
        )
    };
    if rc != ERROR_SUCCESS {
        return Ok(None);
    }
    let mut buf = vec![0u16; (size as usize).div_ceil(2).max(1)];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: the buffer holds `size` bytes, as passed.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            k.as_ptr(),
            v.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(win32_error("RegGetValueW", rc));
    }
    Ok(Some(from_wide(&buf)))
}

/// A file's fixed version (`VS_FIXEDFILEINFO`) as `a.b.c.d`.
fn file_version(path: &str) -> Result<String, HostError> {
    let p = wide("GetFileVersionInfoW", path)?;
    let mut handle = 0u32;
    // SAFETY: a NUL-terminated path.
    let size = unsafe { GetFileVersionInfoSizeW(p.as_ptr(), &mut handle) };
    if size == 0 {
        return Err(crate::error::last_error("GetFileVersionInfoSizeW"));
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: the buffer holds `size` bytes, as passed.
    if unsafe { GetFileVersionInfoW(p.as_ptr(), 0, size, buf.as_mut_ptr().cast()) } == 0 {
        return Err(crate::error::last_error("GetFileVersionInfoW"));
    }
    let root = [u16::from(b'\\'), 0];
    let mut info: *mut core::ffi::c_void = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `buf` holds the version resource; the root block's pointer points into it.
    let ok = unsafe { VerQueryValueW(buf.as_ptr().cast(), root.as_ptr(), &mut info, &mut len) };
    if ok == 0 || info.is_null() || (len as usize) < std::mem::size_of::<VS_FIXEDFILEINFO>() {
        return Err(HostError::Unreadable {
            what: path.to_string(),
            reason: "it has no fixed file version".into(),
        });
    }
    // SAFETY: checked above: a VS_FIXEDFILEINFO inside `buf`, which is still alive; read
    // unaligned in case the resource is not aligned.
    let f = unsafe { std::ptr::read_unaligned(info.cast::<VS_FIXEDFILEINFO>()) };
    Ok(format!(
        "{}.{}.{}.{}",
        f.dwFileVersionMS >> 16,
        f.dwFileVersionMS & 0xFFFF,
        f.dwFileVersionLS >> 16,
        f.dwFileVersionLS & 0xFFFF
    ))
}

/// GetComputerNameExW of one format; empty when the computer has none (no domain).
fn computer_name(format: i32) -> String {
    let mut size = 0u32;
    // SAFETY: a size query with a null buffer.
    unsafe { GetComputerNameExW(format, std::ptr::null_mut(), &mut size) };
    let mut buf = vec![0u16; size as usize + 1];
    let mut size = buf.len() as u32;
    // SAFETY: the buffer holds `size` UTF-16 units, as passed.
    if unsafe { GetComputerNameExW(format, buf.as_mut_ptr(), &mut size) } == 0 {
        return String::new();
    }
    from_wide(&buf[..size as usize])
}

/// Whether a writable DC of `domain` answers (DsGetDcNameW with DS_WRITABLE_REQUIRED).
fn writable_dc(domain: &str) -> Result<bool, HostError> {
    let d = wide("DsGetDcNameW", domain)?;
    let mut info: *mut DOMAIN_CONTROLLER_INFOW = std::ptr::null_mut();
    // SAFETY: local computer, a NUL-terminated domain name, no GUID or site; `info` receives a
    // buffer freed below.
    let rc = unsafe {
        DsGetDcNameW(
            std::ptr::null(),
            d.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            DS_WRITABLE_REQUIRED,
            &mut info,
        )
    };
    if !info.is_null() {
        // SAFETY: the buffer DsGetDcNameW allocated, freed once.
        unsafe { NetApiBufferFree(info.cast()) };
    }
    Ok(rc == ERROR_SUCCESS)
}

/// The connectors through the ADSync module (`powershell.exe -NonInteractive`), as
/// `adsync/connectors.json`; the reason when it cannot.
fn connectors_json() -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("powershell.exe")
        .args([
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            &script::connectors_script(),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("powershell.exe did not run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "the ADSync module: {}",
            err.lines().next().unwrap_or("powershell.exe failed")
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    serde_json::from_str::<evidence::ConnectorsFile>(&text)
        .map_err(|e| format!("the ADSync module's answer is not the expected JSON: {e}"))?;
    Ok(text.into_bytes())
}

/// Collects the bundle on this server. Nothing is changed; no secret is read.
pub fn collect() -> Result<Bundle, HostError> {
    let mut bundle = Bundle::default();
    let mut not_collected = Vec::new();
    let svc = scm::query_read_only(ADSYNC_SERVICE)?;
    let display = match &svc {
        Some((c, q)) => {
            bundle.put(SC_QC, qc_text(c));
            bundle.put(SC_QUERYEX, queryex_text(q));
            c.display_name.clone()
        }
        None => {
            bundle.put(SC_QC, missing_text());
            bundle.put(SC_QUERYEX, missing_text());
            "Microsoft Azure AD Sync".to_owned()
        }
    };
    for (log, file, xpath) in [
        (LogName::System, SYSTEM_XML, script::system_query(&display)),
        (
            LogName::Application,
            APPLICATION_XML,
            script::APPLICATION_QUERY.to_owned(),
        ),
    ] {
        match events::query_xml(log, &xpath, MAX_EVENTS) {
            Ok(lines) => {
                let mut text = lines.join("\r\n");
                if !text.is_empty() {
                    text.push_str("\r\n");
                }
                bundle.put(file, text);
            }
            Err(e) => not_collected.push(format!("the {} log: {e}", log.as_str())),
        }
    }
    let mut build = None;
    match registry_string("SOFTWARE\\Microsoft\\AD Sync", "Location")? {
        Some(loc) => {
            let exe = format!("{}\\Bin\\miiserver.exe", loc.trim_end_matches('\\'));
            match file_version(&exe) {
                Ok(v) => build = Some(v),
                Err(e) => not_collected.push(format!("the installed build: {e}")),
            }
        }
        None => not_collected
            .push("the installed build: HKLM\\SOFTWARE\\Microsoft\\AD Sync has no Location".into()),
    }
    let host = computer_name(ComputerNameNetBIOS);
    let dns_domain = computer_name(ComputerNameDnsDomain);
    let computer = if dns_domain.is_empty() {
        host.clone()
    } else {
        format!("{host}.{dns_domain}")
    };
    let domain = if dns_domain.is_empty() {
        None
    } else {
        let netbios = registry_string(
            "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon",
            "CachePrimaryDomain",
        )?
        .unwrap_or_default();
        Some(ManifestDomain {
            dc_reachable: Some(writable_dc(&dns_domain)?),
            dns: dns_domain,
            netbios,
        })
    };
    if svc.is_some() {
        match connectors_json() {
            Ok(j) => bundle.put(CONNECTORS, j),
            Err(e) => not_collected.push(format!("the connectors: {e}")),
        }
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        computer: computer.clone(),
        collected: sim_core::filetime::FileTime::from_unix_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
        .to_string(),
        collector: Some(COLLECTOR.to_owned()),
        build_source: build
            .as_ref()
            .map(|_| "miiserver.exe file version".to_owned()),
        build,
        service_account: svc.as_ref().map(|(c, _)| ManifestAccount {
            name: c.account.clone(),
            kind: account_kind(&c.account, &computer).to_owned(),
        }),
        domain,
        not_collected,
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| HostError::Unreadable {
        what: "the manifest".into(),
        reason: e.to_string(),
    })?;
    bundle.put(MANIFEST, json + "\n");
    Ok(bundle)
}
