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

/// Every staff API route: every operation of the OpenAPI document except the shopper routes
/// (security `[{}]`; see `spec.rs`), which take a cart or order token instead.
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
    // Orders: each caller acts on its own orders (`{order}` paid, `{open_order}` awaiting
    // payment): fulfilled, then refunded in part.
    ("GET", "/api/v1/admin/orders", "", "", OrdersView),
    ("GET", "/api/v1/admin/orders/{id}", "order", "", OrdersView),
    ("POST", "/api/v1/admin/orders/{id}/fulfil", "order", r#"{"tracking":"T{n}"}"#, OrdersManage),
    ("POST", "/api/v1/admin/orders/{id}/cancel", "open_order", r#"{"reason":"Walk {n}"}"#, OrdersManage),
    ("POST", "/api/v1/admin/orders/{id}/refund", "order",
        r#"{"amount_minor":1,"restock":[],"reason":"Walk {n}"}"#, Refunds),
    // The review queue: each caller works its own held orders (`{review}` gets a call, then is
    // approved; `{review_cancel}` is cancelled; `{review_pay}` is sent back to pay).
    ("GET", "/api/v1/admin/reviews", "", "", OrdersManage),
    ("GET", "/api/v1/admin/reviews/{id}", "review", "", OrdersManage),
    ("POST", "/api/v1/admin/reviews/{id}/calls", "review", r#"{"outcome":"no_answer","note":"Walk {n}"}"#, OrdersManage),
    ("POST", "/api/v1/admin/reviews/{id}/approve", "review", "", OrdersManage),
    ("POST", "/api/v1/admin/reviews/{id}/cancel", "review_cancel", r#"{"reason":"Walk {n}"}"#, OrdersManage),
    ("POST", "/api/v1/admin/reviews/{id}/ask-to-pay", "review_pay", "", OrdersManage),
    // Fraud screening's settings and rules (owners): `{rule}` is changed, `{victim_rule}` removed.
    ("GET", "/api/v1/admin/fraud/settings", "", "", Settings),
    ("PUT", "/api/v1/admin/fraud/settings", "", r#"{"review_threshold":50,"velocity_orders":{n}}"#, Settings),
    ("GET", "/api/v1/admin/fraud/rules", "", "", Settings),
    ("POST", "/api/v1/admin/fraud/rules", "",
        r#"{"name":"walk_{n}","expression":"order.units > {n}0","points":5,"reason":"Walk {n}"}"#, Settings),
    ("PUT", "/api/v1/admin/fraud/rules/{id}", "rule",
        r#"{"name":"walk_rule","expression":"order.units > 99","points":{n},"reason":"Walk {n}"}"#, Settings),
    ("DELETE", "/api/v1/admin/fraud/rules/{id}", "victim_rule", "", Settings),
];

/// Shopper routes (security `[{}]`) that take no token at all: (method, path, why that is
/// safe). Every other shopper route must refuse a request without its token.
#[rustfmt::skip]
pub const TOKENLESS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/carts", "starts an empty cart and hands out its token"),
    ("GET", "/api/v1/shipping-methods", "the delivery options every shopper is offered"),
    ("GET", "/api/v1/payment-methods", "the ways to pay every shopper is offered"),
];

/// The path of an API route with `{id}` turned into its placeholder (`{product}`, ...).
pub fn api_template(r: &ApiRoute) -> String {
    if r.2.is_empty() || r.2 == "code" {
        r.1.to_string()
    } else {
        r.1.replace("{id}", &format!("{{{}}}", r.2))
    }
}

/// What an admin page needs: a permission, or only a fully signed-in staff member (any role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A permission, checked with `Role::allows`.
    P(Permission),
    /// Any signed-in staff member.
    SignedIn,
}

use Need::{SignedIn, P};

/// (method, path, form fields, needs).
pub type PageRoute = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Need,
);

/// Every admin page that needs a signed-in staff member. `{own_session}` is the caller's own
/// spare session. Order matters for the owner, who goes last and whose changes succeed: the
/// target's sessions are ended one by one before they are all ended, and "compromised" (which
/// replaces the target's password) comes last; the caller's spare session is ended before
/// "end all others".
#[rustfmt::skip]
pub const PAGES: &[PageRoute] = &[
    ("GET", "/admin", &[], P(CatalogView)),
    ("GET", "/admin/products", &[], P(CatalogView)),
    ("GET", "/admin/products/new", &[], P(CatalogEdit)),
    ("POST", "/admin/products/new",
        &[("name", "Page product {n}"), ("status", "active"), ("sku", "PP-{n}"), ("price", "12.50")], P(CatalogEdit)),
    ("GET", "/admin/products/{product}", &[], P(CatalogView)),
    ("POST", "/admin/products/{product}",
        &[("name", "Linen Shirt"), ("description", "Edited {n}"), ("category_id", ""), ("status", "active")], P(CatalogEdit)),
    ("POST", "/admin/products/{product}/variants", &[("sku", "PV-{n}"), ("price", "9.99")], P(CatalogEdit)),
    ("POST", "/admin/variants/{variant}", &[("sku", "LS-M"), ("barcode", ""), ("price", "46.00")], P(CatalogEdit)),
    ("POST", "/admin/variants/{victim_variant}/archive", &[], P(CatalogEdit)),
    ("POST", "/admin/products/{victim}/archive", &[], P(CatalogEdit)),
    ("GET", "/admin/variants/{variant}/stock", &[], P(StockView)),
    ("POST", "/admin/variants/{variant}/stock/adjust",
        &[("location_id", "{location}"), ("delta", "3"), ("reason", "received")], P(StockEdit)),
    ("POST", "/admin/variants/{variant}/stock/transfer",
        &[("location_id", "{location}"), ("to_location_id", "{location2}"), ("quantity", "1")], P(StockEdit)),
    ("POST", "/admin/variants/{variant}/stock/count", &[("location_id", "{location}"), ("counted", "400")], P(StockEdit)),
    ("GET", "/admin/api-keys", &[], P(Settings)),
    ("POST", "/admin/api-keys", &[("name", "Page key {n}"), ("scope", "read")], P(Settings)),
    ("POST", "/admin/api-keys/{key}/revoke", &[], P(Settings)),
    // Staff management (owners only); the target is a cashier, target@example.com.
    ("GET", "/admin/staff", &[], P(Staff)),
    ("POST", "/admin/staff/invite",
        &[("email", "invitee{n}@example.com"), ("name", "Invitee {n}"), ("role", "cashier")], P(Staff)),
    ("POST", "/admin/staff/invitations/{invitation}/withdraw", &[], P(Staff)),
    ("GET", "/admin/staff/{target}", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/sessions/{target_session}/end", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/sessions/end-all", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/role", &[("role", "manager")], P(Staff)),
    ("POST", "/admin/staff/{target}/unlock", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/mfa-reset", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/disable", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/enable", &[], P(Staff)),
    ("POST", "/admin/staff/{target}/compromised", &[], P(Staff)),
    // The audit log.
    ("GET", "/admin/audit", &[], P(Audit)),
    ("GET", "/admin/audit.csv", &[], P(Audit)),
    // Customers (every view audited); the world's customer has an address and an order.
    // Erasing comes last: after it the record cannot be changed.
    ("GET", "/admin/customers", &[], P(CustomersView)),
    ("POST", "/admin/customers", &[("q", "walk@example.com")], P(CustomersView)),
    ("GET", "/admin/customers/new", &[], P(CustomersEdit)),
    ("POST", "/admin/customers/new",
        &[("name", "Page customer {n}"), ("email", "page{n}@example.com"), ("phone", "")], P(CustomersEdit)),
    ("GET", "/admin/customers/{customer}", &[], P(CustomersView)),
    ("POST", "/admin/customers/{customer}",
        &[("name", "Walk Customer"), ("email", "walk@example.com"), ("phone", "+44 20 7946 00{n}0")], P(CustomersEdit)),
    ("POST", "/admin/customers/{customer}/addresses",
        &[("name", "Walk Customer"), ("line1", "{n} High St"), ("city", "Leeds"), ("country", "GB")], P(CustomersEdit)),
    ("POST", "/admin/customers/{customer}/addresses/{address}/remove", &[], P(CustomersEdit)),
    ("POST", "/admin/customers/{customer}/export", &[], P(CustomersPrivacy)),
    ("POST", "/admin/customers/{customer}/erase", &[("confirm", "ERASE")], P(CustomersPrivacy)),
    // Orders: each caller acts on its own (`{order}` paid with a captured bank transfer,
    // `{held_order}` on hold waiting for one, `{open_order}` awaiting payment). The paid
    // order is noted, refunded in part, then fulfilled.
    ("GET", "/admin/orders", &[], P(OrdersView)),
    ("POST", "/admin/orders", &[("q", "walk@example.com")], P(OrdersView)),
    ("GET", "/admin/orders/{order}", &[], P(OrdersView)),
    ("POST", "/admin/orders/{order}/notes", &[("note", "Walk note {n}")], P(OrdersManage)),
    ("POST", "/admin/orders/{order}/refund", &[("amount", "0.01")], P(Refunds)),
    ("POST", "/admin/orders/{order}/fulfil", &[("tracking", "T{n}")], P(OrdersManage)),
    ("POST", "/admin/orders/{held_order}/mark-paid", &[], P(OrdersManage)),
    ("POST", "/admin/orders/{open_order}/cancel", &[("reason", "Walk {n}")], P(OrdersManage)),
    // Checkout settings (owners): the French rate is set, then removed.
    ("GET", "/admin/checkout-settings", &[], P(Settings)),
    ("POST", "/admin/checkout-settings/shop", &[("country", "GB"), ("prices_include_tax", "on")], P(Settings)),
    ("POST", "/admin/checkout-settings/tax-rates",
        &[("tax_class", "{tax_class}"), ("country", "FR"), ("rate", "5.5")], P(Settings)),
    ("POST", "/admin/checkout-settings/tax-rates/remove", &[("tax_class", "{tax_class}"), ("country", "FR")], P(Settings)),
    ("POST", "/admin/checkout-settings/shipping",
        &[("name", "Walk post {n}"), ("kind", "flat"), ("amount", "3.50"), ("enabled", "on")], P(Settings)),
    ("POST", "/admin/checkout-settings/shipping/{shipping}",
        &[("name", "Walk post"), ("kind", "flat"), ("amount", "4.00"), ("enabled", "on")], P(Settings)),
    ("POST", "/admin/checkout-settings/shipping/{shipping}/enabled", &[("enabled", "no")], P(Settings)),
    ("POST", "/admin/checkout-settings/discounts", &[("code", "WALK{n}"), ("kind", "percent"), ("value", "10")], P(Settings)),
    ("POST", "/admin/checkout-settings/discounts/{discount}/enabled", &[("enabled", "no")], P(Settings)),
    // The payment page's scripts (owners): one approved, checked (nothing listens on port 9),
    // the page accepted, the fixture script removed.
    ("GET", "/admin/payment-scripts", &[], P(Settings)),
    ("POST", "/admin/payment-scripts",
        &[("url", "http://127.0.0.1:9/{n}.js"), ("sha384", "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"),
          ("reason", "Role test {n}"), ("gateway", "stripe")], P(Settings)),
    ("POST", "/admin/payment-scripts/check", &[], P(Settings)),
    ("POST", "/admin/payment-scripts/accept", &[], P(Settings)),
    ("POST", "/admin/payment-scripts/{script}/remove", &[], P(Settings)),
    // The review queue: each caller works its own held orders (see the API table).
    ("GET", "/admin/reviews", &[], P(OrdersManage)),
    ("GET", "/admin/reviews/{review}", &[], P(OrdersManage)),
    ("POST", "/admin/reviews/{review}/calls", &[("outcome", "no_answer"), ("note", "Walk {n}")], P(OrdersManage)),
    ("POST", "/admin/reviews/{review}/approve", &[], P(OrdersManage)),
    ("POST", "/admin/reviews/{review_cancel}/cancel", &[("reason", "Walk {n}")], P(OrdersManage)),
    ("POST", "/admin/reviews/{review_pay}/ask-to-pay", &[], P(OrdersManage)),
    // Fraud screening (owners): every setting posted, a rule added, `{rule}` changed and
    // switched off, `{victim_rule}` removed.
    ("GET", "/admin/fraud-settings", &[], P(Settings)),
    ("POST", "/admin/fraud-settings",
        &[("enabled", "on"), ("review_threshold", "50"), ("block_threshold", "85"), ("high_total", "500.00"),
          ("high_total_multiple", "3"), ("expensive_quantity", "5"), ("new_customer", "200.00"),
          ("velocity_window_minutes", "1440"), ("velocity_orders", "{n}"), ("velocity_failed_payments", "3"),
          ("velocity_cards", "2"), ("velocity_addresses", "2"), ("loyal_paid_orders", "2"), ("authorization_days", "7"),
          ("points_cvc_failed", "4{n}"), ("extra_disposable_domains", "walk{n}.example"), ("allowed_domains", "")], P(Settings)),
    ("POST", "/admin/fraud-settings/rules",
        &[("name", "walk_{n}"), ("expression", "order.units > {n}0"), ("points", "5"), ("reason", "Walk {n}")], P(Settings)),
    ("POST", "/admin/fraud-settings/rules/{rule}",
        &[("name", "walk_rule"), ("expression", "order.units > 99"), ("points", "{n}"), ("reason", "Walk {n}"), ("enabled", "on")], P(Settings)),
    ("POST", "/admin/fraud-settings/rules/{rule}/enabled", &[("enabled", "no")], P(Settings)),
    ("POST", "/admin/fraud-settings/rules/{victim_rule}/remove", &[], P(Settings)),
    // Tills (owners and managers): the walk's till has the cashier signed in (signed out, then
    // paired again); `{till_victim}` is revoked (password typed at sign-in, minutes ago).
    ("GET", "/admin/devices", &[], P(Devices)),
    ("POST", "/admin/devices", &[("name", "Walk till {n}"), ("location_id", "{location}")], P(Devices)),
    ("POST", "/admin/devices/{till}/sign-out", &[], P(Devices)),
    ("POST", "/admin/devices/{till}/pairing-code", &[], P(Devices)),
    ("GET", "/admin/devices/{till_victim}/revoke", &[], P(Devices)),
    ("POST", "/admin/devices/{till_victim}/revoke", &[], P(Devices)),
    ("POST", "/admin/staff/{target}/pin", &[("pin", "2580{n}")], P(Devices)),
    ("GET", "/admin/pos", &[], P(Devices)),
    ("POST", "/admin/pos",
        &[("idle_lock_minutes", "{n}"), ("offline_grace_hours", "24"), ("offline_sale_limit", "200.00"),
          ("cashier_discount_limit", "10"), ("variance_threshold", "5.00"),
          ("cash_out_approval", "50.00")], P(Devices)),
    ("POST", "/admin/pos/alerts/{stock_alert}/resolve", &[], P(Devices)),
    ("GET", "/admin/shifts/{shift}", &[], P(Devices)),
    // Backups (owners only). The walk's world has no backup service: the page shows the
    // "not set up" panel; the settings are saved all the same.
    ("GET", "/admin/backups", &[], P(Backups)),
    ("POST", "/admin/backups/settings",
        &[("interval_minutes", "60"), ("keep_hourly", "24"), ("keep_daily", "14"), ("keep_weekly", "{n}")], P(Backups)),
    // Every signed-in staff member's own pages.
    ("GET", "/admin/account", &[], SignedIn),
    ("POST", "/admin/account/sessions/{own_session}/end", &[], SignedIn),
    ("POST", "/admin/account/sessions/end-others", &[], SignedIn),
    ("GET", "/admin/account/password", &[], SignedIn),
    ("GET", "/admin/mfa/setup", &[], SignedIn),
    // A missing code: 422 for the cashier (enrolling), back to the status page for the others.
    ("POST", "/admin/mfa/setup", &[("code", "")], SignedIn),
    ("POST", "/admin/mfa/recovery-codes", &[], SignedIn),
    ("GET", "/admin/reauth", &[], SignedIn),
    ("POST", "/admin/account/pin", &[("pin", "2580{n}"), ("pin_confirm", "2580{n}")], SignedIn),
];

/// Admin routes the walk leaves out on purpose: (method, path as in the source, why).
#[rustfmt::skip]
pub const NOT_WALKED: &[(&str, &str, &str)] = &[
    ("POST", "/admin/backups/run", "needs a backup service, which the walk's world has none of (409); managers and cashiers are refused in admin_backups.rs"),
    ("POST", "/admin/backups/check", "needs a backup service, which the walk's world has none of (409); managers and cashiers are refused in admin_backups.rs"),
    ("POST", "/admin/backups/download", "needs a backup service, which the walk's world has none of (409); managers and cashiers are refused in admin_backups.rs"),
    ("GET", "/admin/plugins", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("GET", "/admin/plugins/approve/{id}", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("POST", "/admin/plugins/approve/{id}", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("POST", "/admin/plugins/example", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("POST", "/admin/plugins/upload", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("POST", "/admin/plugins/{name}/{action}", "needs a plugin service, which the walk's world has none of (409); managers and cashiers are refused in admin_plugins.rs"),
    ("GET", "/admin/login", "signing in: public, no session yet"),
    ("POST", "/admin/login", "signing in: public, no session yet"),
    ("POST", "/admin/logout", "signing out works at any sign-in stage for anyone"),
    ("GET", "/admin/forgot", "forgotten password: public, no session"),
    ("POST", "/admin/forgot", "forgotten password: public, no session"),
    ("GET", "/admin/reset", "password reset link: public, the token is the credential"),
    ("POST", "/admin/reset", "password reset link: public, the token is the credential"),
    ("GET", "/admin/invite", "invitation link: public, the token is the credential"),
    ("POST", "/admin/invite", "invitation link: public, the token is the credential"),
    ("GET", "/admin/mfa", "the second step of signing in, for a session part-way through"),
    ("POST", "/admin/mfa", "the second step of signing in, for a session part-way through"),
    ("POST", "/admin/mfa/reset", "turns off the caller's own MFA, so they owe enrolment and the walk stops (mfa_setup.rs)"),
    ("POST", "/admin/account/password", "needs the current password and ends every session (account.rs)"),
    ("POST", "/admin/reauth", "needs the caller's password; wrong ones count toward lockout (account.rs)"),
];
