//! The CREDENTIAL structure inside a Credential Manager file: what the file's DPAPI blob decrypts
//! to (`…\Microsoft\Credentials\<hex>`, wrapped as in [`super::credfile`]).
//!
//! `docs/dpapi.md` §2.4 describes the wrapper and the blob, whose flags are
//! `CRYPTPROTECT_SYSTEM` (0x20000000). §6 lists the two real files whose plaintexts this codec
//! reads and rebuilds byte for byte (vectors 11 and 14–15), and §7 lists the tools. The layout
//! agrees with impacket (`dpapi.CREDENTIAL_BLOB`), pypykatz
//! (`dpapi.structures.credentialfile.CREDENTIAL_BLOB`), mimikatz (`KULL_M_CRED_BLOB`) and
//! dpapilab-ng's `vaultstruct.CREDENTIAL_DECRYPTED`. dpapilab-ng's `creddec.py` is the credential
//! reader that goes with dpapick3, which has no CREDENTIAL reader of its own.
//!
//! "Every known file" below means the two vectors and eight mimikatz dumps of real files in
//! public write-ups. All integers are little-endian:
//!
//! | off | size | field | notes |
//! |---|---|---|---|
//! | 0x00 | 4 | header size | 0x30 in every known file. impacket and pypykatz call it "Flags", mimikatz "credFlags", dpapilab-ng "header_size" |
//! | 0x04 | 4 | total size | the whole structure |
//! | 0x08 | 4 | unknown | 0, 0x2004, 0x4004 seen |
//! | 0x0C | 4 | Type | `CRED_TYPE_*` |
//! | 0x10 | 4 | Flags | `CRED_FLAGS_*`, 0 everywhere seen. impacket and pypykatz: "Flags2" |
//! | 0x14 | 8 | LastWritten | FILETIME |
//! | 0x1C | 4 | unknown | the secret's size rounded up to a multiple of 8, in every known file. mimikatz: "unkFlagsOrSize" |
//! | 0x20 | 4 | Persist | `CRED_PERSIST_*` |
//! | 0x24 | 4 | AttributeCount | |
//! | 0x28 | 8 | unknown | 0 everywhere seen |
//! | 0x30 | 4+n each | TargetName, TargetAlias, Comment, unknown data, UserName | strings: UTF-16LE with a NUL, or size 0 when absent |
//! | | 4+n | CredentialBlob | the secret as given to `CredWrite`. Domain passwords are UTF-16LE without a NUL |
//! | | 12+n each | attributes | `u32 Flags, u32 cbKeyword, Keyword, u32 cbValue, Value` |
//!
//! The following points are checked against the known files:
//! - An absent string is stored with size 0. Both vectors store TargetAlias, Comment and the
//!   unknown data that way, and mimikatz prints "(null)" for them. A present string includes its
//!   NUL. The empty string `""` is therefore written with size 0. A field holding a lone NUL would
//!   not round-trip, so it is rejected.
//! - Target names carry a prefix that says what kind of credential they are: `Domain:target=`,
//!   `Domain:interactive=` (both vectors) and, for generic credentials, `LegacyGeneric:target=`
//!   ([`GENERIC_TARGET_PREFIX`]). mimikatz dumps of generic credentials show the last prefix,
//!   including Azure AD Connect's `Microsoft_AzureADConnect_KeySet_…` credential.
//! - The blob's description depends on the persistence: "Enterprise Credential Data\r\n" (both
//!   vectors) or "Local Credential Data\r\n" (mimikatz dumps), see
//!   [`Credential::blob_description`].
//!
//! One reading is unverified. When attributes follow an odd-sized secret, mimikatz skips one
//! alignment byte, and impacket and pypykatz do not. No known file has attributes. This codec
//! follows mimikatz, the only tool that aligns the attributes. It writes that byte as 0 and
//! rejects any other value, so a real file that settles the question cannot be misread silently.
//!
//! The parser keeps every field it cannot explain, including bytes after the last attribute, so
//! parsing and writing again gives back the same bytes. The secret is zeroized on drop and never
//! printed by `Debug`.

use std::fmt;

use zeroize::Zeroizing;

use super::crypto::utf16le;
use super::reader::{FormatError, Reader, Writer, len_u32};
use crate::filetime::FileTime;

/// `CRED_TYPE_GENERIC`: an application's credential, its secret opaque to Windows.
pub const CRED_TYPE_GENERIC: u32 = 1;
/// `CRED_TYPE_DOMAIN_PASSWORD`: a password that Windows authentication packages use.
pub const CRED_TYPE_DOMAIN_PASSWORD: u32 = 2;
/// `CRED_PERSIST_SESSION`: the credential lives only as long as the logon session (never on disk).
pub const CRED_PERSIST_SESSION: u32 = 1;
/// `CRED_PERSIST_LOCAL_MACHINE`: kept on this computer (`%LOCALAPPDATA%\Microsoft\Credentials`).
pub const CRED_PERSIST_LOCAL_MACHINE: u32 = 2;
/// `CRED_PERSIST_ENTERPRISE`: roams with the profile (`%APPDATA%\Microsoft\Credentials`).
pub const CRED_PERSIST_ENTERPRISE: u32 = 3;

/// The value of the first DWORD, the size of the fixed header, in every known file.
pub const HEADER_SIZE: u32 = 0x30;

/// The prefix that Windows puts before a generic credential's target name in the file.
pub const GENERIC_TARGET_PREFIX: &str = "LegacyGeneric:target=";

/// The description of a credential file's DPAPI blob at `CRED_PERSIST_LOCAL_MACHINE`.
pub const LOCAL_BLOB_DESCRIPTION: &str = "Local Credential Data\r\n";
/// The description of a credential file's DPAPI blob at `CRED_PERSIST_ENTERPRISE`.
pub const ENTERPRISE_BLOB_DESCRIPTION: &str = "Enterprise Credential Data\r\n";

/// One application-defined attribute (`CREDENTIAL_ATTRIBUTE`), kept as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialAttribute {
    /// `Flags`.
    pub flags: u32,
    /// `Keyword` as stored: UTF-16LE bytes. No known file shows whether a NUL is included.
    pub keyword: Vec<u8>,
    /// `Value`: application data.
    pub value: Vec<u8>,
}

impl CredentialAttribute {
    /// The keyword as text, without a terminating NUL, or `None` if it is not UTF-16LE.
    pub fn keyword_text(&self) -> Option<String> {
        if !self.keyword.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = self
            .keyword
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let units = units.strip_suffix(&[0]).unwrap_or(&units);
        String::from_utf16(units).ok()
    }

    fn encoded_len(&self) -> usize {
        12 + self.keyword.len() + self.value.len()
    }
}

/// A decrypted Credential Manager credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The DWORD at 0x08, of unknown meaning. impacket: `Unknown0`, mimikatz: `credUnk0`.
    pub unknown0: u32,
    /// `Type`: [`CRED_TYPE_GENERIC`], [`CRED_TYPE_DOMAIN_PASSWORD`], …
    pub credential_type: u32,
    /// `Flags` (`CRED_FLAGS_*`). impacket and pypykatz: `Flags2`.
    pub flags: u32,
    /// `LastWritten`.
    pub last_written: FileTime,
    /// The DWORD at 0x1C. It equals [`padded_secret_len`] of the secret in every known file.
    /// impacket: `Unknown2`, mimikatz: `unkFlagsOrSize`.
    pub unknown2: u32,
    /// `Persist`: [`CRED_PERSIST_LOCAL_MACHINE`] or [`CRED_PERSIST_ENTERPRISE`] on disk.
    pub persist: u32,
    /// The 8 bytes after `AttributeCount`, 0 everywhere seen. mimikatz: `unk0`, `unk1`. impacket
    /// names it `Unknown3`, as it does the secret, so its dictionary keeps only the secret.
    pub unknown3: u64,
    /// `TargetName` as stored, with its prefix (e.g. `Domain:target=`, [`GENERIC_TARGET_PREFIX`]).
    pub target: String,
    /// `TargetAlias`.
    pub target_alias: String,
    /// `Comment` (impacket: `Description`).
    pub description: String,
    /// The length-prefixed field between `Comment` and `UserName`, as stored. Empty in every known
    /// file. mimikatz: `UnkData`.
    pub unknown: Vec<u8>,
    /// `UserName`.
    pub username: String,
    /// `CredentialBlob`: the secret. impacket: `Unknown3` (the sized field), pypykatz: `unknown4`.
    pub secret: Zeroizing<Vec<u8>>,
    /// `Attributes`.
    pub attributes: Vec<CredentialAttribute>,
    /// Bytes after the last attribute, within the total size. Empty in every known file.
    pub trailing: Vec<u8>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("unknown0", &self.unknown0)
            .field("credential_type", &self.credential_type)
            .field("flags", &self.flags)
            .field("last_written", &self.last_written)
            .field("unknown2", &self.unknown2)
            .field("persist", &self.persist)
            .field("unknown3", &self.unknown3)
            .field("target", &self.target)
            .field("target_alias", &self.target_alias)
            .field("description", &self.description)
            .field("unknown", &self.unknown)
            .field("username", &self.username)
            .field("secret", &format_args!("<redacted>"))
            .field("attributes", &self.attributes)
            .field("trailing", &self.trailing)
            .finish()
    }
}

/// The secret's size rounded up to a multiple of 8, which is the DWORD at 0x1C in every known
/// file. Eight bytes is the block size of `RtlEncryptMemory`, which suggests that the field is the
/// size of the secret's encrypted buffer in memory. Saturates at `u32::MAX`.
pub fn padded_secret_len(len: usize) -> u32 {
    len_u32(len).checked_next_multiple_of(8).unwrap_or(u32::MAX)
}

impl Credential {
    /// A new generic credential as `CredWrite` stores it: `CRED_TYPE_GENERIC`, no flags, the target
    /// name that the application passes, behind [`GENERIC_TARGET_PREFIX`], no alias, comment or
    /// attributes, and the values of the unknown fields found in real generic credentials (0, and
    /// [`padded_secret_len`]). `persist` is normally [`CRED_PERSIST_LOCAL_MACHINE`].
    pub fn generic(
        target: &str,
        username: &str,
        secret: &[u8],
        persist: u32,
        last_written: FileTime,
    ) -> Self {
        Self {
            unknown0: 0,
            credential_type: CRED_TYPE_GENERIC,
            flags: 0,
            last_written,
            unknown2: padded_secret_len(secret.len()),
            persist,
            unknown3: 0,
            target: format!("{GENERIC_TARGET_PREFIX}{target}"),
            target_alias: String::new(),
            description: String::new(),
            unknown: Vec::new(),
            username: username.to_owned(),
            secret: Zeroizing::new(secret.to_vec()),
            attributes: Vec::new(),
            trailing: Vec::new(),
        }
    }

    /// The description that Windows gives the DPAPI blob of this credential's file. Returns `None`
    /// for persistences that are never written to disk.
    pub fn blob_description(&self) -> Option<&'static str> {
        match self.persist {
            CRED_PERSIST_LOCAL_MACHINE => Some(LOCAL_BLOB_DESCRIPTION),
            CRED_PERSIST_ENTERPRISE => Some(ENTERPRISE_BLOB_DESCRIPTION),
            _ => None,
        }
    }

    /// Reads a decrypted credential that occupies exactly `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "CREDENTIAL");
        let header_size = r.u32("header size")?;
        if header_size != HEADER_SIZE {
            return Err(r.invalid(
                "header size",
                0,
                header_size.into(),
                "the fixed header is 0x30 bytes in every known file",
            ));
        }
        let size = r.u32("Size")?;
        if u64::from(size) != bytes.len() as u64 {
            return Err(r.invalid(
                "Size",
                4,
                size.into(),
                "must equal the length of the decrypted data",
            ));
        }
        let unknown0 = r.u32("Unknown0")?;
        let credential_type = r.u32("Type")?;
        let flags = r.u32("Flags")?;
        let last_written = FileTime(r.u64("LastWritten")?);
        let unknown2 = r.u32("Unknown2")?;
        let persist = r.u32("Persist")?;
        let attribute_count = r.u32("AttributeCount")?;
        let unknown3 = r.u64("Unknown3")?;
        let target = read_string(&mut r, "TargetName")?;
        let target_alias = read_string(&mut r, "TargetAlias")?;
        let description = read_string(&mut r, "Comment")?;
        let unknown = r.len_prefixed("UnknownData")?.to_vec();
        let username = read_string(&mut r, "UserName")?;
        let secret = Zeroizing::new(r.len_prefixed("CredentialBlob")?.to_vec());
        if needs_alignment(secret.len(), attribute_count) {
            let at = r.pos();
            let [pad] = r.array::<1>("CredentialBlob alignment")?;
            if pad != 0 {
                return Err(r.invalid(
                    "CredentialBlob alignment",
                    at,
                    pad.into(),
                    "the byte that aligns the attributes after an odd-sized secret must be 0",
                ));
            }
        }
        // Each attribute takes at least 12 bytes, so an absurd count fails on the input's end
        // after at most len / 12 steps and reserves nothing in advance.
        let mut attributes = Vec::new();
        for _ in 0..attribute_count {
            let flags = r.u32("Attribute Flags")?;
            let keyword = r.len_prefixed("Attribute Keyword")?.to_vec();
            let value = r.len_prefixed("Attribute Value")?.to_vec();
            attributes.push(CredentialAttribute {
                flags,
                keyword,
                value,
            });
        }
        let trailing = r.bytes(r.remaining() as u64, "trailing")?.to_vec();
        Ok(Self {
            unknown0,
            credential_type,
            flags,
            last_written,
            unknown2,
            persist,
            unknown3,
            target,
            target_alias,
            description,
            unknown,
            username,
            secret,
            attributes,
            trailing,
        })
    }

    /// The structure's bytes: the plaintext of the credential file's blob. They contain the
    /// secret, so they are zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let target = utf16z(&self.target);
        let target_alias = utf16z(&self.target_alias);
        let description = utf16z(&self.description);
        let username = utf16z(&self.username);
        let attribute_count = len_u32(self.attributes.len());
        let alignment = usize::from(needs_alignment(self.secret.len(), attribute_count));
        let len = HEADER_SIZE as usize
            + 6 * 4
            + target.len()
            + target_alias.len()
            + description.len()
            + self.unknown.len()
            + username.len()
            + self.secret.len()
            + alignment
            + self
                .attributes
                .iter()
                .map(CredentialAttribute::encoded_len)
                .sum::<usize>()
            + self.trailing.len();
        // Sized up front so that the buffer holding the secret is never reallocated (a
        // reallocation would leave a copy behind that is not zeroized).
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.put_u32(HEADER_SIZE);
        out.put_u32(len_u32(len));
        out.put_u32(self.unknown0);
        out.put_u32(self.credential_type);
        out.put_u32(self.flags);
        out.put_u64(self.last_written.0);
        out.put_u32(self.unknown2);
        out.put_u32(self.persist);
        out.put_u32(attribute_count);
        out.put_u64(self.unknown3);
        out.put_len_prefixed(&target);
        out.put_len_prefixed(&target_alias);
        out.put_len_prefixed(&description);
        out.put_len_prefixed(&self.unknown);
        out.put_len_prefixed(&username);
        out.put_len_prefixed(&self.secret);
        out.extend(std::iter::repeat_n(0, alignment));
        for a in &self.attributes {
            out.put_u32(a.flags);
            out.put_len_prefixed(&a.keyword);
            out.put_len_prefixed(&a.value);
        }
        out.extend_from_slice(&self.trailing);
        debug_assert_eq!(out.len(), len);
        out
    }
}

/// Whether one alignment byte sits between an odd-sized secret and the attributes. This is
/// mimikatz's reading; see the module documentation.
fn needs_alignment(secret_len: usize, attribute_count: u32) -> bool {
    attribute_count > 0 && !secret_len.is_multiple_of(2)
}

/// A string field's bytes: nothing for `""`, else UTF-16LE and a NUL.
fn utf16z(s: &str) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = utf16le(s);
    out.extend_from_slice(&[0, 0]);
    out
}

/// Reads a length-prefixed string field, accepting only the encodings [`utf16z`] writes.
fn read_string(r: &mut Reader<'_>, field: &'static str) -> Result<String, FormatError> {
    let at = r.pos();
    let raw = r.len_prefixed(field)?;
    decode_utf16z(raw).map_err(|reason| r.invalid(field, at, raw.len() as u64, reason))
}

fn decode_utf16z(raw: &[u8]) -> Result<String, &'static str> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    if !raw.len().is_multiple_of(2) {
        return Err("a UTF-16 string has an even size");
    }
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let Some(text) = units.strip_suffix(&[0]) else {
        return Err("a string must end with a NUL");
    };
    if text.is_empty() {
        return Err("an empty string is stored with size 0, not as a lone NUL");
    }
    String::from_utf16(text).map_err(|_| "not valid UTF-16")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credential {
        let mut c = Credential::generic(
            "app/target",
            "user",
            b"odd",
            CRED_PERSIST_LOCAL_MACHINE,
            FileTime(0x01d4_76ce_c724_bcea),
        );
        c.attributes.push(CredentialAttribute {
            flags: 0,
            keyword: utf16le("kw"),
            value: vec![1, 2, 3],
        });
        c
    }

    #[test]
    fn generic_credential_round_trips_with_the_alignment_byte() {
        let c = sample();
        let bytes = c.to_bytes();
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
            bytes.len()
        );
        let back = Credential::parse(&bytes).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.target, "LegacyGeneric:target=app/target");
        assert_eq!(back.unknown2, 8);
        assert_eq!(back.attributes[0].keyword_text().as_deref(), Some("kw"));
    }

    #[test]
    fn a_non_zero_alignment_byte_is_refused() {
        let c = sample();
        let mut bytes = c.to_bytes().to_vec();
        let at = bytes.len() - c.attributes[0].encoded_len() - 1;
        assert_eq!(bytes[at], 0);
        bytes[at] = 1;
        let err = Credential::parse(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("CredentialBlob alignment"),
            "{err}"
        );
    }

    #[test]
    fn strings_empty_as_size_zero_and_lone_nul_is_refused() {
        assert_eq!(utf16z(""), Vec::<u8>::new());
        assert_eq!(utf16z("a"), vec![b'a', 0, 0, 0]);
        assert_eq!(decode_utf16z(&[]), Ok(String::new()));
        assert!(decode_utf16z(&[0, 0]).is_err());
        assert!(decode_utf16z(&[b'a', 0]).is_err());
        assert!(decode_utf16z(&[b'a', 0, 0]).is_err());
        assert!(decode_utf16z(&[0x00, 0xd8, 0, 0]).is_err());
        assert_eq!(decode_utf16z(&[0, 0, 0, 0]), Ok("\0".to_owned()));
    }

    #[test]
    fn padded_secret_len_rounds_up_to_eight() {
        assert_eq!(
            [0, 1, 8, 10, 50, 524].map(padded_secret_len),
            [0, 8, 8, 16, 56, 528]
        );
        assert_eq!(padded_secret_len(usize::MAX), u32::MAX);
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Credential::generic(
            "t",
            "u",
            b"p4ssw0rd",
            CRED_PERSIST_LOCAL_MACHINE,
            FileTime(0),
        );
        let text = format!("{c:?}");
        assert!(text.contains("<redacted>"));
        assert!(
            !text.contains("p4ssw0rd") && !text.contains("112, 52"),
            "{text}"
        );
    }
}
