//! `adsync-sim dpapi …` through the real binary: exact texts, result codes, exit statuses, and
//! the real-Windows vectors (docs/design.md §4).

use std::path::Path;

use crate::support::{hex_field, run, vector_bytes, vectors_json};

const SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

fn write_vector(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, vector_bytes(name)).unwrap();
    p.display().to_string()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn create_then_decrypt_round_trips_and_same_seed_gives_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (p(dir.path(), "a"), p(dir.path(), "b"));
    for out in [&a, &b] {
        let o = run([
            "dpapi",
            "masterkey",
            "create",
            "--sid",
            SID,
            "--password",
            "Spring2026!",
            "--rounds",
            "100",
            "--seed",
            "42",
            "--out",
            out,
        ]);
        ok(&o);
        assert!(
            stdout(&o).starts_with("Created master key "),
            "{}",
            stdout(&o)
        );
        assert!(
            stdout(&o).contains("(CALG_AES_256, CALG_SHA_512, 100 rounds, flags 0x5)"),
            "{}",
            stdout(&o)
        );
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same seed, same bytes"
    );

    let o = run([
        "--format",
        "json",
        "dpapi",
        "masterkey",
        "decrypt",
        &a,
        "--sid",
        SID,
        "--password",
        "Spring2026!",
    ]);
    ok(&o);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["result_code"], 0);
    assert_eq!(j["prekey_kind"], "User Key (SHA1)");
    assert_eq!(j["key"].as_str().unwrap().len(), 128);
    assert_eq!(j["guid"].as_str().unwrap().len(), 36);

    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &a,
        "--sid",
        SID,
        "--password",
        "Spring2026!",
    ]);
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains(&format!("Decrypted key: 0x{}", j["key"].as_str().unwrap())),
        "{text}"
    );
    assert!(
        text.contains("Decrypted key with User Key (SHA1)"),
        "{text}"
    );
}

#[test]
fn domain_master_key_uses_the_1607_stretch_and_flags_0() {
    let dir = tempfile::tempdir().unwrap();
    let mk = p(dir.path(), "mk");
    let o = run([
        "--format",
        "json",
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        SID,
        "--password",
        "pw",
        "--domain",
        "--rounds",
        "50",
        "--seed",
        "1",
        "--out",
        &mk,
    ]);
    ok(&o);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (j["flags"].as_u64(), j["account"].as_str()),
        (Some(0), Some("domain"))
    );
    assert!(
        !stdout(&o).contains("\"pw\""),
        "the password must not be echoed"
    );
    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &mk,
        "--sid",
        SID,
        "--password",
        "pw",
    ]);
    ok(&o);
    assert!(
        stdout(&o).contains("Decrypted key with User Key (MD4 protected)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn wrong_password_is_nte_bad_key_state() {
    let dir = tempfile::tempdir().unwrap();
    let mk = write_vector(dir.path(), "dpapick_win81_masterkey");
    let sid = "S-1-5-21-2128076315-4144300488-3078399761-1001";
    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &mk,
        "--sid",
        sid,
        "--password",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("0x8009000B (Key not valid for use in specified state.)"),
        "{}",
        stderr(&o)
    );
    let o = run([
        "--format",
        "json",
        "dpapi",
        "masterkey",
        "decrypt",
        &mk,
        "--sid",
        sid,
        "--password",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["result_code"].as_u64(), Some(0x8009_000B));
    assert_eq!(j["result_code_hex"], "0x8009000B");
}

#[test]
fn real_windows_vectors_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let all = vectors_json();
    // Windows 8.1 master key with SID and password.
    let v = &all["dpapick_win81_masterkey"];
    let mk = write_vector(dir.path(), "dpapick_win81_masterkey");
    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &mk,
        "--sid",
        v["sid"].as_str().unwrap(),
        "--password",
        "fuffa",
    ]);
    ok(&o);
    assert!(stdout(&o).contains(&format!(
        "Decrypted key: 0x{}",
        v["expected_masterkey"].as_str().unwrap()
    )));
    // The Windows 8 blob with entropy "UpToApp\0", protected by that key.
    let blob = write_vector(dir.path(), "dpapick_win8_blob_entropy");
    let o = run([
        "dpapi",
        "unprotect",
        &blob,
        "--masterkey",
        &mk,
        "--sid",
        v["sid"].as_str().unwrap(),
        "--password",
        "fuffa",
        "--entropy",
        "5570546f41707000",
    ]);
    ok(&o);
    assert_eq!(o.stdout, b"UberSecret\0");
    // SYSTEM key opened with a raw DPAPI_SYSTEM half, as impacket's -key.
    let sys = write_vector(dir.path(), "impacket_system_user_masterkey");
    let user_half = "458dc597034d8801fc6fe3b342817caabb81a0cb";
    let o = run(["dpapi", "masterkey", "decrypt", &sys, "--prekey", user_half]);
    ok(&o);
    let expected = all["impacket_system_user_masterkey"]["expected_masterkey"]
        .as_str()
        .unwrap();
    assert!(stdout(&o).contains(expected), "{}", stdout(&o));
    // The HTB credential file, accepted by unprotect as it is on disk.
    let htb = &all["htb_access_masterkey"];
    let mk = write_vector(dir.path(), "htb_access_masterkey");
    let cred = write_vector(dir.path(), "htb_access_credential_file");
    let o = run([
        "dpapi",
        "unprotect",
        &cred,
        "--masterkey",
        &mk,
        "--sid",
        htb["sid"].as_str().unwrap(),
        "--password",
        htb["password"].as_str().unwrap(),
    ]);
    ok(&o);
    assert_eq!(
        o.stdout,
        hex_field(&all["htb_access_credential_file"], "expected_plaintext_hex")
    );
}

#[test]
fn protect_unprotect_and_the_three_dpapi_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (mk, input, blob) = (
        p(dir.path(), "mk"),
        p(dir.path(), "in"),
        p(dir.path(), "blob"),
    );
    std::fs::write(&input, b"connector password\x00\xff").unwrap();
    ok(&run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        SID,
        "--password",
        "pw",
        "--rounds",
        "10",
        "--out",
        &mk,
    ]));
    let o = run([
        "dpapi",
        "protect",
        "--masterkey",
        &mk,
        "--sid",
        SID,
        "--password",
        "pw",
        "--entropy",
        "00112233",
        "--description",
        "keyset",
        "--in",
        &input,
        "--out",
        &blob,
    ]);
    ok(&o);
    assert!(
        stdout(&o).starts_with("Protected 20 bytes with master key "),
        "{}",
        stdout(&o)
    );

    let o = run([
        "dpapi",
        "unprotect",
        &blob,
        "--masterkey",
        &mk,
        "--sid",
        SID,
        "--password",
        "pw",
        "--entropy",
        "00112233",
    ]);
    ok(&o);
    assert_eq!(o.stdout, b"connector password\x00\xff");
    let o = run([
        "--format",
        "json",
        "dpapi",
        "unprotect",
        &blob,
        "--masterkey",
        &mk,
        "--sid",
        SID,
        "--password",
        "pw",
        "--entropy",
        "00112233",
    ]);
    ok(&o);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["description"], "keyset");
    assert_eq!(
        j["plaintext_hex"],
        hex::encode(b"connector password\x00\xff")
    );

    // Wrong entropy, and no entropy: ERROR_INVALID_DATA.
    for extra in [&["--entropy", "00112234"][..], &[][..]] {
        let mut args = vec![
            "dpapi",
            "unprotect",
            &blob,
            "--masterkey",
            &mk,
            "--sid",
            SID,
            "--password",
            "pw",
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("0x8007000D (The data is invalid.)"),
            "{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "no plaintext on failure");
    }
    // Not a blob: ERROR_INVALID_PARAMETER.
    let o = run([
        "dpapi",
        "unprotect",
        &input,
        "--masterkey",
        &mk,
        "--sid",
        SID,
        "--password",
        "pw",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("0x80070057 (The parameter is incorrect.)"),
        "{}",
        stderr(&o)
    );
    // A blob from another master key: NTE_BAD_KEY_STATE naming the key it needs.
    let other = p(dir.path(), "other");
    ok(&run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        SID,
        "--password",
        "pw",
        "--rounds",
        "10",
        "--out",
        &other,
    ]));
    let o = run([
        "dpapi",
        "unprotect",
        &blob,
        "--masterkey",
        &other,
        "--sid",
        SID,
        "--password",
        "pw",
        "--entropy",
        "00112233",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("0x8009000B (Key not valid for use in specified state.)"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("the blob needs master key"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn xp_credhist_prints_every_former_password_hash() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_vector(dir.path(), "dpapick_xp_credhist");
    let sid = "S-1-5-21-583907252-1547161642-682003330-1001";
    let o = run(["dpapi", "credhist", &f, "--sid", sid, "--password", "tutu"]);
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains("4 entries, current credential 67c80c8c-2517-4552-ba95-44f88914bc13"),
        "{text}"
    );
    // SHA-1 of "titi" (the newest entry) and NT hash of "" (the oldest).
    let titi = sim_core::dpapi::prekey::sha1_password("titi");
    assert!(
        text.contains(&format!("SHA1 {}", hex::encode(*titi))),
        "{text}"
    );
    assert!(
        text.contains("NT 31d6cfe0d16ae931b73c59d7e0c089c0"),
        "{text}"
    );
    let o = run([
        "--format",
        "json",
        "dpapi",
        "credhist",
        &f,
        "--sid",
        sid,
        "--password",
        "tutu",
    ]);
    ok(&o);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["entries"].as_array().unwrap().len(), 4);
    assert_eq!(j["unreadable"], 0);
    // The wrong current password opens nothing.
    let o = run(["dpapi", "credhist", &f, "--sid", sid, "--password", "toto"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("0x8007000D"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mk = p(dir.path(), "mk");
    let o = run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        SID,
        "--password",
        "x",
        "--rounds",
        "10000001",
        "--out",
        &mk,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        SID,
        "--password",
        "x",
        "--rounds",
        "0",
        "--out",
        &mk,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run([
        "dpapi",
        "masterkey",
        "create",
        "--sid",
        "S-1-5-21-x",
        "--password",
        "x",
        "--out",
        &mk,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid SID 'S-1-5-21-x'"),
        "{}",
        stderr(&o)
    );
    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &p(dir.path(), "missing"),
        "--sid",
        SID,
        "--password",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));
    std::fs::write(&mk, b"not a master key").unwrap();
    let o = run([
        "dpapi",
        "masterkey",
        "decrypt",
        &mk,
        "--sid",
        SID,
        "--password",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a master key file: master key file: truncated"),
        "{}",
        stderr(&o)
    );
    let o = run([
        "dpapi",
        "unprotect",
        &mk,
        "--masterkey",
        &mk,
        "--sid",
        SID,
        "--password",
        "x",
        "--entropy",
        "zz",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--entropy: 'zz' is not hex"),
        "{}",
        stderr(&o)
    );
    let o = run(["dpapi", "masterkey", "decrypt", &mk, "--prekey", "abcd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--prekey must be 40 hex digits"),
        "{}",
        stderr(&o)
    );
}
