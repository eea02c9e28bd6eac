//! The CryptoAPI algorithm identifiers (`ALG_ID`) that occur in DPAPI files.
//!
//! Follows `docs/dpapi.md` §1.1. The identifier is kept exactly as read so files rebuild byte
//! for byte: SHA-1 appears as `CALG_HMAC` (0x8009) in master key blocks and CREDHIST entries but as
//! `CALG_SHA1` (0x8004) in blobs, and both mean SHA-1.

use std::fmt;

/// A hash `ALG_ID` as stored in a DPAPI structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// `CALG_HMAC` 0x8009: SHA-1, in XP/Vista master key blocks and CREDHIST entries.
    Hmac,
    /// `CALG_SHA1` 0x8004: SHA-1, in XP/Vista blobs.
    Sha1,
    /// `CALG_SHA_512` 0x800e: SHA-512, everywhere since Windows 7.
    Sha512,
}

/// The digest a [`HashAlg`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digest {
    /// SHA-1: 20-byte output, 64-byte block.
    Sha1,
    /// SHA-512: 64-byte output, 128-byte block.
    Sha512,
}

impl Digest {
    /// Output size in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha512 => 64,
        }
    }

    /// Internal block size in bytes (the HMAC pad width).
    pub const fn block_len(self) -> usize {
        match self {
            Self::Sha1 => 64,
            Self::Sha512 => 128,
        }
    }
}

impl HashAlg {
    /// The `ALG_ID`.
    pub const fn id(self) -> u32 {
        match self {
            Self::Hmac => 0x8009,
            Self::Sha1 => 0x8004,
            Self::Sha512 => 0x800e,
        }
    }

    /// The algorithm for an `ALG_ID`, if DPAPI uses it for hashing.
    pub const fn from_id(id: u32) -> Option<Self> {
        match id {
            0x8009 => Some(Self::Hmac),
            0x8004 => Some(Self::Sha1),
            0x800e => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest behind the identifier.
    pub const fn digest(self) -> Digest {
        match self {
            Self::Hmac | Self::Sha1 => Digest::Sha1,
            Self::Sha512 => Digest::Sha512,
        }
    }

    /// Digest length in bits, as blobs store it in `dwAlgHashLen` (§2.4).
    pub const fn bits(self) -> u32 {
        match self.digest() {
            Digest::Sha1 => 160,
            Digest::Sha512 => 512,
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hmac => "CALG_HMAC (SHA-1)",
            Self::Sha1 => "CALG_SHA1",
            Self::Sha512 => "CALG_SHA_512",
        })
    }
}

/// A cipher `ALG_ID` as stored in a DPAPI structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherAlg {
    /// `CALG_3DES` 0x6603: three-key triple DES, 24-byte key, 8-byte block (XP, Vista).
    TripleDes,
    /// `CALG_AES_256` 0x6610: AES-256, 32-byte key, 16-byte block (Windows 7 and later).
    Aes256,
}

impl CipherAlg {
    /// The `ALG_ID`.
    pub const fn id(self) -> u32 {
        match self {
            Self::TripleDes => 0x6603,
            Self::Aes256 => 0x6610,
        }
    }

    /// The algorithm for an `ALG_ID`, if DPAPI uses it for encryption. `CALG_RC4` (Windows 2000)
    /// is not supported (§1.1).
    pub const fn from_id(id: u32) -> Option<Self> {
        match id {
            0x6603 => Some(Self::TripleDes),
            0x6610 => Some(Self::Aes256),
            _ => None,
        }
    }

    /// Key size in bytes (3DES always uses 24, whatever `dwAlgCryptLen` says, §1.1).
    pub const fn key_len(self) -> usize {
        match self {
            Self::TripleDes => 24,
            Self::Aes256 => 32,
        }
    }

    /// Block (and IV) size in bytes.
    pub const fn block_len(self) -> usize {
        match self {
            Self::TripleDes => 8,
            Self::Aes256 => 16,
        }
    }

    /// The `dwAlgCryptLen` Windows writes for this cipher in new blobs: 256 for AES-256, 168
    /// for 3DES as on XP (§1.1; Vista wrote 192).
    pub const fn default_bits(self) -> u32 {
        match self {
            Self::TripleDes => 168,
            Self::Aes256 => 256,
        }
    }
}

impl fmt::Display for CipherAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TripleDes => "CALG_3DES",
            Self::Aes256 => "CALG_AES_256",
        })
    }
}
