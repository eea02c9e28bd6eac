//! The event log: ReportEventW (the probe's event 6028) and EvtQuery (reading the System and
//! Application logs back as `EventRecord`s).
//!
//! Only the sources the simulator models are read (`Service Control Manager`, `ADSync`), and
//! only records after a cursor, so a long-lived server's logs are not read whole. Messages are
//! not rendered (EvtFormatMessage needs each publisher's message file): records carry the
//! event's insertion strings instead, which is what comparisons by id and source need.

use sim_core::adsync::text::ADSYNC_SOURCE;
use sim_core::backend::HostError;
use sim_core::filetime::FileTime;
use sim_core::win::eventlog::{EventRecord, Level, LogName};
use sim_core::win::text::SCM_SOURCE;
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, ERROR_NO_MORE_ITEMS};
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVT_HANDLE, EvtClose, EvtNext, EvtQuery,
    EvtQueryChannelPath, EvtQueryForwardDirection, EvtQueryReverseDirection, EvtRender,
    EvtRenderEventXml, RegisterEventSourceW, ReportEventW,
};

use crate::error::{last_error, last_error_code};
use crate::ffi::wide;
use crate::wide::from_wide;

/// The newest record id per log; records after it are "new".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The System log's newest record id.
    pub system: u64,
    /// The Application log's newest record id.
    pub application: u64,
}

/// The most records one read returns per log (a guard against reading a whole log).
pub const MAX_RECORDS: usize = 2000;

/// ReportEventW: an error event with one insertion string, from `source`.
pub fn report_error(source: &str, id: u32, text: &str) -> Result<(), HostError> {
    let s = wide("RegisterEventSourceW", source)?;
    // SAFETY: local computer (null) and a NUL-terminated source name.
    let h = unsafe { RegisterEventSourceW(std::ptr::null(), s.as_ptr()) };
    if h.is_null() {
        return Err(last_error("RegisterEventSourceW"));
    }
    let t = wide("ReportEventW", text)?;
    let strings = [t.as_ptr()];
    // SAFETY: a live event source handle; one NUL-terminated string; no user SID, no raw data.
    let ok = unsafe {
        ReportEventW(
            h,
            EVENTLOG_ERROR_TYPE,
            0,
            id,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        )
    };
    let err = (ok == 0).then(|| last_error("ReportEventW"));
    // SAFETY: the handle came from RegisterEventSourceW and is released once.
    unsafe { DeregisterEventSource(h) };
    err.map_or(Ok(()), Err)
}

struct Evt(EVT_HANDLE);

impl Drop for Evt {
    fn drop(&mut self) {
        if self.0 != 0 {
            // SAFETY: a handle from EvtQuery / EvtNext, closed once.
            unsafe { EvtClose(self.0) };
        }
    }
}

fn render_xml(event: &Evt) -> Result<String, HostError> {
    let mut used = 0u32;
    let mut props = 0u32;
    // SAFETY: a size query with a null buffer of size 0.
    let ok = unsafe {
        EvtRender(
            0,
            event.0,
            EvtRenderEventXml,
            0,
            std::ptr::null_mut(),
            &mut used,
            &mut props,
        )
    };
    if ok == 0 && last_error_code() != ERROR_INSUFFICIENT_BUFFER {
        return Err(last_error("EvtRender"));
    }
    let mut buf = vec![0u16; (used as usize).div_ceil(2)];
    // SAFETY: the buffer has `used` bytes, as the size query asked.
    let ok = unsafe {
        EvtRender(
            0,
            event.0,
            EvtRenderEventXml,
            (buf.len() * 2) as u32,
            buf.as_mut_ptr().cast(),
            &mut used,
            &mut props,
        )
    };
    if ok == 0 {
        return Err(last_error("EvtRender"));
    }
    Ok(from_wide(&buf))
}

/// The text of the first `<tag …>text</tag>` element.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}"))?;
    let rest = &xml[start..];
    let open_end = rest.find('>')?;
    if rest[..open_end].ends_with('/') {
        return Some("");
    }
    let body = &rest[open_end + 1..];
    Some(&body[..body.find(&format!("</{tag}>"))?])
}

/// The value of `attr='…'` (or `"…"`) in the first `<tag` element.
fn attribute<'a>(xml: &'a str, tag: &str, attr: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag} "))?;
    let rest = &xml[start..];
    let rest = &rest[..rest.find('>')?];
    let at = rest.find(&format!("{attr}="))? + attr.len() + 1;
    let quote = rest[at..].chars().next()?;
    let value = &rest[at + 1..];
    Some(&value[..value.find(quote)?])
}

/// `2026-03-01T12:34:56.1234567Z` as a FILETIME (whole seconds).
fn parse_system_time(s: &str) -> Option<FileTime> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(FileTime::from_unix_secs(
        days * 86_400 + h * 3600 + mi * 60 + se,
    ))
}

/// One rendered event as a record of `log`.
pub fn parse_event_xml(log: LogName, xml: &str) -> Option<EventRecord> {
    let data: Vec<&str> = xml
        .split("<Data")
        .skip(1)
        .filter_map(|d| {
            let d = &d[d.find('>')? + 1..];
            Some(&d[..d.find("</Data>")?])
        })
        .collect();
    Some(EventRecord {
        record_id: element(xml, "EventRecordID")?.trim().parse().ok()?,
        log,
        source: attribute(xml, "Provider", "Name")?.to_owned(),
        id: element(xml, "EventID")?.trim().parse::<u32>().ok()? & 0xFFFF,
        level: match element(xml, "Level").map(str::trim) {
            Some("1" | "2") => Level::Error,
            Some("3") => Level::Warning,
            _ => Level::Information,
        },
        time: attribute(xml, "TimeCreated", "SystemTime")
            .and_then(parse_system_time)
            .unwrap_or(FileTime(0)),
        message: data.join(" | "),
    })
}

fn query_log(log: LogName, after: u64) -> Result<Vec<EventRecord>, HostError> {
    let xpath = format!(
        "*[System[Provider[@Name='{SCM_SOURCE}' or @Name='{ADSYNC_SOURCE}'] and EventRecordID > {after}]]"
    );
    let mut out = Vec::new();
    each_event(log, &xpath, EvtQueryForwardDirection, MAX_RECORDS, |xml| {
        if let Some(r) = parse_event_xml(log, &xml) {
            out.push(r);
        }
        out.len()
    })?;
    Ok(out)
}

/// The records of `log` that `xpath` selects, newest first, at most `max`, each as EvtRender
/// gives it (`EvtRenderEventXml`: the XML `wevtutil qe /f:xml` prints, one element per record).
/// Read-only.
pub fn query_xml(log: LogName, xpath: &str, max: usize) -> Result<Vec<String>, HostError> {
    let mut out = Vec::new();
    each_event(log, xpath, EvtQueryReverseDirection, max, |xml| {
        out.push(xml.trim_end_matches('\0').to_owned());
        out.len()
    })?;
    Ok(out)
}

/// Runs `xpath` over `log` in `direction` and hands each record's XML to `take`, which returns
/// how many records it has kept; stops when that reaches `max` or the results end. The one
/// place that walks EvtQuery's results, for both readers above.
fn each_event(
    log: LogName,
    xpath: &str,
    direction: u32,
    max: usize,
    mut take: impl FnMut(String) -> usize,
) -> Result<(), HostError> {
    let path = wide("EvtQuery", log.as_str())?;
    let q = wide("EvtQuery", xpath)?;
    // SAFETY: local session (0), NUL-terminated channel path and query.
    let results = Evt(unsafe {
        EvtQuery(
            0,
            path.as_ptr(),
            q.as_ptr(),
            EvtQueryChannelPath | direction,
        )
    });
    if results.0 == 0 {
        return Err(last_error("EvtQuery"));
    }
    let mut kept = 0;
    while kept < max {
        let mut handles = [0isize; 32];
        let mut returned = 0u32;
        // SAFETY: the handle array and its length are ours; each returned handle is closed by
        // an Evt guard below.
        let ok = unsafe {
            EvtNext(
                results.0,
                handles.len() as u32,
                handles.as_mut_ptr(),
                1000,
                0,
                &mut returned,
            )
        };
        if ok == 0 {
            if last_error_code() == ERROR_NO_MORE_ITEMS {
                break;
            }
            return Err(last_error("EvtNext"));
        }
        let events: Vec<Evt> = handles[..returned as usize]
            .iter()
            .map(|h| Evt(*h))
            .collect();
        for e in &events {
            if kept < max {
                kept = take(render_xml(e)?);
            }
        }
    }
    Ok(())
}

/// SCM and ADSync records written after `cursor`, System then Application, each in order.
pub fn read_after(cursor: Cursor) -> Result<Vec<EventRecord>, HostError> {
    let mut all = query_log(LogName::System, cursor.system)?;
    all.extend(query_log(LogName::Application, cursor.application)?);
    Ok(all)
}

/// The cursor after `records` (and after `from`).
pub fn advance(from: Cursor, records: &[EventRecord]) -> Cursor {
    let mut c = from;
    for r in records {
        match r.log {
            LogName::System => c.system = c.system.max(r.record_id),
            LogName::Application => c.application = c.application.max(r.record_id),
        }
    }
    c
}

/// The cursor at the end of both logs now.
pub fn now() -> Result<Cursor, HostError> {
    let mut c = Cursor::default();
    loop {
        let batch = read_after(c)?;
        if batch.is_empty() {
            return Ok(c);
        }
        c = advance(c, &batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_rendered_scm_event() {
        let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1}' EventSourceName='Service Control Manager'/><EventID Qualifiers='49152'>7038</EventID><Level>2</Level><TimeCreated SystemTime='2026-03-01T12:34:56.1234567Z'/><EventRecordID>4711</EventRecordID><Channel>System</Channel></System><EventData><Data Name='param1'>Probe</Data><Data Name='param2'>.\\adsim</Data></EventData></Event>";
        let r = parse_event_xml(LogName::System, xml).unwrap();
        assert_eq!((r.id, r.record_id, r.level), (7038, 4711, Level::Error));
        assert_eq!(r.source, "Service Control Manager");
        assert_eq!(r.message, "Probe | .\\adsim");
        assert_eq!(r.time.unix_secs(), 1_772_368_496);
    }
}
