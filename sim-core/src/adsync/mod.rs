//! The ADSync model: the Synchronization Service as `docs/adsync.md` and the seed articles
//! describe it.
//!
//! - [`build`]: builds and the behaviour each selects (§6).
//! - [`keyset`]: the decrypted encryption keyset (the `MMSK` layout, §3.3).
//! - [`credstore`]: the connector credentials in `mms_management_agent` (§3.1, §3.4).
//! - [`connector`]: the AD DS and Entra connectors (§2.2, §2.3).
//! - [`run`]: run profiles, run statuses and the scheduler (§4, §5.3).
//! - [`engine`]: the engine as a service program: the keyset at rest and its start (§3.2, §3.5).
//! - [`database`]: the engine's login to its database (§1, §4 F10).
//! - [`text`]: every message the service and its tools print.

pub mod build;
pub mod connector;
pub mod credstore;
pub mod database;
pub mod engine;
pub mod keyset;
pub mod run;
pub mod text;
