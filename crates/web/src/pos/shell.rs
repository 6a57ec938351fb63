//! The till app itself: one HTML shell (everything else is drawn by the scripts), the scripts
//! and stylesheet embedded in the binary, and the service worker that keeps them available
//! offline. Scripts are served with `no-cache` so a till picks up a new version at once (the
//! service worker revalidates); nothing here is personal.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::pages::render::{page as render_page, PageError};
use crate::AppState;

/// The app's version, sent in heartbeats and shown on the Devices page.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Embedded till files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/api.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/app.js"),
    ),
    (
        "approve.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/approve.js"),
    ),
    (
        "cart.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/cart.js"),
    ),
    (
        "cartview.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/cartview.js"),
    ),
    (
        "catalog.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/catalog.js"),
    ),
    (
        "customer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/customer.js"),
    ),
    (
        "db.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/db.js"),
    ),
    (
        "discount.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/discount.js"),
    ),
    (
        "lock.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/lock.js"),
    ),
    (
        "offline.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/offline.js"),
    ),
    (
        "pair.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/pair.js"),
    ),
    (
        "pay.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/pay.js"),
    ),
    (
        "pinpad.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/pinpad.js"),
    ),
    (
        "pos.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/pos/pos.css"),
    ),
    (
        "pricing.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/pricing.js"),
    ),
    (
        "print.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/print.js"),
    ),
    (
        "receipt-58.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/pos/receipt-58.css"),
    ),
    (
        "receipt-80.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/pos/receipt-80.css"),
    ),
    (
        "receipt.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/pos/receipt.css"),
    ),
    (
        "receipt.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/receipt.js"),
    ),
    (
        "refund.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/refund.js"),
    ),
    (
        "scanner.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/scanner.js"),
    ),
    (
        "sell.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/sell.js"),
    ),
    (
        "shift.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/shift.js"),
    ),
    (
        "state.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/state.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/ui.js"),
    ),
    (
        "wipe.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/pos/wipe.js"),
    ),
];

#[derive(askama::Template)]
#[template(path = "pos.html")]
struct Shell<'a> {
    version: &'a str,
    shop_name: &'a str,
}

/// `GET /pos`: the app's shell.
pub async fn page(State(s): State<AppState>) -> Response {
    render_page(
        StatusCode::OK,
        &Shell {
            version: APP_VERSION,
            shop_name: &s.cfg.shop_name,
        },
    )
}

/// `GET /pos/static/{file}`.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => PageError::not_found().into_response(),
    }
}

/// `GET /pos/sw.js`: the service worker (scope `/pos/`).
pub async fn service_worker() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_bytes!("../../static/pos/sw.js").as_slice(),
    )
        .into_response()
}
