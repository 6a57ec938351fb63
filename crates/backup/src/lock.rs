//! The data directory's lock: `storefort serve` holds it while it runs, and restore refuses to
//! swap the database underneath a running server. An OS file lock (not a pid file alone), so a
//! crashed server never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::BackupError;

/// The lock file's name inside the data directory.
const LOCK_FILE: &str = "serve.lock";

/// Holds the data directory exclusively until dropped (the OS releases it if the process dies).
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

/// Take the data directory's lock, writing our pid into the lock file. Already held by a live
/// process -> [`BackupError::ServerRunning`] with its pid.
pub fn acquire(data_dir: &Path) -> Result<ServeLock, BackupError> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| BackupError::writing(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(BackupError::ServerRunning {
                pid: read_pid(&mut file).unwrap_or(0),
            })
        }
        Err(TryLockError::Error(e)) => return Err(BackupError::writing(&path, e)),
    }
    // Truncate only once we own the lock: the holder's pid must stay readable until then.
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.flush())
        .map_err(|e| BackupError::writing(&path, e))?;
    Ok(ServeLock { _file: file })
}

/// The pid of the live process holding the data directory, if any.
pub fn holder(data_dir: &Path) -> Option<u32> {
    let mut file = File::open(data_dir.join(LOCK_FILE)).ok()?;
    match file.try_lock_shared() {
        // Nobody holds it; our probe lock is released when `file` drops.
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_pid(&mut file).unwrap_or(0)),
        Err(TryLockError::Error(_)) => None,
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_pid_and_is_free_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None);
        let lock = acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        match acquire(dir.path()) {
            Err(BackupError::ServerRunning { pid }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected ServerRunning, got {other:?}"),
        }
        drop(lock);
        assert_eq!(holder(dir.path()), None);
        let _again = acquire(dir.path()).unwrap();
    }
}
