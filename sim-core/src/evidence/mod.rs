//! Evidence from a real server (docs/design.md §8): the bundle an administrator collects on an Entra
//! Connect server without exposing a secret, and the read-only host that diagnoses it.
//!
//! A bundle is a folder:
//!
//! ```text
//! manifest.json            {"format": "adsync-evidence/1", "computer", "collected", "build", …}
//! events/System.xml        wevtutil qe System /q:"…Service Control Manager 7000 7009 7024 …" /f:xml
//! events/Application.xml   wevtutil qe Application /q:"…ADSync, Directory Synchronization…" /f:xml
//! scm/ADSync.qc.txt        sc.exe qc ADSync
//! scm/ADSync.queryex.txt   sc.exe queryex ADSync
//! adsync/connectors.json   optional: the connectors and their last run results
//! ```
//!
//! [`Bundle`] holds the files as bytes (the front end reads and writes the folder, within the
//! limits named here); [`EvidenceHost`] parses them and implements [`crate::backend::Host`]
//! read-only, so the one diagnosis engine ([`crate::remedy`]) runs on it unchanged. What the
//! bundle does not carry is named ([`EvidenceHost::unknown`]), never guessed.
//! [`export::bundle_of_world`] writes the same bundle for a simulated world, and
//! [`script::collect_script`] gives the PowerShell that collects one on a server.

pub mod export;
mod host;
pub mod messages;
pub mod sc;
pub mod script;
pub mod wevtutil;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use host::EvidenceHost;

/// The bundle format this version reads and writes (`manifest.json`'s `format`).
pub const FORMAT: &str = "adsync-evidence/1";

/// `manifest.json`.
pub const MANIFEST: &str = "manifest.json";
/// The System log's SCM events.
pub const SYSTEM_XML: &str = "events/System.xml";
/// The Application log's ADSync and Directory Synchronization events.
pub const APPLICATION_XML: &str = "events/Application.xml";
/// `sc.exe qc ADSync`.
pub const SC_QC: &str = "scm/ADSync.qc.txt";
/// `sc.exe queryex ADSync`.
pub const SC_QUERYEX: &str = "scm/ADSync.queryex.txt";
/// The connectors and their last runs.
pub const CONNECTORS: &str = "adsync/connectors.json";

/// Every file a bundle may hold, in reading order.
pub const FILES: [&str; 6] = [
    MANIFEST,
    SYSTEM_XML,
    APPLICATION_XML,
    SC_QC,
    SC_QUERYEX,
    CONNECTORS,
];

/// Largest `manifest.json` read (named limit: a real one is under 1 KB).
pub const MAX_MANIFEST_BYTES: usize = 64 << 10;
/// Largest `adsync/connectors.json` read (named limit: a few hundred bytes per connector).
pub const MAX_CONNECTORS_BYTES: usize = 1 << 20;
/// Most connectors read (named limit: Entra Connect supports far fewer forests).
pub const MAX_CONNECTORS: usize = 1000;
/// Longest string in the JSON files (named limit).
pub const MAX_JSON_STRING: usize = 4096;

/// The most bytes the front end reads of `file` (a larger file is refused, not truncated).
pub fn max_bytes(file: &str) -> usize {
    match file {
        MANIFEST => MAX_MANIFEST_BYTES,
        SYSTEM_XML | APPLICATION_XML => wevtutil::MAX_EVENT_FILE_BYTES,
        SC_QC | SC_QUERYEX => sc::MAX_SC_TEXT_BYTES,
        _ => MAX_CONNECTORS_BYTES,
    }
}

/// A bundle that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A file the diagnosis cannot do without is absent.
    #[error("the evidence bundle has no {file}: {why}")]
    Missing {
        /// The file.
        file: String,
        /// What it is needed for.
        why: String,
    },
    /// A file is larger than its limit.
    #[error(
        "{file} is larger than {limit} bytes; an evidence file of that size is not one the collection writes"
    )]
    TooLarge {
        /// The file.
        file: String,
        /// The limit.
        limit: usize,
    },
    /// A file holds more items than its limit.
    #[error("{file} holds more than {limit} {what}")]
    TooMany {
        /// The file.
        file: String,
        /// What.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A file is not what it should be.
    #[error("{file}: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// The files of a bundle, by their path inside it (`events/System.xml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    /// Path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// One file's bytes.
    pub fn get(&self, file: &str) -> Option<&[u8]> {
        self.files.get(file).map(Vec::as_slice)
    }

    /// Adds a file.
    pub fn put(&mut self, file: &str, bytes: impl Into<Vec<u8>>) {
        self.files.insert(file.to_owned(), bytes.into());
    }
}

/// The service account as `sc qc` names it, and its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAccount {
    /// `SERVICE_START_NAME`.
    pub name: String,
    /// `virtual`, `managed` (gMSA or sMSA: the name ends in `$`), `localsystem`, `local` or
    /// `domain`, as [`account_kind`] tells them apart.
    pub kind: String,
}

/// The server's domain and whether a writable DC answered (`nltest /dsgetdc:DOMAIN /writable`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDomain {
    /// DNS name.
    pub dns: String,
    /// NetBIOS name.
    pub netbios: String,
    /// Whether a writable DC answered; absent when not checked.
    #[serde(default)]
    pub dc_reachable: Option<bool>,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The server's name (its FQDN when domain-joined).
    pub computer: String,
    /// When the bundle was collected, RFC 3339 UTC.
    pub collected: String,
    /// What collected it (`collect script`, `adsync-sim collect`, `adsync-sim export`).
    #[serde(default)]
    pub collector: Option<String>,
    /// The installed ADSync build (`1.1.443.0`).
    #[serde(default)]
    pub build: Option<String>,
    /// Where the build came from (`miiserver.exe file version`, `registry`, `simulator`).
    #[serde(default)]
    pub build_source: Option<String>,
    /// The service account.
    #[serde(default)]
    pub service_account: Option<ManifestAccount>,
    /// The server's domain.
    #[serde(default)]
    pub domain: Option<ManifestDomain>,
    /// What the collector could not collect, and why.
    #[serde(default)]
    pub not_collected: Vec<String>,
}

/// The kind of a service logon account, from its name alone (the rule of
/// [`crate::backend::ServiceStatus::account_has_password`]; docs/adsync.md §2.1).
pub fn account_kind(account: &str, computer: &str) -> &'static str {
    let a = account.to_ascii_lowercase();
    let host = computer
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if a == "localsystem" || a == "nt authority\\system" {
        "localsystem"
    } else if a.starts_with("nt service\\") {
        "virtual"
    } else if a.starts_with("nt authority\\") {
        "builtin"
    } else if a.ends_with('$') {
        "managed"
    } else if a.starts_with(".\\") || (!host.is_empty() && a.starts_with(&format!("{host}\\"))) {
        "local"
    } else {
        "domain"
    }
}

/// One connector in `adsync/connectors.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorRow {
    /// The connector's name.
    pub name: String,
    /// `AD` or `Entra`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its account (`DOMAIN\MSOL_…`, `Sync_…@tenant`).
    #[serde(default)]
    pub account: String,
    /// Its last run's result (`success`, `no-start-credentials`, …), if it ran.
    #[serde(default)]
    pub last_run: Option<String>,
}

/// `adsync/connectors.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorsFile {
    /// The connectors.
    pub connectors: Vec<ConnectorRow>,
}
