//! Why a command refuses an account: its password (or its state) is Windows' or Active
//! Directory's to manage, not an administrator's, or the account is not the kind the command
//! works on. [`super::WorldError::AccountRefused`] carries one, with the account's name; the
//! sentence is built here, from the fields.
//!
//! What Windows and the directory manage follows `crate::win::account` (virtual accounts have
//! no password; a managed service account's password is a managed secret the directory rotates).
//! The sentences are the simulator's own, for its account commands.

use crate::win::account::GMSA_ROTATION_DAYS;

/// What was asked of an account's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordAction {
    /// An administrator's reset (`net user NAME PASSWORD`, `Set-ADAccountPassword -Reset`).
    Reset,
    /// A change by the account's holder (old and new password).
    Change,
}

impl PasswordAction {
    /// The verb: "reset", "change".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Change => "change",
        }
    }

    /// The past participle: "reset", "changed".
    pub fn participle(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Change => "changed",
        }
    }
}

/// Why a command refuses an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A virtual account (`NT SERVICE\…`) has no password: Windows manages its credentials.
    VirtualPassword {
        /// What was asked.
        action: PasswordAction,
    },
    /// A managed service account's password is Active Directory's, rotated every
    /// [`GMSA_ROTATION_DAYS`] days.
    ManagedPassword {
        /// A standalone (sMSA) rather than a group (gMSA) managed service account.
        standalone: bool,
        /// What was asked.
        action: PasswordAction,
    },
    /// A virtual account cannot be disabled or locked: Windows manages it.
    VirtualState,
    /// Password expiry is set on an account whose password Windows manages (a virtual or a
    /// managed service account), which never expires.
    ManagedExpiry,
    /// A domain password reset named an account that is not a domain account.
    NotDomainAccount,
    /// `net user NAME /delete` named an account this server's `net user` cannot delete (not a
    /// local or domain user of this forest).
    NotDeletable,
}

impl Refusal {
    /// The sentence for `account` (qualified).
    pub fn sentence(&self, account: &str) -> String {
        match self {
            Self::VirtualPassword { action } => format!(
                "{account} is a virtual account: it has no password to {}. Windows manages its credentials; DPAPI protects its keys with the machine's DPAPI_SYSTEM secret.",
                action.verb()
            ),
            Self::ManagedPassword { standalone, action } => format!(
                "{account} is a {} managed service account: Active Directory manages its password and rotates it every {GMSA_ROTATION_DAYS} days; it cannot be {} by hand.",
                if *standalone { "standalone" } else { "group" },
                action.participle()
            ),
            Self::VirtualState => format!(
                "{account} is a virtual account: Windows manages it; it cannot be disabled or locked."
            ),
            Self::ManagedExpiry => format!(
                "{account} has no password an administrator sets: Windows manages it, and it does not expire."
            ),
            Self::NotDomainAccount => format!("{account} is not a domain account"),
            Self::NotDeletable => {
                format!("{account} is not a user this server's net user can delete")
            }
        }
    }
}
