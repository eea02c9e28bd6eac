//! [`EvidenceHost`]: a bundle as a read-only [`Host`]. The diagnosis engine reads it exactly as
//! it reads the simulated world or a live Windows server; running a command is refused, since
//! the evidence is a picture of the server, not the server.

use serde_json::Value;

use super::{
    APPLICATION_XML, Bundle, CONNECTORS, ConnectorsFile, EvidenceError, FORMAT, MANIFEST,
    MAX_CONNECTORS, MAX_JSON_STRING, Manifest, SC_QC, SC_QUERYEX, SYSTEM_XML, messages, sc,
    wevtutil,
};
use crate::adsync::build::Build;
use crate::adsync::connector::ConnectorType;
use crate::backend::{ConnectorStatus, DomainStatus, Host, HostError, ServiceStatus};
use crate::command::{Command, Secret};
use crate::win::eventlog::{EventRecord, Level, LogName};
use crate::world::{ADSYNC_SERVICE, Outcome};

/// A collected bundle, parsed, as a host.
#[derive(Debug)]
pub struct EvidenceHost {
    manifest: Manifest,
    service: Option<ServiceStatus>,
    events: Vec<EventRecord>,
    connectors: Vec<ConnectorStatus>,
    build: Option<Build>,
    domain: Option<DomainStatus>,
    unknown: Vec<String>,
    notes: Vec<String>,
    given: Vec<(String, Secret)>,
    global_admin: Option<String>,
}

fn malformed(file: &str, reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// Refuses JSON whose strings are longer than [`MAX_JSON_STRING`] (the limit the reader keeps
/// on every text it passes on).
fn check_strings(file: &str, v: &Value) -> Result<(), EvidenceError> {
    match v {
        Value::String(s) if s.len() > MAX_JSON_STRING => Err(malformed(
            file,
            format!("a string longer than {MAX_JSON_STRING} bytes"),
        )),
        Value::Array(a) => a.iter().try_for_each(|x| check_strings(file, x)),
        Value::Object(o) => o.iter().try_for_each(|(k, x)| {
            if k.len() > MAX_JSON_STRING {
                return Err(malformed(file, "a key longer than the limit"));
            }
            check_strings(file, x)
        }),
        _ => Ok(()),
    }
}

fn json_file<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, EvidenceError> {
    if bytes.len() > limit {
        return Err(EvidenceError::TooLarge {
            file: file.to_owned(),
            limit,
        });
    }
    let text = wevtutil::decode_text(file, bytes)?;
    // serde_json refuses nesting deeper than 128 by itself.
    let v: Value =
        serde_json::from_str(&text).map_err(|e| malformed(file, format!("not JSON: {e}")))?;
    check_strings(file, &v)?;
    serde_json::from_value(v).map_err(|e| malformed(file, format!("unexpected content: {e}")))
}

fn level(n: u8) -> Level {
    match n {
        1 | 2 => Level::Error,
        3 => Level::Warning,
        _ => Level::Information,
    }
}

impl EvidenceHost {
    /// Parses a bundle. `manifest.json` and both sc.exe texts are required (without them the
    /// service's state would be a guess); the event files, the connectors, the build and the
    /// domain are optional and, when absent, named by [`EvidenceHost::unknown`].
    ///
    /// Longer than 80 lines on purpose: it reads the bundle's files in one fixed order, each with
    /// the reason it is required or what its absence means beside it.
    pub fn from_bundle(bundle: &Bundle) -> Result<Self, EvidenceError> {
        let required = |file: &str, why: &str| {
            bundle.get(file).ok_or_else(|| EvidenceError::Missing {
                file: file.to_owned(),
                why: why.to_owned(),
            })
        };
        let manifest: Manifest = json_file(
            MANIFEST,
            required(
                MANIFEST,
                "it says which format, server and time the bundle is",
            )?,
            super::MAX_MANIFEST_BYTES,
        )?;
        if manifest.format != FORMAT {
            return Err(malformed(
                MANIFEST,
                format!(
                    "format '{}' is not '{FORMAT}', the one this version reads",
                    manifest.format
                ),
            ));
        }
        let mut unknown = Vec::new();
        let mut notes = Vec::new();
        for n in &manifest.not_collected {
            notes.push(format!("the collector could not collect: {n}"));
        }

        let text = |file: &str, why: &str| -> Result<String, EvidenceError> {
            let bytes = required(file, why)?;
            if bytes.len() > sc::MAX_SC_TEXT_BYTES {
                return Err(EvidenceError::TooLarge {
                    file: file.to_owned(),
                    limit: sc::MAX_SC_TEXT_BYTES,
                });
            }
            wevtutil::decode_text(file, bytes)
        };
        let why = "the service's state and logon account cannot be known without it";
        let qc = sc::parse_qc(SC_QC, &text(SC_QC, why)?)?;
        let qx = sc::parse_queryex(SC_QUERYEX, &text(SC_QUERYEX, why)?)?;
        let service = match (qc, qx) {
            (None, None) => None,
            (Some(c), Some(q)) => {
                if !c.name.eq_ignore_ascii_case(ADSYNC_SERVICE)
                    || !q.name.eq_ignore_ascii_case(ADSYNC_SERVICE)
                {
                    return Err(malformed(
                        SC_QC,
                        format!(
                            "the sc.exe texts describe '{}' and '{}', not {ADSYNC_SERVICE}",
                            c.name, q.name
                        ),
                    ));
                }
                Some(ServiceStatus {
                    name: c.name,
                    display_name: c.display_name,
                    state: q.state,
                    win32_exit_code: q.win32_exit_code,
                    service_exit_code: q.service_exit_code,
                    account: c.account,
                })
            }
            _ => {
                return Err(malformed(
                    SC_QUERYEX,
                    "sc qc and sc queryex disagree on whether the service exists",
                ));
            }
        };

        let mut events = Vec::new();
        for (file, log) in [
            (SYSTEM_XML, LogName::System),
            (APPLICATION_XML, LogName::Application),
        ] {
            let Some(bytes) = bundle.get(file) else {
                unknown.push(format!(
                    "the {} log ({file} is not in the bundle): its events were not considered",
                    log.as_str()
                ));
                continue;
            };
            let mut unrendered = 0usize;
            let mut other_channel = 0usize;
            for e in wevtutil::parse(file, bytes)? {
                if !e.channel.eq_ignore_ascii_case(log.as_str()) {
                    other_channel += 1;
                    continue;
                }
                let source = e.provider.clone();
                let message = messages::render(&source, e.id, &e.data)
                    .or_else(|| e.rendered.clone())
                    .unwrap_or_else(|| {
                        unrendered += 1;
                        e.data.join(" ")
                    });
                events.push(EventRecord {
                    record_id: e.record_id,
                    log,
                    source,
                    id: e.id,
                    level: level(e.level),
                    time: e.time,
                    message,
                });
            }
            if unrendered > 0 {
                notes.push(format!(
                    "{file}: {unrendered} event(s) of providers or ids this tool has no message for; their insertion strings stand for their text"
                ));
            }
            if other_channel > 0 {
                notes.push(format!(
                    "{file}: {other_channel} event(s) of another log were left out"
                ));
            }
        }
        // Both logs merged by TimeCreated, as Host::events promises; within a log, by record.
        events.sort_by_key(|e| (e.time, e.log, e.record_id));

        let connectors = match bundle.get(CONNECTORS) {
            None => {
                unknown.push(format!(
                    "the connectors and their last runs ({CONNECTORS} is not in the bundle: the ADSync module was absent or the service was not running when it was collected)"
                ));
                Vec::new()
            }
            Some(bytes) => {
                let f: ConnectorsFile = json_file(CONNECTORS, bytes, super::MAX_CONNECTORS_BYTES)?;
                if f.connectors.len() > MAX_CONNECTORS {
                    return Err(EvidenceError::TooMany {
                        file: CONNECTORS.to_owned(),
                        what: "connectors",
                        limit: MAX_CONNECTORS,
                    });
                }
                let mut out = Vec::new();
                for c in f.connectors {
                    let kind = match c.kind.as_str() {
                        "AD" => ConnectorType::Ad,
                        "Entra" => ConnectorType::Entra,
                        other => {
                            notes.push(format!(
                                "{CONNECTORS}: connector '{}' of type '{other}' is not one this tool diagnoses",
                                c.name
                            ));
                            continue;
                        }
                    };
                    out.push(ConnectorStatus {
                        name: c.name,
                        kind,
                        account: c.account,
                        last_run: c.last_run.filter(|s| !s.is_empty()),
                    });
                }
                out
            }
        };

        let build = match &manifest.build {
            None => {
                unknown.push(
                    "the installed ADSync build (manifest.json has none): build-specific advice is left out".into(),
                );
                None
            }
            Some(b) => match b.parse::<Build>() {
                Ok(b) => Some(b),
                Err(_) => {
                    unknown.push(format!(
                        "the installed ADSync build ('{b}' in manifest.json is not a build number this tool knows)"
                    ));
                    None
                }
            },
        };
        let domain = match &manifest.domain {
            None => {
                unknown.push("the server's domain (manifest.json has none): a domain account's recovery through a domain controller is not considered".into());
                None
            }
            Some(d) => {
                if d.dc_reachable.is_none() {
                    unknown.push(format!(
                        "whether a writable domain controller of {} answers (not checked): assumed it does",
                        d.dns
                    ));
                }
                Some(DomainStatus {
                    dns: d.dns.clone(),
                    netbios: d.netbios.clone(),
                    dc_reachable: d.dc_reachable.unwrap_or(true),
                })
            }
        };
        Ok(Self {
            manifest,
            service,
            events,
            connectors,
            build,
            domain,
            unknown,
            notes,
            given: Vec::new(),
            global_admin: None,
        })
    }

    /// What the bundle does not show, each with what that leaves out of the diagnosis.
    pub fn unknown(&self) -> &[String] {
        &self.unknown
    }

    /// Remarks on what was read (events without a message template, what the collector missed).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Adds a password the administrator knows for `account` (`--credential`), so the plan
    /// shows whether it must reset the account first.
    pub fn give_password(&mut self, account: &str, password: Secret) {
        self.given.push((account.to_ascii_lowercase(), password));
    }

    /// The tenant's Global Administrator the administrator will sign in with
    /// (`--global-admin`); the server does not know it.
    pub fn set_global_administrator(&mut self, upn: &str) {
        self.global_admin = Some(upn.to_owned());
    }
}

impl Host for EvidenceHost {
    fn describe(&self) -> String {
        format!(
            "evidence from {} collected {}",
            self.manifest.computer, self.manifest.collected
        )
    }

    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        Err(HostError::Unsupported {
            host: self.describe(),
            what: format!(
                "run '{}': evidence is read-only; run the plan's lines on the server itself",
                command.redacted()
            ),
        })
    }

    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        if !name.eq_ignore_ascii_case(ADSYNC_SERVICE) {
            return Err(self.unsupported(&format!(
                "show the service {name}: the bundle holds only {ADSYNC_SERVICE}'s"
            )));
        }
        Ok(self.service.clone())
    }

    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        Ok(self.events.clone())
    }

    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        Ok(self.connectors.clone())
    }

    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        Ok(self.domain.clone())
    }

    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        Ok(self.build)
    }

    fn global_administrator(&self) -> Option<String> {
        self.global_admin.clone()
    }

    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        let lower = account.to_ascii_lowercase();
        Ok(self
            .given
            .iter()
            .rev()
            .find(|(n, _)| *n == lower)
            .map(|(_, p)| p.clone()))
    }

    fn new_password(&mut self) -> Secret {
        // Never used: a plan runs only on the server. Say so instead of inventing one.
        Secret::new("")
    }
}
