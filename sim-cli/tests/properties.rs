//! Property tests of the DPAPI layer (`docs/dpapi.md` §1-§4):
//!
//! 1. every codec round-trips (`parse(to_bytes(x)) == x`) and every seal opens again;
//! 2. no parser panics or hangs on arbitrary bytes, nor on damaged sealed artefacts (every
//!    truncation, every single-bit flip, every aligned 4-byte window set to 0 / 0x7FFFFFFF /
//!    0xFFFFFFFF, and random small length values), and a damaged artefact that still parses
//!    never decrypts to a *different* secret;
//! 3. the `ProtectStore` semantics: password change versus reset, 90-day master key rotation,
//!    and the Windows error for each kind of failure (§3.3).
//!
//! Rounds are kept tiny (1..=20, or 5 for stores) so the module runs in seconds.

use crate::support::proptest_config as config;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sim_core::dpapi::alg::{CipherAlg, HashAlg};
use sim_core::dpapi::api::{DpapiError, ProtectFlags};
use sim_core::dpapi::blob::{Blob, BlobPolicy, PROVIDER_GUID};
use sim_core::dpapi::credfile::CredentialFile;
use sim_core::dpapi::credhist::CredHistFile;
use sim_core::dpapi::domainkey::DomainKeyBlock;
use sim_core::dpapi::masterkey::{
    BlockRandoms, CredHistRef, FLAGS_LOCAL_USER, MASTER_KEY_LEN, MasterKey, MasterKeyBlock,
    MasterKeyError, MasterKeyFile, MasterKeyPolicy, backup_prekey,
};
use sim_core::dpapi::preferred::{PREFERRED_LEN, Preferred};
use sim_core::dpapi::prekey::{
    Credential, DPAPI_SYSTEM_LEN, DpapiSystem, PasswordHashes, PreKey, PreKeyKind, sha1_password,
};
use sim_core::dpapi::sid::{MAX_SUB_AUTHORITIES, Sid};
use sim_core::dpapi::store::{ProtectStore, StoreKind};
use sim_core::filetime::FileTime;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Configuration and strategies
// ---------------------------------------------------------------------------------------------

/// Damaged master key blocks and CREDHIST entries can legitimately ask for millions of PBKDF2
/// rounds (anything up to `kdf::MAX_ROUNDS`, 10,000,000, is accepted), which takes seconds. The
/// damage tests skip decryption of those to stay fast; parsing them is still checked.
const MAX_DECRYPT_ROUNDS: u32 = 1000;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn guid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Any unicode text, including the empty string.
fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// A local or domain account SID, `S-1-5-21-a-b-c-rid`.
fn account_sid() -> impl Strategy<Value = Sid> {
    (any::<u32>(), any::<u32>(), any::<u32>(), 500u32..200_000).prop_map(|(a, b, c, rid)| {
        Sid::new(1, 5, vec![21, a, b, c, rid]).expect("five sub-authorities")
    })
}

/// Any SID Windows can represent: any revision, a 48-bit authority, 0..=15 sub-authorities.
fn any_sid() -> impl Strategy<Value = Sid> {
    (
        any::<u8>(),
        0u64..(1 << 48),
        vec(any::<u32>(), 0..=MAX_SUB_AUTHORITIES),
    )
        .prop_map(|(rev, auth, subs)| Sid::new(rev, auth, subs).expect("within limits"))
}

/// Windows 10-like (AES-256/SHA-512) or XP-like (3DES/`CALG_HMAC`) master key policy with few
/// rounds.
fn mk_policy() -> impl Strategy<Value = MasterKeyPolicy> {
    (any::<bool>(), 1u32..=20).prop_map(|(xp, rounds)| {
        if xp {
            MasterKeyPolicy::WINDOWS_XP.with_rounds(rounds)
        } else {
            MasterKeyPolicy::WINDOWS_10.with_rounds(rounds)
        }
    })
}

fn blob_policy() -> impl Strategy<Value = BlobPolicy> {
    prop_oneof![Just(BlobPolicy::WINDOWS_10), Just(BlobPolicy::WINDOWS_XP)]
}

/// CREDHIST entry algorithms: XP's 3DES/`CALG_HMAC`, or Windows 7+'s AES-256/SHA-512 (§2.3).
fn entry_algs(xp: bool) -> (HashAlg, CipherAlg) {
    if xp {
        (HashAlg::Hmac, CipherAlg::TripleDes)
    } else {
        (HashAlg::Sha512, CipherAlg::Aes256)
    }
}

fn bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len)
}

fn domain_key_block() -> impl Strategy<Value = DomainKeyBlock> {
    (any::<u32>(), guid(), bytes(0..300), bytes(0..120)).prop_map(
        |(version, guid_key, encrypted_secret, access_check)| DomainKeyBlock {
            version,
            guid_key,
            encrypted_secret,
            access_check,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A sealed master key file of a local account, with its key and the credential that opens it.
fn sealed_master_key_file(
    rng: &mut ChaCha20Rng,
    sid: &Sid,
    password: &str,
    policy: &MasterKeyPolicy,
    credhist: Option<Uuid>,
) -> (MasterKeyFile, MasterKey, Credential) {
    let cred = Credential::local_password(sid, password);
    let key = MasterKey::generate(rng);
    let guid = random_guid(rng);
    let file = MasterKeyFile::seal(
        rng,
        guid,
        FLAGS_LOCAL_USER,
        &key,
        cred.primary().1,
        &backup_prekey(&sid.to_string()),
        policy,
        credhist,
    )
    .expect("seal a master key file");
    (file, key, cred)
}

/// A CREDHIST chain over `passwords` (oldest first): the GUID naming each password, and the file.
fn credhist_chain(
    rng: &mut ChaCha20Rng,
    sid: &Sid,
    passwords: &[String],
    alg_hash: HashAlg,
    alg_crypt: CipherAlg,
    rounds: u32,
) -> (Vec<Uuid>, CredHistFile) {
    let mut guids = vec![random_guid(rng)];
    let mut file = CredHistFile::new(guids[0]);
    for pair in passwords.windows(2) {
        let new_guid = random_guid(rng);
        let newer = PreKey::from_hash(&*sha1_password(&pair[1]), &sid.to_string());
        let mut salt = [0u8; 16];
        rand_core::Rng::fill_bytes(rng, &mut salt);
        file.push_change(
            &PasswordHashes::of(&pair[0]),
            &newer,
            new_guid,
            sid,
            alg_hash,
            alg_crypt,
            rounds,
            salt,
        )
        .expect("push a CREDHIST entry");
        guids.push(new_guid);
    }
    (guids, file)
}

fn random_guid(rng: &mut ChaCha20Rng) -> Uuid {
    let mut b = [0u8; 16];
    rand_core::Rng::fill_bytes(rng, &mut b);
    Uuid::from_bytes(b)
}

// ---------------------------------------------------------------------------------------------
// Damage
// ---------------------------------------------------------------------------------------------

/// Every strict prefix of `bytes`.
fn truncations(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    (0..bytes.len()).map(move |n| &bytes[..n])
}

/// `bytes` with each 4-byte aligned window overwritten by 0, 0x7FFFFFFF and 0xFFFFFFFF, the
/// values that break length fields.
fn window_overwrites(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() / 4).flat_map(move |w| {
        [0u32, 0x7FFF_FFFF, 0xFFFF_FFFF].into_iter().map(move |v| {
            let mut out = bytes.to_vec();
            out[4 * w..4 * w + 4].copy_from_slice(&v.to_le_bytes());
            out
        })
    })
}

/// `bytes` with each single bit flipped in turn (all of them: the artefacts are small).
fn bit_flips(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() * 8).map(move |bit| {
        let mut out = bytes.to_vec();
        out[bit / 8] ^= 1 << (bit % 8);
        out
    })
}

/// `bytes` with chosen 4-byte aligned windows set to chosen small values: a length field that
/// points at another plausible boundary instead of an absurd one.
fn splices<'a>(bytes: &'a [u8], edits: &'a [(Index, u32)]) -> impl Iterator<Item = Vec<u8>> + 'a {
    edits.iter().map(move |(at, value)| {
        let w = at.index(bytes.len() / 4);
        let mut out = bytes.to_vec();
        out[4 * w..4 * w + 4].copy_from_slice(&value.to_le_bytes());
        out
    })
}

/// Every single bit flip, every window overwrite and the chosen splices of `bytes`.
fn damage<'a>(bytes: &'a [u8], edits: &'a [(Index, u32)]) -> impl Iterator<Item = Vec<u8>> + 'a {
    bit_flips(bytes)
        .chain(window_overwrites(bytes))
        .chain(splices(bytes, edits))
}

/// Random small values for [`splices`].
fn splice_edits() -> impl Strategy<Value = Vec<(Index, u32)>> {
    vec((any::<Index>(), 0u32..1024), 48)
}

/// A damaged master key file either does not parse, or re-serialises to its own bytes (up to the
/// hex case of `szGuid`, which the parser accepts in either case) and opens with the right
/// password to the original key or not at all.
fn check_damaged_master_key_file(
    bytes: &[u8],
    cred: &Credential,
    key: &MasterKey,
) -> Result<(), TestCaseError> {
    let Ok(file) = MasterKeyFile::parse(bytes) else {
        return Ok(());
    };
    let mut canonical = bytes.to_vec();
    canonical[0x0c..0x54].make_ascii_lowercase();
    prop_assert_eq!(file.to_bytes(), canonical);
    // See MAX_DECRYPT_ROUNDS: a flipped high bit in `rounds` would make this take seconds.
    if file
        .master_key
        .as_ref()
        .is_some_and(|b| b.rounds > MAX_DECRYPT_ROUNDS)
    {
        return Ok(());
    }
    if let Ok((_, got)) = file.decrypt(cred) {
        prop_assert_eq!(
            &got,
            key,
            "a damaged master key file opened to a different key"
        );
    }
    Ok(())
}

/// A damaged blob either does not parse, or re-serialises to its own bytes and opens to exactly
/// the original plaintext or not at all.
fn check_damaged_blob(
    bytes: &[u8],
    key: &MasterKey,
    entropy: &[u8],
    plaintext: &[u8],
) -> Result<(), TestCaseError> {
    let Ok(blob) = Blob::parse(bytes) else {
        return Ok(());
    };
    prop_assert_eq!(&blob.to_bytes()[..], bytes);
    if let Ok(got) = blob.open(key, entropy) {
        prop_assert_eq!(
            &got[..],
            plaintext,
            "a damaged blob opened to different data"
        );
    }
    Ok(())
}

/// A damaged credential file behaves like its blob.
fn check_damaged_credential_file(
    bytes: &[u8],
    key: &MasterKey,
    entropy: &[u8],
    plaintext: &[u8],
) -> Result<(), TestCaseError> {
    let Ok(file) = CredentialFile::parse(bytes) else {
        return Ok(());
    };
    prop_assert_eq!(&file.to_bytes()[..], bytes);
    if let Ok(got) = file.blob.open(key, entropy) {
        prop_assert_eq!(
            &got[..],
            plaintext,
            "a damaged credential file opened to different data"
        );
    }
    Ok(())
}

/// A damaged CREDHIST either does not parse, or re-serialises to its own bytes and can be walked
/// without panicking. CREDHIST entries carry no MAC (§2.3: only the zero bytes after the NT hash
/// are checked), so a damaged entry may yield different hashes; that is the format, not a bug.
fn check_damaged_credhist(bytes: &[u8], newest_sha1: &[u8; 20]) -> Result<(), TestCaseError> {
    let Ok(file) = CredHistFile::parse(bytes) else {
        return Ok(());
    };
    prop_assert_eq!(&file.to_bytes()[..], bytes);
    if file.entries.iter().all(|e| e.rounds <= MAX_DECRYPT_ROUNDS) {
        let walked = file.walk(newest_sha1);
        prop_assert!(walked.len() <= file.entries.len());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. Round trips
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn master_key_file_round_trips_and_decrypts(
        seed in any::<u64>(),
        guid in guid(),
        flags in any::<u32>(),
        policy in mk_policy(),
        credhist in proptest::option::of(guid()),
        domain_key in proptest::option::of(domain_key_block()),
        sid in account_sid(),
        password in text(16),
        other in text(16),
    ) {
        prop_assume!(password != other);
        let mut rng = rng(seed);
        let cred = Credential::local_password(&sid, &password);
        let key = MasterKey::generate(&mut rng);
        let mut file = MasterKeyFile::seal(
            &mut rng,
            guid,
            flags,
            &key,
            cred.primary().1,
            &backup_prekey(&sid.to_string()),
            &policy,
            credhist,
        )
        .unwrap();
        file.domain_key = domain_key;
        prop_assert_eq!(file.guid, guid);
        prop_assert_eq!(file.flags, flags);
        prop_assert_eq!(file.credhist, credhist.map(CredHistRef::new));
        prop_assert_eq!(file.file_name(), guid.hyphenated().to_string());

        let bytes = file.to_bytes();
        let parsed = MasterKeyFile::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &file);
        prop_assert_eq!(parsed.to_bytes(), bytes.clone());

        // §2.1: cbMasterKey 0xb0 for AES, 0x88 for 3DES; cbBackupKey 0x90 / 0x68.
        let (mk_len, bk_len) = match policy.alg_crypt {
            CipherAlg::Aes256 => (0xb0u64, 0x90u64),
            CipherAlg::TripleDes => (0x88, 0x68),
        };
        prop_assert_eq!(u64::from_le_bytes(bytes[0x60..0x68].try_into().unwrap()), mk_len);
        prop_assert_eq!(u64::from_le_bytes(bytes[0x68..0x70].try_into().unwrap()), bk_len);
        let ch_len = if credhist.is_some() { 20 } else { 0 };
        prop_assert_eq!(u64::from_le_bytes(bytes[0x70..0x78].try_into().unwrap()), ch_len);

        let (kind, got) = parsed.decrypt(&cred).unwrap();
        prop_assert_eq!(kind, PreKeyKind::Sha1);
        prop_assert_eq!(&got, &key);
        let wrong = Credential::local_password(&sid, &other);
        prop_assert_eq!(parsed.decrypt(&wrong).err(), Some(MasterKeyError::WrongKey));
    }

    #[test]
    fn master_key_block_seals_and_opens(
        seed in any::<u64>(),
        policy in mk_policy(),
        prekey in bytes(0..64),
        other in bytes(0..64),
        secret in bytes(1..97),
    ) {
        prop_assume!(prekey != other);
        let mut rng = rng(seed);
        let randoms = BlockRandoms::generate(&mut rng, &policy, secret.len());
        let block = MasterKeyBlock::seal(&prekey, &secret, &policy, &randoms).unwrap();
        prop_assert_eq!(block.ciphertext.len() % policy.alg_crypt.block_len(), 0);
        prop_assert_eq!(
            block.ciphertext.len(),
            16 + policy.alg_hash.digest().output_len() + randoms.pad.len() + secret.len()
        );
        let parsed = MasterKeyBlock::parse(&block.to_bytes(), "master key block").unwrap();
        prop_assert_eq!(&parsed, &block);
        prop_assert_eq!(&parsed.open(&prekey, secret.len()).unwrap()[..], &secret[..]);
        prop_assert_eq!(parsed.open(&other, secret.len()).err(), Some(MasterKeyError::WrongKey));
        // The same inputs give the same bytes (byte-identical rebuilds).
        let again = MasterKeyBlock::seal(&prekey, &secret, &policy, &randoms).unwrap();
        prop_assert_eq!(again, block);
    }

    #[test]
    fn blob_round_trips_and_opens(
        seed in any::<u64>(),
        policy in blob_policy(),
        mk_guid in guid(),
        plaintext in bytes(0..2000),
        entropy in bytes(0..64),
        other_entropy in bytes(0..64),
        description in text(40),
        flags in any::<u32>(),
    ) {
        prop_assume!(entropy != other_entropy);
        let mut rng = rng(seed);
        let key = MasterKey::generate(&mut rng);
        let other_key = MasterKey::generate(&mut rng);
        let blob = Blob::seal(
            &mut rng, &key, mk_guid, &plaintext, &entropy, &description, flags, &policy,
        );
        prop_assert_eq!(blob.version, 1);
        prop_assert_eq!(blob.provider, PROVIDER_GUID);
        prop_assert_eq!(blob.master_key_guid, mk_guid);
        prop_assert_eq!(blob.flags, flags);
        prop_assert_eq!(blob.alg_crypt_bits, policy.alg_crypt_bits);
        prop_assert_eq!(blob.alg_hash_bits, policy.alg_hash.bits());
        prop_assert_eq!(blob.salt.len(), policy.salt_len);
        prop_assert_eq!(blob.hmac2_key.len(), policy.salt_len);
        prop_assert_eq!(blob.sign.len(), policy.alg_hash.digest().output_len());
        // PKCS#7 always adds 1..=block bytes.
        let bl = policy.alg_crypt.block_len();
        prop_assert_eq!(blob.data.len(), (plaintext.len() / bl + 1) * bl);
        // §2.4: dwDescriptionLen counts the terminating NUL WCHAR.
        prop_assert_eq!(blob.description.len(), 2 * description.encode_utf16().count() + 2);
        prop_assert_eq!(blob.description_text(), description.trim_end_matches('\0'));

        let bytes = blob.to_bytes();
        let parsed = Blob::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &blob);
        prop_assert_eq!(parsed.to_bytes(), bytes);

        prop_assert_eq!(&parsed.open(&key, &entropy).unwrap()[..], &plaintext[..]);
        prop_assert!(parsed.open(&key, &other_entropy).is_err(), "opened with the wrong entropy");
        prop_assert!(parsed.open(&other_key, &entropy).is_err(), "opened with the wrong key");
    }

    #[test]
    fn credhist_chain_round_trips_and_walks_back(
        seed in any::<u64>(),
        xp in any::<bool>(),
        rounds in 1u32..=20,
        sid in account_sid(),
        passwords in vec(text(12), 1..=5),
        stranger in text(12),
    ) {
        prop_assume!(!passwords.contains(&stranger));
        let mut rng = rng(seed);
        let (alg_hash, alg_crypt) = entry_algs(xp);
        let (guids, file) = credhist_chain(&mut rng, &sid, &passwords, alg_hash, alg_crypt, rounds);
        prop_assert_eq!(file.entries.len(), passwords.len() - 1);
        prop_assert_eq!(file.current_guid, *guids.last().unwrap());

        let bytes = file.to_bytes();
        prop_assert_eq!(bytes.len(), 24 + file.entries.iter().map(|e| e.len()).sum::<usize>());
        let parsed = CredHistFile::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &file);
        prop_assert_eq!(parsed.to_bytes(), bytes);

        // From the newest password, every older one comes back, newest first, named by its GUID.
        let newest = sha1_password(passwords.last().unwrap());
        let walked = parsed.walk(&newest);
        let expected: Vec<(Uuid, PasswordHashes)> = (0..passwords.len() - 1)
            .rev()
            .map(|i| (guids[i], PasswordHashes::of(&passwords[i])))
            .collect();
        prop_assert_eq!(walked, expected);
        // The walk starts at the newest entry, which only the newest password opens.
        if passwords.len() > 1 {
            prop_assert!(parsed.walk(&sha1_password(&stranger)).is_empty());
        }
    }

    #[test]
    fn preferred_round_trips(guid in guid(), expiry in any::<u64>(), now in 0u64..(1 << 62)) {
        let p = Preferred { guid, expiry: FileTime(expiry) };
        let bytes = p.to_bytes();
        prop_assert_eq!(bytes.len(), PREFERRED_LEN);
        prop_assert_eq!(&bytes[..16], &guid.to_bytes_le()[..]);
        prop_assert_eq!(Preferred::parse(&bytes).unwrap(), p);

        let fresh = Preferred::for_new_key(guid, FileTime(now));
        prop_assert_eq!(fresh.expiry, FileTime(now).plus_days(90));
        prop_assert!(!fresh.is_expired(FileTime(now).plus_days(90)));
        prop_assert!(fresh.is_expired(FileTime(FileTime(now).plus_days(90).0 + 1)));
    }

    #[test]
    fn credential_file_round_trips(
        seed in any::<u64>(),
        policy in blob_policy(),
        plaintext in bytes(0..300),
        entropy in bytes(0..16),
    ) {
        let mut rng = rng(seed);
        let key = MasterKey::generate(&mut rng);
        let mk_guid = random_guid(&mut rng);
        let blob = Blob::seal(
            &mut rng, &key, mk_guid, &plaintext, &entropy, "", 0x2000_0000, &policy,
        );
        let file = CredentialFile::new(blob);
        prop_assert_eq!((file.version, file.reserved), (1, 0));
        let bytes = file.to_bytes();
        // §2.4 wrapper: u32 version | u32 size of the blob | u32 0, then the blob.
        prop_assert_eq!(&bytes[..4], &[1u8, 0, 0, 0][..]);
        prop_assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
            bytes.len() - 12
        );
        prop_assert_eq!(&bytes[8..12], &[0u8; 4][..]);
        prop_assert_eq!(&bytes[12..], &file.blob.to_bytes()[..]);
        let parsed = CredentialFile::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &file);
        prop_assert_eq!(&parsed.blob.open(&key, &entropy).unwrap()[..], &plaintext[..]);
    }

    #[test]
    fn dpapi_system_round_trips(seed in any::<u64>()) {
        let s = DpapiSystem::generate(&mut rng(seed));
        let bytes = s.to_bytes();
        prop_assert_eq!(bytes.len(), DPAPI_SYSTEM_LEN);
        prop_assert_eq!(&bytes[..4], &[1u8, 0, 0, 0][..]);
        prop_assert_eq!(DpapiSystem::parse(&bytes).unwrap(), s);
    }

    #[test]
    fn domain_key_block_round_trips(block in domain_key_block()) {
        let bytes = block.to_bytes();
        prop_assert_eq!(bytes.len(), 28 + block.encrypted_secret.len() + block.access_check.len());
        prop_assert_eq!(DomainKeyBlock::parse(&bytes).unwrap(), block);
    }

    #[test]
    fn sid_text_and_binary_round_trip(sid in any_sid()) {
        let text = sid.to_string();
        prop_assert_eq!(text.parse::<Sid>().unwrap(), sid.clone(), "text {}", text);
        let bytes = sid.to_bytes();
        prop_assert_eq!(bytes.len(), 8 + 4 * (bytes[1] as usize));
        prop_assert_eq!(Sid::from_bytes(&bytes).unwrap(), sid);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Parsers never panic, and damage is never accepted as different content
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in bytes(0..600)) {
        let key = MasterKey::from_bytes([0x42; MASTER_KEY_LEN]);
        let cred = Credential::from_prekey(PreKeyKind::Raw, PreKey::from_bytes([7; 20]));
        if let Ok(f) = MasterKeyFile::parse(&data) {
            prop_assert_eq!(MasterKeyFile::parse(&f.to_bytes()).unwrap(), f.clone());
            if f.master_key.as_ref().is_some_and(|b| b.rounds <= MAX_DECRYPT_ROUNDS) {
                let _ = f.decrypt(&cred);
            }
        }
        if let Ok(b) = Blob::parse(&data) {
            prop_assert_eq!(&b.to_bytes()[..], &data[..]);
            let _ = b.open(&key, b"");
        }
        if let Ok(c) = CredHistFile::parse(&data) {
            prop_assert_eq!(&c.to_bytes()[..], &data[..]);
            if c.entries.iter().all(|e| e.rounds <= MAX_DECRYPT_ROUNDS) {
                let _ = c.walk(&[0; 20]);
            }
        }
        if let Ok(c) = CredentialFile::parse(&data) {
            prop_assert_eq!(&c.to_bytes()[..], &data[..]);
        }
        if let Ok(p) = Preferred::parse(&data) {
            prop_assert_eq!(&p.to_bytes()[..], &data[..]);
        }
        if let Ok(s) = DpapiSystem::parse(&data) {
            prop_assert_eq!(&s.to_bytes()[..], &data[..]);
        }
        if let Ok(d) = DomainKeyBlock::parse(&data) {
            prop_assert_eq!(&d.to_bytes()[..], &data[..]);
        }
        if let Ok(s) = Sid::from_bytes(&data) {
            prop_assert_eq!(&s.to_bytes()[..], &data[..]);
        }
        if let Ok(b) = MasterKeyBlock::parse(&data, "block") {
            prop_assert_eq!(&b.to_bytes()[..], &data[..]);
        }
    }

    #[test]
    fn sid_text_parser_never_panics(s in text(80)) {
        if let Ok(sid) = s.parse::<Sid>() {
            prop_assert_eq!(sid.to_string().parse::<Sid>().unwrap(), sid);
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn damaged_master_key_files_never_give_another_key(
        seed in any::<u64>(),
        policy in mk_policy(),
        sid in account_sid(),
        password in text(12),
        with_domain_key in proptest::option::of(domain_key_block()),
        edits in splice_edits(),
    ) {
        let mut rng = rng(seed);
        let credhist = Some(random_guid(&mut rng));
        let (mut file, key, cred) =
            sealed_master_key_file(&mut rng, &sid, &password, &policy, credhist);
        file.domain_key = with_domain_key;
        let bytes = file.to_bytes();
        for t in truncations(&bytes) {
            // Every field is length-framed, so no strict prefix is a valid file.
            prop_assert!(MasterKeyFile::parse(t).is_err(), "a {}-byte prefix parsed", t.len());
        }
        for damaged in damage(&bytes, &edits) {
            check_damaged_master_key_file(&damaged, &cred, &key)?;
        }
    }

    #[test]
    fn damaged_blobs_never_open_to_other_data(
        seed in any::<u64>(),
        policy in blob_policy(),
        plaintext in bytes(0..200),
        entropy in bytes(0..32),
        description in text(8),
        edits in splice_edits(),
    ) {
        let mut rng = rng(seed);
        let key = MasterKey::generate(&mut rng);
        let mk_guid = random_guid(&mut rng);
        let blob = Blob::seal(
            &mut rng, &key, mk_guid, &plaintext, &entropy, &description, 0, &policy,
        );
        let bytes = blob.to_bytes();
        for t in truncations(&bytes) {
            prop_assert!(Blob::parse(t).is_err(), "a {}-byte prefix parsed", t.len());
        }
        for damaged in damage(&bytes, &edits) {
            check_damaged_blob(&damaged, &key, &entropy, &plaintext)?;
        }
        // The same through the credential file wrapper.
        let cred_file = CredentialFile::new(blob).to_bytes();
        for t in truncations(&cred_file) {
            prop_assert!(CredentialFile::parse(t).is_err(), "a {}-byte prefix parsed", t.len());
        }
        for damaged in damage(&cred_file, &edits) {
            check_damaged_credential_file(&damaged, &key, &entropy, &plaintext)?;
        }
    }

    #[test]
    fn damaged_credhist_files_never_panic(
        seed in any::<u64>(),
        xp in any::<bool>(),
        rounds in 1u32..=20,
        sid in account_sid(),
        passwords in vec(text(8), 3..=4),
        edits in splice_edits(),
    ) {
        let mut rng = rng(seed);
        let (alg_hash, alg_crypt) = entry_algs(xp);
        let (_, file) = credhist_chain(&mut rng, &sid, &passwords, alg_hash, alg_crypt, rounds);
        let bytes = file.to_bytes();
        let newest = sha1_password(passwords.last().unwrap());
        for t in truncations(&bytes) {
            check_damaged_credhist(t, &newest)?;
        }
        for damaged in damage(&bytes, &edits) {
            check_damaged_credhist(&damaged, &newest)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Store semantics (§3, §4)
// ---------------------------------------------------------------------------------------------

const DAY_SECS: u64 = 86_400;

fn store_policy() -> MasterKeyPolicy {
    MasterKeyPolicy::WINDOWS_10.with_rounds(5)
}

fn local_store(rng: &mut ChaCha20Rng, sid: &Sid, blob_policy: BlobPolicy) -> ProtectStore {
    ProtectStore::new(
        rng,
        sid.clone(),
        StoreKind::LocalUser,
        store_policy(),
        blob_policy,
    )
}

/// A time between 2001 and 2100.
fn start_time() -> impl Strategy<Value = FileTime> {
    (1_000_000_000i64..4_100_000_000).prop_map(FileTime::from_unix_secs)
}

fn blob_key(blob: &[u8]) -> Uuid {
    Blob::parse(blob)
        .expect("protect returns a blob")
        .master_key_guid
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn protect_then_unprotect_returns_the_data(
        seed in any::<u64>(),
        sid in account_sid(),
        password in text(12),
        policy in blob_policy(),
        data in bytes(0..500),
        entropy in bytes(0..32),
        description in text(12),
        flags in any::<u32>(),
        t0 in start_time(),
    ) {
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, policy);
        let cred = Credential::local_password(&sid, &password);
        let blob = store
            .protect(&mut rng, &cred, &data, &entropy, &description, ProtectFlags(flags), t0)
            .unwrap();
        prop_assert_eq!(store.master_keys.len(), 1);
        let preferred = store.preferred.unwrap();
        prop_assert_eq!(blob_key(&blob), preferred.guid);
        prop_assert_eq!(preferred.expiry, t0.plus_days(90));
        let (parsed, plain) = store.unprotect(&cred, &blob, &entropy).unwrap();
        prop_assert_eq!(&plain[..], &data[..]);
        prop_assert_eq!(parsed.flags, flags & !1, "CRYPTPROTECT_UI_FORBIDDEN is not stored");
        prop_assert_eq!(parsed.description_text(), description.trim_end_matches('\0'));
        // The key file references the CREDHIST's current credential.
        let mk = &store.master_keys[&preferred.guid];
        prop_assert_eq!(mk.flags, FLAGS_LOCAL_USER);
        prop_assert_eq!(
            mk.credhist.map(|c| c.guid),
            store.credhist.as_ref().map(|c| c.current_guid)
        );
        // The folder's files parse back.
        for (name, bytes) in store.files() {
            if name == "CREDHIST" {
                prop_assert!(CredHistFile::parse(&bytes).is_ok());
            } else if name.ends_with("/Preferred") {
                prop_assert_eq!(Preferred::parse(&bytes).unwrap(), preferred);
            } else {
                prop_assert_eq!(&MasterKeyFile::parse(&bytes).unwrap(), mk);
            }
        }
    }

    #[test]
    fn password_change_keeps_old_blobs_readable(
        seed in any::<u64>(),
        sid in account_sid(),
        passwords in vec(text(10), 2..=4),
        policy in blob_policy(),
        data in bytes(0..200),
        t0 in start_time(),
    ) {
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, policy);
        let creds: Vec<Credential> =
            passwords.iter().map(|p| Credential::local_password(&sid, p)).collect();
        // One blob per password, each under a new master key (one rotation per password).
        let mut blobs = Vec::new();
        let mut now = t0;
        let mut last = t0;
        let mut stale = None;
        for (i, cred) in creds.iter().enumerate() {
            if i > 0 {
                store.change_password(&mut rng, &creds[i - 1], cred).unwrap();
            }
            let blob = store.protect(&mut rng, cred, &data, b"", "", ProtectFlags(0), now).unwrap();
            if i == 0 {
                // A roaming copy of the first key that never saw the change: only CREDHIST
                // reaches it (§3.2 step 3, §4 "MKs not re-encrypted stay reachable").
                let guid = blob_key(&blob);
                stale = Some((guid, store.master_keys[&guid].clone()));
            }
            blobs.push(blob);
            last = now;
            now = now.plus_days(91);
        }
        prop_assert_eq!(store.master_keys.len(), passwords.len());
        let credhist = store.credhist.clone().unwrap();
        prop_assert_eq!(credhist.entries.len(), passwords.len() - 1);
        let newest = creds.last().unwrap();
        for file in store.master_keys.values() {
            prop_assert_eq!(file.credhist.map(|c| c.guid), Some(credhist.current_guid));
            prop_assert!(file.decrypt(newest).is_ok(), "a key was not re-encrypted");
        }
        for blob in &blobs {
            let (_, plain) = store.unprotect(newest, blob, b"").unwrap();
            prop_assert_eq!(&plain[..], &data[..]);
        }
        // Protect with the new password reuses the current key, which opens.
        let later = store
            .protect(&mut rng, newest, &data, b"", "", ProtectFlags(0), last.plus_days(1))
            .unwrap();
        prop_assert_eq!(blob_key(&later), blob_key(blobs.last().unwrap()));
        prop_assert_eq!(&store.unprotect(newest, &later, b"").unwrap().1[..], &data[..]);

        let (guid, old_copy) = stale.unwrap();
        store.master_keys.insert(guid, old_copy);
        let (_, plain) = store.unprotect(newest, &blobs[0], b"").unwrap();
        prop_assert_eq!(&plain[..], &data[..], "CREDHIST did not reach the un-resealed key");
    }

    #[test]
    fn change_then_new_key_works(
        seed in any::<u64>(),
        sid in account_sid(),
        old_pw in text(10),
        new_pw in text(10),
        data in bytes(0..100),
        t0 in start_time(),
    ) {
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, BlobPolicy::WINDOWS_10);
        let old = Credential::local_password(&sid, &old_pw);
        let new = Credential::local_password(&sid, &new_pw);
        let before = store.protect(&mut rng, &old, &data, b"e", "", ProtectFlags(0), t0).unwrap();
        let first_current = store.credhist.as_ref().unwrap().current_guid;
        store.change_password(&mut rng, &old, &new).unwrap();
        let credhist = store.credhist.clone().unwrap();
        prop_assert_ne!(credhist.current_guid, first_current);
        prop_assert_eq!(
            credhist.walk(&sha1_password(&new_pw)),
            vec![(first_current, PasswordHashes::of(&old_pw))]
        );
        prop_assert_eq!(&store.unprotect(&new, &before, b"e").unwrap().1[..], &data[..]);

        let (guid, _) = store.create_master_key(&mut rng, &new, t0.plus_days(1)).unwrap();
        prop_assert_eq!(store.preferred.unwrap().guid, guid);
        let after = store
            .protect(&mut rng, &new, &data, b"e", "", ProtectFlags(0), t0.plus_days(2))
            .unwrap();
        prop_assert_eq!(blob_key(&after), guid);
        prop_assert_eq!(
            store.master_keys[&guid].credhist.map(|c| c.guid),
            Some(credhist.current_guid)
        );
        prop_assert_eq!(&store.unprotect(&new, &after, b"e").unwrap().1[..], &data[..]);
        prop_assert_eq!(&store.unprotect(&new, &before, b"e").unwrap().1[..], &data[..]);
    }

    #[test]
    fn reset_makes_old_blobs_bad_key_state(
        seed in any::<u64>(),
        sid in account_sid(),
        history in vec(text(10), 1..=3),
        reset_pw in text(10),
        data in bytes(0..100),
        t0 in start_time(),
    ) {
        prop_assume!(!history.contains(&reset_pw));
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, BlobPolicy::WINDOWS_10);
        let creds: Vec<Credential> =
            history.iter().map(|p| Credential::local_password(&sid, p)).collect();
        for pair in creds.windows(2) {
            store.change_password(&mut rng, &pair[0], &pair[1]).unwrap();
        }
        let old = creds.last().unwrap();
        let before = store.protect(&mut rng, old, &data, b"", "", ProtectFlags(0), t0).unwrap();
        let old_guid = blob_key(&before);
        let files_before = store.files();

        store.reset_password();
        prop_assert_eq!(store.files(), files_before, "a reset changes nothing in the folder");
        let new = Credential::local_password(&sid, &reset_pw);
        prop_assert_eq!(
            store.unprotect(&new, &before, b"").err(),
            Some(DpapiError::BadKeyState { master_key: old_guid })
        );
        prop_assert_eq!(
            DpapiError::BadKeyState { master_key: old_guid }.hresult(),
            0x8009_000B
        );
        // New data gets a new key, although the old one is still preferred and unexpired.
        let after = store
            .protect(&mut rng, &new, &data, b"", "", ProtectFlags(0), t0.plus_days(1))
            .unwrap();
        let new_guid = blob_key(&after);
        prop_assert_ne!(new_guid, old_guid);
        prop_assert_eq!(store.master_keys.len(), 2);
        prop_assert_eq!(store.preferred.unwrap().guid, new_guid);
        prop_assert_eq!(&store.unprotect(&new, &after, b"").unwrap().1[..], &data[..]);
        // The old key is undecryptable, not deleted: the old password still opens it.
        prop_assert_eq!(&store.unprotect(old, &before, b"").unwrap().1[..], &data[..]);
    }

    #[test]
    fn master_keys_rotate_after_90_days(
        seed in any::<u64>(),
        sid in account_sid(),
        password in text(10),
        policy in blob_policy(),
        data in bytes(0..100),
        t0 in start_time(),
        extra_secs in 0u64..DAY_SECS,
    ) {
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, policy);
        let cred = Credential::local_password(&sid, &password);
        let mut protect = |store: &mut ProtectStore, now: FileTime| {
            store.protect(&mut rng, &cred, &data, b"", "", ProtectFlags(0), now).unwrap()
        };
        let b0 = protect(&mut store, t0);
        let b89 = protect(&mut store, t0.plus_days(89).plus_secs(extra_secs));
        prop_assert_eq!(blob_key(&b89), blob_key(&b0), "a key younger than 90 days is reused");
        prop_assert_eq!(store.master_keys.len(), 1);
        let b91 = protect(&mut store, t0.plus_days(91).plus_secs(extra_secs));
        prop_assert_ne!(blob_key(&b91), blob_key(&b0), "an expired key is replaced");
        prop_assert_eq!(store.master_keys.len(), 2);
        prop_assert_eq!(store.preferred.unwrap().guid, blob_key(&b91));
        for b in [&b0, &b89, &b91] {
            prop_assert_eq!(&store.unprotect(&cred, b, b"").unwrap().1[..], &data[..]);
        }
    }

    #[test]
    fn unprotect_errors_are_the_windows_ones(
        seed in any::<u64>(),
        sid in account_sid(),
        password in text(10),
        policy in blob_policy(),
        data in bytes(0..100),
        entropy in bytes(0..16),
        wrong_entropy in bytes(0..16),
        garbage in bytes(0..300),
        flip in any::<Index>(),
        t0 in start_time(),
    ) {
        prop_assume!(entropy != wrong_entropy);
        let mut rng = rng(seed);
        let mut store = local_store(&mut rng, &sid, policy);
        let cred = Credential::local_password(&sid, &password);
        let blob =
            store.protect(&mut rng, &cred, &data, &entropy, "d", ProtectFlags(0), t0).unwrap();

        let err = |blob: &[u8], entropy: &[u8]| store.unprotect(&cred, blob, entropy).err();
        prop_assert_eq!(err(&blob, &wrong_entropy), Some(DpapiError::InvalidData));
        prop_assert_eq!(DpapiError::InvalidData.hresult(), 0x8007_000D);

        // A corrupted sign (the last 8 bytes lie inside it).
        let mut tampered = blob.clone();
        let n = tampered.len();
        tampered[n - 1 - flip.index(8)] ^= 0x01;
        prop_assert_eq!(err(&tampered, &entropy), Some(DpapiError::InvalidData));

        prop_assert_eq!(err(&[], &entropy), Some(DpapiError::InvalidParameter));
        if Blob::parse(&garbage).is_err() {
            prop_assert_eq!(err(&garbage, &entropy), Some(DpapiError::InvalidParameter));
        }
        prop_assert_eq!(DpapiError::InvalidParameter.hresult(), 0x8007_0057);

        // The key the blob names is absent: from this store (deleted file) and in another one.
        let guid = blob_key(&blob);
        let mut other = local_store(&mut rng, &sid, policy);
        prop_assert_eq!(
            other.unprotect(&cred, &blob, &entropy).err(),
            Some(DpapiError::BadKeyState { master_key: guid })
        );
        let _ = other.protect(&mut rng, &cred, &data, b"", "", ProtectFlags(0), t0).unwrap();
        prop_assert_eq!(
            other.unprotect(&cred, &blob, &entropy).err(),
            Some(DpapiError::BadKeyState { master_key: guid })
        );
        store.master_keys.remove(&guid);
        prop_assert_eq!(
            store.unprotect(&cred, &blob, &entropy).err(),
            Some(DpapiError::BadKeyState { master_key: guid })
        );
    }
}

proptest! {
    // Domain credentials run the 10,000-round 1607 NT stretch (§1.2), so few cases.
    #![proptest_config(config(6))]

    #[test]
    fn domain_password_change_keeps_old_blobs_readable(
        seed in any::<u64>(),
        sid in account_sid(),
        old_pw in text(8),
        new_pw in text(8),
        data in bytes(0..64),
        t0 in start_time(),
    ) {
        let mut rng = rng(seed);
        let mut store = ProtectStore::new(
            &mut rng,
            sid.clone(),
            StoreKind::DomainUser,
            store_policy(),
            BlobPolicy::WINDOWS_10,
        );
        let old = Credential::domain_password(&sid, &old_pw);
        let new = Credential::domain_password(&sid, &new_pw);
        let before = store.protect(&mut rng, &old, &data, b"", "", ProtectFlags(0), t0).unwrap();
        let guid = blob_key(&before);
        prop_assert_eq!(store.master_keys[&guid].flags, 0, "domain keys have flags 0 (§2.1)");
        prop_assert_eq!(store.master_keys[&guid].decrypt(&old).unwrap().0, PreKeyKind::NtProtected);
        let stale = store.master_keys[&guid].clone();

        store.change_password(&mut rng, &old, &new).unwrap();
        prop_assert_eq!(&store.unprotect(&new, &before, b"").unwrap().1[..], &data[..]);
        // A copy that missed the change is reached through CREDHIST (the NT hash it stores).
        store.master_keys.insert(guid, stale);
        prop_assert_eq!(&store.unprotect(&new, &before, b"").unwrap().1[..], &data[..]);
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn system_and_virtual_account_stores_use_dpapi_system(
        seed in any::<u64>(),
        service in "[A-Za-z]{1,12}",
        data in bytes(0..64),
        entropy in bytes(0..16),
        t0 in start_time(),
    ) {
        let mut rng = rng(seed);
        let secret = DpapiSystem::generate(&mut rng);
        let other_secret = DpapiSystem::generate(&mut rng);
        let service_sid = Sid::for_service(&service);
        let cases = [
            (
                Sid::local_system(),
                StoreKind::System,
                Credential::system_machine(&secret),
                Credential::system_machine(&other_secret),
            ),
            (
                Sid::local_system(),
                StoreKind::System,
                Credential::system_user(&secret),
                Credential::system_machine(&secret),
            ),
            (
                service_sid.clone(),
                StoreKind::VirtualAccount,
                Credential::virtual_account(&secret, &service_sid),
                Credential::virtual_account(&other_secret, &service_sid),
            ),
        ];
        for (sid, kind, cred, wrong) in cases {
            let mut store =
                ProtectStore::new(&mut rng, sid, kind, store_policy(), BlobPolicy::WINDOWS_10);
            prop_assert!(store.credhist.is_none(), "no CREDHIST without a password");
            let blob =
                store.protect(&mut rng, &cred, &data, &entropy, "", ProtectFlags(0), t0).unwrap();
            let guid = blob_key(&blob);
            prop_assert_eq!(store.master_keys[&guid].flags, kind.master_key_flags());
            prop_assert_eq!(&store.unprotect(&cred, &blob, &entropy).unwrap().1[..], &data[..]);
            prop_assert_eq!(
                store.unprotect(&wrong, &blob, &entropy).err(),
                Some(DpapiError::BadKeyState { master_key: guid })
            );
        }
    }
}
