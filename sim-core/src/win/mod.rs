//! The emulated Windows server: accounts and the directory, LSA secrets, the Service Control
//! Manager, the event logs and the simulated clock (docs/design.md §2 `win/`, §3).
//!
//! Each module owns one concept and keeps only what Windows keeps: password hashes, never
//! passwords; LSA secrets sealed at rest; real DPAPI bytes in every `Protect` folder.

pub mod account;
pub mod clock;
pub mod eventlog;
pub mod lsa;
pub mod names;
pub mod pstable;
pub mod scm;
pub mod text;
