//! The precedence of sources through the real binary: where the 2023 article is explicit the
//! default world follows it, the departure DPAPI suggests is the named opt-in option
//! `--keyset-follows-dpapi` (recorded in the world and shown by `status`), `diagnose` never
//! plans the abandon procedure on a build the article rules it out for, plans name the real
//! tools, and every `doc` scenario of the catalogue cites Microsoft's documentation.

use std::path::Path;

use crate::support::{Sim, text};
use sim_core::scenario::{Evidence, Scenario};

/// `init` on `build` with a local service account; returns its name.
fn local(sim: &mut Sim, build: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--build",
        build,
        "--service-account",
        "local",
        "--seed",
        "31",
        "--kdf-rounds",
        "20",
    ];
    args.extend_from_slice(extra);
    let j = sim.init(&args);
    j["service_account"]["name"].as_str().unwrap().to_owned()
}

/// Reset, give the SCM the new password, start: the administrator's whole rotation.
fn rotate(sim: &mut Sim, account: &str) -> std::process::Output {
    sim.ok(&["sc", "stop", "ADSync"]);
    sim.ok(&["exec", &format!("net user {account} Rotated-2026!")]);
    sim.ok(&["sc", "config", "ADSync", "password=", "Rotated-2026!"]);
    sim.run(&["sc", "start", "ADSync"])
}

#[test]
fn a_newer_builds_supported_reset_works_by_default_and_breaks_only_with_the_option() {
    let mut sim = Sim::new();
    let account = local(&mut sim, "2.5.76.0", &[]);
    let o = rotate(&mut sim, &account);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        sim.json(&["events", "--id", "6028"])["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let status = sim.json(&["status"]);
    assert_eq!(status["adsync"]["keyset_follows_dpapi"], false);
    assert!(!sim.ok(&["status"]).contains("keyset-follows-dpapi"));
    let cycle = sim.json(&["sync", "cycle"]);
    assert_eq!(cycle["result_code"], 0, "{cycle:#}");
    let d = sim.run(&["diagnose"]);
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));

    // The opt-in option: the Credential Manager layer is lost (6028), and diagnose names the
    // article's rule instead of planning miiskmu /a.
    let mut sim = Sim::new();
    let account = local(&mut sim, "2.5.76.0", &["--keyset-follows-dpapi"]);
    assert_eq!(
        sim.json(&["status"])["adsync"]["keyset_follows_dpapi"],
        true
    );
    assert!(sim.ok(&["status"]).contains(
        "\nOption keyset-follows-dpapi (INF/RE, departs from the 2023 article): the keyset survives or breaks as DPAPI alone decides\n"
    ));
    let o = rotate(&mut sim, &account);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("-21451857952"), "{}", text(&o));
    let d = sim.run(&["diagnose"]);
    let t = text(&d);
    assert_eq!(d.status.code(), Some(1), "{t}");
    assert!(t.contains("[encryption-key-unreadable-newer-build]"), "{t}");
    assert!(t.contains("On build 2.5.76.0 the 2023 article rules the abandon procedure out (\"This cannot be used for newer versions of Microsoft Entra Connect because abandoning the encryption key is handled by Microsoft Entra Connect itself\")"), "{t}");
    assert!(
        t.contains("otherwise the documented answer is reinstalling Microsoft Entra Connect."),
        "{t}"
    );
    assert!(
        !t.contains("miiskmu"),
        "no plan may abandon the key on this build: {t}"
    );
    let j = sim.json(&["diagnose"]);
    assert_eq!(
        j["plan"]["steps"].as_array().map_or(0, Vec::len),
        0,
        "{j:#}"
    );
    let r = sim.run(&["remediate"]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(!text(&r).contains("miiskmu"), "{}", text(&r));
}

#[test]
fn an_old_builds_domain_reset_destroys_the_keys_unless_the_option_follows_dpapi() {
    for (option, code) in [(false, Some(1)), (true, Some(0))] {
        let mut sim = Sim::new();
        let mut args = vec![
            "--build",
            "1.1.443.0",
            "--service-account",
            "domain",
            "--seed",
            "33",
            "--kdf-rounds",
            "20",
        ];
        if option {
            args.push("--keyset-follows-dpapi");
        }
        let j = sim.init(&args);
        let account = j["service_account"]["name"].as_str().unwrap().to_owned();
        let sam = account.split_once('\\').unwrap().1.to_owned();
        sim.ok(&["sc", "stop", "ADSync"]);
        // The real tool: the ActiveDirectory module's reset, which prints nothing.
        let reset = sim.run(&[
            "exec",
            &format!("Set-ADAccountPassword -Identity {sam} -Reset -NewPassword (ConvertTo-SecureString 'Dom-2026!' -AsPlainText -Force)"),
        ]);
        assert!(reset.status.success(), "{}", text(&reset));
        assert_eq!(String::from_utf8_lossy(&reset.stdout).trim(), "");
        sim.ok(&["sc", "config", "ADSync", "password=", "Dom-2026!"]);
        let o = sim.run(&["sc", "start", "ADSync"]);
        assert_eq!(o.status.code(), code, "option {option}: {}", text(&o));
    }
}

#[test]
fn plans_name_the_real_tools() {
    let mut sim = Sim::new();
    let account = local(&mut sim, "1.1.443.0", &[]);
    let j = sim.json(&["status"]);
    assert_eq!(j["adsync"]["build"], "1.1.443.0");
    let msol = sim.json(&["connector", "list"]);
    let msol = msol["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "AD")
        .map(|c| c["account"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{msol:#}"));
    let sam = msol.split_once('\\').unwrap().1.to_owned();
    let o = rotate(&mut sim, &account);
    assert_eq!(o.status.code(), Some(1), "6028: {}", text(&o));
    // Nobody knows MSOL_'s password: the plan resets it with the ActiveDirectory module and
    // types it into the Synchronization Service Manager's dialog.
    let t = text(&sim.run(&["remediate", "--dry-run"]));
    assert!(
        t.contains(&format!("Set-ADAccountPassword -Identity {sam} -Reset -NewPassword (ConvertTo-SecureString '<new password for {msol}>' -AsPlainText -Force)")),
        "{t}"
    );
    assert!(t.contains("Synchronization Service Manager, Connectors, contoso.com, Properties, Connect to Active Directory Forest, Password, OK"), "{t}");
    let r = sim.run(&["remediate"]);
    assert!(r.status.success(), "{}", text(&r));
    // net.exe's own text for a reset at the domain controller.
    let net = sim.run(&["exec", &format!("net user {sam} Rotated-By-AD-1! /domain")]);
    assert_eq!(
        String::from_utf8_lossy(&net.stdout).trim_end(),
        "The request will be processed at a domain controller for domain contoso.com.\n\nThe command completed successfully."
    );
    // An identity the directory does not have: the cmdlet's own error.
    let o = sim.run(&["exec", "Set-ADAccountPassword -Identity nobody -Reset -NewPassword (ConvertTo-SecureString 'x-2026!' -AsPlainText -Force)"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("Set-ADAccountPassword : Cannot find an object with identity: 'nobody' under: 'DC=contoso,DC=com'."), "{}", text(&o));
}

/// A `doc` scenario's decisive expectations rest on Microsoft's documentation: its `source`
/// names a seed article by title or a Microsoft Learn page by address. Scenarios resting on
/// community reports say `comm`.
#[test]
fn every_doc_scenario_cites_microsofts_documentation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut checked = 0;
    for dir in ["failures", "labs"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Labs carry a [lab] table the scenario format does not know: read the head.
            let head: String = text.split("\n[lab]").next().unwrap().to_owned();
            let s = Scenario::parse(&path.display().to_string(), &head).unwrap();
            if s.evidence == Some(Evidence::Doc) {
                assert!(
                    Scenario::cites_documentation(&s.source),
                    "{}: evidence doc, but its source cites no seed article or Microsoft page: {}",
                    path.display(),
                    s.source
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "{checked}");
    // The rule can fail.
    assert!(!Scenario::cites_documentation(
        "docs/adsync.md §4 F6 and §5.1 (issue #15456)"
    ));
    assert!(!Scenario::cites_documentation(
        "Azure AD Connect sync: How to manage the encryption key, without its quotation marks"
    ));
    assert!(Scenario::cites_documentation(
        "\"Azure AD Connect sync: How to manage the encryption key\" (2017-03-26, retired), 'Symptoms'"
    ));
}
