//! LSA secrets: `DPAPI_SYSTEM` (the machine's DPAPI root secret) and the passwords the Service
//! Control Manager keeps for services that log on as users (`_SC_<service>`).
//!
//! Follows `docs/dpapi.md` §2.5 (`DPAPI_SYSTEM`: 44 bytes, machine and user halves) and
//! `docs/adsync.md` §3.6 (`_SC_ADSync` holds the service account's password). Values are
//! sealed at rest ([`crate::seal`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::seal::Sealed;

/// The name of the DPAPI root secret.
pub const DPAPI_SYSTEM: &str = "DPAPI_SYSTEM";

/// The LSA secret name of a service's stored password.
pub fn service_secret_name(service: &str) -> String {
    format!("_SC_{service}")
}

/// The secrets, by name, sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lsa {
    /// Sealed values by secret name.
    pub secrets: BTreeMap<String, Sealed>,
}
