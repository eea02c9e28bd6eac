//! Small shared pieces: strings to Win32, the Wine check, and owned handles.

use sim_core::backend::HostError;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};

use crate::wide::to_wide;

/// `s` as a NUL-terminated UTF-16 buffer, or a refusal naming what was passed.
pub(crate) fn wide(what: &str, s: &str) -> Result<Vec<u16>, HostError> {
    to_wide(s).map_err(|e| HostError::Refused {
        command: what.to_owned(),
        reason: e.to_string(),
    })
}

/// Whether the process runs under Wine: Wine's ntdll exports `wine_get_version`, Windows' does
/// not.
pub fn is_wine() -> bool {
    let ntdll = to_wide("ntdll.dll").unwrap_or_default();
    // SAFETY: the name is a NUL-terminated UTF-16 string that outlives the call; ntdll is mapped
    // into every process, so the module handle needs no reference counting.
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return false;
    }
    // SAFETY: the module handle is valid (above) and the name is a NUL-terminated ANSI literal.
    unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some()
}

/// A kernel handle closed on drop.
#[derive(Debug)]
pub(crate) struct OwnedHandle(pub(crate) HANDLE);

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the handle was returned open by the API that made it and is closed once.
            unsafe { CloseHandle(self.0) };
        }
    }
}
