//! Exact user-visible texts of the host: Win32 error messages, Service Control Manager events,
//! and the service dialogs, each with its source.
//!
//! Sources: the seed articles listed in `docs/sources.md` (quoted verbatim), `docs/adsync.md` §4
//! (F1, F2), and, for the Win32 messages the seeds do not quote, the system message table
//! (`winerror.h` / `lmerr.h` texts as `FormatMessage` returns them).

/// PowerShell's result codes.
pub mod powershell {
    /// A cmdlet's terminating error. PowerShell gives it no number of its own (`$?` becomes
    /// `$False`); `powershell.exe -Command` then exits 1 ("about_PowerShell_exe", Microsoft
    /// Learn, '-Command': the exit code is 0 when `$?` is `$True` and 1 when it is `$False`,
    /// https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_powershell_exe),
    /// so the simulator's result code for it is 1.
    pub const CMDLET_FAILED: u32 = 1;
}

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
    /// `ERROR_PASSWORD_EXPIRED` (a password older than the maximum password age; Microsoft
    /// Learn, "System Error Codes (1300-1699)",
    /// https://learn.microsoft.com/windows/win32/debug/system-error-codes--1300-1699-).
    pub const PASSWORD_EXPIRED: u32 = 1330;
    /// `ERROR_ACCOUNT_LOCKED_OUT`.
    pub const ACCOUNT_LOCKED_OUT: u32 = 1909;
    /// `NERR_UserNotFound`.
    pub const USER_NOT_FOUND: u32 = 2221;
    /// `NERR_UserExists` (NetUserAdd of a name already taken).
    pub const USER_EXISTS: u32 = 2224;
    /// `NTE_BAD_KEY_STATE`, the last error CryptUnprotectData sets when the master key cannot be
    /// decrypted with the caller's credentials (after an administrative password reset).
    pub const NTE_BAD_KEY_STATE: u32 = crate::dpapi::api::NTE_BAD_KEY_STATE;

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
            // Microsoft Learn, "System Error Codes (1300-1699)" (ERROR_PASSWORD_EXPIRED); the
            // same text at https://winerrorcodes.com/error/error-password-expired (older Windows
            // said "Logon failure: the specified account password has expired.").
            PASSWORD_EXPIRED => "The password for this account has expired.",
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

/// PowerShell's error-record view (Windows PowerShell 5.1's `$ErrorView = 'NormalView'`, the
/// shell on the servers the seed articles address): the message, the position of the command
/// typed at the prompt, and the category and id lines.
pub fn ps_error_record(
    cmdlet: &str,
    message: &str,
    typed: &str,
    category: &str,
    fully_qualified_id: &str,
) -> String {
    let underline = "~".repeat(typed.chars().count().max(1));
    format!(
        "{cmdlet} : {message}\nAt line:1 char:1\n+ {typed}\n+ {underline}\n    + CategoryInfo          : {category}\n    + FullyQualifiedErrorId : {fully_qualified_id}"
    )
}

/// The cmdlet class behind a service cmdlet (`Start-Service` -> `StartServiceCommand`), as the
/// error record's `FullyQualifiedErrorId` names it.
fn cmdlet_class(cmdlet: &str) -> String {
    format!(
        "Microsoft.PowerShell.Commands.{}Command",
        cmdlet.replace('-', "")
    )
}

/// PowerShell's `Start-Service` / `Stop-Service` / `Restart-Service` / `Get-Service` error for an
/// unknown service: `NoServiceFoundForGivenName` ("Cannot find any service with service name
/// '{0}'.", `ServiceResources.resx` of the PowerShell repository, category ObjectNotFound).
pub fn ps_service_not_found(cmdlet: &str, name: &str, typed: &str) -> String {
    ps_error_record(
        cmdlet,
        &format!("Cannot find any service with service name '{name}'."),
        typed,
        &format!("ObjectNotFound: ({name}:String) [{cmdlet}], ServiceCommandException"),
        &format!("NoServiceFoundForGivenName,{}", cmdlet_class(cmdlet)),
    )
}

/// The error record's target and category when a service cmdlet fails on a service it found.
fn service_category(cmdlet: &str) -> String {
    format!(
        "OpenError: (System.ServiceProcess.ServiceController:ServiceController) [{cmdlet}], ServiceCommandException"
    )
}

/// PowerShell's error when the SCM refuses the start request itself (`StartService` fails:
/// a logon failure 1069, a disabled service 1058). The cmdlets' `DoStartService` writes
/// `CouldNotStartService` ("Service '{1} ({0})' cannot be started due to the following error:
/// {2}", `ServiceResources.resx`), where {2} is the message of .NET's
/// `ServiceController.Start` exception, "Cannot start service {0} on computer '{1}'." with the
/// local computer written `.`.
pub fn ps_cannot_start(cmdlet: &str, display_name: &str, name: &str, typed: &str) -> String {
    ps_error_record(
        cmdlet,
        &format!(
            "Service '{display_name} ({name})' cannot be started due to the following error: Cannot start service {name} on computer '.'."
        ),
        typed,
        &service_category(cmdlet),
        &format!("CouldNotStartService,{}", cmdlet_class(cmdlet)),
    )
}

/// PowerShell's error when the SCM accepted the start but the service stopped before it ran
/// (a service-specific error such as ADSync's after event 6028): `DoWaitForStatus` writes
/// `StartServiceFailed` ("Failed to start service '{1} ({0})'.", `ServiceResources.resx`).
pub fn ps_start_failed(cmdlet: &str, display_name: &str, name: &str, typed: &str) -> String {
    ps_error_record(
        cmdlet,
        &format!("Failed to start service '{display_name} ({name})'."),
        typed,
        &service_category(cmdlet),
        &format!("StartServiceFailed,{}", cmdlet_class(cmdlet)),
    )
}

/// PowerShell's answer to a command word it cannot resolve (`CommandNotFoundException`), with
/// its error record; the position marks the command word only.
pub fn ps_not_recognized(word: &str, typed: &str) -> String {
    let underline = "~".repeat(word.chars().count().max(1));
    format!(
        "{word} : The term '{word}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.\nAt line:1 char:1\n+ {typed}\n+ {underline}\n    + CategoryInfo          : ObjectNotFound: ({word}:String) [], CommandNotFoundException\n    + FullyQualifiedErrorId : CommandNotFoundException"
    )
}

/// `Set-Location` to a folder that does not exist (`PathNotFound`, category ObjectNotFound,
/// PowerShell's `ItemNotFoundException` message).
pub fn ps_path_not_found(cmdlet: &str, path: &str, typed: &str) -> String {
    ps_error_record(
        cmdlet,
        &format!("Cannot find path '{path}' because it does not exist."),
        typed,
        &format!("ObjectNotFound: ({path}:String) [Set-Location], ItemNotFoundException"),
        "PathNotFound,Microsoft.PowerShell.Commands.SetLocationCommand",
    )
}

/// What net.exe prints when a command fails with a network error `code`: the system message,
/// a blank line, and its pointer to `NET HELPMSG` (net.exe's own text).
pub fn net_error(code: u32) -> String {
    format!(
        "{}\n\nMore help is available by typing NET HELPMSG {code}.",
        win32::message(code)
    )
}

/// The spelling of a 32-bit status or exit code as sc.exe's `WIN32_EXIT_CODE` and
/// `SERVICE_EXIT_CODE` lines print it: signed decimal, two spaces, then hex, e.g.
/// `-2145185792  (0x80231000)`. Named choice (INF): sc.exe formats both with `%d` and `%x`;
/// no source shows a code with the high bit set, and the signed reading is the one the seed
/// article's dialog shows for this very code (a negative number).
pub fn exit_code(code: u32) -> String {
    format!("{}  (0x{code:x})", code as i32)
}

/// The event source of every SCM event.
pub const SCM_SOURCE: &str = "Service Control Manager";

/// System event 7038 ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03; docs/adsync.md §4 F1).
/// The seed quotes it without the account name ("log on as with"); Windows inserts it, so the
/// simulator does too. The closing sentence is the rest of the SCM's message for 7038
/// (`EVENT_FIRST_LOGON_FAILED_II` in the SCM's message table: "…due to the following error:
/// %n%3%n%nTo ensure that the service is configured properly, use the Services snap-in in
/// Microsoft Management Console (MMC)."), which the seed does not quote. Named choice: the
/// line break before the reason is a space, as the seed prints it; the blank line before the
/// closing sentence is kept.
pub fn event_7038(service: &str, account: &str, reason: &str) -> String {
    format!(
        "The {service} service was unable to log on as {account} with the currently configured password due to the following error: {reason}\n\n{EVENT_7038_CLOSING}"
    )
}

/// The closing sentence of event 7038 (the SCM's message table).
pub const EVENT_7038_CLOSING: &str = "To ensure that the service is configured properly, use the Services snap-in in Microsoft Management Console (MMC).";

/// System event 7041, what the SCM writes instead of 7038 when the logon fails with
/// `ERROR_LOGON_TYPE_NOT_GRANTED` (1385): the account lacks "Log on as a service"
/// (SeServiceLogonRight). The text is the message table's `EVENT_SERVICE_LOGON_TYPE_NOT_GRANTED`
/// (0xC0001B81, `netevent.h` of the Windows Driver Kit for Windows Vista, as
/// https://errorcode.pro/EVENT_SERVICE_LOGON_TYPE_NOT_GRANTED/-1073734783/wdk-win-vista
/// reproduces it; KB 871236, https://mskb.pkisolutions.com/kb/871236, introduced event 7041 for
/// this case). Each `%n` is a line break; the spaces after them are kept as the message has them.
pub fn event_7041(service: &str, account: &str) -> String {
    format!(
        "The {service} service was unable to log on as {account} with the currently configured password due to the following error: \nLogon failure: the user has not been granted the requested logon type at this computer.\n \nService: {service} \nDomain and account: {account}\n \nThis service account does not have the necessary user right \"Log on as a service.\"\n \nUser Action\n \nAssign \"Log on as a service\" to the service account on this computer. You can use Local Security Settings (Secpol.msc) to do this. If this computer is a node in a cluster, check that this user right is assigned to the Cluster service account on all nodes in the cluster.\n \nIf you have already assigned this user right to the service account, and the user right appears to be removed, a Group Policy object associated with this node might be removing the right. Check with your domain administrator to find out if this is happening."
    )
}

/// System event 7000, the companion of 7038 (docs/adsync.md §4 F1, tagged INF: the SCM's standard
/// "failed to start" text).
pub fn event_7000(display_name: &str, reason: &str) -> String {
    format!("The {display_name} service failed to start due to the following error: {reason}")
}

/// System event 7024 for a service that stopped with a service-specific error (docs/adsync.md §4 F2,
/// tagged INF). The SCM inserts the code as a message reference, `%%` and the signed decimal
/// code (docs/design.md §8 shows the insertion string `%%-2145185792`); a code with no system
/// message, such as ADSync's 0x80231000, is shown as that reference. So 7024 and `sc query`
/// ([`exit_code`]) spell the same number; only the Services console's dialog keeps the seed's
/// text `-21451857952`.
pub fn event_7024(display_name: &str, code: u32) -> String {
    event_7024_insertion(display_name, &format!("%%{}", code as i32))
}

/// Event 7024 from its insertion string as the event stores it (`%%-2145185792`), for readers of
/// collected events.
pub fn event_7024_insertion(display_name: &str, insertion: &str) -> String {
    format!(
        "The {display_name} service terminated with the following service-specific error: {insertion}"
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
