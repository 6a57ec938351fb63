//! Integration API keys: shown once, stored as SHA-256 hashes, read or write scoped.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::ApiKeyId;
use storefort_core::{text, ValidationError};

use crate::db::new_id;
use crate::{Db, StoreError};

/// How precisely an API key's `last_used_at` is kept (one minute).
const KEY_USE_PRECISION_MS: i64 = 60_000;

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

impl Db {
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

    /// A live key by its hash: not revoked, and its creator's account not disabled. Lookups are cached briefly (see [`crate::cache`]);
    /// revoking a key through this process drops the cache at once. `last_used_at` is recorded
    /// on the uncached path only, at most once a minute, so busy integrations cause no writes.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        if let Some(hit) = self.keys.get(key_hash) {
            return Ok((*hit).clone());
        }
        let version = self.keys.version();
        let row = sqlx::query(
            "SELECT k.id, k.name, k.prefix, k.scope, k.created_at, k.last_used_at, k.revoked_at \
             FROM api_keys k JOIN users u ON u.id = k.created_by \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled = 0",
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

    /// Revoke every live key a staff member created (stolen device, compromised account).
    /// Returns how many were revoked.
    pub async fn revoke_api_keys_of(&self, user_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        self.keys.invalidate();
        Ok(done.rows_affected())
    }
}
