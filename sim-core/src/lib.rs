//! `sim_core`: the adsync-sim world and its rules.
//!
//! This crate holds everything the simulator knows about the Windows server that Azure AD Connect
//! (Microsoft Entra Connect Sync) runs on. It does no I/O of its own (the one
//! exception: a new sealing key asks the OS for random bytes): callers hand it bytes and get bytes
//! back, and `sim_store` keeps a world on disk. `docs/design.md` gives the architecture;
//! [`sources`] lists the public articles it reproduces.
//!
//! - [`dpapi`]: Windows DPAPI in its real byte formats (master key files, `Preferred`, `CREDHIST`,
//!   blobs, credential files), the DPAPI key derivations, and the CryptProtectData /
//!   CryptUnprotectData semantics over a principal's key store: the `sim_dpapi` crate,
//!   re-exported.
//! - [`filetime`]: Windows `FILETIME`, the clock unit of every artefact (from `sim_dpapi`).
//! - [`win`]: the emulated Windows server: accounts, LSA secrets, the Service Control Manager,
//!   the event logs and the simulated clock.
//! - [`adsync`]: the ADSync model: builds and eras, the engine behind the SCM, the keyset, the
//!   connector credentials, runs, the scheduler and the administrator's tools.
//! - [`cloud`]: the Microsoft Entra tenant and its AADSTS errors.
//! - [`probe`]: the keyset probe, the smallest program that fails the way ADSync fails.
//! - [`seal`]: the simulator's own secrets sealed at rest.
//! - [`secret`]: a typed password, redacted in `Debug` and zeroized on drop.
//! - [`command`]: the one command language of the CLI, the shell, scenarios and plans.
//! - [`world`]: the composed world, changed only through `World::exec`.
//! - [`backend`]: the `Host` trait that remediation, scenarios and parity drive.
//! - [`remedy`]: diagnosis (symptoms to the documented cause) and remediation.
//! - [`scenario`]: scenario files, their runner and reports.
//! - [`lab`]: break/fix training labs.
//! - [`timeline`]: the journal of a world and its picture.
//! - [`sources`]: the public articles the simulator cites.
//! - [`exit`]: the process exit statuses of `adsync-sim`.
#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub use sim_dpapi as dpapi;
pub use sim_dpapi::filetime;

pub mod adsync;
pub mod backend;
pub mod cloud;
pub mod command;
pub mod evidence;
pub mod exit;
pub mod lab;
pub mod limits;
pub mod probe;
pub mod remedy;
pub mod scenario;
pub mod seal;
pub mod secret;
pub mod sources;
pub mod timeline;
pub mod win;
pub mod world;
