//! The connector credentials in `mms_management_agent` (`docs/adsync.md` §3.1, §3.4): the
//! encrypted `encrypted_configuration` column and the plaintext `private_configuration_xml`.
//!
//! # `encrypted_configuration`
//!
//! Base64 text of `[8-byte header][16-byte IV][AES-256-CBC ciphertext, PKCS#7]` (§3.4), under
//! the keyset's key 1 ([`crate::adsync::keyset::Keyset::key`]). The plaintext is UTF-16LE XML:
//!
//! ```text
//! <encrypted-attributes>CRLF
//!  <attribute name="password">P@ss…</attribute>CRLF
//! </encrypted-attributes>NUL
//! ```
//!
//! AD connectors name the attribute `password`, the Entra connector `Password` (§3.4). Values are
//! escaped like .NET `SecurityElement.Escape` (`&`, `<`, `>`, `"`, `'`).
//!
//! Named choices, each an inference from one public dump (the HTB "Monteverde" database, whose AD
//! row decodes to 248 bytes: header `f0 00 00 00 08 00 00 00`, 16-byte IV, 224 bytes of
//! ciphertext for a 16-character password):
//!
//! - **Header** (INF): docs/adsync.md says its meaning is not public and guesses "key id 1, then
//!   0"; the dump contradicts that guess. Its first DWORD, 0xF0 = 240, is exactly the number of
//!   bytes after the header (IV and ciphertext), and its second, 8, is the header's own size,
//!   the offset of the IV. [`header_for`] writes that reading for every length, so the dump's
//!   header comes out for a 224-byte ciphertext. Decryption ignores the header, as every tool
//!   does.
//! - **Plaintext layout** (INF): the compact form (no whitespace) of a 16-character password is
//!   200 bytes, which pads to 208, not 224. With one-space indentation, CRLF line ends (the layout
//!   of the plaintext XML next to it) and a terminating NUL it is 212 bytes, which pads to 224 as
//!   in the dump. The trailing NUL is also why adconnectdump strips `\0` and AADInternals trims
//!   `0x00`, `0x0a`, `0x0d` before parsing.
//!
//! Decryption is as tolerant as the tools: trailing NULs are dropped, any whitespace between
//! elements, an XML declaration and comments are accepted, and the password attribute is found
//! by a case-insensitive match on its name. It is strict where a wrong key shows: bad padding,
//! text that is not UTF-16, or a document that is not exactly one `<encrypted-attributes>`
//! element holding `<attribute name="…">` elements is a typed error, never a password.
//!
//! # `private_configuration_xml`
//!
//! [`ad_private_configuration`] writes the `adma-configuration` layout of the public dump: the
//! login user and domain appear both as elements (read by AADInternals as
//! `adma-configuration.forest-login-user`) and as `<parameter name="forest-login-user">` inside
//! `<parameter-values>` (read by adconnectdump's `.//parameter[@name='forest-login-user']`).
//! [`entra_private_configuration`] writes `<MAConfig><parameter-values>` with `UserName` as the
//! first parameter (AADInternals reads `parameter[0]`, adconnectdump
//! `.//parameter[@name='UserName']`). [`login_user`] and [`login_domain`] read either form.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use thiserror::Error;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::dpapi::alg::CipherAlg;
use crate::dpapi::crypto::{self, Padding};

mod xml;

use xml::{Event, Xml, check_chars, escape_into};

/// `mms_management_agent.ma_type` of an AD DS connector (§3.1; AADInternals selects the AD rows
/// with `WHERE ma_type = 'AD'`).
pub const AD_MA_TYPE: &str = "AD";
/// `mms_management_agent.subtype` of the Microsoft Entra connector (§3.1; AADInternals selects
/// its row with `WHERE subtype = 'Windows Azure Active Directory (Microsoft)'`).
pub const ENTRA_SUBTYPE: &str = "Windows Azure Active Directory (Microsoft)";
/// The Entra connector's well-known identifier, `b891884f-051e-4a83-95af-2544101c9083`
/// (§1: `Get-ADSyncConnector -Identifier …`). AD connectors name it, upper case and braced, as
/// their password hash sync target.
pub const ENTRA_CONNECTOR_ID: Uuid = Uuid::from_u128(0xb891884f_051e_4a83_95af_2544101c9083);

/// Name of the password attribute an AD connector writes (§3.4).
pub const AD_PASSWORD_ATTRIBUTE: &str = "password";
/// Name of the password attribute the Entra connector writes (§3.4).
pub const ENTRA_PASSWORD_ATTRIBUTE: &str = "Password";

/// Size of the header before the IV.
pub const HEADER_LEN: usize = 8;
/// Size of the IV.
pub const IV_LEN: usize = 16;
/// AES block size: the ciphertext is a non-zero multiple of it.
const BLOCK_LEN: usize = 16;

/// Why an `encrypted_configuration` did not give a password, or a value cannot be stored.
///
/// No variant carries decrypted text, so the errors are safe to print.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CredstoreError {
    /// The column is not standard, padded base64.
    #[error("encrypted_configuration is not valid base64")]
    Base64,
    /// The decoded bytes cannot be header, IV and whole AES blocks.
    #[error(
        "encrypted_configuration: {len} bytes is not an 8-byte header, a 16-byte IV and a \
         non-empty multiple of 16 bytes of ciphertext"
    )]
    Length {
        /// The decoded length.
        len: usize,
    },
    /// The PKCS#7 padding is invalid: the wrong key, or damaged data.
    #[error(
        "encrypted_configuration does not decrypt to valid padding (wrong key or damaged data)"
    )]
    BadPadding,
    /// The plaintext is not UTF-16LE text.
    #[error("the decrypted configuration is not UTF-16LE text (wrong key or damaged data)")]
    NotUtf16,
    /// The plaintext is not an `<encrypted-attributes>` document.
    #[error("the decrypted configuration is not an <encrypted-attributes> document: {0}")]
    NotXml(&'static str),
    /// The document has no attribute named `password` (in any case).
    #[error("<encrypted-attributes> holds no password attribute")]
    NoPassword,
    /// A value holds a character that XML 1.0 cannot carry, or that XML parsers would change
    /// (carriage return); the code point is given.
    #[error("a value holds U+{0:04X}, which XML cannot carry unchanged")]
    InvalidCharacter(u32),
    /// An attribute name is empty.
    #[error("an encrypted attribute needs a name")]
    EmptyName,
}

// ------------------------------------------------------------------------------------------------
// The decrypted attributes

/// The decrypted content of an `encrypted_configuration`: the password attribute's name and its
/// value. The password is zeroized on drop and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedAttributes {
    name: String,
    password: Zeroizing<String>,
}

impl EncryptedAttributes {
    /// An attribute `name` holding `password`. Both must be text XML carries unchanged: no C0
    /// control characters other than tab and line feed, no U+FFFE or U+FFFF.
    pub fn new(name: &str, password: &str) -> Result<Self, CredstoreError> {
        if name.is_empty() {
            return Err(CredstoreError::EmptyName);
        }
        check_chars(name)?;
        check_chars(password)?;
        Ok(Self {
            name: name.to_owned(),
            password: Zeroizing::new(password.to_owned()),
        })
    }

    /// An AD connector's password (attribute `password`).
    pub fn ad(password: &str) -> Result<Self, CredstoreError> {
        Self::new(AD_PASSWORD_ATTRIBUTE, password)
    }

    /// The Entra connector's password (attribute `Password`).
    pub fn entra(password: &str) -> Result<Self, CredstoreError> {
        Self::new(ENTRA_PASSWORD_ATTRIBUTE, password)
    }

    /// The attribute name as stored (`password` or `Password`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The password, taken out.
    pub fn into_password(self) -> Zeroizing<String> {
        self.password
    }

    /// The plaintext XML, without the terminating NUL (see the module documentation).
    pub fn to_xml(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(
            96 + self.name.len() + 6 * self.password.len(),
        ));
        out.push_str("<encrypted-attributes>\r\n <attribute name=\"");
        escape_into(&mut out, &self.name);
        out.push_str("\">");
        escape_into(&mut out, &self.password);
        out.push_str("</attribute>\r\n</encrypted-attributes>");
        out
    }

    /// Reads the plaintext XML (trailing NULs already removed): one `<encrypted-attributes>`
    /// element of `<attribute name="…">` elements. The first attribute whose name is
    /// `password` in any case is the password.
    pub fn from_xml(xml: &str) -> Result<Self, CredstoreError> {
        let mut x = Xml::new(xml.strip_prefix('\u{feff}').unwrap_or(xml));
        let err = CredstoreError::NotXml;
        // Prolog: the root element, after whitespace, a declaration or comments.
        match x.next_content().map_err(err)? {
            Some(Event::Start {
                name: "encrypted-attributes",
                self_closing: false,
                ..
            }) => {}
            _ => return Err(err("it does not start with <encrypted-attributes>")),
        }
        let mut found: Option<Self> = None;
        loop {
            match x.next_content().map_err(err)? {
                Some(Event::Start {
                    name: "attribute",
                    attrs,
                    self_closing,
                }) => {
                    let name = attrs
                        .into_iter()
                        .find(|(k, _)| *k == "name")
                        .map(|(_, v)| v)
                        .ok_or(err("an <attribute> has no name"))?;
                    let value = if self_closing {
                        Zeroizing::new(String::new())
                    } else {
                        x.element_text("attribute").map_err(err)?
                    };
                    if found.is_none() && name.eq_ignore_ascii_case("password") {
                        found = Some(Self {
                            name: name.to_string(),
                            password: value,
                        });
                    }
                }
                Some(Event::End("encrypted-attributes")) => break,
                Some(Event::Text(_)) => return Err(err("text outside an <attribute>")),
                _ => return Err(err("an element other than <attribute>")),
            }
        }
        if x.next_content().map_err(err)?.is_some() {
            return Err(err("content after </encrypted-attributes>"));
        }
        found.ok_or(CredstoreError::NoPassword)
    }
}

impl fmt::Debug for EncryptedAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedAttributes")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

// ------------------------------------------------------------------------------------------------
// The encrypted column

/// The header [`encrypt`] writes in front of `body_len` bytes of IV and ciphertext:
/// `u32 body_len`, `u32 8`, little-endian (see the module documentation: an inference from one
/// public dump, `f0 00 00 00 08 00 00 00` in front of 240 bytes).
pub fn header_for(body_len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&u32::try_from(body_len).unwrap_or(u32::MAX).to_le_bytes());
    h[4..].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    h
}

/// An `encrypted_configuration` taken apart: header, IV and ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedConfiguration {
    /// The 8-byte header, kept as read; decryption does not use it.
    pub header: [u8; HEADER_LEN],
    /// The CBC IV.
    pub iv: [u8; IV_LEN],
    /// The AES-256-CBC ciphertext, a non-zero multiple of 16 bytes.
    pub ciphertext: Vec<u8>,
}

impl EncryptedConfiguration {
    /// Encrypts `attributes` under `key` (the keyset's key 1) with `iv`, behind the header of
    /// [`header_for`].
    pub fn seal(key: &[u8; 32], iv: [u8; IV_LEN], attributes: &EncryptedAttributes) -> Self {
        let xml = attributes.to_xml();
        let mut plain = Zeroizing::new(Vec::with_capacity(2 * xml.len() + 2));
        plain.extend(xml.encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
        // A 32-byte key and a 16-byte IV always fit AES-256-CBC, and PKCS#7 takes any length.
        let ciphertext = crypto::cbc_encrypt(CipherAlg::Aes256, key, &iv, &plain, Padding::Pkcs7)
            .unwrap_or_else(|_| unreachable!());
        Self {
            header: header_for(IV_LEN + ciphertext.len()),
            iv,
            ciphertext,
        }
    }

    /// Splits decoded bytes: header, IV, and a non-empty whole number of AES blocks.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CredstoreError> {
        let len = bytes.len();
        let body = len.checked_sub(HEADER_LEN + IV_LEN);
        if !body.is_some_and(|b| b > 0 && b % BLOCK_LEN == 0) {
            return Err(CredstoreError::Length { len });
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&bytes[..HEADER_LEN]);
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&bytes[HEADER_LEN..HEADER_LEN + IV_LEN]);
        Ok(Self {
            header,
            iv,
            ciphertext: bytes[HEADER_LEN + IV_LEN..].to_vec(),
        })
    }

    /// Decodes the column's base64 text (surrounding whitespace is ignored) and splits it.
    pub fn from_base64(text: &str) -> Result<Self, CredstoreError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| CredstoreError::Base64)?;
        Self::from_bytes(&bytes)
    }

    /// Header, IV and ciphertext, concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.header[..], &self.iv, &self.ciphertext].concat()
    }

    /// The column's text: standard base64 with padding.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_bytes())
    }

    /// Decrypts with `key` and reads the password attribute.
    pub fn open(&self, key: &[u8; 32]) -> Result<EncryptedAttributes, CredstoreError> {
        let plain = crypto::cbc_decrypt(
            CipherAlg::Aes256,
            key,
            &self.iv,
            &self.ciphertext,
            Padding::Pkcs7,
        )
        .map_err(|_| CredstoreError::BadPadding)?;
        if plain.len() % 2 != 0 {
            return Err(CredstoreError::NotUtf16);
        }
        let units = plain
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        let mut text = Zeroizing::new(String::with_capacity(plain.len()));
        for c in char::decode_utf16(units) {
            text.push(c.map_err(|_| CredstoreError::NotUtf16)?);
        }
        EncryptedAttributes::from_xml(text.trim_end_matches('\0'))
    }
}

/// `encrypted_configuration` for `attributes` under `key` (the keyset's key 1) with `iv`: base64
/// of header, IV and ciphertext (§3.4).
pub fn encrypt(key: &[u8; 32], iv: [u8; IV_LEN], attributes: &EncryptedAttributes) -> String {
    EncryptedConfiguration::seal(key, iv, attributes).to_base64()
}

/// The attributes in an `encrypted_configuration`, decrypted with `key`.
pub fn decrypt(key: &[u8; 32], b64: &str) -> Result<EncryptedAttributes, CredstoreError> {
    EncryptedConfiguration::from_base64(b64)?.open(key)
}

// ------------------------------------------------------------------------------------------------
// private_configuration_xml

/// Appends one `<parameter>` of `<parameter-values>`, in the form of the public dump: a
/// connectivity string, or for `None` the empty parameter that marks the encrypted password.
fn parameter(out: &mut String, name: &str, value: Option<&str>) {
    out.push_str("  <parameter name=\"");
    escape_into(out, name);
    match value {
        Some(v) => {
            out.push_str("\" type=\"string\" use=\"connectivity\" dataType=\"String\">");
            escape_into(out, v);
            out.push_str("</parameter>\r\n");
        }
        None => out.push_str(
            "\" type=\"encrypted-string\" use=\"connectivity\" dataType=\"String\" \
             encrypted=\"1\" />\r\n",
        ),
    }
}

/// The `private_configuration_xml` of an AD DS connector for `forest`, logging in as `user` of
/// `domain` (e.g. `MSOL_<hex>` of `contoso.com`), in the layout of the public dump. The forest
/// GUID is the zero GUID of that dump, and password hash sync targets [`ENTRA_CONNECTOR_ID`].
///
/// Values are escaped like `SecurityElement.Escape`; they are directory names, so the caller
/// passes no control characters.
pub fn ad_private_configuration(forest: &str, user: &str, domain: &str) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str("<adma-configuration>\r\n");
    for (element, value) in [
        ("forest-name", forest),
        ("forest-port", "0"),
        ("forest-guid", "{00000000-0000-0000-0000-000000000000}"),
        ("forest-login-user", user),
        ("forest-login-domain", domain),
        ("sign-and-seal", "1"),
    ] {
        out.push_str(" <");
        out.push_str(element);
        out.push('>');
        escape_into(&mut out, value);
        out.push_str("</");
        out.push_str(element);
        out.push_str(">\r\n");
    }
    out.push_str(" <ssl-bind crl-check=\"0\">0</ssl-bind>\r\n");
    out.push_str(" <simple-bind>0</simple-bind>\r\n");
    out.push_str(" <default-ssl-strength>0</default-ssl-strength>\r\n");
    out.push_str(" <parameter-values>\r\n");
    parameter(&mut out, "forest-login-domain", Some(domain));
    parameter(&mut out, "forest-login-user", Some(user));
    parameter(&mut out, "password", None);
    parameter(&mut out, "forest-name", Some(forest));
    parameter(&mut out, "sign-and-seal", Some("1"));
    parameter(&mut out, "crl-check", Some("0"));
    parameter(&mut out, "ssl-bind", Some("0"));
    parameter(&mut out, "simple-bind", Some("0"));
    out.push_str(" </parameter-values>\r\n");
    out.push_str(" <password-hash-sync-config>\r\n  <enabled>1</enabled>\r\n  <target>{");
    out.push_str(
        &ENTRA_CONNECTOR_ID
            .hyphenated()
            .to_string()
            .to_ascii_uppercase(),
    );
    out.push_str("}</target>\r\n </password-hash-sync-config>\r\n");
    out.push_str("</adma-configuration>");
    out
}

/// The `private_configuration_xml` of the Entra connector logging in as `user`
/// (`Sync_<SERVER>_<hex>@<tenant>.onmicrosoft.com`): `UserName` is the first parameter, then the
/// empty, encrypted `Password` parameter.
pub fn entra_private_configuration(user: &str) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("<MAConfig>\r\n <parameter-values>\r\n");
    parameter(&mut out, "UserName", Some(user));
    parameter(&mut out, ENTRA_PASSWORD_ATTRIBUTE, None);
    out.push_str(" </parameter-values>\r\n</MAConfig>");
    out
}

/// The login user of a connector's `private_configuration_xml`: the first non-empty
/// `<forest-login-user>` element or `<parameter name="forest-login-user">` (AD), or
/// `<parameter name="UserName">` (Entra). `None` if there is none or the XML is malformed.
pub fn login_user(xml: &str) -> Option<String> {
    find_value(xml, &["forest-login-user", "UserName"])
}

/// The login domain of an AD connector's `private_configuration_xml`: the first non-empty
/// `<forest-login-domain>` element or `<parameter name="forest-login-domain">`.
pub fn login_domain(xml: &str) -> Option<String> {
    find_value(xml, &["forest-login-domain"])
}

/// The text of the first non-empty element named one of `names`, or of a `<parameter>` whose
/// `name` is one of them.
fn find_value(xml: &str, names: &[&str]) -> Option<String> {
    let mut x = Xml::new(xml.strip_prefix('\u{feff}').unwrap_or(xml));
    while let Some(event) = x.next().ok()? {
        let Event::Start {
            name,
            attrs,
            self_closing: false,
        } = event
        else {
            continue;
        };
        let wanted = names.contains(&name)
            || (name == "parameter"
                && attrs
                    .iter()
                    .any(|(k, v)| *k == "name" && names.contains(&v.as_str())));
        if wanted {
            let text = x.element_text(name).ok()?;
            if !text.is_empty() {
                return Some(text.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
