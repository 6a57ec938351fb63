//! The backup schedule inside `serve` (and the demo): the shop's backup service, its timer, and
//! the email to the owners when a backup fails.

use std::sync::Arc;

use storefort_backup::service::BackupService;
use storefort_store::Db;

use crate::config::Config;
use crate::setup::CliResult;

/// Start the schedule when `[backup]` is set up; the service is returned for the admin page.
/// Without recipients, serve runs without backups (doctor and the admin page say so).
pub async fn start(cfg: &Config, db: &Db) -> CliResult<Option<Arc<BackupService>>> {
    let Some(svc) = crate::backup_cmd::service(cfg, db).await? else {
        tracing::warn!("backups are not set up: storefort.toml has no [backup] recipients");
        return Ok(None);
    };
    let mut smtp = cfg.smtp.clone();
    if let Some(s) = smtp.as_mut() {
        if s.password.is_none() {
            s.password = db.secret(crate::secrets_cmd::SMTP_PASSWORD).await?;
        }
    }
    let shop = cfg.shop.name.clone();
    let mail_db = db.clone();
    let on_failure: Arc<dyn Fn(String) + Send + Sync> = Arc::new(move |reason: String| {
        let db = mail_db.clone();
        let smtp = smtp.clone();
        let shop = shop.clone();
        tokio::spawn(async move { tell_owners(&db, smtp.as_ref(), &shop, &reason).await });
    });
    storefort_backup::schedule::spawn(svc.clone(), on_failure);
    Ok(Some(svc))
}

/// Email every enabled owner that a backup failed (logged when there is no SMTP).
async fn tell_owners(
    db: &Db,
    smtp: Option<&storefort_web::mail::SmtpConfig>,
    shop: &str,
    reason: &str,
) {
    tracing::error!(reason, "backup failed");
    let body = format!(
        "The scheduled backup of {shop} failed:\n\n  {reason}\n\n\
         Until this is fixed, the shop has no fresh backup. See admin > Backups, \
         `storefort backup create` on the server, and docs/BACKUPS.md.\n"
    );
    let subject = format!("{shop}: a backup failed");
    crate::owner_mail::email_owners(db, smtp, &subject, &body).await;
}
