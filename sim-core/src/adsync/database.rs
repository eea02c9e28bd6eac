//! The engine's database login: the sync engine opens its database (`(localdb)\.\ADSync` on
//! 1.x, `(localdb)\.\ADSync2019` on 2.x, or a full SQL Server) with the service account's
//! Windows login, which the install created.
//!
//! Follows `docs/adsync.md` §1 (the LocalDB instance is the service account's; with a full SQL
//! Server "the service account owns the ADSync database (DBO) and has a SQL login", DOC) and §4
//! F10 (an account switched after installation loses "access to the synchronization database",
//! DOC: Microsoft Learn, 'ADSync service account',
//! https://learn.microsoft.com/entra/identity/hybrid/connect/concept-adsync-service-account).
//! What the engine writes when the login fails is not documented: the simulator stops it with
//! SQL Server's "Login failed" error number as the service-specific code (INF, named below) and
//! writes no engine event.

use crate::win::scm::ServiceFailure;

/// The service-specific exit code of an engine whose database login failed. Named choice
/// (INF): SQL Server's error 18456, "Login failed for user '%.*ls'." (Microsoft Learn,
/// "MSSQLSERVER_18456",
/// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error);
/// no source shows the code ADSync itself stops with.
pub const DATABASE_LOGIN_EXIT_CODE: u32 = 18456;

/// The stop of an engine that could not log on to its database.
pub fn login_failed() -> ServiceFailure {
    ServiceFailure {
        code: DATABASE_LOGIN_EXIT_CODE,
        code_text: DATABASE_LOGIN_EXIT_CODE.to_string(),
    }
}
