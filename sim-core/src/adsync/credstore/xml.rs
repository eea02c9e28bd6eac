//! XML for the two connector documents: escaping like .NET `SecurityElement.Escape` and a small
//! forward-only reader (elements, attributes, text, the five predefined entities and character
//! references; DOCTYPE and CDATA refused), strict where a wrong key shows.

use zeroize::Zeroizing;

use super::CredstoreError;

/// Appends `s` escaped like .NET `SecurityElement.Escape`.
pub(super) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// XML 1.0 `Char`, less carriage return (parsers turn it into a line feed).
pub(super) fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(super) fn check_chars(s: &str) -> Result<(), CredstoreError> {
    match s.chars().find(|&c| !xml_char(c)) {
        Some(c) => Err(CredstoreError::InvalidCharacter(c.into())),
        None => Ok(()),
    }
}

/// A piece of an XML document (no `Debug`: attribute values may be secret).
pub(super) enum Event<'a> {
    /// A start tag or an empty-element tag, with its attributes unescaped.
    Start {
        name: &'a str,
        attrs: Vec<(&'a str, Zeroizing<String>)>,
        self_closing: bool,
    },
    /// An end tag.
    End(&'a str),
    /// Character data, still escaped.
    Text(&'a str),
}

/// A forward-only reader of the small XML documents ADSync stores: elements, attributes, text,
/// the five predefined entities and character references. XML declarations, processing
/// instructions and comments are skipped; DOCTYPE and CDATA are refused. It does not check that
/// tags nest: the callers check what they rely on.
pub(super) struct Xml<'a> {
    rest: &'a str,
}

pub(super) type XmlResult<T> = Result<T, &'static str>;

impl<'a> Xml<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { rest: text }
    }

    /// The next event, or `None` at the end.
    pub(super) fn next(&mut self) -> XmlResult<Option<Event<'a>>> {
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            if let Some(after) = self.rest.strip_prefix("<?") {
                self.rest = skip_past(after, "?>")?;
            } else if let Some(after) = self.rest.strip_prefix("<!--") {
                self.rest = skip_past(after, "-->")?;
            } else if self.rest.starts_with("<!") {
                return Err("DOCTYPE and CDATA are not supported");
            } else if let Some(after) = self.rest.strip_prefix("</") {
                let (name, after) = split_name(after)?;
                let after = after.trim_start_matches(is_xml_space);
                self.rest = after.strip_prefix('>').ok_or("an end tag is not closed")?;
                return Ok(Some(Event::End(name)));
            } else if let Some(after) = self.rest.strip_prefix('<') {
                return self.start_tag(after).map(Some);
            } else {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let (text, rest) = self.rest.split_at(end);
                self.rest = rest;
                return Ok(Some(Event::Text(text)));
            }
        }
    }

    /// The next event that is not whitespace-only text.
    pub(super) fn next_content(&mut self) -> XmlResult<Option<Event<'a>>> {
        loop {
            match self.next()? {
                Some(Event::Text(t)) if t.chars().all(is_xml_space) => {}
                other => return Ok(other),
            }
        }
    }

    pub(super) fn start_tag(&mut self, after_lt: &'a str) -> XmlResult<Event<'a>> {
        let (name, mut rest) = split_name(after_lt)?;
        let mut attrs = Vec::new();
        loop {
            let trimmed = rest.trim_start_matches(is_xml_space);
            let spaced = trimmed.len() < rest.len();
            rest = trimmed;
            if let Some(r) = rest.strip_prefix("/>") {
                self.rest = r;
                return Ok(Event::Start {
                    name,
                    attrs,
                    self_closing: true,
                });
            }
            if let Some(r) = rest.strip_prefix('>') {
                self.rest = r;
                return Ok(Event::Start {
                    name,
                    attrs,
                    self_closing: false,
                });
            }
            if !spaced {
                return Err("attributes must be separated by whitespace");
            }
            let (key, r) = split_name(rest)?;
            let r = r.trim_start_matches(is_xml_space);
            let r = r.strip_prefix('=').ok_or("an attribute has no value")?;
            let r = r.trim_start_matches(is_xml_space);
            let quote = r
                .chars()
                .next()
                .filter(|q| matches!(q, '"' | '\''))
                .ok_or("an attribute value is not quoted")?;
            let body = &r[1..];
            let end = body.find(quote).ok_or("an attribute value is not closed")?;
            let raw = &body[..end];
            if raw.contains('<') {
                return Err("'<' in an attribute value");
            }
            attrs.push((key, unescape(raw)?));
            rest = &body[end + 1..];
        }
    }

    /// After a start tag `name`: its text content (unescaped, line ends normalized) up to the
    /// matching end tag, which must follow directly.
    pub(super) fn element_text(&mut self, name: &str) -> XmlResult<Zeroizing<String>> {
        let mut text = Zeroizing::new(String::new());
        loop {
            match self.next()? {
                Some(Event::Text(raw)) => text.push_str(&unescape(raw)?),
                Some(Event::End(end)) if end == name => return Ok(text),
                _ => return Err("an element holds more than text"),
            }
        }
    }
}

pub(super) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The rest of `s` after the first `marker`.
pub(super) fn skip_past<'a>(s: &'a str, marker: &str) -> XmlResult<&'a str> {
    s.find(marker)
        .map(|i| &s[i + marker.len()..])
        .ok_or("a declaration or comment is not closed")
}

/// A tag or attribute name at the start of `s`, and what follows it.
pub(super) fn split_name(s: &str) -> XmlResult<(&str, &str)> {
    let end = s
        .find(|c: char| is_xml_space(c) || matches!(c, '/' | '>' | '=' | '<' | '"' | '\'' | '&'))
        .unwrap_or(s.len());
    if end == 0 {
        return Err("a tag or attribute has no name");
    }
    Ok(s.split_at(end))
}

/// Character data with entities and character references replaced, CRLF and lone CR turned
/// into LF, and every character checked against XML 1.0 `Char`.
pub(super) fn unescape(raw: &str) -> XmlResult<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r']) {
        push_checked(&mut out, &rest[..i])?;
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('\r') {
            out.push('\n');
            rest = after.strip_prefix('\n').unwrap_or(after);
            continue;
        }
        let semi = tail.find(';').ok_or("an entity is not closed")?;
        let entity = &tail[1..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .filter(|&c| xml_char(c) || c == '\r')
                    .ok_or("an unknown entity or invalid character reference")?
            }
        };
        out.push(c);
        rest = &tail[semi + 1..];
    }
    push_checked(&mut out, rest)?;
    Ok(out)
}

pub(super) fn push_checked(out: &mut String, s: &str) -> XmlResult<()> {
    if s.chars().any(|c| !xml_char(c)) {
        return Err("a character XML does not allow");
    }
    out.push_str(s);
    Ok(())
}
