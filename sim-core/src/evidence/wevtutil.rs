//! Event records as `wevtutil qe LOG /f:xml` prints them: one
//! `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>` element per line, no
//! enclosing root (docs/design.md §8). The element layout follows the public event schema
//! (`event.xsd`, "Event Schema", https://learn.microsoft.com/windows/win32/wes/eventschema-schema):
//! `System` with `Provider`, `EventID` (and its `Qualifiers` for classic sources), `Version`,
//! `Level`, `Task`, `Opcode`, `Keywords`, `TimeCreated/@SystemTime`, `EventRecordID`,
//! `Correlation`, `Execution`, `Channel`, `Computer`, `Security`; then `EventData` with one
//! `Data` per insertion string (named `param1`… for the Service Control Manager) and `Binary`.
//!
//! The reader is lenient where Windows varies (a `/f:RenderedXml` file's `RenderingInfo`, an
//! `<Events>` root as `Get-WinEvent | ForEach-Object ToXml` or `wevtutil /e:Events` produce,
//! UTF-16 files as PowerShell 5.1 redirection writes them) and strict about size: every limit
//! below is a named constant, and a file beyond one is refused with the reason.

use quick_xml::XmlVersion;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::EvidenceError;
use crate::filetime::FileTime;

/// The event schema's namespace, as every `<Event>` element carries it.
pub const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// The Service Control Manager's provider GUID, as its records name it
/// (`Microsoft-Windows-Service Control Manager`; COMM: posted System records).
pub const SCM_PROVIDER_GUID: &str = "{555908d1-a6d7-4695-8e1e-26931d2012f4}";

/// Largest event file read (named limit): the script collects only the modelled events, about
/// 1 KB of XML each, and Windows' default System and Application logs hold 20 MB.
pub const MAX_EVENT_FILE_BYTES: usize = 64 << 20;
/// Most events read from one file (named limit).
pub const MAX_EVENTS_PER_FILE: usize = 100_000;
/// Most insertion strings of one event (named limit: `ReportEvent` takes a `WORD` count; the
/// modelled events have at most 3).
pub const MAX_DATA_PER_EVENT: usize = 256;
/// Longest text of one element, in bytes (named limit: a classic event record is at most 64 KB).
pub const MAX_TEXT_BYTES: usize = 64 << 10;
/// Deepest element nesting inside an event (named limit: the schema nests 4 deep; `UserData`
/// a few more).
pub const MAX_DEPTH: usize = 32;

/// One event record as the XML carries it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct XmlEvent {
    /// `System/Provider/@Name`.
    pub provider: String,
    /// `System/Provider/@Guid`, for manifest providers.
    pub provider_guid: Option<String>,
    /// `System/Provider/@EventSourceName`, for classic sources with a manifest.
    pub event_source_name: Option<String>,
    /// `System/EventID`.
    pub id: u32,
    /// `System/EventID/@Qualifiers` (classic sources: the high word of the message id).
    pub qualifiers: Option<u16>,
    /// `System/Level` (1 critical, 2 error, 3 warning, 4 information, 0 log always).
    pub level: u8,
    /// `System/Keywords`, as written (`0x80000000000000`).
    pub keywords: String,
    /// `System/TimeCreated/@SystemTime`.
    pub time: FileTime,
    /// `System/EventRecordID`.
    pub record_id: u64,
    /// `System/Channel`.
    pub channel: String,
    /// `System/Computer`.
    pub computer: String,
    /// `EventData/Data`, in order.
    pub data: Vec<String>,
    /// `EventData/Binary`, hex as written.
    pub binary: Option<String>,
    /// `RenderingInfo/Message` of a `/f:RenderedXml` file.
    pub rendered: Option<String>,
}

/// Escapes text for XML and keeps it on one line (`&#10;`, `&#13;`), so each event stays one
/// line as docs/design.md §8 describes.
fn text(s: &str) -> String {
    escape(s).replace('\n', "&#10;").replace('\r', "&#13;")
}

/// One event as a line of `wevtutil /f:xml` output (no line end).
pub fn to_line(e: &XmlEvent) -> String {
    let mut s = format!(
        "<Event xmlns='{EVENT_NS}'><System><Provider Name='{}'",
        text(&e.provider)
    );
    if let Some(g) = &e.provider_guid {
        s.push_str(&format!(" Guid='{}'", text(g)));
    }
    if let Some(n) = &e.event_source_name {
        s.push_str(&format!(" EventSourceName='{}'", text(n)));
    }
    s.push_str("/>");
    match e.qualifiers {
        Some(q) => s.push_str(&format!("<EventID Qualifiers='{q}'>{}</EventID>", e.id)),
        None => s.push_str(&format!("<EventID>{}</EventID>", e.id)),
    }
    s.push_str(&format!(
        "<Version>0</Version><Level>{}</Level><Task>0</Task><Opcode>0</Opcode><Keywords>{}</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>{}</Channel><Computer>{}</Computer><Security/></System>",
        e.level,
        text(&e.keywords),
        system_time(e.time),
        e.record_id,
        text(&e.channel),
        text(&e.computer)
    ));
    if e.data.is_empty() && e.binary.is_none() {
        s.push_str("<EventData/>");
    } else {
        s.push_str("<EventData>");
        let named = e.provider_guid.is_some();
        for (i, d) in e.data.iter().enumerate() {
            if named {
                s.push_str(&format!("<Data Name='param{}'>{}</Data>", i + 1, text(d)));
            } else {
                s.push_str(&format!("<Data>{}</Data>", text(d)));
            }
        }
        if let Some(b) = &e.binary {
            s.push_str(&format!("<Binary>{}</Binary>", text(b)));
        }
        s.push_str("</EventData>");
    }
    if let Some(m) = &e.rendered {
        s.push_str(&format!(
            "<RenderingInfo Culture='en-US'><Message>{}</Message></RenderingInfo>",
            text(m)
        ));
    }
    s.push_str("</Event>");
    s
}

/// `TimeCreated/@SystemTime`: UTC with the FILETIME's seven decimal places.
pub fn system_time(t: FileTime) -> String {
    let (y, mo, d, h, mi, s) = t.to_utc();
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z",
        t.0 % 10_000_000
    )
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `SystemTime` (`2026-01-01T00:00:00.1234567Z`, any number of decimals, `Z` or none).
pub fn parse_system_time(s: &str) -> Option<FileTime> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some()
        || !(1601..=30_827).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let h: u32 = tp.next()?.parse().ok()?;
    let mi: u32 = tp.next()?.parse().ok()?;
    let sec: u32 = tp.next()?.parse().ok()?;
    if tp.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    if frac.len() > 12 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ticks: u64 = 0;
    for b in frac.bytes().chain(std::iter::repeat(b'0')).take(7) {
        ticks = ticks * 10 + u64::from(b - b'0');
    }
    let unix = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    Some(FileTime(
        FileTime::from_unix_secs(unix).0.checked_add(ticks)?,
    ))
}

/// Decodes an event file: UTF-8 (with or without a BOM) or UTF-16 with its BOM.
pub fn decode_text(file: &str, bytes: &[u8]) -> Result<String, EvidenceError> {
    let bad = |reason: &str| EvidenceError::Malformed {
        file: file.to_owned(),
        reason: reason.to_owned(),
    };
    let utf16 = |le: bool, body: &[u8]| -> Result<String, EvidenceError> {
        if !body.len().is_multiple_of(2) {
            return Err(bad("UTF-16 text with an odd number of bytes"));
        }
        let units = body.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| bad("UTF-16 text with an unpaired surrogate"))
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(true, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(false, rest),
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| bad("not UTF-8 text"))
        }
        _ => String::from_utf8(bytes.to_vec())
            .map_err(|_| bad("not UTF-8 text (nor UTF-16 with a byte order mark)")),
    }
}

/// Which text of the event is being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Id,
    Level,
    Keywords,
    RecordId,
    Channel,
    Computer,
    Data,
    Binary,
    Message,
}

/// Parses a file of `wevtutil /f:xml` (or `/f:RenderedXml`) output.
///
/// Longer than 80 lines on purpose: one pull-parser loop over quick-xml's events keeps the
/// element being read, the field it is in and the bound checks in one place; split, each part
/// would need all of that state passed back and forth.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<XmlEvent>, EvidenceError> {
    if bytes.len() > MAX_EVENT_FILE_BYTES {
        return Err(EvidenceError::TooLarge {
            file: file.to_owned(),
            limit: MAX_EVENT_FILE_BYTES,
        });
    }
    let xml = decode_text(file, bytes)?;
    let mut reader = Reader::from_str(&xml);
    reader.config_mut().check_end_names = true;
    let mut out: Vec<XmlEvent> = Vec::new();
    let mut cur: Option<XmlEvent> = None;
    let mut seen_id = false;
    let mut seen_time = false;
    let mut seen_record = false;
    let mut path: Vec<String> = Vec::new();
    let mut field: Option<(Field, String)> = None;
    let err = |n: usize, reason: String| EvidenceError::Malformed {
        file: file.to_owned(),
        reason: format!("event {n}: {reason}"),
    };
    loop {
        let n = out.len() + 1;
        let ev = reader.read_event().map_err(|e| {
            err(
                n,
                format!(
                    "not well-formed XML at byte {}: {e}",
                    reader.error_position()
                ),
            )
        })?;
        match ev {
            Event::Eof => break,
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = local(s);
                if cur.is_none() {
                    if name == "Event" {
                        if out.len() >= MAX_EVENTS_PER_FILE {
                            return Err(EvidenceError::TooMany {
                                file: file.to_owned(),
                                what: "events",
                                limit: MAX_EVENTS_PER_FILE,
                            });
                        }
                        cur = Some(XmlEvent::default());
                        seen_id = false;
                        seen_time = false;
                        seen_record = false;
                        path.clear();
                        if empty {
                            return Err(err(n, "an empty <Event/> element".into()));
                        }
                        continue;
                    }
                    if name == "Events" && !empty && path.is_empty() {
                        continue; // an enclosing root
                    }
                    return Err(err(n, format!("<{name}> where an <Event> was expected")));
                }
                let Some(e) = cur.as_mut() else {
                    continue;
                };
                if path.len() >= MAX_DEPTH {
                    return Err(err(n, format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let parent = path.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("System"), "Provider") => {
                        for a in s.attributes() {
                            let a = a.map_err(|e| {
                                err(n, format!("a bad attribute of <Provider>: {e}"))
                            })?;
                            let v = a
                                .normalized_value(XmlVersion::Implicit1_0)
                                .map_err(|e| err(n, format!("a bad attribute of <Provider>: {e}")))?
                                .into_owned();
                            match a.key.local_name().as_ref() {
                                b"Name" => e.provider = v,
                                b"Guid" => e.provider_guid = Some(v),
                                b"EventSourceName" => e.event_source_name = Some(v),
                                _ => {}
                            }
                        }
                    }
                    (Some("System"), "EventID") => {
                        for a in s.attributes() {
                            let a = a.map_err(|e| {
                                err(n, format!("a bad attribute of <EventID>: {e}"))
                            })?;
                            if a.key.local_name().as_ref() == b"Qualifiers" {
                                let v = a
                                    .normalized_value(XmlVersion::Implicit1_0)
                                    .map_err(|e| err(n, e.to_string()))?;
                                e.qualifiers = Some(v.trim().parse().map_err(|_| {
                                    err(n, format!("Qualifiers '{v}' is not a 16-bit number"))
                                })?);
                            }
                        }
                        field = Some((Field::Id, String::new()));
                    }
                    (Some("System"), "TimeCreated") => {
                        for a in s.attributes() {
                            let a = a.map_err(|e| {
                                err(n, format!("a bad attribute of <TimeCreated>: {e}"))
                            })?;
                            if a.key.local_name().as_ref() == b"SystemTime" {
                                let v = a
                                    .normalized_value(XmlVersion::Implicit1_0)
                                    .map_err(|e| err(n, e.to_string()))?;
                                e.time = parse_system_time(&v).ok_or_else(|| {
                                    err(
                                        n,
                                        format!("TimeCreated SystemTime '{v}' is not a UTC time"),
                                    )
                                })?;
                                seen_time = true;
                            }
                        }
                    }
                    (Some("System"), "Level") => field = Some((Field::Level, String::new())),
                    (Some("System"), "Keywords") => field = Some((Field::Keywords, String::new())),
                    (Some("System"), "EventRecordID") => {
                        field = Some((Field::RecordId, String::new()));
                    }
                    (Some("System"), "Channel") => field = Some((Field::Channel, String::new())),
                    (Some("System"), "Computer") => field = Some((Field::Computer, String::new())),
                    (Some("EventData"), "Data") => {
                        if e.data.len() >= MAX_DATA_PER_EVENT {
                            return Err(err(
                                n,
                                format!("more than {MAX_DATA_PER_EVENT} insertion strings"),
                            ));
                        }
                        field = Some((Field::Data, String::new()));
                    }
                    (Some("EventData"), "Binary") => field = Some((Field::Binary, String::new())),
                    (Some("RenderingInfo"), "Message") => {
                        field = Some((Field::Message, String::new()));
                    }
                    _ => {}
                }
                if empty {
                    if let Some((f, v)) = field.take() {
                        finish(e, f, v, &mut seen_id, &mut seen_record).map_err(|r| err(n, r))?;
                    }
                } else {
                    path.push(name);
                }
            }
            Event::End(ref end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                let Some(e) = cur.as_mut() else {
                    if name == "Events" {
                        continue;
                    }
                    return Err(err(n, format!("an unexpected </{name}>")));
                };
                if path.is_empty() {
                    // </Event>
                    for (ok, what) in [
                        (!e.provider.is_empty(), "System/Provider/@Name"),
                        (seen_id, "System/EventID"),
                        (seen_time, "System/TimeCreated/@SystemTime"),
                        (seen_record, "System/EventRecordID"),
                        (!e.channel.is_empty(), "System/Channel"),
                    ] {
                        if !ok {
                            return Err(err(n, format!("no {what}")));
                        }
                    }
                    out.extend(cur.take());
                    continue;
                }
                path.pop();
                if let Some((f, v)) = field.take() {
                    finish(e, f, v, &mut seen_id, &mut seen_record).map_err(|r| err(n, r))?;
                }
            }
            Event::Text(t) => {
                if let Some((_, v)) = field.as_mut() {
                    let t = t
                        .xml10_content()
                        .map_err(|e| err(n, format!("bad text: {e}")))?;
                    push_limited(v, &t).map_err(|r| err(n, r))?;
                } else if cur.is_none() && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(err(n, "text outside an <Event> element".into()));
                }
            }
            Event::CData(t) => {
                if let Some((_, v)) = field.as_mut() {
                    let t = t.decode().map_err(|e| err(n, format!("bad CDATA: {e}")))?;
                    push_limited(v, &t).map_err(|r| err(n, r))?;
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| err(n, format!("bad character reference: {e}")))?
                        .map(String::from)
                } else {
                    let name = r.decode().map_err(|e| err(n, e.to_string()))?;
                    resolve_predefined_entity(&name).map(str::to_owned)
                };
                let Some(c) = c else {
                    return Err(err(n, "an unknown entity reference".into()));
                };
                if let Some((_, v)) = field.as_mut() {
                    push_limited(v, &c).map_err(|r| err(n, r))?;
                }
            }
            Event::DocType(_) => {
                return Err(err(n, "a DOCTYPE (event files have none)".into()));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if cur.is_some() {
        return Err(EvidenceError::Malformed {
            file: file.to_owned(),
            reason: format!("event {}: the file ends inside it", out.len() + 1),
        });
    }
    Ok(out)
}

fn local(s: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(s.local_name().as_ref()).into_owned()
}

fn push_limited(v: &mut String, t: &str) -> Result<(), String> {
    if v.len() + t.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "an element's text is longer than {MAX_TEXT_BYTES} bytes"
        ));
    }
    v.push_str(t);
    Ok(())
}

fn finish(
    e: &mut XmlEvent,
    f: Field,
    v: String,
    seen_id: &mut bool,
    seen_record: &mut bool,
) -> Result<(), String> {
    match f {
        Field::Id => {
            e.id = v
                .trim()
                .parse()
                .map_err(|_| format!("EventID '{v}' is not a number"))?;
            *seen_id = true;
        }
        Field::Level => {
            e.level = v
                .trim()
                .parse()
                .map_err(|_| format!("Level '{v}' is not a number"))?;
        }
        Field::Keywords => e.keywords = v,
        Field::RecordId => {
            e.record_id = v
                .trim()
                .parse()
                .map_err(|_| format!("EventRecordID '{v}' is not a number"))?;
            *seen_record = true;
        }
        Field::Channel => e.channel = v,
        Field::Computer => e.computer = v,
        Field::Data => e.data.push(v),
        Field::Binary => e.binary = Some(v),
        Field::Message => e.rendered = Some(v),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> XmlEvent {
        XmlEvent {
            provider: "Service Control Manager".into(),
            provider_guid: Some(SCM_PROVIDER_GUID.into()),
            event_source_name: Some("Service Control Manager".into()),
            id: 7038,
            qualifiers: Some(49152),
            level: 2,
            keywords: "0x8080000000000000".into(),
            time: parse_system_time("2026-01-01T10:00:00.0000001Z").unwrap(),
            record_id: 42,
            channel: "System".into(),
            computer: "AADCONNECT01.contoso.com".into(),
            data: vec![
                "ADSync".into(),
                "CONTOSO\\AAD_1 & <x>".into(),
                "%%1326".into(),
            ],
            binary: None,
            rendered: None,
        }
    }

    #[test]
    fn a_line_reads_back_field_for_field() {
        let e = sample();
        let line = to_line(&e);
        assert!(line.starts_with(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='49152'>7038</EventID>"
        ));
        assert!(line.contains("<Data Name='param3'>%%1326</Data>"));
        assert!(!line.contains('\n'));
        let two = format!("{line}\r\n{line}\r\n");
        let back = parse("events/System.xml", two.as_bytes()).unwrap();
        assert_eq!(back, vec![e.clone(), e]);
    }

    #[test]
    fn times_keep_their_ticks() {
        let t = parse_system_time("2026-03-04T05:06:07.1234567Z").unwrap();
        assert_eq!(system_time(t), "2026-03-04T05:06:07.1234567Z");
        assert_eq!(
            parse_system_time("2026-03-04T05:06:07.123456700Z"),
            Some(t),
            "Windows 11's nine decimals"
        );
        assert_eq!(parse_system_time("2026-13-04T05:06:07Z"), None);
        assert_eq!(parse_system_time("garbage"), None);
    }

    #[test]
    fn utf16_files_and_an_events_root_are_read() {
        let line = to_line(&sample());
        let doc = format!("<Events>{line}</Events>");
        let mut bytes = vec![0xFF, 0xFE];
        for u in doc.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(parse("f", &bytes).unwrap().len(), 1);
    }

    #[test]
    fn hostile_files_get_a_reason() {
        for (bytes, want) in [
            (&b"<Event><System>"[..], "ends inside"),
            (b"<Foo/>", "where an <Event> was expected"),
            (b"<!DOCTYPE x [<!ENTITY a 'b'>]><Event/>", "DOCTYPE"),
            (b"<Event></Event>", "no System/Provider/@Name"),
            (b"\xff\xfe\x00", "odd number"),
            (b"<Event>&bogus;</Event>", "unknown entity"),
        ] {
            let e = parse("events/System.xml", bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.contains("events/System.xml"), "{e}");
        }
        let deep = format!("<Event>{}", "<a>".repeat(MAX_DEPTH + 1));
        assert!(
            parse("f", deep.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("nested")
        );
    }
}
