//! Staff sessions, server-side: created at sign-in with a stage (password given, second factor
//! given), found by token hash (only hashes are stored), ended by idle time, age, password
//! change, disabling, or on request.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::auth::{user, User, USER_COLS};
use crate::db::new_id;
use crate::{Db, StoreError};

/// How far a session has got through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password given; the second factor is still owed.
    Mfa,
    /// Fully signed in.
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Mfa => "mfa",
            Stage::Full => "full",
        }
    }
}

/// A live session, found by its token. Debug output leaves out the CSRF token.
#[derive(Clone)]
pub struct Session {
    /// Session ID (not the token).
    pub id: String,
    /// The user.
    pub user: User,
    /// Per-session CSRF token for forms and API calls.
    pub csrf_token: String,
    /// When it ends regardless of activity.
    pub expires_at: i64,
    /// Sign-in stage.
    pub stage: Stage,
    /// When the password was last typed in this session (UTC ms).
    pub reauth_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("stage", &self.stage)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A session as listed to its owner (no tokens).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    /// Session ID.
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// Started (UTC ms).
    pub created_at: i64,
    /// Last request (UTC ms, to the minute).
    pub last_seen_at: i64,
    /// Ends at the latest (UTC ms).
    pub expires_at: i64,
    /// Client IP at sign-in.
    pub ip: String,
    /// Browser at sign-in.
    pub user_agent: String,
}

fn session_info(r: &AnyRow) -> Result<SessionInfo, sqlx::Error> {
    Ok(SessionInfo {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
    })
}

impl Db {
    /// Start a session for a user at `stage`; stores only the token's hash. The password was
    /// just typed, so `reauth_at` is now.
    pub async fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        csrf_token: &str,
        stage: Stage,
        ip: &str,
        user_agent: &str,
    ) -> Result<String, StoreError> {
        let now = self.now();
        let id = new_id();
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, csrf_token, created_at, last_seen_at, \
             expires_at, ip, user_agent, stage, reauth_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $5)",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now + self.policy.session_absolute_ms)
        .bind(ip)
        .bind(user_agent.chars().take(200).collect::<String>())
        .bind(stage.as_str())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Find a live session by token hash and mark it used. Expired or idle sessions are deleted
    /// and not returned; so are sessions of disabled users.
    pub async fn touch_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let now = self.now();
        let row = sqlx::query(&format!(
            "SELECT s.id AS session_id, s.csrf_token, s.expires_at, s.last_seen_at, s.stage, \
             s.reauth_at, {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("session_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let u = user(&row)?;
        if now >= expires_at || now - last_seen >= self.policy.session_idle_ms || u.disabled {
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
        let stage: String = row.try_get("stage")?;
        Ok(Some(Session {
            id,
            user: u,
            csrf_token: row.try_get("csrf_token")?,
            expires_at,
            stage: if stage == "full" {
                Stage::Full
            } else {
                Stage::Mfa
            },
            reauth_at: row.try_get("reauth_at")?,
        }))
    }

    /// The second factor was given: the session is now fully signed in.
    pub async fn complete_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET stage = 'full' WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Give a session a new token (after the second factor, so a token seen before sign-in
    /// finished is worthless).
    pub async fn rotate_session_token(&self, id: &str, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The password was typed again in this session (for sensitive actions).
    pub async fn mark_reauthenticated(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(self.now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A user's live sessions, most recently used first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.now();
        let rows = sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC",
        )
        .bind(user_id)
        .bind(now)
        .bind(now - self.policy.session_idle_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(session_info).collect::<Result<_, _>>()?)
    }

    /// End one of `user_id`'s sessions; `NotFound` if it is not theirs.
    pub async fn end_session_of(&self, user_id: &str, session_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(session_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("session", session_id));
        }
        Ok(())
    }

    /// End all of a user's sessions, except `keep` if given. Returns how many ended.
    pub async fn end_sessions_of(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// End a session.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
