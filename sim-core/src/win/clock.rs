//! Simulated time: the world's clock and the durations admins type (`clock advance 91d`).
//!
//! docs/design.md §3: time is simulated; master key rotation (90 days), gMSA rotation (30 days) and event
//! timestamps follow it. Named choice: a new world's clock starts at
//! [`WORLD_EPOCH`] (2026-01-05 09:00:00 UTC, a Monday morning) so the same seed always gives the
//! same times.

use thiserror::Error;

use crate::filetime::FileTime;

/// When every new world's clock starts: 2026-01-05T09:00:00Z.
pub const WORLD_EPOCH_UNIX: i64 = 1_767_603_600;

/// The start time of every new world.
pub fn world_epoch() -> FileTime {
    FileTime::from_unix_secs(WORLD_EPOCH_UNIX)
}

/// The longest single advance: 100 years, far beyond anything a scenario needs.
const MAX_ADVANCE_SECS: u64 = 100 * 366 * 86_400;

/// The latest time the clock reaches: 9999-12-31T23:59:59Z, .NET's `DateTime.MaxValue` (to the
/// second), the latest time PowerShell can show (`Get-ADSyncScheduler`'s
/// `NextSyncCycleStartTimeInUTC` and every event's `TimeCreated` are `DateTime`s): "DateTime.MaxValue
/// Field", https://learn.microsoft.com/dotnet/api/system.datetime.maxvalue. Advancing past it is
/// an error; the scheduler's next cycle past it never comes due, so an advance at the edge ends.
pub const MAX_CLOCK_UNIX: i64 = 253_402_300_799;

/// The clock's maximum as a FILETIME.
pub fn max_clock() -> FileTime {
    FileTime::from_unix_secs(MAX_CLOCK_UNIX)
}

/// A duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid duration '{text}': {reason} (use a number and a unit: 30s, 15m, 2h, 91d or 1w, e.g. 1d12h)"
)]
pub struct DurationError {
    /// What was given.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses `91d`, `1m`, `2h30m`, `45s`, `1w` into seconds. `m` is minutes.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let err = |reason| DurationError {
        text: text.to_owned(),
        reason,
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(err("unknown unit")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| err("a unit needs a number before it"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("it is too long"))?;
    }
    if !digits.is_empty() {
        return Err(err("the last number has no unit"));
    }
    if total == 0 {
        return Err(err("it is zero"));
    }
    if total > MAX_ADVANCE_SECS {
        return Err(err("it is longer than 100 years"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("91d"), Ok(91 * 86_400));
        assert_eq!(parse_duration("1m"), Ok(60));
        assert_eq!(parse_duration("1d12h"), Ok(36 * 3600));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert_eq!(world_epoch().to_string(), "2026-01-05T09:00:00Z");
        assert_eq!(max_clock().to_string(), "9999-12-31T23:59:59Z");
    }
}
