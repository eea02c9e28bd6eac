//! `sim_store`: an adsync-sim world persisted in a state directory: one SQLite database in WAL mode, one transaction per
//! command, and the per-state sealing key beside it.
//!
//! docs/design.md §5: a command applies fully or not at all. A command that changes the world reads,
//! changes and writes it back inside one `BEGIN IMMEDIATE` transaction, so parallel invocations
//! serialise instead of losing updates; writers wait for each other up to [`BUSY_TIMEOUT`] and
//! then fail with one line naming the database. A reading command (`status`, `events`,
//! `account list`, `diagnose`, `timeline`, `export`…) reads in a deferred transaction, a WAL
//! snapshot that never waits for a writer, and appends its journal row in a short write
//! transaction of its own. A long `clock advance` commits in steps of at most
//! [`ADVANCE_CHUNK_SECS`] of simulated time, each one a whole world (as if the admin had typed
//! the shorter advances), so no transaction holds the database for long.
//!
//! Creating or replacing a world (`init`, `init --force`, `lab start`, `lab reset`) never deletes
//! first: the new key and database are built in a fresh private directory [`STAGING_DIR`] beside
//! the old ones and moved into place by `rename`, the key first. An interrupted replacement is
//! finished or undone by the next command: a staging directory still holding its key was never
//! swapped in and is removed; one whose key has already moved holds the new database, which is
//! moved after it. So a process killed at any moment leaves the old world or the new one. All
//! commands take the lock file [`LOCK_FILE`] (`flock`), shared; creation takes it exclusively, so
//! concurrent `init`s run one after the other (the second waits up to [`LOCK_TIMEOUT`], then
//! finds the first one's world: refused without `--force`, replaced with it) and no command
//! holds the database while it is swapped.
//!
//! Layout of `DIR` (0700; every file 0600 on Unix, see [`crate::private_fs`]): `state.db`
//! (tables `meta`, `world`, `journal`, `lab`, and the ADSync database's own
//! `mms_server_configuration` and `mms_management_agent`), `seal.key` (32 random bytes, hex: the
//! AES-256-GCM key of [`sim_core::seal`]), `state.lock`. `meta.key_check` holds a value sealed
//! under the key ([`Sealer::check_value`]), so a wrong `seal.key` is refused when the state
//! opens, before anything is read or written under it.
//!
//! The `journal` keeps one row per command: the simulated time after it, the line with passwords
//! redacted, its result code, the ADSync service's state after it and the events it wrote (what
//! `timeline` draws). `lab` holds the active lab and its progress ([`sim_core::lab::LabState`]).
//! Schema 2 and 3 databases are upgraded in place when opened (3 added the journal's `service`
//! and `events` columns and the `lab` table; 4 the key check value, verified first against the
//! sealed `DPAPI_SYSTEM` secret, and private file modes).
//!
//! The two ADSync tables keep their real names and columns (docs/design.md §5, `docs/adsync.md` §3.1), so
//! `sqlite3 state.db` answers the queries admins and tools run against the real database. They
//! are the source of truth for their columns: an edit made with `sqlite3` (as AADInternals'
//! `UPDATE mms_management_agent SET encrypted_configuration=…` does, `docs/adsync.md` §5.4) is
//! what the engine reads next.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod layout;
mod lock;
pub mod private_fs;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior, params};
use thiserror::Error;
use zeroize::Zeroizing;

use sim_core::backend::SimHost;
use sim_core::command::Command;
use sim_core::dpapi::secret::SecretBytes;
use sim_core::lab::LabState;
use sim_core::seal::{NoRandomness, Sealed, Sealer, UnsealError};
use sim_core::timeline::{Band, Entry};
use sim_core::win::account::GMSA_ROTATION_DAYS;
use sim_core::world::{Outcome, World, WorldError};

use layout::{Existing, classify, read_key, recover, restrict_all, retire_wal};
use lock::Lock;
pub use schema::adsync_database_bytes;
use schema::{
    Created, Progress, configure, journal_insert, migrate, read_lab, read_world, verify_key,
    write_adsync_tables, write_lab, write_new_database,
};

/// The database file.
pub const DB_FILE: &str = "state.db";
/// The sealing key file.
pub const KEY_FILE: &str = "seal.key";
/// The lock file every command holds (shared) and creation holds exclusively.
pub const LOCK_FILE: &str = "state.lock";
/// Where a new world is built before it is moved into place.
pub const STAGING_DIR: &str = "state.new";
/// SQLite's companion files in WAL mode.
const WAL_FILES: [&str; 2] = ["state.db-wal", "state.db-shm"];
/// The value of `meta.product`, which marks a database as ours.
const PRODUCT: &str = "adsync-sim";
/// Schema version of the tables: 3 added the journal's `service` and `events` columns and the
/// `lab` table; 4 the key check value (`meta.key_check`).
const SCHEMA_VERSION: i64 = 4;
/// How long a writer waits for another one holding the database before it gives up with one
/// line. Long enough for any single step of the simulator (a gMSA rotation at ten million KDF
/// rounds takes seconds; clock advances commit in chunks), short enough that a stuck process is
/// reported rather than waited on forever.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a command waits for the lock file while a world is created or replaced (the same
/// bound as [`BUSY_TIMEOUT`], for the same reason).
pub const LOCK_TIMEOUT: Duration = BUSY_TIMEOUT;
/// The most simulated time one transaction of `clock advance` covers: the gMSA rotation period,
/// so a transaction rotates each managed password at most once and runs at most 1,440
/// scheduled sync cycles (30 days of 30-minute cycles).
pub const ADVANCE_CHUNK_SECS: u64 = GMSA_ROTATION_DAYS * 86_400;

/// How long `clock advance` lets go of the database between two chunks: longer than the
/// longest sleep of SQLite's busy handler (100 ms), so a command waiting for the database gets it
/// between chunks instead of the next chunk taking it back at once.
pub const CHUNK_PAUSE: Duration = Duration::from_millis(250);

/// What went wrong with a state directory.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No world has been created in the directory.
    #[error("no world in {dir}: run `adsync-sim init` first (or pass --state DIR)")]
    NoWorld {
        /// The state directory.
        dir: PathBuf,
    },
    /// A world already exists and `--force` was not given.
    #[error("{file} already holds a world; pass --force to replace it")]
    Exists {
        /// The existing database.
        file: PathBuf,
    },
    /// A file in the directory is not what the simulator wrote.
    #[error("{file} is not an adsync-sim state file: {reason}; it was left untouched")]
    Foreign {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The sealing key is not the one the state was sealed with.
    #[error(
        "{file} is not the key this world was sealed with (the key check value in {db} does not open under it); nothing was read or changed: put back the seal.key that belongs to this state.db, or replace the world with `init --force`"
    )]
    WrongKey {
        /// The key file.
        file: PathBuf,
        /// The database.
        db: PathBuf,
    },
    /// Another command held the database for longer than [`BUSY_TIMEOUT`].
    #[error(
        "{file} is busy: another adsync-sim command held it for {} s; nothing was changed, try again when it has finished",
        BUSY_TIMEOUT.as_secs()
    )]
    Busy {
        /// The database.
        file: PathBuf,
    },
    /// Another command held the lock file for longer than [`LOCK_TIMEOUT`].
    #[error(
        "{file}: another adsync-sim command is creating or using this world and did not finish within {} s; nothing was changed, try again when it has finished",
        LOCK_TIMEOUT.as_secs()
    )]
    Locked {
        /// The lock file.
        file: PathBuf,
    },
    /// A filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A database error.
    #[error("{file}: {}", one_line(source))]
    Sqlite {
        /// The database.
        file: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// A value could not be encoded as JSON for the database.
    #[error("{what} could not be encoded as JSON: {reason}")]
    Encode {
        /// What was being written (`the world`, `the events`, `the lab`, `the key check`).
        what: &'static str,
        /// The encoder's reason.
        reason: String,
    },
    /// The world refused the command or is damaged.
    #[error(transparent)]
    World(#[from] WorldError),
    /// A lab could not be started.
    #[error(transparent)]
    Lab(#[from] sim_core::lab::LabError),
    /// A sealed value in the state does not open.
    #[error(transparent)]
    Unseal(#[from] sim_core::seal::UnsealError),
    /// No randomness for a new key or the sealing nonces.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
}

impl StoreError {
    /// What to do instead, apart from the message, when the world's error has one answer
    /// ([`WorldError::hint`]).
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::World(e) => e.hint(),
            _ => None,
        }
    }
}

/// The first line of a database error (SQLite's errors may quote a whole statement).
fn one_line(e: &rusqlite::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// An open state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    // Declared before the lock: the connection closes before the lock is released.
    conn: Connection,
    sealer: Sealer,
    _lock: Lock,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sql(file: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            file: file.to_owned(),
        },
        _ => StoreError::Sqlite {
            file: file.to_owned(),
            source,
        },
    }
}

impl StateDir {
    /// Creates a world in `dir` with a fresh sealing key. Refuses to replace an existing world
    /// unless `force`; never replaces another program's database.
    pub fn create<F>(dir: &Path, force: bool, build: F) -> Result<(Self, Outcome), StoreError>
    where
        F: FnOnce(Sealer) -> Result<(World, Outcome), WorldError>,
    {
        Self::create_with(dir, force, |sealer| {
            let (world, outcome) = build(sealer)?;
            Ok((world, outcome, "init".to_owned(), None))
        })
    }

    /// [`StateDir::create`] with the journal's first line and a lab (`lab start`) given by
    /// `build`, all written in the one transaction that creates the database. The new world is
    /// built beside the old one and moved into place (see the module's documentation); with
    /// `force`, a broken state (an empty or garbage `state.db`, a missing or wrong `seal.key`)
    /// is replaced too.
    pub fn create_with<F>(dir: &Path, force: bool, build: F) -> Result<(Self, Outcome), StoreError>
    where
        F: FnOnce(Sealer) -> Result<Created, StoreError>,
    {
        private_fs::ensure_private_dir(dir).map_err(io(dir))?;
        let lock = Lock::take(dir, true)?;
        recover(dir)?;
        let db = dir.join(DB_FILE);
        // A key without a database is a leftover of an interrupted older version: replaced.
        if private_fs::exists(&db) {
            if !force {
                return Err(StoreError::Exists { file: db });
            }
            if let Existing::Foreign(e) = classify(dir) {
                return Err(e);
            }
        }
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *key).map_err(|e| NoRandomness(e.to_string()))?;
        let sealer = Sealer::new(*key)?;
        let created = build(sealer.clone())?;
        let outcome = created.1.clone();

        // Build: a fresh private directory, the key first, then the whole database.
        let staging = dir.join(STAGING_DIR);
        private_fs::create_dir(&staging).map_err(io(&staging))?;
        let built = (|| {
            let key_path = staging.join(KEY_FILE);
            private_fs::write_new(&key_path, hex::encode(*key).as_bytes())
                .map_err(io(&key_path))?;
            write_new_database(&staging.join(DB_FILE), &sealer, &created)?;
            private_fs::sync_dir(&staging).map_err(io(&staging))
        })();
        if let Err(e) = built {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        // Swap: the old log goes, then the key and the database move over the old ones. A kill
        // between the two renames is finished by `recover`.
        retire_wal(dir)?;
        let key_path = dir.join(KEY_FILE);
        std::fs::rename(staging.join(KEY_FILE), &key_path).map_err(io(&key_path))?;
        private_fs::sync_dir(dir).map_err(io(dir))?;
        std::fs::rename(staging.join(DB_FILE), &db).map_err(io(&db))?;
        private_fs::sync_dir(dir).map_err(io(dir))?;
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        restrict_all(dir)?;
        Ok((Self::open_locked(dir, lock)?, outcome))
    }

    /// Opens an existing state directory, checking that its files are ours and that the key is
    /// the one the state was sealed with.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let no_world = || StoreError::NoWorld {
            dir: dir.to_owned(),
        };
        if !dir.join(DB_FILE).is_file() && !private_fs::exists(&dir.join(STAGING_DIR)) {
            return Err(no_world());
        }
        loop {
            let shared = Lock::take(dir, false)?;
            if !private_fs::exists(&dir.join(STAGING_DIR)) {
                if !dir.join(DB_FILE).is_file() {
                    return Err(no_world());
                }
                return Self::open_locked(dir, shared);
            }
            // A replacement was interrupted: finish or undo it first.
            drop(shared);
            let exclusive = Lock::take(dir, true)?;
            recover(dir)?;
            drop(exclusive);
        }
    }

    fn open_locked(dir: &Path, lock: Lock) -> Result<Self, StoreError> {
        let db = dir.join(DB_FILE);
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .map_err(|e| StoreError::Foreign {
            file: db.clone(),
            reason: one_line(&e),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(&db))?;
        let product: Result<String, _> =
            conn.query_row("SELECT value FROM meta WHERE key = 'product'", [], |r| {
                r.get(0)
            });
        match product {
            Ok(p) if p == PRODUCT => {}
            Ok(p) => {
                return Err(StoreError::Foreign {
                    file: db,
                    reason: format!("it belongs to '{p}'"),
                });
            }
            Err(e) => {
                return Err(StoreError::Foreign {
                    file: db,
                    reason: one_line(&e),
                });
            }
        }
        let sealer = read_key(dir)?;
        verify_key(&conn, dir, &sealer)?;
        configure(&conn, &db)?;
        let mut conn = conn;
        migrate(&mut conn, dir, &sealer)?;
        Ok(Self {
            dir: dir.to_owned(),
            conn,
            sealer,
            _lock: lock,
        })
    }

    fn db(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    /// Loads the world (in a read transaction: a consistent snapshot that waits for no writer).
    pub fn load(&self) -> Result<World, StoreError> {
        let db = self.db();
        let tx = self.conn.unchecked_transaction().map_err(sql(&db))?;
        read_world(&tx, &db, &self.sealer)
    }

    /// Runs one command: the world is read, changed and written back, and the command is
    /// journaled (with passwords redacted), or nothing changes at all.
    pub fn exec(&mut self, command: &Command) -> Result<Outcome, StoreError> {
        self.exec_with(command, &mut |_, _| {})
    }

    /// [`StateDir::exec`], telling `progress` how a long `clock advance` is getting on.
    pub fn exec_with(
        &mut self,
        command: &Command,
        progress: Progress<'_>,
    ) -> Result<Outcome, StoreError> {
        match command {
            Command::ClockAdvance { secs } if *secs > ADVANCE_CHUNK_SECS => {
                self.advance_in_chunks(*secs, progress)
            }
            c if !c.mutates() => self.exec_read(c),
            c => self.exec_write(c),
        }
    }

    /// A command that changes the world: one `BEGIN IMMEDIATE` transaction.
    fn exec_write(&mut self, command: &Command) -> Result<Outcome, StoreError> {
        let db = self.db();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&db))?;
        let mut world = read_world(&tx, &db, &self.sealer)?;
        let outcome = world.exec(command)?;
        let new = serde_json::to_string(world.state()).map_err(|e| StoreError::Encode {
            what: "the world",
            reason: e.to_string(),
        })?;
        tx.execute("UPDATE world SET state = ?1 WHERE id = 1", params![new])
            .map_err(sql(&db))?;
        write_adsync_tables(&tx, &db, &world)?;
        journal_insert(
            &tx,
            &db,
            &world,
            &command.redacted(),
            outcome.code,
            &outcome.events,
        )?;
        tx.commit().map_err(sql(&db))?;
        Ok(outcome)
    }

    /// A reading command: a read transaction (a WAL snapshot, which never waits), then its
    /// journal row in a short write transaction of its own.
    fn exec_read(&mut self, command: &Command) -> Result<Outcome, StoreError> {
        let db = self.db();
        let (world, outcome) = {
            let tx = self.conn.unchecked_transaction().map_err(sql(&db))?;
            let mut world = read_world(&tx, &db, &self.sealer)?;
            let outcome = world.exec(command)?;
            (world, outcome)
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&db))?;
        journal_insert(
            &tx,
            &db,
            &world,
            &command.redacted(),
            outcome.code,
            &outcome.events,
        )?;
        tx.commit().map_err(sql(&db))?;
        Ok(outcome)
    }

    /// `clock advance` longer than [`ADVANCE_CHUNK_SECS`]: checked whole first (the clock's
    /// maximum, the cycles one command may run), then committed chunk by chunk, each chunk a
    /// journaled advance of its own, so a kill leaves the world at a chunk's end and readers and
    /// writers wait at most one chunk.
    fn advance_in_chunks(
        &mut self,
        secs: u64,
        progress: Progress<'_>,
    ) -> Result<Outcome, StoreError> {
        self.load()?.check_advance(secs)?;
        let mut done = 0u64;
        let mut cycles = 0u64;
        let mut merged = Outcome::default();
        progress(0, secs);
        while done < secs {
            let step = (secs - done).min(ADVANCE_CHUNK_SECS);
            let o = self.exec_write(&Command::ClockAdvance { secs: step })?;
            done += step;
            cycles += o.json["sync_cycles"].as_u64().unwrap_or(0);
            merged.code = o.code;
            merged.json = o.json;
            // Each chunk's events are in its journal row; the merged outcome keeps the last
            // chunk's only, so memory follows one chunk, not the whole advance.
            merged.events = o.events;
            progress(done, secs);
            if done < secs {
                std::thread::sleep(CHUNK_PAUSE);
            }
        }
        merged.json["sync_cycles"] = serde_json::json!(cycles);
        let clock = merged.json["clock"].as_str().unwrap_or_default().to_owned();
        merged.text = format!("Clock is now {clock}");
        if cycles > 0 {
            merged
                .text
                .push_str(&format!("\n{cycles} scheduled sync cycle(s) ran."));
        }
        Ok(merged)
    }

    /// Runs `f` on the world through a [`SimHost`] (`diagnose`, `remediate`): with `write`, as
    /// one write transaction in which every command it ran is journaled (passwords redacted) and
    /// the changed world is written back; when `f` fails, or `write` is false, nothing changes
    /// and the world is read in a read transaction that waits for no writer.
    pub fn with_host<T, E>(
        &mut self,
        write: bool,
        f: impl FnOnce(&mut SimHost<'_>) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        let db = self.db();
        let tx = if write {
            self.conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
        } else {
            self.conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
        }
        .map_err(sql(&db))?;
        let mut world = read_world(&tx, &db, &self.sealer)?;
        let mut host = SimHost::new(&mut world);
        let result = f(&mut host);
        let ran = host.take_ran();
        if result.is_err() || !write {
            return Ok(result);
        }
        let new = serde_json::to_string(world.state()).map_err(|e| StoreError::Encode {
            what: "the world",
            reason: e.to_string(),
        })?;
        tx.execute("UPDATE world SET state = ?1 WHERE id = 1", params![new])
            .map_err(sql(&db))?;
        write_adsync_tables(&tx, &db, &world)?;
        for r in ran {
            let events = serde_json::to_string(&r.events).map_err(|e| StoreError::Encode {
                what: "the events",
                reason: e.to_string(),
            })?;
            tx.execute(
                "INSERT INTO journal (clock, command, result_code, service, events) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.clock, r.command, i64::from(r.code), r.service, events],
            )
            .map_err(sql(&db))?;
        }
        tx.commit().map_err(sql(&db))?;
        Ok(result)
    }

    /// The journal, oldest first.
    pub fn journal(&self) -> Result<Vec<Entry>, StoreError> {
        let db = self.db();
        let mut stmt = self
            .conn
            .prepare("SELECT seq, clock, command, result_code, service, events FROM journal ORDER BY seq")
            .map_err(sql(&db))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(sql(&db))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, clock, command, code, service, events) = row.map_err(sql(&db))?;
            out.push(Entry {
                seq: u64::try_from(seq).unwrap_or(0),
                clock,
                command,
                code: u32::try_from(code).unwrap_or(u32::MAX),
                service: Band::parse(&service),
                events: serde_json::from_str(&events).map_err(|e| StoreError::Foreign {
                    file: db.clone(),
                    reason: format!("journal row {seq}: the events do not parse: {e}"),
                })?,
            });
        }
        Ok(out)
    }

    /// The active lab, if the world was made by `lab start`.
    pub fn lab(&self) -> Result<Option<LabState>, StoreError> {
        read_lab(&self.conn, &self.db())
    }

    /// Reads the world and the lab record and lets `f` change the record, in one write
    /// transaction (`lab hint`, `lab check`): parallel invocations serialise, so none of their
    /// updates is lost. The record is written back when `f` succeeds.
    /// `f` gets the state's sealer to open the record's handed-over values.
    pub fn update_lab<T, E>(
        &mut self,
        f: impl FnOnce(&Sealer, &World, &mut LabState) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, StoreError> {
        let sealer = self.sealer.clone();
        let db = self.db();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&db))?;
        let Some(mut rec) = read_lab(&tx, &db)? else {
            return Ok(None);
        };
        let world = read_world(&tx, &db, &self.sealer)?;
        let result = f(&sealer, &world, &mut rec);
        if result.is_ok() {
            write_lab(&tx, &db, &rec)?;
            tx.commit().map_err(sql(&db))?;
        }
        Ok(Some(result))
    }

    /// Opens a value this state sealed (the lab's handed-over passwords).
    pub fn open_sealed(&self, name: &str, sealed: &Sealed) -> Result<SecretBytes, UnsealError> {
        self.sealer.open(name, sealed)
    }
}
