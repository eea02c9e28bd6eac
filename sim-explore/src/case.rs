//! One exploration case: a fresh install (a snapshot per build and account kind, reused as a
//! lab reuses a VM snapshot) and a sequence of actions, with every invariant checked after each
//! step and at the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::action;
use crate::invariants::{self, Violation};
use crate::model::{Action, Model, Setup};
use crate::secrets::SecretScanner;
use sim_core::adsync::build::Build;
use sim_core::command::parse_line;
use sim_core::scenario::runner::{fill, memory_sealer, placeholders};
use sim_core::world::{ADSYNC_SERVICE, InitReport, World, WorldOptions};

/// A fresh install and what exploration needs of it.
#[derive(Debug)]
pub struct Snapshot {
    /// The world right after `init`.
    pub world: World,
    /// The placeholder values of its install.
    pub values: Vec<(String, String)>,
    /// The passwords an administrator was handed (for the plaintext check).
    pub install_passwords: Vec<String>,
    /// A blob protected as the service account right after install, and its data.
    pub probe: Option<(Vec<u8>, Vec<u8>)>,
    /// The plaintext check's scanner for a case of N steps (its typed passwords and these
    /// install passwords), made once per step count.
    scanners: Mutex<BTreeMap<u32, Arc<SecretScanner>>>,
}

impl Snapshot {
    /// The scanner for every password a case of `steps` actions may have typed or been handed.
    fn scanner(&self, steps: u32) -> Result<Arc<SecretScanner>, String> {
        let mut scanners = self.scanners.lock().map_err(|e| e.to_string())?;
        if let Some(s) = scanners.get(&steps) {
            return Ok(Arc::clone(s));
        }
        let mut typed = action::typed_passwords(steps);
        typed.extend(self.install_passwords.iter().cloned());
        let s = Arc::new(SecretScanner::new(&typed)?);
        scanners.insert(steps, Arc::clone(&s));
        Ok(s)
    }
}

/// The probe's plaintext.
const PROBE: &[u8] = b"adsync-sim exploration probe";

fn make_snapshot(setup: &Setup, seed: u64) -> Result<Snapshot, String> {
    let build: Build = setup
        .build
        .parse()
        .ok()
        .ok_or_else(|| format!("bad build {}", setup.build))?;
    let options = WorldOptions {
        seed,
        kdf_rounds: 1,
        service_account: Some(setup.kind),
        build,
        keyset_follows_dpapi: setup.keyset_follows_dpapi,
        ..WorldOptions::default()
    };
    let (mut world, init): (World, InitReport) =
        World::new(&options, memory_sealer(seed)).map_err(|e| e.to_string())?;
    let values = placeholders(&init, &world.state().tenant.name);
    let mut install_passwords = vec![init.install.global_admin.1.as_str().to_owned()];
    install_passwords.extend(
        init.install
            .enterprise_admins
            .iter()
            .map(|(_, _, p)| p.as_str().to_owned()),
    );
    if let Some(p) = &init.service_account_password {
        install_passwords.push(p.as_str().to_owned());
    }
    // Named choice: the probe is protected in the snapshot itself (a virtual or registry-era
    // account may have no master key yet, and this makes its first), so a scenario replay of a
    // case differs from it by that one key, which no action's result code depends on.
    let probe = world
        .protect_as_service(ADSYNC_SERVICE, PROBE, b"")
        .map_err(|e| e.to_string())?
        .and_then(Result::ok)
        .map(|b| (b, PROBE.to_vec()));
    Ok(Snapshot {
        world,
        values,
        install_passwords,
        probe,
        scanners: Mutex::default(),
    })
}

type Snapshots = Mutex<BTreeMap<(u64, String, String, bool), Arc<Snapshot>>>;

/// The snapshot of `setup` for `seed`, made once per process.
pub fn snapshot(setup: &Setup, seed: u64) -> Result<Arc<Snapshot>, String> {
    static CACHE: OnceLock<Snapshots> = OnceLock::new();
    let key = (
        seed,
        setup.build.clone(),
        setup.kind.as_str().to_owned(),
        setup.keyset_follows_dpapi,
    );
    let cache = CACHE.get_or_init(Snapshots::default);
    if let Some(s) = cache.lock().map_err(|e| e.to_string())?.get(&key) {
        return Ok(Arc::clone(s));
    }
    let made = Arc::new(make_snapshot(setup, seed)?);
    let mut c = cache.lock().map_err(|e| e.to_string())?;
    Ok(Arc::clone(c.entry(key).or_insert(made)))
}

/// What a case did, step by step: the line and the code the model predicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// `(line, predicted code)` per step.
    pub steps: Vec<(String, u32)>,
}

/// A case in progress: the world, the model beside it, and what the invariants need.
#[derive(Debug)]
pub struct Session {
    snap: Arc<Snapshot>,
    /// The world.
    pub world: World,
    /// The model.
    pub model: Model,
    /// What ran.
    pub trace: Trace,
    reset_since_install: bool,
}

impl Session {
    /// A fresh install of `setup` from the snapshot for `seed`.
    pub fn new(seed: u64, setup: &Setup) -> Result<Self, Box<Violation>> {
        let snap = snapshot(setup, seed).map_err(|e| Box::new(Violation::setup(e)))?;
        Ok(Self {
            world: snap.world.clone(),
            snap,
            model: Model::new(setup.clone()),
            trace: Trace { steps: Vec::new() },
            reset_since_install: false,
        })
    }

    /// Runs one action on the world and the model and checks every per-step invariant.
    pub fn step(&mut self, a: &Action) -> Result<(), Box<Violation>> {
        let i = self.trace.steps.len();
        let line = action::line(&self.model, a);
        let before = self.model.clone();
        let predicted = self.model.apply(a);
        self.trace.steps.push((line.clone(), predicted));
        let filled = fill(&line, &self.snap.values).map_err(|e| Box::new(Violation::setup(e)))?;
        let command =
            parse_line(&filled).map_err(|e| Box::new(Violation::setup(format!("{line}: {e}"))))?;
        let at = |name: &'static str, why: String| Box::new(Violation::at(i, &line, name, why));
        let code = match self.world.exec(&command) {
            Ok(o) => o.code,
            Err(e) => {
                return Err(at(
                    "world_agrees_with_model",
                    format!("the world refused the command: {e}"),
                ));
            }
        };
        if matches!(a, Action::ResetServiceAccount) {
            self.reset_since_install = true;
        }
        invariants::world_agrees_with_model(&self.world, &self.model, code, predicted)
            .map_err(|w| at("world_agrees_with_model", w))?;
        if matches!(a, Action::ScStart) {
            invariants::start_succeeds_exactly_when_logon_and_keyset_work(&before, code)
                .map_err(|w| at("start_succeeds_exactly_when_logon_and_keyset_work", w))?;
        }
        if let Some((blob, data)) = &self.snap.probe {
            invariants::dpapi_round_trip_while_chain_intact(
                &mut self.world,
                &self.model,
                self.reset_since_install,
                blob,
                data,
            )
            .map_err(|w| at("dpapi_round_trip_while_chain_intact", w))?;
            invariants::old_keys_fail_after_local_reset(
                &mut self.world,
                &self.model,
                self.reset_since_install,
                blob,
            )
            .map_err(|w| at("old_keys_fail_after_local_reset", w))?;
        }
        Ok(())
    }

    /// The end-of-case invariants: no plaintext secret in the state and, if asked, remediation
    /// ending healthy (run on the case's world itself, which is why this ends the session).
    pub fn finish(self, check_remediation: bool) -> Result<Trace, Box<Violation>> {
        let end = self.trace.steps.len();
        let scanner = self
            .snap
            .scanner(self.model.step)
            .map_err(|e| Box::new(Violation::setup(e)))?;
        invariants::no_plaintext_secret_in_state(&self.world, &scanner).map_err(|w| {
            Box::new(Violation::at(
                end,
                "(end)",
                "no_plaintext_secret_in_state",
                w,
            ))
        })?;
        if check_remediation {
            invariants::remediation_ends_healthy(self.world).map_err(|w| {
                Box::new(Violation::at(
                    end,
                    "remediate",
                    "remediation_ends_healthy",
                    w,
                ))
            })?;
        }
        Ok(self.trace)
    }
}

/// Runs one case; `Err` names the first invariant that failed.
pub fn run_case(
    seed: u64,
    setup: &Setup,
    actions: &[Action],
    check_remediation: bool,
) -> Result<Trace, Box<Violation>> {
    let mut s = Session::new(seed, setup)?;
    for a in actions {
        s.step(a)?;
    }
    s.finish(check_remediation)
}
