//! `CryptProtectData` / `CryptUnprotectData` results: the flags callers pass and the errors
//! Windows returns.
//!
//! Follows `docs/dpapi.md` §3.3 (error codes) and §2.4 (which flags a blob stores):
//! - master key missing or undecryptable → `NTE_BAD_KEY_STATE` 0x8009000B;
//! - sign, padding or entropy check fails → `ERROR_INVALID_DATA` (13) as HRESULT 0x8007000D;
//! - input that is not a blob → `ERROR_INVALID_PARAMETER` (87) as HRESULT 0x80070057.
//!
//! Message texts are the system's `FormatMessage` texts for these codes.

use uuid::Uuid;

/// `CRYPTPROTECT_UI_FORBIDDEN`: accepted, never stored in the blob (§2.4).
pub const CRYPTPROTECT_UI_FORBIDDEN: u32 = 0x1;
/// `CRYPTPROTECT_LOCAL_MACHINE`: protect with the machine's `S-1-5-18` keys; stored as 0x4.
pub const CRYPTPROTECT_LOCAL_MACHINE: u32 = 0x4;
/// `CRYPTPROTECT_AUDIT`: stored as 0x10.
pub const CRYPTPROTECT_AUDIT: u32 = 0x10;
/// `CRYPTPROTECT_SYSTEM`: set on Credential Manager blobs (0x20000000, §2.4).
pub const CRYPTPROTECT_SYSTEM: u32 = 0x2000_0000;

/// `NTE_BAD_KEY_STATE` (`winerror.h`): the HRESULT, and the last error, of a blob whose master
/// key cannot be opened.
pub const NTE_BAD_KEY_STATE: u32 = 0x8009_000B;
/// `ERROR_INVALID_DATA` (`winerror.h`, Win32 13).
pub const ERROR_INVALID_DATA: u32 = 13;
/// `ERROR_INVALID_PARAMETER` (`winerror.h`, Win32 87).
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// `SEC_E_DELEGATION_REQUIRED` (`winerror.h`): the HRESULT, and the last error, when a new
/// master key of a domain user cannot be backed up (`docs/dpapi.md` §3.1).
pub const SEC_E_DELEGATION_REQUIRED: u32 = 0x8009_0345;

/// The HRESULT of a Win32 error (`HRESULT_FROM_WIN32`, `winerror.h`: facility 7, severity 1).
pub const fn hresult_from_win32(code: u32) -> u32 {
    (code & 0xFFFF) | 0x8007_0000
}

/// The flags of a protect call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProtectFlags(pub u32);

impl ProtectFlags {
    /// The bits Windows writes into the blob's `dwFlags`: everything but UI_FORBIDDEN.
    pub fn stored(self) -> u32 {
        self.0 & !CRYPTPROTECT_UI_FORBIDDEN
    }

    /// True when the machine store must be used.
    pub fn local_machine(self) -> bool {
        self.0 & CRYPTPROTECT_LOCAL_MACHINE != 0
    }
}

/// A failed DPAPI call, as Windows reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpapiError {
    /// `NTE_BAD_KEY_STATE`: the master key the blob names is missing or cannot be decrypted with
    /// the caller's credentials.
    #[error(
        "{} ({})",
        hresult_text(NTE_BAD_KEY_STATE),
        "Key not valid for use in specified state."
    )]
    BadKeyState {
        /// The master key the blob needs (mimikatz prints it as "needed Masterkey").
        master_key: Uuid,
    },
    /// `ERROR_INVALID_DATA`: the blob parsed but its padding or sign check failed (wrong or
    /// missing entropy, corrupted data).
    #[error(
        "{} ({})",
        hresult_text(hresult_from_win32(ERROR_INVALID_DATA)),
        "The data is invalid."
    )]
    InvalidData,
    /// `ERROR_INVALID_PARAMETER`: the input is not a blob.
    #[error(
        "{} ({})",
        hresult_text(hresult_from_win32(ERROR_INVALID_PARAMETER)),
        "The parameter is incorrect."
    )]
    InvalidParameter,
    /// `SEC_E_DELEGATION_REQUIRED`: a domain user needs a new master key but no writable domain
    /// controller answers to back it up (`docs/dpapi.md` §3.1, KB 3205778).
    #[error(
        "{} ({})",
        hresult_text(SEC_E_DELEGATION_REQUIRED),
        "The requested operation cannot be completed. The computer must be trusted for delegation and the current user account must be configured to allow delegation."
    )]
    DelegationRequired,
}

fn hresult_text(h: u32) -> String {
    format!("0x{h:08X}")
}

impl DpapiError {
    /// The HRESULT.
    pub fn hresult(&self) -> u32 {
        match self {
            Self::BadKeyState { .. } => NTE_BAD_KEY_STATE,
            Self::InvalidData => hresult_from_win32(ERROR_INVALID_DATA),
            Self::InvalidParameter => hresult_from_win32(ERROR_INVALID_PARAMETER),
            Self::DelegationRequired => SEC_E_DELEGATION_REQUIRED,
        }
    }

    /// The Win32 error `GetLastError` returns.
    pub fn win32(&self) -> u32 {
        match self {
            Self::BadKeyState { .. } => NTE_BAD_KEY_STATE,
            Self::InvalidData => ERROR_INVALID_DATA,
            Self::InvalidParameter => ERROR_INVALID_PARAMETER,
            Self::DelegationRequired => SEC_E_DELEGATION_REQUIRED,
        }
    }

    /// The symbolic name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::BadKeyState { .. } => "NTE_BAD_KEY_STATE",
            Self::InvalidData => "ERROR_INVALID_DATA",
            Self::InvalidParameter => "ERROR_INVALID_PARAMETER",
            Self::DelegationRequired => "SEC_E_DELEGATION_REQUIRED",
        }
    }

    /// The system message text.
    pub fn message(&self) -> &'static str {
        match self {
            Self::BadKeyState { .. } => "Key not valid for use in specified state.",
            Self::InvalidData => "The data is invalid.",
            Self::InvalidParameter => "The parameter is incorrect.",
            Self::DelegationRequired => {
                "The requested operation cannot be completed. The computer must be trusted for delegation and the current user account must be configured to allow delegation."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_hresult() {
        assert_eq!(
            DpapiError::InvalidData.to_string(),
            "0x8007000D (The data is invalid.)"
        );
        assert_eq!(
            DpapiError::BadKeyState {
                master_key: Uuid::nil()
            }
            .to_string(),
            "0x8009000B (Key not valid for use in specified state.)"
        );
        assert_eq!(
            DpapiError::InvalidParameter.to_string(),
            "0x80070057 (The parameter is incorrect.)"
        );
        assert_eq!(
            ProtectFlags(CRYPTPROTECT_UI_FORBIDDEN | CRYPTPROTECT_LOCAL_MACHINE).stored(),
            4
        );
    }
}
