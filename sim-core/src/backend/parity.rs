//! Sim-versus-Windows parity (docs/design.md §7): the same steps against two [`Host`]s, compared step by
//! step on what an administrator sees: the result code, the events the step wrote, and the
//! service's state and exit codes afterwards.
//!
//! The steps are the seed scenarios played on a probe service ([`crate::probe`]) instead of
//! ADSync: a local account, the probe installed under it, a password change versus an
//! administrative reset, the SCM's stored password out of date, and the fix. [`compare`] is
//! platform-independent; the run against a real host lives in the `sim-windows` crate and the
//! `tests` package, behind `ADSYNC_SIM_REAL_WINDOWS=1`.
//!
//! Like BoGo's `DisabledTests` in rustls, what is not compared is data with a reason:
//! [`EXCLUDED_EVENTS`].

use serde::Serialize;

use super::{Host, HostError, ServiceSpec};
use crate::adsync::text::ADSYNC_SOURCE;
use crate::command::{Command, Secret};
use crate::win::eventlog::{EventRecord, LogName};
use crate::win::scm::ServiceState;
use crate::win::text::SCM_SOURCE;
use crate::world::Outcome;

/// Events the comparison leaves out, each with the reason.
pub const EXCLUDED_EVENTS: &[(u32, &str)] = &[
    (
        7036,
        "state-change notices: Windows writes them from the SCM's own thread, after the call returns, so which step they land in is a race",
    ),
    (
        7045,
        "'A service was installed': Windows writes it on CreateServiceW; the simulator does not model service installation events",
    ),
    (
        7040,
        "start-type changes: Windows writes it on some ChangeServiceConfigW calls; the simulator does not model it",
    ),
];

/// Whether an event takes part in the comparison: SCM and ADSync events, minus the exclusions.
pub fn compared(e: &EventRecord) -> bool {
    (e.source == SCM_SOURCE || e.source == ADSYNC_SOURCE)
        && !EXCLUDED_EVENTS.iter().any(|(id, _)| *id == e.id)
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// A line of the command language ([`Host::run`]).
    Run(Command),
    /// [`Host::account_create`].
    AccountCreate {
        /// The account.
        name: String,
        /// Its password.
        password: Secret,
    },
    /// [`Host::account_delete`].
    AccountDelete {
        /// The account.
        name: String,
    },
    /// [`Host::probe_install`].
    ProbeInstall(ServiceSpec),
    /// [`Host::service_delete`].
    ServiceDelete {
        /// The service.
        name: String,
    },
}

/// One step: what it does, and which service's state to observe after it.
#[derive(Clone, Debug)]
pub struct Step {
    /// What the step is, for the report.
    pub label: String,
    /// What it does.
    pub action: Action,
    /// The service whose state is compared after the step.
    pub service: String,
}

/// An event as compared: log, id and source (texts differ by design: Windows inserts its own
/// account names and the probe's source may have no message file).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventKey {
    /// The log.
    pub log: LogName,
    /// The id.
    pub id: u32,
    /// The source.
    pub source: String,
}

/// A service's state as compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceObservation {
    /// `dwCurrentState`; `None` when the service is not installed.
    pub state: Option<ServiceState>,
    /// `dwWin32ExitCode`.
    pub win32_exit_code: u32,
    /// `dwServiceSpecificExitCode`.
    pub service_exit_code: u32,
}

/// What one host showed for one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// The result code; `None` when the host refused or could not run the step.
    pub code: Option<u32>,
    /// The host's error, when it refused or could not run the step.
    pub error: Option<String>,
    /// The compared events the step wrote, sorted.
    pub events: Vec<EventKey>,
    /// The service afterwards.
    pub service: Option<ServiceObservation>,
}

/// One step on both hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The step.
    pub label: String,
    /// The left host's observation.
    pub left: Observation,
    /// The right host's observation.
    pub right: Observation,
    /// What differs, in words; empty when the step matches.
    pub differences: Vec<String>,
}

/// The comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParityReport {
    /// The left host.
    pub left: String,
    /// The right host.
    pub right: String,
    /// Each step.
    pub steps: Vec<StepReport>,
    /// The excluded events and why.
    pub excluded: Vec<(u32, String)>,
}

impl ParityReport {
    /// Whether every step matched.
    pub fn matches(&self) -> bool {
        self.steps.iter().all(|s| s.differences.is_empty())
    }

    /// The report as text: one line per step, and the differences under it.
    pub fn render(&self) -> String {
        let mut out = format!("parity: {} versus {}\n", self.left, self.right);
        for (i, s) in self.steps.iter().enumerate() {
            let mark = if s.differences.is_empty() {
                "same"
            } else {
                "DIFF"
            };
            out.push_str(&format!(
                "{:>2}. [{mark}] {}: {}\n",
                i + 1,
                s.label,
                show(&s.left)
            ));
            for d in &s.differences {
                out.push_str(&format!("       {d}\n"));
            }
        }
        let differing = self
            .steps
            .iter()
            .filter(|s| !s.differences.is_empty())
            .count();
        out.push_str(&format!(
            "{} of {} steps match",
            self.steps.len() - differing,
            self.steps.len()
        ));
        if differing > 0 {
            out.push_str(&format!("; {differing} differ"));
        }
        out.push('\n');
        for (id, why) in &self.excluded {
            out.push_str(&format!("not compared: event {id}: {why}\n"));
        }
        out
    }
}

fn show(o: &Observation) -> String {
    let code = match (o.code, &o.error) {
        (Some(c), _) => format!("result {c}"),
        (None, Some(e)) => format!("error: {e}"),
        (None, None) => "no result".into(),
    };
    let events = o
        .events
        .iter()
        .map(|e| format!("{} {}", e.log.as_str(), e.id))
        .collect::<Vec<_>>()
        .join(", ");
    let service = o.service.as_ref().map_or("-".to_owned(), |s| {
        s.state.map_or("not installed".to_owned(), |st| {
            format!(
                "{} ({}, 0x{:x})",
                st.as_str(),
                s.win32_exit_code,
                s.service_exit_code
            )
        })
    });
    format!("{code}; events [{events}]; service {service}")
}

/// Plays one step on one host and observes it.
pub fn observe(host: &mut dyn Host, step: &Step) -> Observation {
    let result: Result<Outcome, HostError> = match &step.action {
        Action::Run(c) => host.run(c),
        Action::AccountCreate { name, password } => host.account_create(name, password),
        Action::AccountDelete { name } => host.account_delete(name),
        Action::ProbeInstall(spec) => host.probe_install(spec),
        Action::ServiceDelete { name } => host.service_delete(name),
    };
    let (code, error, mut events) = match result {
        Ok(o) => (
            Some(o.code),
            None,
            o.events
                .iter()
                .filter(|e| compared(e))
                .map(|e| EventKey {
                    log: e.log,
                    id: e.id,
                    source: e.source.clone(),
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => (e.code(), Some(e.to_string()), Vec::new()),
    };
    events.sort();
    let service = match host.service_status(&step.service) {
        Ok(Some(s)) => Some(ServiceObservation {
            state: Some(s.state),
            win32_exit_code: s.win32_exit_code,
            service_exit_code: s.service_exit_code,
        }),
        Ok(None) => Some(ServiceObservation {
            state: None,
            win32_exit_code: 0,
            service_exit_code: 0,
        }),
        Err(_) => None,
    };
    Observation {
        code,
        error,
        events,
        service,
    }
}

fn differences(left: &Observation, right: &Observation) -> Vec<String> {
    let mut d = Vec::new();
    if left.code != right.code {
        d.push(format!(
            "result code: {:?} versus {:?}{}",
            left.code,
            right.code,
            right
                .error
                .as_ref()
                .or(left.error.as_ref())
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
    }
    if left.events != right.events {
        let ids = |o: &Observation| {
            o.events
                .iter()
                .map(|e| format!("{}/{}/{}", e.log.as_str(), e.id, e.source))
                .collect::<Vec<_>>()
        };
        d.push(format!("events: {:?} versus {:?}", ids(left), ids(right)));
    }
    match (&left.service, &right.service) {
        (Some(l), Some(r)) if l.state != r.state => d.push(format!(
            "service state: {:?} versus {:?}",
            l.state.map(ServiceState::as_str),
            r.state.map(ServiceState::as_str)
        )),
        // Exit codes only mean something for a stopped service.
        (Some(l), Some(r)) if l.state == Some(ServiceState::Stopped) && l != r => d.push(format!(
            "exit codes: ({}, 0x{:x}) versus ({}, 0x{:x})",
            l.win32_exit_code, l.service_exit_code, r.win32_exit_code, r.service_exit_code
        )),
        (Some(_), None) | (None, Some(_)) => {
            d.push("the service's status could be read on one host only".into())
        }
        _ => {}
    }
    d
}

/// Plays `steps` on both hosts, each step on the left then on the right, and compares them.
pub fn compare(left: &mut dyn Host, right: &mut dyn Host, steps: &[Step]) -> ParityReport {
    let steps = steps
        .iter()
        .map(|s| {
            let l = observe(left, s);
            let r = observe(right, s);
            StepReport {
                label: s.label.clone(),
                differences: differences(&l, &r),
                left: l,
                right: r,
            }
        })
        .collect();
    ParityReport {
        left: left.describe(),
        right: right.describe(),
        steps,
        excluded: EXCLUDED_EVENTS
            .iter()
            .map(|(id, why)| (*id, (*why).to_owned()))
            .collect(),
    }
}

/// The names and passwords the seed steps use. The passwords must satisfy the host's password
/// policy (Windows Server's default complexity rules).
#[derive(Clone, Debug)]
pub struct SeedNames {
    /// The local account the probe runs as.
    pub account: String,
    /// The probe service's name.
    pub service: String,
    /// Its image path and arguments (`"…\adsync-sim.exe" probe-service run --name NAME`).
    pub binary_path: String,
    /// The password at creation, after the change, and after the reset.
    pub passwords: [Secret; 3],
}

impl SeedNames {
    /// Throwaway names with a suffix (e.g. a process id), so a run never meets an account or a
    /// service it did not create.
    pub fn throwaway(suffix: &str, binary_path: String, passwords: [Secret; 3]) -> Self {
        Self {
            account: format!("adsim_{suffix}"),
            service: format!("AdsyncSimProbe_{suffix}"),
            binary_path,
            passwords,
        }
    }

    /// The probe service's specification with the account's password at `index`.
    pub fn spec(&self, index: usize) -> ServiceSpec {
        ServiceSpec {
            name: self.service.clone(),
            display_name: format!("adsync-sim keyset probe ({})", self.service),
            binary_path: self.binary_path.clone(),
            account: format!(".\\{}", self.account),
            password: Some(self.passwords[index].clone()),
        }
    }
}

/// The seed scenarios on a probe service ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03;
/// `docs/adsync.md` §4 F1, F2): a change keeps DPAPI but leaves the SCM's password out of
/// date (1069, 7038, 7000); the fix is `sc config password=`; a reset loses the keyset (6028,
/// 1066 with 0x80231000); the fix is a new keyset (the probe reinstalled); then everything is
/// removed.
///
/// Longer than 80 lines on purpose: it is the list of steps itself.
pub fn seed_steps(n: &SeedNames) -> Vec<Step> {
    let svc = || n.service.clone();
    let step = |label: &str, action: Action| Step {
        label: label.to_owned(),
        action,
        service: svc(),
    };
    let start = || Action::Run(Command::ScStart { name: svc() });
    let stop = || Action::Run(Command::ScStop { name: svc() });
    let [p1, p2, p3] = n.passwords.clone();
    vec![
        step(
            "create the local account (NetUserAdd)",
            Action::AccountCreate {
                name: n.account.clone(),
                password: p1.clone(),
            },
        ),
        step(
            "install the probe as the account: its keyset protected with the account's DPAPI",
            Action::ProbeInstall(n.spec(0)),
        ),
        step("start the probe: healthy", start()),
        step("stop it", stop()),
        step(
            "the owner changes the password (NetUserChangePassword)",
            Action::Run(Command::AccountChange {
                name: n.account.clone(),
                old: p1,
                new: p2.clone(),
            }),
        ),
        step(
            "start with the SCM's password out of date: 1069, events 7038 and 7000",
            start(),
        ),
        step(
            "fix: give the SCM the new password (ChangeServiceConfigW)",
            Action::Run(Command::ScConfig {
                name: svc(),
                obj: None,
                password: Some(p2),
                start: None,
            }),
        ),
        step("start after a change: DPAPI followed it", start()),
        step("stop it", stop()),
        step(
            "an administrator resets the password (NetUserSetInfo)",
            Action::Run(Command::AccountReset {
                name: n.account.clone(),
                password: p3.clone(),
                net_user: true,
            }),
        ),
        step(
            "give the SCM the reset password",
            Action::Run(Command::ScConfig {
                name: svc(),
                obj: None,
                password: Some(p3),
                start: None,
            }),
        ),
        step(
            "start after a reset: event 6028, then 1066 with 0x80231000",
            start(),
        ),
        step(
            "fix: remove the probe (its keyset is lost)",
            Action::ServiceDelete { name: svc() },
        ),
        step(
            "fix: install it again, with a new keyset under the current password",
            Action::ProbeInstall(n.spec(2)),
        ),
        step("start after the fix: healthy", start()),
        step("stop it", stop()),
        step(
            "remove the probe service (DeleteService)",
            Action::ServiceDelete { name: svc() },
        ),
        step(
            "remove the account (NetUserDel)",
            Action::AccountDelete {
                name: n.account.clone(),
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::SimHost;
    use crate::seal::Sealer;
    use crate::world::{ServiceAccountKind, World, WorldOptions};

    fn world() -> World {
        let options = WorldOptions {
            seed: 11,
            kdf_rounds: 4,
            service_account: Some(ServiceAccountKind::Virtual),
            ..WorldOptions::default()
        };
        World::new(&options, Sealer::in_memory([7; 32])).unwrap().0
    }

    fn names() -> SeedNames {
        SeedNames::throwaway(
            "t1",
            "\"C:\\adsync-sim.exe\" probe-service run --name AdsyncSimProbe_t1".into(),
            [
                Secret::new("First-Pass-2026!"),
                Secret::new("Second-Pass-2026!"),
                Secret::new("Third-Pass-2026!"),
            ],
        )
    }

    #[test]
    fn the_seed_steps_give_the_documented_codes_on_the_simulator() {
        let mut w = world();
        let mut host = SimHost::new(&mut w);
        let codes: Vec<Option<u32>> = seed_steps(&names())
            .iter()
            .map(|s| observe(&mut host, s).code)
            .collect();
        let expected = [0, 0, 0, 0, 0, 1069, 0, 0, 0, 0, 0, 1066, 0, 0, 0, 0, 0, 0];
        assert_eq!(codes, expected.iter().map(|c| Some(*c)).collect::<Vec<_>>());
        // Everything the steps created is gone again.
        assert!(host.service_status("AdsyncSimProbe_t1").unwrap().is_none());
        assert!(!w.state().accounts.iter().any(|a| a.name == "adsim_t1"));
    }

    #[test]
    fn identical_worlds_compare_equal() {
        let (mut a, mut b) = (world(), world());
        let report = compare(
            &mut SimHost::new(&mut a),
            &mut SimHost::new(&mut b),
            &seed_steps(&names()),
        );
        assert!(report.matches(), "{}", report.render());
        let start = &report.steps[5].left;
        assert_eq!(start.code, Some(1069));
        assert_eq!(
            start.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            [7000, 7038]
        );
        let reset = &report.steps[11].left;
        assert_eq!(
            reset.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            [7024, 6028]
        );
        assert_eq!(
            reset.service,
            Some(ServiceObservation {
                state: Some(ServiceState::Stopped),
                win32_exit_code: 1066,
                service_exit_code: 0x8023_1000,
            })
        );
        assert!(report.render().contains("18 of 18 steps match"));
    }

    #[test]
    fn a_different_world_shows_the_differing_step() {
        let (mut a, mut b) = (world(), world());
        // On the right, the account already exists with the reset password: creating it fails
        // with 2224, and the probe is then installed under the older account.
        b.create_account("adsim_t1", &Secret::new("Third-Pass-2026!"))
            .unwrap();
        let report = compare(
            &mut SimHost::new(&mut a),
            &mut SimHost::new(&mut b),
            &seed_steps(&names()),
        );
        assert!(!report.matches());
        let first = &report.steps[0];
        assert_eq!(first.left.code, Some(0));
        assert_eq!(first.right.code, Some(2224));
        assert!(
            first.differences[0].starts_with("result code: Some(0) versus Some(2224)"),
            "{:?}",
            first.differences
        );
        assert!(
            report
                .render()
                .contains(" 1. [DIFF] create the local account")
        );
    }
}
