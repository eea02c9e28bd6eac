//! UTF-16 strings as Win32 takes and returns them: NUL-terminated buffers in, slices up to the
//! first NUL out. Pure code, tested on every platform.

/// `s` as a NUL-terminated UTF-16 buffer. An interior NUL would silently cut the string short
/// at the API, so it is refused.
pub fn to_wide(s: &str) -> Result<Vec<u16>, InteriorNul> {
    if s.contains('\0') {
        return Err(InteriorNul);
    }
    Ok(s.encode_utf16().chain(std::iter::once(0)).collect())
}

/// The string in `buf` up to its first NUL (or all of it), with unpaired surrogates replaced.
pub fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

/// A string with a NUL inside it cannot be passed to Win32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteriorNul;

impl std::fmt::Display for InteriorNul {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the string contains a NUL character")
    }
}

impl std::error::Error for InteriorNul {}

/// A system message as FormatMessageW returns it, trimmed of its trailing CR LF and spaces.
pub fn trim_message(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_terminates() {
        for s in ["", "ADSync", "NT SERVICE\\ADSync", "Pässwörd-2026!", "€𝄞"] {
            let w = to_wide(s).unwrap();
            assert_eq!(w.last(), Some(&0));
            assert_eq!(from_wide(&w), s);
        }
        assert_eq!(to_wide("a\0b"), Err(InteriorNul));
    }

    #[test]
    fn reads_up_to_the_first_nul_or_the_end() {
        let mut buf = to_wide("Service").unwrap();
        buf.extend([b'x' as u16, 0]);
        assert_eq!(from_wide(&buf), "Service");
        assert_eq!(from_wide(&[0x41, 0x42]), "AB");
        // An unpaired surrogate does not panic.
        assert_eq!(from_wide(&[0xD800, 0x41]), "\u{FFFD}A");
    }

    #[test]
    fn trims_format_message_endings() {
        assert_eq!(
            trim_message("The data is invalid.\r\n"),
            "The data is invalid."
        );
    }
}
