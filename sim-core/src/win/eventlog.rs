//! The System and Application event logs: records with an id, a source, a level, a simulated
//! time and the exact message text (docs/design.md §3; texts in [`super::text`]).

use std::collections::VecDeque;

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

    /// The log's position in [`Self::ALL`].
    fn index(self) -> usize {
        match self {
            Self::System => 0,
            Self::Application => 1,
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

/// How many records a log keeps. Windows caps a log by size and, when it is full, overwrites the
/// oldest records ("Overwrite events as needed") while record numbers keep counting: "Maximum
/// system log size" (Windows Server 2003 documentation: a multiple of 64 KB, 16 MB by default
/// there), https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2003/cc779139(v=ws.10);
/// Event Viewer on current Windows Server shows 20,480 KB for System and Application (COMM).
/// Named choice: the simulator caps each log by count instead, 2000 records (weeks of a failing
/// sync cycle's events every 30 minutes), because the whole world is rewritten on each
/// command and a 20 MB log would make every command rewrite megabytes; memory and state grow
/// with what is kept, never with how many events were ever written.
pub const MAX_RECORDS_PER_LOG: usize = 2000;

/// Both logs.
///
/// Stored as one list of records in the order they were written (the state's `events.records`);
/// in memory each log's count and last record id are kept beside it, so a write costs the same
/// whether the logs are empty or full.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "StoredLogs")]
pub struct EventLogs {
    records: VecDeque<EventRecord>,
    /// Records per log ([`LogName::index`]), derived from `records`.
    #[serde(skip)]
    counts: [usize; 2],
    /// The last record id per log (0: none written), derived from `records`.
    #[serde(skip)]
    last_ids: [u64; 2],
    /// While a transaction is open: how to undo each write since it began (never persisted).
    #[serde(skip)]
    undo: Option<Vec<Undo>>,
}

/// The logs as stored: the records alone.
#[derive(Deserialize)]
struct StoredLogs {
    records: VecDeque<EventRecord>,
}

impl From<StoredLogs> for EventLogs {
    fn from(s: StoredLogs) -> Self {
        let mut logs = Self {
            records: s.records,
            ..Self::default()
        };
        for r in &logs.records {
            let i = r.log.index();
            logs.counts[i] += 1;
            logs.last_ids[i] = logs.last_ids[i].max(r.record_id);
        }
        logs
    }
}

/// How to undo one change of the records.
#[derive(Clone, Debug)]
enum Undo {
    /// A record was appended: drop the last record.
    Appended,
    /// The record at this index was dropped to make room: put it back.
    Dropped(usize, EventRecord),
}

/// Where a transaction began in the undo journal ([`EventLogs::begin`]).
#[derive(Debug)]
#[must_use = "a transaction is ended with commit or rollback"]
pub struct EventMark {
    at: usize,
    outermost: bool,
}

/// Two event logs are equal when their records are: an open transaction's undo journal is
/// bookkeeping, not content.
impl PartialEq for EventLogs {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
    }
}

impl Eq for EventLogs {}

impl EventLogs {
    /// Appends an event at `time` and returns the stored record. A log holding
    /// [`MAX_RECORDS_PER_LOG`] records drops its oldest ("Overwrite events as needed", the
    /// Windows default); record ids keep counting.
    pub fn write(&mut self, time: FileTime, e: NewEvent) -> EventRecord {
        self.push(time, e.log, e.source.to_owned(), e.id, e.level, e.message)
    }

    /// Writes again, at `time`, an event like `like` (same log, source, id, level and
    /// message), with the next record id of its log.
    pub fn write_like(&mut self, time: FileTime, like: &EventRecord) -> EventRecord {
        self.push(
            time,
            like.log,
            like.source.clone(),
            like.id,
            like.level,
            like.message.clone(),
        )
    }

    fn push(
        &mut self,
        time: FileTime,
        log: LogName,
        source: String,
        id: u32,
        level: Level,
        message: String,
    ) -> EventRecord {
        let i = log.index();
        let rec = EventRecord {
            record_id: self.last_ids[i] + 1,
            log,
            source,
            id,
            level,
            time,
            message,
        };
        if self.counts[i] >= MAX_RECORDS_PER_LOG
            && let Some(oldest) = self.records.iter().position(|r| r.log == log)
            && let Some(dropped) = self.records.remove(oldest)
        {
            self.counts[i] -= 1;
            if let Some(undo) = &mut self.undo {
                undo.push(Undo::Dropped(oldest, dropped));
            }
        }
        self.records.push_back(rec.clone());
        self.counts[i] += 1;
        self.last_ids[i] = rec.record_id;
        if let Some(undo) = &mut self.undo {
            undo.push(Undo::Appended);
        }
        rec
    }

    /// Opens a transaction (or a nested one inside an open transaction): every write from now
    /// on can be undone by [`EventLogs::rollback`] with the returned mark.
    pub fn begin(&mut self) -> EventMark {
        let outermost = self.undo.is_none();
        let undo = self.undo.get_or_insert_with(Vec::new);
        EventMark {
            at: undo.len(),
            outermost,
        }
    }

    /// Keeps the writes since `mark`; the outermost commit ends the journal.
    pub fn commit(&mut self, mark: EventMark) {
        if mark.outermost {
            self.undo = None;
        }
    }

    /// Undoes every write since `mark`, newest first, leaving the records as they were when
    /// `mark` was taken.
    pub fn rollback(&mut self, mark: EventMark) {
        if let Some(undo) = &mut self.undo {
            while undo.len() > mark.at {
                match undo.pop() {
                    Some(Undo::Appended) => {
                        if let Some(r) = self.records.pop_back() {
                            // Record ids of a log are consecutive: the one before is the last.
                            let i = r.log.index();
                            self.counts[i] -= 1;
                            self.last_ids[i] = r.record_id - 1;
                        }
                    }
                    Some(Undo::Dropped(at, r)) => {
                        self.counts[r.log.index()] += 1;
                        self.records.insert(at, r);
                    }
                    None => break,
                }
            }
        }
        if mark.outermost {
            self.undo = None;
        }
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
    pub fn all(&self) -> std::collections::vec_deque::Iter<'_, EventRecord> {
        self.records.iter()
    }

    /// How many records both logs hold.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether both logs are empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service-state event (7036) in the System log, or in the Application log.
    fn ev(system: bool) -> NewEvent {
        NewEvent {
            log: if system {
                LogName::System
            } else {
                LogName::Application
            },
            source: "Service Control Manager",
            id: 7036,
            level: Level::Information,
            message: "m".into(),
        }
    }

    #[test]
    fn a_full_log_overwrites_its_oldest_records_and_numbers_keep_counting() {
        let mut logs = EventLogs::default();
        let extra = 500u64;
        for i in 0..MAX_RECORDS_PER_LOG as u64 + extra {
            let r = logs.write(FileTime(i), ev(true));
            assert_eq!(r.record_id, i + 1);
        }
        logs.write(FileTime(0), ev(false));
        let system: Vec<u64> = logs
            .all()
            .filter(|r| r.log == LogName::System)
            .map(|r| r.record_id)
            .collect();
        assert_eq!(system.len(), MAX_RECORDS_PER_LOG);
        assert_eq!(system[0], extra + 1, "the oldest were overwritten");
        assert!(system.windows(2).all(|w| w[1] == w[0] + 1));
        // The other log keeps its own numbering and is not trimmed by the full one.
        assert_eq!(logs.all().last().map(|r| r.record_id), Some(1));
    }

    proptest::proptest! {
        /// A rolled-back transaction leaves the records exactly as they were, also when the
        /// writes overwrote the oldest records of a full log; a nested rollback undoes only its
        /// own writes; a commit keeps them.
        #[test]
        fn rollback_restores_the_records_exactly(
            before in proptest::prop_oneof![0usize..50, (MAX_RECORDS_PER_LOG - 30)..(MAX_RECORDS_PER_LOG + 30)],
            inner in proptest::collection::vec(proptest::bool::ANY, 0..60),
            outer in proptest::collection::vec(proptest::bool::ANY, 0..60),
            commit_inner in proptest::bool::ANY,
        ) {
            let mut logs = EventLogs::default();
            for i in 0..before {
                logs.write(FileTime(i as u64), ev(i % 3 != 0));
            }
            let start = logs.clone();
            let outer_mark = logs.begin();
            for s in &outer {
                logs.write(FileTime(1), ev(*s));
            }
            let middle = logs.clone();
            let inner_mark = logs.begin();
            for s in &inner {
                logs.write(FileTime(2), ev(*s));
            }
            if commit_inner {
                logs.commit(inner_mark);
            } else {
                logs.rollback(inner_mark);
                proptest::prop_assert_eq!(logs.all().collect::<Vec<_>>(), middle.all().collect::<Vec<_>>());
            }
            logs.rollback(outer_mark);
            proptest::prop_assert_eq!(logs.all().collect::<Vec<_>>(), start.all().collect::<Vec<_>>());
            proptest::prop_assert!(logs.undo.is_none(), "the journal ends with the transaction");
            // The kept counts and ids are restored too: the next write of each log is the one
            // the untouched logs would make.
            let mut untouched = start.clone();
            for log in [true, false] {
                proptest::prop_assert_eq!(
                    logs.write(FileTime(3), ev(log)),
                    untouched.write(FileTime(3), ev(log))
                );
            }
            proptest::prop_assert_eq!(logs.counts, untouched.counts);
        }

        /// Logs read back from the state keep counting where they were and keep the cap.
        #[test]
        fn stored_logs_go_on_where_they_were(
            writes in proptest::collection::vec(proptest::bool::ANY, 0..80),
            full in proptest::bool::ANY,
        ) {
            let mut logs = EventLogs::default();
            let fill = if full { MAX_RECORDS_PER_LOG } else { 0 };
            for _ in 0..fill {
                logs.write(FileTime(0), ev(false));
            }
            for s in &writes {
                logs.write(FileTime(1), ev(*s));
            }
            let json = serde_json::to_string(&logs).expect("serialise");
            let mut read: EventLogs = serde_json::from_str(&json).expect("read back");
            proptest::prop_assert_eq!(&read, &logs);
            proptest::prop_assert_eq!(read.counts, logs.counts);
            proptest::prop_assert_eq!(read.last_ids, logs.last_ids);
            for log in [true, false] {
                proptest::prop_assert_eq!(
                    read.write(FileTime(2), ev(log)),
                    logs.write(FileTime(2), ev(log))
                );
            }
            proptest::prop_assert!(read.counts.iter().all(|c| *c <= MAX_RECORDS_PER_LOG));
        }
    }
}
