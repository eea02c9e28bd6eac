//! PowerShell's current location on the simulated server: the folders `cd` can reach and how a
//! typed path resolves (the 2023 article's own step is
//! `cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\"`, then `./miiskmu.exe /a`).
//!
//! Named choices: the server has only the folders the procedures use ([`FOLDERS`]); an
//! elevated PowerShell starts in `C:\Windows\system32` ([`START`]); a location is kept in its
//! canonical case. `$env:ProgramFiles`, `$env:SystemRoot`, `$env:USERPROFILE` and `~` expand to
//! their default values on an English Windows Server.

use serde_json::json;

use super::{Outcome, World, WorldError};
use crate::command::Command;
use crate::win::text::{self, win32};

/// Where an elevated PowerShell starts.
pub const START: &str = "C:\\Windows\\system32";
/// The ADSync tools' folder (`docs/adsync.md` §5.1: `miiskmu.exe` is in `…\Azure AD Sync\Bin`).
pub const ADSYNC_BIN: &str = "C:\\Program Files\\Microsoft Azure AD Sync\\Bin";

/// The folders of the simulated server, in canonical case.
pub const FOLDERS: [&str; 8] = [
    "C:\\",
    "C:\\Program Files",
    "C:\\Program Files\\Microsoft Azure AD Sync",
    ADSYNC_BIN,
    "C:\\Users",
    "C:\\Users\\Administrator",
    "C:\\Windows",
    START,
];

/// The environment variables a path may name, with their values.
const ENV: [(&str, &str); 4] = [
    ("programfiles", "C:\\Program Files"),
    ("systemroot", "C:\\Windows"),
    ("windir", "C:\\Windows"),
    ("userprofile", "C:\\Users\\Administrator"),
];

/// Expands `$env:NAME` and `${env:NAME}` (case-insensitive) and a leading `~`.
fn expand(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    if let Some(r) = rest.strip_prefix('~') {
        out.push_str("C:\\Users\\Administrator");
        rest = r;
    }
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let lower = tail.to_ascii_lowercase();
        let hit = ENV.iter().find_map(|(name, value)| {
            let plain = format!("$env:{name}");
            let braced = format!("${{env:{name}}}");
            if lower.starts_with(&braced) {
                Some((braced.len(), *value))
            } else if lower.starts_with(&plain) {
                Some((plain.len(), *value))
            } else {
                None
            }
        });
        match hit {
            Some((len, value)) => {
                out.push_str(value);
                rest = &tail[len..];
            }
            None => {
                out.push('$');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Resolves `path` typed at location `here`: `Ok` with the folder in canonical case, or `Err`
/// with the full path PowerShell names in its "Cannot find path" error.
pub fn resolve(here: &str, path: &str) -> Result<String, String> {
    let expanded = expand(path).replace('/', "\\");
    let full = if expanded.len() >= 2 && expanded.as_bytes()[1] == b':' {
        expanded
    } else if let Some(rooted) = expanded.strip_prefix('\\') {
        format!("C:\\{rooted}")
    } else {
        format!("{here}\\{expanded}")
    };
    let (drive, tail) = full.split_at(2);
    let mut parts: Vec<&str> = Vec::new();
    for seg in tail.split('\\') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = format!("{}\\{}", drive.to_ascii_uppercase(), parts.join("\\"));
    FOLDERS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(&joined))
        .map(|f| (*f).to_owned())
        .ok_or(joined)
}

// `cd` and the programs a relative path reaches, as commands of the world.
impl World {
    /// `cd PATH`: moves PowerShell's location to a folder of the simulated server.
    pub(in crate::world) fn set_location(&mut self, path: &str) -> Outcome {
        let here = self.location().to_owned();
        match resolve(&here, path) {
            Ok(folder) => {
                self.state.location = Some(folder.clone());
                Outcome {
                    code: 0,
                    text: String::new(),
                    json: json!({"location": folder}),
                    events: vec![],
                }
            }
            Err(shown) => Outcome {
                code: win32::FILE_NOT_FOUND,
                text: text::ps_path_not_found(
                    "cd",
                    &shown,
                    &Command::SetLocation {
                        path: path.to_owned(),
                    }
                    .redacted(),
                ),
                json: json!({"location": here, "error": "path not found", "path": shown}),
                events: vec![],
            },
        }
    }

    /// PowerShell's current location.
    pub fn location(&self) -> &str {
        self.state.location.as_deref().unwrap_or(START)
    }

    /// `./miiskmu.exe /a`: PowerShell runs it only when the current location holds it.
    pub(in crate::world) fn miiskmu_relative(
        &mut self,
        typed: &str,
    ) -> Result<Outcome, WorldError> {
        if self.location().eq_ignore_ascii_case(ADSYNC_BIN) {
            return self.miiskmu_abandon();
        }
        Ok(Outcome {
            code: win32::FILE_NOT_FOUND,
            text: text::ps_not_recognized(typed, &format!("{typed} /a")),
            json: json!({"location": self.location(), "error": "not recognized", "command": typed, "folder": ADSYNC_BIN}),
            events: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_articles_cd_reaches_the_bin_folder() {
        assert_eq!(
            resolve(START, "$env:ProgramFiles\\Microsoft Azure AD Sync\\bin\\").as_deref(),
            Ok(ADSYNC_BIN)
        );
        assert_eq!(
            resolve(START, "${env:ProgramFiles}/Microsoft Azure AD Sync/Bin").as_deref(),
            Ok(ADSYNC_BIN)
        );
        assert_eq!(
            resolve(ADSYNC_BIN, "..\\..").as_deref(),
            Ok("C:\\Program Files")
        );
        assert_eq!(resolve(START, "\\").as_deref(), Ok("C:\\"));
        assert_eq!(resolve(START, "..\\..\\..\\..").as_deref(), Ok("C:\\"));
    }

    #[test]
    fn unknown_folders_name_the_full_path() {
        assert_eq!(
            resolve(START, "nowhere"),
            Err("C:\\Windows\\system32\\nowhere".to_owned())
        );
    }
}
