//! Backup configuration: the `[backup]` table of storefort.toml (recipients and destinations,
//! which need a restart to change), the schedule and retention kept in the database (changed
//! from admin), and the status the scheduler records for admin and doctor.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use storefort_store::Db;

use crate::BackupError;

/// One place backups are sent to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DestinationConfig {
    /// Short name shown in admin and used for its secret (`backup.<name>.secret_access_key`).
    pub name: String,
    /// Where it is.
    #[serde(flatten)]
    pub kind: DestinationKind,
}

/// A local directory or an S3-compatible bucket.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DestinationKind {
    /// A directory on this machine (or a mounted disk); relative paths are under the data dir.
    Local {
        /// The directory (created 0700 if missing).
        path: PathBuf,
    },
    /// S3 or an S3-compatible service (MinIO, Backblaze B2, Wasabi...).
    S3 {
        /// The bucket; it must exist.
        bucket: String,
        /// A folder inside the bucket, e.g. `shop1/`.
        #[serde(default)]
        prefix: String,
        /// The region (`us-east-1` if not given).
        #[serde(default)]
        region: Option<String>,
        /// The service URL for non-AWS providers, e.g. `https://s3.eu-central-003.backblazeb2.com`.
        #[serde(default)]
        endpoint: Option<String>,
        /// The access key ID (else env `AWS_ACCESS_KEY_ID`); the secret lives in the vault.
        #[serde(default)]
        access_key_id: Option<String>,
        /// Allow a plain `http://` endpoint (tests, a MinIO on the local network).
        #[serde(default)]
        allow_http: bool,
    },
}

/// The `[backup]` table of storefort.toml.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// age recipients (`age1...`) backups are encrypted to; the identities stay offline.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Where backups go; several for the 3-2-1 rule.
    #[serde(default)]
    pub destinations: Vec<DestinationConfig>,
}

impl BackupConfig {
    /// Check the table; the error names the field (`backup.destinations[1].bucket`).
    pub fn validate(&self) -> Result<(), BackupError> {
        for r in &self.recipients {
            crate::keys::parse_recipient(r)?;
        }
        if !self.recipients.is_empty() && self.destinations.is_empty() {
            return Err(BackupError::Invalid(
                "backup.destinations: a recipient is set but there is no destination: add one, \
                 e.g. [[backup.destinations]] name = \"local\", kind = \"local\", path = \"backups\""
                    .into(),
            ));
        }
        let mut seen = HashSet::new();
        for (i, d) in self.destinations.iter().enumerate() {
            let field = format!("backup.destinations[{i}]");
            if !valid_name(&d.name) {
                return Err(BackupError::Invalid(format!(
                    "{field}.name: {:?} is not a usable name: use 1 to 32 lowercase letters, digits, '-' or '_'",
                    d.name
                )));
            }
            if !seen.insert(d.name.as_str()) {
                return Err(BackupError::Invalid(format!(
                    "{field}.name: {:?} is used by two destinations: give each its own name",
                    d.name
                )));
            }
            validate_kind(&field, &d.kind)?;
        }
        Ok(())
    }
}

fn validate_kind(field: &str, kind: &DestinationKind) -> Result<(), BackupError> {
    let bad = |f: &str, why: &str| Err(BackupError::Invalid(format!("{field}.{f}: {why}")));
    match kind {
        DestinationKind::Local { path } => {
            if path.as_os_str().is_empty() {
                return bad(
                    "path",
                    "is empty: give the directory backups are written to",
                );
            }
        }
        DestinationKind::S3 {
            bucket,
            prefix,
            endpoint,
            allow_http,
            ..
        } => {
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !bucket_ok {
                return bad(
                    "bucket",
                    "is not a bucket name: 3 to 63 lowercase letters, digits, '-' or '.'",
                );
            }
            if prefix.split('/').any(|s| s == "." || s == "..") || prefix.contains('\\') {
                return bad("prefix", "must be a plain folder name such as \"shop1/\"");
            }
            if let Some(e) = endpoint {
                let http = e.starts_with("http://");
                if !http && !e.starts_with("https://") {
                    return bad("endpoint", "must start with https:// (or http://)");
                }
                if http && !allow_http {
                    return bad(
                        "endpoint",
                        "is plain http: backups would travel unprotected; use https, or set allow_http = true for a server on your own network",
                    );
                }
            }
        }
    }
    Ok(())
}

/// A destination name: `[a-z0-9_-]{1,32}`.
pub fn valid_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The database setting holding [`BackupSettings`] (JSON).
pub const SETTINGS_KEY: &str = "backup.settings";
/// The database setting holding [`BackupStatus`] (JSON).
pub const STATUS_KEY: &str = "backup.status";

/// Schedule and retention, changed from admin.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct BackupSettings {
    /// Minutes between scheduled backups (5..=1440, default 60).
    pub interval_minutes: u32,
    /// Hourly backups kept (0..=1000, default 24).
    pub keep_hourly: u32,
    /// Daily backups kept (0..=1000, default 14).
    pub keep_daily: u32,
    /// Weekly backups kept (0..=1000, default 8).
    pub keep_weekly: u32,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            interval_minutes: 60,
            keep_hourly: 24,
            keep_daily: 14,
            keep_weekly: 8,
        }
    }
}

impl BackupSettings {
    /// Check the ranges; the error names the field.
    pub fn validate(&self) -> Result<(), BackupError> {
        if !(5..=1440).contains(&self.interval_minutes) {
            return Err(BackupError::Invalid(format!(
                "interval_minutes: {} is out of range: back up every 5 to 1440 minutes (one day)",
                self.interval_minutes
            )));
        }
        for (field, v) in [
            ("keep_hourly", self.keep_hourly),
            ("keep_daily", self.keep_daily),
            ("keep_weekly", self.keep_weekly),
        ] {
            if v > 1000 {
                return Err(BackupError::Invalid(format!(
                    "{field}: {v} is out of range: keep 0 to 1000"
                )));
            }
        }
        if self.keep_hourly + self.keep_daily + self.keep_weekly < 3 {
            return Err(BackupError::Invalid(format!(
                "keep_hourly: keeping {} backup(s) in all leaves nothing to go back to when the \
                 newest is bad; keep at least 3 (hourly, daily and weekly together)",
                self.keep_hourly + self.keep_daily + self.keep_weekly
            )));
        }
        Ok(())
    }

    /// The stored settings, or the defaults when none were saved.
    pub async fn load(db: &Db) -> Result<Self, BackupError> {
        match db.setting(SETTINGS_KEY).await? {
            None => Ok(Self::default()),
            Some(s) => {
                let v: Self = serde_json::from_str(&s).map_err(|e| {
                    BackupError::Invalid(format!(
                        "the stored backup settings are unreadable ({e}): save them again in admin"
                    ))
                })?;
                // Values changed outside the admin form (e.g. an interval of 0) are refused
                // rather than obeyed.
                v.validate().map_err(|e| {
                    BackupError::Invalid(format!(
                        "the stored backup settings are out of range ({e}): save them again in admin"
                    ))
                })?;
                Ok(v)
            }
        }
    }

    /// Validate and store.
    pub async fn save(&self, db: &Db) -> Result<(), BackupError> {
        self.validate()?;
        db.set_setting(SETTINGS_KEY, &to_json(self)?).await?;
        Ok(())
    }
}

/// What the last backup, check and verify did (UTC ms); shown in admin, read by doctor.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(default)]
pub struct BackupStatus {
    /// When a backup was last started.
    pub last_attempt_at: Option<i64>,
    /// When a backup last reached at least one destination.
    pub last_success_at: Option<i64>,
    /// Its file name.
    pub last_success_name: Option<String>,
    /// When a backup (or one of its destinations) last failed.
    pub last_failure_at: Option<i64>,
    /// Why.
    pub last_failure_reason: Option<String>,
    /// When the newest stored backups were last re-read and checked.
    pub last_check_at: Option<i64>,
    /// Whether every destination passed.
    pub last_check_ok: Option<bool>,
    /// What the check found.
    pub last_check_note: Option<String>,
    /// When a backup was last fully verified (decrypted and restored into a scratch database).
    pub last_verify_at: Option<i64>,
    /// Whether it passed.
    pub last_verify_ok: Option<bool>,
    /// What it found.
    pub last_verify_note: Option<String>,
}

/// Serialises read-modify-write of the status in this process (the scheduler, admin and the
/// CLI may record at the same time).
static STATUS_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl BackupStatus {
    /// Why the newest backup run is not fully good: it failed, or it was stored on some
    /// destinations only (the failure is recorded at the same time as the success), or the
    /// last re-read of the stored copies failed. `None` when all is well.
    pub fn problem(&self) -> Option<String> {
        if self.last_failure_at.is_some() && self.last_failure_at >= self.last_success_at {
            return Some(self.last_failure_reason.clone().unwrap_or_default());
        }
        if self.last_check_ok == Some(false) {
            return Some(format!(
                "the last check of the stored copies failed: {}",
                self.last_check_note.clone().unwrap_or_default()
            ));
        }
        None
    }

    /// The stored status (empty when nothing ran yet; unreadable counts as empty: it is only
    /// a record and will be rewritten by the next run).
    pub async fn load(db: &Db) -> Result<Self, BackupError> {
        Ok(db
            .setting(STATUS_KEY)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Store it as is.
    pub async fn save(&self, db: &Db) -> Result<(), BackupError> {
        db.set_setting(STATUS_KEY, &to_json(self)?).await?;
        Ok(())
    }

    /// Load, change with `f`, save; serialised with other updates in this process.
    pub async fn update(db: &Db, f: impl FnOnce(&mut BackupStatus)) -> Result<(), BackupError> {
        let _guard = STATUS_LOCK.lock().await;
        let mut s = Self::load(db).await?;
        f(&mut s);
        s.save(db).await
    }

    /// Record a full verify's result (now, from the database clock).
    pub async fn record_verify(db: &Db, ok: bool, note: &str) -> Result<(), BackupError> {
        let now = db.now();
        Self::update(db, |s| {
            s.last_verify_at = Some(now);
            s.last_verify_ok = Some(ok);
            s.last_verify_note = Some(note.to_string());
        })
        .await
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, BackupError> {
    serde_json::to_string(v)
        .map_err(|e| BackupError::Invalid(format!("cannot store settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_like_table_parses_both_kinds() {
        let cfg: BackupConfig = serde_json::from_value(serde_json::json!({
            "destinations": [
                {"name": "local", "kind": "local", "path": "backups"},
                {"name": "offsite", "kind": "s3", "bucket": "shop-backups", "endpoint": "https://s3.example.com"}
            ]
        }))
        .unwrap();
        assert_eq!(
            cfg.destinations[0].kind,
            DestinationKind::Local {
                path: "backups".into()
            }
        );
        assert!(
            matches!(cfg.destinations[1].kind, DestinationKind::S3 { ref prefix, allow_http: false, .. } if prefix.is_empty())
        );
        cfg.validate().unwrap();
        let bad = serde_json::from_value::<BackupConfig>(serde_json::json!({"recipient": []}));
        assert!(bad.is_err(), "unknown fields are refused");
    }

    #[test]
    fn settings_defaults_and_partial_json() {
        let s: BackupSettings = serde_json::from_str(r#"{"keep_daily": 3}"#).unwrap();
        assert_eq!(s.keep_daily, 3);
        assert_eq!(s.interval_minutes, 60);
        assert!(BackupSettings::default().validate().is_ok());
    }
}
