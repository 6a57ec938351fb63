//! `/api/v1`: the JSON API for integrations (API keys) and the admin's own scripts (session +
//! CSRF), every such route needing a [`crate::auth::Principal`]; plus the shopper routes of a
//! headless storefront (carts, checkout, an order's own page), whose only credential is the cart
//! token (`X-Cart-Token`) or the order's access token (`X-Order-Token`).

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod fraud_settings;
pub mod keys;
pub mod order_actions;
pub mod orders;
pub mod products;
pub mod reviews;
pub mod stock;

use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::AppState;

/// The API routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::document))
        .route("/products", get(products::list).post(products::create))
        .route(
            "/products/{id}",
            get(products::get_one).patch(products::update),
        )
        .route("/products/{id}/archive", post(products::archive))
        .route("/products/{id}/variants", post(products::add_variant))
        .route("/variants/by-code/{code}", get(products::variant_by_code))
        .route(
            "/variants/{id}",
            get(products::variant).patch(products::update_variant),
        )
        .route("/variants/{id}/archive", post(products::archive_variant))
        .route("/variants/{id}/stock", get(stock::levels))
        .route("/variants/{id}/movements", get(stock::movements))
        .route("/stock/adjust", post(stock::adjust))
        .route("/stock/transfer", post(stock::transfer))
        .route("/stock/count", post(stock::count))
        .route(
            "/categories",
            get(catalog::categories).post(catalog::create_category),
        )
        .route(
            "/categories/{id}",
            get(catalog::category).put(catalog::update_category),
        )
        .route(
            "/locations",
            get(catalog::locations).post(catalog::create_location),
        )
        .route("/locations/{id}", get(catalog::location))
        .route(
            "/tax-classes",
            get(catalog::tax_classes).post(catalog::create_tax_class),
        )
        .route("/api-keys", get(keys::list).post(keys::create))
        .route("/api-keys/{id}", delete(keys::revoke))
        .route("/carts", post(cart::create))
        .route("/cart", get(cart::show))
        .route("/cart/lines", post(cart::add_line))
        .route(
            "/cart/lines/{variant_id}",
            put(cart::set_line).delete(cart::remove_line),
        )
        .route(
            "/cart/discount",
            put(cart::set_discount).delete(cart::remove_discount),
        )
        .route("/shipping-methods", get(checkout::shipping_methods))
        .route("/payment-methods", get(checkout::payment_methods))
        .route("/checkout", post(checkout::place))
        .route("/orders/{id}", get(orders::shopper_order))
        .route("/admin/orders", get(orders::list))
        .route("/admin/orders/{id}", get(orders::detail))
        .route("/admin/orders/{id}/fulfil", post(order_actions::fulfil))
        .route("/admin/orders/{id}/cancel", post(order_actions::cancel))
        .route("/admin/orders/{id}/refund", post(order_actions::refund))
        .route("/admin/reviews", get(reviews::list))
        .route("/admin/reviews/{id}", get(reviews::detail))
        .route("/admin/reviews/{id}/approve", post(reviews::approve))
        .route("/admin/reviews/{id}/cancel", post(reviews::cancel))
        .route("/admin/reviews/{id}/ask-to-pay", post(reviews::ask_to_pay))
        .route("/admin/reviews/{id}/calls", post(reviews::call))
        .route(
            "/admin/fraud/settings",
            get(fraud_settings::settings).put(fraud_settings::save_settings),
        )
        .route(
            "/admin/fraud/rules",
            get(fraud_settings::rules).post(fraud_settings::add_rule),
        )
        .route(
            "/admin/fraud/rules/{id}",
            put(fraud_settings::update_rule).delete(fraud_settings::delete_rule),
        )
        .fallback(not_found)
}

async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such API endpoint",
    )
}
