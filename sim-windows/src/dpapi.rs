//! DPAPI on the real host: CryptProtectData / CryptUnprotectData as the calling user, and as
//! another account through LogonUserW, LoadUserProfileW (DPAPI keeps a user's master keys in
//! the profile) and ImpersonateLoggedOnUser.

use sim_core::backend::{HostError, Principal};
use sim_core::command::Secret;
use sim_core::dpapi::secret::SecretBytes;
use windows_sys::Win32::Foundation::{HANDLE, HLOCAL, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
};
use windows_sys::Win32::Security::{
    ImpersonateLoggedOnUser, LOGON32_LOGON_INTERACTIVE, LOGON32_LOGON_SERVICE,
    LOGON32_PROVIDER_DEFAULT, LogonUserW, RevertToSelf,
};
use windows_sys::Win32::UI::Shell::{LoadUserProfileW, PROFILEINFOW, UnloadUserProfile};
use zeroize::Zeroizing;

use crate::error::{last_error, last_error_code};
use crate::ffi::{OwnedHandle, wide};

/// `(user, domain)` for LogonUserW: `.\NAME` and `NAME` are local (`.`), `DOMAIN\NAME` is kept.
pub fn split_account(account: &str) -> (&str, &str) {
    match account.split_once('\\') {
        Some((d, u)) => (u, d),
        None => (account, "."),
    }
}

fn blob_in(data: &[u8]) -> CRYPT_INTEGER_BLOB {
    CRYPT_INTEGER_BLOB {
        cbData: data.len() as u32,
        // The APIs take a mutable pointer but only read input blobs.
        pbData: data.as_ptr().cast_mut(),
    }
}

/// Copies an output blob and frees it with LocalFree, as the APIs require.
fn take_blob(out: CRYPT_INTEGER_BLOB) -> SecretBytes {
    let bytes = if out.pbData.is_null() {
        Vec::new()
    } else {
        // SAFETY: on success the API set pbData to a LocalAlloc'ed buffer of cbData bytes.
        unsafe { std::slice::from_raw_parts(out.pbData, out.cbData as usize) }.to_vec()
    };
    if !out.pbData.is_null() {
        // SAFETY: the buffer came from the API's LocalAlloc and is freed once, after the copy.
        unsafe { LocalFree(out.pbData as HLOCAL) };
    }
    SecretBytes::new(bytes)
}

/// CryptProtectData as the calling thread's user, without UI.
pub fn protect(data: &[u8], entropy: &[u8]) -> Result<Vec<u8>, HostError> {
    let input = blob_in(data);
    let ent = blob_in(entropy);
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    let description = wide("CryptProtectData", "adsync-sim")?;
    // SAFETY: every pointer refers to a live local for the duration of the call; the entropy
    // pointer is null when there is none; `out` receives a buffer we free in take_blob.
    let ok = unsafe {
        CryptProtectData(
            &input,
            description.as_ptr(),
            if entropy.is_empty() {
                std::ptr::null()
            } else {
                &ent
            },
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(last_error("CryptProtectData"));
    }
    Ok(take_blob(out).to_vec())
}

/// CryptUnprotectData as the calling thread's user, without UI: 13 for wrong entropy or a
/// damaged blob, 0x8009000B when the user's master key cannot be opened.
pub fn unprotect(blob: &[u8], entropy: &[u8]) -> Result<SecretBytes, HostError> {
    let input = blob_in(blob);
    let ent = blob_in(entropy);
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    // SAFETY: as in `protect`; no description is asked for.
    let ok = unsafe {
        CryptUnprotectData(
            &input,
            std::ptr::null_mut(),
            if entropy.is_empty() {
                std::ptr::null()
            } else {
                &ent
            },
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(last_error("CryptUnprotectData"));
    }
    Ok(take_blob(out))
}

/// The thread impersonating a logged-on account with its profile loaded; reverted, unloaded and
/// closed on drop, in that order.
#[derive(Debug)]
pub struct Impersonation {
    token: OwnedHandle,
    profile: HANDLE,
}

impl Impersonation {
    /// Logs `account` on with `password` (a service logon first, as the probe's account has
    /// "Log on as a service"; an interactive logon when that right is missing), loads its
    /// profile and impersonates it.
    pub fn begin(account: &str, password: &Secret) -> Result<Self, HostError> {
        let (user, domain) = split_account(account);
        let (u, d) = (wide("LogonUserW", user)?, wide("LogonUserW", domain)?);
        let p = Zeroizing::new(wide("LogonUserW", password.expose())?);
        let mut token: HANDLE = std::ptr::null_mut();
        let mut ok = 0;
        for logon_type in [LOGON32_LOGON_SERVICE, LOGON32_LOGON_INTERACTIVE] {
            // SAFETY: NUL-terminated strings that outlive the call; `token` receives a handle
            // we own (closed by OwnedHandle).
            ok = unsafe {
                LogonUserW(
                    u.as_ptr(),
                    d.as_ptr(),
                    p.as_ptr(),
                    logon_type,
                    LOGON32_PROVIDER_DEFAULT,
                    &mut token,
                )
            };
            if ok != 0 || last_error_code() != sim_core::win::text::win32::LOGON_TYPE_NOT_GRANTED {
                break;
            }
        }
        if ok == 0 {
            return Err(last_error("LogonUserW"));
        }
        let token = OwnedHandle(token);
        let mut name = wide("LoadUserProfileW", user)?;
        // SAFETY: PROFILEINFOW is a plain C struct for which all-zero is a valid value.
        let mut info: PROFILEINFOW = unsafe { std::mem::zeroed() };
        info.dwSize = std::mem::size_of::<PROFILEINFOW>() as u32;
        info.lpUserName = name.as_mut_ptr();
        // SAFETY: the token is a live logon token; `info` and the name it points to live across
        // the call; hProfile is set on success and unloaded on drop.
        if unsafe { LoadUserProfileW(token.0, &mut info) } == 0 {
            return Err(last_error("LoadUserProfileW"));
        }
        let guard = Self {
            token,
            profile: info.hProfile,
        };
        // SAFETY: the token is a live logon token; the impersonation ends in Drop.
        if unsafe { ImpersonateLoggedOnUser(guard.token.0) } == 0 {
            return Err(last_error("ImpersonateLoggedOnUser"));
        }
        Ok(guard)
    }
}

impl Drop for Impersonation {
    fn drop(&mut self) {
        // SAFETY: reverting is always valid on this thread, even without impersonation; the
        // profile handle came from LoadUserProfileW with this token.
        unsafe {
            RevertToSelf();
            if !self.profile.is_null() {
                UnloadUserProfile(self.token.0, self.profile);
            }
        }
    }
}

/// Runs `f` as `principal`.
pub fn as_principal<T>(
    principal: &Principal,
    f: impl FnOnce() -> Result<T, HostError>,
) -> Result<T, HostError> {
    match principal {
        Principal::Caller => f(),
        Principal::Account { name, password } => {
            let _as = Impersonation::begin(name, password)?;
            f()
        }
    }
}
