//! A line as every front end reads it (`exec`, the shell, scenario steps, lab steps): either a
//! [`Command`] the host runs on its own, or a runbook verb (`diagnose`, `remediate`) that reads
//! the host, plans the documented fix and, for `remediate`, runs it through the host
//! (`crate::remedy`). Both parse here, so a scenario accepts exactly the lines `exec` and the
//! shell accept.
//!
//! The runbook verbs are not [`Command`]s because no world runs them: they are procedures over a
//! host (docs/design.md §2 `remedy`), made of the commands a plan lists.

use super::{Command, ParseError, Secret, parse_words_raw, redact, split_words, usage};

/// `diagnose` and `remediate`'s usage line.
pub const RUNBOOK_USAGE: &str =
    "diagnose | remediate [--dry-run] [--credential ACCOUNT=PASSWORD]...";

/// A password the administrator gives a runbook verb (`--credential ACCOUNT=PASSWORD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The account, as typed.
    pub account: String,
    /// Its password.
    pub password: Secret,
}

/// Parses `ACCOUNT=PASSWORD` (the account may not be empty; the password may hold `=`).
pub fn parse_credential(arg: &str) -> Option<(String, Secret)> {
    match arg.split_once('=') {
        Some((a, p)) if !a.is_empty() => Some((a.to_owned(), Secret::new(p))),
        _ => None,
    }
}

/// A runbook verb (docs/design.md §2 `remedy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runbook {
    /// `diagnose [--credential ACCOUNT=PASSWORD]...`: read only.
    Diagnose {
        /// Passwords the administrator gives.
        credentials: Vec<Credential>,
    },
    /// `remediate [--dry-run] [--credential ACCOUNT=PASSWORD]...`.
    Remediate {
        /// Only plan.
        dry_run: bool,
        /// Passwords the administrator gives.
        credentials: Vec<Credential>,
    },
}

impl Runbook {
    /// The verb.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Diagnose { .. } => "diagnose",
            Self::Remediate { .. } => "remediate",
        }
    }

    /// The passwords given on the line.
    pub fn credentials(&self) -> &[Credential] {
        match self {
            Self::Diagnose { credentials } | Self::Remediate { credentials, .. } => credentials,
        }
    }

    /// Whether it may change the host (`remediate` without `--dry-run`).
    pub fn mutates(&self) -> bool {
        matches!(self, Self::Remediate { dry_run: false, .. })
    }

    /// The line with every password replaced by `********`.
    pub fn redacted(&self) -> String {
        let mut s = self.verb().to_owned();
        if matches!(self, Self::Remediate { dry_run: true, .. }) {
            s.push_str(" --dry-run");
        }
        for c in self.credentials() {
            s.push_str(&format!(" --credential {}={}", c.account, redact::REDACTED));
        }
        s
    }
}

/// One line of the command language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A command the host runs.
    Command(Command),
    /// A runbook verb.
    Runbook(Runbook),
}

impl Line {
    /// Parses a line.
    pub fn parse(line: &str) -> Result<Self, ParseError> {
        Self::parse_words(&split_words(line)?)
    }

    /// Parses words (the first is the command). An error repeats typed words only as the
    /// grammar allows them to be shown (secrets redacted).
    pub fn parse_words(words: &[String]) -> Result<Self, ParseError> {
        parse_line_raw(words).map_err(|e| redact::redact_error(words, e))
    }

    /// The line with every password replaced by `********`.
    pub fn redacted(&self) -> String {
        match self {
            Self::Command(c) => c.redacted(),
            Self::Runbook(r) => r.redacted(),
        }
    }

    /// Whether it may change the host.
    pub fn mutates(&self) -> bool {
        match self {
            Self::Command(c) => c.mutates(),
            Self::Runbook(r) => r.mutates(),
        }
    }
}

/// Whether `verb` (lower case) is a runbook verb.
pub(crate) fn is_runbook(verb: &str) -> bool {
    matches!(verb, "diagnose" | "remediate")
}

/// [`Line::parse_words`] before redaction.
pub(crate) fn parse_line_raw(words: &[String]) -> Result<Line, ParseError> {
    let Some(first) = words.first() else {
        return Err(ParseError::Empty);
    };
    let verb = first.to_ascii_lowercase();
    if !is_runbook(&verb) {
        return parse_words_raw(words).map(Line::Command);
    }
    let command = if verb == "diagnose" {
        "diagnose"
    } else {
        "remediate"
    };
    let bad = |message: String| usage(command, RUNBOOK_USAGE, message);
    let mut dry_run = false;
    let mut credentials = Vec::new();
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "--dry-run" if command == "remediate" => dry_run = true,
            "--credential" => match it.next().and_then(|v| parse_credential(v)) {
                Some((account, password)) => credentials.push(Credential { account, password }),
                None => return Err(bad("--credential needs ACCOUNT=PASSWORD".into())),
            },
            // Echoed as typed here; `Line::parse_words` redacts it (it may be a password).
            _ => return Err(bad(format!("unexpected argument '{w}'"))),
        }
    }
    Ok(Line::Runbook(if command == "diagnose" {
        Runbook::Diagnose { credentials }
    } else {
        Runbook::Remediate {
            dry_run,
            credentials,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runbook_verbs_parse_with_their_options() {
        assert_eq!(
            Line::parse("diagnose").unwrap(),
            Line::Runbook(Runbook::Diagnose {
                credentials: vec![]
            })
        );
        let Line::Runbook(r) =
            Line::parse("Remediate --dry-run --credential 'CONTOSO\\MSOL_1=a=b c'").unwrap()
        else {
            panic!()
        };
        assert!(matches!(r, Runbook::Remediate { dry_run: true, .. }));
        assert_eq!(r.credentials()[0].account, "CONTOSO\\MSOL_1");
        assert_eq!(r.credentials()[0].password.expose(), "a=b c");
        assert_eq!(
            r.redacted(),
            "remediate --dry-run --credential CONTOSO\\MSOL_1=********"
        );
        assert!(!r.mutates());
    }

    #[test]
    fn runbook_usage_errors_do_not_echo_a_stray_word() {
        let e = Line::parse("remediate hunter2").unwrap_err().to_string();
        assert_eq!(
            e,
            "remediate: unexpected argument '********'\nusage: diagnose | remediate [--dry-run] [--credential ACCOUNT=PASSWORD]..."
        );
        let e = Line::parse("diagnose --dry-run").unwrap_err().to_string();
        assert!(
            e.starts_with("diagnose: unexpected argument '--dry-run'"),
            "{e}"
        );
        let e = Line::parse("remediate --credential nope").unwrap_err();
        assert_eq!(
            e.to_string(),
            "remediate: --credential needs ACCOUNT=PASSWORD\nusage: diagnose | remediate [--dry-run] [--credential ACCOUNT=PASSWORD]..."
        );
    }

    #[test]
    fn other_lines_are_commands() {
        assert_eq!(
            Line::parse("sc start ADSync").unwrap(),
            Line::Command(Command::ScStart {
                name: "ADSync".into()
            })
        );
    }
}
