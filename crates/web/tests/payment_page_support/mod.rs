//! Harness for the payment page tests: a fake Stripe on 127.0.0.1 (serves scripts by path and
//! answers the PaymentIntents API), the test shop with Stripe pointed at it and the admin
//! page's routes, an order awaiting card payment, and readers for audit entries and alerts.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_payments::{Gateways, StripeConfig, StripeGateway};
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::checkout::PlaceOrder;
use storefort_store::outbox::QueuedEmail;
use storefort_store::payment_scripts::NewScript;
use storefort_web::pages::admin_payment_scripts;
use storefort_web::payment_page::sha384_sri;
use storefort_web::{router, AppState, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::common::{self, add_stock, Res, TestApp};

pub const STRIPE_JS: &[u8] = b"window.Stripe = function (pk) { return { pk: pk }; };\n";
pub const PI: &str = r#"{"id":"pi_test_1","client_secret":"pi_test_1_secret_xyz","status":"requires_payment_method","amount":4500}"#;

/// Bodies by path; anything else under /v1/ gets a PaymentIntent.
pub type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A fake js.stripe.com + api.stripe.com on 127.0.0.1: returns its base URL.
pub async fn fake_stripe(files: Files) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let (status, ctype, body) = if path.starts_with("/v1/") {
                    ("200 OK", "application/json", PI.as_bytes().to_vec())
                } else {
                    match files.lock().unwrap().get(&path) {
                        Some(b) => ("200 OK", "text/javascript", b.clone()),
                        None => ("404 Not Found", "text/plain", b"no".to_vec()),
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

pub struct World {
    pub t: TestApp,
    pub state: AppState,
    pub files: Files,
    pub js_url: String,
    pub base: String,
}

/// The test shop with Stripe pointed at the fake (script at `/v3.js`), the page routes plus
/// the admin page's routes (merged here unless the page routes already have them).
pub async fn world() -> World {
    let mut t = common::app().await;
    let files: Files = Arc::new(Mutex::new(HashMap::new()));
    files
        .lock()
        .unwrap()
        .insert("/v3.js".into(), STRIPE_JS.to_vec());
    let base = fake_stripe(files.clone()).await;
    let js_url = format!("{base}/v3.js");
    let stripe = StripeGateway::new(StripeConfig {
        api_base: base.clone(),
        secret_key: "sk_test_1".into(),
        publishable_key: "pk_test_abc".into(),
        webhook_secret: "whsec_1".into(),
        js_url: js_url.clone(),
    })
    .unwrap();
    let state = AppState::with_gateways(
        t.db.clone(),
        WebConfig::default(),
        Gateways::new().with(Arc::new(stripe)),
    );
    let plain = router(state.clone());
    let probe = plain
        .clone()
        .oneshot(
            Request::builder()
                .uri("/admin/payment-scripts")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    t.app = if probe.status() == StatusCode::NOT_FOUND {
        Router::new()
            .merge(admin_payment_scripts::routes())
            .with_state(state.clone())
            .merge(plain)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                storefort_web::middleware::security,
            ))
    } else {
        plain
    };
    World {
        t,
        state,
        files,
        js_url,
        base,
    }
}

/// Place an order paid by Stripe; returns the link to its payment page.
pub async fn order_to_pay(w: &World) -> String {
    let db = &w.t.db;
    let method = db
        .create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Collect in the shop".into(),
            kind: ShippingKind::Pickup,
            amount_minor: 0,
            threshold_minor: None,
            enabled: true,
        })
        .await
        .unwrap();
    let variant = w.t.product.variants[0].id.as_str().to_string();
    add_stock(&w.t, &variant, 5).await;
    let (_, cart) = db.create_cart(None).await.unwrap();
    db.cart_add(&cart.id, &variant, 1).await.unwrap();
    let checkout = CheckoutInput {
        email: "shopper@example.com".into(),
        phone: "020 7946 0958".into(),
        billing: Address {
            name: "Sam Shopper".into(),
            line1: "1 High Street".into(),
            city: "Bath".into(),
            postcode: "BA1 1AA".into(),
            country: "GB".into(),
            ..Default::default()
        },
        shipping_same_as_billing: true,
        shipping: None,
        shipping_method_id: method.id.clone(),
        payment_method: "stripe".into(),
    }
    .validate("GB", false)
    .unwrap();
    let placed = db
        .place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout,
            customer_id: None,
            idempotency_key: "k1".into(),
            channel: "web".into(),
        })
        .await
        .unwrap();
    let token = db.order_access_token(&placed.order_id).unwrap();
    format!("/checkout/pay/{}?t={token}", placed.order_id.as_str())
}

pub fn approve(url: &str, body: &[u8]) -> NewScript {
    NewScript {
        url: url.into(),
        sha384: sha384_sri(body),
        reason: "Stripe.js renders the card fields in Stripe's frame".into(),
        gateway: "stripe".into(),
    }
}

pub fn csp(res: &Res) -> String {
    res.headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

pub async fn audits(w: &World, action: &str) -> Vec<AuditEntry> {
    let f = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    w.t.db.audit_entries(&f).await.unwrap()
}

pub async fn alert_emails(w: &World) -> Vec<QueuedEmail> {
    let due = w.t.db.due_emails(100).await.unwrap();
    due.into_iter()
        .filter(|e| e.kind == "payment_page_changed")
        .collect()
}
