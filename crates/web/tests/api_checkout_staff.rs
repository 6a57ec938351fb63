//! Staff work on orders through `/api/v1/admin/orders`: listing and opening (audited), fulfil,
//! cancel and refund, each checked before money moves, refused for roles without the
//! permission (and for API keys), and audited without personal data. Also: every new route is
//! in the OpenAPI document with its tag.

mod api_checkout_support;

use api_checkout_support::setup;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn staff_list_and_open_orders() {
    let t = setup().await;
    let (id, _, _) = t.paid_order().await;
    let number =
        t.db.order_detail(&storefort_core::ids::OrderId(id.clone()))
            .await
            .unwrap()
            .summary
            .number;
    // Staff see it in the list (audited), an API key does not.
    let list = t
        .staff(
            &t.manager,
            "GET",
            "/api/v1/admin/orders?status=paid&channel=api",
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["items"][0]["id"], id);
    assert_eq!(
        t.audit("orders.listed").await[0].actor,
        "manager@example.com"
    );
    let bad = t
        .staff(&t.manager, "GET", "/api/v1/admin/orders?status=lost", None)
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let detail = t
        .staff(
            &t.cashier,
            "GET",
            &format!("/api/v1/admin/orders/{id}"),
            None,
        )
        .await;
    assert_eq!(
        (detail.status, detail.body["summary"]["number"].as_i64()),
        (StatusCode::OK, Some(number))
    );
    assert_eq!(
        t.key("GET", "/api/v1/admin/orders", None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.audit("order.viewed").await[0].actor,
        "cashier@example.com"
    );
}

#[tokio::test]
async fn refunds_are_checked_permissioned_and_audited() {
    let t = setup().await;
    let (id, _, reference) = t.paid_order().await;
    let path = format!("/api/v1/admin/orders/{id}/refund");
    let body = json!({"amount_minor": 1100, "restock": [{"position": 0, "quantity": 1}], "reason": "chipped"});
    let before = t.snapshot().await;
    let r = t.staff(&t.cashier, "POST", &path, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t.key("POST", &path, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t
        .staff(
            &t.manager,
            "POST",
            &path,
            Some(json!({"amount_minor": 2596})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("amount_minor")),
        "{}",
        r.body
    );
    let r = t
        .staff(
            &t.manager,
            "POST",
            &path,
            Some(json!({"amount_minor": 100, "restock": [{"position": 0, "quantity": 3}]})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("restock[0].quantity")
        )
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "refused refunds changed nothing"
    );
    assert_eq!(
        t.db.sandbox_payment(&reference)
            .await
            .unwrap()
            .refunded_minor,
        0
    );
    assert!(t.audit("order.refunded").await.is_empty());

    let r = t.staff(&t.manager, "POST", &path, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["summary"]["status"].as_str(),
            r.body["summary"]["refunded_minor"].as_i64()
        ),
        (Some("partially_refunded"), Some(1100))
    );
    assert_eq!(t.stock().await, 9, "one mug back on the shelf");
    assert_eq!(
        t.db.sandbox_payment(&reference)
            .await
            .unwrap()
            .refunded_minor,
        1100
    );
    let a = t.audit("order.refunded").await;
    assert_eq!(
        (a.len(), a[0].actor.as_str(), a[0].target.as_str()),
        (1, "manager@example.com", id.as_str())
    );
    assert!(
        a[0].details.contains("£11.00")
            && !a[0].details.contains("ann@")
            && !a[0].details.contains("chipped"),
        "{}",
        a[0].details
    );
    let more = t
        .staff(
            &t.manager,
            "POST",
            &path,
            Some(json!({"amount_minor": 1496})),
        )
        .await;
    assert_eq!(
        more.status,
        StatusCode::CONFLICT,
        "only £14.95 is left: {}",
        more.body
    );
}

#[tokio::test]
async fn staff_cancel_and_fulfil_through_the_api() {
    let t = setup().await;
    let cart = t.cart_with(3).await;
    let r = t
        .checkout(&cart, Some("to-cancel"), t.details("manual"))
        .await;
    assert_eq!(
        (
            r.status,
            r.body["status"].as_str(),
            r.body["payment"]["next"].as_str()
        ),
        (StatusCode::CREATED, Some("on_hold"), Some("none"))
    );
    let id = r.body["order_id"].as_str().unwrap();
    assert_eq!(t.stock().await, 7);
    let path = format!("/api/v1/admin/orders/{id}/cancel");
    let before = t.snapshot().await;
    assert_eq!(
        t.staff(&t.cashier, "POST", &path, Some(json!({"reason": "asked"})))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = t
        .staff(&t.manager, "POST", &path, Some(json!({"reason": " "})))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    assert_eq!(t.snapshot().await, before);
    let r = t
        .staff(
            &t.manager,
            "POST",
            &path,
            Some(json!({"reason": "customer asked"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["summary"]["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{}",
        r.body
    );
    assert_eq!(t.stock().await, 10, "stock returned");
    let a = t.audit("order.cancelled").await;
    assert_eq!(
        (a[0].actor.as_str(), a[0].details.contains("was on_hold")),
        ("manager@example.com", true),
        "{}",
        a[0].details
    );

    let (paid, _, _) = t.paid_order().await;
    let r = t
        .staff(
            &t.manager,
            "POST",
            &format!("/api/v1/admin/orders/{paid}/cancel"),
            Some(json!({"reason": "oops"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a paid order is refunded, not cancelled"
    );
    let r = t
        .staff(
            &t.manager,
            "POST",
            &format!("/api/v1/admin/orders/{paid}/fulfil"),
            Some(json!({"tracking": "RM123"})),
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["summary"]["status"].as_str(),
            r.body["tracking"].as_str()
        ),
        (StatusCode::OK, Some("fulfilled"), Some("RM123"))
    );
    assert_eq!(t.audit("order.fulfilled").await.len(), 1);
}

#[tokio::test]
async fn the_new_routes_are_in_the_openapi_document() {
    let t = setup().await;
    let doc = t
        .public("GET", "/api/v1/openapi.json", &[], None)
        .await
        .body;
    for (method, path, tag) in [
        ("post", "/api/v1/carts", "cart"),
        ("get", "/api/v1/cart", "cart"),
        ("post", "/api/v1/cart/lines", "cart"),
        ("put", "/api/v1/cart/lines/{variant_id}", "cart"),
        ("delete", "/api/v1/cart/lines/{variant_id}", "cart"),
        ("put", "/api/v1/cart/discount", "cart"),
        ("delete", "/api/v1/cart/discount", "cart"),
        ("get", "/api/v1/shipping-methods", "checkout"),
        ("get", "/api/v1/payment-methods", "checkout"),
        ("post", "/api/v1/checkout", "checkout"),
        ("get", "/api/v1/orders/{id}", "orders"),
        ("get", "/api/v1/admin/orders", "orders"),
        ("get", "/api/v1/admin/orders/{id}", "orders"),
        ("post", "/api/v1/admin/orders/{id}/fulfil", "orders"),
        ("post", "/api/v1/admin/orders/{id}/cancel", "orders"),
        ("post", "/api/v1/admin/orders/{id}/refund", "orders"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"][0], tag, "{method} {path}");
        // Shopper routes need no staff credentials; staff routes keep the document's default.
        assert_eq!(
            op["security"] == json!([{}]),
            !path.contains("/admin/"),
            "{method} {path}"
        );
    }
    for s in [
        "CheckoutInput",
        "CheckoutResult",
        "PricedCart",
        "ShopperOrder",
        "OrderDetail",
        "RefundInput",
    ] {
        assert!(doc["components"]["schemas"][s].is_object(), "{s}");
    }
}
