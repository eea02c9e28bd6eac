//! Win32 errors as the simulator reports them: `HostError::Win32` with the call, the code and
//! the system's own message (FormatMessageW), so a Windows outcome and a simulated one carry the
//! same result codes.

use sim_core::backend::HostError;
use sim_core::win::text::win32;
use windows_sys::Win32::Foundation::GetLastError;
use windows_sys::Win32::System::Diagnostics::Debug::{
    FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, FormatMessageW,
};

use crate::wide::{from_wide, trim_message};

/// The system message of a Win32 code or HRESULT. Network-management codes (`NERR_*`, 2100 to
/// 2999) live in netmsg.dll, not the system table: for those, and for any code the system does
/// not know, the simulator's text is used.
pub fn message(code: u32) -> String {
    let mut buf = [0u16; 512];
    // SAFETY: FROM_SYSTEM with IGNORE_INSERTS reads no source and no arguments; the buffer is
    // ours and its length in UTF-16 units is passed, so the call writes inside it.
    let n = unsafe {
        FormatMessageW(
            FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
            std::ptr::null(),
            code,
            0,
            buf.as_mut_ptr(),
            buf.len() as u32,
            std::ptr::null(),
        )
    };
    if n == 0 {
        return win32::message(code).to_owned();
    }
    trim_message(&from_wide(&buf[..n as usize])).to_owned()
}

/// `HostError::Win32` for `call` failing with `code`.
pub fn win32_error(call: &'static str, code: u32) -> HostError {
    HostError::Win32 {
        call,
        code,
        message: message(code),
    }
}

/// The calling thread's last error.
pub fn last_error_code() -> u32 {
    // SAFETY: GetLastError only reads the calling thread's last-error value.
    unsafe { GetLastError() }
}

/// `HostError::Win32` for `call` with the thread's last error.
pub fn last_error(call: &'static str) -> HostError {
    win32_error(call, last_error_code())
}
