//! Every message the Synchronization Service and its tools print or log, verbatim from its
//! source. Where no source prints a message, the constant says it is a named choice.

/// Application event 6028 ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03).
pub const EVENT_6028_ID: u32 = 6028;
/// Its text, verbatim.
pub const EVENT_6028_TEXT: &str = "The server encryption key cannot be accessed.";
/// Its source. Named choice: `ADSync` (`docs/adsync.md` §9 leaves it open).
pub const ADSYNC_SOURCE: &str = "ADSync";
/// The service-specific error the seed article prints, verbatim. It is not a valid 32-bit value;
/// read as `-2145185792` (one doubled digit removed) it is 0x80231000, in the MIIS facility 0x8023
/// that `docs/adsync.md` §4 F2 expects, so [`KEYSET_SERVICE_EXIT_CODE`] records that.
pub const KEYSET_SERVICE_ERROR_TEXT: &str = "-21451857952";
/// The `SERVICE_EXIT_CODE` recorded for that failure (named choice, see above).
pub const KEYSET_SERVICE_EXIT_CODE: u32 = 0x8023_1000;
/// The source of the engine's Application events: [`ADSYNC_SOURCE`] (`docs/adsync.md` §9 leaves
/// the sources of 6000/6028/6900 open and suggests it).
pub const ENGINE_SOURCE: &str = ADSYNC_SOURCE;
/// The source of password hash synchronisation events such as 659. Named choice: "Directory
/// Synchronization" (`docs/adsync.md` §4 F3 names it for the PHS events, §9 suggests it).
pub const PHS_SOURCE: &str = "Directory Synchronization";

/// Application event 6000 ("Azure AD Connect sync: Changing the AD DS account password", 2017-07-12), verbatim,
/// without a final period as the article prints it.
pub fn event_6000(connector: &str) -> String {
    format!(
        "The management agent \"{connector}\" failed to run because the credentials were invalid"
    )
}

/// Application event 6900 ("Azure AD Connect sync: How to manage the Azure AD service account", 2017-02-08), verbatim;
/// the article breaks the line after the colon.
pub fn event_6900(aadsts: &str) -> String {
    format!(
        "The server encountered an unexpected error while processing a password change notification:\n{aadsts}"
    )
}

/// Application event 659 ("Azure AD Connect sync: How to manage the Azure AD service account", 2017-02-08), verbatim. The
/// 2017 article names ADAL's exception; 2.x builds use MSAL (`docs/adsync.md` §6), whose
/// wording is not documented, so every build prints the documented text.
pub fn event_659(aadsts: &str) -> String {
    format!(
        "Error while retrieving password policy sync configuration. Microsoft.IdentityModel.Clients.ActiveDirectory.AdalServiceException:\n{aadsts}"
    )
}

/// `miiskmu.exe /a` while the service runs (`docs/adsync.md` §4 F6, issue #15456).
pub const MIISKMU_RUNNING: &str = "The operation encountered an error and cannot be completed. Error: The operation failed because server service was started. Error Code: 80131600";
/// Its result code.
pub const MIISKMU_RUNNING_CODE: u32 = 0x8013_1600;
/// `miiskmu.exe /a` after it abandoned the key set. Named choice: no source prints the success
/// message.
pub const MIISKMU_ABANDONED: &str = "The encryption key set was abandoned. A new key set is created when the service starts; every stored credential must be entered again.";
/// `miiskmu.exe` with anything but `/a`. Named choice: the simulator models only `/a`
/// (`docs/adsync.md` §5.1 lists the other switches, whose ADSync behaviour is UNK).
pub const MIISKMU_USAGE: &str = "Usage: miiskmu.exe /a   (abandon the current encryption key set; the service must be stopped). The /e, /i and /c switches are not modelled.";

/// What the Synchronization Service Manager shows when the service is not running
/// (`docs/adsync.md` §5.2: the console needs the running engine; §7 issues #35590, #65215,
/// #111462 report it). Named choice: the console's wording is not quoted by the sources.
pub const SSM_NOT_RUNNING: &str = "Unable to connect to the Synchronization Service.\n\nSome possible reasons are:\n1) The service is not started.\n2) Your account is not a member of a required security group.\n\nStart the service (Start-Service ADSync) and try again.";
/// The ADSync cmdlets' error when the engine is not running. Named choice, as above.
pub fn cmdlet_not_running(cmdlet: &str) -> String {
    format!(
        "{cmdlet} : Unable to connect to the Synchronization Service. The ADSync service is not running: start it with Start-Service ADSync and try again."
    )
}

/// Entering the Entra connector's password in the console: the documented refusal
/// ("Azure AD Connect sync: How to manage the encryption key" (2017-03-26): "You cannot directly provide the password of
/// the Azure AD service account to the Synchronization Service").
pub const ENTRA_PASSWORD_REFUSED: &str = "You cannot directly provide the password of the Azure AD service account to the Synchronization Service. Use the cmdlet Add-ADSyncAADServiceAccount to reinitialize it: it resets the account password and makes it available to the Synchronization Service.";

/// `Add-ADSyncAADServiceAccount` without `-AADCredential` (`docs/adsync.md` §4 F7, PR
/// #75712), with PowerShell's error record around it.
pub fn parameter_set_error(cmdlet: &str, typed: &str) -> String {
    let underline = "~".repeat(typed.chars().count().max(1));
    format!(
        "{cmdlet} : Parameter set cannot be resolved using the specified named parameters.\nAt line:1 char:1\n+ {typed}\n+ {underline}\n    + CategoryInfo          : InvalidArgument: (:) [{cmdlet}], ParameterBindingException\n    + FullyQualifiedErrorId : AmbiguousParameterSet,{cmdlet}"
    )
}

/// A cmdlet run without a mandatory parameter where PowerShell cannot prompt for it (a script,
/// `-NonInteractive`): the host's prompt fails and the binder throws `MissingMandatoryParameter`
/// with category `InvalidArgument`. The text is PowerShell's resource string
/// `ParameterBinderStrings.MissingMandatoryParameter`, "Cannot process command because of one or
/// more missing mandatory parameters:{1}." with `{1}` the names each preceded by a space
/// (PowerShell's source, https://github.com/PowerShell/PowerShell,
/// `src/System.Management.Automation/resources/ParameterBinderStrings.resx` and
/// `engine/CmdletParameterBinderController.cs`, `PromptForMissingMandatoryParameters`). The
/// error record's layout is the one [`parameter_set_error`] uses; the second half of the
/// FullyQualifiedErrorId (the cmdlet's .NET class) is not public for the ADSync module, so the
/// cmdlet's name stands there (INF).
pub fn missing_mandatory_error(cmdlet: &str, typed: &str, parameter: &str) -> String {
    let underline = "~".repeat(typed.chars().count().max(1));
    format!(
        "{cmdlet} : Cannot process command because of one or more missing mandatory parameters: {parameter}.\nAt line:1 char:1\n+ {typed}\n+ {underline}\n    + CategoryInfo          : InvalidArgument: (:) [{cmdlet}], ParameterBindingException\n    + FullyQualifiedErrorId : MissingMandatoryParameter,{cmdlet}"
    )
}

/// PowerShell's error for a parameter the cmdlet does not have.
pub fn parameter_not_found(cmdlet: &str, parameter: &str) -> String {
    format!(
        "{cmdlet} : A parameter cannot be found that matches parameter name '{parameter}'.\n    + CategoryInfo          : InvalidArgument: (:) [{cmdlet}], ParameterBindingException\n    + FullyQualifiedErrorId : NamedParameterNotFound,{cmdlet}"
    )
}

/// PowerShell's error for a parameter given without its value.
pub fn missing_argument(cmdlet: &str, parameter: &str) -> String {
    format!(
        "{cmdlet} : Missing an argument for parameter '{parameter}'. Specify a parameter of type 'System.Object' and try again.\n    + CategoryInfo          : InvalidArgument: (:) [{cmdlet}], ParameterBindingException\n    + FullyQualifiedErrorId : MissingArgument,{cmdlet}"
    )
}

/// PowerShell's error for a value outside a parameter's set.
pub fn validate_set(cmdlet: &str, parameter: &str, value: &str, set: &str) -> String {
    format!(
        "{cmdlet} : Cannot validate argument on parameter '{parameter}'. The argument \"{value}\" does not belong to the set \"{set}\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again."
    )
}

/// What `sync run` / `Invoke-ADSyncRunProfile` prints. Named choice: the cmdlet's object is not
/// quoted by the sources; the status words are the Operations tab's (`docs/adsync.md` §4).
pub fn run_result(connector: &str, profile: &str, status: &str) -> String {
    format!(
        "Result\n------\n{status}\n\nConnector \"{connector}\", run profile \"{profile}\": {status}"
    )
}

/// The console's answer once it saved a password. Named choice (no source quotes it); it says
/// what the AD DS article's step 8 requires next ("Azure AD Connect sync: Changing the AD DS account password", 2017-07-12).
pub fn console_password_saved(connector: &str) -> String {
    format!(
        "The password of the AD DS connector \"{connector}\" was saved. Restart the service so that the engine drops the password it has cached (Restart-Service ADSync)."
    )
}

/// The cmdlets' refusal of a tenant user without the needed role. Named choice: the roles are
/// the documented ones ("Azure AD Connect sync: How to manage the encryption key" (2017-03-26): Global admin;
/// `docs/adsync.md` §4 F4: Hybrid Identity Administrator), the wording is ours.
pub fn not_an_admin(upn: &str) -> String {
    format!("{upn} is not a Global Administrator or Hybrid Identity Administrator of the tenant.")
}

/// `Start-ADSyncSyncCycle`'s output (its `Result` object as PowerShell formats it). Named
/// choice (COMM: the form seen in blog transcripts; the sources do not quote it).
pub const SYNC_CYCLE_STARTED: &str = "Result\n------\nSuccess";
