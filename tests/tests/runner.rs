//! The one integration test binary: every test module is listed here.

mod cli_dpapi;
mod cli_world;
mod oracles;
mod properties;
mod vectors;
mod world_properties;
