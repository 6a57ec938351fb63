//! The outbox worker: every few seconds it takes the due emails from the store's outbox, sends
//! each as text + HTML over SMTP, and records the outcome. A failed send stays queued and is
//! retried with backoff (see [`storefort_store::outbox::backoff_ms`]); nothing is lost while
//! the mail server is down. Several nodes may run it: each email is taken by one at a time.

use std::time::Duration;

use storefort_store::outbox::QueuedEmail;
use storefort_store::{Db, StoreError};
use tokio::task::JoinHandle;

use crate::mail::{send_multipart, MailError, SmtpConfig};

/// How often the worker looks for due email.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Emails taken per batch.
pub const BATCH: i64 = 20;

/// What one [`send_due`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Emails the server accepted.
    pub sent: usize,
    /// Emails that failed this time (still queued, retried later).
    pub failed: usize,
    /// The last failure's reason (recipient masked), if any.
    pub last_error: Option<String>,
}

/// Send one batch of due emails and mark each sent or failed. A failed email does not stop
/// the others; only a database failure is an error.
pub async fn send_due(db: &Db, smtp: &SmtpConfig) -> Result<SendReport, StoreError> {
    let mut report = SendReport::default();
    for mail in db.due_emails(BATCH).await? {
        match send_one(smtp, &mail).await {
            Ok(()) => {
                db.mark_email_sent(&mail.id).await?;
                report.sent += 1;
            }
            Err(e) => {
                // Servers often quote the address back: keep it out of the log and the row.
                let error = e.to_string().replace(mail.to.as_str(), "<recipient>");
                tracing::warn!(
                    email = %mail.id,
                    kind = %mail.kind,
                    attempts = mail.attempts + 1,
                    error = %error,
                    "email not sent; it stays queued and is retried later"
                );
                db.mark_email_failed(&mail.id, &error).await?;
                report.failed += 1;
                report.last_error = Some(error);
            }
        }
    }
    Ok(report)
}

async fn send_one(smtp: &SmtpConfig, mail: &QueuedEmail) -> Result<(), MailError> {
    send_multipart(Some(smtp), &mail.to, &mail.subject, &mail.text, &mail.html).await
}

/// Run the worker in the background: every [`INTERVAL`], send what is due (whole batches in a
/// row while there is more). Without SMTP settings, mail stays queued and this is logged once.
pub fn spawn_outbox(db: Db, smtp: Option<SmtpConfig>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let Some(smtp) = smtp else {
            tracing::warn!(
                "email is not set up (no [smtp] section in storefort.toml): order emails stay \
                 in the outbox and are sent once it is"
            );
            // Nothing to do until a restart with SMTP settings; keep the task alive so callers
            // can hold and abort it as usual.
            std::future::pending::<()>().await;
            return;
        };
        let mut db_failing = false;
        loop {
            tick.tick().await;
            loop {
                match send_due(&db, &smtp).await {
                    Ok(r) => {
                        if db_failing {
                            tracing::info!("the outbox can read the database again");
                            db_failing = false;
                        }
                        // A short batch: nothing more is due. Nothing sent: the server is
                        // likely down, and the rest can wait for the next tick.
                        if r.sent + r.failed < BATCH as usize || r.sent == 0 {
                            break;
                        }
                    }
                    Err(e) => {
                        if !db_failing {
                            tracing::error!(error = %e, "the outbox cannot read the database");
                            db_failing = true;
                        }
                        break;
                    }
                }
            }
        }
    })
}
