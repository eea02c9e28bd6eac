//! The domain around the server: its DPAPI backup key pair and whether a domain controller
//! answers.
//!
//! Follows `docs/dpapi.md` §7 (MS-BKRP: a domain account's master keys carry a copy sealed to the
//! domain backup key, which only a reachable DC can open).

use rand_core::Rng;
use serde_json::json;

use super::{Outcome, StoredBackupKey, Stream, World, WorldError};
use crate::dpapi::bkrp::BackupKeyPair;

impl World {
    /// The domain's DPAPI backup key pair: made once, sealed at rest.
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
        let mut seed = [0u8; 32];
        rng.0.fill_bytes(&mut seed);
        let key_error = |e: &dyn std::fmt::Display| WorldError::KeyGeneration {
            what: "the domain's DPAPI backup key".into(),
            reason: e.to_string(),
        };
        let pair = BackupKeyPair::generate(guid, seed).map_err(|e| key_error(&e))?;
        let der = pair.to_pkcs8().map_err(|e| key_error(&e))?;
        let name = format!("BCKUPKEY_{guid}");
        let sealed = self.sealer.seal(&name, &der);
        if let Some(d) = self.state.domain.as_mut() {
            d.backup_key = Some(StoredBackupKey {
                guid: guid.to_string(),
                sealed,
            });
        }
        Ok(())
    }

    /// The domain backup service, when a writable DC answers.
    pub(in crate::world) fn dc(&self) -> Result<Option<BackupKeyPair>, WorldError> {
        let Some(d) = self.state.domain.as_ref().filter(|d| d.dc_reachable) else {
            return Ok(None);
        };
        let Some(k) = &d.backup_key else {
            return Ok(None);
        };
        let der = self
            .sealer
            .open(&format!("BCKUPKEY_{}", k.guid), &k.sealed)?;
        let guid = k
            .guid
            .parse()
            .map_err(|_| WorldError::bad_value("domain.backup_key.guid", &k.guid, "a GUID"))?;
        BackupKeyPair::from_pkcs8(guid, &der)
            .map(Some)
            .map_err(|e| WorldError::BadFormat {
                what: format!("the backup key BCKUPKEY_{guid}"),
                reason: Some(e.to_string()),
            })
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
