//! Cashier PINs. A PIN is short, so it is never hashed on its own: the stored hash is argon2id
//! over an HMAC-SHA256 of the user id and the PIN, keyed under the vault's blind-index key
//! (domain `pos-pin`). A copied database without the master key cannot be brute-forced, and two
//! people with the same PIN get unrelated hashes. Five wrong tries lock the PIN until a manager
//! resets it; each try is counted *before* the PIN is checked, in one compare-and-swap, so
//! parallel guesses cannot get more than five checks.

use serde::Serialize;
use sqlx::Row;
use storefort_core::pos_device_rules::check_pin;
use storefort_crypto::password;

use crate::{Db, StoreError};

/// Wrong PINs in a row that lock a cashier's PIN.
pub const PIN_TRIES: i64 = 5;

/// A staff member as the till's cashier list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PinStatus {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// `owner`, `manager` or `cashier`.
    pub role: String,
    /// They have set a PIN.
    pub has_pin: bool,
    /// Their PIN is locked after too many wrong tries.
    pub locked: bool,
}

/// The outcome of a PIN check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    /// Right PIN; the failure count is back to zero.
    Ok,
    /// Wrong PIN; this many tries are left before it locks.
    Wrong {
        /// Tries left (1-4).
        tries_left: i64,
    },
    /// Locked (by this try or before): a manager must reset it. Not checked.
    Locked,
    /// The user has no PIN yet.
    NoPin,
    /// The staff account is disabled.
    Disabled,
}

impl Db {
    /// The keyed pre-hash of a PIN (see the module docs).
    fn pin_pepper(&self, user_id: &str, pin: &str) -> Result<String, StoreError> {
        self.blind_index("pos-pin", &format!("{user_id}\n{pin}"))
    }

    /// Staff who may sell: every enabled account, with whether they have a PIN and whether it
    /// is locked. Sorted by name.
    pub async fn pos_cashiers(&self) -> Result<Vec<PinStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.role, p.user_id AS pin_user, p.locked_at FROM users u \
             LEFT JOIN pos_pins p ON p.user_id = u.id WHERE u.disabled = 0 ORDER BY u.name, u.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PinStatus {
                    user_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                    has_pin: r.try_get::<Option<String>, _>("pin_user")?.is_some(),
                    locked: r.try_get::<Option<i64>, _>("locked_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Set or reset a PIN (it must pass `check_pin`, naming the field `pin`); clears the
    /// failures and any lock. `actor` is who set it (the user themself or a manager).
    pub async fn set_pin(&self, user_id: &str, pin: &str, actor: &str) -> Result<(), StoreError> {
        check_pin(pin)?;
        let disabled: Option<i64> = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        match disabled {
            None => return Err(StoreError::not_found("user", user_id)),
            Some(d) if d != 0 => {
                return Err(StoreError::state("user", "This staff account is disabled."))
            }
            Some(_) => {}
        }
        let pepper = self.pin_pepper(user_id, pin)?;
        let hash = tokio::task::spawn_blocking(move || password::hash(&pepper))
            .await
            .map_err(|_| StoreError::state("pin", "hashing the PIN failed"))??;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO pos_pins (user_id, pin_hash, failed_count, locked_at, set_at, set_by) \
             VALUES ($1, $2, 0, NULL, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             pin_hash = excluded.pin_hash, failed_count = 0, locked_at = NULL, \
             set_at = excluded.set_at, set_by = excluded.set_by",
        )
        .bind(user_id)
        .bind(&hash)
        .bind(self.now())
        .bind(actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // A reset PIN may have been seen: offline grants issued under the old one stop.
        self.withdraw_offline_grants(None, Some(user_id)).await?;
        Ok(())
    }

    /// Check a cashier's PIN. The try is counted first (compare-and-swap: only while unlocked
    /// and under [`PIN_TRIES`]); the try that reaches the limit locks the PIN and answers
    /// `Locked` even if it was wrong. A right PIN sets the count back to zero.
    pub async fn verify_pin(&self, user_id: &str, pin: &str) -> Result<PinCheck, StoreError> {
        let disabled: Option<i64> = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        match disabled {
            None => return Err(StoreError::not_found("user", user_id)),
            Some(d) if d != 0 => return Ok(PinCheck::Disabled),
            Some(_) => {}
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE pos_pins SET failed_count = failed_count + 1, \
             locked_at = CASE WHEN failed_count + 1 >= $1 THEN $2 ELSE NULL END \
             WHERE user_id = $3 AND locked_at IS NULL AND failed_count < $1 \
             RETURNING pin_hash, failed_count",
        )
        .bind(PIN_TRIES)
        .bind(now)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = claimed else {
            let has_pin: Option<String> =
                sqlx::query_scalar("SELECT user_id FROM pos_pins WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(if has_pin.is_some() {
                PinCheck::Locked
            } else {
                PinCheck::NoPin
            });
        };
        tx.commit().await?;
        let stored: String = row.try_get("pin_hash")?;
        let failures: i64 = row.try_get("failed_count")?;
        let pepper = self.pin_pepper(user_id, pin)?;
        let hash = stored.clone();
        let right = tokio::task::spawn_blocking(move || password::verify(&pepper, &hash))
            .await
            .map_err(|_| StoreError::state("pin", "checking the PIN failed"))??;
        if right {
            let mut tx = self.begin_write().await?;
            // Only if the PIN was not reset meanwhile: a new PIN makes the old one wrong.
            let done = sqlx::query(
                "UPDATE pos_pins SET failed_count = 0, locked_at = NULL \
                 WHERE user_id = $1 AND pin_hash = $2",
            )
            .bind(user_id)
            .bind(&stored)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            if done.rows_affected() == 1 {
                return Ok(PinCheck::Ok);
            }
        }
        Ok(if failures >= PIN_TRIES {
            PinCheck::Locked
        } else {
            PinCheck::Wrong {
                tries_left: PIN_TRIES - failures,
            }
        })
    }

    /// Remove a staff member's PIN (they can no longer unlock a till). 404 if they had none.
    pub async fn remove_pin(&self, user_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM pos_pins WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("PIN", user_id));
        }
        Ok(())
    }
}
