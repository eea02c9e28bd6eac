//! The ADSync codecs: the MMSK keyset and `encrypted_configuration` (`docs/adsync.md` §3.3,
//! §3.4), and the plaintext `private_configuration_xml` (§3.1).
//!
//! 1. The keyset's exact byte layout, and `key(1)` is adconnectdump's `blob[-88:-44][12:]`.
//! 2. Both codecs round-trip for random inputs (proptest), and parsing is lossless: a keyset
//!    that parses writes back the same bytes.
//! 3. Neither reader panics on arbitrary, truncated or bit-flipped input; a flipped header still
//!    opens (the tools ignore it), a flipped IV never does, and a wrong key never decrypts.
//! 4. Interoperability: `tests/oracles/adsync_reference.py`, written from the tools' reading
//!    logic and sharing no code with sim-core, recovers the passwords and user names from our
//!    keyset bytes and columns (AD and Entra, with XML special characters), and writes a keyset
//!    and a column that sim-core opens. It runs in the interpreter named by `ADSYNC_SIM_PYTHON`,
//!    else `<repo>/.venv/bin/python`, and needs pycryptodomex (installed with impacket). Without
//!    it these tests print a `SKIPPED` line and pass, unless `ADSYNC_SIM_REQUIRE_ORACLES=1`.
//!    `ADSYNC_SIM_ORACLE_SEED=<seed>` replays a run.

use crate::support::oracle::setup;
use crate::support::proptest_config as config;
use proptest::collection::vec;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};
use sim_core::adsync::credstore::{
    self, AD_MA_TYPE, AD_PASSWORD_ATTRIBUTE, CredstoreError, ENTRA_CONNECTOR_ID,
    ENTRA_PASSWORD_ATTRIBUTE, ENTRA_SUBTYPE, EncryptedAttributes, EncryptedConfiguration,
    ad_private_configuration, entra_private_configuration, header_for, login_domain, login_user,
};
use sim_core::adsync::keyset::{
    self, CALG_AES_256, KEYSET_LEN, Keyset, MAX_KEYSET_ID, credential_target, dpapi_description,
    keyset_suffix,
};
use sim_core::dpapi::FormatError;
use uuid::Uuid;

// ------------------------------------------------------------------------------------------------
// Helpers and strategies

fn keyset(seed: u64, instance: Uuid, keyset_id: u32) -> Keyset {
    Keyset::generate(&mut ChaCha20Rng::seed_from_u64(seed), instance, keyset_id)
        .expect("a keyset id from 1 to 255")
}

/// Characters XML carries unchanged (what `EncryptedAttributes::new` accepts).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Passwords of any characters XML carries, weighted towards the ones it escapes.
fn password() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec!['&', '<', '>', '"', '\'', ' ', 'é', '€', '😀', ';']);
    vec(
        prop_oneof![2 => special, 3 => any::<char>(), 3 => proptest::char::range(' ', '~')],
        0..40,
    )
    .prop_map(|cs| cs.into_iter().filter(|&c| xml_char(c)).collect())
}

/// Directory-style names: non-empty printable text, special characters included.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.@&<>\"' -]{1,30}"
}

fn attributes(ad: bool, pw: &str) -> EncryptedAttributes {
    if ad {
        EncryptedAttributes::ad(pw)
    } else {
        EncryptedAttributes::entra(pw)
    }
    .expect("the strategy makes valid passwords")
}

// ------------------------------------------------------------------------------------------------
// 1. Keyset layout

#[test]
fn keyset_byte_layout() {
    let instance = Uuid::from_u128(0x299b1d83_9dc6_479a_92f1_2357fc5abfed);
    let ks = keyset(1, instance, 1);
    let b = ks.to_bytes();
    assert_eq!(b.len(), 164);
    assert_eq!(KEYSET_LEN, 164);
    assert_eq!(&b[0..4], b"MMSK", "magic at 0");
    assert_eq!(&b[4..8], &[1, 0, 0, 0], "version at 4");
    assert_eq!(
        u32::from_le_bytes(b[8..12].try_into().unwrap()),
        100_000,
        "id at 8"
    );
    assert_eq!(&b[12..28], &instance.to_bytes_le(), "GUID at 12");
    // .NET Guid.ToByteArray(): the first three fields little-endian.
    assert_eq!(&b[12..16], &[0x83, 0x1d, 0x9b, 0x29]);
    assert_eq!(&b[48..52], &[44, 0, 0, 0], "keyBlockSize at 48");
    assert_eq!(&b[52..56], &[44, 0, 0, 0], "secondKeySize at 52");
    let record = [
        0x08, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
    ];
    assert_eq!(&b[76..88], &record, "key record 1 at 76");
    assert_eq!(&b[120..132], &record, "key record 2 at 120");
    assert_eq!(CALG_AES_256, 26128);
    // adconnectdump: key = blob[-88:-44][12:].
    let n = b.len();
    assert_eq!(&b[n - 88..n - 44][12..], ks.key(1).unwrap());
    assert_eq!(&b[88..120], ks.key(1).unwrap());
    assert_eq!(&b[132..164], ks.key(2).unwrap());
    assert_eq!(ks.keyset_id(), Some(1));
    assert_eq!(ks.instance_id(), instance);
}

#[test]
fn keyset_names() {
    let instance = Uuid::from_u128(0x6f529078_33bd_448f_a9af_20d28b1e55dc);
    let ks = keyset(2, instance, 1);
    assert_eq!(
        ks.credential_target(),
        "Microsoft_AzureADConnect_KeySet_{6F529078-33BD-448F-A9AF-20D28B1E55DC}_100000"
    );
    assert_eq!(
        ks.dpapi_description(),
        "MMS_ENCRYPTION_KEYSET_{6F529078-33BD-448F-A9AF-20D28B1E55DC}_100000"
    );
    assert_eq!(credential_target(instance, 1), ks.credential_target());
    assert_eq!(dpapi_description(instance, 1), ks.dpapi_description());
    assert_eq!(keyset::CREDENTIAL_USER_NAME, "ADSync");
}

#[test]
fn keyset_truncations_and_extensions_are_errors() {
    let b = keyset(3, Uuid::from_u128(7), 1).to_bytes();
    for len in 0..b.len() {
        assert!(
            matches!(Keyset::parse(&b[..len]), Err(FormatError::Truncated { .. })),
            "prefix of {len} bytes"
        );
    }
    let mut longer = b.to_vec();
    longer.extend_from_slice(&[0; 44]);
    assert!(matches!(
        Keyset::parse(&longer),
        Err(FormatError::TrailingBytes {
            offset: 164,
            extra: 44,
            ..
        })
    ));
}

#[test]
fn every_single_bit_flip_of_a_keyset_is_refused_or_kept() {
    let ks = keyset(4, Uuid::from_u128(0xabcdef), 2);
    let good = ks.to_bytes();
    for bit in 0..good.len() * 8 {
        let mut b = good.to_vec();
        b[bit / 8] ^= 1 << (bit % 8);
        match Keyset::parse(&b) {
            // Parsing is lossless: whatever parses writes back the same bytes.
            Ok(parsed) => assert_eq!(&parsed.to_bytes()[..], &b[..], "bit {bit}"),
            Err(_) => {
                let byte = bit / 8;
                let checked = byte < 4 || (76..88).contains(&byte) || (120..132).contains(&byte);
                assert!(checked, "bit {bit} in a free field was refused");
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 2 and 3. Properties

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn keyset_round_trip(seed: u64, instance: u128, keyset_id in 1..=MAX_KEYSET_ID) {
        let instance = Uuid::from_u128(instance);
        let ks = keyset(seed, instance, keyset_id);
        let bytes = ks.to_bytes();
        let back = Keyset::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &ks);
        prop_assert_eq!(back.keyset_id(), Some(keyset_id));
        prop_assert_eq!(back.key(1).unwrap(), &bytes[88..120]);
        prop_assert_eq!(back.credential_target(), credential_target(instance, keyset_id));
        let suffix = format!("_{}", keyset_suffix(keyset_id));
        prop_assert!(back.dpapi_description().ends_with(&suffix));
    }

    #[test]
    fn keyset_parse_never_panics_and_is_lossless(bytes in vec(any::<u8>(), 0..200)) {
        if let Ok(ks) = Keyset::parse(&bytes) {
            prop_assert_eq!(&ks.to_bytes()[..], &bytes[..]);
        }
    }

    #[test]
    fn keyset_with_random_free_fields_round_trips(seed: u64, free in vec(any::<u8>(), 72)) {
        let mut b = keyset(seed, Uuid::from_u128(u128::from(seed)), 1).to_bytes().to_vec();
        b[4..76].copy_from_slice(&free);
        let ks = Keyset::parse(&b).unwrap();
        prop_assert_eq!(&ks.to_bytes()[..], &b[..]);
    }

    #[test]
    fn encrypted_configuration_round_trip(
        key: [u8; 32], iv: [u8; 16], pw in password(), ad: bool,
    ) {
        let attrs = attributes(ad, &pw);
        let b64 = credstore::encrypt(&key, iv, &attrs);
        let back = credstore::decrypt(&key, &b64).unwrap();
        prop_assert_eq!(back.password(), pw.as_str());
        prop_assert_eq!(
            back.name(),
            if ad { AD_PASSWORD_ATTRIBUTE } else { ENTRA_PASSWORD_ATTRIBUTE }
        );
        let parts = EncryptedConfiguration::from_base64(&b64).unwrap();
        prop_assert_eq!(parts.iv, iv);
        prop_assert_eq!(parts.header, header_for(16 + parts.ciphertext.len()));
        prop_assert_eq!(parts.to_base64(), b64);
    }

    #[test]
    fn a_wrong_key_never_decrypts(
        key: [u8; 32], other: [u8; 32], iv: [u8; 16], pw in password(), ad: bool,
    ) {
        prop_assume!(key != other);
        let b64 = credstore::encrypt(&key, iv, &attributes(ad, &pw));
        let err = credstore::decrypt(&other, &b64).unwrap_err();
        prop_assert!(matches!(
            err,
            CredstoreError::BadPadding | CredstoreError::NotUtf16 | CredstoreError::NotXml(_)
        ), "{err:?}");
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_text(key: [u8; 32], text in ".{0,120}") {
        let _ = credstore::decrypt(&key, &text);
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_blocks(
        key: [u8; 32], body in vec(any::<u8>(), 0..20), blocks in 1usize..8,
    ) {
        // Right length, random content: exercises padding, UTF-16 and XML checks.
        let mut bytes = vec![0u8; 24 + 16 * blocks];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = body.get(i % body.len().max(1)).copied().unwrap_or(0) ^ (i as u8);
        }
        let parts = EncryptedConfiguration::from_bytes(&bytes).unwrap();
        let _ = parts.open(&key);
        let _ = credstore::decrypt(&key, &parts.to_base64());
    }

    #[test]
    fn login_user_reads_both_connector_kinds(
        forest in name(), user in name(), domain in name(),
    ) {
        let ad = ad_private_configuration(&forest, &user, &domain);
        prop_assert_eq!(login_user(&ad), Some(user.clone()));
        prop_assert_eq!(login_domain(&ad), Some(domain));
        let entra = entra_private_configuration(&user);
        prop_assert_eq!(login_user(&entra), Some(user));
    }

    #[test]
    fn login_user_never_panics(text in ".{0,200}") {
        let _ = login_user(&text);
        let _ = login_domain(&text);
    }
}

#[test]
fn damaged_columns_never_panic() {
    let key = [0x11; 32];
    let attrs = EncryptedAttributes::ad("Tr&ncated<pw>'\"").unwrap();
    let sealed = EncryptedConfiguration::seal(&key, [0x22; 16], &attrs);
    let b64 = sealed.to_base64();
    // Every truncation of the text.
    for end in 0..b64.len() {
        let r = credstore::decrypt(&key, &b64[..end]);
        assert!(r.is_err(), "a {end}-character prefix decrypted");
    }
    // Every single-bit flip of the decoded bytes.
    let good = sealed.to_bytes();
    let mut opened_after_ciphertext_flip = 0;
    for bit in 0..good.len() * 8 {
        let mut b = good.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let r = EncryptedConfiguration::from_bytes(&b).unwrap().open(&key);
        match bit / 8 {
            // The header: ignored on decryption, as by every tool.
            0..8 => assert_eq!(r.unwrap().password(), attrs.password(), "bit {bit}"),
            // The IV: the first plaintext block is markup, so a flip always shows.
            8..24 => assert!(r.is_err(), "IV bit {bit} still opened"),
            // Unauthenticated CBC: a flip inside the password's blocks may still parse.
            _ => opened_after_ciphertext_flip += usize::from(r.is_ok()),
        }
    }
    assert!(opened_after_ciphertext_flip < good.len() * 8 / 2);
}

#[test]
fn table_constants() {
    assert_eq!(AD_MA_TYPE, "AD");
    assert_eq!(ENTRA_SUBTYPE, "Windows Azure Active Directory (Microsoft)");
    assert_eq!(
        ENTRA_CONNECTOR_ID.to_string(),
        "b891884f-051e-4a83-95af-2544101c9083"
    );
}

// ------------------------------------------------------------------------------------------------
// 4. The independent Python reader and writer

fn random_guid(rng: &mut ChaCha20Rng) -> Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// 1 to 24 printable ASCII characters, space and XML's special characters included.
fn random_password(rng: &mut ChaCha20Rng) -> String {
    let len = 1 + rng.next_u32() % 24;
    (0..len)
        .map(|_| char::from(0x20 + (rng.next_u32() % 95) as u8))
        .collect()
}

fn random_hex(rng: &mut ChaCha20Rng) -> String {
    format!("{:012x}", rng.next_u64() & 0xffff_ffff_ffff)
}

/// Passwords every run checks: each of the five escaped characters, non-ASCII text, spaces.
const FIXED_PASSWORDS: [&str; 3] = ["P&ss<w>rd\"'&amp;", "Pässwörd€ 😀 ", "  a;b&c  "];

#[test]
fn oracle_recovers_our_passwords_and_users() {
    let Some((python, mut rng)) = setup("oracle_recovers_our_passwords_and_users") else {
        return;
    };
    let instance = random_guid(&mut rng);
    let keyset_id = if rng.next_u32() % 2 == 0 {
        1
    } else {
        1 + rng.next_u32() % MAX_KEYSET_ID
    };
    let ks = Keyset::generate(&mut rng, instance, keyset_id).unwrap();
    let key = *ks.key(1).unwrap();
    let keyset_hex = hex::encode(&*ks.to_bytes());
    let target = ks.credential_target();

    struct Case {
        ad: bool,
        password: String,
        user: String,
        domain: String,
    }
    let mut cases = Vec::new();
    let passwords: Vec<String> = FIXED_PASSWORDS
        .iter()
        .map(|p| p.to_string())
        .chain((0..5).map(|_| random_password(&mut rng)))
        .collect();
    for (i, pw) in passwords.into_iter().enumerate() {
        let hexid = random_hex(&mut rng);
        let ad = i % 2 == 0;
        cases.push(Case {
            ad,
            password: pw,
            user: if ad {
                format!("MSOL_{hexid}")
            } else {
                format!("Sync_SRV01_{hexid}@cont&oso.onmicrosoft.com")
            },
            domain: "contoso.com".to_owned(),
        });
    }
    let ops: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut iv = [0u8; 16];
            rng.fill_bytes(&mut iv);
            let b64 = credstore::encrypt(&key, iv, &attributes(c.ad, &c.password));
            let private = if c.ad {
                ad_private_configuration("contoso.com", &c.user, &c.domain)
            } else {
                entra_private_configuration(&c.user)
            };
            json!({
                "op": "recover",
                "keyset": keyset_hex,
                "target": target,
                "instance_id": instance.to_string(),
                "private_configuration": private,
                "encrypted_configuration": b64,
            })
        })
        .collect();
    let results = python.adsync_reference(&ops);
    for ((c, r), op) in cases.iter().zip(&results).zip(&ops) {
        let label = format!(
            "{} case {:?}: {r}",
            if c.ad { "AD" } else { "Entra" },
            c.password
        );
        assert_eq!(r["ok"], true, "{label}");
        assert_eq!(r["password"], c.password.as_str(), "{label}");
        let name = if c.ad { "password" } else { "Password" };
        assert_eq!(r["attribute_name"], name, "{label}");
        assert_eq!(r["kind"], if c.ad { "AD" } else { "Entra" }, "{label}");
        assert_eq!(r["user"], c.user.as_str(), "adconnectdump's XPath: {label}");
        if c.ad {
            assert_eq!(r["domain"], c.domain.as_str(), "{label}");
            assert_eq!(r["user_element"], c.user.as_str(), "AADInternals: {label}");
            assert_eq!(r["domain_element"], c.domain.as_str(), "{label}");
        } else {
            assert_eq!(
                r["entra_user_first"],
                c.user.as_str(),
                "AADInternals: {label}"
            );
        }
        let k = &r["keyset"];
        assert_eq!(k["matches_target"], true, "Get-SyncEncryptionKey: {label}");
        assert_eq!(k["id"], u64::from(ks.id()), "{label}");
        assert_eq!(k["guid"], instance.to_string(), "{label}");
        assert_eq!(k["alg"], 26128, "{label}");
        assert_eq!(k["key_len"], 32, "{label}");
        assert_eq!(k["key"], hex::encode(key), "{label}");
        assert_eq!(r["target_instance"], instance.to_string(), "{label}");
        assert_eq!(r["target_keyset"], keyset_suffix(keyset_id), "{label}");
        let column = op["encrypted_configuration"].as_str().expect("a column");
        let header = EncryptedConfiguration::from_base64(column).unwrap().header;
        assert_eq!(r["header"], hex::encode(header), "{label}");
    }
}

#[test]
fn oracle_artefacts_open_in_sim_core() {
    let Some((python, mut rng)) = setup("oracle_artefacts_open_in_sim_core") else {
        return;
    };
    let instance = random_guid(&mut rng);
    let ours = Keyset::generate(&mut rng, instance, 1).unwrap();
    let key = *ours.key(1).unwrap();
    let mut ops = vec![json!({
        "op": "make_keyset",
        "instance_id": instance.to_string(),
        "id": 100_000,
        "key1": hex::encode(key),
        "key2": hex::encode(ours.key(2).unwrap()),
    })];
    let passwords: Vec<(bool, String)> = FIXED_PASSWORDS
        .iter()
        .map(|p| p.to_string())
        .chain((0..4).map(|_| random_password(&mut rng)))
        .enumerate()
        .map(|(i, p)| (i % 2 == 0, p))
        .collect();
    for (ad, pw) in &passwords {
        let mut iv = [0u8; 16];
        rng.fill_bytes(&mut iv);
        ops.push(json!({
            "op": "encrypt",
            "key": hex::encode(key),
            "iv": hex::encode(iv),
            "name": if *ad { "password" } else { "Password" },
            "password": pw,
        }));
    }
    let results = python.adsync_reference(&ops);

    // The keyset laid out from the research table is ours byte for byte, and parses.
    let theirs = hex::decode(results[0]["hex"].as_str().expect("hex")).unwrap();
    assert_eq!(theirs, &ours.to_bytes()[..], "make_keyset: {}", results[0]);
    let parsed = Keyset::parse(&theirs).unwrap();
    assert_eq!(parsed.key(1), Some(&key));
    assert_eq!(parsed.instance_id(), instance);
    assert_eq!(parsed.keyset_id(), Some(1));

    // Columns written like AADInternals' New-DecryptedConfigPassword open with key 1.
    for ((ad, pw), r) in passwords.iter().zip(&results[1..]) {
        let b64 = r["b64"].as_str().unwrap_or_else(|| panic!("encrypt: {r}"));
        let attrs = credstore::decrypt(parsed.key(1).unwrap(), b64)
            .unwrap_or_else(|e| panic!("{pw:?}: {e}"));
        assert_eq!(attrs.password(), pw.as_str());
        assert_eq!(attrs.name(), if *ad { "password" } else { "Password" });
        let parts = EncryptedConfiguration::from_base64(b64).unwrap();
        assert_eq!(parts.header, header_for(16 + parts.ciphertext.len()));
        assert!(credstore::decrypt(parsed.key(2).unwrap(), b64).is_err());
    }
}
