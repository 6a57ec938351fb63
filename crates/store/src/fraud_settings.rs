//! Fraud screening's settings (one JSON document under the `fraud` settings key) and the owner's
//! custom rules. Both are validated before they are saved; a refused change saves nothing.

use serde::Serialize;
use sqlx::Row;
use storefort_core::fraud::{CompiledRule, FraudSettings, Rule};
use storefort_core::ValidationError;

use crate::db::{flag, new_id};
use crate::{Db, StoreError};

/// Most custom rules a shop may have (each is evaluated for every order).
pub const MAX_RULES: usize = 50;

/// A saved custom rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredRule {
    /// Rule id.
    pub id: String,
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// Evaluated for new orders.
    pub enabled: bool,
    /// Last changed, UTC ms.
    pub updated_at: i64,
}

impl Db {
    /// The screening settings (defaults until changed).
    pub async fn fraud_settings(&self) -> Result<FraudSettings, StoreError> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'fraud'")
                .fetch_optional(&self.pool)
                .await?;
        match v {
            None => Ok(FraudSettings::default()),
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Unreadable {
                context: format!("settings.fraud: {e}"),
            }),
        }
    }

    /// Save the screening settings after checking them.
    pub async fn save_fraud_settings(&self, s: &FraudSettings) -> Result<(), StoreError> {
        s.validate()?;
        let json = serde_json::to_string(s).map_err(|e| StoreError::Unreadable {
            context: format!("settings.fraud: {e}"),
        })?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('fraud', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(json)
        .execute(&self.pool)
        .await?;
        self.fraud_cache.forget_config();
        Ok(())
    }

    /// Every custom rule, by name.
    pub async fn fraud_rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, expression, points, reason, enabled, updated_at FROM fraud_rules \
             ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredRule {
                    id: r.try_get("id")?,
                    rule: Rule {
                        name: r.try_get("name")?,
                        expression: r.try_get("expression")?,
                        points: i32::try_from(r.try_get::<i64, _>("points")?).unwrap_or(0),
                        reason: r.try_get("reason")?,
                    },
                    enabled: flag(r, "enabled")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Add a rule; the expression must compile and give true or false, the name be unused.
    pub async fn add_fraud_rule(&self, rule: &Rule) -> Result<StoredRule, StoreError> {
        CompiledRule::compile(rule)?;
        let existing = self.fraud_rules().await?;
        if existing.len() >= MAX_RULES {
            return Err(ValidationError::new(
                "name",
                format!("a shop can have at most {MAX_RULES} rules; remove one first"),
            )
            .into());
        }
        if existing.iter().any(|r| r.rule.name == rule.name) {
            return Err(StoreError::state(
                "name",
                format!("a rule named {:?} exists already", rule.name),
            ));
        }
        let id = new_id();
        let now = self.now();
        sqlx::query(
            "INSERT INTO fraud_rules (id, name, expression, points, reason, enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&id)
        .bind(&rule.name)
        .bind(&rule.expression)
        .bind(i64::from(rule.points))
        .bind(&rule.reason)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.fraud_cache.forget_config();
        Ok(StoredRule {
            id,
            rule: rule.clone(),
            enabled: true,
            updated_at: now,
        })
    }

    /// Change a rule (checked like a new one) and whether it is enabled.
    pub async fn update_fraud_rule(
        &self,
        id: &str,
        rule: &Rule,
        enabled: bool,
    ) -> Result<StoredRule, StoreError> {
        CompiledRule::compile(rule)?;
        let existing = self.fraud_rules().await?;
        if !existing.iter().any(|r| r.id == id) {
            return Err(StoreError::not_found("rule", id));
        }
        if existing
            .iter()
            .any(|r| r.id != id && r.rule.name == rule.name)
        {
            return Err(StoreError::state(
                "name",
                format!("another rule is named {:?}", rule.name),
            ));
        }
        let now = self.now();
        sqlx::query(
            "UPDATE fraud_rules SET name = $1, expression = $2, points = $3, reason = $4, \
             enabled = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&rule.name)
        .bind(&rule.expression)
        .bind(i64::from(rule.points))
        .bind(&rule.reason)
        .bind(i64::from(enabled))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.fraud_cache.forget_config();
        Ok(StoredRule {
            id: id.to_string(),
            rule: rule.clone(),
            enabled,
            updated_at: now,
        })
    }

    /// Remove a rule; returns its name.
    pub async fn delete_fraud_rule(&self, id: &str) -> Result<String, StoreError> {
        let name: Option<String> =
            sqlx::query_scalar("DELETE FROM fraud_rules WHERE id = $1 RETURNING name")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        self.fraud_cache.forget_config();
        name.ok_or_else(|| StoreError::not_found("rule", id))
    }
}
