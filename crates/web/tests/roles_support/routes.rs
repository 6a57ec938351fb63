//! The route tables: every API route and admin page with the permission it needs. Paths and
//! bodies use `{product}`-style placeholders (see `World::fill`) and `{n}`, the caller's number,
//! so each caller creates differently named things.

use storefort_core::access::Permission::{self, *};

/// (method, path as the OpenAPI document spells it, which object `{id}` is, JSON body, needs).
pub type ApiRoute = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Permission,
);

/// Every API route.
#[rustfmt::skip]
pub const API: &[ApiRoute] = &[
    ("GET", "/api/v1/products", "", "", CatalogView),
    ("POST", "/api/v1/products", "",
        r#"{"name":"Role product {n}","variants":[{"sku":"RP-{n}","price_minor":1000}]}"#, CatalogEdit),
    ("GET", "/api/v1/products/{id}", "product", "", CatalogView),
    ("PATCH", "/api/v1/products/{id}", "product", r#"{"description":"Edited by {n}"}"#, CatalogEdit),
    ("POST", "/api/v1/products/{id}/variants", "product", r#"{"sku":"RV-{n}","price_minor":1200}"#, CatalogEdit),
    ("GET", "/api/v1/variants/by-code/{code}", "code", "", CatalogView),
    ("GET", "/api/v1/variants/{id}", "variant", "", CatalogView),
    ("PATCH", "/api/v1/variants/{id}", "variant", r#"{"price_minor":4600}"#, CatalogEdit),
    ("POST", "/api/v1/variants/{id}/archive", "victim_variant", "", CatalogEdit),
    ("POST", "/api/v1/products/{id}/archive", "victim", "", CatalogEdit),
    ("GET", "/api/v1/variants/{id}/stock", "variant", "", StockView),
    ("GET", "/api/v1/variants/{id}/movements", "variant", "", StockView),
    ("POST", "/api/v1/stock/adjust", "",
        r#"{"variant_id":"{variant}","location_id":"{location}","delta":5,"reason":"received"}"#, StockEdit),
    ("POST", "/api/v1/stock/transfer", "",
        r#"{"variant_id":"{variant}","from_location_id":"{location}","to_location_id":"{location2}","quantity":1}"#, StockEdit),
    ("POST", "/api/v1/stock/count", "",
        r#"{"variant_id":"{variant}","location_id":"{location}","counted":500}"#, StockEdit),
    ("GET", "/api/v1/categories", "", "", CatalogView),
    ("POST", "/api/v1/categories", "", r#"{"name":"Role category {n}"}"#, CatalogEdit),
    ("GET", "/api/v1/categories/{id}", "category", "", CatalogView),
    ("PUT", "/api/v1/categories/{id}", "category", r#"{"name":"Shirts","position":{n}}"#, CatalogEdit),
    ("GET", "/api/v1/locations", "", "", CatalogView),
    ("POST", "/api/v1/locations", "", r#"{"name":"Role location {n}","kind":"warehouse"}"#, CatalogEdit),
    ("GET", "/api/v1/locations/{id}", "location", "", CatalogView),
    ("GET", "/api/v1/tax-classes", "", "", CatalogView),
    ("POST", "/api/v1/tax-classes", "", r#"{"name":"Role tax {n}","rate_bp":2000}"#, CatalogEdit),
    ("GET", "/api/v1/api-keys", "", "", Settings),
    ("POST", "/api/v1/api-keys", "", r#"{"name":"Role key {n}","scope":"read"}"#, Settings),
    ("DELETE", "/api/v1/api-keys/{id}", "key", "", Settings),
];

/// The path of an API route with `{id}` turned into its placeholder (`{product}`, ...).
pub fn api_template(r: &ApiRoute) -> String {
    if r.2.is_empty() || r.2 == "code" {
        r.1.to_string()
    } else {
        r.1.replace("{id}", &format!("{{{}}}", r.2))
    }
}

/// (method, path, form fields, needs).
pub type PageRoute = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Permission,
);

/// Every admin page of the catalog, stock, API key and dashboard features.
#[rustfmt::skip]
pub const PAGES: &[PageRoute] = &[
    ("GET", "/admin", &[], CatalogView),
    ("GET", "/admin/products", &[], CatalogView),
    ("GET", "/admin/products/new", &[], CatalogEdit),
    ("POST", "/admin/products/new",
        &[("name", "Page product {n}"), ("status", "active"), ("sku", "PP-{n}"), ("price", "12.50")], CatalogEdit),
    ("GET", "/admin/products/{product}", &[], CatalogView),
    ("POST", "/admin/products/{product}",
        &[("name", "Linen Shirt"), ("description", "Edited {n}"), ("category_id", ""), ("status", "active")], CatalogEdit),
    ("POST", "/admin/products/{product}/variants", &[("sku", "PV-{n}"), ("price", "9.99")], CatalogEdit),
    ("POST", "/admin/variants/{variant}", &[("sku", "LS-M"), ("barcode", ""), ("price", "46.00")], CatalogEdit),
    ("POST", "/admin/variants/{victim_variant}/archive", &[], CatalogEdit),
    ("POST", "/admin/products/{victim}/archive", &[], CatalogEdit),
    ("GET", "/admin/variants/{variant}/stock", &[], StockView),
    ("POST", "/admin/variants/{variant}/stock/adjust",
        &[("location_id", "{location}"), ("delta", "3"), ("reason", "received")], StockEdit),
    ("POST", "/admin/variants/{variant}/stock/transfer",
        &[("location_id", "{location}"), ("to_location_id", "{location2}"), ("quantity", "1")], StockEdit),
    ("POST", "/admin/variants/{variant}/stock/count", &[("location_id", "{location}"), ("counted", "400")], StockEdit),
    ("GET", "/admin/api-keys", &[], Settings),
    ("POST", "/admin/api-keys", &[("name", "Page key {n}"), ("scope", "read")], Settings),
    ("POST", "/admin/api-keys/{key}/revoke", &[], Settings),
];

/// Pages other parts of issue 3 add; walked only once they exist (not 404).
#[rustfmt::skip]
pub const LATER_PAGES: &[PageRoute] = &[
    ("GET", "/admin/staff", &[], Staff),
    ("GET", "/admin/audit", &[], Audit),
];
