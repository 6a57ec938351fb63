//! The shop's plugins inside `serve` (and the demo): the service over `DATA_DIR/plugins`, the
//! owners' email when one is switched off, and a check every minute that each running plugin's
//! module file is still the one approved (a swapped file switches the plugin off).

use std::sync::Arc;
use std::time::Duration;

use storefort_plugins::service::Notifier;
use storefort_plugins::PluginService;
use storefort_store::Db;

use crate::config::Config;
use crate::setup::CliResult;

/// How often module files are checked against their approved hashes.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Where the modules live.
pub fn plugins_dir(cfg: &Config) -> std::path::PathBuf {
    cfg.data_dir.join("plugins")
}

/// Open the plugin service (no notifier: for commands that only read or change the list).
pub async fn open_quiet(cfg: &Config, db: &Db) -> CliResult<Arc<PluginService>> {
    Ok(PluginService::open(db.clone(), plugins_dir(cfg), None).await?)
}

/// Open the plugin service for the server and start the minute check.
pub async fn start(
    cfg: &Config,
    db: &Db,
    smtp: Option<storefort_web::mail::SmtpConfig>,
) -> CliResult<Arc<PluginService>> {
    let shop = cfg.shop.name.clone();
    let mail_db = db.clone();
    let notifier: Notifier = Arc::new(move |subject: String, body: String| {
        let (db, smtp, shop) = (mail_db.clone(), smtp.clone(), shop.clone());
        tokio::spawn(async move {
            let subject = format!("{shop}: {subject}");
            crate::owner_mail::email_owners(&db, smtp.as_ref(), &subject, &body).await;
        });
    });
    let svc = PluginService::open(db.clone(), plugins_dir(cfg), Some(notifier)).await?;
    let n = svc.running();
    if n > 0 {
        tracing::info!(running = n, "plugins loaded");
    }
    let watched = Arc::downgrade(&svc);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(svc) = watched.upgrade() else { return };
            if let Err(e) = svc.refresh().await {
                tracing::warn!(error = %e, "plugin check failed");
            }
        }
    });
    Ok(svc)
}
