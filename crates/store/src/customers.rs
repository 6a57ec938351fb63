//! Customers: every personal field sealed under the customer's own key, email and phone found
//! through keyed blind indexes. Callers see [`Customer`] with plain text.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::{
    normalize_email, normalize_phone, validate_email, Customer, NewCustomer,
};
use storefort_core::ids::CustomerId;
use storefort_core::model::Page;

use crate::db::{flag, looks_like_id, new_id};
use crate::vault::seal_field;
use crate::{Db, StoreError};

/// Columns read for a customer, with the customer key's wrapped form (one query, no second
/// round trip for the key).
pub(crate) const CUSTOMER_COLUMNS: &str = "c.id, c.key_id, c.name, c.email, c.phone, c.note, \
     c.marketing_consent, \
     CAST(CASE WHEN c.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_account, c.created_at, c.updated_at, c.erased_at, \
     k.wrapped, k.wrapped_by";
const FROM: &str =
    "FROM customers c LEFT JOIN customer_keys k ON k.id = c.key_id AND k.customer_id = c.id";
/// The personal columns of `customers`, sealed.
pub(crate) const SEALED_COLUMNS: [&str; 4] = ["name", "email", "phone", "note"];

fn ctx(table: &str, column: &str, id: &str) -> String {
    format!("{table}.{column}:{id}")
}

/// The sealed values of one customer's personal fields, in [`SEALED_COLUMNS`] order.
pub(crate) fn seal_customer(
    key: &storefort_crypto::seal::SealKey,
    key_id: &str,
    id: &str,
    c: &NewCustomer,
) -> Result<[String; 4], StoreError> {
    let plain = [
        c.name.trim(),
        c.email.trim(),
        c.phone.trim(),
        c.note.as_str(),
    ];
    let mut out: [String; 4] = Default::default();
    for (i, col) in SEALED_COLUMNS.iter().enumerate() {
        out[i] = seal_field(key, key_id, plain[i], &ctx("customers", col, id))?;
    }
    Ok(out)
}

impl Db {
    /// Decode a row selected with [`CUSTOMER_COLUMNS`] (addresses not loaded).
    pub(crate) async fn customer_from_row(&self, row: &AnyRow) -> Result<Customer, StoreError> {
        let id: String = row.try_get("id")?;
        let [name, email, phone, note] =
            self.open_row(row, "customers", &id, SEALED_COLUMNS).await?;
        Ok(Customer {
            id: CustomerId(id),
            name,
            email,
            phone,
            note,
            marketing_consent: flag(row, "marketing_consent")?,
            has_account: flag(row, "has_account")?,
            addresses: Vec::new(),
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            erased_at: row.try_get("erased_at")?,
        })
    }

    /// Create a customer; with `password_hash` they have a shopper account, without they are a
    /// guest. An email already used by another customer is a conflict on `email`.
    pub async fn create_customer(
        &self,
        c: &NewCustomer,
        password_hash: Option<&str>,
    ) -> Result<Customer, StoreError> {
        c.validate()?;
        let id = new_id();
        let (key_id, key, wrapped, wrapped_by) = self.new_customer_key().await?;
        let sealed = seal_customer(&key, &key_id, &id, c)?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        // Only under a data key that still exists (a rotation may have just destroyed the one
        // this node still thought active).
        let keyed = sqlx::query(
            "INSERT INTO customer_keys (id, customer_id, wrapped, wrapped_by, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
             (SELECT 1 FROM keyring WHERE id = $4 AND wrapped IS NOT NULL)",
        )
        .bind(&key_id)
        .bind(&id)
        .bind(&wrapped)
        .bind(&wrapped_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if keyed.rows_affected() != 1 {
            tx.rollback().await?;
            self.refresh_active_key().await?;
            return Err(StoreError::Busy("customer"));
        }
        let [name, email, phone, note] = sealed;
        sqlx::query(
            "INSERT INTO customers (id, key_id, name, email, phone, note, email_index, \
             phone_index, marketing_consent, password_hash, created_at, updated_at, \
             last_activity_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)",
        )
        .bind(&id)
        .bind(&key_id)
        .bind(name)
        .bind(email)
        .bind(phone)
        .bind(note)
        .bind(self.blind_index("email", &normalize_email(&c.email))?)
        .bind(self.phone_index(&c.phone)?)
        .bind(i64::from(c.marketing_consent))
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.customer(&CustomerId(id)).await
    }

    fn phone_index(&self, phone: &str) -> Result<Option<String>, StoreError> {
        let n = normalize_phone(phone);
        if n.is_empty() {
            Ok(None)
        } else {
            Ok(Some(self.blind_index("phone", &n)?))
        }
    }

    /// The customer with this email, or a new guest customer (guest checkout).
    pub async fn guest_customer(&self, c: &NewCustomer) -> Result<Customer, StoreError> {
        c.validate()?;
        if let Some(found) = self.customer_by_email(&c.email).await? {
            return Ok(found);
        }
        match self.create_customer(c, None).await {
            Err(StoreError::Conflict { .. }) => self
                .customer_by_email(&c.email)
                .await?
                .ok_or(StoreError::Busy("customer")),
            other => other,
        }
    }

    /// One customer with their saved addresses.
    pub async fn customer(&self, id: &CustomerId) -> Result<Customer, StoreError> {
        if !looks_like_id(id.as_str()) {
            return Err(StoreError::not_found("customer", id.as_str()));
        }
        self.customer_with_addresses("c.id", id.as_str())
            .await?
            .ok_or_else(|| StoreError::not_found("customer", id.as_str()))
    }

    /// The customer with this email (any case, surrounding spaces ignored).
    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        let index = self.blind_index("email", &normalize_email(email))?;
        self.customer_with_addresses("c.email_index", &index).await
    }

    /// A customer and their addresses in one query (one row per address).
    async fn customer_with_addresses(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS}, a.id AS a_id, a.key_id AS a_key, a.label AS a_label, \
             a.address AS a_address, ak.wrapped AS a_wrapped, ak.wrapped_by AS a_wrapped_by \
             {FROM} LEFT JOIN customer_addresses a ON a.customer_id = c.id \
             LEFT JOIN customer_keys ak ON ak.id = a.key_id AND ak.customer_id = a.customer_id \
             WHERE {column} = $1 ORDER BY a.created_at, a.id"
        ))
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut c = self.customer_from_row(first).await?;
        for row in &rows {
            let Some(aid) = row.try_get::<Option<String>, _>("a_id")? else {
                continue;
            };
            c.addresses.push(self.open_address(row, aid, "a_").await?);
        }
        Ok(Some(c))
    }

    /// Customers with this phone number (spaces, dashes and brackets ignored), at most 50.
    pub async fn customers_by_phone(&self, phone: &str) -> Result<Vec<Customer>, StoreError> {
        let Some(index) = self.phone_index(phone)? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS} {FROM} WHERE c.phone_index = $1 ORDER BY c.id DESC LIMIT 50"
        ))
        .bind(index)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.customer_from_row(row).await?);
        }
        Ok(out)
    }

    /// Customers, newest first, `limit` per page (1-500); addresses are not loaded.
    pub async fn customers(
        &self,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<Page<Customer>, StoreError> {
        let limit = limit.clamp(1, 500);
        let rows = match cursor {
            Some(c) => {
                sqlx::query(&format!(
                    "SELECT {CUSTOMER_COLUMNS} {FROM} WHERE c.id < $1 ORDER BY c.id DESC LIMIT $2"
                ))
                .bind(c)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {CUSTOMER_COLUMNS} {FROM} ORDER BY c.id DESC LIMIT $1"
                ))
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
            }
        };
        let more = rows.len() as i64 > limit;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows.iter().take(limit as usize) {
            items.push(self.customer_from_row(row).await?);
        }
        let next_cursor = if more {
            items.last().map(|c| c.id.0.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// How many customers there are (erased ones included).
    pub async fn count_customers(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Replace a customer's name, email, phone, consent and note.
    pub async fn update_customer(
        &self,
        id: &CustomerId,
        c: &NewCustomer,
    ) -> Result<Customer, StoreError> {
        c.validate()?;
        // A rotation may give the customer a new key between reading it and writing: the
        // write names the key it used and is retried if the key changed meanwhile.
        for _ in 0..5 {
            let key_id = self.current_customer_key(id).await?;
            let key = self.customer_key(&key_id).await?;
            let [name, email, phone, note] = seal_customer(&key, &key_id, id.as_str(), c)?;
            let done = sqlx::query(
                "UPDATE customers SET name = $1, email = $2, phone = $3, note = $4, \
                 email_index = $5, phone_index = $6, marketing_consent = $7, updated_at = $8 \
                 WHERE id = $9 AND key_id = $10",
            )
            .bind(name)
            .bind(email)
            .bind(phone)
            .bind(note)
            .bind(self.blind_index("email", &normalize_email(&c.email))?)
            .bind(self.phone_index(&c.phone)?)
            .bind(i64::from(c.marketing_consent))
            .bind(self.now())
            .bind(id.as_str())
            .bind(&key_id)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                return self.customer(id).await;
            }
        }
        Err(StoreError::Busy("customer"))
    }

    /// The key a customer's new values are sealed with; erased customers have none.
    pub(crate) async fn current_customer_key(&self, id: &CustomerId) -> Result<String, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT key_id FROM customers WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Err(StoreError::not_found("customer", id.as_str())),
            Some((None,)) => Err(StoreError::Erased),
            Some((Some(k),)) => Ok(k),
        }
    }

    /// A shopper account's id and password hash by email; guests and erased customers have none.
    pub async fn customer_login(
        &self,
        email: &str,
    ) -> Result<Option<(CustomerId, String)>, StoreError> {
        if validate_email(email).is_err() {
            return Ok(None);
        }
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT id, password_hash FROM customers WHERE email_index = $1 \
             AND password_hash IS NOT NULL AND erased_at IS NULL",
        )
        .bind(self.blind_index("email", &normalize_email(email))?)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, h)| (CustomerId(id), h)))
    }

    /// Give a guest (no password yet) a password: true if this call made the account, false if
    /// the customer already had one (two registrations racing for the same guest record).
    pub async fn claim_guest_customer(
        &self,
        id: &CustomerId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE customers SET password_hash = $1, updated_at = $2 \
             WHERE id = $3 AND erased_at IS NULL AND password_hash IS NULL",
        )
        .bind(hash)
        .bind(self.now())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Set a shopper's password hash (a rehash at sign-in).
    pub async fn set_customer_password(
        &self,
        id: &CustomerId,
        hash: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE customers SET password_hash = $1, updated_at = $2 \
             WHERE id = $3 AND erased_at IS NULL",
        )
        .bind(hash)
        .bind(self.now())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("customer", id.as_str()));
        }
        Ok(())
    }
}
