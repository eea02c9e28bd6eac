//! Bounds-checked little-endian reading and the typed error every DPAPI parser returns.
//!
//! Parsers read untrusted files. They never index out of bounds, never allocate from a length
//! field before checking that many bytes are actually present, and report what was wrong and where
//! (`docs/dpapi.md` §2: all integers are little-endian).

use thiserror::Error;
use uuid::Uuid;

/// Why bytes could not be read as a DPAPI structure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The input ended before a field could be read.
    #[error(
        "{structure}: truncated at offset {offset}: {field} needs {needed} bytes, {available} left"
    )]
    Truncated {
        /// The structure being read (e.g. "master key file").
        structure: &'static str,
        /// The field being read.
        field: &'static str,
        /// Offset of the field from the start of the structure.
        offset: usize,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes that were left.
        available: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("{structure}: field {field} at offset {offset} has invalid value {value:#x}: {reason}")]
    InvalidValue {
        /// The structure being read.
        structure: &'static str,
        /// The field.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// The value found.
        value: u64,
        /// What the format expects.
        reason: &'static str,
    },
    /// An algorithm identifier that DPAPI does not use in this position.
    #[error("{structure}: unknown {kind} algorithm id {id:#06x} at offset {offset}")]
    UnknownAlgorithm {
        /// The structure being read.
        structure: &'static str,
        /// "cipher" or "hash".
        kind: &'static str,
        /// The ALG_ID found.
        id: u32,
        /// Offset of the field.
        offset: usize,
    },
    /// Bytes were left after the structure ended.
    #[error("{structure}: {extra} unexpected trailing bytes at offset {offset}")]
    TrailingBytes {
        /// The structure being read.
        structure: &'static str,
        /// Offset of the first extra byte.
        offset: usize,
        /// How many bytes were left.
        extra: usize,
    },
}

/// A cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    structure: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `data` as `structure` (used in error messages).
    pub fn new(data: &'a [u8], structure: &'static str) -> Self {
        Self {
            data,
            pos: 0,
            structure,
        }
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Reads `n` bytes; `n` may come from an untrusted length field.
    pub fn bytes(&mut self, n: u64, field: &'static str) -> Result<&'a [u8], FormatError> {
        let available = self.remaining();
        let len = usize::try_from(n)
            .ok()
            .filter(|&len| len <= available)
            .ok_or(FormatError::Truncated {
                structure: self.structure,
                field,
                offset: self.pos,
                needed: n,
                available,
            })?;
        let out = self.data.get(self.pos..self.pos + len).unwrap_or_default();
        self.pos += len;
        Ok(out)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FormatError> {
        let b = self.bytes(N as u64, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Reads a binary GUID (the little-endian `GUID` struct, `uuid.bytes_le`).
    pub fn guid(&mut self, field: &'static str) -> Result<Uuid, FormatError> {
        Ok(Uuid::from_bytes_le(self.array(field)?))
    }

    /// Reads a `u32` length followed by that many bytes.
    pub fn len_prefixed(&mut self, field: &'static str) -> Result<&'a [u8], FormatError> {
        let n = self.u32(field)?;
        self.bytes(u64::from(n), field)
    }

    /// An error for the value just read at `offset`.
    pub fn invalid(
        &self,
        field: &'static str,
        offset: usize,
        value: u64,
        reason: &'static str,
    ) -> FormatError {
        FormatError::InvalidValue {
            structure: self.structure,
            field,
            offset,
            value,
            reason,
        }
    }

    /// Fails if any bytes are left.
    pub fn finish(&self) -> Result<(), FormatError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(FormatError::TrailingBytes {
                structure: self.structure,
                offset: self.pos,
                extra,
            }),
        }
    }
}

/// Appends little-endian integers, GUIDs and length-prefixed fields (the writing side of
/// [`Reader`]).
pub trait Writer {
    /// A little-endian `u32`.
    fn put_u32(&mut self, v: u32);
    /// A little-endian `u64`.
    fn put_u64(&mut self, v: u64);
    /// A GUID in its mixed-endian Windows layout.
    fn put_guid(&mut self, g: &Uuid);
    /// A `u32` length, then the bytes.
    fn put_len_prefixed(&mut self, b: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_guid(&mut self, g: &Uuid) {
        self.extend_from_slice(&g.to_bytes_le());
    }
    fn put_len_prefixed(&mut self, b: &[u8]) {
        self.put_u32(len_u32(b.len()));
        self.extend_from_slice(b);
    }
}

/// A length as the `u32` DPAPI stores; lengths this crate writes are far below 4 GiB.
pub(crate) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_length_is_an_error_not_an_allocation() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2], "test");
        let err = r.len_prefixed("data").unwrap_err();
        assert_eq!(
            err,
            FormatError::Truncated {
                structure: "test",
                field: "data",
                offset: 4,
                needed: 0xffff_ffff,
                available: 2
            }
        );
    }
}
