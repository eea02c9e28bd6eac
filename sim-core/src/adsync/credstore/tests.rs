//! Tests of the connector credentials: the public dump's bytes, round trips, and what a wrong key gives.

use super::*;

const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 16] = [0x17; 16];

#[test]
fn plaintext_layout_and_the_public_dump_length() {
    let a = EncryptedAttributes::ad("d0m@in4dminyeah!").unwrap();
    assert_eq!(
        &*a.to_xml(),
        "<encrypted-attributes>\r\n <attribute name=\"password\">d0m@in4dminyeah!</attribute>\
         \r\n</encrypted-attributes>"
    );
    // The Monteverde AD row: 248 bytes, header f0 00 00 00 08 00 00 00.
    let sealed = EncryptedConfiguration::seal(&KEY, IV, &a);
    assert_eq!(sealed.to_bytes().len(), 248);
    assert_eq!(sealed.header, [0xf0, 0, 0, 0, 8, 0, 0, 0]);
    assert!(sealed.to_base64().starts_with("8AAAAAgAAAA"));
}

#[test]
fn round_trip_with_special_characters() {
    for pw in [
        "a&b<c>d\"e'f",
        "Pässwörd€ 😀",
        "",
        " lead and trail ",
        "&amp;",
    ] {
        for a in [
            EncryptedAttributes::ad(pw).unwrap(),
            EncryptedAttributes::entra(pw).unwrap(),
        ] {
            let b64 = encrypt(&KEY, IV, &a);
            let back = decrypt(&KEY, &b64).unwrap();
            assert_eq!(back, a);
            assert_eq!(back.password(), pw);
        }
    }
    let xml = EncryptedAttributes::ad("a&b<c>d\"e'f").unwrap().to_xml();
    assert!(xml.contains(">a&amp;b&lt;c&gt;d&quot;e&apos;f<"));
}

#[test]
fn reading_is_tolerant_like_the_tools() {
    let a = EncryptedAttributes::from_xml(
        "<?xml version=\"1.0\"?><!-- c --><encrypted-attributes>\
         <attribute name='other'>x</attribute><attribute name=\"PASSWORD\">p&#x41;&#66;\r\nq</attribute>\
         </encrypted-attributes>\n",
    )
    .unwrap();
    assert_eq!(a.name(), "PASSWORD");
    assert_eq!(a.password(), "pAB\nq");
    assert_eq!(
        EncryptedAttributes::from_xml(
            "<encrypted-attributes><attribute name=\"x\">1</attribute></encrypted-attributes>"
        ),
        Err(CredstoreError::NoPassword)
    );
    for bad in [
        "",
        "garbage",
        "<Encrypted-attributes></Encrypted-attributes>",
        "<encrypted-attributes><attribute>p</attribute></encrypted-attributes>",
        "<encrypted-attributes><attribute name=\"password\">p</attribute>",
        "<encrypted-attributes><attribute name=\"password\">a<b</attribute></encrypted-attributes>",
        "<encrypted-attributes><attribute name=\"password\">a&bogus;</attribute></encrypted-attributes>",
        "<encrypted-attributes><attribute name=\"password\">\u{1}</attribute></encrypted-attributes>",
        "<encrypted-attributes></encrypted-attributes>trailing",
        "<encrypted-attributes>text</encrypted-attributes>",
    ] {
        assert!(
            matches!(
                EncryptedAttributes::from_xml(bad),
                Err(CredstoreError::NotXml(_) | CredstoreError::NoPassword)
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn a_wrong_key_is_a_typed_error() {
    let b64 = encrypt(&KEY, IV, &EncryptedAttributes::ad("secret").unwrap());
    for i in 0..64u8 {
        let mut key = KEY;
        key[usize::from(i % 32)] ^= 1 << (i % 8);
        let err = decrypt(&key, &b64).unwrap_err();
        assert!(matches!(
            err,
            CredstoreError::BadPadding | CredstoreError::NotUtf16 | CredstoreError::NotXml(_)
        ));
    }
}

#[test]
fn malformed_columns() {
    assert_eq!(decrypt(&KEY, "not base64!"), Err(CredstoreError::Base64));
    assert_eq!(
        decrypt(&KEY, &BASE64.encode([0u8; 24])),
        Err(CredstoreError::Length { len: 24 })
    );
    assert_eq!(
        decrypt(&KEY, &BASE64.encode([0u8; 41])),
        Err(CredstoreError::Length { len: 41 })
    );
    assert_eq!(
        EncryptedAttributes::ad("a\rb"),
        Err(CredstoreError::InvalidCharacter(0x0d))
    );
    assert_eq!(
        EncryptedAttributes::new("", "x"),
        Err(CredstoreError::EmptyName)
    );
}

#[test]
fn debug_shows_no_password() {
    let a = EncryptedAttributes::entra("hunter2-secret").unwrap();
    let text = format!("{a:?}");
    assert!(!text.contains("hunter2"));
    assert!(text.contains("Password"));
}

#[test]
fn private_configurations_name_their_user() {
    let ad = ad_private_configuration("contoso.com", "MSOL_0123456789ab", "contoso.com");
    assert!(ad.contains("<forest-login-user>MSOL_0123456789ab</forest-login-user>"));
    assert!(ad.contains(
        "<parameter name=\"forest-login-user\" type=\"string\" use=\"connectivity\" \
         dataType=\"String\">MSOL_0123456789ab</parameter>"
    ));
    assert!(ad.contains("<target>{B891884F-051E-4A83-95AF-2544101C9083}</target>"));
    assert_eq!(login_user(&ad).as_deref(), Some("MSOL_0123456789ab"));
    assert_eq!(login_domain(&ad).as_deref(), Some("contoso.com"));

    let user = "Sync_SRV01_0123456789ab@contoso.onmicrosoft.com";
    let entra = entra_private_configuration(user);
    assert!(
        entra.starts_with("<MAConfig>\r\n <parameter-values>\r\n  <parameter name=\"UserName\"")
    );
    assert_eq!(login_user(&entra).as_deref(), Some(user));
    assert_eq!(login_domain(&entra), None);

    let odd = ad_private_configuration("f<&>", "u'\"&", "d");
    assert_eq!(login_user(&odd).as_deref(), Some("u'\"&"));
    assert_eq!(login_user("<x><forest-login-user>"), None);
}
