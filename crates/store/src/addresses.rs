//! Customers' saved addresses: label and address sealed under the customer's key, each row
//! opened only with a key that belongs to the same customer.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::{Address, SavedAddress};
use storefort_core::ids::{AddressId, CustomerId};

use crate::db::new_id;
use crate::vault::{open_field, seal_field};
use crate::{Db, StoreError};

fn ctx(column: &str, id: &str) -> String {
    format!("customer_addresses.{column}:{id}")
}

impl Db {
    /// Open an address row (columns named with `prefix`), with its key joined on the same
    /// customer: a row pointed at another customer's key does not open.
    pub(crate) async fn open_address(
        &self,
        row: &AnyRow,
        aid: String,
        prefix: &str,
    ) -> Result<SavedAddress, StoreError> {
        let col = |name: &str| format!("{prefix}{name}");
        let key_id: String = row.try_get(col("key").as_str())?;
        let label: String = row.try_get(col("label").as_str())?;
        let sealed: String = row.try_get(col("address").as_str())?;
        let wrapped: Option<String> = row.try_get(col("wrapped").as_str())?;
        let by: Option<String> = row.try_get(col("wrapped_by").as_str())?;
        let ctx_address = ctx("address", &aid);
        let (Some(wrapped), Some(by)) = (wrapped, by) else {
            return Err(StoreError::Unreadable {
                context: ctx_address,
            });
        };
        let key = self.customer_key_from(&key_id, &wrapped, &by).await?;
        let sealed = sealed.as_str();
        let label = label.as_str();
        let ctx_address = ctx("address", &aid);
        let json = open_field(&key, Some(sealed), &ctx_address)?;
        let address: Address = serde_json::from_str(&json).map_err(|_| StoreError::Unreadable {
            context: ctx_address,
        })?;
        let label = open_field(&key, Some(label), &ctx("label", &aid))?;
        Ok(SavedAddress {
            id: AddressId(aid),
            label,
            address,
        })
    }

    /// A customer's saved addresses, oldest first.
    pub async fn addresses_of(&self, id: &CustomerId) -> Result<Vec<SavedAddress>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id AS a_id, a.key_id AS a_key, a.label AS a_label, a.address AS a_address, \
             ak.wrapped AS a_wrapped, ak.wrapped_by AS a_wrapped_by FROM customer_addresses a \
             LEFT JOIN customer_keys ak ON ak.id = a.key_id AND ak.customer_id = a.customer_id \
             WHERE a.customer_id = $1 ORDER BY a.created_at, a.id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let aid: String = row.try_get("a_id")?;
            out.push(self.open_address(row, aid, "a_").await?);
        }
        Ok(out)
    }

    /// Save an address on a customer.
    pub async fn add_address(
        &self,
        id: &CustomerId,
        label: &str,
        a: &Address,
    ) -> Result<SavedAddress, StoreError> {
        a.validate("address")?;
        if label.chars().count() > 40 {
            return Err(storefort_core::ValidationError::new(
                "label",
                "must be at most 40 characters",
            )
            .into());
        }
        let json = serde_json::to_string(a).map_err(|_| StoreError::Busy("address"))?;
        // The row names the customer's current key; the insert happens only if that key is
        // still the customer's (not erased or rotated meanwhile), else it is sealed again.
        for _ in 0..5 {
            let key_id = self.current_customer_key(id).await?;
            let key = self.customer_key(&key_id).await?;
            let aid = new_id();
            let sealed = seal_field(&key, &key_id, &json, &ctx("address", &aid))?;
            let sealed_label = seal_field(&key, &key_id, label.trim(), &ctx("label", &aid))?;
            let done = sqlx::query(
                "INSERT INTO customer_addresses (id, customer_id, key_id, label, address, \
                 created_at) SELECT $1, $2, $3, $4, $5, $6 \
                 WHERE EXISTS (SELECT 1 FROM customers WHERE id = $2 AND key_id = $3)",
            )
            .bind(&aid)
            .bind(id.as_str())
            .bind(&key_id)
            .bind(sealed_label)
            .bind(sealed)
            .bind(self.now())
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                return Ok(SavedAddress {
                    id: AddressId(aid),
                    label: label.trim().to_string(),
                    address: a.clone(),
                });
            }
        }
        Err(StoreError::Busy("customer"))
    }

    /// Delete one of a customer's saved addresses.
    pub async fn remove_address(
        &self,
        id: &CustomerId,
        address: &AddressId,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM customer_addresses WHERE id = $1 AND customer_id = $2")
            .bind(address.as_str())
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("address", address.as_str()));
        }
        Ok(())
    }
}
