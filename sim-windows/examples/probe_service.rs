//! The keyset probe's service side alone, for the Wine smoke tests: `probe_service NAME KEYSET`
//! hands the process to the SCM as service NAME (what `adsync-sim probe-service run --name NAME
//! --keyset KEYSET` does, without building the CLI).

fn main() {
    #[cfg(windows)]
    {
        let arg = |i| std::env::args().nth(i).unwrap_or_default();
        if let Err(e) = sim_windows::probe::run(&arg(1), std::path::Path::new(&arg(2))) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
