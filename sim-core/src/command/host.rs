//! Parsers of the host's commands: `account`, `sc` / `sc.exe`, `events`, `Get-WinEvent`,
//! `Get-EventLog`, `clock`, `net user`, and the `--flag VALUE` and account-name rules they share.

use super::{
    ACCOUNT_USAGE, AccountState, CLOCK_USAGE, Command, EVENTLOG_USAGE, EVENTS_USAGE, NET_USAGE,
    ParseError, PolicyChange, SC_USAGE, Secret, WINEVENT_USAGE, ad, usage,
};
use crate::win::clock::parse_duration;
use crate::win::eventlog::LogName;
use crate::win::scm::StartType;

/// Reads `--flag VALUE` pairs; every flag must be in `allowed`.
pub(super) fn flags<'a>(
    command: &'static str,
    use_: &'static str,
    args: &[&'a str],
    allowed: &[&str],
) -> Result<Vec<(String, &'a str)>, ParseError> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let key = a.to_ascii_lowercase();
        if !allowed.contains(&key.as_str()) {
            // Only flag-like words are echoed: a stray word may be a password.
            let what = if a.starts_with('-') {
                format!("unexpected argument '{a}'")
            } else {
                "unexpected argument (not echoed: it may be a password)".to_owned()
            };
            return Err(usage(command, use_, what));
        }
        let v = it
            .next()
            .ok_or_else(|| usage(command, use_, format!("{a} needs a value")))?;
        out.push((key, *v));
    }
    Ok(out)
}

/// An account name as typed, checked by the `sAMAccountName` rules ([`check_account_name`]).
///
/// [`check_account_name`]: crate::win::names::check_account_name
pub(super) fn account_name(
    command: &'static str,
    use_: &'static str,
    name: &str,
) -> Result<String, ParseError> {
    crate::win::names::check_account_name(name).map_err(|e| usage(command, use_, e))?;
    Ok(name.to_owned())
}

/// `account …`: one arm per subcommand (longer than 80 lines on purpose).
pub(super) fn parse_account(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        ["list"] => Ok(Command::AccountList),
        ["reset", name, rest @ ..] => {
            let f = flags("account reset", ACCOUNT_USAGE, rest, &["--password"])?;
            let password = f
                .into_iter()
                .find(|(k, _)| k == "--password")
                .map(|(_, v)| Secret::new(v))
                .ok_or_else(|| usage("account reset", ACCOUNT_USAGE, "--password is required"))?;
            Ok(Command::AccountReset {
                name: account_name("account reset", ACCOUNT_USAGE, name)?,
                password,
                net_user: false,
            })
        }
        ["right", verb @ ("grant" | "revoke"), name, right] => {
            if !right.eq_ignore_ascii_case(crate::world::SERVICE_LOGON_RIGHT) {
                return Err(usage(
                    "account right",
                    ACCOUNT_USAGE,
                    format!(
                        "'{right}' is not a right the simulator models; it models {}",
                        crate::world::SERVICE_LOGON_RIGHT
                    ),
                ));
            }
            Ok(Command::AccountPolicy {
                name: account_name("account right", ACCOUNT_USAGE, name)?,
                change: if *verb == "grant" {
                    PolicyChange::GrantServiceLogon
                } else {
                    PolicyChange::RevokeServiceLogon
                },
            })
        }
        [verb @ ("password-expires" | "password-never-expires"), name] => {
            Ok(Command::AccountPolicy {
                name: account_name("account", ACCOUNT_USAGE, name)?,
                change: if *verb == "password-expires" {
                    PolicyChange::PasswordExpires
                } else {
                    PolicyChange::PasswordNeverExpires
                },
            })
        }
        [verb @ ("enable" | "disable" | "lock" | "unlock"), name] => {
            let state = match *verb {
                "enable" => AccountState::Enable,
                "disable" => AccountState::Disable,
                "lock" => AccountState::Lock,
                _ => AccountState::Unlock,
            };
            Ok(Command::AccountState {
                name: account_name("account", ACCOUNT_USAGE, name)?,
                state,
                net_user: false,
            })
        }
        ["change", name, rest @ ..] => {
            let f = flags("account change", ACCOUNT_USAGE, rest, &["--old", "--new"])?;
            let get = |k: &str| {
                f.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| Secret::new(*v))
            };
            let old = get("--old")
                .ok_or_else(|| usage("account change", ACCOUNT_USAGE, "--old is required"))?;
            let new = get("--new")
                .ok_or_else(|| usage("account change", ACCOUNT_USAGE, "--new is required"))?;
            Ok(Command::AccountChange {
                name: account_name("account change", ACCOUNT_USAGE, name)?,
                old,
                new,
            })
        }
        _ => Err(usage(
            "account",
            ACCOUNT_USAGE,
            "unknown or incomplete account command",
        )),
    }
}

pub(super) fn parse_sc(args: &[&str]) -> Result<Command, ParseError> {
    let (op, name, rest) = match args {
        [op, name, rest @ ..] => (op.to_ascii_lowercase(), (*name).to_owned(), rest),
        _ => return Err(usage("sc", SC_USAGE, "name an operation and a service")),
    };
    match (op.as_str(), rest) {
        ("query", []) => Ok(Command::ScQuery { name }),
        ("queryex", []) => Ok(Command::ScQueryEx { name }),
        ("qc", []) => Ok(Command::ScQc { name }),
        ("start", []) => Ok(Command::ScStart { name }),
        ("stop", []) => Ok(Command::ScStop { name }),
        ("config", rest) => parse_sc_config(name, rest),
        ("query" | "queryex" | "qc" | "start" | "stop", _) => Err(usage(
            "sc",
            SC_USAGE,
            format!("sc {op} takes only the service name"),
        )),
        _ => Err(usage("sc", SC_USAGE, format!("unknown operation '{op}'"))),
    }
}

/// sc.exe options are `key= value`: the key ends with `=`, the value is the next word.
/// The key of an sc.exe `key=` word: everything before the first '=', when nothing follows it
/// (`password=a=` is a password written without its space, never the key `password=a`). The
/// parser and the redactor both read keys through this.
pub(super) fn sc_key(word: &str) -> Option<&str> {
    word.split_once('=')
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
}

pub(super) fn parse_sc_config(name: String, args: &[&str]) -> Result<Command, ParseError> {
    let (mut obj, mut password, mut start) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(key) = sc_key(a) else {
            let hint = match a.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!(
                    "'{k}=…': sc.exe needs a space after the equals sign: write '{k}= PASSWORD'"
                ),
                Some((k, v)) => {
                    format!("'{a}': sc.exe needs a space after the equals sign: write '{k}= {v}'")
                }
                None => {
                    "a word without 'key=' (not echoed): sc.exe options are written 'key= value'"
                        .to_owned()
                }
            };
            return Err(usage("sc config", SC_USAGE, hint));
        };
        let value = it.next().ok_or_else(|| {
            usage(
                "sc config",
                SC_USAGE,
                format!("'{a}' needs a value: write '{a} VALUE' (sc.exe's key= value rule)"),
            )
        })?;
        match key.to_ascii_lowercase().as_str() {
            "obj" => obj = Some((*value).to_owned()),
            "password" => password = Some(Secret::new(*value)),
            "start" => {
                start = Some(StartType::parse(value).ok_or_else(|| {
                    usage(
                        "sc config",
                        SC_USAGE,
                        format!("start= '{value}': use auto, demand or disabled"),
                    )
                })?)
            }
            other => {
                return Err(usage(
                    "sc config",
                    SC_USAGE,
                    format!("unsupported option '{other}='"),
                ));
            }
        }
    }
    if obj.is_none() && password.is_none() && start.is_none() {
        return Err(usage(
            "sc config",
            SC_USAGE,
            "give at least one of obj=, password=, start=",
        ));
    }
    Ok(Command::ScConfig {
        name,
        obj,
        password,
        start,
    })
}

pub(super) fn parse_count<T: std::str::FromStr>(
    command: &'static str,
    use_: &'static str,
    flag: &str,
    v: &str,
) -> Result<T, ParseError> {
    v.parse()
        .map_err(|_| usage(command, use_, format!("{flag} '{v}' is not a number")))
}

pub(super) fn parse_log(
    command: &'static str,
    use_: &'static str,
    v: &str,
) -> Result<LogName, ParseError> {
    LogName::parse(v).ok_or_else(|| {
        usage(
            command,
            use_,
            format!("unknown log '{v}': the logs are System and Application"),
        )
    })
}

pub(super) fn parse_events(args: &[&str]) -> Result<Command, ParseError> {
    let (mut log, mut id, mut last) = (None, None, None);
    for (k, v) in flags("events", EVENTS_USAGE, args, &["--log", "--id", "--last"])? {
        match k.as_str() {
            "--log" => log = Some(parse_log("events", EVENTS_USAGE, v)?),
            "--id" => id = Some(parse_count("events", EVENTS_USAGE, "--id", v)?),
            _ => last = Some(parse_count("events", EVENTS_USAGE, "--last", v)?),
        }
    }
    Ok(Command::Events {
        log,
        id,
        last,
        get_winevent: false,
    })
}

pub(super) fn parse_get_winevent(args: &[&str]) -> Result<Command, ParseError> {
    let (mut log, mut last) = (None, None);
    for (k, v) in flags(
        "Get-WinEvent",
        WINEVENT_USAGE,
        args,
        &["-logname", "-maxevents"],
    )? {
        match k.as_str() {
            "-logname" => log = Some(parse_log("Get-WinEvent", WINEVENT_USAGE, v)?),
            _ => {
                last = Some(parse_count(
                    "Get-WinEvent",
                    WINEVENT_USAGE,
                    "-MaxEvents",
                    v,
                )?)
            }
        }
    }
    if log.is_none() {
        return Err(usage(
            "Get-WinEvent",
            WINEVENT_USAGE,
            "-LogName is required",
        ));
    }
    Ok(Command::Events {
        log,
        id: None,
        last,
        get_winevent: true,
    })
}

pub(super) fn parse_get_eventlog(args: &[&str]) -> Result<Command, ParseError> {
    let (mut log, mut newest) = (None, None);
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        let key = a.to_ascii_lowercase();
        if key == "-logname" || key == "-newest" {
            let v = args.get(i + 1).copied().ok_or_else(|| {
                usage("Get-EventLog", EVENTLOG_USAGE, format!("{a} needs a value"))
            })?;
            if key == "-logname" {
                log = Some(parse_log("Get-EventLog", EVENTLOG_USAGE, v)?);
            } else {
                newest = Some(parse_count("Get-EventLog", EVENTLOG_USAGE, "-Newest", v)?);
            }
            i += 2;
        } else if !a.starts_with('-') && log.is_none() {
            log = Some(parse_log("Get-EventLog", EVENTLOG_USAGE, a)?);
            i += 1;
        } else {
            return Err(usage(
                "Get-EventLog",
                EVENTLOG_USAGE,
                format!("unexpected argument '{a}'"),
            ));
        }
    }
    let log = log.ok_or_else(|| usage("Get-EventLog", EVENTLOG_USAGE, "-LogName is required"))?;
    Ok(Command::GetEventLog { log, newest })
}

pub(super) fn parse_clock(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        ["advance", d] => parse_duration(d)
            .map(|secs| Command::ClockAdvance { secs })
            .map_err(|e| usage("clock", CLOCK_USAGE, e.to_string())),
        _ => Err(usage("clock", CLOCK_USAGE, "use 'clock advance DURATION'")),
    }
}

pub(super) fn parse_net(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        [accounts, flag, rest @ ..]
            if accounts.eq_ignore_ascii_case("accounts")
                && flag.to_ascii_lowercase().starts_with("/lockoutthreshold:")
                && rest.iter().all(|r| r.eq_ignore_ascii_case("/domain")) =>
        {
            let value = &flag["/lockoutthreshold:".len()..];
            let lockout_threshold = value.parse().map_err(|_| {
                usage(
                    "net accounts",
                    NET_USAGE,
                    format!("'{value}' is not a number of invalid logon attempts (0 to 999)"),
                )
            })?;
            Ok(Command::NetAccounts { lockout_threshold })
        }
        [user, name, flag]
            if user.eq_ignore_ascii_case("user")
                && flag.to_ascii_lowercase().starts_with("/active:") =>
        {
            let state = match flag.to_ascii_lowercase().as_str() {
                "/active:yes" => AccountState::Enable,
                "/active:no" => AccountState::Disable,
                _ => return Err(usage("net", NET_USAGE, "use /active:yes or /active:no")),
            };
            Ok(Command::AccountState {
                name: account_name("net", NET_USAGE, name)?,
                state,
                net_user: true,
            })
        }
        [user, name, password, domain]
            if user.eq_ignore_ascii_case("user") && domain.eq_ignore_ascii_case("/domain") =>
        {
            Ok(Command::DomainAccountReset {
                identity: (*name).to_owned(),
                server: None,
                password: Secret::new(*password),
                tool: ad::DomainResetTool::NetUser,
            })
        }
        [user, name, password] if user.eq_ignore_ascii_case("user") => Ok(Command::AccountReset {
            name: account_name("net", NET_USAGE, name)?,
            password: Secret::new(*password),
            net_user: true,
        }),
        _ => Err(usage(
            "net",
            NET_USAGE,
            "the simulator understands 'net user NAME PASSWORD' (an administrative reset)",
        )),
    }
}
