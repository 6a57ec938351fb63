//! The shop's checkout settings: home country, whether prices include tax, the location online
//! orders ship from, tax rates per destination country, and shipping methods.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::is_country_code;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_core::ValidationError;

use crate::db::{flag, new_id};
use crate::{Db, StoreError};

/// How the shop prices and ships online orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShopSettings {
    /// ISO 3166 country of the shop: default for phone numbers and tax.
    pub country: String,
    /// Prices are entered with tax included (typical in the UK and EU) or without (US).
    pub prices_include_tax: bool,
    /// The stock location online orders are taken from; the first location when unset.
    pub online_location_id: Option<String>,
}

/// A tax class's rate for one destination country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxRate {
    /// Tax class.
    pub tax_class_id: String,
    /// Destination country (ISO 3166 alpha-2).
    pub country: String,
    /// Rate in basis points (2000 = 20%).
    pub rate_bp: i64,
}

fn shipping_row(r: &AnyRow) -> Result<ShippingMethod, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(ShippingMethod {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: ShippingKind::parse(&kind).unwrap_or(ShippingKind::Flat),
        amount_minor: r.try_get("amount_minor")?,
        threshold_minor: r.try_get("threshold_minor")?,
        enabled: flag(r, "enabled")?,
    })
}

/// A cached checkout rule (see `Db::rules`).
#[derive(Debug, Clone)]
pub enum Rule {
    /// The shop settings.
    Settings(ShopSettings),
    /// The resolved online location.
    Location(String),
    /// A tax rate for (class, country).
    Rate(i64),
}

const SHIPPING_COLUMNS: &str = "id, name, kind, amount_minor, threshold_minor, enabled";

impl Db {
    /// The checkout settings, with defaults (GB, tax-inclusive prices, first location).
    pub async fn shop_settings(&self) -> Result<ShopSettings, StoreError> {
        if let Some(Rule::Settings(s)) = self.rules.get("settings").as_deref() {
            return Ok(s.clone());
        }
        let version = self.rules.version();
        let rows = sqlx::query("SELECT key, value FROM settings WHERE key LIKE 'shop.%'")
            .fetch_all(&self.pool)
            .await?;
        let mut s = ShopSettings {
            country: "GB".into(),
            prices_include_tax: true,
            online_location_id: None,
        };
        for r in rows {
            let key: String = r.try_get("key")?;
            let value: String = r.try_get("value")?;
            match key.as_str() {
                "shop.country" => s.country = value,
                "shop.prices_include_tax" => s.prices_include_tax = value == "true",
                "shop.online_location" if !value.is_empty() => s.online_location_id = Some(value),
                _ => {}
            }
        }
        self.rules.put(
            "settings".into(),
            version,
            Arc::new(Rule::Settings(s.clone())),
        );
        Ok(s)
    }

    /// Change the checkout settings (validated: a real country, an existing location).
    pub async fn set_shop_settings(&self, s: &ShopSettings) -> Result<ShopSettings, StoreError> {
        let country = s.country.trim().to_ascii_uppercase();
        if !is_country_code(&country) {
            return Err(ValidationError::new(
                "country",
                "use the two-letter ISO country code, e.g. GB, DE or US",
            )
            .into());
        }
        if let Some(loc) = &s.online_location_id {
            self.location(loc).await?;
        }
        self.set_setting("shop.country", &country).await?;
        self.set_setting(
            "shop.prices_include_tax",
            if s.prices_include_tax {
                "true"
            } else {
                "false"
            },
        )
        .await?;
        self.set_setting(
            "shop.online_location",
            s.online_location_id.as_deref().unwrap_or(""),
        )
        .await?;
        self.shop_settings().await
    }

    /// The location online orders take stock from: the configured one, else the first created.
    pub async fn online_location(&self) -> Result<String, StoreError> {
        if let Some(Rule::Location(id)) = self.rules.get("location").as_deref() {
            return Ok(id.clone());
        }
        let version = self.rules.version();
        let id = match self.shop_settings().await?.online_location_id {
            Some(id) => id,
            None => sqlx::query_scalar("SELECT id FROM locations ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| {
                    StoreError::from(ValidationError::new(
                        "location",
                        "the shop has no stock location yet: add one under Stock first",
                    ))
                })?,
        };
        self.rules.put(
            "location".into(),
            version,
            Arc::new(Rule::Location(id.clone())),
        );
        Ok(id)
    }

    /// Units of each variant at the online location (what the storefront can sell; other
    /// locations' stock is for the till). Variants with no stock row there are absent.
    pub async fn online_stock(
        &self,
        variant_ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let mut out = std::collections::HashMap::new();
        if variant_ids.is_empty() {
            return Ok(out);
        }
        let location = match self.online_location().await {
            Ok(l) => l,
            // No location yet: nothing can be sold online.
            Err(StoreError::Invalid(_)) => return Ok(out),
            Err(e) => return Err(e),
        };
        for chunk in variant_ids.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT variant_id, quantity FROM stock_levels WHERE location_id = $1 \
                 AND variant_id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(&location);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(r.try_get("variant_id")?, r.try_get("quantity")?);
            }
        }
        Ok(out)
    }

    /// Set the rate a tax class charges for one destination country.
    pub async fn set_tax_rate(&self, rate: &TaxRate) -> Result<TaxRate, StoreError> {
        let country = rate.country.trim().to_ascii_uppercase();
        if !is_country_code(&country) {
            return Err(ValidationError::new(
                "country",
                "use the two-letter ISO country code, e.g. GB, DE or US",
            )
            .into());
        }
        if !(0..=10_000).contains(&rate.rate_bp) {
            return Err(ValidationError::new("rate", "must be between 0% and 100%").into());
        }
        self.tax_class(&rate.tax_class_id).await?;
        sqlx::query(
            "INSERT INTO tax_rates (tax_class_id, country, rate_bp) VALUES ($1, $2, $3) \
             ON CONFLICT (tax_class_id, country) DO UPDATE SET rate_bp = excluded.rate_bp",
        )
        .bind(&rate.tax_class_id)
        .bind(&country)
        .bind(rate.rate_bp)
        .execute(&self.pool)
        .await?;
        self.catalog_changed();
        Ok(TaxRate {
            country,
            ..rate.clone()
        })
    }

    /// Remove a country rate (the class's own rate applies there again).
    pub async fn remove_tax_rate(
        &self,
        tax_class_id: &str,
        country: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM tax_rates WHERE tax_class_id = $1 AND country = $2")
            .bind(tax_class_id)
            .bind(country)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(
                "tax rate",
                format!("{tax_class_id}/{country}"),
            ));
        }
        self.catalog_changed();
        Ok(())
    }

    /// Every country rate.
    pub async fn tax_rates(&self) -> Result<Vec<TaxRate>, StoreError> {
        let rows = sqlx::query(
            "SELECT tax_class_id, country, rate_bp FROM tax_rates ORDER BY tax_class_id, country",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TaxRate {
                    tax_class_id: r.try_get("tax_class_id")?,
                    country: r.try_get("country")?,
                    rate_bp: r.try_get("rate_bp")?,
                })
            })
            .collect()
    }

    /// The rate a tax class charges when shipping to `country`: the country's own rate when
    /// one is set, else the class's rate.
    pub async fn tax_rate_for(&self, tax_class_id: &str, country: &str) -> Result<i64, StoreError> {
        let key = format!("rate\n{tax_class_id}\n{country}");
        if let Some(Rule::Rate(r)) = self.rules.get(&key).as_deref() {
            return Ok(*r);
        }
        let version = self.rules.version();
        let own: Option<i64> = sqlx::query_scalar(
            "SELECT rate_bp FROM tax_rates WHERE tax_class_id = $1 AND country = $2",
        )
        .bind(tax_class_id)
        .bind(country)
        .fetch_optional(&self.pool)
        .await?;
        let rate = match own {
            Some(r) => r,
            None => self.tax_class(tax_class_id).await?.rate_bp,
        };
        self.rules.put(key, version, Arc::new(Rule::Rate(rate)));
        Ok(rate)
    }

    /// Add a shipping method.
    pub async fn create_shipping_method(
        &self,
        m: &ShippingMethod,
    ) -> Result<ShippingMethod, StoreError> {
        m.validate()?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO shipping_methods (id, name, kind, amount_minor, threshold_minor, position, \
             enabled, created_at) VALUES ($1, $2, $3, $4, $5, \
             (SELECT COUNT(*) FROM shipping_methods), $6, $7)",
        )
        .bind(&id)
        .bind(m.name.trim())
        .bind(m.kind.as_str())
        .bind(m.amount_minor)
        .bind(m.threshold_minor)
        .bind(i64::from(m.enabled))
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.shipping_method(&id).await
    }

    /// Change a shipping method (name, kind, amounts, enabled).
    pub async fn update_shipping_method(
        &self,
        m: &ShippingMethod,
    ) -> Result<ShippingMethod, StoreError> {
        m.validate()?;
        let done = sqlx::query(
            "UPDATE shipping_methods SET name = $1, kind = $2, amount_minor = $3, \
             threshold_minor = $4, enabled = $5 WHERE id = $6",
        )
        .bind(m.name.trim())
        .bind(m.kind.as_str())
        .bind(m.amount_minor)
        .bind(m.threshold_minor)
        .bind(i64::from(m.enabled))
        .bind(&m.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("shipping method", &m.id));
        }
        self.shipping_method(&m.id).await
    }

    /// One shipping method.
    pub async fn shipping_method(&self, id: &str) -> Result<ShippingMethod, StoreError> {
        let q = format!("SELECT {SHIPPING_COLUMNS} FROM shipping_methods WHERE id = $1");
        let row = sqlx::query(&q)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("shipping method", id))?;
        Ok(shipping_row(&row)?)
    }

    /// Shipping methods in display order; `enabled_only` for the checkout.
    pub async fn shipping_methods(
        &self,
        enabled_only: bool,
    ) -> Result<Vec<ShippingMethod>, StoreError> {
        let q = format!(
            "SELECT {SHIPPING_COLUMNS} FROM shipping_methods {} ORDER BY position, id",
            if enabled_only {
                "WHERE enabled = 1"
            } else {
                ""
            }
        );
        let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(shipping_row).collect::<Result<_, _>>()?)
    }
}
