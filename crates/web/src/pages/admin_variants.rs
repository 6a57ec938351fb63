//! Admin variant actions: add, edit (SKU, barcode, price) and archive. They live on the
//! product's edit page, which is re-rendered with the typed values when something is wrong.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use storefort_core::catalog::{VariantInput, VariantPatch};
use storefort_core::model::Product;
use storefort_store::StoreError;

use super::admin::{checked_form, product_url, see_other};
use super::admin_products::{edit_page, EditState};
use super::render::{form_error, seg, FormData, PageError};
use crate::auth::{perm, Admin};
use crate::AppState;

/// What was typed into a variant form.
#[derive(Debug, Clone, Default)]
pub struct VariantForm {
    /// SKU.
    pub sku: String,
    /// Barcode (may be empty).
    pub barcode: String,
    /// Price as typed (`12.50`).
    pub price: String,
    /// Size option (may be empty).
    pub size: String,
    /// Colour option (may be empty).
    pub colour: String,
}

impl VariantForm {
    /// Read the variant fields of a posted form.
    pub fn read(f: &FormData) -> Self {
        Self {
            sku: f.get("sku").to_string(),
            barcode: f.get("barcode").to_string(),
            price: f.get("price").to_string(),
            size: f.get("size").to_string(),
            colour: f.get("colour").to_string(),
        }
    }

    fn barcode(&self) -> Option<String> {
        Some(self.barcode.trim().to_string()).filter(|b| !b.is_empty())
    }

    /// The store input, with the price parsed in the shop's currency.
    pub fn input(&self, state: &AppState) -> Result<VariantInput, StoreError> {
        let mut options = BTreeMap::new();
        for (k, v) in [("Size", &self.size), ("Colour", &self.colour)] {
            if !v.trim().is_empty() {
                options.insert(k.to_string(), v.trim().to_string());
            }
        }
        Ok(VariantInput {
            sku: self.sku.clone(),
            barcode: self.barcode(),
            options,
            price_minor: state.cfg.currency.parse("price", &self.price)?,
        })
    }
}

/// A variant row on the product edit page (its own small edit form).
#[derive(Debug, Clone)]
pub struct VariantRow {
    /// Variant ID (path-safe).
    pub id: String,
    /// "M / Blue".
    pub title: String,
    /// SKU (as typed after an error).
    pub sku: String,
    /// Barcode.
    pub barcode: String,
    /// Price as a decimal.
    pub price: String,
    /// Units on hand.
    pub available: i64,
}

/// Rows for a product's live variants.
pub fn variant_rows(state: &AppState, p: &Product) -> Vec<VariantRow> {
    p.variants
        .iter()
        .map(|v| VariantRow {
            id: seg(v.id.as_str()),
            title: v.title(),
            sku: v.sku.clone(),
            barcode: v.barcode.clone().unwrap_or_default(),
            price: state.cfg.currency.to_decimal(v.price_minor),
            available: v.available,
        })
        .collect()
}

/// `POST /admin/products/{id}/variants`.
pub async fn add(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let p = state.db.product(&id).await?;
    let form = VariantForm::read(&f);
    let result = async { state.db.add_variant(&id, form.input(&state)?).await }.await;
    match result {
        Ok(_) => Ok(see_other(&product_url(&id, "variant-added"))),
        Err(e) => {
            let (status, msg) = form_error(e)?;
            let st = EditState {
                add: form,
                error: Some(format!("New variant: {msg}")),
                ..Default::default()
            };
            edit_page(&state, &s, &p, status, st).await
        }
    }
}

/// `POST /admin/variants/{id}`: change SKU, barcode and price.
pub async fn update(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let v = state.db.variant(&id).await?;
    let form = VariantForm::read(&f);
    let result = async {
        let patch = VariantPatch {
            sku: Some(form.sku.clone()),
            barcode: Some(form.barcode()),
            options: None,
            price_minor: Some(state.cfg.currency.parse("price", &form.price)?),
        };
        state.db.update_variant(&id, patch).await
    }
    .await;
    match result {
        Ok(v) => Ok(see_other(&product_url(
            v.product_id.as_str(),
            "variant-saved",
        ))),
        Err(e) => {
            let (status, msg) = form_error(e)?;
            let p = state.db.product(v.product_id.as_str()).await?;
            let row = VariantRow {
                id: seg(v.id.as_str()),
                title: v.title(),
                sku: form.sku,
                barcode: form.barcode,
                price: form.price,
                available: v.available,
            };
            let st = EditState {
                row: Some(row),
                error: Some(format!("Variant {}: {msg}", v.sku)),
                ..Default::default()
            };
            edit_page(&state, &s, &p, status, st).await
        }
    }
}

/// `POST /admin/variants/{id}/archive`.
pub async fn archive(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let v = state.db.archive_variant(&id).await?;
    Ok(see_other(&product_url(
        v.product_id.as_str(),
        "variant-archived",
    )))
}
