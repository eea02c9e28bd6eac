//! A password as the user typed it: the one type every layer (the command language, the SCM's
//! stored logon password, the host's DPAPI calls) passes typed passwords in.
//!
//! It has no `Display`, its `Debug` prints a redaction, and its bytes are zeroized when it is
//! dropped, so a typed password reaches no log, report or error message by accident (the
//! project's rule that secrets never leave unless asked for). This module depends on nothing
//! else in the crate.

use std::fmt;

/// A password as typed. It has no `Display`, its `Debug` prints a redaction, and its bytes are
/// zeroized when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a typed password.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}
