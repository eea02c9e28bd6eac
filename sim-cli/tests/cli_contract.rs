//! The binary's own contract: `--version`, `--help`, and exit status 2 for usage errors.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adsync-sim"))
}

#[test]
fn version_and_help_exit_0() {
    let o = bin().arg("--version").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("adsync-sim "));
    let o = bin().args(["dpapi", "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    for verb in ["masterkey", "protect", "unprotect", "credhist"] {
        assert!(help.contains(verb), "{help}");
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let o = bin().arg("no-such-command").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
