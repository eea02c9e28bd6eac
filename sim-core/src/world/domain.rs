//! The domain around the server: its DPAPI backup key pair and whether a domain controller
//! answers.
//!
//! Follows `docs/dpapi.md` §7 (MS-BKRP: a domain account's master keys carry a copy sealed to the
//! domain backup key, which only a reachable DC can open).
//!
//! The key pair is a function of the world's seed alone (its own ChaCha20 stream,
//! [`BACKUP_KEY_STREAM`]), not of how far the world's main stream has got when the first domain
//! account is made: every world of one seed belongs to the same domain, so it has the same backup
//! key. The state names the key (its GUID) and holds none of it; the RSA-2048 generation (by far
//! the most expensive step of a world) runs when a domain account's DPAPI call first needs the
//! key, once per seed and process ([`BACKUP_KEY_MEMO`]).

use std::sync::{Arc, OnceLock};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;
use zeroize::Zeroizing;

use super::{Outcome, StoredBackupKey, Stream, World, WorldError};
use crate::dpapi::bkrp::BackupKeyPair;
use crate::dpapi::domainkey::DomainKeyBlock;
use crate::dpapi::masterkey::MasterKey;
use crate::dpapi::memo::Memo;
use crate::dpapi::sid::Sid;
use crate::dpapi::store::DomainBackup;
use crate::seal::{Sealed, Sealer};

/// The ChaCha20 stream number, under the world's seed, that the domain backup key is drawn from
/// (the world's main stream is stream 0).
const BACKUP_KEY_STREAM: u64 = 1;

/// How many seeds' backup keys a process keeps (PKCS#8 DER, about 1.2 KB each). A process makes
/// worlds for few seeds at once (exploration: one; `scenario run`: one per file), so 16 keeps
/// every hit while bounding memory; the oldest entry goes first and is wiped as it goes.
const BACKUP_KEY_MEMO: usize = 16;

type Generated = Result<BackupKeyPair, String>;

/// The backup key pair of every world of `seed` (with a nil GUID; each world has its own):
/// generated once per process (threads asking at the same time wait for the one generation, in
/// the seed's slot).
pub(in crate::world) fn generated_backup_key(seed: u64) -> Generated {
    static GENERATED: Memo<u64, Arc<OnceLock<Generated>>> = Memo::new(BACKUP_KEY_MEMO);
    let slot = GENERATED.get_or_insert_with(seed, Arc::default);
    slot.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(BACKUP_KEY_STREAM);
        let mut key_seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *key_seed);
        // The GUID is the world's own (drawn from its main stream); only the key is shared.
        BackupKeyPair::generate(uuid::Uuid::nil(), *key_seed).map_err(|e| e.to_string())
    })
    .clone()
}

/// The domain's backup key as a reachable DC serves it ([`World::dc`]), generated only when a
/// domain account's DPAPI call first needs it (a new master key to wrap, or a recovery): a
/// world whose domain accounts never use DPAPI on the server never pays for an RSA-2048
/// generation.
pub(in crate::world) struct DcBackupKey {
    guid: uuid::Uuid,
    seed: u64,
    pair: OnceLock<Option<BackupKeyPair>>,
}

impl DcBackupKey {
    fn pair(&self) -> Option<&BackupKeyPair> {
        self.pair
            .get_or_init(|| {
                // Generation does not fail for RSA-2048 (eight pairs of primes are tried); if it
                // ever did, the DC would answer as one without the key: no wrap, no recovery.
                generated_backup_key(self.seed).ok().map(|mut pair| {
                    pair.guid = self.guid;
                    pair
                })
            })
            .as_ref()
    }
}

impl DomainBackup for DcBackupKey {
    fn wrap(&self, key: &MasterKey, sid: &Sid, seed: [u8; 32]) -> Option<DomainKeyBlock> {
        self.pair()?.wrap(key, sid, seed).ok()
    }
    fn recover(&self, block: &DomainKeyBlock, sid: &Sid) -> Option<MasterKey> {
        self.pair()?.recover(block, sid).ok()
    }
}

/// The backup key pair sealed as `stored`, opened and parsed once per process: reading an RSA
/// key recomputes its CRT values, which cost more than the rest of a service start, and a
/// domain account's every DPAPI call asks the DC. Entries are keyed by the sealer's key id and
/// the name (the seal's associated data) as well as the sealed value, so only what would open
/// is served; at most [`BACKUP_KEY_MEMO`] are kept.
fn opened_backup_key(
    sealer: &Sealer,
    stored_guid: &str,
    sealed: &Sealed,
) -> Result<BackupKeyPair, WorldError> {
    static OPENED: Memo<([u8; 32], String, Sealed), BackupKeyPair> = Memo::new(BACKUP_KEY_MEMO);
    let key = (
        sealer.key_id(),
        format!("BCKUPKEY_{stored_guid}"),
        sealed.clone(),
    );
    if let Some(mut pair) = OPENED.get(&key) {
        pair.guid = stored_guid_value(stored_guid)?;
        return Ok(pair);
    }
    // Opened before the GUID is read, as without the memo: a damaged GUID changes the name the
    // value was sealed under, so the seal refuses it first.
    let der = sealer.open(&key.1, &key.2)?;
    let guid = stored_guid_value(stored_guid)?;
    let pair = BackupKeyPair::from_pkcs8(guid, &der).map_err(|e| WorldError::BadFormat {
        what: format!("the backup key BCKUPKEY_{guid}"),
        reason: Some(e.to_string()),
    })?;
    OPENED.insert(key, pair.clone());
    Ok(pair)
}

/// The backup key's GUID as the state stores it, read.
fn stored_guid_value(stored: &str) -> Result<uuid::Uuid, WorldError> {
    stored
        .parse()
        .map_err(|_| WorldError::bad_value("domain.backup_key.guid", stored, "a GUID"))
}

impl World {
    /// The domain's DPAPI backup key pair: its GUID drawn once, when the first domain account
    /// is made; the key itself is a function of the seed, made when first used ([`DcBackupKey`]).
    pub(in crate::world) fn ensure_backup_key(
        &mut self,
        rng: &mut Stream,
    ) -> Result<(), WorldError> {
        if self
            .state
            .domain
            .as_ref()
            .is_none_or(|d| d.backup_key.is_some())
        {
            return Ok(());
        }
        let guid = rng.guid();
        // Drawn and not used since the key comes from its own stream: every later draw of the
        // main stream stays where it was, so worlds keep their passwords, SIDs and GUIDs.
        let mut unused = Zeroizing::new([0u8; 32]);
        rng.0.fill_bytes(&mut *unused);
        if let Some(d) = self.state.domain.as_mut() {
            d.backup_key = Some(StoredBackupKey {
                guid: guid.to_string(),
                sealed: None,
            });
        }
        Ok(())
    }

    /// The domain backup service, when a writable DC answers. A state written before the key
    /// became a function of the seed holds it sealed, and that key is served.
    pub(in crate::world) fn dc(&self) -> Result<Option<DcBackupKey>, WorldError> {
        let Some(d) = self.state.domain.as_ref().filter(|d| d.dc_reachable) else {
            return Ok(None);
        };
        let Some(k) = &d.backup_key else {
            return Ok(None);
        };
        let (guid, pair) = match &k.sealed {
            Some(sealed) => {
                let opened = opened_backup_key(&self.sealer, &k.guid, sealed)?;
                (opened.guid, OnceLock::from(Some(opened)))
            }
            None => (stored_guid_value(&k.guid)?, OnceLock::new()),
        };
        Ok(Some(DcBackupKey {
            guid,
            seed: self.state.seed,
            pair,
        }))
    }

    pub(in crate::world) fn dc_reachable(
        &mut self,
        reachable: bool,
    ) -> Result<Outcome, WorldError> {
        let d = self
            .state
            .domain
            .as_mut()
            .ok_or_else(|| WorldError::NotInDomain {
                subject: "dc".into(),
            })?;
        d.dc_reachable = reachable;
        let text = format!(
            "A writable domain controller of {} is {}.",
            d.dns,
            if reachable {
                "reachable"
            } else {
                "unreachable"
            }
        );
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"domain": d.dns, "dc_reachable": reachable}),
            events: vec![],
        })
    }
}
