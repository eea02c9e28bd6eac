//! `sim_windows`: adsync-sim's Windows backend (docs/design.md §7).
//!
//! [`WindowsHost`] implements `sim_core::backend::Host` with the real calls: DPAPI
//! (CryptProtectData / CryptUnprotectData, as the caller or as another account through
//! LogonUserW + ImpersonateLoggedOnUser), the Service Control Manager, local accounts
//! (NetUserAdd, NetUserSetInfo, NetUserChangePassword, NetUserDel) and the event log (EvtQuery,
//! ReportEventW). Win32 failures become `HostError::Win32` with the system's message and the
//! same result codes the simulator's outcomes carry, so the two compare step by step
//! ([`parity`]). [`probe`] is the keyset probe as a real service. [`collect`] gathers the
//! evidence bundle of docs/design.md §8 natively and read-only, and [`live`] is the host
//! `remediate --host local` drives: reads through that collection, commands through
//! [`WindowsHost`].
//!
//! Everything but [`wide`] is Windows-only: on other targets the crate is (almost) empty, and
//! `adsync-sim` says that its Windows verbs need Windows. All unsafe code of the workspace lives
//! here, one small commented block per call.
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub mod wide;

#[cfg(windows)]
mod ffi;

#[cfg(windows)]
pub mod accounts;
#[cfg(windows)]
pub mod collect;
#[cfg(windows)]
pub mod dpapi;
#[cfg(windows)]
pub mod error;
#[cfg(windows)]
pub mod events;
#[cfg(windows)]
mod host;
#[cfg(windows)]
pub mod live;
#[cfg(windows)]
pub mod parity;
#[cfg(windows)]
pub mod probe;
#[cfg(windows)]
pub mod scm;

#[cfg(windows)]
pub use ffi::is_wine;
#[cfg(windows)]
pub use host::WindowsHost;

/// Whether this build can drive Windows (a Windows target); the CLI's Windows verbs say so when
/// it cannot.
pub const AVAILABLE: bool = cfg!(windows);

/// The environment variable that arms the parity suite against the real host.
pub const REAL_WINDOWS_ENV: &str = "ADSYNC_SIM_REAL_WINDOWS";
