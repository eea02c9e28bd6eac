//! The bounds on input, each with its reason: what the front ends read from files, standard
//! input and folders, and what one scenario may ask for. Input past a bound is refused by name
//! before it is kept, so memory stays proportional to what is kept, not to what was offered.

/// A DPAPI blob or a Credential Manager file (`dpapi unprotect`), and the data `dpapi protect`
/// reads. Real blobs are small: ADSync's keyset blob is a few hundred bytes, a Credential
/// Manager file holds at most `CRED_MAX_CREDENTIAL_BLOB_SIZE` (5 × 512 bytes) of secret plus its
/// attributes, and CryptProtectData is meant for secrets, not documents. 1 MiB keeps every real
/// blob and whole small files while bounding what a mistaken path (`/dev/zero`, a disk image)
/// can cost.
pub const MAX_BLOB_BYTES: u64 = 1 << 20;

/// A master key file. Windows writes 468 to about 900 bytes (header, master key, backup key,
/// CREDHIST GUID, domain key of a 2048-bit RSA backup key); 64 KiB is far above any of them.
pub const MAX_MASTERKEY_FILE_BYTES: u64 = 64 << 10;

/// A CREDHIST file. Each password change appends one entry of about 160 bytes; 4 MiB holds more
/// than 25,000 changes (a password changed daily for seventy years).
pub const MAX_CREDHIST_BYTES: u64 = 4 << 20;

/// A scenario or lab file (TOML). The catalogue's largest is under 10 KiB; 1 MiB leaves room
/// for recorded and generated scenarios of thousands of steps.
pub const MAX_TOML_BYTES: u64 = 1 << 20;

/// A password read from standard input or a file (`--password-stdin`, `--password-file`).
/// Windows limits a password to `PWLEN` = 256 characters; 1,024 bytes hold 256 characters of
/// UTF-8 at up to four bytes each.
pub const MAX_PASSWORD_BYTES: u64 = 1024;

/// Steps in one scenario (and lines of a lab's solution, break and objectives together). Each
/// step runs a command and keeps its report; 10,000 is far above any runbook (the catalogue's
/// longest has fewer than 30) and keeps a run's memory in megabytes.
pub const MAX_STEPS_PER_SCENARIO: usize = 10_000;

/// Scenario or lab files found under the folders of one run. The catalogue has a few dozen;
/// 10,000 bounds a mistaken path (a home directory) instead of walking it all.
pub const MAX_SCENARIO_FILES: usize = 10_000;

/// Entries read from one folder while looking for scenario or lab files: bounds the time spent
/// on a folder that is not a scenario folder.
pub const MAX_ENTRIES_PER_FOLDER: usize = 10_000;

/// Folder depth below a scenario path. The catalogue is two levels deep; 32 bounds the walk of
/// a deep tree without refusing any sensible layout.
pub const MAX_FOLDER_DEPTH: usize = 32;
