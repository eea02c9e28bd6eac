//! Which words of a line are secrets, decided by the command language's grammar: every text a
//! person or a report sees that repeats a typed line (PowerShell's `+ LINE` echo, usage errors,
//! a scenario step that does not parse, a lab's solution) is rebuilt from these roles, so a
//! password never appears in it, whether the line parsed or not.
//!
//! The rules follow where each tool takes a password:
//! - a parameter or flag whose name says it carries one (`--password`, `-NewPassword`,
//!   `--old`, `--new`, `-Password`, `passwd=` and other spellings containing `pass`, `pwd` or
//!   `secret`, `--prekey`): its value, whether it is the next word, `--flag=VALUE` or
//!   `-Param:VALUE`;
//! - a credential (`-AADCredential`, `-EACredential`, `--credential`, any name containing
//!   `cred`): the part after the user name's `:` or `=` (`USER:PASSWORD`, `ACCOUNT=PASSWORD`);
//! - `net user NAME PASSWORD …`: every word after the name that is not a `/switch`;
//! - `account reset|change NAME …`, `connector set-password NAME …`, `diagnose`, `remediate`:
//!   every word that is not one of the verb's flags (a stray word may be a password);
//! - `sc config NAME key= value`: every value except `obj=` and `start=` (sc.exe's other keys,
//!   and typos such as `passwd=`, may carry one);
//! - a PowerShell cmdlet (`Verb-Noun`): a positional word (one no parameter takes) and the
//!   value after a switch.
//!
//! The first word (the command) is always shown: PowerShell itself names an unknown command.

use super::{ParseError, split_words};

/// What a redacted secret shows.
pub const REDACTED: &str = "********";

/// What the grammar says one word is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Shown as typed.
    Keep,
    /// A secret: shown as [`REDACTED`].
    Secret,
    /// The first `n` bytes are shown (a parameter name or a user name, with its separator),
    /// the rest is a secret.
    SecretAfter(usize),
}

/// Parameter names that contain a secret-looking word but take none.
const NOT_SECRET: &[&str] = &[
    "forcechangepassword",
    "passwordneverexpires",
    "password-stdin",
    "password-file",
];

/// PowerShell's common switches: they take no value, so a word after one is positional.
const PS_SWITCHES: &[&str] = &["whatif", "confirm", "force", "verbose", "debug"];

/// What kind of value a parameter or key named `name` takes.
fn key_kind(name: &str) -> Option<Kind> {
    let n = name
        .trim_start_matches('-')
        .trim_end_matches(['=', ':'])
        .to_ascii_lowercase();
    if n.is_empty() || NOT_SECRET.contains(&n.as_str()) {
        return None;
    }
    if n.contains("cred") {
        Some(Kind::Credential)
    } else if n.contains("pass")
        || n.contains("pwd")
        || n.contains("secret")
        || n == "old"
        || n == "new"
        || n == "prekey"
    {
        Some(Kind::Password)
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Password,
    Credential,
}

/// The role of a value of `kind` (the whole word).
fn value_role(kind: Kind, value: &str) -> Role {
    match kind {
        Kind::Password => Role::Secret,
        Kind::Credential => match value.find([':', '=']) {
            Some(i) if i > 0 => Role::SecretAfter(i + 1),
            _ => Role::Secret,
        },
    }
}

/// The role of a word that carries its value inline (`--password=V`, `-NewPassword:V`,
/// `passwd=V`), or `None` when it does not.
fn inline_role(word: &str) -> Option<Role> {
    let i = word.find(['=', ':'])?;
    let (name, rest) = (&word[..i], &word[i + 1..]);
    if rest.is_empty() {
        return None;
    }
    let kind = key_kind(name)?;
    Some(match value_role(kind, rest) {
        Role::SecretAfter(n) => Role::SecretAfter(i + 1 + n),
        _ => Role::SecretAfter(i + 1),
    })
}

fn is_cmdlet(verb: &str) -> bool {
    verb.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && verb.contains('-')
        && verb.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The role of each word of a line.
///
/// Longer than 80 lines on purpose: one match arm per command family, naming its password
/// positions, so every family's rule is in one table.
fn roles(words: &[String]) -> Vec<Role> {
    let mut roles = vec![Role::Keep; words.len()];
    let Some(first) = words.first() else {
        return roles;
    };
    let verb = first.to_ascii_lowercase();
    let verb = verb.rsplit(['/', '\\']).next().unwrap_or(&verb);
    let lower = |i: usize| words.get(i).map(|w| w.to_ascii_lowercase());
    // Where the free-form part starts, and the flags it knows (None: any flag-looking word).
    let strict: Option<(usize, &[&str])> = match verb {
        "account" if matches!(lower(1).as_deref(), Some("reset" | "change")) => {
            Some((3, &["--password", "--old", "--new"]))
        }
        "connector" if lower(1).as_deref() == Some("set-password") => Some((3, &["--password"])),
        "diagnose" | "remediate" => Some((1, &["--credential", "--dry-run"])),
        _ => None,
    };
    if matches!(verb, "net" | "net.exe") && lower(1).as_deref() == Some("user") {
        for (i, w) in words.iter().enumerate().skip(3) {
            if !w.starts_with('/') {
                roles[i] = Role::Secret;
            }
        }
        return roles;
    }
    if matches!(verb, "sc" | "sc.exe") && lower(1).as_deref() == Some("config") {
        let shown = |k: &str| matches!(k.to_ascii_lowercase().as_str(), "obj" | "start");
        let mut i = 3;
        while i < words.len() {
            let w = &words[i];
            if let Some(key) = super::host::sc_key(w) {
                if i + 1 < words.len() && !shown(key) {
                    roles[i + 1] = Role::Secret;
                }
                i += 2;
                continue;
            }
            match w.split_once('=') {
                Some((k, _)) if shown(k) => {}
                Some((k, _)) => roles[i] = Role::SecretAfter(k.len() + 1),
                None => roles[i] = Role::Secret,
            }
            i += 1;
        }
        return roles;
    }
    let cmdlet = is_cmdlet(verb);
    let start = strict.map_or(1, |(s, _)| s);
    let mut i = start;
    while i < words.len() {
        let w = &words[i];
        if let Some(r) = inline_role(w) {
            roles[i] = r;
            i += 1;
            continue;
        }
        if let Some(kind) = key_kind(w).filter(|_| w.starts_with('-') || w.ends_with('=')) {
            // The value is the next word, whatever it looks like: a password may begin with '-'.
            if let Some(v) = words.get(i + 1) {
                roles[i + 1] = value_role(kind, v);
            }
            i += 2;
            continue;
        }
        match strict {
            Some((_, known)) => {
                if !known.contains(&w.to_ascii_lowercase().as_str()) {
                    roles[i] = Role::Secret;
                }
                i += 1;
            }
            None if cmdlet => {
                if let Some(name) = w.strip_prefix('-') {
                    let switch = PS_SWITCHES.contains(&name.to_ascii_lowercase().as_str());
                    if !switch && words.get(i + 1).is_some_and(|v| !v.starts_with('-')) {
                        i += 1; // a parameter's value, shown
                    }
                } else {
                    roles[i] = Role::Secret; // positional: no parameter takes it
                }
                i += 1;
            }
            None => i += 1,
        }
    }
    roles
}

/// Whether `s` is one scenario placeholder (`${name}` or `${name:arg}`): a reference to a
/// password, not a password, so it is shown.
fn is_placeholder(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
        })
}

/// The role of each word, with placeholders shown.
fn shown_roles(words: &[String]) -> Vec<Role> {
    words
        .iter()
        .zip(roles(words))
        .map(|(w, r)| match r {
            Role::Secret if is_placeholder(w) => Role::Keep,
            Role::SecretAfter(n) if w.get(n..).is_some_and(is_placeholder) => Role::Keep,
            r => r,
        })
        .collect()
}

/// The words with every secret replaced by [`REDACTED`] (a user name before `:` or `=` kept).
pub fn redact_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .zip(shown_roles(words))
        .map(|(w, r)| match r {
            Role::Keep => w.clone(),
            Role::Secret => REDACTED.to_owned(),
            Role::SecretAfter(n) => format!("{}{REDACTED}", &w[..n.min(w.len())]),
        })
        .collect()
}

/// The secret parts of the words (what must appear in no output).
pub fn secret_parts(words: &[String]) -> Vec<String> {
    words
        .iter()
        .zip(shown_roles(words))
        .filter_map(|(w, r)| match r {
            Role::Keep => None,
            Role::Secret => Some(w.clone()),
            Role::SecretAfter(n) => w.get(n..).map(str::to_owned),
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Splits like [`split_words`], but an unterminated quote runs to the end of the line instead
/// of failing: a line that does not split is still redacted by its words.
pub fn split_words_lossy(line: &str) -> Vec<String> {
    match split_words(line) {
        Ok(w) => w,
        Err(_) => {
            for q in ['\'', '"'] {
                if let Ok(w) = split_words(&format!("{line}{q}")) {
                    return w;
                }
            }
            line.split_whitespace().map(str::to_owned).collect()
        }
    }
}

/// Joins words into a line, quoting a word with whitespace (or an empty one) so the line splits
/// back into the same words.
pub fn join_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && !w
                    .chars()
                    .any(|c| c.is_whitespace() || c == '\'' || c == '"')
            {
                w.clone()
            } else if w.contains('\'') {
                format!("\"{w}\"")
            } else {
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A typed line as reports and echoes may show it: its words, secrets redacted by the grammar.
/// Works on lines that do not parse (and do not split) too.
pub fn redact_line(line: &str) -> String {
    join_words(&redact_words(&split_words_lossy(line)))
}

/// The error for a line that did not parse, rebuilt from its redacted words: parsing them
/// again gives the same error with every echoed word as the grammar allows it to be shown. When
/// the redacted words parse differently, the error's text has each secret part replaced.
pub(crate) fn redact_error(words: &[String], error: ParseError) -> ParseError {
    let secrets = secret_parts(words);
    if secrets.is_empty() {
        return error;
    }
    let shown = redact_words(words);
    if let Err(e) = super::line::parse_line_raw(&shown)
        && std::mem::discriminant(&e) == std::mem::discriminant(&error)
    {
        return e;
    }
    let mut secrets = secrets;
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let scrub = |s: &str| {
        let mut s = s.to_owned();
        for p in &secrets {
            s = s.replace(p.as_str(), REDACTED);
        }
        s
    };
    match error {
        ParseError::UnknownCommand(w) => ParseError::UnknownCommand(w),
        ParseError::Usage {
            command,
            message,
            usage,
        } => ParseError::Usage {
            command,
            message: scrub(&message),
            usage,
        },
        ParseError::PowerShell(t) => ParseError::PowerShell(scrub(&t)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: &str) -> String {
        redact_line(line)
    }

    #[test]
    fn every_password_position_of_the_grammar() {
        assert_eq!(
            r("sc config ADSync password=Lit"),
            "sc config ADSync password=********"
        );
        assert_eq!(
            r("sc config ADSync obj= .\\AAD_1 passwd= Lit start= auto"),
            "sc config ADSync obj= .\\AAD_1 passwd= ******** start= auto"
        );
        assert_eq!(r("net user X Lit extra"), "net user X ******** ********");
        assert_eq!(r("net user X /active:no"), "net user X /active:no");
        assert_eq!(
            r("account reset X --password 'Spring 2026!'"),
            "account reset X --password ********"
        );
        assert_eq!(r("account reset X Lit"), "account reset X ********");
        assert_eq!(
            r("account change X --old -a --new b"),
            "account change X --old ******** --new ********"
        );
        assert_eq!(
            r("Set-MsolUserPassword -UserPrincipalName u@x -NewPassword Lit"),
            "Set-MsolUserPassword -UserPrincipalName u@x -NewPassword ********"
        );
        assert_eq!(
            r("Set-MsolUserPassword -NewPassword:Lit"),
            "Set-MsolUserPassword -NewPassword:********"
        );
        assert_eq!(
            r("Add-ADSyncAADServiceAccount -AADCredential admin@x:Lit:2"),
            "Add-ADSyncAADServiceAccount -AADCredential admin@x:********"
        );
        assert_eq!(
            r("Add-ADSyncAADServiceAccount Lit -WhatIf Lit2"),
            "Add-ADSyncAADServiceAccount ******** -WhatIf ********"
        );
        assert_eq!(
            r("remediate --credential 'a=b c' stray"),
            "remediate --credential a=******** ********"
        );
        assert_eq!(r("Foo-Bar -Password Lit"), "Foo-Bar -Password ********");
        assert_eq!(r("tool --password=Lit"), "tool --password=********");
        assert_eq!(
            r("sc config ADSync password=Lit= obj= X"),
            "sc config ADSync password=******** obj= X"
        );
        assert_eq!(
            r("net user X 'unterminated pw"),
            "net user X ********",
            "an unterminated quote still redacts"
        );
        assert_eq!(
            r("sync run contoso.com --profile 'Full Import'"),
            "sync run contoso.com --profile 'Full Import'"
        );
    }

    #[test]
    fn errors_echo_the_redacted_words() {
        let e = super::super::parse_line("Set-MsolUserPassword -NewPassword 'Lit pw'")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("+ Set-MsolUserPassword -NewPassword ********\n"),
            "{e}"
        );
        assert!(!e.contains("Lit"), "{e}");
        let e = super::super::parse_line("sc config ADSync passwd=Lit9")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("Lit9"), "{e}");
        let e = super::super::parse_line("account reset X -Lit9")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("Lit9"), "{e}");
    }
}
