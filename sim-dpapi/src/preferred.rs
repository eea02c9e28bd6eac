//! The `Preferred` file of a `Protect\<SID>` folder: which master key protects new data, and
//! until when.
//!
//! Follows `docs/dpapi.md` §2.2: 24 bytes, the binary GUID of the master key then a
//! `FILETIME` expiry of creation + 90 days. Expiry only matters when protecting; expired keys stay
//! usable for decryption (§3.1).

use uuid::Uuid;

use super::reader::{FormatError, Reader, Writer};
use crate::filetime::FileTime;

/// Days a master key stays preferred ("non configurable", §2.2).
pub const MASTER_KEY_LIFETIME_DAYS: u64 = 90;
/// Size of the file.
pub const PREFERRED_LEN: usize = 24;

/// A parsed `Preferred` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preferred {
    /// GUID of the preferred master key.
    pub guid: Uuid,
    /// When a new key must be made for protecting.
    pub expiry: FileTime,
}

impl Preferred {
    /// The `Preferred` content for a key created at `now`.
    pub fn for_new_key(guid: Uuid, now: FileTime) -> Self {
        Self {
            guid,
            expiry: now.plus_days(MASTER_KEY_LIFETIME_DAYS),
        }
    }

    /// True when a new master key must be made before protecting at `now`.
    pub fn is_expired(&self, now: FileTime) -> bool {
        now > self.expiry
    }

    /// Reads the 24-byte file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "Preferred file");
        let guid = r.guid("guidMasterKey")?;
        let expiry = FileTime(r.u64("ftExpiry")?);
        r.finish()?;
        Ok(Self { guid, expiry })
    }

    /// The 24 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFERRED_LEN);
        out.put_guid(&self.guid);
        out.put_u64(self.expiry.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_bytes_of_dpapi_md() {
        // `docs/dpapi.md` §2.2: MK ba76b33f-…, expiry 2026-01-01 00:00 UTC.
        let p = Preferred {
            guid: "ba76b33f-4b97-4e97-9603-7865fb972cec".parse().unwrap(),
            expiry: FileTime::from_unix_secs(1_767_225_600),
        };
        assert_eq!(
            hex::encode(p.to_bytes()),
            "3fb376ba974b974e96037865fb972cec00008192b17adc01"
        );
        assert_eq!(Preferred::parse(&p.to_bytes()).unwrap(), p);
    }
}
