//! Products and variants.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use storefort_core::catalog::{
    ProductInput, ProductPatch, ProductStatus, VariantInput, VariantPatch,
};
use storefort_core::model::{Page, Product, Variant};
use storefort_store::products::ProductFilter;
use utoipa::IntoParams;

use crate::auth::{perm, Api};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::AppState;

/// Filters for listing products.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1-100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Only this category ID.
    pub category_id: Option<String>,
    /// `active`, `draft` or `archived`; default: active and draft.
    pub status: Option<ProductStatus>,
    /// Part of the name, or an exact SKU or barcode.
    pub q: Option<String>,
}

/// List products with their variants.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ListParams),
    responses((status = 200, body = Page<Product>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<std::sync::Arc<Page<Product>>>> {
    let f = ProductFilter {
        category_id: q.category_id,
        status: q.status,
        q: q.q,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(20),
    };
    Ok(Json(s.db.list_products(&f).await?))
}

/// Create a product with at least one variant.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", request_body = ProductInput,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    Ok((StatusCode::CREATED, Json(s.db.create_product(input).await?)))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.db.product(&id).await?))
}

/// Change a product; absent fields are left alone.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = String, Path)), request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.db.update_product(&id, patch).await?))
}

/// Archive a product (hidden from shoppers, kept for history).
#[utoipa::path(post, path = "/api/v1/products/{id}/archive", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
pub async fn archive(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.db.archive_product(&id).await?))
}

/// Add a variant to a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/variants", tag = "catalog", params(("id" = String, Path)), request_body = VariantInput,
    responses((status = 201, body = Variant), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_variant(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VariantInput>,
) -> ApiResult<(StatusCode, Json<Variant>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.db.add_variant(&id, input).await?),
    ))
}

/// One variant.
#[utoipa::path(get, path = "/api/v1/variants/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Variant), (status = 404, body = ErrorBody)))]
pub async fn variant(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Variant>> {
    Ok(Json(s.db.variant(&id).await?))
}

/// Find a variant by exact SKU or barcode (what a scanner reads).
#[utoipa::path(get, path = "/api/v1/variants/by-code/{code}", tag = "catalog", params(("code" = String, Path)),
    responses((status = 200, body = Variant), (status = 404, body = ErrorBody)))]
pub async fn variant_by_code(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<Variant>> {
    Ok(Json(s.db.variant_by_code(&code).await?))
}

/// Change a variant; absent fields are left alone.
#[utoipa::path(patch, path = "/api/v1/variants/{id}", tag = "catalog", params(("id" = String, Path)), request_body = VariantPatch,
    responses((status = 200, body = Variant), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_variant(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<VariantPatch>,
) -> ApiResult<Json<Variant>> {
    Ok(Json(s.db.update_variant(&id, patch).await?))
}

/// Archive a variant.
#[utoipa::path(post, path = "/api/v1/variants/{id}/archive", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Variant), (status = 404, body = ErrorBody)))]
pub async fn archive_variant(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Variant>> {
    Ok(Json(s.db.archive_variant(&id).await?))
}
