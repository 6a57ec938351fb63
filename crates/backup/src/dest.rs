//! Destinations: a local directory or an S3-compatible bucket, both behind `object_store`.
//!
//! A backup counts as stored only once its sidecar `<name>.sha256` exists: the sidecar is
//! written last, after the uploaded object was read back and matched size and SHA-256. A
//! failed or interrupted upload therefore never lists as good, and leftovers without a sidecar
//! are pruned later ([`Destination::incomplete`]).

mod ledger;
mod names;
mod open;
mod read;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

pub use names::{backup_name, check_name, parse_name};

use crate::progress::Progress;
use crate::BackupError;

/// Upload part size: S3 needs at least 5 MiB per part; 8 MiB keeps memory small.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once; bounds memory to about this many parts.
const PARTS_IN_FLIGHT: usize = 2;
/// A backup without a sidecar younger than this may still be uploading (another process).
const INCOMPLETE_AFTER_MS: i64 = 3_600_000;

/// One configured place backups go to.
#[derive(Clone)]
pub struct Destination {
    /// Its name from the config.
    pub name: String,
    /// True for S3 (another machine, ideally another provider); doctor wants one.
    pub offsite: bool,
    /// Where it is, for people: a directory or `s3://bucket/prefix`.
    pub location: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The directory of a local destination, to fsync what was written.
    local_dir: Option<PathBuf>,
}

/// A complete backup on a destination (one with a sidecar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredBackup {
    /// The file name, `storefort-20261121T200512Z.sfbak`.
    pub name: String,
    /// When it was taken (UTC ms).
    pub created_at: i64,
    /// Its size in bytes, as recorded when it was verified.
    pub size: u64,
    /// Its SHA-256, as recorded when it was verified.
    pub sha256: String,
}

/// The sidecar `<name>.sha256`: what the upload verified.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    sha256: String,
    size: u64,
    created_at: i64,
}

impl std::fmt::Debug for Destination {
    // Only what people need: the store's internals (clients, credentials) stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("offsite", &self.offsite)
            .field("location", &self.location)
            .finish()
    }
}

impl Destination {
    /// The object key of a file on this destination.
    fn key(&self, file: &str) -> ObjectPath {
        self.prefix.child(file)
    }

    fn fail(&self, reason: impl Into<String>) -> BackupError {
        BackupError::Destination {
            name: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Upload `local` as `name` (streaming multipart), read it back and compare size and
    /// SHA-256 with `size`/`sha256`, and only then write its sidecar. On any failure whatever
    /// was written is deleted (best effort) and nothing lists as good.
    pub async fn upload(
        &self,
        local: &Path,
        name: &str,
        sha256: &str,
        size: u64,
        progress: &dyn Progress,
    ) -> Result<(), BackupError> {
        let created_at = check_name(name)?;
        // Never replace a backup of the same name (two made in the same second, e.g. by
        // `storefort backup create` beside the schedule): a failed second upload would delete
        // the good first one.
        match self.store.head(&self.key(name)).await {
            Err(object_store::Error::NotFound { .. }) => {}
            Ok(_) => {
                return Err(self.fail(format!(
                    "a backup named {name} is already there; try again in a second"
                )))
            }
            Err(e) => return Err(self.fail(format!("cannot look for {name}: {e}"))),
        }
        let result = self
            .upload_verified(local, name, sha256, size, created_at, progress)
            .await;
        if let Err(reason) = result {
            // The sidecar first: without it a leftover object is never taken for good.
            let _ = self.store.delete(&self.key(&sidecar_name(name))).await;
            let _ = self.store.delete(&self.key(name)).await;
            return Err(self.fail(format!(
                "{name} was not stored: {reason}; nothing was kept there"
            )));
        }
        Ok(())
    }

    async fn upload_verified(
        &self,
        local: &Path,
        name: &str,
        sha256: &str,
        size: u64,
        created_at: i64,
        progress: &dyn Progress,
    ) -> Result<(), String> {
        let key = self.key(name);
        // An older sidecar of the same name would vouch for the new, unverified bytes.
        match self.store.delete(&self.key(&sidecar_name(name))).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(format!("cannot replace the old checksum file: {e}")),
        }
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| format!("the upload could not start: {e}"))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        progress.start(&format!("upload {}", self.name), Some(size));
        let sent = send(&mut file, &mut w, progress).await;
        progress.finish();
        let (sent, local_sha) = match sent {
            Ok(v) => v,
            Err(e) => {
                let _ = w.abort().await;
                return Err(e);
            }
        };
        if sent != size || local_sha != sha256 {
            let _ = w.abort().await;
            return Err(format!(
                "{} changed while it was uploaded (expected {size} bytes)",
                local.display()
            ));
        }
        w.finish()
            .await
            .map_err(|e| format!("the upload did not complete: {e}"))?;
        self.sync_local(name).await?;

        progress.start(&format!("verify {}", self.name), Some(size));
        let read = self.read_back(&key, progress).await;
        progress.finish();
        let (got_size, got_sha) = read.map_err(|e| format!("reading it back failed: {e}"))?;
        if got_size != size || got_sha != sha256 {
            return Err(format!(
                "the stored copy does not match: {got_size} bytes with SHA-256 {got_sha}, \
                 sent {size} bytes with SHA-256 {sha256}"
            ));
        }
        let sidecar = Sidecar {
            sha256: sha256.to_string(),
            size,
            created_at,
        };
        let json = serde_json::to_vec(&sidecar).map_err(|e| e.to_string())?;
        self.store
            .put(&self.key(&sidecar_name(name)), PutPayload::from(json))
            .await
            .map_err(|e| format!("the checksum file could not be written: {e}"))?;
        self.sync_local(&sidecar_name(name)).await
    }

    /// Read an object to the end: its size and SHA-256.
    async fn read_back(
        &self,
        key: &ObjectPath,
        progress: &dyn Progress,
    ) -> Result<(u64, String), object_store::Error> {
        let mut stream = self.store.get(key).await?.into_stream();
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            n += chunk.len() as u64;
            progress.advance(chunk.len() as u64);
        }
        Ok((n, hex::encode(hasher.finalize())))
    }

    /// Make a local destination's new file durable (object_store renames without fsync).
    async fn sync_local(&self, file: &str) -> Result<(), String> {
        let Some(dir) = &self.local_dir else {
            return Ok(());
        };
        for p in [dir.join(file), dir.clone()] {
            let f = tokio::fs::File::open(&p)
                .await
                .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
            f.sync_all()
                .await
                .map_err(|e| format!("cannot flush {} to disk: {e}", p.display()))?;
        }
        Ok(())
    }

    /// The complete backups here (with a readable sidecar), newest first.
    pub async fn list(&self) -> Result<Vec<StoredBackup>, BackupError> {
        let (backups, _) = self.scan().await?;
        Ok(backups)
    }

    /// Backup files without a usable sidecar, older than an hour: interrupted uploads to prune.
    pub async fn incomplete(&self) -> Result<Vec<String>, BackupError> {
        let (_, incomplete) = self.scan().await?;
        Ok(incomplete)
    }

    /// List the prefix once: complete backups (newest first) and stale incomplete ones.
    pub async fn scan(&self) -> Result<(Vec<StoredBackup>, Vec<String>), BackupError> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.prefix))
            .await
            .map_err(|e| self.fail(format!("cannot list the backups: {e}")))?;
        let files: std::collections::HashSet<String> = listing
            .objects
            .iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect();
        let now = open::wall_clock_ms();
        let mut complete = Vec::new();
        let mut maybe_incomplete = Vec::new();
        for meta in &listing.objects {
            let Some(file) = meta.location.filename() else {
                continue;
            };
            if parse_name(file).is_none() {
                continue;
            }
            if files.contains(&sidecar_name(file)) {
                complete.push(file.to_string());
            } else if now - meta.last_modified.timestamp_millis() > INCOMPLETE_AFTER_MS {
                maybe_incomplete.push(file.to_string());
            }
        }
        let read: Vec<(String, Result<Option<Sidecar>, BackupError>)> =
            futures::stream::iter(complete)
                .map(|file| async move {
                    let side = self.sidecar_if_sound(&file).await;
                    (file, side)
                })
                .buffered(8)
                .collect()
                .await;
        let mut backups = Vec::new();
        for (file, side) in read {
            // A sidecar that could not be read (network, throttling) stops the scan: pruning
            // on a partial view could delete good backups.
            match side? {
                Some(s) => backups.push(StoredBackup {
                    name: file,
                    created_at: s.created_at,
                    size: s.size,
                    sha256: s.sha256,
                }),
                // A garbage sidecar vouches for nothing: after an hour the backup counts as an
                // interrupted upload.
                None => {
                    let old = listing.objects.iter().any(|m| {
                        m.location.filename() == Some(file.as_str())
                            && now - m.last_modified.timestamp_millis() > INCOMPLETE_AFTER_MS
                    });
                    if old {
                        maybe_incomplete.push(file);
                    }
                }
            }
        }
        backups.sort_by(|a, b| (b.created_at, &b.name).cmp(&(a.created_at, &a.name)));
        maybe_incomplete.sort();
        Ok((backups, maybe_incomplete))
    }

    /// The sidecar when it is there and sound; `None` when it is missing or damaged; an error
    /// only when it could not be read at all.
    async fn sidecar_if_sound(&self, name: &str) -> Result<Option<Sidecar>, BackupError> {
        match self.store.get(&self.key(&sidecar_name(name))).await {
            Ok(r) => match r.bytes().await {
                Ok(b) => Ok(parse_sidecar(&b)),
                Err(e) => Err(self.fail(format!("cannot read the checksum of {name}: {e}"))),
            },
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(format!("cannot read the checksum of {name}: {e}"))),
        }
    }

    async fn read_sidecar(&self, name: &str) -> Result<Sidecar, BackupError> {
        let bytes = match self.store.get(&self.key(&sidecar_name(name))).await {
            Ok(r) => r.bytes().await,
            Err(e) => Err(e),
        };
        let bytes = bytes.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                self.fail(format!("there is no complete backup named {name}"))
            }
            e => self.fail(format!("cannot read the checksum of {name}: {e}")),
        })?;
        let s: Sidecar = serde_json::from_slice(&bytes)
            .map_err(|_| self.fail(format!("the checksum file of {name} is damaged")))?;
        if s.sha256.len() != 64 || !s.sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.fail(format!("the checksum file of {name} is damaged")));
        }
        Ok(s)
    }

    /// Delete a backup: its sidecar first (so it stops counting), then the file.
    pub async fn delete(&self, name: &str) -> Result<(), BackupError> {
        check_name(name)?;
        for key in [self.key(&sidecar_name(name)), self.key(name)] {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail(format!("cannot delete {name}: {e}"))),
            }
        }
        Ok(())
    }
}

/// A sidecar's JSON, if it parses and holds a proper SHA-256.
fn parse_sidecar(bytes: &[u8]) -> Option<Sidecar> {
    let s: Sidecar = serde_json::from_slice(bytes).ok()?;
    (s.sha256.len() == 64 && s.sha256.bytes().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

fn sidecar_name(name: &str) -> String {
    format!("{name}.sha256")
}

/// Feed the file into the upload in order, waiting for part capacity so that memory stays at a
/// few parts; returns the bytes sent and their SHA-256.
async fn send(
    file: &mut tokio::fs::File,
    w: &mut WriteMultipart,
    progress: &dyn Progress,
) -> Result<(u64, String), String> {
    let mut buf = vec![0u8; 1024 * 1024];
    let mut hasher = Sha256::new();
    let mut sent = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading the backup file failed: {e}"))?;
        if n == 0 {
            break;
        }
        w.wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| format!("the upload failed: {e}"))?;
        hasher.update(&buf[..n]);
        w.write(&buf[..n]);
        sent += n as u64;
        progress.advance(n as u64);
    }
    Ok((sent, hex::encode(hasher.finalize())))
}
