//! `adsync-sim shell` through a pseudo-terminal (expectrl): the PowerShell prompt, a command's
//! output, tab completion, PowerShell's error for an unknown command, `$cred = Get-Credential`
//! reading the password without echo and `-AADCredential $cred` using it, `help`, and `exit`;
//! and the same lines scripted through a pipe.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Sim, adsync_sim_bin, text};
use expectrl::{Expect, Session};
use serde_json::Value;

const PROMPT: &str = r"PS C:\Windows\system32> ";

/// Starts the Entra lab (its fix needs a credential) and returns the Global Administrator's
/// name and password from the ticket.
fn entra_lab(sim: &mut Sim) -> (String, String) {
    sim.ok(&["lab", "start", "entra-service-account-reset"]);
    let brief: Value = sim.json(&["lab", "brief"]);
    let line = brief["brief"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.contains("Global Administrator:"))
        .unwrap()
        .to_owned();
    let (user, password) = line.split_once(':').unwrap().1.split_once(" / ").unwrap();
    (user.trim().to_owned(), password.trim().to_owned())
}

#[test]
fn the_shell_in_a_terminal() {
    let mut sim = Sim::new();
    let (admin, password) = entra_lab(&mut sim);
    let mut cmd = Command::new(adsync_sim_bin());
    cmd.args(["--state", sim.state.to_str().unwrap(), "shell"])
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn the shell in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));

    p.expect("Type help for the commands").unwrap();
    p.expect(PROMPT).unwrap();

    // Tab completes the cmdlet; the command's output is the real tool's.
    p.send("Get-WinEv\t").unwrap();
    p.expect("Get-WinEvent").unwrap();
    p.send_line(" -LogName Application -MaxEvents 2").unwrap();
    p.expect("TimeCreated").unwrap();
    p.expect("AADSTS50054").unwrap();
    p.expect(PROMPT).unwrap();

    // An unknown command answers as PowerShell does.
    p.send_line("Get-Foo").unwrap();
    p.expect("Get-Foo : The term 'Get-Foo' is not recognized as the name of a cmdlet")
        .unwrap();
    p.expect("CommandNotFoundException").unwrap();
    p.expect(PROMPT).unwrap();

    // Get-Credential: the user is echoed, the password is not.
    p.send_line("$cred = Get-Credential").unwrap();
    p.expect("PowerShell credential request").unwrap();
    p.expect("User: ").unwrap();
    p.send_line(&admin).unwrap();
    p.expect(format!("Password for user {admin}: ").as_str())
        .unwrap();
    p.send_line(&password).unwrap();
    let after = p.expect(PROMPT).unwrap();
    assert!(
        !String::from_utf8_lossy(after.before()).contains(&password),
        "the password was echoed"
    );

    p.send_line("Add-ADSyncAADServiceAccount -AADCredential $cred")
        .unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("Start-ADSyncSyncCycle -PolicyType Delta")
        .unwrap();
    p.expect("Success").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("lab check").unwrap();
    p.expect("Solved").unwrap();
    p.expect(PROMPT).unwrap();

    p.send_line("help").unwrap();
    p.expect("Get-Credential").unwrap();
    p.expect(PROMPT).unwrap();

    // The 2023 article's step: the prompt follows PowerShell's location.
    p.send_line(r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#)
        .unwrap();
    p.expect(r"PS C:\Program Files\Microsoft Azure AD Sync\Bin> ")
        .unwrap();
    p.send_line("exit").unwrap();
    p.expect(expectrl::Eof).unwrap();

    // The password typed at the prompt is nowhere in the state.
    sim.outputs.clear();
    sim.assert_no_secret(&[&password], &[]);
}

/// `adsync-sim shell` on the sim's state with its three streams piped.
fn piped_shell(sim: &Sim) -> std::process::Child {
    Command::new(adsync_sim_bin())
        .args(["--state", sim.state.to_str().unwrap(), "shell"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_shell_scripted_through_a_pipe() {
    let mut sim = Sim::new();
    let (admin, password) = entra_lab(&mut sim);
    let script = format!(
        "Get-Foo -Bar\nsc.exe query ADSync\n$c = Get-Credential\n{admin}\n{password}\nAdd-ADSyncAADServiceAccount -AADCredential $c\nStart-ADSyncSyncCycle\nexit\nStart-Service Nothing\n"
    );
    let mut child = piped_shell(&sim);
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("The term 'Get-Foo' is not recognized"), "{t}");
    assert!(t.contains("STATE              : 4  RUNNING"), "{t}");
    assert!(t.contains("Success"), "{t}");
    assert!(!t.contains("Nothing"), "lines after exit do not run: {t}");
    assert!(!t.contains(&password), "{t}");
    let check = sim.run(&["lab", "check"]);
    assert!(check.status.success(), "{}", text(&check));
}

/// A reader that goes away (`adsync-sim shell < lines | head -1`) ends the session quietly:
/// exit status 0 and no panic, as a closed pipe ends any other command's output.
#[test]
fn the_shell_stops_quietly_when_its_reader_goes() {
    let mut sim = Sim::new();
    sim.ok(&["init", "--kdf-rounds", "1"]);
    let mut child = piped_shell(&sim);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..5_000 {
            if std::io::Write::write_all(&mut stdin, b"Get-Service ADSync\n").is_err() {
                break;
            }
        }
    });
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{:?}: {err}", o.status);
    assert!(!err.contains("panicked"), "{err}");
}

/// The 2017 articles run `Add-ADSyncAADServiceAccount` bare and answer its credential dialog:
/// in the shell PowerShell prompts for the missing mandatory `-AADCredential` (caption and
/// message from PowerShell's ParameterBinderStrings), the password without echo; the reset
/// then fixes the lab's Entra connector. Through `exec` the same line fails as in a script.
#[test]
fn a_bare_add_adsyncaadserviceaccount_prompts_for_its_credential() {
    let mut sim = Sim::new();
    let (admin, password) = entra_lab(&mut sim);
    let mut cmd = Command::new(adsync_sim_bin());
    cmd.args(["--state", sim.state.to_str().unwrap(), "shell"])
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("spawn the shell in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    p.expect(PROMPT).unwrap();
    p.send_line("Add-ADSyncAADServiceAccount").unwrap();
    p.expect(
        "cmdlet Add-ADSyncAADServiceAccount at command pipeline position 1\r\nSupply values for the following parameters:",
    )
    .unwrap();
    p.expect("PowerShell credential request").unwrap();
    p.expect("User: ").unwrap();
    p.send_line(&admin).unwrap();
    p.expect(format!("Password for user {admin}: ").as_str())
        .unwrap();
    p.send_line(&password).unwrap();
    let after = p.expect(PROMPT).unwrap();
    assert!(
        !String::from_utf8_lossy(after.before()).contains(&password),
        "the password is not echoed"
    );
    p.send_line("Start-ADSyncSyncCycle -PolicyType Delta")
        .unwrap();
    p.expect("Success").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("exit").unwrap();
    p.expect(expectrl::Eof).unwrap();
    let check = sim.run(&["lab", "check"]);
    assert!(check.status.success(), "{}", text(&check));

    let o = sim.exec("Add-ADSyncAADServiceAccount");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("Add-ADSyncAADServiceAccount : Cannot process command because of one or more missing mandatory parameters: AADCredential.\nAt line:1 char:1\n"),
        "{}",
        text(&o)
    );
}
