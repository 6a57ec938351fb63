//! The email outbox: mail is written here first (inside the transaction that caused it) and
//! sent by a worker, so an SMTP outage loses nothing. The recipient and the body are sealed:
//! under the customer's current key when the mail is about a customer (erasing the customer
//! makes queued mail unreadable, and it is then never sent), otherwise under the active data
//! key. `key_id` names the key either way. The body is cleared once the mail is sent.
//!
//! A row is due while `sent_at` and a body remain and `next_attempt_at` has passed. Taking a
//! row for sending moves `next_attempt_at` a lease ahead, so two nodes never send the same
//! mail at once, and a worker that dies mid-send only delays it.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::validate_email;
use storefort_core::ids::CustomerId;
use storefort_core::ValidationError;
use storefort_crypto::keyring;

use crate::db::{looks_like_id, new_id};
use crate::vault::{open_field, seal_field};
use crate::{Db, StoreError};

const MINUTE: i64 = 60_000;
/// Waits after the 1st, 2nd, 3rd and 4th failed attempt; every later one waits the last.
const BACKOFF_MS: [i64; 5] = [MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE, 360 * MINUTE];
/// How long a taken row is left alone before another worker may try it (covers a batch of
/// sends with their 20-second SMTP timeouts).
pub const CLAIM_LEASE_MS: i64 = 15 * MINUTE;
/// What `last_error` says for mail whose customer was erased (it will never be sent).
pub const ERASED: &str = "erased: the customer's data was erased, so this email was not sent";
const MAX_ERROR: usize = 500;

/// An email to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// What it is (`order_confirmation`, `refund`, `cancellation`, ...), kept in clear.
    pub kind: String,
    /// The customer it is about; its key seals the mail. `None`: sealed under a data key.
    pub customer_id: Option<CustomerId>,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// A queued email taken for sending, opened.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    /// Outbox row id (give it to [`Db::mark_email_sent`] / [`Db::mark_email_failed`]).
    pub id: String,
    /// What it is.
    pub kind: String,
    /// The customer it is about.
    pub customer_id: Option<CustomerId>,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

// Addresses and bodies are personal data: never in Debug output (logs).
macro_rules! redacted_debug {
    ($t:ident, $($f:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($f), &self.$f))*
                    .field("to", &"<redacted>")
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(OutgoingEmail, kind, customer_id);
redacted_debug!(QueuedEmail, id, kind, customer_id, attempts);

/// How the outbox stands, for the dashboard and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OutboxStatus {
    /// Emails waiting to be sent (erased customers' mail is not counted).
    pub pending: i64,
    /// Of those, how many have failed at least once and wait for a retry.
    pub failed_recently: i64,
    /// When the oldest waiting email was queued (UTC ms).
    pub oldest_pending_at: Option<i64>,
}

/// The sealed body: subject, text and HTML together.
#[derive(Serialize, Deserialize)]
struct Body {
    subject: String,
    text: String,
    html: String,
}

fn ctx(column: &str, id: &str) -> String {
    format!("outbox.{column}:{id}")
}

/// How long to wait after the `failed_attempts`-th failure (1 min, 5 min, 30 min, 2 h, then
/// every 6 h; mail is never dropped).
pub fn backoff_ms(failed_attempts: i64) -> i64 {
    let i = failed_attempts.saturating_sub(1).clamp(0, 4) as usize;
    BACKOFF_MS[i]
}

/// An error message fit to keep in clear: anything address-like masked (a server's refusal
/// often quotes the recipient), cut to a sane length.
fn scrub(error: &str) -> String {
    let masked: Vec<&str> = error
        .split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect();
    masked.join(" ").chars().take(MAX_ERROR).collect()
}

fn check(e: &OutgoingEmail) -> Result<(), ValidationError> {
    let subject = e.subject.trim();
    let rules = [
        (
            "kind",
            e.kind.trim().is_empty(),
            "say what kind of email this is",
        ),
        (
            "to",
            validate_email(&e.to).is_err(),
            "enter the recipient's email address like name@example.com",
        ),
        (
            "subject",
            subject.is_empty() || subject.contains(['\r', '\n']),
            "enter a subject on one line",
        ),
        ("text", e.text.trim().is_empty(), "the email has no text"),
    ];
    match rules.into_iter().find(|(_, broken, _)| *broken) {
        Some((field, _, message)) => Err(ValidationError::new(field, message)),
        None => Ok(()),
    }
}

/// A customer's key as (key id, wrapped, wrapped by), read with `exec`.
type KeyRow = Option<(Option<String>, Option<String>, Option<String>)>;

async fn key_row<'e, E>(exec: E, customer: &CustomerId) -> Result<KeyRow, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(
        "SELECT c.key_id, k.wrapped, k.wrapped_by FROM customers c \
         LEFT JOIN customer_keys k ON k.id = c.key_id WHERE c.id = $1",
    )
    .bind(customer.as_str())
    .fetch_optional(exec)
    .await?)
}

/// A sealed row ready to insert.
struct Sealed {
    id: String,
    key_id: String,
    recipient: String,
    body: String,
}

async fn insert<'e, E>(db: &Db, exec: E, e: &OutgoingEmail, s: &Sealed) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // A customer's mail only while the key is still theirs (not erased or rotated since).
    let guard = match e.customer_id {
        Some(_) => "WHERE EXISTS (SELECT 1 FROM customers WHERE id = $3 AND key_id = $4)",
        None => "",
    };
    let done = sqlx::query(&format!(
        "INSERT INTO outbox (id, kind, customer_id, key_id, recipient, body, attempts, \
         next_attempt_at, created_at) SELECT $1, $2, $3, $4, $5, $6, 0, $7, $7 {guard}"
    ))
    .bind(&s.id)
    .bind(e.kind.trim())
    .bind(e.customer_id.as_ref().map(|c| c.as_str().to_string()))
    .bind(&s.key_id)
    .bind(&s.recipient)
    .bind(&s.body)
    .bind(db.now())
    .execute(exec)
    .await?;
    match done.rows_affected() {
        1 => Ok(()),
        _ => Err(StoreError::Busy("customer")),
    }
}

impl Db {
    /// Queue an email; returns its outbox id. See [`Db::enqueue_email_in`].
    pub async fn enqueue_email(&self, e: &OutgoingEmail) -> Result<String, StoreError> {
        check(e)?;
        let key = match &e.customer_id {
            Some(c) => key_row(&self.pool, c).await?,
            None => None,
        };
        let sealed = self.seal_email(e, key).await?;
        insert(self, &self.pool, e, &sealed).await?;
        Ok(sealed.id)
    }

    /// Queue an email inside the caller's transaction (it is sent only if that commits; the
    /// customer may have been created in it). Sealed under the customer's current key (an
    /// erased customer: [`StoreError::Erased`]), or under the active data key when there is
    /// no customer. Due at once.
    pub async fn enqueue_email_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        e: &OutgoingEmail,
    ) -> Result<String, StoreError> {
        check(e)?;
        let key = match &e.customer_id {
            Some(c) => key_row(&mut **tx, c).await?,
            None => None,
        };
        let sealed = self.seal_email(e, key).await?;
        insert(self, &mut **tx, e, &sealed).await?;
        Ok(sealed.id)
    }

    async fn seal_email(&self, e: &OutgoingEmail, key: KeyRow) -> Result<Sealed, StoreError> {
        let id = new_id();
        let to = e.to.trim();
        let body = serde_json::to_string(&Body {
            subject: e.subject.trim().to_string(),
            text: e.text.clone(),
            html: e.html.clone(),
        })
        .map_err(|_| StoreError::Busy("email"))?;
        let (rc, bc) = (ctx("recipient", &id), ctx("body", &id));
        let Some(customer) = &e.customer_id else {
            let recipient = self.seal_secret(to, &rc).await?;
            let body = self.seal_secret(&body, &bc).await?;
            let key_id = keyring::key_id_of(&recipient)
                .unwrap_or_default()
                .to_string();
            return Ok(Sealed {
                id,
                key_id,
                recipient,
                body,
            });
        };
        let (key_id, wrapped, by) = match key {
            None => return Err(StoreError::not_found("customer", customer.as_str())),
            Some((None, _, _)) => return Err(StoreError::Erased),
            Some((Some(k), Some(w), Some(b))) => (k, w, b),
            Some((Some(k), _, _)) => return Err(StoreError::KeyGone(k)),
        };
        let key = self.customer_key_from(&key_id, &wrapped, &by).await?;
        Ok(Sealed {
            recipient: seal_field(&key, &key_id, to, &rc)?,
            body: seal_field(&key, &key_id, &body, &bc)?,
            id,
            key_id,
        })
    }

    /// Take up to `limit` due emails for sending, oldest due first, opened. Each is leased
    /// for [`CLAIM_LEASE_MS`] so no other worker sends it meanwhile; report the outcome with
    /// [`Db::mark_email_sent`] or [`Db::mark_email_failed`]. Mail of an erased customer is
    /// marked [`ERASED`] and skipped; a row that does not open counts as a failed attempt.
    /// Neither stops the batch.
    pub async fn due_emails(&self, limit: i64) -> Result<Vec<QueuedEmail>, StoreError> {
        let now = self.now();
        let rows = sqlx::query(
            "SELECT o.id, o.kind, o.customer_id, o.key_id, o.recipient, o.body, o.attempts, \
             o.next_attempt_at, k.wrapped, k.wrapped_by, c.erased_at, c.id AS found \
             FROM outbox o \
             LEFT JOIN customer_keys k ON k.id = o.key_id AND k.customer_id = o.customer_id \
             LEFT JOIN customers c ON c.id = o.customer_id \
             WHERE o.sent_at IS NULL AND o.body IS NOT NULL AND o.next_attempt_at <= $1 \
             ORDER BY o.next_attempt_at, o.id LIMIT $2",
        )
        .bind(now)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let was: i64 = row.try_get("next_attempt_at")?;
            let taken = sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1 \
                 WHERE id = $2 AND next_attempt_at = $3 AND sent_at IS NULL",
            )
            .bind(now + CLAIM_LEASE_MS)
            .bind(&id)
            .bind(was)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() != 1 {
                continue; // another worker has it
            }
            match self.open_queued(row, &id).await {
                Ok(Some(mail)) => out.push(mail),
                Ok(None) => {
                    sqlx::query(
                        "UPDATE outbox SET body = NULL, last_error = $1 \
                         WHERE id = $2 AND sent_at IS NULL",
                    )
                    .bind(ERASED)
                    .bind(&id)
                    .execute(&self.pool)
                    .await?;
                }
                Err(
                    e @ (StoreError::Unreadable { .. }
                    | StoreError::KeyGone(_)
                    | StoreError::Crypto(_)),
                ) => {
                    tracing::warn!(email = %id, error = %e, "a queued email does not open");
                    self.mark_email_failed(&id, &e.to_string()).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Open one outbox row; `None` when its customer was erased.
    async fn open_queued(&self, row: &AnyRow, id: &str) -> Result<Option<QueuedEmail>, StoreError> {
        let customer: Option<String> = row.try_get("customer_id")?;
        let key_id: Option<String> = row.try_get("key_id")?;
        let recipient: String = row.try_get("recipient")?;
        let body: Option<String> = row.try_get("body")?;
        let (to, body) = match &customer {
            Some(_) => {
                let wrapped: Option<String> = row.try_get("wrapped")?;
                let by: Option<String> = row.try_get("wrapped_by")?;
                let (Some(key_id), Some(wrapped), Some(by)) = (key_id.clone(), wrapped, by) else {
                    // The database decides, not a node's key cache.
                    let found: Option<String> = row.try_get("found")?;
                    let erased: Option<i64> = row.try_get("erased_at")?;
                    if found.is_none() || erased.is_some() {
                        return Ok(None);
                    }
                    return Err(StoreError::KeyGone(key_id.unwrap_or_default()));
                };
                let key = self.customer_key_from(&key_id, &wrapped, &by).await?;
                (
                    open_field(&key, Some(&recipient), &ctx("recipient", id))?,
                    open_field(&key, body.as_deref(), &ctx("body", id))?,
                )
            }
            None => (
                self.open_secret(&recipient, &ctx("recipient", id)).await?,
                self.open_secret(body.as_deref().unwrap_or(""), &ctx("body", id))
                    .await?,
            ),
        };
        let body: Body = serde_json::from_str(&body).map_err(|_| StoreError::Unreadable {
            context: ctx("body", id),
        })?;
        Ok(Some(QueuedEmail {
            id: id.to_string(),
            kind: row.try_get("kind")?,
            customer_id: customer.map(CustomerId),
            to,
            subject: body.subject,
            text: body.text,
            html: body.html,
            attempts: row.try_get("attempts")?,
        }))
    }

    /// The email went out: record when, and clear its body. Calling it again changes nothing.
    pub async fn mark_email_sent(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET sent_at = $1, body = NULL, last_error = '' \
             WHERE id = $2 AND sent_at IS NULL",
        )
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.exists_if_none(id, done.rows_affected()).await
    }

    /// Sending failed: count the attempt, keep `error` (addresses masked) and wait
    /// [`backoff_ms`] before the next try. The email stays queued however often it fails.
    pub async fn mark_email_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        let mut wait = String::from("CASE attempts");
        for (i, ms) in BACKOFF_MS.iter().enumerate().take(BACKOFF_MS.len() - 1) {
            wait.push_str(&format!(" WHEN {i} THEN {ms}"));
        }
        wait.push_str(&format!(" ELSE {} END", BACKOFF_MS[BACKOFF_MS.len() - 1]));
        let done = sqlx::query(&format!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 + {wait}, \
             last_error = $2 WHERE id = $3 AND sent_at IS NULL"
        ))
        .bind(self.now())
        .bind(scrub(error))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.exists_if_none(id, done.rows_affected()).await
    }

    /// Nothing was updated: fine if the row exists (already sent), else not found.
    async fn exists_if_none(&self, id: &str, updated: u64) -> Result<(), StoreError> {
        let exists = updated > 0
            || (looks_like_id(id)
                && sqlx::query("SELECT id FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .is_some());
        match exists {
            true => Ok(()),
            false => Err(StoreError::not_found("email", id)),
        }
    }

    /// How many emails wait, how many of them have failed, and the oldest one's age.
    pub async fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        let (pending, failed_recently, oldest_pending_at): (i64, i64, Option<i64>) =
            sqlx::query_as(
                "SELECT COUNT(*), \
                 COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), \
                 MIN(created_at) FROM outbox WHERE sent_at IS NULL AND body IS NOT NULL",
            )
            .fetch_one(&self.pool)
            .await?;
        Ok(OutboxStatus {
            pending,
            failed_recently,
            oldest_pending_at,
        })
    }
}
