//! The Windows backend from the test suite: on every platform, `probe-service` and `parity`
//! exist and say what they need when this build cannot drive Windows; on Windows, the parity
//! suite against the real host.
//!
//! The parity suite changes the host it runs on (a local account, its "Log on as a service"
//! right and profile, a service, a keyset file under ProgramData), so it runs only with
//! `ADSYNC_SIM_REAL_WINDOWS=1`, as an Administrator, on a throwaway host; a guard removes all of
//! it afterwards, also after a failure or a panic. See the README's "Windows backend".

#[cfg(not(windows))]
#[test]
fn windows_verbs_say_what_they_need_off_windows() {
    use crate::support::text;
    for args in [
        vec!["parity"],
        vec![
            "probe-service",
            "install",
            "--account",
            ".\\probe",
            "--password",
            "x",
        ],
        vec!["probe-service", "run", "--keyset", "k"],
        vec!["probe-service", "uninstall"],
    ] {
        let o = crate::support::run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("needs Windows and a build with --features windows"),
            "{args:?}: {}",
            text(&o)
        );
    }
}

#[cfg(windows)]
#[test]
fn parity_with_the_simulator_on_a_real_host() {
    if let Some(why) = sim_windows::parity::refusal() {
        println!("skipped: the parity suite: {why}");
        return;
    }
    // The probe service runs adsync-sim.exe built with the Windows backend.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-q", "-p", "sim-cli", "--features", "windows"])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "building adsync-sim with --features windows failed"
    );
    let bin = dir.join("adsync-sim.exe");
    let report = sim_windows::parity::run(&bin).unwrap();
    println!("{}", report.render());
    assert!(report.matches(), "{}", report.render());
}

#[test]
fn the_sim_side_of_parity_runs_everywhere() {
    // What the parity suite plays on the simulator alone gives the documented codes; the
    // two-host comparison itself is unit-tested in sim_core::backend::parity.
    use sim_core::backend::SimHost;
    use sim_core::backend::parity::{SeedNames, observe, seed_steps};
    use sim_core::command::Secret;
    use sim_core::seal::Sealer;
    use sim_core::world::{World, WorldOptions};
    let options = WorldOptions {
        seed: 3,
        kdf_rounds: 2,
        ..WorldOptions::default()
    };
    let (mut world, _) = World::new(&options, Sealer::in_memory([3; 32])).unwrap();
    let mut host = SimHost::new(&mut world);
    let names = SeedNames::throwaway(
        "cli",
        "\"C:\\adsync-sim.exe\" probe-service run --name AdsyncSimProbe_cli".into(),
        [
            Secret::new("Alpha-2026-pass!"),
            Secret::new("Bravo-2026-pass!"),
            Secret::new("Charlie-2026-pass!"),
        ],
    );
    let codes: Vec<u32> = seed_steps(&names)
        .iter()
        .map(|s| observe(&mut host, s).code.unwrap())
        .collect();
    assert_eq!(codes[5], 1069, "{codes:?}");
    assert_eq!(codes[11], 1066, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c != 0).count(), 2, "{codes:?}");
}
