//! Privacy duties: export everything about a customer, erase a customer by destroying their
//! key (crypto-shredding: the data stays unreadable in older backups too), keep a ledger of
//! erasures outside the database so a restore re-applies them, and anonymize old guests.

use std::io::Write;

use storefort_core::ids::CustomerId;

use crate::db::looks_like_id;
use crate::{Db, StoreError};

/// Why a customer's personal data was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureReason {
    /// The customer asked (or the owner decided).
    Request,
    /// A guest's data passed the retention period.
    Retention,
}

impl ErasureReason {
    fn as_str(self) -> &'static str {
        match self {
            ErasureReason::Request => "request",
            ErasureReason::Retention => "retention",
        }
    }
}

impl Db {
    /// Everything stored about a customer, decrypted, as JSON (for a subject access request).
    pub async fn export_customer(&self, id: &CustomerId) -> Result<serde_json::Value, StoreError> {
        let customer = self.customer(id).await?;
        let orders = self.orders_of_customer(id).await?;
        Ok(serde_json::json!({
            "format": "storefort.customer-export.v1",
            "exported_at": self.now(),
            "customer": customer,
            "orders": orders,
        }))
    }

    /// Erase a customer's personal data. Their keys are deleted (so every copy of the sealed
    /// data, including in backups, is unreadable), the sealed fields and blind indexes are
    /// cleared, saved addresses deleted, and orders kept for accounting without personal
    /// fields. Idempotent. The erasure is recorded in the ledger file when one is set.
    pub async fn erase_customer(
        &self,
        id: &CustomerId,
        reason: ErasureReason,
    ) -> Result<(), StoreError> {
        if !looks_like_id(id.as_str()) {
            return Err(StoreError::not_found("customer", id.as_str()));
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE customers SET key_id = NULL, name = NULL, email = NULL, phone = NULL, \
             note = NULL, email_index = NULL, phone_index = NULL, password_hash = NULL, \
             marketing_consent = 0, updated_at = $1, erased_at = COALESCE(erased_at, $1) \
             WHERE id = $2",
        )
        .bind(now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("customer", id.as_str()));
        }
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT id FROM customer_keys WHERE customer_id = $1")
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
        for sql in [
            "DELETE FROM customer_keys WHERE customer_id = $1",
            "DELETE FROM customer_addresses WHERE customer_id = $1",
            "DELETE FROM shopper_sessions WHERE customer_id = $1",
            "UPDATE orders SET key_id = NULL, email = NULL, phone = NULL, billing = NULL, \
             shipping = NULL WHERE customer_id = $1",
            // Fraud screening's hashes of their email, IP, device, card and address go too,
            // and call notes about their orders (sealed under the key deleted above).
            "UPDATE order_risk SET email_key = NULL, ip_key = NULL, device_key = NULL, \
             card_key = NULL, address_key = NULL \
             WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
            "DELETE FROM risk_events WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
            "UPDATE review_calls SET key_id = NULL, note = NULL \
             WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
            // Mail still queued for them is dropped (it could no longer be opened anyway).
            "UPDATE outbox SET body = NULL, recipient = '', last_error = 'erased: the \
             customer''s data was erased, so this email was not sent' \
             WHERE customer_id = $1 AND sent_at IS NULL",
        ] {
            sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO erasures (customer_id, erased_at, reason) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(now)
        .bind(reason.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.forget_customer_keys(&keys);
        if self.backend == crate::Backend::Sqlite {
            // With secure_delete on, freed pages are zeroed in the database file; moving the
            // WAL into it and truncating the WAL removes the older page images too. Busy
            // readers may keep some frames until the next checkpoint, which is not an error.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
            {
                tracing::warn!(error = %e, "checkpoint after an erasure did not complete");
            }
        }
        self.append_ledger(id, now, reason)
    }

    fn append_ledger(
        &self,
        id: &CustomerId,
        at: i64,
        reason: ErasureReason,
    ) -> Result<(), StoreError> {
        let Some(path) = &self.erasure_ledger else {
            return Ok(());
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path.as_path())
            .map_err(|e| StoreError::Ledger(e.to_string()))?;
        writeln!(f, "{} {} {}", id.as_str(), at, reason.as_str())
            .and_then(|_| f.sync_all())
            .map_err(|e| StoreError::Ledger(e.to_string()))
    }

    /// Erase again every customer named in the ledger file whose data is back (an older
    /// database was restored). Returns how many were erased. Run at every start.
    pub async fn reapply_erasures(&self) -> Result<usize, StoreError> {
        let Some(path) = &self.erasure_ledger else {
            return Ok(0);
        };
        let text = match std::fs::read_to_string(path.as_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::Ledger(e.to_string())),
        };
        let mut erased = 0;
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(id), Some(_at), reason) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if !looks_like_id(id) {
                continue;
            }
            let present: Option<Option<i64>> =
                sqlx::query_scalar("SELECT erased_at FROM customers WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(None) = present {
                let reason = if reason == Some("retention") {
                    ErasureReason::Retention
                } else {
                    ErasureReason::Request
                };
                self.erase_without_ledger(&CustomerId(id.to_string()), reason)
                    .await?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    async fn erase_without_ledger(
        &self,
        id: &CustomerId,
        reason: ErasureReason,
    ) -> Result<(), StoreError> {
        let mut quiet = self.clone();
        quiet.erasure_ledger = None;
        quiet.erase_customer(id, reason).await
    }

    /// Anonymize guests (no shopper account) with no activity since `cutoff_ms`; returns their
    /// ids. Accounts are kept: their holders can still sign in.
    pub async fn anonymize_guests_before(
        &self,
        cutoff_ms: i64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM customers WHERE password_hash IS NULL AND erased_at IS NULL \
             AND last_activity_at < $1 ORDER BY id LIMIT 1000",
        )
        .bind(cutoff_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let id = CustomerId(id);
            self.erase_customer(&id, ErasureReason::Retention).await?;
            out.push(id);
        }
        Ok(out)
    }
}
