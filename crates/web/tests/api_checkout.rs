//! Cart, checkout and orders through `/api/v1`, as a headless storefront uses them: the server
//! prices everything, a checkout is safe to retry with the same `Idempotency-Key`, payment runs
//! through the sandbox gateway, and staff refunds are checked, permissioned and audited.

mod api_checkout_support;

use api_checkout_support::{setup, DAY_MS, PUBLIC_URL};
use axum::http::StatusCode;
use serde_json::json;
use storefort_store::sandbox::SandboxOutcome;

#[tokio::test]
async fn a_headless_shopper_buys_and_pays_with_the_sandbox() {
    let t = setup().await;
    let methods = t.public("GET", "/api/v1/shipping-methods", &[], None).await;
    assert_eq!(methods.status, StatusCode::OK);
    assert_eq!(methods.body[0]["id"], t.shipping.as_str());
    let pay = t.public("GET", "/api/v1/payment-methods", &[], None).await;
    let ids: Vec<&str> = pay
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"sandbox") && !ids.contains(&"cash"),
        "{ids:?}"
    );
    assert!(pay.body[0]["label"].as_str().is_some_and(|l| !l.is_empty()));

    let cart = t.cart_with(2).await;
    let path = format!("/api/v1/cart?shipping_method_id={}", t.shipping);
    let c = t.cart(&cart, "GET", &path, None).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    // £11 mugs with 20% tax included, £3.95 delivery: tax is 1/6 of each, rounded.
    let q = &c.body["quote"];
    assert_eq!(
        (q["goods_minor"].as_i64(), q["shipping_minor"].as_i64()),
        (Some(2200), Some(395))
    );
    assert_eq!(
        (q["tax_minor"].as_i64(), q["total_minor"].as_i64()),
        (Some(367 + 66), Some(2595))
    );
    assert_eq!(c.body["can_checkout"], true);
    let no_ship = t.cart(&cart, "GET", "/api/v1/cart?country=gb", None).await;
    assert_eq!(
        (
            no_ship.body["quote"]["total_minor"].as_i64(),
            no_ship.body["country"].as_str()
        ),
        (Some(2200), Some("GB"))
    );

    let r = t
        .checkout(&cart, Some("journey-1"), t.details("sandbox"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["total_minor"].as_i64(), r.body["status"].as_str()),
        (Some(2595), Some("pending_payment"))
    );
    assert_eq!(r.body["payment"]["next"], "redirect");
    let url = r.body["payment"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}/sandbox/pay/")),
        "{url}"
    );
    let id = r.body["order_id"].as_str().unwrap();
    let token = r.body["access_token"].as_str().unwrap();
    let reference = url.rsplit('/').next().unwrap();
    let sp = t.db.sandbox_payment(reference).await.unwrap();
    assert_eq!(
        sp.return_url,
        format!("{PUBLIC_URL}/checkout/return/{id}?t={token}")
    );
    assert_eq!(sp.amount_minor, 2595);
    assert_eq!(t.stock().await, 8, "two mugs reserved");

    let before = t.order(id, token).await;
    assert_eq!(
        (before.status, before.body["status"].as_str()),
        (StatusCode::OK, Some("pending_payment"))
    );
    assert!(before.body["pay_url"]
        .as_str()
        .unwrap()
        .contains("/checkout/pay/"));
    t.db.sandbox_set_outcome(reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let o = t.order(id, token).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    assert_eq!(
        (o.body["status"].as_str(), o.body["total_minor"].as_i64()),
        (Some("paid"), Some(2595))
    );
    assert_eq!(o.body["lines"][0]["quantity"], 2);
    let p = &o.body["payments"][0];
    assert_eq!(
        (p["card_brand"].as_str(), p["card_last4"].as_str()),
        (Some("visa"), Some("4242"))
    );
    assert!(
        p.get("reference").is_none() && p.get("checks").is_none(),
        "{p}"
    );
    assert!(o.body["pay_url"].is_null());
    assert!(
        !o.body.to_string().contains("ann@example.com"),
        "no contact details in the shopper view"
    );

    // The token is the only key to the order; wrong or missing is refused.
    let wrong = t.order(id, "not-the-token").await;
    let unknown = t.order("0190f0a0-0000-7000-8000-000000000000", token).await;
    assert_eq!(
        (wrong.status, unknown.status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(wrong.body["error"]["code"], unknown.body["error"]["code"]);
    let none = t
        .public("GET", &format!("/api/v1/orders/{id}"), &[], None)
        .await;
    assert_eq!(
        (none.status, none.body["error"]["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("X-Order-Token"))
    );

    // The ordered cart cannot change any more.
    let add = t
        .cart(
            &cart,
            "POST",
            "/api/v1/cart/lines",
            Some(json!({"variant_id": t.variant, "quantity": 1})),
        )
        .await;
    assert_eq!(add.status, StatusCode::CONFLICT, "{}", add.body);
    assert_eq!(t.stock().await, 8);
}

#[tokio::test]
async fn a_price_sent_by_the_client_is_refused_and_changes_nothing() {
    let t = setup().await;
    let cart = t.new_cart().await;
    let r = t
        .cart(
            &cart,
            "POST",
            "/api/v1/cart/lines",
            Some(json!({"variant_id": t.variant, "quantity": 1, "price_minor": 1})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("price_minor"))
    );
    let c = t.cart(&cart, "GET", "/api/v1/cart", None).await;
    assert_eq!(
        c.body["cart"]["lines"].as_array().unwrap().len(),
        0,
        "nothing was added"
    );

    let cart = t.cart_with(1).await;
    let r = t
        .cart(
            &cart,
            "PUT",
            &format!("/api/v1/cart/lines/{}", t.variant),
            Some(json!({"quantity": 3, "price": 0})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("price"))
    );
    let before = t.snapshot().await;
    let mut body = t.details("sandbox");
    body["total_minor"] = json!(1);
    let r = t.checkout(&cart, Some("tampered"), body).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("total_minor"))
    );
    assert_eq!(t.snapshot().await, before, "no order, no stock taken");
    let c = t.cart(&cart, "GET", "/api/v1/cart", None).await;
    assert_eq!(
        (
            c.body["cart"]["lines"][0]["quantity"].as_i64(),
            c.body["quote"]["total_minor"].as_i64()
        ),
        (Some(1), Some(1100))
    );
    assert!(c.body["cart"]["order_id"].is_null());
}

#[tokio::test]
async fn a_replayed_checkout_finds_the_same_order_and_reserves_once() {
    let t = setup().await;
    let cart = t.cart_with(2).await;
    let first = t
        .checkout(&cart, Some("key-123"), t.details("sandbox"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = t
        .checkout(&cart, Some("key-123"), t.details("sandbox"))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["order_id"], first.body["order_id"]);
    assert_eq!(
        (again.body["number"].clone(), again.body["replayed"].clone()),
        (first.body["number"].clone(), json!(true))
    );
    assert_eq!(again.body["access_token"], first.body["access_token"]);
    assert!(again.body["payment"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{PUBLIC_URL}/checkout/pay/")));
    assert_eq!(
        (t.orders().await, t.stock().await),
        (1, 8),
        "one order, stock taken once"
    );
    let ledger = t.db.movements(&t.variant, None, 50).await.unwrap();
    assert_eq!(ledger.items.iter().filter(|m| m.delta < 0).count(), 1);

    // Another key on the ordered cart is a conflict, not a second order.
    let other = t
        .checkout(&cart, Some("key-456"), t.details("sandbox"))
        .await;
    assert_eq!(
        (other.status, other.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("cart"))
    );
    assert_eq!((t.orders().await, t.stock().await), (1, 8));
}

#[tokio::test]
async fn checkout_without_an_idempotency_key_is_refused_naming_it() {
    let t = setup().await;
    let cart = t.cart_with(1).await;
    let before = t.snapshot().await;
    let r = t.checkout(&cart, None, t.details("sandbox")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "Idempotency-Key");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    let no_cart = t
        .public(
            "POST",
            "/api/v1/checkout",
            &[("idempotency-key", "k")],
            Some(t.details("sandbox")),
        )
        .await;
    assert_eq!(
        (no_cart.status, no_cart.body["error"]["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("X-Cart-Token"))
    );
    let bad_pay = t.checkout(&cart, Some("k"), t.details("cash")).await;
    assert_eq!(
        (bad_pay.status, bad_pay.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("payment_method"))
    );
    let mut bad_phone = t.details("sandbox");
    bad_phone["phone"] = json!("12");
    let r = t.checkout(&cart, Some("k"), bad_phone).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("phone"))
    );
    assert_eq!(t.snapshot().await, before);
}

#[tokio::test]
async fn discount_codes_are_checked_by_the_server() {
    let t = setup().await;
    let cart = t.cart_with(2).await;
    let r = t
        .cart(
            &cart,
            "PUT",
            "/api/v1/cart/discount",
            Some(json!({"code": "NOPE"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("discount_code"))
    );
    let code = t
        .db
        .create_discount_code(&serde_json::from_value(json!({"id": "", "code": "save10", "kind": "percent", "value": 1000,
            "min_spend_minor": 0, "expires_at": null, "usage_limit": null, "used_count": 0, "enabled": true})).unwrap())
        .await
        .unwrap();
    let r = t
        .cart(
            &cart,
            "PUT",
            "/api/v1/cart/discount",
            Some(json!({"code": " save10 "})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["cart"]["discount_code"].as_str(),
            r.body["quote"]["discount_minor"].as_i64()
        ),
        (Some("SAVE10"), Some(220))
    );
    // Switched off after it was applied: checkout refuses it, naming the code.
    t.db.set_discount_enabled(&code.id, false).await.unwrap();
    let c = t.cart(&cart, "GET", "/api/v1/cart", None).await;
    assert_eq!(
        (
            c.body["problems"][0]["field"].as_str(),
            c.body["quote"]["discount_minor"].as_i64()
        ),
        (Some("discount_code"), Some(0))
    );
    let before = t.snapshot().await;
    let r = t
        .checkout(&cart, Some("with-code"), t.details("sandbox"))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("discount_code"))
    );
    assert_eq!(t.snapshot().await, before);
    let r = t.cart(&cart, "DELETE", "/api/v1/cart/discount", None).await;
    assert!(r.body["cart"]["discount_code"].is_null());
    let r = t
        .checkout(&cart, Some("with-code"), t.details("sandbox"))
        .await;
    assert_eq!(
        (r.status, r.body["total_minor"].as_i64()),
        (StatusCode::CREATED, Some(2595))
    );
}

#[tokio::test]
async fn an_expired_cart_is_gone_and_sold_out_is_a_conflict() {
    let t = setup().await;
    let cart = t.cart_with(2).await;
    let late = t.cart_with(1).await;
    // Someone else buys the stock meanwhile: 1 left.
    let change = storefort_store::stock::Change {
        variant_id: &t.variant,
        location_id: &t.location,
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&change, -9, storefort_core::stock::Reason::Sale)
        .await
        .unwrap();
    let before = t.snapshot().await;
    let r = t
        .checkout(&cart, Some("sold-out"), t.details("sandbox"))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("quantity")),
        "{}",
        r.body
    );
    assert_eq!(t.snapshot().await, before);

    t.clock.advance(14 * DAY_MS + 1);
    let g = t.cart(&late, "GET", "/api/v1/cart", None).await;
    assert_eq!(g.status, StatusCode::GONE, "{}", g.body);
    let r = t
        .checkout(&late, Some("too-late"), t.details("sandbox"))
        .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    let r = t
        .cart(
            &late,
            "POST",
            "/api/v1/cart/lines",
            Some(json!({"variant_id": t.variant, "quantity": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(
        t.snapshot().await,
        before,
        "nothing ordered, nothing reserved"
    );
    let unknown = t.cart("no-such-token", "GET", "/api/v1/cart", None).await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("X-Cart-Token"))
    );
}
