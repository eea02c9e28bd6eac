//! Looking for passwords in a serialised state: each password in UTF-8 and UTF-16LE, as bytes
//! and as hex in either case (docs/design.md §3: secrets are sealed at rest, so none of these
//! may appear).
//!
//! One automaton holds every password's byte spellings. The state is scanned once as it is,
//! then every run of hex digits in it long enough to hold a spelling is decoded, at both nibble
//! alignments, and scanned the same way: a password's hex spelling lies inside a run of hex digits and decodes, at its own
//! alignment, to the password's bytes, so this finds exactly what searching for each hex
//! spelling would, with an automaton a quarter of the size and one pass.

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// The passwords a case may have typed, ready to be looked for.
#[derive(Debug)]
pub struct SecretScanner {
    /// Every password's UTF-8 and UTF-16LE bytes; pattern `2i` and `2i + 1` are password `i`.
    automaton: AhoCorasick,
    /// Each password's length in characters (what a violation may say of it).
    chars: Vec<usize>,
    /// The shortest hex spelling of any pattern: shorter runs of hex digits cannot hold one.
    min_hex: usize,
}

impl SecretScanner {
    /// A scanner for `passwords` (empty ones are ignored: they appear everywhere).
    pub fn new(passwords: &[String]) -> Result<Self, String> {
        let passwords: Vec<&String> = passwords.iter().filter(|p| !p.is_empty()).collect();
        let patterns: Vec<Vec<u8>> = passwords
            .iter()
            .flat_map(|p| {
                let utf16 = p.encode_utf16().flat_map(u16::to_le_bytes).collect();
                [p.as_bytes().to_vec(), utf16]
            })
            .collect();
        // A contiguous NFA: built in microseconds, where a DFA's build costs more than the
        // scans it serves.
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            automaton,
            chars: passwords.iter().map(|p| p.chars().count()).collect(),
            min_hex: patterns
                .iter()
                .map(|p| 2 * p.len())
                .min()
                .unwrap_or(usize::MAX),
        })
    }

    /// The length in characters of a password found in `text`, if one is.
    pub fn find(&self, text: &[u8]) -> Option<usize> {
        if self.chars.is_empty() {
            return None;
        }
        let hit = |m: aho_corasick::Match| self.chars[m.pattern().as_usize() / 2];
        if let Some(m) = self.automaton.find(text) {
            return Some(hit(m));
        }
        let mut decoded = Vec::new();
        let is_hex = |c: u8| HEX[usize::from(c)] != NOT_HEX;
        // Runs shorter than `min_hex` cannot hold a spelling, so only every `min_hex`-th byte
        // needs a look: a run that long holds the byte `min_hex - 1` past wherever the search
        // stands, and is followed back and forth from there.
        let long = self.min_hex.max(1);
        let mut i = 0usize;
        while let Some(probe) = i.checked_add(long - 1)
            && let Some(&at) = text.get(probe)
        {
            if !is_hex(at) {
                i = probe + 1;
                continue;
            }
            let mut start = probe;
            while start > i && is_hex(text[start - 1]) {
                start -= 1;
            }
            let mut end = probe + 1;
            while end < text.len() && is_hex(text[end]) {
                end += 1;
            }
            i = end;
            let run = &text[start..end];
            if run.len() < self.min_hex {
                continue;
            }
            for align in 0..2 {
                let digits = &run[align..];
                let digits = &digits[..digits.len() & !1];
                decoded.resize(digits.len() / 2, 0);
                // Every byte of the run is a hex digit, so the (SIMD) decoder takes it; the table
                // decodes it all the same if it ever did not.
                if hex::decode_to_slice(digits, &mut decoded).is_err() {
                    for (d, p) in decoded.iter_mut().zip(digits.chunks_exact(2)) {
                        *d = (HEX[usize::from(p[0])] << 4) | HEX[usize::from(p[1])];
                    }
                }
                if let Some(m) = self.automaton.find(&decoded[..]) {
                    return Some(hit(m));
                }
            }
        }
        None
    }
}

/// Marks a byte that is not a hex digit in [`HEX`].
const NOT_HEX: u8 = 0xff;

/// The value of each byte as a hex digit (either case), or [`NOT_HEX`].
const HEX: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            b @ b'A'..=b'F' => b - b'A' + 10,
            _ => NOT_HEX,
        };
        c += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the scanner must agree with: each spelling searched for on its own.
    fn naive(text: &[u8], passwords: &[String]) -> bool {
        let lower = text.to_ascii_lowercase();
        let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        passwords.iter().filter(|p| !p.is_empty()).any(|p| {
            let utf16: Vec<u8> = p.encode_utf16().flat_map(u16::to_le_bytes).collect();
            has(text, p.as_bytes())
                || has(text, &utf16)
                || has(&lower, hex::encode(p.as_bytes()).as_bytes())
                || has(&lower, hex::encode(&utf16).as_bytes())
        })
    }

    proptest! {
        /// The scanner finds a password exactly when one of its spellings is in the text,
        /// including hex spellings at odd offsets and in upper case inside longer hex runs.
        #[test]
        fn agrees_with_searching_each_spelling(
            passwords in proptest::collection::vec("[a-zA-Z0-9!é]{1,6}", 1..4),
            noise in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'0'), Just(b'a'), Just(b'F'), Just(b'7'), Just(b'x')
            ], 0..60),
            which in 0usize..4,
            spelling in 0usize..5,
            at in 0usize..60,
        ) {
            let mut text = noise.clone();
            let p = &passwords[which % passwords.len()];
            let utf16: Vec<u8> = p.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let inserted: Vec<u8> = match spelling {
                0 => p.as_bytes().to_vec(),
                1 => utf16,
                2 => hex::encode(p.as_bytes()).into_bytes(),
                3 => hex::encode_upper(&utf16).into_bytes(),
                _ => Vec::new(),
            };
            let at = at.min(text.len());
            text.splice(at..at, inserted);
            let scanner = SecretScanner::new(&passwords).unwrap();
            prop_assert_eq!(scanner.find(&text).is_some(), naive(&text, &passwords));
            if spelling < 4 {
                prop_assert!(scanner.find(&text).is_some());
            }
        }
    }

    #[test]
    fn reports_the_length_not_the_password() {
        let s = SecretScanner::new(&["Spring-2026!".into()]).unwrap();
        let text = format!("\"blob\":\"00{}\"", hex::encode("Spring-2026!"));
        assert_eq!(s.find(text.as_bytes()), Some(12));
        assert_eq!(s.find(b"nothing here"), None);
        assert_eq!(
            SecretScanner::new(&[String::new()]).unwrap().find(b"x"),
            None
        );
    }
}
