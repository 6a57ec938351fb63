//! Discount codes: created by staff, checked at checkout, counted inside the order's own
//! transaction so a usage limit cannot be overshot by concurrent checkouts.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::pricing::{normalize_code, DiscountCode, DiscountKind};
use storefort_core::ValidationError;

use crate::db::{flag, new_id};
use crate::{Db, StoreError};

const COLUMNS: &str =
    "id, code, kind, value, min_spend_minor, expires_at, usage_limit, used_count, enabled";

fn row(r: &AnyRow) -> Result<DiscountCode, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(DiscountCode {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        kind: if kind == "fixed" {
            DiscountKind::Fixed
        } else {
            DiscountKind::Percent
        },
        value: r.try_get("value")?,
        min_spend_minor: r.try_get("min_spend_minor")?,
        expires_at: r.try_get("expires_at")?,
        usage_limit: r.try_get("usage_limit")?,
        used_count: r.try_get("used_count")?,
        enabled: flag(r, "enabled")?,
    })
}

fn kind_str(k: DiscountKind) -> &'static str {
    match k {
        DiscountKind::Percent => "percent",
        DiscountKind::Fixed => "fixed",
    }
}

impl Db {
    /// Create a discount code (stored upper-case; codes are unique).
    pub async fn create_discount_code(&self, d: &DiscountCode) -> Result<DiscountCode, StoreError> {
        let code = normalize_code(&d.code);
        let d = DiscountCode {
            code,
            used_count: 0,
            ..d.clone()
        };
        d.validate()?;
        let id = new_id();
        let r = sqlx::query(
            "INSERT INTO discount_codes (id, code, kind, value, min_spend_minor, expires_at, \
             usage_limit, used_count, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
        )
        .bind(&id)
        .bind(&d.code)
        .bind(kind_str(d.kind))
        .bind(d.value)
        .bind(d.min_spend_minor)
        .bind(d.expires_at)
        .bind(d.usage_limit)
        .bind(i64::from(d.enabled))
        .bind(self.now())
        .execute(&self.pool)
        .await;
        match r {
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict { .. } => Err(StoreError::Conflict {
                    field: "code".into(),
                }),
                other => Err(other),
            },
            Ok(_) => self.discount_code(&id).await,
        }
    }

    /// One code by ID.
    pub async fn discount_code(&self, id: &str) -> Result<DiscountCode, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM discount_codes WHERE id = $1");
        let r = sqlx::query(&q)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("discount code", id))?;
        Ok(row(&r)?)
    }

    /// A code as a shopper typed it; unknown codes are a clear error on `discount_code`.
    pub async fn discount_by_code(&self, typed: &str) -> Result<DiscountCode, StoreError> {
        let code = normalize_code(typed);
        let q = format!("SELECT {COLUMNS} FROM discount_codes WHERE code = $1");
        let r = sqlx::query(&q)
            .bind(&code)
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => Ok(row(&r)?),
            None => Err(ValidationError::new(
                "discount_code",
                format!(
                    "there is no discount code {:?}",
                    code.chars().take(40).collect::<String>()
                ),
            )
            .into()),
        }
    }

    /// Every code, newest first.
    pub async fn discount_codes(&self) -> Result<Vec<DiscountCode>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM discount_codes ORDER BY created_at DESC, id");
        let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    /// Switch a code on or off.
    pub async fn set_discount_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE discount_codes SET enabled = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("discount code", id));
        }
        Ok(())
    }
}

/// Count one use of a code inside an order's transaction; refused when the limit was reached
/// meanwhile (by a concurrent checkout).
pub(crate) async fn use_code(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE discount_codes SET used_count = used_count + 1 \
         WHERE id = $1 AND enabled = 1 AND (usage_limit IS NULL OR used_count < usage_limit)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::state(
            "discount_code",
            "this discount code has just been used up",
        ));
    }
    Ok(())
}

/// Give a use back (the order was cancelled or expired unpaid).
pub(crate) async fn unuse_code(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    code: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE discount_codes SET used_count = used_count - 1 WHERE code = $1 AND used_count > 0",
    )
    .bind(code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
