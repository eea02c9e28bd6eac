//! Passwords and account states: a reset (`net user`, Active Directory Users and Computers), a
//! change by the account itself, and disabling, locking and unlocking an account.
//!
//! Follows the 2023 article's "Issues that arise from changing the password" and `docs/dpapi.md`
//! §6 (a change re-protects the master keys and extends CREDHIST; a reset does neither).

use serde_json::json;
use zeroize::Zeroizing;

use super::{Outcome, PasswordAction, Refusal, Stream, World, WorldError};
use crate::command::{AccountState, Secret};
use crate::dpapi::crypto::utf16le;
use crate::dpapi::prekey::hashes_utf16le;
use crate::win::account::{Account, AccountKind, StoredHashes, credential_for};
use crate::win::text;
use crate::win::text::win32;

impl World {
    /// `net user NAME …` for a name the SAM does not hold: net.exe prints `NERR_UserNotFound`'s
    /// message and its `NET HELPMSG` pointer (its exit status is 2; the outcome carries 2221,
    /// the code it names).
    pub(in crate::world) fn net_user_not_found(name: &str) -> Outcome {
        let code = win32::USER_NOT_FOUND;
        Outcome {
            code,
            text: text::net_error(code),
            json: json!({"account": name, "error": win32::message(code)}),
            events: vec![],
        }
    }

    pub(in crate::world) fn refuse_password(a: &Account, action: PasswordAction) -> WorldError {
        let refusal = match a.kind {
            AccountKind::Virtual => Refusal::VirtualPassword { action },
            kind => Refusal::ManagedPassword {
                standalone: kind == AccountKind::Smsa,
                action,
            },
        };
        WorldError::AccountRefused {
            account: a.qualified_name(),
            refusal,
        }
    }

    pub(in crate::world) fn account_reset(
        &mut self,
        name: &str,
        password: &Secret,
        net_user: bool,
    ) -> Result<Outcome, WorldError> {
        if self.account_index(name).is_err() && self.is_cloud_user(name) {
            return self.cloud_reset(name, password);
        }
        let idx = match self.account_index(name) {
            Err(_) if net_user => return Ok(Self::net_user_not_found(name)),
            r => r?,
        };
        if !self.state.accounts[idx].kind.has_settable_password() {
            return Err(Self::refuse_password(
                &self.state.accounts[idx],
                PasswordAction::Reset,
            ));
        }
        // An administrative reset: new hashes, and DPAPI cannot follow (`docs/dpapi.md` §4).
        let mut store = self.load_store(idx)?;
        store.reset_password();
        self.save_store(idx, &store);
        let a = &mut self.state.accounts[idx];
        a.hashes = Some(StoredHashes::of_password(password.expose()));
        a.password_last_set = self.state.clock;
        a.locked = false;
        let q = a.qualified_name();
        self.learn(&q, password.expose());
        let text = if net_user {
            text::NET_SUCCESS.to_owned()
        } else {
            format!("The password of {q} was reset.")
        };
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"account": q, "operation": "reset"}),
            events: vec![],
        })
    }

    pub(in crate::world) fn account_change(
        &mut self,
        name: &str,
        old: &Secret,
        new: &Secret,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let idx = self.account_index(name)?;
        let a = self.state.accounts[idx].clone();
        if !a.kind.has_settable_password() {
            return Err(Self::refuse_password(&a, PasswordAction::Change));
        }
        let old_utf16 = Zeroizing::new(utf16le(old.expose()));
        if !a
            .hashes
            .as_ref()
            .is_some_and(|h| h.matches(&hashes_utf16le(&old_utf16)))
        {
            let code = win32::INVALID_PASSWORD;
            return Ok(Outcome {
                code,
                text: format!(
                    "System error {code} has occurred.\n\n{}",
                    win32::message(code)
                ),
                json: json!({"account": a.qualified_name(), "operation": "change", "error": win32::message(code)}),
                events: vec![],
            });
        }
        self.change_password_utf16(idx, &old_utf16, &utf16le(new.expose()), rng)?;
        let q = a.qualified_name();
        self.learn(&q, new.expose());
        Ok(Outcome {
            code: 0,
            text: format!("The password of {q} was changed."),
            json: json!({"account": q, "operation": "change"}),
            events: vec![],
        })
    }

    /// A password change with the old password known: DPAPI re-protects the master keys and
    /// extends CREDHIST (`docs/dpapi.md` §4).
    pub(in crate::world) fn change_password_utf16(
        &mut self,
        idx: usize,
        old: &[u8],
        new: &[u8],
        rng: &mut Stream,
    ) -> Result<(), WorldError> {
        let a = self.state.accounts[idx].clone();
        let sid = a.sid();
        let mut store = self.load_store(idx)?;
        store
            .change_password(
                &mut rng.0,
                &credential_for(a.kind, &sid, old),
                &credential_for(a.kind, &sid, new),
            )
            .map_err(|source| WorldError::MasterKey {
                what: format!("DPAPI's password change for {}", a.qualified_name()),
                source,
            })?;
        self.save_store(idx, &store);
        let acc = &mut self.state.accounts[idx];
        acc.hashes = Some(StoredHashes::of(&hashes_utf16le(new)));
        acc.password_last_set = self.state.clock;
        Ok(())
    }

    pub(in crate::world) fn account_state(
        &mut self,
        name: &str,
        state: AccountState,
        net_user: bool,
    ) -> Result<Outcome, WorldError> {
        let idx = match self.account_index(name) {
            Err(_) if net_user => return Ok(Self::net_user_not_found(name)),
            r => r?,
        };
        let a = &mut self.state.accounts[idx];
        if a.kind == AccountKind::Virtual {
            return Err(WorldError::AccountRefused {
                account: a.qualified_name(),
                refusal: Refusal::VirtualState,
            });
        }
        match state {
            AccountState::Enable => a.enabled = true,
            AccountState::Disable => a.enabled = false,
            AccountState::Lock => a.locked = true,
            AccountState::Unlock => a.locked = false,
        }
        let q = a.qualified_name();
        let text = if net_user {
            text::NET_SUCCESS.to_owned()
        } else {
            format!("{q}: enabled {}, locked {}.", a.enabled, a.locked)
        };
        Ok(Outcome {
            code: 0,
            text,
            json: json!({"account": q, "enabled": a.enabled, "locked": a.locked}),
            events: vec![],
        })
    }
}
