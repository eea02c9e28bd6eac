//! Presentation: what the read-only commands print — `status`, the account table, `sc query`,
//! `sc queryex`, `sc qc`, `Get-Service`, `Get-EventLog` and the event tables — as text and JSON.
//!
//! Reads the world and never changes it. Each tool prints only its own text (sc.exe, PowerShell).

use serde_json::{Value, json};

use super::{DEFAULT_KDF_ROUNDS, Outcome, SERVER_NAME, World};
use crate::win::account::AccountKind;
use crate::win::eventlog::{EventRecord, LogName};
use crate::win::scm::{Service, sc_failed};
use crate::win::text;
use crate::win::text::win32;

impl World {
    /// `status`: the clock, the seed, the services, the accounts and ADSync, as text and JSON.
    /// Longer than 80 lines on purpose: one section of the report after the other.
    pub(in crate::world) fn status(&self) -> Outcome {
        let s = &self.state;
        let services: Vec<Value> = s
            .services
            .iter()
            .map(|v| json!({"name": v.name, "state": v.state.as_str(), "account": v.account, "win32_exit_code": v.win32_exit_code, "service_exit_code": v.service_exit_code}))
            .collect();
        let sa = s
            .accounts
            .iter()
            .find(|a| a.qualified_name() == s.service_account);
        let json = json!({
            "clock": s.clock.to_string(),
            "seed": s.seed,
            "kdf_rounds": s.kdf_rounds,
            "server": SERVER_NAME,
            "domain_controller": s.domain_controller,
            "domain": s.domain.as_ref().map(|d| json!({"dns": d.dns, "netbios": d.netbios, "sid": d.sid, "dc_reachable": d.dc_reachable, "backup_key": d.backup_key.as_ref().map(|k| k.guid.clone())})),
            "service_account": {"name": s.service_account, "kind": sa.map(|a| a.kind.as_str())},
            "services": services,
            "accounts": s.accounts.len(),
            "events": s.events.len(),
            "adsync": self.adsync_status(),
        });
        let mut text = format!(
            "Server {SERVER_NAME}{}, domain {}\nClock {}\nSeed {}, master key rounds {}{}\n",
            if s.domain_controller {
                " (domain controller)"
            } else {
                ""
            },
            s.domain.as_ref().map_or("(none)", |d| d.dns.as_str()),
            s.clock,
            s.seed,
            s.kdf_rounds,
            if s.kdf_rounds == DEFAULT_KDF_ROUNDS {
                ""
            } else {
                " (lowered; Windows uses 8000)"
            }
        );
        for v in &s.services {
            text.push_str(&format!(
                "Service {} ({}): {} as {}\n",
                v.name,
                v.display_name,
                v.state.as_str(),
                v.account
            ));
        }
        if let Ok(e) = self.engine() {
            text.push_str(&format!(
                "{} build {}: keyset in {} ({}), tenant {}, scheduler {}\n",
                e.build.product_name(),
                e.build,
                e.build.keyset_era().as_str(),
                if e.keyset == crate::adsync::engine::StoredKeyset::None {
                    "none yet: made at the next start"
                } else {
                    "stored"
                },
                s.tenant.name,
                if e.scheduler.sync_cycle_enabled {
                    format!("on, next cycle {}", e.scheduler.next_cycle)
                } else {
                    "off".to_owned()
                }
            ));
            if e.keyset_follows_dpapi {
                text.push_str(crate::adsync::engine::KEYSET_FOLLOWS_DPAPI_STATUS);
                text.push('\n');
            }
            for a in &e.agents {
                text.push_str(&format!(
                    "Connector {} ({}): last run {}\n",
                    a.ma_name,
                    a.kind.as_str(),
                    a.last_run.as_ref().map_or("-", |r| r.status.as_str())
                ));
            }
        }
        Outcome {
            code: 0,
            text,
            json,
            events: vec![],
        }
    }

    pub(in crate::world) fn account_list(&self) -> Outcome {
        let mut text = format!(
            "{:<32} {:<8} {:<8} {:<20} {}\n",
            "NAME", "KIND", "ENABLED", "PASSWORD LAST SET", "SID"
        );
        let mut rows = Vec::new();
        for a in &self.state.accounts {
            let pls = if a.kind == AccountKind::Virtual {
                "-".to_owned()
            } else {
                a.password_last_set.to_string()
            };
            text.push_str(&format!(
                "{:<32} {:<8} {:<8} {:<20} {}\n",
                a.qualified_name(),
                a.kind.as_str(),
                if a.enabled { "yes" } else { "no" },
                pls,
                a.sid
            ));
            rows.push(json!({"name": a.qualified_name(), "kind": a.kind.as_str(), "sid": a.sid, "enabled": a.enabled, "password_last_set": (a.kind != AccountKind::Virtual).then(|| a.password_last_set.to_string()), "master_keys": a.protect.files.iter().filter(|(p, _)| !p.ends_with("Preferred") && !p.ends_with("CREDHIST")).count()}));
        }
        Outcome {
            code: 0,
            text,
            json: json!({"accounts": rows}),
            events: vec![],
        }
    }

    pub(in crate::world) fn sc_query(&self, name: &str) -> Outcome {
        self.sc_read(name, "EnumQueryServicesStatus:OpenService", |s| {
            (s.sc_query(), Self::service_status_json(s))
        })
    }

    pub(in crate::world) fn sc_queryex(&self, name: &str) -> Outcome {
        self.sc_read(name, "EnumQueryServicesStatus:OpenService", |s| {
            (s.sc_queryex(), Self::service_status_json(s))
        })
    }

    pub(in crate::world) fn sc_qc(&self, name: &str) -> Outcome {
        self.sc_read(name, "OpenService", |s| {
            (
                s.sc_qc(),
                json!({"service": s.name, "display_name": s.display_name, "binary_path": s.binary_path, "start_type": s.start_type.display(), "account": s.account}),
            )
        })
    }

    /// A reading `sc` verb: the service's text and JSON, or sc.exe's 1060 failure naming the
    /// call (`op`) that failed.
    pub(in crate::world) fn sc_read(
        &self,
        name: &str,
        op: &str,
        show: impl FnOnce(&Service) -> (String, serde_json::Value),
    ) -> Outcome {
        match self.service_index(name) {
            Some(i) => {
                let (text, json) = show(&self.state.services[i]);
                Outcome {
                    code: 0,
                    text,
                    json,
                    events: vec![],
                }
            }
            None => self.no_such_service(op, name),
        }
    }

    pub(in crate::world) fn service_status_json(s: &Service) -> serde_json::Value {
        json!({"service": s.name, "display_name": s.display_name, "state": s.state.as_str(), "win32_exit_code": s.win32_exit_code, "service_exit_code": s.service_exit_code, "account": s.account, "pid": s.pid})
    }

    pub(in crate::world) fn no_such_service(&self, op: &str, name: &str) -> Outcome {
        let code = win32::SERVICE_DOES_NOT_EXIST;
        Outcome {
            code,
            text: sc_failed(op, code),
            json: json!({"service": name, "error": win32::message(code), "services": self.known_services()}),
            events: vec![],
        }
    }

    /// `Get-Service [NAME]`: PowerShell's default table for `ServiceController` objects.
    pub(in crate::world) fn get_service(&self, name: Option<&str>) -> Outcome {
        let services: Vec<&Service> = match name {
            Some(n) => match self.service_index(n) {
                Some(i) => vec![&self.state.services[i]],
                None => {
                    return Outcome {
                        code: win32::SERVICE_DOES_NOT_EXIST,
                        text: text::ps_service_not_found(
                            "Get-Service",
                            n,
                            &format!("Get-Service {n}"),
                        ),
                        json: json!({"service": n, "error": "not found", "services": self.known_services()}),
                        events: vec![],
                    };
                }
            },
            None => {
                let mut all: Vec<&Service> = self.state.services.iter().collect();
                all.sort_by_key(|s| s.name.to_ascii_lowercase());
                all
            }
        };
        let rows: Vec<(String, String, String)> = services
            .iter()
            .map(|s| {
                (
                    crate::win::pstable::status(s.state).to_owned(),
                    s.name.clone(),
                    s.display_name.clone(),
                )
            })
            .collect();
        Outcome {
            code: 0,
            text: crate::win::pstable::service_table(&rows),
            json: json!({"services": services.iter().map(|s| json!({"Status": crate::win::pstable::status(s.state), "Name": s.name, "DisplayName": s.display_name})).collect::<Vec<_>>()}),
            events: vec![],
        }
    }

    /// `Get-EventLog -LogName L [-Newest N]`: newest first, in PowerShell's `EventLogEntry`
    /// table.
    pub(in crate::world) fn get_eventlog(&self, log: LogName, newest: Option<usize>) -> Outcome {
        let mut recs = self.state.events.query(Some(log), None, newest);
        recs.reverse();
        let rows: Vec<Value> = recs.iter().map(|r| event_json(r)).collect();
        Outcome {
            code: 0,
            text: crate::win::pstable::eventlog_table(&recs),
            json: json!({"events": rows}),
            events: vec![],
        }
    }

    pub(in crate::world) fn events(
        &self,
        log: Option<LogName>,
        id: Option<u32>,
        last: Option<usize>,
        newest_first: bool,
    ) -> Outcome {
        let mut recs = self.state.events.query(log, id, last);
        if newest_first {
            recs.reverse();
        }
        let mut text = String::new();
        if newest_first {
            text.push_str(&format!(
                "{:<22} {:>6} {:<16} {}\n",
                "TimeCreated", "Id", "LevelDisplayName", "Message"
            ));
        }
        for r in &recs {
            if newest_first {
                text.push_str(&format!(
                    "{:<22} {:>6} {:<16} {}\n",
                    r.time.to_string(),
                    r.id,
                    r.level.as_str(),
                    r.message
                ));
            } else {
                text.push_str(&format!(
                    "{} {:<11} {:<11} {:>5} {}: {}\n",
                    r.time,
                    r.log.as_str(),
                    r.level.as_str(),
                    r.id,
                    r.source,
                    r.message
                ));
            }
        }
        let rows: Vec<Value> = recs.iter().map(|r| event_json(r)).collect();
        Outcome {
            code: 0,
            text,
            json: json!({"events": rows}),
            events: vec![],
        }
    }

    /// The event logs as JSON documents, one per log.
    pub fn event_logs_json(&self) -> Vec<(String, Value)> {
        LogName::ALL
            .iter()
            .map(|l| {
                let rows: Vec<Value> = self
                    .state
                    .events
                    .query(Some(*l), None, None)
                    .into_iter()
                    .map(event_json)
                    .collect();
                (
                    l.as_str().to_owned(),
                    json!({"log": l.as_str(), "events": rows}),
                )
            })
            .collect()
    }
}

fn event_json(r: &EventRecord) -> Value {
    json!({"record_id": r.record_id, "log": r.log.as_str(), "source": r.source, "id": r.id, "level": r.level.as_str(), "time": r.time.to_string(), "message": r.message})
}
