//! Restore a backup over the live database with an atomic swap: the previous database is kept
//! aside, and a restore that fails or is killed at any point leaves the live database either the
//! old one or the new one, never missing or half-written. Migrating forward, re-applying
//! erasures and auditing are the caller's (it opens the database its normal way afterwards).

mod pg;

pub(crate) use pg::write_list;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use age::x25519::Identity;
use sqlx::Connection;
use storefort_store::Backend;

use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::snapshot::{blocking, sqlite_integrity, sqlite_path, PG_PART, SQLITE_PART};
use crate::{archive, lock, BackupError};

/// Where to restore to.
#[derive(Debug, Clone)]
pub struct RestoreTarget {
    /// The shop's database URL (`sqlite://...` or `postgres://...`).
    pub db_url: String,
    /// The PostgreSQL schema to replace (`public` normally; ignored for SQLite).
    pub pg_schema: String,
    /// The data directory (holds `serve.lock`; unpacking happens beside the database).
    pub data_dir: PathBuf,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The restored backup's manifest.
    pub manifest: Manifest,
    /// Where the previous database was kept: the SQLite file's path or the PostgreSQL schema's
    /// name; empty when there was no previous database.
    pub kept_aside: String,
    /// How long it took.
    pub took: Duration,
}

/// Prefix of the unpack directories; leftovers from an interrupted restore are removed.
const WORK_PREFIX: &str = ".restore-";

/// Decrypt, check and unpack `file`, then swap it in for the live database. Refuses while
/// `storefort serve` holds the data directory (the lock is held for the whole restore).
pub async fn restore(
    file: &Path,
    identities: &[Identity],
    known_schema: usize,
    target: &RestoreTarget,
    progress: &dyn Progress,
) -> Result<RestoreReport, BackupError> {
    std::fs::create_dir_all(&target.data_dir)
        .map_err(|e| BackupError::writing(&target.data_dir, e))?;
    let lock = lock::acquire(&target.data_dir)?;
    restore_holding(&lock, file, identities, known_schema, target, progress).await
}

/// [`restore`] for a caller that already holds the shop's lock (the CLI keeps it until the
/// restored database is migrated and audited, so `serve` cannot start in between).
pub async fn restore_holding(
    _lock: &lock::ServeLock,
    file: &Path,
    identities: &[Identity],
    known_schema: usize,
    target: &RestoreTarget,
    progress: &dyn Progress,
) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let backend = Backend::from_url(&target.db_url)?;
    let live = match backend {
        Backend::Sqlite => Some(sqlite_path(&target.db_url)?),
        Backend::Postgres => None,
    };
    // Unpack beside the live SQLite file so the final rename stays on one filesystem.
    let work_parent = live
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(&target.data_dir)
        .to_path_buf();
    remove_leftovers(&work_parent);
    remove_leftovers(&target.data_dir);
    let stamp = stamp();
    let work = work_parent.join(format!("{WORK_PREFIX}{stamp}"));
    std::fs::create_dir_all(&work).map_err(|e| BackupError::writing(&work, e))?;
    #[cfg(unix)]
    {
        // The unpacked database is plaintext: this user only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| BackupError::writing(&work, e))?;
    }
    let result = run(
        file,
        identities,
        known_schema,
        target,
        live,
        &work,
        &stamp,
        progress,
    )
    .await;
    let _ = std::fs::remove_dir_all(&work);
    let (manifest, kept_aside) = result?;
    Ok(RestoreReport {
        manifest,
        kept_aside,
        took: started.elapsed(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn run(
    file: &Path,
    identities: &[Identity],
    known_schema: usize,
    target: &RestoreTarget,
    live: Option<PathBuf>,
    work: &Path,
    stamp: &str,
    progress: &dyn Progress,
) -> Result<(Manifest, String), BackupError> {
    let manifest = unpack(file, identities, known_schema, work, progress)?;
    let want = match live {
        Some(_) => "sqlite",
        None => "postgres",
    };
    if manifest.source.engine != want {
        return Err(BackupError::Invalid(format!(
            "this backup is of a {} shop but database.url points to {want}: restore it into a \
             {} database (migrating between engines is not supported by restore)",
            manifest.source.engine, manifest.source.engine
        )));
    }
    let part = match live {
        Some(_) => SQLITE_PART,
        None => PG_PART,
    };
    if !manifest.parts.iter().any(|p| p.name == part) {
        return Err(BackupError::Corrupt(format!("it holds no {part}")));
    }
    let snapshot = work.join(part);
    let kept = match live {
        Some(live) => {
            let verdict = sqlite_integrity(&snapshot).await?;
            if verdict != "ok" {
                return Err(BackupError::Corrupt(format!(
                    "the database inside fails its integrity check: {verdict}"
                )));
            }
            pause_for_tests().await;
            swap_sqlite(&snapshot, &live, stamp).await?
        }
        None => {
            let source_schema = manifest
                .source
                .pg_schema
                .clone()
                .unwrap_or_else(|| "public".into());
            pg::check_dump(&snapshot).await?;
            pause_for_tests().await;
            pg::swap(
                &target.db_url,
                &snapshot,
                &source_schema,
                &target.pg_schema,
                stamp,
                work,
            )
            .await?
        }
    };
    Ok((manifest, kept))
}

fn unpack(
    file: &Path,
    identities: &[Identity],
    known_schema: usize,
    work: &Path,
    progress: &dyn Progress,
) -> Result<Manifest, BackupError> {
    let input = File::open(file).map_err(|e| {
        BackupError::Invalid(format!("cannot open the backup {}: {e}", file.display()))
    })?;
    archive::read(input, identities, known_schema, work, progress)
}

/// Swap `snapshot` in as `live`: checkpoint the live WAL into the file, hard-link the file aside,
/// then rename the snapshot over it (atomic on POSIX). Returns the kept-aside path.
async fn swap_sqlite(snapshot: &Path, live: &Path, stamp: &str) -> Result<String, BackupError> {
    let aside = PathBuf::from(format!("{}.before-restore-{stamp}", live.display()));
    let exists = live.exists();
    if exists {
        checkpoint(live).await?;
    }
    let (snapshot, live) = (snapshot.to_path_buf(), live.to_path_buf());
    let aside2 = aside.clone();
    blocking(move || {
        File::open(&snapshot)
            .and_then(|f| f.sync_all())
            .map_err(|e| BackupError::writing(&snapshot, e))?;
        if exists {
            // The live file already holds every committed page (checkpointed above); its empty
            // -wal and -shm go before the swap so the new file never meets the old journal.
            for ext in ["-wal", "-shm"] {
                remove_if_present(&PathBuf::from(format!("{}{ext}", live.display())))?;
            }
            std::fs::hard_link(&live, &aside2).map_err(|e| BackupError::writing(&aside2, e))?;
            same_owner_and_mode(&live, &snapshot)?;
        }
        std::fs::rename(&snapshot, &live).map_err(|e| BackupError::writing(&live, e))?;
        if let Some(dir) = live.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| BackupError::writing(dir, e))?;
        }
        Ok(())
    })
    .await?;
    Ok(if exists {
        aside.display().to_string()
    } else {
        String::new()
    })
}

/// Give the new file the live file's owner and mode: a restore run as root must not leave a
/// database the shop's own user cannot open.
fn same_owner_and_mode(live: &Path, new: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(live).map_err(|e| BackupError::writing(live, e))?;
        std::fs::set_permissions(new, m.permissions()).map_err(|e| BackupError::writing(new, e))?;
        let ours = std::fs::metadata(new).map_err(|e| BackupError::writing(new, e))?;
        if (ours.uid(), ours.gid()) != (m.uid(), m.gid()) {
            std::os::unix::fs::chown(new, Some(m.uid()), Some(m.gid())).map_err(|e| {
                BackupError::Invalid(format!(
                    "cannot give the restored database the owner of {} ({e}): run restore as \
                     that user (or root); nothing was changed",
                    live.display()
                ))
            })?;
        }
    }
    Ok(())
}

/// Fold the live database's WAL into its main file and empty the WAL.
async fn checkpoint(live: &Path) -> Result<(), BackupError> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(live)
        .create_if_missing(false);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts).await?;
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    if busy != 0 {
        return Err(BackupError::Invalid(format!(
            "another program is using {}: stop it and run the restore again",
            live.display()
        )));
    }
    Ok(())
}

fn remove_if_present(p: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(BackupError::writing(p, e)),
        _ => Ok(()),
    }
}

/// Remove `.restore-*` directories an interrupted restore left behind.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(WORK_PREFIX) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Test hook: `STOREFORT_TEST_RESTORE_PAUSE_MS` holds the restore right before the swap, so a
/// test can kill the process there.
async fn pause_for_tests() {
    if let Some(ms) = std::env::var("STOREFORT_TEST_RESTORE_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// `YYYYmmddTHHMMSSZ`, UTC.
fn stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
