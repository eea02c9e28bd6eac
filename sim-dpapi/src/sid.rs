//! Security identifiers: the canonical text form that DPAPI hashes into every pre-key, the binary
//! form stored in CREDHIST entries, and the service SIDs of virtual accounts.
//!
//! Follows `docs/dpapi.md` §1.2 (pre-keys hash `UTF-16LE(SID text) || 00 00`; the service SID
//! of `NT SERVICE\X` is `S-1-5-80-` and the five little-endian DWORDs of
//! `SHA1(UTF-16LE(UPPER(X)))`) and §2.3 (binary SIDs in CREDHIST).

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};
use thiserror::Error;

use super::reader::{FormatError, Reader};

/// Windows allows at most 15 sub-authorities (`SID_MAX_SUB_AUTHORITIES`).
pub const MAX_SUB_AUTHORITIES: usize = 15;

/// The identifier authority is a 48-bit big-endian number.
const MAX_AUTHORITY: u64 = (1 << 48) - 1;

/// A security identifier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid {
    revision: u8,
    authority: u64,
    sub_authorities: Vec<u32>,
}

/// Why a text could not be read as a SID.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid SID '{text}': {reason} (expected the form S-1-5-21-<n>-<n>-<n>-<rid>)")]
pub struct SidParseError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Sid {
    /// A SID from its parts. Fails if there are more than 15 sub-authorities or the authority
    /// does not fit in 48 bits.
    pub fn new(revision: u8, authority: u64, sub_authorities: Vec<u32>) -> Option<Self> {
        (sub_authorities.len() <= MAX_SUB_AUTHORITIES && authority <= MAX_AUTHORITY).then_some(
            Self {
                revision,
                authority,
                sub_authorities,
            },
        )
    }

    /// `S-1-5-18`, LocalSystem, whose `Protect` folder holds the machine master keys.
    pub fn local_system() -> Self {
        Self {
            revision: 1,
            authority: 5,
            sub_authorities: vec![18],
        }
    }

    /// The service SID Windows gives `NT SERVICE\<name>`: `S-1-5-80-` followed by the five
    /// little-endian DWORDs of `SHA1(UTF-16LE(UPPER(name)))` (§1.2, verified on TrustedInstaller).
    pub fn for_service(name: &str) -> Self {
        let upper: Vec<u8> = name
            .to_uppercase()
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let digest = Sha1::digest(&upper);
        let mut subs = vec![80];
        subs.extend(
            digest
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Self {
            revision: 1,
            authority: 5,
            sub_authorities: subs,
        }
    }

    /// The relative identifier: the last sub-authority.
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }

    /// This SID with one more sub-authority (a domain SID plus a RID gives an account SID).
    pub fn with_rid(&self, rid: u32) -> Option<Self> {
        let mut subs = self.sub_authorities.clone();
        subs.push(rid);
        Self::new(self.revision, self.authority, subs)
    }

    /// The binary form (`RPC_SID` / `SID` struct): revision, count, 6-byte big-endian authority,
    /// little-endian sub-authorities.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * self.sub_authorities.len());
        out.push(self.revision);
        // At most 15 sub-authorities, so the count fits in a byte.
        out.push(u8::try_from(self.sub_authorities.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Reads a binary SID occupying exactly `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes, "SID");
        let [revision, count] = r.array::<2>("revision and count")?;
        if usize::from(count) > MAX_SUB_AUTHORITIES {
            return Err(r.invalid("SubAuthorityCount", 1, count.into(), "at most 15"));
        }
        let auth: [u8; 6] = r.array("IdentifierAuthority")?;
        let mut a = [0u8; 8];
        a[2..].copy_from_slice(&auth);
        let mut subs = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            subs.push(r.u32("SubAuthority")?);
        }
        r.finish()?;
        Ok(Self {
            revision,
            authority: u64::from_be_bytes(a),
            sub_authorities: subs,
        })
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-", self.revision)?;
        if self.authority >= 1 << 32 {
            write!(f, "0x{:012X}", self.authority)?;
        } else {
            write!(f, "{}", self.authority)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = SidParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| SidParseError {
            text: text.to_owned(),
            reason,
        };
        let rest = text
            .strip_prefix("S-")
            .or_else(|| text.strip_prefix("s-"))
            .ok_or_else(|| err("it does not start with 'S-'"))?;
        let mut parts = rest.split('-');
        let revision = parts
            .next()
            .and_then(|p| p.parse::<u8>().ok())
            .ok_or_else(|| err("the revision is not a number from 0 to 255"))?;
        let auth = parts
            .next()
            .ok_or_else(|| err("the identifier authority is missing"))?;
        let authority = match auth.strip_prefix("0x").or_else(|| auth.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => auth.parse::<u64>().ok(),
        }
        .filter(|&a| a <= MAX_AUTHORITY)
        .ok_or_else(|| err("the identifier authority is not a 48-bit number"))?;
        let subs = parts
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                p.parse::<u32>().ok()
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| err("a sub-authority is not a 32-bit number"))?;
        if subs.len() > MAX_SUB_AUTHORITIES {
            return Err(err("it has more than 15 sub-authorities"));
        }
        Ok(Self {
            revision,
            authority,
            sub_authorities: subs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_sids_match_known_values() {
        // tests/vectors/intermediate_kats.txt, service_sid.
        assert_eq!(
            Sid::for_service("TrustedInstaller").to_string(),
            "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
        );
        assert_eq!(
            Sid::for_service("ADSync").to_string(),
            "S-1-5-80-3245704983-3664226991-764670653-2504430226-901976451"
        );
    }

    #[test]
    fn text_and_binary_round_trip() {
        let sid: Sid = "S-1-5-21-583907252-1547161642-682003330-1001"
            .parse()
            .unwrap();
        assert_eq!(sid.rid(), Some(1001));
        let b = sid.to_bytes();
        assert_eq!(b.len(), 28);
        assert_eq!(Sid::from_bytes(&b).unwrap(), sid);
        assert_eq!(
            sid.to_string(),
            "S-1-5-21-583907252-1547161642-682003330-1001"
        );
    }

    #[test]
    fn bad_text_is_named() {
        let e = "S-1-5-21-x".parse::<Sid>().unwrap_err();
        assert!(e.to_string().contains("'S-1-5-21-x'"), "{e}");
        assert!("1-5-18".parse::<Sid>().is_err());
        assert!("S-1-5--18".parse::<Sid>().is_err());
        assert!("S-1-5-18-+1".parse::<Sid>().is_err());
    }
}
