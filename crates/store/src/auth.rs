//! Staff users: accounts, roles, sign-in bookkeeping (failures, lockout, last use) and password
//! changes with history. Their sessions live in [`crate::sessions`].

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::access::Role;
use storefort_core::ids::UserId;
use storefort_core::{text, ValidationError};

pub use crate::keys::ApiKey;
pub use crate::sessions::{Session, SessionInfo, Stage};

use crate::db::{flag, new_id};
use crate::{Db, StoreError};

/// How many earlier passwords a new one may not repeat (PCI DSS 8.3.7: the last 4).
pub const PASSWORD_HISTORY: i64 = 4;

/// A staff member. Debug output leaves out the password hash.
#[derive(Clone)]
pub struct User {
    /// ID.
    pub id: UserId,
    /// Login email (lowercase).
    pub email: String,
    /// Display name.
    pub name: String,
    /// `owner`, `manager` or `cashier`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// zxcvbn score of the password when it was set (0-4).
    pub password_score: i64,
    /// Cannot log in.
    pub disabled: bool,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// Locked until this time (UTC ms), if locked.
    pub locked_until: Option<i64>,
    /// When the password was last set (UTC ms).
    pub password_changed_at: i64,
    /// Must choose a new password before doing anything else.
    pub must_change_password: bool,
    /// Last successful sign-in (UTC ms).
    pub last_login_at: Option<i64>,
    /// TOTP is set up.
    pub mfa_enabled: bool,
    /// Created (UTC ms).
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("locked_until", &self.locked_until)
            .field("mfa_enabled", &self.mfa_enabled)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The role as a type (an unknown stored role counts as cashier, the least powerful).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Cashier)
    }

    /// Locked at `now`?
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

pub(crate) const USER_COLS: &str =
    "u.id, u.email, u.name, u.role, u.password_hash, u.password_score, \
     u.disabled, u.failed_logins, u.locked_until, u.password_changed_at, u.must_change_password, \
     u.last_login_at, u.totp_secret IS NOT NULL AS mfa_on, u.created_at";

pub(crate) fn user(r: &AnyRow) -> Result<User, sqlx::Error> {
    // `IS NOT NULL` comes back as a boolean on PostgreSQL and an integer on SQLite.
    let mfa = r
        .try_get::<bool, _>("mfa_on")
        .or_else(|_| r.try_get::<i64, _>("mfa_on").map(|v| v != 0))?;
    Ok(User {
        id: UserId(r.try_get("id")?),
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        password_score: r.try_get("password_score")?,
        disabled: flag(r, "disabled")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        password_changed_at: r.try_get("password_changed_at")?,
        must_change_password: flag(r, "must_change_password")?,
        last_login_at: r.try_get("last_login_at")?,
        mfa_enabled: mfa,
        created_at: r.try_get("created_at")?,
    })
}

/// Normalise and check an email address (enough to catch typos; delivery proves the rest).
pub fn normalize_email(email: &str) -> Result<String, ValidationError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !e.chars().any(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(ValidationError::new("email", "is not an email address"))
    }
}

/// Check a role name.
pub fn parse_role(role: &str) -> Result<Role, ValidationError> {
    Role::parse(role).ok_or_else(|| {
        ValidationError::new("role", "must be \"owner\", \"manager\" or \"cashier\"")
    })
}

/// A staff account to insert (validated by [`insert_user`]).
pub(crate) struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub score: u8,
    pub now: i64,
}

/// Insert a user and the first entry of their password history inside `tx`; returns the ID.
pub(crate) async fn insert_user(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    u: NewUser<'_>,
) -> Result<String, StoreError> {
    let email = normalize_email(u.email)?;
    let name = text::required("name", u.name, 100)?;
    let role = parse_role(u.role)?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, email, name, role, password_hash, password_score, disabled, \
         created_at, updated_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, $7)",
    )
    .bind(&id)
    .bind(&email)
    .bind(&name)
    .bind(role.as_str())
    .bind(u.password_hash)
    .bind(i64::from(u.score))
    .bind(u.now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(&id)
    .bind(u.password_hash)
    .bind(u.now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

impl Db {
    /// Create a staff user with an already-hashed password.
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        role: &str,
        password_hash: &str,
        password_score: u8,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = insert_user(
            &mut tx,
            NewUser {
                email,
                name,
                role,
                password_hash,
                score: password_score,
                now: self.now(),
            },
        )
        .await?;
        tx.commit().await?;
        self.user(&id).await
    }

    /// A user by ID.
    pub async fn user(&self, id: &str) -> Result<User, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(user)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("user", id))
    }

    /// A user by login email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user).transpose()?)
    }

    /// Every staff member, by email.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.email"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(user).collect::<Result<_, _>>()?)
    }

    /// All users with a role (e.g. the owners, for `doctor`).
    pub async fn users_with_role(&self, role: &str) -> Result<Vec<User>, StoreError> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .filter(|u| u.role == role)
            .collect())
    }

    /// Replace a user's password (recording it in the history, clearing any lockout and any
    /// "must change" flag); ends all their sessions.
    pub async fn set_password(
        &self,
        user_id: &str,
        hash: &str,
        score: u8,
    ) -> Result<(), StoreError> {
        self.write_password(user_id, hash, score, false).await
    }

    /// Give a user a password they must replace at next sign-in (stolen device, operator
    /// reset); ends all their sessions.
    pub async fn set_temporary_password(
        &self,
        user_id: &str,
        hash: &str,
        score: u8,
    ) -> Result<(), StoreError> {
        self.write_password(user_id, hash, score, true).await
    }

    async fn write_password(
        &self,
        user_id: &str,
        hash: &str,
        score: u8,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, password_score = $2, updated_at = $3, \
             password_changed_at = $3, must_change_password = $4, failed_logins = 0, \
             locked_until = NULL WHERE id = $5",
        )
        .bind(hash)
        .bind(i64::from(score))
        .bind(now)
        .bind(i64::from(must_change))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user_id));
        }
        sqlx::query(
            "INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replace a hash made with old parameters after a successful sign-in (same password, so
    /// no history entry and no session changes).
    pub async fn rehash_password(&self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's last [`PASSWORD_HISTORY`] password hashes, newest first (the current one
    /// included).
    pub async fn password_history(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT password_hash FROM password_history WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT {PASSWORD_HISTORY}"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Count one try at this account's password or code *before* checking it, so parallel
    /// guesses cannot get past the lockout threshold. At the threshold the account locks for
    /// the policy's lockout time. Returns the user as it now stands, or `None` if the account
    /// was already locked (the try is refused unchecked and does not extend the lock). Once a
    /// lock has run out, counting starts again from one.
    pub async fn claim_login_attempt(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let now = self.now();
        let p = &self.policy;
        // SET sees the row's old values on both engines.
        let done = sqlx::query(
            "UPDATE users SET \
             failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 \
                 ELSE failed_logins + 1 END) >= $1 THEN $2 ELSE NULL END \
             WHERE id = $3 AND (locked_until IS NULL OR locked_until <= $4)",
        )
        .bind(p.lockout_threshold)
        .bind(now + p.lockout_ms)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(self.user(user_id).await?))
    }

    /// Take back a try counted by [`Db::claim_login_attempt`] that turned out right but does
    /// not finish signing in (the password before the second factor): earlier failures still
    /// count, and a lock this try would have caused is lifted.
    pub async fn release_login_attempt(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins - 1, \
             locked_until = CASE WHEN failed_logins - 1 < $1 THEN NULL ELSE locked_until END \
             WHERE id = $2 AND failed_logins > 0",
        )
        .bind(self.policy.lockout_threshold)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Count a failed sign-in (see [`Db::claim_login_attempt`]); returns the user as it now
    /// stands.
    pub async fn record_login_failure(&self, user_id: &str) -> Result<User, StoreError> {
        self.claim_login_attempt(user_id).await?;
        self.user(user_id).await
    }

    /// A successful sign-in: clear failures, note the time.
    pub async fn record_login_success(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
        )
        .bind(self.now())
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lift a lockout now (owner or operator).
    pub async fn unlock_user(&self, user_id: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user_id));
        }
        Ok(())
    }

    /// Change a user's role.
    pub async fn set_role(&self, user_id: &str, role: &str) -> Result<User, StoreError> {
        let role = parse_role(role)?;
        let done = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(self.now())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user_id));
        }
        self.user(user_id).await
    }

    /// Disable (ending every session and suspending the API keys they made) or re-enable an
    /// account.
    pub async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(self.now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user_id));
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // Keys of a disabled account stop working at once (and work again if re-enabled).
        self.keys.invalidate();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Owner@Shop.Example ").unwrap(),
            "owner@shop.example"
        );
        for bad in ["", "nobody", "a@b", "a b@c.de", "@x.io"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_the_password_hash() {
        let u = User {
            id: UserId("u1".into()),
            email: "a@b.co".into(),
            name: "A".into(),
            role: "owner".into(),
            password_hash: "$argon2id$secret-hash".into(),
            password_score: 4,
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            password_changed_at: 0,
            must_change_password: false,
            last_login_at: None,
            mfa_enabled: true,
            created_at: 0,
        };
        let shown = format!("{u:?}");
        assert!(
            shown.contains("a@b.co") && !shown.contains("secret-hash"),
            "{shown}"
        );
    }

    #[test]
    fn roles() {
        assert_eq!(parse_role("manager").unwrap(), Role::Manager);
        assert_eq!(parse_role("root").unwrap_err().field, "role");
    }
}
