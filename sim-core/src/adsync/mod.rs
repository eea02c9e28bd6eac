//! The ADSync model: the Synchronization Service as `research/adsync.md` and the seed articles
//! describe it.
//!
//! - [`keyset`]: the decrypted encryption keyset (the `MMSK` layout, §3.3).
//! - [`credstore`]: the connector credentials in `mms_management_agent` (§3.1, §3.4).

pub mod credstore;
pub mod keyset;
