//! Products and their variants.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::catalog::{
    ProductInput, ProductPatch, ProductStatus, VariantInput, VariantPatch,
};
use storefort_core::ids::{CategoryId, ProductId, TaxClassId, VariantId};
use storefort_core::model::{Page, Product, Variant};
use storefort_core::{text, ValidationError};

use crate::db::{flag, looks_like_id, new_id, placeholders};
use crate::{Db, StoreError};

/// Most items one page may hold.
pub const MAX_LIMIT: i64 = 100;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Only this category.
    pub category_id: Option<String>,
    /// Only this status; `None` means active and draft (not archived).
    pub status: Option<ProductStatus>,
    /// Search: part of the name, or an exact SKU or barcode.
    pub q: Option<String>,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: i64,
}

/// Encode a position in a listing as an opaque cursor.
pub fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// Decode a cursor; anything we did not issue is a validation error on `cursor`.
pub fn decode_cursor(cursor: &str) -> Result<String, ValidationError> {
    let bad = || ValidationError::new("cursor", "is not a cursor this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    if looks_like_id(&id) {
        Ok(id)
    } else {
        Err(bad())
    }
}

const PRODUCT_COLS: &str = "p.id, p.name, p.slug, p.description, p.category_id, p.tax_class_id, \
     p.status, p.allow_backorder, p.created_at, p.updated_at";

fn product(r: &AnyRow) -> Result<Product, sqlx::Error> {
    Ok(Product {
        id: ProductId(r.try_get("id")?),
        name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        description: r.try_get("description")?,
        category_id: r
            .try_get::<Option<String>, _>("category_id")?
            .map(CategoryId),
        tax_class_id: TaxClassId(r.try_get("tax_class_id")?),
        status: ProductStatus::parse(&r.try_get::<String, _>("status")?),
        allow_backorder: flag(r, "allow_backorder")?,
        variants: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const VARIANT_SELECT: &str = "SELECT v.id, v.product_id, v.sku, v.barcode, v.options, v.price_minor, \
     v.archived, v.created_at, v.updated_at, \
     CAST(COALESCE((SELECT SUM(s.quantity) FROM stock_levels s WHERE s.variant_id = v.id), 0) AS BIGINT) AS available \
     FROM variants v";

fn variant(r: &AnyRow) -> Result<Variant, sqlx::Error> {
    let options: String = r.try_get("options")?;
    Ok(Variant {
        id: VariantId(r.try_get("id")?),
        product_id: ProductId(r.try_get("product_id")?),
        sku: r.try_get("sku")?,
        barcode: r.try_get("barcode")?,
        options: serde_json::from_str::<BTreeMap<String, String>>(&options).unwrap_or_default(),
        price_minor: r.try_get("price_minor")?,
        archived: flag(r, "archived")?,
        available: r.try_get("available")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn options_json(options: &BTreeMap<String, String>) -> String {
    serde_json::to_string(options).unwrap_or_else(|_| "{}".into())
}

impl Db {
    async fn check_refs(
        &self,
        category: Option<&CategoryId>,
        tax: Option<&TaxClassId>,
    ) -> Result<(), StoreError> {
        if let Some(c) = category {
            self.category(c.as_str()).await.map_err(|_| {
                ValidationError::new("category_id", format!("no category with ID {c}"))
            })?;
        }
        if let Some(t) = tax {
            self.tax_class(t.as_str()).await.map_err(|_| {
                ValidationError::new("tax_class_id", format!("no tax class with ID {t}"))
            })?;
        }
        Ok(())
    }

    /// Create a product and its variants in one transaction.
    pub async fn create_product(&self, input: ProductInput) -> Result<Product, StoreError> {
        let p = input.validate()?;
        self.check_refs(p.category_id.as_ref(), p.tax_class_id.as_ref())
            .await?;
        let tax = match p.tax_class_id {
            Some(t) => t,
            None => self.default_tax_class().await?.id,
        };
        let id = new_id();
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO products (id, name, slug, description, category_id, tax_class_id, status, \
             allow_backorder, search_text, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&id)
        .bind(&p.name)
        .bind(p.slug.as_deref().unwrap_or_default())
        .bind(&p.description)
        .bind(p.category_id.as_ref().map(|c| c.0.clone()))
        .bind(tax.as_str())
        .bind(p.status.unwrap_or(ProductStatus::Active).as_str())
        .bind(i64::from(p.allow_backorder))
        .bind(text::search_key(&p.name))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (pos, v) in p.variants.iter().enumerate() {
            insert_variant(&mut tx, &id, v, pos as i64, now).await?;
        }
        tx.commit().await?;
        self.catalog_changed();
        self.product(&id).await
    }

    /// One product with its variants (archived variants left out).
    pub async fn product(&self, id: &str) -> Result<Product, StoreError> {
        if !looks_like_id(id) {
            return Err(StoreError::not_found("product", id));
        }
        let row = sqlx::query(&format!(
            "SELECT {PRODUCT_COLS} FROM products p WHERE p.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("product", id))?;
        let mut p = product(&row)?;
        p.variants = self.variants_of(&[p.id.0.clone()]).await?;
        Ok(p)
    }

    /// One product by its slug.
    pub async fn product_by_slug(&self, slug: &str) -> Result<Product, StoreError> {
        let id: String = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("product", slug))?;
        self.product(&id).await
    }

    /// A page of products with their variants, served from a short-lived cache when possible
    /// (see [`crate::cache`]).
    pub async fn list_products(
        &self,
        f: &ProductFilter,
    ) -> Result<std::sync::Arc<Page<Product>>, StoreError> {
        let key = format!("{f:?}");
        if let Some(hit) = self.listings.get(&key) {
            return Ok(hit);
        }
        let version = self.listings.version();
        let page = std::sync::Arc::new(self.list_products_uncached(f).await?);
        self.listings.put(key, version, page.clone());
        Ok(page)
    }

    async fn list_products_uncached(&self, f: &ProductFilter) -> Result<Page<Product>, StoreError> {
        if !(1..=MAX_LIMIT).contains(&f.limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )
            .into());
        }
        let mut sql = format!("SELECT {PRODUCT_COLS} FROM products p WHERE ");
        let mut args: Vec<String> = Vec::new();
        match f.status {
            Some(s) => {
                args.push(s.as_str().into());
                sql.push_str(&format!("p.status = ${}", args.len()));
            }
            None => sql.push_str("p.status <> 'archived'"),
        }
        if let Some(c) = &f.category_id {
            args.push(c.clone());
            sql.push_str(&format!(" AND p.category_id = ${}", args.len()));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let like = text::search_key(q)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            args.push(format!("%{like}%"));
            args.push(q.to_string());
            let (a, b) = (args.len() - 1, args.len());
            sql.push_str(&format!(
                " AND (p.search_text LIKE ${a} ESCAPE '\\' OR EXISTS (SELECT 1 FROM variants v \
                 WHERE v.product_id = p.id AND (v.sku = ${b} OR v.barcode = ${b})))"
            ));
        }
        if let Some(c) = &f.cursor {
            args.push(decode_cursor(c)?);
            sql.push_str(&format!(" AND p.id > ${}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY p.id LIMIT {}", f.limit + 1));
        let mut query = sqlx::query(&sql);
        for a in &args {
            query = query.bind(a);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(product).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() as i64 > f.limit {
            items.truncate(f.limit as usize);
            items.last().map(|p| encode_cursor(p.id.as_str()))
        } else {
            None
        };
        let ids: Vec<String> = items.iter().map(|p| p.id.0.clone()).collect();
        let mut variants = self.variants_of(&ids).await?;
        for p in &mut items {
            let (mine, rest): (Vec<_>, Vec<_>) =
                variants.into_iter().partition(|v| v.product_id == p.id);
            p.variants = mine;
            variants = rest;
        }
        Ok(Page { items, next_cursor })
    }

    /// Non-archived variants of the given products, in display order.
    async fn variants_of(&self, product_ids: &[String]) -> Result<Vec<Variant>, StoreError> {
        if product_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{VARIANT_SELECT} WHERE v.product_id IN ({}) AND v.archived = 0 ORDER BY v.product_id, v.position, v.id",
            placeholders(1, product_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in product_ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(variant).collect::<Result<_, _>>()?)
    }

    /// Change a product.
    pub async fn update_product(
        &self,
        id: &str,
        patch: ProductPatch,
    ) -> Result<Product, StoreError> {
        let patch = patch.validate()?;
        let cur = self.product(id).await?;
        let category = match &patch.category_id {
            Some(c) => c.clone(),
            None => cur.category_id.clone(),
        };
        self.check_refs(category.as_ref(), patch.tax_class_id.as_ref())
            .await?;
        let name = patch.name.unwrap_or(cur.name);
        sqlx::query(
            "UPDATE products SET name = $1, slug = $2, description = $3, category_id = $4, \
             tax_class_id = $5, status = $6, allow_backorder = $7, search_text = $8, updated_at = $9 \
             WHERE id = $10",
        )
        .bind(&name)
        .bind(patch.slug.unwrap_or(cur.slug))
        .bind(patch.description.unwrap_or(cur.description))
        .bind(category.map(|c| c.0))
        .bind(patch.tax_class_id.unwrap_or(cur.tax_class_id).0)
        .bind(patch.status.unwrap_or(cur.status).as_str())
        .bind(i64::from(patch.allow_backorder.unwrap_or(cur.allow_backorder)))
        .bind(text::search_key(&name))
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.catalog_changed();
        self.product(id).await
    }

    /// Withdraw a product from sale; it stays for history and can be reactivated.
    pub async fn archive_product(&self, id: &str) -> Result<Product, StoreError> {
        self.update_product(
            id,
            ProductPatch {
                status: Some(ProductStatus::Archived),
                ..Default::default()
            },
        )
        .await
    }

    /// Add a variant to a product.
    pub async fn add_variant(
        &self,
        product_id: &str,
        input: VariantInput,
    ) -> Result<Variant, StoreError> {
        let v = input.validate()?;
        let p = self.product(product_id).await?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let id = insert_variant(&mut tx, product_id, &v, p.variants.len() as i64, now).await?;
        tx.commit().await?;
        self.catalog_changed();
        self.variant(&id).await
    }

    /// One variant (archived ones included).
    pub async fn variant(&self, id: &str) -> Result<Variant, StoreError> {
        if !looks_like_id(id) {
            return Err(StoreError::not_found("variant", id));
        }
        let row = sqlx::query(&format!("{VARIANT_SELECT} WHERE v.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("variant", id))?;
        Ok(variant(&row)?)
    }

    /// Find a variant by exact SKU or barcode (what a scanner sends).
    pub async fn variant_by_code(&self, code: &str) -> Result<Variant, StoreError> {
        let row = sqlx::query(&format!(
            "{VARIANT_SELECT} WHERE v.sku = $1 OR v.barcode = $1"
        ))
        .bind(code.trim())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("variant", code))?;
        Ok(variant(&row)?)
    }

    /// Change a variant.
    pub async fn update_variant(
        &self,
        id: &str,
        patch: VariantPatch,
    ) -> Result<Variant, StoreError> {
        let patch = patch.validate()?;
        let cur = self.variant(id).await?;
        sqlx::query(
            "UPDATE variants SET sku = $1, barcode = $2, options = $3, price_minor = $4, updated_at = $5 \
             WHERE id = $6",
        )
        .bind(patch.sku.unwrap_or(cur.sku))
        .bind(patch.barcode.unwrap_or(cur.barcode))
        .bind(options_json(&patch.options.unwrap_or(cur.options)))
        .bind(patch.price_minor.unwrap_or(cur.price_minor))
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.catalog_changed();
        self.variant(id).await
    }

    /// Withdraw a variant from sale (its SKU and ledger stay).
    pub async fn archive_variant(&self, id: &str) -> Result<Variant, StoreError> {
        self.variant(id).await?;
        sqlx::query("UPDATE variants SET archived = 1, updated_at = $1 WHERE id = $2")
            .bind(self.now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.catalog_changed();
        self.variant(id).await
    }

    /// How many products exist (all statuses).
    pub async fn count_products(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&self.pool)
            .await?)
    }
}

async fn insert_variant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    product_id: &str,
    v: &VariantInput,
    position: i64,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO variants (id, product_id, sku, barcode, options, price_minor, archived, position, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8)",
    )
    .bind(&id)
    .bind(product_id)
    .bind(&v.sku)
    .bind(v.barcode.clone())
    .bind(options_json(&v.options))
    .bind(v.price_minor)
    .bind(position)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let id = new_id();
        assert_eq!(decode_cursor(&encode_cursor(&id)).unwrap(), id);
        assert_eq!(decode_cursor("!!!").unwrap_err().field, "cursor");
        assert_eq!(
            decode_cursor(&encode_cursor("not-an-id"))
                .unwrap_err()
                .field,
            "cursor"
        );
    }
}
