//! Run profiles and the statuses a run ends with, as the Synchronization Service Manager's
//! Operations tab and `Get-ADSyncConnectorRunStatus` show them.
//!
//! Follows `docs/adsync.md` §4 (the run-status vocabulary from the docs' Operations-tab
//! table and the FIM WMI "Return Strings") and §5.3 (the scheduler's Delta and Initial
//! policies, a cycle every 30 minutes).

use serde::{Deserialize, Serialize};

use crate::filetime::FileTime;

/// A run profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunProfile {
    /// "Full Import".
    FullImport,
    /// "Delta Import".
    DeltaImport,
    /// "Full Synchronization".
    FullSynchronization,
    /// "Delta Synchronization".
    DeltaSynchronization,
    /// "Export".
    Export,
}

impl RunProfile {
    /// Every profile.
    pub const ALL: [Self; 5] = [
        Self::FullImport,
        Self::DeltaImport,
        Self::FullSynchronization,
        Self::DeltaSynchronization,
        Self::Export,
    ];

    /// The profile's name as the console shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullImport => "Full Import",
            Self::DeltaImport => "Delta Import",
            Self::FullSynchronization => "Full Synchronization",
            Self::DeltaSynchronization => "Delta Synchronization",
            Self::Export => "Export",
        }
    }

    /// Parses a profile name, case and spaces ignored (`"Delta Import"`, `deltaimport`).
    pub fn parse(s: &str) -> Option<Self> {
        let norm = |x: &str| x.replace([' ', '-', '_'], "").to_ascii_lowercase();
        Self::ALL.into_iter().find(|p| norm(p.as_str()) == norm(s))
    }

    /// Whether the run talks to the connected directory (and so needs its credentials).
    /// Synchronization runs work on the connector space only.
    pub fn connects(self) -> bool {
        !matches!(self, Self::FullSynchronization | Self::DeltaSynchronization)
    }
}

/// The scheduler's policy (`Start-ADSyncSyncCycle -PolicyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    /// `Delta`.
    Delta,
    /// `Initial`.
    Initial,
}

impl PolicyType {
    /// PowerShell's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delta => "Delta",
            Self::Initial => "Initial",
        }
    }

    /// Parses `Delta` / `Initial`, case ignored.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "delta" => Some(Self::Delta),
            "initial" => Some(Self::Initial),
            _ => None,
        }
    }

    /// The profiles a cycle runs on each connector, in order.
    pub fn profiles(self) -> [RunProfile; 3] {
        match self {
            Self::Delta => [
                RunProfile::DeltaImport,
                RunProfile::DeltaSynchronization,
                RunProfile::Export,
            ],
            Self::Initial => [
                RunProfile::FullImport,
                RunProfile::FullSynchronization,
                RunProfile::Export,
            ],
        }
    }
}

/// How a run ended (`docs/adsync.md` §4, run-status vocabulary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// `success`.
    Success,
    /// `no-start-credentials`: the connector's credentials were rejected or unreadable.
    NoStartCredentials,
    /// `stopped-server-down`: the connected directory refused or could not be reached.
    StoppedServerDown,
}

impl RunStatus {
    /// The status as the console prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::NoStartCredentials => "no-start-credentials",
            Self::StoppedServerDown => "stopped-server-down",
        }
    }
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The profile.
    pub profile: RunProfile,
    /// How it ended.
    pub status: RunStatus,
    /// When it ran.
    pub time: FileTime,
}

/// The sync scheduler (`docs/adsync.md` §5.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduler {
    /// `SyncCycleEnabled`.
    pub sync_cycle_enabled: bool,
    /// `NextSyncCycleStartTimeInUTC`.
    pub next_cycle: FileTime,
    /// `NextSyncCyclePolicyType`.
    pub next_policy: PolicyType,
    /// The cycle that is running, if one is (`SyncCycleInProgress`; `world::sync::run_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<CycleInProgress>,
}

/// A sync cycle that takes simulated time: when each connector's part of it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleInProgress {
    /// When the cycle started.
    pub started: FileTime,
    /// Each connector's name and when its runs end, in the cycle's order.
    pub ends: Vec<(String, FileTime)>,
}

impl CycleInProgress {
    /// When the whole cycle ends.
    pub fn end(&self) -> FileTime {
        self.ends.last().map_or(self.started, |(_, t)| *t)
    }
}

impl Scheduler {
    /// An enabled scheduler whose first Delta cycle is one interval after `now`.
    pub fn new(now: FileTime) -> Self {
        let mut s = Self {
            sync_cycle_enabled: true,
            next_cycle: now,
            next_policy: PolicyType::Delta,
            in_progress: None,
        };
        s.reschedule(now);
        s
    }

    /// After a cycle (or on re-enabling): the next one is a Delta cycle one interval later.
    pub fn reschedule(&mut self, now: FileTime) {
        self.next_cycle = now.plus_secs(SYNC_CYCLE_MINUTES * 60);
        self.next_policy = PolicyType::Delta;
    }
}

/// The default cycle: 30 minutes (`docs/adsync.md` §5.3).
pub const SYNC_CYCLE_MINUTES: u64 = 30;
/// `PurgeRunHistoryInterval`'s default, 7 days (the scheduler doc's value).
pub const PURGE_RUN_HISTORY_DAYS: u64 = 7;
