//! The simulator's named limits a command would pass, as [`super::WorldError::Limit`] carries
//! them: which limit, the value asked for and the value that stands. Each limit is a named
//! constant with its reason where it is defined ([`super::rights::MAX_LOCKOUT_THRESHOLD`],
//! [`crate::win::clock::MAX_CLOCK_UNIX`], [`super::MAX_SYNC_CYCLES_PER_ADVANCE`]); the sentence is
//! built here, from the fields.

use std::fmt;

use crate::filetime::FileTime;

use super::MAX_SYNC_CYCLES_PER_ADVANCE;
use super::rights::MAX_LOCKOUT_THRESHOLD;

/// A limit a command would pass; nothing has changed when it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `net accounts /lockoutthreshold:N` above what Windows accepts
    /// ([`MAX_LOCKOUT_THRESHOLD`]).
    LockoutThreshold {
        /// The threshold asked for.
        asked: u32,
    },
    /// The clock would pass the latest time Windows tools show (.NET's `DateTime.MaxValue`).
    ClockEnd {
        /// The latest time.
        max: FileTime,
        /// The clock now.
        now: FileTime,
    },
    /// An advance would run more scheduled sync cycles than one command may
    /// ([`MAX_SYNC_CYCLES_PER_ADVANCE`]).
    SyncCycles {
        /// The advance asked for, in seconds.
        secs: u64,
        /// The cycles it would run.
        cycles: u64,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LockoutThreshold { asked } => write!(
                f,
                "a lockout threshold of {asked} is more than Windows accepts (0 to {MAX_LOCKOUT_THRESHOLD} invalid logon attempts)"
            ),
            Self::ClockEnd { max, now } => write!(
                f,
                "the clock cannot pass {max} (the latest time Windows tools show, .NET's DateTime.MaxValue); it is {now} now"
            ),
            Self::SyncCycles { secs, cycles } => write!(
                f,
                "advancing {secs} s would run {cycles} scheduled sync cycles, more than the {MAX_SYNC_CYCLES_PER_ADVANCE} one command may run (two years of 30-minute cycles); advance in shorter steps, or pause the scheduler first (Set-ADSyncScheduler -SyncCycleEnabled $false)"
            ),
        }
    }
}
