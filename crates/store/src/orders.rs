//! Orders' customer-facing details: contact email and phone, billing and shipping addresses,
//! sealed under the ordering customer's key (so erasing the customer erases them too).

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::{validate_email, validate_phone, Address, NewOrder, OrderRecord};
use storefort_core::ids::{CustomerId, OrderId};

use crate::db::new_id;
use crate::vault::seal_field;
use crate::{Db, StoreError};

/// The personal columns of `orders`, sealed.
pub(crate) const SEALED_COLUMNS: [&str; 4] = ["email", "phone", "billing", "shipping"];
pub(crate) const COLUMNS: &str = "o.id, o.number, o.customer_id, o.key_id, o.status, o.currency, \
     o.total_minor, o.email, o.phone, o.billing, o.shipping, o.created_at, k.wrapped, k.wrapped_by";
pub(crate) const FROM: &str =
    "FROM orders o LEFT JOIN customer_keys k ON k.id = o.key_id AND k.customer_id = o.customer_id";

pub(crate) fn ctx(column: &str, id: &str) -> String {
    format!("orders.{column}:{id}")
}

/// The plain values of an order's sealed columns, in [`SEALED_COLUMNS`] order (JSON for
/// addresses; an empty string for no shipping address).
pub(crate) fn plain_order_fields(o: &OrderRecord) -> Result<[String; 4], StoreError> {
    let json = |a: &Option<Address>| match a {
        Some(a) => serde_json::to_string(a).map_err(|_| StoreError::Busy("order")),
        None => Ok(String::new()),
    };
    Ok([
        o.email.clone(),
        o.phone.clone(),
        json(&o.billing)?,
        json(&o.shipping)?,
    ])
}

impl Db {
    /// Record an order for a customer: the order gets the next order number, and its personal
    /// fields are sealed under the customer's key.
    pub async fn create_order(&self, o: &NewOrder) -> Result<OrderRecord, StoreError> {
        validate_email(&o.email)?;
        validate_phone(&o.phone)?;
        o.billing.validate("billing")?;
        if let Some(s) = &o.shipping {
            s.validate("shipping")?;
        }
        if o.total_minor < 0 {
            return Err(
                storefort_core::ValidationError::new("total_minor", "cannot be negative").into(),
            );
        }
        let key_id = self.current_customer_key(&o.customer_id).await?;
        let key = self.customer_key(&key_id).await?;
        let id = new_id();
        let now = self.now();
        let mut record = OrderRecord {
            id: OrderId(id.clone()),
            number: 0,
            customer_id: o.customer_id.clone(),
            status: o.status.clone(),
            currency: o.currency.clone(),
            total_minor: o.total_minor,
            email: o.email.trim().to_string(),
            phone: o.phone.trim().to_string(),
            billing: Some(o.billing.clone()),
            shipping: o.shipping.clone(),
            created_at: now,
        };
        let plain = plain_order_fields(&record)?;
        let mut sealed: Vec<Option<String>> = Vec::with_capacity(4);
        for (i, col) in SEALED_COLUMNS.iter().enumerate() {
            sealed.push(if i == 3 && o.shipping.is_none() {
                None
            } else {
                Some(seal_field(&key, &key_id, &plain[i], &ctx(col, &id))?)
            });
        }
        let mut tx = self.begin_write().await?;
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'order_number' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        // Only while the key is still the customer's (not erased or rotated meanwhile).
        let inserted = sqlx::query(
            "INSERT INTO orders (id, number, customer_id, key_id, status, currency, total_minor, \
             email, phone, billing, shipping, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
             WHERE EXISTS (SELECT 1 FROM customers WHERE id = $3 AND key_id = $4)",
        )
        .bind(&id)
        .bind(number)
        .bind(o.customer_id.as_str())
        .bind(&key_id)
        .bind(&o.status)
        .bind(&o.currency)
        .bind(o.total_minor)
        .bind(sealed[0].clone())
        .bind(sealed[1].clone())
        .bind(sealed[2].clone())
        .bind(sealed[3].clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            tx.rollback().await?;
            return match self.current_customer_key(&o.customer_id).await {
                Err(e) => Err(e),
                Ok(_) => Err(StoreError::Busy("customer")),
            };
        }
        sqlx::query("UPDATE customers SET last_activity_at = $1 WHERE id = $2")
            .bind(now)
            .bind(o.customer_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        record.number = number;
        Ok(record)
    }

    /// One order.
    pub async fn order_record(&self, id: &OrderId) -> Result<OrderRecord, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} {FROM} WHERE o.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("order", id.as_str()))?;
        self.order_from_row(&row).await
    }

    /// A customer's orders, newest first.
    pub async fn orders_of_customer(
        &self,
        id: &CustomerId,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} {FROM} WHERE o.customer_id = $1 ORDER BY o.created_at DESC, o.id DESC"
        ))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.order_from_row(row).await?);
        }
        Ok(out)
    }

    pub(crate) async fn order_from_row(&self, row: &AnyRow) -> Result<OrderRecord, StoreError> {
        let id: String = row.try_get("id")?;
        let mut plain = self.open_row(row, "orders", &id, SEALED_COLUMNS).await?;
        let address = |json: &str, col: &str| -> Result<Option<Address>, StoreError> {
            if json.is_empty() {
                return Ok(None);
            }
            serde_json::from_str(json)
                .map(Some)
                .map_err(|_| StoreError::Unreadable {
                    context: ctx(col, &id),
                })
        };
        Ok(OrderRecord {
            number: row.try_get("number")?,
            customer_id: CustomerId(row.try_get("customer_id")?),
            status: row.try_get("status")?,
            currency: row.try_get("currency")?,
            total_minor: row.try_get("total_minor")?,
            billing: address(&plain[2], "billing")?,
            shipping: address(&plain[3], "shipping")?,
            email: std::mem::take(&mut plain[0]),
            phone: std::mem::take(&mut plain[1]),
            created_at: row.try_get("created_at")?,
            id: OrderId(id),
        })
    }
}
