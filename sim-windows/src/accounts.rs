//! Local accounts: NetUserAdd, NetUserSetInfo (an administrative reset, level 1003),
//! NetUserChangePassword (the owner's change), NetUserDel; the "Log on as a service" right
//! (LsaAddAccountRights) a service account needs; and the profile DPAPI made (DeleteProfileW).
//!
//! Under Wine, NetUserSetInfo is not implemented and kills the process (see
//! `docs/windows-on-linux.md`): never call it there.

use sim_core::backend::HostError;
use sim_core::command::Secret;
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::NetworkManagement::NetManagement::{
    NetUserAdd, NetUserChangePassword, NetUserDel, NetUserSetInfo, UF_DONT_EXPIRE_PASSWD,
    UF_SCRIPT, USER_INFO_1, USER_INFO_1003, USER_PRIV_USER,
};
use windows_sys::Win32::Security::Authentication::Identity::{
    LSA_OBJECT_ATTRIBUTES, LSA_UNICODE_STRING, LsaAddAccountRights, LsaClose,
    LsaNtStatusToWinError, LsaOpenPolicy, LsaRemoveAccountRights, POLICY_CREATE_ACCOUNT,
    POLICY_LOOKUP_NAMES,
};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{LookupAccountNameW, PSID, SECURITY_MAX_SID_SIZE, SID_NAME_USE};
use windows_sys::Win32::UI::Shell::DeleteProfileW;
use zeroize::Zeroizing;

use crate::error::{last_error, win32_error};
use crate::ffi::wide;
use crate::wide::from_wide;

fn plain(name: &str) -> &str {
    name.strip_prefix(".\\").unwrap_or(name)
}

fn net(call: &'static str, status: u32) -> Result<(), HostError> {
    if status == 0 {
        Ok(())
    } else {
        Err(win32_error(call, status))
    }
}

/// NetUserAdd level 1: a local user whose password does not expire. 2224 when the name is taken.
pub fn add(name: &str, password: &Secret) -> Result<(), HostError> {
    let mut n = wide("NetUserAdd", plain(name))?;
    let mut p = Zeroizing::new(wide("NetUserAdd", password.expose())?);
    let info = USER_INFO_1 {
        usri1_name: n.as_mut_ptr(),
        usri1_password: p.as_mut_ptr(),
        usri1_password_age: 0,
        usri1_priv: USER_PRIV_USER,
        usri1_home_dir: std::ptr::null_mut(),
        usri1_comment: std::ptr::null_mut(),
        usri1_flags: UF_SCRIPT | UF_DONT_EXPIRE_PASSWD,
        usri1_script_path: std::ptr::null_mut(),
    };
    let mut parm_err = 0u32;
    // SAFETY: level 1 takes a USER_INFO_1 whose strings live across the call; local server.
    let status = unsafe {
        NetUserAdd(
            std::ptr::null(),
            1,
            (&info as *const USER_INFO_1).cast(),
            &mut parm_err,
        )
    };
    net("NetUserAdd", status)
}

/// NetUserSetInfo level 1003: an administrator sets a new password without the old one.
pub fn reset(name: &str, password: &Secret) -> Result<(), HostError> {
    let n = wide("NetUserSetInfo", plain(name))?;
    let mut p = Zeroizing::new(wide("NetUserSetInfo", password.expose())?);
    let info = USER_INFO_1003 {
        usri1003_password: p.as_mut_ptr(),
    };
    let mut parm_err = 0u32;
    // SAFETY: level 1003 takes a USER_INFO_1003 whose string lives across the call.
    let status = unsafe {
        NetUserSetInfo(
            std::ptr::null(),
            n.as_ptr(),
            1003,
            (&info as *const USER_INFO_1003).cast(),
            &mut parm_err,
        )
    };
    net("NetUserSetInfo", status)
}

/// NetUserChangePassword on this computer: 86 when the old password is wrong.
pub fn change(name: &str, old: &Secret, new: &Secret) -> Result<(), HostError> {
    let computer = std::env::var("COMPUTERNAME").unwrap_or_default();
    let d = wide("NetUserChangePassword", &computer)?;
    let n = wide("NetUserChangePassword", plain(name))?;
    let o = Zeroizing::new(wide("NetUserChangePassword", old.expose())?);
    let w = Zeroizing::new(wide("NetUserChangePassword", new.expose())?);
    // SAFETY: NUL-terminated strings that outlive the call; an empty domain means this one.
    let status = unsafe {
        NetUserChangePassword(
            if computer.is_empty() {
                std::ptr::null()
            } else {
                d.as_ptr()
            },
            n.as_ptr(),
            o.as_ptr(),
            w.as_ptr(),
        )
    };
    net("NetUserChangePassword", status)
}

/// NetUserDel: 2221 when there is no such user.
pub fn delete(name: &str) -> Result<(), HostError> {
    let n = wide("NetUserDel", plain(name))?;
    // SAFETY: a NUL-terminated name; local server.
    net("NetUserDel", unsafe {
        NetUserDel(std::ptr::null(), n.as_ptr())
    })
}

/// An account's SID (LookupAccountNameW), as bytes.
pub fn sid(name: &str) -> Result<Vec<u8>, HostError> {
    let n = wide("LookupAccountNameW", plain(name))?;
    let mut sid = vec![0u8; SECURITY_MAX_SID_SIZE as usize];
    let mut sid_len = sid.len() as u32;
    let mut domain = [0u16; 256];
    let mut domain_len = domain.len() as u32;
    let mut kind: SID_NAME_USE = 0;
    // SAFETY: the buffers are ours and their sizes are passed; the SID fits SECURITY_MAX_SID_SIZE.
    let ok = unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            n.as_ptr(),
            sid.as_mut_ptr().cast(),
            &mut sid_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if ok == 0 {
        return Err(last_error("LookupAccountNameW"));
    }
    sid.truncate(sid_len as usize);
    Ok(sid)
}

/// A SID as `S-1-5-21-…` (ConvertSidToStringSidW).
pub fn sid_string(sid: &[u8]) -> Result<String, HostError> {
    let mut out: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` holds a valid SID from LookupAccountNameW; `out` receives a LocalAlloc'ed
    // string we free below.
    if unsafe { ConvertSidToStringSidW(sid.as_ptr() as PSID, &mut out) } == 0 {
        return Err(last_error("ConvertSidToStringSidW"));
    }
    let mut len = 0;
    // SAFETY: the API returned a NUL-terminated string.
    while unsafe { *out.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units were just read; the buffer is freed once, after the copy.
    let s = from_wide(unsafe { std::slice::from_raw_parts(out, len) });
    // SAFETY: see above.
    unsafe { LocalFree(out as HLOCAL) };
    Ok(s)
}

const SERVICE_LOGON_RIGHT: &str = "SeServiceLogonRight";

/// Grants (`true`) or removes every right of (`false`) an account in the local security
/// policy: services log on with "Log on as a service" (`SeServiceLogonRight`). Removing all
/// rights also deletes the account's entry from the policy, so nothing is left behind.
pub fn service_logon_right(name: &str, grant: bool) -> Result<(), HostError> {
    let sid = sid(name)?;
    // SAFETY: LSA_OBJECT_ATTRIBUTES is a plain C struct; all-zero is what LsaOpenPolicy wants.
    let attrs: LSA_OBJECT_ATTRIBUTES = unsafe { std::mem::zeroed() };
    let mut policy = 0isize;
    // SAFETY: local system (null name), zeroed attributes, `policy` receives a handle closed
    // below.
    let status = unsafe {
        LsaOpenPolicy(
            std::ptr::null(),
            &attrs,
            (POLICY_CREATE_ACCOUNT | POLICY_LOOKUP_NAMES) as u32,
            &mut policy,
        )
    };
    if status != 0 {
        // SAFETY: converts a status value; no pointers.
        return Err(win32_error("LsaOpenPolicy", unsafe {
            LsaNtStatusToWinError(status)
        }));
    }
    let mut right = wide("LsaAddAccountRights", SERVICE_LOGON_RIGHT)?;
    let bytes = ((right.len() - 1) * 2) as u16;
    let us = LSA_UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes + 2,
        Buffer: right.as_mut_ptr(),
    };
    // SAFETY: a live policy handle, the account's SID, and one LSA_UNICODE_STRING over `right`.
    let status = unsafe {
        if grant {
            LsaAddAccountRights(policy, sid.as_ptr() as PSID, &us, 1)
        } else {
            LsaRemoveAccountRights(policy, sid.as_ptr() as PSID, true, std::ptr::null(), 0)
        }
    };
    // SAFETY: the handle came from LsaOpenPolicy and is closed once.
    unsafe { LsaClose(policy) };
    if status != 0 {
        // SAFETY: converts a status value; no pointers.
        let code = unsafe { LsaNtStatusToWinError(status) };
        // 2 (no such account in the policy) means there is nothing to remove.
        if grant || code != 2 {
            return Err(win32_error(
                if grant {
                    "LsaAddAccountRights"
                } else {
                    "LsaRemoveAccountRights"
                },
                code,
            ));
        }
    }
    Ok(())
}

/// Deletes the profile Windows made for a SID (`C:\Users\NAME`, its registry hive), as
/// DeleteProfileW does; 2 when there is none.
pub fn delete_profile(sid_string: &str) -> Result<(), HostError> {
    let s = wide("DeleteProfileW", sid_string)?;
    // SAFETY: a NUL-terminated SID string; default path and local computer.
    if unsafe { DeleteProfileW(s.as_ptr(), std::ptr::null(), std::ptr::null()) } == 0 {
        return Err(last_error("DeleteProfileW"));
    }
    Ok(())
}
