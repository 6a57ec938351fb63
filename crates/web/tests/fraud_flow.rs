//! Fraud screening in the payment flow, through the API and the sandbox gateway: the seed's
//! example (12 of the most expensive item shipped to another country) is held with its card
//! authorized, not captured; approving captures it; a high score voids the authorization; an
//! authorization that ran out cannot be approved but the customer can be asked to pay again;
//! ordinary orders are captured at once; the IP's country counts when GeoIP is configured.

mod api_checkout_support;

use std::sync::Arc;

use api_checkout_support::{setup, Res, DAY_MS, PUBLIC_URL, T};
use axum::http::StatusCode;
use serde_json::{json, Value};
use storefort_core::fraud::FraudSettings;
use storefort_core::ids::OrderId;
use storefort_store::sandbox::SandboxOutcome;
use storefort_web::{AppState, WebConfig};

/// 90 more mugs, so a dozen can be ordered.
async fn restock(t: &T) {
    let change = storefort_store::stock::Change {
        variant_id: &t.variant,
        location_id: &t.location,
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&change, 90, storefort_core::stock::Reason::Received)
        .await
        .unwrap();
}

/// The seed's example: billed in GB, shipped to France.
fn shipped_abroad(t: &T) -> Value {
    let mut d = t.details("sandbox");
    d["shipping_same_as_billing"] = json!(false);
    d["shipping"] = json!({"name": "Jean Dupont", "line1": "5 Rue de Rivoli",
        "city": "Paris", "postcode": "75001", "country": "FR"});
    d
}

/// Check out `qty` mugs with `details`, pay with the sandbox outcome, and read the order back
/// (which asks the gateway). Returns (order, id, token, sandbox reference).
async fn buy(t: &T, qty: i64, details: Value, key: &str) -> (Res, String, String, String) {
    let cart = t.cart_with(qty).await;
    let r = t.checkout(&cart, Some(key), details).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["order_id"].as_str().unwrap().to_string();
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let url = r.body["payment"]["url"].as_str().unwrap();
    let reference = url.rsplit('/').next().unwrap().to_string();
    t.db.sandbox_set_outcome(&reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let o = t.order(&id, &token).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    (o, id, token, reference)
}

/// The services, on the same database as the test's router.
fn services(t: &T) -> AppState {
    AppState::new(
        t.db.clone(),
        WebConfig {
            public_url: PUBLIC_URL.into(),
            ..WebConfig::default()
        },
    )
}

async fn outbox_kinds(t: &T) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM outbox ORDER BY created_at, id")
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seed_example_is_held_and_approving_captures_it() {
    let t = setup().await;
    restock(&t).await;
    let (o, id, token, reference) = buy(&t, 12, shipped_abroad(&t), "seed-1").await;
    assert_eq!(o.body["status"], "on_hold", "{}", o.body);
    let order = OrderId(id.clone());
    let sp = t.db.sandbox_payment(&reference).await.unwrap();
    assert_eq!(sp.captured_minor, 0, "authorized, not captured");

    let risk = t.db.order_risk(&order).await.unwrap().unwrap();
    assert!(risk.score.unwrap() >= 50, "{risk:?}");
    assert_eq!(risk.review.as_deref(), Some("open"));
    let codes: Vec<&str> = risk.reasons.iter().map(|r| r.code.as_str()).collect();
    assert!(
        codes.contains(&"address_mismatch") && codes.contains(&"expensive_quantity"),
        "{codes:?}"
    );
    let queue = t.db.review_queue(50).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].order_id, id);
    // The shopper is told it will be confirmed; owners and managers are emailed.
    let kinds = outbox_kinds(&t).await;
    assert!(
        kinds.contains(&"order_under_review".to_string()),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "order_held").count(),
        2,
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&"order_confirmation".to_string()),
        "{kinds:?}"
    );
    // A held order cannot be fulfilled.
    let f = t
        .staff(
            &t.manager,
            "POST",
            &format!("/api/v1/admin/orders/{id}/fulfil"),
            Some(json!({"tracking": "RM123"})),
        )
        .await;
    assert_eq!(f.status, StatusCode::CONFLICT, "{}", f.body);
    // A held order keeps its stock past the 15-minute reservation of unpaid orders.
    t.clock.advance(60 * 60 * 1000);
    storefort_web::payment_flow::release_expired(&services(&t))
        .await
        .unwrap();
    assert_eq!(t.order(&id, &token).await.body["status"], "on_hold");

    let s = services(&t);
    storefort_web::fraud_review::approve(&s, &order, "manager@example.com")
        .await
        .unwrap();
    let o = t.order(&id, &token).await;
    assert_eq!(o.body["status"], "paid", "{}", o.body);
    let sp = t.db.sandbox_payment(&reference).await.unwrap();
    assert_eq!(
        sp.captured_minor, sp.amount_minor,
        "captured at the gateway"
    );
    let risk = t.db.order_risk(&order).await.unwrap().unwrap();
    assert_eq!(risk.review.as_deref(), Some("approved"));
    assert!(outbox_kinds(&t)
        .await
        .contains(&"order_confirmation".to_string()));
    // Approving twice, or cancelling after approval, is refused and changes nothing.
    let before = t.snapshot().await;
    let again = storefort_web::fraud_review::approve(&s, &order, "m").await;
    assert_eq!(again.unwrap_err().status, StatusCode::CONFLICT);
    let cancel = storefort_web::fraud_review::cancel(&s, &order, "m", "").await;
    assert_eq!(cancel.unwrap_err().status, StatusCode::CONFLICT);
    assert_eq!(t.snapshot().await, before);
}

#[tokio::test]
async fn ordinary_orders_are_captured_at_once() {
    let t = setup().await;
    let (o, id, _, _) = buy(&t, 1, t.details("sandbox"), "plain-1").await;
    assert_eq!(o.body["status"], "paid", "{}", o.body);
    let risk = t.db.order_risk(&OrderId(id)).await.unwrap().unwrap();
    assert_eq!(risk.decision.map(|d| d.as_str()), Some("pass"));
    assert_eq!(risk.review, None);
    assert!(t.db.review_queue(50).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_score_over_the_block_threshold_voids_the_authorization() {
    let t = setup().await;
    restock(&t).await;
    t.db.save_fraud_settings(&FraudSettings {
        review_threshold: 20,
        block_threshold: 40,
        ..FraudSettings::default()
    })
    .await
    .unwrap();
    let stock = t.stock().await;
    let (o, id, token, reference) = buy(&t, 12, shipped_abroad(&t), "block-1").await;
    assert_eq!(o.body["status"], "cancelled", "{}", o.body);
    let sp = t.db.sandbox_payment(&reference).await.unwrap();
    assert_eq!((sp.captured_minor, sp.status.as_str()), (0, "voided"));
    assert_eq!(t.stock().await, stock, "the stock is back");
    assert!(t.db.review_queue(50).await.unwrap().is_empty());
    // The shopper's page is neutral: nothing about fraud.
    let html = page_text(&t, &format!("/orders/{id}?t={token}")).await;
    assert!(html.contains("could not complete"), "{html}");
    assert!(!html.to_lowercase().contains("fraud"), "{html}");
}

async fn page_text(t: &T, path: &str) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = t.app.clone().oneshot(req).await.unwrap();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).to_string()
}

#[tokio::test]
async fn after_the_authorization_runs_out_the_customer_is_asked_to_pay_again() {
    let t = setup().await;
    restock(&t).await;
    let (o, id, token, _) = buy(&t, 12, shipped_abroad(&t), "late-1").await;
    assert_eq!(o.body["status"], "on_hold");
    let order = OrderId(id.clone());
    let s = services(&t);
    t.clock.advance(8 * DAY_MS);
    let before = t.snapshot().await;
    let e = storefort_web::fraud_review::approve(&s, &order, "m")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status, e.code),
        (StatusCode::CONFLICT, "authorization_expired")
    );
    assert!(e.message.contains("Ask to pay again"), "{}", e.message);
    assert_eq!(t.snapshot().await, before, "nothing changed");

    storefort_web::fraud_review::ask_to_pay(&s, &order, "manager@example.com")
        .await
        .unwrap();
    let o = t.order(&id, &token).await;
    assert_eq!(o.body["status"], "pending_payment", "{}", o.body);
    assert!(outbox_kinds(&t).await.contains(&"pay_again".to_string()));
    // A report that the old authorization (the one staff did not approve) is live after all
    // cannot pay the order: it stays awaiting a new payment.
    let old = t.db.order_detail(&order).await.unwrap().payments[0].clone();
    sqlx::query("UPDATE payments SET status = 'authorized' WHERE id = $1")
        .bind(&old.id)
        .execute(&t.db.pool)
        .await
        .unwrap();
    let g = s.gateways.get("sandbox").unwrap();
    let live = storefort_payments::PaymentState::new(
        storefort_payments::PaymentStatus::Authorized,
        old.amount_minor,
    );
    let _ =
        storefort_web::payment_flow::apply(&s, &order, g.as_ref(), &old.reference, &live, "test")
            .await;
    assert_eq!(t.order(&id, &token).await.body["status"], "pending_payment");
    // The reservation holds for 48 hours, not 15 minutes.
    t.clock.advance(60 * 60 * 1000);
    storefort_web::payment_flow::release_expired(&s)
        .await
        .unwrap();
    assert_eq!(t.order(&id, &token).await.body["status"], "pending_payment");
    // Paying again is captured straight away: staff checked this customer already.
    let start = storefort_web::payment_flow::start(&s, &order, "https://localhost/r")
        .await
        .unwrap();
    let storefort_payments::NextStep::Redirect { url } = start else {
        panic!("sandbox redirects");
    };
    let reference = url.rsplit('/').next().unwrap();
    t.db.sandbox_set_outcome(reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let o = t.order(&id, &token).await;
    assert_eq!(o.body["status"], "paid", "{}", o.body);
}

#[tokio::test]
async fn cancelling_a_held_order_voids_and_restocks() {
    let t = setup().await;
    restock(&t).await;
    let stock = t.stock().await;
    let (_, id, token, reference) = buy(&t, 12, shipped_abroad(&t), "cancel-1").await;
    let order = OrderId(id.clone());
    let s = services(&t);
    let e = storefort_web::fraud_review::log_call(&s, &order, "maybe", "", "m").await;
    assert_eq!(e.unwrap_err().field.as_deref(), Some("outcome"));
    storefort_web::fraud_review::log_call(&s, &order, "denied", "Says they did not order", "m")
        .await
        .unwrap();
    storefort_web::fraud_review::cancel(&s, &order, "m", "customer did not order")
        .await
        .unwrap();
    assert_eq!(t.order(&id, &token).await.body["status"], "cancelled");
    assert_eq!(
        t.db.sandbox_payment(&reference)
            .await
            .unwrap()
            .status
            .as_str(),
        "voided"
    );
    assert_eq!(t.stock().await, stock);
    assert_eq!(
        t.db.order_risk(&order)
            .await
            .unwrap()
            .unwrap()
            .review
            .as_deref(),
        Some("cancelled")
    );
    assert!(outbox_kinds(&t).await.contains(&"cancellation".to_string()));
}

#[tokio::test]
async fn screening_off_captures_everything_but_still_scores() {
    let t = setup().await;
    restock(&t).await;
    t.db.save_fraud_settings(&FraudSettings {
        enabled: false,
        ..FraudSettings::default()
    })
    .await
    .unwrap();
    let (o, id, _, _) = buy(&t, 12, shipped_abroad(&t), "off-1").await;
    assert_eq!(o.body["status"], "paid", "{}", o.body);
    let risk = t.db.order_risk(&OrderId(id)).await.unwrap().unwrap();
    assert!(risk.score.unwrap() >= 50);
    assert_eq!(risk.review, None);
}

#[tokio::test]
async fn the_ip_country_counts_when_a_geoip_database_is_configured() {
    let mut t = setup().await;
    let geoip = storefort_web::geoip::GeoIp::open(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geoip-test.mmdb"),
    )
    .unwrap();
    t.app = storefort_web::router(AppState::new(
        t.db.clone(),
        WebConfig {
            public_url: PUBLIC_URL.into(),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            geoip: Some(Arc::new(geoip)),
            ..WebConfig::default()
        },
    ));
    let cart = t.cart_with(1).await;
    let r = t
        .public(
            "POST",
            "/api/v1/checkout",
            &[
                ("x-cart-token", &cart),
                ("idempotency-key", "geo-1"),
                ("x-forwarded-for", "175.16.199.20"),
            ],
            Some(t.details("sandbox")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["order_id"].as_str().unwrap().to_string();
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let reference = r.body["payment"]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    t.db.sandbox_set_outcome(&reference, SandboxOutcome::Success)
        .await
        .unwrap();
    t.order(&id, &token).await;
    let risk = t.db.order_risk(&OrderId(id)).await.unwrap().unwrap();
    assert_eq!(risk.ip_country.as_deref(), Some("CN"));
    assert!(
        risk.reasons.iter().any(|r| r.code == "ip_country"),
        "{:?}",
        risk.reasons
    );
}
