//! The one integration test binary: every test module is listed here.

mod adsync_codecs;
mod cli_adsync;
mod cli_dpapi;
mod cli_lab;
mod cli_remedy;
mod cli_scenario;
mod cli_shell;
mod cli_timeline;
mod cli_tools;
mod cli_world;
mod credential;
mod explore;
mod oracles;
mod properties;
mod remedy;
mod vectors;
mod windows;
mod world_properties;
