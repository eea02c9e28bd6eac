//! Accounts as Windows keeps them: local users in the SAM, domain users and gMSAs in the
//! directory, and virtual service accounts, each with its SID, its password hashes (never the
//! password) and its DPAPI `Protect` folder.
//!
//! Follows docs/design.md §3 ("accounts store what Windows stores") and `docs/dpapi.md` §4: a
//! password *change* (old password known) re-protects the owner's master keys and extends
//! CREDHIST; an administrative *reset* leaves them encrypted under the old password. Virtual
//! accounts (`NT SERVICE\X`) have no password at all; a gMSA's password is a 256-byte managed
//! secret the directory rotates every [`GMSA_ROTATION_DAYS`].

use serde::{Deserialize, Serialize};

use crate::dpapi::masterkey::MasterKeyPolicy;
use zeroize::Zeroizing;

use crate::dpapi::crypto::utf16le;
use crate::dpapi::prekey::{Credential, DpapiSystem, PasswordHashes, hashes_utf16le};
use crate::dpapi::sid::Sid;
use crate::dpapi::store::{ProtectStore, StoreKind};
use crate::filetime::FileTime;

/// `msDS-ManagedPasswordInterval` default: a gMSA password changes every 30 days.
pub const GMSA_ROTATION_DAYS: u64 = 30;
/// Size of a gMSA managed password (`msDS-ManagedPassword` current password blob).
pub const GMSA_PASSWORD_LEN: usize = 256;

/// What kind of account this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// A local user in the server's SAM.
    Local,
    /// A user in the Active Directory domain.
    Domain,
    /// A virtual service account, `NT SERVICE\<service>`.
    Virtual,
    /// A group managed service account in the domain.
    Gmsa,
    /// A standalone managed service account (`ADSyncMSA_<hex>$`), managed like a gMSA.
    Smsa,
}

impl AccountKind {
    /// The name users type: `local`, `domain`, `virtual`, `gmsa`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Domain => "domain",
            Self::Virtual => "virtual",
            Self::Gmsa => "gmsa",
            Self::Smsa => "smsa",
        }
    }

    /// True for accounts whose password an administrator can set.
    pub fn has_settable_password(self) -> bool {
        matches!(self, Self::Local | Self::Domain)
    }

    /// The DPAPI store kind of the account's `Protect` folder.
    /// Whether the directory manages and rotates the password (gMSA, sMSA).
    pub fn is_managed(self) -> bool {
        matches!(self, Self::Gmsa | Self::Smsa)
    }

    /// The `Protect` store kind of the account.
    pub fn store_kind(self) -> StoreKind {
        match self {
            Self::Local => StoreKind::LocalUser,
            Self::Domain | Self::Gmsa | Self::Smsa => StoreKind::DomainUser,
            Self::Virtual => StoreKind::VirtualAccount,
        }
    }
}

/// Password hashes as the SAM / directory keeps them (hex in the state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHashes {
    /// `SHA1(UTF-16LE(password))`, hex.
    pub sha1: String,
    /// `MD4(UTF-16LE(password))`, the NT hash, hex.
    pub nt: String,
}

impl StoredHashes {
    /// The hashes of a password.
    pub fn of(hashes: &PasswordHashes) -> Self {
        Self {
            sha1: hex::encode(hashes.sha1),
            nt: hex::encode(hashes.nt),
        }
    }

    /// The hashes of a typed password (its UTF-16LE form, as Windows hashes it).
    pub fn of_password(password: &str) -> Self {
        Self::of(&hashes_utf16le(&Zeroizing::new(utf16le(password))))
    }

    /// Whether a typed password is the one these hashes are of.
    pub fn matches_password(&self, password: &str) -> bool {
        self.matches(&hashes_utf16le(&Zeroizing::new(utf16le(password))))
    }

    /// True when `candidate` is the password these hashes were made from.
    pub fn matches(&self, candidate: &PasswordHashes) -> bool {
        crate::dpapi::crypto::ct_eq(self.nt.as_bytes(), hex::encode(candidate.nt).as_bytes())
    }
}

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account name (`sAMAccountName`), e.g. `AAD_5e7a1c0f9b2d`, `ADSync`, `gmsa-adsync$`.
    pub name: String,
    /// The authority part of the qualified name: the server name for local accounts, the NetBIOS
    /// domain name for domain accounts and gMSAs, `NT SERVICE` for virtual accounts.
    pub authority: String,
    /// The account kind.
    pub kind: AccountKind,
    /// The account SID.
    pub sid: String,
    /// Password hashes (none for virtual accounts).
    pub hashes: Option<StoredHashes>,
    /// False when the account is disabled.
    pub enabled: bool,
    /// True when the account is locked out.
    pub locked: bool,
    /// When the password was last set (change, reset or rotation).
    pub password_last_set: FileTime,
    /// The profile folder, relative to the system drive, e.g.
    /// `Windows/ServiceProfiles/ADSync` or `Users/AAD_5e7a1c0f9b2d`.
    pub profile: String,
    /// The account's DPAPI `Protect` folder, as its real files.
    pub protect: StoredProtect,
    /// The forest of a directory account outside the server's own domain (DNS name); `None`
    /// for the server's domain and for local and virtual accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<String>,
}

impl Account {
    /// `AUTHORITY\name`, as the SCM and `whoami` show it.
    pub fn qualified_name(&self) -> String {
        format!("{}\\{}", self.authority, self.name)
    }

    /// True if `text` names this account: `name`, `AUTHORITY\name`, `.\name` (local), or
    /// `name@domain` (domain accounts), case-insensitively.
    pub fn is_named(&self, text: &str, domain_dns: Option<&str>) -> bool {
        let t = text.trim();
        if t.eq_ignore_ascii_case(&self.name) || t.eq_ignore_ascii_case(&self.qualified_name()) {
            return true;
        }
        if let Some(rest) = t.strip_prefix(".\\") {
            return self.kind == AccountKind::Local && rest.eq_ignore_ascii_case(&self.name);
        }
        if let (Some((user, dom)), Some(dns)) = (t.split_once('@'), self.forest_dns(domain_dns)) {
            return user.eq_ignore_ascii_case(&self.name) && dom.eq_ignore_ascii_case(dns);
        }
        false
    }

    /// Whether `password` is the account's current password.
    pub fn password_is(&self, password: &str) -> bool {
        self.hashes
            .as_ref()
            .is_some_and(|h| h.matches_password(password))
    }

    /// The DNS name of the forest a directory account lives in (`None` for local and virtual
    /// accounts).
    pub fn forest_dns<'a>(&'a self, domain_dns: Option<&'a str>) -> Option<&'a str> {
        match self.kind {
            AccountKind::Domain | AccountKind::Gmsa | AccountKind::Smsa => {
                self.forest.as_deref().or(domain_dns)
            }
            AccountKind::Local | AccountKind::Virtual => None,
        }
    }

    /// The parsed SID.
    pub fn sid(&self) -> Sid {
        // SIDs are written by the world from valid values only.
        self.sid.parse().unwrap_or_else(|_| Sid::local_system())
    }
}

/// A `Protect` folder persisted as its real files (hex), with the parameters of new keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProtect {
    /// PBKDF2 rounds of new master keys.
    pub rounds: u32,
    /// `(relative path, hex bytes)`, as [`ProtectStore::files`] lays them out.
    pub files: Vec<(String, String)>,
}

impl StoredProtect {
    /// Captures a store.
    pub fn capture(store: &ProtectStore) -> Self {
        Self {
            rounds: store.policy.rounds,
            files: store
                .files()
                .into_iter()
                .map(|(p, b)| (p, hex::encode(&*b)))
                .collect(),
        }
    }

    /// Rebuilds the store; `None` if the stored files are not valid DPAPI files.
    pub fn restore(&self, sid: &Sid, kind: StoreKind) -> Option<ProtectStore> {
        let files: Option<Vec<(String, Vec<u8>)>> = self
            .files
            .iter()
            .map(|(p, h)| hex::decode(h).ok().map(|b| (p.clone(), b)))
            .collect();
        ProtectStore::from_files(
            sid.clone(),
            kind,
            MasterKeyPolicy::WINDOWS_10.with_rounds(self.rounds),
            crate::dpapi::blob::BlobPolicy::WINDOWS_10,
            &files?,
        )
        .ok()
    }
}

/// The credential an account's logon session holds for DPAPI, from its password.
pub fn credential_for(kind: AccountKind, sid: &Sid, password: &[u8]) -> Credential {
    match kind {
        AccountKind::Local => Credential::local_password_utf16(sid, password),
        _ => Credential::domain_password_utf16(sid, password),
    }
}

/// The credential of a virtual account, from the machine's `DPAPI_SYSTEM`.
pub fn virtual_credential(secret: &DpapiSystem, sid: &Sid) -> Credential {
    Credential::virtual_account(secret, sid)
}
