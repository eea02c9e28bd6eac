//! Break/fix training labs (docs/design.md §1 "trainers, admins", §6 `[lab]`): a lab file makes a
//! healthy world, breaks it with hidden steps as a real incident would (a reset password, a
//! wrong SCM password, a cloud-side reset), hands the admin a ticket, and checks objectives
//! ("the service is running", "every connector's last run is a success") against the world the
//! admin repaired with the commands of the real server.
//!
//! Faults and fixes follow the seed articles listed in `docs/sources.md` (each lab cites its own).
//! The lab only produces and checks commands (docs/design.md §2): it drives the world through a
//! [`crate::backend::SimHost`], running each line as the scenario runner does and reading only
//! what [`crate::backend::Host`] shows; an objective that needs a command that changes the world
//! runs on a copy.
//!
//! - [`format`]: the file format, refusing unknown keys and placeholders.
//! - [`run`]: start, check, score, progress, verify.
//! - [`catalogue`]: the labs shipped in `scenarios/labs/`, built into the binary.

pub mod catalogue;
pub mod format;
pub mod run;

pub use format::{LabError, LabFile, LabSpec, Objective};
pub use run::{
    CheckReport, HINT_COST, Lab, LabState, ObjectiveResult, Progress, Started, Values,
    VerifyReport, check, find, start, verify,
};
