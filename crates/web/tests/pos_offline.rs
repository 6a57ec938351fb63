//! Offline sales through the till's API: synced exactly once, refused (and audited) when
//! tampered, over the limit, paid by card, or not covered by the offline grant of the cashier
//! who unlocked the till; an oversold one is kept with a stock alert.

mod common;
mod pos_support;

use axum::http::StatusCode;
use pos_support::*;
use serde_json::json;

#[tokio::test]
async fn offline_sales_sync_once_and_tampered_ones_are_refused() {
    let t = common::app().await;
    let mut till = selling(&t).await;
    let shift = call(&t, "GET", "/pos/api/shift", Some(&till), None).await;
    let shift_id = shift.body["shift"]["id"].as_str().unwrap().to_string();
    till.token.clear(); // the queue syncs with the device credential only
    let offline = |key: &str, total: i64| {
        json!({
            "key": key,
            "lines": [{"variant_id": shirt_m(&t), "quantity": 1, "unit_price_minor": 4_500}],
            "payments": [{"method": "cash", "amount_minor": total, "tendered_minor": 5_000}],
            "total_minor": total,
            "cashier_id": till.cashier_id,
            "sold_at": t.db.now() - 60_000,
            "shift_id": shift_id,
            "grant": till.grant,
        })
    };
    // Totals that do not match the shop's prices: refused, audited, nothing written.
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(offline("offline-bad", 100)),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert_eq!(res.code(), "total_mismatch");
    assert!(audit_actions(&t)
        .await
        .contains(&"pos.offline_sale_refused".to_string()));
    assert_eq!(till_orders(&t).await, 0);
    // Card payments cannot be made offline.
    let mut card = offline("offline-card", 4_500);
    card["payments"] = json!([{"method": "card", "amount_minor": 4_500}]);
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(card),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A good one, sent twice (the answer was lost): one sale.
    for want in [StatusCode::CREATED, StatusCode::OK] {
        let res = call(
            &t,
            "POST",
            "/pos/api/sales/offline",
            Some(&till),
            Some(offline("offline-0001", 4_500)),
        )
        .await;
        assert_eq!(res.status, want, "{:?}", res.body);
    }
    assert_eq!(till_orders(&t).await, 1);
    // Above the offline limit (default £200): refused.
    let mut big = offline("offline-big", 4_500 * 5);
    big["lines"][0]["quantity"] = json!(5);
    big["payments"][0]["tendered_minor"] = json!(30_000);
    let res = call(&t, "POST", "/pos/api/sales/offline", Some(&till), Some(big)).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert_eq!(till_orders(&t).await, 1);
}

#[tokio::test]
async fn an_offline_sale_that_oversold_is_kept_with_a_stock_alert() {
    let t = common::app().await;
    let mut till = selling(&t).await;
    till.token.clear();
    let body = json!({
        "key": "offline-over",
        "lines": [{"variant_id": shirt_m(&t), "quantity": 3, "unit_price_minor": 4_500}],
        "payments": [{"method": "cash", "amount_minor": 13_500, "tendered_minor": 13_500}],
        "total_minor": 13_500,
        "cashier_id": till.cashier_id,
        "grant": till.grant,
    });
    // Someone sold 98 of the 100 online meanwhile.
    let c = storefort_store::stock::Change {
        variant_id: &shirt_m(&t),
        location_id: t.location.id.as_str(),
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&c, -98, storefort_core::stock::Reason::Correction)
        .await
        .unwrap();
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(body),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    assert_eq!(res.body["stock_alerts"][0]["short_by"], 1);
    let alerts = t.db.stock_alerts(true, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
}

#[tokio::test]
async fn offline_sales_need_the_grant_of_the_cashier_who_unlocked_the_till() {
    let t = common::app().await;
    let mut till = selling(&t).await;
    let grant = till.grant.clone();
    till.token.clear();
    let sale = |key: &str, grant: &str, who: &str, at: i64| {
        json!({
            "key": key,
            "lines": [{"variant_id": shirt_m(&t), "quantity": 1, "unit_price_minor": 4_500}],
            "payments": [{"method": "cash", "amount_minor": 4_500, "tendered_minor": 4_500}],
            "total_minor": 4_500,
            "cashier_id": who,
            "sold_at": at,
            "grant": grant,
        })
    };
    let now = t.db.now();
    // The device's credential alone (a locked or stolen till) cannot make sales.
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(sale("offline-nogrant", "", &till.cashier_id, now)),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert_eq!(res.body["field"], "grant");
    // Nor can it put the sale on someone else (the manager, to lift the discount limit).
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(sale("offline-other", &grant, &till.manager_id, now)),
    )
    .await;
    assert_eq!(res.body["field"], "cashier_id", "{:?}", res.body);
    // Sold before the grant existed, or long ago: refused.
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(sale(
            "offline-early",
            &grant,
            &till.cashier_id,
            now - 3_600_000,
        )),
    )
    .await;
    assert_eq!(res.body["field"], "sold_at", "{:?}", res.body);
    assert_eq!(till_orders(&t).await, 0);
    let refused = audit_actions(&t)
        .await
        .iter()
        .filter(|a| *a == "pos.offline_sale_refused")
        .count();
    assert_eq!(refused, 3);
    // A manager signs the cashier out: what was sold before still counts, nothing after.
    t.clock.advance(60_000);
    let before = t.db.now();
    t.clock.advance(60_000);
    t.db.sign_out_cashier(&till.device_id).await.unwrap();
    t.clock.advance(60_000);
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(sale("offline-before", &grant, &till.cashier_id, before)),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    let res = call(
        &t,
        "POST",
        "/pos/api/sales/offline",
        Some(&till),
        Some(sale("offline-after", &grant, &till.cashier_id, t.db.now())),
    )
    .await;
    assert_eq!(res.body["field"], "sold_at", "{:?}", res.body);
    assert_eq!(till_orders(&t).await, 1);
    // Offline, a manager's discount limit does not apply: nobody can approve anything there.
    let mgr = till.manager_id.clone();
    unlock(&t, &mut till, &mgr, MANAGER_PIN).await;
    let mut big = sale("offline-discount", &till.grant, &mgr, t.db.now());
    big["lines"][0]["discount"] = json!({"kind": "percent", "value": 5_000});
    big["total_minor"] = json!(2_250);
    big["payments"] = json!([{"method": "cash", "amount_minor": 2_250, "tendered_minor": 2_250}]);
    till.token.clear();
    let res = call(&t, "POST", "/pos/api/sales/offline", Some(&till), Some(big)).await;
    assert_eq!(res.code(), "approval_required", "{:?}", res.body);
    assert_eq!(till_orders(&t).await, 1);
}
