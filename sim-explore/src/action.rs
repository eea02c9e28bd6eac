//! Actions as lines of the command language, with the scenario placeholders (docs/design.md §6), so a
//! failing sequence is written as a scenario file that `scenario run` replays. Passwords the
//! sequence sets are named after the step that set them (`Explore-3-Aa1!`); version 0 is the
//! install's.

use crate::model::{Action, Model};

/// The service account's password of version `v`.
fn sa_password(v: u32) -> String {
    if v == 0 {
        "${service_account_password}".to_owned()
    } else {
        format!("Explore-{v}-Aa1!")
    }
}

/// The `MSOL_` account's password of version `v` (`None`: the install's, which nobody knows).
pub fn msol_password(v: u32) -> Option<String> {
    (v != 0).then(|| format!("Msol-{v}-Aa1!"))
}

/// The line `action` runs in the state `before`.
pub fn line(before: &Model, action: &Action) -> String {
    let new = before.step + 1;
    match action {
        Action::ResetServiceAccount => format!(
            "account reset ${{service_account}} --password '{}'",
            sa_password(new)
        ),
        Action::ChangeServiceAccount => format!(
            "account change ${{service_account}} --old '{}' --new '{}'",
            sa_password(before.sa_pw),
            sa_password(new)
        ),
        Action::ScConfigCurrent => {
            format!("sc config ADSync password= '{}'", sa_password(before.sa_pw))
        }
        Action::ScConfigWrong => format!("sc config ADSync password= 'Wrong-{new}-Aa1!'"),
        Action::ScStart => "sc start ADSync".into(),
        Action::ScStop => "sc stop ADSync".into(),
        // The simulator's alias, which runs from any PowerShell location (`./miiskmu.exe` needs
        // `cd` to the bin folder first, which the explorer does not model as an action).
        Action::Miiskmu => "miiskmu /a".into(),
        Action::ResetMsol => format!(
            "account reset ${{ad_connector_account:contoso.com}} --password 'Msol-{new}-Aa1!'"
        ),
        Action::SetAdConnectorPassword => format!(
            "connector set-password contoso.com --password '{}'",
            msol_password(before.ad.actual).unwrap_or_default()
        ),
        Action::CloudResetSync => format!(
            "Set-MsolUserPassword -UserPrincipalName ${{entra_connector_account}} -NewPassword 'Cloud-{new}-Aa1!'"
        ),
        Action::AddAadServiceAccount => {
            "Add-ADSyncAADServiceAccount -AADCredential '${global_admin}:${global_admin_password}'"
                .into()
        }
        Action::SyncCycle => "Start-ADSyncSyncCycle -PolicyType Delta".into(),
        Action::ClockAdvance { hours } => format!("clock advance {hours}h"),
        Action::DcDisconnect => "dc disconnect".into(),
        Action::DcConnect => "dc connect".into(),
    }
}

/// Every password a sequence of `steps` actions may have typed (for the plaintext check).
pub fn typed_passwords(steps: u32) -> Vec<String> {
    let mut out = Vec::new();
    for v in 1..=steps {
        out.push(sa_password(v));
        out.push(format!("Wrong-{v}-Aa1!"));
        out.push(format!("Msol-{v}-Aa1!"));
        out.push(format!("Cloud-{v}-Aa1!"));
    }
    out
}
