//! The scheduler inside `serve`: back up every `interval_minutes`, prune after each backup,
//! re-check the newest stored backups once a day, and tell the owner when something failed.

use std::sync::Arc;
use std::time::Duration;

use crate::progress::NoProgress;
use crate::service::{BackupService, CheckReport, CreateReport, PruneReport};
use crate::settings::{BackupSettings, BackupStatus};
use crate::BackupError;

const DAY_MS: i64 = 24 * 3_600_000;

/// What one tick did.
#[derive(Debug)]
pub enum TickOutcome {
    /// No backup was due (or one was already running); nothing ran.
    NotDue,
    /// A backup ran; then pruning (after a success) and the daily check (when due).
    Ran {
        /// The backup, or why it failed.
        create: Result<CreateReport, String>,
        /// Retention, run after a successful backup.
        prune: Option<PruneReport>,
        /// The daily re-check of the newest backups, when it was due.
        check: Option<CheckReport>,
    },
}

/// Run [`tick`] every minute (the first after 30 s, so `serve` starts quickly) until aborted.
/// `on_failure` gets a message for the owner (the caller emails it).
pub fn spawn(
    svc: Arc<BackupService>,
    on_failure: Arc<dyn Fn(String) + Send + Sync>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = tick(&svc, on_failure.as_ref()).await {
                // The database itself failed; the next tick tries again.
                tracing::warn!(error = %e, "backup scheduler could not run");
            }
        }
    })
}

/// One scheduler step: back up when `interval_minutes` passed since the last attempt (by the
/// database clock), prune after a success, re-check the newest backups when a day passed since
/// the last check. Every failure is passed to `on_failure`.
pub async fn tick(
    svc: &BackupService,
    on_failure: &(dyn Fn(String) + Send + Sync),
) -> Result<TickOutcome, BackupError> {
    if svc.is_running() {
        // Someone pressed "run now": that run counts as this one.
        return Ok(TickOutcome::NotDue);
    }
    let settings = BackupSettings::load(svc.db()).await?;
    let status = BackupStatus::load(svc.db()).await?;
    let now = svc.db().now();
    let interval = i64::from(settings.interval_minutes) * 60_000;
    let due = match status.last_attempt_at {
        None => true,
        // A clock set back would otherwise stop backups until it caught up.
        Some(last) => now - last >= interval || last > now,
    };
    if !due {
        return Ok(TickOutcome::NotDue);
    }
    let create = svc.create("system", &NoProgress).await;
    if matches!(&create, Err(BackupError::Invalid(m)) if m.contains("already running")) {
        // "Run now" started between the check above and this call: that run counts.
        return Ok(TickOutcome::NotDue);
    }
    let mut prune = None;
    let create = match create {
        Ok(report) => {
            if let Some(f) = report.failures() {
                on_failure(format!(
                    "The backup {} was stored, but not on every destination: {f}",
                    report.name
                ));
            }
            let p = svc.prune().await?;
            if !p.errors.is_empty() {
                let errs: Vec<String> = p.errors.iter().map(|(d, e)| format!("{d}: {e}")).collect();
                on_failure(format!(
                    "Old backups could not be pruned: {}",
                    errs.join("; ")
                ));
            }
            prune = Some(p);
            Ok(report)
        }
        Err(e) => {
            on_failure(format!("The scheduled backup failed: {e}"));
            Err(e.to_string())
        }
    };
    let check_due = status
        .last_check_at
        .is_none_or(|last| now - last >= DAY_MS || last > now);
    let check = if check_due {
        let c = svc.check_latest().await?;
        if !c.ok() {
            on_failure(format!(
                "The daily check of the stored backups failed: {}",
                c.note()
            ));
        }
        Some(c)
    } else {
        None
    };
    Ok(TickOutcome::Ran {
        create,
        prune,
        check,
    })
}
