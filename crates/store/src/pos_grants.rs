//! Offline grants: what lets a till's offline sales be accepted later. A cashier who unlocks a
//! till online gets one (a random token; only its hash is stored) for the offline grace period.
//! A sale from the offline queue must carry a grant of the same device and cashier and have been
//! sold while it was valid. Revoking the device, signing the cashier out from the admin and
//! resetting their PIN withdraw grants (sales sold before that still count).

use storefort_crypto::token::{hash_token, random_token};

use crate::{Db, StoreError};

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineGrant {
    /// The device it was issued on.
    pub device_id: String,
    /// The cashier it was issued to.
    pub cashier_id: String,
    /// When (UTC ms).
    pub issued_at: i64,
    /// Until when sales may be made under it.
    pub expires_at: i64,
    /// When it was withdrawn, if it was.
    pub revoked_at: Option<i64>,
}

impl OfflineGrant {
    /// Whether a sale sold at `at` (device time) falls inside the grant, allowing `skew_ms` for
    /// the device's clock at either end, but none after a withdrawal (a manager's sign-out is
    /// meant to stop selling at once).
    pub fn covers(&self, at: i64, skew_ms: i64) -> bool {
        let end = match self.revoked_at {
            Some(r) => r.min(self.expires_at + skew_ms),
            None => self.expires_at + skew_ms,
        };
        at >= self.issued_at - skew_ms && at <= end
    }
}

impl Db {
    /// Issue a grant to `cashier_id` on `device_id`, valid `ttl_ms` from now. Returns the token.
    pub async fn issue_offline_grant(
        &self,
        device_id: &str,
        cashier_id: &str,
        ttl_ms: i64,
    ) -> Result<String, StoreError> {
        let (token, now) = (random_token(), self.now());
        let mut tx = self.begin_write().await?;
        // Old grants of this cashier on this device have done their job once a new one exists.
        sqlx::query("DELETE FROM pos_offline_grants WHERE device_id = $1 AND expires_at < $2")
            .bind(device_id)
            .bind(now - 30 * 24 * 3_600_000)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO pos_offline_grants (token_hash, device_id, cashier_id, issued_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash_token(&token))
        .bind(device_id)
        .bind(cashier_id)
        .bind(now)
        .bind(now + ttl_ms.max(0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The grant behind `token`, if it was issued on `device_id`.
    pub async fn offline_grant(
        &self,
        device_id: &str,
        token: &str,
    ) -> Result<Option<OfflineGrant>, StoreError> {
        let row: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT device_id, cashier_id, issued_at, expires_at, revoked_at \
             FROM pos_offline_grants WHERE token_hash = $1",
        )
        .bind(hash_token(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.filter(|r| r.0 == device_id).map(|r| OfflineGrant {
            device_id: r.0,
            cashier_id: r.1,
            issued_at: r.2,
            expires_at: r.3,
            revoked_at: r.4,
        }))
    }

    /// Withdraw the live grants of a device (all its cashiers) or of a staff member (all
    /// devices). Sales already sold under them still count.
    pub async fn withdraw_offline_grants(
        &self,
        device_id: Option<&str>,
        cashier_id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE pos_offline_grants SET revoked_at = $1 WHERE revoked_at IS NULL \
             AND ($2 = '' OR device_id = $2) AND ($3 = '' OR cashier_id = $3)",
        )
        .bind(self.now())
        .bind(device_id.unwrap_or(""))
        .bind(cashier_id.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::OfflineGrant;

    #[test]
    fn a_grant_covers_its_window_and_stops_when_withdrawn() {
        let mut g = OfflineGrant {
            device_id: "d".into(),
            cashier_id: "c".into(),
            issued_at: 1_000_000,
            expires_at: 2_000_000,
            revoked_at: None,
        };
        assert!(g.covers(1_500_000, 0));
        assert!(!g.covers(999_000, 0) && g.covers(999_000, 60_000));
        assert!(!g.covers(2_000_001, 0));
        g.revoked_at = Some(1_200_000);
        assert!(g.covers(1_100_000, 0), "sold before it was withdrawn");
        assert!(!g.covers(1_300_000, 0), "sold after it was withdrawn");
    }
}
