//! Diagnosis: from what an administrator can see on the server to the documented cause.
//!
//! It reads only the service's status (`sc query`, `sc qc`), the System and Application event
//! logs, the connectors' last run statuses (the Synchronization Service Manager's Connectors
//! tab) and the installed build, all through [`Host`]. Each symptom is matched the way the seed
//! articles describe it:
//!
//! | symptom | cause | source |
//! |---|---|---|
//! | System 7038 "…unable to log on… The user name or password is incorrect." | the SCM holds an old password | 2023 article, 'Issues that arise from changing the password' |
//! | 7038 with "…currently disabled" / "…locked out" | the logon account is disabled / locked | `docs/adsync.md` §4 F8, F11 |
//! | Application 6028 "The server encryption key cannot be accessed." | the keyset cannot be unprotected | 2017 'Symptoms', 2023 'Issues…' |
//! | a connector's last run `no-start-credentials`, Application 6000 | the AD DS connector password is out of date | 2017-change-ad-ds-account-password.md |
//! | the Entra connector's last run `stopped-server-down`, 6900 / 659 with AADSTS | the Entra connector account's password was reset | 2017-reset-azure-ad-service-account.md |
//!
//! Only events written since the service last entered the running state (System 7036) count
//! for the service: older failures were already overcome.

use serde::Serialize;

use crate::adsync::build::KeysetEra;
use crate::adsync::connector::ConnectorType;
use crate::adsync::database::DATABASE_LOGIN_EXIT_CODE;
use crate::adsync::text as adsync_text;
use crate::adsync::text::EVENT_6028_ID;
use crate::backend::{ConnectorStatus, DomainStatus, Host, HostError, ServiceStatus};
use crate::win::eventlog::{EventRecord, LogName};
use crate::win::scm::ServiceState;
use crate::win::text::{SCM_SOURCE, win32};
use crate::world::ADSYNC_SERVICE;

/// System event 7038: the service could not log on (2023 article, 'Issues that arise from
/// changing the password').
pub const EVENT_LOGON_FAILED: u32 = 7038;
/// System event 7000: the service failed to start (`docs/adsync.md` §4 F1, INF).
pub const EVENT_START_FAILED: u32 = 7000;
/// System event 7041: the logon account lacks "Log on as a service" (`win::text::event_7041`).
pub const EVENT_LOGON_TYPE_NOT_GRANTED: u32 = 7041;
/// System event 7024: the service stopped with a service-specific error (§4 F2, INF).
pub const EVENT_SERVICE_SPECIFIC: u32 = 7024;
/// System event 7036: a service entered a state.
pub const EVENT_STATE_CHANGE: u32 = 7036;
/// Application event 6000: a run found the connector's credentials invalid
/// ("Azure AD Connect sync: Changing the AD DS account password", 2017-07-12).
pub const EVENT_BAD_CREDENTIALS: u32 = 6000;
/// Application event 6900 ("Azure AD Connect sync: How to manage the Azure AD service account", 2017-02-08).
pub const EVENT_6900: u32 = 6900;
/// Application event 659 ("Azure AD Connect sync: How to manage the Azure AD service account", 2017-02-08).
pub const EVENT_659: u32 = 659;

pub use crate::sources::{ARTICLE_2023, ARTICLE_AD_DS, ARTICLE_ENTRA, ARTICLE_KEY_2017};

/// What is wrong, as a remediation plan needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "kebab-case")]
pub enum Cause {
    /// The ADSync service is not installed.
    ServiceMissing,
    /// The service is stopped and no start has failed since it last ran.
    ServiceStopped,
    /// The SCM's stored password for the logon account is not the account's password.
    ServiceLogonPassword {
        /// The logon account.
        account: String,
    },
    /// The logon account is disabled.
    ServiceAccountDisabled {
        /// The logon account.
        account: String,
    },
    /// The logon account is locked out.
    ServiceAccountLocked {
        /// The logon account.
        account: String,
    },
    /// The logon account does not exist.
    ServiceAccountMissing {
        /// The logon account.
        account: String,
    },
    /// The service logs on but cannot unprotect its encryption keyset (event 6028).
    EncryptionKeyUnreadable,
    /// The keyset is unreadable on a build from April 2017 (1.1.484.0) or later, where the
    /// 2023 article rules the abandon procedure out ("This cannot be used for newer versions").
    /// The simulator shows this only with the opt-in world option `keyset_follows_dpapi`.
    EncryptionKeyUnreadableNewerBuild {
        /// The installed build.
        build: String,
    },
    /// The keyset is unreadable while the service runs as a domain account and no writable
    /// domain controller answers: DPAPI would recover the master keys through the domain's
    /// backup key (MS-BKRP) once one does.
    DomainControllerUnreachable {
        /// The domain.
        domain: String,
    },
    /// The service failed to start for a reason this diagnosis does not know.
    ServiceStartFailed {
        /// The reason the SCM logged.
        reason: String,
    },
    /// An AD DS connector's stored password is not its account's password.
    AdConnectorCredentials {
        /// The connector.
        connector: String,
        /// Its account.
        account: String,
    },
    /// The Entra connector's account cannot sign in.
    EntraConnectorCredentials {
        /// The connector.
        connector: String,
        /// Its account.
        account: String,
    },
    /// A connector's last run failed with a status this diagnosis does not know.
    ConnectorFailed {
        /// The connector.
        connector: String,
        /// Its last run status.
        status: String,
    },
}

impl Cause {
    /// The cause's identifier, as JSON's `cause` field spells it.
    pub fn id(&self) -> &'static str {
        match self {
            Self::ServiceMissing => "service-missing",
            Self::ServiceStopped => "service-stopped",
            Self::ServiceLogonPassword { .. } => "service-logon-password",
            Self::ServiceAccountDisabled { .. } => "service-account-disabled",
            Self::ServiceAccountLocked { .. } => "service-account-locked",
            Self::ServiceAccountMissing { .. } => "service-account-missing",
            Self::EncryptionKeyUnreadable => "encryption-key-unreadable",
            Self::EncryptionKeyUnreadableNewerBuild { .. } => {
                "encryption-key-unreadable-newer-build"
            }
            Self::DomainControllerUnreachable { .. } => "domain-controller-unreachable",
            Self::ServiceStartFailed { .. } => "service-start-failed",
            Self::AdConnectorCredentials { .. } => "ad-connector-credentials",
            Self::EntraConnectorCredentials { .. } => "entra-connector-credentials",
            Self::ConnectorFailed { .. } => "connector-failed",
        }
    }
}

/// One cause with the evidence behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The cause.
    #[serde(flatten)]
    pub cause: Cause,
    /// One sentence for the administrator.
    pub summary: String,
    /// What was seen: events (log, id, record, time, text), statuses.
    pub evidence: Vec<String>,
    /// The article and section that describe this symptom.
    pub source: String,
}

/// What the server shows and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// The host.
    pub host: String,
    /// The installed ADSync build.
    pub build: Option<String>,
    /// The ADSync service's status.
    pub service: Option<ServiceStatus>,
    /// The server's domain.
    pub domain: Option<DomainStatus>,
    /// The connectors and their last runs.
    pub connectors: Vec<ConnectorStatus>,
    /// What is wrong, service first.
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// Whether no symptom is visible.
    pub fn healthy(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether the service is running.
    pub fn running(&self) -> bool {
        self.service
            .as_ref()
            .is_some_and(|s| s.state == ServiceState::Running)
    }
}

/// An event as evidence: where, which, when, and its text.
fn cite(e: &EventRecord) -> String {
    format!(
        "{} event {} ({}, record {}, {}): {}",
        e.log.as_str(),
        e.id,
        e.source,
        e.record_id,
        e.time,
        e.message
    )
}

/// Reads the server and names what is wrong.
pub fn diagnose(host: &mut dyn Host) -> Result<Diagnosis, HostError> {
    let service = host.service_status(ADSYNC_SERVICE)?;
    let build = host.adsync_build()?.map(|b| b.to_string());
    let connectors = host.connectors()?;
    let events = host.events()?;
    let domain = host.domain()?;
    let mut findings = Vec::new();
    match &service {
        None => findings.push(Finding {
            cause: Cause::ServiceMissing,
            summary: format!(
                "The {ADSYNC_SERVICE} service is not installed: there is nothing to remediate short of installing Microsoft Entra Connect."
            ),
            evidence: vec![format!(
                "sc query {ADSYNC_SERVICE}: {}",
                win32::message(win32::SERVICE_DOES_NOT_EXIST)
            )],
            source: "docs/adsync.md §1 (the ADSync service)".into(),
        }),
        Some(s) if s.state != ServiceState::Running => {
            let f = service_finding(s, &events);
            let newer = host
                .adsync_build()?
                .filter(|b| b.abandons_key_automatically());
            // A domain account needs a writable DC first on every build: to recover its master
            // keys (with the opt-in option) or to make the new one a new keyset needs. Up to
            // 1.1.443.0 the article's abandon procedure then follows.
            let f = domain_first(f, s, domain.as_ref());
            findings.push(match newer {
                Some(b) => newer_build(f, b),
                None => f,
            });
        }
        Some(_) => {}
    }
    for c in &connectors {
        if let Some(f) = connector_finding(c, &events) {
            findings.push(f);
        }
    }
    let user_dpapi_era = host
        .adsync_build()?
        .is_some_and(|b| b.keyset_era() == KeysetEra::UserDpapi);
    for f in &mut findings {
        if user_dpapi_era && matches!(f.cause, Cause::ServiceLogonPassword { .. }) {
            f.summary.push_str(
                " On builds up to 1.1.443.0 a reset (unlike a change) also leaves the encryption key unreadable: expect event 6028 once the service logs on (2023 article, the IMPORTANT note).",
            );
        }
    }
    Ok(Diagnosis {
        host: host.describe(),
        build,
        service,
        domain,
        connectors,
        findings,
    })
}

/// On a build from April 2017 or later an unreadable keyset has no documented fix: the 2023
/// article rules the abandon procedure out for it, so no plan may contain `miiskmu /a`.
fn newer_build(f: Finding, build: crate::adsync::build::Build) -> Finding {
    if f.cause != Cause::EncryptionKeyUnreadable {
        return f;
    }
    Finding {
        cause: Cause::EncryptionKeyUnreadableNewerBuild {
            build: build.to_string(),
        },
        summary: format!(
            "The service logs on but cannot read its encryption keyset. On build {build} the 2023 article rules the abandon procedure out (\"This cannot be used for newer versions of Microsoft Entra Connect because abandoning the encryption key is handled by Microsoft Entra Connect itself\") and documents no other fix: no synchronization occurs until the original credentials are restored (the account the service was installed with, and the password its keyset was protected with), otherwise the documented answer is reinstalling Microsoft Entra Connect."
        ),
        evidence: f.evidence,
        source: format!(
            "{ARTICLE_2023}, 'Abandoning the ADSync service account encryption key' (the IMPORTANT note) and the introduction's IMPORTANT note; docs/adsync.md §4 F10"
        ),
    }
}

/// A domain service account's unreadable keyset is first a question of reaching a writable
/// DC: DPAPI recovers a reset domain account's master keys through the domain's backup key
/// (`docs/dpapi.md` §4, MS-BKRP; `docs/adsync.md` §6 "Domain accounts can recover through
/// the DC backup key"). Abandoning the key then is unnecessary.
fn domain_first(f: Finding, s: &ServiceStatus, domain: Option<&DomainStatus>) -> Finding {
    let Some(d) = domain else { return f };
    let domain_account = s
        .account
        .split_once('\\')
        .is_some_and(|(dom, _)| dom.eq_ignore_ascii_case(&d.netbios))
        || s.account
            .rsplit_once('@')
            .is_some_and(|(_, dns)| dns.eq_ignore_ascii_case(&d.dns));
    if f.cause != Cause::EncryptionKeyUnreadable || !domain_account || d.dc_reachable {
        return f;
    }
    let mut evidence = f.evidence;
    evidence.push(format!(
        "nltest /dsgetdc:{}: no writable domain controller answers",
        d.dns
    ));
    Finding {
        cause: Cause::DomainControllerUnreachable {
            domain: d.dns.clone(),
        },
        summary: format!(
            "The service runs as the domain account {} and cannot open its keyset while no writable domain controller of {} answers; DPAPI needs one to recover the account's master keys through the domain's backup key or to make a new one.",
            s.account, d.dns
        ),
        evidence,
        source: "docs/dpapi.md §4 (domain account reset, MS-BKRP); docs/adsync.md §6 (\"Domain accounts can recover through the DC backup key\")".into(),
    }
}

/// The events written since the service last entered the running state.
fn since_last_running<'e>(s: &ServiceStatus, events: &'e [EventRecord]) -> &'e [EventRecord] {
    let running = crate::win::text::event_7036(&s.display_name, ServiceState::Running.event_word());
    let start = events
        .iter()
        .rposition(|e| {
            e.log == LogName::System && e.id == EVENT_STATE_CHANGE && e.message == running
        })
        .map_or(0, |i| i + 1);
    &events[start..]
}

/// Why a stopped service is stopped: `sc query`'s exit code says which kind of start failed,
/// the latest matching event since it last ran says why.
///
/// Longer than 80 lines on purpose: one branch per row of the symptom table in the module's
/// documentation, in the table's order.
fn service_finding(s: &ServiceStatus, events: &[EventRecord]) -> Finding {
    let recent = since_last_running(s, events);
    let logon_prefix = format!("The {} service was unable to log on as ", s.name);
    let scm = |e: &&EventRecord, id: u32| {
        e.log == LogName::System && e.source == SCM_SOURCE && e.id == id
    };
    let logon = recent.iter().rev().find(|e| {
        (scm(e, EVENT_LOGON_FAILED) || scm(e, EVENT_LOGON_TYPE_NOT_GRANTED))
            && e.message.starts_with(&logon_prefix)
    });
    let keyset = recent.iter().rev().find(|e| {
        e.log == LogName::Application
            && e.source == adsync_text::ENGINE_SOURCE
            && e.id == EVENT_6028_ID
    });
    let mine = format!("The {} service ", s.display_name);
    let specific = recent
        .iter()
        .rev()
        .find(|e| scm(e, EVENT_SERVICE_SPECIFIC) && e.message.starts_with(&mine));
    let failed = recent
        .iter()
        .rev()
        .find(|e| scm(e, EVENT_START_FAILED) && e.message.starts_with(&mine));
    // The codes as `sc query` prints them (the tool this line quotes).
    let state = format!(
        "sc query {}: STATE {} (WIN32_EXIT_CODE {}, SERVICE_EXIT_CODE {}), logon account {}",
        s.name,
        s.state.as_str(),
        crate::win::text::exit_code(s.win32_exit_code),
        crate::win::text::exit_code(s.service_exit_code),
        s.account
    );
    let e = match s.win32_exit_code {
        win32::SERVICE_LOGON_FAILED => logon.or(failed),
        win32::SERVICE_SPECIFIC_ERROR => keyset.or(specific),
        _ => None,
    };
    let Some(e) = e else {
        return Finding {
            cause: Cause::ServiceStopped,
            summary: format!(
                "The {} service is stopped and its last stop was not a failed start: someone stopped it.",
                s.name
            ),
            evidence: vec![state],
            source: "docs/adsync.md §4 F8 (\"verify and start the service\")".into(),
        };
    };
    let mut evidence = vec![state, cite(e)];
    if s.win32_exit_code == win32::SERVICE_SPECIFIC_ERROR
        && s.service_exit_code == DATABASE_LOGIN_EXIT_CODE
        && e.id != EVENT_6028_ID
    {
        return Finding {
            cause: Cause::ServiceStartFailed {
                reason: e.message.clone(),
            },
            summary: format!(
                "The service logs on as {} and reads its keyset, then stops: that account has no login to the sync engine's database, which belongs to the account Microsoft Entra Connect was installed with. The 2023 article: \"you cannot change the account used\"; no synchronization occurs until the original credentials are restored (sc config ADSync obj= ORIGINAL-ACCOUNT password= ITS-PASSWORD, then start the service), otherwise the documented answer is reinstalling Microsoft Entra Connect.",
                s.account
            ),
            evidence,
            source: format!(
                "{ARTICLE_2023}, introduction (the IMPORTANT note); Microsoft Learn, 'ADSync service account', https://learn.microsoft.com/entra/identity/hybrid/connect/concept-adsync-service-account; docs/adsync.md §4 F10"
            ),
        };
    }
    if s.win32_exit_code == win32::SERVICE_SPECIFIC_ERROR {
        if e.id != EVENT_6028_ID {
            return Finding {
                cause: Cause::ServiceStartFailed {
                    reason: e.message.clone(),
                },
                summary: format!(
                    "The service stopped with a service-specific error: {}",
                    e.message
                ),
                evidence,
                source: "docs/adsync.md §4 F2".into(),
            };
        }
        if let Some(c) = specific {
            evidence.push(cite(c));
        }
        return Finding {
            cause: Cause::EncryptionKeyUnreadable,
            summary: "The service logs on but DPAPI cannot unprotect its encryption keyset (the service account's password was reset, not changed): the key must be abandoned and every connector password provided again.".into(),
            evidence,
            source: format!(
                "{ARTICLE_2023}, 'Issues that arise from changing the password' (event 6028, service-specific error -21451857952); {ARTICLE_KEY_2017}, 'Symptoms'"
            ),
        };
    }
    if let Some(f) = failed.filter(|f| f.record_id != e.record_id) {
        evidence.push(cite(f));
    }
    let reason = e
        .message
        .split_once("due to the following error: ")
        // The reason is the first line (7041 starts it on the next); 7038 goes on with the
        // SCM's closing sentence.
        .map(|(_, r)| {
            r.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    let account = if e.id == EVENT_LOGON_FAILED || e.id == EVENT_LOGON_TYPE_NOT_GRANTED {
        e.message
            .strip_prefix(&logon_prefix)
            .and_then(|r| r.split_once(" with the currently configured password"))
            .map_or_else(|| s.account.clone(), |(a, _)| a.to_owned())
    } else {
        s.account.clone()
    };
    let source_logon = format!(
        "{ARTICLE_2023}, 'Issues that arise from changing the password' (error 1069, event 7038)"
    );
    let (cause, summary, source) = if reason == win32::message(win32::LOGON_FAILURE) {
        (
            Cause::ServiceLogonPassword {
                account: account.clone(),
            },
            format!(
                "The SCM's stored password for {account} is not the account's password: the service cannot log on (error 1069)."
            ),
            source_logon,
        )
    } else if reason == win32::message(win32::ACCOUNT_DISABLED) {
        (
            Cause::ServiceAccountDisabled {
                account: account.clone(),
            },
            format!("The service's logon account {account} is disabled."),
            "docs/adsync.md §4 F8 and F11 (\"check the account exists and is enabled\")".to_owned(),
        )
    } else if reason == win32::message(win32::ACCOUNT_LOCKED_OUT) {
        (
            Cause::ServiceAccountLocked {
                account: account.clone(),
            },
            format!("The service's logon account {account} is locked out."),
            "docs/adsync.md §4 F8 and F11 (the account must be able to log on)".to_owned(),
        )
    } else if reason == win32::message(win32::LOGON_TYPE_NOT_GRANTED) {
        (
            Cause::ServiceStartFailed {
                reason: reason.clone(),
            },
            format!(
                "The service's logon account {account} lacks the \"Log on as a service\" right (SeServiceLogonRight, event 7041): grant it under Local Security Policy (secpol.msc), Local Policies, User Rights Assignment, or find the Group Policy that removed it. An account other than the one Microsoft Entra Connect was installed with stays unsupported (2023 article: \"you cannot change the account used\")."
            ),
            "docs/adsync.md §4 F11 (\"no group policy removed its right to log on as a service\"); event 7041, the SCM's EVENT_SERVICE_LOGON_TYPE_NOT_GRANTED".to_owned(),
        )
    } else if reason == win32::message(win32::PASSWORD_EXPIRED) {
        (
            Cause::ServiceStartFailed {
                reason: reason.clone(),
            },
            format!(
                "The password of the service's logon account {account} has expired: change it (a change keeps DPAPI's master keys; on builds up to 1.1.443.0 a reset destroys the encryption keys), set \"Password never expires\" as the documentation recommends, and give the SCM the new password."
            ),
            "docs/adsync.md §4 F8 and F11 (\"its password has not expired ('password never expires')\")".to_owned(),
        )
    } else if reason == win32::message(win32::USER_NOT_FOUND) {
        (
            Cause::ServiceAccountMissing {
                account: account.clone(),
            },
            format!("The service's logon account {account} does not exist."),
            "docs/adsync.md §4 F10 (restore the original account, or reinstall)".to_owned(),
        )
    } else {
        (
            Cause::ServiceStartFailed {
                reason: reason.clone(),
            },
            format!("The service failed to start: {reason}"),
            "docs/adsync.md §4 F8".to_owned(),
        )
    };
    Finding {
        cause,
        summary,
        evidence,
        source,
    }
}

/// What a connector's failed last run means.
fn connector_finding(c: &ConnectorStatus, events: &[EventRecord]) -> Option<Finding> {
    let status = c.last_run.as_deref()?;
    // An AD DS run ends stopped-server-down only when the service stopped during it
    // (`world::sync::run_time`): the next cycle runs it again once the service runs.
    if status == "success" || (c.kind == ConnectorType::Ad && status == "stopped-server-down") {
        return None;
    }
    let mut evidence = vec![format!(
        "connector {} ({}): last run {status}",
        c.name,
        c.kind.as_str()
    )];
    let engine_event = |id: u32, needle: &str| {
        events
            .iter()
            .rev()
            .find(|e| e.log == LogName::Application && e.id == id && e.message.contains(needle))
    };
    // The Entra connector's rejected password shows as stopped-server-down with 6900 / 659
    // (AADSTS); the same status without them, where the logs were read, is a run a stop ended,
    // which the next cycle runs again (`world::sync::run_time`, docs/adsync.md §4 F8).
    if c.kind == ConnectorType::Entra
        && status == "stopped-server-down"
        && !events.is_empty()
        && engine_event(EVENT_6900, "AADSTS").is_none()
        && engine_event(EVENT_659, "AADSTS").is_none()
    {
        return None;
    }
    match (c.kind, status) {
        (ConnectorType::Ad, "no-start-credentials") => {
            if let Some(e) = engine_event(EVENT_BAD_CREDENTIALS, &format!("\"{}\"", c.name)) {
                evidence.push(cite(e));
            }
            Some(Finding {
                cause: Cause::AdConnectorCredentials {
                    connector: c.name.clone(),
                    account: c.account.clone(),
                },
                summary: format!(
                    "The password the engine holds for {}'s account {} is not the account's password in AD.",
                    c.name, c.account
                ),
                evidence,
                source: format!("{ARTICLE_AD_DS} (no-start-credentials, event 6000)"),
            })
        }
        (ConnectorType::Entra, "stopped-server-down" | "no-start-credentials") => {
            if status == "no-start-credentials" {
                // No password stored at all (after `miiskmu /a`): the engine says so with 6000.
                if let Some(e) = engine_event(EVENT_BAD_CREDENTIALS, &format!("\"{}\"", c.name)) {
                    evidence.push(cite(e));
                }
            }
            for id in [EVENT_6900, EVENT_659] {
                if let Some(e) =
                    engine_event(id, "AADSTS").filter(|_| status == "stopped-server-down")
                {
                    evidence.push(cite(e));
                }
            }
            Some(Finding {
                cause: Cause::EntraConnectorCredentials {
                    connector: c.name.clone(),
                    account: c.account.clone(),
                },
                summary: format!(
                    "The Entra connector's account {} cannot sign in to the tenant with the password the engine holds.",
                    c.account
                ),
                evidence,
                source: format!(
                    "{ARTICLE_ENTRA}, 'Known issues these steps can solve' (events 6900 and 659)"
                ),
            })
        }
        _ => Some(Finding {
            cause: Cause::ConnectorFailed {
                connector: c.name.clone(),
                status: status.to_owned(),
            },
            summary: format!("{}'s last run ended {status}.", c.name),
            evidence,
            source: "docs/adsync.md §4 (run-status vocabulary)".into(),
        }),
    }
}
