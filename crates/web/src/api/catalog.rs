//! Categories, locations and tax classes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use storefort_core::catalog::{CategoryInput, LocationInput, TaxClassInput};
use storefort_core::model::{Category, Location, TaxClass};

use crate::auth::{perm, Api};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::AppState;

/// All categories in menu order.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", responses((status = 200, body = Vec<Category>)))]
pub async fn categories(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(s.db.categories().await?))
}

/// Create a category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", request_body = CategoryInput,
    responses((status = 201, body = Category), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_category(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<CategoryInput>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    Ok((StatusCode::CREATED, Json(s.db.create_category(i).await?)))
}

/// One category.
#[utoipa::path(get, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Category), (status = 404, body = ErrorBody)))]
pub async fn category(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Category>> {
    Ok(Json(s.db.category(&id).await?))
}

/// Replace a category's name, slug and position.
#[utoipa::path(put, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = String, Path)), request_body = CategoryInput,
    responses((status = 200, body = Category), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_category(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<CategoryInput>,
) -> ApiResult<Json<Category>> {
    Ok(Json(s.db.update_category(&id, i).await?))
}

/// All stock locations.
#[utoipa::path(get, path = "/api/v1/locations", tag = "stock", responses((status = 200, body = Vec<Location>)))]
pub async fn locations(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
) -> ApiResult<Json<Vec<Location>>> {
    Ok(Json(s.db.locations().await?))
}

/// Create a stock location.
#[utoipa::path(post, path = "/api/v1/locations", tag = "stock", request_body = LocationInput,
    responses((status = 201, body = Location), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_location(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<LocationInput>,
) -> ApiResult<(StatusCode, Json<Location>)> {
    Ok((StatusCode::CREATED, Json(s.db.create_location(i).await?)))
}

/// One location.
#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "stock", params(("id" = String, Path)),
    responses((status = 200, body = Location), (status = 404, body = ErrorBody)))]
pub async fn location(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Location>> {
    Ok(Json(s.db.location(&id).await?))
}

/// All tax classes.
#[utoipa::path(get, path = "/api/v1/tax-classes", tag = "catalog", responses((status = 200, body = Vec<TaxClass>)))]
pub async fn tax_classes(
    _p: Api<perm::CatalogView>,
    State(s): State<AppState>,
) -> ApiResult<Json<Vec<TaxClass>>> {
    Ok(Json(s.db.tax_classes().await?))
}

/// Create a tax class.
#[utoipa::path(post, path = "/api/v1/tax-classes", tag = "catalog", request_body = TaxClassInput,
    responses((status = 201, body = TaxClass), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_tax_class(
    _p: Api<perm::CatalogEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<TaxClassInput>,
) -> ApiResult<(StatusCode, Json<TaxClass>)> {
    Ok((StatusCode::CREATED, Json(s.db.create_tax_class(i).await?)))
}
