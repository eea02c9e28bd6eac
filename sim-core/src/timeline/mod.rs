//! The journal of a world and its picture: one [`Entry`] per command (the line with passwords
//! redacted, its result code, the simulated time after it, the ADSync service's state after it,
//! and the events it wrote), and [`svg`] / [`html`] renderings a trainer can put on a slide.
//!
//! The state store keeps these entries per command (`sim_store`, table `journal`) and the
//! scenario runner makes the same entries for a scenario run, so `adsync-sim timeline` draws
//! either. Commands take no simulated time (README modelling choice 'Commands take no simulated
//! time'): the picture spaces commands evenly and labels them with the simulated clock, marking
//! where it jumped.

mod render;

use serde::{Deserialize, Serialize};

use crate::backend::{ServiceStatus, service_status_of};
use crate::win::eventlog::EventRecord;
use crate::win::scm::ServiceState;
use crate::world::{ADSYNC_SERVICE, World};

pub use render::{html, svg};

/// The ADSync service's state as the timeline bands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Running.
    Running,
    /// Stopped cleanly (exit code 0).
    Stopped,
    /// Stopped with a non-zero `WIN32_EXIT_CODE`: a failed start or a crash.
    Failed,
    /// Start or stop pending.
    Pending,
    /// Not installed, or unknown (journals written before the column existed).
    Unknown,
}

impl Band {
    /// The ADSync service's band in `world` (as [`crate::backend::SimHost`] shows it).
    pub fn of(world: &World) -> Self {
        Self::of_status(service_status_of(world, ADSYNC_SERVICE).as_ref())
    }

    /// The band of a service's status as a host shows it (`None`: not installed).
    pub fn of_status(status: Option<&ServiceStatus>) -> Self {
        match status {
            None => Self::Unknown,
            Some(s) => match s.state {
                ServiceState::Running => Self::Running,
                ServiceState::Stopped if s.win32_exit_code != 0 => Self::Failed,
                ServiceState::Stopped => Self::Stopped,
                ServiceState::StartPending | ServiceState::StopPending => Self::Pending,
            },
        }
    }

    /// The word the journal stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Pending => "pending",
            Self::Unknown => "unknown",
        }
    }

    /// Parses [`Band::as_str`]; anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        [Self::Running, Self::Stopped, Self::Failed, Self::Pending]
            .into_iter()
            .find(|b| b.as_str() == s)
            .unwrap_or(Self::Unknown)
    }
}

/// One command in a journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// The simulated time after the command (RFC 3339).
    pub clock: String,
    /// The command line, passwords redacted.
    pub command: String,
    /// Its result code.
    pub code: u32,
    /// The ADSync service after it.
    pub service: Band,
    /// The events it wrote.
    pub events: Vec<EventRecord>,
}
