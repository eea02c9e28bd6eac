//! Exact user-visible texts of the host: Win32 error messages, Service Control Manager events,
//! and the service dialogs, each with its source.
//!
//! Sources: the seed articles listed in `docs/sources.md` (quoted verbatim), `docs/adsync.md` §4
//! (F1, F2), and, for the Win32 messages the seeds do not quote, the system message table
//! (`winerror.h` / `lmerr.h` texts as `FormatMessage` returns them).

/// Win32 error codes the host returns, with their system message texts.
pub mod win32 {
    /// `ERROR_SUCCESS`.
    pub const SUCCESS: u32 = 0;
    /// `ERROR_FILE_NOT_FOUND` (a service whose image does not exist).
    pub const FILE_NOT_FOUND: u32 = 2;
    /// `ERROR_ACCESS_DENIED`.
    pub const ACCESS_DENIED: u32 = 5;
    /// `ERROR_INVALID_HANDLE` (what Wine's ImpersonateLoggedOnUser gives for its fake token).
    pub const INVALID_HANDLE: u32 = 6;
    /// `ERROR_INVALID_DATA` (CryptUnprotectData: wrong entropy, corrupted blob).
    pub const INVALID_DATA: u32 = 13;
    /// `ERROR_INVALID_PARAMETER` (CryptUnprotectData: not a blob).
    pub const INVALID_PARAMETER: u32 = 87;
    /// `ERROR_INVALID_PASSWORD` (NetUserChangePassword with a wrong old password).
    pub const INVALID_PASSWORD: u32 = 86;
    /// `ERROR_SERVICE_REQUEST_TIMEOUT` (an image that never talks to the SCM).
    pub const SERVICE_REQUEST_TIMEOUT: u32 = 1053;
    /// `ERROR_SERVICE_ALREADY_RUNNING`.
    pub const SERVICE_ALREADY_RUNNING: u32 = 1056;
    /// `ERROR_SERVICE_DISABLED`.
    pub const SERVICE_DISABLED: u32 = 1058;
    /// `ERROR_SERVICE_DOES_NOT_EXIST`.
    pub const SERVICE_DOES_NOT_EXIST: u32 = 1060;
    /// `ERROR_SERVICE_NOT_ACTIVE`.
    pub const SERVICE_NOT_ACTIVE: u32 = 1062;
    /// `ERROR_INVALID_SERVICE_ACCOUNT` (`sc config obj=` naming no account).
    pub const INVALID_SERVICE_ACCOUNT: u32 = 1057;
    /// `ERROR_SERVICE_SPECIFIC_ERROR`.
    pub const SERVICE_SPECIFIC_ERROR: u32 = 1066;
    /// `ERROR_SERVICE_MARKED_FOR_DELETE`.
    pub const SERVICE_MARKED_FOR_DELETE: u32 = 1072;
    /// `ERROR_SERVICE_EXISTS` (CreateServiceW of a name already installed).
    pub const SERVICE_EXISTS: u32 = 1073;
    /// `ERROR_SERVICE_LOGON_FAILED` (seed: "Error 1069").
    pub const SERVICE_LOGON_FAILED: u32 = 1069;
    /// `ERROR_LOGON_FAILURE`.
    pub const LOGON_FAILURE: u32 = 1326;
    /// `ERROR_LOGON_TYPE_NOT_GRANTED` (an account without "Log on as a service").
    pub const LOGON_TYPE_NOT_GRANTED: u32 = 1385;
    /// `ERROR_ACCOUNT_DISABLED`.
    pub const ACCOUNT_DISABLED: u32 = 1331;
    /// `ERROR_ACCOUNT_LOCKED_OUT`.
    pub const ACCOUNT_LOCKED_OUT: u32 = 1909;
    /// `NERR_UserNotFound`.
    pub const USER_NOT_FOUND: u32 = 2221;
    /// `NERR_UserExists` (NetUserAdd of a name already taken).
    pub const USER_EXISTS: u32 = 2224;
    /// `NTE_BAD_KEY_STATE`, the last error CryptUnprotectData sets when the master key cannot be
    /// decrypted with the caller's credentials (after an administrative password reset).
    pub const NTE_BAD_KEY_STATE: u32 = 0x8009_000B;

    /// The system message text of a code, as `net helpmsg` prints it.
    pub fn message(code: u32) -> &'static str {
        match code {
            SUCCESS => "The operation completed successfully.",
            FILE_NOT_FOUND => "The system cannot find the file specified.",
            ACCESS_DENIED => "Access is denied.",
            INVALID_HANDLE => "The handle is invalid.",
            INVALID_DATA => "The data is invalid.",
            INVALID_PARAMETER => "The parameter is incorrect.",
            SERVICE_REQUEST_TIMEOUT => {
                "The service did not respond to the start or control request in a timely fashion."
            }
            SERVICE_MARKED_FOR_DELETE => "The specified service has been marked for deletion.",
            SERVICE_EXISTS => "The specified service already exists.",
            LOGON_TYPE_NOT_GRANTED => {
                "Logon failure: the user has not been granted the requested logon type at this computer."
            }
            USER_EXISTS => "The account already exists.",
            NTE_BAD_KEY_STATE => "Key not valid for use in specified state.",
            INVALID_PASSWORD => "The specified network password is not correct.",
            SERVICE_ALREADY_RUNNING => "An instance of the service is already running.",
            SERVICE_DISABLED => {
                "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it."
            }
            SERVICE_DOES_NOT_EXIST => {
                "The specified service does not exist as an installed service."
            }
            SERVICE_NOT_ACTIVE => "The service has not been started.",
            INVALID_SERVICE_ACCOUNT => {
                "The account name is invalid or does not exist, or the password is invalid for the account name specified."
            }
            SERVICE_SPECIFIC_ERROR => "The service has returned a service-specific error code.",
            // "Azure AD Connect sync: Changing the Azure AD Connect Sync service account password" (2017-04-03): "Error 1069: The service
            // did not start due to a logon failure."
            SERVICE_LOGON_FAILED => "The service did not start due to a logon failure.",
            // "Azure AD Connect sync: Changing the Azure AD Connect Sync service account password" (2017-04-03), event 7038's reason.
            LOGON_FAILURE => "The user name or password is incorrect.",
            ACCOUNT_DISABLED => {
                "This user can't sign in because this account is currently disabled."
            }
            ACCOUNT_LOCKED_OUT => {
                "The referenced account is currently locked out and may not be logged on to."
            }
            USER_NOT_FOUND => "The user name could not be found.",
            _ => "Unknown error.",
        }
    }
}

/// What net.exe prints when a command succeeds (its `NERR_Success` message).
pub const NET_SUCCESS: &str = "The command completed successfully.";

/// PowerShell's `Start-Service` / `Stop-Service` / `Restart-Service` error for an unknown
/// service (the Microsoft.PowerShell.Management cmdlets' own message).
pub fn ps_service_not_found(cmdlet: &str, name: &str) -> String {
    format!("{cmdlet} : Cannot find any service with service name '{name}'.")
}

/// PowerShell's error when the SCM refuses to start a service (the same cmdlets' message).
pub fn ps_cannot_start(cmdlet: &str, display_name: &str, name: &str) -> String {
    format!(
        "{cmdlet} : Service '{display_name} ({name})' cannot be started due to the following error: Cannot start service {name} on computer '.'."
    )
}

/// The event source of every SCM event.
pub const SCM_SOURCE: &str = "Service Control Manager";

/// System event 7038 ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03; docs/adsync.md §4 F1).
/// The seed quotes it without the account name ("log on as with"); Windows inserts it, so the
/// simulator does too.
pub fn event_7038(service: &str, account: &str, reason: &str) -> String {
    format!(
        "The {service} service was unable to log on as {account} with the currently configured password due to the following error: {reason}"
    )
}

/// System event 7000, the companion of 7038 (docs/adsync.md §4 F1, tagged INF: the SCM's standard
/// "failed to start" text).
pub fn event_7000(display_name: &str, reason: &str) -> String {
    format!("The {display_name} service failed to start due to the following error: {reason}")
}

/// System event 7024 for a service that stopped with a service-specific error (docs/adsync.md §4 F2,
/// tagged INF).
pub fn event_7024(display_name: &str, code_text: &str) -> String {
    format!(
        "The {display_name} service terminated with the following service-specific error: {code_text}"
    )
}

/// System event 7036, a service state change (the SCM's standard text; INF, not quoted by the
/// seeds).
pub fn event_7036(display_name: &str, state: &str) -> String {
    format!("The {display_name} service entered the {state} state.")
}

/// The Services console dialog for a start that failed with a Win32 error
/// ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03).
pub fn start_failed_dialog(display_name: &str, code: u32) -> String {
    format!(
        "Windows could not start the {display_name} service on Local Computer.\nError {code}: {}",
        win32::message(code)
    )
}
