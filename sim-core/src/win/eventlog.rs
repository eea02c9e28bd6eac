//! The System and Application event logs: records with an id, a source, a level, a simulated
//! time and the exact message text (docs/design.md §3; texts in [`super::text`]).

use serde::{Deserialize, Serialize};

use crate::filetime::FileTime;

/// The logs the simulator keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogName {
    /// The System log (Service Control Manager events).
    System,
    /// The Application log (ADSync and directory synchronization events).
    Application,
}

impl LogName {
    /// All logs, in display order.
    pub const ALL: [Self; 2] = [Self::System, Self::Application];

    /// The name as Event Viewer and `Get-WinEvent -LogName` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Application => "Application",
        }
    }

    /// Parses a log name case-insensitively, as `Get-WinEvent -LogName` does.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }
}

/// Event levels, as Event Viewer shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Information.
    Information,
}

impl Level {
    /// The level's display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "Error",
            Self::Warning => "Warning",
            Self::Information => "Information",
        }
    }
}

/// One event record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Record number within its log, from 1.
    pub record_id: u64,
    /// The log.
    pub log: LogName,
    /// The event source (provider), e.g. "Service Control Manager".
    pub source: String,
    /// The event id.
    pub id: u32,
    /// The level.
    pub level: Level,
    /// When it was written (simulated time).
    pub time: FileTime,
    /// The rendered message.
    pub message: String,
}

/// An event about to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The log.
    pub log: LogName,
    /// The source.
    pub source: &'static str,
    /// The id.
    pub id: u32,
    /// The level.
    pub level: Level,
    /// The message.
    pub message: String,
}

/// How many records a log keeps. Named choice: Windows caps a log by size (20 MB for the
/// Application log by default); the simulator caps it by count, enough for months of failing
/// sync cycles while keeping the state small.
pub const MAX_RECORDS_PER_LOG: usize = 2000;

/// Both logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLogs {
    records: Vec<EventRecord>,
}

impl EventLogs {
    /// Appends an event at `time` and returns the stored record. A log holding
    /// [`MAX_RECORDS_PER_LOG`] records drops its oldest ("Overwrite events as needed", the
    /// Windows default); record ids keep counting.
    pub fn write(&mut self, time: FileTime, e: NewEvent) -> EventRecord {
        let record_id = self
            .records
            .iter()
            .rev()
            .find(|r| r.log == e.log)
            .map_or(1, |r| r.record_id + 1);
        let rec = EventRecord {
            record_id,
            log: e.log,
            source: e.source.to_owned(),
            id: e.id,
            level: e.level,
            time,
            message: e.message,
        };
        if self.records.iter().filter(|r| r.log == e.log).count() >= MAX_RECORDS_PER_LOG
            && let Some(oldest) = self.records.iter().position(|r| r.log == e.log)
        {
            self.records.remove(oldest);
        }
        self.records.push(rec.clone());
        rec
    }

    /// Records matching the filters, oldest first; `last` keeps only the newest N.
    pub fn query(
        &self,
        log: Option<LogName>,
        id: Option<u32>,
        last: Option<usize>,
    ) -> Vec<&EventRecord> {
        let matching: Vec<&EventRecord> = self
            .records
            .iter()
            .filter(|r| log.is_none_or(|l| r.log == l) && id.is_none_or(|i| r.id == i))
            .collect();
        match last {
            Some(n) if n < matching.len() => matching[matching.len() - n..].to_vec(),
            _ => matching,
        }
    }

    /// Every record, oldest first.
    pub fn all(&self) -> &[EventRecord] {
        &self.records
    }
}
