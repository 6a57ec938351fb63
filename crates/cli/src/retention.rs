//! The daily retention task `serve` and `demo` run: audit entries past
//! `security.audit_retention_days` are pruned, and guests inactive for
//! `privacy.guest_retention_months` are anonymized (each one audited, without personal data).

use std::time::Duration;

use storefort_store::audit::AuditEvent;
use storefort_store::Db;

use crate::config::Config;
use crate::setup::CliResult;

/// How often retention is applied.
const EVERY: Duration = Duration::from_secs(24 * 3600);
/// Most guests anonymized in one day's pass (the store takes them a thousand at a time).
const MAX_PER_PASS: usize = 100_000;

/// Apply retention now and then once a day, in the background.
pub fn spawn(db: Db, cfg: &Config) {
    let months = cfg.privacy.guest_retention_months;
    let keep_ms = cfg.privacy.guest_retention_ms();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match db.prune_audit().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "audit entries past retention removed"),
                Err(e) => tracing::error!(error = %e, "audit retention failed"),
            }
            match anonymize_guests(&db, months, keep_ms).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(anonymized = n, months, "inactive guests anonymized"),
                Err(e) => tracing::error!(error = %e, "guest data retention failed"),
            }
        }
    });
}

/// Anonymize every guest with no activity in the last `keep_ms`; audits each one
/// (`customer.anonymized` by `system`, the customer's id only). Returns how many.
pub async fn anonymize_guests(db: &Db, months: i64, keep_ms: i64) -> CliResult<usize> {
    let cutoff = db.now() - keep_ms;
    let details = format!("guest without activity for {months} months (privacy retention)");
    let mut done = 0;
    while done < MAX_PER_PASS {
        let ids = db.anonymize_guests_before(cutoff).await?;
        if ids.is_empty() {
            break;
        }
        for id in &ids {
            db.audit(
                AuditEvent::new("customer.anonymized", "system", "system")
                    .on(id.as_str())
                    .details(details.as_str()),
            )
            .await?;
        }
        done += ids.len();
    }
    Ok(done)
}
