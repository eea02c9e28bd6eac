//! Shell completions and manual pages, generated from the same clap grammar the binary parses
//! ([`crate::cli::Cli`]), so they never drift from it: `completions SHELL` with clap_complete,
//! `man [--out DIR]` with clap_mangen.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::output::Outcome;

/// The binary's name, as installed and as the scripts complete it.
const BIN: &str = "adsync-sim";

/// `completions SHELL`: the script on standard output.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut out);
    Ok(Outcome {
        raw: Some(out),
        ..Outcome::default()
    })
}

/// `man`: adsync-sim(1) on standard output; `man --out DIR`: every page into DIR.
pub fn man(args: &ManArgs) -> anyhow::Result<Outcome> {
    let cmd = Cli::command();
    match &args.out {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            Ok(Outcome {
                raw: Some(out),
                ..Outcome::default()
            })
        }
        Some(dir) => write_pages(cmd, dir),
    }
}

fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(BIN) && n.ends_with(".1"))
        .collect();
    pages.sort();
    Ok(Outcome {
        human: format!(
            "wrote {} manual pages into {}\n",
            pages.len(),
            dir.display()
        ),
        json: serde_json::json!({ "dir": dir.display().to_string(), "pages": pages }),
        ..Outcome::default()
    })
}
