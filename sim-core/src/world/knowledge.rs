//! What the administrator knows: the passwords handed over at install (the service account's,
//! for custom accounts, the Global Administrator's and each forest's Enterprise Admin's, as the
//! wizard's operator typed them) and every password an admin has set since (`account reset`,
//! `account change`, `Set-MsolUserPassword`).
//!
//! A real runbook takes these from the team's password vault; remediation (docs/design.md §2 `remedy`)
//! asks the host for them through `Host::known_password`. Passwords the product generates and
//! never shows (the `MSOL_` and `Sync_` accounts', gMSA and virtual account secrets) are never
//! known: the 2023 article's "If you do not know its password, you must set it to a known value"
//! ("Microsoft Entra Connect Sync: Changing the ADSync service account password" (2023-01-26), 'Provide the password of the
//! AD DS Connector account') is what remediation then does. Values are sealed at rest like every
//! other secret of the state.

use zeroize::Zeroizing;

use super::{World, WorldError};

/// Where a known password lives in [`super::WorldState::admin_knows`], and its sealing name.
fn knowledge_key(name: &str) -> String {
    format!("knows:{}", name.to_ascii_lowercase())
}

impl World {
    /// The canonical name the administrator's notes use for an account: its qualified name when
    /// it is an account of the directory or the machine, the UPN when it is a cloud user.
    fn canonical_account(&self, name: &str) -> String {
        if let Ok(i) = self.account_index(name) {
            return self.state.accounts[i].qualified_name();
        }
        if self.is_cloud_user(name) {
            return self.state.tenant.upn(name);
        }
        name.to_owned()
    }

    /// Records that the administrator knows `password` for `account`.
    pub(super) fn learn(&mut self, account: &str, password: &str) {
        let key = knowledge_key(&self.canonical_account(account));
        let sealed = self.sealer.seal(&key, password.as_bytes());
        self.state.admin_knows.insert(key, sealed);
    }

    /// Records that the administrator no longer knows `account`'s password (the product set a
    /// password of its own).
    pub(super) fn forget(&mut self, account: &str) {
        let key = knowledge_key(&self.canonical_account(account));
        self.state.admin_knows.remove(&key);
    }

    /// The password the administrator knows for `account` (any spelling the command language
    /// accepts), if any.
    pub fn known_password(&self, account: &str) -> Result<Option<Zeroizing<String>>, WorldError> {
        let key = knowledge_key(&self.canonical_account(account));
        let Some(sealed) = self.state.admin_knows.get(&key) else {
            return Ok(None);
        };
        let bytes = self.sealer.open(&key, sealed)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| WorldError::BadFormat {
            what: format!("the known password of {account}"),
            reason: Some(e.to_string()),
        })?;
        Ok(Some(Zeroizing::new(text.to_owned())))
    }
}

impl World {
    /// A password for an account the administrator must set to a known value: what
    /// remediation types when nobody knows the current one. Drawn from the seed's stream, so
    /// the same seed and commands give the same password.
    pub fn generate_admin_password(&mut self) -> Zeroizing<String> {
        let mut rng = self.rng();
        let pw = super::generate_password(&mut rng);
        self.save_rng(&rng);
        pw
    }
}
