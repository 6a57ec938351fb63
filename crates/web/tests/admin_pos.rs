//! The "Tills" settings page: the POS settings saved and shown (and refused naming the field,
//! nothing saved), the stock alert an offline oversale leaves, closed with "Recounted", and a
//! closed shift's Z report for the admin (float, cash movements, expected, counted, the
//! difference and who approved it), linked from the shifts list; all audited where they change
//! something.

mod admin_customers_support;
mod common;
mod staff_support;
mod tills_support;

use admin_customers_support::staff;
use axum::http::StatusCode;
use common::app;
use staff_support::{add_staff, audit_log};
use storefort_core::pos::{Discount, TenderInput};
use storefort_core::pos_device_rules::PosSettings;
use storefort_store::pos_sales::{PosLineRequest, PosSaleInput};
use tills_support::{pair, register};

const SETTINGS: [&str; 6] = [
    "idle_lock_minutes",
    "offline_grace_hours",
    "offline_sale_limit",
    "cashier_discount_limit",
    "variance_threshold",
    "cash_out_approval",
];

/// The first five fields as given; cash out above £60.00 needs a manager.
fn form(values: [&str; 5]) -> Vec<(&'static str, &str)> {
    SETTINGS
        .into_iter()
        .zip(values.into_iter().chain(["60.00"]))
        .collect()
}

#[tokio::test]
async fn settings_are_saved_shown_and_audited() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let page = m.get(&t, "/admin/pos").await;
    assert_eq!(page.status, StatusCode::OK);
    for want in [
        "name=\"idle_lock_minutes\" required inputmode=\"numeric\" value=\"5\"",
        "value=\"24\"",
        "value=\"200.00\"",
        "name=\"cashier_discount_limit\" required inputmode=\"numeric\" value=\"10\"",
        "value=\"5.00\"",
        "No open stock alerts.",
        "No shifts yet.",
    ] {
        assert!(page.body.contains(want), "shows {want}: {}", page.body);
    }
    let res = m
        .post(
            &t,
            "/admin/pos",
            &form(["10", "48", "150.00", "12.5", "2.50"]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/pos?done=settings");
    let saved = t.db.pos_settings().await.unwrap();
    assert_eq!(
        saved,
        PosSettings {
            idle_lock_minutes: 10,
            offline_grace_hours: 48,
            offline_sale_limit_minor: 15_000,
            cashier_discount_limit_bp: 1_250,
            variance_threshold_minor: 250,
            cash_out_approval_minor: 6_000,
        }
    );
    let page = m.get(&t, res.location()).await;
    for want in [
        "Till settings saved",
        "value=\"10\"",
        "value=\"48\"",
        "value=\"150.00\"",
        "value=\"12.5\"",
        "value=\"2.50\"",
    ] {
        assert!(page.body.contains(want), "shows {want}");
    }
    let e = audit_log(&t, "pos.settings_changed").await;
    assert_eq!(e.len(), 1);
    assert!(
        e[0].details.contains("idle_lock_minutes 5 -> 10"),
        "{}",
        e[0].details
    );
    assert!(
        e[0].details.contains("cashier_discount_limit 10 -> 12.5"),
        "{}",
        e[0].details
    );
}

#[tokio::test]
async fn bad_settings_are_refused_naming_the_field_and_nothing_is_saved() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    for (values, input, says) in [
        (
            ["0", "24", "200.00", "10", "5.00"],
            "idle_lock_minutes",
            "Lock the till after",
        ),
        (
            ["16", "24", "200.00", "10", "5.00"],
            "idle_lock_minutes",
            "from 1 to 15",
        ),
        (
            ["", "24", "200.00", "10", "5.00"],
            "idle_lock_minutes",
            "Lock the till after",
        ),
        (
            ["5", "169", "200.00", "10", "5.00"],
            "offline_grace_hours",
            "Offline grace period",
        ),
        (
            ["5", "24", "lots", "10", "5.00"],
            "offline_sale_limit",
            "Largest sale a till may take offline",
        ),
        (
            ["5", "24", "200.00", "101", "5.00"],
            "cashier_discount_limit",
            "Cashier discount limit",
        ),
        (
            ["5", "24", "200.00", "1.234", "5.00"],
            "cashier_discount_limit",
            "Cashier discount limit",
        ),
        (
            ["5", "24", "200.00", "10", "-1"],
            "variance_threshold",
            "Cash difference",
        ),
    ] {
        let res = m.post(&t, "/admin/pos", &form(values)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{values:?}");
        assert!(res.body.contains(says), "{says}: {}", res.body);
        let id = format!("id=\"pos-{input}\"");
        let at = res.body.find(&id).unwrap();
        let tag = &res.body[at..at + res.body[at..].find('>').unwrap()];
        assert!(
            tag.contains("aria-invalid=\"true\""),
            "{input} marked: {tag}"
        );
        assert_eq!(
            res.body.matches("aria-invalid=\"true\"").count(),
            1,
            "only {input} marked"
        );
        assert!(
            res.body.contains(&format!("value=\"{}\"", values[2])),
            "typed kept"
        );
        assert_eq!(t.db.pos_settings().await.unwrap(), PosSettings::default());
    }
    assert!(audit_log(&t, "pos.settings_changed").await.is_empty());
}

#[tokio::test]
async fn an_offline_oversale_alert_is_closed_with_recounted() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let (d, code) = register(&t, &m, "Market stall").await;
    pair(&t, &code).await;
    let cal = add_staff(&t, "cal@example.com", "cashier").await;
    let v = &t.product.variants[0];
    // Nothing in stock at the till's location: the offline sale of 3 stands, short by 3.
    let sale =
        t.db.create_pos_sale(&PosSaleInput {
            sale_key: "offline-sale-0001".into(),
            device_id: d.id.clone(),
            cashier_id: cal.id.as_str().to_string(),
            approved_by: None,
            customer_id: None,
            receipt_email: None,
            lines: vec![PosLineRequest {
                variant_id: v.id.as_str().to_string(),
                quantity: 3,
                discount: Discount::None,
                unit_price_minor: None,
            }],
            order_discount: Discount::None,
            tenders: vec![TenderInput::Cash {
                amount_minor: 13_500,
                tendered_minor: 14_000,
            }],
            expected_total_minor: None,
            offline: true,
            sold_at: t.db.now(),
            shift_id: None,
        })
        .await
        .unwrap();
    assert_eq!(sale.stock_alerts.len(), 1);
    let alert = &sale.stock_alerts[0];

    let page = m.get(&t, "/admin/pos").await;
    for want in [
        "Sold 3 more than the shop had".to_string(),
        format!("#{}", sale.number),
        format!("/admin/pos/alerts/{}/resolve", alert.id),
        format!("/admin/variants/{}/stock", v.id.as_str()),
        "Linen Shirt".to_string(),
    ] {
        assert!(page.body.contains(&want), "shows {want}: {}", page.body);
    }
    let res = m
        .post(&t, &format!("/admin/pos/alerts/{}/resolve", alert.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/pos?done=recounted");
    assert!(t.db.stock_alerts(true, 100).await.unwrap().is_empty());
    let page = m.get(&t, "/admin/pos").await;
    assert!(page.body.contains("No open stock alerts."));
    let e = audit_log(&t, "pos.stock_alert_resolved").await;
    assert_eq!(e.len(), 1);
    assert!(
        e[0].details.contains("sold 3 more than the shop had"),
        "{}",
        e[0].details
    );
    let unknown = "/admin/pos/alerts/0190f0a0-0000-7000-8000-000000000000/resolve";
    assert_eq!(m.post(&t, unknown, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_closed_shift_has_a_printable_z_report() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let manager =
        t.db.user_by_email("manager@example.com")
            .await
            .unwrap()
            .unwrap();
    let (d, code) = register(&t, &m, "Front counter").await;
    pair(&t, &code).await;
    let cal = add_staff(&t, "cal@example.com", "cashier").await;
    let cal_id = cal.id.as_str();
    let shift = t.db.open_shift(&d.id, cal_id, 10_000).await.unwrap();
    t.db.cash_movement(&shift.id, "in", 2_000, "Change from the bank", cal_id)
        .await
        .unwrap();
    t.db.cash_movement(&shift.id, "out", 500, "Window cleaner", cal_id)
        .await
        .unwrap();
    // Expected 100.00 + 20.00 - 5.00 = 115.00; counted 105.00: 10.00 short, approved.
    let closed =
        t.db.close_shift(
            &shift.id,
            cal_id,
            10_500,
            "Till drawer stuck",
            Some(manager.id.as_str()),
            500,
        )
        .await
        .unwrap();
    assert_eq!(closed.variance_minor, Some(-1_000));

    let list = m.get(&t, "/admin/pos").await;
    let link = format!("href=\"/admin/shifts/{}\"", shift.id);
    assert!(list.body.contains(&link), "{}", list.body);
    assert!(list.body.contains("-£10.00"));
    let z = m.get(&t, &format!("/admin/shifts/{}", shift.id)).await;
    assert_eq!(z.status, StatusCode::OK, "{}", z.body);
    for want in [
        format!("Z report #{}", shift.number),
        "Front counter".into(),
        "£100.00".into(),
        "Change from the bank".into(),
        "Window cleaner".into(),
        "£115.00".into(),
        "£105.00".into(),
        "-£10.00".into(),
        "Sam Staff".into(),
        "Till drawer stuck".into(),
        "No sales.".into(),
        "z-report".into(),
    ] {
        assert!(z.body.contains(&want), "Z report shows {want}: {}", z.body);
    }
    let unknown = "/admin/shifts/0190f0a0-0000-7000-8000-000000000000";
    assert_eq!(m.get(&t, unknown).await.status, StatusCode::NOT_FOUND);
}
