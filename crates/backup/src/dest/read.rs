//! Reading stored backups back: checking them, downloading them, streaming them to admin.

use std::path::Path;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{check_name, Destination, Sidecar, StoredBackup};
use crate::BackupError;

impl Destination {
    /// Re-read a stored backup and compare its size and SHA-256 with its sidecar.
    pub async fn check(&self, b: &StoredBackup) -> Result<(), BackupError> {
        check_name(&b.name)?;
        let (size, sha) = match self
            .read_back(&self.key(&b.name), &crate::progress::NoProgress)
            .await
        {
            Ok(v) => v,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(self.fail(format!(
                "{} is listed but its file is missing: make a new backup (storefort backup create)",
                b.name
            )))
            }
            Err(e) => return Err(self.fail(format!("cannot read {}: {e}", b.name))),
        };
        if size != b.size || sha != b.sha256 {
            return Err(self.fail(format!(
                "{} is damaged: it has {size} bytes with SHA-256 {sha}, but {} bytes with SHA-256 {} \
                 were stored; use a copy from another destination, and make a new backup",
                b.name, b.size, b.sha256
            )));
        }
        Ok(())
    }

    /// Download a complete backup to `to` (streaming), checking it against its sidecar; a
    /// damaged download is removed.
    pub async fn fetch(&self, name: &str, to: &Path) -> Result<(), BackupError> {
        check_name(name)?;
        let side = self.read_sidecar(name).await?;
        let result = self.fetch_to(name, to, &side).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(to).await;
        }
        result
    }

    async fn fetch_to(&self, name: &str, to: &Path, side: &Sidecar) -> Result<(), BackupError> {
        let mut stream = self
            .store
            .get(&self.key(name))
            .await
            .map_err(|e| self.fail(format!("cannot read {name}: {e}")))?
            .into_stream();
        let mut out = tokio::fs::File::create(to)
            .await
            .map_err(|e| BackupError::writing(to, e))?;
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.fail(format!("reading {name} failed: {e}")))?;
            hasher.update(&chunk);
            n += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| BackupError::writing(to, e))?;
        }
        out.sync_all()
            .await
            .map_err(|e| BackupError::writing(to, e))?;
        let sha = hex::encode(hasher.finalize());
        if n != side.size || sha != side.sha256 {
            return Err(self.fail(format!(
                "{name} is damaged: it has {n} bytes with SHA-256 {sha}, but {} bytes with SHA-256 {} \
                 were stored; use a copy from another destination",
                side.size, side.sha256
            )));
        }
        Ok(())
    }

    /// Open a complete backup for streaming (the admin download): its size and its bytes.
    pub async fn open_read(
        &self,
        name: &str,
    ) -> Result<
        (
            u64,
            impl Stream<Item = Result<Bytes, BackupError>> + Send + 'static,
        ),
        BackupError,
    > {
        check_name(name)?;
        self.read_sidecar(name).await?;
        let got = self
            .store
            .get(&self.key(name))
            .await
            .map_err(|e| self.fail(format!("cannot read {name}: {e}")))?;
        let size = got.meta.size;
        let (dest, file) = (self.name.clone(), name.to_string());
        let stream = got
            .into_stream()
            .map_err(move |e| BackupError::Destination {
                name: dest.clone(),
                reason: format!("reading {file} failed: {e}"),
            });
        Ok((size, stream))
    }
}
