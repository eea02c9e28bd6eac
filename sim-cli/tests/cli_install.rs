//! Install and shell integration through the real binary: `--version` names the version (and the
//! git revision in a checkout), `completions` writes a script for each shell clap_complete
//! supports that names every verb, and `man` writes roff pages for the binary and each verb.

use crate::support::{run, text};

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

/// The README's 30-second tour, line by line as a new user pastes it: every command runs, the
/// first start fails with 1069 (System event 7038), the second with 6028, `diagnose` names the
/// unreadable keyset, and `remediate` ends healthy.
#[test]
fn the_readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let tour = readme
        .split("## A 30-second tour")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the tour's sh block");
    let dir = tempfile::tempdir().unwrap();
    let mut codes = Vec::new();
    for line in tour.lines() {
        let words = shell_words(line);
        let Some((first, args)) = words.split_first() else {
            continue;
        };
        if first == "cd" {
            continue;
        }
        assert_eq!(first, "adsync-sim", "the tour runs only adsync-sim: {line}");
        let o = std::process::Command::new(crate::support::adsync_sim_bin())
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        codes.push((line.to_owned(), o.status.code(), text(&o)));
    }
    let find = |verb: &str, nth: usize| {
        codes
            .iter()
            .filter(|(l, _, _)| l.contains(verb))
            .nth(nth)
            .unwrap_or_else(|| panic!("no `{verb}` #{nth} in the tour"))
    };
    let first_start = find("sc start ADSync", 0);
    assert_eq!(first_start.1, Some(1));
    assert!(
        first_start.2.contains("[SC] StartService FAILED 1069:"),
        "{}",
        first_start.2
    );
    let second_start = find("sc start ADSync", 1);
    assert_eq!(second_start.1, Some(1));
    assert!(
        second_start.2.contains("-21451857952"),
        "{}",
        second_start.2
    );
    assert!(find("events --log Application", 0).2.contains("6028"));
    assert!(
        find("diagnose", 0)
            .2
            .contains("[encryption-key-unreadable]")
    );
    let remediate = find("remediate", 0);
    assert_eq!(remediate.1, Some(0), "{}", remediate.2);
    for (line, code, out) in &codes {
        if !line.contains("sc start") && !line.contains("diagnose") {
            assert_eq!(*code, Some(0), "{line}: {out}");
        }
    }
    assert!(dir.path().join("timeline.html").is_file());
}

/// Splits a line as sh does for the tour's lines: words, single quotes, double quotes without
/// escapes, `$(…)` kept as one word, and a `#` comment after white space.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            '#' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}
