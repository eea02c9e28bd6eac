//! `adsync-sim dpapi …`: master keys, blobs and CREDHIST files as standalone files, with the
//! defaults of Windows 10 (AES-256, SHA-512, 8000 rounds, local-account flags).

use std::path::Path;

use anyhow::{Context, Result, bail};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;
use sim_core::dpapi::alg::HashAlg;
use sim_core::dpapi::api::DpapiError;
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::credfile::CredentialFile;
use sim_core::dpapi::credhist::CredHistFile;
use sim_core::dpapi::masterkey::{
    FLAGS_DOMAIN_USER, FLAGS_LOCAL_USER, MasterKey, MasterKeyError, MasterKeyFile, MasterKeyPolicy,
    backup_prekey,
};
use sim_core::dpapi::prekey::{Credential, PreKey, PreKeyKind, parse_hex_key, sha1_password};
use sim_core::dpapi::sid::Sid;
use sim_core::dpapi::store::new_guid;
use sim_core::limits::{MAX_BLOB_BYTES, MAX_CREDHIST_BYTES, MAX_MASTERKEY_FILE_BYTES};
use zeroize::Zeroizing;

use crate::cli::{
    CreateArgs, CredhistArgs, DecryptArgs, DpapiCommand, MasterkeyCommand, Owner, ProtectArgs,
    UnprotectArgs,
};
use crate::output::{Failure, Outcome};

/// Runs one `dpapi` command.
pub fn run(cmd: DpapiCommand) -> Result<Outcome> {
    match cmd {
        DpapiCommand::Masterkey(MasterkeyCommand::Create(a)) => create(a),
        DpapiCommand::Masterkey(MasterkeyCommand::Decrypt(a)) => decrypt(a),
        DpapiCommand::Protect(a) => protect(a),
        DpapiCommand::Unprotect(a) => unprotect(a),
        DpapiCommand::Credhist(a) => credhist(a),
    }
}

/// The RNG of a command: the given seed, or 32 bytes of operating-system randomness.
fn rng(seed: Option<u64>) -> Result<ChaCha20Rng> {
    Ok(match seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => {
            let mut s = [0u8; 32];
            getrandom::fill(&mut s)
                .map_err(|e| anyhow::anyhow!("no operating-system randomness: {e}"))?;
            ChaCha20Rng::from_seed(s)
        }
    })
}

fn parse_sid(text: &str) -> Result<Sid> {
    text.parse::<Sid>()
        .map_err(|e| anyhow::anyhow!("--sid: {e}"))
}

/// Reads an input file to its named bound ([`sim_core::limits`]).
fn read_input(path: &Path, what: &str, limit: u64, limit_name: &str) -> Result<Zeroizing<Vec<u8>>> {
    crate::input::read_bounded(path, limit, limit_name, what)
}

/// Master key files and blobs are secrets: written private (0600), never through a symbolic
/// link (`sim_store::private_fs::replace`).
fn write_output(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    sim_store::private_fs::replace(path, bytes)
        .with_context(|| format!("writing {what} {}", path.display()))
}

fn parse_entropy(text: Option<&str>) -> Result<Vec<u8>> {
    match text {
        None => Ok(vec![]),
        Some(t) => hex::decode(t.trim().trim_start_matches("0x")).with_context(|| {
            format!("--entropy: '{t}' is not hex (give the entropy bytes as hex digits)")
        }),
    }
}

fn read_master_key_file(path: &Path) -> Result<MasterKeyFile> {
    let bytes = read_input(
        path,
        "master key file",
        MAX_MASTERKEY_FILE_BYTES,
        "MAX_MASTERKEY_FILE_BYTES",
    )?;
    MasterKeyFile::parse(&bytes)
        .with_context(|| format!("{} is not a master key file", path.display()))
}

/// The credential an [`Owner`] describes; with a password, every kind a tool would try.
fn credential(owner: &Owner) -> Result<Credential> {
    let password = if owner.prekey.is_some() {
        None
    } else {
        owner.password.resolve()?
    };
    match (&owner.prekey, &password) {
        (Some(hex_key), _) => {
            let key = parse_hex_key::<20>("--prekey", hex_key)?;
            Ok(Credential::from_prekey(
                PreKeyKind::Raw,
                PreKey::from_bytes(key),
            ))
        }
        (None, Some(password)) => {
            let sid = owner
                .sid
                .as_deref()
                .context("--sid is needed with --password")?;
            Ok(Credential::any_password(
                &parse_sid(sid)?,
                password.expose(),
            ))
        }
        (None, None) => bail!("give the owner's --sid and --password, or a --prekey"),
    }
}

/// Opens a master key file for an owner, or fails with `NTE_BAD_KEY_STATE` as DPAPI would.
fn open_master_key(path: &Path, owner: &Owner) -> Result<(MasterKeyFile, PreKeyKind, MasterKey)> {
    let cred = credential(owner)?;
    let file = read_master_key_file(path)?;
    match file.decrypt(&cred) {
        Ok((kind, key)) => Ok((file, kind, key)),
        Err(e @ (MasterKeyError::WrongKey | MasterKeyError::NoMasterKeyBlock)) => {
            let api = DpapiError::BadKeyState {
                master_key: file.guid,
            };
            Err(Failure {
                result_code: api.hresult(),
                message: format!(
                    "cannot decrypt master key {} in {}: {e}: {api}",
                    file.guid,
                    path.display()
                ),
            }
            .into())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

fn create(a: CreateArgs) -> Result<Outcome> {
    let sid = parse_sid(&a.sid)?;
    let password = a.password.required()?;
    let mut rng = rng(a.seed)?;
    let (cred, flags) = if a.domain {
        (
            Credential::domain_password(&sid, password.expose()),
            FLAGS_DOMAIN_USER,
        )
    } else {
        (
            Credential::local_password(&sid, password.expose()),
            FLAGS_LOCAL_USER,
        )
    };
    let policy = MasterKeyPolicy::WINDOWS_10.with_rounds(a.rounds);
    let guid = new_guid(&mut rng);
    let key = MasterKey::generate(&mut rng);
    let credhist = new_guid(&mut rng);
    let file = MasterKeyFile::seal(
        &mut rng,
        guid,
        flags,
        &key,
        cred.primary().1,
        &backup_prekey(&sid.to_string()),
        &policy,
        Some(credhist),
    )?;
    write_output(&a.out, &file.to_bytes(), "master key file")?;
    Ok(Outcome {
        human: format!(
            "Created master key {guid} ({}, {}, {} rounds, flags {:#x}) in {}",
            policy.alg_crypt,
            policy.alg_hash,
            policy.rounds,
            flags,
            a.out.display()
        ),
        json: json!({
            "guid": guid.to_string(),
            "path": a.out.display().to_string(),
            "flags": flags,
            "rounds": policy.rounds,
            "alg_crypt": policy.alg_crypt.to_string(),
            "alg_hash": policy.alg_hash.to_string(),
            "account": if a.domain { "domain" } else { "local" },
        }),
        raw: None,
        result_code: 0,
    })
}

fn decrypt(a: DecryptArgs) -> Result<Outcome> {
    let (file, kind, key) = open_master_key(&a.file, &a.owner)?;
    let hex_key = hex::encode(key.as_bytes());
    Ok(Outcome {
        human: format!(
            "GUID: {}\nDecrypted key with {kind}\nDecrypted key: 0x{hex_key}",
            file.guid
        ),
        json: json!({
            "guid": file.guid.to_string(),
            "key": hex_key,
            "key_sha1": hex::encode(&*key.sha1()),
            "prekey_kind": kind.to_string(),
        }),
        raw: None,
        result_code: 0,
    })
}

fn protect(a: ProtectArgs) -> Result<Outcome> {
    let (file, _, key) = open_master_key(&a.key.masterkey, &a.key.owner)?;
    let entropy = parse_entropy(a.key.entropy.as_deref())?;
    let data = read_input(&a.input, "input", MAX_BLOB_BYTES, "MAX_BLOB_BYTES")?;
    let policy = match file.master_key.as_ref().map(|b| b.alg_hash) {
        Some(HashAlg::Sha512) | None => BlobPolicy::WINDOWS_10,
        Some(_) => BlobPolicy::WINDOWS_XP,
    };
    let mut rng = rng(a.seed)?;
    let bytes = Blob::seal_bytes(
        &mut rng,
        &key,
        file.guid,
        &data,
        &entropy,
        &a.description,
        0,
        &policy,
    );
    write_output(&a.out, &bytes, "blob")?;
    Ok(Outcome {
        human: format!(
            "Protected {} bytes with master key {} ({}, {}) into {} ({} bytes)",
            data.len(),
            file.guid,
            policy.alg_crypt,
            policy.alg_hash,
            a.out.display(),
            bytes.len()
        ),
        json: json!({
            "master_key_guid": file.guid.to_string(),
            "path": a.out.display().to_string(),
            "blob_len": bytes.len(),
            "alg_crypt": policy.alg_crypt.to_string(),
            "alg_hash": policy.alg_hash.to_string(),
        }),
        raw: None,
        result_code: 0,
    })
}

/// A DPAPI call that failed: `context: 0x… (text)`, then why, when known.
fn api_failure(err: DpapiError, context: &str, why: Option<String>) -> anyhow::Error {
    let message = match why {
        Some(why) => format!("{context}: {err}; {why}"),
        None => format!("{context}: {err}"),
    };
    Failure {
        result_code: err.hresult(),
        message,
    }
    .into()
}

fn unprotect(a: UnprotectArgs) -> Result<Outcome> {
    let entropy = parse_entropy(a.key.entropy.as_deref())?;
    let bytes = read_input(&a.blob, "blob", MAX_BLOB_BYTES, "MAX_BLOB_BYTES")?;
    let context = format!("CryptUnprotectData failed for {}", a.blob.display());
    // A bare blob, or a Credential Manager file wrapping one.
    let blob = match Blob::parse(&bytes) {
        Ok(b) => b,
        Err(blob_err) => match CredentialFile::parse(&bytes) {
            Ok(f) => f.blob,
            Err(_) => {
                let why = format!("not a DPAPI blob: {blob_err}");
                return Err(api_failure(
                    DpapiError::InvalidParameter,
                    &context,
                    Some(why),
                ));
            }
        },
    };
    let (file, _, key) = open_master_key(&a.key.masterkey, &a.key.owner)?;
    if file.guid != blob.master_key_guid {
        let e = DpapiError::BadKeyState {
            master_key: blob.master_key_guid,
        };
        let why = format!(
            "the blob needs master key {}, but {} holds {}",
            blob.master_key_guid,
            a.key.masterkey.display(),
            file.guid
        );
        return Err(api_failure(e, &context, Some(why)));
    }
    let plain = blob
        .open(&key, &entropy)
        .map_err(|e| api_failure(DpapiError::InvalidData, &context, Some(format!("{e}"))))?;
    Ok(Outcome {
        human: String::new(),
        json: json!({
            "master_key_guid": blob.master_key_guid.to_string(),
            "description": blob.description_text(),
            "flags": blob.flags,
            "plaintext_hex": hex::encode(&*plain),
        }),
        raw: Some(plain.to_vec()),
        result_code: 0,
    })
}

fn credhist(a: CredhistArgs) -> Result<Outcome> {
    let sid = parse_sid(&a.sid)?;
    let bytes = read_input(
        &a.file,
        "CREDHIST file",
        MAX_CREDHIST_BYTES,
        "MAX_CREDHIST_BYTES",
    )?;
    let file = CredHistFile::parse(&bytes)
        .with_context(|| format!("{} is not a CREDHIST file", a.file.display()))?;
    if let Some(other) = file.entries.iter().map(|e| &e.sid).find(|s| **s != sid) {
        bail!("{} belongs to {other}, not {sid}", a.file.display());
    }
    let password = a.password.required()?;
    let walked = file.walk(&sha1_password(password.expose()));
    if walked.is_empty() && !file.entries.is_empty() {
        return Err(Failure {
            result_code: DpapiError::InvalidData.hresult(),
            message: format!(
                "the newest CREDHIST entry does not open with this password: {}",
                DpapiError::InvalidData
            ),
        }
        .into());
    }
    // What the format lets the tool know (docs/dpapi.md §2.3): an entry has no MAC, so its
    // decryption is accepted when the padding after the NT hash is zero. An entry's SHA-1 is
    // the key of the next older entry: when that entry opens with it, the SHA-1 is confirmed.
    // Nothing checks the oldest entry's SHA-1, and nothing checks any NT hash (no entry is
    // keyed by one; with 3DES's 8-byte blocks a changed byte can garble the NT hash alone).
    // An entry whose SHA-1 does not open the next older one is corrupt (or that one is). So the
    // SHA-1 of the oldest entry and every NT hash are reported unverified, never as valid, and
    // a broken chain fails with ERROR_INVALID_DATA.
    let broken = walked.len() < file.entries.len();
    let mut human = format!(
        "CREDHIST {}: {} entries, current credential {}\n",
        a.file.display(),
        file.entries.len(),
        file.current_guid
    );
    let mut entries = Vec::new();
    for (i, (guid, h)) in walked.iter().enumerate() {
        let last = i + 1 == walked.len();
        let (verified, note) = match (last, broken) {
            (false, _) => (true, ""),
            (true, false) => (
                false,
                "  (unverified: the oldest entry; nothing in the file checks its SHA-1, and CREDHIST has no MAC)",
            ),
            (true, true) => (
                false,
                "  (UNVERIFIED: the next older entry does not open with this SHA-1; this entry or that one is corrupt)",
            ),
        };
        human.push_str(&format!(
            "{guid}  SHA1 {}  NT {}{note}\n",
            hex::encode(h.sha1),
            hex::encode(h.nt)
        ));
        entries.push(json!({ "guid": guid.to_string(), "sha1": hex::encode(h.sha1), "nt": hex::encode(h.nt), "sha1_verified": verified, "nt_verified": false }));
    }
    if !walked.is_empty() {
        human.push_str(
            "NT hashes are not verified: nothing in a CREDHIST file checks them (no MAC, and no entry is keyed by an NT hash)\n",
        );
    }
    let unreadable = file.entries.len() - walked.len();
    if broken {
        human.push_str(&format!(
            "{unreadable} older entries could not be opened (the chain is broken)\n"
        ));
        return Err(Failure {
            result_code: DpapiError::InvalidData.hresult(),
            message: format!(
                "{}the CREDHIST chain is broken: {}",
                human,
                DpapiError::InvalidData
            ),
        }
        .into());
    }
    Ok(Outcome {
        human,
        json: json!({
            "current_guid": file.current_guid.to_string(),
            "entries": entries,
            "unreadable": unreadable,
        }),
        raw: None,
        result_code: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_rng_stream() {
        let mut a = rng(Some(7)).unwrap();
        let mut b = rng(Some(7)).unwrap();
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        rand_core::Rng::fill_bytes(&mut a, &mut x);
        rand_core::Rng::fill_bytes(&mut b, &mut y);
        assert_eq!(x, y);
    }
}
