//! Builds of Azure AD Connect / Entra Connect Sync and the behaviour each selects.
//!
//! Follows `docs/adsync.md` §6 (the version matrix) and §2.1 (service-account defaults),
//! with the cutoffs the docs give for both directions: "build 1.1.443.0 or older" / "2017 March
//! or earlier" ("Microsoft Entra Connect Sync: Changing the ADSync service account password", 2023-01-26) and 1.1.484.0
//! (April 2017). Every threshold below is a named constant that cites its row.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A four-part build number such as `1.1.443.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Build(pub [u32; 4]);

/// The newest build a new install gets by default: the newest 2.x docs/adsync.md §6 names
/// (`docs/adsync.md` §6, row 2.5.3.0 / 2.5.76.0).
pub const DEFAULT_BUILD: Build = Build([2, 5, 76, 0]);
/// April 2017: `NT SERVICE\ADSync` for new installs, the machine-scope keyset in the registry,
/// automatic key abandonment (§6 row 1.1.484.0; §3.2).
pub const VIRTUAL_ACCOUNT_FROM: Build = Build([1, 1, 484, 0]);
/// The keyset moves into the service account's Credential Manager (§3.2: "≥1.4.x"; §6 row
/// 1.4.18.0, the first 1.4 release).
pub const CREDENTIAL_MANAGER_FROM: Build = Build([1, 4, 18, 0]);
/// The wizard creates `ADSyncMSA_<hex>` on a domain controller (§2.1, §6 row 1.6.2.4).
pub const SMSA_FROM: Build = Build([1, 6, 2, 4]);
/// SQL 2019 LocalDB, instance `ADSync2019` (§1, §6 row 2.0.3.0).
pub const LOCALDB_2019_FROM: Build = Build([2, 0, 3, 0]);

/// Where the encryption keyset is kept (`docs/adsync.md` §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysetEra {
    /// ≤1.1.443: user-scope DPAPI of the service account. The location is not public (§3.2
    /// UNK); see [`crate::adsync::engine::LEGACY_KEYSET_LOCATION`].
    UserDpapi,
    /// 1.1.484 – 1.3.x: `HKLM\SOFTWARE\Microsoft\Ad Sync\Shared\<keyset_id>`, machine-scope
    /// DPAPI with the database entropy.
    Registry,
    /// ≥1.4: a Credential Manager credential of the service account wrapping the same
    /// machine-scope blob.
    CredentialManager,
}

impl KeysetEra {
    /// The name `status` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserDpapi => "user-dpapi",
            Self::Registry => "registry",
            Self::CredentialManager => "credential-manager",
        }
    }
}

/// A build number that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "'{0}' is not a build number: use four numbers such as 1.1.443.0, 1.4.18.0 or {DEFAULT_BUILD}"
)]
pub struct BuildError(pub String);

impl FromStr for Build {
    type Err = BuildError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.len() != 4 {
            return Err(BuildError(s.to_owned()));
        }
        let mut out = [0u32; 4];
        for (slot, p) in out.iter_mut().zip(&parts) {
            *slot = p.parse().map_err(|_| BuildError(s.to_owned()))?;
        }
        if out[0] == 0 || out[0] > 2 {
            return Err(BuildError(s.to_owned()));
        }
        Ok(Self(out))
    }
}

impl TryFrom<String> for Build {
    type Error = BuildError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Build> for String {
    fn from(b: Build) -> Self {
        b.to_string()
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

impl PartialOrd for Build {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Build {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl Build {
    /// Where this build keeps the keyset.
    pub fn keyset_era(self) -> KeysetEra {
        if self < VIRTUAL_ACCOUNT_FROM {
            KeysetEra::UserDpapi
        } else if self < CREDENTIAL_MANAGER_FROM {
            KeysetEra::Registry
        } else {
            KeysetEra::CredentialManager
        }
    }

    /// Whether a new install may run as `NT SERVICE\ADSync` or a gMSA (§2.1: 1.1.484.0 and
    /// later).
    pub fn supports_managed_accounts(self) -> bool {
        self >= VIRTUAL_ACCOUNT_FROM
    }

    /// Whether the service handles a password change itself (§6: "Now, this process is no
    /// longer required"; the 2023 seed: "abandoning the encryption key is handled by Microsoft
    /// Entra Connect itself"). In DPAPI terms this holds because the keyset is machine-scope.
    pub fn abandons_key_automatically(self) -> bool {
        self >= VIRTUAL_ACCOUNT_FROM
    }

    /// The Windows service's display name. Named choice: 1.x builds show the name of the 2017
    /// seed articles, 2.x builds the name of the 2023 one.
    pub fn display_name(self) -> &'static str {
        if self.0[0] >= 2 {
            "Microsoft Entra ID Sync"
        } else {
            "Microsoft Azure AD Sync"
        }
    }

    /// The product's name in messages of its tools.
    pub fn product_name(self) -> &'static str {
        if self.0[0] >= 2 {
            "Microsoft Entra Connect"
        } else {
            "Azure AD Connect"
        }
    }

    /// The LocalDB instance (§1).
    pub fn localdb_instance(self) -> &'static str {
        if self >= LOCALDB_2019_FROM {
            "ADSync2019"
        } else {
            "ADSync"
        }
    }

    /// The database file path (§1).
    pub fn database_path(self) -> &'static str {
        if self >= LOCALDB_2019_FROM {
            "Program Files/Microsoft Azure AD Sync/Data/ADSync2019/ADSync.mdf"
        } else {
            "Program Files/Microsoft Azure AD Sync/Data/ADSync.mdf"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_follow_the_version_matrix() {
        let b = |s: &str| s.parse::<Build>().unwrap();
        assert_eq!(b("1.1.443.0").keyset_era(), KeysetEra::UserDpapi);
        assert_eq!(b("1.1.484.0").keyset_era(), KeysetEra::Registry);
        assert_eq!(b("1.3.21.0").keyset_era(), KeysetEra::Registry);
        assert_eq!(b("1.4.18.0").keyset_era(), KeysetEra::CredentialManager);
        assert_eq!(DEFAULT_BUILD.keyset_era(), KeysetEra::CredentialManager);
        assert!(!b("1.1.443.0").supports_managed_accounts());
        assert_eq!(b("1.6.2.4").display_name(), "Microsoft Azure AD Sync");
        assert_eq!(DEFAULT_BUILD.display_name(), "Microsoft Entra ID Sync");
        assert_eq!(b("1.6.2.4").localdb_instance(), "ADSync");
        assert_eq!(DEFAULT_BUILD.localdb_instance(), "ADSync2019");
        assert!(b("1.1.484.0") > b("1.1.443.0"));
        assert!(b("1.10.0.0") > b("1.4.18.0"));
    }

    #[test]
    fn bad_builds_are_named() {
        for s in ["", "1.1", "1.1.x.0", "9.0.0.0", "1.1.443.0.1"] {
            let e = s.parse::<Build>().unwrap_err();
            assert!(e.to_string().contains(&format!("'{s}'")), "{e}");
        }
    }
}
