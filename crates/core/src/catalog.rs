//! Catalog inputs and their rules. Inputs are what the API and forms accept; `validate` returns
//! the same value cleaned up (trimmed, slugs derived) or the first broken rule, naming the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::ids::{CategoryId, TaxClassId};
use crate::{money, text, ValidationError};

/// Most variants one product may have (sizes x colours).
pub const MAX_VARIANTS: usize = 100;

/// Whether a product is on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Visible in the storefront.
    Active,
    /// Being prepared; hidden from shoppers.
    Draft,
    /// Withdrawn; hidden from shoppers, kept for history.
    Archived,
}

impl ProductStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "active",
            ProductStatus::Draft => "draft",
            ProductStatus::Archived => "archived",
        }
    }

    /// Parse a stored name; unknown text is treated as draft (hidden), the safe side.
    pub fn parse(s: &str) -> ProductStatus {
        match s {
            "active" => ProductStatus::Active,
            "archived" => ProductStatus::Archived,
            _ => ProductStatus::Draft,
        }
    }
}

/// Distinguish "field absent" (`None`) from "field set to null" (`Some(None)`) in patches.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A new product with its first variants.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Name shown to shoppers (1-200 characters).
    pub name: String,
    /// URL slug; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Description (up to 10,000 characters).
    #[serde(default)]
    pub description: String,
    /// Category the product is listed in.
    #[serde(default)]
    pub category_id: Option<CategoryId>,
    /// Tax class; the shop's default when absent.
    #[serde(default)]
    pub tax_class_id: Option<TaxClassId>,
    /// Sell when out of stock.
    #[serde(default)]
    pub allow_backorder: bool,
    /// `active` (default) or `draft`.
    #[serde(default)]
    pub status: Option<ProductStatus>,
    /// At least one variant.
    #[serde(default)]
    pub variants: Vec<VariantInput>,
}

impl ProductInput {
    /// Clean and check every field, including each variant's.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.name = text::required("name", &self.name, 200)?;
        self.slug = Some(text::slug("slug", self.slug.as_deref(), &self.name)?);
        self.description = text::optional("description", &self.description, 10_000)?;
        if self.status == Some(ProductStatus::Archived) {
            return Err(ValidationError::new(
                "status",
                "a new product is active or draft",
            ));
        }
        if self.variants.is_empty() {
            return Err(ValidationError::new(
                "variants",
                "a product needs at least one variant",
            ));
        }
        if self.variants.len() > MAX_VARIANTS {
            return Err(ValidationError::new(
                "variants",
                format!("at most {MAX_VARIANTS} variants"),
            ));
        }
        let mut out = Vec::with_capacity(self.variants.len());
        for (i, v) in self.variants.into_iter().enumerate() {
            out.push(v.validate().map_err(|e| {
                ValidationError::new(format!("variants[{i}].{}", e.field), e.message)
            })?);
        }
        let mut skus: Vec<&str> = out.iter().map(|v| v.sku.as_str()).collect();
        skus.sort_unstable();
        if skus.windows(2).any(|w| w[0] == w[1]) {
            return Err(ValidationError::new("variants", "two variants share a SKU"));
        }
        self.variants = out;
        Ok(self)
    }
}

/// Changes to a product; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// New category; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<CategoryId>>,
    /// New tax class.
    #[serde(default)]
    pub tax_class_id: Option<TaxClassId>,
    /// Sell when out of stock.
    #[serde(default)]
    pub allow_backorder: Option<bool>,
    /// `active`, `draft` or `archived`.
    #[serde(default)]
    pub status: Option<ProductStatus>,
}

impl ProductPatch {
    /// Clean and check the fields that are present.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        if let Some(n) = &self.name {
            self.name = Some(text::required("name", n, 200)?);
        }
        if let Some(s) = &self.slug {
            self.slug = Some(text::slug("slug", Some(s), "")?);
        }
        if let Some(d) = &self.description {
            self.description = Some(text::optional("description", d, 10_000)?);
        }
        Ok(self)
    }
}

/// A variant: what has a SKU, a barcode, a price and stock.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Unique stock-keeping unit.
    pub sku: String,
    /// Unique barcode (GTIN check digit verified); optional.
    #[serde(default)]
    pub barcode: Option<String>,
    /// Options such as `{"Size": "M", "Colour": "Blue"}` (at most 3).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Unit price in minor units, tax included.
    pub price_minor: i64,
}

impl VariantInput {
    /// Clean and check.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.sku = text::sku(&self.sku)?;
        self.barcode = match &self.barcode {
            Some(b) => text::barcode(b)?,
            None => None,
        };
        self.options = validate_options(&self.options)?;
        money::validate_price("price_minor", self.price_minor)?;
        Ok(self)
    }
}

fn validate_options(
    options: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    if options.len() > 3 {
        return Err(ValidationError::new(
            "options",
            "at most 3 options (e.g. size, colour)",
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in options {
        let k = text::required("options", k, 40)?;
        let v = text::required(&format!("options.{k}"), v, 80)?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Changes to a variant; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    /// New SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// New barcode; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Option<String>>,
    /// New options (replaces all).
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// New price in minor units.
    #[serde(default)]
    pub price_minor: Option<i64>,
}

impl VariantPatch {
    /// Clean and check the fields that are present.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        if let Some(s) = &self.sku {
            self.sku = Some(text::sku(s)?);
        }
        if let Some(Some(b)) = &self.barcode {
            self.barcode = Some(text::barcode(b)?);
        }
        if let Some(o) = &self.options {
            self.options = Some(validate_options(o)?);
        }
        if let Some(p) = self.price_minor {
            money::validate_price("price_minor", p)?;
        }
        Ok(self)
    }
}

/// A category.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Name (1-100 characters).
    pub name: String,
    /// URL slug; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Sort position in menus.
    #[serde(default)]
    pub position: i64,
}

impl CategoryInput {
    /// Clean and check.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.name = text::required("name", &self.name, 100)?;
        self.slug = Some(text::slug("slug", self.slug.as_deref(), &self.name)?);
        if !(0..=1_000_000).contains(&self.position) {
            return Err(ValidationError::new(
                "position",
                "must be between 0 and 1000000",
            ));
        }
        Ok(self)
    }
}

/// Kind of stock location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Ships web orders.
    Warehouse,
    /// A physical shop with tills.
    Shop,
}

impl LocationKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Warehouse => "warehouse",
            LocationKind::Shop => "shop",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> LocationKind {
        if s == "shop" {
            LocationKind::Shop
        } else {
            LocationKind::Warehouse
        }
    }
}

/// A stock location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// Name (1-100 characters), unique.
    pub name: String,
    /// Warehouse or shop.
    pub kind: LocationKind,
}

impl LocationInput {
    /// Clean and check.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.name = text::required("name", &self.name, 100)?;
        Ok(self)
    }
}

/// A tax class: a named rate in basis points (2000 = 20%).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxClassInput {
    /// Name, unique (e.g. "Standard rate").
    pub name: String,
    /// Rate in basis points, 0 to 10000.
    pub rate_bp: i64,
}

impl TaxClassInput {
    /// Clean and check.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.name = text::required("name", &self.name, 100)?;
        if !(0..=10_000).contains(&self.rate_bp) {
            return Err(ValidationError::new(
                "rate_bp",
                "must be between 0 and 10000 (100%)",
            ));
        }
        Ok(self)
    }
}

/// The tax included in a tax-inclusive price, rounded half up to the minor unit.
pub fn tax_included(price_minor: i64, rate_bp: i64) -> i64 {
    // tax = price * r / (1 + r) = price * bp / (10000 + bp); i128 avoids overflow.
    let num = i128::from(price_minor) * i128::from(rate_bp);
    let den = 10_000 + i128::from(rate_bp);
    ((num * 2 + den) / (den * 2)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str, price: i64) -> VariantInput {
        VariantInput {
            sku: sku.into(),
            price_minor: price,
            ..Default::default()
        }
    }

    #[test]
    fn product_rules_name_the_field() {
        let p = ProductInput {
            name: "  Tee ".into(),
            variants: vec![variant("A", 100)],
            ..Default::default()
        };
        let p = p.validate().unwrap();
        assert_eq!(p.name, "Tee");
        assert_eq!(p.slug.as_deref(), Some("tee"));

        let bad = ProductInput {
            name: "Tee".into(),
            variants: vec![variant("A", 100), variant("B", -1)],
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "variants[1].price_minor");
        let dup = ProductInput {
            name: "Tee".into(),
            variants: vec![variant("A", 1), variant("A", 2)],
            ..Default::default()
        };
        assert_eq!(dup.validate().unwrap_err().field, "variants");
        let none = ProductInput {
            name: "Tee".into(),
            ..Default::default()
        };
        assert_eq!(none.validate().unwrap_err().field, "variants");
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: ProductPatch = serde_json::from_str(r#"{"category_id": null}"#).unwrap();
        assert_eq!(p.category_id, Some(None));
        let p: ProductPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.category_id, None);
        assert!(serde_json::from_str::<ProductPatch>(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn tax_included_rounds_half_up() {
        assert_eq!(tax_included(1200, 2000), 200);
        assert_eq!(tax_included(999, 2000), 167); // 166.5 -> 167
        assert_eq!(tax_included(1000, 0), 0);
        assert_eq!(
            tax_included(money::MAX_PRICE_MINOR, 10_000),
            money::MAX_PRICE_MINOR / 2
        );
    }

    #[test]
    fn tax_class_bounds() {
        let t = TaxClassInput {
            name: "VAT".into(),
            rate_bp: 10_001,
        };
        assert_eq!(t.validate().unwrap_err().field, "rate_bp");
    }
}
