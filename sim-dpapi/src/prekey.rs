//! From a password (or a machine secret) to the pre-key that opens a principal's master keys.
//!
//! Follows `docs/dpapi.md` §1.2:
//! - local accounts hash the password with SHA-1, domain accounts with MD4 (the NT hash), and
//!   Windows 10 1607+ stretches the NT hash with two standard PBKDF2-HMAC-SHA256 passes;
//! - the pre-key is `HMAC-SHA1(hash, UTF-16LE(SID) || 00 00)`;
//! - SYSTEM master keys use one half of the `DPAPI_SYSTEM` LSA secret (§2.5) raw, and virtual
//!   service accounts use `HMAC-SHA1(DPAPI_SYSTEM.user, UTF-16LE(SID) || 00 00)`.

use std::fmt;

use md4::Md4;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::alg::Digest as Dg;
use super::crypto::{hmac, utf16le};
use super::reader::{FormatError, Reader};
use super::sid::Sid;

/// A 20-byte pre-key. Zeroized on drop; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PreKey([u8; 20]);

impl PreKey {
    /// Wraps raw pre-key bytes (a `DPAPI_SYSTEM` half, or a pre-key computed elsewhere).
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The pre-key bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// `HMAC-SHA1(password_hash, UTF-16LE(sid) || 00 00)`, the pre-key of a user account.
    pub fn from_hash(password_hash: &[u8], sid: &str) -> Self {
        let mut msg = utf16le(sid);
        msg.extend_from_slice(&[0, 0]);
        let mac = hmac(Dg::Sha1, password_hash, &[&msg]);
        let mut out = [0u8; 20];
        out.copy_from_slice(mac.get(..20).unwrap_or(&[0; 20]));
        Self(out)
    }
}

impl fmt::Debug for PreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreKey(<redacted>)")
    }
}

/// `SHA1(UTF-16LE(password))`: what Windows keeps for a local account's DPAPI.
pub fn sha1_password(password: &str) -> Zeroizing<[u8; 20]> {
    let bytes = Zeroizing::new(utf16le(password));
    Zeroizing::new(Sha1::digest(&bytes[..]).into())
}

/// `MD4(UTF-16LE(password))`: the NT hash.
pub fn nt_hash(password: &str) -> Zeroizing<[u8; 16]> {
    let bytes = Zeroizing::new(utf16le(password));
    Zeroizing::new(Md4::digest(&bytes[..]).into())
}

/// The SHA-1 and NT hashes of a password given as its UTF-16LE bytes (a gMSA's managed password
/// is 256 such bytes, not always valid UTF-16).
pub fn hashes_utf16le(password_utf16le: &[u8]) -> PasswordHashes {
    PasswordHashes {
        sha1: Sha1::digest(password_utf16le).into(),
        nt: Md4::digest(password_utf16le).into(),
    }
}

/// The Windows 10 1607+ stretch of the NT hash (`MsvpDeriveSecureCredKey`):
/// `PBKDF2-SHA256(PBKDF2-SHA256(NT, UTF-16LE(SID), 10000, 32), UTF-16LE(SID), 1, 32)[..16]`.
///
/// The 10,000 PBKDF2 rounds are paid once per NT hash and SID in a process: the result is kept
/// in a small memo (as LSASS keeps a logon session's derived keys), zeroized when evicted.
pub fn nt_hash_1607(nt: &[u8; 16], sid: &str) -> Zeroizing<[u8; 16]> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Memo = Mutex<HashMap<[u8; 32], Zeroizing<[u8; 16]>>>;
    /// Entries kept before the memo is cleared.
    const MEMO_CAPACITY: usize = 1024;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let memo = MEMO.get_or_init(Memo::default);
    // Keyed by a digest, so the memo holds no NT hash.
    let key: [u8; 32] = Sha256::new_with_prefix(nt)
        .chain_update(sid.as_bytes())
        .finalize()
        .into();
    if let Some(hit) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return hit;
    }
    let out = nt_hash_1607_uncached(nt, sid);
    if let Ok(mut m) = memo.lock() {
        if m.len() >= MEMO_CAPACITY {
            m.clear();
        }
        m.insert(key, out.clone());
    }
    out
}

/// [`nt_hash_1607`] without the memo.
pub fn nt_hash_1607_uncached(nt: &[u8; 16], sid: &str) -> Zeroizing<[u8; 16]> {
    let salt = utf16le(sid);
    let mut first = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(nt, &salt, 10_000, &mut *first);
    let mut second = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(&*first, &salt, 1, &mut *second);
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(&second[..16]);
    out
}

/// Which derivation produced a pre-key; named as impacket's `dpapi.py masterkey` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreKeyKind {
    /// HMAC of the SHA-1 password hash: local accounts (master key flag 0x4).
    Sha1,
    /// HMAC of the NT hash: domain accounts before Windows 10 1607.
    Nt,
    /// HMAC of the 1607+ stretched NT hash: domain accounts on Windows 10 1607 and later.
    NtProtected,
    /// A `DPAPI_SYSTEM` half used raw: LocalSystem's machine and user keys.
    System,
    /// HMAC of `DPAPI_SYSTEM.user`: virtual service accounts (`NT SERVICE\X`).
    VirtualAccount,
    /// A pre-key given directly.
    Raw,
}

impl fmt::Display for PreKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "User Key (SHA1)",
            Self::Nt => "User Key (MD4)",
            Self::NtProtected => "User Key (MD4 protected)",
            Self::System => "DPAPI_SYSTEM key",
            Self::VirtualAccount => "virtual account key (DPAPI_SYSTEM user half)",
            Self::Raw => "pre-key",
        })
    }
}

/// The SHA-1 and NT hashes of one password: what a CREDHIST entry preserves (§2.3).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PasswordHashes {
    /// `SHA1(UTF-16LE(password))`.
    pub sha1: [u8; 20],
    /// `MD4(UTF-16LE(password))`.
    pub nt: [u8; 16],
}

impl PasswordHashes {
    /// Both hashes of a password.
    pub fn of(password: &str) -> Self {
        Self {
            sha1: *sha1_password(password),
            nt: *nt_hash(password),
        }
    }
}

impl fmt::Debug for PasswordHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHashes(<redacted>)")
    }
}

/// What a logon session holds to open its master keys: the pre-keys to try, the first of which
/// protects new keys, and (for password accounts) the password's hashes for CREDHIST.
#[derive(Clone)]
pub struct Credential {
    prekeys: Vec<(PreKeyKind, PreKey)>,
    hashes: Option<PasswordHashes>,
    domain: bool,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field(
                "kinds",
                &self.prekeys.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// A local account's password: SHA-1 pre-key.
    pub fn local_password(sid: &Sid, password: &str) -> Self {
        Self::local_password_utf16(sid, &Zeroizing::new(utf16le(password)))
    }

    /// [`Credential::local_password`] for a password given as UTF-16LE bytes.
    pub fn local_password_utf16(sid: &Sid, password_utf16le: &[u8]) -> Self {
        let hashes = hashes_utf16le(password_utf16le);
        let sid = sid.to_string();
        Self {
            prekeys: vec![(PreKeyKind::Sha1, PreKey::from_hash(&hashes.sha1, &sid))],
            hashes: Some(hashes),
            domain: false,
        }
    }

    /// A domain account's password as Windows 10 1607+ uses it: new keys under the stretched NT
    /// hash, older keys also tried under the plain NT hash.
    pub fn domain_password(sid: &Sid, password: &str) -> Self {
        Self::domain_password_utf16(sid, &Zeroizing::new(utf16le(password)))
    }

    /// [`Credential::domain_password`] for a password given as UTF-16LE bytes.
    pub fn domain_password_utf16(sid: &Sid, password_utf16le: &[u8]) -> Self {
        let hashes = hashes_utf16le(password_utf16le);
        let sid = sid.to_string();
        let stretched = nt_hash_1607(&hashes.nt, &sid);
        Self {
            prekeys: vec![
                (
                    PreKeyKind::NtProtected,
                    PreKey::from_hash(&*stretched, &sid),
                ),
                (PreKeyKind::Nt, PreKey::from_hash(&hashes.nt, &sid)),
            ],
            hashes: Some(hashes),
            domain: true,
        }
    }

    /// A domain account's password as Windows before 1607 uses it (plain NT hash).
    pub fn domain_password_legacy(sid: &Sid, password: &str) -> Self {
        let hashes = PasswordHashes::of(password);
        let sid = sid.to_string();
        Self {
            prekeys: vec![(PreKeyKind::Nt, PreKey::from_hash(&hashes.nt, &sid))],
            hashes: Some(hashes),
            domain: true,
        }
    }

    /// Every candidate a tool tries for an unknown account kind, in impacket's order (1607
    /// stretch, NT, SHA-1). New keys made with this credential use the first.
    pub fn any_password(sid: &Sid, password: &str) -> Self {
        let mut c = Self::domain_password(sid, password);
        let sha1 = PreKey::from_hash(
            &c.hashes.as_ref().map(|h| h.sha1).unwrap_or_default(),
            &sid.to_string(),
        );
        c.prekeys.push((PreKeyKind::Sha1, sha1));
        c
    }

    /// LocalSystem's machine-scope keys (`S-1-5-18`): the machine half of `DPAPI_SYSTEM`.
    pub fn system_machine(secret: &DpapiSystem) -> Self {
        Self::from_prekey(PreKeyKind::System, PreKey(secret.machine))
    }

    /// LocalSystem's own user-scope keys (`S-1-5-18\User`): the user half of `DPAPI_SYSTEM`.
    pub fn system_user(secret: &DpapiSystem) -> Self {
        Self::from_prekey(PreKeyKind::System, PreKey(secret.user))
    }

    /// A virtual service account (`NT SERVICE\X`): `HMAC-SHA1(DPAPI_SYSTEM.user, SID)`.
    pub fn virtual_account(secret: &DpapiSystem, sid: &Sid) -> Self {
        Self::from_prekey(
            PreKeyKind::VirtualAccount,
            PreKey::from_hash(&secret.user, &sid.to_string()),
        )
    }

    /// A single known pre-key.
    pub fn from_prekey(kind: PreKeyKind, prekey: PreKey) -> Self {
        Self {
            prekeys: vec![(kind, prekey)],
            hashes: None,
            domain: false,
        }
    }

    /// The pre-keys to try, the protecting one first.
    pub fn prekeys(&self) -> &[(PreKeyKind, PreKey)] {
        &self.prekeys
    }

    /// The pre-key new master keys are protected with.
    pub fn primary(&self) -> (PreKeyKind, &PreKey) {
        // Every constructor puts at least one pre-key in.
        let (k, p) = self.prekeys.first().unwrap_or_else(|| unreachable!());
        (*k, p)
    }

    /// The password's hashes, for password accounts.
    pub fn hashes(&self) -> Option<&PasswordHashes> {
        self.hashes.as_ref()
    }

    /// True for domain accounts (master key flag 0x4 clear).
    pub fn is_domain(&self) -> bool {
        self.domain
    }

    /// True when the pre-keys come from `DPAPI_SYSTEM` (no password).
    pub fn is_system(&self) -> bool {
        matches!(
            self.primary().0,
            PreKeyKind::System | PreKeyKind::VirtualAccount
        )
    }
}

/// The `DPAPI_SYSTEM` LSA secret: `u32 version (1) | machine[20] | user[20]`, 44 bytes (§2.5).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct DpapiSystem {
    /// The machine half: pre-key of `S-1-5-18` machine master keys.
    pub machine: [u8; 20],
    /// The user half: pre-key of `S-1-5-18\User` keys and base of virtual account pre-keys.
    pub user: [u8; 20],
}

/// The size of the `DPAPI_SYSTEM` secret.
pub const DPAPI_SYSTEM_LEN: usize = 44;

impl DpapiSystem {
    /// A fresh secret.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut s = Self {
            machine: [0; 20],
            user: [0; 20],
        };
        rng.fill_bytes(&mut s.machine);
        rng.fill_bytes(&mut s.user);
        s
    }

    /// Reads the 44-byte secret.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "DPAPI_SYSTEM secret");
        let version = r.u32("version")?;
        if version != 1 {
            return Err(r.invalid("version", 0, version.into(), "must be 1"));
        }
        let s = Self {
            machine: r.array("machine key")?,
            user: r.array("user key")?,
        };
        r.finish()?;
        Ok(s)
    }

    /// The 44-byte secret.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(DPAPI_SYSTEM_LEN));
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&self.machine);
        out.extend_from_slice(&self.user);
        out
    }
}

impl fmt::Debug for DpapiSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DpapiSystem(<redacted>)")
    }
}

/// A hex pre-key or hash given by a user was malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} must be {expected} hex digits, got {got} characters")]
pub struct HexKeyError {
    /// What was being read.
    pub what: &'static str,
    /// Expected number of hex digits.
    pub expected: usize,
    /// Characters given.
    pub got: usize,
}

/// Reads `N` bytes of hex, for pre-keys and hashes given on a command line.
pub fn parse_hex_key<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], HexKeyError> {
    let t = text.trim().trim_start_matches("0x");
    let err = HexKeyError {
        what,
        expected: 2 * N,
        got: t.len(),
    };
    let v = hex::decode(t).map_err(|_| err.clone())?;
    v.try_into().map_err(|_| err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_prekey_matches_the_xp_vector() {
        // intermediate_kats.txt: sha1_pw tutu, prekey for the XP SID.
        assert_eq!(
            hex::encode(*sha1_password("tutu")),
            "8fd090d6121b0f67ebb58bce562bf02b3f1e6bb4"
        );
        let sid: Sid = "S-1-5-21-583907252-1547161642-682003330-1001"
            .parse()
            .unwrap();
        let c = Credential::local_password(&sid, "tutu");
        assert_eq!(
            hex::encode(c.primary().1.as_bytes()),
            "732f73394364c930ba285063e5ff1ae49ebb3332"
        );
    }

    #[test]
    fn nt_hash_of_password() {
        // The NT hash of "password" is well known.
        assert_eq!(
            hex::encode(*nt_hash("password")),
            "8846f7eaee8fb117ad06bdd830b7586c"
        );
        assert_eq!(
            hex::encode(*nt_hash("")),
            "31d6cfe0d16ae931b73c59d7e0c089c0"
        );
    }

    #[test]
    fn dpapi_system_round_trip() {
        let bytes = hex::decode(
            "010000002bb2109db472825bfa7660fdbed62c981f08587b458dc597034d8801fc6fe3b342817caabb81a0cb",
        )
        .unwrap();
        let s = DpapiSystem::parse(&bytes).unwrap();
        assert_eq!(
            hex::encode(s.user),
            "458dc597034d8801fc6fe3b342817caabb81a0cb"
        );
        assert_eq!(&s.to_bytes()[..], &bytes[..]);
        assert!(DpapiSystem::parse(&bytes[..43]).is_err());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let p = PreKey::from_bytes([0xab; 20]);
        assert!(!format!("{p:?}").contains("ab"));
    }
}
