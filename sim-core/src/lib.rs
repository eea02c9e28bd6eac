//! `sim_core`: the adsync-sim world and its rules.
//!
//! This crate holds everything the simulator knows about the Windows server that Azure AD Connect
//! (Microsoft Entra Connect Sync) runs on. It does no I/O of its own: callers hand it bytes and get
//! bytes back.
//!
//! - [`dpapi`]: Windows DPAPI in its real byte formats (master key files, `Preferred`, `CREDHIST`,
//!   blobs, credential files), the DPAPI key derivations, and the CryptProtectData /
//!   CryptUnprotectData semantics over a principal's key store.
//! - [`filetime`]: Windows `FILETIME`, the clock unit of every artefact.
#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub mod adsync;
pub mod backend;
pub mod cloud;
pub mod command;
pub mod dpapi;
pub mod evidence;
pub mod explore;
pub mod filetime;
pub mod lab;
pub mod probe;
pub mod remedy;
pub mod scenario;
pub mod seal;
pub mod store;
pub mod timeline;
pub mod win;
pub mod world;
