//! Account policy: the "Log on as a service" user right (SeServiceLogonRight), password expiry
//! and account lockout, the three reasons besides a wrong password that a logon with a known
//! account fails.
//!
//! Follows `docs/adsync.md` §4 F11 (Connect Health: "check the account exists, its password has
//! not expired … and no group policy removed its right to log on as a service") and F8 (KB
//! 2882421: "expired or disabled service-logon accounts"), and Windows' own security policy
//! settings (each constant cites its Microsoft Learn page).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Limit, Outcome, Refusal, World, WorldError};
use crate::command::PolicyChange;
use crate::filetime::FileTime;
use crate::win::account::AccountKind;
use crate::win::text::{self, win32};

/// The name of the "Log on as a service" right, as `secpol.msc`, `ntrights` and `secedit` spell
/// it.
pub const SERVICE_LOGON_RIGHT: &str = "SeServiceLogonRight";

/// Windows' default "Maximum password age": 42 days (Microsoft Learn, "Maximum password age",
/// https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/maximum-password-age:
/// "The default value is 42"). It applies only to an account whose password is set to expire:
/// the accounts an install creates are set never to expire (`docs/adsync.md` §2.1, §2.2), so
/// expiry starts with `account password-expires NAME`.
pub const MAX_PASSWORD_AGE_DAYS: u64 = 42;

/// The most a lockout threshold may be: Windows accepts 0 to 999 invalid attempts (Microsoft
/// Learn, "Account lockout threshold",
/// https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/account-lockout-threshold).
pub const MAX_LOCKOUT_THRESHOLD: u32 = 999;

/// Who holds what, at rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPolicy {
    /// SIDs holding SeServiceLogonRight. `None` in a world saved before the right was modelled:
    /// there every account holds it, as those worlds behaved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_logon: Option<BTreeSet<String>>,
    /// SIDs whose password is subject to [`MAX_PASSWORD_AGE_DAYS`] ("Password never expires"
    /// cleared).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub password_expires: BTreeSet<String>,
    /// "Account lockout threshold": invalid logons that lock an account; 0 never locks, which is
    /// Windows' default (the page of [`MAX_LOCKOUT_THRESHOLD`]: "The default value is 0"). One
    /// threshold serves local and directory accounts (named choice).
    #[serde(default)]
    pub lockout_threshold: u32,
    /// Invalid logons since the last good one, by SID (`badPwdCount`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bad_logons: BTreeMap<String, u32>,
}

impl World {
    /// Grants SeServiceLogonRight, as the installer does for the account it configures.
    pub(in crate::world) fn grant_service_logon(&mut self, sid: &str) {
        self.state
            .policy
            .service_logon
            .get_or_insert_with(BTreeSet::new)
            .insert(sid.to_owned());
    }

    /// Whether the account may log on as a service. Virtual accounts hold it through `NT
    /// SERVICE\ALL SERVICES`, which Windows grants the right by default (INF: the SCM's own
    /// accounts are not listed under the policy by name).
    pub(in crate::world) fn may_log_on_as_service(&self, ai: usize) -> bool {
        let a = &self.state.accounts[ai];
        a.kind == AccountKind::Virtual
            || self
                .state
                .policy
                .service_logon
                .as_ref()
                .is_none_or(|s| s.contains(&a.sid))
    }

    /// Whether the account's password is older than [`MAX_PASSWORD_AGE_DAYS`] and set to expire.
    pub(in crate::world) fn password_expired(&self, ai: usize) -> bool {
        self.password_expired_at(ai, self.state.clock)
    }

    /// Whether the account's password has expired at `at`.
    pub(in crate::world) fn password_expired_at(&self, ai: usize, at: FileTime) -> bool {
        let a = &self.state.accounts[ai];
        a.kind.has_settable_password()
            && self.state.policy.password_expires.contains(&a.sid)
            && a.password_last_set.plus_days(MAX_PASSWORD_AGE_DAYS) <= at
    }

    /// A logon with a wrong password: `badPwdCount` grows and the account locks at the
    /// threshold. Returns true when this attempt locked it.
    pub(in crate::world) fn bad_logon(&mut self, ai: usize) -> bool {
        let threshold = self.state.policy.lockout_threshold;
        let a = &mut self.state.accounts[ai];
        if threshold == 0 || a.locked || !a.kind.has_settable_password() {
            return false;
        }
        let n = self
            .state
            .policy
            .bad_logons
            .entry(a.sid.clone())
            .or_insert(0);
        *n += 1;
        if *n >= threshold {
            a.locked = true;
            self.state.policy.bad_logons.remove(&a.sid);
            return true;
        }
        false
    }

    /// A good logon resets `badPwdCount`.
    pub(in crate::world) fn good_logon(&mut self, ai: usize) {
        let sid = &self.state.accounts[ai].sid;
        self.state.policy.bad_logons.remove(sid);
    }

    /// `account right grant|revoke NAME SeServiceLogonRight`, `account password-expires NAME`,
    /// `account password-never-expires NAME`.
    pub(in crate::world) fn account_policy(
        &mut self,
        name: &str,
        change: PolicyChange,
    ) -> Result<Outcome, WorldError> {
        let ai = self.account_index(name)?;
        let (sid, q, kind) = {
            let a = &self.state.accounts[ai];
            (a.sid.clone(), a.qualified_name(), a.kind)
        };
        let text = match change {
            PolicyChange::GrantServiceLogon => {
                self.grant_service_logon(&sid);
                format!("{q}: granted {SERVICE_LOGON_RIGHT}.")
            }
            PolicyChange::RevokeServiceLogon => {
                let set = self.state.policy.service_logon.get_or_insert_with(|| {
                    // A world saved before the right was modelled: every account held it.
                    self.state.accounts.iter().map(|a| a.sid.clone()).collect()
                });
                set.remove(&sid);
                format!("{q}: revoked {SERVICE_LOGON_RIGHT}.")
            }
            PolicyChange::PasswordExpires | PolicyChange::PasswordNeverExpires => {
                if !kind.has_settable_password() {
                    return Err(WorldError::AccountRefused {
                        account: q,
                        refusal: Refusal::ManagedExpiry,
                    });
                }
                if change == PolicyChange::PasswordExpires {
                    self.state.policy.password_expires.insert(sid.clone());
                    format!(
                        "{q}: the password expires {MAX_PASSWORD_AGE_DAYS} days after it was last set."
                    )
                } else {
                    self.state.policy.password_expires.remove(&sid);
                    format!("{q}: the password never expires.")
                }
            }
        };
        let has_right = self.may_log_on_as_service(ai);
        let expires = self.state.policy.password_expires.contains(&sid);
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"account": q, "service_logon_right": has_right, "password_expires": expires}),
            events: vec![],
        })
    }

    /// `net accounts /lockoutthreshold:N [/domain]`: the lockout threshold (0 to
    /// [`MAX_LOCKOUT_THRESHOLD`]); net.exe answers with its success line.
    pub(in crate::world) fn set_lockout_threshold(
        &mut self,
        threshold: u32,
    ) -> Result<Outcome, WorldError> {
        if threshold > MAX_LOCKOUT_THRESHOLD {
            return Err(WorldError::Limit(Limit::LockoutThreshold {
                asked: threshold,
            }));
        }
        self.state.policy.lockout_threshold = threshold;
        Ok(Outcome {
            code: 0,
            text: text::NET_SUCCESS.to_owned(),
            json: json!({"lockout_threshold": threshold}),
            events: vec![],
        })
    }
}

/// The logon failure reason for an account whose password is right: expired, then the logon
/// type (Windows checks the logon right after it has validated the password, which is why a
/// wrong password hides a missing right).
pub(in crate::world) fn after_password(world: &World, ai: usize) -> Option<u32> {
    if world.password_expired(ai) {
        return Some(win32::PASSWORD_EXPIRED);
    }
    (!world.may_log_on_as_service(ai)).then_some(win32::LOGON_TYPE_NOT_GRANTED)
}
