//! A world persisted in a state directory: one SQLite database in WAL mode, one transaction per
//! command, and the per-state sealing key beside it.
//!
//! docs/design.md §5: a command applies fully or not at all (the world is
//! read, changed and written back inside one `BEGIN IMMEDIATE` transaction, so parallel
//! invocations serialise instead of losing updates); a process killed at any point leaves the
//! previous state, which SQLite's journal guarantees; corrupt or foreign files give an error that
//! names the file and are never overwritten unless `init --force` is given.
//!
//! Layout of `DIR`: `state.db` (tables `meta`, `world`, `journal`, `lab`, and the ADSync
//! database's own `mms_server_configuration` and `mms_management_agent`), `seal.key` (32 random
//! bytes, hex: the AES-256-GCM key of [`crate::seal`]).
//!
//! The `journal` keeps one row per command: the simulated time after it, the line with passwords
//! redacted, its result code, the ADSync service's state after it and the events it wrote (what
//! `timeline` draws). `lab` holds the active lab and its progress ([`crate::lab::LabState`]).
//! Schema 2 databases (before the journal's `service` and `events` columns and the `lab` table)
//! are upgraded in place when opened.
//!
//! The two ADSync tables keep their real names and columns (docs/design.md §5, `docs/adsync.md`
//! §3.1), so `sqlite3 state.db` answers the queries admins and tools run against the real
//! database. They are the source of truth for their columns: an edit made with `sqlite3` (as
//! AADInternals' `UPDATE mms_management_agent SET encrypted_configuration=…` does, §5.4) is what
//! the engine reads next.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::backend::SimHost;
use crate::command::Command;
use crate::lab::LabState;
use crate::seal::{Sealed, Sealer, UnsealError};
use crate::timeline::{Band, Entry};
use crate::world::{Outcome, World, WorldError, WorldState};

/// The database file.
pub const DB_FILE: &str = "state.db";
/// The sealing key file.
pub const KEY_FILE: &str = "seal.key";
/// The value of `meta.product`, which marks a database as ours.
const PRODUCT: &str = "adsync-sim";
/// Schema version of the tables: 3 added the journal's `service` and `events` columns and the
/// `lab` table.
const SCHEMA_VERSION: i64 = 3;
/// How long a command waits for another one holding the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// A filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A database error.
    #[error("{file}: {source}")]
    Sqlite {
        /// The database.
        file: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// The world refused the command or is damaged.
    #[error(transparent)]
    World(#[from] WorldError),
    /// A lab could not be started.
    #[error(transparent)]
    Lab(#[from] crate::lab::LabError),
    /// A sealed value in the state does not open.
    #[error(transparent)]
    Unseal(#[from] crate::seal::UnsealError),
}

/// An open state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    conn: Connection,
    sealer: Sealer,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sql(file: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        file: file.to_owned(),
        source,
    }
}

fn read_key(dir: &Path) -> Result<Sealer, StoreError> {
    let path = dir.join(KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Foreign {
                file: path,
                reason: "the sealing key is missing".into(),
            });
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| StoreError::Foreign {
        file: path.clone(),
        reason: "it is not 64 hex digits".into(),
    })?);
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Foreign {
            file: path.clone(),
            reason: "it is not 64 hex digits".into(),
        })?;
    Ok(Sealer::new(key))
}

/// The ADSync tables (`docs/adsync.md` §3.1). SQL Server's `uniqueidentifier` columns are
/// kept as upper-case GUID text, the way `sqlcmd` prints them.
const ADSYNC_SCHEMA: &str = "
    CREATE TABLE mms_server_configuration (keyset_id INTEGER NOT NULL, instance_id TEXT NOT NULL,
                                           entropy TEXT NOT NULL);
    CREATE TABLE mms_management_agent (ma_id TEXT PRIMARY KEY, ma_name TEXT NOT NULL,
                                       ma_type TEXT NOT NULL, subtype TEXT NOT NULL,
                                       private_configuration_xml TEXT NOT NULL,
                                       encrypted_configuration TEXT NOT NULL);";

/// Writes the engine's rows into the ADSync tables.
fn write_adsync_tables(conn: &Connection, db: &Path, world: &World) -> Result<(), StoreError> {
    let Ok(engine) = world.engine() else {
        return Ok(());
    };
    conn.execute("DELETE FROM mms_server_configuration", [])
        .map_err(sql(db))?;
    conn.execute("DELETE FROM mms_management_agent", [])
        .map_err(sql(db))?;
    let c = &engine.server;
    conn.execute(
        "INSERT INTO mms_server_configuration (keyset_id, instance_id, entropy) VALUES (?1, ?2, ?3)",
        params![
            c.keyset_id,
            c.instance_id.to_string().to_ascii_uppercase(),
            c.entropy.to_string().to_ascii_uppercase()
        ],
    )
    .map_err(sql(db))?;
    for a in &engine.agents {
        conn.execute(
            "INSERT INTO mms_management_agent (ma_id, ma_name, ma_type, subtype, private_configuration_xml, encrypted_configuration) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                a.ma_id.to_ascii_uppercase(),
                a.ma_name,
                a.ma_type,
                a.subtype,
                a.private_configuration_xml,
                a.encrypted_configuration
            ],
        )
        .map_err(sql(db))?;
    }
    Ok(())
}

/// Reads the ADSync tables back over the engine's columns.
fn read_adsync_tables(
    conn: &Connection,
    db: &Path,
    state: &mut WorldState,
) -> Result<(), StoreError> {
    let Some(crate::world::Program::Engine(engine)) =
        state.programs.get_mut(crate::world::ADSYNC_SERVICE)
    else {
        return Ok(());
    };
    let foreign = |reason: String| StoreError::Foreign {
        file: db.to_owned(),
        reason,
    };
    let (keyset_id, instance, entropy): (u32, String, String) = conn
        .query_row(
            "SELECT keyset_id, instance_id, entropy FROM mms_server_configuration",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql(db))?;
    engine.server.keyset_id = keyset_id;
    engine.server.instance_id = instance.parse().map_err(|_| {
        foreign(format!(
            "mms_server_configuration.instance_id '{instance}' is not a GUID"
        ))
    })?;
    engine.server.entropy = entropy.parse().map_err(|_| {
        foreign(format!(
            "mms_server_configuration.entropy '{entropy}' is not a GUID"
        ))
    })?;
    let mut stmt = conn
        .prepare("SELECT ma_id, ma_name, private_configuration_xml, encrypted_configuration FROM mms_management_agent")
        .map_err(sql(db))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql(db))?;
    for row in rows {
        let (id, name, private, encrypted) = row.map_err(sql(db))?;
        if let Some(a) = engine
            .agents
            .iter_mut()
            .find(|a| a.ma_id.eq_ignore_ascii_case(&id))
        {
            a.ma_name = name;
            a.private_configuration_xml = private;
            a.encrypted_configuration = encrypted;
        }
    }
    Ok(())
}

/// Reads the world from the database (inside the caller's transaction, if any).
fn read_world(conn: &Connection, db: &Path, sealer: &Sealer) -> Result<World, StoreError> {
    let text: String = conn
        .query_row("SELECT state FROM world WHERE id = 1", [], |r| r.get(0))
        .map_err(sql(db))?;
    let mut state: WorldState = serde_json::from_str(&text).map_err(|e| StoreError::Foreign {
        file: db.to_owned(),
        reason: format!("the world does not parse: {e}"),
    })?;
    read_adsync_tables(conn, db, &mut state)?;
    Ok(World::from_state(state, sealer.clone())?)
}

/// Writes the ADSync database as the export's copy: a new SQLite file holding the two ADSync
/// tables only (`docs/adsync.md` §3.1). The file must not exist.
pub fn export_adsync_database(world: &World, file: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(file).map_err(sql(file))?;
    conn.execute_batch(ADSYNC_SCHEMA).map_err(sql(file))?;
    write_adsync_tables(&conn, file, world)
}

fn configure(conn: &Connection, file: &Path) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(file))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql(file))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql(file))?;
    Ok(())
}

/// The tables schema 3 added, created when missing.
const SCHEMA_3_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS lab (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);";

/// Upgrades an older schema in place (one transaction); refuses a newer one.
fn migrate(conn: &mut Connection, db: &Path) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get::<_, String>(0),
        )
        .map_err(sql(db))?
        .parse()
        .map_err(|_| StoreError::Foreign {
            file: db.to_owned(),
            reason: "meta.schema_version is not a number".into(),
        })?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Foreign {
            file: db.to_owned(),
            reason: format!(
                "it has schema {version}, newer than this adsync-sim's {SCHEMA_VERSION}: use a newer adsync-sim"
            ),
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(db))?;
    if version < 3 {
        tx.execute_batch(
            "ALTER TABLE journal ADD COLUMN service TEXT NOT NULL DEFAULT 'unknown';
             ALTER TABLE journal ADD COLUMN events TEXT NOT NULL DEFAULT '[]';",
        )
        .map_err(sql(db))?;
        tx.execute_batch(SCHEMA_3_TABLES).map_err(sql(db))?;
    }
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        params![SCHEMA_VERSION.to_string()],
    )
    .map_err(sql(db))?;
    tx.commit().map_err(sql(db))
}

/// Appends a journal row.
fn journal_insert(
    conn: &Connection,
    db: &Path,
    world: &World,
    command: &str,
    code: u32,
    events: &[crate::win::eventlog::EventRecord],
) -> Result<(), StoreError> {
    let events = serde_json::to_string(events)
        .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
    conn.execute(
        "INSERT INTO journal (clock, command, result_code, service, events) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            world.now().to_string(),
            command,
            i64::from(code),
            Band::of(world).as_str(),
            events
        ],
    )
    .map_err(sql(db))?;
    Ok(())
}

/// What [`StateDir::create_with`] builds: the world, what to print, the journal's first line and
/// an optional lab.
pub type Created = (World, Outcome, String, Option<LabState>);

impl StateDir {
    /// Creates a world in `dir` with a fresh sealing key. Refuses to replace an existing world
    /// unless `force`; never touches files it did not write.
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
    /// `build`, all written in the one transaction that creates the database.
    pub fn create_with<F>(dir: &Path, force: bool, build: F) -> Result<(Self, Outcome), StoreError>
    where
        F: FnOnce(Sealer) -> Result<Created, StoreError>,
    {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let db = dir.join(DB_FILE);
        if db.exists() {
            if !force {
                return Err(StoreError::Exists { file: db });
            }
            // Only a database that is ours may be replaced.
            Self::open(dir)?;
            for name in [DB_FILE, "state.db-wal", "state.db-shm", KEY_FILE] {
                let p = dir.join(name);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(io(&p))?;
                }
            }
        }
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *key).map_err(|e| StoreError::Io {
            path: dir.join(KEY_FILE),
            source: std::io::Error::other(format!("no operating-system randomness: {e}")),
        })?;
        let sealer = Sealer::new(*key);
        let (world, outcome, first_line, lab) = build(sealer.clone())?;
        // The key is written first, atomically; a database without its key is never left behind.
        let key_path = dir.join(KEY_FILE);
        let tmp = dir.join("seal.key.tmp");
        std::fs::write(&tmp, hex::encode(*key)).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &key_path).map_err(io(&key_path))?;
        let mut conn = Connection::open(&db).map_err(sql(&db))?;
        configure(&conn, &db)?;
        let tx = conn.transaction().map_err(sql(&db))?;
        tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE world (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
             CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, clock TEXT NOT NULL,
                                   command TEXT NOT NULL, result_code INTEGER NOT NULL,
                                   service TEXT NOT NULL DEFAULT 'unknown',
                                   events TEXT NOT NULL DEFAULT '[]');",
        )
        .map_err(sql(&db))?;
        tx.execute_batch(SCHEMA_3_TABLES).map_err(sql(&db))?;
        tx.execute_batch(ADSYNC_SCHEMA).map_err(sql(&db))?;
        write_adsync_tables(&tx, &db, &world)?;
        let state = serde_json::to_string(world.state())
            .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
        tx.execute(
            "INSERT INTO meta VALUES ('product', ?1), ('schema_version', ?2)",
            params![PRODUCT, SCHEMA_VERSION.to_string()],
        )
        .map_err(sql(&db))?;
        tx.execute(
            "INSERT INTO world (id, state) VALUES (1, ?1)",
            params![state],
        )
        .map_err(sql(&db))?;
        journal_insert(&tx, &db, &world, &first_line, outcome.code, &[])?;
        if let Some(lab) = &lab {
            write_lab(&tx, &db, lab)?;
        }
        tx.commit().map_err(sql(&db))?;
        Ok((
            Self {
                dir: dir.to_owned(),
                conn,
                sealer,
            },
            outcome,
        ))
    }

    /// Opens an existing state directory, checking that its files are ours.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = dir.join(DB_FILE);
        if !db.is_file() {
            return Err(StoreError::NoWorld {
                dir: dir.to_owned(),
            });
        }
        let conn =
            Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| {
                StoreError::Foreign {
                    file: db.clone(),
                    reason: e.to_string(),
                }
            })?;
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
                    reason: e.to_string(),
                });
            }
        }
        configure(&conn, &db)?;
        let mut conn = conn;
        migrate(&mut conn, &db)?;
        let sealer = read_key(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            conn,
            sealer,
        })
    }

    fn db(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    /// Loads the world (read-only use).
    pub fn load(&self) -> Result<World, StoreError> {
        read_world(&self.conn, &self.db(), &self.sealer)
    }

    /// Runs one command as one transaction: the world is read, changed and written back, and the
    /// command is journaled (with passwords redacted), or nothing changes at all.
    pub fn exec(&mut self, command: &Command) -> Result<Outcome, StoreError> {
        let db = self.db();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&db))?;
        let mut world = read_world(&tx, &db, &self.sealer)?;
        let outcome = world.exec(command)?;
        if command.mutates() {
            let new = serde_json::to_string(world.state())
                .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
            tx.execute("UPDATE world SET state = ?1 WHERE id = 1", params![new])
                .map_err(sql(&db))?;
            write_adsync_tables(&tx, &db, &world)?;
        }
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

    /// Runs `f` on the world through a [`SimHost`] as one transaction (`diagnose`,
    /// `remediate`): every command it ran is journaled (passwords redacted) and the changed
    /// world is written back; when `f` fails, or `write` is false, nothing changes.
    pub fn with_host<T, E>(
        &mut self,
        write: bool,
        f: impl FnOnce(&mut SimHost<'_>) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        let db = self.db();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&db))?;
        let mut world = read_world(&tx, &db, &self.sealer)?;
        let mut host = SimHost::new(&mut world);
        let result = f(&mut host);
        let ran = host.take_ran();
        if result.is_err() || !write {
            return Ok(result);
        }
        let new = serde_json::to_string(world.state())
            .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
        tx.execute("UPDATE world SET state = ?1 WHERE id = 1", params![new])
            .map_err(sql(&db))?;
        write_adsync_tables(&tx, &db, &world)?;
        for r in ran {
            let events = serde_json::to_string(&r.events)
                .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
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
        let db = self.db();
        let text: Option<String> =
            match self
                .conn
                .query_row("SELECT state FROM lab WHERE id = 1", [], |r| r.get(0))
            {
                Ok(t) => Some(t),
                Err(rusqlite::Error::QueryReturnedNoRows) => None,
                Err(e) => return Err(sql(&db)(e)),
            };
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Foreign {
                file: db.clone(),
                reason: format!("the lab record does not parse: {e}"),
            })
        })
        .transpose()
    }

    /// Saves the active lab's record (its progress).
    pub fn save_lab(&mut self, lab: &LabState) -> Result<(), StoreError> {
        let db = self.db();
        write_lab(&self.conn, &db, lab)
    }

    /// Opens a value this state sealed (the lab's handed-over passwords).
    pub fn open_sealed(
        &self,
        name: &str,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
        self.sealer.open(name, sealed)
    }
}

fn write_lab(conn: &Connection, db: &Path, lab: &LabState) -> Result<(), StoreError> {
    let text = serde_json::to_string(lab)
        .map_err(|e| StoreError::World(WorldError::Damaged(e.to_string())))?;
    conn.execute(
        "INSERT INTO lab (id, state) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET state = ?1",
        params![text],
    )
    .map_err(sql(db))?;
    Ok(())
}
