//! Password-reset links, staff invitations and the offline breached-password list. Link tokens
//! are 256-bit random values stored only as hashes; each works once and expires.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::text;

use crate::auth::{insert_user, normalize_email, parse_role, NewUser, User};
use crate::db::{new_id, Backend};
use crate::{Db, StoreError};

/// A pending (or past) invitation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invitation {
    /// ID.
    pub id: String,
    /// Invitee's email.
    pub email: String,
    /// Invitee's name.
    pub name: String,
    /// Role they will get.
    pub role: String,
    /// Who invited them (user ID).
    pub invited_by: String,
    /// Sent (UTC ms).
    pub created_at: i64,
    /// Link stops working (UTC ms).
    pub expires_at: i64,
    /// Accepted (UTC ms).
    pub accepted_at: Option<i64>,
    /// Withdrawn (UTC ms).
    pub revoked_at: Option<i64>,
}

fn invitation(r: &AnyRow) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        invited_by: r.try_get("invited_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        accepted_at: r.try_get("accepted_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const INVITE_COLS: &str =
    "id, email, name, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

impl Db {
    /// Store a reset link's token hash for a user (expires per policy, default 30 minutes).
    pub async fn create_password_reset(
        &self,
        user_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + self.policy.reset_link_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many reset links were made for a user since `since` (UTC ms).
    pub async fn reset_links_since(&self, user_id: &str, since: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at >= $2",
        )
        .bind(user_id)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The user a reset link is for, if it is unused and unexpired (does not use it).
    pub async fn password_reset_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => Ok(Some(self.user(&id).await?)),
            None => Ok(None),
        }
    }

    /// Use a reset link: marks it used (once, even under races) and returns its user ID.
    pub async fn use_password_reset(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = &id {
            // Any other outstanding link for the same account dies with this one.
            sqlx::query(
                "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(id)
    }

    /// Record an invitation (the caller emails the link with the token).
    pub async fn create_invitation(
        &self,
        email: &str,
        name: &str,
        role: &str,
        invited_by: &str,
        token_hash: &str,
    ) -> Result<Invitation, StoreError> {
        let email = normalize_email(email)?;
        let name = text::required("name", name, 100)?;
        let role = parse_role(role)?;
        if self.user_by_email(&email).await?.is_some() {
            return Err(StoreError::Conflict {
                field: "email".into(),
            });
        }
        let now = self.now();
        let id = new_id();
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, email, name, role, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(&email)
        .bind(&name)
        .bind(role.as_str())
        .bind(invited_by)
        .bind(now)
        .bind(now + self.policy.invitation_ms)
        .execute(&self.pool)
        .await?;
        self.invitation(&id).await
    }

    /// An invitation by ID.
    pub async fn invitation(&self, id: &str) -> Result<Invitation, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invitations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(invitation)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("invitation", id))
    }

    /// A usable invitation by its link token's hash (not accepted, withdrawn or expired).
    pub async fn open_invitation(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(token_hash)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(invitation).transpose()?)
    }

    /// Invitations not yet accepted or withdrawn, newest first (expired ones included, marked
    /// by `expires_at`).
    pub async fn pending_invitations(&self) -> Result<Vec<Invitation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL \
             ORDER BY created_at DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(invitation).collect::<Result<_, _>>()?)
    }

    /// Accept an invitation: in one transaction, marks it accepted (only if it is still open:
    /// not accepted, withdrawn or expired) and creates the account with the chosen password and
    /// its first history entry. `NotFound` if the link is no longer usable; `Conflict` (email)
    /// if an account with that email exists, and then the invitation stays open.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        score: u8,
    ) -> Result<User, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1 RETURNING id, email, name, role",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::not_found("invitation", "link"));
        };
        let email: String = row.try_get("email")?;
        let name: String = row.try_get("name")?;
        let role: String = row.try_get("role")?;
        let new = NewUser {
            email: &email,
            name: &name,
            role: &role,
            password_hash,
            score,
            now,
        };
        let id = insert_user(&mut tx, new).await?;
        tx.commit().await?;
        self.user(&id).await
    }

    /// Withdraw an invitation.
    pub async fn revoke_invitation(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("invitation", id));
        }
        Ok(())
    }

    /// Add breached-password prefixes (see `storefort_crypto::password::breached_prefix`);
    /// duplicates are ignored. Returns how many were new.
    pub async fn import_breached(&self, prefixes: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for p in prefixes {
            added += sqlx::query(
                "INSERT INTO breached_passwords (prefix) VALUES ($1) ON CONFLICT (prefix) DO NOTHING",
            )
            .bind(p)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Is this prefix in the imported breached list?
    pub async fn is_breached(&self, prefix: &str) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM breached_passwords WHERE prefix = $1")
                .bind(prefix)
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    /// Size of the imported breached list.
    pub async fn breached_count(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM breached_passwords")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// PostgreSQL advisory lock key serialising changes that could remove the last owner.
const OWNER_LOCK: i64 = 0x0053_464F_574E_4552; // "SFOWNER"

/// Guard for an update of the user whose ID is bound as `id` (e.g. `$3`): allowed unless they
/// are the last enabled owner.
fn keeps_an_owner(id: &str) -> String {
    format!(
        "(role <> 'owner' OR disabled <> 0 OR (SELECT COUNT(*) FROM users o \
         WHERE o.role = 'owner' AND o.disabled = 0 AND o.id <> {id}) > 0)"
    )
}

impl Db {
    /// Expire every open password-reset link of a user (e.g. before making a new one after a
    /// lost device). Returns how many.
    pub async fn expire_password_resets(&self, user_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        )
        .bind(self.now())
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Withdraw every pending invitation someone sent (disabled or compromised account).
    /// Returns how many.
    pub async fn revoke_invitations_by(&self, inviter_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE invited_by = $2 AND accepted_at IS NULL \
             AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(inviter_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Start a transaction for an owner-removing change; on PostgreSQL, such changes from any
    /// node take turns, so two of them cannot each count the other's owner as still there.
    async fn owner_change_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(OWNER_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Why no row changed: `NotFound` if the user does not exist, else the owner guard.
    async fn guard_failed(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user_id: &str,
    ) -> StoreError {
        let exists = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await;
        match exists {
            Ok(0) => StoreError::not_found("user", user_id),
            Ok(_) => StoreError::Conflict {
                field: "role".into(),
            },
            Err(e) => e.into(),
        }
    }

    /// Change a user's role, unless that would leave the shop with no enabled owner
    /// (`Conflict` on `role`); the check and the change are one statement in one transaction.
    pub async fn change_role_keeping_an_owner(
        &self,
        user_id: &str,
        role: &str,
    ) -> Result<User, StoreError> {
        let role = parse_role(role)?;
        let mut tx = self.owner_change_tx().await?;
        let done = sqlx::query(&format!(
            "UPDATE users SET role = $1, updated_at = $2 WHERE id = $3 AND ($1 = 'owner' OR {})",
            keeps_an_owner("$3")
        ))
        .bind(role.as_str())
        .bind(self.now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Self::guard_failed(&mut tx, user_id).await);
        }
        tx.commit().await?;
        self.user(user_id).await
    }

    /// Disable an account (ending every session and suspending the API keys they made), unless
    /// it is the last enabled owner (`Conflict` on `role`); check and change in one transaction.
    pub async fn disable_keeping_an_owner(&self, user_id: &str) -> Result<(), StoreError> {
        let mut tx = self.owner_change_tx().await?;
        let done = sqlx::query(&format!(
            "UPDATE users SET disabled = 1, updated_at = $1 WHERE id = $2 AND {}",
            keeps_an_owner("$2")
        ))
        .bind(self.now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Self::guard_failed(&mut tx, user_id).await);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Keys of a disabled account stop working at once.
        self.keys.invalidate();
        Ok(())
    }
}
