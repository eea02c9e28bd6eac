//! Which insertion strings each modelled event carries, and how its message renders from them.
//!
//! Windows stores an event's insertion strings (`EventData/Data`), not its text; Event Viewer
//! renders the text from the provider's message table, and replaces a `%%N` insertion with the
//! system message of N (`FormatMessage` of the parameter message file). The texts themselves
//! live in [`crate::win::text`] and [`crate::adsync::text`]: this module only says which
//! insertion goes where, and reuses those functions both ways (rendering an event read from a
//! bundle, and splitting a simulated event's text back into its insertion strings).
//!
//! | event | insertion strings | evidence |
//! |---|---|---|
//! | System 7036 | `param1` display name, `param2` the state word (`running`); the service name in `Binary` as UTF-16LE hex | COMM: the layout of posted 7036 records |
//! | System 7038 | `param1` service name, `param2` account, `param3` `%%1326` (the logon error) | COMM: posted 7038 records (`%%1385`, `%%1326`) |
//! | System 7000 | `param1` display name, `param2` `%%1069` | COMM: posted 7000 records |
//! | System 7024 | `param1` display name, `param2` `%%<code as a signed 32-bit number>` | INF: the SCM's `%%` convention for the error of a stop |
//! | Application events (ADSync, Directory Synchronization) | one `Data` holding the whole text | INF: the engine's message table is not public (docs/adsync.md §9) |

use crate::win::text::{self, SCM_SOURCE, win32};

/// The Win32 codes whose system message an SCM insertion may reference with `%%N`.
const REFERENCED_CODES: [u32; 12] = [
    win32::LOGON_FAILURE,
    win32::ACCOUNT_DISABLED,
    win32::ACCOUNT_LOCKED_OUT,
    win32::USER_NOT_FOUND,
    win32::LOGON_TYPE_NOT_GRANTED,
    win32::SERVICE_LOGON_FAILED,
    win32::SERVICE_SPECIFIC_ERROR,
    win32::SERVICE_REQUEST_TIMEOUT,
    win32::FILE_NOT_FOUND,
    win32::ACCESS_DENIED,
    win32::SERVICE_DISABLED,
    win32::INVALID_SERVICE_ACCOUNT,
];

/// How one SCM event's text is built from its insertion strings.
#[derive(Clone, Copy, Debug)]
struct ScmTemplate {
    id: u32,
    /// How many `paramN` it has.
    params: usize,
    /// Renders the text from resolved insertions.
    render: fn(&[&str]) -> String,
}

fn render_7036(p: &[&str]) -> String {
    text::event_7036(p[0], p[1])
}
fn render_7038(p: &[&str]) -> String {
    text::event_7038(p[0], p[1], p[2])
}
fn render_7000(p: &[&str]) -> String {
    text::event_7000(p[0], p[1])
}
fn render_7024(p: &[&str]) -> String {
    text::event_7024_insertion(p[0], p[1])
}

const SCM_TEMPLATES: [ScmTemplate; 4] = [
    ScmTemplate {
        id: 7036,
        params: 2,
        render: render_7036,
    },
    ScmTemplate {
        id: 7038,
        params: 3,
        render: render_7038,
    },
    ScmTemplate {
        id: 7000,
        params: 2,
        render: render_7000,
    },
    ScmTemplate {
        id: 7024,
        params: 2,
        render: render_7024,
    },
];

fn scm_template(source: &str, id: u32) -> Option<&'static ScmTemplate> {
    if source != SCM_SOURCE {
        return None;
    }
    SCM_TEMPLATES.iter().find(|t| t.id == id)
}

/// Which insertions of an SCM event are `%%` references (by index): the error of 7038, 7000
/// and 7024.
fn reference_slot(id: u32) -> Option<usize> {
    match id {
        7038 => Some(2),
        7000 | 7024 => Some(1),
        _ => None,
    }
}

/// Resolves one insertion string as Event Viewer does: `%%N` becomes the system message of N
/// when the simulator knows it; any other `%%N`, such as 7024's ADSync keyset error
/// `%%-2145185792`, stays as it is, as Event Viewer shows a reference it cannot resolve (and as
/// the world's own 7024 text spells it, `win::text::event_7024`).
pub fn resolve(insertion: &str) -> String {
    let Some(n) = insertion
        .strip_prefix("%%")
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return insertion.to_owned();
    };
    match u32::try_from(n) {
        Ok(code) if REFERENCED_CODES.contains(&code) => win32::message(code).to_owned(),
        _ => insertion.to_owned(),
    }
}

/// The reverse of [`resolve`]: the `%%N` reference Windows stores for a resolved text, or the
/// text itself when it is not a known system message.
fn reference(resolved: &str) -> String {
    REFERENCED_CODES
        .iter()
        .find(|c| win32::message(**c) == resolved)
        .map_or_else(|| resolved.to_owned(), |c| format!("%%{c}"))
}

/// The text of an event from its provider, id and insertion strings; `None` when the simulator
/// has no template for it (the caller then uses the rendered text the bundle carries, if any).
pub fn render(source: &str, id: u32, insertions: &[String]) -> Option<String> {
    if let Some(t) = scm_template(source, id) {
        if insertions.len() < t.params {
            return None;
        }
        let resolved: Vec<String> = insertions[..t.params].iter().map(|s| resolve(s)).collect();
        let refs: Vec<&str> = resolved.iter().map(String::as_str).collect();
        return Some((t.render)(&refs));
    }
    if source == SCM_SOURCE {
        return None;
    }
    // The engine's events: one insertion holding the whole text.
    match insertions {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Markers that stand for the insertions while a template is split into its literal parts.
const MARKERS: [&str; 3] = [
    "\u{E000}1\u{E000}",
    "\u{E000}2\u{E000}",
    "\u{E000}3\u{E000}",
];

/// The insertion strings Windows stores for an event the simulator wrote as text: the inverse
/// of [`render`]. For an event without a template, the whole text is one insertion.
pub fn insertions(source: &str, id: u32, message: &str) -> Vec<String> {
    let Some(t) = scm_template(source, id) else {
        return vec![message.to_owned()];
    };
    let template = (t.render)(&MARKERS[..t.params]);
    let Some(mut parts) = split_by_markers(&template, t.params) else {
        return vec![message.to_owned()];
    };
    let Some(mut rest) = message.strip_prefix(parts.remove(0)) else {
        return vec![message.to_owned()];
    };
    let mut out = Vec::with_capacity(t.params);
    for (i, lit) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let end = if last {
            if !rest.ends_with(lit) {
                return vec![message.to_owned()];
            }
            rest.len() - lit.len()
        } else {
            match rest.find(lit) {
                Some(e) => e,
                None => return vec![message.to_owned()],
            }
        };
        out.push(rest[..end].to_owned());
        rest = &rest[end + lit.len()..];
    }
    if let Some(slot) = reference_slot(id)
        && let Some(v) = out.get_mut(slot)
    {
        *v = reference(v);
    }
    out
}

/// The literal parts of a template around `n` markers, in order; `None` when the markers are
/// not each present once and in order.
fn split_by_markers(template: &str, n: usize) -> Option<Vec<&str>> {
    let mut parts = Vec::with_capacity(n + 1);
    let mut rest = template;
    for m in &MARKERS[..n] {
        let (before, after) = rest.split_once(m)?;
        parts.push(before);
        rest = after;
    }
    parts.push(rest);
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adsync::text::KEYSET_SERVICE_EXIT_CODE;

    #[test]
    fn event_7038_splits_into_service_account_and_the_1326_reference() {
        let msg = text::event_7038(
            "ADSync",
            "CONTOSO\\AAD_1",
            win32::message(win32::LOGON_FAILURE),
        );
        let ins = insertions(SCM_SOURCE, 7038, &msg);
        assert_eq!(ins, ["ADSync", "CONTOSO\\AAD_1", "%%1326"]);
        assert_eq!(
            render(SCM_SOURCE, 7038, &ins).as_deref(),
            Some(msg.as_str())
        );
    }

    #[test]
    fn event_7000_carries_1069_and_7024_the_keyset_error() {
        let msg = text::event_7000(
            "Microsoft Azure AD Sync",
            win32::message(win32::SERVICE_LOGON_FAILED),
        );
        let ins = insertions(SCM_SOURCE, 7000, &msg);
        assert_eq!(ins, ["Microsoft Azure AD Sync", "%%1069"]);
        assert_eq!(
            render(SCM_SOURCE, 7000, &ins).as_deref(),
            Some(msg.as_str())
        );
        let msg = text::event_7024("Microsoft Azure AD Sync", KEYSET_SERVICE_EXIT_CODE);
        let ins = insertions(SCM_SOURCE, 7024, &msg);
        assert_eq!(ins, ["Microsoft Azure AD Sync", "%%-2145185792"]);
        assert_eq!(
            render(SCM_SOURCE, 7024, &ins).as_deref(),
            Some(msg.as_str())
        );
    }

    #[test]
    fn unknown_references_stay_as_event_viewer_shows_them() {
        assert_eq!(resolve("%%12345"), "%%12345");
        assert_eq!(resolve("%%x"), "%%x");
        assert_eq!(resolve("%%-2145185792"), "%%-2145185792");
        assert_eq!(resolve("%%-2145185792"), "%%-2145185792");
    }

    #[test]
    fn engine_events_are_one_insertion() {
        let ins = insertions(
            "ADSync",
            6028,
            "The server encryption key cannot be accessed.",
        );
        assert_eq!(ins.len(), 1);
        assert_eq!(
            render("ADSync", 6028, &ins).as_deref(),
            Some(ins[0].as_str())
        );
        assert_eq!(render(SCM_SOURCE, 7045, &ins), None);
    }
}
