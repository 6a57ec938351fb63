//! The cashier signed in on a device: a random token the app keeps in memory (only its hash is
//! stored), refused once the device has been idle longer than the lock allows, on remote
//! sign-out, when another cashier takes over, or when the account is disabled.

use sqlx::Row;
use storefort_crypto::token::{hash_token, random_token};

use crate::{Db, StoreError};

impl Db {
    /// Start a cashier session on an active device (after the web layer verified the PIN):
    /// stores the hash of a new token, `cashier_since` and `cashier_active_at` = now. Whoever
    /// was signed in before is replaced. Returns the token.
    pub async fn start_cashier(
        &self,
        device_id: &str,
        user_id: &str,
    ) -> Result<String, StoreError> {
        let disabled: Option<i64> = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        match disabled {
            None => return Err(StoreError::not_found("user", user_id)),
            Some(d) if d != 0 => {
                return Err(StoreError::state(
                    "cashier_id",
                    "This staff account is disabled.",
                ))
            }
            Some(_) => {}
        }
        let (token, now) = (random_token(), self.now());
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE pos_devices SET cashier_id = $1, cashier_token_hash = $2, cashier_since = $3, \
             cashier_active_at = $3 WHERE id = $4 AND status = 'active'",
        )
        .bind(user_id)
        .bind(hash_token(&token))
        .bind(now)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            self.pos_device(device_id).await?;
            return Err(StoreError::state("status", "This device is not paired."));
        }
        Ok(token)
    }

    /// Check a cashier token on this device. `Some(user_id)` when it is the device's current
    /// token, the device is active, the account is enabled and `now - cashier_active_at <=
    /// idle_ms`; with `touch` the activity time moves to now. `None` otherwise, and a token
    /// refused for idleness or a disabled account is cleared, so it cannot come back to life.
    pub async fn cashier_on_device(
        &self,
        device_id: &str,
        token: &str,
        idle_ms: i64,
        touch: bool,
    ) -> Result<Option<String>, StoreError> {
        let hash = hash_token(token);
        let row = sqlx::query(
            "SELECT d.cashier_id, d.cashier_active_at, u.disabled FROM pos_devices d \
             JOIN users u ON u.id = d.cashier_id \
             WHERE d.id = $1 AND d.status = 'active' AND d.cashier_token_hash = $2",
        )
        .bind(device_id)
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user: String = row.try_get("cashier_id")?;
        let active_at: Option<i64> = row.try_get("cashier_active_at")?;
        let disabled: i64 = row.try_get("disabled")?;
        let now = self.now();
        let fresh = active_at.is_some_and(|at| now - at <= idle_ms);
        if disabled != 0 || !fresh {
            // Compare-and-swap on the token: a newer unlock meanwhile is left alone.
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "UPDATE pos_devices SET cashier_token_hash = NULL \
                 WHERE id = $1 AND cashier_token_hash = $2",
            )
            .bind(device_id)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
        if touch {
            let mut tx = self.begin_write().await?;
            // Only while still this token and still inside the window (checked again in SQL).
            let done = sqlx::query(
                "UPDATE pos_devices SET cashier_active_at = $1 WHERE id = $2 AND status = 'active' \
                 AND cashier_token_hash = $3 AND cashier_active_at >= $4",
            )
            .bind(now)
            .bind(device_id)
            .bind(&hash)
            .bind(now - idle_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
        }
        Ok(Some(user))
    }

    /// Lock the device: the token stops working but the cashier stays "current" (shown on the
    /// lock screen and the devices page) until someone unlocks or signs out.
    pub async fn lock_device(&self, device_id: &str) -> Result<(), StoreError> {
        self.clear_cashier(device_id, "cashier_token_hash = NULL")
            .await
    }

    /// Sign the cashier out on the device itself: token and cashier cleared.
    pub async fn end_cashier(&self, device_id: &str) -> Result<(), StoreError> {
        self.clear_cashier(
            device_id,
            "cashier_id = NULL, cashier_token_hash = NULL, cashier_since = NULL, \
             cashier_active_at = NULL",
        )
        .await
    }

    async fn clear_cashier(&self, device_id: &str, set: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!("UPDATE pos_devices SET {set} WHERE id = $1"))
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("device", device_id));
        }
        Ok(())
    }
}
