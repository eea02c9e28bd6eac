//! The evidence bundle of a simulated world: what the collection script would find on the
//! server the world models, in the same files and formats (docs/design.md §8). `export DIR` writes it
//! beside the world's other artefacts, so `diagnose --evidence DIR` can be checked against the
//! live `diagnose` for every point of every catalogue scenario.
//!
//! Named choice: the simulated clock stands still within a command, so several events share a
//! time; Windows stamps each with its own (100-ns ticks). The bundle spreads events of one
//! instant one tick apart, in the order the world wrote them, so merging the two logs by
//! `TimeCreated` restores that order. Times shown to seconds are unchanged.

use super::sc::{QueryConfig, QueryEx};
use super::wevtutil::{SCM_PROVIDER_GUID, XmlEvent, to_line};
use super::{
    APPLICATION_XML, Bundle, CONNECTORS, ConnectorRow, ConnectorsFile, EvidenceError, FORMAT,
    MANIFEST, Manifest, ManifestAccount, ManifestDomain, SC_QC, SC_QUERYEX, SYSTEM_XML,
    account_kind, messages, sc,
};
use crate::backend::{Host, SimHost};
use crate::filetime::FileTime;
use crate::win::eventlog::{EventRecord, Level, LogName};
use crate::win::scm::StartType;
use crate::win::text::SCM_SOURCE;
use crate::world::{ADSYNC_SERVICE, SERVER_NAME, World};

/// `System/Keywords` of the Service Control Manager's records (`0x8080000000000000`: the
/// classic keyword and the SCM's own; COMM: posted 7036 records).
pub const SCM_KEYWORDS: &str = "0x8080000000000000";
/// `System/Keywords` of a classic source's records (`EventLogClassic`, `0x80000000000000`).
pub const CLASSIC_KEYWORDS: &str = "0x80000000000000";

/// What collected the bundle, as the manifest says.
pub const COLLECTOR: &str = "adsync-sim export";

/// `System/Level` of a level.
fn level_number(l: Level) -> u8 {
    match l {
        Level::Error => 2,
        Level::Warning => 3,
        Level::Information => 4,
    }
}

/// `EventID/@Qualifiers` of a classic source's record: the severity bits of the message id's
/// high word (0xC000 error, 0x8000 warning, 0x4000 informational). The SCM's records carry these
/// (COMM: 16384 on 7036, 49152 on 7000/7038); for ADSync's own events it is an inference (INF).
fn qualifiers(l: Level) -> u16 {
    match l {
        Level::Error => 0xC000,
        Level::Warning => 0x8000,
        Level::Information => 0x4000,
    }
}

/// The server's name as its records show it: the FQDN when domain-joined.
pub fn computer_name(world: &World) -> String {
    match &world.state().domain {
        Some(d) => format!("{SERVER_NAME}.{}", d.dns),
        None => SERVER_NAME.to_owned(),
    }
}

/// One simulated record as wevtutil prints it.
fn xml_event(world: &World, e: &EventRecord, time: FileTime, computer: &str) -> XmlEvent {
    let scm = e.source == SCM_SOURCE;
    let data = messages::insertions(&e.source, e.id, &e.message);
    // 7036 carries the service's key name as UTF-16LE in its binary data.
    let binary = (scm && e.id == 7036)
        .then(|| {
            let display = data.first()?;
            let svc = world
                .state()
                .services
                .iter()
                .find(|s| &s.display_name == display)?;
            Some(
                svc.name
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
                    + "0000",
            )
        })
        .flatten();
    XmlEvent {
        provider: e.source.clone(),
        provider_guid: scm.then(|| SCM_PROVIDER_GUID.to_owned()),
        event_source_name: scm.then(|| SCM_SOURCE.to_owned()),
        id: e.id,
        qualifiers: Some(qualifiers(e.level)),
        level: level_number(e.level),
        keywords: if scm { SCM_KEYWORDS } else { CLASSIC_KEYWORDS }.to_owned(),
        time,
        record_id: e.record_id,
        channel: e.log.as_str().to_owned(),
        computer: computer.to_owned(),
        data,
        binary,
        rendered: None,
    }
}

fn start_type_number(t: StartType) -> u32 {
    match t {
        StartType::Auto => 2,
        StartType::Demand => 3,
        StartType::Disabled => 4,
    }
}

/// The bundle the collection would write on the simulated server.
///
/// Longer than 80 lines on purpose: it writes the bundle's files in the order the collection
/// script does, so the two can be read side by side.
pub fn bundle_of_world(world: &World) -> Result<Bundle, EvidenceError> {
    let computer = computer_name(world);
    let mut bundle = Bundle::default();

    // Events, one file per log, their times spread within an instant (see the module docs).
    let mut lines: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut last: Option<(FileTime, u64)> = None;
    for e in world.state().events.all() {
        let k = match last {
            Some((t, k)) if t == e.time => k + 1,
            _ => 0,
        };
        last = Some((e.time, k));
        let line = to_line(&xml_event(world, e, FileTime(e.time.0 + k), &computer));
        let i = usize::from(e.log == LogName::Application);
        lines[i].push(line);
    }
    for (file, l) in [(SYSTEM_XML, &lines[0]), (APPLICATION_XML, &lines[1])] {
        let mut text = l.join("\r\n");
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        bundle.put(file, text);
    }

    // The SCM.
    let svc = world
        .state()
        .services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(ADSYNC_SERVICE));
    match svc {
        Some(s) => {
            bundle.put(
                SC_QC,
                sc::qc_text(&QueryConfig {
                    name: s.name.clone(),
                    start_type: start_type_number(s.start_type),
                    binary_path: s.binary_path.clone(),
                    display_name: s.display_name.clone(),
                    account: s.account.clone(),
                }),
            );
            bundle.put(
                SC_QUERYEX,
                sc::queryex_text(&QueryEx {
                    name: s.name.clone(),
                    state: s.state,
                    win32_exit_code: s.win32_exit_code,
                    service_exit_code: s.service_exit_code,
                    pid: s.pid.unwrap_or(0),
                }),
            );
        }
        None => {
            bundle.put(SC_QC, sc::missing_text());
            bundle.put(SC_QUERYEX, sc::missing_text());
        }
    }

    // The connectors, as the ADSync cmdlets show them (the world's `connector list`).
    let mut copy = world.clone();
    let mut host = SimHost::new(&mut copy);
    let connectors = host.connectors().map_err(|e| EvidenceError::Malformed {
        file: CONNECTORS.to_owned(),
        reason: format!("the simulated connectors cannot be listed: {e}"),
    })?;
    let build = host.adsync_build().ok().flatten();
    if build.is_some() {
        let f = ConnectorsFile {
            connectors: connectors
                .into_iter()
                .map(|c| ConnectorRow {
                    name: c.name,
                    kind: c.kind.as_str().to_owned(),
                    account: c.account,
                    last_run: c.last_run,
                })
                .collect(),
        };
        bundle.put(CONNECTORS, json(&f)?);
    }

    let manifest = Manifest {
        format: FORMAT.to_owned(),
        computer: computer.clone(),
        collected: world.now().to_string(),
        collector: Some(COLLECTOR.to_owned()),
        build: build.map(|b| b.to_string()),
        build_source: build.map(|_| "simulator".to_owned()),
        service_account: svc.map(|s| ManifestAccount {
            name: s.account.clone(),
            kind: account_kind(&s.account, &computer).to_owned(),
        }),
        domain: world.state().domain.as_ref().map(|d| ManifestDomain {
            dns: d.dns.clone(),
            netbios: d.netbios.clone(),
            dc_reachable: Some(d.dc_reachable),
        }),
        not_collected: Vec::new(),
    };
    bundle.put(MANIFEST, json(&manifest)?);
    Ok(bundle)
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, EvidenceError> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| EvidenceError::Malformed {
        file: MANIFEST.to_owned(),
        reason: e.to_string(),
    })?;
    s.push('\n');
    Ok(s.into_bytes())
}
