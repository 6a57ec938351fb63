//! Server-rendered pages: the storefront and the admin console. askama templates (auto-escaped)
//! live in `templates/`; CSS is embedded from `static/`. No inline scripts or styles, so the
//! strict CSP holds on every page.

pub mod admin;
pub mod admin_account;
pub mod admin_audit;
pub mod admin_backups;
pub mod admin_backups_actions;
pub mod admin_backups_settings;
pub mod admin_checkout_settings;
pub mod admin_checkout_settings_codes;
pub mod admin_checkout_settings_shipping;
pub mod admin_checkout_settings_shop;
pub mod admin_customers;
pub mod admin_customers_detail;
pub mod admin_customers_form;
pub mod admin_customers_privacy;
pub mod admin_devices;
pub mod admin_devices_actions;
pub mod admin_fraud_settings;
pub mod admin_fraud_settings_form;
pub mod admin_fraud_settings_rules;
pub mod admin_invite;
pub mod admin_keys;
pub mod admin_mfa;
pub mod admin_mfa_setup;
pub mod admin_orders;
pub mod admin_orders_actions;
pub mod admin_orders_filters;
pub mod admin_orders_format;
pub mod admin_orders_refund;
pub mod admin_orders_view;
pub mod admin_payment_scripts;
pub mod admin_plugins;
pub mod admin_plugins_actions;
pub mod admin_pos;
pub mod admin_pos_form;
pub mod admin_products;
pub mod admin_reauth;
pub mod admin_reset;
pub mod admin_reviews;
pub mod admin_reviews_actions;
pub mod admin_reviews_format;
pub mod admin_reviews_view;
pub mod admin_shifts;
pub mod admin_staff;
pub mod admin_staff_actions;
pub mod admin_staff_pin;
pub mod admin_stock;
pub mod admin_variants;
pub mod cart;
pub mod checkout;
pub mod checkout_pay;
pub mod render;
pub mod sandbox_pay;
pub mod shopper;
pub mod shopper_account;
pub mod shopper_register;
pub mod statics;
pub mod storefront;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// Page routes, plus the HTML 404 fallback.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(storefront::home))
        .route("/c/{slug}", get(storefront::category))
        .route("/p/{slug}", get(storefront::product))
        .route("/search", get(storefront::search))
        .merge(shopper::routes())
        .route("/cart", get(cart::show))
        .route("/cart/add", post(cart::add))
        .route("/cart/update", post(cart::update))
        .route("/cart/remove", post(cart::remove))
        .route("/cart/discount", post(cart::discount))
        .route("/checkout", get(checkout::form).post(checkout::submit))
        .route("/checkout/pay/{id}", get(checkout_pay::pay))
        .route("/checkout/return/{id}", get(checkout_pay::back))
        .route("/orders/{id}", get(checkout_pay::show))
        .merge(sandbox_pay::routes())
        .route("/static/{file}", get(statics::file))
        .route("/admin", get(admin::dashboard))
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/products", get(admin_products::list))
        .route(
            "/admin/products/new",
            get(admin_products::new_form).post(admin_products::create),
        )
        .route(
            "/admin/products/{id}",
            get(admin_products::edit_form).post(admin_products::update),
        )
        .route(
            "/admin/products/{id}/archive",
            post(admin_products::archive),
        )
        .route("/admin/products/{id}/variants", post(admin_variants::add))
        .route("/admin/variants/{id}", post(admin_variants::update))
        .route(
            "/admin/variants/{id}/archive",
            post(admin_variants::archive),
        )
        .route("/admin/variants/{id}/stock", get(admin_stock::show))
        .route(
            "/admin/variants/{id}/stock/adjust",
            post(admin_stock::adjust),
        )
        .route(
            "/admin/variants/{id}/stock/transfer",
            post(admin_stock::transfer),
        )
        .route("/admin/variants/{id}/stock/count", post(admin_stock::count))
        .route(
            "/admin/api-keys",
            get(admin_keys::list).post(admin_keys::create),
        )
        .route("/admin/api-keys/{id}/revoke", post(admin_keys::revoke))
        .merge(admin_mfa::routes())
        .merge(admin_account::routes())
        .merge(admin_staff::routes())
        .merge(admin_audit::routes())
        .merge(admin_customers::routes())
        .merge(admin_orders::routes())
        .merge(admin_checkout_settings::routes())
        .merge(admin_payment_scripts::routes())
        .merge(admin_reviews::routes())
        .merge(admin_fraud_settings::routes())
        .merge(admin_devices::routes())
        .merge(admin_pos::routes())
        .merge(admin_staff_pin::routes())
        .merge(admin_backups::routes())
        .merge(admin_plugins::routes())
        .fallback(storefront::not_found)
}
