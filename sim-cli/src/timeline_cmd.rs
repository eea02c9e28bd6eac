//! `timeline [--out FILE] [--scenario FILE]`: the journal of the world in the state directory,
//! or of a scenario run, drawn as SVG (`sim_core::timeline`); `--format html` gives one
//! self-contained page and `--format json` the journal itself.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use sim_core::scenario::{Scenario, run_scenario};
use sim_core::timeline::{self, Entry};
use sim_store::StateDir;

use crate::cli::{Format, TimelineArgs};
use crate::output::Outcome;

/// Runs `timeline`.
pub fn run(state: &Path, format: Format, a: TimelineArgs) -> Result<Outcome> {
    let (title, entries) = match &a.scenario {
        Some(file) => {
            let name = file.display().to_string();
            let text = crate::input::read_text_bounded(
                file,
                sim_core::limits::MAX_TOML_BYTES,
                "MAX_TOML_BYTES",
                "scenario file",
            )?;
            let scenario = Scenario::parse(&name, &text)?;
            let report = run_scenario(&name, &scenario, None)?;
            (format!("Scenario {}", scenario.name), report.journal)
        }
        None => {
            let dir = StateDir::open(state)?;
            let title = match dir.lab()? {
                Some(l) => format!("AADCONNECT01, lab {}", l.name),
                None => "AADCONNECT01".to_owned(),
            };
            (title, dir.journal()?)
        }
    };
    let events: usize = entries.iter().map(|e| e.events.len()).sum();
    let body = match format {
        Format::Html => timeline::html(&title, &entries),
        Format::Json | Format::Junit => {
            format!("{}\n", json!({ "title": title, "journal": entries }))
        }
        Format::Human => timeline::svg(&title, &entries),
    };
    let summary = summary(&entries, events);
    match &a.out {
        Some(path) => {
            std::fs::write(path, body.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(Outcome {
                human: format!("Wrote {}: {summary}.", path.display()),
                json: json!({ "out": path.display().to_string(), "commands": entries.len(), "events": events }),
                raw: Some(format!("Wrote {}: {summary}.\n", path.display()).into_bytes()),
                result_code: 0,
            })
        }
        None if matches!(format, Format::Json | Format::Junit) => Ok(Outcome {
            human: String::new(),
            json: json!({ "title": title, "journal": entries }),
            raw: None,
            result_code: 0,
        }),
        None => Ok(Outcome {
            human: String::new(),
            json: json!({}),
            raw: Some(body.into_bytes()),
            result_code: 0,
        }),
    }
}

fn summary(entries: &[Entry], events: usize) -> String {
    format!("{} commands, {events} events", entries.len())
}
