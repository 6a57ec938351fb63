//! Who and what a till sale involves: the till and its location, staff (cashier, approving
//! manager), the customer (given, found by the receipt email, or the shared walk-in customer)
//! and the catalog rows of the items sold.

use std::collections::HashMap;

use storefort_core::customer::NewCustomer;
use storefort_core::ids::CustomerId;
use storefort_core::ValidationError;

use crate::db::new_id;
use crate::orders::ctx;
use crate::pos_sale_read::SaleCatalogRow;
use crate::pos_sales::PosSaleInput;
use crate::vault::seal_field;
use crate::{Db, StoreError};

/// Settings key naming the shared walk-in customer.
const WALK_IN_KEY: &str = "till.walk_in_customer";

/// Where a till stands: its name and location.
#[derive(Debug, Clone)]
pub(crate) struct Till {
    pub name: String,
    pub location_id: String,
}

/// A staff member as the till needs them.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub name: String,
    pub email: String,
}

pub(crate) fn check_key(field: &str, key: &str) -> Result<(), ValidationError> {
    let n = key.chars().count();
    if !(8..=100).contains(&n) || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::new(
            field,
            "send a unique key of 8-100 characters without spaces",
        ));
    }
    Ok(())
}

impl Db {
    /// Who the sale is for, and the order's sealed email: the given customer, or a guest found
    /// or made by the receipt email, or the shared walk-in customer with nothing personal.
    pub(crate) async fn sale_customer(
        &self,
        s: &PosSaleInput,
        order_id: &str,
    ) -> Result<(CustomerId, Option<String>, Option<String>), StoreError> {
        let email = match s.receipt_email.as_deref().map(str::trim) {
            Some(e) if !e.is_empty() => {
                storefort_core::customer::validate_email(e)
                    .map_err(|v| ValidationError::new("receipt_email", v.message))?;
                Some(e.to_string())
            }
            _ => None,
        };
        let customer = match (&s.customer_id, &email) {
            (Some(id), _) => {
                let c = self.customer(id).await.map_err(|_| {
                    StoreError::from(ValidationError::new("customer_id", "no such customer"))
                })?;
                c.id
            }
            (None, Some(e)) => {
                self.guest_customer(&NewCustomer {
                    name: "Walk-in customer".into(),
                    email: e.clone(),
                    ..Default::default()
                })
                .await?
                .id
            }
            (None, None) => self.walk_in_customer().await?,
        };
        let Some(e) = email else {
            return Ok((customer, None, None));
        };
        let key_id = self.current_customer_key(&customer).await?;
        let key = self.customer_key(&key_id).await?;
        let sealed = seal_field(&key, &key_id, &e, &ctx("email", order_id))?;
        Ok((customer, Some(key_id), Some(sealed)))
    }

    /// The one customer row every anonymous till sale belongs to. It holds no personal data
    /// (no key, nothing sealed) and is marked erased from the start, so retention leaves it be.
    /// Made once: the settings row is the claim, so two tills racing make one.
    pub async fn walk_in_customer(&self) -> Result<CustomerId, StoreError> {
        if let Some(id) = self.setting(WALK_IN_KEY).await? {
            return Ok(CustomerId(id));
        }
        let id = new_id();
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO customers (id, created_at, updated_at, last_activity_at, erased_at) \
             VALUES ($1, $2, $2, $2, $2)",
        )
        .bind(&id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(WALK_IN_KEY)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 1 {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        self.setting(WALK_IN_KEY)
            .await?
            .map(CustomerId)
            .ok_or(StoreError::Busy("customer"))
    }

    /// An active till: its name and location. Unknown: 404; pending or revoked: 409.
    pub(crate) async fn till(&self, device_id: &str) -> Result<Till, StoreError> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT name, location_id, status FROM pos_devices WHERE id = $1")
                .bind(device_id)
                .fetch_optional(&self.pool)
                .await?;
        let (name, location_id, status) =
            row.ok_or_else(|| StoreError::not_found("device", device_id))?;
        if status != "active" {
            return Err(StoreError::state("device", "this till is not paired"));
        }
        Ok(Till { name, location_id })
    }

    /// An active staff member; with `manager`, only a manager or owner.
    pub(crate) async fn staff(
        &self,
        id: &str,
        field: &str,
        manager: bool,
    ) -> Result<Staff, StoreError> {
        let row: Option<(String, String, String, i64)> =
            sqlx::query_as("SELECT name, email, role, disabled FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((name, email, role, 0)) if !manager || role == "owner" || role == "manager" => {
                Ok(Staff { name, email })
            }
            Some((_, _, _, 0)) => {
                Err(ValidationError::new(field, "a manager or owner must approve this").into())
            }
            _ => Err(ValidationError::new(field, "no such active staff member").into()),
        }
    }

    /// The catalog as a sale needs it, for these variants.
    pub(crate) async fn sale_catalog(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, SaleCatalogRow>, StoreError> {
        let sql = format!(
            "SELECT v.id, v.sku, v.options, v.price_minor, v.archived, p.name AS product_name, \
             p.status, p.tax_class_id, p.allow_backorder FROM variants v \
             JOIN products p ON p.id = v.product_id WHERE v.id IN ({})",
            crate::db::placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = HashMap::new();
        for r in &rows {
            let c = SaleCatalogRow::from_row(r)?;
            out.insert(c.variant_id.clone(), c);
        }
        Ok(out)
    }
}
