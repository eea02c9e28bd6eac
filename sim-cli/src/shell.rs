//! `adsync-sim shell`: a PowerShell-looking prompt on the world in the state directory, for the
//! lines `exec` takes (docs/design.md §4), with line editing, history and tab completion (rustyline).
//!
//! Each line is one command and one transaction, exactly as `adsync-sim exec 'LINE'`.
//! `$cred = Get-Credential` prompts `User:` and then the password without echo, as PowerShell's
//! console host does, and `-AADCredential $cred` / `-EACredential $cred` use it; `help` lists
//! what the shell understands; `lab brief|hint|check` reach the active lab; `exit` leaves.
//! Unknown commands answer as PowerShell does (`The term 'X' is not recognized…`). When
//! standard input is not a terminal, lines are read plainly, so a session can be scripted.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Result;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Context, Editor, Helper, Highlighter, Hinter, Validator};
use sim_core::command::{self, Line, Secret};
use sim_store::StateDir;

/// `println!` that returns the write's error instead of panicking: the shell's reader may be
/// gone (`adsync-sim shell < lines | head -1`), and the shell then stops quietly ([`run`]).
macro_rules! say {
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), $($t)*)
    };
}

use crate::cli::{Format, LabArgs, LabCommand};
use crate::output::Outcome;

/// The longest line the shell reads from piped input: PowerShell's console host accepts about
/// 8,191 characters on a line; 32 KiB holds that in any UTF-8.
const MAX_LINE_BYTES: u64 = 32 << 10;

/// The prompt: PowerShell's, with the world's current location (`cd` moves it; a new world
/// starts where an elevated PowerShell starts, `C:\Windows\system32`).
fn prompt(state: &Path) -> String {
    let here = StateDir::open(state)
        .and_then(|dir| dir.load())
        .map_or_else(
            |_| sim_core::world::location::START.to_owned(),
            |w| w.location().to_owned(),
        );
    format!("PS {here}> ")
}

/// The commands tab completion offers as a line's first word.
const COMMANDS: &[&str] = &[
    "Add-ADSyncAADServiceAccount",
    "Add-ADSyncADDSConnectorAccount",
    "Get-ADSyncConnector",
    "Get-ADSyncScheduler",
    "Get-Credential",
    "Get-WinEvent",
    "Invoke-ADSyncRunProfile",
    "Restart-Service",
    "Set-ADSyncScheduler",
    "Set-MsolUserPassword",
    "Start-ADSyncSyncCycle",
    "Start-Service",
    "Stop-Service",
    "Get-Service",
    "Get-EventLog",
    "Set-Location",
    "account",
    "cd",
    "clock",
    "connector",
    "dc",
    "diagnose",
    "events",
    "exit",
    "help",
    "lab",
    "miiskmu.exe",
    "net",
    "remediate",
    "sc.exe",
    "status",
    "sync",
    "./miiskmu.exe",
];

/// Words tab completion offers after the first: parameters and common values.
const ARGUMENTS: &[&str] = &[
    "-AADCredential",
    "-ConnectorName",
    "-EACredential",
    "-ForceChangePassword",
    "-LogName",
    "-MaxEvents",
    "-Newest",
    "-Name",
    "-NewPassword",
    "-PolicyType",
    "-RunProfileName",
    "-SyncCycleEnabled",
    "-UserPrincipalName",
    "ADSync",
    "Application",
    "Delta",
    "Initial",
    "System",
    "$false",
    "$true",
    "query",
    "start",
    "stop",
    "config",
    "password=",
    "obj=",
    "user",
    "list",
    "reset",
    "set-password",
    "run",
    "cycle",
    "advance",
    "brief",
    "hint",
    "check",
];

const HELP: &str = "\
The shell understands what an admin types on AADCONNECT01 (each line is one command):

  Services     sc.exe query|queryex|qc|start|stop ADSync, sc.exe config ADSync password= P [obj= ACCOUNT]
               Start-Service ADSync, Stop-Service ADSync, Restart-Service ADSync, Get-Service ADSync
  Event logs   Get-WinEvent -LogName System|Application [-MaxEvents N]
               Get-EventLog -LogName System|Application [-Newest N]
  Accounts     net user NAME PASSWORD, net user NAME /active:yes|no
  Encryption   cd \"$env:ProgramFiles\\Microsoft Azure AD Sync\\bin\\\", then ./miiskmu.exe /a
  ADSync       Get-ADSyncConnector, Get-ADSyncScheduler, Set-ADSyncScheduler -SyncCycleEnabled $true
               Start-ADSyncSyncCycle -PolicyType Delta|Initial
               Invoke-ADSyncRunProfile -ConnectorName NAME -RunProfileName 'Full Import'
               Add-ADSyncAADServiceAccount -AADCredential $cred
               Add-ADSyncADDSConnectorAccount -Name FOREST -EACredential $cred
  Entra ID     Set-MsolUserPassword -UserPrincipalName UPN -NewPassword P
  Credentials  $cred = Get-Credential   (asks for the user and, without echo, the password)
  Simulator    status, account list|reset|change, connector list|set-password, sync run|cycle,
               events, clock advance 1h, dc connect|disconnect
  Runbook      diagnose, remediate [--dry-run] [--credential ACCOUNT=PASSWORD]
  Lab          lab brief, lab hint, lab check
  Shell        help, cls, exit";

#[derive(Helper, Hinter, Highlighter, Validator)]
struct ShellHelper;

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind([' ', '\t']).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pool = if before[..start].trim().is_empty() {
            COMMANDS
        } else {
            ARGUMENTS
        };
        let lower = word.to_ascii_lowercase();
        let out = pool
            .iter()
            .filter(|c| c.to_ascii_lowercase().starts_with(&lower))
            .map(|c| Pair {
                display: (*c).to_owned(),
                replacement: (*c).to_owned(),
            })
            .collect();
        Ok((start, out))
    }
}

/// Where lines come from: the line editor on a terminal, plain lines otherwise.
enum Input {
    Editor(Box<Editor<ShellHelper, DefaultHistory>>),
    Plain(std::io::StdinLock<'static>),
}

impl Input {
    /// The next line; `None` at the end of input.
    fn line(&mut self, prompt: &str) -> Result<Option<String>> {
        match self {
            Self::Editor(e) => loop {
                match e.readline(prompt) {
                    Ok(l) => return Ok(Some(l)),
                    // Ctrl-C abandons the line, as in PowerShell.
                    Err(ReadlineError::Interrupted) => {}
                    Err(ReadlineError::Eof) => return Ok(None),
                    Err(err) => return Err(err.into()),
                }
            },
            Self::Plain(stdin) => loop {
                if !prompt.is_empty() {
                    write!(std::io::stdout(), "{prompt}")?;
                    std::io::stdout().flush()?;
                }
                // Bytes, not a String: a line that is not UTF-8 is reported and skipped, and the
                // session goes on with the next line. A line is bounded as a typed line is.
                let mut l = Vec::new();
                if (&mut *stdin)
                    .take(MAX_LINE_BYTES + 1)
                    .read_until(b'\n', &mut l)?
                    == 0
                {
                    return Ok(None);
                }
                if l.len() as u64 > MAX_LINE_BYTES && !l.ends_with(b"\n") {
                    // Drop the rest of the over-long line, then report it.
                    let mut rest = Vec::new();
                    while (&mut *stdin)
                        .take(MAX_LINE_BYTES)
                        .read_until(b'\n', &mut rest)?
                        > 0
                        && !rest.ends_with(b"\n")
                    {
                        rest.clear();
                    }
                    error(
                        &format!(
                            "The line is longer than {MAX_LINE_BYTES} bytes (MAX_LINE_BYTES) and was not run."
                        ),
                        false,
                    )?;
                    continue;
                }
                match String::from_utf8(l) {
                    Ok(l) => return Ok(Some(l.trim_end_matches(['\r', '\n']).to_owned())),
                    Err(e) => error(
                        &format!(
                            "The line is not valid UTF-8 (byte {} cannot be read) and was not run.",
                            e.utf8_error().valid_up_to() + 1
                        ),
                        false,
                    )?,
                }
            },
        }
    }

    /// A password: without echo on a terminal, a plain line otherwise.
    fn password(&mut self, prompt: &str) -> Result<Option<String>> {
        match self {
            Self::Editor(_) => match rpassword::prompt_password(prompt) {
                Ok(p) => Ok(Some(p)),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e.into()),
            },
            Self::Plain(_) => {
                let l = self.line(prompt)?;
                say!()?;
                Ok(l)
            }
        }
    }

    fn clear(&mut self) -> Result<()> {
        if let Self::Editor(e) = self {
            e.clear_screen()?;
        }
        Ok(())
    }
}

/// A credential a `$name = Get-Credential` line stored.
struct Credential {
    user: String,
    password: Secret,
}

/// `$name = Get-Credential …`: the variable's name.
fn credential_assignment(line: &str) -> Option<String> {
    let (lhs, rhs) = line.split_once('=')?;
    let name = lhs.trim().strip_prefix('$')?;
    let cmd = rhs.split_whitespace().next()?;
    (cmd.eq_ignore_ascii_case("Get-Credential")
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then(|| name.to_ascii_lowercase())
}

/// `-UserName X` or `-Credential X` given to Get-Credential.
fn preset_user(line: &str) -> Option<String> {
    let words = command::split_words(line.split_once('=')?.1).ok()?;
    words
        .windows(2)
        .find(|w| {
            w[0].eq_ignore_ascii_case("-UserName") || w[0].eq_ignore_ascii_case("-Credential")
        })
        .map(|w| w[1].clone())
}

/// PowerShell's caption and message when it prompts for missing mandatory parameters
/// (`ParameterBinderStrings.PromptCaption` with the cmdlet at pipeline position 1, and
/// `PromptMessage`; PowerShell's source, https://github.com/PowerShell/PowerShell).
const PROMPT_CAPTION: &str = "cmdlet Add-ADSyncAADServiceAccount at command pipeline position 1";
const PROMPT_MESSAGE: &str = "Supply values for the following parameters:";
/// The variable a prompted credential lives in for one line (not a name PowerShell allows a
/// user to type by accident: it is removed after the line).
const PROMPTED: &str = "adsyncsim_prompted_aadcredential";

/// `Add-ADSyncAADServiceAccount` without `-AADCredential`, as the 2017 articles run it: only
/// switches may follow the cmdlet. A positional word would bind to the credential (or fail to
/// bind), so such a line is parsed as typed instead of prompting.
fn bare_add_aad_service_account(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("Add-ADSyncAADServiceAccount"))
        && words.all(|w| {
            let w = w.to_ascii_lowercase();
            // PowerShell accepts any unambiguous prefix of a parameter name.
            w.starts_with('-') && !(w.len() > 2 && "-aadcredential".starts_with(&w))
        })
}

/// The console host's credential prompt (as `Get-Credential`): user, then the password with
/// no echo. `None` at the end of input.
fn ask_credential(input: &mut Input) -> Result<Option<Credential>> {
    say!("\nPowerShell credential request\nEnter your credentials.")?;
    let Some(user) = input.line("User: ")? else {
        return Ok(None);
    };
    let user = user.trim().to_owned();
    // The console host repeats the user name; a line typed there by mistake (a command with a
    // password in it) is repeated with its secrets redacted, like every echoed line.
    let shown = command::redact_line(&user);
    let Some(password) = input.password(&format!("Password for user {shown}: "))? else {
        return Ok(None);
    };
    say!()?;
    Ok(Some(Credential {
        user,
        password: Secret::new(password),
    }))
}

/// Runs the shell until `exit` or the end of input, or until whoever reads its output has gone
/// (a closed pipe ends the session quietly, as it ends any other command's output).
pub fn run(state: &Path, _format: Format) -> Result<Outcome> {
    match session(state) {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(Outcome::default())
        }
        r => r,
    }
}

/// The session itself.
fn session(state: &Path) -> Result<Outcome> {
    // Checked once here; each line then opens the state for its own command, so the shell
    // holds no lock between lines (`lab reset` or `init --force` elsewhere need not wait).
    drop(StateDir::open(state)?);
    let tty = std::io::stdin().is_terminal();
    let mut input = if tty {
        let config = Config::builder().auto_add_history(true).build();
        let mut e = Editor::with_config(config)?;
        e.set_helper(Some(ShellHelper));
        say!(
            "adsync-sim shell: AADCONNECT01, state {}. Type help for the commands, exit to leave.\n",
            state.display()
        )?;
        Input::Editor(Box::new(e))
    } else {
        Input::Plain(std::io::stdin().lock())
    };
    let color = tty && std::io::stdout().is_terminal();
    let mut creds: BTreeMap<String, Credential> = BTreeMap::new();
    while let Some(raw) = input.line(&if tty { prompt(state) } else { String::new() })? {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match first.as_str() {
            "exit" | "quit" => break,
            "help" | "get-help" | "?" => {
                say!("{HELP}\n")?;
                continue;
            }
            "cls" | "clear" | "clear-host" => {
                input.clear()?;
                continue;
            }
            "lab" => {
                lab_line(state, line, color)?;
                continue;
            }
            _ => {}
        }
        if let Some(name) = credential_assignment(line) {
            say!("\nPowerShell credential request\nEnter your credentials.")?;
            let user = match preset_user(line) {
                Some(u) => {
                    say!("User: {u}")?;
                    u
                }
                None => match input.line("User: ")? {
                    Some(u) => u.trim().to_owned(),
                    None => break,
                },
            };
            let Some(password) = input.password(&format!("Password for user {user}: "))? else {
                break;
            };
            say!()?;
            creds.insert(
                name,
                Credential {
                    user,
                    password: Secret::new(password),
                },
            );
            continue;
        }
        if let Some(var) = line.strip_prefix('$') {
            // A variable on its own is printed, as PowerShell prints a PSCredential.
            match creds.get(&var.trim().to_ascii_lowercase()) {
                Some(c) => say!(
                    "\nUserName{}Password\n--------{}--------\n{}{}System.Security.SecureString\n",
                    " ".repeat(c.user.len().saturating_sub(7)),
                    " ".repeat(c.user.len().saturating_sub(7)),
                    c.user,
                    " ".repeat(8usize.saturating_sub(c.user.len()).max(1)),
                )?,
                None => say!()?,
            }
            continue;
        }
        let prompted;
        let line = if bare_add_aad_service_account(line) {
            // PowerShell prompts for the missing mandatory credential: the 2017 articles'
            // "In the pop-up dialog, provide the Azure AD Global admin credentials".
            say!("\n{PROMPT_CAPTION}\n{PROMPT_MESSAGE}")?;
            let Some(c) = ask_credential(&mut input)? else {
                break;
            };
            creds.insert(PROMPTED.into(), c);
            prompted = format!("{line} -AADCredential ${PROMPTED}");
            prompted.as_str()
        } else {
            line
        };
        let parsed = command::split_words(line).and_then(|words| {
            let words: Vec<String> = words
                .into_iter()
                .map(|w| {
                    w.strip_prefix('$')
                        .and_then(|v| creds.get(&v.to_ascii_lowercase()))
                        .map_or(w.clone(), |c| format!("{}:{}", c.user, c.password.expose()))
                })
                .collect();
            Line::parse_words(&words)
        });
        match parsed {
            Err(command::ParseError::UnknownCommand(word)) => {
                let e = command::ParseError::UnknownCommand(word.clone());
                // PowerShell's position and category lines under the message.
                error(
                    &format!(
                        "{e}\nAt line:1 char:1\n+ {}\n+ {}\n    + CategoryInfo          : ObjectNotFound: ({word}:String) [], CommandNotFoundException\n    + FullyQualifiedErrorId : CommandNotFoundException\n",
                        command::redact_line(line),
                        "~".repeat(word.chars().count().max(1))
                    ),
                    color,
                )?;
            }
            Err(e) => error(&e.to_string(), color)?,
            Ok(Line::Command(c)) => match StateDir::open(state).and_then(|mut dir| dir.exec(&c)) {
                Ok(o) => print_text(&o.text)?,
                Err(e) => match e.hint() {
                    Some(hint) => error(&format!("{e}\nhint: {hint}"), color)?,
                    None => error(&e.to_string(), color)?,
                },
            },
            // The runbook verbs, as `adsync-sim diagnose` and `remediate` run them.
            Ok(Line::Runbook(r)) => match crate::remedy_cmd::on_state(state, &r) {
                Ok(o) => print_text(&o.human)?,
                Err(e) => error(&format!("{e:#}"), color)?,
            },
        }
        creds.remove(PROMPTED);
    }
    Ok(Outcome::default())
}

/// What a line printed, without trailing blank lines.
fn print_text(text: &str) -> std::io::Result<()> {
    let t = text.trim_end();
    if !t.is_empty() {
        say!("{t}")?;
    }
    Ok(())
}

/// An error as PowerShell shows it: red on a terminal.
fn error(text: &str, color: bool) -> std::io::Result<()> {
    if color {
        say!("\x1b[91m{text}\x1b[0m")?;
    } else {
        say!("{text}")?;
    }
    Ok(())
}

/// `lab brief|hint|check` from inside the shell.
fn lab_line(state: &Path, line: &str, color: bool) -> std::io::Result<()> {
    let sub = line.split_whitespace().nth(1).unwrap_or_default();
    let command = match sub.to_ascii_lowercase().as_str() {
        "brief" => LabCommand::Brief,
        "hint" => LabCommand::Hint,
        "check" => LabCommand::Check,
        _ => {
            return error(
                "In the shell: lab brief, lab hint, lab check (start, reset and verify run outside it).",
                color,
            );
        }
    };
    match crate::lab_cmd::run(
        state,
        LabArgs {
            labs: None,
            command,
        },
    ) {
        Ok(o) => say!("{}", o.human.trim_end()),
        Err(e) => error(&format!("{e:#}"), color),
    }
}
