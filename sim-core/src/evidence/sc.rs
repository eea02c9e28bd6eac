//! `sc.exe qc NAME` and `sc.exe queryex NAME` as text: written for a simulated service (and
//! from `QueryServiceConfigW` / `QueryServiceStatusEx` on Windows), and read back from a bundle.
//!
//! The layouts are sc.exe's own: a key padded to 19 columns after eight spaces, a colon, the
//! value (`TYPE               : 10  WIN32_OWN_PROCESS`); `qc` opens with
//! `[SC] QueryServiceConfig SUCCESS` and a blank line; `queryex` with a blank line, and ends with
//! `PID` and `FLAGS`; a missing service gives `[SC] OpenService FAILED 1060:` and the system
//! message ([`crate::win::scm::sc_failed`]). Evidence: COMM (sc.exe transcripts); the simulator's
//! `sc query` block ([`crate::win::scm::Service::sc_query`]) is reused for `queryex`.

use super::EvidenceError;
use crate::win::scm::{Service, ServiceState, sc_failed};
use crate::win::text::win32;

/// Largest sc.exe text read (named limit: the real outputs are well under 2 KB).
pub const MAX_SC_TEXT_BYTES: usize = 64 << 10;

/// What `sc qc` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryConfig {
    /// `SERVICE_NAME`.
    pub name: String,
    /// `START_TYPE`'s number (2 auto, 3 demand, 4 disabled).
    pub start_type: u32,
    /// `BINARY_PATH_NAME`.
    pub binary_path: String,
    /// `DISPLAY_NAME`.
    pub display_name: String,
    /// `SERVICE_START_NAME`, the logon account.
    pub account: String,
}

/// What `sc queryex` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryEx {
    /// `SERVICE_NAME`.
    pub name: String,
    /// `STATE`.
    pub state: ServiceState,
    /// `WIN32_EXIT_CODE`.
    pub win32_exit_code: u32,
    /// `SERVICE_EXIT_CODE`.
    pub service_exit_code: u32,
    /// `PID` (0 when stopped).
    pub pid: u32,
}

/// sc.exe's name of a start type.
fn start_type_text(n: u32) -> String {
    let name = match n {
        0 => "BOOT_START",
        1 => "SYSTEM_START",
        2 => "AUTO_START",
        3 => "DEMAND_START",
        4 => "DISABLED",
        _ => "",
    };
    format!("{n}   {name}")
}

/// `sc qc NAME` of an installed service.
pub fn qc_text(c: &QueryConfig) -> String {
    format!(
        "[SC] QueryServiceConfig SUCCESS\n\nSERVICE_NAME: {}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        START_TYPE         : {}\n        ERROR_CONTROL      : 1   NORMAL\n        BINARY_PATH_NAME   : {}\n        LOAD_ORDER_GROUP   : \n        TAG                : 0\n        DISPLAY_NAME       : {}\n        DEPENDENCIES       : \n        SERVICE_START_NAME : {}\n",
        c.name,
        start_type_text(c.start_type),
        c.binary_path,
        c.display_name,
        c.account
    )
}

/// `sc qc` / `sc queryex` of a service that is not installed.
pub fn missing_text() -> String {
    sc_failed("OpenService", win32::SERVICE_DOES_NOT_EXIST)
}

/// `sc queryex NAME`: the `sc query` block with `PID` and `FLAGS` always present.
pub fn queryex_text(q: &QueryEx) -> String {
    let svc = Service {
        name: q.name.clone(),
        display_name: String::new(),
        binary_path: String::new(),
        start_type: crate::win::scm::StartType::Auto,
        account: String::new(),
        state: q.state,
        win32_exit_code: q.win32_exit_code,
        service_exit_code: q.service_exit_code,
        pid: Some(q.pid),
    };
    format!("\n{}", svc.sc_query())
}

fn bad(file: &str, reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// The `KEY : value` lines of an sc.exe block.
fn fields<'t>(file: &str, text: &'t str) -> Result<Vec<(&'t str, &'t str)>, EvidenceError> {
    if text.len() > MAX_SC_TEXT_BYTES {
        return Err(EvidenceError::TooLarge {
            file: file.to_owned(),
            limit: MAX_SC_TEXT_BYTES,
        });
    }
    Ok(text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let k = k.trim();
            (!k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
            .then_some((k, v.trim()))
        })
        .collect())
}

fn field<'t>(file: &str, f: &[(&str, &'t str)], key: &str) -> Result<&'t str, EvidenceError> {
    f.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad(file, format!("no {key} line")))
}

/// Whether the text is sc.exe saying the service does not exist (`FAILED 1060`).
pub fn says_missing(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("[SC]") && l.contains("FAILED 1060"))
}

/// The first number of a value (`10  WIN32_OWN_PROCESS` → 10); `(0x…)` hex wins when present,
/// since sc.exe prints `SERVICE_EXIT_CODE` as a signed decimal.
fn number(file: &str, key: &str, v: &str) -> Result<u32, EvidenceError> {
    if let Some(hex) = v
        .split_once("(0x")
        .and_then(|(_, h)| h.split_once(')'))
        .map(|(h, _)| h)
    {
        return u32::from_str_radix(hex, 16)
            .map_err(|_| bad(file, format!("{key} '{v}' is not a number")));
    }
    let first = v.split_whitespace().next().unwrap_or_default();
    first
        .parse::<u32>()
        .or_else(|_| first.parse::<i32>().map(|n| n as u32))
        .map_err(|_| bad(file, format!("{key} '{v}' is not a number")))
}

/// Parses `sc qc NAME`; `None` when sc.exe says the service does not exist.
pub fn parse_qc(file: &str, text: &str) -> Result<Option<QueryConfig>, EvidenceError> {
    let f = fields(file, text)?;
    if says_missing(text) {
        return Ok(None);
    }
    Ok(Some(QueryConfig {
        name: field(file, &f, "SERVICE_NAME")?.to_owned(),
        start_type: number(file, "START_TYPE", field(file, &f, "START_TYPE")?)?,
        binary_path: field(file, &f, "BINARY_PATH_NAME")?.to_owned(),
        display_name: field(file, &f, "DISPLAY_NAME")?.to_owned(),
        account: field(file, &f, "SERVICE_START_NAME")?.to_owned(),
    }))
}

/// Parses `sc queryex NAME`; `None` when sc.exe says the service does not exist.
pub fn parse_queryex(file: &str, text: &str) -> Result<Option<QueryEx>, EvidenceError> {
    let f = fields(file, text)?;
    if says_missing(text) {
        return Ok(None);
    }
    let state_v = field(file, &f, "STATE")?;
    let code = number(file, "STATE", state_v)?;
    let state = match code {
        1 => ServiceState::Stopped,
        2 => ServiceState::StartPending,
        3 => ServiceState::StopPending,
        4 => ServiceState::Running,
        _ => {
            return Err(bad(
                file,
                format!("STATE '{state_v}' is not a state this reader knows"),
            ));
        }
    };
    let pid = match f.iter().find(|(k, _)| *k == "PID") {
        Some((_, v)) => number(file, "PID", v)?,
        None => 0,
    };
    Ok(Some(QueryEx {
        name: field(file, &f, "SERVICE_NAME")?.to_owned(),
        state,
        win32_exit_code: number(file, "WIN32_EXIT_CODE", field(file, &f, "WIN32_EXIT_CODE")?)?,
        service_exit_code: number(
            file,
            "SERVICE_EXIT_CODE",
            field(file, &f, "SERVICE_EXIT_CODE")?,
        )?,
        pid,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qc_and_queryex_read_back() {
        let c = QueryConfig {
            name: "ADSync".into(),
            start_type: 2,
            binary_path: "\"C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\miiserver.exe\""
                .into(),
            display_name: "Microsoft Azure AD Sync".into(),
            account: "CONTOSO\\AAD_1".into(),
        };
        let t = qc_text(&c);
        assert!(t.contains("        SERVICE_START_NAME : CONTOSO\\AAD_1\n"));
        assert_eq!(parse_qc("qc", &t).unwrap(), Some(c));
        let q = QueryEx {
            name: "ADSync".into(),
            state: ServiceState::Stopped,
            win32_exit_code: 1066,
            service_exit_code: 0x8023_1000,
            pid: 0,
        };
        let t = queryex_text(&q);
        assert!(
            t.contains("SERVICE_EXIT_CODE  : -2145185792  (0x80231000)"),
            "{t}"
        );
        assert_eq!(parse_queryex("qx", &t).unwrap(), Some(q));
        assert_eq!(parse_qc("qc", &missing_text()).unwrap(), None);
        assert_eq!(parse_queryex("qx", &missing_text()).unwrap(), None);
    }

    #[test]
    fn garbage_is_named() {
        let e = parse_queryex("scm/ADSync.queryex.txt", "hello").unwrap_err();
        assert!(e.to_string().contains("no STATE line"), "{e}");
        let e = parse_queryex("f", "STATE : 9 X\n").unwrap_err();
        assert!(e.to_string().contains("STATE '9 X'"), "{e}");
    }
}
