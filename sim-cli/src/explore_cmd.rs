//! `scenario explore`: the explorer of `sim_explore` on every core, with a progress bar on
//! a terminal, a summary (human or JSON: `cases`, `seed`, `failures`), and shrunk failures
//! written as scenario files.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sim_explore::{self as explore, ExploreOptions};

use crate::cli::{ExploreArgs, Format};
use crate::output::Outcome;

/// Parses `I/N` (1-based) into a 0-based shard and the count.
fn shard(s: Option<&str>) -> Result<(u64, u64)> {
    let Some(s) = s else { return Ok((0, 1)) };
    let parsed = s
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok((i - 1, n)),
        _ => bail!("--shard must be I/N with 1 <= I <= N (e.g. 2/4); got '{s}'"),
    }
}

/// Runs the explorer; `--format` is applied by the caller (human summary or the JSON document).
pub fn run(_format: Format, a: &ExploreArgs) -> Result<Outcome> {
    if a.steps == 0 || a.steps > 200 {
        bail!("--steps must be from 1 to 200; got {}", a.steps);
    }
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64 % 1_000_000_000)
    });
    let o = ExploreOptions {
        cases: a.cases,
        seed,
        steps: a.steps,
        shard: shard(a.shard.as_deref())?,
        remediate: !a.no_remediate,
    };
    let in_shard = explore::shard_len(&o);
    let bar = ProgressBar::with_draw_target(
        Some(in_shard),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} explore seed {msg} [{bar:30}] {pos}/{len} cases, {per_sec}, {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(seed.to_string());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let started = std::time::Instant::now();
    let summary = explore::explore(&o, threads, &|| bar.inc(1));
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let mut saved = Vec::new();
    if let Some(dir) = &a.save_failures {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for f in &summary.failures {
            let path = dir.join(format!("{}.toml", f.scenario.name));
            std::fs::write(&path, f.scenario.to_toml())
                .with_context(|| format!("writing {}", path.display()))?;
            saved.push(path.display().to_string());
        }
    }
    let mut human = format!(
        "explore seed {seed}: {} cases (shard {}), {} actions, up to {} steps each, {:.1} s ({:.0} cases/s): {}",
        summary.cases,
        summary.shard,
        summary.actions,
        summary.steps,
        elapsed.as_secs_f64(),
        summary.cases as f64 / elapsed.as_secs_f64().max(1e-9),
        if summary.failures.is_empty() {
            "every invariant held".to_owned()
        } else {
            format!("{} failed", summary.failures.len())
        }
    );
    for f in &summary.failures {
        human.push_str(&format!(
            "\n\nFAIL case {} ({} build {}, {} service account): {}\n  minimal sequence:",
            f.case, f.invariant, f.build, f.service_account, f.message
        ));
        for (i, s) in f.steps.iter().enumerate() {
            human.push_str(&format!("\n    {}. {s}", i + 1));
        }
    }
    for p in &saved {
        human.push_str(&format!(
            "\nwrote {p} (replay: adsync-sim scenario run {p})"
        ));
    }
    if !summary.failures.is_empty() && a.save_failures.is_none() {
        human.push_str(&format!(
            "\nreplay: adsync-sim scenario explore --seed {seed} --cases {} --steps {} --save-failures DIR",
            a.cases, a.steps
        ));
    }
    Ok(Outcome {
        human,
        json: json!({
            "cases": summary.cases,
            "seed": seed,
            "steps": summary.steps,
            "shard": summary.shard,
            "actions": summary.actions,
            "failures": summary.failures,
            "saved": saved,
        }),
        raw: None,
        result_code: u32::from(!summary.failures.is_empty()),
    })
}
