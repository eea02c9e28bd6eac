//! The state directory's files: the sealing key (`seal.key`), private modes, the WAL files, and
//! finishing or undoing an interrupted replacement (`state.new`).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use sim_core::seal::Sealer;
use zeroize::Zeroizing;

use crate::{
    DB_FILE, KEY_FILE, LOCK_FILE, PRODUCT, STAGING_DIR, StoreError, WAL_FILES, io, one_line,
    private_fs,
};

pub(crate) fn read_key(dir: &Path) -> Result<Sealer, StoreError> {
    let path = dir.join(KEY_FILE);
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(StoreError::Foreign {
            file: path,
            reason: "it is a symbolic link, never what adsync-sim writes".into(),
        });
    }
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
    Ok(Sealer::new(key)?)
}

/// Makes the directory and its files private (0700 and 0600 on Unix).
pub(crate) fn restrict_all(dir: &Path) -> Result<(), StoreError> {
    private_fs::restrict(dir, private_fs::DIR_MODE).map_err(io(dir))?;
    for name in [DB_FILE, KEY_FILE, LOCK_FILE, WAL_FILES[0], WAL_FILES[1]] {
        let p = dir.join(name);
        if p.is_file() {
            private_fs::restrict(&p, private_fs::FILE_MODE).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// Folds the old database's write-ahead log into it and removes the log, so the database moved
/// over it never meets a log that is not its own. Called with the lock held exclusively: no
/// adsync-sim command has the database open.
pub(crate) fn retire_wal(dir: &Path) -> Result<(), StoreError> {
    let db = dir.join(DB_FILE);
    if db.is_file()
        && let Ok(conn) = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)
    {
        // A damaged database cannot be checkpointed; its log is of no use either.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        drop(conn);
    }
    for name in WAL_FILES {
        let p = dir.join(name);
        if private_fs::exists(&p) {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// Finishes or undoes a replacement a killed process left (lock held exclusively).
pub(crate) fn recover(dir: &Path) -> Result<(), StoreError> {
    let staging = dir.join(STAGING_DIR);
    if !private_fs::exists(&staging) {
        return Ok(());
    }
    let new_db = staging.join(DB_FILE);
    let swapped = staging.is_dir()
        && !staging.symlink_metadata().is_ok_and(|m| m.is_symlink())
        && !private_fs::exists(&staging.join(KEY_FILE))
        && new_db.is_file();
    if swapped {
        // The new key is in place: the new database goes after it.
        retire_wal(dir)?;
        let db = dir.join(DB_FILE);
        std::fs::rename(&new_db, &db).map_err(io(&db))?;
        private_fs::sync_dir(dir).map_err(io(dir))?;
    }
    if staging.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    } else {
        std::fs::remove_file(&staging).map_err(io(&staging))?;
    }
    Ok(())
}

/// What the database in `dir` is, for `--force`: ours (maybe under a wrong or missing key),
/// broken (empty, not a database, half-written), or someone else's.
pub(crate) enum Existing {
    /// Replaceable: ours, or broken beyond use.
    Replaceable,
    /// Another program's database: never replaced.
    Foreign(StoreError),
}

pub(crate) fn classify(dir: &Path) -> Existing {
    let db = dir.join(DB_FILE);
    let Ok(conn) = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return Existing::Replaceable;
    };
    let tables: Result<i64, _> = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |r| r.get(0),
    );
    match tables {
        // Not a database at all (garbage), or unreadable: broken.
        Err(_) | Ok(0) => return Existing::Replaceable,
        Ok(_) => {}
    }
    let product: Result<String, _> =
        conn.query_row("SELECT value FROM meta WHERE key = 'product'", [], |r| {
            r.get(0)
        });
    match product {
        Ok(p) if p == PRODUCT => Existing::Replaceable,
        Ok(p) => Existing::Foreign(StoreError::Foreign {
            file: db,
            reason: format!("it belongs to '{p}'"),
        }),
        Err(e) => Existing::Foreign(StoreError::Foreign {
            file: db,
            reason: one_line(&e),
        }),
    }
}
