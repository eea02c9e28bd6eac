//! The Microsoft Entra (Azure AD) tenant the server synchronises to: its cloud-only accounts
//! (the `Sync_` connector account and a Global Administrator), their password hashes, and the
//! AADSTS errors a sign-in returns.
//!
//! Follows `docs/adsync.md` §2.3 (the `Sync_<SERVER>_<hex>@<tenant>` account with the
//! Directory Synchronization Accounts role) and §4 F4, and the seed
//! "Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08) for the AADSTS texts. Like the host's
//! accounts, the tenant keeps hashes only, never a password; it also keeps the hashes of earlier
//! passwords, which is how Entra tells "old password" (AADSTS50054) from a wrong one.

use serde::{Deserialize, Serialize};

use crate::filetime::FileTime;
use crate::win::account::StoredHashes;

/// The role of the `Sync_` account (§2.3).
pub const ROLE_DIRECTORY_SYNC: &str = "Directory Synchronization Accounts";
/// The role `Add-ADSyncAADServiceAccount` needs ("Azure AD Connect sync: How to manage the encryption key" (2017-03-26):
/// "provide the Azure AD Global admin credentials").
pub const ROLE_GLOBAL_ADMIN: &str = "Global Administrator";
/// The Hybrid Identity Administrator role, which `docs/adsync.md` §4 F4 (issue #115398)
/// reports is also accepted.
pub const ROLE_HYBRID_IDENTITY_ADMIN: &str = "Hybrid Identity Administrator";
/// How many earlier passwords a user's history keeps. Named choice: Entra's number is not
/// public; five covers every scenario of the catalogue.
pub const PASSWORD_HISTORY: usize = 5;

/// AADSTS70002 + AADSTS50054, verbatim from "Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08).
pub const AADSTS_OLD_PASSWORD: &str = "AADSTS70002: Error validating credentials. AADSTS50054: Old password is used for authentication.";
/// AADSTS50126 for a password that never was the account's. Named choice: the seed articles do
/// not print it; this is Entra's documented wording for the code.
pub const AADSTS_INVALID_PASSWORD: &str =
    "AADSTS50126: Error validating credentials due to invalid username or password.";
/// AADSTS50057 for a disabled account (Entra's wording for the code; named choice as above).
pub const AADSTS_DISABLED: &str = "AADSTS50057: The user account is disabled.";
/// AADSTS50034 for a user that does not exist (Entra's wording; named choice as above).
pub const AADSTS_NO_USER: &str = "AADSTS50034: The user account does not exist in the directory.";

/// One cloud-only user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudUser {
    /// The user principal name, e.g. `Sync_AADCONNECT01_1a2b3c@contoso.onmicrosoft.com`.
    pub upn: String,
    /// Directory roles.
    pub roles: Vec<String>,
    /// Hashes of the current password.
    pub hashes: StoredHashes,
    /// Hashes of earlier passwords, newest first, at most [`PASSWORD_HISTORY`].
    #[serde(default)]
    pub history: Vec<StoredHashes>,
    /// Whether sign-in is allowed.
    pub enabled: bool,
    /// When the password was last set.
    pub password_last_set: FileTime,
}

/// Why a sign-in failed: the AADSTS text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// The password was the account's once (AADSTS50054).
    OldPassword,
    /// The password is wrong (AADSTS50126).
    InvalidPassword,
    /// The account is disabled (AADSTS50057).
    Disabled,
    /// No such user (AADSTS50034).
    NoUser,
}

impl SignInError {
    /// The text Entra returns.
    pub fn text(self) -> &'static str {
        match self {
            Self::OldPassword => AADSTS_OLD_PASSWORD,
            Self::InvalidPassword => AADSTS_INVALID_PASSWORD,
            Self::Disabled => AADSTS_DISABLED,
            Self::NoUser => AADSTS_NO_USER,
        }
    }
}

/// The tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The initial domain, e.g. `contoso.onmicrosoft.com`.
    pub name: String,
    /// Cloud-only users.
    pub users: Vec<CloudUser>,
}

impl Tenant {
    /// A tenant named after the first forest's label (`contoso.com` → `contoso.onmicrosoft.com`)
    /// unless a name is given.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            users: vec![],
        }
    }

    /// The user with this UPN (or user name, completed with the tenant's domain).
    pub fn user(&self, name: &str) -> Option<&CloudUser> {
        let upn = self.upn(name);
        self.users.iter().find(|u| u.upn.eq_ignore_ascii_case(&upn))
    }

    fn user_mut(&mut self, name: &str) -> Option<&mut CloudUser> {
        let upn = self.upn(name);
        self.users
            .iter_mut()
            .find(|u| u.upn.eq_ignore_ascii_case(&upn))
    }

    /// `name` as a UPN of this tenant.
    pub fn upn(&self, name: &str) -> String {
        if name.contains('@') {
            name.to_owned()
        } else {
            format!("{name}@{}", self.name)
        }
    }

    /// Adds a user with a password and roles; an existing user of that name keeps its history.
    pub fn put_user(&mut self, upn: &str, password: &str, roles: &[&str], now: FileTime) {
        let upn = self.upn(upn);
        if self.user(&upn).is_some() {
            self.set_password(&upn, password, now);
            if let Some(u) = self.user_mut(&upn) {
                for r in roles {
                    if !u.roles.iter().any(|x| x == r) {
                        u.roles.push((*r).to_owned());
                    }
                }
            }
            return;
        }
        self.users.push(CloudUser {
            upn,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            hashes: StoredHashes::of_password(password),
            history: vec![],
            enabled: true,
            password_last_set: now,
        });
    }

    /// Sets a user's password (an administrator's reset, as `Set-MsolUserPassword` does).
    /// Returns false when there is no such user.
    pub fn set_password(&mut self, name: &str, password: &str, now: FileTime) -> bool {
        let Some(u) = self.user_mut(name) else {
            return false;
        };
        let old = std::mem::replace(&mut u.hashes, StoredHashes::of_password(password));
        u.history.insert(0, old);
        u.history.truncate(PASSWORD_HISTORY);
        u.password_last_set = now;
        true
    }

    /// Signs a user in with a password.
    pub fn sign_in(&self, name: &str, password: &str) -> Result<&CloudUser, SignInError> {
        let u = self.user(name).ok_or(SignInError::NoUser)?;
        if !u.hashes.matches_password(password) {
            return Err(if u.history.iter().any(|o| o.matches_password(password)) {
                SignInError::OldPassword
            } else {
                SignInError::InvalidPassword
            });
        }
        if !u.enabled {
            return Err(SignInError::Disabled);
        }
        Ok(u)
    }

    /// The UPNs, for error messages.
    pub fn known_users(&self) -> String {
        self.users
            .iter()
            .map(|u| u.upn.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_tells_old_from_wrong_passwords() {
        let now = FileTime(0);
        let mut t = Tenant::new("contoso.onmicrosoft.com");
        t.put_user("Sync_X_1", "first", &[ROLE_DIRECTORY_SYNC], now);
        assert!(t.sign_in("Sync_X_1", "first").is_ok());
        assert!(t.set_password("sync_x_1@CONTOSO.onmicrosoft.com", "second", now));
        assert_eq!(
            t.sign_in("Sync_X_1", "first").unwrap_err(),
            SignInError::OldPassword
        );
        assert_eq!(
            t.sign_in("Sync_X_1", "never").unwrap_err(),
            SignInError::InvalidPassword
        );
        assert_eq!(t.sign_in("nobody", "x").unwrap_err(), SignInError::NoUser);
        assert!(t.sign_in("Sync_X_1", "second").is_ok());
        assert!(
            !serde_json::to_string(&t).unwrap().contains("second"),
            "the tenant keeps hashes only"
        );
    }
}
