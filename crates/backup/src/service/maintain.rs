//! Looking after what is stored: retention pruning, listing, and re-checking the newest copy.

use storefort_store::audit::{AuditEvent, Outcome};

use super::BackupService;
use crate::dest::StoredBackup;
use crate::retention::to_keep;
use crate::settings::{BackupSettings, BackupStatus};
use crate::BackupError;

/// What a prune deleted, and where it could not.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// (destination, file) deleted: aged out by retention, or an interrupted upload.
    pub deleted: Vec<(String, String)>,
    /// (destination, reason) where listing or deleting failed; the rest was still pruned.
    pub errors: Vec<(String, String)>,
}

/// What re-checking the newest backup on each destination found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// (destination, the backup checked or why the check failed).
    pub destinations: Vec<(String, Result<String, String>)>,
}

impl CheckReport {
    /// True when every destination's newest backup matched its checksum.
    pub fn ok(&self) -> bool {
        self.destinations.iter().all(|(_, r)| r.is_ok())
    }

    /// One line for people: each destination's result.
    pub fn note(&self) -> String {
        self.destinations
            .iter()
            .map(|(n, r)| match r {
                Ok(b) => format!("{n}: {b} ok"),
                Err(e) => format!("{n}: {e}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl BackupService {
    /// Apply retention on every destination and delete interrupted uploads. Audits
    /// `backup.pruned` when anything was deleted. A destination that fails is reported in
    /// the result; the others are still pruned.
    pub async fn prune(&self) -> Result<PruneReport, BackupError> {
        let settings = BackupSettings::load(&self.db).await?;
        let now = self.db.now();
        let mut report = PruneReport::default();
        for d in &self.destinations {
            // One scan: what is kept and what is deleted come from the same view.
            let (backups, incomplete) = match d.scan().await {
                Ok(v) => v,
                Err(e) => {
                    report.errors.push((d.name.clone(), super::reason_of(e)));
                    continue;
                }
            };
            let created: Vec<i64> = backups.iter().map(|b| b.created_at).collect();
            let keep = to_keep(&created, now, &settings);
            let doomed = backups
                .iter()
                .filter(|b| !keep.contains(&b.created_at))
                .map(|b| b.name.clone())
                .chain(incomplete);
            for name in doomed {
                match d.delete(&name).await {
                    Ok(()) => report.deleted.push((d.name.clone(), name)),
                    Err(e) => report.errors.push((d.name.clone(), super::reason_of(e))),
                }
            }
        }
        if !report.deleted.is_empty() {
            let names: Vec<String> = report
                .deleted
                .iter()
                .map(|(d, n)| format!("{d}/{n}"))
                .collect();
            self.audit(
                AuditEvent::new("backup.pruned", "system", "").details(format!(
                    "{} deleted: {}",
                    names.len(),
                    names.join(", ")
                )),
            )
            .await;
        }
        Ok(report)
    }

    /// Every destination's complete backups (newest first), or why they could not be listed.
    pub async fn list(&self) -> Vec<(String, Result<Vec<StoredBackup>, String>)> {
        let lists = futures::future::join_all(self.destinations.iter().map(|d| d.list())).await;
        self.destinations
            .iter()
            .zip(lists)
            .map(|(d, r)| (d.name.clone(), r.map_err(super::reason_of)))
            .chain(
                self.broken
                    .iter()
                    .map(|(n, why)| (n.clone(), Err(why.clone()))),
            )
            .collect()
    }

    /// Re-read the newest backup on each destination and compare it with its recorded size
    /// and SHA-256; records `last_check_*` in the status. Problems are in the report (and
    /// [`CheckReport::ok`] is false); an error means the check itself could not run.
    pub async fn check_latest(&self) -> Result<CheckReport, BackupError> {
        let mut destinations = Vec::new();
        for d in &self.destinations {
            let r = match d.list().await {
                Err(e) => Err(super::reason_of(e)),
                Ok(list) => match list.first() {
                    None => Err("no complete backup is stored there".to_string()),
                    Some(b) => d
                        .check(b)
                        .await
                        .map(|()| b.name.clone())
                        .map_err(super::reason_of),
                },
            };
            destinations.push((d.name.clone(), r));
        }
        for (name, why) in &self.broken {
            destinations.push((name.clone(), Err(why.clone())));
        }
        let report = CheckReport { destinations };
        let (now, ok, note) = (self.db.now(), report.ok(), report.note());
        BackupStatus::update(&self.db, |s| {
            s.last_check_at = Some(now);
            s.last_check_ok = Some(ok);
            s.last_check_note = Some(note.clone());
        })
        .await?;
        if !ok {
            self.audit(
                AuditEvent::new("backup.check_failed", "system", "")
                    .outcome(Outcome::Failure)
                    .details(note),
            )
            .await;
        }
        Ok(report)
    }
}
