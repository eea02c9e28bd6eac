// Every fuzz target, one function each: the cargo-fuzz binaries in `fuzz_targets/` call them
// (nightly, libFuzzer), and `sim-cli/tests/fuzz_bounded.rs` runs each over the committed seeds in
// `fuzz/seeds/<target>/` plus random mutations on stable, in CI. Each function takes arbitrary
// bytes and must not panic; where the input parses, it checks what the parser promises.

use sim_core::adsync::credstore::EncryptedConfiguration;
use sim_core::adsync::keyset::Keyset;
use sim_core::dpapi::blob::Blob;
use sim_core::dpapi::credential::Credential as DecryptedCredential;
use sim_core::dpapi::credfile::CredentialFile;
use sim_core::dpapi::credhist::CredHistFile;
use sim_core::dpapi::masterkey::{MASTER_KEY_LEN, MasterKey, MasterKeyFile};
use sim_core::dpapi::prekey::PreKey;

/// Opening runs the KDF for as many rounds as the input asks (up to `kdf::MAX_ROUNDS`); inputs
/// asking for more than this are only parsed, so each run stays fast.
pub const MAX_OPEN_ROUNDS: u32 = 1000;

/// The targets by name, as `fuzz_targets/<name>.rs` and `fuzz/seeds/<name>/` name them.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("masterkey", masterkey),
    ("blob", blob),
    ("credhist", credhist),
    ("credential_file", credential_file),
    ("keyset", keyset),
    ("encrypted_configuration", encrypted_configuration),
    ("scenario_toml", scenario_toml),
    ("lab_toml", lab_toml),
    ("command", command),
];

/// Master key files (`docs/dpapi.md` §2.1): a parsed file re-serialises to one that parses to
/// the same value, and opening it never panics.
pub fn masterkey(data: &[u8]) {
    let Ok(file) = MasterKeyFile::parse(data) else {
        return;
    };
    let again =
        MasterKeyFile::parse(&file.to_bytes()).expect("a re-serialised master key file parses");
    assert_eq!(again, file);
    if file
        .master_key
        .as_ref()
        .is_some_and(|b| b.rounds <= MAX_OPEN_ROUNDS)
    {
        let _ = file.open(&PreKey::from_bytes([0x11; 20]));
    }
}

/// DPAPI blobs (`docs/dpapi.md` §2.4): round trip, and opening with a fixed key never panics.
pub fn blob(data: &[u8]) {
    let Ok(blob) = Blob::parse(data) else {
        return;
    };
    let again = Blob::parse(&blob.to_bytes()).expect("a re-serialised blob parses");
    assert_eq!(again, blob);
    let key = MasterKey::from_bytes([0x42; MASTER_KEY_LEN]);
    let _ = blob.open(&key, b"");
    let _ = blob.open(&key, b"entropy");
}

/// CREDHIST files (`docs/dpapi.md` §2.3): round trip, and walking the chain never panics.
pub fn credhist(data: &[u8]) {
    let Ok(file) = CredHistFile::parse(data) else {
        return;
    };
    let again = CredHistFile::parse(&file.to_bytes()).expect("a re-serialised CREDHIST parses");
    assert_eq!(again, file);
    if file.entries.iter().all(|e| e.rounds <= MAX_OPEN_ROUNDS) {
        let walked = file.walk(&[0x5a; 20]);
        assert!(walked.len() <= file.entries.len());
    }
}

/// Credential Manager files and the decrypted `CREDENTIAL` inside them (`docs/dpapi.md` §2.5).
pub fn credential_file(data: &[u8]) {
    if let Ok(file) = CredentialFile::parse(data) {
        let again = CredentialFile::parse(&file.to_bytes())
            .expect("a re-serialised credential file parses");
        assert_eq!(again, file);
    }
    if let Ok(c) = DecryptedCredential::parse(data) {
        let again =
            DecryptedCredential::parse(&c.to_bytes()).expect("a re-serialised CREDENTIAL parses");
        assert!(again == c, "a CREDENTIAL round-trips");
    }
}

/// The engine's `MMSK` keyset (`docs/adsync.md` §3).
pub fn keyset(data: &[u8]) {
    if let Ok(k) = Keyset::parse(data) {
        let bytes = k.to_bytes();
        let again = Keyset::parse(&bytes).expect("a re-serialised keyset parses");
        assert!(again == k, "a keyset round-trips");
    }
}

/// `mms_management_agent.encrypted_configuration`, as bytes and as its base64 column.
pub fn encrypted_configuration(data: &[u8]) {
    if let Ok(c) = EncryptedConfiguration::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
        let _ = c.open(&[0x24; 32]);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(c) = EncryptedConfiguration::from_base64(text)
    {
        let _ = c.open(&[0x24; 32]);
    }
}

/// Scenario files (TOML): parsing and the `[world]` options never panic, and no parsed
/// scenario has more steps than the limit.
pub fn scenario_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = sim_core::scenario::Scenario::parse("fuzz.toml", text) {
        let _ = s.options("fuzz.toml", None);
        assert!(s.steps.len() <= sim_core::limits::MAX_STEPS_PER_SCENARIO);
    }
}

/// Lab files (TOML).
pub fn lab_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = sim_core::lab::Lab::parse("fuzz.toml", text);
}

/// The command language: parsing, the redacted form of a parsed command and of any line, and
/// every error's text never panic, and a secret part of a line appears in neither its redacted
/// form nor its error (unless the same text is also a shown word or a fixed text).
pub fn command(data: &[u8]) {
    use sim_core::command::{REDACTED, redact, redact_words, secret_parts};
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let words = redact::split_words_lossy(line);
    let kept: String = redact_words(&words)
        .into_iter()
        .filter(|w| w != REDACTED)
        .collect::<Vec<_>>()
        .join("\u{0}");
    let shown = sim_core::command::redact_line(line);
    let error_of = |l: &str| {
        sim_core::command::parse_line(l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let error = error_of(line);
    if let Ok(c) = sim_core::command::parse_line(line) {
        let _ = sim_core::command::parse_line(&c.redacted());
    }
    for s in secret_parts(&words) {
        let plain = !s.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '*');
        if plain && !kept.contains(&s) {
            assert!(!shown.contains(&s), "{s:?} in the redacted line {shown:?}");
            // The error names the command (its first word) and the grammar's fixed texts: a
            // secret that is also a fixed text is still there when the secret is replaced.
            let first = words.first().map_or("", String::as_str);
            if !first.contains(&s) && s.len() >= 8 && error.contains(&s) {
                let other = error_of(&line.replace(&s, "QqQqQqQq"));
                assert!(other.contains(&s), "{s:?} in the error {error:?}");
            }
        }
    }
}
