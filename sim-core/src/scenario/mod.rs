//! Scenarios: files that make a world, run command lines in it and check what the real system
//! would show (docs/design.md §6).
//!
//! - [`format`]: the TOML format, with unknown keys refused.
//! - [`runner`]: a scenario in a fresh in-memory world, step by step, with its expectations.

pub mod format;
pub mod runner;

pub use format::{Evidence, Expect, Scenario, ScenarioError, Step};
pub use runner::{ScenarioReport, StepReport, run_scenario, run_scenario_observed};
