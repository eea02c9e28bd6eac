//! `sim_dpapi`: Windows DPAPI (legacy `CryptProtectData` / `CryptUnprotectData`) in real Windows
//! byte formats, as a crate of its own: the codecs, the key derivations and the API semantics,
//! with no dependency on the simulated world, its SQLite store or its scenario files, so forensic
//! tooling can use it alone. `sim_core` re-exports it as `sim_core::dpapi`.
//!
//! Everything here follows `docs/dpapi.md`, whose sections each module cites. The formats are
//! verified against real Windows artefacts (`tests/vectors/`): every vector decrypts, and every
//! vector is rebuilt byte for byte from its recorded salts.
//!
//! Layers, bottom up:
//! - [`alg`]: the CryptoAPI `ALG_ID`s that occur, [`crypto`]: the hash, HMAC, CBC and
//!   `CryptDeriveKey` primitives, [`kdf`]: DPAPI's PBKDF2 variant (§1.3), [`secret`]: the byte
//!   buffer they return key material and plaintext in, wiped in bulk when dropped.
//! - [`sid`]: security identifiers, text and binary, and service SIDs (§1.2).
//! - [`prekey`]: password hashes and the pre-key every master key is opened with (§1.2), and the
//!   `DPAPI_SYSTEM` LSA secret (§2.5).
//! - Codecs: [`masterkey`] (§2.1), [`domainkey`] (§2.1, MS-BKRP), [`preferred`] (§2.2),
//!   [`credhist`] (§2.3), [`blob`] (§2.4), [`credfile`] (§2.4 wrappers).
//! - [`store`]: one principal's `Protect` folder with master key rotation, password change and
//!   reset (§3.1, §4); [`api`]: protect / unprotect with the Windows results (§3.3).
//!
//! - [`filetime`]: Windows `FILETIME`, the clock unit of every artefact.
//!
//! Secrets (master keys, pre-keys, password hashes, derived keys) are zeroized on drop and never
//! printed by `Debug`.
#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub mod alg;
pub mod api;
pub mod bkrp;
pub mod blob;
pub mod credential;
pub mod credfile;
pub mod credhist;
pub mod crypto;
pub mod domainkey;
pub mod filetime;
pub mod kdf;
pub mod masterkey;
pub mod memo;
pub mod preferred;
pub mod prekey;
pub mod reader;
pub mod secret;
pub mod sid;
pub mod store;

pub use api::{DpapiError, ProtectFlags};
pub use blob::Blob;
pub use credhist::CredHistFile;
pub use masterkey::{MasterKey, MasterKeyFile};
pub use prekey::{Credential, DpapiSystem, PreKey};
pub use reader::FormatError;
pub use sid::Sid;
pub use store::ProtectStore;
