//! Credential Manager files (`…\Microsoft\Credentials\<hex>`): a 12-byte header in front of a
//! DPAPI blob.
//!
//! Follows `docs/dpapi.md` §2.4 ("Wrappers"): `u32 version (1) | u32 size of the blob |
//! u32 reserved (0)` then the blob, verified on the impacket and HTB credential files.

use super::blob::Blob;
use super::reader::{FormatError, Reader, Writer, len_u32};

/// A credential file: header fields and the blob they wrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialFile {
    /// Header version, 1.
    pub version: u32,
    /// The reserved DWORD after the size, 0.
    pub reserved: u32,
    /// The wrapped blob.
    pub blob: Blob,
}

impl CredentialFile {
    /// Wraps a blob with the header Windows writes.
    pub fn new(blob: Blob) -> Self {
        Self {
            version: 1,
            reserved: 0,
            blob,
        }
    }

    /// Reads a credential file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "credential file");
        // The header lies outside the blob's sign: only the values Windows writes are accepted.
        let version = r.u32("dwVersion")?;
        if version != 1 {
            return Err(r.invalid(
                "dwVersion",
                0,
                version.into(),
                "a credential file has version 1",
            ));
        }
        let size = r.u32("dwSize")?;
        let reserved = r.u32("reserved")?;
        if reserved != 0 {
            return Err(r.invalid("reserved", 8, reserved.into(), "must be 0"));
        }
        let blob = Blob::parse(r.bytes(size.into(), "blob")?)?;
        r.finish()?;
        Ok(Self {
            version,
            reserved,
            blob,
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let blob = self.blob.to_bytes();
        let mut out = Vec::with_capacity(12 + blob.len());
        out.put_u32(self.version);
        out.put_u32(len_u32(blob.len()));
        out.put_u32(self.reserved);
        out.extend_from_slice(&blob);
        out
    }
}
