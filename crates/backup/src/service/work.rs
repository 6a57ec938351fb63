//! The local half of a backup: the work directory, the archive file and its checksum. The
//! archive writer is synchronous (std::io streaming), so it runs on a blocking thread and its
//! progress is forwarded back to the caller's [`Progress`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::BackupError;

/// Work files older than this are leftovers of a killed run (no run takes a day).
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A file removed when dropped: the archive is only a staging copy for the uploads.
pub(super) struct TempFile(pub(super) PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Create the work directory (owner-only) and remove stale leftovers of killed runs.
pub(super) async fn prepare_work_dir(dir: &Path) -> Result<(), BackupError> {
    let dir = dir.to_path_buf();
    blocking(move || {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| BackupError::writing(&dir, e))?;
        let entries = std::fs::read_dir(&dir).map_err(BackupError::Io)?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(".backup-")
                || name.starts_with(".verify-")
                || (name.starts_with("storefort-") && name.ends_with(".partial"));
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER);
            if ours && old {
                let p = entry.path();
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
        Ok(())
    })
    .await
}

enum Event {
    Start(String, Option<u64>),
    Advance(u64),
    Finish,
}

/// Progress that crosses from the blocking thread to the async caller.
struct Forward(UnboundedSender<Event>);

impl Progress for Forward {
    fn start(&self, stage: &str, total: Option<u64>) {
        let _ = self.0.send(Event::Start(stage.to_string(), total));
    }
    fn advance(&self, bytes: u64) {
        let _ = self.0.send(Event::Advance(bytes));
    }
    fn finish(&self) {
        let _ = self.0.send(Event::Finish);
    }
}

/// Write the encrypted archive to `out` and flush it to disk.
pub(super) async fn write_archive(
    out: &Path,
    recipients: Vec<age::x25519::Recipient>,
    manifest: Manifest,
    parts_dir: &Path,
    progress: &dyn Progress,
) -> Result<(), BackupError> {
    let (tx, mut rx) = unbounded_channel();
    let (out, parts_dir) = (out.to_path_buf(), parts_dir.to_path_buf());
    let job = tokio::task::spawn_blocking(move || -> Result<(), BackupError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&out)
            .map_err(|e| BackupError::writing(&out, e))?;
        let w = std::io::BufWriter::with_capacity(1024 * 1024, file);
        let w = crate::archive::write(w, &recipients, &manifest, &parts_dir, &Forward(tx))?;
        let file = w
            .into_inner()
            .map_err(|e| BackupError::writing(&out, e.into_error()))?;
        file.sync_all().map_err(|e| BackupError::writing(&out, e))
    });
    // Ends when the blocking job drops its sender.
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Start(stage, total) => progress.start(&stage, total),
            Event::Advance(n) => progress.advance(n),
            Event::Finish => progress.finish(),
        }
    }
    join(job).await
}

/// SHA-256 (hex) and size of a file.
pub(super) async fn sha256(path: &Path) -> Result<(String, u64), BackupError> {
    let path = path.to_path_buf();
    blocking(move || crate::archive::sha256_file(&path)).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    join(tokio::task::spawn_blocking(f)).await
}

async fn join<T>(job: tokio::task::JoinHandle<Result<T, BackupError>>) -> Result<T, BackupError> {
    job.await.map_err(|e| {
        BackupError::Io(std::io::Error::other(format!(
            "the backup task stopped unexpectedly: {e}"
        )))
    })?
}
