//! Every real-Windows artefact in `tests/vectors/` decrypts, and is rebuilt byte for byte from
//! its recorded salts (`docs/dpapi.md` §6, §7 acceptance tests 1 and 2).

use crate::support::{hex_field, vector_bytes, vectors_json};
use sim_core::dpapi::alg::{CipherAlg, HashAlg};
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::credfile::CredentialFile;
use sim_core::dpapi::credhist::{CredHistEntry, CredHistFile};
use sim_core::dpapi::masterkey::{
    BlockRandoms, MasterKey, MasterKeyBlock, MasterKeyFile, MasterKeyPolicy,
};
use sim_core::dpapi::prekey::{
    Credential, DpapiSystem, PasswordHashes, PreKey, PreKeyKind, nt_hash, nt_hash_1607,
    sha1_password,
};
use sim_core::dpapi::sid::Sid;

fn mk64(bytes: &[u8]) -> MasterKey {
    MasterKey::from_bytes(bytes.try_into().expect("64-byte master key"))
}

/// Rebuilds the master key block of `file` from the vector's recorded randoms and checks that it
/// and the whole file come out identical.
fn rebuild_master_key_file(name: &str, file: &MasterKeyFile, prekey: &PreKey, mk: &MasterKey) {
    let v = &vectors_json()[name];
    let block = file.master_key.as_ref().unwrap();
    let plain = hex_field(v, "plaintext_mk_block");
    let hl = block.alg_hash.digest().output_len();
    let randoms = BlockRandoms {
        salt: hex_field(v, "mk_salt").try_into().unwrap(),
        hmac_salt: hex_field(v, "hmac_salt").try_into().unwrap(),
        pad: plain[16 + hl..plain.len() - 64].to_vec(),
    };
    let policy = MasterKeyPolicy {
        alg_hash: block.alg_hash,
        alg_crypt: block.alg_crypt,
        rounds: block.rounds,
    };
    let rebuilt =
        MasterKeyBlock::seal(prekey.as_bytes(), mk.as_bytes(), &policy, &randoms).unwrap();
    assert_eq!(&rebuilt, block, "{name}: master key block");
    let mut whole = file.clone();
    whole.master_key = Some(rebuilt);
    assert_eq!(whole.to_bytes(), vector_bytes(name), "{name}: whole file");
}

#[test]
fn local_account_master_keys_decrypt_and_rebuild() {
    let all = vectors_json();
    for name in [
        "dpapick_xp_masterkey",
        "dpapick_win7_masterkey",
        "dpapick_win81_masterkey",
        "htb_access_masterkey",
    ] {
        let v = &all[name];
        let bytes = vector_bytes(name);
        let file = MasterKeyFile::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.to_bytes(), bytes, "{name}: parse/serialize round trip");
        assert_eq!(file.file_name(), v["file_guid"].as_str().unwrap(), "{name}");
        assert_eq!(
            u64::from(file.flags),
            v["file_flags"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(
                [
                    file.credhist.unwrap().version.to_le_bytes().as_slice(),
                    &file.credhist.unwrap().guid.to_bytes_le()
                ]
                .concat()
            ),
            v["credhist_block"].as_str().unwrap(),
            "{name}: CREDHIST block"
        );
        let sid: Sid = v["sid"].as_str().unwrap().parse().unwrap();
        let cred = Credential::local_password(&sid, v["password"].as_str().unwrap());
        assert_eq!(
            hex::encode(cred.primary().1.as_bytes()),
            v["prekey"].as_str().unwrap(),
            "{name}"
        );
        let (kind, mk) = file
            .decrypt(&cred)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(kind, PreKeyKind::Sha1);
        assert_eq!(
            hex::encode(mk.as_bytes()),
            v["expected_masterkey"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(&*mk.sha1()),
            v["expected_masterkey_sha1"].as_str().unwrap()
        );
        rebuild_master_key_file(name, &file, cred.primary().1, &mk);

        let wrong = Credential::local_password(&sid, "not the password");
        assert!(
            file.decrypt(&wrong).is_err(),
            "{name}: a wrong password must not open the key"
        );
    }
}

#[test]
fn system_master_key_opens_with_the_dpapi_system_user_half() {
    let secret = DpapiSystem::parse(&vector_bytes("impacket_dpapi_system_secret")).unwrap();
    let name = "impacket_system_user_masterkey";
    let v = &vectors_json()[name];
    let file = MasterKeyFile::parse(&vector_bytes(name)).unwrap();
    assert_eq!(file.flags, 6);
    // The machine half must not open a User-type key; the user half must.
    assert!(file.decrypt(&Credential::system_machine(&secret)).is_err());
    let (_, mk) = file.decrypt(&Credential::system_user(&secret)).unwrap();
    assert_eq!(
        hex::encode(mk.as_bytes()),
        v["expected_masterkey"].as_str().unwrap()
    );
    rebuild_master_key_file(name, &file, &PreKey::from_bytes(secret.user), &mk);
}

#[test]
fn domain_master_key_with_domain_key_block_round_trips() {
    let bytes = vector_bytes("impacket_domain_admin_masterkey");
    let file = MasterKeyFile::parse(&bytes).unwrap();
    assert_eq!(file.flags, 0);
    assert!(
        file.credhist.is_none(),
        "the domain sample has no CREDHIST block"
    );
    let dk = file.domain_key.as_ref().expect("domain key block");
    assert_eq!(
        (dk.version, dk.encrypted_secret.len(), dk.access_check.len()),
        (2, 256, 88)
    );
    let mk = file.master_key.as_ref().unwrap();
    assert_eq!(
        (mk.alg_hash, mk.alg_crypt, mk.rounds),
        (HashAlg::Hmac, CipherAlg::TripleDes, 24000)
    );
    assert_eq!(file.to_bytes(), bytes);
}

#[test]
fn blobs_decrypt_and_rebuild() {
    let all = vectors_json();
    for name in [
        "dpapick_xp_blob_simple",
        "dpapick_xp_blob_entropy",
        "dpapick_win8_blob_simple",
        "dpapick_win8_blob_entropy",
        "impacket_blob_aes_noentropy",
        "impacket_blob_aes_entropy",
        "impacket_credential_file_3des",
        "htb_access_credential_file",
    ] {
        let v = &all[name];
        let bytes = vector_bytes(name);
        let (blob, wrapper) = if name.contains("credential_file") {
            let f = CredentialFile::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(f.to_bytes(), bytes, "{name}: credential file round trip");
            (f.blob.clone(), Some(f))
        } else {
            (
                Blob::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")),
                None,
            )
        };
        assert_eq!(
            blob.to_bytes().len() + wrapper.as_ref().map_or(0, |_| 12),
            bytes.len()
        );
        assert_eq!(
            blob.master_key_guid.to_string(),
            v["masterkey_guid"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            format!("{:#x}", blob.flags),
            v["flags"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            format!("{}\0", blob.description_text()),
            v["description"].as_str().unwrap(),
            "{name}"
        );
        let mk = mk64(&hex_field(v, "masterkey"));
        let entropy = v["entropy_hex"]
            .as_str()
            .map(|e| hex::decode(e).unwrap())
            .unwrap_or_default();
        let plain = blob
            .open(&mk, &entropy)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            hex::encode(&*plain),
            v["expected_plaintext_hex"].as_str().unwrap(),
            "{name}"
        );

        let policy = BlobPolicy {
            alg_crypt: blob.alg_crypt,
            alg_crypt_bits: blob.alg_crypt_bits,
            alg_hash: blob.alg_hash,
            salt_len: blob.salt.len(),
        };
        let rebuilt = Blob::seal_with(
            &mk,
            blob.master_key_guid,
            &plain,
            &entropy,
            &blob.description_text(),
            blob.flags,
            &policy,
            blob.salt.clone(),
            blob.hmac2_key.clone(),
        );
        assert_eq!(rebuilt, blob, "{name}: rebuilt blob");
        let rebuilt_bytes = match wrapper {
            Some(mut f) => {
                f.blob = rebuilt;
                f.to_bytes()
            }
            None => rebuilt.to_bytes(),
        };
        assert_eq!(rebuilt_bytes, bytes, "{name}: rebuilt bytes");

        // Wrong entropy must never be accepted.
        let wrong: Vec<u8> = if entropy.is_empty() {
            b"x".to_vec()
        } else {
            entropy[1..].to_vec()
        };
        assert!(
            blob.open(&mk, &wrong).is_err(),
            "{name}: wrong entropy accepted"
        );
    }
}

#[test]
fn xp_credhist_walks_back_through_every_password_and_rebuilds() {
    let v = &vectors_json()["dpapick_xp_credhist"];
    let bytes = vector_bytes("dpapick_xp_credhist");
    let file = CredHistFile::parse(&bytes).unwrap();
    assert_eq!(file.to_bytes(), bytes);
    assert_eq!(
        file.current_guid.to_string(),
        v["current_guid"].as_str().unwrap()
    );
    let newest_first: Vec<&serde_json::Value> = v["entries_newest_first"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(file.entries.len(), newest_first.len());

    let chain: Vec<&str> = v["password_chain_oldest_to_current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let current = *chain.last().unwrap();
    let walked = file.walk(&sha1_password(current));
    assert_eq!(walked.len(), 4, "all four former passwords are recovered");
    for (i, (guid, hashes)) in walked.iter().enumerate() {
        let password = chain[chain.len() - 2 - i];
        assert_eq!(
            *hashes,
            PasswordHashes::of(password),
            "entry {i}: hashes of {password:?}"
        );
        assert_eq!(
            guid.to_string(),
            newest_first[i]["header_guid"].as_str().unwrap()
        );
    }

    // Rebuild each entry from its salt: the old password's hashes under the newer password.
    let sid: Sid = v["sid"].as_str().unwrap().parse().unwrap();
    for (k, entry) in file.entries.iter().enumerate() {
        let old = PasswordHashes::of(chain[k]);
        let newer = PreKey::from_hash(&*sha1_password(chain[k + 1]), &sid.to_string());
        let rebuilt = CredHistEntry::seal(
            entry.guid,
            &old,
            &newer,
            &sid,
            entry.alg_hash,
            entry.alg_crypt,
            entry.rounds,
            entry.salt,
        )
        .unwrap();
        assert_eq!(&rebuilt, entry, "entry {k}");
    }
}

/// `$DPAPImk$` lines from hashcat and John the Ripper: the master key block alone, with the
/// account context (1 local SHA-1, 2 domain NT, 3 domain 1607+).
#[test]
fn hash_format_vectors_open_with_their_passwords() {
    let path = crate::support::vectors_dir().join("hash_format_vectors.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (name, password, hash) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap(),
        );
        let f: Vec<&str> = hash.trim_start_matches("$DPAPImk$").split('*').collect();
        let (context, sid, cipher, hash_alg, rounds, salt, ct) =
            (f[1], f[2], f[3], f[4], f[5], f[6], f[8]);
        let block = MasterKeyBlock {
            version: 2,
            salt: hex::decode(salt).unwrap().try_into().unwrap(),
            rounds: rounds.parse().unwrap(),
            alg_hash: if hash_alg == "sha1" {
                HashAlg::Hmac
            } else {
                HashAlg::Sha512
            },
            alg_crypt: if cipher == "des3" {
                CipherAlg::TripleDes
            } else {
                CipherAlg::Aes256
            },
            ciphertext: hex::decode(ct).unwrap(),
        };
        let pwhash: Vec<u8> = match context {
            "1" => sha1_password(password).to_vec(),
            "2" => nt_hash(password).to_vec(),
            "3" => nt_hash_1607(&nt_hash(password), sid).to_vec(),
            other => panic!("{name}: unknown context {other}"),
        };
        let prekey = PreKey::from_hash(&pwhash, sid);
        assert!(
            block.open(prekey.as_bytes(), 64).is_ok(),
            "{name}: HMAC check failed"
        );
        assert!(
            block
                .open(PreKey::from_hash(b"wrong", sid).as_bytes(), 64)
                .is_err(),
            "{name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 11);
}
