//! Property tests of the world: random admin sessions over the whole command alphabet (host and
//! ADSync, on every era's build) never panic, replay to the same bytes from the same seed, survive
//! persistence unchanged, never leave a typed password in the state or an output, and a command
//! the world refuses leaves it exactly as it was.

use proptest::prelude::*;
use sim_core::adsync::build::Build;
use sim_core::command::parse_line;
use sim_core::seal::Sealer;
use sim_core::world::{ServiceAccountKind, World, WorldOptions};

/// Passwords the sessions type; none may ever appear in the state.
const PASSWORDS: [&str; 3] = ["Alpha-Pw-1111", "Bravo-Pw-2222", "Charlie-Pw-3333"];

fn kind() -> impl Strategy<Value = ServiceAccountKind> {
    prop_oneof![
        Just(ServiceAccountKind::Virtual),
        Just(ServiceAccountKind::Local),
        Just(ServiceAccountKind::Domain),
        Just(ServiceAccountKind::Gmsa),
    ]
}

/// One admin action, with `{a}` for the service account and `{p}`/`{q}` for passwords.
fn action() -> impl Strategy<Value = String> {
    let pw = 0..PASSWORDS.len();
    prop_oneof![
        Just("sc start ADSync".to_owned()),
        Just("sc stop ADSync".to_owned()),
        Just("Restart-Service ADSync".to_owned()),
        Just("sc query ADSync".to_owned()),
        pw.clone()
            .prop_map(|p| format!("account reset {{a}} --password {}", PASSWORDS[p])),
        (pw.clone(), pw.clone()).prop_map(|(p, q)| format!(
            "account change {{a}} --old {} --new {}",
            PASSWORDS[p], PASSWORDS[q]
        )),
        pw.prop_map(|p| format!("sc config ADSync password= {}", PASSWORDS[p])),
        Just("account disable {a}".to_owned()),
        Just("account enable {a}".to_owned()),
        Just("account lock {a}".to_owned()),
        Just("account unlock {a}".to_owned()),
        Just("dc disconnect".to_owned()),
        Just("dc connect".to_owned()),
        prop_oneof![Just("1h"), Just("31d"), Just("91d")]
            .prop_map(|d| format!("clock advance {d}")),
        Just("events --last 3".to_owned()),
        Just("status".to_owned()),
        Just("account list".to_owned()),
        adsync_action(),
    ]
}

/// The ADSync part of the alphabet, with `{m}` for the AD DS connector account, `{s}` for the
/// Entra one and `{g}` for the Global Administrator's credential.
fn adsync_action() -> impl Strategy<Value = String> {
    let pw = 0..PASSWORDS.len();
    prop_oneof![
        Just("miiskmu /a".to_owned()),
        Just("sync cycle".to_owned()),
        Just("sync run contoso.com --profile 'Full Import'".to_owned()),
        Just("Start-ADSyncSyncCycle -PolicyType Initial".to_owned()),
        Just("Set-ADSyncScheduler -SyncCycleEnabled $false".to_owned()),
        Just("Set-ADSyncScheduler -SyncCycleEnabled $true".to_owned()),
        Just("Get-ADSyncScheduler".to_owned()),
        Just("connector list".to_owned()),
        Just("clock advance 2h".to_owned()),
        pw.clone().prop_map(|p| format!(
            "connector set-password contoso.com --password {}",
            PASSWORDS[p]
        )),
        pw.clone()
            .prop_map(|p| format!("account reset {{m}} --password {}", PASSWORDS[p])),
        pw.prop_map(|p| format!(
            "Set-MsolUserPassword -UserPrincipalName {{s}} -NewPassword {}",
            PASSWORDS[p]
        )),
        Just("Add-ADSyncAADServiceAccount -AADCredential {g}".to_owned()),
    ]
}

/// A build of each era that supports the account kind.
fn build(kind: ServiceAccountKind) -> impl Strategy<Value = Build> {
    let builds: Vec<Build> = ["1.1.443.0", "1.1.484.0", "1.4.18.0", "2.5.76.0"]
        .iter()
        .map(|b| b.parse().expect("build"))
        .filter(|b: &Build| {
            b.supports_managed_accounts()
                || matches!(kind, ServiceAccountKind::Local | ServiceAccountKind::Domain)
        })
        .collect();
    proptest::sample::select(builds)
}

/// Runs a session and returns the state JSON and every output, failing on any panic or on an
/// error that is not a clean refusal of bad input.
fn play(
    seed: u64,
    kind: ServiceAccountKind,
    build: Build,
    session: &[String],
) -> (String, Vec<String>) {
    let opts = WorldOptions {
        seed,
        kdf_rounds: 2,
        service_account: Some(kind),
        build,
        ..WorldOptions::default()
    };
    let (mut world, report) = World::new(&opts, Sealer::in_memory([9; 32])).expect("init");
    let install = &report.install;
    let mut outputs = vec![];
    for line in session {
        let line = line
            .replace("{a}", &format!("'{}'", report.service_account))
            .replace("{m}", &format!("'{}'", install.ad_accounts[0].1))
            .replace("{s}", &install.entra_account)
            .replace(
                "{g}",
                &format!(
                    "'{}:{}'",
                    install.global_admin.0,
                    install.global_admin.1.as_str()
                ),
            );
        let command = parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let before = world.state().clone();
        match world.exec(&command) {
            Ok(o) => outputs.push(format!("{} {} {}", o.code, o.text, o.json)),
            // Refusals (virtual and gMSA accounts have no password to set) are part of the model,
            // and a refused command is one transaction that changed nothing.
            Err(e) => {
                assert!(
                    world.state() == &before,
                    "the refused `{line}` changed the world: {e}"
                );
                outputs.push(format!("refused: {e}"));
            }
        }
    }
    (
        serde_json::to_string(world.state()).expect("state serialises"),
        outputs,
    )
}

proptest! {
    #![proptest_config(crate::support::proptest_config(32))]

    #[test]
    fn sessions_are_deterministic_persistent_and_leak_no_password(
        seed in 0u64..1_000_000,
        (kind, build) in kind().prop_flat_map(|k| (Just(k), build(k))),
        session in proptest::collection::vec(action(), 1..14),
    ) {
        let (state, outputs) = play(seed, kind, build, &session);
        let (again, outputs_again) = play(seed, kind, build, &session);
        prop_assert_eq!(&state, &again, "same seed and commands, same state");
        prop_assert_eq!(&outputs, &outputs_again);

        let parsed: sim_core::world::WorldState = serde_json::from_str(&state).expect("state parses");
        prop_assert_eq!(serde_json::to_string(&parsed).unwrap(), state.clone(), "persistence round trip");

        for pw in PASSWORDS {
            let utf16: String = pw.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect();
            prop_assert!(!state.contains(pw), "password in the state");
            prop_assert!(!state.contains(&utf16), "password (UTF-16LE hex) in the state");
            prop_assert!(!outputs.iter().any(|o| o.contains(pw)), "password in an output");
        }
    }

    #[test]
    fn a_virtual_account_service_always_starts_again(
        seed in 0u64..1_000_000,
        session in proptest::collection::vec(action(), 1..10),
    ) {
        let session: Vec<String> = session.into_iter().filter(|l| !l.contains("{a}")).collect();
        let mut full = session.clone();
        full.push("sc stop ADSync".into());
        full.push("sc start ADSync".into());
        let build = "2.5.76.0".parse().expect("build");
        let (_, outputs) = play(seed, ServiceAccountKind::Virtual, build, &full);
        prop_assert!(outputs.last().unwrap().starts_with("0 "), "a virtual account never breaks DPAPI: {:?}", outputs.last());
    }
}
