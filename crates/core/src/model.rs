//! Records as the rest of the system sees them (read from the store, returned by the API).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::{LocationKind, ProductStatus};
use crate::ids::{CategoryId, LocationId, ProductId, TaxClassId, VariantId};
use crate::stock::Reason;

/// A product with its variants.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    /// ID.
    pub id: ProductId,
    /// Name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Category, if any.
    pub category_id: Option<CategoryId>,
    /// Tax class.
    pub tax_class_id: TaxClassId,
    /// Active, draft or archived.
    pub status: ProductStatus,
    /// Sell when out of stock.
    pub allow_backorder: bool,
    /// Variants that are not archived, in display order.
    pub variants: Vec<Variant>,
    /// Created, UTC milliseconds.
    pub created_at: i64,
    /// Last changed, UTC milliseconds.
    pub updated_at: i64,
}

impl Product {
    /// Lowest and highest variant price.
    pub fn price_range(&self) -> Option<(i64, i64)> {
        let min = self.variants.iter().map(|v| v.price_minor).min()?;
        let max = self.variants.iter().map(|v| v.price_minor).max()?;
        Some((min, max))
    }

    /// Units available across all variants and locations.
    pub fn available(&self) -> i64 {
        self.variants.iter().map(|v| v.available).sum()
    }
}

/// A sellable variant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Variant {
    /// ID.
    pub id: VariantId,
    /// Product it belongs to.
    pub product_id: ProductId,
    /// Unique SKU.
    pub sku: String,
    /// Unique barcode.
    pub barcode: Option<String>,
    /// Options such as size and colour.
    pub options: BTreeMap<String, String>,
    /// Unit price in minor units, tax included.
    pub price_minor: i64,
    /// Withdrawn from sale.
    pub archived: bool,
    /// Units on hand across all locations.
    pub available: i64,
    /// Created, UTC milliseconds.
    pub created_at: i64,
    /// Last changed, UTC milliseconds.
    pub updated_at: i64,
}

impl Variant {
    /// "M / Blue", or "Default" for a variant without options.
    pub fn title(&self) -> String {
        if self.options.is_empty() {
            "Default".into()
        } else {
            self.options
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(" / ")
        }
    }
}

/// A category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    /// ID.
    pub id: CategoryId,
    /// Name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Menu position.
    pub position: i64,
}

/// A stock location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Location {
    /// ID.
    pub id: LocationId,
    /// Name.
    pub name: String,
    /// Warehouse or shop.
    pub kind: LocationKind,
}

/// A tax class.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxClass {
    /// ID.
    pub id: TaxClassId,
    /// Name.
    pub name: String,
    /// Rate in basis points.
    pub rate_bp: i64,
}

/// Stock of one variant at one location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockLevel {
    /// Variant.
    pub variant_id: VariantId,
    /// Location.
    pub location_id: LocationId,
    /// Location name.
    pub location_name: String,
    /// Units on hand (negative only with backorders).
    pub quantity: i64,
}

/// One entry in the stock ledger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Movement {
    /// ID.
    pub id: String,
    /// Variant.
    pub variant_id: VariantId,
    /// Location.
    pub location_id: LocationId,
    /// Change in units.
    pub delta: i64,
    /// Units on hand after the change.
    pub quantity_after: i64,
    /// Why.
    pub reason: Reason,
    /// Free-text note.
    pub note: String,
    /// Who made the change (user email, API key name, or `system`).
    pub actor: String,
    /// Links the two sides of a transfer.
    pub transfer_id: Option<String>,
    /// When, UTC milliseconds.
    pub created_at: i64,
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
