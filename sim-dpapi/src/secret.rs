//! [`SecretBytes`]: key material and decrypted data, wiped when dropped, the whole allocation at
//! once.
//!
//! `zeroize::Zeroizing<Vec<u8>>` wipes its bytes one at a time (zeroize 1.9's `Vec` impl calls
//! each element's own `zeroize`, one volatile byte store each), which for the plaintext of a
//! megabyte blob was 8.5% of an unprotect (`benches/README.md`, fourth and fifth rounds). Here
//! the length is set to zero first and the `Vec`'s zeroize then wipes its whole capacity as spare
//! capacity, which zeroize 1.9 does in bulk: a fill followed by its optimisation barrier (an empty
//! `asm!` block that reads the buffer, so the compiler cannot drop the fill as a dead store; on
//! targets without one, volatile writes 16 bytes at a time). The same guarantee as `Zeroizing`,
//! at the speed of `memset`, and without any `unsafe` here.
//!
//! As with `Zeroizing<Vec<u8>>`, a buffer that grows past its capacity leaves its old allocation
//! unwiped: the callers size theirs up front.

use std::ops::{Deref, DerefMut};

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes that are wiped when dropped (the whole allocation, in bulk). Dereferences to the
/// `Vec<u8>` it holds; `Debug` does not show the bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes `bytes` over; they are wiped when the value is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0; len])
    }
}

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        // With the length at zero, all of the capacity is spare capacity, which zeroize wipes in
        // one bulk fill behind its barrier (see the module docs).
        self.0.clear();
        self.0.zeroize();
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl Deref for SecretBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// The bytes handed over without a copy to a caller that keeps `Zeroizing<Vec<u8>>` (which wipes
/// them when dropped, one byte at a time).
impl From<SecretBytes> for Zeroizing<Vec<u8>> {
    fn from(mut s: SecretBytes) -> Self {
        Zeroizing::new(std::mem::take(&mut s.0))
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroize_wipes_the_whole_capacity_and_empties_the_buffer() {
        let mut s = SecretBytes::new(Vec::with_capacity(100));
        s.extend_from_slice(&[0xa5; 60]);
        let cap = s.capacity();
        s.zeroize();
        assert!(s.is_empty());
        assert_eq!(s.capacity(), cap, "wiped in place, not reallocated");
        // What the wipe wrote cannot be read back without `unsafe` (spare capacity is
        // `MaybeUninit`); that zeroize's fill of it is not elided is zeroize's guarantee.
    }

    #[test]
    fn debug_hides_the_bytes() {
        let s = SecretBytes::new(b"hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "SecretBytes(7 bytes)");
    }
}
