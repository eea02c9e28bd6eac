//! The ADSync part of the command language: the simulator's verbs (`connector`, `sync`,
//! `miiskmu`) and what an admin types on the server (`./miiskmu.exe /a`, the ADSync module's
//! cmdlets, `Set-MsolUserPassword`), per docs/design.md §4 and `docs/adsync.md` §5.
//!
//! PowerShell cmdlets take `-Parameter value` pairs, matched case-insensitively; a credential
//! is written `USER:PASSWORD` in scripts (docs/design.md §4). Wrong parameters give PowerShell's own
//! parameter-binding errors ([`crate::adsync::text`]).

use super::{Command, ParseError, Secret, usage};
use crate::adsync::run::{PolicyType, RunProfile};
use crate::adsync::text;

/// The simulator's `connector` verbs.
pub const CONNECTOR_USAGE: &str = "connector list | connector set-password NAME --password P";
/// The simulator's `sync` verbs.
pub const SYNC_USAGE: &str =
    "sync run CONNECTOR [--profile NAME] | sync cycle [--policy Delta|Initial]";

/// A PowerShell credential (`USER:PASSWORD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PsCredential {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: Secret,
}

fn ps_error(text: String) -> ParseError {
    ParseError::PowerShell(text)
}

/// Reads `-Name value` pairs of a cmdlet; `switches` take no value.
fn ps_params<'a>(
    cmdlet: &str,
    args: &[&'a str],
    allowed: &[&str],
    switches: &[&str],
) -> Result<Vec<(String, Option<&'a str>)>, ParseError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        let Some(name) = a.strip_prefix('-') else {
            return Err(ps_error(format!(
                "{cmdlet} : A positional parameter cannot be found that accepts an argument (not echoed: it may be a password).\n    + CategoryInfo          : InvalidArgument: (:) [{cmdlet}], ParameterBindingException\n    + FullyQualifiedErrorId : PositionalParameterNotFound,{cmdlet}"
            )));
        };
        let (name, inline) = match name.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (name, None),
        };
        let lower = name.to_ascii_lowercase();
        if switches.contains(&lower.as_str()) {
            out.push((lower, inline));
            i += 1;
            continue;
        }
        if !allowed.contains(&lower.as_str()) {
            return Err(ps_error(text::parameter_not_found(cmdlet, name)));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args
                    .get(i + 1)
                    .filter(|v| !v.starts_with('-'))
                    .ok_or_else(|| ps_error(text::missing_argument(cmdlet, name)))?;
                i += 1;
                v
            }
        };
        out.push((lower, Some(value)));
        i += 1;
    }
    Ok(out)
}

fn param<'a>(params: &[(String, Option<&'a str>)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| *v)
}

fn credential(cmdlet: &str, parameter: &str, value: &str) -> Result<PsCredential, ParseError> {
    match value.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(PsCredential {
            user: user.to_owned(),
            password: Secret::new(password),
        }),
        _ => Err(ps_error(format!(
            "{cmdlet} : Cannot process argument transformation on parameter '{parameter}'. In scripts write the credential as USER:PASSWORD (the lab shell prompts for the password)."
        ))),
    }
}

fn bool_value(cmdlet: &str, parameter: &str, v: &str) -> Result<bool, ParseError> {
    match v.to_ascii_lowercase().as_str() {
        "$true" | "true" | "1" => Ok(true),
        "$false" | "false" | "0" => Ok(false),
        _ => Err(ps_error(format!(
            "{cmdlet} : Cannot process argument transformation on parameter '{parameter}'. Cannot convert value \"{v}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."
        ))),
    }
}

/// `miiskmu.exe`, under any path spelling (`./miiskmu.exe`, `.\miiskmu.exe`, the full path).
pub fn is_miiskmu(word: &str) -> bool {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    base.eq_ignore_ascii_case("miiskmu.exe") || base.eq_ignore_ascii_case("miiskmu")
}

/// `miiskmu.exe /a`.
pub fn parse_miiskmu(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        [a] if a.eq_ignore_ascii_case("/a") => Ok(Command::Miiskmu),
        _ => Err(usage("miiskmu", "miiskmu.exe /a", text::MIISKMU_USAGE)),
    }
}

/// `connector list | set-password NAME --password P`.
pub fn parse_connector(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        ["list"] => Ok(Command::ConnectorList),
        ["set-password", name, "--password", password] => Ok(Command::ConnectorSetPassword {
            name: (*name).to_owned(),
            password: Secret::new(*password),
        }),
        ["set-password", ..] => Err(usage(
            "connector set-password",
            CONNECTOR_USAGE,
            "name one connector and give --password",
        )),
        _ => Err(usage(
            "connector",
            CONNECTOR_USAGE,
            "use 'connector list' or 'connector set-password'",
        )),
    }
}

fn profile(v: &str) -> Result<RunProfile, ParseError> {
    RunProfile::parse(v).ok_or_else(|| {
        usage(
            "sync run",
            SYNC_USAGE,
            format!(
                "no run profile '{v}'; the profiles are: {}",
                RunProfile::ALL.map(RunProfile::as_str).join(", ")
            ),
        )
    })
}

fn policy(cmdlet: &str, v: &str) -> Result<PolicyType, ParseError> {
    PolicyType::parse(v)
        .ok_or_else(|| ps_error(text::validate_set(cmdlet, "PolicyType", v, "Delta,Initial")))
}

/// `sync run CONNECTOR [--profile NAME] | sync cycle [--policy P]`.
pub fn parse_sync(args: &[&str]) -> Result<Command, ParseError> {
    match args {
        ["run", connector] => Ok(Command::SyncRun {
            connector: (*connector).to_owned(),
            profile: RunProfile::DeltaImport,
        }),
        ["run", connector, "--profile", p] => Ok(Command::SyncRun {
            connector: (*connector).to_owned(),
            profile: profile(p)?,
        }),
        ["cycle"] => Ok(Command::SyncCycle {
            policy: PolicyType::Delta,
        }),
        ["cycle", "--policy", p] => Ok(Command::SyncCycle {
            policy: policy("sync cycle", p)?,
        }),
        _ => Err(usage(
            "sync",
            SYNC_USAGE,
            "use 'sync run CONNECTOR' or 'sync cycle'",
        )),
    }
}

/// The ADSync module's cmdlets and `Set-MsolUserPassword`; `None` when `verb` is none of them.
///
/// Longer than 80 lines on purpose: one match arm per cmdlet, each with its parameters.
pub fn parse_cmdlet(
    verb: &str,
    words: &[String],
    args: &[&str],
) -> Option<Result<Command, ParseError>> {
    let typed = super::redact::join_words(words);
    Some(match verb {
        "add-adsyncaadserviceaccount" => {
            let cmdlet = "Add-ADSyncAADServiceAccount";
            (|| {
                let p = ps_params(
                    cmdlet,
                    args,
                    &["aadcredential", "name"],
                    &["whatif", "confirm"],
                )?;
                // The 2017 articles run the cmdlet bare ("In the pop-up dialog, provide …"):
                // PowerShell prompts for the mandatory credential. A line given here comes from
                // a script (exec, a scenario, a lab's solution), where it cannot prompt.
                let Some(c) = param(&p, "aadcredential") else {
                    return Err(ps_error(text::missing_mandatory_error(
                        cmdlet,
                        &typed,
                        "AADCredential",
                    )));
                };
                Ok(Command::AddAadServiceAccount {
                    credential: credential(cmdlet, "AADCredential", c)?,
                    name: param(&p, "name").map(str::to_owned),
                })
            })()
        }
        "add-adsyncaddsconnectoraccount" => {
            let cmdlet = "Add-ADSyncADDSConnectorAccount";
            (|| {
                let p = ps_params(cmdlet, args, &["name", "identifier", "eacredential"], &[])?;
                let forest = param(&p, "name").or(param(&p, "identifier"));
                let (Some(forest), Some(c)) = (forest, param(&p, "eacredential")) else {
                    return Err(ps_error(text::parameter_set_error(cmdlet, &typed)));
                };
                Ok(Command::AddAddsConnectorAccount {
                    connector: forest.to_owned(),
                    credential: credential(cmdlet, "EACredential", c)?,
                })
            })()
        }
        "get-adsyncconnector" => {
            let cmdlet = "Get-ADSyncConnector";
            ps_params(cmdlet, args, &["name", "identifier"], &[]).map(|p| Command::GetConnector {
                name: param(&p, "name")
                    .or(param(&p, "identifier"))
                    .map(str::to_owned),
            })
        }
        "get-adsyncscheduler" => {
            ps_params("Get-ADSyncScheduler", args, &[], &[]).map(|_| Command::GetScheduler)
        }
        "set-adsyncscheduler" => {
            let cmdlet = "Set-ADSyncScheduler";
            (|| {
                let p = ps_params(cmdlet, args, &["synccycleenabled"], &["force"])?;
                let Some(v) = param(&p, "synccycleenabled") else {
                    return Err(ps_error(text::parameter_set_error(cmdlet, &typed)));
                };
                Ok(Command::SetScheduler {
                    enabled: bool_value(cmdlet, "SyncCycleEnabled", v)?,
                })
            })()
        }
        "start-adsyncsynccycle" => {
            let cmdlet = "Start-ADSyncSyncCycle";
            (|| {
                let p = ps_params(cmdlet, args, &["policytype"], &[])?;
                Ok(Command::SyncCycle {
                    policy: match param(&p, "policytype") {
                        Some(v) => policy(cmdlet, v)?,
                        None => PolicyType::Delta,
                    },
                })
            })()
        }
        "invoke-adsyncrunprofile" => {
            let cmdlet = "Invoke-ADSyncRunProfile";
            (|| {
                let p = ps_params(cmdlet, args, &["connectorname", "runprofilename"], &[])?;
                let (Some(c), Some(r)) = (param(&p, "connectorname"), param(&p, "runprofilename"))
                else {
                    return Err(ps_error(text::parameter_set_error(cmdlet, &typed)));
                };
                Ok(Command::SyncRun {
                    connector: c.to_owned(),
                    profile: profile(r)?,
                })
            })()
        }
        "set-msoluserpassword" => {
            let cmdlet = "Set-MsolUserPassword";
            (|| {
                let p = ps_params(
                    cmdlet,
                    args,
                    &["userprincipalname", "newpassword", "forcechangepassword"],
                    &[],
                )?;
                let (Some(upn), Some(pw)) =
                    (param(&p, "userprincipalname"), param(&p, "newpassword"))
                else {
                    return Err(ps_error(text::parameter_set_error(cmdlet, &typed)));
                };
                Ok(Command::CloudReset {
                    upn: upn.to_owned(),
                    password: Secret::new(pw),
                })
            })()
        }
        _ => return None,
    })
}
