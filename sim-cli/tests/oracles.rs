//! Interoperability with independent DPAPI implementations (`docs/dpapi.md` §7).
//!
//! Forward: what the simulator writes (master key files, blobs, CREDHIST) must open in impacket,
//! dpapick3 and pypykatz, which must recover exactly our master keys, plaintexts and password
//! hashes. Reverse: artefacts made by `tests/oracles/reference.py`, a from-scratch Python model
//! that shares no code with sim-core, must open in sim-core and in the `adsync-sim` binary.
//!
//! The Python side runs in the interpreter named by `ADSYNC_SIM_PYTHON`, else
//! `<repo>/.venv/bin/python`. Without it (or without the three tools) these tests print a one-line
//! skip notice and pass, unless `ADSYNC_SIM_REQUIRE_ORACLES=1`, which makes them fail.
//!
//! Every run draws fresh random SIDs, passwords, entropy and plaintexts from one seed, printed at
//! the start of each test; `ADSYNC_SIM_ORACLE_SEED=<seed>` replays a run.

use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use serde_json::{Value, json};
use sim_core::dpapi::blob::{Blob, BlobPolicy};
use sim_core::dpapi::masterkey::{
    FLAGS_DOMAIN_USER, FLAGS_LOCAL_USER, MasterKey, MasterKeyFile, MasterKeyPolicy, backup_prekey,
};
use sim_core::dpapi::prekey::{Credential, PasswordHashes, PreKeyKind};
use sim_core::dpapi::sid::Sid;
use sim_core::dpapi::store::{ProtectStore, StoreKind};
use sim_core::filetime::FileTime;
use std::path::Path;

use crate::support::oracle::{Python, seed, setup};
use uuid::Uuid;

// ------------------------------------------------------------------------------------------------
// Random cases

/// A non-ASCII password (UTF-16LE differs from Latin-1 and UTF-8 here).
const NON_ASCII: &str = "Pässwörd€";

fn below(rng: &mut ChaCha20Rng, n: u32) -> u32 {
    rng.next_u32() % n
}

fn random_sid(rng: &mut ChaCha20Rng) -> Sid {
    let text = format!(
        "S-1-5-21-{}-{}-{}-{}",
        rng.next_u32(),
        rng.next_u32(),
        rng.next_u32(),
        1000 + below(rng, 99_001)
    );
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// 1 to 24 printable ASCII characters (space included).
fn random_password(rng: &mut ChaCha20Rng) -> String {
    let len = 1 + below(rng, 24);
    (0..len)
        .map(|_| char::from(0x20 + below(rng, 95) as u8))
        .collect()
}

fn random_bytes(rng: &mut ChaCha20Rng, min: usize, max: usize) -> Vec<u8> {
    let len = min + below(rng, (max - min + 1) as u32) as usize;
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

fn random_guid(rng: &mut ChaCha20Rng) -> Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// An entropy that differs from `e`.
fn wrong_entropy(e: &[u8]) -> Vec<u8> {
    match e.split_last() {
        None => vec![0x5a],
        Some((last, rest)) => [rest, &[last ^ 1]].concat(),
    }
}

struct Case {
    n: usize,
    sid: Sid,
    password: String,
    entropy: Vec<u8>,
    plaintext: Vec<u8>,
    description: String,
    rounds: u32,
}

impl Case {
    /// Enough to recognise and replay the case in a failure message.
    fn label(&self) -> String {
        format!(
            "case {} (SID {}, password {:?}, {} rounds, entropy {} B, plaintext {} B)",
            self.n,
            self.sid,
            self.password,
            self.rounds,
            self.entropy.len(),
            self.plaintext.len()
        )
    }
}

/// `count` cases: case 0 with `real_rounds` and non-empty entropy, case 1 with the non-ASCII
/// password, the last with empty entropy, the rest random; all others with `cheap_rounds`.
fn cases(rng: &mut ChaCha20Rng, count: usize, real_rounds: u32, cheap_rounds: u32) -> Vec<Case> {
    (0..count)
        .map(|n| {
            let sid = random_sid(rng);
            let password = if n == 1 {
                NON_ASCII.to_owned()
            } else {
                random_password(rng)
            };
            let entropy = match n {
                0 => random_bytes(rng, 1, 40),
                _ if n == count - 1 => vec![],
                _ => random_bytes(rng, 0, 40),
            };
            let plaintext = random_bytes(rng, 1, 300);
            let description = match below(rng, 3) {
                0 => String::new(),
                1 => "Beschreibung: Wörter €".to_owned(),
                _ => random_password(rng),
            };
            let rounds = if n == 0 { real_rounds } else { cheap_rounds };
            Case {
                n,
                sid,
                password,
                entropy,
                plaintext,
                description,
                rounds,
            }
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.to_str().expect("UTF-8 temp path").to_owned()
}

// ------------------------------------------------------------------------------------------------
// Oracle batches: every op with what its result must be; all failures are reported together.

enum Expect {
    /// The tool recovers this 64-byte master key (hex), through this derivation if given
    /// (impacket's names: "SHA1", "MD4", "MD4 protected").
    Key {
        key: String,
        kind: Option<&'static str>,
    },
    /// The tool recovers this plaintext (hex).
    Plain(String),
    /// The tool refuses (returns nothing, or raises).
    Reject,
    /// The tool decrypts every CREDHIST entry to these (SHA-1, NT) hashes (hex), newest first.
    Hashes(Vec<(String, String)>),
    /// Known not to work in this tool (`docs/dpapi.md` §7, §8.2): run and show, never assert.
    Observe,
}

fn key_expect(mk: &MasterKey, kind: Option<&'static str>) -> Expect {
    Expect::Key {
        key: hex::encode(mk.as_bytes()),
        kind,
    }
}

fn key_hex(mk: &MasterKey) -> String {
    hex::encode(mk.as_bytes())
}

fn hashes_hex(h: &PasswordHashes) -> (String, String) {
    (hex::encode(h.sha1), hex::encode(h.nt))
}

#[derive(Default)]
struct Batch {
    ops: Vec<Value>,
    expect: Vec<(String, Expect)>,
}

struct Outcome {
    results: Vec<Value>,
    failures: Vec<String>,
}

impl Batch {
    fn push(&mut self, what: String, op: Value, expect: Expect) -> usize {
        self.ops.push(op);
        self.expect.push((what, expect));
        self.ops.len() - 1
    }

    /// A master key op; `secret` is ("password" | "password_1607" | "sha1" | "nt", value).
    fn masterkey(
        &mut self,
        tool: &str,
        file: &str,
        sid: &Sid,
        secret: (&str, &str),
        what: &str,
        e: Expect,
    ) -> usize {
        let mut op =
            json!({ "op": "masterkey", "tool": tool, "file": file, "sid": sid.to_string() });
        op[secret.0] = json!(secret.1);
        self.push(format!("{tool} masterkey by {}, {what}", secret.0), op, e)
    }

    fn blob(
        &mut self,
        tool: &str,
        file: &str,
        mk: &MasterKey,
        entropy: &[u8],
        what: &str,
        e: Expect,
    ) -> usize {
        let op = json!({
            "op": "blob", "tool": tool, "file": file,
            "key": hex::encode(mk.as_bytes()), "entropy": hex::encode(entropy),
        });
        self.push(format!("{tool} blob, {what}"), op, e)
    }

    fn credhist(&mut self, tool: &str, file: &str, password: &str, what: &str, e: Expect) -> usize {
        let op = json!({ "op": "credhist", "tool": tool, "file": file, "password": password });
        self.push(format!("{tool} CREDHIST, {what}"), op, e)
    }

    fn run(self, py: &Python) -> Outcome {
        let results = py.oracle(&self.ops);
        let mut failures = Vec::new();
        for ((what, expect), r) in self.expect.iter().zip(&results) {
            if let Some(problem) = check(expect, r) {
                failures.push(format!("{what}: {problem}; got {r}"));
            } else if matches!(expect, Expect::Observe) {
                eprintln!("observed, not asserted: {what}: {r}");
            }
        }
        Outcome { results, failures }
    }
}

/// What is wrong with one oracle result, if anything.
fn check(expect: &Expect, r: &Value) -> Option<String> {
    let ok = r["ok"].as_bool() == Some(true);
    match expect {
        Expect::Key { key, kind } => {
            if !ok || r["key"].as_str() != Some(key.as_str()) {
                Some(format!("expected master key {key}"))
            } else if let Some(k) = kind
                && r["kind"].as_str() != Some(*k)
            {
                Some(format!("expected the {k:?} derivation"))
            } else {
                None
            }
        }
        Expect::Plain(p) => (!ok || r["plaintext"].as_str() != Some(p.as_str()))
            .then(|| format!("expected plaintext {p}")),
        Expect::Reject => ok.then(|| "expected a rejection".to_owned()),
        Expect::Hashes(want) => {
            let field = |e: &Value, k: &str| e[k].as_str().unwrap_or("null").to_owned();
            let got: Vec<(String, String)> = r["entries"]
                .as_array()
                .map(|es| {
                    es.iter()
                        .map(|e| (field(e, "sha1"), field(e, "nt")))
                        .collect()
                })
                .unwrap_or_default();
            (!ok || got != *want).then(|| format!("expected (SHA1, NT) newest first {want:?}"))
        }
        Expect::Observe => None,
    }
}

impl Outcome {
    /// Adds a failure unless `cond`.
    fn require(&mut self, cond: bool, message: impl FnOnce() -> String) {
        if !cond {
            self.failures.push(message());
        }
    }

    fn finish(self, test: &str) {
        assert!(
            self.failures.is_empty(),
            "oracles::{test}: {} check(s) failed (seed {}; replay with ADSYNC_SIM_ORACLE_SEED={}):\n  {}",
            self.failures.len(),
            seed(),
            seed(),
            self.failures.join("\n  ")
        );
    }
}

const TOOLS: [&str; 3] = ["impacket", "dpapick3", "pypykatz"];

// ------------------------------------------------------------------------------------------------
// 1. Local account, Windows 10 defaults

/// Master key files (flags 5, AES-256/SHA-512, 8000 rounds in case 0) and AES/SHA-512 blobs with
/// random binary entropy open in all three tools, which recover our master key and plaintext; a
/// wrong entropy and a wrong password are refused.
#[test]
fn local_account_windows10_opens_in_all_three_tools() {
    let test = "local_account_windows10";
    let Some((py, mut rng)) = setup(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut batch = Batch::default();
    let mut identity = Vec::new();
    for c in cases(&mut rng, 4, 8000, 1000) {
        let what = c.label();
        let cred = Credential::local_password(&c.sid, &c.password);
        let guid = random_guid(&mut rng);
        let mk = MasterKey::generate(&mut rng);
        let credhist_guid = random_guid(&mut rng);
        let file = MasterKeyFile::seal(
            &mut rng,
            guid,
            FLAGS_LOCAL_USER,
            &mk,
            cred.primary().1,
            &backup_prekey(&c.sid.to_string()),
            &MasterKeyPolicy::WINDOWS_10.with_rounds(c.rounds),
            Some(credhist_guid),
        )
        .expect("seal the master key");
        let blob = Blob::seal(
            &mut rng,
            &mk,
            guid,
            &c.plaintext,
            &c.entropy,
            &c.description,
            0,
            &BlobPolicy::WINDOWS_10,
        );
        let mk_path = write(dir.path(), &format!("{}-{guid}", c.n), &file.to_bytes());
        let blob_path = write(dir.path(), &format!("{}.blob", c.n), &blob.to_bytes());

        let pw = ("password", c.password.as_str());
        let i = batch.masterkey(
            "impacket",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, Some("SHA1")),
        );
        identity.push((i, what.clone(), guid, credhist_guid));
        batch.masterkey(
            "dpapick3",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, None),
        );
        batch.masterkey(
            "pypykatz",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, None),
        );
        let wrong = wrong_entropy(&c.entropy);
        for tool in TOOLS {
            batch.blob(
                tool,
                &blob_path,
                &mk,
                &c.entropy,
                &what,
                Expect::Plain(hex::encode(&c.plaintext)),
            );
            batch.blob(
                tool,
                &blob_path,
                &mk,
                &wrong,
                &format!("{what}, wrong entropy"),
                Expect::Reject,
            );
        }
        if c.rounds != 8000 {
            let wrong_pw = format!("{}!", c.password);
            for tool in TOOLS {
                let w = format!("{what}, wrong password");
                batch.masterkey(
                    tool,
                    &mk_path,
                    &c.sid,
                    ("password", &wrong_pw),
                    &w,
                    Expect::Reject,
                );
            }
        }
    }
    let mut out = batch.run(&py);
    // impacket also reads the file's identity: its GUID, flags 5 and our CREDHIST block.
    for (i, what, guid, credhist_guid) in identity {
        let r = out.results[i].clone();
        out.require(
            r["guid"].as_str() == Some(guid.to_string().as_str())
                && r["flags"].as_u64() == Some(u64::from(FLAGS_LOCAL_USER))
                && r["credhist_guid"].as_str() == Some(credhist_guid.to_string().as_str()),
            || format!("impacket header, {what}: expected GUID {guid}, flags 5, CREDHIST {credhist_guid}; got {r}"),
        );
    }
    out.finish(test);
}

// ------------------------------------------------------------------------------------------------
// 2. Domain account

/// Domain master keys (flags 0) under the Windows 10 1607+ stretched NT hash open in impacket
/// through its "MD4 protected" path, in pypykatz, and in dpapick3 given
/// PBKDF2-SHA256(NT, SID, 10000, 32) (§7); the last case uses the pre-1607 plain NT hash, which
/// impacket reports as "MD4". Blobs under those keys open in all three tools.
#[test]
fn domain_account_opens_in_all_three_tools() {
    let test = "domain_account";
    let Some((py, mut rng)) = setup(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut batch = Batch::default();
    let mut flags = Vec::new();
    let all = cases(&mut rng, 3, 8000, 1000);
    let count = all.len();
    for c in all {
        let legacy = c.n == count - 1;
        let what = format!(
            "{}{}",
            c.label(),
            if legacy {
                ", pre-1607 NT hash"
            } else {
                ", 1607+ stretched NT hash"
            }
        );
        let cred = if legacy {
            Credential::domain_password_legacy(&c.sid, &c.password)
        } else {
            Credential::domain_password(&c.sid, &c.password)
        };
        let guid = random_guid(&mut rng);
        let mk = MasterKey::generate(&mut rng);
        let credhist_guid = random_guid(&mut rng);
        let file = MasterKeyFile::seal(
            &mut rng,
            guid,
            FLAGS_DOMAIN_USER,
            &mk,
            cred.primary().1,
            &backup_prekey(&c.sid.to_string()),
            &MasterKeyPolicy::WINDOWS_10.with_rounds(c.rounds),
            Some(credhist_guid),
        )
        .expect("seal the master key");
        let expected_kind = if legacy {
            PreKeyKind::Nt
        } else {
            PreKeyKind::NtProtected
        };
        assert_eq!(
            cred.primary().0,
            expected_kind,
            "{what}: our own credential"
        );
        let blob = Blob::seal(
            &mut rng,
            &mk,
            guid,
            &c.plaintext,
            &c.entropy,
            &c.description,
            0,
            &BlobPolicy::WINDOWS_10,
        );
        let mk_path = write(dir.path(), &format!("{}-{guid}", c.n), &file.to_bytes());
        let blob_path = write(dir.path(), &format!("{}.blob", c.n), &blob.to_bytes());

        let pw = ("password", c.password.as_str());
        let kind = if legacy { "MD4" } else { "MD4 protected" };
        let i = batch.masterkey(
            "impacket",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, Some(kind)),
        );
        flags.push((i, what.clone()));
        batch.masterkey(
            "pypykatz",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, None),
        );
        if legacy {
            batch.masterkey(
                "dpapick3",
                &mk_path,
                &c.sid,
                pw,
                &what,
                key_expect(&mk, None),
            );
        } else {
            let stretched = ("password_1607", c.password.as_str());
            batch.masterkey(
                "dpapick3",
                &mk_path,
                &c.sid,
                stretched,
                &what,
                key_expect(&mk, None),
            );
        }
        for tool in TOOLS {
            batch.blob(
                tool,
                &blob_path,
                &mk,
                &c.entropy,
                &what,
                Expect::Plain(hex::encode(&c.plaintext)),
            );
        }
        let wrong = wrong_entropy(&c.entropy);
        for tool in ["impacket", "dpapick3"] {
            batch.blob(
                tool,
                &blob_path,
                &mk,
                &wrong,
                &format!("{what}, wrong entropy"),
                Expect::Reject,
            );
        }
    }
    let mut out = batch.run(&py);
    for (i, what) in flags {
        let r = out.results[i].clone();
        out.require(
            r["flags"].as_u64() == Some(u64::from(FLAGS_DOMAIN_USER)),
            || format!("impacket header, {what}: expected flags 0; got {r}"),
        );
    }
    out.finish(test);
}

// ------------------------------------------------------------------------------------------------
// 3. Windows XP era

/// XP master keys (3DES, CALG_HMAC, 4000 rounds in case 0) open in all three tools. An XP blob
/// (3DES/SHA-1) WITH entropy needs the non-RFC HMAC: dpapick3 opens it and refuses a wrong
/// entropy; impacket and pypykatz are known to fail there (§7, §8.2), so they are only observed.
/// An XP blob WITHOUT entropy opens in impacket and dpapick3.
#[test]
fn windows_xp_master_keys_and_sha1_blobs() {
    let test = "windows_xp";
    let Some((py, mut rng)) = setup(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut batch = Batch::default();
    for c in cases(&mut rng, 3, 4000, 1000) {
        let what = c.label();
        let entropy = if c.entropy.is_empty() {
            random_bytes(&mut rng, 1, 40)
        } else {
            c.entropy.clone()
        };
        let cred = Credential::local_password(&c.sid, &c.password);
        let guid = random_guid(&mut rng);
        let mk = MasterKey::generate(&mut rng);
        let credhist_guid = random_guid(&mut rng);
        let file = MasterKeyFile::seal(
            &mut rng,
            guid,
            FLAGS_LOCAL_USER,
            &mk,
            cred.primary().1,
            &backup_prekey(&c.sid.to_string()),
            &MasterKeyPolicy::WINDOWS_XP.with_rounds(c.rounds),
            Some(credhist_guid),
        )
        .expect("seal the master key");
        let with = Blob::seal(
            &mut rng,
            &mk,
            guid,
            &c.plaintext,
            &entropy,
            &c.description,
            0,
            &BlobPolicy::WINDOWS_XP,
        );
        let without = Blob::seal(
            &mut rng,
            &mk,
            guid,
            &c.plaintext,
            &[],
            &c.description,
            0,
            &BlobPolicy::WINDOWS_XP,
        );
        let mk_path = write(dir.path(), &format!("{}-{guid}", c.n), &file.to_bytes());
        let with_path = write(
            dir.path(),
            &format!("{}-entropy.blob", c.n),
            &with.to_bytes(),
        );
        let without_path = write(
            dir.path(),
            &format!("{}-plain.blob", c.n),
            &without.to_bytes(),
        );

        let pw = ("password", c.password.as_str());
        batch.masterkey(
            "impacket",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, Some("SHA1")),
        );
        batch.masterkey(
            "pypykatz",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, None),
        );
        batch.masterkey(
            "dpapick3",
            &mk_path,
            &c.sid,
            pw,
            &what,
            key_expect(&mk, None),
        );
        let plain = hex::encode(&c.plaintext);
        let w = format!("{what}, XP blob with {} B entropy", entropy.len());
        batch.blob(
            "dpapick3",
            &with_path,
            &mk,
            &entropy,
            &w,
            Expect::Plain(plain.clone()),
        );
        batch.blob(
            "dpapick3",
            &with_path,
            &mk,
            &wrong_entropy(&entropy),
            &format!("{w}, wrong entropy"),
            Expect::Reject,
        );
        batch.blob("impacket", &with_path, &mk, &entropy, &w, Expect::Observe);
        batch.blob("pypykatz", &with_path, &mk, &entropy, &w, Expect::Observe);
        let w = format!("{what}, XP blob without entropy");
        batch.blob(
            "impacket",
            &without_path,
            &mk,
            &[],
            &w,
            Expect::Plain(plain.clone()),
        );
        batch.blob(
            "dpapick3",
            &without_path,
            &mk,
            &[],
            &w,
            Expect::Plain(plain.clone()),
        );
        batch.blob(
            "pypykatz",
            &without_path,
            &mk,
            &[],
            &w,
            Expect::Plain(plain),
        );
        batch.blob(
            "impacket",
            &without_path,
            &mk,
            &[0x5a],
            &format!("{w}, given entropy"),
            Expect::Reject,
        );
    }
    batch.run(&py).finish(test);
}

// ------------------------------------------------------------------------------------------------
// 4. CREDHIST

/// A password for a CREDHIST chain: `forced` if usable, else random; never one already used, and
/// never one whose NT hash ends in 0x00, because dpapick3 strips trailing NULs from the recovered
/// NT hash and then drops the entry (`credhist.py`, `ntlm.rstrip(b'\x00')`).
fn chain_password(rng: &mut ChaCha20Rng, used: &[String], forced: Option<&str>) -> String {
    let usable = |p: &str| !used.iter().any(|u| u == p) && PasswordHashes::of(p).nt[15] != 0;
    if let Some(f) = forced
        && usable(f)
    {
        return f.to_owned();
    }
    loop {
        let p = random_password(rng);
        if usable(&p) {
            return p;
        }
    }
}

/// A local account changes its password twice (v1 → v2 → v3) in a `ProtectStore`. From the
/// CREDHIST file and v3, impacket and dpapick3 recover the SHA-1 and NT hashes of v2 and v1;
/// impacket names the entries by the GUIDs we wrote and decrypts the re-encrypted master key with
/// v3 (and no longer with v1), and a copy of the key file from before the changes opens in
/// impacket with the v1 SHA-1 hash that CREDHIST gave back.
#[test]
fn credhist_chain_opens_in_impacket_and_dpapick3() {
    let test = "credhist";
    let Some((py, mut rng)) = setup(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut batch = Batch::default();
    let mut entry_names = Vec::new();
    let mut block_refs = Vec::new();
    for (n, rounds) in [(0usize, 8000u32), (1, 1000), (2, 1000)] {
        let sid = random_sid(&mut rng);
        let mut pws: Vec<String> = Vec::new();
        for forced in [
            None,
            (n == 1).then_some(NON_ASCII),
            (n == 2).then_some("🔑 日本語"),
        ] {
            let p = chain_password(&mut rng, &pws, forced);
            pws.push(p);
        }
        let what = format!("case {n} (SID {sid}, passwords {pws:?}, {rounds} rounds)");
        let creds: Vec<Credential> = pws
            .iter()
            .map(|p| Credential::local_password(&sid, p))
            .collect();
        let mut store = ProtectStore::new(
            &mut rng,
            sid.clone(),
            StoreKind::LocalUser,
            MasterKeyPolicy::WINDOWS_10.with_rounds(rounds),
            BlobPolicy::WINDOWS_10,
        );
        let now = FileTime::from_unix_secs(1_700_000_000 + i64::from(below(&mut rng, 100_000_000)));
        let (guid, mk) = store
            .create_master_key(&mut rng, &creds[0], now)
            .expect("create master key");
        let before = store.master_keys[&guid].to_bytes();
        store
            .change_password(&mut rng, &creds[0], &creds[1])
            .expect("change v1 -> v2");
        store
            .change_password(&mut rng, &creds[1], &creds[2])
            .expect("change v2 -> v3");
        let credhist = store
            .credhist
            .clone()
            .expect("a local account has a CREDHIST");
        assert_eq!(credhist.entries.len(), 2, "{what}: CREDHIST entries");

        let case_dir = dir.path().join(format!("case{n}"));
        std::fs::create_dir_all(&case_dir).expect("case dir");
        let ch_path = write(&case_dir, "CREDHIST", &credhist.to_bytes());
        let mut mk_path = None;
        for (name, bytes) in store.files() {
            let path = write(&case_dir, &name.replace('/', "_"), &bytes);
            if name.ends_with(&guid.to_string()) {
                mk_path = Some(path);
            }
        }
        let mk_path = mk_path.expect("the master key file is among store.files()");
        let stale_path = write(&case_dir, &format!("{guid}.before-changes"), &before);

        let hashes: Vec<PasswordHashes> = pws.iter().map(|p| PasswordHashes::of(p)).collect();
        let want = vec![hashes_hex(&hashes[1]), hashes_hex(&hashes[0])];
        let i = batch.credhist(
            "impacket",
            &ch_path,
            &pws[2],
            &what,
            Expect::Hashes(want.clone()),
        );
        // impacket names each entry by the next newer credential's GUID (§2.3): the newest by the
        // current GUID, the older by the GUID of the entry that stores v2.
        entry_names.push((
            i,
            what.clone(),
            [credhist.current_guid, credhist.entries[1].guid],
        ));
        batch.credhist("dpapick3", &ch_path, &pws[2], &what, Expect::Hashes(want));
        let v3 = ("password", pws[2].as_str());
        let j = batch.masterkey(
            "impacket",
            &mk_path,
            &sid,
            v3,
            &format!("{what}, v3"),
            key_expect(&mk, Some("SHA1")),
        );
        block_refs.push((j, what.clone(), credhist.current_guid));
        batch.masterkey(
            "dpapick3",
            &mk_path,
            &sid,
            v3,
            &format!("{what}, v3"),
            key_expect(&mk, None),
        );
        let v1_sha1 = hex::encode(hashes[0].sha1);
        let w = format!("{what}, file from before the changes, v1 SHA-1 from CREDHIST");
        batch.masterkey(
            "impacket",
            &stale_path,
            &sid,
            ("sha1", &v1_sha1),
            &w,
            key_expect(&mk, Some("SHA1")),
        );
        if rounds != 8000 {
            let v1 = ("password", pws[0].as_str());
            batch.masterkey(
                "impacket",
                &mk_path,
                &sid,
                v1,
                &format!("{what}, re-encrypted key with v1"),
                Expect::Reject,
            );
        }
    }
    let mut out = batch.run(&py);
    for (i, what, [newest, older]) in entry_names {
        let r = out.results[i].clone();
        let names: Vec<&str> = (0..2)
            .map(|k| r["entries"][k]["guid"].as_str().unwrap_or("null"))
            .collect();
        out.require(names == [newest.to_string(), older.to_string()], || {
            format!("impacket CREDHIST entry GUIDs, {what}: expected [{newest}, {older}]; got {r}")
        });
    }
    for (i, what, current) in block_refs {
        let r = out.results[i].clone();
        out.require(
            r["credhist_guid"].as_str() == Some(current.to_string().as_str()),
            || format!("impacket master key CREDHIST block, {what}: expected {current}; got {r}"),
        );
    }
    out.finish(test);
}

// ------------------------------------------------------------------------------------------------
// 5. Reverse direction: artefacts from the independent reference model

/// `reference.py` (hashlib + Cryptodome only, no sim-core, no oracle code) makes local-account
/// master key files (flags 5 with backup and CREDHIST blocks; AES-256/SHA-512, and 3DES/SHA-1 in
/// case 1) and, under each, an AES-256/SHA-512 blob and a 3DES/SHA-1 blob with entropy (non-RFC
/// HMAC). sim-core parses them back to the same bytes, recovers the master key with the password
/// and the plaintexts with the entropy, and refuses a wrong entropy; the `adsync-sim` binary does
/// the same for one case. impacket and dpapick3 open the same artefacts, which checks the
/// reference model itself, as does rebuilding the real-Windows vectors when they are present.
#[test]
fn reference_model_artefacts_open_in_sim_core_and_the_cli() {
    let test = "reference_model";
    let Some((py, mut rng)) = setup(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = cases(&mut rng, 4, 8000, 1000);
    let mut blob_specs = Vec::new();
    let jobs: Vec<Value> = cases
        .iter()
        .map(|c| {
            // Both blobs carry entropy; the last case's is random 0..=40 bytes like the others'.
            let entropy = if c.n == cases.len() - 1 { random_bytes(&mut rng, 0, 40) } else { c.entropy.clone() };
            let specs: Vec<(String, Vec<u8>)> =
                vec![("aes256-sha512".to_owned(), entropy.clone()), ("3des-sha1".to_owned(), entropy)];
            let blobs: Vec<Value> = specs
                .iter()
                .map(|(alg, e)| {
                    json!({
                        "name": alg, "alg": alg, "plaintext": hex::encode(&c.plaintext),
                        "entropy": hex::encode(e), "description": c.description, "flags": 0,
                    })
                })
                .collect();
            blob_specs.push(specs);
            json!({
                "name": format!("c{}", c.n),
                "sid": c.sid.to_string(),
                "password": c.password,
                "seed": rng.next_u64(),
                "masterkey": { "alg": if c.n == 1 { "3des-sha1" } else { "aes256-sha512" }, "rounds": c.rounds },
                "blobs": blobs,
            })
        })
        .collect();
    let made = py.reference(&json!({
        "op": "create",
        "out_dir": dir.path().to_str().expect("UTF-8 temp path"),
        "cases": jobs,
    }));
    let made = made["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        made.len(),
        cases.len(),
        "reference.py made {} cases",
        made.len()
    );

    let mut failures = Vec::new();
    let mut batch = Batch::default();
    for ((c, m), specs) in cases.iter().zip(&made).zip(&blob_specs) {
        let what = format!(
            "{}, {} master key",
            c.label(),
            if c.n == 1 {
                "3DES/SHA-1"
            } else {
                "AES/SHA-512"
            }
        );
        let mk_path = m["masterkey"]["path"].as_str().expect("master key path");
        let want_key = m["masterkey"]["key"]
            .as_str()
            .expect("master key hex")
            .to_owned();
        let want_guid = m["masterkey"]["guid"]
            .as_str()
            .expect("master key GUID")
            .to_owned();
        let bytes = std::fs::read(mk_path).expect("read the reference master key file");
        let file = match MasterKeyFile::parse(&bytes) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("sim-core parse master key file, {what}: {e}"));
                continue;
            }
        };
        if file.to_bytes() != bytes {
            failures.push(format!(
                "sim-core master key file round trip, {what}: bytes differ"
            ));
        }
        if file.guid.to_string() != want_guid
            || file.flags != FLAGS_LOCAL_USER
            || file.credhist.map(|r| r.guid.to_string()).as_deref()
                != m["masterkey"]["credhist_guid"].as_str()
        {
            failures.push(format!(
                "sim-core master key header, {what}: {file:?} vs {m}"
            ));
        }
        let mk = match file.decrypt(&Credential::local_password(&c.sid, &c.password)) {
            Ok((PreKeyKind::Sha1, mk)) if key_hex(&mk) == want_key => mk,
            Ok((kind, mk)) => {
                failures.push(format!(
                    "sim-core master key, {what}: got {} via {kind:?}, expected {want_key}",
                    key_hex(&mk)
                ));
                continue;
            }
            Err(e) => {
                failures.push(format!("sim-core master key, {what}: {e}"));
                continue;
            }
        };
        batch.masterkey(
            "impacket",
            mk_path,
            &c.sid,
            ("password", &c.password),
            &format!("reference.py self-check, {what}"),
            key_expect(&mk, Some("SHA1")),
        );
        for (spec, b) in specs
            .iter()
            .zip(m["blobs"].as_array().cloned().unwrap_or_default())
        {
            let (alg, entropy) = spec;
            let w = format!("{what}, {alg} blob with {} B entropy", entropy.len());
            let path = b["path"].as_str().expect("blob path");
            let bytes = std::fs::read(path).expect("read the reference blob");
            let blob = match Blob::parse(&bytes) {
                Ok(b) => b,
                Err(e) => {
                    failures.push(format!("sim-core parse blob, {w}: {e}"));
                    continue;
                }
            };
            if blob.to_bytes() != bytes {
                failures.push(format!("sim-core blob round trip, {w}: bytes differ"));
            }
            if blob.master_key_guid != file.guid || blob.description_text() != c.description {
                failures.push(format!("sim-core blob header, {w}: {blob:?}"));
            }
            match blob.open(&mk, entropy) {
                Ok(p) if *p == c.plaintext => {}
                Ok(p) => failures.push(format!(
                    "sim-core blob, {w}: plaintext {} expected {}",
                    hex::encode(&*p),
                    hex::encode(&c.plaintext)
                )),
                Err(e) => failures.push(format!("sim-core blob, {w}: {e}")),
            }
            if let Ok(p) = blob.open(&mk, &wrong_entropy(entropy)) {
                failures.push(format!(
                    "sim-core blob, {w}: a wrong entropy gave {}",
                    hex::encode(&*p)
                ));
            }
            let plain = Expect::Plain(hex::encode(&c.plaintext));
            batch.blob(
                "dpapick3",
                path,
                &mk,
                entropy,
                &format!("reference.py self-check, {w}"),
                plain,
            );
        }
    }

    // The real binary on case 0: plaintext on stdout and exit 0; a wrong entropy is
    // ERROR_INVALID_DATA with exit 1.
    let (c, m) = (&cases[0], &made[0]);
    let blob_path = m["blobs"][0]["path"].as_str().expect("blob path");
    let mk_path = m["masterkey"]["path"].as_str().expect("master key path");
    let cli = |entropy: &[u8]| {
        crate::support::run([
            "dpapi".to_owned(),
            "unprotect".to_owned(),
            blob_path.to_owned(),
            "--masterkey".to_owned(),
            mk_path.to_owned(),
            format!("--sid={}", c.sid),
            format!("--password={}", c.password),
            format!("--entropy={}", hex::encode(entropy)),
        ])
    };
    let o = cli(&c.entropy);
    if !o.status.success() || o.stdout != c.plaintext {
        failures.push(format!(
            "adsync-sim dpapi unprotect, {}: status {}, stdout {}, stderr {}",
            c.label(),
            o.status,
            hex::encode(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let o = cli(&wrong_entropy(&c.entropy));
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(1) || !stderr.contains("0x8007000D (The data is invalid.)") {
        failures.push(format!(
            "adsync-sim dpapi unprotect with a wrong entropy, {}: expected exit 1 and 0x8007000D; status {}, stderr {stderr}",
            c.label(),
            o.status
        ));
    }

    // The reference model itself: the oracles agree with it, and it rebuilds real Windows bytes.
    let mut out = batch.run(&py);
    out.failures.extend(failures);
    let vdir = crate::support::vectors_dir();
    let r = py
        .reference(&json!({ "op": "selftest", "vectors_dir": vdir.to_str().expect("UTF-8 path") }));
    let checked = r["checked"].as_array().map_or(0, Vec::len);
    out.require(
        r["failed"].as_array().is_some_and(Vec::is_empty) && checked >= 12,
        || format!("reference.py self-test on the real-Windows vectors: {r}"),
    );
    out.finish(test);
}

/// The host world's exported `Protect` folders are real: impacket opens the service account's
/// master keys with the account's current password after a change.
#[test]
fn exported_world_master_keys_open_in_impacket() {
    let Some((py, mut rng)) = setup("exported_world_master_keys_open_in_impacket") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let st = state.to_str().expect("utf-8 path");
    let seed = rng.next_u32().to_string();
    let o = crate::support::run([
        "--state",
        st,
        "--format",
        "json",
        "init",
        "--service-account",
        "local",
        "--seed",
        &seed,
        "--kdf-rounds",
        "1000",
    ]);
    assert!(
        o.status.success(),
        "init (seed {seed}): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let init: Value = serde_json::from_slice(&o.stdout).expect("init JSON");
    let account = init["service_account"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let old = init["service_account"]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    let new = random_password(&mut rng);
    let o = crate::support::run([
        "--state", st, "account", "change", &account, "--old", &old, "--new", &new,
    ]);
    assert!(
        o.status.success(),
        "change (seed {seed}): {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let list = crate::support::run(["--state", st, "--format", "json", "account", "list"]);
    let list: Value = serde_json::from_slice(&list.stdout).expect("account list JSON");
    let sid = list["accounts"][0]["sid"].as_str().expect("sid").to_owned();
    let export = dir.path().join("export");
    assert!(
        crate::support::run(["--state", st, "export", export.to_str().expect("utf-8")])
            .status
            .success()
    );
    let user = account.split('\\').next_back().expect("name");
    let folder = export.join(format!(
        "Users/{user}/AppData/Roaming/Microsoft/Protect/{sid}"
    ));
    let keys: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "Preferred"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        !keys.is_empty(),
        "no master keys exported in {}",
        folder.display()
    );
    let ops: Vec<Value> = keys
        .iter()
        .map(|k| json!({"op": "masterkey", "tool": "impacket", "file": k, "sid": sid, "password": new}))
        .collect();
    for (k, r) in keys.iter().zip(py.oracle(&ops)) {
        assert_eq!(
            r["ok"], true,
            "impacket could not open {k} with the new password (seed {seed}): {r}"
        );
        assert_eq!(r["kind"], "SHA1", "{k}: {r}");
    }
}
