//! The CREDENTIAL structure: real Credential Manager plaintexts, round trips, oracles.
//!
//! 1. The two real credential files in `tests/vectors/` (`docs/dpapi.md` §6, vectors 11
//!    and 14–15) decrypt. Their plaintexts parse to the documented fields and are rebuilt byte for
//!    byte.
//! 2. Property tests: `parse(to_bytes(c)) == c` for arbitrary credentials. No input makes the
//!    parser panic, including arbitrary bytes, every truncation and every single-bit flip of a
//!    valid encoding. Anything it accepts is written back unchanged.
//! 3. A credential file that sim-core writes (a generic credential under a `CRYPTPROTECT_SYSTEM`
//!    blob, §2.4) opens in impacket, dpapick3 and pypykatz (§7). They report our target, user
//!    name and secret, and they report the same as sim-core for the two real files. The Python
//!    side is found and skipped exactly as in `oracles.rs`.
//!
//! Tool quirks (see `tests/oracles/oracle.py`):
//! - dpapick3 has no CREDENTIAL reader. Its companion dpapilab-ng (`creddec.py`,
//!   `vaultstruct.py`) skips the header by the size in its first DWORD, which is how `oracle.py`
//!   reads it.
//! - impacket calls that DWORD (0x30) "Flags", so `dpapi.py credential` prints
//!   `CRED_FLAGS_REQUIRE_CONFIRMATION|CRED_FLAGS_WILDCARD_MATCH` for every file. The real
//!   `Flags` are its "Flags2". It calls the secret "Unknown3", a name it also gives the 8 bytes at
//!   0x28, so only the secret is kept. pypykatz calls the secret "unknown4".
//! - pypykatz returns non-empty strings decoded, with the NUL kept, and empty ones as `b""`.
//! - impacket and pypykatz read attributes right after the secret. mimikatz (and sim-core) skip
//!   one alignment byte after an odd-sized secret. The files here have no attributes, so this
//!   difference is not exercised.

use crate::support::proptest_config as config;
use proptest::collection::vec;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;

use crate::support::oracle::setup;
use crate::support::{hex_field, vector_bytes, vectors_json};
use serde_json::json;
use sim_core::dpapi::api::{CRYPTPROTECT_SYSTEM, ProtectFlags};
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::credential::{
    CRED_PERSIST_ENTERPRISE, CRED_PERSIST_LOCAL_MACHINE, CRED_TYPE_DOMAIN_PASSWORD,
    CRED_TYPE_GENERIC, Credential, CredentialAttribute, ENTERPRISE_BLOB_DESCRIPTION,
    padded_secret_len,
};
use sim_core::dpapi::credfile::CredentialFile;
use sim_core::dpapi::crypto::utf16le;
use sim_core::dpapi::masterkey::{MasterKey, MasterKeyFile, MasterKeyPolicy};
use sim_core::dpapi::prekey::Credential as Logon;
use sim_core::dpapi::sid::Sid;
use sim_core::dpapi::store::{ProtectStore, StoreKind};
use sim_core::filetime::FileTime;

// ------------------------------------------------------------------------------------------------
// 1. Real vectors

/// Decrypts a credential-file vector with its recorded master key. Returns the file's blob
/// description and the plaintext, which is checked against the recorded one.
fn decrypt_vector(name: &str, mk: &MasterKey) -> (String, Vec<u8>) {
    let v = &vectors_json()[name];
    let file = CredentialFile::parse(&vector_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(file.blob.flags, CRYPTPROTECT_SYSTEM, "{name}: blob flags");
    let plain = file
        .blob
        .open(mk, &[])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        hex::encode(&*plain),
        v["expected_plaintext_hex"].as_str().unwrap(),
        "{name}"
    );
    (file.blob.description_text(), plain.to_vec())
}

fn mk64(bytes: &[u8]) -> MasterKey {
    MasterKey::from_bytes(bytes.try_into().expect("64-byte master key"))
}

/// Checks what holds for every real credential: exact rebuild, the 0x1C DWORD, no secret in
/// `Debug`.
fn check_real(name: &str, cred: &Credential, plain: &[u8], description: &str) {
    assert_eq!(*cred.to_bytes(), plain, "{name}: rebuilt byte for byte");
    assert_eq!(
        cred.unknown2,
        padded_secret_len(cred.secret.len()),
        "{name}: the DWORD at 0x1C is the secret's size rounded up to 8"
    );
    assert_eq!(cred.blob_description(), Some(description), "{name}");
    let debug = format!("{cred:?}");
    let text = String::from_utf16_lossy(
        &cred
            .secret
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<_>>(),
    );
    let list = format!("{:?}", &*cred.secret);
    assert!(
        !debug.contains(&text) && !debug.contains(&list[1..list.len() - 1]),
        "{name}: Debug shows the secret: {debug}"
    );
}

#[test]
fn impacket_credential_file_parses_and_rebuilds() {
    let name = "impacket_credential_file_3des";
    let mk = mk64(&hex_field(&vectors_json()[name], "masterkey"));
    let (description, plain) = decrypt_vector(name, &mk);
    let cred = Credential::parse(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(cred.username, "david.bowie");
    assert_eq!(cred.target, "Domain:target=myfakeserver");
    assert_eq!(cred.credential_type, CRED_TYPE_DOMAIN_PASSWORD);
    assert_eq!(cred.persist, CRED_PERSIST_ENTERPRISE);
    assert_eq!(
        (cred.unknown0, cred.flags, cred.unknown2, cred.unknown3),
        (0, 0, 0x10, 0)
    );
    assert_eq!(cred.last_written.to_string(), "2018-11-07T19:19:17Z");
    assert_eq!(
        (&*cred.target_alias, &*cred.description, &*cred.unknown),
        ("", "", &[][..]),
        "absent fields are stored with size 0"
    );
    // The test file's secret: five UTF-16LE characters, no NUL.
    assert_eq!(*cred.secret, utf16le("missu"));
    assert!(cred.attributes.is_empty() && cred.trailing.is_empty());
    check_real(name, &cred, &plain, &description);
}

#[test]
fn htb_access_credential_file_opens_from_the_password_and_rebuilds() {
    // From the user's password: master key file -> master key -> credential file.
    let all = vectors_json();
    let mkv = &all["htb_access_masterkey"];
    let sid: Sid = mkv["sid"].as_str().unwrap().parse().unwrap();
    let logon = Logon::local_password(&sid, mkv["password"].as_str().unwrap());
    let (_, mk) = MasterKeyFile::parse(&vector_bytes("htb_access_masterkey"))
        .unwrap()
        .decrypt(&logon)
        .unwrap();
    let name = "htb_access_credential_file";
    assert_eq!(
        hex::encode(mk.as_bytes()),
        all[name]["masterkey"].as_str().unwrap()
    );
    let (description, plain) = decrypt_vector(name, &mk);
    let cred = Credential::parse(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(cred.target, r"Domain:interactive=ACCESS\Administrator");
    assert_eq!(cred.username, r"ACCESS\Administrator");
    // A domain password is stored as UTF-16LE without a NUL.
    assert_eq!(*cred.secret, utf16le("55Acc3ssS3cur1ty@megacorp"));
    assert_eq!(cred.credential_type, CRED_TYPE_DOMAIN_PASSWORD);
    assert_eq!(cred.persist, CRED_PERSIST_ENTERPRISE);
    assert_eq!(
        (cred.unknown0, cred.flags, cred.unknown2, cred.unknown3),
        (0x2004, 0, 0x38, 0)
    );
    // mimikatz prints "LastWritten : 8/22/2018 9:18:49 PM" for this file.
    assert_eq!(cred.last_written.to_string(), "2018-08-22T21:18:49Z");
    assert!(cred.target_alias.is_empty() && cred.description.is_empty());
    assert!(cred.unknown.is_empty() && cred.attributes.is_empty() && cred.trailing.is_empty());
    check_real(name, &cred, &plain, &description);
    assert_eq!(description, ENTERPRISE_BLOB_DESCRIPTION);
}

// ------------------------------------------------------------------------------------------------
// 2. Properties

/// Any unicode text, including the empty string and NULs.
fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn attribute() -> impl Strategy<Value = CredentialAttribute> {
    (any::<u32>(), bytes(12), bytes(12)).prop_map(|(flags, keyword, value)| CredentialAttribute {
        flags,
        keyword,
        value,
    })
}

prop_compose! {
    fn credential()(
        ints in (any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(),
                 any::<u64>()),
        strings in (text(12), text(6), text(6), bytes(6), text(12)),
        secret in bytes(40),
        attributes in vec(attribute(), 0..3),
        trailing in bytes(5),
    ) -> Credential {
        let (unknown0, credential_type, flags, last_written, unknown2, persist, unknown3) = ints;
        let (target, target_alias, description, unknown, username) = strings;
        Credential {
            unknown0, credential_type, flags, last_written: FileTime(last_written), unknown2,
            persist, unknown3, target, target_alias, description, unknown, username,
            secret: secret.into(), attributes, trailing,
        }
    }
}

/// Parses `data`; if that succeeds, writing it again must give `data` back.
fn parse_is_exact(data: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(c) = Credential::parse(data) {
        prop_assert_eq!(
            &*c.to_bytes(),
            data,
            "accepted input not written back unchanged"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_credentials_round_trip(c in credential()) {
        let bytes = c.to_bytes();
        let back = Credential::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &c);
        prop_assert_eq!(&*back.to_bytes(), &*bytes);
    }

    #[test]
    fn generic_credentials_round_trip(
        target in text(20), username in text(10), secret in bytes(64), persist in 0u32..4,
        t in any::<u64>(),
    ) {
        let c = Credential::generic(&target, &username, &secret, persist, FileTime(t));
        prop_assert_eq!(c.credential_type, CRED_TYPE_GENERIC);
        let bytes = c.to_bytes();
        let back = Credential::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, c);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(400)) {
        parse_is_exact(&data)?;
    }

    /// Random bytes behind a valid header with the right size, so the fields behind the header
    /// are reached too.
    #[test]
    fn arbitrary_bodies_never_panic(body in bytes(300), attribute_count in 0u32..4) {
        let mut data = vec![0u8; 0x30];
        data[..4].copy_from_slice(&0x30u32.to_le_bytes());
        data[0x24..0x28].copy_from_slice(&attribute_count.to_le_bytes());
        data.extend_from_slice(&body);
        let len = u32::try_from(data.len()).unwrap();
        data[4..8].copy_from_slice(&len.to_le_bytes());
        parse_is_exact(&data)?;
    }

    #[test]
    fn damaged_encodings_never_panic(c in credential()) {
        let bytes = c.to_bytes();
        for end in 0..bytes.len() {
            // The total size no longer matches, so every truncation is refused.
            let accepted = Credential::parse(&bytes[..end]).is_ok();
            prop_assert!(!accepted, "truncation to {} bytes accepted", end);
        }
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            parse_is_exact(&flipped)?;
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 3. Oracles (`crate::support::oracle`)

/// A generic credential, protected the way Windows writes a credential file: the user's master
/// key, `CRYPTPROTECT_SYSTEM`, and the description that matches the persistence. Returns the file
/// and the master key.
fn protect_credential_file(
    store: &mut ProtectStore,
    logon: &Logon,
    rng: &mut ChaCha20Rng,
    cred: &Credential,
    now: FileTime,
) -> (Vec<u8>, MasterKey) {
    let description = cred
        .blob_description()
        .expect("a persistence written to disk");
    let blob = store
        .protect(
            rng,
            logon,
            &cred.to_bytes(),
            &[],
            description,
            ProtectFlags(CRYPTPROTECT_SYSTEM),
            now,
        )
        .expect("protect");
    let blob = Blob::parse(&blob).expect("our blob parses");
    assert_eq!(blob.flags, CRYPTPROTECT_SYSTEM);
    let mk = store
        .open_master_key(logon, blob.master_key_guid)
        .expect("our master key opens");
    (CredentialFile::new(blob).to_bytes(), mk)
}

/// Generic credentials sim-core writes open in all three tools, which report our target, user
/// name and secret exactly. The cases cover a UTF-16LE password, an odd-sized binary secret (as
/// Azure AD Connect's keyset credential holds a DPAPI blob), an empty user name and secret, and
/// non-ASCII text, under Windows 10 (AES-256/SHA-512) and XP (3DES/SHA-1) blobs.
#[test]
fn generic_credential_files_open_in_impacket_dpapick3_and_pypykatz() {
    let test = "generic_credential_files_open_in_impacket_dpapick3_and_pypykatz";
    let Some((python, mut rng)) = setup(test) else {
        return;
    };
    let sid: Sid = "S-1-5-21-1004336348-1177238915-682003330-1104"
        .parse()
        .unwrap();
    let logon = Logon::local_password(&sid, "Pässwörd€");
    let now = FileTime::from_unix_secs(1_767_225_600);
    let mut binary = vec![0u8; 523];
    rand_core::Rng::fill_bytes(&mut rng, &mut binary);
    let cases = [
        (
            BlobPolicy::WINDOWS_10,
            Credential::generic(
                "Microsoft_AzureADConnect_KeySet_{C6492384-EF9D-4B30-BED9-F0737B43C269}_100000",
                "ADSync",
                &binary,
                CRED_PERSIST_LOCAL_MACHINE,
                now,
            ),
        ),
        (
            BlobPolicy::WINDOWS_10,
            Credential::generic(
                "TERMSRV/10.0.0.100",
                r"LAPTOP\administrator",
                &utf16le("admin03!@#"),
                CRED_PERSIST_LOCAL_MACHINE,
                now,
            ),
        ),
        (
            BlobPolicy::WINDOWS_XP,
            Credential::generic(
                "Zürich €",
                "",
                b"",
                CRED_PERSIST_ENTERPRISE,
                now.plus_secs(1),
            ),
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ops = Vec::new();
    let mut expect = Vec::new();
    for (n, (blob_policy, cred)) in cases.iter().enumerate() {
        let mut store = ProtectStore::new(
            &mut rng,
            sid.clone(),
            StoreKind::LocalUser,
            MasterKeyPolicy::WINDOWS_10.with_rounds(1000),
            *blob_policy,
        );
        let (file, mk) = protect_credential_file(&mut store, &logon, &mut rng, cred, now);
        // sim-core reads back what it wrote.
        let parsed = CredentialFile::parse(&file).expect("our file parses");
        assert_eq!(
            parsed.blob.description_text(),
            cred.blob_description().unwrap()
        );
        let plain = parsed.blob.open(&mk, &[]).expect("our blob opens");
        assert_eq!(
            &Credential::parse(&plain).expect("our CREDENTIAL parses"),
            cred
        );

        let path = dir.path().join(format!("credential-{n}"));
        std::fs::write(&path, &file).expect("write the credential file");
        for tool in ["impacket", "dpapick3", "pypykatz"] {
            ops.push(json!({
                "op": "credential", "tool": tool, "file": path.to_str().expect("UTF-8 path"),
                "key": hex::encode(mk.as_bytes()),
            }));
            expect.push((format!("case {n}, {tool}"), cred.clone()));
        }
    }
    // The real files: the tools must read them as sim-core does.
    for name in [
        "impacket_credential_file_3des",
        "htb_access_credential_file",
    ] {
        let mk = hex_field(&vectors_json()[name], "masterkey");
        let (_, plain) = decrypt_vector(name, &mk64(&mk));
        let cred = Credential::parse(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = dir.path().join(name);
        std::fs::write(&path, vector_bytes(name)).expect("write the vector");
        for tool in ["impacket", "dpapick3", "pypykatz"] {
            ops.push(json!({
                "op": "credential", "tool": tool, "file": path.to_str().expect("UTF-8 path"),
                "key": hex::encode(&mk),
            }));
            expect.push((format!("{name}, {tool}"), cred.clone()));
        }
    }
    let results = python.oracle(&ops);
    let failures: Vec<String> = expect
        .iter()
        .zip(&results)
        .filter(|((_, cred), r)| {
            r["ok"].as_bool() != Some(true)
                || r["target"].as_str() != Some(cred.target.as_str())
                || r["username"].as_str() != Some(cred.username.as_str())
                || r["secret"].as_str() != Some(hex::encode(&*cred.secret).as_str())
        })
        .map(|((what, cred), r)| {
            format!(
                "{what}: expected target {:?}, user name {:?}, secret {}; got {r}",
                cred.target,
                cred.username,
                hex::encode(&*cred.secret)
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "credential::{test}: {} check(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
