//! Email every enabled owner (backup failures, plugins switched off). Without SMTP the message
//! goes to the log instead (see `storefort_web::mail::send`).

use storefort_store::Db;

/// Send `subject` and `body` to every enabled owner; failures are logged, never returned.
pub async fn email_owners(
    db: &Db,
    smtp: Option<&storefort_web::mail::SmtpConfig>,
    subject: &str,
    body: &str,
) {
    let owners = match db.users().await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, subject, "cannot list owners to email them");
            return;
        }
    };
    for o in owners.iter().filter(|u| u.role == "owner" && !u.disabled) {
        if let Err(e) = storefort_web::mail::send(smtp, &o.email, subject, body).await {
            tracing::warn!(error = %e, subject, "email to an owner not sent");
        }
    }
}
