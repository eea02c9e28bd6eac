//! The process exit statuses of `adsync-sim`, and the result codes scenarios give the same
//! outcomes.
//!
//! The result code of a command (0, or the Win32 / HRESULT / tool code the real command
//! returns) does not fit a process exit status (Unix keeps 8 bits), so the process reports
//! only how the command ended (docs/design.md §4): [`SUCCESS`], [`FAILURE`] or [`USAGE`]. A
//! scenario step records the same two failures as its result code ([`FAILURE`] for a command
//! the world refuses, [`USAGE`] for a line that does not parse), so a step and the CLI agree.
//! This module depends on nothing else in the crate.

/// The command ran and its result code is 0; `scenario run`: every scenario passed;
/// `remediate`: the server is healthy; `lab check`: every objective is met.
pub const SUCCESS: u8 = 0;
/// The command failed: a non-zero result code (printed as the real tool prints it), a command
/// the world refuses, damaged state, a failed scenario, an unsolved lab (docs/design.md §4).
pub const FAILURE: u8 = 1;
/// A usage error: clap's own status for a command line it rejects (`clap::Error::exit_code`
/// is 2 for every usage error), and the same for a line of the command language that does not
/// parse (docs/design.md §4).
pub const USAGE: u8 = 2;
