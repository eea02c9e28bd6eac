//! Scenarios: files that make a world, run command lines in it and check what the real system
//! would show (docs/design.md §6).
//!
//! - [`format`]: the TOML format, with unknown keys refused.
//! - [`runner`]: a scenario step by step on a host (a fresh in-memory world, or a real one),
//!   with its expectations.
//! - [`preflight`]: which steps a real host without ADSync can run, decided before any runs.

pub mod format;
pub mod preflight;
pub mod runner;

pub use format::{Evidence, Expect, Scenario, ScenarioError, Step};
pub use preflight::Refusal;
pub use runner::{
    ScenarioReport, StepReport, run_scenario, run_scenario_observed, run_scenario_on,
};
