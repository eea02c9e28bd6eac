//! The one command language: what the CLI, the lab shell, scenario steps and remediation plans
//! all speak (docs/design.md §4). A line is split like a shell splits it (single and double quotes,
//! backslash-free), then parsed into a typed [`Command`].
//!
//! Two spellings reach the same commands: the simulator's own (`account reset NAME --password
//! P`, `sc start NAME`, `clock advance 91d`) and what an admin types on the server (`sc.exe start
//! ADSync`, `sc.exe queryex ADSync`, `sc.exe qc ADSync`, `net user NAME PASSWORD`,
//! `Start-Service ADSync`, `Get-Service ADSync`, `Get-WinEvent -LogName System -MaxEvents 5`,
//! `Get-EventLog -LogName Application -Newest 5`, `cd "$env:ProgramFiles\Microsoft Azure AD
//! Sync\bin\"` and then `./miiskmu.exe /a` relative to it). `sc config` keeps sc.exe's `key= value`
//! rule: the `=` belongs to the key and the value is the next word.
//!
//! This module holds the [`Command`] type, the splitting and the dispatch on the first word; the
//! parsers live with their family: `host` (accounts, sc.exe, events, clock, net.exe), `ad` (the
//! directory's reset tools), `adsync` (ADSync's tools and cmdlets); `redact` hides every password
//! position before a line is echoed.

use thiserror::Error;

pub mod ad;
pub mod adsync;
mod host;
pub mod line;
pub mod redact;

pub use adsync::PsCredential;
pub use line::{Credential, Line, RUNBOOK_USAGE, Runbook, parse_credential};
pub use redact::{REDACTED, redact_line, redact_words, secret_parts};

pub use crate::secret::Secret;

use crate::adsync::run::{PolicyType, RunProfile};
use crate::win::eventlog::LogName;
use crate::win::scm::StartType;

/// Which PowerShell service cmdlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsServiceVerb {
    /// `Start-Service`.
    Start,
    /// `Stop-Service`.
    Stop,
    /// `Restart-Service`.
    Restart,
}

/// What `account enable|disable|lock|unlock` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// `account enable`, `net user NAME /active:yes`.
    Enable,
    /// `account disable`, `net user NAME /active:no`.
    Disable,
    /// `account lock`: what repeated bad passwords do (a simulator verb).
    Lock,
    /// `account unlock`.
    Unlock,
}

impl AccountState {
    fn word(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
        }
    }
}

/// What `account right|password-expires|password-never-expires` changes (`world::rights`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyChange {
    /// `account right grant NAME SeServiceLogonRight`.
    GrantServiceLogon,
    /// `account right revoke NAME SeServiceLogonRight`.
    RevokeServiceLogon,
    /// `account password-expires NAME`: clears "Password never expires".
    PasswordExpires,
    /// `account password-never-expires NAME`.
    PasswordNeverExpires,
}

/// A typed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `account right grant|revoke NAME SeServiceLogonRight`, `account password-expires NAME`,
    /// `account password-never-expires NAME` (simulator verbs for `secpol.msc`'s "Log on as a
    /// service" and the account's "Password never expires" box).
    AccountPolicy {
        /// The account.
        name: String,
        /// What to change.
        change: PolicyChange,
    },
    /// `net accounts /lockoutthreshold:N [/domain]`: the account lockout threshold.
    NetAccounts {
        /// Invalid logons that lock an account (0: never).
        lockout_threshold: u32,
    },
    /// `account enable|disable|lock|unlock NAME`, or `net user NAME /active:yes|no`.
    AccountState {
        /// The account.
        name: String,
        /// What to do.
        state: AccountState,
        /// Spelled as `net user`.
        net_user: bool,
    },
    /// `dc connect` / `dc disconnect`: whether a writable domain controller answers.
    DcReachable(bool),
    /// `status`.
    Status,
    /// `account list`.
    AccountList,
    /// `account reset NAME --password P`, or `net user NAME P`: an administrative reset.
    AccountReset {
        /// The account.
        name: String,
        /// The new password.
        password: Secret,
        /// Spelled as `net user` (output as net.exe prints it).
        net_user: bool,
    },
    /// `account change NAME --old P --new Q`: the owner changes the password.
    AccountChange {
        /// The account.
        name: String,
        /// The current password.
        old: Secret,
        /// The new password.
        new: Secret,
    },
    /// `sc query NAME`.
    ScQuery {
        /// The service.
        name: String,
    },
    /// `sc queryex NAME`: `sc query` plus the process id and flags.
    ScQueryEx {
        /// The service.
        name: String,
    },
    /// `sc qc NAME`: the service's configuration (`QueryServiceConfig`).
    ScQc {
        /// The service.
        name: String,
    },
    /// `Get-Service [[-Name] NAME]`.
    GetService {
        /// Only this service.
        name: Option<String>,
    },
    /// `Get-EventLog [-LogName] L [-Newest N]`.
    GetEventLog {
        /// The log.
        log: LogName,
        /// Only the newest N.
        newest: Option<usize>,
    },
    /// `cd PATH`, `Set-Location PATH`: PowerShell's current location.
    SetLocation {
        /// The path as typed (`$env:ProgramFiles` is expanded when it runs).
        path: String,
    },
    /// `./miiskmu.exe /a` or `.\miiskmu.exe /a`: the tool relative to the current location.
    MiiskmuRelative {
        /// The command word as typed.
        typed: String,
    },
    /// `sc start NAME`.
    ScStart {
        /// The service.
        name: String,
    },
    /// `sc stop NAME`.
    ScStop {
        /// The service.
        name: String,
    },
    /// `sc config NAME [obj= ACCOUNT] [password= P] [start= auto|demand|disabled]`.
    ScConfig {
        /// The service.
        name: String,
        /// New logon account.
        obj: Option<String>,
        /// New stored password.
        password: Option<Secret>,
        /// New start type.
        start: Option<StartType>,
    },
    /// `Start-Service`, `Stop-Service`, `Restart-Service NAME`.
    PsService {
        /// Which cmdlet.
        verb: PsServiceVerb,
        /// The service.
        name: String,
    },
    /// `events [--log L] [--id N] [--last N]`, or `Get-WinEvent -LogName L [-MaxEvents N]`.
    Events {
        /// Only this log.
        log: Option<LogName>,
        /// Only this id.
        id: Option<u32>,
        /// Only the newest N.
        last: Option<usize>,
        /// Spelled as `Get-WinEvent` (newest first, as the cmdlet returns them).
        get_winevent: bool,
    },
    /// `clock advance DURATION`.
    ClockAdvance {
        /// Seconds to advance.
        secs: u64,
    },
    /// `miiskmu.exe /a`: abandon the encryption key set.
    Miiskmu,
    /// `connector list`.
    ConnectorList,
    /// `Get-ADSyncConnector [-Name NAME]`.
    GetConnector {
        /// Only this connector.
        name: Option<String>,
    },
    /// `connector set-password NAME --password P`: the Synchronization Service Manager's
    /// "Connect to Active Directory Forest" dialog.
    ConnectorSetPassword {
        /// The connector.
        name: String,
        /// The password typed.
        password: Secret,
    },
    /// `sync run CONNECTOR [--profile P]`, `Invoke-ADSyncRunProfile`.
    SyncRun {
        /// The connector.
        connector: String,
        /// The run profile.
        profile: RunProfile,
    },
    /// `sync cycle`, `Start-ADSyncSyncCycle [-PolicyType Delta|Initial]`.
    SyncCycle {
        /// The policy.
        policy: PolicyType,
    },
    /// `Get-ADSyncScheduler`.
    GetScheduler,
    /// `Set-ADSyncScheduler -SyncCycleEnabled $true|$false`.
    SetScheduler {
        /// `SyncCycleEnabled`.
        enabled: bool,
    },
    /// `Add-ADSyncAADServiceAccount -AADCredential USER:PASSWORD [-Name NAME]`.
    AddAadServiceAccount {
        /// The Global Administrator's credential.
        credential: PsCredential,
        /// Create or switch to this account instead of resetting the current one.
        name: Option<String>,
    },
    /// `Add-ADSyncADDSConnectorAccount -Name FOREST -EACredential USER:PASSWORD`.
    AddAddsConnectorAccount {
        /// The connector (its forest).
        connector: String,
        /// The Enterprise Admin's credential.
        credential: PsCredential,
    },
    /// `Set-ADAccountPassword -Identity X -Reset -NewPassword (ConvertTo-SecureString 'P'
    /// -AsPlainText -Force)` or `net user X P /domain`: an administrator's reset of a domain
    /// account's password (see [`ad`]).
    DomainAccountReset {
        /// The account's name in its domain (`MSOL_…`), or `DOMAIN\NAME`.
        identity: String,
        /// `-Server DOMAIN`: the account's domain when it is not the server's own.
        server: Option<String>,
        /// The new password.
        password: Secret,
        /// The tool typed.
        tool: ad::DomainResetTool,
    },
    /// `Set-MsolUserPassword -UserPrincipalName UPN -NewPassword P`: a cloud administrator's
    /// reset of a cloud user's password.
    CloudReset {
        /// The user.
        upn: String,
        /// The new password.
        password: Secret,
    },
}

/// A line that is not a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The first word is not a known command (PowerShell's own wording).
    #[error(
        "{0} : The term '{0}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
    )]
    UnknownCommand(String),
    /// The command is known but its arguments are not.
    #[error("{command}: {message}\nusage: {usage}")]
    Usage {
        /// The command.
        command: &'static str,
        /// What is wrong.
        message: String,
        /// Its usage line.
        usage: &'static str,
    },
    /// Quotes do not close.
    #[error("the line has an unterminated {0} quote")]
    Unterminated(char),
    /// The line is empty.
    #[error("the line is empty")]
    Empty,
    /// A cmdlet's parameters do not bind: PowerShell's own error text.
    #[error("{0}")]
    PowerShell(String),
    /// A runbook verb (`diagnose`, `remediate`) where only a single command can run: it reads
    /// and changes a whole host ([`Line`]), so it is not one command a world executes.
    #[error(
        "{0}: a runbook verb runs over the whole host, not as one command here (the command line, `exec`, the shell and scenario steps take it)"
    )]
    Runbook(String),
}

/// Splits a line into words: whitespace separates, single and double quotes group.
pub fn split_words(line: &str) -> Result<Vec<String>, ParseError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(ParseError::Unterminated(q));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Parses one line of the command language that must be a single [`Command`] (a plan step, a
/// world's own operation); [`Line::parse`] also takes the runbook verbs.
pub fn parse_line(line: &str) -> Result<Command, ParseError> {
    parse_words(&split_words(line)?)
}

const ACCOUNT_USAGE: &str = "account list | account reset NAME --password P | account change NAME --old P --new Q | account enable|disable|lock|unlock NAME | account right grant|revoke NAME SeServiceLogonRight | account password-expires|password-never-expires NAME";
const DC_USAGE: &str = "dc connect | dc disconnect";
const SC_USAGE: &str = "sc query|queryex|qc|start|stop NAME | sc config NAME [obj= ACCOUNT] [password= P] [start= auto|demand|disabled]";
const EVENTS_USAGE: &str = "events [--log System|Application] [--id N] [--last N]";
const CLOCK_USAGE: &str = "clock advance DURATION   (e.g. 30s, 15m, 2h, 91d, 1w)";
const NET_USAGE: &str = "net user NAME PASSWORD [/domain] | net user NAME /active:yes|no | net accounts /lockoutthreshold:N [/domain]";
const WINEVENT_USAGE: &str = "Get-WinEvent -LogName System|Application [-MaxEvents N]";
const EVENTLOG_USAGE: &str = "Get-EventLog [-LogName] System|Application [-Newest N]";
const SERVICE_USAGE: &str = "Get-Service [[-Name] NAME]";
const LOCATION_USAGE: &str = "cd PATH | Set-Location [-Path] PATH";

pub(crate) fn usage(
    command: &'static str,
    usage: &'static str,
    message: impl Into<String>,
) -> ParseError {
    ParseError::Usage {
        command,
        message: message.into(),
        usage,
    }
}

/// Parses words (the first is the command). An error repeats typed words only as the grammar
/// allows them to be shown: secrets are redacted ([`redact`]).
pub fn parse_words(words: &[String]) -> Result<Command, ParseError> {
    parse_words_raw(words).map_err(|e| redact::redact_error(words, e))
}

fn parse_words_raw(words: &[String]) -> Result<Command, ParseError> {
    let (first, rest) = words.split_first().ok_or(ParseError::Empty)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let verb = first.to_ascii_lowercase();
    match verb.as_str() {
        v if line::is_runbook(v) => Err(ParseError::Runbook(first.clone())),
        "status" if rest.is_empty() => Ok(Command::Status),
        "status" => Err(usage("status", "status", "takes no arguments")),
        "account" => host::parse_account(&rest),
        "sc" | "sc.exe" => host::parse_sc(&rest),
        "events" => host::parse_events(&rest),
        "clock" => host::parse_clock(&rest),
        "dc" => match rest.as_slice() {
            ["connect"] => Ok(Command::DcReachable(true)),
            ["disconnect"] => Ok(Command::DcReachable(false)),
            _ => Err(usage("dc", DC_USAGE, "use 'dc connect' or 'dc disconnect'")),
        },
        "net" | "net.exe" => host::parse_net(&rest),
        "start-service" | "stop-service" | "restart-service" => {
            let verb = match verb.as_str() {
                "start-service" => PsServiceVerb::Start,
                "stop-service" => PsServiceVerb::Stop,
                _ => PsServiceVerb::Restart,
            };
            let name = match rest.as_slice() {
                [name] => *name,
                [flag, name] if flag.eq_ignore_ascii_case("-name") => *name,
                _ => {
                    return Err(usage(
                        "Start-Service",
                        "Start-Service [-Name] NAME",
                        "name one service",
                    ));
                }
            };
            Ok(Command::PsService {
                verb,
                name: name.to_owned(),
            })
        }
        "get-winevent" => host::parse_get_winevent(&rest),
        "set-adaccountpassword" => ad::parse_set_ad_account_password(&rest),
        "get-eventlog" => host::parse_get_eventlog(&rest),
        "get-service" => match rest.as_slice() {
            [] => Ok(Command::GetService { name: None }),
            [name] if !name.starts_with('-') => Ok(Command::GetService {
                name: Some((*name).to_owned()),
            }),
            [flag, name] if flag.eq_ignore_ascii_case("-name") => Ok(Command::GetService {
                name: Some((*name).to_owned()),
            }),
            _ => Err(usage(
                "Get-Service",
                SERVICE_USAGE,
                "name at most one service",
            )),
        },
        "cd" | "chdir" | "sl" | "set-location" => match rest.as_slice() {
            [path] if !path.starts_with('-') => Ok(Command::SetLocation {
                path: (*path).to_owned(),
            }),
            [flag, path] if flag.eq_ignore_ascii_case("-path") => Ok(Command::SetLocation {
                path: (*path).to_owned(),
            }),
            _ => Err(usage("Set-Location", LOCATION_USAGE, "name one folder")),
        },
        _ if adsync::is_miiskmu(&verb) && (verb.starts_with("./") || verb.starts_with(".\\")) => {
            adsync::parse_miiskmu(&rest).map(|_| Command::MiiskmuRelative {
                typed: first.clone(),
            })
        }
        "connector" => adsync::parse_connector(&rest),
        "sync" => adsync::parse_sync(&rest),
        _ if adsync::is_miiskmu(&verb) => adsync::parse_miiskmu(&rest),
        _ => adsync::parse_cmdlet(&verb, words, &rest)
            .unwrap_or_else(|| Err(ParseError::UnknownCommand(first.clone()))),
    }
}

impl Command {
    /// The command as a line with every password replaced by `********`: what journals and
    /// reports may show.
    ///
    /// Longer than 80 lines on purpose: one arm per command.
    pub fn redacted(&self) -> String {
        const R: &str = "********";
        match self {
            Self::AccountState {
                name,
                state,
                net_user: true,
            } => {
                format!(
                    "net user {name} /active:{}",
                    if *state == AccountState::Enable {
                        "yes"
                    } else {
                        "no"
                    }
                )
            }
            Self::AccountState { name, state, .. } => format!("account {} {name}", state.word()),
            Self::AccountPolicy { name, change } => match change {
                PolicyChange::GrantServiceLogon => {
                    format!("account right grant {name} SeServiceLogonRight")
                }
                PolicyChange::RevokeServiceLogon => {
                    format!("account right revoke {name} SeServiceLogonRight")
                }
                PolicyChange::PasswordExpires => format!("account password-expires {name}"),
                PolicyChange::PasswordNeverExpires => {
                    format!("account password-never-expires {name}")
                }
            },
            Self::NetAccounts { lockout_threshold } => {
                format!("net accounts /lockoutthreshold:{lockout_threshold} /domain")
            }
            Self::DcReachable(true) => "dc connect".into(),
            Self::DcReachable(false) => "dc disconnect".into(),
            Self::Status => "status".into(),
            Self::AccountList => "account list".into(),
            Self::AccountReset {
                name,
                net_user: true,
                ..
            } => format!("net user {name} {R}"),
            Self::AccountReset { name, .. } => format!("account reset {name} --password {R}"),
            Self::AccountChange { name, .. } => {
                format!("account change {name} --old {R} --new {R}")
            }
            Self::ScQuery { name } => format!("sc query {name}"),
            Self::ScQueryEx { name } => format!("sc queryex {name}"),
            Self::ScQc { name } => format!("sc qc {name}"),
            Self::GetService { name: None } => "Get-Service".into(),
            Self::GetService { name: Some(n) } => format!("Get-Service {n}"),
            Self::GetEventLog { log, newest } => {
                let mut s = format!("Get-EventLog -LogName {}", log.as_str());
                if let Some(n) = newest {
                    s.push_str(&format!(" -Newest {n}"));
                }
                s
            }
            Self::SetLocation { path } if path.contains(' ') => format!("cd \"{path}\""),
            Self::SetLocation { path } => format!("cd {path}"),
            Self::MiiskmuRelative { typed } => format!("{typed} /a"),
            Self::ScStart { name } => format!("sc start {name}"),
            Self::ScStop { name } => format!("sc stop {name}"),
            Self::ScConfig {
                name,
                obj,
                password,
                start,
            } => {
                let mut s = format!("sc config {name}");
                if let Some(o) = obj {
                    s.push_str(&format!(" obj= {o}"));
                }
                if password.is_some() {
                    s.push_str(&format!(" password= {R}"));
                }
                if let Some(t) = start {
                    s.push_str(match t {
                        StartType::Auto => " start= auto",
                        StartType::Demand => " start= demand",
                        StartType::Disabled => " start= disabled",
                    });
                }
                s
            }
            Self::PsService { verb, name } => format!(
                "{} {name}",
                match verb {
                    PsServiceVerb::Start => "Start-Service",
                    PsServiceVerb::Stop => "Stop-Service",
                    PsServiceVerb::Restart => "Restart-Service",
                }
            ),
            Self::Events {
                log,
                last,
                get_winevent: true,
                ..
            } => {
                let mut s = format!(
                    "Get-WinEvent -LogName {}",
                    log.map_or("System", LogName::as_str)
                );
                if let Some(n) = last {
                    s.push_str(&format!(" -MaxEvents {n}"));
                }
                s
            }
            Self::Events { log, id, last, .. } => {
                let mut s = "events".to_owned();
                if let Some(l) = log {
                    s.push_str(&format!(" --log {}", l.as_str()));
                }
                if let Some(i) = id {
                    s.push_str(&format!(" --id {i}"));
                }
                if let Some(n) = last {
                    s.push_str(&format!(" --last {n}"));
                }
                s
            }
            Self::ClockAdvance { secs } => format!("clock advance {secs}s"),
            Self::Miiskmu => "miiskmu.exe /a".into(),
            Self::ConnectorList => "connector list".into(),
            Self::GetConnector { name: None } => "Get-ADSyncConnector".into(),
            Self::GetConnector { name: Some(n) } => format!("Get-ADSyncConnector -Name {n}"),
            Self::ConnectorSetPassword { name, .. } => {
                format!("connector set-password {name} --password {R}")
            }
            Self::SyncRun { connector, profile } => {
                format!("sync run {connector} --profile '{}'", profile.as_str())
            }
            Self::SyncCycle { policy } => {
                format!("Start-ADSyncSyncCycle -PolicyType {}", policy.as_str())
            }
            Self::GetScheduler => "Get-ADSyncScheduler".into(),
            Self::SetScheduler { enabled } => format!(
                "Set-ADSyncScheduler -SyncCycleEnabled ${}",
                if *enabled { "true" } else { "false" }
            ),
            Self::AddAadServiceAccount { credential, name } => {
                let mut s = format!(
                    "Add-ADSyncAADServiceAccount -AADCredential {}:{R}",
                    credential.user
                );
                if let Some(n) = name {
                    s.push_str(&format!(" -Name {n}"));
                }
                s
            }
            Self::AddAddsConnectorAccount {
                connector,
                credential,
            } => format!(
                "Add-ADSyncADDSConnectorAccount -Name {connector} -EACredential {}:{R}",
                credential.user
            ),
            Self::CloudReset { upn, .. } => {
                format!("Set-MsolUserPassword -UserPrincipalName {upn} -NewPassword {R}")
            }
            Self::DomainAccountReset {
                identity,
                server,
                tool: ad::DomainResetTool::SetAdAccountPassword,
                ..
            } => format!(
                "Set-ADAccountPassword -Identity {identity} -Reset -NewPassword {R}{}",
                server
                    .as_ref()
                    .map_or_else(String::new, |s| format!(" -Server {s}"))
            ),
            Self::DomainAccountReset { identity, .. } => {
                format!("net user {identity} {R} /domain")
            }
        }
    }

    /// True for commands that change the world (the rest only read it).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Self::Status
                | Self::AccountList
                | Self::ScQuery { .. }
                | Self::ScQueryEx { .. }
                | Self::ScQc { .. }
                | Self::GetService { .. }
                | Self::GetEventLog { .. }
                | Self::Events { .. }
                | Self::ConnectorList
                | Self::GetConnector { .. }
                | Self::GetScheduler
        )
    }
}

#[cfg(test)]
mod tests;
