//! One principal's `Protect` folder: its master key files, `Preferred`, and `CREDHIST`, with the
//! behaviour of `CryptProtectData` / `CryptUnprotectData` over them.
//!
//! Follows `docs/dpapi.md`:
//! - §3.1 protect: use the `Preferred` key; when it is missing or expired (90 days), make a new
//!   key and rewrite `Preferred`; old key files are never deleted;
//! - §3.2 unprotect: find the key the blob names, open it with the session's pre-key, else walk
//!   the CREDHIST chain;
//! - §4 password change versus reset: a change appends a CREDHIST entry and re-encrypts every
//!   key under the new password; an administrative reset of a local account changes nothing in
//!   the folder, so keys stay but can no longer be opened (`NTE_BAD_KEY_STATE`), and new data
//!   gets a new key.
//!
//! Named choice: when the `Preferred` key cannot be opened with the current credentials (after a
//! reset) protect makes a new key, as "new data gets a new MK" (§4) implies.

use std::collections::BTreeMap;

use uuid::Uuid;
use zeroize::Zeroizing;

use super::api::{DpapiError, ProtectFlags};
use super::bkrp::BackupKeyPair;
use super::blob::{Blob, BlobPolicy};
use super::credhist::CredHistFile;
use super::crypto::SecretBytes;
use super::domainkey::DomainKeyBlock;
use super::masterkey::{
    FLAGS_DOMAIN_USER, FLAGS_LOCAL_USER, FLAGS_SYSTEM, MasterKey, MasterKeyError, MasterKeyFile,
    MasterKeyPolicy, backup_prekey,
};
use super::preferred::Preferred;
use super::prekey::{Credential, PreKey, nt_hash_1607};
use super::sid::Sid;
use crate::filetime::FileTime;

/// A writable domain controller's DPAPI backup service (MS-BKRP), for domain accounts.
pub trait DomainBackup {
    /// ClientWrap: the domain key block of a new master key (`docs/dpapi.md` §3.1).
    fn wrap(&self, key: &MasterKey, sid: &Sid, seed: [u8; 32]) -> Option<DomainKeyBlock>;
    /// `BACKUPKEY_RESTORE_GUID`: the master key in a domain key block, for its owner (§3.2 step 4).
    fn recover(&self, block: &DomainKeyBlock, sid: &Sid) -> Option<MasterKey>;
}

impl DomainBackup for BackupKeyPair {
    fn wrap(&self, key: &MasterKey, sid: &Sid, seed: [u8; 32]) -> Option<DomainKeyBlock> {
        BackupKeyPair::wrap(self, key, sid, seed).ok()
    }
    fn recover(&self, block: &DomainKeyBlock, sid: &Sid) -> Option<MasterKey> {
        BackupKeyPair::recover(self, block, sid).ok()
    }
}

/// What kind of principal owns the folder; decides master key flags and whether a CREDHIST
/// exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// A local account (flags 5, SHA-1 pre-key, CREDHIST).
    LocalUser,
    /// A domain account (flags 0, NT pre-key, CREDHIST).
    DomainUser,
    /// LocalSystem's machine or user keys (flags 6, `DPAPI_SYSTEM` pre-key, no CREDHIST).
    System,
    /// A virtual service account `NT SERVICE\X`. Named choice: flags 5 as for local accounts
    /// (`docs/dpapi.md` §1.2 has no vector for these files); no CREDHIST, as there is no
    /// password.
    VirtualAccount,
}

impl StoreKind {
    /// `dwFlags` of new master key files.
    pub fn master_key_flags(self) -> u32 {
        match self {
            Self::LocalUser | Self::VirtualAccount => FLAGS_LOCAL_USER,
            Self::DomainUser => FLAGS_DOMAIN_USER,
            Self::System => FLAGS_SYSTEM,
        }
    }

    fn has_credhist(self) -> bool {
        matches!(self, Self::LocalUser | Self::DomainUser)
    }
}

/// A principal's `Protect` folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectStore {
    /// The owner.
    pub sid: Sid,
    /// The owner's kind.
    pub kind: StoreKind,
    /// Algorithms and rounds of new master keys.
    pub policy: MasterKeyPolicy,
    /// Algorithms of new blobs.
    pub blob_policy: BlobPolicy,
    /// Master key files by GUID.
    pub master_keys: BTreeMap<Uuid, MasterKeyFile>,
    /// The `Preferred` file, once a key exists.
    pub preferred: Option<Preferred>,
    /// The `CREDHIST` file of password accounts.
    pub credhist: Option<CredHistFile>,
}

/// A random (version 4) GUID from `rng`: how DPAPI names master keys and CREDHIST credentials.
pub fn new_guid<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

impl ProtectStore {
    /// An empty folder. Password accounts get a CREDHIST with a fresh current GUID.
    pub fn new<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        sid: Sid,
        kind: StoreKind,
        policy: MasterKeyPolicy,
        blob_policy: BlobPolicy,
    ) -> Self {
        let credhist = kind
            .has_credhist()
            .then(|| CredHistFile::new(new_guid(rng)));
        Self {
            sid,
            kind,
            policy,
            blob_policy,
            master_keys: BTreeMap::new(),
            preferred: None,
            credhist,
        }
    }

    /// Makes a new master key under the credential's primary pre-key and makes it preferred.
    pub fn create_master_key<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        now: FileTime,
    ) -> Result<(Uuid, MasterKey), MasterKeyError> {
        let guid = new_guid(rng);
        let key = MasterKey::generate(rng);
        let file = MasterKeyFile::seal(
            rng,
            guid,
            self.kind.master_key_flags(),
            &key,
            credential.primary().1,
            &backup_prekey(&self.sid.to_string()),
            &self.policy,
            self.credhist.as_ref().map(|c| c.current_guid),
        )?;
        self.master_keys.insert(guid, file);
        self.preferred = Some(Preferred::for_new_key(guid, now));
        Ok((guid, key))
    }

    /// [`ProtectStore::create_master_key`] for a world with a domain: a domain account's new key
    /// is wrapped for the domain backup key, and cannot be made without a reachable DC
    /// (`SEC_E_DELEGATION_REQUIRED`, §3.1).
    pub fn create_master_key_with<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        now: FileTime,
        dc: Option<&dyn DomainBackup>,
    ) -> Result<(Uuid, MasterKey), DpapiError> {
        if self.kind != StoreKind::DomainUser {
            return self
                .create_master_key(rng, credential, now)
                .map_err(|_| DpapiError::InvalidParameter);
        }
        let dc = dc.ok_or(DpapiError::DelegationRequired)?;
        let (guid, key) = self
            .create_master_key(rng, credential, now)
            .map_err(|_| DpapiError::InvalidParameter)?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let block = dc
            .wrap(&key, &self.sid, seed)
            .ok_or(DpapiError::DelegationRequired)?;
        if let Some(file) = self.master_keys.get_mut(&guid) {
            file.domain_key = Some(block);
        }
        Ok((guid, key))
    }

    /// `CryptProtectData` with the domain's backup service (see
    /// [`ProtectStore::create_master_key_with`]).
    #[allow(clippy::too_many_arguments)] // CryptProtectData's parameters plus rng, clock and DC
    pub fn protect_with<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
        now: FileTime,
        dc: Option<&dyn DomainBackup>,
    ) -> Result<Vec<u8>, DpapiError> {
        let (guid, key) = match self.current_key(credential, now) {
            Some(found) => found,
            None => self.create_master_key_with(rng, credential, now, dc)?,
        };
        Ok(self.seal_blob(rng, &key, guid, data, entropy, description, flags))
    }

    /// `CryptUnprotectData` for a domain account, with recovery: a master key that neither the
    /// password nor CREDHIST opens is recovered through the DC's backup key and re-protected
    /// under the current password, as DPAPI does after a domain password reset (§3.2 step 4, §4).
    pub fn unprotect_recovering<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        blob: &[u8],
        entropy: &[u8],
        dc: Option<&dyn DomainBackup>,
    ) -> Result<(Blob, SecretBytes), DpapiError> {
        let parsed = Blob::parse(blob).map_err(|_| DpapiError::InvalidParameter)?;
        let guid = parsed.master_key_guid;
        let key = match (self.open_master_key(credential, guid), dc) {
            (Ok(key), _) => key,
            (Err(e), None) => return Err(e),
            (Err(e), Some(dc)) => {
                let file = self.master_keys.get(&guid).ok_or(e)?;
                let block = file.domain_key.as_ref().ok_or(e)?;
                let key = dc.recover(block, &self.sid).ok_or(e)?;
                let credhist = self.credhist.as_ref().map(|c| c.current_guid);
                let resealed = file
                    .reseal(rng, &key, credential.primary().1, credhist)
                    .map_err(|_| e)?;
                self.master_keys.insert(guid, resealed);
                key
            }
        };
        let plain = parsed
            .open(&key, entropy)
            .map_err(|_| DpapiError::InvalidData)?;
        Ok((parsed, plain))
    }

    /// The key protect uses at `now`: the preferred one if it is current and opens, else a new
    /// one (§3.1, and the named choice in the module docs).
    fn key_for_protect<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        now: FileTime,
    ) -> Result<(Uuid, MasterKey), MasterKeyError> {
        match self.current_key(credential, now) {
            Some(found) => Ok(found),
            None => self.create_master_key(rng, credential, now),
        }
    }

    /// The `Preferred` key, if it has not expired at `now` and opens with the credential.
    fn current_key(&self, credential: &Credential, now: FileTime) -> Option<(Uuid, MasterKey)> {
        let p = self.preferred.filter(|p| !p.is_expired(now))?;
        self.open_master_key(credential, p.guid)
            .ok()
            .map(|k| (p.guid, k))
    }

    /// Opens a master key with the session's credentials, falling back to the CREDHIST chain
    /// (§3.2). Fails with `NTE_BAD_KEY_STATE` when the file is missing or nothing opens it.
    pub fn open_master_key(
        &self,
        credential: &Credential,
        guid: Uuid,
    ) -> Result<MasterKey, DpapiError> {
        let bad = DpapiError::BadKeyState { master_key: guid };
        let file = self.master_keys.get(&guid).ok_or(bad)?;
        if let Ok((_, key)) = file.decrypt(credential) {
            return Ok(key);
        }
        let (Some(hashes), Some(credhist)) = (credential.hashes(), &self.credhist) else {
            return Err(bad);
        };
        let sid = self.sid.to_string();
        for (_, old) in credhist.walk(&hashes.sha1) {
            let candidates: Vec<PreKey> = if credential.is_domain() {
                vec![
                    PreKey::from_hash(&*nt_hash_1607(&old.nt, &sid), &sid),
                    PreKey::from_hash(&old.nt, &sid),
                ]
            } else {
                vec![PreKey::from_hash(&old.sha1, &sid)]
            };
            for prekey in &candidates {
                if let Ok(key) = file.open(prekey) {
                    return Ok(key);
                }
            }
        }
        Err(bad)
    }

    /// `CryptProtectData` as this principal: returns the blob bytes.
    #[allow(clippy::too_many_arguments)] // CryptProtectData's own parameters plus rng and clock
    pub fn protect<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        credential: &Credential,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
        now: FileTime,
    ) -> Result<Vec<u8>, DpapiError> {
        let (guid, key) = self
            .key_for_protect(rng, credential, now)
            .map_err(|_| DpapiError::InvalidParameter)?;
        Ok(self.seal_blob(rng, &key, guid, data, entropy, description, flags))
    }

    /// The blob bytes of `data` under one of this folder's keys.
    #[allow(clippy::too_many_arguments)] // the blob's inputs
    fn seal_blob<R: rand_core::CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: &MasterKey,
        guid: Uuid,
        data: &[u8],
        entropy: &[u8],
        description: &str,
        flags: ProtectFlags,
    ) -> Vec<u8> {
        Blob::seal_bytes(
            rng,
            key,
            guid,
            data,
            entropy,
            description,
            flags.stored(),
            &self.blob_policy,
        )
    }

    /// `CryptUnprotectData` as this principal: returns the plaintext and the parsed blob.
    pub fn unprotect(
        &self,
        credential: &Credential,
        blob: &[u8],
        entropy: &[u8],
    ) -> Result<(Blob, SecretBytes), DpapiError> {
        let blob = Blob::parse(blob).map_err(|_| DpapiError::InvalidParameter)?;
        let key = self.open_master_key(credential, blob.master_key_guid)?;
        let plain = blob
            .open(&key, entropy)
            .map_err(|_| DpapiError::InvalidData)?;
        Ok((blob, plain))
    }

    /// A password change by the owner (old password known): records the old password in
    /// CREDHIST and re-encrypts every master key that opens under `old` for `new` (§4).
    /// Keys that do not open under `old` stay as they are.
    ///
    /// The caller must have verified `old` against the account, as `NetUserChangePassword`
    /// does before DPAPI is involved: the store cannot tell a wrong old password from one whose
    /// keys were lost to an earlier reset, so it records whatever it is given.
    pub fn change_password<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        old: &Credential,
        new: &Credential,
    ) -> Result<(), MasterKeyError> {
        let new_guid = new_guid(rng);
        if let (Some(credhist), Some(old_hashes), Some(new_hashes)) =
            (self.credhist.as_mut(), old.hashes(), new.hashes())
        {
            let mut salt = [0u8; 16];
            rng.fill_bytes(&mut salt);
            // CREDHIST entries are keyed by the SHA-1 pre-key of the newer password (§2.3).
            let newer = PreKey::from_hash(&new_hashes.sha1, &self.sid.to_string());
            credhist
                .push_change(
                    old_hashes,
                    &newer,
                    new_guid,
                    &self.sid,
                    self.policy.alg_hash,
                    self.policy.alg_crypt,
                    self.policy.rounds,
                    salt,
                )
                .map_err(|_| MasterKeyError::WrongKey)?;
        }
        let credhist_guid = self.credhist.as_ref().map(|c| c.current_guid);
        let mut resealed = Vec::new();
        for (guid, file) in &self.master_keys {
            if let Ok((_, key)) = file.decrypt(old) {
                resealed.push((
                    *guid,
                    file.reseal(rng, &key, new.primary().1, credhist_guid)?,
                ));
            }
        }
        self.master_keys.extend(resealed);
        Ok(())
    }

    /// An administrative reset (old password not known). Nothing in the folder changes: the
    /// master keys stay, encrypted under the old password, and CREDHIST gets no link, so keys
    /// made before the reset no longer open (§4, `CryptUpdateProtectedState` docs).
    pub fn reset_password(&mut self) {}

    /// Rebuilds a folder from the files [`ProtectStore::files`] wrote.
    pub fn from_files(
        sid: Sid,
        kind: StoreKind,
        policy: MasterKeyPolicy,
        blob_policy: BlobPolicy,
        files: &[(String, Vec<u8>)],
    ) -> Result<Self, crate::FormatError> {
        let mut store = Self {
            sid,
            kind,
            policy,
            blob_policy,
            master_keys: BTreeMap::new(),
            preferred: None,
            credhist: None,
        };
        for (path, bytes) in files {
            let name = path.rsplit('/').next().unwrap_or(path);
            match name {
                "Preferred" => store.preferred = Some(Preferred::parse(bytes)?),
                "CREDHIST" => store.credhist = Some(CredHistFile::parse(bytes)?),
                _ => {
                    let file = MasterKeyFile::parse(bytes)?;
                    store.master_keys.insert(file.guid, file);
                }
            }
        }
        Ok(store)
    }

    /// The folder's files as `(relative path, bytes)`: `<GUID>` and `Preferred` inside the SID
    /// folder, and `CREDHIST` beside it (§2.3, §2.6). Sorted, so output is deterministic.
    pub fn files(&self) -> Vec<(String, Zeroizing<Vec<u8>>)> {
        let sid = self.sid.to_string();
        let mut out: Vec<(String, Zeroizing<Vec<u8>>)> = self
            .master_keys
            .values()
            .map(|f| {
                (
                    format!("{sid}/{}", f.file_name()),
                    Zeroizing::new(f.to_bytes()),
                )
            })
            .collect();
        if let Some(p) = &self.preferred {
            out.push((format!("{sid}/Preferred"), Zeroizing::new(p.to_bytes())));
        }
        if let Some(c) = &self.credhist {
            out.push(("CREDHIST".to_owned(), Zeroizing::new(c.to_bytes())));
        }
        out
    }
}
