//! The connectors (management agents): one AD DS connector per forest and the Entra connector,
//! as rows of `mms_management_agent`.
//!
//! Follows `docs/adsync.md` §2.2 and §2.3 (the accounts each connector uses), §3.1 (the
//! table's columns: plaintext user names in `private_configuration_xml`, the password in
//! `encrypted_configuration`) and §1 (the Entra connector's well-known identifier).

use serde::{Deserialize, Serialize};

use super::run::RunRecord;

/// The connector's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectorType {
    /// An AD DS connector (`ma_type = 'AD'`).
    #[serde(rename = "AD")]
    Ad,
    /// The Microsoft Entra connector.
    Entra,
}

impl ConnectorType {
    /// `AD` or `Entra`, as `connector list` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ad => "AD",
            Self::Entra => "Entra",
        }
    }
}

/// `ma_type` of the Entra connector. Named choice (INF): docs/adsync.md names only its `subtype`; the
/// Entra connector is an extensible connectivity (ECMA2) agent.
pub const ENTRA_MA_TYPE: &str = "Extensible2";
/// The Entra connector's name suffix: `<tenant> - AAD`, as the wizard names it. Named choice
/// (COMM: the name seen on installs; not quoted by the sources).
pub const ENTRA_NAME_SUFFIX: &str = " - AAD";

/// One row of `mms_management_agent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementAgent {
    /// `ma_id`.
    pub ma_id: String,
    /// `ma_name`: the forest for AD connectors, `<tenant> - AAD` for Entra.
    pub ma_name: String,
    /// `ma_type`.
    pub ma_type: String,
    /// `subtype`.
    pub subtype: String,
    /// `private_configuration_xml` (plaintext, user names only).
    pub private_configuration_xml: String,
    /// `encrypted_configuration` (base64, `docs/adsync.md` §3.4).
    pub encrypted_configuration: String,
    /// The connector's kind.
    pub kind: ConnectorType,
    /// The forest (AD) or tenant (Entra) it connects to.
    pub target: String,
    /// The last finished run.
    #[serde(default)]
    pub last_run: Option<RunRecord>,
}

impl ManagementAgent {
    /// Whether `name` names this connector: its name, or for Entra also the tenant, `AAD`,
    /// `Entra` or its well-known identifier.
    pub fn is_named(&self, name: &str) -> bool {
        let n = name.trim();
        n.eq_ignore_ascii_case(&self.ma_name)
            || n.eq_ignore_ascii_case(&self.ma_id)
            || n.eq_ignore_ascii_case(&self.target)
            || (self.kind == ConnectorType::Entra
                && ["aad", "entra", "azuread"].contains(&n.to_ascii_lowercase().as_str()))
    }
}
