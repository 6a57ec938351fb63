//! Categories, tax classes and locations: the small reference tables of the catalog.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::catalog::{CategoryInput, LocationInput, LocationKind, TaxClassInput};
use storefort_core::ids::{CategoryId, LocationId, TaxClassId};
use storefort_core::model::{Category, Location, TaxClass};

use crate::db::{looks_like_id, new_id};
use crate::{Db, StoreError};

fn category(r: &AnyRow) -> Result<Category, sqlx::Error> {
    Ok(Category {
        id: CategoryId(r.try_get("id")?),
        name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        position: r.try_get("position")?,
    })
}

fn location(r: &AnyRow) -> Result<Location, sqlx::Error> {
    Ok(Location {
        id: LocationId(r.try_get("id")?),
        name: r.try_get("name")?,
        kind: LocationKind::parse(&r.try_get::<String, _>("kind")?),
    })
}

fn tax_class(r: &AnyRow) -> Result<TaxClass, sqlx::Error> {
    Ok(TaxClass {
        id: TaxClassId(r.try_get("id")?),
        name: r.try_get("name")?,
        rate_bp: r.try_get("rate_bp")?,
    })
}

impl Db {
    /// Create a category.
    pub async fn create_category(&self, input: CategoryInput) -> Result<Category, StoreError> {
        let c = input.validate()?;
        let id = new_id();
        let now = self.now();
        sqlx::query(
            "INSERT INTO categories (id, name, slug, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(&c.name)
        .bind(c.slug.as_deref().unwrap_or_default())
        .bind(c.position)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.category(&id).await
    }

    /// Replace a category's name, slug and position.
    pub async fn update_category(
        &self,
        id: &str,
        input: CategoryInput,
    ) -> Result<Category, StoreError> {
        let c = input.validate()?;
        let done = sqlx::query(
            "UPDATE categories SET name = $1, slug = $2, position = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&c.name)
        .bind(c.slug.as_deref().unwrap_or_default())
        .bind(c.position)
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("category", id));
        }
        self.category(id).await
    }

    /// One category by ID.
    pub async fn category(&self, id: &str) -> Result<Category, StoreError> {
        let row = sqlx::query("SELECT id, name, slug, position FROM categories WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("category", id))?;
        Ok(category(&row)?)
    }

    /// One category by slug.
    pub async fn category_by_slug(&self, slug: &str) -> Result<Category, StoreError> {
        let row = sqlx::query("SELECT id, name, slug, position FROM categories WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("category", slug))?;
        Ok(category(&row)?)
    }

    /// All categories in menu order.
    pub async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, slug, position FROM categories ORDER BY position, name")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(category).collect::<Result<_, _>>()?)
    }

    /// Create a location.
    pub async fn create_location(&self, input: LocationInput) -> Result<Location, StoreError> {
        let l = input.validate()?;
        let id = new_id();
        sqlx::query("INSERT INTO locations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(&l.name)
            .bind(l.kind.as_str())
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        // The first location becomes where online orders take stock from.
        self.rules.invalidate();
        self.location(&id).await
    }

    /// One location by ID.
    pub async fn location(&self, id: &str) -> Result<Location, StoreError> {
        if !looks_like_id(id) {
            return Err(StoreError::not_found("location", id));
        }
        let row = sqlx::query("SELECT id, name, kind FROM locations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("location", id))?;
        Ok(location(&row)?)
    }

    /// All locations by name.
    pub async fn locations(&self) -> Result<Vec<Location>, StoreError> {
        let rows = sqlx::query("SELECT id, name, kind FROM locations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(location).collect::<Result<_, _>>()?)
    }

    /// Create a tax class.
    pub async fn create_tax_class(&self, input: TaxClassInput) -> Result<TaxClass, StoreError> {
        let t = input.validate()?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO tax_classes (id, name, rate_bp, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&t.name)
        .bind(t.rate_bp)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.tax_class(&id).await
    }

    /// One tax class by ID.
    pub async fn tax_class(&self, id: &str) -> Result<TaxClass, StoreError> {
        let row = sqlx::query("SELECT id, name, rate_bp FROM tax_classes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("tax class", id))?;
        Ok(tax_class(&row)?)
    }

    /// All tax classes.
    pub async fn tax_classes(&self) -> Result<Vec<TaxClass>, StoreError> {
        let rows = sqlx::query("SELECT id, name, rate_bp FROM tax_classes ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(tax_class).collect::<Result<_, _>>()?)
    }

    /// The tax class new products get: the `default_tax_class` setting, else the first one,
    /// else a "Standard rate" class of 20% created on first use.
    pub async fn default_tax_class(&self) -> Result<TaxClass, StoreError> {
        if let Some(id) = self.setting("default_tax_class").await? {
            if let Ok(t) = self.tax_class(&id).await {
                return Ok(t);
            }
        }
        if let Some(t) = self.tax_classes().await?.into_iter().next() {
            return Ok(t);
        }
        let t = self
            .create_tax_class(TaxClassInput {
                name: "Standard rate".into(),
                rate_bp: 2000,
            })
            .await?;
        self.set_setting("default_tax_class", t.id.as_str()).await?;
        Ok(t)
    }
}
