//! Windows `FILETIME`: 100-nanosecond intervals since 1601-01-01 00:00 UTC.
//!
//! DPAPI stores the `Preferred` master key's expiry in this unit (`docs/dpapi.md` §2.2), and
//! the simulated clock of the world counts in it, so every artefact the simulator writes carries
//! the same times a Windows host would.

use std::fmt;

/// Seconds between 1601-01-01 and 1970-01-01 (the Unix epoch).
const EPOCH_DIFFERENCE_SECS: u64 = 11_644_473_600;
/// FILETIME ticks (100 ns) per second.
const TICKS_PER_SEC: u64 = 10_000_000;

/// A point in time as Windows stores it.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct FileTime(pub u64);

impl FileTime {
    /// The FILETIME of a Unix timestamp in seconds; times before 1601 saturate to zero.
    pub fn from_unix_secs(secs: i64) -> Self {
        let ticks =
            (i128::from(secs) + i128::from(EPOCH_DIFFERENCE_SECS)) * i128::from(TICKS_PER_SEC);
        Self(u64::try_from(ticks.max(0)).unwrap_or(u64::MAX))
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_secs(self) -> i64 {
        let secs = self.0 / TICKS_PER_SEC;
        i64::try_from(secs).unwrap_or(i64::MAX) - EPOCH_DIFFERENCE_SECS as i64
    }

    /// This time plus a number of whole days, saturating at the end of FILETIME.
    pub fn plus_days(self, days: u64) -> Self {
        self.plus_secs(days.saturating_mul(86_400))
    }

    /// This time plus a number of seconds, saturating at the end of FILETIME.
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(TICKS_PER_SEC)))
    }

    /// The calendar date and time in UTC, as `(year, month, day, hour, minute, second)`.
    pub fn to_utc(self) -> (i64, u32, u32, u32, u32, u32) {
        let secs = self.unix_secs();
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        // `rem` is in 0..86_400, so the casts below cannot truncate.
        let rem = u32::try_from(rem).unwrap_or(0);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }
}

impl fmt::Display for FileTime {
    /// RFC 3339 in UTC, e.g. `2026-01-01T00:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_utc();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_year_2026_matches_the_preferred_example_in_dpapi_md() {
        // `docs/dpapi.md` §2.2: expiry 2026-01-01 00:00 UTC is stored as 00008192b17adc01.
        let t = FileTime::from_unix_secs(1_767_225_600);
        assert_eq!(
            t.0.to_le_bytes(),
            [0x00, 0x00, 0x81, 0x92, 0xb1, 0x7a, 0xdc, 0x01]
        );
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(t.unix_secs(), 1_767_225_600);
    }
}
