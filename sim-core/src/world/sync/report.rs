//! What `status` and `export` show of ADSync: the engine's state as JSON and the keyset as the
//! artefact a real server stores (registry value or Credential Manager file, by build).
//!
//! Follows `docs/adsync.md` §3 (where the keyset is stored, by build).

use serde_json::{Value, json};

use crate::adsync::engine::{CREDENTIALS_FOLDER, REGISTRY_KEYSET_KEY, StoredKeyset};
use crate::world::{World, WorldError};

impl World {
    /// The ADSync part of `status`.
    pub(in crate::world) fn adsync_status(&self) -> Value {
        let Ok(e) = self.engine() else {
            return Value::Null;
        };
        json!({
            "build": e.build.to_string(),
            "keyset_era": e.build.keyset_era().as_str(),
            "keyset_follows_dpapi": e.keyset_follows_dpapi,
            "keyset": match &e.keyset {
                StoredKeyset::None => "none",
                StoredKeyset::UserBlob { .. } => "user-dpapi",
                StoredKeyset::Registry { .. } => "registry",
                StoredKeyset::CredentialFile { .. } => "credential-manager",
            },
            "instance_id": e.server.instance_id.to_string(),
            "keyset_id": e.server.keyset_id,
            "tenant": self.state.tenant.name,
            "scheduler": {"sync_cycle_enabled": e.scheduler.sync_cycle_enabled, "next_cycle": e.scheduler.next_cycle.to_string()},
            "connectors": e.agents.iter().map(|a| json!({"name": a.ma_name, "type": a.kind.as_str(), "last_run": a.last_run.as_ref().map(|r| r.status.as_str())})).collect::<Vec<_>>(),
        })
    }

    /// The keyset as the build stores it, as an exported file: path and bytes.
    pub(in crate::world) fn keyset_artefact(
        &self,
    ) -> Result<Option<(String, Vec<u8>)>, WorldError> {
        let e = self.engine()?;
        let decode = |path: String, text: &str| match hex::decode(text) {
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(_) => Err(WorldError::BadHex {
                what: "the stored keyset".into(),
                path,
            }),
        };
        match &e.keyset {
            StoredKeyset::None => Ok(None),
            StoredKeyset::UserBlob { blob } | StoredKeyset::Registry { blob } => decode(
                format!(
                    "Registry/{}/{}/(Default)",
                    REGISTRY_KEYSET_KEY.replace('\\', "/"),
                    e.server.keyset_id
                ),
                blob,
            ),
            StoredKeyset::CredentialFile { name, bytes, .. } => {
                let ai = self.account_index(&self.state.service_account)?;
                let profile = &self.state.accounts[ai].profile;
                decode(format!("{profile}/{CREDENTIALS_FOLDER}/{name}"), bytes)
            }
        }
    }
}
