//! Key rotation, online and resumable.
//!
//! A rotation makes a new data key active and marks the old ones `retiring`. Batches then give
//! each customer a new customer key (wrapped under the new data key) and re-seal their fields,
//! addresses and orders, and re-seal secrets under the new data key. Every write names the
//! ciphertext it replaces, so a concurrent change by the running shop is never overwritten:
//! that row is simply picked up again by a later batch. Progress lives in the data itself
//! (which key each row names), so an interrupted rotation resumes where it stopped. A retiring
//! key is destroyed only when nothing names it any more.

use sqlx::Row;
use storefort_core::customer::NewCustomer;
use storefort_crypto::keyring;
use storefort_crypto::master_key::MasterKey;

use crate::customers::{seal_customer, SEALED_COLUMNS as CUSTOMER_COLUMNS};
use crate::vault::{open_field, seal_field, ACTIVE_KEY_REFRESH};
use crate::{Db, StoreError};

/// Where a rotation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStatus {
    /// The data key new values are sealed with.
    pub active: String,
    /// Data keys being retired.
    pub retiring: Vec<String>,
    /// Customers whose key is still wrapped under a retiring key.
    pub customers_left: i64,
    /// Addresses and orders sealed under another key than their customer's current one.
    pub rows_left: i64,
    /// Secrets (TOTP seeds, named secrets) not yet under the active key.
    pub secrets_left: i64,
}

impl RotationStatus {
    /// Items still to re-encrypt.
    pub fn remaining(&self) -> i64 {
        self.customers_left + self.rows_left + self.secrets_left
    }

    /// A rotation was started and not finished.
    pub fn in_progress(&self) -> bool {
        !self.retiring.is_empty()
    }
}

/// A data key's public facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyInfo {
    /// Key id (`dk-…`).
    pub id: String,
    /// `active`, `retiring` or `retired`.
    pub state: String,
    /// Created, UTC ms.
    pub created_at: i64,
    /// Destroyed, UTC ms.
    pub retired_at: Option<i64>,
}

/// Sealed values that are secrets (not personal data): (table, key column, sealed column,
/// context prefix).
const SECRET_COLUMNS: [(&str, &str, &str, &str); 3] = [
    ("users", "id", "totp_secret", "users.totp_secret"),
    ("users", "id", "totp_pending", "users.totp_secret"),
    ("secrets", "name", "value", "secrets.value"),
];

impl Db {
    /// The data keys, newest first.
    pub async fn data_keys(&self) -> Result<Vec<DataKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, state, created_at, retired_at FROM keyring WHERE purpose = 'data' \
             ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DataKeyInfo {
                    id: r.try_get("id")?,
                    state: r.try_get("state")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Start a rotation (a new active data key; the others retire), or resume the one in
    /// progress without making another key.
    pub async fn begin_rotation(&self) -> Result<RotationStatus, StoreError> {
        let status = self.rotation_status().await?;
        if status.in_progress() {
            return Ok(status);
        }
        let old = status.active;
        let new = self.create_data_key().await?;
        // Only while the new key is still active: of two rotations started at once, the one
        // whose key was retired by the other changes nothing, so one active key always remains.
        sqlx::query(
            "UPDATE keyring SET state = 'retiring' WHERE purpose = 'data' AND state = 'active' \
             AND id <> $1 AND EXISTS (SELECT 1 FROM keyring k WHERE k.id = $1 \
             AND k.state = 'active')",
        )
        .bind(&new)
        .execute(&self.pool)
        .await?;
        self.refresh_active_key().await?;
        tracing::info!(old = %old, new = %new, "key rotation started");
        self.rotation_status().await
    }

    /// How much of a rotation is left.
    pub async fn rotation_status(&self) -> Result<RotationStatus, StoreError> {
        let active = self.refresh_active_key().await?;
        let retiring: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM keyring WHERE purpose = 'data' AND state = 'retiring' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let customers_left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customers c JOIN customer_keys k ON k.id = c.key_id \
             WHERE k.wrapped_by <> $1",
        )
        .bind(&active)
        .fetch_one(&self.pool)
        .await?;
        let mut rows_left = 0;
        for table in ["customer_addresses", "orders", "outbox"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} t JOIN customers c ON c.id = t.customer_id \
                 WHERE t.key_id IS NOT NULL AND t.key_id <> c.key_id"
            ))
            .fetch_one(&self.pool)
            .await?;
            rows_left += n;
        }
        let mut secrets_left = 0;
        let pattern = format!("{}{active}.%", keyring::PREFIX);
        for (table, _, col, _) in SECRET_COLUMNS {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL AND {col} NOT LIKE $1"
            ))
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?;
            secrets_left += n;
        }
        // Queued mail without a customer is sealed under a data key, like a secret.
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE customer_id IS NULL AND key_id <> $1",
        )
        .bind(&active)
        .fetch_one(&self.pool)
        .await?;
        secrets_left += n;
        Ok(RotationStatus {
            active,
            retiring,
            customers_left,
            rows_left,
            secrets_left,
        })
    }

    /// Re-encrypt up to `limit` customers, then stray rows, then secrets. Returns how many
    /// items were moved to the active key (0 when nothing is left).
    pub async fn rotate_batch(&self, limit: i64) -> Result<usize, StoreError> {
        let limit = limit.max(1);
        let (active, _) = self.active_key().await?;
        let ids: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.id, c.key_id FROM customers c JOIN customer_keys k ON k.id = c.key_id \
             WHERE k.wrapped_by <> $1 ORDER BY c.id LIMIT $2",
        )
        .bind(&active)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut done = 0;
        for (id, old_key) in &ids {
            if self.rekey_customer(id, old_key).await? {
                done += 1;
            }
        }
        done += self.reseal_stray_rows(limit).await?;
        done += self.reseal_secrets(&active, limit).await?;
        done += self.reseal_guest_mail(&active, limit).await?;
        self.drop_unused_customer_keys().await?;
        Ok(done)
    }

    /// Give one customer a new key and re-seal their record under it. False if the record
    /// changed meanwhile (it stays on the old key and a later batch tries again).
    async fn rekey_customer(&self, id: &str, old_key_id: &str) -> Result<bool, StoreError> {
        let old = self.customer_key(old_key_id).await?;
        let row = sqlx::query(
            "SELECT name, email, phone, note FROM customers WHERE id = $1 AND key_id = $2",
        )
        .bind(id)
        .bind(old_key_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let mut sealed_before: Vec<Option<String>> = Vec::new();
        let mut plain: Vec<String> = Vec::new();
        for col in CUSTOMER_COLUMNS {
            let s: Option<String> = row.try_get(col)?;
            plain.push(open_field(
                &old,
                s.as_deref(),
                &format!("customers.{col}:{id}"),
            )?);
            sealed_before.push(s);
        }
        let c = NewCustomer {
            name: plain[0].clone(),
            email: plain[1].clone(),
            phone: plain[2].clone(),
            note: plain[3].clone(),
            marketing_consent: false,
        };
        let (new_id, new_key, wrapped, wrapped_by) = self.new_customer_key().await?;
        let sealed = seal_customer(&new_key, &new_id, id, &c)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO customer_keys (id, customer_id, wrapped, wrapped_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&new_id)
        .bind(id)
        .bind(&wrapped)
        .bind(&wrapped_by)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        let changed = sqlx::query(
            "UPDATE customers SET key_id = $1, name = $2, email = $3, phone = $4, note = $5 \
             WHERE id = $6 AND key_id = $7 AND name IS NOT DISTINCT FROM $8 \
             AND email IS NOT DISTINCT FROM $9 AND phone IS NOT DISTINCT FROM $10 \
             AND note IS NOT DISTINCT FROM $11",
        )
        .bind(&new_id)
        .bind(&sealed[0])
        .bind(&sealed[1])
        .bind(&sealed[2])
        .bind(&sealed[3])
        .bind(id)
        .bind(old_key_id)
        .bind(sealed_before[0].clone())
        .bind(sealed_before[1].clone())
        .bind(sealed_before[2].clone())
        .bind(sealed_before[3].clone())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        self.reseal_rows_of(id).await?;
        Ok(true)
    }

    /// Re-seal a customer's addresses and orders that are not under their current key.
    async fn reseal_rows_of(&self, customer_id: &str) -> Result<usize, StoreError> {
        let mut done = 0;
        for (table, cols) in [
            ("customer_addresses", &["label", "address"][..]),
            ("orders", &crate::orders::SEALED_COLUMNS[..]),
            ("outbox", &["recipient", "body"][..]),
        ] {
            let rows = sqlx::query(&format!(
                "SELECT t.id, t.key_id AS old_key, c.key_id AS new_key, {} FROM {table} t \
                 JOIN customers c ON c.id = t.customer_id \
                 WHERE t.customer_id = $1 AND t.key_id IS NOT NULL AND t.key_id <> c.key_id",
                cols.iter()
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .bind(customer_id)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                done += self.reseal_row(table, cols, &row).await?;
            }
        }
        Ok(done)
    }

    async fn reseal_row(
        &self,
        table: &str,
        cols: &[&str],
        row: &sqlx::any::AnyRow,
    ) -> Result<usize, StoreError> {
        let id: String = row.try_get("id")?;
        let old_id: String = row.try_get("old_key")?;
        let new_id: String = row.try_get("new_key")?;
        let old = self.customer_key(&old_id).await?;
        let new = self.customer_key(&new_id).await?;
        let mut sets = vec!["key_id = $1".to_string()];
        let mut wheres = vec!["id = $2".to_string(), "key_id = $3".to_string()];
        let mut binds_new: Vec<Option<String>> = Vec::new();
        let mut binds_old: Vec<Option<String>> = Vec::new();
        for (i, col) in cols.iter().enumerate() {
            let before: Option<String> = row.try_get(*col)?;
            let ctx = format!("{table}.{col}:{id}");
            let after = match &before {
                Some(s) => Some(seal_field(
                    &new,
                    &new_id,
                    &open_field(&old, Some(s), &ctx)?,
                    &ctx,
                )?),
                None => None,
            };
            sets.push(format!("{col} = ${}", 4 + i));
            wheres.push(format!(
                "{col} IS NOT DISTINCT FROM ${}",
                4 + cols.len() + i
            ));
            binds_new.push(after);
            binds_old.push(before);
        }
        let sql = format!(
            "UPDATE {table} SET {} WHERE {}",
            sets.join(", "),
            wheres.join(" AND ")
        );
        let mut q = sqlx::query(&sql).bind(&new_id).bind(&id).bind(&old_id);
        for v in binds_new.into_iter().chain(binds_old) {
            q = q.bind(v);
        }
        Ok(q.execute(&self.pool).await?.rows_affected() as usize)
    }

    /// Rows written with a customer's old key after that customer was re-keyed.
    async fn reseal_stray_rows(&self, limit: i64) -> Result<usize, StoreError> {
        let mut customers: Vec<String> = Vec::new();
        for table in ["customer_addresses", "orders", "outbox"] {
            let ids: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT t.customer_id FROM {table} t JOIN customers c \
                 ON c.id = t.customer_id WHERE t.key_id IS NOT NULL AND t.key_id <> c.key_id \
                 LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            customers.extend(ids);
        }
        customers.sort();
        customers.dedup();
        let mut done = 0;
        for c in customers {
            done += self.reseal_rows_of(&c).await?;
        }
        Ok(done)
    }

    /// Re-seal secrets under the active data key.
    async fn reseal_secrets(&self, active: &str, limit: i64) -> Result<usize, StoreError> {
        let pattern = format!("{}{active}.%", keyring::PREFIX);
        let mut done = 0;
        for (table, key_col, col, ctx) in SECRET_COLUMNS {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT {key_col}, {col} FROM {table} WHERE {col} IS NOT NULL \
                 AND {col} NOT LIKE $1 LIMIT $2"
            ))
            .bind(&pattern)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            for (key, sealed) in rows {
                let context = format!("{ctx}:{key}");
                let plain = self.open_secret(&sealed, &context).await?;
                let again = self.seal_secret(&plain, &context).await?;
                let n = sqlx::query(&format!(
                    "UPDATE {table} SET {col} = $1 WHERE {key_col} = $2 AND {col} = $3"
                ))
                .bind(again)
                .bind(&key)
                .bind(&sealed)
                .execute(&self.pool)
                .await?;
                done += n.rows_affected() as usize;
            }
        }
        Ok(done)
    }

    /// Re-seal queued mail that has no customer (sealed under a data key) under the active one.
    async fn reseal_guest_mail(&self, active: &str, limit: i64) -> Result<usize, StoreError> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, key_id, recipient, body FROM outbox \
             WHERE customer_id IS NULL AND key_id <> $1 LIMIT $2",
        )
        .bind(active)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut done = 0;
        for (id, old_key, recipient, body) in rows {
            let again = |col: &'static str, sealed: String| {
                let context = format!("outbox.{col}:{id}");
                async move {
                    let plain = self.open_secret(&sealed, &context).await?;
                    self.seal_secret(&plain, &context).await
                }
            };
            let new_recipient = again("recipient", recipient.clone()).await?;
            let new_body = match &body {
                Some(b) => Some(again("body", b.clone()).await?),
                None => None,
            };
            let new_key = keyring::key_id_of(&new_recipient)
                .unwrap_or(active)
                .to_string();
            let n = sqlx::query(
                "UPDATE outbox SET key_id = $1, recipient = $2, body = $3 WHERE id = $4 \
                 AND key_id = $5 AND recipient = $6 AND body IS NOT DISTINCT FROM $7",
            )
            .bind(new_key)
            .bind(new_recipient)
            .bind(new_body)
            .bind(&id)
            .bind(&old_key)
            .bind(&recipient)
            .bind(body)
            .execute(&self.pool)
            .await?;
            done += n.rows_affected() as usize;
        }
        Ok(done)
    }

    /// Delete customer keys nothing names any more, once their customer has had a newer key
    /// for long enough that no node can still be writing with the old one.
    async fn drop_unused_customer_keys(&self) -> Result<(), StoreError> {
        let grace = 2 * ACTIVE_KEY_REFRESH.as_millis() as i64;
        let unused: Vec<String> = sqlx::query_scalar(
            "SELECT k.id FROM customer_keys k \
             WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.key_id = k.id) \
             AND NOT EXISTS (SELECT 1 FROM customer_addresses a WHERE a.key_id = k.id) \
             AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.key_id = k.id) \
             AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key_id = k.id) \
             AND EXISTS (SELECT 1 FROM customers c2 JOIN customer_keys k2 ON k2.id = c2.key_id \
                         WHERE c2.id = k.customer_id AND k2.id <> k.id AND k2.created_at <= $1)",
        )
        .bind(self.now() - grace)
        .fetch_all(&self.pool)
        .await?;
        for id in &unused {
            sqlx::query("DELETE FROM customer_keys WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        self.forget_customer_keys(&unused);
        Ok(())
    }

    /// Destroy the retiring data keys if nothing uses them any more and every node has had
    /// time to switch to the new key ([`ACTIVE_KEY_REFRESH`] twice since the rotation began).
    /// Returns false (and changes nothing) while anything is left or that time has not passed.
    pub async fn finish_rotation(&self) -> Result<bool, StoreError> {
        let status = self.rotation_status().await?;
        if !status.in_progress() {
            return Ok(true);
        }
        if status.remaining() > 0 {
            return Ok(false);
        }
        let started: i64 = sqlx::query_scalar("SELECT created_at FROM keyring WHERE id = $1")
            .bind(&status.active)
            .fetch_one(&self.pool)
            .await?;
        let wait = 2 * ACTIVE_KEY_REFRESH.as_millis() as i64;
        if self.now() - started < wait {
            return Ok(false);
        }
        self.drop_unused_customer_keys().await?;
        for old in &status.retiring {
            let still: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM customer_keys WHERE wrapped_by = $1")
                    .bind(old)
                    .fetch_one(&self.pool)
                    .await?;
            if still > 0 {
                return Ok(false);
            }
        }
        // Checked and destroyed in one statement: a customer key wrapped under a retiring key
        // at the last moment keeps that key alive (the next run destroys it).
        let destroyed = sqlx::query(
            "UPDATE keyring SET state = 'retired', wrapped = NULL, retired_at = $1 \
             WHERE purpose = 'data' AND state = 'retiring' \
             AND NOT EXISTS (SELECT 1 FROM customer_keys k WHERE k.wrapped_by = keyring.id)",
        )
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        if (destroyed.rows_affected() as usize) < status.retiring.len() {
            return Ok(false);
        }
        self.forget_data_keys(&status.retiring);
        tracing::info!(retired = ?status.retiring, "key rotation finished");
        Ok(true)
    }

    /// Master-key rotation: re-wrap every stored key under `new` in one transaction. The
    /// caller then replaces the key file (see the CLI's `keys rotate-master`).
    pub async fn rewrap_keys(&self, new: &MasterKey) -> Result<usize, StoreError> {
        let old = &self.vault()?.kek;
        let new_kek = keyring::Kek::of(new);
        let mut tx = self.begin_write().await?;
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, wrapped FROM keyring WHERE wrapped IS NOT NULL")
                .fetch_all(&mut *tx)
                .await?;
        for (id, wrapped) in &rows {
            let key = old.unwrap_key(id, wrapped)?;
            sqlx::query("UPDATE keyring SET wrapped = $1, master_id = $2 WHERE id = $3")
                .bind(new_kek.wrap(id, &key)?)
                .bind(new_kek.master_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE keyring SET master_id = $1 WHERE wrapped IS NULL")
            .bind(new_kek.master_id())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows.len())
    }
}
