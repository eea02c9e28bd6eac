//! `collect --script | --out DIR` and reading an evidence bundle's folder for
//! `diagnose --evidence DIR` (docs/design.md §8). Only the bundle's known files are read, each within
//! its named size limit (`sim_core::evidence::max_bytes`); anything but a regular file where a
//! bundle file belongs is refused, so a hostile folder cannot point the reader elsewhere.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::json;
use sim_core::evidence::{self, Bundle};

use crate::cli::CollectArgs;
use crate::output::Outcome;

/// Reads the files of the bundle in `dir`.
pub fn read_bundle(dir: &Path) -> Result<Bundle> {
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("the evidence bundle {}", dir.display()))?;
    if !meta.is_dir() {
        if dir
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            bail!(
                "{} is a zip: unpack it (Expand-Archive, unzip) and give the folder",
                dir.display()
            );
        }
        bail!(
            "{} is not a folder: give the bundle's folder",
            dir.display()
        );
    }
    // Binary event logs (.evtx) are not read (README, known gaps): say how to convert them.
    for log in ["System", "Application"] {
        let evtx = dir.join(format!("events/{log}.evtx"));
        if evtx.exists() && !dir.join(format!("events/{log}.xml")).exists() {
            bail!(
                "{} is a binary event log, which adsync-sim does not read; convert it on any Windows machine with: wevtutil qe {log}.evtx /lf:true /f:xml > {log}.xml (or collect with `adsync-sim collect --script`)",
                evtx.display()
            );
        }
    }
    let mut bundle = Bundle::default();
    for rel in evidence::FILES {
        let path = dir.join(rel);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if !meta.file_type().is_file() {
            bail!(
                "{} is not a regular file (a link or a folder); an evidence bundle holds plain files",
                path.display()
            );
        }
        let limit = evidence::max_bytes(rel);
        if meta.len() > limit as u64 {
            bail!(
                "{} is larger than {limit} bytes; an evidence file of that size is not one the collection writes",
                path.display()
            );
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .with_context(|| format!("opening {}", path.display()))?
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        if bytes.len() > limit {
            bail!(
                "{} grew beyond {limit} bytes while being read",
                path.display()
            );
        }
        bundle.put(rel, bytes);
    }
    Ok(bundle)
}

/// Writes a bundle into `dir`, which must be new or empty (`collect --out`, Windows only).
#[cfg_attr(not(all(windows, feature = "windows")), allow(dead_code))]
pub fn write_bundle(dir: &Path, bundle: &Bundle) -> Result<Vec<String>> {
    if dir.exists()
        && dir
            .read_dir()
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; collect writes into a new or empty folder",
            dir.display()
        );
    }
    if !dir.exists() {
        sim_store::private_fs::ensure_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    // Created exclusively and privately, never through a symbolic link, like `export`.
    let tree = sim_store::private_fs::Tree::open(dir)
        .with_context(|| format!("opening {}", dir.display()))?;
    let mut written = Vec::new();
    for (path, bytes) in &bundle.files {
        tree.write(path, bytes)?;
        written.push(path.clone());
    }
    Ok(written)
}

/// `adsync-sim collect`.
pub fn collect(args: &CollectArgs) -> Result<Outcome> {
    if args.script {
        let script = evidence::script::collect_script();
        return Ok(Outcome {
            json: json!({ "script": script }),
            raw: Some(script.as_bytes().to_vec()),
            human: script,
            result_code: 0,
        });
    }
    let Some(out) = &args.out else {
        bail!(
            "collect needs --script (print the PowerShell to run on the server) or --out DIR (collect on this Windows server)"
        );
    };
    crate::windows_cmd::collect_local(out)
}
