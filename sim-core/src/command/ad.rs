//! The real tools an administrator resets a domain account's password with, as the seed
//! articles ask ("If you do not know its password, you must set it to a known value"): the
//! ActiveDirectory module's `Set-ADAccountPassword -Identity X -Reset -NewPassword
//! (ConvertTo-SecureString 'P' -AsPlainText -Force)` and `net user X P /domain`. Both are an
//! administrative reset in the domain, the same operation as the simulator's
//! `account reset DOMAIN\X --password P`, which stays as an alias.

use super::{Command, ParseError, Secret, usage};

/// What `Set-ADAccountPassword` takes here.
pub const SET_AD_ACCOUNT_PASSWORD_USAGE: &str = "Set-ADAccountPassword [-Identity] NAME -Reset -NewPassword (ConvertTo-SecureString 'P' -AsPlainText -Force) [-Server DOMAIN]";

/// Which tool a domain reset was typed with (each prints its own text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainResetTool {
    /// `net user NAME P /domain`.
    NetUser,
    /// `Set-ADAccountPassword … -Reset`.
    SetAdAccountPassword,
}

/// `(ConvertTo-SecureString 'P' -AsPlainText -Force)` starting at `args[0]`: the password and
/// the number of words it took.
fn secure_string(args: &[&str]) -> Option<(Secret, usize)> {
    let first = args.first()?.strip_prefix('(')?;
    if !first.eq_ignore_ascii_case("ConvertTo-SecureString") {
        return None;
    }
    let end = args.iter().position(|w| w.ends_with(')'))?;
    let inner: Vec<&str> = args[1..=end]
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i + 1 == end {
                w.trim_end_matches(')')
            } else {
                w
            }
        })
        .collect();
    // The string is the first, positional argument (or `-String S`); a password may itself
    // begin with '-', so it is taken by position, not by its look.
    let (password, switches) = match inner.as_slice() {
        [flag, p, rest @ ..] if flag.eq_ignore_ascii_case("-String") => (*p, rest),
        [p, rest @ ..] => (*p, rest),
        [] => return None,
    };
    let password = Some(password);
    let (mut plain, mut force) = (false, false);
    for w in switches {
        match w.to_ascii_lowercase().as_str() {
            "-asplaintext" => plain = true,
            "-force" => force = true,
            "" => {}
            _ => return None,
        }
    }
    // ConvertTo-SecureString takes a plain string only with both switches.
    (plain && force)
        .then_some(())
        .and(password.map(|p| (Secret::new(p), end + 1)))
}

/// `Set-ADAccountPassword`'s arguments.
pub fn parse_set_ad_account_password(args: &[&str]) -> Result<Command, ParseError> {
    const CMD: &str = "Set-ADAccountPassword";
    let bad = |m: &str| usage(CMD, SET_AD_ACCOUNT_PASSWORD_USAGE, m.to_owned());
    let (mut identity, mut server, mut password, mut reset) = (None, None, None, false);
    let mut i = 0;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_str() {
            "-identity" => {
                identity = Some(
                    *args
                        .get(i + 1)
                        .ok_or_else(|| bad("-Identity needs a value"))?,
                );
                i += 2;
            }
            "-server" => {
                server = Some(
                    *args
                        .get(i + 1)
                        .ok_or_else(|| bad("-Server needs a value"))?,
                );
                i += 2;
            }
            "-reset" => {
                reset = true;
                i += 1;
            }
            "-newpassword" => {
                let (p, n) = secure_string(&args[i + 1..]).ok_or_else(|| {
                    bad("-NewPassword takes (ConvertTo-SecureString 'P' -AsPlainText -Force)")
                })?;
                password = Some(p);
                i += 1 + n;
            }
            w if !w.starts_with('-') && identity.is_none() => {
                identity = Some(args[i]);
                i += 1;
            }
            _ if args[i].starts_with('-') => {
                return Err(bad(&format!("unexpected parameter '{}'", args[i])));
            }
            _ => {
                return Err(bad(
                    "unexpected argument (not echoed: it may be a password)",
                ));
            }
        }
    }
    let identity = identity.ok_or_else(|| bad("-Identity is required"))?;
    if !reset {
        return Err(bad(
            "-Reset is required: an administrator's reset (a change by the owner is 'account change NAME --old P --new Q')",
        ));
    }
    Ok(Command::DomainAccountReset {
        identity: identity.to_owned(),
        server: server.map(str::to_owned),
        password: password.ok_or_else(|| bad("-NewPassword is required"))?,
        tool: DomainResetTool::SetAdAccountPassword,
    })
}

#[cfg(test)]
mod tests {
    use crate::command::{Command, parse_line};

    use super::DomainResetTool;

    #[test]
    fn set_ad_account_password_reads_the_secure_string() {
        let Command::DomainAccountReset {
            identity,
            server,
            password,
            tool,
        } = parse_line("Set-ADAccountPassword -Identity MSOL_1 -Reset -NewPassword (ConvertTo-SecureString 'Spring 2026!' -AsPlainText -Force)").unwrap()
        else {
            panic!("not a domain reset")
        };
        assert_eq!(identity, "MSOL_1");
        assert_eq!(server, None);
        assert_eq!(password.expose(), "Spring 2026!");
        assert_eq!(tool, DomainResetTool::SetAdAccountPassword);
        let Command::DomainAccountReset { server, tool, .. } =
            parse_line("net user MSOL_1 P@ss /domain").unwrap()
        else {
            panic!("not a domain reset")
        };
        assert_eq!((server, tool), (None, DomainResetTool::NetUser));
    }

    #[test]
    fn set_ad_account_password_without_reset_or_plain_text_is_refused() {
        for line in [
            "Set-ADAccountPassword -Identity MSOL_1 -NewPassword (ConvertTo-SecureString Zq9secret -AsPlainText -Force)",
            "Set-ADAccountPassword -Identity MSOL_1 -Reset -NewPassword (ConvertTo-SecureString Zq9secret -AsPlainText)",
            "Set-ADAccountPassword -Identity MSOL_1 -Reset -NewPassword Zq9secret",
            "Set-ADAccountPassword -Reset -NewPassword (ConvertTo-SecureString Zq9secret -AsPlainText -Force)",
        ] {
            let e = parse_line(line).unwrap_err().to_string();
            assert!(e.starts_with("Set-ADAccountPassword: "), "{line}: {e}");
            assert!(!e.contains("Zq9secret"), "{e}");
        }
    }
}
