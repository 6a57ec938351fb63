//! Shopper sessions on the storefront, server-side: started at sign-in (or registration), found
//! by the token's hash (the token itself is never stored), ended by age, idle time, signing out
//! or for every device at once. Also the per-account sign-in bookkeeping: when the account was
//! opened and the run of failed sign-ins that locks it for a while.

use sqlx::Row;
use storefort_core::ids::{AddressId, CustomerId};
use storefort_crypto::token::{hash_token, random_token};

use crate::{Db, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// A shopper session ends this long after sign-in, however busy (30 days).
pub const SHOPPER_SESSION_ABSOLUTE_MS: i64 = 30 * DAY_MS;
/// A shopper session ends after this long without a request (7 days).
pub const SHOPPER_SESSION_IDLE_MS: i64 = 7 * DAY_MS;
/// `last_seen_at` is written at most this often, so page views do not all write.
const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;

/// A live shopper session. Debug output leaves out the CSRF token.
#[derive(Clone)]
pub struct ShopperSession {
    /// The signed-in customer.
    pub customer_id: CustomerId,
    /// The session's anti-forgery token for forms.
    pub csrf_token: String,
    /// Started (UTC ms).
    pub created_at: i64,
    /// Last request (UTC ms, to within a few minutes).
    pub last_seen_at: i64,
}

impl std::fmt::Debug for ShopperSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopperSession")
            .field("customer_id", &self.customer_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

/// The outcome of counting a sign-in try ([`Db::claim_shopper_login_attempt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopperAttempt {
    /// Counted: go on and check the password.
    Counted,
    /// The account is locked after too many failures: refuse without checking.
    Locked,
}

impl Db {
    /// Start a session for `customer_id`; returns the token for the cookie. Only its SHA-256
    /// is stored.
    pub async fn create_shopper_session(
        &self,
        customer_id: &CustomerId,
    ) -> Result<String, StoreError> {
        let token = random_token();
        let now = self.now();
        sqlx::query(
            "INSERT INTO shopper_sessions (token_hash, customer_id, csrf_token, created_at, \
             last_seen_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(hash_token(&token))
        .bind(customer_id.as_str())
        .bind(random_token())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The live session behind `token`, marked as used. A session past its age
    /// ([`SHOPPER_SESSION_ABSOLUTE_MS`]) or idle time ([`SHOPPER_SESSION_IDLE_MS`]) is deleted
    /// and not returned.
    pub async fn shopper_session(&self, token: &str) -> Result<Option<ShopperSession>, StoreError> {
        let token_hash = hash_token(token);
        let row = sqlx::query(
            "SELECT customer_id, csrf_token, created_at, last_seen_at FROM shopper_sessions \
             WHERE token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        let created_at: i64 = row.try_get("created_at")?;
        let last_seen_at: i64 = row.try_get("last_seen_at")?;
        if now - created_at >= SHOPPER_SESSION_ABSOLUTE_MS
            || now - last_seen_at >= SHOPPER_SESSION_IDLE_MS
        {
            self.delete_shopper_session(&token_hash).await?;
            return Ok(None);
        }
        let mut seen = last_seen_at;
        if now - last_seen_at >= TOUCH_EVERY_MS {
            sqlx::query("UPDATE shopper_sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&token_hash)
                .execute(&self.pool)
                .await?;
            seen = now;
        }
        let customer_id: String = row.try_get("customer_id")?;
        Ok(Some(ShopperSession {
            customer_id: CustomerId(customer_id),
            csrf_token: row.try_get("csrf_token")?,
            created_at,
            last_seen_at: seen,
        }))
    }

    /// End the session behind `token` (signing out). Returns whether there was one.
    pub async fn end_shopper_session(&self, token: &str) -> Result<bool, StoreError> {
        self.delete_shopper_session(&hash_token(token)).await
    }

    async fn delete_shopper_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM shopper_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// End every session of a customer (new password, erasure, "sign out everywhere").
    /// Returns how many ended.
    pub async fn end_shopper_sessions_of(
        &self,
        customer_id: &CustomerId,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM shopper_sessions WHERE customer_id = $1")
            .bind(customer_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Note that a shopper account was opened on the storefront now (registration). Does
    /// nothing if the account already has a date.
    pub async fn record_shopper_account_opened(
        &self,
        customer_id: &CustomerId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO shopper_accounts (customer_id, opened_at) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO UPDATE SET opened_at = excluded.opened_at \
             WHERE shopper_accounts.opened_at = 0",
        )
        .bind(customer_id.as_str())
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the shopper account was opened on the storefront (UTC ms); `None` if not recorded
    /// (an account made some other way).
    pub async fn shopper_account_opened_at(
        &self,
        customer_id: &CustomerId,
    ) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT opened_at FROM shopper_accounts WHERE customer_id = $1")
                .bind(customer_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.filter(|t| *t > 0))
    }

    /// The customer's saved addresses made before the shopper account was opened on the
    /// storefront (none when the opening date is not recorded). An account opened on a guest's
    /// record has an unverified email, so the account page keeps these to itself.
    pub async fn addresses_before_shopper_account(
        &self,
        customer_id: &CustomerId,
    ) -> Result<Vec<AddressId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT a.id FROM customer_addresses a \
             JOIN shopper_accounts s ON s.customer_id = a.customer_id \
             WHERE a.customer_id = $1 AND s.opened_at > 0 AND a.created_at < s.opened_at",
        )
        .bind(customer_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(AddressId).collect())
    }

    /// Count one sign-in try at this account *before* the password is checked, so parallel
    /// guesses cannot get past the limit. At the policy's threshold (10) the account locks
    /// for the policy's lockout time (30 minutes); a locked account's tries are refused
    /// unchecked and do not extend the lock. Once a lock has run out, counting starts again.
    pub async fn claim_shopper_login_attempt(
        &self,
        customer_id: &CustomerId,
    ) -> Result<ShopperAttempt, StoreError> {
        let now = self.now();
        let p = &self.policy;
        sqlx::query(
            "INSERT INTO shopper_accounts (customer_id) VALUES ($1) \
             ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(customer_id.as_str())
        .execute(&self.pool)
        .await?;
        // SET sees the row's old values on both engines.
        let done = sqlx::query(
            "UPDATE shopper_accounts SET \
             failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 \
                 ELSE failed_logins + 1 END) >= $1 THEN $2 ELSE NULL END \
             WHERE customer_id = $3 AND (locked_until IS NULL OR locked_until <= $4)",
        )
        .bind(p.lockout_threshold)
        .bind(now + p.lockout_ms)
        .bind(customer_id.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(if done.rows_affected() == 0 {
            ShopperAttempt::Locked
        } else {
            ShopperAttempt::Counted
        })
    }

    /// The password was right: clear the run of failures and any lock.
    pub async fn shopper_login_succeeded(
        &self,
        customer_id: &CustomerId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE shopper_accounts SET failed_logins = 0, locked_until = NULL \
             WHERE customer_id = $1",
        )
        .bind(customer_id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use storefort_core::customer::{Address, NewCustomer};

    use super::*;
    use crate::db::ConnectOptions;
    use crate::ManualClock;

    /// SQLite always; PostgreSQL too when `STOREFORT_TEST_POSTGRES_URL` is set.
    async fn dbs(clock: Arc<ManualClock>) -> (Vec<Db>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut plain = vec![
            Db::connect_with(&url, ConnectOptions::default(), clock.clone())
                .await
                .unwrap(),
        ];
        if let Ok(pg) = std::env::var("STOREFORT_TEST_POSTGRES_URL") {
            let opts = ConnectOptions {
                pg_schema: Some(format!("t_{}", crate::db::new_id().replace('-', ""))),
                max_connections: Some(4),
            };
            plain.push(Db::connect_with(&pg, opts, clock).await.unwrap());
        }
        let mut out = Vec::new();
        for db in plain {
            db.migrate().await.unwrap();
            let key = storefort_crypto::master_key::MasterKey::generate();
            out.push(db.with_master_key(&key).await.unwrap());
        }
        (out, dir)
    }

    async fn account(db: &Db, email: &str) -> CustomerId {
        let c = NewCustomer {
            name: "Ann".into(),
            email: email.into(),
            ..Default::default()
        };
        db.create_customer(&c, Some("$argon2id$stand-in"))
            .await
            .unwrap()
            .id
    }

    #[tokio::test]
    async fn sessions_live_expire_and_end() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let (dbs, _dir) = dbs(clock.clone()).await;
        for db in &dbs {
            let ann = account(db, "ann@example.com").await;
            let bob = account(db, "bob@example.com").await;
            let t1 = db.create_shopper_session(&ann).await.unwrap();
            let t2 = db.create_shopper_session(&ann).await.unwrap();
            let tb = db.create_shopper_session(&bob).await.unwrap();
            let s = db.shopper_session(&t1).await.unwrap().unwrap();
            assert_eq!(s.customer_id, ann);
            assert_eq!(s.csrf_token.len(), 43);
            assert!(
                !format!("{s:?}").contains(&s.csrf_token),
                "Debug hides the token"
            );
            assert!(db.shopper_session("forged").await.unwrap().is_none());
            // Idle: touched sessions live on, the others end after a week.
            clock.advance(SHOPPER_SESSION_IDLE_MS - 1);
            assert!(db.shopper_session(&t1).await.unwrap().is_some());
            clock.advance(1);
            assert!(db.shopper_session(&t2).await.unwrap().is_none());
            assert!(db.shopper_session(&t1).await.unwrap().is_some());
            // Ending one leaves the rest; ending all of Ann's leaves Bob's.
            let t3 = db.create_shopper_session(&ann).await.unwrap();
            assert!(db.end_shopper_session(&t3).await.unwrap());
            assert!(!db.end_shopper_session(&t3).await.unwrap());
            assert!(db.shopper_session(&t1).await.unwrap().is_some());
            assert_eq!(db.end_shopper_sessions_of(&ann).await.unwrap(), 1);
            assert!(db.shopper_session(&t1).await.unwrap().is_none());
            assert!(
                db.shopper_session(&tb).await.unwrap().is_none(),
                "Bob idled out"
            );
            // Absolute: however busy, 30 days after it started.
            let t4 = db.create_shopper_session(&bob).await.unwrap();
            for _ in 0..5 {
                clock.advance(SHOPPER_SESSION_ABSOLUTE_MS / 6);
                assert!(db.shopper_session(&t4).await.unwrap().is_some());
            }
            clock.advance(SHOPPER_SESSION_ABSOLUTE_MS / 6);
            assert!(db.shopper_session(&t4).await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn failures_lock_the_account_until_the_lock_runs_out() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let (dbs, _dir) = dbs(clock.clone()).await;
        for db in &dbs {
            let ann = account(db, "ann@example.com").await;
            let limit = db.policy.lockout_threshold;
            for _ in 0..limit {
                let a = db.claim_shopper_login_attempt(&ann).await.unwrap();
                assert_eq!(a, ShopperAttempt::Counted);
            }
            let a = db.claim_shopper_login_attempt(&ann).await.unwrap();
            assert_eq!(a, ShopperAttempt::Locked);
            clock.advance(db.policy.lockout_ms);
            let a = db.claim_shopper_login_attempt(&ann).await.unwrap();
            assert_eq!(
                a,
                ShopperAttempt::Counted,
                "the lock ran out; counting again"
            );
            db.shopper_login_succeeded(&ann).await.unwrap();
            for _ in 0..limit - 1 {
                db.claim_shopper_login_attempt(&ann).await.unwrap();
            }
            let a = db.claim_shopper_login_attempt(&ann).await.unwrap();
            assert_eq!(a, ShopperAttempt::Counted, "success cleared the run");
        }
    }

    #[tokio::test]
    async fn opening_date_is_kept_and_hides_older_addresses() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let (dbs, _dir) = dbs(clock.clone()).await;
        for db in &dbs {
            let ann = account(db, "ann@example.com").await;
            let a = Address {
                name: "Ann".into(),
                line1: "1 High St".into(),
                city: "Leeds".into(),
                country: "GB".into(),
                ..Default::default()
            };
            let old = db.add_address(&ann, "", &a).await.unwrap();
            assert!(db.shopper_account_opened_at(&ann).await.unwrap().is_none());
            assert!(db
                .addresses_before_shopper_account(&ann)
                .await
                .unwrap()
                .is_empty());
            // A failed sign-in makes the row without a date; opening still records one.
            db.claim_shopper_login_attempt(&ann).await.unwrap();
            clock.advance(10);
            db.record_shopper_account_opened(&ann).await.unwrap();
            let opened = db.shopper_account_opened_at(&ann).await.unwrap();
            assert_eq!(opened, Some(db.now()));
            clock.advance(10);
            db.record_shopper_account_opened(&ann).await.unwrap();
            assert_eq!(db.shopper_account_opened_at(&ann).await.unwrap(), opened);
            let new = db.add_address(&ann, "", &a).await.unwrap();
            let hidden = db.addresses_before_shopper_account(&ann).await.unwrap();
            assert_eq!(hidden, [old.id]);
            assert!(!hidden.contains(&new.id));
        }
    }
}
