//! The ADSync model through the real binary: one journey per documented failure and fix, written
//! from the seed articles, with exact texts, event IDs and result codes, and no password in
//! state, exports or output.

use crate::support::{Sim, fresh_seed, text};
use serde_json::Value;

const ROUNDS: &str = "50";

/// The texts the seed articles print, verbatim.
const EVENT_6028: &str = "The server encryption key cannot be accessed.";
const SERVICE_SPECIFIC: &str = "refer to service-specific error code -21451857952.";
const AADSTS: &str = "AADSTS70002: Error validating credentials. AADSTS50054: Old password is used for authentication.";
const MIISKMU_RUNNING: &str = "The operation encountered an error and cannot be completed. Error: The operation failed because server service was started. Error Code: 80131600";

struct Installed {
    sim: Sim,
    init: Value,
}

fn install(args: &[&str]) -> Installed {
    let sim = Sim::new();
    let seed = fresh_seed();
    let mut full = vec!["--seed", seed.as_str(), "--kdf-rounds", ROUNDS];
    full.extend_from_slice(args);
    let init = sim.init(&full);
    Installed { sim, init }
}

impl Installed {
    fn s(&self, pointer: &str) -> String {
        self.init
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("init has no {pointer}: {}", self.init))
            .to_owned()
    }

    fn global_admin(&self) -> String {
        format!(
            "{}:{}",
            self.s("/global_admin/name"),
            self.s("/global_admin/password")
        )
    }

    fn connectors(&mut self) -> Vec<Value> {
        self.sim.json(&["connector", "list"])["connectors"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn last_run(&mut self, name: &str) -> String {
        self.connectors()
            .into_iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["last_run"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "-".into())
    }

    /// The Application events with this id.
    fn app_events(&mut self, id: &str) -> Vec<Value> {
        self.sim
            .json(&["events", "--log", "Application", "--id", id])["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn entra_name(&self) -> String {
        format!("{} - AAD", self.s("/tenant"))
    }
}

#[test]
fn local_account_reset_on_1_1_443_gives_1069_then_6028_and_the_documented_procedure_heals_it() {
    let mut w = install(&["--build", "1.1.443.0"]);
    assert_eq!(w.s("/service_account/kind"), "local");
    assert_eq!(w.s("/display_name"), "Microsoft Azure AD Sync");
    let account = w.s("/service_account/name");
    assert!(account.contains("\\AAD_"), "{account}");
    let status = w.sim.json(&["status"]);
    assert_eq!(status["adsync"]["keyset_era"], "user-dpapi");
    // Healthy at first.
    assert!(
        w.sim
            .exec("Start-ADSyncSyncCycle -PolicyType Initial")
            .status
            .success()
    );
    assert_eq!(w.last_run("contoso.com"), "success");

    // An administrator resets the service account's password.
    let new_pw = "Reset-2026-a!";
    w.sim
        .ok(&["account", "reset", &account, "--password", new_pw]);
    w.sim.ok(&["sc", "stop", "ADSync"]);
    let o = w.sim.run(&["sc", "start", "ADSync"]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    // sc.exe prints its own text only, never the Services console's dialog.
    assert_eq!(
        t.trim_end(),
        "[SC] StartService FAILED 1069:\n\nThe service did not start due to a logon failure."
    );
    let sys = w.sim.json(&["events", "--log", "System", "--id", "7038"]);
    assert!(
        sys["events"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("with the currently configured password due to the following error: The user name or password is incorrect.\n\nTo ensure that the service is configured properly, use the Services snap-in in Microsoft Management Console (MMC)."),
        "{sys}"
    );

    // The SCM gets the new password: now the keyset cannot be decrypted (F2).
    w.sim.ok(&["sc", "config", "ADSync", "password=", new_pw]);
    let o = w.sim.json(&["sc", "start", "ADSync"]);
    assert_eq!(o["result_code"], 1066);
    let o = w.sim.run(&["sc", "start", "ADSync"]);
    let t = text(&o);
    assert!(
        t.contains("Windows could not start the Microsoft Azure AD Sync on Local Computer. For more information, review the System Event log. If this is a non-Microsoft service, contact the service vendor, and "),
        "{t}"
    );
    assert!(t.contains(SERVICE_SPECIFIC), "{t}");
    let e6028 = w.app_events("6028");
    assert_eq!(e6028.len(), 2);
    assert_eq!(e6028[0]["message"], EVENT_6028);
    assert_eq!(e6028[0]["source"], "ADSync");

    // The documented procedure (the 2023 article: stop, abandon, start, AD DS password,
    // Add-ADSyncAADServiceAccount, restart).
    w.sim.ok(&[
        "exec",
        r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#,
    ]);
    let o = w.sim.exec("./miiskmu.exe /a");
    assert!(o.status.success(), "{}", text(&o));
    w.sim.ok(&["exec", "Start-Service ADSync"]);
    // Every stored credential is unreadable under the new keyset.
    let o = w
        .sim
        .json(&["sync", "run", "contoso.com", "--profile", "Full Import"]);
    assert_eq!(o["status"], "no-start-credentials");
    // "If you do not know its password, you must set it to a known value" first.
    let msol = w.s("/ad_connector_accounts/0/name");
    let msol_pw = "Msol-Known-2026!";
    w.sim
        .ok(&["account", "reset", &msol, "--password", msol_pw]);
    w.sim.ok(&[
        "connector",
        "set-password",
        "contoso.com",
        "--password",
        msol_pw,
    ]);
    let ga = w.global_admin();
    w.sim.ok(&[
        "exec",
        &format!("Add-ADSyncAADServiceAccount -AADCredential {ga}"),
    ]);
    w.sim.ok(&["exec", "Restart-Service ADSync"]);
    let cycle = w.sim.json(&["sync", "cycle"]);
    assert_eq!(cycle["result_code"], 0);
    for c in w.connectors() {
        assert_eq!(c["last_run"], "success", "{c}");
    }
    w.sim
        .assert_no_secret(&[new_pw, msol_pw, &w.s("/service_account/password")], &[]);
}

#[test]
fn owner_changing_the_password_on_1_1_443_needs_only_the_scm_update() {
    let mut w = install(&["--build", "1.1.443.0"]);
    let account = w.s("/service_account/name");
    let old = w.s("/service_account/password");
    let new = "Changed-2026-b!";
    w.sim
        .ok(&["account", "change", &account, "--old", &old, "--new", new]);
    w.sim.ok(&["sc", "stop", "ADSync"]);
    assert_eq!(w.sim.json(&["sc", "start", "ADSync"])["result_code"], 1069);
    w.sim.ok(&["sc", "config", "ADSync", "password=", new]);
    let o = w.sim.run(&["sc", "start", "ADSync"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(w.app_events("6028").is_empty());
    assert_eq!(w.sim.json(&["sync", "cycle"])["result_code"], 0);
    for c in w.connectors() {
        assert_eq!(c["last_run"], "success", "{c}");
    }
}

#[test]
fn ad_ds_password_changed_in_ad_gives_no_start_credentials_until_the_console_and_a_restart() {
    let mut w = install(&[]);
    let msol = w.s("/ad_connector_accounts/0/name");
    let pw = "Msol-Rotated-2026!";
    w.sim.ok(&["account", "reset", &msol, "--password", pw]);
    let o = w
        .sim
        .json(&["sync", "run", "contoso.com", "--profile", "Delta Import"]);
    assert_eq!(o["status"], "no-start-credentials");
    assert_eq!(o["result_code"], 1);
    let e = w.app_events("6000");
    assert_eq!(
        e.last().unwrap()["message"],
        "The management agent \"contoso.com\" failed to run because the credentials were invalid"
    );
    assert_eq!(w.last_run("contoso.com"), "no-start-credentials");
    // miiskmu refuses while the service runs (F6).
    let o = w.sim.json(&["miiskmu", "/a"]);
    assert_eq!(o["result_code"], 0x8013_1600u32);
    let o = w.sim.run(&["miiskmu", "/a"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains(MIISKMU_RUNNING), "{}", text(&o));
    // The console stores the new password, but the engine runs on its cached one.
    w.sim
        .ok(&["connector", "set-password", "contoso.com", "--password", pw]);
    let o = w.sim.json(&["sync", "run", "contoso.com"]);
    assert_eq!(
        o["status"], "no-start-credentials",
        "the cache holds the old password"
    );
    w.sim.ok(&["exec", "Restart-Service ADSync"]);
    let o = w.sim.json(&["sync", "run", "contoso.com"]);
    assert_eq!(o["status"], "success");
    assert_eq!(w.sim.json(&["sync", "cycle"])["result_code"], 0);
    // The console needs the running service.
    w.sim.ok(&["sc", "stop", "ADSync"]);
    let o = w
        .sim
        .run(&["connector", "set-password", "contoso.com", "--password", pw]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("Unable to connect to the Synchronization Service."));
    w.sim.assert_no_secret(&[pw], &[]);
}

#[test]
fn entra_account_reset_in_the_cloud_gives_aadsts50054_until_add_adsyncaadserviceaccount() {
    let mut w = install(&[]);
    let sync = w.s("/entra_connector_account");
    assert!(sync.starts_with("Sync_AADCONNECT01_"), "{sync}");
    let pw = "Cloud-Reset-2026!";
    w.sim.ok(&[
        "exec",
        &format!("Set-MsolUserPassword -UserPrincipalName {sync} -NewPassword {pw} -ForceChangePassword $false"),
    ]);
    let entra = w.entra_name();
    let o = w.sim.json(&["sync", "run", &entra, "--profile", "Export"]);
    assert_eq!(o["status"], "stopped-server-down");
    // A single run signs in and fails (6900); 659 is password hash synchronisation's, written
    // by a sync cycle.
    assert!(w.app_events("659").is_empty());
    w.sim
        .ok(&["exec", "Start-ADSyncSyncCycle -PolicyType Delta"]);
    let e6900 = w.app_events("6900");
    assert_eq!(
        e6900[0]["message"],
        format!(
            "The server encountered an unexpected error while processing a password change notification:\n{AADSTS}"
        )
    );
    let e659 = w.app_events("659");
    assert_eq!(
        e659[0]["message"],
        format!(
            "Error while retrieving password policy sync configuration. Microsoft.IdentityModel.Clients.ActiveDirectory.AdalServiceException:\n{AADSTS}"
        )
    );
    // Without -AADCredential in a script: PowerShell cannot prompt for the mandatory
    // credential and says so (the shell prompts instead, as the 2017 articles' dialog).
    let o = w.sim.exec("Add-ADSyncAADServiceAccount");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        "error: Add-ADSyncAADServiceAccount : Cannot process command because of one or more missing mandatory parameters: AADCredential.\nAt line:1 char:1\n+ Add-ADSyncAADServiceAccount\n+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~\n    + CategoryInfo          : InvalidArgument: (:) [Add-ADSyncAADServiceAccount], ParameterBindingException\n    + FullyQualifiedErrorId : MissingMandatoryParameter,Add-ADSyncAADServiceAccount",
        "{}",
        text(&o)
    );
    // A wrong Global Administrator password is refused.
    let admin = w.s("/global_admin/name");
    let o = w.sim.exec(&format!(
        "Add-ADSyncAADServiceAccount -AADCredential {admin}:wrong"
    ));
    assert_eq!(o.status.code(), Some(1));
    let ga = w.global_admin();
    w.sim.ok(&[
        "exec",
        &format!("Add-ADSyncAADServiceAccount -AADCredential {ga}"),
    ]);
    let o = w.sim.json(&["sync", "run", &entra, "--profile", "Export"]);
    assert_eq!(o["status"], "success");
    // -Name switches the connector to a new account.
    w.sim.ok(&[
        "exec",
        &format!("Add-ADSyncAADServiceAccount -AADCredential {ga} -Name Sync_Second"),
    ]);
    let c = w
        .connectors()
        .into_iter()
        .find(|c| c["type"] == "Entra")
        .unwrap();
    assert_eq!(c["account"], format!("Sync_Second@{}", w.s("/tenant")));
    assert_eq!(w.sim.json(&["sync", "run", &entra])["status"], "success");
    w.sim.assert_no_secret(&[pw], &[]);
}

#[test]
fn virtual_account_has_no_password_and_survives_200_days_of_key_rotation() {
    let mut w = install(&[]);
    assert_eq!(w.s("/service_account/name"), "NT SERVICE\\ADSync");
    assert_eq!(w.s("/display_name"), "Microsoft Entra ID Sync");
    let o = w
        .sim
        .run(&["account", "reset", "NT SERVICE\\ADSync", "--password", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("virtual account"), "{}", text(&o));
    let o = w.sim.json(&["clock", "advance", "200d"]);
    assert_eq!(o["sync_cycles"], 200 * 48);
    for c in w.connectors() {
        assert_eq!(c["last_run"], "success", "{c}");
    }
    w.sim.ok(&["exec", "Restart-Service ADSync"]);
    // A new keyset after 200 days lands under a new master key (90-day rotation).
    w.sim.ok(&["sc", "stop", "ADSync"]);
    w.sim.ok(&["miiskmu", "/a"]);
    w.sim.ok(&["sc", "start", "ADSync"]);
    let accounts = w.sim.json(&["account", "list"]);
    let vsa = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "virtual")
        .unwrap()
        .clone();
    assert!(vsa["master_keys"].as_u64().unwrap() >= 2, "{vsa}");
    assert!(w.app_events("6028").is_empty());
}

#[test]
fn eras_keep_the_keyset_where_their_build_does_and_a_local_reset_breaks_only_user_scope() {
    // (build, the opt-in DPAPI option, era, does an admin reset of the account break the
    // keyset?) By default the 2023 article decides: a reset breaks only up to 1.1.443.0.
    for (build, dpapi, era, breaks) in [
        ("1.1.443.0", false, "user-dpapi", true),
        ("1.1.484.0", false, "registry", false),
        ("1.4.18.0", false, "credential-manager", false),
        ("2.5.76.0", false, "credential-manager", false),
        ("1.1.443.0", true, "user-dpapi", true),
        ("1.1.484.0", true, "registry", false),
        ("1.4.18.0", true, "credential-manager", true),
        ("2.5.76.0", true, "credential-manager", true),
    ] {
        let mut args = vec!["--build", build, "--service-account", "local"];
        if dpapi {
            args.push("--keyset-follows-dpapi");
        }
        let mut w = install(&args);
        assert_eq!(
            w.sim.json(&["status"])["adsync"]["keyset_era"],
            era,
            "{build}"
        );
        let account = w.s("/service_account/name");
        let pw = "Era-Reset-2026!";
        w.sim.ok(&["sc", "stop", "ADSync"]);
        w.sim.ok(&["account", "reset", &account, "--password", pw]);
        w.sim.ok(&["sc", "config", "ADSync", "password=", pw]);
        let o = w.sim.json(&["sc", "start", "ADSync"]);
        let expected = if breaks { 1066 } else { 0 };
        assert_eq!(o["result_code"], expected, "{build} {dpapi}: {o}");
        assert_eq!(
            w.app_events("6028").len(),
            usize::from(breaks),
            "{build} {dpapi}"
        );
    }
}

#[test]
fn domain_account_reset_recovers_through_the_dc_only_when_it_answers() {
    // DPAPI's recovery through the DC is the opt-in departure from the 2023 article.
    for (dc, code) in [("connect", 0), ("disconnect", 1066)] {
        let mut w = install(&["--service-account", "domain", "--keyset-follows-dpapi"]);
        let account = w.s("/service_account/name");
        let pw = "Domain-Reset-2026!";
        w.sim.ok(&["sc", "stop", "ADSync"]);
        w.sim.ok(&["account", "reset", &account, "--password", pw]);
        w.sim.ok(&["sc", "config", "ADSync", "password=", pw]);
        w.sim.ok(&["dc", dc]);
        assert_eq!(
            w.sim.json(&["sc", "start", "ADSync"])["result_code"],
            code,
            "dc {dc}"
        );
    }
}

#[test]
fn add_adsyncaddsconnectoraccount_resets_msol_and_the_engine() {
    let mut w = install(&["--forest", "contoso.com", "--forest", "fabrikam.com"]);
    let names: Vec<String> = w
        .connectors()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names[..2],
        ["contoso.com".to_string(), "fabrikam.com".to_string()]
    );
    let msol = w.s("/ad_connector_accounts/1/name");
    assert!(msol.starts_with("FABRIKAM\\MSOL_"), "{msol}");
    w.sim
        .ok(&["account", "reset", &msol, "--password", "Fab-Reset-2026!"]);
    assert_eq!(
        w.sim.json(&["sync", "run", "fabrikam.com"])["status"],
        "no-start-credentials"
    );
    let ea = format!(
        "{}:{}",
        w.s("/enterprise_admins/1/name"),
        w.s("/enterprise_admins/1/password")
    );
    let o = w.sim.exec(&format!(
        "Add-ADSyncADDSConnectorAccount -Name fabrikam.com -EACredential {ea}"
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        w.sim.json(&["sync", "run", "fabrikam.com"])["status"],
        "success"
    );
    // Unknown connectors are named with the ones that exist.
    let o = w.sim.run(&[
        "connector",
        "set-password",
        "nowhere.com",
        "--password",
        "x",
    ]);
    assert_ne!(o.status.code(), Some(0));
    let t = text(&o);
    assert!(
        t.contains("nowhere.com") && t.contains("contoso.com, fabrikam.com"),
        "{t}"
    );
}

#[test]
fn the_database_holds_the_real_tables_and_no_plaintext_password() {
    let mut w = install(&[]);
    let msol = w.s("/ad_connector_accounts/0/name");
    let msol_user = msol.split('\\').nth(1).unwrap().to_owned();
    let pw = "Msol-Db-2026!";
    w.sim.ok(&["account", "reset", &msol, "--password", pw]);
    w.sim
        .ok(&["connector", "set-password", "contoso.com", "--password", pw]);
    let export = w.sim.root().join("export");
    w.sim.ok(&["export", export.to_str().unwrap()]);
    let files = crate::support::all_files(&export);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&export).unwrap().display().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n
            .starts_with("Windows/ServiceProfiles/ADSync/AppData/Local/Microsoft/Credentials/")),
        "{names:?}"
    );
    let exported_db =
        export.join("Program Files/Microsoft Azure AD Sync/Data/ADSync2019/ADSync.sqlite");
    for db in [w.sim.state.join("state.db"), exported_db] {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let (keyset_id, instance, entropy): (u32, String, String) = conn
            .query_row(
                "SELECT keyset_id, instance_id, entropy FROM mms_server_configuration",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(keyset_id, 1);
        assert_eq!(instance.len(), 36);
        assert_eq!(entropy, entropy.to_ascii_uppercase());
        let (xml, enc): (String, String) = conn
            .query_row(
                "SELECT private_configuration_xml, encrypted_configuration FROM mms_management_agent WHERE ma_type = 'AD'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(
            xml.contains(&format!(
                "<forest-login-user>{msol_user}</forest-login-user>"
            )),
            "{xml}"
        );
        assert!(!enc.is_empty() && !enc.contains(pw));
        let subtype: String = conn
            .query_row(
                "SELECT subtype FROM mms_management_agent WHERE ma_type <> 'AD'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(subtype, "Windows Azure Active Directory (Microsoft)");
    }
    w.sim.assert_no_secret(&[pw], &[&export]);
}

#[test]
fn an_edit_of_encrypted_configuration_is_what_the_engine_reads() {
    // AADInternals' Set-AADIntADSyncAccountPassword writes the table directly
    // (`docs/adsync.md` §5.4); the engine reads it at its next start.
    let mut w = install(&[]);
    let db = w.sim.state.join("state.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE mms_management_agent SET encrypted_configuration = 'AAAA' WHERE ma_type = 'AD'",
            [],
        )
        .unwrap();
    }
    w.sim.ok(&["exec", "Restart-Service ADSync"]);
    assert_eq!(
        w.sim.json(&["sync", "run", "contoso.com"])["status"],
        "no-start-credentials"
    );
}

/// adconnectdump's chain over an export (`docs/adsync.md` §3.2, §3.4): impacket opens the
/// keyset where each era keeps it, from the service account's password or, for the virtual
/// account, from `DPAPI_SYSTEM` alone, and the keyset's key 1 decrypts the connector passwords
/// read from the exported database.
#[test]
fn exported_keysets_decrypt_with_impacket_as_adconnectdump_does() {
    let Some((py, _)) = crate::support::oracle::setup("cli_adsync::exported_keysets") else {
        return;
    };
    for (build, kind) in [
        ("2.5.76.0", "virtual"),
        ("1.4.18.0", "local"),
        ("1.1.484.0", "virtual"),
        ("1.1.443.0", "local"),
    ] {
        let mut w = install(&["--build", build, "--service-account", kind]);
        let msol = w.s("/ad_connector_accounts/0/name");
        let pw = "Msol&<Dump>'2026\"";
        w.sim.ok(&["account", "reset", &msol, "--password", pw]);
        w.sim
            .ok(&["connector", "set-password", "contoso.com", "--password", pw]);
        let account = w.s("/service_account/name");
        let list = w.sim.json(&["account", "list"]);
        let sid = list["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == account.as_str())
            .and_then(|a| a["sid"].as_str())
            .unwrap()
            .to_owned();
        let export = w.sim.root().join("export");
        w.sim.ok(&["export", export.to_str().unwrap()]);
        let password = (kind == "local").then(|| w.s("/service_account/password"));
        let r = py.oracle(&[serde_json::json!({
            "op": "adsync_export", "tool": "impacket", "dir": export, "sid": sid, "password": password
        })]);
        let r = &r[0];
        assert_eq!(r["ok"], true, "{build} {kind}: {r}");
        assert!(
            r["keyset"].as_str().unwrap().starts_with("4d4d534b"),
            "{build}: {r}"
        );
        assert_eq!(r["keyset"].as_str().unwrap().len(), 2 * 164, "{build}");
        let ad = r["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["ma_type"] == "AD")
            .unwrap();
        assert_eq!(ad["password"], pw, "{build} {kind}");
        let entra = r["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["ma_type"] != "AD")
            .unwrap();
        assert_eq!(
            entra["password"].as_str().map(str::len),
            Some(24),
            "{build}"
        );
    }
}

#[test]
fn on_a_domain_controller_1_6_2_4_runs_as_an_smsa_that_survives_its_rotations() {
    let mut w = install(&["--build", "1.6.2.4", "--domain-controller"]);
    assert_eq!(w.s("/service_account/kind"), "smsa");
    let account = w.s("/service_account/name");
    assert!(
        account.starts_with("CONTOSO\\ADSyncMSA_") && account.ends_with('$'),
        "{account}"
    );
    let o = w
        .sim
        .run(&["account", "reset", &account, "--password", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("standalone managed service account"),
        "{}",
        text(&o)
    );
    w.sim.ok(&["clock", "advance", "95d"]);
    w.sim.ok(&["exec", "Restart-Service ADSync"]);
    assert_eq!(w.sim.json(&["sync", "cycle"])["result_code"], 0);
    // Earlier builds on a DC use a domain AAD_ account; a virtual account is refused there.
    let w = install(&["--build", "1.1.484.0", "--domain-controller"]);
    assert_eq!(w.s("/service_account/kind"), "domain");
    let sim = Sim::new();
    let o = crate::support::run([
        "--state",
        sim.state.to_str().unwrap(),
        "init",
        "--domain-controller",
        "--service-account",
        "virtual",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("due to DPAPI issues"), "{}", text(&o));
}
