//! Second factor storage: TOTP seeds sealed under the active data key (bound to the user's
//! row), the last accepted time step (so each code works once), and recovery codes stored as keyed
//! hashes (HMAC with a key derived from the master key).

use storefort_crypto::totp;

use crate::{Db, StoreError};

pub(crate) fn context(user_id: &str) -> String {
    format!("users.totp_secret:{user_id}")
}

impl Db {
    /// The stored form of a recovery code: an HMAC keyed from the master key (about 50 bits of
    /// randomness would fall to offline guessing as a plain hash), bound to its user.
    fn recovery_code_hash(&self, user_id: &str, typed: &str) -> Result<String, StoreError> {
        Ok(self
            .secrets()?
            .codes
            .link(user_id, &[&totp::normalize_recovery_code(typed)]))
    }

    /// Replace a user's recovery codes inside `tx`.
    async fn store_recovery_codes(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user_id: &str,
        codes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        for c in codes {
            sqlx::query(
                "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(self.recovery_code_hash(user_id, c)?)
            .bind(user_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Start (or restart) enrolment: a new seed, kept sealed as pending until confirmed with
    /// a code. Returns the seed (base32) to show as a QR code.
    pub async fn begin_mfa_enrolment(&self, user_id: &str) -> Result<String, StoreError> {
        let secret = totp::new_secret();
        let sealed = self.seal_secret(&secret, &context(user_id)).await?;
        let done = sqlx::query("UPDATE users SET totp_pending = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user_id));
        }
        Ok(secret)
    }

    /// The pending enrolment seed, if enrolment was started.
    pub async fn pending_mfa_secret(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        self.open_seed(user_id, "totp_pending").await
    }

    /// The confirmed seed, if MFA is on.
    pub async fn mfa_secret(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        self.open_seed(user_id, "totp_secret").await
    }

    async fn open_seed(&self, user_id: &str, column: &str) -> Result<Option<String>, StoreError> {
        let sealed: Option<Option<String>> =
            sqlx::query_scalar(&format!("SELECT {column} FROM users WHERE id = $1"))
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(sealed) = sealed.flatten() else {
            return Ok(None);
        };
        Ok(Some(self.open_secret(&sealed, &context(user_id)).await?))
    }

    /// Finish enrolment: the pending seed becomes the seed, `step` (the confirming code's) is
    /// spent, and the given recovery codes replace any earlier ones (stored hashed).
    pub async fn confirm_mfa(
        &self,
        user_id: &str,
        step: i64,
        recovery_codes: &[String],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1, \
             updated_at = $2 WHERE id = $3 AND totp_pending IS NOT NULL",
        )
        .bind(step)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(
                "pending MFA enrolment for user",
                user_id,
            ));
        }
        self.store_recovery_codes(&mut tx, user_id, recovery_codes, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spend a TOTP time step: true only if it is later than every step used before, so a
    /// code (or an older one) replayed is refused, even by two requests racing.
    pub async fn spend_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spend a recovery code: true if it was one of the user's unused codes.
    pub async fn spend_recovery_code(
        &self,
        user_id: &str,
        typed: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE code_hash = $2 AND user_id = $3 AND used_at IS NULL",
        )
        .bind(self.now())
        .bind(self.recovery_code_hash(user_id, typed)?)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace a user's recovery codes (stored hashed): the old ones stop working. `NotFound`
    /// if the user has no MFA.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        recovery_codes: &[String],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET updated_at = $1 WHERE id = $2 AND totp_secret IS NOT NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("MFA of user", user_id));
        }
        self.store_recovery_codes(&mut tx, user_id, recovery_codes, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Turn MFA off for a user (they must enrol again if their role requires it).
    pub async fn reset_mfa(&self, user_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(self.now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
