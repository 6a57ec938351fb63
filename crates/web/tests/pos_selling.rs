//! Selling through the till's API: server prices and totals, cash with change, card with at
//! most brand and last 4, split payments, discounts above the cashier's limit needing a
//! manager's PIN, refunds (manager's PIN, never above the sale), shifts with the expected cash
//! and the Z report, receipts. Offline sales are in `pos_offline.rs`.

mod common;
mod pos_support;

use axum::http::StatusCode;
use pos_support::*;
use serde_json::json;

#[tokio::test]
async fn a_cash_sale_gives_change_a_receipt_and_replays_as_one_sale() {
    let t = common::app().await;
    let till = selling(&t).await;
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(cash_sale(&t, "sale-0001", 2, 10_000)),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    assert_eq!(res.body["total_minor"], 9_000);
    assert_eq!(res.body["change_minor"], 1_000);
    let number = res.body["number"].as_i64().unwrap();
    // The device retries (a lost answer): the same sale, not a second one.
    let again = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(cash_sale(&t, "sale-0001", 2, 10_000)),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["number"].as_i64().unwrap(), number);
    assert_eq!(till_orders(&t).await, 1);
    // The receipt: shop, lines, total, change, the number as a barcode.
    let r = t
        .get(
            &format!("/pos/receipt/{number}?paper=58"),
            Some(&till.cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for part in [
        "Linen Shirt",
        "£90.00",
        "£10.00",
        "Casey Cashier",
        "<svg",
        "receipt-58.css",
    ] {
        assert!(r.body.contains(part), "receipt lacks {part}");
    }
    assert_eq!(
        t.get(
            &format!("/pos/receipt/{number}?paper=99"),
            Some(&till.cookie)
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Without the till's cookie: no receipt.
    assert_eq!(
        t.get(&format!("/pos/receipt/{number}"), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The admin's order page: a till sale, not an erased customer.
    let (cookie, _) = t.login().await;
    let id = res.body["order_id"].as_str().unwrap();
    let page = t.get(&format!("/admin/orders/{id}"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Sold at the till") && !page.body.contains("erased"),
        "{}",
        page.body
    );
    // Stock went down at the till's location.
    let levels = t.db.stock_levels(&shirt_m(&t)).await.unwrap();
    assert_eq!(
        levels
            .iter()
            .find(|l| l.location_id == t.location.id)
            .unwrap()
            .quantity,
        98
    );
}

#[tokio::test]
async fn card_and_split_payments_keep_at_most_brand_and_last_four() {
    let t = common::app().await;
    let till = selling(&t).await;
    let body = json!({
        "key": "split-0001",
        "lines": [{"variant_id": shirt_m(&t), "quantity": 1, "unit_price_minor": 4_500}],
        "payments": [
            {"method": "cash", "amount_minor": 500, "tendered_minor": 500},
            {"method": "card", "amount_minor": 4_000, "brand": "visa", "last4": "4242"}
        ],
        "total_minor": 4_500,
    });
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    let n = res.body["number"].as_i64().unwrap();
    let sale = call(&t, "GET", &format!("/pos/api/sales/{n}"), Some(&till), None).await;
    let pays = sale.body["payments"].as_array().unwrap();
    assert_eq!(pays.len(), 2);
    // The receipt: cash given is the cash part only.
    let r = t
        .get(&format!("/pos/receipt/{n}"), Some(&till.cookie))
        .await;
    assert!(
        r.body.contains("Cash given</td><td class=\"amount\">£5.00"),
        "{}",
        r.body
    );
    assert!(pays
        .iter()
        .any(|p| p["last4"] == "4242" && p["brand"] == "visa"));
    // A card number typed into last4 is refused and never stored.
    let pan = json!({
        "key": "pan-00001",
        "lines": [{"variant_id": shirt_m(&t), "quantity": 1}],
        "payments": [{"method": "card", "amount_minor": 4_500, "last4": "4242424242424242"}],
        "total_minor": 4_500,
    });
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(pan)).await;
    assert!(res.status.is_client_error(), "{:?}", res.body);
    assert_eq!(till_orders(&t).await, 1);
    // Payments that do not add up to the total: refused, naming payments.
    let short = json!({
        "key": "short-0001",
        "lines": [{"variant_id": shirt_m(&t), "quantity": 1}],
        "payments": [{"method": "cash", "amount_minor": 4_000, "tendered_minor": 4_000}],
    });
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(short)).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert!(
        res.body["field"].as_str().unwrap().starts_with("payments"),
        "{:?}",
        res.body
    );
    assert_eq!(till_orders(&t).await, 1);
}

#[tokio::test]
async fn a_discount_above_the_cashiers_limit_needs_a_managers_pin() {
    let t = common::app().await;
    let till = selling(&t).await;
    // 25% off one shirt: £45.00 -> £33.75.
    let sale = |approver: Option<serde_json::Value>| {
        let mut b = json!({
            "key": "disc-0001",
            "lines": [{"variant_id": shirt_m(&t), "quantity": 1, "discount": {"kind": "percent", "value": 2_500}}],
            "payments": [{"method": "cash", "amount_minor": 3_375, "tendered_minor": 4_000}],
            "total_minor": 3_375,
        });
        if let Some(a) = approver {
            b["approver"] = a;
        }
        b
    };
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(sale(None))).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{:?}", res.body);
    assert_eq!(res.code(), "approval_required");
    assert!(
        res.body["message"].as_str().unwrap().contains("25%"),
        "{:?}",
        res.body
    );
    // The cashier cannot approve themselves.
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(sale(Some(
            json!({"user_id": till.cashier_id, "pin": CASHIER_PIN}),
        ))),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(sale(Some(
            json!({"user_id": till.manager_id, "pin": "86420"}),
        ))),
    )
    .await;
    assert_eq!(res.code(), "wrong_pin");
    assert_eq!(res.body["field"], "approver.pin");
    assert_eq!(till_orders(&t).await, 0);
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(sale(Some(
            json!({"user_id": till.manager_id, "pin": MANAGER_PIN}),
        ))),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    assert_eq!(res.body["change_minor"], 625);
    assert!(audit_actions(&t)
        .await
        .contains(&"pos.approval".to_string()));
}

#[tokio::test]
async fn refunds_need_a_manager_and_never_exceed_the_sale() {
    let t = common::app().await;
    let till = selling(&t).await;
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(cash_sale(&t, "refund-sale-1", 2, 9_000)),
    )
    .await;
    let n = res.body["number"].as_i64().unwrap();
    let path = format!("/pos/api/sales/{n}/refund");
    let body = |qty: i64, approver: bool| {
        let mut b = json!({"key": format!("refund-key-{qty}"), "lines": [{"position": 0, "quantity": qty}], "method": "cash", "restock": true, "reason": "too small"});
        if approver {
            b["approver"] = json!({"user_id": till.manager_id, "pin": MANAGER_PIN});
        }
        b
    };
    let res = call(&t, "POST", &path, Some(&till), Some(body(1, false))).await;
    assert_eq!(res.code(), "approval_required");
    let res = call(&t, "POST", &path, Some(&till), Some(body(3, true))).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{:?}", res.body);
    let sale = call(&t, "GET", &format!("/pos/api/sales/{n}"), Some(&till), None).await;
    assert_eq!(
        sale.body["lines"][0]["refundable_quantity"], 2,
        "nothing changed"
    );
    let res = call(&t, "POST", &path, Some(&till), Some(body(1, true))).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["amount_minor"], 4_500);
    let sale = call(&t, "GET", &format!("/pos/api/sales/{n}"), Some(&till), None).await;
    assert_eq!(sale.body["lines"][0]["refundable_quantity"], 1);
    assert!(audit_actions(&t).await.contains(&"pos.refund".to_string()));
    // The drawer: £100 float + £90 sale - £45 refund.
    let shift = call(&t, "GET", "/pos/api/shift", Some(&till), None).await;
    assert_eq!(shift.body["expected_minor"], 14_500);
}

#[tokio::test]
async fn shifts_count_the_drawer_and_print_a_z_report() {
    let t = common::app().await;
    let till = selling(&t).await;
    call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(cash_sale(&t, "zreport-1", 1, 5_000)),
    )
    .await;
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/cash",
        Some(&till),
        Some(json!({"kind": "out", "amount_minor": 1_000, "reason": "window cleaner"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["expected_minor"], 13_500);
    let bad = call(
        &t,
        "POST",
        "/pos/api/shift/cash",
        Some(&till),
        Some(json!({"kind": "sideways", "amount_minor": 1_000, "reason": "x"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // More than £50 out of the drawer needs a manager: refused, nothing recorded, then approved.
    let big = json!({"kind": "out", "amount_minor": 6_000, "reason": "banking"});
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/cash",
        Some(&till),
        Some(big.clone()),
    )
    .await;
    assert_eq!(res.code(), "approval_required", "{:?}", res.body);
    let shift = call(&t, "GET", "/pos/api/shift", Some(&till), None).await;
    assert_eq!(shift.body["expected_minor"], 13_500);
    let mut ok = big;
    ok["approver"] = json!({"user_id": till.manager_id, "pin": MANAGER_PIN});
    let res = call(&t, "POST", "/pos/api/shift/cash", Some(&till), Some(ok)).await;
    assert_eq!(res.body["expected_minor"], 7_500, "{:?}", res.body);
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/cash",
        Some(&till),
        Some(json!({"kind": "in", "amount_minor": 6_000, "reason": "back from the bank"})),
    )
    .await;
    assert_eq!(
        res.body["expected_minor"], 13_500,
        "cash in needs no approval: {:?}",
        res.body
    );
    // £20 short: above the £5 threshold, so a manager must approve.
    let close = |approver: bool| {
        let mut b = json!({"counted_minor": 11_500, "note": "busy day"});
        if approver {
            b["approver"] = json!({"user_id": till.manager_id, "pin": MANAGER_PIN});
        }
        b
    };
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/close",
        Some(&till),
        Some(close(false)),
    )
    .await;
    assert_eq!(res.code(), "approval_required");
    assert!(
        res.body["message"]
            .as_str()
            .unwrap()
            .contains("£20.00 short"),
        "{:?}",
        res.body
    );
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/close",
        Some(&till),
        Some(close(true)),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["shift"]["variance_minor"], -2_000);
    let z = t
        .get(
            res.body["z_report_url"].as_str().unwrap(),
            Some(&till.cookie),
        )
        .await;
    assert_eq!(z.status, StatusCode::OK);
    for part in [
        "Z report",
        "£45.00",
        "window cleaner",
        "Morgan Manager",
        "£115.00",
    ] {
        assert!(z.body.contains(part), "Z report lacks {part}");
    }
    // No shift open now: cash movements are refused.
    let res = call(
        &t,
        "POST",
        "/pos/api/shift/cash",
        Some(&till),
        Some(json!({"kind": "in", "amount_minor": 100, "reason": "x"})),
    )
    .await;
    assert_eq!(res.code(), "no_shift");
}

#[tokio::test]
async fn prices_are_the_servers() {
    let t = common::app().await;
    let till = selling(&t).await;
    let mut body = cash_sale(&t, "price-0001", 1, 5_000);
    body["lines"][0]["unit_price_minor"] = json!(100);
    body["total_minor"] = json!(100);
    body["payments"][0]["amount_minor"] = json!(100);
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(body)).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{:?}", res.body);
    assert_eq!(res.body["field"], "lines[0].unit_price_minor");
    assert_eq!(till_orders(&t).await, 0);
    let unknown = json!({"key": "price-0002", "lines": [{"variant_id": "nope", "quantity": 1}], "payments": [{"method": "cash", "amount_minor": 1}]});
    let res = call(&t, "POST", "/pos/api/sales", Some(&till), Some(unknown)).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert_eq!(res.body["field"], "lines[0].variant_id");
}

#[tokio::test]
async fn no_sale_without_an_open_shift() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    let res = call(
        &t,
        "POST",
        "/pos/api/sales",
        Some(&till),
        Some(cash_sale(&t, "noshift-1", 1, 5_000)),
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{:?}", res.body);
    assert_eq!(res.code(), "no_shift");
    assert_eq!(till_orders(&t).await, 0);
}
