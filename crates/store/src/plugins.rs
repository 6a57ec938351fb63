//! Installed plugins: what the owner approved (name, version, hooks, permissions, the module's
//! pinned SHA-256, the webhook address) and whether each is on. Hooks and permissions are kept
//! as their names; the plugins crate gives them meaning.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Db, StoreError};

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRecord {
    /// Unique name (`bulk-discount`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Who wrote it.
    pub author: String,
    /// What it does, in its author's words.
    pub description: String,
    /// Hooks it runs at (`cart_adjust`, ...).
    pub hooks: Vec<String>,
    /// Permissions the owner granted (`read_orders`, ...).
    pub permissions: Vec<String>,
    /// SHA-256 (hex) of the approved module.
    pub module_sha256: String,
    /// The address order notifications go to, when it has the webhook permission.
    pub webhook_url: Option<String>,
    /// Running.
    pub enabled: bool,
    /// Why it is off ("" when it is on or was simply switched off).
    pub disabled_reason: String,
    /// The last failure's reason ("" if none).
    pub last_error: String,
    /// When it last failed (UTC ms).
    pub last_error_at: Option<i64>,
    /// Who approved it (an email).
    pub approved_by: String,
    /// When (UTC ms).
    pub approved_at: i64,
    /// When this name was first installed (UTC ms).
    pub installed_at: i64,
}

/// What the owner approves when installing (or upgrading) a plugin.
#[derive(Debug, Clone)]
pub struct ApprovedPlugin {
    /// Name, version, author, description as in its manifest.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Who wrote it.
    pub author: String,
    /// What it does.
    pub description: String,
    /// Hook names.
    pub hooks: Vec<String>,
    /// Permission names granted.
    pub permissions: Vec<String>,
    /// SHA-256 (hex) of the module approved.
    pub module_sha256: String,
    /// Approved webhook address.
    pub webhook_url: Option<String>,
    /// The approving owner's email.
    pub approved_by: String,
}

const COLS: &str = "name, version, author, description, hooks, permissions, module_sha256, \
                    webhook_url, enabled, disabled_reason, last_error, last_error_at, \
                    approved_by, approved_at, installed_at";

fn names(json: &str, name: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Unreadable {
        context: format!("plugins.{name}: {e}"),
    })
}

fn record(r: &AnyRow) -> Result<PluginRecord, StoreError> {
    Ok(PluginRecord {
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        author: r.try_get("author")?,
        description: r.try_get("description")?,
        hooks: names(&r.try_get::<String, _>("hooks")?, "hooks")?,
        permissions: names(&r.try_get::<String, _>("permissions")?, "permissions")?,
        module_sha256: r.try_get("module_sha256")?,
        webhook_url: r.try_get("webhook_url")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        last_error: r.try_get("last_error")?,
        last_error_at: r.try_get("last_error_at")?,
        approved_by: r.try_get("approved_by")?,
        approved_at: r.try_get("approved_at")?,
        installed_at: r.try_get("installed_at")?,
    })
}

impl Db {
    /// Every installed plugin, by name.
    pub async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM plugins"))
            .fetch_all(&self.pool)
            .await?;
        let mut all: Vec<PluginRecord> = rows.iter().map(record).collect::<Result<_, _>>()?;
        // Sorted here, by bytes: PostgreSQL's collation would order `-` differently from
        // SQLite, and the order decides which plugin's refusal or discount comes first.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// One plugin by name.
    pub async fn plugin(&self, name: &str) -> Result<PluginRecord, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM plugins WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "plugin",
                id: name.to_string(),
            })?;
        record(&row)
    }

    /// Record an approval: a new plugin, or a new version or module of an installed one
    /// (which keeps its first install time). Either way it is on, with no failures.
    pub async fn approve_plugin(&self, p: &ApprovedPlugin) -> Result<PluginRecord, StoreError> {
        let now = self.now();
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO plugins (name, version, author, description, hooks, permissions, \
             module_sha256, webhook_url, enabled, disabled_reason, last_error, last_error_at, \
             approved_by, approved_at, installed_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, '', '', NULL, $9, $10, $10, $10) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
             author = excluded.author, description = excluded.description, \
             hooks = excluded.hooks, permissions = excluded.permissions, \
             module_sha256 = excluded.module_sha256, webhook_url = excluded.webhook_url, \
             enabled = 1, disabled_reason = '', last_error = '', last_error_at = NULL, \
             approved_by = excluded.approved_by, approved_at = excluded.approved_at, \
             updated_at = excluded.updated_at",
        )
        .bind(&p.name)
        .bind(&p.version)
        .bind(&p.author)
        .bind(&p.description)
        .bind(json(&p.hooks))
        .bind(json(&p.permissions))
        .bind(&p.module_sha256)
        .bind(&p.webhook_url)
        .bind(&p.approved_by)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.plugin(&p.name).await
    }

    /// Switch a plugin on or off; `reason` says why it went off ("" for the owner's choice).
    /// Returns whether anything changed (false: already in that state).
    pub async fn set_plugin_enabled(
        &self,
        name: &str,
        enabled: bool,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let current = self.plugin(name).await?;
        if current.enabled == enabled {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE plugins SET enabled = $1, disabled_reason = $2, updated_at = $3 \
             WHERE name = $4 AND enabled = $5",
        )
        .bind(i64::from(enabled))
        .bind(if enabled { "" } else { reason })
        .bind(self.now())
        .bind(name)
        .bind(i64::from(current.enabled))
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() > 0)
        .map_err(Into::into)
    }

    /// Switch a plugin off by the system, only if it is on with the module `sha256` (so a
    /// check that read an older approval cannot switch off a newer one). Returns whether it did.
    pub async fn disable_plugin_if(
        &self,
        name: &str,
        sha256: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE plugins SET enabled = 0, disabled_reason = $1, updated_at = $2 \
             WHERE name = $3 AND enabled = 1 AND module_sha256 = $4",
        )
        .bind(reason)
        .bind(self.now())
        .bind(name)
        .bind(sha256)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Keep a plugin's latest failure reason (shown on the Plugins page).
    pub async fn record_plugin_error(&self, name: &str, error: &str) -> Result<(), StoreError> {
        let short: String = error.chars().take(500).collect();
        sqlx::query("UPDATE plugins SET last_error = $1, last_error_at = $2 WHERE name = $3")
            .bind(short)
            .bind(self.now())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forget a plugin. Not found is an error.
    pub async fn remove_plugin(&self, name: &str) -> Result<(), StoreError> {
        let r = sqlx::query("DELETE FROM plugins WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "plugin",
                id: name.to_string(),
            });
        }
        Ok(())
    }
}
