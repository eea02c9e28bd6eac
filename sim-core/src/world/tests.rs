//! Unit tests of the world: resets, rotations, recovery, machine scope and determinism.

use super::*;
use crate::command::parse_line;
use crate::dpapi::api::DpapiError;
use crate::dpapi::prekey::Credential;
use crate::win::text::win32;

/// A world on the default build that follows DPAPI alone (the opt-in option): these
/// tests exercise DPAPI's change versus reset and its recovery through the DC.
fn world(kind: ServiceAccountKind) -> (World, InitReport) {
    world_with(kind, DEFAULT_BUILD, true)
}

fn world_with(kind: ServiceAccountKind, build: Build, dpapi: bool) -> (World, InitReport) {
    let opts = WorldOptions {
        seed: 7,
        kdf_rounds: 3,
        service_account: Some(kind),
        build,
        keyset_follows_dpapi: dpapi,
        ..WorldOptions::default()
    };
    World::new(&opts, Sealer::in_memory([1; 32])).unwrap()
}

/// The default world follows the 2023 article's Important notes: from April 2017 a reset
/// is supported (the engine protects its Credential Manager keyset again, even with no DC
/// for a domain account); up to March 2017 it destroys the keys for a domain account too.
#[test]
fn the_default_world_follows_the_2023_article_on_resets() {
    for kind in [ServiceAccountKind::Local, ServiceAccountKind::Domain] {
        let (mut w, report) = world_with(kind, DEFAULT_BUILD, false);
        let name = report.service_account.clone();
        run(&mut w, "sc stop ADSync");
        run(
            &mut w,
            &format!("account reset {name} --password 'Reset#2026'"),
        );
        run(&mut w, "sc config ADSync password= 'Reset#2026'");
        run(&mut w, "dc disconnect");
        let start = run(&mut w, "sc start ADSync");
        assert_eq!(start.code, 0, "{kind:?}: {}", start.text);
        assert!(start.events.iter().all(|e| e.id != 6028), "{kind:?}");
        // The credential was protected again: the next start needs no copy for a local
        // account (a domain account's new protection waits for the DC).
        run(&mut w, "sc stop ADSync");
        assert_eq!(run(&mut w, "sc start ADSync").code, 0, "{kind:?}");
    }
    let (mut w, report) = world_with(
        ServiceAccountKind::Domain,
        "1.1.443.0".parse().unwrap(),
        false,
    );
    let name = report.service_account.clone();
    run(&mut w, "sc stop ADSync");
    run(
        &mut w,
        &format!("account reset {name} --password 'Reset#2026'"),
    );
    run(&mut w, "sc config ADSync password= 'Reset#2026'");
    let start = run(&mut w, "sc start ADSync");
    assert_eq!(start.code, win32::SERVICE_SPECIFIC_ERROR, "{}", start.text);
    assert!(start.events.iter().any(|e| e.id == 6028));
    // The option: DPAPI recovers through the reachable DC.
    let (mut w, report) = world_with(
        ServiceAccountKind::Domain,
        "1.1.443.0".parse().unwrap(),
        true,
    );
    let name = report.service_account.clone();
    run(&mut w, "sc stop ADSync");
    run(
        &mut w,
        &format!("account reset {name} --password 'Reset#2026'"),
    );
    run(&mut w, "sc config ADSync password= 'Reset#2026'");
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
}

fn run(w: &mut World, line: &str) -> Outcome {
    w.exec(&parse_line(line).unwrap()).unwrap()
}

#[test]
fn local_reset_gives_1069_then_6028_and_change_gives_neither() {
    let (mut w, report) = world(ServiceAccountKind::Local);
    let name = report.service_account.clone();
    assert_eq!(run(&mut w, "sc query ADSync").json["state"], "RUNNING");
    assert_eq!(run(&mut w, "sc stop ADSync").code, 0);
    assert_eq!(
        run(
            &mut w,
            &format!("account reset {name} --password 'Reset#2026'")
        )
        .code,
        0
    );
    let o = run(&mut w, "sc start ADSync");
    assert_eq!(o.code, 1069);
    assert!(
        o.text.contains("[SC] StartService FAILED 1069:"),
        "{}",
        o.text
    );
    assert!(o.events.iter().any(|e| {
        e.id == 7038
            && e.message
                .contains("The user name or password is incorrect.")
    }));
    assert_eq!(run(&mut w, "sc config ADSync password= Reset#2026").code, 0);
    let o = run(&mut w, "sc start ADSync");
    assert_eq!(o.code, 1066, "{}", o.text);
    assert!(
        o.text.contains("service-specific error code -21451857952"),
        "{}",
        o.text
    );
    assert!(
        o.events
            .iter()
            .any(|e| e.id == 6028 && e.message == crate::adsync::text::EVENT_6028_TEXT)
    );

    // The same account changed by its owner: DPAPI follows, the service starts.
    let (mut w, report) = world(ServiceAccountKind::Local);
    let old = report.service_account_password.clone().unwrap();
    run(&mut w, "sc stop ADSync");
    let o = run(
        &mut w,
        &format!(
            "account change {} --old '{}' --new 'Changed#2026'",
            report.service_account,
            old.as_str()
        ),
    );
    assert_eq!(o.code, 0, "{}", o.text);
    assert_eq!(
        run(&mut w, "sc start ADSync").code,
        1069,
        "the SCM still has the old password"
    );
    run(&mut w, "sc config ADSync password= Changed#2026");
    let o = run(&mut w, "sc start ADSync");
    assert_eq!(o.code, 0, "{}", o.text);
}

#[test]
fn virtual_account_has_no_password_and_survives_rotation() {
    let (mut w, report) = world(ServiceAccountKind::Virtual);
    assert_eq!(report.service_account, "NT SERVICE\\ADSync");
    let e = w
        .exec(&parse_line("account reset ADSync --password x").unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("virtual account: it has no password"),
        "{e}"
    );
    run(&mut w, "clock advance 200d");
    run(&mut w, "Restart-Service ADSync");
    assert_eq!(run(&mut w, "sc query ADSync").json["state"], "RUNNING");
}

#[test]
fn refusals_carry_the_account_and_the_reason() {
    let (mut w, _) = world(ServiceAccountKind::Virtual);
    let before = w.state().clone();
    let e = w
        .exec(&parse_line("account change ADSync --old a --new b").unwrap())
        .unwrap_err();
    assert_eq!(
        e,
        WorldError::AccountRefused {
            account: "NT SERVICE\\ADSync".into(),
            refusal: Refusal::VirtualPassword {
                action: PasswordAction::Change
            },
        }
    );
    assert_eq!(
        e.to_string(),
        "NT SERVICE\\ADSync is a virtual account: it has no password to change. Windows manages its credentials; DPAPI protects its keys with the machine's DPAPI_SYSTEM secret."
    );
    let e = w
        .exec(&parse_line("account disable ADSync").unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            WorldError::AccountRefused {
                refusal: Refusal::VirtualState,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(w.state(), &before, "a refusal changes nothing");
    // A group managed service account's password is the directory's: a change is refused in
    // the participle's form.
    let gmsa = Refusal::ManagedPassword {
        standalone: false,
        action: PasswordAction::Change,
    };
    assert_eq!(
        gmsa.sentence("CONTOSO\\svc-adsync$"),
        "CONTOSO\\svc-adsync$ is a group managed service account: Active Directory manages its password and rotates it every 30 days; it cannot be changed by hand."
    );
}

#[test]
fn gmsa_rotates_every_30_days_without_breaking_dpapi() {
    let (mut w, _) = world(ServiceAccountKind::Gmsa);
    let before = w.state().accounts[0].hashes.clone();
    run(&mut w, "clock advance 95d");
    assert_ne!(w.state().accounts[0].hashes, before);
    run(&mut w, "sc stop ADSync");
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
}

#[test]
fn domain_reset_recovers_through_the_dc_backup_key_only_when_reachable() {
    for reachable in [true, false] {
        let (mut w, report) = world(ServiceAccountKind::Domain);
        let name = report.service_account.clone();
        assert!(w.state().domain.as_ref().unwrap().backup_key.is_some());
        let acc = w
            .state()
            .accounts
            .iter()
            .find(|a| a.qualified_name() == name)
            .unwrap()
            .clone();
        let st = acc
            .protect
            .restore(&acc.sid(), acc.kind.store_kind())
            .unwrap();
        assert!(
            st.master_keys.values().all(|f| f.domain_key.is_some()),
            "domain keys are wrapped for the DC"
        );
        run(&mut w, "sc stop ADSync");
        run(
            &mut w,
            &format!("account reset {name} --password Dom-Reset-1"),
        );
        run(&mut w, "sc config ADSync password= Dom-Reset-1");
        if !reachable {
            run(&mut w, "dc disconnect");
        }
        let o = run(&mut w, "sc start ADSync");
        if reachable {
            assert_eq!(o.code, 0, "recovered through the backup key: {}", o.text);
            // The key was re-protected under the new password: no DC needed any more.
            run(&mut w, "sc stop ADSync");
            run(&mut w, "dc disconnect");
            assert_eq!(run(&mut w, "sc start ADSync").code, 0);
        } else {
            assert_eq!(o.code, 1066, "{}", o.text);
            run(&mut w, "dc connect");
            assert_eq!(
                run(&mut w, "sc start ADSync").code,
                0,
                "recovered once the DC answers"
            );
        }
    }
}

/// A new state names the backup key and holds none of it (the key is the seed's, made when
/// first used); a state written before that holds it sealed, and that sealed key is the one
/// served: the recovery after a reset works through it, and a damaged one is refused.
#[test]
fn a_state_holding_the_backup_key_sealed_is_served_that_key() {
    for damaged in [false, true] {
        let (mut w, report) = world(ServiceAccountKind::Domain);
        let name = report.service_account.clone();
        let stored = w
            .state()
            .domain
            .as_ref()
            .unwrap()
            .backup_key
            .clone()
            .unwrap();
        assert_eq!(stored.sealed, None);
        let der = super::domain::generated_backup_key(w.state().seed)
            .unwrap()
            .to_pkcs8()
            .unwrap();
        let mut sealed = w.sealer.seal(&format!("BCKUPKEY_{}", stored.guid), &der);
        if damaged {
            sealed = w.sealer.seal("BCKUPKEY_another", &der);
        }
        w.state
            .domain
            .as_mut()
            .unwrap()
            .backup_key
            .as_mut()
            .unwrap()
            .sealed = Some(sealed);
        run(&mut w, "sc stop ADSync");
        run(
            &mut w,
            &format!("account reset {name} --password Dom-Reset-1"),
        );
        run(&mut w, "sc config ADSync password= Dom-Reset-1");
        let started = w.exec(&parse_line("sc start ADSync").unwrap());
        if damaged {
            assert!(started.is_err(), "the damaged sealed key is refused");
        } else {
            assert_eq!(started.unwrap().code, 0, "recovered through the sealed key");
        }
    }
}

#[test]
fn disabled_or_locked_accounts_fail_the_logon() {
    let (mut w, report) = world(ServiceAccountKind::Local);
    let name = report.service_account.clone();
    run(&mut w, "sc stop ADSync");
    run(&mut w, &format!("net user {name} /active:no"));
    let o = run(&mut w, "sc start ADSync");
    assert_eq!(o.code, 1069);
    assert!(
        o.events[0]
            .message
            .contains("due to the following error: This user can't sign in because this account is currently disabled.\n\n")
    );
    run(&mut w, &format!("account enable {name}"));
    run(&mut w, &format!("account lock {name}"));
    assert_eq!(run(&mut w, "sc start ADSync").code, 1069);
    run(&mut w, &format!("account unlock {name}"));
    assert_eq!(run(&mut w, "sc start ADSync").code, 0);
}

#[test]
fn machine_scope_blobs_need_this_machines_dpapi_system() {
    let (mut w, _) = world(ServiceAccountKind::Virtual);
    let blob = w
        .protect_machine(b"keyset", b"entropy", "MMS_ENCRYPTION_KEYSET")
        .unwrap();
    assert_eq!(
        &w.unprotect_machine(&blob, b"entropy").unwrap().unwrap()[..],
        b"keyset"
    );
    let parsed = crate::dpapi::blob::Blob::parse(&blob).unwrap();
    assert_eq!(parsed.flags, crate::dpapi::api::CRYPTPROTECT_LOCAL_MACHINE);
    let opts = WorldOptions {
        seed: 8,
        kdf_rounds: 3,
        ..WorldOptions::default()
    };
    let (other, _) = World::new(&opts, Sealer::in_memory([1; 32])).unwrap();
    assert!(matches!(
        other.unprotect_machine(&blob, b"entropy").unwrap(),
        Err(DpapiError::BadKeyState { .. })
    ));
}

#[test]
fn sysprep_made_system_keys_open_with_their_dpapi_system_halves() {
    let (w, _) = world(ServiceAccountKind::Virtual);
    let secret = w.dpapi_system().unwrap();
    let files = w.artefacts().unwrap();
    let key = |prefix: &str| {
        files
            .iter()
            .find(|(p, _)| {
                p.starts_with(prefix) && !p.ends_with("Preferred") && p[prefix.len()..].len() == 36
            })
            .map(|(_, b)| crate::dpapi::masterkey::MasterKeyFile::parse(b).unwrap())
            .unwrap_or_else(|| panic!("no key under {prefix}"))
    };
    let machine = key("Windows/System32/Microsoft/Protect/S-1-5-18/");
    let user = key("Windows/System32/Microsoft/Protect/S-1-5-18/User/");
    assert_eq!(machine.flags, 6);
    assert!(
        machine
            .decrypt(&Credential::system_machine(&secret))
            .is_ok()
    );
    assert!(machine.decrypt(&Credential::system_user(&secret)).is_err());
    assert!(user.decrypt(&Credential::system_user(&secret)).is_ok());
}

#[test]
fn same_seed_same_state() {
    let (a, _) = world(ServiceAccountKind::Local);
    let (b, _) = world(ServiceAccountKind::Local);
    assert_eq!(
        serde_json::to_string(a.state()).unwrap(),
        serde_json::to_string(b.state()).unwrap()
    );
}

#[test]
fn a_failing_transaction_leaves_the_world_as_it_was() {
    let (mut w, _) = world(ServiceAccountKind::Local);
    run(&mut w, "sc stop ADSync");
    let before = w.state().clone();
    // Work that changes the clock, the seed's stream and the event log, then fails.
    let failed: Result<(), WorldError> = w.atomically(|w| {
        w.exec(&parse_line("sc start ADSync").unwrap())?;
        w.exec(&parse_line("clock advance 1h").unwrap())?;
        assert_ne!(w.state(), &before);
        Err(WorldError::Limit(Limit::LockoutThreshold { asked: 1000 }))
    });
    assert!(failed.is_err());
    assert_eq!(w.state(), &before, "all of it or nothing");
    // A nested failure undoes only its own work.
    w.atomically(|w| {
        w.exec(&parse_line("sc start ADSync").unwrap())?;
        let started = w.state().clone();
        let inner: Result<(), WorldError> = w.atomically(|w| {
            w.exec(&parse_line("clock advance 1h").unwrap())?;
            Err(WorldError::Limit(Limit::SyncCycles { secs: 1, cycles: 1 }))
        });
        assert!(inner.is_err());
        assert_eq!(w.state(), &started);
        Ok(())
    })
    .unwrap();
    assert_ne!(w.state(), &before, "the outer transaction committed");
}

/// A restored world refuses a damaged stream position instead of replaying the seed's stream
/// from its start, and a keyset id that no keyset can carry instead of panicking later.
#[test]
fn damaged_state_fields_are_exact_errors() {
    let (w, _) = world(ServiceAccountKind::Virtual);
    let sealer = Sealer::in_memory([1; 32]);
    let mut state = w.state().clone();
    state.rng_pos = "12x".into();
    assert_eq!(
        World::from_state(state, sealer.clone()).unwrap_err(),
        WorldError::BadValue {
            field: "rng_pos".into(),
            value: "12x".into(),
            expected: "a decimal stream position".into(),
        }
    );
    for id in [0, 256] {
        let mut state = w.state().clone();
        if let Some(Program::Engine(e)) = state.programs.get_mut(ADSYNC_SERVICE) {
            e.server.keyset_id = id;
        }
        let err = World::from_state(state, sealer.clone()).unwrap_err();
        assert_eq!(
            err,
            WorldError::BadValue {
                field: "mms_server_configuration.keyset_id".into(),
                value: id.to_string(),
                expected: "a keyset id from 1 to 255".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the world state is damaged: mms_server_configuration.keyset_id is '{id}', which is not a keyset id from 1 to 255"
            )
        );
    }
    let mut state = w.state().clone();
    state.format = STATE_FORMAT + 1;
    let err = World::from_state(state, sealer.clone()).unwrap_err();
    assert_eq!(
        err,
        WorldError::StateFormat {
            found: STATE_FORMAT + 1,
            supported: STATE_FORMAT
        }
    );
    assert!(err.hint().is_some());
    // The stream continues where it was: a restored world draws what the original draws.
    let mut a = World::from_state(w.state().clone(), sealer).unwrap();
    let mut b = w.clone();
    assert_eq!(a.generate_admin_password(), b.generate_admin_password());
}

/// A start the world cannot serve (the service account's Protect folder no longer parses) is
/// the world's error, carried to the caller through the host, not DPAPI's refusal: no event
/// 6028, no 1066.
#[test]
fn a_damaged_protect_folder_fails_the_start_with_the_worlds_error() {
    let (mut w, report) = world(ServiceAccountKind::Virtual);
    run(&mut w, "sc stop ADSync");
    let ai = w.account_index(&report.service_account).unwrap();
    let qualified = w.state.accounts[ai].qualified_name();
    for (_, bytes) in &mut w.state.accounts[ai].protect.files {
        *bytes = "not hex".into();
    }
    let events = w.state().events.clone();
    let err = w.exec(&parse_line("sc start ADSync").unwrap()).unwrap_err();
    assert_eq!(
        err,
        WorldError::BadFormat {
            what: format!("the Protect folder of {qualified}"),
            reason: None,
        }
    );
    assert_eq!(w.state().events, events, "no event was written");
}
