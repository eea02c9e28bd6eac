//! Snapshots of what every verb prints, human and `--format json`, with its exit code: one fixed
//! seed and fixed options, so a changed text, field name, event id or exit code shows up as a
//! reviewed diff of `sim-cli/tests/snapshots/*.snap` instead of passing a scattered `contains`.
//!
//! Each test drives two worlds made the same way in lockstep, one asked for human text and one for
//! JSON, so a verb that changes the world is seen once in each format. What legitimately varies
//! between runs is redacted: the temporary directory (`[TMP]`), the version's git revision
//! (`[REV]`) and the wall-clock time `scenario explore` reports (`[DURATION]`). JSON is
//! pretty-printed for reading; keys and values are as printed.
//!
//! A snapshot that differs fails the test (insta writes nothing when `CI` is set or with
//! `INSTA_UPDATE=no`); review and accept a change with `cargo insta review`, or regenerate with
//! `INSTA_UPDATE=always cargo test -p sim-cli --test runner cli_snapshots` and read the diff.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Sim, adsync_sim_bin, repo};

/// The seed of every world here: a fixed seed, so the same commands print the same bytes.
const SEED: &str = "7";

/// The exit code and both streams of a command, as a snapshot shows them. JSON on standard
/// output is pretty-printed so a diff names the field that changed.
fn render(o: &Output) -> String {
    let code = o
        .status
        .code()
        .map_or_else(|| "signal".to_owned(), |c| c.to_string());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stdout = match serde_json::from_slice::<serde_json::Value>(&o.stdout) {
        Ok(v) if !o.stdout.is_empty() => {
            format!("{}\n", serde_json::to_string_pretty(&v).expect("JSON"))
        }
        _ => stdout.into_owned(),
    };
    let stderr = String::from_utf8_lossy(&o.stderr);
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// A regular expression matching `text` literally.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Asserts `content` against the named snapshot, with the temporary directories (`roots`) and
/// the git revision redacted.
fn snapshot(name: &str, roots: &[&Path], content: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    for root in roots {
        let root = root.to_str().expect("utf-8 path");
        settings.add_filter(&literal(root), "[TMP]");
    }
    settings.add_filter(r"git [0-9a-f]{7,40}", "git [REV]");
    // `scenario explore` reports how long it ran, in wall-clock time.
    settings.add_filter(r"[0-9.]+ s \([0-9.]+ cases/s\)", "[DURATION]");
    settings.bind(|| insta::assert_snapshot!(name, content));
}

/// Two worlds in lockstep: every step runs in both, human text in one and JSON in the other.
struct Twins {
    human: Sim,
    json: Sim,
}

impl Twins {
    /// Two worlds made by `init ARGS…`, whose output is snapshotted as `init_<tag>_*`.
    fn init(tag: &str, args: &[&str]) -> Self {
        let mut t = Self {
            human: Sim::new(),
            json: Sim::new(),
        };
        let mut full = vec!["init"];
        full.extend_from_slice(args);
        t.step(&format!("init_{tag}"), &full);
        t
    }

    fn roots(&self) -> [&Path; 2] {
        [self.human.root(), self.json.root()]
    }

    /// Runs `ARGS…` in both worlds and snapshots `<name>_human` and `<name>_json`.
    fn step(&mut self, name: &str, args: &[&str]) {
        let h = self.human.run(args);
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let j = self.json.run(&full);
        let roots = self.roots();
        snapshot(&format!("{name}_human"), &roots, &render(&h));
        snapshot(&format!("{name}_json"), &roots, &render(&j));
    }

    /// `exec LINE` in both worlds.
    fn exec(&mut self, name: &str, line: &str) {
        self.step(name, &["exec", line]);
    }

    /// A field of `status --format json` in the JSON world (both worlds are the same).
    fn status_field(&mut self, pointer: &str) -> String {
        let v = self.json.json(&["status"]);
        v.pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_else(|| panic!("status has no {pointer}: {v}"))
            .to_owned()
    }
}

/// Runs the binary with `args` in `dir` (no state directory involved).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(adsync_sim_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run adsync-sim")
}

/// The verbs that read or change a healthy world: status, accounts, the DC, the SCM, events,
/// the clock, connectors, runs, `exec`, export, collect, diagnose and remediate.
#[test]
fn healthy_world_verbs() {
    let mut t = Twins::init("healthy", &["--seed", SEED, "--kdf-rounds", "1"]);
    t.step("status", &["status"]);
    t.step("account_list", &["account", "list"]);
    t.step("dc_disconnect", &["dc", "disconnect"]);
    t.step("dc_connect", &["dc", "connect"]);
    t.step("sc_query", &["sc", "query", "ADSync"]);
    t.step("sc_queryex", &["sc", "queryex", "ADSync"]);
    t.step("sc_qc", &["sc", "qc", "ADSync"]);
    t.step("sc_query_unknown", &["sc", "query", "NoSuchService"]);
    t.step(
        "events_system",
        &["events", "--log", "System", "--last", "5"],
    );
    t.step(
        "events_application",
        &["events", "--log", "Application", "--last", "5"],
    );
    t.step("connector_list", &["connector", "list"]);
    t.step("miiskmu_refused_running", &["miiskmu", "/a"]);
    t.step("clock_advance", &["clock", "advance", "31m"]);
    t.step("sync_cycle", &["sync", "cycle", "--policy", "Delta"]);
    t.step("sync_run", &["sync", "run", "contoso.com"]);
    t.exec("exec_sc_queryex", "sc.exe queryex ADSync");
    t.exec("exec_get_service", "Get-Service ADSync");
    t.exec(
        "exec_get_eventlog",
        "Get-EventLog -LogName Application -Newest 3",
    );
    t.exec(
        "exec_get_winevent",
        "Get-WinEvent -LogName System -MaxEvents 3",
    );
    t.exec("exec_get_adsyncscheduler", "Get-ADSyncScheduler");
    t.exec("exec_get_adsyncconnector", "Get-ADSyncConnector");
    t.exec("exec_unknown_command", "Get-ADSyncNothing");
    // Bad input: each error names the input and what is wrong.
    t.step(
        "account_reset_unknown",
        &["account", "reset", "nobody", "--password", "x"],
    );
    t.step(
        "account_reset_virtual",
        &["account", "reset", r"NT SERVICE\ADSync", "--password", "x"],
    );
    t.step(
        "sc_config_no_space",
        &["sc", "config", "ADSync", "password=NoSpace1!"],
    );
    t.step("events_unknown_log", &["events", "--log", "Security"]);
    t.step("clock_advance_too_far", &["clock", "advance", "5y"]);
    t.step("diagnose_healthy", &["diagnose"]);
    t.step("remediate_dry_run_healthy", &["remediate", "--dry-run"]);
    t.step("collect_script", &["collect", "--script"]);

    // export: what it says, the files it wrote (not their bytes) and the bundle's manifest.
    let mut listing = Vec::new();
    for (sim, format) in [(&mut t.human, "human"), (&mut t.json, "json")] {
        let out = sim.root().join("export");
        let out_s = out.to_str().expect("utf-8 path").to_owned();
        let mut args = vec!["--format", format, "export", &out_s];
        if format == "human" {
            args.drain(..2);
        }
        let o = sim.run(&args);
        let mut files: Vec<String> = crate::support::all_files(&out)
            .iter()
            .map(|p| {
                p.strip_prefix(&out)
                    .expect("under export")
                    .display()
                    .to_string()
            })
            .collect();
        files.sort();
        let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap_or_default();
        listing.push((format, render(&o), files, manifest));
    }
    let roots = t.roots();
    for (format, out, files, manifest) in listing {
        snapshot(&format!("export_{format}"), &roots, &out);
        snapshot(
            &format!("export_files_{format}"),
            &roots,
            &format!("{}\n", files.join("\n")),
        );
        snapshot(&format!("export_manifest_{format}"), &roots, &manifest);
    }

    // The connector's password changed in the engine only: the next import has no start
    // credentials (event 6000).
    t.step(
        "connector_set_password",
        &[
            "connector",
            "set-password",
            "contoso.com",
            "--password",
            "NotTheAdPassword1!",
        ],
    );
    t.step(
        "sync_run_no_start_credentials",
        &["sync", "run", "contoso.com"],
    );
    t.step(
        "events_application_6000",
        &["events", "--log", "Application", "--last", "3"],
    );

    // The journal as JSON (the human format of `timeline` is an SVG picture, not text).
    let j = t.json.run(&["--format", "json", "timeline"]);
    snapshot("timeline_json", &t.roots(), &render(&j));
}

/// The March 2017 build's local service account reset: the SCM's old password fails to log on
/// (1069, event 7038); once the SCM has the new one, DPAPI cannot open the keyset (event 6028,
/// service-specific error -21451857952). Then diagnose, the plan, and the key's abandonment as an
/// admin types it.
#[test]
fn broken_world_1069_7038_6028() {
    let mut t = Twins::init(
        "old_build",
        &[
            "--seed",
            SEED,
            "--kdf-rounds",
            "1",
            "--build",
            "1.1.443.0",
            "--service-account",
            "local",
        ],
    );
    let account = t.status_field("/service_account/name");
    t.step(
        "account_reset_service_account",
        &["account", "reset", &account, "--password", "Spring2026!"],
    );
    t.step("sc_stop", &["sc", "stop", "ADSync"]);
    t.step("sc_start_1069", &["sc", "start", "ADSync"]);
    t.step(
        "events_system_7038",
        &["events", "--log", "System", "--last", "3"],
    );
    t.step("diagnose_1069", &["diagnose"]);
    t.step(
        "sc_config_password",
        &["sc", "config", "ADSync", "password=", "Spring2026!"],
    );
    t.step("sc_start_6028", &["sc", "start", "ADSync"]);
    t.step(
        "events_application_6028",
        &["events", "--log", "Application", "--last", "3"],
    );
    t.exec(
        "exec_get_winevent_6028",
        "Get-WinEvent -LogName Application -MaxEvents 1",
    );
    t.step("sc_query_6028", &["sc", "query", "ADSync"]);
    t.step("status_6028", &["status"]);
    t.step("diagnose_6028", &["diagnose"]);
    t.step("remediate_dry_run_6028", &["remediate", "--dry-run"]);
    t.exec(
        "exec_cd_bin",
        r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#,
    );
    t.exec("exec_miiskmu_abandon", "./miiskmu.exe /a");
    t.step(
        "account_change_wrong_old",
        &[
            "account", "change", &account, "--old", "wrong", "--new", "x",
        ],
    );
    let user = account.rsplit('\\').next().expect("account name");
    t.exec("exec_net_user", &format!("net user {user} Summer2026!"));
}

/// `scenario run` of one catalogue file in each format, and a tiny exploration.
#[test]
fn scenario_verbs() {
    let file = "scenarios/failures/02-local-reset-encryption-key-6028.toml";
    let repo = repo().canonicalize().expect("repository");
    for format in ["human", "json", "junit"] {
        let o = run_in(&repo, &["--format", format, "scenario", "run", file]);
        snapshot(&format!("scenario_run_{format}"), &[&repo], &render(&o));
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    for format in ["human", "json"] {
        let o = run_in(
            dir.path(),
            &[
                "--format", format, "scenario", "explore", "--seed", SEED, "--cases", "2",
                "--steps", "4",
            ],
        );
        snapshot(
            &format!("scenario_explore_{format}"),
            &[dir.path()],
            &render(&o),
        );
    }
}

/// `dpapi masterkey create` with a fixed seed, then `decrypt` of the file it wrote.
#[test]
fn dpapi_verbs() {
    let sid = "S-1-5-21-1004336348-1177238915-682003330-1001";
    let dir = tempfile::tempdir().expect("temporary directory");
    for format in ["human", "json"] {
        let mk = dir.path().join(format!("masterkey-{format}"));
        let mk = mk.to_str().expect("utf-8 path");
        let create = run_in(
            dir.path(),
            &[
                "--format",
                format,
                "dpapi",
                "masterkey",
                "create",
                "--sid",
                sid,
                "--password",
                "Spring2026!",
                "--rounds",
                "1",
                "--seed",
                SEED,
                "--out",
                mk,
            ],
        );
        snapshot(
            &format!("dpapi_masterkey_create_{format}"),
            &[dir.path()],
            &render(&create),
        );
        let decrypt = run_in(
            dir.path(),
            &[
                "--format",
                format,
                "dpapi",
                "masterkey",
                "decrypt",
                "--sid",
                sid,
                "--password",
                "Spring2026!",
                mk,
            ],
        );
        snapshot(
            &format!("dpapi_masterkey_decrypt_{format}"),
            &[dir.path()],
            &render(&decrypt),
        );
    }
}

/// A lab from its list to its check.
#[test]
fn lab_verbs() {
    let mut t = Twins {
        human: Sim::new(),
        json: Sim::new(),
    };
    t.step("lab_list", &["lab", "list"]);
    t.step("lab_start", &["lab", "start", "wrong-scm-password"]);
    t.step("lab_brief", &["lab", "brief"]);
    t.step("lab_hint", &["lab", "hint"]);
    t.step("lab_check_unsolved", &["lab", "check"]);
    t.step("lab_reset", &["lab", "reset"]);
    t.step("lab_verify", &["lab", "verify", "wrong-scm-password"]);
}

/// The verbs about the program itself: help, the manual's help, the start of a completion script.
#[test]
fn help_verbs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let o = run_in(dir.path(), &["help"]);
    snapshot("help", &[dir.path()], &render(&o));
    let o = run_in(dir.path(), &["man", "--help"]);
    snapshot("man_help", &[dir.path()], &render(&o));
    let o = run_in(dir.path(), &["completions", "bash"]);
    assert!(o.status.success(), "completions bash: {o:?}");
    let head: Vec<&str> = std::str::from_utf8(&o.stdout)
        .expect("utf-8")
        .lines()
        .take(8)
        .collect();
    snapshot("completions_bash_head", &[dir.path()], &head.join("\n"));
    let o = run_in(dir.path(), &["--version"]);
    snapshot("version", &[dir.path()], &render(&o));
}
