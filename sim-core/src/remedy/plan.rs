//! The documented remediation for a diagnosis, as command lines an administrator types, each
//! with the article section it follows.
//!
//! Order follows `docs/adsync.md` §5.5: the SCM logon first; stop before `miiskmu /a`;
//! start before re-entering passwords (the console and cmdlets need the running engine); restart
//! after credential updates to flush the engine's cached passwords; the scheduler off during
//! the procedure and on again after. Passwords appear in a plan only as references
//! (`<password of NAME>`, `<new password for NAME>`): they are filled in when a step runs, from
//! what the administrator knows ([`Host::known_password`]) or, for an account whose password
//! nobody knows, a fresh one set first, as the 2023 article's 'Provide the password of the AD DS
//! Connector account' step 6 says ("If you do not know its password, you must set it to a known
//! value before performing this step").

use std::collections::BTreeMap;

use serde::Serialize;

use super::diagnose::{ARTICLE_2023, ARTICLE_AD_DS, ARTICLE_ENTRA, Cause, Diagnosis};
use crate::adsync::connector::ConnectorType;
use crate::backend::{DomainStatus, Host, HostError};
use crate::command::{Command, ParseError, Secret, parse_words, split_words};
use crate::world::ADSYNC_SERVICE;

/// The article's "Navigate to folder" step as PowerShell's `cd` (2023 article, 'Abandon the
/// existing encryption key', step 3: `'$env:ProgramFiles\Microsoft Azure AD Sync\bin\'`).
pub const ADSYNC_BIN_CD: &str = "cd \"$env:ProgramFiles\\Microsoft Azure AD Sync\\bin\\\"";

/// `docs/adsync.md` §5.5, the ordering rules.
const ORDERING: &str = "docs/adsync.md §5.5";

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    /// The line as shown: passwords as `<password of NAME>` / `<new password for NAME>`.
    pub run: String,
    /// Why this step.
    pub why: String,
    /// The article and section it follows.
    pub source: String,
    /// The line with password references as `{password:NAME}` / `{new:NAME}`.
    #[serde(skip)]
    template: String,
}

/// A password the administrator lacks, which stops the plan from running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The account.
    pub account: String,
    /// What it is needed for.
    pub needed_for: String,
}

/// The plan for a diagnosis.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<PlanStep>,
    /// Passwords the administrator must supply before the plan can run.
    pub missing: Vec<Missing>,
    /// Causes no documented procedure fixes from this server.
    pub unfixable: Vec<String>,
}

/// A step of a plan could not run.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A referenced password is not known.
    #[error("the password of {0} is not known; give it with --credential '{0}=PASSWORD'")]
    Unknown(String),
    /// The host failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The line does not parse (a defect of the plan).
    #[error("the plan step '{line}' does not parse: {error}")]
    Parse {
        /// The line, as shown.
        line: String,
        /// Why.
        error: ParseError,
    },
}

impl PlanStep {
    fn new(template: String, why: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            run: display(&template),
            why: why.into(),
            source: source.into(),
            template,
        }
    }

    /// The command this step runs, its password references filled in: known passwords from the
    /// host, new ones from `fresh` (made once per account and remembered there, so the reset and
    /// the console step type the same one).
    pub fn command(
        &self,
        host: &mut dyn Host,
        fresh: &mut BTreeMap<String, Secret>,
    ) -> Result<Command, StepError> {
        let words = split_words(&self.template).map_err(|error| StepError::Parse {
            line: self.run.clone(),
            error,
        })?;
        let mut filled = Vec::with_capacity(words.len());
        for w in words {
            filled.push(fill(&w, host, fresh)?);
        }
        parse_words(&filled).map_err(|error| StepError::Parse {
            line: self.run.clone(),
            error,
        })
    }
}

/// Replaces `{password:NAME}` and `{new:NAME}` in one word.
fn fill(
    word: &str,
    host: &mut dyn Host,
    fresh: &mut BTreeMap<String, Secret>,
) -> Result<String, StepError> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        let token = &rest[i + 1..i + j];
        let value = if let Some(name) = token.strip_prefix("password:") {
            match fresh.get(name) {
                Some(p) => p.expose().to_owned(),
                None => host
                    .known_password(name)?
                    .ok_or_else(|| StepError::Unknown(name.to_owned()))?
                    .expose()
                    .to_owned(),
            }
        } else if let Some(name) = token.strip_prefix("new:") {
            if !fresh.contains_key(name) {
                let p = host.new_password();
                fresh.insert(name.to_owned(), p);
            }
            fresh[name].expose().to_owned()
        } else {
            rest[i..=i + j].to_owned()
        };
        out.push_str(&rest[..i]);
        out.push_str(&value);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The template as shown to the administrator.
fn display(template: &str) -> String {
    template
        .replace("{password:", "<password of ")
        .replace("{new:", "<new password for ")
        .replace('}', ">")
}

/// Quotes a word for the command language when it has spaces.
fn q(word: &str) -> String {
    if word.contains(char::is_whitespace) || word.is_empty() {
        format!("'{word}'")
    } else {
        word.to_owned()
    }
}

/// The real tool that resets `account`'s password to `new` (a `{new:…}` reference): for a
/// domain account the ActiveDirectory module's `Set-ADAccountPassword … -Reset` (with `-Server`
/// for another forest), for a local account `net user`; the simulator's `account reset` only
/// where the account's authority is neither. `domain` is the server's domain, `forests` the
/// AD connectors' forests.
fn reset_template(
    account: &str,
    new: &str,
    domain: Option<&DomainStatus>,
    forests: &[&str],
) -> String {
    let Some((authority, sam)) = account.split_once('\\') else {
        return format!("account reset {} --password {new}", q(account));
    };
    let secure = format!("-NewPassword (ConvertTo-SecureString '{new}' -AsPlainText -Force)");
    if domain.is_some_and(|d| d.netbios.eq_ignore_ascii_case(authority)) {
        return format!("Set-ADAccountPassword -Identity {} -Reset {secure}", q(sam));
    }
    if let Some(f) = forests.iter().find(|f| {
        f.split('.')
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case(authority))
    }) {
        return format!(
            "Set-ADAccountPassword -Identity {} -Reset {secure} -Server {f}",
            q(sam)
        );
    }
    if domain.is_none() || authority.eq_ignore_ascii_case(crate::world::SERVER_NAME) {
        return format!("net user {} '{new}'", q(sam));
    }
    format!("account reset {} --password {new}", q(account))
}

/// Builds a plan step by step, tracking whether the service will be running.
struct Builder<'h> {
    host: &'h dyn Host,
    /// The server's domain and the AD connectors' forests (where each account is reset).
    domain: Option<DomainStatus>,
    forests: Vec<String>,
    plan: Plan,
    running: bool,
    restart_needed: bool,
    scheduler_off: bool,
    /// Accounts whose password this plan sets (so later steps type the new one).
    set_here: Vec<String>,
}

impl Builder<'_> {
    fn step(&mut self, template: String, why: impl Into<String>, source: impl Into<String>) {
        self.plan.steps.push(PlanStep::new(template, why, source));
    }

    fn knows(&self, account: &str) -> bool {
        self.set_here
            .iter()
            .any(|a| a.eq_ignore_ascii_case(account))
            || self.host.known_password(account).ok().flatten().is_some()
    }

    /// The reference to `account`'s password, resetting it to a new one first when nobody
    /// knows it.
    fn password_of(&mut self, account: &str, why_reset: &str, source: &str) -> String {
        if !self.knows(account) {
            let forests: Vec<&str> = self.forests.iter().map(String::as_str).collect();
            self.step(
                reset_template(
                    account,
                    &format!("{{new:{account}}}"),
                    self.domain.as_ref(),
                    &forests,
                ),
                why_reset.to_owned(),
                source.to_owned(),
            );
            self.set_here.push(account.to_owned());
            return format!("{{new:{account}}}");
        }
        if self
            .set_here
            .iter()
            .any(|a| a.eq_ignore_ascii_case(account))
        {
            format!("{{new:{account}}}")
        } else {
            format!("{{password:{account}}}")
        }
    }

    fn ensure_running(&mut self, why: &str, source: &str) {
        if !self.running {
            self.step(
                format!("Start-Service {ADSYNC_SERVICE}"),
                why.to_owned(),
                source.to_owned(),
            );
            self.running = true;
        }
    }

    fn scheduler_off(&mut self) {
        if !self.scheduler_off {
            self.step(
                "Set-ADSyncScheduler -SyncCycleEnabled $false".into(),
                "keep scheduled cycles from running while credentials change",
                format!("{ORDERING} rule 5"),
            );
            self.scheduler_off = true;
        }
    }

    fn ad_connector(&mut self, connector: &str, account: &str, source_provide: &str) {
        let pw = self.password_of(
            account,
            &format!("nobody knows {account}'s password: set it to a known value in AD first"),
            &format!(
                "{ARTICLE_2023}, 'Provide the password of the AD DS Connector account' step 6"
            ),
        );
        self.step(
            format!("connector set-password {} --password {pw}", q(connector)),
            format!("give the engine {account}'s password: Synchronization Service Manager, Connectors, {connector}, Properties, Connect to Active Directory Forest, Password, OK (the simulator's connector set-password)"),
            source_provide.to_owned(),
        );
        self.restart_needed = true;
    }

    fn entra_connector(&mut self, source: &str) {
        let Some(admin) = self.host.global_administrator() else {
            self.plan.missing.push(Missing {
                account: "a Global Administrator".into(),
                needed_for: "Add-ADSyncAADServiceAccount".into(),
            });
            return;
        };
        if !self.knows(&admin) {
            self.plan.missing.push(Missing {
                account: admin.clone(),
                needed_for: "Add-ADSyncAADServiceAccount -AADCredential".into(),
            });
        }
        self.step(
            format!("Add-ADSyncAADServiceAccount -AADCredential '{admin}:{{password:{admin}}}'"),
            "reset the Entra connector account's password in the tenant and in the engine",
            source.to_owned(),
        );
    }
}

/// The documented plan for a diagnosis. `host` answers which passwords the administrator knows
/// and who the Global Administrator is; nothing on it changes.
///
/// Longer than 80 lines on purpose: one arm per documented cause, each with its article's steps.
pub fn plan(d: &Diagnosis, host: &dyn Host) -> Plan {
    let mut b = Builder {
        host,
        domain: d.domain.clone(),
        forests: d
            .connectors
            .iter()
            .filter(|c| c.kind == ConnectorType::Ad)
            .map(|c| c.name.clone())
            .collect(),
        plan: Plan::default(),
        running: d.running(),
        restart_needed: false,
        scheduler_off: false,
        set_here: Vec::new(),
    };
    let abandon = d
        .findings
        .iter()
        .any(|f| f.cause == Cause::EncryptionKeyUnreadable);
    for f in &d.findings {
        match &f.cause {
            Cause::ServiceMissing | Cause::EncryptionKeyUnreadableNewerBuild { .. } => {
                b.plan.unfixable.push(f.summary.clone());
            }
            Cause::ServiceAccountMissing { .. } | Cause::ServiceStartFailed { .. } => {
                b.plan.unfixable.push(f.summary.clone());
            }
            Cause::ServiceStopped => b.ensure_running(
                "start the service",
                "docs/adsync.md §4 F8 (\"verify and start the service\")",
            ),
            Cause::ServiceLogonPassword { account } => {
                let src = format!(
                    "{ARTICLE_2023}, 'Issues that arise from changing the password' (\"First, you need to change the password under the Windows Service Control Manager\")"
                );
                let pw = b.password_of(
                    account,
                    &format!("nobody knows {account}'s password: set a known one"),
                    "docs/adsync.md §4 F8 (\"reset its password and set it on every sync service's Log On tab\")",
                );
                b.step(
                    format!("sc config {ADSYNC_SERVICE} password= {pw}"),
                    format!("store {account}'s current password in the SCM"),
                    src,
                );
                b.ensure_running("start the service with the password it now has", ORDERING);
            }
            Cause::ServiceAccountDisabled { account } => {
                b.step(
                    format!("account enable {}", q(account)),
                    format!("enable {account}"),
                    f.source.clone(),
                );
                b.ensure_running("start the service", ORDERING);
            }
            Cause::ServiceAccountLocked { account } => {
                b.step(
                    format!("account unlock {}", q(account)),
                    format!("unlock {account}"),
                    f.source.clone(),
                );
                b.ensure_running("start the service", ORDERING);
            }
            Cause::DomainControllerUnreachable { domain } => {
                b.step(
                    "dc connect".into(),
                    format!("restore the network path to a writable domain controller of {domain}"),
                    f.source.clone(),
                );
                b.ensure_running(
                    "start the service: DPAPI now recovers its master keys",
                    ORDERING,
                );
            }
            Cause::EncryptionKeyUnreadable => {
                if b.running {
                    b.step(
                        format!("Stop-Service {ADSYNC_SERVICE}"),
                        "miiskmu refuses while the service runs",
                        format!("{ARTICLE_2023}, 'Stop the Synchronization Service'"),
                    );
                    b.running = false;
                }
                b.step(
                    ADSYNC_BIN_CD.into(),
                    "miiskmu.exe is in the ADSync bin folder; ./miiskmu.exe runs from there",
                    format!("{ARTICLE_2023}, 'Abandon the existing encryption key', step 3 ('Navigate to folder')"),
                );
                b.step(
                    "./miiskmu.exe /a".into(),
                    "abandon the keyset DPAPI can no longer open; the service makes a new one at its next start",
                    format!("{ARTICLE_2023}, 'Abandon the existing encryption key'"),
                );
                b.ensure_running(
                    "the Synchronization Service Manager and the ADSync cmdlets need the running engine",
                    &format!("{ORDERING} rule 3"),
                );
                b.scheduler_off();
                let source_provide = format!(
                    "{ARTICLE_2023}, 'Provide the password of the AD DS Connector account'"
                );
                for c in d.connectors.iter().filter(|c| c.kind == ConnectorType::Ad) {
                    b.ad_connector(&c.name, &c.account, &source_provide);
                }
                b.entra_connector(&format!(
                    "{ARTICLE_2023}, 'Reinitialize the password of the ADSync service account'"
                ));
                b.restart_needed = true;
            }
            Cause::AdConnectorCredentials { connector, account } => {
                if abandon {
                    continue; // the abandon procedure provides every connector's password
                }
                b.ensure_running(
                    "the Synchronization Service Manager needs the running engine",
                    &format!("{ORDERING} rule 3"),
                );
                b.ad_connector(
                    connector,
                    account,
                    &format!(
                        "{ARTICLE_AD_DS}, 'How to update the Synchronization Service with new password for AD DS account' steps 1-7"
                    ),
                );
            }
            Cause::EntraConnectorCredentials { .. } => {
                if abandon {
                    continue;
                }
                b.ensure_running(
                    "Add-ADSyncAADServiceAccount needs the running engine",
                    &format!("{ORDERING} rule 3"),
                );
                b.entra_connector(&format!("{ARTICLE_ENTRA}, 'Reset the credentials'"));
            }
            Cause::ConnectorFailed { .. } => b.plan.unfixable.push(f.summary.clone()),
        }
    }
    if b.restart_needed {
        let source = if abandon {
            format!("{ARTICLE_2023}, 'Start the Synchronization Service'")
        } else {
            format!(
                "{ARTICLE_AD_DS}, step 8 (\"any reference to the old password is removed from the memory cache\")"
            )
        };
        b.step(
            format!("Restart-Service {ADSYNC_SERVICE}"),
            "flush the engine's cached credentials",
            source,
        );
    }
    if b.scheduler_off {
        b.step(
            "Set-ADSyncScheduler -SyncCycleEnabled $true".into(),
            "resume scheduled cycles",
            format!("{ORDERING} rule 5"),
        );
    }
    b.plan
}
