//! The state directory's lock file (`state.lock`): `flock`, shared by every command and
//! exclusive while a world is created or replaced, so no command holds the database while it is
//! swapped.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{LOCK_FILE, LOCK_TIMEOUT, StoreError, io, private_fs};

/// How often a waiting command tries the lock again.
pub(crate) const LOCK_POLL: Duration = Duration::from_millis(20);

/// The lock file, held (shared or exclusive) until dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock on `dir`'s [`LOCK_FILE`], waiting up to [`LOCK_TIMEOUT`].
    pub(crate) fn take(dir: &Path, exclusive: bool) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = private_fs::open_or_create(&path).map_err(io(&path))?;
        let start = Instant::now();
        loop {
            let tried = if exclusive {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match tried {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_TIMEOUT => {
                    std::thread::sleep(LOCK_POLL);
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { file: path });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
    }
}
