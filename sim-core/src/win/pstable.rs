//! PowerShell's default table views of the objects the server's cmdlets return: `Get-Service`'s
//! `ServiceController` rows and `Get-EventLog`'s `EventLogEntry` rows.
//!
//! Source (COMM: the layout as Windows PowerShell 5.1 prints it, not checked against the
//! table views of its `DotNetTypes.format.ps1xml`): `Status` (8 wide), `Name` (18), `DisplayName` for services;
//! `Index` (8, right-aligned), `Time` (13, `MMM dd HH:mm`), `EntryType` (11), `Source` (20),
//! `InstanceID` (12, right-aligned), `Message` for event log entries. PowerShell writes a blank
//! line before and after a table. Named choices: the `Message` column keeps the whole message
//! on one line (a console window would cut it at its width), and a column value longer than
//! its width is cut to width - 3 characters and `...`, as PowerShell does.

use super::eventlog::{EventRecord, Level};
use super::scm::ServiceState;
use super::text::SCM_SOURCE;

/// `ServiceControllerStatus` as PowerShell prints it.
pub fn status(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Stopped => "Stopped",
        ServiceState::StartPending => "StartPending",
        ServiceState::StopPending => "StopPending",
        ServiceState::Running => "Running",
    }
}

/// A value cut to a column's width as PowerShell cuts it.
fn fit(value: &str, width: usize) -> String {
    if value.chars().count() <= width {
        value.to_owned()
    } else {
        let kept: String = value.chars().take(width.saturating_sub(3)).collect();
        format!("{kept}...")
    }
}

/// Joins padded cells with PowerShell's one-space gap and drops the trailing spaces.
fn row(cells: &[String]) -> String {
    cells.join(" ").trim_end().to_owned()
}

/// `Get-Service`'s table: `(Status, Name, DisplayName)` rows.
pub fn service_table(rows: &[(String, String, String)]) -> String {
    let mut out = vec![
        String::new(),
        row(&[
            format!("{:<8}", "Status"),
            format!("{:<18}", "Name"),
            "DisplayName".into(),
        ]),
        row(&[
            format!("{:<8}", "------"),
            format!("{:<18}", "----"),
            "-----------".into(),
        ]),
    ];
    for (status, name, display) in rows {
        out.push(row(&[
            format!("{:<8}", fit(status, 8)),
            format!("{:<18}", fit(name, 18)),
            display.clone(),
        ]));
    }
    out.push(String::new());
    out.push(String::new());
    out.join("\n")
}

/// The classic event log's `InstanceId`: the event id with its message's severity qualifier
/// in the high 16 bits. The Service Control Manager's messages carry the severity
/// (Information 0x4000, Warning 0x8000, Error 0xC000: event 7036 is 1073748860, 7000 is
/// 3221232472); the engine's sources are written with qualifier 0 (named choice, INF: the
/// ADSync sources' message files are not public), so their `InstanceID` is the event id.
pub fn instance_id(r: &EventRecord) -> u64 {
    if r.source != SCM_SOURCE {
        return u64::from(r.id);
    }
    let qualifier: u64 = match r.level {
        Level::Information => 0x4000,
        Level::Warning => 0x8000,
        Level::Error => 0xC000,
    };
    (qualifier << 16) | u64::from(r.id)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Get-EventLog`'s table, rows in the order given (the cmdlet returns the newest first).
pub fn eventlog_table(records: &[&EventRecord]) -> String {
    let mut out = vec![
        String::new(),
        row(&[
            format!("{:>8}", "Index"),
            format!("{:<13}", "Time"),
            format!("{:<11}", "EntryType"),
            format!("{:<20}", "Source"),
            format!("{:>12}", "InstanceID"),
            "Message".into(),
        ]),
        row(&[
            format!("{:>8}", "-----"),
            format!("{:<13}", "----"),
            format!("{:<11}", "---------"),
            format!("{:<20}", "------"),
            format!("{:>12}", "----------"),
            "-------".into(),
        ]),
    ];
    for r in records {
        let (_, mo, d, h, mi, _) = r.time.to_utc();
        let month = MONTHS[(mo as usize).clamp(1, 12) - 1];
        let time = format!("{month} {d:02} {h:02}:{mi:02}");
        let message: String = r
            .message
            .split(['\n', '\r'])
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(row(&[
            format!("{:>8}", r.record_id),
            format!("{time:<13}"),
            format!("{:<11}", r.level.as_str()),
            format!("{:<20}", fit(&r.source, 20)),
            format!("{:>12}", instance_id(r)),
            message,
        ]));
    }
    out.push(String::new());
    out.push(String::new());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filetime::FileTime;
    use crate::win::eventlog::LogName;

    #[test]
    fn scm_instance_ids_carry_the_severity() {
        let mut r = EventRecord {
            record_id: 1,
            log: LogName::System,
            source: SCM_SOURCE.into(),
            id: 7036,
            level: Level::Information,
            time: FileTime::from_unix_secs(0),
            message: String::new(),
        };
        assert_eq!(instance_id(&r), 1_073_748_860);
        r.id = 7000;
        r.level = Level::Error;
        assert_eq!(instance_id(&r), 3_221_232_472);
        r.source = "ADSync".into();
        r.id = 6028;
        assert_eq!(instance_id(&r), 6028);
    }

    #[test]
    fn long_sources_are_cut_like_powershell() {
        assert_eq!(fit("Service Control Manager", 20), "Service Control M...");
        assert_eq!(fit("ADSync", 20), "ADSync");
    }
}
