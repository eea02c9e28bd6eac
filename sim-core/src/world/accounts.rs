//! Accounts: creating the local, domain, virtual and managed accounts a world holds, with their
//! profiles and `Protect` folders, and finding them by name.
//!
//! Follows `docs/dpapi.md` §2–§5 (where each kind of account keeps its master keys) and
//! `docs/adsync.md` §2.1 (the service account kinds by build).

use crate::dpapi::secret::SecretBytes;
use rand_core::Rng;
use zeroize::Zeroizing;

use super::{SERVER_NAME, Stream, World, WorldError, sync};
use crate::dpapi::blob::BlobPolicy;
use crate::dpapi::crypto::utf16le;
use crate::dpapi::prekey::hashes_utf16le;
use crate::dpapi::sid::Sid;
use crate::dpapi::store::{ProtectStore, StoreKind};
use crate::win::account::{Account, AccountKind, GMSA_PASSWORD_LEN, StoredHashes, StoredProtect};

impl World {
    pub(in crate::world) fn create_virtual(
        &mut self,
        service: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let sid = Sid::for_service(service);
        let store = ProtectStore::new(
            &mut rng.0,
            sid.clone(),
            StoreKind::VirtualAccount,
            self.policy(),
            BlobPolicy::WINDOWS_10,
        );
        let account = Account {
            name: service.to_owned(),
            authority: "NT SERVICE".into(),
            kind: AccountKind::Virtual,
            sid: sid.to_string(),
            hashes: None,
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Windows/ServiceProfiles/{service}"),
            protect: StoredProtect::capture(&store),
            forest: None,
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    pub(in crate::world) fn create_user(
        &mut self,
        kind: AccountKind,
        name: &str,
        password: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let pw = Zeroizing::new(utf16le(password));
        self.create_user_utf16(kind, name, &pw, rng)
    }

    /// A user in a forest: the server's own domain, or another forest the server connects to
    /// (a directory account with no profile on this server).
    pub(in crate::world) fn create_forest_user(
        &mut self,
        forest: &str,
        name: &str,
        password: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        if self
            .state
            .domain
            .as_ref()
            .is_some_and(|d| d.dns.eq_ignore_ascii_case(forest))
        {
            return self.create_user(AccountKind::Domain, name, password, rng);
        }
        // Another forest's domain SID: stable per forest name.
        let digest =
            crate::dpapi::crypto::hash(crate::dpapi::alg::Digest::Sha1, &[forest.as_bytes()]);
        let sub =
            |i: usize| u32::from_le_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
        let rid = 1103
            + self
                .state
                .accounts
                .iter()
                .filter(|a| a.forest.as_deref() == Some(forest))
                .count() as u32;
        let account = Account {
            name: name.to_owned(),
            authority: sync::netbios_of(forest),
            kind: AccountKind::Domain,
            sid: format!("S-1-5-21-{}-{}-{}-{rid}", sub(0), sub(4), sub(8)),
            hashes: Some(StoredHashes::of_password(password)),
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Users/{name}"),
            protect: StoredProtect::default(),
            forest: Some(forest.to_owned()),
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    pub(in crate::world) fn create_user_utf16(
        &mut self,
        kind: AccountKind,
        name: &str,
        password_utf16: &[u8],
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let (sid, authority) = match kind {
            AccountKind::Local => {
                // The next RID after the highest local one, so a deleted account's RID is
                // not handed out again while a later one exists (SAM never reuses RIDs).
                let rid = self
                    .state
                    .accounts
                    .iter()
                    .filter(|a| a.kind == AccountKind::Local)
                    .filter_map(|a| a.sid.rsplit('-').next()?.parse::<u32>().ok())
                    .filter(|r| *r >= 1000)
                    .max()
                    .map_or(1000, |r| r + 1);
                (
                    format!("{}-{rid}", self.state.machine_sid),
                    SERVER_NAME.to_owned(),
                )
            }
            _ => {
                self.ensure_backup_key(rng)?;
                let d = self
                    .state
                    .domain
                    .as_mut()
                    .ok_or_else(|| WorldError::missing("the server's domain"))?;
                let rid = d.next_rid;
                d.next_rid += 1;
                (format!("{}-{rid}", d.sid), d.netbios.clone())
            }
        };
        let sid_v: Sid = sid
            .parse()
            .map_err(|e| WorldError::bad_value("a new account's SID", &sid, format!("{e}")))?;
        let store = ProtectStore::new(
            &mut rng.0,
            sid_v,
            kind.store_kind(),
            self.policy(),
            BlobPolicy::WINDOWS_10,
        );
        let account = Account {
            name: name.to_owned(),
            authority,
            kind,
            sid,
            hashes: Some(StoredHashes::of(&hashes_utf16le(password_utf16))),
            enabled: true,
            locked: false,
            password_last_set: self.state.clock,
            profile: format!("Users/{name}"),
            protect: StoredProtect::capture(&store),
            forest: None,
        };
        let q = account.qualified_name();
        self.state.accounts.push(account);
        Ok(q)
    }

    pub(in crate::world) fn create_managed(
        &mut self,
        kind: AccountKind,
        name: &str,
        rng: &mut Stream,
    ) -> Result<String, WorldError> {
        let mut managed = Zeroizing::new(vec![0u8; GMSA_PASSWORD_LEN]);
        rng.0.fill_bytes(&mut managed);
        let q = self.create_user_utf16(kind, name, &managed, rng)?;
        self.seal_managed_password(name, &managed);
        Ok(q)
    }

    pub(in crate::world) fn seal_managed_password(&mut self, name: &str, managed: &[u8]) {
        let key = format!("msDS-ManagedPassword:{name}");
        let sealed = self.sealer.seal(&key, managed);
        self.state.managed_passwords.insert(name.to_owned(), sealed);
    }

    pub(in crate::world) fn managed_password(&self, name: &str) -> Result<SecretBytes, WorldError> {
        let key = format!("msDS-ManagedPassword:{name}");
        let sealed = self
            .state
            .managed_passwords
            .get(name)
            .ok_or_else(|| WorldError::MissingSecret { name: key.clone() })?;
        Ok(self.sealer.open(&key, sealed)?)
    }

    pub(in crate::world) fn account_index(&self, name: &str) -> Result<usize, WorldError> {
        let dns = self.state.domain.as_ref().map(|d| d.dns.as_str());
        self.state
            .accounts
            .iter()
            .position(|a| a.is_named(name, dns))
            .ok_or_else(|| WorldError::UnknownAccount {
                name: name.to_owned(),
                known: self
                    .state
                    .accounts
                    .iter()
                    .map(Account::qualified_name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
