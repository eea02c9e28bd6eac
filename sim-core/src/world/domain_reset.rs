//! An administrator's reset of a domain account's password with the real tools
//! (`Set-ADAccountPassword … -Reset`, `net user X P /domain`; see
//! [`crate::command::ad`]): the account is looked up in the named domain (the server's own
//! without `-Server`), reset exactly as `account reset` resets it, and each tool prints its
//! own text.

use serde_json::json;

use super::sync::netbios_of;
use super::{Outcome, Refusal, World, WorldError};
use crate::command::Secret;
use crate::command::ad::DomainResetTool;
use crate::win::account::AccountKind;
use crate::win::text;

/// What net.exe prints first when `/domain` sends the request to a DC (INF: the wording is
/// net.exe's as administrators quote it; no Microsoft page found that prints it).
pub fn net_domain_request(dns: &str) -> String {
    format!("The request will be processed at a domain controller for domain {dns}.")
}

/// The ActiveDirectory module's error for an identity it cannot find (INF: the wording of
/// `ADIdentityNotFoundException` as administrators quote it, with PowerShell's error record).
pub fn ad_identity_not_found(identity: &str, dns: &str) -> String {
    let dn = dns
        .split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "Set-ADAccountPassword : Cannot find an object with identity: '{identity}' under: '{dn}'.\n    + CategoryInfo          : ObjectNotFound: ({identity}:ADAccount) [Set-ADAccountPassword], ADIdentityNotFoundException\n    + FullyQualifiedErrorId : ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,Microsoft.ActiveDirectory.Management.Commands.SetADAccountPassword"
    )
}

impl World {
    /// `Set-ADAccountPassword -Identity X -Reset …` / `net user X P /domain`.
    pub(super) fn domain_account_reset(
        &mut self,
        identity: &str,
        server: Option<&str>,
        password: &Secret,
        tool: DomainResetTool,
    ) -> Result<Outcome, WorldError> {
        let Some(own) = self.state.domain.as_ref().map(|d| d.dns.clone()) else {
            return Err(WorldError::NotInDomain {
                subject: identity.to_owned(),
            });
        };
        let dns = server.map_or(own, str::to_owned);
        let qualified = if identity.contains('\\') {
            identity.to_owned()
        } else {
            format!("{}\\{identity}", netbios_of(&dns))
        };
        let found = self
            .account_index(&qualified)
            .ok()
            .filter(|&i| self.state.accounts[i].kind != AccountKind::Local);
        if found.is_none() {
            if tool == DomainResetTool::SetAdAccountPassword {
                return Ok(Outcome {
                    code: crate::win::text::powershell::CMDLET_FAILED,
                    text: ad_identity_not_found(identity, &dns),
                    json: json!({"account": identity, "operation": "reset", "found": false}),
                    events: vec![],
                });
            }
            return Err(self.account_index(&qualified).err().unwrap_or_else(|| {
                WorldError::AccountRefused {
                    account: qualified.clone(),
                    refusal: Refusal::NotDomainAccount,
                }
            }));
        }
        let mut out = self.account_reset(&qualified, password, false)?;
        out.text = match tool {
            // The cmdlet prints nothing when it succeeds.
            DomainResetTool::SetAdAccountPassword => String::new(),
            DomainResetTool::NetUser => {
                format!("{}\n\n{}", net_domain_request(&dns), text::NET_SUCCESS)
            }
        };
        Ok(out)
    }
}
