//! The one integration test binary: every test module is listed here.

mod adsync_codecs;
mod cli_adsync;
mod cli_dpapi;
mod cli_remedy;
mod cli_scenario;
mod cli_world;
mod credential;
mod oracles;
mod properties;
mod remedy;
mod vectors;
mod windows;
mod world_properties;
