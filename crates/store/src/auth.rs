//! Staff users, server-side sessions and integration API keys. Tokens are stored only as hashes.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::{ApiKeyId, UserId};
use storefort_core::{text, ValidationError};

use crate::db::{flag, new_id};
use crate::{Db, StoreError};

/// Admin sessions end after this long without a request (15 minutes).
pub const SESSION_IDLE_MS: i64 = 15 * 60 * 1000;
/// Admin sessions end this long after login, whatever happens (12 hours).
pub const SESSION_ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;

/// How precisely an API key's `last_used_at` is kept (one minute).
const KEY_USE_PRECISION_MS: i64 = 60_000;

/// A staff member.
#[derive(Debug, Clone)]
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
}

/// A live session, found by its token.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session ID (not the token).
    pub id: String,
    /// The user.
    pub user: User,
    /// Per-session CSRF token for forms and API calls.
    pub csrf_token: String,
    /// When it ends regardless of activity.
    pub expires_at: i64,
}

/// An integration's API key (never the key itself).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// ID.
    pub id: ApiKeyId,
    /// What it is for.
    pub name: String,
    /// First characters of the key, to recognise it.
    pub prefix: String,
    /// `read` or `write`.
    pub scope: String,
    /// Created, UTC ms.
    pub created_at: i64,
    /// Last used, UTC ms.
    pub last_used_at: Option<i64>,
    /// Revoked, UTC ms.
    pub revoked_at: Option<i64>,
}

const USER_COLS: &str =
    "u.id, u.email, u.name, u.role, u.password_hash, u.password_score, u.disabled";

fn user(r: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        password_score: r.try_get("password_score")?,
        disabled: flag(r, "disabled")?,
    })
}

fn api_key(r: &AnyRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: ApiKeyId(r.try_get("id")?),
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        scope: r.try_get("scope")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
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
        let email = normalize_email(email)?;
        let name = text::required("name", name, 100)?;
        let id = new_id();
        let now = self.now();
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, password_score, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)",
        )
        .bind(&id)
        .bind(&email)
        .bind(&name)
        .bind(role)
        .bind(password_hash)
        .bind(i64::from(password_score))
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.user_by_email(&email)
            .await?
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

    /// All users with a role (e.g. the owners, for `doctor`).
    pub async fn users_with_role(&self, role: &str) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.role = $1 ORDER BY u.email"
        ))
        .bind(role)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(user).collect::<Result<_, _>>()?)
    }

    /// Replace a user's password hash (and record its strength); ends all their sessions.
    pub async fn set_password(
        &self,
        user_id: &str,
        hash: &str,
        score: u8,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, password_score = $2, updated_at = $3 WHERE id = $4")
            .bind(hash)
            .bind(i64::from(score))
            .bind(self.now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Start a session for a user; stores only the token's hash.
    pub async fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        csrf_token: &str,
        ip: &str,
        user_agent: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now + SESSION_ABSOLUTE_MS)
        .bind(ip)
        .bind(user_agent.chars().take(200).collect::<String>())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Find a live session by token hash and mark it used. Expired or idle sessions are deleted
    /// and not returned; so are sessions of disabled users.
    pub async fn touch_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let now = self.now();
        let row = sqlx::query(&format!(
            "SELECT s.id AS session_id, s.csrf_token, s.expires_at, s.last_seen_at, {USER_COLS} \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("session_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let u = user(&row)?;
        if now >= expires_at || now - last_seen >= SESSION_IDLE_MS || u.disabled {
            self.delete_session(&id).await?;
            return Ok(None);
        }
        // Writing on every request would serialise reads on SQLite; a minute's precision is enough.
        if now - last_seen > 60_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            id,
            user: u,
            csrf_token: row.try_get("csrf_token")?,
            expires_at,
        }))
    }

    /// End a session.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Create an API key record (the caller shows the key once and keeps only `key_hash` here).
    pub async fn create_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: &str,
        scope: &str,
        created_by: &str,
    ) -> Result<ApiKey, StoreError> {
        let name = text::required("name", name, 100)?;
        if scope != "read" && scope != "write" {
            return Err(ValidationError::new("scope", "must be \"read\" or \"write\"").into());
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scope, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&name)
        .bind(prefix)
        .bind(key_hash)
        .bind(scope)
        .bind(created_by)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.api_keys()
            .await?
            .into_iter()
            .find(|k| k.id.0 == id)
            .ok_or_else(|| StoreError::not_found("api key", id))
    }

    /// A live (not revoked) key by its hash. Lookups are cached briefly (see [`crate::cache`]);
    /// revoking a key through this process drops the cache at once. `last_used_at` is recorded
    /// on the uncached path only, at most once a minute, so busy integrations cause no writes.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        if let Some(hit) = self.keys.get(key_hash) {
            return Ok((*hit).clone());
        }
        let version = self.keys.version();
        let row = sqlx::query(
            "SELECT id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        let mut key = row.as_ref().map(api_key).transpose()?;
        if let Some(k) = key.as_mut() {
            let now = self.now();
            if k.last_used_at
                .is_none_or(|t| now - t >= KEY_USE_PRECISION_MS)
            {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(k.id.as_str())
                    .execute(&self.pool)
                    .await?;
                k.last_used_at = Some(now);
            }
        }
        self.keys.put(
            key_hash.to_string(),
            version,
            std::sync::Arc::new(key.clone()),
        );
        Ok(key)
    }

    /// All keys, newest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(api_key).collect::<Result<_, _>>()?)
    }

    /// Revoke a key; its next request is refused.
    pub async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(self.now())
                .bind(id)
                .execute(&self.pool)
                .await?;
        self.keys.invalidate();
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("api key", id));
        }
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
}
