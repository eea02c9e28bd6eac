//! The administrator's ADSync tools: `Get-ADSyncConnector`, the Synchronization Service
//! Manager's password dialog, `miiskmu.exe /a`, `Add-ADSyncAADServiceAccount`,
//! `Add-ADSyncADDSConnectorAccount` and a password reset in the Entra tenant.
//!
//! Follows the 2017 and 2023 articles' procedures and `docs/adsync.md` §5 (the tools and their
//! ordering rules).

use serde_json::json;

use super::memory::credential_memory;
use super::{Stream, generate_password, netbios_of};
use crate::adsync::connector::{ConnectorType, ManagementAgent};
use crate::adsync::engine::StoredKeyset;
use crate::adsync::keyset::Keyset;
use crate::adsync::{credstore, text};
use crate::cloud::{ROLE_DIRECTORY_SYNC, ROLE_GLOBAL_ADMIN, ROLE_HYBRID_IDENTITY_ADMIN};
use crate::command::{PsCredential, Secret};
use crate::win::account::StoredHashes;
use crate::win::text::win32;
use crate::world::{ADSYNC_SERVICE, Outcome, World, WorldError};

impl World {
    /// `Key.EncryptStringToBase64` with key 1 (`docs/adsync.md` §3.4, §3.5).
    pub(in crate::world) fn store_connector_password(
        &mut self,
        idx: usize,
        keyset: &Keyset,
        password: &str,
        rng: &mut Stream,
    ) -> Result<(), WorldError> {
        let kind = self.engine()?.agents[idx].kind;
        let key = keyset
            .key(1)
            .ok_or_else(|| WorldError::missing("key 1 of the engine's keyset"))?;
        let mut iv = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut rng.0, &mut iv);
        let attributes = match kind {
            ConnectorType::Ad => credstore::EncryptedAttributes::ad(password),
            ConnectorType::Entra => credstore::EncryptedAttributes::entra(password),
        }
        .map_err(|e| {
            WorldError::bad_option(
                "password",
                "",
                format!("the password cannot be stored: {e}"),
            )
        })?;
        let b64 = credstore::encrypt(key, iv, &attributes);
        self.engine_mut()?.agents[idx].encrypted_configuration = b64;
        Ok(())
    }

    /// `connector list` and `Get-ADSyncConnector`.
    pub(in crate::world) fn connector_list(
        &self,
        only: Option<&str>,
        cmdlet: bool,
    ) -> Result<Outcome, WorldError> {
        let engine = self.engine()?;
        let picked: Vec<&ManagementAgent> = match only {
            Some(n) => vec![&engine.agents[self.connector_index(n)?]],
            None => engine.agents.iter().collect(),
        };
        let mut rows = Vec::new();
        let mut text = if cmdlet {
            String::new()
        } else {
            format!(
                "{:<36} {:<6} {:<52} {}\n",
                "NAME", "TYPE", "ACCOUNT", "LAST RUN"
            )
        };
        for a in picked {
            let account = credstore::login_user(&a.private_configuration_xml).unwrap_or_default();
            let account = match a.kind {
                ConnectorType::Ad => format!("{}\\{account}", netbios_of(&a.target)),
                ConnectorType::Entra => account,
            };
            let last = a.last_run.as_ref().map(|r| r.status.as_str());
            if cmdlet {
                text.push_str(&format!(
                    "Identifier             : {}\nName                   : {}\nType                   : {}\nSubtype                : {}\nConnectivityParameters : {{UserName={account}}}\n\n",
                    a.ma_id,
                    a.ma_name,
                    a.ma_type,
                    a.subtype
                ));
            } else {
                text.push_str(&format!(
                    "{:<36} {:<6} {:<52} {}\n",
                    a.ma_name,
                    a.kind.as_str(),
                    account,
                    last.unwrap_or("-")
                ));
            }
            rows.push(json!({
                "name": a.ma_name,
                "type": a.kind.as_str(),
                "account": account,
                "identifier": a.ma_id,
                "last_run": last,
                "last_run_profile": a.last_run.as_ref().map(|r| r.profile.as_str()),
            }));
        }
        Ok(Outcome {
            code: 0,
            text: text.trim_end().to_owned(),
            json: json!({"connectors": rows}),
            events: vec![],
        })
    }

    /// `connector set-password NAME --password P`: the Synchronization Service Manager's
    /// dialog ("Azure AD Connect sync: Changing the AD DS account password" (2017-07-12) steps 1–7). The engine
    /// stores the password under the current keyset; its cached one stays until a restart.
    pub(in crate::world) fn connector_set_password(
        &mut self,
        name: &str,
        password: &Secret,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let idx = self.connector_index(name)?;
        if !self.adsync_running() {
            return Ok(self.not_running(text::SSM_NOT_RUNNING.to_owned()));
        }
        let agent = self.engine()?.agents[idx].clone();
        if agent.kind == ConnectorType::Entra {
            return Ok(Outcome {
                code: crate::win::text::powershell::CMDLET_FAILED,
                text: text::ENTRA_PASSWORD_REFUSED.to_owned(),
                json: json!({"connector": agent.ma_name, "error": text::ENTRA_PASSWORD_REFUSED}),
                events: vec![],
            });
        }
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::missing("the running engine's keyset"))?;
        self.store_connector_password(idx, &keyset, password.expose(), rng)?;
        Ok(Outcome {
            code: 0,
            text: text::console_password_saved(&agent.ma_name),
            json: json!({"connector": agent.ma_name, "saved": true, "restart_required": true}),
            events: vec![],
        })
    }

    /// `miiskmu.exe /a` (`docs/adsync.md` §5.1, §4 F6).
    pub(in crate::world) fn miiskmu_abandon(&mut self) -> Result<Outcome, WorldError> {
        if self.adsync_running() {
            return Ok(Outcome {
                code: text::MIISKMU_RUNNING_CODE,
                text: text::MIISKMU_RUNNING.to_owned(),
                json: json!({"error": text::MIISKMU_RUNNING}),
                events: vec![],
            });
        }
        self.engine_mut()?.keyset = StoredKeyset::None;
        Ok(Outcome {
            code: 0,
            text: text::MIISKMU_ABANDONED.to_owned(),
            json: json!({"abandoned": true}),
            events: vec![],
        })
    }

    /// Signs an administrator in to the tenant for a cmdlet; `Err` is the cmdlet's failure.
    pub(in crate::world) fn cloud_admin(
        &self,
        cmdlet: &str,
        c: &PsCredential,
    ) -> Result<(), Outcome> {
        let fail = |msg: String| Outcome {
            code: crate::win::text::powershell::CMDLET_FAILED,
            text: format!("{cmdlet} : {msg}"),
            json: json!({"error": msg}),
            events: vec![],
        };
        match self.state.tenant.sign_in(&c.user, c.password.expose()) {
            Err(e) => Err(fail(e.text().to_owned())),
            Ok(u)
                if !u
                    .roles
                    .iter()
                    .any(|r| r == ROLE_GLOBAL_ADMIN || r == ROLE_HYBRID_IDENTITY_ADMIN) =>
            {
                Err(fail(text::not_an_admin(&u.upn)))
            }
            Ok(_) => Ok(()),
        }
    }

    /// `Add-ADSyncAADServiceAccount -AADCredential C [-Name N]` (`docs/adsync.md` §5.3;
    /// "Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08): "resets the password for the
    /// service account and update it both in Azure AD and in the sync engine").
    pub(in crate::world) fn add_aad_service_account(
        &mut self,
        credential: &PsCredential,
        name: Option<&str>,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = "Add-ADSyncAADServiceAccount";
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running(cmdlet)));
        }
        if let Err(o) = self.cloud_admin(cmdlet, credential) {
            return Ok(o);
        }
        let idx = self
            .engine()?
            .agents
            .iter()
            .position(|a| a.kind == ConnectorType::Entra)
            .ok_or_else(|| WorldError::missing("the Microsoft Entra connector"))?;
        let current = credstore::login_user(&self.engine()?.agents[idx].private_configuration_xml)
            .unwrap_or_default();
        let upn = match name {
            Some(n) => self.state.tenant.upn(n),
            None => current,
        };
        let pw = generate_password(rng);
        let now = self.state.clock;
        self.state
            .tenant
            .put_user(&upn, &pw, &[ROLE_DIRECTORY_SYNC], now);
        self.forget(&upn);
        self.engine_mut()?.agents[idx].private_configuration_xml =
            credstore::entra_private_configuration(&upn);
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::missing("the running engine's keyset"))?;
        self.store_connector_password(idx, &keyset, &pw, rng)?;
        let ma_name = self.engine()?.agents[idx].ma_name.clone();
        self.memory_put(ADSYNC_SERVICE, &credential_memory(&ma_name), pw.as_bytes());
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"connector": ma_name, "account": upn}),
            events: vec![],
        })
    }

    /// `Add-ADSyncADDSConnectorAccount -Name FOREST -EACredential C` (`docs/adsync.md`
    /// §5.3: "resets the password for the service account and updates it" in the directory and
    /// the sync engine).
    pub(in crate::world) fn add_adds_connector_account(
        &mut self,
        connector: &str,
        credential: &PsCredential,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        let cmdlet = "Add-ADSyncADDSConnectorAccount";
        let idx = self.connector_index(connector)?;
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running(cmdlet)));
        }
        let agent = self.engine()?.agents[idx].clone();
        if agent.kind != ConnectorType::Ad {
            return Err(WorldError::UnknownConnector {
                name: connector.to_owned(),
                known: self.ad_connector_names()?,
            });
        }
        // The Enterprise Admin must authenticate in that forest.
        let dns = self.state.domain.as_ref().map(|d| d.dns.clone());
        let ea_ok = self.state.accounts.iter().any(|a| {
            a.forest_dns(dns.as_deref())
                .is_some_and(|f| f.eq_ignore_ascii_case(&agent.target))
                && (a.is_named(&credential.user, Some(&agent.target)))
                && a.enabled
                && a.password_is(credential.password.expose())
        });
        if !ea_ok {
            let msg = win32::message(win32::LOGON_FAILURE);
            return Ok(Outcome {
                code: crate::win::text::powershell::CMDLET_FAILED,
                text: format!("{cmdlet} : {msg}"),
                json: json!({"error": msg}),
                events: vec![],
            });
        }
        let ai = self.ad_login_account(&agent).ok_or_else(|| {
            WorldError::missing(format!("the account of connector {}", agent.ma_name))
        })?;
        let pw = generate_password(rng);
        let now = self.state.clock;
        let a = &mut self.state.accounts[ai];
        a.hashes = Some(StoredHashes::of_password(&pw));
        a.password_last_set = now;
        a.locked = false;
        let q = a.qualified_name();
        self.forget(&q);
        let keyset = self
            .memory_keyset()?
            .ok_or_else(|| WorldError::missing("the running engine's keyset"))?;
        self.store_connector_password(idx, &keyset, &pw, rng)?;
        self.memory_put(
            ADSYNC_SERVICE,
            &credential_memory(&agent.ma_name),
            pw.as_bytes(),
        );
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"connector": agent.ma_name, "account": self.state.accounts[ai].qualified_name()}),
            events: vec![],
        })
    }

    pub(in crate::world) fn ad_connector_names(&self) -> Result<String, WorldError> {
        Ok(self
            .engine()?
            .agents
            .iter()
            .filter(|a| a.kind == ConnectorType::Ad)
            .map(|a| a.ma_name.as_str())
            .collect::<Vec<_>>()
            .join(", "))
    }

    /// `Set-MsolUserPassword` (or `account reset UPN`): a cloud administrator resets a cloud
    /// user's password ("Azure AD Connect sync: How to manage the Azure AD service account" (2017-02-08): "a Global
    /// Administrator has by mistake reset the password on the service account using
    /// PowerShell").
    pub(in crate::world) fn cloud_reset(
        &mut self,
        upn: &str,
        password: &Secret,
    ) -> Result<Outcome, WorldError> {
        let now = self.state.clock;
        if !self.state.tenant.set_password(upn, password.expose(), now) {
            return Err(WorldError::UnknownAccount {
                name: upn.to_owned(),
                known: self.state.tenant.known_users(),
            });
        }
        let upn = self.state.tenant.upn(upn);
        self.learn(&upn, password.expose());
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"account": upn, "operation": "reset"}),
            events: vec![],
        })
    }

    /// Whether `name` is a user of the tenant (for `account reset`).
    pub(in crate::world) fn is_cloud_user(&self, name: &str) -> bool {
        name.contains('@') && self.state.tenant.user(name).is_some()
    }
}
