//! Services: the Service Control Manager's state changes — stop, `sc config`, the PowerShell
//! service cmdlets — and the 7036 state-change events they write.
//!
//! Follows `docs/adsync.md` §1 (the ADSync service as the SCM knows it) and sc.exe's and
//! PowerShell's documented behaviour.

use serde_json::json;

use super::{ADSYNC_SERVICE, Outcome, Stream, World, WorldError};
use crate::command::{PsServiceVerb, Secret};
use crate::win::account::Account;
use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::lsa::service_secret_name;
use crate::win::scm::{ServiceState, StartType, sc_failed};
use crate::win::text;
use crate::win::text::{SCM_SOURCE, win32};

impl World {
    pub(in crate::world) fn service_index(&self, name: &str) -> Option<usize> {
        self.state
            .services
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub(in crate::world) fn known_services(&self) -> String {
        self.state
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(in crate::world) fn state_event(&mut self, out: &mut Outcome, si: usize) {
        let s = &self.state.services[si];
        let msg = text::event_7036(&s.display_name, s.state.event_word());
        self.write_event(
            out,
            NewEvent {
                log: LogName::System,
                source: SCM_SOURCE,
                id: 7036,
                level: Level::Information,
                message: msg,
            },
        );
    }

    pub(in crate::world) fn stop_service(&mut self, name: &str) -> Outcome {
        let Some(si) = self.service_index(name) else {
            return self.no_such_service("ControlService: OpenService", name);
        };
        if self.state.services[si].state != ServiceState::Running {
            let code = win32::SERVICE_NOT_ACTIVE;
            return Outcome {
                code,
                text: sc_failed("ControlService", code),
                json: json!({"service": name, "error": win32::message(code)}),
                events: vec![],
            };
        }
        let mut out = Outcome::default();
        if self.state.services[si]
            .name
            .eq_ignore_ascii_case(ADSYNC_SERVICE)
        {
            // A cycle in progress ends with the service (`sync::run_time`); a world without
            // the engine has none.
            let _ended = self.stop_during_cycle();
        }
        let s = &mut self.state.services[si];
        let pending = s.clone();
        s.state = ServiceState::Stopped;
        s.pid = None;
        s.win32_exit_code = 0;
        s.service_exit_code = 0;
        let service = s.name.clone();
        self.clear_memory(&service);
        self.state_event(&mut out, si);
        out.text = pending.sc_stop_pending();
        out.json = json!({"service": service, "state": "STOPPED"});
        out
    }

    pub(in crate::world) fn sc_config(
        &mut self,
        name: &str,
        obj: Option<&str>,
        password: Option<&Secret>,
        start: Option<StartType>,
    ) -> Result<Outcome, WorldError> {
        let Some(si) = self.service_index(name) else {
            return Ok(self.no_such_service("OpenService", name));
        };
        let account = match obj {
            Some(o) if o.eq_ignore_ascii_case("LocalSystem") => Some("LocalSystem".to_owned()),
            Some(o) => {
                let dns = self.state.domain.as_ref().map(|d| d.dns.as_str());
                match self.state.accounts.iter().find(|a| a.is_named(o, dns)) {
                    Some(a) => Some(a.qualified_name()),
                    None => {
                        let code = win32::INVALID_SERVICE_ACCOUNT;
                        return Ok(Outcome {
                            code,
                            text: sc_failed("ChangeServiceConfig", code),
                            json: json!({"service": name, "error": win32::message(code), "accounts": self.state.accounts.iter().map(Account::qualified_name).collect::<Vec<_>>()}),
                            events: vec![],
                        });
                    }
                }
            }
            None => None,
        };
        if let Some(acc) = account {
            self.state.services[si].account = acc;
        }
        if let Some(p) = password {
            let sname = self.state.services[si].name.clone();
            self.put_secret(&service_secret_name(&sname), p.expose().as_bytes());
        }
        if let Some(t) = start {
            self.state.services[si].start_type = t;
        }
        Ok(Outcome {
            code: 0,
            text: "[SC] ChangeServiceConfig SUCCESS".into(),
            json: json!({"service": self.state.services[si].name}),
            events: vec![],
        })
    }

    pub(in crate::world) fn ps_service(
        &mut self,
        verb: PsServiceVerb,
        name: &str,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = match verb {
            PsServiceVerb::Start => "Start-Service",
            PsServiceVerb::Stop => "Stop-Service",
            PsServiceVerb::Restart => "Restart-Service",
        };
        let typed = format!("{cmdlet} {name}");
        let Some(si) = self.service_index(name) else {
            let code = win32::SERVICE_DOES_NOT_EXIST;
            return Ok(Outcome {
                code,
                text: text::ps_service_not_found(cmdlet, name, &typed),
                json: json!({"service": name, "error": "not found", "services": self.known_services()}),
                events: vec![],
            });
        };
        let svc_name = self.state.services[si].name.clone();
        let display = self.state.services[si].display_name.clone();
        let mut events = Vec::new();
        if matches!(verb, PsServiceVerb::Stop | PsServiceVerb::Restart)
            && self.state.services[si].state == ServiceState::Running
        {
            let o = self.stop_service(&svc_name);
            events.extend(o.events);
        }
        if verb == PsServiceVerb::Stop {
            return Ok(Outcome {
                code: 0,
                text: String::new(),
                json: json!({"service": svc_name, "state": "STOPPED"}),
                events,
            });
        }
        if self.state.services[si].state == ServiceState::Running {
            return Ok(Outcome {
                code: 0,
                text: String::new(),
                json: json!({"service": svc_name, "state": "RUNNING"}),
                events,
            });
        }
        let mut o = self.start_service(&svc_name, rng)?;
        events.append(&mut o.events);
        o.events = events;
        // PowerShell prints its own error record only (never sc.exe's line or the console's
        // dialog). `StartService` refused (1069, 1058): `CouldNotStartService`; the service
        // started and then stopped with its own error (1066): `StartServiceFailed`.
        o.text = match o.code {
            0 => String::new(),
            win32::SERVICE_SPECIFIC_ERROR => {
                text::ps_start_failed(cmdlet, &display, &svc_name, &typed)
            }
            _ => text::ps_cannot_start(cmdlet, &display, &svc_name, &typed),
        };
        Ok(o)
    }
}
