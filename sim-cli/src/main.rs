//! `adsync-sim`: the command-line front end of the simulator.
//!
//! Parsing lives in [`cli`], each command family in its own module, and output in [`output`].
//! Exit status (docs/design.md §4): 0 on success, 1 when the command failed (its result code, such as an
//! HRESULT, is printed and is `result_code` in JSON), 2 on a usage error.

mod cli;
mod dpapi_cmd;
mod evidence_cmd;
mod explore_cmd;
mod input;
mod lab_cmd;
mod output;
mod remedy_cmd;
mod scenario_cmd;
mod shell;
mod shell_integration;
mod timeline_cmd;
mod windows_cmd;
mod world_cmd;

use std::process::ExitCode;

use clap::Parser;
use sim_core::command::REDACTED;
use sim_core::exit;

/// mimalloc instead of the C library's allocator: an exploration case clones a world and copies
/// state on every command, and glibc's malloc and free were a third of `scenario explore`'s
/// time (benches/README.md, "Exploration").
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `--version`: the package version and, when built from a git checkout, the revision
/// (`0.1.0 (git 1ff31cc)`), as `build.rs` records it.
pub const VERSION: &str = env!("ADSYNC_SIM_VERSION");

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(&e),
    };
    let format = cli.format;
    let state = cli.state.as_path();
    let result = match cli.command {
        // --- the world ---
        cli::Command::Init(a) => world_cmd::init(state, a),
        cli::Command::Export(a) => world_cmd::export(state, a),
        cli::Command::Status => world_cmd::words(state, "status", vec![]),
        cli::Command::Account(a) => world_cmd::words(state, "account", a.args),
        cli::Command::Dc(a) => world_cmd::words(state, "dc", a.args),
        cli::Command::Sc(a) => world_cmd::words(state, "sc", a.args),
        cli::Command::Events(a) => world_cmd::words(state, "events", a.args),
        cli::Command::Clock(a) => world_cmd::words(state, "clock", a.args),
        cli::Command::Miiskmu(a) => world_cmd::words(state, "miiskmu", a.args),
        cli::Command::Connector(a) => world_cmd::words(state, "connector", a.args),
        cli::Command::Sync(a) => world_cmd::words(state, "sync", a.args),
        cli::Command::Exec { line } => world_cmd::exec(state, &line),
        // --- offline tools, scenarios, runbooks ---
        cli::Command::Dpapi(cmd) => dpapi_cmd::run(cmd),
        cli::Command::Scenario(cli::ScenarioCommand::Run(a)) => scenario_cmd::run(format, a),
        cli::Command::Scenario(cli::ScenarioCommand::Explore(a)) => explore_cmd::run(format, &a),
        cli::Command::Diagnose(a) => remedy_cmd::diagnose(state, &a),
        cli::Command::Collect(a) => evidence_cmd::collect(&a),
        cli::Command::Remediate(a) => remedy_cmd::remediate(state, &a),
        // --- labs, shell, timeline ---
        cli::Command::Lab(a) => lab_cmd::run(state, a),
        cli::Command::Shell => shell::run(state, format),
        cli::Command::Timeline(a) => timeline_cmd::run(state, format, a),
        // --- Windows ---
        cli::Command::ProbeService(cmd) => windows_cmd::probe_service(cmd),
        cli::Command::Parity => windows_cmd::parity(),
        cli::Command::Completions(a) => shell_integration::completions(&a),
        cli::Command::Man(a) => shell_integration::man(&a),
    };
    output::finish(format, result)
}

/// clap's error (or help) as clap prints it, with every secret of the command line redacted:
/// the words the command language's grammar says are passwords
/// ([`input::argv_secrets`]) never appear in an error.
fn clap_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        // --help and --version: nothing typed is repeated.
        let _ = e.print();
        return ExitCode::from(exit::SUCCESS);
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut text = e.render().to_string();
    for s in input::argv_secrets(&args) {
        text = text.replace(s.as_str(), REDACTED);
    }
    eprint!("{text}");
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE))
}
