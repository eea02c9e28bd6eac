//! `adsync-sim`: the command-line front end of the simulator.
//!
//! Parsing lives in [`cli`], each command family in its own module, and output in [`output`].
//! Exit status (DESIGN §4): 0 on success, 1 when the command failed (its result code, such as an
//! HRESULT, is printed and is `result_code` in JSON), 2 on a usage error.

mod cli;
mod dpapi_cmd;
mod evidence_cmd;
mod explore_cmd;
mod lab_cmd;
mod output;
mod remedy_cmd;
mod scenario_cmd;
mod shell;
mod timeline_cmd;
mod windows_cmd;
mod world_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let format = cli.format;
    let result = match cli.command {
        cli::Command::Dpapi(cmd) => dpapi_cmd::run(cmd),
        cli::Command::Scenario(cli::ScenarioCommand::Run(a)) => scenario_cmd::run(format, a),
        cli::Command::Scenario(cli::ScenarioCommand::Explore(a)) => explore_cmd::run(format, &a),
        cli::Command::Diagnose(a) => remedy_cmd::diagnose(&cli.state, &a),
        cli::Command::Collect(a) => evidence_cmd::collect(&a),
        cli::Command::Remediate(a) => remedy_cmd::remediate(&cli.state, &a),
        // --- labs, shell, timeline ---
        cli::Command::Lab(a) => lab_cmd::run(&cli.state, a),
        cli::Command::Shell => shell::run(&cli.state, format),
        cli::Command::Timeline(a) => timeline_cmd::run(&cli.state, format, a),
        cli::Command::ProbeService(cmd) => windows_cmd::probe_service(cmd),
        cli::Command::Parity => windows_cmd::parity(),
        other => world_cmd::run(&cli.state, other),
    };
    output::finish(format, result)
}
