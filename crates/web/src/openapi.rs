//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "storefort API", version = "1", description = "Catalog, stock, carts, checkout, orders, the fraud review queue and screening settings of a storefort shop. \
        Shopper routes (carts, checkout, an order's own view) take the cart token in `X-Cart-Token` \
        or the order's access token in `X-Order-Token`. Staff routes: authenticate with `Authorization: Bearer sf_...` (API key, read or write scope) or, from the admin \
        pages, the session cookie plus an `X-CSRF-Token` header on changes. Errors are \
        `{\"error\": {\"code\", \"message\", \"field\"}}`."),
    paths(
        api::products::list, api::products::create, api::products::get_one, api::products::update,
        api::products::archive, api::products::add_variant, api::products::variant, api::products::variant_by_code,
        api::products::update_variant, api::products::archive_variant,
        api::stock::levels, api::stock::movements, api::stock::adjust, api::stock::transfer, api::stock::count,
        api::catalog::categories, api::catalog::create_category, api::catalog::category, api::catalog::update_category,
        api::catalog::locations, api::catalog::create_location, api::catalog::location,
        api::catalog::tax_classes, api::catalog::create_tax_class,
        api::keys::list, api::keys::create, api::keys::revoke,
        api::cart::create, api::cart::show, api::cart::add_line, api::cart::set_line, api::cart::remove_line,
        api::cart::set_discount, api::cart::remove_discount,
        api::checkout::shipping_methods, api::checkout::payment_methods, api::checkout::place,
        api::orders::shopper_order, api::orders::list, api::orders::detail,
        api::order_actions::fulfil, api::order_actions::cancel, api::order_actions::refund,
        api::reviews::list, api::reviews::detail, api::reviews::approve, api::reviews::cancel,
        api::reviews::ask_to_pay, api::reviews::call,
        api::fraud_settings::settings, api::fraud_settings::save_settings, api::fraud_settings::rules,
        api::fraud_settings::add_rule, api::fraud_settings::update_rule, api::fraud_settings::delete_rule,
    ),
    modifiers(&Security),
    security(("api_key" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
