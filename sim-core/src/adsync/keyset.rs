//! The decrypted ADSync encryption keyset (`docs/adsync.md` §3.3): the `MMSK` blob that
//! `KeyManager.LoadKeySet` gets back from DPAPI, and the names it is stored under (§3.2).
//!
//! Layout, 164 bytes, every integer little-endian:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | magic `"MMSK"` |
//! | 4 | 4 | version |
//! | 8 | 4 | id (100000 for `keyset_id` 1, see [`KEYSET_ID_SCALE`]) |
//! | 12 | 16 | instance GUID, .NET `Guid.ToByteArray()` order |
//! | 28 | 20 | five unknown DWORDs |
//! | 48 | 4 | keyBlockSize |
//! | 52 | 4 | secondKeySize |
//! | 56 | 20 | five more unknown DWORDs |
//! | 76 | 44 | key record 1 (`GetKey(1)`): a CryptoAPI `PLAINTEXTKEYBLOB` |
//! | 120 | 44 | key record 2, same shape |
//!
//! A key record is `[08 02 00 00]` (`BLOBHEADER`: bType `PLAINTEXTKEYBLOB`, bVersion 2,
//! reserved 0) `[10 66 00 00]` (aiKeyAlg `CALG_AES_256`) `[20 00 00 00]` (key length 32) and the
//! 32-byte AES-256 key. adconnectdump takes the credential key as `blob[-88:-44][12:]`, which is
//! bytes 88..120: the key of record 1, the one [`Keyset::key`]`(1)` returns.
//!
//! The fields docs/adsync.md calls unknown are kept as read, so `parse` then `to_bytes` gives the
//! input back byte for byte. [`Keyset::generate`] writes the deterministic values documented on
//! [`KEYSET_VERSION`], [`KEY_BLOCK_SIZE`], [`SECOND_KEY_SIZE`] and zeros in the unknown DWORDs.
//!
//! The keys are zeroized when the keyset is dropped, and `Debug` never shows them.

use crate::dpapi::secret::SecretBytes;
use std::fmt;

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::dpapi::reader::{FormatError, Reader, Writer};

/// The magic at offset 0.
pub const MAGIC: [u8; 4] = *b"MMSK";
/// Size of a keyset with its two key records (§3.3).
pub const KEYSET_LEN: usize = 164;
/// Size of one key record (a `PLAINTEXTKEYBLOB` holding an AES-256 key).
pub const KEY_RECORD_LEN: usize = 44;
/// Offset of key record 1.
pub const KEY_RECORD_1_OFFSET: usize = 76;
/// Size of an AES-256 key.
pub const KEY_LEN: usize = 32;
/// The key id every public tool asks for: `KeyManager.GetKey(1)` (§3.5).
pub const CREDENTIAL_KEY_ID: u32 = 1;

/// `BLOBHEADER` of each key record: bType `PLAINTEXTKEYBLOB` (0x08), bVersion `CUR_BLOB_VERSION`
/// (0x02), reserved 0 (§3.3: consistent with the BOF that hands the record to `CryptImportKey`).
pub const PLAINTEXTKEYBLOB_HEADER: [u8; 4] = [0x08, 0x02, 0x00, 0x00];
/// `CALG_AES_256`, the `ALG_ID` in each key record (26128 in AADInternals' output).
pub const CALG_AES_256: u32 = 0x6610;

/// The version [`Keyset::generate`] writes. docs/adsync.md names the field but gives no value;
/// 1 is a choice (INF), and `parse` accepts any value.
pub const KEYSET_VERSION: u32 = 1;
/// The keyBlockSize [`Keyset::generate`] writes: one key record, 44 bytes. The field's meaning
/// and real value are not public; this is a choice (INF), and `parse` accepts any value.
pub const KEY_BLOCK_SIZE: u32 = KEY_RECORD_LEN as u32;
/// The secondKeySize [`Keyset::generate`] writes: the size of the second key record, 44 bytes.
/// A choice (INF) like [`KEY_BLOCK_SIZE`].
pub const SECOND_KEY_SIZE: u32 = KEY_RECORD_LEN as u32;

/// How the id at offset 8 relates to `mms_server_configuration.keyset_id`: the id is
/// `keyset_id × 100000`, stored as a little-endian DWORD (`a0 86 01 00` for `keyset_id` 1).
///
/// Every public sample shows `keyset_id` 1, a credential target ending in `_100000` and a keyset
/// id of 100000 (§3.2). AADInternals' `Parse-KeySetBlob` reads the id with
/// `BitConverter.ToInt32(data, 8)` and accepts the keyset only if it equals the number after the
/// last `_` of the credential target, so the id is stored as that number. AADInternals rebuilds
/// the suffix from `keyset_id` as the first six bytes of the little-endian `uint64` written as
/// decimal numbers one after the other ([`keyset_suffix`]); for `keyset_id` 1 to
/// [`MAX_KEYSET_ID`] that is exactly `keyset_id × 100000`, which is why the scale is 100000.
pub const KEYSET_ID_SCALE: u32 = 100_000;
/// The largest `keyset_id` [`Keyset::generate`] takes: beyond 255 the two readings of the
/// suffix in [`KEYSET_ID_SCALE`] disagree, and no sample shows what Windows does.
pub const MAX_KEYSET_ID: u32 = 255;

/// Prefix of the Credential Manager target of the keyset (≥ 1.4.x, §3.2).
pub const CREDENTIAL_TARGET_PREFIX: &str = "Microsoft_AzureADConnect_KeySet_";
/// `UserName` of that generic credential (§3.2).
pub const CREDENTIAL_USER_NAME: &str = "ADSync";
/// Prefix of the DPAPI description (`szDescription`) of the keyset blob (§3.2).
pub const DPAPI_DESCRIPTION_PREFIX: &str = "MMS_ENCRYPTION_KEYSET_";

const STRUCTURE: &str = "ADSync keyset";

/// Per-record field names, so errors say which record was wrong.
const RECORD_FIELDS: [[&str; 4]; 2] = [
    [
        "key record 1 BLOBHEADER",
        "key record 1 aiKeyAlg",
        "key record 1 key length",
        "key record 1 key",
    ],
    [
        "key record 2 BLOBHEADER",
        "key record 2 aiKeyAlg",
        "key record 2 key length",
        "key record 2 key",
    ],
];

/// The suffix of the credential target and DPAPI description for `keyset_id`, as AADInternals
/// rebuilds it (§3.2): the first six bytes of `keyset_id` as a little-endian `uint64`, each
/// written in decimal, concatenated. `keyset_suffix(1)` is `"100000"`.
pub fn keyset_suffix(keyset_id: u32) -> String {
    u64::from(keyset_id).to_le_bytes()[..6]
        .iter()
        .map(u8::to_string)
        .collect()
}

/// The keyset id at offset 8 for `keyset_id` (see [`KEYSET_ID_SCALE`]), or `None` outside
/// `1..=`[`MAX_KEYSET_ID`].
pub fn keyset_number(keyset_id: u32) -> Option<u32> {
    (1..=MAX_KEYSET_ID)
        .contains(&keyset_id)
        .then(|| keyset_id * KEYSET_ID_SCALE)
}

/// The Credential Manager target of the keyset of `instance_id` and `keyset_id` (§3.2):
/// `Microsoft_AzureADConnect_KeySet_{INSTANCE-GUID-UPPERCASE}_100000` for `keyset_id` 1, with
/// the braces. Tools display it as `LegacyGeneric:target=…`.
pub fn credential_target(instance_id: Uuid, keyset_id: u32) -> String {
    format!(
        "{CREDENTIAL_TARGET_PREFIX}{}_{}",
        braced_upper(instance_id),
        keyset_suffix(keyset_id)
    )
}

/// The DPAPI description of the keyset blob (§3.2):
/// `MMS_ENCRYPTION_KEYSET_{INSTANCE-GUID-UPPERCASE}_100000` for `keyset_id` 1. The braces and
/// the upper case are as in the AADInternals write-up's dump of a real credential.
pub fn dpapi_description(instance_id: Uuid, keyset_id: u32) -> String {
    format!(
        "{DPAPI_DESCRIPTION_PREFIX}{}_{}",
        braced_upper(instance_id),
        keyset_suffix(keyset_id)
    )
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`.
fn braced_upper(g: Uuid) -> String {
    format!("{{{}}}", g.hyphenated().to_string().to_ascii_uppercase())
}

/// A decrypted keyset. The two AES-256 keys are zeroized on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyset {
    version: u32,
    id: u32,
    instance_id: Uuid,
    unknown_a: [u32; 5],
    key_block_size: u32,
    second_key_size: u32,
    unknown_b: [u32; 5],
    keys: Zeroizing<[[u8; KEY_LEN]; 2]>,
}

/// A `keyset_id` no keyset can carry: the id at offset 8 is `keyset_id × 100000`, which
/// [`keyset_number`] defines for 1 to [`MAX_KEYSET_ID`] only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("keyset_id {keyset_id} is outside 1..={MAX_KEYSET_ID}")]
pub struct KeysetIdError {
    /// The id asked for.
    pub keyset_id: u32,
}

impl Keyset {
    /// A new keyset for `instance_id` with two fresh random AES-256 keys, as the wizard or
    /// `miiskmu` would create it. The id is `keyset_id × 100000` ([`KEYSET_ID_SCALE`]); the
    /// other header fields take the documented deterministic values. A `keyset_id` outside
    /// `1..=`[`MAX_KEYSET_ID`] is refused (it comes from `mms_server_configuration`, which an
    /// admin may edit).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        instance_id: Uuid,
        keyset_id: u32,
    ) -> Result<Self, KeysetIdError> {
        let id = keyset_number(keyset_id).ok_or(KeysetIdError { keyset_id })?;
        let mut keys = Zeroizing::new([[0u8; KEY_LEN]; 2]);
        for k in keys.iter_mut() {
            rng.fill_bytes(k);
        }
        Ok(Self {
            version: KEYSET_VERSION,
            id,
            instance_id,
            unknown_a: [0; 5],
            key_block_size: KEY_BLOCK_SIZE,
            second_key_size: SECOND_KEY_SIZE,
            unknown_b: [0; 5],
            keys,
        })
    }

    /// Reads a decrypted keyset: exactly [`KEYSET_LEN`] bytes, magic `MMSK`, and two key records
    /// each holding a 32-byte `CALG_AES_256` key. Every other field is kept as read.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, STRUCTURE);
        let magic: [u8; 4] = r.array("magic")?;
        if magic != MAGIC {
            return Err(r.invalid(
                "magic",
                0,
                u32::from_le_bytes(magic).into(),
                "a keyset starts with \"MMSK\"",
            ));
        }
        let version = r.u32("version")?;
        let id = r.u32("id")?;
        let instance_id = r.guid("instance GUID")?;
        let unknown_a = dwords(&mut r, "unknown DWORDs at 28")?;
        let key_block_size = r.u32("keyBlockSize")?;
        let second_key_size = r.u32("secondKeySize")?;
        let unknown_b = dwords(&mut r, "unknown DWORDs at 56")?;
        let mut keys = Zeroizing::new([[0u8; KEY_LEN]; 2]);
        for (key, [header_f, alg_f, len_f, key_f]) in keys.iter_mut().zip(RECORD_FIELDS) {
            let at = r.pos();
            let header: [u8; 4] = r.array(header_f)?;
            if header != PLAINTEXTKEYBLOB_HEADER {
                return Err(r.invalid(
                    header_f,
                    at,
                    u32::from_le_bytes(header).into(),
                    "a key record starts with a PLAINTEXTKEYBLOB header, 08 02 00 00",
                ));
            }
            let at = r.pos();
            let alg = r.u32(alg_f)?;
            if alg != CALG_AES_256 {
                return Err(FormatError::UnknownAlgorithm {
                    structure: STRUCTURE,
                    kind: "cipher",
                    id: alg,
                    offset: at,
                });
            }
            let at = r.pos();
            let len = r.u32(len_f)?;
            if len != KEY_LEN as u32 {
                return Err(r.invalid(len_f, at, len.into(), "an AES-256 key has 32 bytes"));
            }
            key.copy_from_slice(r.bytes(KEY_LEN as u64, key_f)?);
        }
        r.finish()?;
        Ok(Self {
            version,
            id,
            instance_id,
            unknown_a,
            key_block_size,
            second_key_size,
            unknown_b,
            keys,
        })
    }

    /// The keyset's bytes, as DPAPI protects them.
    pub fn to_bytes(&self) -> SecretBytes {
        // Allocated once at full size, so no reallocation leaves a copy of a key behind.
        let mut out = SecretBytes::new(Vec::with_capacity(KEYSET_LEN));
        out.extend_from_slice(&MAGIC);
        out.put_u32(self.version);
        out.put_u32(self.id);
        out.put_guid(&self.instance_id);
        for v in self.unknown_a {
            out.put_u32(v);
        }
        out.put_u32(self.key_block_size);
        out.put_u32(self.second_key_size);
        for v in self.unknown_b {
            out.put_u32(v);
        }
        for key in self.keys.iter() {
            out.extend_from_slice(&PLAINTEXTKEYBLOB_HEADER);
            out.put_u32(CALG_AES_256);
            out.put_u32(KEY_LEN as u32);
            out.extend_from_slice(key);
        }
        out
    }

    /// The AES-256 key of record `id`: 1 is `KeyManager.GetKey(1)`, the key that encrypts
    /// `encrypted_configuration` (adconnectdump's `blob[-88:-44][12:]`); 2 is the second record.
    /// Any other id has no key.
    pub fn key(&self, id: u32) -> Option<&[u8; KEY_LEN]> {
        match id {
            1 => Some(&self.keys[0]),
            2 => Some(&self.keys[1]),
            _ => None,
        }
    }

    /// The instance GUID at offset 12 (`mms_server_configuration.instance_id`).
    pub fn instance_id(&self) -> Uuid {
        self.instance_id
    }

    /// The id at offset 8 as stored: 100000 for `keyset_id` 1.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The `mms_server_configuration.keyset_id` this keyset belongs to: the id divided by
    /// [`KEYSET_ID_SCALE`], or `None` when the stored id is not such a multiple in range.
    pub fn keyset_id(&self) -> Option<u32> {
        let keyset_id = self.id / KEYSET_ID_SCALE;
        (keyset_number(keyset_id) == Some(self.id)).then_some(keyset_id)
    }

    /// The version field as stored.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The Credential Manager target this keyset is stored under (§3.2), ending in the stored id:
    /// the same as [`credential_target`] for a generated keyset.
    pub fn credential_target(&self) -> String {
        format!(
            "{CREDENTIAL_TARGET_PREFIX}{}_{}",
            braced_upper(self.instance_id),
            self.id
        )
    }

    /// The DPAPI description of this keyset's blob (§3.2), ending in the stored id: the same as
    /// [`dpapi_description`] for a generated keyset.
    pub fn dpapi_description(&self) -> String {
        format!(
            "{DPAPI_DESCRIPTION_PREFIX}{}_{}",
            braced_upper(self.instance_id),
            self.id
        )
    }
}

impl fmt::Debug for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyset")
            .field("version", &self.version)
            .field("id", &self.id)
            .field("instance_id", &self.instance_id)
            .field("key_block_size", &self.key_block_size)
            .field("second_key_size", &self.second_key_size)
            .field("keys", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Five little-endian DWORDs.
fn dwords(r: &mut Reader<'_>, field: &'static str) -> Result<[u32; 5], FormatError> {
    let mut out = [0u32; 5];
    for v in &mut out {
        *v = r.u32(field)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const INSTANCE: Uuid = Uuid::from_u128(0x6f529078_33bd_448f_a9af_20d28b1e55dc);

    fn sample() -> Keyset {
        Keyset::generate(&mut ChaCha20Rng::seed_from_u64(7), INSTANCE, 1).unwrap()
    }

    #[test]
    fn layout_of_a_generated_keyset() {
        let ks = sample();
        let b = ks.to_bytes();
        assert_eq!(b.len(), KEYSET_LEN);
        assert_eq!(&b[0..4], b"MMSK");
        assert_eq!(&b[4..8], &KEYSET_VERSION.to_le_bytes());
        assert_eq!(&b[8..12], &[0xa0, 0x86, 0x01, 0x00], "100000 little-endian");
        assert_eq!(&b[12..28], &INSTANCE.to_bytes_le());
        assert_eq!(&b[28..48], &[0u8; 20]);
        assert_eq!(&b[48..52], &44u32.to_le_bytes());
        assert_eq!(&b[52..56], &44u32.to_le_bytes());
        assert_eq!(&b[56..76], &[0u8; 20]);
        for at in [76, 120] {
            assert_eq!(
                &b[at..at + 12],
                &[0x08, 0x02, 0, 0, 0x10, 0x66, 0, 0, 0x20, 0, 0, 0]
            );
        }
        assert_eq!(ks.key(1).unwrap(), &b[88..120]);
        assert_eq!(ks.key(2).unwrap(), &b[132..164]);
        assert_ne!(ks.key(1), ks.key(2));
        assert_eq!(ks.key(0), None);
        assert_eq!(ks.key(3), None);
    }

    #[test]
    fn parse_is_the_inverse_of_to_bytes_and_keeps_unknown_fields() {
        let mut b = sample().to_bytes().to_vec();
        // Arbitrary values in every field docs/adsync.md calls unknown.
        for (i, byte) in b[28..76].iter_mut().enumerate() {
            *byte = i as u8 ^ 0x5a;
        }
        b[4] = 9;
        let ks = Keyset::parse(&b).unwrap();
        assert_eq!(&ks.to_bytes()[..], &b[..]);
        assert_eq!(ks.version(), 9);
        assert_eq!(ks.instance_id(), INSTANCE);
        assert_eq!(ks.keyset_id(), Some(1));
    }

    #[test]
    fn names_for_keyset_1() {
        let ks = sample();
        let target =
            "Microsoft_AzureADConnect_KeySet_{6F529078-33BD-448F-A9AF-20D28B1E55DC}_100000";
        let description = "MMS_ENCRYPTION_KEYSET_{6F529078-33BD-448F-A9AF-20D28B1E55DC}_100000";
        assert_eq!(ks.credential_target(), target);
        assert_eq!(credential_target(INSTANCE, 1), target);
        assert_eq!(ks.dpapi_description(), description);
        assert_eq!(dpapi_description(INSTANCE, 1), description);
        assert_eq!(ks.id(), 100_000);
    }

    #[test]
    fn suffix_and_id_agree_for_every_generatable_keyset_id() {
        for k in 1..=MAX_KEYSET_ID {
            assert_eq!(keyset_number(k).unwrap().to_string(), keyset_suffix(k));
        }
        assert_eq!(keyset_number(0), None);
        assert_eq!(keyset_number(256), None);
        assert_eq!(keyset_suffix(256), "010000");
    }

    #[test]
    fn errors_name_the_field() {
        let good = sample().to_bytes();
        let mut b = good.to_vec();
        b[0] = b'X';
        assert!(matches!(
            Keyset::parse(&b),
            Err(FormatError::InvalidValue { field: "magic", .. })
        ));
        let mut b = good.to_vec();
        b[120] = 0x07;
        assert!(matches!(
            Keyset::parse(&b),
            Err(FormatError::InvalidValue {
                field: "key record 2 BLOBHEADER",
                offset: 120,
                ..
            })
        ));
        let mut b = good.to_vec();
        b[80] = 0x0e; // CALG_AES_128
        assert!(matches!(
            Keyset::parse(&b),
            Err(FormatError::UnknownAlgorithm {
                id: 0x660e,
                offset: 80,
                ..
            })
        ));
        let mut b = good.to_vec();
        b[84] = 16;
        assert!(matches!(
            Keyset::parse(&b),
            Err(FormatError::InvalidValue {
                field: "key record 1 key length",
                ..
            })
        ));
        assert!(matches!(
            Keyset::parse(&good[..163]),
            Err(FormatError::Truncated {
                field: "key record 2 key",
                ..
            })
        ));
        let mut b = good.to_vec();
        b.push(0);
        assert!(matches!(
            Keyset::parse(&b),
            Err(FormatError::TrailingBytes { offset: 164, .. })
        ));
    }

    #[test]
    fn debug_shows_no_key() {
        let ks = sample();
        let text = format!("{ks:?}");
        assert!(text.contains("<redacted>"));
        for key in [ks.key(1).unwrap(), ks.key(2).unwrap()] {
            assert!(!text.contains(&hex::encode(key)));
            assert!(!text.contains(&format!("{:?}", &key[..4])));
        }
    }

    #[test]
    fn generate_refuses_a_keyset_id_it_cannot_name() {
        for keyset_id in [0, MAX_KEYSET_ID + 1, u32::MAX] {
            let e = Keyset::generate(&mut ChaCha20Rng::seed_from_u64(1), INSTANCE, keyset_id)
                .unwrap_err();
            assert_eq!(e, KeysetIdError { keyset_id });
            assert_eq!(
                e.to_string(),
                format!("keyset_id {keyset_id} is outside 1..=255")
            );
        }
    }
}
