//! Shifts at a till: a counted float in, cash in and out with reasons, a count at the close
//! against the expected cash (a manager approves a variance above the threshold), and the
//! Z report of everything the shift took and gave back.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use storefort_core::money::validate_price;
use storefort_core::{text, ValidationError};

use crate::db::new_id;
use crate::{Db, StoreError};

/// A drawer session at one till.
#[derive(Debug, Clone, Serialize)]
pub struct Shift {
    /// ID.
    pub id: String,
    /// Human number.
    pub number: i64,
    /// Till.
    pub device_id: String,
    /// Till name.
    pub device_name: String,
    /// Location name.
    pub location_name: String,
    /// `open` or `closed`.
    pub status: String,
    /// Who opened it (user ID).
    pub opened_by: String,
    /// Their name.
    pub opened_by_name: String,
    /// Opened (UTC ms).
    pub opened_at: i64,
    /// Counted float put in the drawer.
    pub float_minor: i64,
    /// Who closed it.
    pub closed_by_name: Option<String>,
    /// Closed (UTC ms).
    pub closed_at: Option<i64>,
    /// Cash counted at the close.
    pub counted_minor: Option<i64>,
    /// Cash expected at the close.
    pub expected_minor: Option<i64>,
    /// Counted minus expected.
    pub variance_minor: Option<i64>,
    /// The manager who approved the variance.
    pub variance_approved_by_name: Option<String>,
    /// Note at the close.
    pub note: String,
}

/// Cash put into or taken out of the drawer.
#[derive(Debug, Clone, Serialize)]
pub struct CashMovement {
    /// `in` or `out`.
    pub kind: String,
    /// Amount.
    pub amount_minor: i64,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor_name: String,
    /// When (UTC ms).
    pub at: i64,
}

/// Everything a shift took and gave back.
#[derive(Debug, Clone, Serialize)]
pub struct ZReport {
    /// The shift.
    pub shift: Shift,
    /// Sales made.
    pub sales_count: i64,
    /// What the sales took: their totals, tax included, after discounts (equals the sum of
    /// `by_method` amounts).
    pub gross_minor: i64,
    /// Discounts given.
    pub discounts_minor: i64,
    /// Tax within the sales.
    pub tax_minor: i64,
    /// (method `cash`/`card`, payments, amount).
    pub by_method: Vec<(String, i64, i64)>,
    /// Refunds given (one per refund and method).
    pub refunds_count: i64,
    /// Refunded in total.
    pub refunds_minor: i64,
    /// (method, amount).
    pub refunds_by_method: Vec<(String, i64)>,
    /// Cash put in.
    pub cash_in_minor: i64,
    /// Cash taken out.
    pub cash_out_minor: i64,
    /// Every movement, oldest first.
    pub movements: Vec<CashMovement>,
    /// Expected cash (as at the close, for a closed shift).
    pub expected_minor: i64,
    /// Sales made offline and synced later.
    pub offline_sales: i64,
}

const SHIFT_SELECT: &str = "SELECT s.id, s.number, s.device_id, d.name AS device_name, \
     l.name AS location_name, s.status, s.opened_by, ou.name AS opened_by_name, s.opened_at, \
     s.float_minor, cu.name AS closed_by_name, s.closed_at, s.counted_minor, s.expected_minor, \
     s.variance_minor, au.name AS approver_name, s.note FROM pos_shifts s \
     JOIN pos_devices d ON d.id = s.device_id JOIN locations l ON l.id = s.location_id \
     JOIN users ou ON ou.id = s.opened_by LEFT JOIN users cu ON cu.id = s.closed_by \
     LEFT JOIN users au ON au.id = s.variance_approved_by";

fn shift_row(r: &AnyRow) -> Result<Shift, sqlx::Error> {
    Ok(Shift {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        device_id: r.try_get("device_id")?,
        device_name: r.try_get("device_name")?,
        location_name: r.try_get("location_name")?,
        status: r.try_get("status")?,
        opened_by: r.try_get("opened_by")?,
        opened_by_name: r.try_get("opened_by_name")?,
        opened_at: r.try_get("opened_at")?,
        float_minor: r.try_get("float_minor")?,
        closed_by_name: r.try_get("closed_by_name")?,
        closed_at: r.try_get("closed_at")?,
        counted_minor: r.try_get("counted_minor")?,
        expected_minor: r.try_get("expected_minor")?,
        variance_minor: r.try_get("variance_minor")?,
        variance_approved_by_name: r.try_get("approver_name")?,
        note: r.try_get("note")?,
    })
}

/// float + cash taken (tender amounts: net of change) + cash in - cash out - cash refunds.
async fn expected_on(c: &mut AnyConnection, shift: &str) -> Result<i64, StoreError> {
    let float: Option<i64> = sqlx::query_scalar("SELECT float_minor FROM pos_shifts WHERE id = $1")
        .bind(shift)
        .fetch_optional(&mut *c)
        .await?;
    let float = float.ok_or_else(|| StoreError::not_found("shift", shift))?;
    let mut total = float;
    for sql in [
        "SELECT CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) FROM payments p \
         JOIN pos_sales s ON s.order_id = p.order_id WHERE s.shift_id = $1 AND p.gateway = 'cash'",
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'in' THEN amount_minor ELSE -amount_minor END), \
         0) AS BIGINT) FROM pos_cash_movements WHERE shift_id = $1",
        "SELECT CAST(-COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM pos_refunds \
         WHERE shift_id = $1 AND method = 'cash'",
    ] {
        let n: i64 = sqlx::query_scalar(sql).bind(shift).fetch_one(&mut *c).await?;
        total += n;
    }
    Ok(total)
}

impl Db {
    /// Open a shift at a till with a counted float (409 if one is open there).
    pub async fn open_shift(
        &self,
        device_id: &str,
        actor: &str,
        float_minor: i64,
    ) -> Result<Shift, StoreError> {
        validate_price("float_minor", float_minor)?;
        let till = self.till(device_id).await?;
        self.staff(actor, "actor", false).await?;
        let already = |n: i64| {
            StoreError::state(
                "shift",
                format!("shift #{n} is already open on this till; close it first"),
            )
        };
        if let Some(s) = self.open_shift_of(device_id).await? {
            return Err(already(s.number));
        }
        let id = new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO counters (name, value) VALUES ('pos_shift_number', 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'pos_shift_number' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        let done = sqlx::query(
            "INSERT INTO pos_shifts (id, number, device_id, location_id, status, opened_by, \
             opened_at, float_minor) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7)",
        )
        .bind(&id)
        .bind(number)
        .bind(device_id)
        .bind(&till.location_id)
        .bind(actor)
        .bind(self.now())
        .bind(float_minor)
        .execute(&mut *tx)
        .await;
        match done {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                let n = self.open_shift_of(device_id).await?.map_or(0, |s| s.number);
                return Err(already(n));
            }
            other => {
                other?;
            }
        }
        tx.commit().await?;
        self.shift(&id).await
    }

    /// The till's open shift, if any.
    pub async fn open_shift_of(&self, device_id: &str) -> Result<Option<Shift>, StoreError> {
        let r = sqlx::query(&format!(
            "{SHIFT_SELECT} WHERE s.device_id = $1 AND s.status = 'open'"
        ))
        .bind(device_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.as_ref().map(shift_row).transpose()?)
    }

    /// One shift (404 unknown).
    pub async fn shift(&self, id: &str) -> Result<Shift, StoreError> {
        let r = sqlx::query(&format!("{SHIFT_SELECT} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("shift", id))?;
        Ok(shift_row(&r)?)
    }

    /// Recent shifts, newest first (at most `limit`, 1-500).
    pub async fn shifts(&self, limit: i64) -> Result<Vec<Shift>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SHIFT_SELECT} ORDER BY s.opened_at DESC, s.number DESC LIMIT {}",
            limit.clamp(1, 500)
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(shift_row).collect::<Result<_, _>>()?)
    }

    /// Lock an open shift inside `tx` (409 when closed, 404 when unknown).
    async fn lock_open_shift(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE pos_shifts SET status = status WHERE id = $1 AND status = 'open'")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        self.shift(id).await?;
        Err(StoreError::state("shift", "this shift is already closed"))
    }

    /// Put cash in or take it out of the drawer (kind `in`/`out`, amount above zero, a reason of
    /// 1-200 characters). Taking out more than the drawer should hold is refused (409).
    pub async fn cash_movement(
        &self,
        shift_id: &str,
        kind: &str,
        amount: i64,
        reason: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        if kind != "in" && kind != "out" {
            return Err(ValidationError::new("kind", "choose in or out").into());
        }
        if amount <= 0 {
            return Err(ValidationError::new("amount_minor", "enter an amount above zero").into());
        }
        validate_price("amount_minor", amount)?;
        let reason = text::required("reason", reason, 200)?;
        self.staff(actor, "actor", false).await?;
        let mut tx = self.begin_write().await?;
        if let Err(e) = self.lock_open_shift(&mut tx, shift_id).await {
            tx.rollback().await?;
            return Err(e);
        }
        if kind == "out" {
            let expected = expected_on(&mut tx, shift_id).await?;
            if amount > expected {
                tx.rollback().await?;
                return Err(StoreError::state(
                    "amount_minor",
                    format!(
                        "the drawer should hold only {}",
                        self.currency.format(expected)
                    ),
                ));
            }
        }
        sqlx::query(
            "INSERT INTO pos_cash_movements (id, shift_id, kind, amount_minor, reason, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(shift_id)
        .bind(kind)
        .bind(amount)
        .bind(&reason)
        .bind(actor)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cash the drawer should hold now: float + cash taken (net of change) + cash in - cash out
    /// - cash refunds.
    pub async fn expected_cash(&self, shift_id: &str) -> Result<i64, StoreError> {
        let mut c = self.pool.acquire().await?;
        expected_on(&mut c, shift_id).await
    }

    /// Close a shift with the counted cash. A variance above `threshold` (either way) needs
    /// `approver` (a manager or owner whose PIN the web layer checked): without one, 409 on
    /// `approver`. 409 if already closed.
    #[allow(clippy::too_many_arguments)]
    pub async fn close_shift(
        &self,
        shift_id: &str,
        actor: &str,
        counted: i64,
        note: &str,
        approver: Option<&str>,
        threshold: i64,
    ) -> Result<Shift, StoreError> {
        validate_price("counted_minor", counted)?;
        let note = text::optional("note", note, 500)?;
        self.staff(actor, "actor", false).await?;
        if let Some(a) = approver {
            self.staff(a, "approver", true).await?;
        }
        let mut tx = self.begin_write().await?;
        if let Err(e) = self.lock_open_shift(&mut tx, shift_id).await {
            tx.rollback().await?;
            return Err(e);
        }
        let expected = expected_on(&mut tx, shift_id).await?;
        let variance = counted - expected;
        if variance.abs() > threshold.max(0) && approver.is_none() {
            tx.rollback().await?;
            let way = if variance > 0 { "over" } else { "short" };
            return Err(StoreError::state(
                "approver",
                format!(
                    "The count is {} {way}; a manager must approve it with their PIN.",
                    self.currency.format(variance.abs())
                ),
            ));
        }
        sqlx::query(
            "UPDATE pos_shifts SET status = 'closed', closed_by = $1, closed_at = $2, \
             counted_minor = $3, expected_minor = $4, variance_minor = $5, \
             variance_approved_by = $6, note = $7 WHERE id = $8 AND status = 'open'",
        )
        .bind(actor)
        .bind(self.now())
        .bind(counted)
        .bind(expected)
        .bind(variance)
        .bind(approver.map(str::to_string))
        .bind(&note)
        .bind(shift_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.shift(shift_id).await
    }

    /// The Z report of a shift.
    pub async fn z_report(&self, shift_id: &str) -> Result<ZReport, StoreError> {
        let shift = self.shift(shift_id).await?;
        let (sales_count, gross, discounts, tax, offline): (i64, i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(o.total_minor), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(o.discount_minor), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(o.tax_minor), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(s.offline), 0) AS BIGINT) \
                 FROM pos_sales s JOIN orders o ON o.id = s.order_id WHERE s.shift_id = $1",
            )
            .bind(shift_id)
            .fetch_one(&self.pool)
            .await?;
        let methods: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT p.gateway, CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) FROM payments p \
             JOIN pos_sales s ON s.order_id = p.order_id WHERE s.shift_id = $1 \
             GROUP BY p.gateway ORDER BY p.gateway",
        )
        .bind(shift_id)
        .fetch_all(&self.pool)
        .await?;
        let by_method = methods
            .into_iter()
            .map(|(g, n, a)| (if g == "cash" { g } else { "card".into() }, n, a))
            .collect();
        let refunds: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT method, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) \
             FROM pos_refunds WHERE shift_id = $1 GROUP BY method ORDER BY method DESC",
        )
        .bind(shift_id)
        .fetch_all(&self.pool)
        .await?;
        let movements: Vec<CashMovement> = sqlx::query(
            "SELECT m.kind, m.amount_minor, m.reason, u.name, m.at FROM pos_cash_movements m \
             JOIN users u ON u.id = m.actor WHERE m.shift_id = $1 ORDER BY m.at, m.id",
        )
        .bind(shift_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(CashMovement {
                kind: r.try_get("kind")?,
                amount_minor: r.try_get("amount_minor")?,
                reason: r.try_get("reason")?,
                actor_name: r.try_get("name")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let sum = |k: &str| -> i64 {
            movements
                .iter()
                .filter(|m| m.kind == k)
                .map(|m| m.amount_minor)
                .sum()
        };
        let expected = match shift.expected_minor {
            Some(e) if shift.status == "closed" => e,
            _ => self.expected_cash(shift_id).await?,
        };
        Ok(ZReport {
            sales_count,
            gross_minor: gross,
            discounts_minor: discounts,
            tax_minor: tax,
            by_method,
            refunds_count: refunds.iter().map(|r| r.1).sum(),
            refunds_minor: refunds.iter().map(|r| r.2).sum(),
            refunds_by_method: refunds.into_iter().map(|r| (r.0, r.2)).collect(),
            cash_in_minor: sum("in"),
            cash_out_minor: sum("out"),
            movements,
            expected_minor: expected,
            offline_sales: offline,
            shift,
        })
    }
}
