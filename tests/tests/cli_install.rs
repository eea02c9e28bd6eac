//! Install and shell integration through the real binary: `--version` names the version (and the
//! git revision in a checkout), `completions` writes a script for each shell clap_complete
//! supports that names every verb, and `man` writes roff pages for the binary and each verb.

use sim_tests::{run, text};

/// The verbs a completion script and the manual must know (a sample across the grammar).
const VERBS: [&str; 10] = [
    "init",
    "status",
    "account",
    "sc",
    "diagnose",
    "remediate",
    "scenario",
    "lab",
    "timeline",
    "completions",
];

#[test]
fn version_names_the_package_version_and_the_revision_in_a_checkout() {
    let o = run(["--version"]);
    assert!(o.status.success());
    let line = text(&o);
    let line = line.trim();
    let expected = format!("adsync-sim {}", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected), "{line}");
    let in_git = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(rev) = in_git {
        let rev = String::from_utf8(rev.stdout).unwrap();
        assert_eq!(line, format!("{expected} (git {})", rev.trim()));
    }
}

#[test]
fn completions_for_every_shell_name_every_verb() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = run(["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o));
        let script = String::from_utf8(o.stdout).unwrap();
        assert!(script.contains("adsync-sim"), "{shell}");
        for verb in VERBS {
            assert!(script.contains(verb), "{shell} completes no `{verb}`");
        }
    }
    let o = run(["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("invalid value 'tcsh'"), "{}", text(&o));
}

#[test]
fn the_bash_script_loads_and_registers_the_completion() {
    let Ok(bash) = which("bash") else {
        println!("skipped: no bash on this machine");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("adsync-sim.bash");
    std::fs::write(&script, run(["completions", "bash"]).stdout).unwrap();
    let o = std::process::Command::new(bash)
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p adsync-sim",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("adsync-sim"), "{}", text(&o));
}

#[test]
fn man_prints_the_main_page_and_writes_one_per_verb() {
    let o = run(["man"]);
    assert!(o.status.success());
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH adsync-sim 1"), "{page}");
    assert!(page.contains(".SH NAME"));
    assert!(page.contains(".SH SUBCOMMANDS"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = run(["--format", "json", "man", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pages: Vec<&str> = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(pages.contains(&"adsync-sim.1"), "{pages:?}");
    for verb in VERBS {
        let name = format!("adsync-sim-{verb}.1");
        assert!(pages.contains(&name.as_str()), "no {name} in {pages:?}");
        let roff = std::fs::read_to_string(out.join(&name)).unwrap();
        assert!(roff.contains(".TH adsync-sim-"), "{name}");
    }
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .ok_or(())
}
