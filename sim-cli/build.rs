//! Records the version `--version` prints: the package version, plus the git revision when the
//! binary is built from a git checkout (`cargo install --path sim-cli` in a clone). A build from
//! a source archive without git prints the package version alone.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let rev = git(&["rev-parse", "--short=10", "HEAD"]);
    // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        let head = dir.join("HEAD");
        println!("cargo:rerun-if-changed={}", head.display());
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"]).map_or(dir.clone(), PathBuf::from);
            println!(
                "cargo:rerun-if-changed={}",
                common.join(&reference).display()
            );
            println!(
                "cargo:rerun-if-changed={}",
                common.join("packed-refs").display()
            );
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    match rev {
        Some(rev) => println!("cargo:rustc-env=ADSYNC_SIM_VERSION={version} (git {rev})"),
        None => println!("cargo:rustc-env=ADSYNC_SIM_VERSION={version}"),
    }
}
