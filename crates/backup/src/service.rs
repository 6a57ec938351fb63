//! The backup service: create (snapshot, pack, encrypt, upload everywhere, verify), prune by
//! retention, list and check what is stored. Used by `serve`'s scheduler, admin and the CLI.

mod maintain;
mod work;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::Db;

use crate::dest::{backup_name, Destination};
use crate::progress::Progress;
use crate::settings::{BackupConfig, BackupStatus, DestinationKind};
use crate::BackupError;

pub use maintain::{CheckReport, PruneReport};

/// Makes backups of one shop to its configured destinations. The caller shares it in an `Arc`.
pub struct BackupService {
    db: Db,
    db_url: String,
    shop_name: String,
    work_dir: PathBuf,
    recipients: Vec<age::x25519::Recipient>,
    destinations: Vec<Destination>,
    /// Destinations that could not be set up (a missing S3 key, a directory that cannot be
    /// made), with why: every run reports them as failed, and the others still work.
    broken: Vec<(String, String)>,
    /// The erasure ledger file, copied beside the backups after each one.
    erasure_ledger: Option<PathBuf>,
    /// Held while a backup runs: one at a time per process.
    running: tokio::sync::Mutex<()>,
}

impl BackupService {
    /// The ledger to every destination that took the backup. A failure is logged, not fatal:
    /// the backup itself is good, and the next one tries again.
    async fn copy_ledger(&self, outcomes: &[(String, Result<(), String>)]) {
        let Some(path) = &self.erasure_ledger else {
            return;
        };
        let text = match tokio::fs::read(path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::warn!(error = %e, "erasure ledger not readable; not copied");
                return;
            }
        };
        for d in &self.destinations {
            let took = outcomes.iter().any(|(n, r)| n == &d.name && r.is_ok());
            if took {
                if let Err(e) = d.put_ledger(&text).await {
                    tracing::warn!(destination = %d.name, error = %e, "erasure ledger not copied");
                }
            }
        }
    }
}

/// What one backup did.
#[derive(Debug, Clone)]
pub struct CreateReport {
    /// The backup's file name.
    pub name: String,
    /// Its size in bytes (encrypted).
    pub size: u64,
    /// How long the whole run took.
    pub took: Duration,
    /// Each destination's outcome: stored and verified, or why not.
    pub destinations: Vec<(String, Result<(), String>)>,
}

impl CreateReport {
    /// The destinations that failed, with their reasons, as one line.
    pub fn failures(&self) -> Option<String> {
        let failed: Vec<String> = self
            .destinations
            .iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
            .collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }
}

impl BackupService {
    /// Set up from the `[backup]` config. An S3 destination's secret key comes from the vault
    /// (`backup.<name>.secret_access_key`), else env `AWS_SECRET_ACCESS_KEY`. `work_dir` holds
    /// the temporary snapshot and archive; `base_dir` anchors relative local destinations.
    pub async fn new(
        db: Db,
        db_url: String,
        shop_name: String,
        work_dir: PathBuf,
        cfg: &BackupConfig,
        base_dir: &Path,
    ) -> Result<Self, BackupError> {
        if cfg.recipients.is_empty() {
            return Err(BackupError::Invalid(
                "no backup recipient: run `storefort backup new-identity`, keep the recovery kit it prints offline, and put its age1... recipient in [backup] recipients of storefort.toml".into(),
            ));
        }
        cfg.validate()?;
        let recipients = cfg
            .recipients
            .iter()
            .map(|r| crate::keys::parse_recipient(r))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut destinations, mut broken) = (Vec::new(), Vec::new());
        for d in &cfg.destinations {
            let secret = match d.kind {
                DestinationKind::S3 { .. } => db
                    .secret(&format!("backup.{}.secret_access_key", d.name))
                    .await?
                    .or_else(|| std::env::var("AWS_SECRET_ACCESS_KEY").ok()),
                DestinationKind::Local { .. } => None,
            };
            match Destination::open(d, base_dir, secret) {
                Ok(dest) => destinations.push(dest),
                Err(e) => {
                    tracing::error!(destination = %d.name, error = %e, "backup destination not usable");
                    broken.push((d.name.clone(), reason_of(e)));
                }
            }
        }
        Ok(Self {
            db,
            db_url,
            shop_name,
            work_dir,
            recipients,
            destinations,
            broken,
            erasure_ledger: None,
            running: tokio::sync::Mutex::new(()),
        })
    }

    /// The destinations, in config order.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// Copy this erasure ledger (`erasures.log`) to every destination after each backup, so
    /// that a restore on a new machine can re-apply erasures made after the backup it restores.
    pub fn with_erasure_ledger(mut self, path: PathBuf) -> Self {
        self.erasure_ledger = Some(path);
        self
    }

    /// Destinations that could not be set up, with why.
    pub fn broken(&self) -> &[(String, String)] {
        &self.broken
    }

    /// The destination called `name`.
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }

    /// The database backed up.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// True while a backup is running in this process.
    pub fn is_running(&self) -> bool {
        self.running.try_lock().is_err()
    }

    /// Make a backup and store it on every destination. It succeeds when at least one
    /// destination verified its copy; each destination's outcome is in the report. The status
    /// is recorded and the run audited (`backup.created` / `backup.failed`) as `actor`.
    pub async fn create(
        &self,
        actor: &str,
        progress: &dyn Progress,
    ) -> Result<CreateReport, BackupError> {
        let Ok(_one_at_a_time) = self.running.try_lock() else {
            return Err(BackupError::Invalid(
                "a backup is already running: wait for it to finish".into(),
            ));
        };
        let started = Instant::now();
        let attempt_at = self.db.now();
        self.record(|s| s.last_attempt_at = Some(attempt_at)).await;
        match self.create_stored(progress, started).await {
            Ok(report) => {
                let now = self.db.now();
                let failures = report.failures();
                self.record(|s| {
                    s.last_success_at = Some(now);
                    s.last_success_name = Some(report.name.clone());
                    if let Some(f) = &failures {
                        s.last_failure_at = Some(now);
                        s.last_failure_reason = Some(format!(
                            "{} was stored, but not everywhere: {f}",
                            report.name
                        ));
                    }
                })
                .await;
                let ok: Vec<&str> = report
                    .destinations
                    .iter()
                    .filter(|(_, r)| r.is_ok())
                    .map(|(n, _)| n.as_str())
                    .collect();
                let details = serde_json::json!({
                    "size": report.size,
                    "ok": ok,
                    "failed": failures,
                });
                self.audit(
                    AuditEvent::new("backup.created", actor, "")
                        .on(&report.name)
                        .details(details.to_string()),
                )
                .await;
                Ok(report)
            }
            Err(e) => {
                let now = self.db.now();
                let reason = e.to_string();
                self.record(|s| {
                    s.last_failure_at = Some(now);
                    s.last_failure_reason = Some(reason.clone());
                })
                .await;
                self.audit(
                    AuditEvent::new("backup.failed", actor, "")
                        .outcome(Outcome::Failure)
                        .details(reason),
                )
                .await;
                Err(e)
            }
        }
    }

    /// Snapshot, pack and upload; temp files are removed whatever happens.
    async fn create_stored(
        &self,
        progress: &dyn Progress,
        started: Instant,
    ) -> Result<CreateReport, BackupError> {
        work::prepare_work_dir(&self.work_dir).await?;
        let snap_dir = tempfile::Builder::new()
            .prefix(".backup-")
            .tempdir_in(&self.work_dir)
            .map_err(|e| BackupError::writing(&self.work_dir, e))?;
        progress.start("snapshot", None);
        let manifest =
            crate::snapshot::take(&self.db, &self.db_url, &self.shop_name, snap_dir.path()).await;
        progress.finish();
        let manifest = manifest?;
        let name = backup_name(manifest.created_at);
        let partial = work::TempFile(self.work_dir.join(format!("{name}.partial")));
        work::write_archive(
            &partial.0,
            self.recipients.clone(),
            manifest,
            snap_dir.path(),
            progress,
        )
        .await?;
        // The snapshot is inside the archive now: free its space before uploading.
        drop(snap_dir);
        let (sha256, size) = work::sha256(&partial.0).await?;

        let mut destinations = Vec::new();
        for d in &self.destinations {
            let r = d.upload(&partial.0, &name, &sha256, size, progress).await;
            destinations.push((d.name.clone(), r.map_err(reason_of)));
        }
        for (name, why) in &self.broken {
            destinations.push((name.clone(), Err(why.clone())));
        }
        self.copy_ledger(&destinations).await;
        let report = CreateReport {
            name,
            size,
            took: started.elapsed(),
            destinations,
        };
        if report.destinations.iter().any(|(_, r)| r.is_ok()) {
            return Ok(report);
        }
        if let [(name, Err(reason))] = report.destinations.as_slice() {
            return Err(BackupError::Destination {
                name: name.clone(),
                reason: reason.clone(),
            });
        }
        let names: Vec<&str> = report
            .destinations
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        Err(BackupError::Destination {
            name: names.join(", "),
            reason: format!(
                "no destination took the backup ({})",
                report.failures().unwrap_or_default()
            ),
        })
    }

    /// Change the recorded status; a failure to record is logged, not raised: it must not turn
    /// a good backup into a reported failure.
    async fn record(&self, f: impl FnOnce(&mut BackupStatus)) {
        if let Err(e) = BackupStatus::update(&self.db, f).await {
            tracing::error!(error = %e, "could not record the backup status");
        }
    }

    async fn audit(&self, ev: AuditEvent) {
        if let Err(e) = self.db.audit(ev).await {
            tracing::error!(error = %e, "could not audit a backup event");
        }
    }
}

/// A destination error's reason without the "destination NAME:" the report already shows.
fn reason_of(e: BackupError) -> String {
    match e {
        BackupError::Destination { reason, .. } => reason,
        e => e.to_string(),
    }
}
