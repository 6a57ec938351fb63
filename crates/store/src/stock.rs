//! Stock levels and the movement ledger. Every change goes through [`Db::move_stock`]-style
//! transactions that lock the level row first, apply the core rule, then write the ledger.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::{LocationId, VariantId};
use storefort_core::model::{Movement, Page, StockLevel};
use storefort_core::stock::{self, Reason};
use storefort_core::{text, ValidationError};

use crate::db::new_id;
use crate::products::{decode_cursor, encode_cursor, MAX_LIMIT};
use crate::{Db, StoreError};

/// Who changed stock, and why, for the ledger.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// Variant.
    pub variant_id: &'a str,
    /// Location.
    pub location_id: &'a str,
    /// Free-text note (up to 500 characters).
    pub note: &'a str,
    /// Who (user email, API key name, `system`).
    pub actor: &'a str,
}

fn movement(r: &AnyRow) -> Result<Movement, sqlx::Error> {
    Ok(Movement {
        id: r.try_get("id")?,
        variant_id: VariantId(r.try_get("variant_id")?),
        location_id: LocationId(r.try_get("location_id")?),
        delta: r.try_get("delta")?,
        quantity_after: r.try_get("quantity_after")?,
        reason: Reason::parse(&r.try_get::<String, _>("reason")?).unwrap_or(Reason::Correction),
        note: r.try_get("note")?,
        actor: r.try_get("actor")?,
        transfer_id: r.try_get("transfer_id")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

/// Lock the level row (creating it at 0) and return its quantity. The first statement of the
/// transaction is a write, so SQLite takes its write lock (waiting on busy_timeout) and
/// PostgreSQL takes the row lock: concurrent changes queue instead of racing.
pub(crate) async fn lock_level(
    tx: &mut Tx<'_>,
    variant: &str,
    location: &str,
    now: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO stock_levels (variant_id, location_id, quantity, updated_at) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (variant_id, location_id) DO NOTHING",
    )
    .bind(variant)
    .bind(location)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let q: i64 = sqlx::query_scalar(
        "UPDATE stock_levels SET updated_at = $1 WHERE variant_id = $2 AND location_id = $3 RETURNING quantity",
    )
    .bind(now)
    .bind(variant)
    .bind(location)
    .fetch_one(&mut **tx)
    .await?;
    Ok(q)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn write(
    tx: &mut Tx<'_>,
    c: &Change<'_>,
    location: &str,
    delta: i64,
    after: i64,
    reason: Reason,
    transfer: Option<&str>,
    now: i64,
) -> Result<Movement, StoreError> {
    sqlx::query("UPDATE stock_levels SET quantity = $1 WHERE variant_id = $2 AND location_id = $3")
        .bind(after)
        .bind(c.variant_id)
        .bind(location)
        .execute(&mut **tx)
        .await?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO stock_movements (id, variant_id, location_id, delta, quantity_after, reason, note, \
         actor, transfer_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(c.variant_id)
    .bind(location)
    .bind(delta)
    .bind(after)
    .bind(reason.as_str())
    .bind(c.note)
    .bind(c.actor)
    .bind(transfer.map(str::to_string))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(Movement {
        id,
        variant_id: VariantId(c.variant_id.into()),
        location_id: LocationId(location.into()),
        delta,
        quantity_after: after,
        reason,
        note: c.note.into(),
        actor: c.actor.into(),
        transfer_id: transfer.map(str::to_string),
        created_at: now,
    })
}

impl Db {
    /// Backorder flag of a variant's product; also proves the variant exists.
    async fn backorder_allowed(&self, variant_id: &str) -> Result<bool, StoreError> {
        let v = self.variant(variant_id).await?;
        let flag: i64 = sqlx::query_scalar("SELECT allow_backorder FROM products WHERE id = $1")
            .bind(v.product_id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(flag != 0)
    }

    async fn checked(&self, c: &Change<'_>) -> Result<(bool, String), StoreError> {
        let backorder = self.backorder_allowed(c.variant_id).await?;
        self.location(c.location_id).await?;
        let note = text::optional("note", c.note, 500)?;
        Ok((backorder, note))
    }

    /// Add or remove units with a reason (received, damaged, correction, sale, return).
    pub async fn adjust_stock(
        &self,
        c: &Change<'_>,
        delta: i64,
        reason: Reason,
    ) -> Result<Movement, StoreError> {
        stock::validate_adjustment(delta, reason)?;
        let (backorder, note) = self.checked(c).await?;
        let c = Change {
            note: &note,
            ..c.clone()
        };
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let on_hand = lock_level(&mut tx, c.variant_id, c.location_id, now).await?;
        let after = stock::apply(on_hand, delta, backorder)?;
        let m = write(&mut tx, &c, c.location_id, delta, after, reason, None, now).await?;
        tx.commit().await?;
        self.catalog_changed();
        Ok(m)
    }

    /// Sell `qty` units from a location: succeeds only while stock lasts (or backorders are on).
    pub async fn sell(&self, c: &Change<'_>, qty: i64) -> Result<Movement, StoreError> {
        stock::validate_quantity("quantity", qty)?;
        self.adjust_stock(c, -qty, Reason::Sale).await
    }

    /// Move units from `c.location_id` to `to`; both ledger lines share a transfer ID.
    pub async fn transfer_stock(
        &self,
        c: &Change<'_>,
        to: &str,
        qty: i64,
    ) -> Result<(Movement, Movement), StoreError> {
        stock::validate_quantity("quantity", qty)?;
        if c.location_id == to {
            return Err(ValidationError::new(
                "to_location_id",
                "must differ from the source location",
            )
            .into());
        }
        let (_, note) = self.checked(c).await?;
        self.location(to)
            .await
            .map_err(|_| ValidationError::new("to_location_id", "no such location"))?;
        let c = Change {
            note: &note,
            ..c.clone()
        };
        let now = self.now();
        let transfer = new_id();
        let mut tx = self.begin_write().await?;
        // Lock both rows in a fixed order so two opposite transfers cannot deadlock.
        let (first, second) = if c.location_id < to {
            (c.location_id, to)
        } else {
            (to, c.location_id)
        };
        let q1 = lock_level(&mut tx, c.variant_id, first, now).await?;
        let q2 = lock_level(&mut tx, c.variant_id, second, now).await?;
        let (from_qty, to_qty) = if first == c.location_id {
            (q1, q2)
        } else {
            (q2, q1)
        };
        // A transfer never creates a backorder: you cannot move what is not there.
        let from_after = stock::apply(from_qty, -qty, false)?;
        let to_after = stock::apply(to_qty, qty, true)?;
        let out = write(
            &mut tx,
            &c,
            c.location_id,
            -qty,
            from_after,
            Reason::TransferOut,
            Some(&transfer),
            now,
        )
        .await?;
        let inn = write(
            &mut tx,
            &c,
            to,
            qty,
            to_after,
            Reason::TransferIn,
            Some(&transfer),
            now,
        )
        .await?;
        tx.commit().await?;
        self.catalog_changed();
        Ok((out, inn))
    }

    /// Record a physical count: the level becomes `counted`, the ledger keeps the difference.
    pub async fn count_stock(&self, c: &Change<'_>, counted: i64) -> Result<Movement, StoreError> {
        stock::validate_count(counted)?;
        let (_, note) = self.checked(c).await?;
        let c = Change {
            note: &note,
            ..c.clone()
        };
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let on_hand = lock_level(&mut tx, c.variant_id, c.location_id, now).await?;
        let m = write(
            &mut tx,
            &c,
            c.location_id,
            counted - on_hand,
            counted,
            Reason::Count,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        self.catalog_changed();
        Ok(m)
    }

    /// Stock of a variant at every location (zero where nothing was ever recorded).
    pub async fn stock_levels(&self, variant_id: &str) -> Result<Vec<StockLevel>, StoreError> {
        self.variant(variant_id).await?;
        let rows = sqlx::query(
            "SELECT l.id, l.name, CAST(COALESCE(s.quantity, 0) AS BIGINT) AS quantity FROM locations l \
             LEFT JOIN stock_levels s ON s.location_id = l.id AND s.variant_id = $1 ORDER BY l.name",
        )
        .bind(variant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StockLevel {
                    variant_id: VariantId(variant_id.into()),
                    location_id: LocationId(r.try_get("id")?),
                    location_name: r.try_get("name")?,
                    quantity: r.try_get("quantity")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The ledger for a variant, newest first.
    pub async fn movements(
        &self,
        variant_id: &str,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<Movement>, StoreError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )
            .into());
        }
        self.variant(variant_id).await?;
        let before = cursor.map(decode_cursor).transpose()?;
        let rows = sqlx::query(&format!(
            "SELECT id, variant_id, location_id, delta, quantity_after, reason, note, actor, transfer_id, \
             created_at FROM stock_movements WHERE variant_id = $1 {} ORDER BY id DESC LIMIT {}",
            if before.is_some() { "AND id < $2" } else { "" },
            limit + 1
        ))
        .bind(variant_id)
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut items = rows.iter().map(movement).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|m| encode_cursor(&m.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}
