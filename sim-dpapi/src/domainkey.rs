//! The domain key block of a domain user's master key file: the master key wrapped for the
//! domain's DPAPI backup key (MS-BKRP 2.2.2, "Client-Side-Wrapped Secret").
//!
//! Follows `docs/dpapi.md` §2.1 (DOMAINKEY block): `u32 version | u32 cbEncryptedSecret |
//! u32 cbAccessCheck | GUID guidKey | EncryptedSecret | AccessCheck`. This module is the codec;
//! producing and opening the RSA-wrapped secret belongs to the domain controller model.

use uuid::Uuid;

use super::reader::{FormatError, Reader, Writer, len_u32};

/// A parsed domain key block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainKeyBlock {
    /// 2 (3DES/SHA-1 access check, the default) or 3 (AES-256/SHA-512).
    pub version: u32,
    /// GUID of the domain backup key pair (`BCKUPKEY_<guid>`).
    pub guid_key: Uuid,
    /// RSA-PKCS#1 v1.5 ciphertext of the secret structure, stored byte-reversed.
    pub encrypted_secret: Vec<u8>,
    /// The encrypted access check (nonce, SID, hash).
    pub access_check: Vec<u8>,
}

impl DomainKeyBlock {
    /// Reads a block that occupies exactly `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "domain key block");
        let version = r.u32("dwVersion")?;
        let secret_len = r.u32("cbEncryptedSecret")?;
        let check_len = r.u32("cbAccessCheck")?;
        let guid_key = r.guid("guidKey")?;
        let encrypted_secret = r.bytes(secret_len.into(), "EncryptedSecret")?.to_vec();
        let access_check = r.bytes(check_len.into(), "AccessCheck")?.to_vec();
        r.finish()?;
        Ok(Self {
            version,
            guid_key,
            encrypted_secret,
            access_check,
        })
    }

    /// The block's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(28 + self.encrypted_secret.len() + self.access_check.len());
        out.put_u32(self.version);
        out.put_u32(len_u32(self.encrypted_secret.len()));
        out.put_u32(len_u32(self.access_check.len()));
        out.put_guid(&self.guid_key);
        out.extend_from_slice(&self.encrypted_secret);
        out.extend_from_slice(&self.access_check);
        out
    }
}
