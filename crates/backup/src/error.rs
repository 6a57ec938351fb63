//! What can go wrong, in words an owner can act on.

use storefort_store::StoreError;

/// A backup, verify or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Bad input or settings; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The file is truncated, corrupted or not a storefort backup.
    #[error("the backup file is damaged or incomplete: {0}")]
    Corrupt(String),
    /// The identity given is not the one the backup was encrypted to.
    #[error("this recovery kit cannot open the backup: it was encrypted to a different key (check you picked this shop's kit)")]
    WrongIdentity,
    /// Made by a newer storefort than this one.
    #[error("this backup was made by storefort {made_by} (backup format {format}, database schema {schema}); this is storefort {ours}: install storefort {made_by} or newer to restore it")]
    TooNew {
        /// The storefort version that made it.
        made_by: String,
        /// Its archive format version.
        format: u32,
        /// Its schema version (applied migrations).
        schema: usize,
        /// This build's version.
        ours: String,
    },
    /// The disk filled up while writing.
    #[error("the disk is full while writing {path}: free some space (or point backups elsewhere) and try again; nothing was kept")]
    DiskFull {
        /// What was being written.
        path: String,
    },
    /// A destination failed (upload, listing, verification).
    #[error("destination {name}: {reason}")]
    Destination {
        /// The destination's name from the config.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// An external tool (pg_dump, pg_restore, psql) failed or is missing.
    #[error("{tool}: {reason}")]
    Tool {
        /// The program.
        tool: String,
        /// What it said, or why it could not run.
        reason: String,
    },
    /// `storefort serve` holds the data directory.
    #[error("storefort serve is running on this shop (pid {pid}); stop it first, or pass --stop-server to have restore stop it")]
    ServerRunning {
        /// Its process ID.
        pid: u32,
    },
    /// The database refused something.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl BackupError {
    /// An I/O error while writing `path`, with "disk full" recognised.
    pub fn writing(path: &std::path::Path, e: std::io::Error) -> BackupError {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
            BackupError::DiskFull {
                path: path.display().to_string(),
            }
        } else {
            BackupError::Io(std::io::Error::new(
                e.kind(),
                format!("writing {}: {e}", path.display()),
            ))
        }
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(StoreError::from(e))
    }
}
