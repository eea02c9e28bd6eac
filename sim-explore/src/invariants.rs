//! The invariants exploration checks after every step (and at the end of a case), each a named
//! function. A violation names the invariant, the step and what was seen.

use std::fmt;

use crate::model::{LOGON_FAILED, Model, SPECIFIC};
use crate::secrets::SecretScanner;
use sim_core::backend::SimHost;
use sim_core::dpapi::api::DpapiError;
use sim_core::win::text::win32::NTE_BAD_KEY_STATE;
use sim_core::world::{ADSYNC_SERVICE, World};

/// An invariant that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The 0-based step after which it failed (the number of steps for end-of-case checks).
    pub step: usize,
    /// The step's line.
    pub line: String,
    /// The invariant's function name.
    pub invariant: &'static str,
    /// What was seen.
    pub message: String,
}

impl Violation {
    pub(super) fn at(step: usize, line: &str, invariant: &'static str, message: String) -> Self {
        Self {
            step,
            line: line.to_owned(),
            invariant,
            message,
        }
    }

    pub(super) fn setup(message: String) -> Self {
        Self::at(0, "(setup)", "setup", message)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed after step {} ({}): {}",
            self.invariant,
            self.step + 1,
            self.line,
            self.message
        )
    }
}

/// The world and the model agree: the result code is the predicted one, and each connector's
/// last run status is the one the model expects.
pub fn world_agrees_with_model(
    world: &World,
    model: &Model,
    code: u32,
    predicted: u32,
) -> Result<(), String> {
    if code != predicted {
        return Err(format!(
            "result code {code} (0x{code:08X}), the model predicts {predicted} (0x{predicted:08X}); model state {model:?}"
        ));
    }
    let Ok(engine) = world.engine() else {
        return Err("the world has no ADSync engine".into());
    };
    for a in &engine.agents {
        let want = match a.kind {
            sim_core::adsync::connector::ConnectorType::Ad => model.ad.last,
            sim_core::adsync::connector::ConnectorType::Entra => model.entra.last,
        };
        let got = a.last_run.as_ref().map(|r| r.status.as_str());
        if got != want {
            return Err(format!(
                "connector {}'s last run is {got:?}, the model expects {want:?}; model state {model:?}",
                a.ma_name
            ));
        }
    }
    Ok(())
}

/// A start of the stopped service succeeds exactly when the logon works and the keyset opens
/// (2023 article, 'Issues that arise from changing the password': 1069 first, then 6028).
pub fn start_succeeds_exactly_when_logon_and_keyset_work(
    before: &Model,
    code: u32,
) -> Result<(), String> {
    if before.running {
        return Ok(());
    }
    let logon = before.logon_works();
    let keyset = before.keyset_opens();
    let ok = match code {
        0 => logon && keyset,
        LOGON_FAILED => !logon,
        SPECIFIC => logon && !keyset,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "sc start gave {code} with logon {} and keyset {}",
            if logon { "working" } else { "failing" },
            if keyset { "readable" } else { "unreadable" }
        ))
    }
}

/// While the service account's credential chain is intact (no reset since install, only
/// changes, and the SCM holds the current password), a blob protected as it at install still
/// unprotects to the same bytes (`docs/dpapi.md` §4, CREDHIST).
pub fn dpapi_round_trip_while_chain_intact(
    world: &mut World,
    model: &Model,
    reset_since_install: bool,
    blob: &[u8],
    data: &[u8],
) -> Result<(), String> {
    if reset_since_install || !model.logon_works() {
        return Ok(());
    }
    match world.unprotect_as_service(ADSYNC_SERVICE, blob, b"") {
        Ok(Some(Ok(plain))) if plain.as_slice() == data => Ok(()),
        Ok(Some(Ok(_))) => Err("the probe blob unprotected to other bytes".into()),
        Ok(Some(Err(e))) => Err(format!(
            "the probe blob no longer unprotects: 0x{:08X}",
            e.hresult()
        )),
        Ok(None) => Err("ADSync is not installed".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// After an administrative reset of a local service account (no change since), a blob under
/// its old master keys fails with `NTE_BAD_KEY_STATE` (0x8009000B) even with the new password
/// in the SCM: nothing can recover a local account's keys (`docs/dpapi.md` §4).
pub fn old_keys_fail_after_local_reset(
    world: &mut World,
    model: &Model,
    reset_since_install: bool,
    blob: &[u8],
) -> Result<(), String> {
    if !reset_since_install
        || model.setup.kind != sim_core::world::ServiceAccountKind::Local
        || !model.logon_works()
    {
        return Ok(());
    }
    match world.unprotect_as_service(ADSYNC_SERVICE, blob, b"") {
        Ok(Some(Err(e @ DpapiError::BadKeyState { .. }))) if e.hresult() == NTE_BAD_KEY_STATE => {
            Ok(())
        }
        Ok(Some(Err(e))) => Err(format!(
            "expected 0x{NTE_BAD_KEY_STATE:08X}, got 0x{:08X}",
            e.hresult()
        )),
        Ok(Some(Ok(_))) => Err("a blob under the pre-reset keys still unprotects".into()),
        Ok(None) => Err("ADSync is not installed".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// No password typed during the case, nor one handed over at install, appears in the persisted
/// state in UTF-8, UTF-16LE, or their hex (docs/design.md §3: secrets are sealed at rest).
pub fn no_plaintext_secret_in_state(
    world: &World,
    passwords: &SecretScanner,
) -> Result<(), String> {
    thread_local! {
        /// The serialised state of this thread's last case: every case serialises a state of
        /// about the same size, so the buffer is allocated and grown once per thread.
        static STATE_JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    STATE_JSON.with_borrow_mut(|state| {
        state.clear();
        serde_json::to_writer(&mut *state, world.state()).map_err(|e| e.to_string())?;
        match passwords.find(state) {
            Some(chars) => Err(format!(
                "a typed password ({chars} characters) appears in the state"
            )),
            None => Ok(()),
        }
    })
}

/// The documented remediation, applied to `world` (a case's last check, so the world is the
/// case's own; pass a clone to keep yours), ends healthy: the service runs and a delta cycle
/// succeeds on every connector.
pub fn remediation_ends_healthy(mut world: World) -> Result<(), String> {
    let mut host = SimHost::new(&mut world);
    match sim_core::remedy::remediate(&mut host, false) {
        Ok(r) if r.healthy => Ok(()),
        // The one documented dead end (only with the opt-in `keyset_follows_dpapi`): an
        // unreadable keyset on a build from April 2017 on, where the 2023 article rules the
        // abandon procedure out. Remediation must stop there, never abandoning the key.
        Ok(r) if no_documented_fix(&r) => {
            if r.rounds
                .iter()
                .any(|round| round.plan.steps.iter().any(|s| s.run.contains("miiskmu")))
            {
                Err(format!(
                    "a plan abandons the key on a build the article rules it out for:\n{}",
                    r.render()
                ))
            } else {
                Ok(())
            }
        }
        Ok(r) => Err(r.render()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether remediation stopped at an unreadable keyset on a newer build.
fn no_documented_fix(r: &sim_core::remedy::Remediation) -> bool {
    !r.healthy
        && r.rounds.iter().any(|round| {
            round.diagnosis.findings.iter().any(|f| {
                matches!(
                    f.cause,
                    sim_core::remedy::Cause::EncryptionKeyUnreadableNewerBuild { .. }
                )
            })
        })
}
