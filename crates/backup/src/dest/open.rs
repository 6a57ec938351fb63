//! Opening a destination from its config: a local directory (created 0700) or an S3 bucket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use super::Destination;
use crate::settings::{DestinationConfig, DestinationKind};
use crate::BackupError;

impl Destination {
    /// Open a destination. A relative local path is taken under `base_dir` (the data dir) and
    /// created owner-only if missing. S3 needs an access key ID (config, else env
    /// `AWS_ACCESS_KEY_ID`) and `secret_access_key` (the caller reads the vault or env).
    pub fn open(
        cfg: &DestinationConfig,
        base_dir: &Path,
        secret_access_key: Option<String>,
    ) -> Result<Self, BackupError> {
        let fail = |reason: String| BackupError::Destination {
            name: cfg.name.clone(),
            reason,
        };
        match &cfg.kind {
            DestinationKind::Local { path } => {
                let dir = if path.is_absolute() {
                    path.clone()
                } else {
                    base_dir.join(path)
                };
                create_private_dir(&dir)
                    .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| fail(format!("cannot use {}: {e}", dir.display())))?;
                Ok(Destination {
                    name: cfg.name.clone(),
                    offsite: false,
                    location: dir.display().to_string(),
                    store: Arc::new(store),
                    prefix: ObjectPath::default(),
                    local_dir: Some(dir),
                })
            }
            DestinationKind::S3 {
                bucket,
                prefix,
                region,
                endpoint,
                access_key_id,
                allow_http,
            } => {
                let key_id = access_key_id
                    .clone()
                    .or_else(|| std::env::var("AWS_ACCESS_KEY_ID").ok())
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        BackupError::Invalid(format!(
                            "destination {}: no S3 access key ID: set access_key_id in its [[backup.destinations]] entry (or AWS_ACCESS_KEY_ID)",
                            cfg.name
                        ))
                    })?;
                let secret = secret_access_key.filter(|k| !k.is_empty()).ok_or_else(|| {
                    BackupError::Invalid(format!(
                        "destination {0}: no S3 secret access key: store it with `storefort secrets set backup.{0}.secret_access_key` (or set AWS_SECRET_ACCESS_KEY)",
                        cfg.name
                    ))
                })?;
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region.as_deref().unwrap_or("us-east-1"))
                    .with_access_key_id(key_id)
                    .with_secret_access_key(secret)
                    .with_allow_http(*allow_http)
                    .with_retry(retry())
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(*allow_http)
                            .with_connect_timeout(Duration::from_secs(10))
                            // One 8 MiB part must fit: ~30 KB/s at worst.
                            .with_timeout(Duration::from_secs(300)),
                    );
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e.trim_end_matches('/'));
                }
                let store = b
                    .build()
                    .map_err(|e| fail(format!("the S3 settings are not usable: {e}")))?;
                let prefix = prefix.trim_matches('/');
                Ok(Destination {
                    name: cfg.name.clone(),
                    offsite: true,
                    location: if prefix.is_empty() {
                        format!("s3://{bucket}")
                    } else {
                        format!("s3://{bucket}/{prefix}")
                    },
                    store: Arc::new(store),
                    prefix: ObjectPath::from(prefix),
                    local_dir: None,
                })
            }
        }
    }
}

/// Retry briefly: a flaky request is retried, an endpoint that is gone fails within seconds so
/// the other destinations and the owner's notice are not held up for minutes.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(120),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Backups are encrypted, but their names and sizes are nobody else's business either.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The machine's clock (UTC ms), for comparing with object modification times, which come
/// from the same clock (or the storage provider's), not the database's test clock.
pub(super) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
