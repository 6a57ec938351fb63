//! The tills' settings: one JSON document under the settings key `pos.settings` (defaults until
//! changed). Checked before saving; a refused change saves nothing.
//!
//! Not cached in memory: the read is one primary-key lookup, and a change must reach every
//! node's idle lock at once.

use storefort_core::pos_device_rules::PosSettings;

use crate::{Db, StoreError};

/// The settings row's key.
const KEY: &str = "pos.settings";

fn unreadable(e: serde_json::Error) -> StoreError {
    StoreError::Unreadable {
        context: format!("settings.{KEY}: {e}"),
    }
}

impl Db {
    /// The POS settings (defaults for anything not saved yet).
    pub async fn pos_settings(&self) -> Result<PosSettings, StoreError> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&self.pool)
            .await?;
        match v {
            None => Ok(PosSettings::default()),
            Some(json) => serde_json::from_str(&json).map_err(unreadable),
        }
    }

    /// Save the POS settings after checking them (the error names the field); returns what is
    /// now in force.
    pub async fn set_pos_settings(&self, s: &PosSettings) -> Result<PosSettings, StoreError> {
        s.validate()?;
        let json = serde_json::to_string(s).map_err(unreadable)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(KEY)
        .bind(json)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.pos_settings().await
    }
}
