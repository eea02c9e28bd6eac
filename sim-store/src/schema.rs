//! The database's tables: the world, the journal, the lab, the key check value, the ADSync
//! tables with their real names and columns (`docs/adsync.md` §3.1), and upgrades from schema 2
//! and 3.

use std::fs::File;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use sim_core::lab::LabState;
use sim_core::seal::{Sealed, Sealer};
use sim_core::timeline::Band;
use sim_core::world::{Outcome, World, WorldError, WorldState};

use crate::layout::restrict_all;
use crate::{
    BUSY_TIMEOUT, DB_FILE, KEY_FILE, PRODUCT, SCHEMA_VERSION, StoreError, WAL_FILES, io,
    private_fs, sql,
};

/// The ADSync tables (`docs/adsync.md` §3.1). SQL Server's `uniqueidentifier` columns are
/// kept as upper-case GUID text, the way `sqlcmd` prints them.
pub(crate) const ADSYNC_SCHEMA: &str = "
    CREATE TABLE mms_server_configuration (keyset_id INTEGER NOT NULL, instance_id TEXT NOT NULL,
                                           entropy TEXT NOT NULL);
    CREATE TABLE mms_management_agent (ma_id TEXT PRIMARY KEY, ma_name TEXT NOT NULL,
                                       ma_type TEXT NOT NULL, subtype TEXT NOT NULL,
                                       private_configuration_xml TEXT NOT NULL,
                                       encrypted_configuration TEXT NOT NULL);";

/// Writes the engine's rows into the ADSync tables.
pub(crate) fn write_adsync_tables(
    conn: &Connection,
    db: &Path,
    world: &World,
) -> Result<(), StoreError> {
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
pub(crate) fn read_adsync_tables(
    conn: &Connection,
    db: &Path,
    state: &mut WorldState,
) -> Result<(), StoreError> {
    let Some(sim_core::world::Program::Engine(engine)) =
        state.programs.get_mut(sim_core::world::ADSYNC_SERVICE)
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
pub(crate) fn read_world(
    conn: &Connection,
    db: &Path,
    sealer: &Sealer,
) -> Result<World, StoreError> {
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

/// The ADSync database as the export's copy: the bytes of a SQLite file holding the two ADSync
/// tables only (`docs/adsync.md` §3.1), built in memory so the caller writes it like any other
/// exported file (privately, never through a symbolic link).
pub fn adsync_database_bytes(world: &World) -> Result<Vec<u8>, StoreError> {
    let name = Path::new("ADSync.sqlite");
    let mut conn = Connection::open_in_memory().map_err(sql(name))?;
    conn.execute_batch(ADSYNC_SCHEMA).map_err(sql(name))?;
    write_adsync_tables(&conn, name, world)?;
    let data = conn.serialize(rusqlite::MAIN_DB).map_err(sql(name))?;
    Ok(data.to_vec())
}

pub(crate) fn configure(conn: &Connection, file: &Path) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(file))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql(file))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql(file))?;
    Ok(())
}

/// The tables schema 3 added, created when missing.
pub(crate) const SCHEMA_3_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS lab (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);";

/// The key check value as stored in `meta.key_check`.
pub(crate) fn check_text(sealer: &Sealer) -> Result<String, StoreError> {
    serde_json::to_string(&sealer.check_value()).map_err(|e| StoreError::Encode {
        what: "the key check",
        reason: e.to_string(),
    })
}

/// Refuses a key that does not open the stored key check value.
pub(crate) fn verify_key(conn: &Connection, dir: &Path, sealer: &Sealer) -> Result<(), StoreError> {
    let db = dir.join(DB_FILE);
    let text: String =
        match conn.query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
            r.get(0)
        }) {
            Ok(t) => t,
            // Before schema 4: checked against the sealed DPAPI_SYSTEM by `migrate`.
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(()),
            Err(e) => return Err(sql(&db)(e)),
        };
    let check: Sealed = serde_json::from_str(&text).map_err(|e| StoreError::Foreign {
        file: db.clone(),
        reason: format!("meta.key_check does not parse: {e}"),
    })?;
    if sealer.verifies(&check) {
        Ok(())
    } else {
        Err(StoreError::WrongKey {
            file: dir.join(KEY_FILE),
            db,
        })
    }
}

/// Upgrades an older schema in place (one transaction); refuses a newer one.
pub(crate) fn migrate(
    conn: &mut Connection,
    dir: &Path,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    let db = dir.join(DB_FILE);
    let db = db.as_path();
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
    if version < 4 {
        // The key check value is only stored once the key has opened a secret every world
        // seals at creation (DPAPI_SYSTEM), so a wrong key is not adopted.
        let world = read_world(&tx, db, sealer)?;
        if matches!(world.dpapi_system(), Err(WorldError::Unseal(_))) {
            return Err(StoreError::WrongKey {
                file: dir.join(KEY_FILE),
                db: db.to_owned(),
            });
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('key_check', ?1)",
            params![check_text(sealer)?],
        )
        .map_err(sql(db))?;
        restrict_all(dir)?;
    }
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        params![SCHEMA_VERSION.to_string()],
    )
    .map_err(sql(db))?;
    tx.commit().map_err(sql(db))
}

/// Appends a journal row.
pub(crate) fn journal_insert(
    conn: &Connection,
    db: &Path,
    world: &World,
    command: &str,
    code: u32,
    events: &[sim_core::win::eventlog::EventRecord],
) -> Result<(), StoreError> {
    let events = serde_json::to_string(events).map_err(|e| StoreError::Encode {
        what: "the events",
        reason: e.to_string(),
    })?;
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

/// How far a long command has got: `(done, total)` in its own unit (seconds of simulated time
/// for `clock advance`).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Creates the tables of a new database and writes the world into them (one transaction).
pub(crate) fn write_new_database(
    db: &Path,
    sealer: &Sealer,
    created: &Created,
) -> Result<(), StoreError> {
    let (world, outcome, first_line, lab) = created;
    // The file exists first, private, so SQLite (which gives its journal files the database's
    // mode) never creates a world-readable one.
    private_fs::create_new(db).map_err(io(db))?;
    let mut conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )
    .map_err(sql(db))?;
    configure(&conn, db)?;
    let tx = conn.transaction().map_err(sql(db))?;
    tx.execute_batch(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE world (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
         CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, clock TEXT NOT NULL,
                               command TEXT NOT NULL, result_code INTEGER NOT NULL,
                               service TEXT NOT NULL DEFAULT 'unknown',
                               events TEXT NOT NULL DEFAULT '[]');",
    )
    .map_err(sql(db))?;
    tx.execute_batch(SCHEMA_3_TABLES).map_err(sql(db))?;
    tx.execute_batch(ADSYNC_SCHEMA).map_err(sql(db))?;
    write_adsync_tables(&tx, db, world)?;
    let state = serde_json::to_string(world.state()).map_err(|e| StoreError::Encode {
        what: "the world",
        reason: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO meta VALUES ('product', ?1), ('schema_version', ?2), ('key_check', ?3)",
        params![PRODUCT, SCHEMA_VERSION.to_string(), check_text(sealer)?],
    )
    .map_err(sql(db))?;
    tx.execute(
        "INSERT INTO world (id, state) VALUES (1, ?1)",
        params![state],
    )
    .map_err(sql(db))?;
    journal_insert(&tx, db, world, first_line, outcome.code, &[])?;
    if let Some(lab) = lab {
        write_lab(&tx, db, lab)?;
    }
    tx.commit().map_err(sql(db))?;
    // Closing the last connection folds the log into the file and removes it.
    conn.close().map_err(|(_, e)| sql(db)(e))?;
    File::open(db).and_then(|f| f.sync_all()).map_err(io(db))?;
    for name in WAL_FILES {
        let p = db.with_file_name(name);
        if private_fs::exists(&p) {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    Ok(())
}

pub(crate) fn read_lab(conn: &Connection, db: &Path) -> Result<Option<LabState>, StoreError> {
    let text: Option<String> =
        match conn.query_row("SELECT state FROM lab WHERE id = 1", [], |r| r.get(0)) {
            Ok(t) => Some(t),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(sql(db)(e)),
        };
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Foreign {
            file: db.to_owned(),
            reason: format!("the lab record does not parse: {e}"),
        })
    })
    .transpose()
}

pub(crate) fn write_lab(conn: &Connection, db: &Path, lab: &LabState) -> Result<(), StoreError> {
    let text = serde_json::to_string(lab).map_err(|e| StoreError::Encode {
        what: "the lab",
        reason: e.to_string(),
    })?;
    conn.execute(
        "INSERT INTO lab (id, state) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET state = ?1",
        params![text],
    )
    .map_err(sql(db))?;
    Ok(())
}
