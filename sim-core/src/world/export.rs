//! Export: the artefacts a real server holds on disk (`Protect` folders, `DPAPI_SYSTEM`, the
//! keyset), as the files `export` writes and forensic tools read.
//!
//! Follows `docs/dpapi.md` §2–§3 (paths of the `Protect` folders) and `docs/adsync.md` §3 (where
//! the keyset is stored, by build).

use super::{World, WorldError};

impl World {
    /// Every account's `Protect` folder, the machine store and `DPAPI_SYSTEM`, as the real paths
    /// and bytes `export` writes (docs/design.md §5).
    pub fn artefacts(&self) -> Result<Vec<(String, Vec<u8>)>, WorldError> {
        let mut out = Vec::new();
        for a in &self.state.accounts {
            let base = format!("{}/AppData/Roaming/Microsoft/Protect", a.profile);
            for (path, hexbytes) in &a.protect.files {
                let path = format!("{base}/{path}");
                let bytes = hex::decode(hexbytes).map_err(|_| WorldError::BadHex {
                    what: format!("a DPAPI file of {}", a.qualified_name()),
                    path: path.clone(),
                })?;
                out.push((path, bytes));
            }
        }
        for (path, hexbytes) in &self.state.machine_store.files {
            let path = format!("Windows/System32/Microsoft/Protect/{path}");
            let bytes = hex::decode(hexbytes).map_err(|_| WorldError::BadHex {
                what: "a file of the machine's DPAPI store".into(),
                path: path.clone(),
            })?;
            out.push((path, bytes));
        }
        // LocalSystem's user-scope keys live in the `User` subfolder of the S-1-5-18 folder.
        for (path, hexbytes) in &self.state.system_user_store.files {
            let rel = path.replacen("S-1-5-18/", "S-1-5-18/User/", 1);
            let path = format!("Windows/System32/Microsoft/Protect/{rel}");
            let bytes = hex::decode(hexbytes).map_err(|_| WorldError::BadHex {
                what: "a file of LocalSystem's user DPAPI store".into(),
                path: path.clone(),
            })?;
            out.push((path, bytes));
        }
        out.push((
            "Windows/System32/config/LSA/DPAPI_SYSTEM".into(),
            self.dpapi_system()?.to_bytes().to_vec(),
        ));
        if let Some(keyset) = self.keyset_artefact()? {
            out.push(keyset);
        }
        Ok(out)
    }
}
