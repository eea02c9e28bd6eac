//! The keyset probe: the smallest program that fails the way ADSync fails, for hosts without
//! ADSync (the Windows backend's probe service, docs/design.md §7).
//!
//! At install it protects a random keyset with the service account's user-scope DPAPI; at every
//! start it must unprotect it. When it cannot, it writes Application event 6028 and stops with
//! the service-specific error the seed article documents
//! ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03; `docs/adsync.md` §3.2). The
//! simulated ADSync engine ([`crate::adsync::engine`]) uses the same event and error constants.

use serde::{Deserialize, Serialize};

use crate::win::eventlog::{Level, LogName, NewEvent};
use crate::win::scm::{ServiceFailure, ServiceHost, ServiceProgram};

/// Application event 6028 ("Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", 2017-04-03).
pub const EVENT_6028_ID: u32 = 6028;
/// Its text, verbatim.
pub const EVENT_6028_TEXT: &str = "The server encryption key cannot be accessed.";
/// Its source. Named choice: `ADSync` (`docs/adsync.md` §9 leaves it open).
pub const ADSYNC_SOURCE: &str = "ADSync";
/// The service-specific error the seed article prints, verbatim. It is not a valid 32-bit value;
/// read as `-2145185792` (one doubled digit removed) it is 0x80231000, in the MIIS facility 0x8023
/// that `docs/adsync.md` §4 F2 expects, so [`KEYSET_SERVICE_EXIT_CODE`] records that.
pub const KEYSET_SERVICE_ERROR_TEXT: &str = "-21451857952";
/// The `SERVICE_EXIT_CODE` recorded for that failure (named choice, see above).
pub const KEYSET_SERVICE_EXIT_CODE: u32 = 0x8023_1000;

/// The keyset blob and its entropy, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetProbe {
    /// The DPAPI blob of the keyset, hex.
    pub blob: String,
    /// Its entropy (the database entropy GUID bytes), hex.
    pub entropy: String,
}

impl ServiceProgram for KeysetProbe {
    fn start(&mut self, host: &mut dyn ServiceHost) -> Result<(), ServiceFailure> {
        let blob = hex::decode(&self.blob).unwrap_or_default();
        let entropy = hex::decode(&self.entropy).unwrap_or_default();
        if host.unprotect(&blob, &entropy).is_ok() {
            return Ok(());
        }
        Err(keyset_unreadable(host))
    }
}

/// What ADSync does when it cannot read its keyset: Application event 6028, then a stop with the
/// documented service-specific error.
pub fn keyset_unreadable(host: &mut dyn ServiceHost) -> ServiceFailure {
    host.write_event(NewEvent {
        log: LogName::Application,
        source: ADSYNC_SOURCE,
        id: EVENT_6028_ID,
        level: Level::Error,
        message: EVENT_6028_TEXT.into(),
    });
    ServiceFailure {
        code: KEYSET_SERVICE_EXIT_CODE,
        code_text: KEYSET_SERVICE_ERROR_TEXT.into(),
    }
}
