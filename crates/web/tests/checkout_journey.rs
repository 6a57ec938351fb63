//! The storefront purchase in-process: product page -> cart -> checkout -> sandbox gateway ->
//! back -> confirmation; declines, double submission, tampered prices and bad input.

mod common;

use axum::http::StatusCode;
use common::{add_stock, TestApp};
use storefort_core::pricing::{ShippingKind, ShippingMethod};

const BASE: &str = "https://localhost:8443";

async fn shop() -> (TestApp, String, String) {
    let t = common::app().await;
    let v = t.product.variants[0].id.0.clone();
    add_stock(&t, &v, 5).await;
    let m =
        t.db.create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Standard".into(),
            kind: ShippingKind::Flat,
            amount_minor: 395,
            threshold_minor: None,
            enabled: true,
        })
        .await
        .unwrap();
    (t, v, m.id)
}

fn cookie_of(res: &common::Res) -> String {
    let set = res.headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

fn checkout_form<'a>(shipping: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("idempotency_key", key),
        ("email", "ada@example.com"),
        ("phone", "020 7946 0958"),
        ("billing.name", "Ada Lovelace"),
        ("billing.line1", "1 Analytical Row"),
        ("billing.city", "London"),
        ("billing.postcode", "N1 1AA"),
        ("billing.country", "GB"),
        ("same_as_billing", "on"),
        ("shipping_method", shipping),
        ("payment_method", "sandbox"),
    ]
}

fn rel(url: &str) -> &str {
    url.trim_start_matches(BASE)
}

/// Add to cart, check out; returns (cart cookie, the payment step's path).
async fn to_payment(t: &TestApp, v: &str, shipping: &str, key: &str) -> (String, String) {
    let r = t
        .post("/cart/add", None, &[("variant_id", v), ("quantity", "2")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = cookie_of(&r);
    let cart = t.get("/cart", Some(&cookie)).await;
    assert!(cart.body.contains("Linen Shirt"), "{}", cart.body);
    assert!(cart.body.contains("£90.00"), "2 x £45.00: {}", cart.body);
    let form = t.get("/checkout", Some(&cookie)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("idempotency_key"));
    let r = t
        .post("/checkout", Some(&cookie), &checkout_form(shipping, key))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (cookie, r.location().to_string())
}

#[tokio::test]
async fn a_shopper_buys_with_the_sandbox_gateway() {
    let (t, v, ship) = shop().await;
    let (cookie, pay) = to_payment(&t, &v, &ship, "key-1").await;
    assert!(pay.starts_with("/checkout/pay/"), "{pay}");
    let r = t.get(&pay, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sandbox = rel(r.location()).to_string();
    assert!(sandbox.starts_with("/sandbox/pay/"), "{sandbox}");
    let page = t.get(&sandbox, None).await;
    assert!(page.body.contains("TEST MODE"));
    assert!(!page.body.contains("card number"), "no card input at all");
    let r = t.post(&sandbox, None, &[("outcome", "success")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let back = rel(r.location()).to_string();
    let r = t.get(&back, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let order_page = r.location().to_string();
    let r = t.get(&order_page, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Thank you for your order"), "{}", r.body);
    assert!(r.body.contains("Visa ending 4242"), "{}", r.body);
    assert!(
        r.body.contains("£93.95"),
        "£90 + £3.95 delivery: {}",
        r.body
    );
    // Stock was taken once; the receipt is queued for the shopper.
    assert_eq!(t.db.variant(&v).await.unwrap().available, 3);
    let queued = t.db.due_emails(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].to, "ada@example.com");
    assert!(
        queued[0].subject.contains("order 1001"),
        "{}",
        queued[0].subject
    );
    // Without its token the order page is a 404, like an unknown order.
    let id = order_page.split('?').next().unwrap();
    assert_eq!(t.get(id, None).await.status, StatusCode::NOT_FOUND);
    let wrong = format!("{id}?t=0000");
    assert_eq!(t.get(&wrong, None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_declined_card_keeps_the_order_waiting_and_can_be_retried() {
    let (t, v, ship) = shop().await;
    let (cookie, pay) = to_payment(&t, &v, &ship, "key-1").await;
    let sandbox = rel(t.get(&pay, Some(&cookie)).await.location()).to_string();
    let r = t.post(&sandbox, None, &[("outcome", "decline")]).await;
    let back = rel(r.location()).to_string();
    let order_page = t.get(&back, Some(&cookie)).await.location().to_string();
    let r = t.get(&order_page, None).await;
    assert!(r.body.contains("did not go through"), "{}", r.body);
    assert!(r.body.contains("Pay now"), "{}", r.body);
    assert!(t.db.due_emails(10).await.unwrap().is_empty(), "no receipt");
    // Second attempt succeeds.
    let sandbox = rel(t.get(&pay, Some(&cookie)).await.location()).to_string();
    let r = t.post(&sandbox, None, &[("outcome", "success")]).await;
    let back = rel(r.location()).to_string();
    let order_page = t.get(&back, Some(&cookie)).await.location().to_string();
    assert!(t
        .get(&order_page, None)
        .await
        .body
        .contains("Thank you for your order"));
}

#[tokio::test]
async fn submitting_checkout_twice_makes_one_order() {
    let (t, v, ship) = shop().await;
    let (cookie, pay) = to_payment(&t, &v, &ship, "key-1").await;
    let again = t
        .post("/checkout", Some(&cookie), &checkout_form(&ship, "key-1"))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(again.location(), pay, "the same order's payment step");
    assert_eq!(
        t.db.variant(&v).await.unwrap().available,
        3,
        "stock taken once"
    );
}

#[tokio::test]
async fn prices_come_from_the_server_and_bad_input_is_named() {
    let (t, v, ship) = shop().await;
    let r = t
        .post("/cart/add", None, &[("variant_id", &v), ("quantity", "1")])
        .await;
    let cookie = cookie_of(&r);
    // A price slipped into the form is ignored: the order costs the catalog price.
    let mut form = checkout_form(&ship, "k");
    form.push(("price", "1"));
    form.push(("total_minor", "1"));
    // Missing phone: 422 naming the field, nothing ordered.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "phone");
    let r = t.post("/checkout", Some(&cookie), &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Phone"), "{}", r.body);
    assert!(
        r.body.contains("Ada Lovelace"),
        "the shopper's input is kept"
    );
    assert_eq!(t.db.variant(&v).await.unwrap().available, 5);
    // Unknown discount code: 422 naming it.
    let r = t
        .post("/cart/discount", Some(&cookie), &[("code", "NOPE")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Discount code"), "{}", r.body);
    // More than in stock: 422 naming the quantity.
    let r = t
        .post(
            "/cart/update",
            Some(&cookie),
            &[("variant_id", &v), ("quantity", "9")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("only 5"), "{}", r.body);
    // A card number typed into the address is refused before anything runs.
    let mut card = form.clone();
    card.retain(|(k, _)| *k != "billing.line2");
    card.push(("billing.line2", "4242 4242 4242 4242"));
    let r = t.post("/checkout", Some(&cookie), &card).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(t.db.variant(&v).await.unwrap().available, 5);
    // The real order charges the catalog price.
    let r = t.post("/checkout", Some(&cookie), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r.location().trim_start_matches("/checkout/pay/");
    let id = storefort_core::ids::OrderId(id.split('?').next().unwrap().to_string());
    assert_eq!(
        t.db.order_detail(&id).await.unwrap().summary.total_minor,
        4500 + 395
    );
}

#[tokio::test]
async fn forms_from_other_sites_are_refused() {
    let (t, v, _) = shop().await;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/cart/add")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(format!("variant_id={v}&quantity=1")))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_network_cannot_place_orders_without_limit() {
    let (t, v, ship) = shop().await;
    let limit = storefort_web::rate_limit::ORDERS_PER_HOUR;
    for _ in 0..limit {
        // Each submission counts, whatever becomes of it (here: no cart, back to the cart).
        let r = t.post("/checkout", None, &checkout_form(&ship, "k")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = t
        .post("/cart/add", None, &[("variant_id", &v), ("quantity", "1")])
        .await;
    let cookie = cookie_of(&r);
    let r = t
        .post("/checkout", Some(&cookie), &checkout_form(&ship, "k"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("too many orders"), "{}", r.body);
    assert_eq!(
        t.db.variant(&v).await.unwrap().available,
        5,
        "nothing reserved"
    );
    // An hour later the network may order again.
    t.clock.advance(3_600_000);
    let r = t
        .post("/checkout", Some(&cookie), &checkout_form(&ship, "k"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn an_unpaid_bank_transfer_gives_its_stock_back_after_seven_days() {
    let (t, v, ship) = shop().await;
    let r = t
        .post("/cart/add", None, &[("variant_id", &v), ("quantity", "2")])
        .await;
    let cookie = cookie_of(&r);
    let mut form = checkout_form(&ship, "k");
    form.retain(|(k, _)| *k != "payment_method");
    form.push(("payment_method", "manual"));
    let r = t.post("/checkout", Some(&cookie), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let pay = r.location().to_string();
    let order_page = t.get(&pay, Some(&cookie)).await.location().to_string();
    let page = t.get(&order_page, None).await;
    assert!(
        page.body.contains("waiting for your payment"),
        "{}",
        page.body
    );
    assert_eq!(t.db.variant(&v).await.unwrap().available, 3);
    let state = storefort_web::AppState::new(t.db.clone(), Default::default());
    // Still reserved after six days...
    t.clock.advance(6 * 24 * 3_600_000);
    assert_eq!(
        storefort_web::payment_flow::release_expired(&state)
            .await
            .unwrap(),
        0
    );
    assert_eq!(t.db.variant(&v).await.unwrap().available, 3);
    // ...released after seven, with the shopper told.
    t.clock.advance(24 * 3_600_000 + 1000);
    assert_eq!(
        storefort_web::payment_flow::release_expired(&state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(t.db.variant(&v).await.unwrap().available, 5);
    let page = t.get(&order_page, None).await;
    assert!(page.body.contains("was cancelled"), "{}", page.body);
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM outbox ORDER BY created_at")
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(kinds, vec!["order_confirmation", "cancellation"]);
}

#[tokio::test]
async fn a_form_from_another_origin_is_refused_without_fetch_metadata() {
    let (t, v, _) = shop().await;
    let post = |origin: &'static str| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/cart/add")
            .header("host", "shop.example")
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("variant_id={v}&quantity=1")))
            .unwrap()
    };
    assert_eq!(
        t.send(post("https://evil.example")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.send(post("https://shop.example")).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_storefront_shows_the_stock_it_can_sell_online() {
    let (t, v, _) = shop().await;
    // Stock at a second location (the till's) is not sold online.
    let till =
        t.db.create_location(storefort_core::catalog::LocationInput {
            name: "High Street".into(),
            kind: storefort_core::catalog::LocationKind::Shop,
        })
        .await
        .unwrap();
    let other = t.product.variants[1].id.0.clone();
    let c = storefort_store::stock::Change {
        variant_id: &other,
        location_id: till.id.as_str(),
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&c, 7, storefort_core::stock::Reason::Received)
        .await
        .unwrap();
    let page = t.get(&format!("/p/{}", t.product.slug), None).await;
    assert_eq!(page.status, StatusCode::OK);
    // The online variant has its 5; the other shows out of stock, with no Add to cart button.
    assert!(
        page.body
            .contains(&format!("name=\"variant_id\" value=\"{v}\"")),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .contains(&format!("name=\"variant_id\" value=\"{other}\"")),
        "{}",
        page.body
    );
    let r = t
        .post(
            "/cart/add",
            None,
            &[("variant_id", &other), ("quantity", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn a_guest_cart_follows_the_shopper_after_signing_in() {
    let (t, v, _) = shop().await;
    // Registered earlier on another device, where a cart with the other size was left.
    let r = t
        .post(
            "/account/register",
            None,
            &[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let phone = cookie_of(&r);
    let other = t.product.variants[1].id.0.clone();
    common::add_stock(&t, &other, 3).await;
    let r = t
        .post(
            "/cart/add",
            Some(&phone),
            &[("variant_id", &other), ("quantity", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // On this device, as a guest, two of the first size; then signing in.
    let r = t
        .post("/cart/add", None, &[("variant_id", &v), ("quantity", "2")])
        .await;
    let guest = cookie_of(&r);
    let r = t
        .post(
            "/account/sign-in",
            Some(&guest),
            &[
                ("email", "ada@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = cookie_of(&r);
    // Both lines are in the shopper's one cart, wherever they look.
    let here = t.get("/cart", Some(&format!("{guest}; {session}"))).await;
    let there = t.get("/cart", Some(&phone)).await;
    for page in [&here, &there] {
        assert!(page.body.contains("SKU LS-M"), "{}", page.body);
        assert!(page.body.contains("SKU LS-L"), "{}", page.body);
    }
    let carts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM carts WHERE customer_id IS NOT NULL")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(carts, 1);
}

#[tokio::test]
async fn an_erased_customers_order_can_still_be_refunded() {
    let (t, v, ship) = shop().await;
    let (cookie, pay) = to_payment(&t, &v, &ship, "key-1").await;
    let sandbox = rel(t.get(&pay, Some(&cookie)).await.location()).to_string();
    let back = rel(t
        .post(&sandbox, None, &[("outcome", "success")])
        .await
        .location())
    .to_string();
    let order_page = t.get(&back, Some(&cookie)).await.location().to_string();
    let id = order_page.trim_start_matches("/orders/");
    let id = storefort_core::ids::OrderId(id.split('?').next().unwrap().to_string());
    let customer = t.db.order_detail(&id).await.unwrap().record.customer_id;
    t.db.erase_customer(&customer, storefort_store::privacy::ErasureReason::Request)
        .await
        .unwrap();
    let state = storefort_web::AppState::new(t.db.clone(), Default::default());
    let to = storefort_web::payment_flow::refund(&state, &id, 500, vec![(0, 1)], "", "staff")
        .await
        .unwrap();
    assert_eq!(
        to,
        storefort_core::order_state::OrderStatus::PartiallyRefunded
    );
    assert_eq!(
        t.db.variant(&v).await.unwrap().available,
        4,
        "one unit restocked"
    );
    // No one to write to: no refund email is queued.
    let refunds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'refund'")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(refunds, 0);
}
