//! The world commands: `init`, `status`, `account`, `sc`, `events`, `clock`, `exec`, `export`.
//! Every one but `init` and `export` is parsed by the shared command language
//! (`sim_core::command::Line`) and runs as one transaction on the state directory; `exec` also
//! takes the runbook verbs (`diagnose`, `remediate`), which run as `adsync-sim diagnose` and
//! `remediate` do.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sim_core::adsync::build::{Build, DEFAULT_BUILD};
use sim_core::command::{Command as WorldCommand, Line};
use sim_core::world::{Outcome as WorldOutcome, ServiceAccountKind, World, WorldOptions};
use sim_store::StateDir;
use sim_store::private_fs;

use crate::cli::{ExportArgs, InitArgs};
use crate::output::Outcome;

/// `status`, `account …`, `sc …` and the other verbs clap collects as words: the words parse
/// through the command language as one line.
pub fn words(state: &Path, verb: &str, args: Vec<String>) -> Result<Outcome> {
    let mut words = vec![verb.to_owned()];
    words.extend(args);
    let words = crate::input::world_words(words)?;
    run_line(state, &Line::parse_words(&words)?)
}

/// `exec LINE`: any line of the command language, the runbook verbs included.
pub fn exec(state: &Path, line: &str) -> Result<Outcome> {
    run_line(state, &Line::parse(line)?)
}

/// Runs a parsed line on the state directory: a command as one transaction, a runbook verb
/// through the runbook pipeline ([`crate::remedy_cmd::on_state`]).
pub fn run_line(state: &Path, line: &Line) -> Result<Outcome> {
    match line {
        Line::Command(c) => exec_command(state, c),
        Line::Runbook(r) => crate::remedy_cmd::on_state(state, r),
    }
}

fn exec_command(state: &Path, command: &WorldCommand) -> Result<Outcome> {
    let mut dir = StateDir::open(state)?;
    // A long `clock advance` commits in chunks; on a terminal a bar shows how far it has got.
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} clock advance [{bar:30}] {msg} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let outcome = dir.exec_with(command, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(format!("{} of {} days", done / 86_400, total / 86_400));
    });
    bar.finish_and_clear();
    finish(outcome?)
}

/// A world outcome as the front end prints it: the real tool's text on standard output, and the
/// result code (non-zero makes the process exit 1).
fn finish(o: WorldOutcome) -> Result<Outcome> {
    Ok(Outcome {
        human: o.text,
        json: o.json,
        raw: None,
        result_code: o.code,
    })
}

/// `init`.
pub fn init(state: &Path, a: InitArgs) -> Result<Outcome> {
    let seed = match a.seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b)
                .map_err(|e| anyhow::anyhow!("no operating-system randomness: {e}"))?;
            u64::from_le_bytes(b) >> 11 // keep seeds short enough to type
        }
    };
    let kind = match &a.service_account {
        Some(k) => Some(ServiceAccountKind::parse(k).context("--service-account")?),
        None => None,
    };
    let build = match &a.build {
        Some(b) => b.parse::<Build>().context("--build")?,
        None => DEFAULT_BUILD,
    };
    let options = WorldOptions {
        seed,
        kdf_rounds: a.kdf_rounds,
        service_account: kind,
        forests: a.forests,
        build,
        tenant: a.tenant,
        domain_controller: a.domain_controller,
        keyset_follows_dpapi: a.keyset_follows_dpapi,
    };
    let (_, outcome) = StateDir::create(state, a.force, |sealer| {
        let (world, report) = World::new(&options, sealer)?;
        let mut sa =
            json!({ "name": report.service_account, "kind": report.service_account_kind.as_str() });
        let mut human = format!(
            "Created a world in {} (seed {seed}).\n{} build {} is installed.\nADSync runs as {}",
            state.display(),
            report.build.product_name(),
            report.build,
            report.service_account
        );
        if let Some(pw) = &report.service_account_password {
            // What the admin chose at install: the one password init prints (docs/design.md §4).
            sa["password"] = json!(pw.as_str());
            human.push_str(&format!(" with password {}", pw.as_str()));
        }
        human.push('.');
        let install = &report.install;
        // What the admin knows after an install (docs/design.md §4): the tenant's Global Administrator
        // and each forest's Enterprise Admin; never a connector account's password.
        human.push_str(&format!(
            "\nGlobal Administrator: {} with password {}",
            install.global_admin.0,
            install.global_admin.1.as_str()
        ));
        for (forest, name, pw) in &install.enterprise_admins {
            human.push_str(&format!(
                "\nEnterprise Admin of {forest}: {name} with password {}",
                pw.as_str()
            ));
        }
        for (forest, name) in &install.ad_accounts {
            human.push_str(&format!("\nAD DS connector {forest} uses {name}"));
        }
        human.push_str(&format!("\nEntra connector uses {}", install.entra_account));
        let json = json!({
            "seed": seed,
            "state": state.display().to_string(),
            "clock": world.now().to_string(),
            "build": report.build.to_string(),
            "display_name": report.build.display_name(),
            "service_account": sa,
            "global_admin": {"name": install.global_admin.0, "password": install.global_admin.1.as_str()},
            "enterprise_admins": install.enterprise_admins.iter().map(|(f, n, p)| json!({"forest": f, "name": n, "password": p.as_str()})).collect::<Vec<_>>(),
            "ad_connector_accounts": install.ad_accounts.iter().map(|(f, n)| json!({"forest": f, "name": n})).collect::<Vec<_>>(),
            "entra_connector_account": install.entra_account,
            "tenant": world.state().tenant.name,
        });
        Ok((
            world,
            sim_core::world::Outcome {
                code: 0,
                text: human,
                json,
                events: vec![],
            },
        ))
    })?;
    Ok(Outcome {
        human: outcome.text,
        json: outcome.json,
        raw: None,
        result_code: 0,
    })
}

/// `export DIR`.
pub fn export(state: &Path, a: ExportArgs) -> Result<Outcome> {
    let world = StateDir::open(state)?.load()?;
    if a.dir.exists()
        && a.dir
            .read_dir()
            .with_context(|| format!("reading {}", a.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; export writes into a new or empty directory",
            a.dir.display()
        );
    }
    if !a.dir.exists() {
        private_fs::ensure_private_dir(&a.dir)
            .with_context(|| format!("creating {}", a.dir.display()))?;
    }
    // Every file below the directory opened once, created exclusively and privately, never
    // through a symbolic link (sim_store::private_fs): DPAPI_SYSTEM and the master keys are
    // what an attacker wants.
    let tree =
        private_fs::Tree::open(&a.dir).with_context(|| format!("opening {}", a.dir.display()))?;
    let mut written = Vec::new();
    for (path, bytes) in world.artefacts()? {
        tree.write(&path, &bytes)?;
        written.push(path);
    }
    if let Ok(engine) = world.engine() {
        // The database as a SQLite file beside where LocalDB keeps the real one.
        let rel = engine.build.database_path().replace(".mdf", ".sqlite");
        tree.write(&rel, &sim_store::adsync_database_bytes(&world)?)?;
        written.push(rel);
    }
    // The evidence bundle a collection on this server would write (docs/design.md §8).
    let bundle = sim_core::evidence::export::bundle_of_world(&world)?;
    for (path, bytes) in &bundle.files {
        tree.write(path, bytes)?;
        written.push(path.clone());
    }
    for (log, doc) in world.event_logs_json() {
        let path = format!("Windows/System32/winevt/Logs/{log}.json");
        tree.write(&path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
        written.push(path);
    }
    Ok(Outcome {
        human: format!(
            "Exported {} files to {}:\n{}",
            written.len(),
            a.dir.display(),
            written.join("\n")
        ),
        json: json!({ "dir": a.dir.display().to_string(), "files": written }),
        raw: None,
        result_code: 0,
    })
}
