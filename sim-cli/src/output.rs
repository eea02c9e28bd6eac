//! Printing results and choosing the exit status.
//!
//! docs/design.md §4: every command has a result code (0, or the Win32 / HRESULT / tool code the real
//! command returns). It is printed as the real tool prints it and is `result_code` in JSON. The
//! process exits 0 on success and 1 on failure (2 for usage errors, which clap handles): the
//! statuses of [`sim_core::exit`].

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};
use sim_core::exit;

use crate::cli::Format;

/// What a successful command prints.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Text for `--format human`.
    pub human: String,
    /// The JSON document for `--format json` (an object; `result_code` is added).
    pub json: Value,
    /// Raw bytes for standard output instead of `human` (plaintext from `dpapi unprotect`).
    pub raw: Option<Vec<u8>>,
    /// The command's result code: 0, or the code the real tool returns. A non-zero code is
    /// printed on standard output as the real tool prints it, and the process exits 1.
    pub result_code: u32,
}

/// A command that ran and failed with a result code (the process exits [`exit::FAILURE`]).
#[derive(Debug)]
pub struct Failure {
    /// The code the real API or tool returns (e.g. 0x8007000D).
    pub result_code: u32,
    /// What happened, including the code as the real tool prints it.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Prints the result and returns the process exit status.
pub fn finish(format: Format, result: anyhow::Result<Outcome>) -> ExitCode {
    let written = match &result {
        Ok(outcome) => print_success(format, outcome),
        Err(err) => print_failure(format, err),
    };
    let status = match &result {
        Ok(o) if o.result_code == 0 => exit::SUCCESS,
        Err(e) if is_usage(e) => exit::USAGE,
        _ => exit::FAILURE,
    };
    ExitCode::from(match written {
        // A closed pipe (`| head`) is not a failure of the command.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(_) => exit::FAILURE,
        Ok(()) => status,
    })
}

fn print_success(format: Format, outcome: &Outcome) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Human => match &outcome.raw {
            Some(raw) => out.write_all(raw)?,
            None if outcome.human.is_empty() => {}
            None => writeln!(out, "{}", outcome.human.trim_end())?,
        },
        Format::Junit | Format::Html if outcome.raw.is_some() => {
            if let Some(raw) = &outcome.raw {
                out.write_all(raw)?;
            }
        }
        Format::Json | Format::Junit | Format::Html => {
            let mut doc = match &outcome.json {
                Value::Object(m) => m.clone(),
                other => {
                    let mut m = serde_json::Map::new();
                    m.insert("value".into(), other.clone());
                    m
                }
            };
            doc.insert("result_code".into(), json!(outcome.result_code));
            if outcome.result_code > 0xFFFF {
                doc.insert(
                    "result_code_hex".into(),
                    json!(format!("0x{:08X}", outcome.result_code)),
                );
            }
            writeln!(out, "{}", Value::Object(doc))?;
        }
    }
    out.flush()
}

/// A line of the command language that does not parse is a usage error, like clap's.
fn is_usage(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sim_core::command::ParseError>()
        .is_some()
}

/// What to do instead, when the world's error carries one answer apart from its message.
fn hint_of(err: &anyhow::Error) -> Option<&str> {
    err.chain().find_map(|e| {
        e.downcast_ref::<sim_core::world::WorldError>()
            .and_then(sim_core::world::WorldError::hint)
            .or_else(|| {
                e.downcast_ref::<sim_store::StoreError>()
                    .and_then(sim_store::StoreError::hint)
            })
    })
}

fn print_failure(format: Format, err: &anyhow::Error) -> std::io::Result<()> {
    // A usage error's result code is the exit status it ends with, as a scenario step records
    // it; any other failure without a code of its own is FAILURE.
    let code = err.downcast_ref::<Failure>().map_or_else(
        || {
            u32::from(if is_usage(err) {
                exit::USAGE
            } else {
                exit::FAILURE
            })
        },
        |f| f.result_code,
    );
    let message = err
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    let hint = hint_of(err);
    match format {
        Format::Human => {
            let mut e = std::io::stderr().lock();
            writeln!(e, "error: {message}")?;
            if let Some(hint) = hint {
                writeln!(e, "hint: {hint}")?;
            }
            e.flush()
        }
        Format::Json | Format::Junit | Format::Html => {
            let mut out = std::io::stdout().lock();
            let mut doc = json!({ "result_code": code, "error": message });
            if let Some(hint) = hint {
                doc["hint"] = json!(hint);
            }
            if code > 0xFFFF {
                // HRESULTs read better in hex, as Windows prints them.
                doc["result_code_hex"] = json!(format!("0x{code:08X}"));
            }
            writeln!(out, "{doc}")?;
            out.flush()
        }
    }
}
