//! `timeline` through the binary: the journal of a state directory and of a scenario run drawn
//! as well-formed SVG with the commands, service states and events it should show and no
//! password; the HTML page is self-contained; JSON gives the journal; a schema 2 state is
//! upgraded in place; and, where Chromium is installed, a headless browser renders the page.

use std::path::Path;

use crate::support::{Sim, run, text};
use serde_json::Value;

/// Parses `xml` to the end; panics with the position of the first error.
fn well_formed(xml: &str) -> usize {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut elements = 0;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => return elements,
            Ok(quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_)) => {
                elements += 1;
            }
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed at {}: {e}: {}",
                r.buffer_position(),
                &xml[..xml.len().min(400)]
            ),
        }
    }
}

/// A lab world with the first moves of the abandon-key procedure in its journal.
fn played() -> Sim {
    let mut sim = Sim::new();
    sim.ok(&["lab", "start", "old-build-service-account-reset"]);
    for line in [
        "sc.exe start ADSync",
        "Get-WinEvent -LogName System -MaxEvents 3",
        "sc.exe config ADSync password= Spring2026!",
        "sc.exe start ADSync",
        r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#,
        "./miiskmu.exe /a",
        "Start-Service ADSync",
        "clock advance 2h",
    ] {
        sim.exec(line);
    }
    sim
}

#[test]
fn the_journal_as_svg_html_and_json() {
    let mut sim = played();
    let svg_path = sim.root().join("t.svg");
    let o = sim.run(&["timeline", "--out", svg_path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Wrote"), "{}", text(&o));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(well_formed(&svg) > 50);
    for want in [
        "lab start old-build-service-account-reset",
        "sc start ADSync",
        "miiskmu",
        "ADSync failed",
        "ADSync running",
        "System 7038 Error",
        "Application 6028 Error",
        "The server encryption key cannot be accessed.",
        "#d32f2f",
        "result 1069",
        "Jan 05 11:00",
    ] {
        assert!(svg.contains(want), "the SVG lacks {want:?}");
    }
    assert!(!svg.contains("Spring2026!"), "a password in the picture");
    assert!(svg.contains("password= ********"));

    // Standard output is the same picture.
    let o = sim.run(&["timeline"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), svg);

    let html_path = sim.root().join("t.html");
    sim.ok(&[
        "--format",
        "html",
        "timeline",
        "--out",
        html_path.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("<table>") && html.contains("6028"));
    // Self-contained: nothing loaded from elsewhere.
    for outside in ["<script", "<link", "src=", "url(", "https://"] {
        assert!(
            !html.contains(outside),
            "the page refers outside: {outside}"
        );
    }
    well_formed(html.trim_start_matches("<!DOCTYPE html>"));

    let doc: Value = sim.json(&["timeline"]);
    let journal = doc["journal"].as_array().unwrap();
    // lab start, seven commands (the `cd` to the bin folder among them).
    assert_eq!(journal.len(), 9);
    assert_eq!(
        journal[0]["command"],
        "lab start old-build-service-account-reset"
    );
    assert_eq!(journal[1]["code"], 1069);
    assert_eq!(journal[1]["service"], "failed");
    assert_eq!(journal[4]["events"][0]["id"], 6028);
    assert_eq!(journal[7]["service"], "running");
}

#[test]
fn a_scenario_run_as_a_picture() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/failures/09-entra-account-reset-aadsts50054.toml");
    let o = run(["timeline", "--scenario", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let svg = String::from_utf8(o.stdout).unwrap();
    well_formed(&svg);
    assert!(svg.contains("Application 6900 Error") && svg.contains("Application 659 Error"));
    assert!(svg.contains("Scenario entra-connector-account-reset-in-the-cloud"));
    assert!(
        !svg.contains("CloudReset2026!"),
        "a password in the picture"
    );
}

#[test]
fn a_schema_2_state_is_upgraded_in_place() {
    let mut sim = Sim::new();
    sim.init(&["--seed", "7", "--kdf-rounds", "1"]);
    {
        let db = rusqlite::Connection::open(sim.state.join("state.db")).unwrap();
        db.execute_batch(
            "ALTER TABLE journal DROP COLUMN service; ALTER TABLE journal DROP COLUMN events;
             DROP TABLE lab; DELETE FROM meta WHERE key = 'key_check';
             UPDATE meta SET value = '2' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    sim.ok(&["sc", "stop", "ADSync"]);
    let doc = sim.json(&["timeline"]);
    let j = doc["journal"].as_array().unwrap();
    assert_eq!(j[0]["service"], "unknown", "rows from before the upgrade");
    assert_eq!(j[1]["service"], "stopped");
    let db = rusqlite::Connection::open(sim.state.join("state.db")).unwrap();
    let v: String = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "4");
    let check: String = db
        .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        check.contains("nonce"),
        "the key check value is added: {check}"
    );
    // A newer schema is refused, naming the file.
    db.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    let o = sim.run(&["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("schema 99"), "{}", text(&o));
}

#[test]
fn a_headless_browser_renders_the_page() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        // CI installs chromium and sets this, so a missing browser fails there instead of
        // passing silently.
        assert!(
            std::env::var_os("ADSYNC_SIM_REQUIRE_CHROMIUM").is_none(),
            "ADSYNC_SIM_REQUIRE_CHROMIUM is set but /usr/bin/chromium is missing"
        );
        eprintln!(
            "skipped cli_timeline::a_headless_browser_renders_the_page: no /usr/bin/chromium (apt-get install chromium)"
        );
        return;
    };
    let mut sim = played();
    let html = sim.root().join("timeline.html");
    sim.ok(&[
        "--format",
        "html",
        "timeline",
        "--out",
        html.to_str().unwrap(),
    ]);
    let png = sim.root().join("timeline.png");
    let profile = sim.root().join("chromium-profile");
    let o = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1700,1100",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a nearly empty picture: {} bytes",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("ADSYNC_SIM_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
