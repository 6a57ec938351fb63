//! Till sales and the till's catalog on both engines: payments and change, discounts, refused
//! input with nothing written, replays (also concurrent), offline oversell alerts, search.
//! Refunds and shifts are in `pos_drawer.rs`.

mod common;
mod pos_support;

use storefort_core::ids::CustomerId;
use storefort_core::order_state::OrderStatus;
use storefort_core::pos::Discount;
use storefort_store::StoreError;

use pos_support::*;

#[tokio::test]
async fn cash_sale_with_change_is_a_fulfilled_till_order() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let mut s = sale(
            &t,
            "sale-0001",
            vec![line(&t.mug, 2)],
            vec![cash(2400, 3000)],
        );
        s.expected_total_minor = Some(2400);
        s.lines[0].unit_price_minor = Some(1200);
        let made = db.create_pos_sale(&s).await.unwrap();
        assert!(!made.replayed, "{}", b.name);
        assert_eq!(made.totals.total_minor, 2400);
        assert_eq!(made.totals.tax_minor, 400, "20% within £24.00");
        assert_eq!((made.change_minor, made.tendered_minor), (600, 3000));
        assert_eq!(
            (made.cashier_name.as_str(), made.device_name.as_str()),
            ("Cass", "Till 1")
        );
        assert_eq!(made.location_name, "High Street");
        assert_eq!(made.payments.len(), 1);
        let p = &made.payments[0];
        assert_eq!(
            (p.gateway.as_str(), p.status.as_str()),
            ("cash", "captured")
        );
        assert_eq!((p.amount_minor, p.captured_minor), (2400, 2400));
        assert_eq!(p.reference, format!("pos-{}-1", made.number));
        assert_eq!(stock_at(&db, &t, &t.mug).await, 8);
        let d = db.order_detail(&made.order_id).await.unwrap();
        assert_eq!(d.status(), Some(OrderStatus::Fulfilled));
        assert_eq!(
            (
                d.summary.channel.as_str(),
                d.summary.payment_method.as_str()
            ),
            ("pos", "cash")
        );
        assert_eq!(d.record.email, "", "a walk-in sale keeps no personal data");
        assert!(d.record.billing.is_none());
        assert_eq!(d.events[0].kind, "created");
        assert!(
            d.events[0].note.contains("handed over"),
            "{}",
            d.events[0].note
        );
        assert!(
            d.events[0].note.contains("change £6.00"),
            "{}",
            d.events[0].note
        );
        // Every walk-in sale shares one customer row.
        let again = db
            .create_pos_sale(&sale(
                &t,
                "sale-0002",
                vec![line(&t.tee, 1)],
                vec![cash(500, 500)],
            ))
            .await
            .unwrap();
        let d2 = db.order_detail(&again.order_id).await.unwrap();
        assert_eq!(d.record.customer_id, d2.record.customer_id);
        assert_eq!(db.walk_in_customer().await.unwrap(), d.record.customer_id);
        // The sale reads back by number.
        let v = db.pos_sale(made.number).await.unwrap();
        assert_eq!(v.sale.order_id, made.order_id);
        assert_eq!(v.lines[0].quantity, 2);
        assert!(matches!(
            db.pos_sale(1).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn split_and_card_payments_keep_brand_and_last_four_only() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let s = sale(
            &t,
            "split-001",
            vec![line(&t.mug, 1), line(&t.tee, 1)],
            vec![cash(700, 1000), card(1000, "Visa", "4242")],
        );
        let made = db.create_pos_sale(&s).await.unwrap();
        assert_eq!(made.change_minor, 300, "{}", b.name);
        let d = db.order_detail(&made.order_id).await.unwrap();
        assert_eq!(d.summary.payment_method, "split");
        let cardp = made
            .payments
            .iter()
            .find(|p| p.gateway == "card_terminal")
            .unwrap();
        assert_eq!(cardp.card_brand.as_deref(), Some("visa"));
        assert_eq!(cardp.card_last4.as_deref(), Some("4242"));
        let only = db
            .create_pos_sale(&sale(
                &t,
                "card-0001",
                vec![line(&t.tee, 1)],
                vec![card(500, "", "")],
            ))
            .await
            .unwrap();
        let d = db.order_detail(&only.order_id).await.unwrap();
        assert_eq!(d.summary.payment_method, "card");
        // A whole card number where the last 4 go: refused, nothing written.
        let before = orders(&db).await;
        let bad = sale(
            &t,
            "card-0002",
            vec![line(&t.tee, 1)],
            vec![card(500, "visa", "4242424242424242")],
        );
        match db.create_pos_sale(&bad).await {
            Err(StoreError::Invalid(e)) => {
                assert_eq!(e.field, "payments[0].last4");
                assert!(!e.message.contains("4242"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(orders(&db).await, before);
        assert_eq!(stock_at(&db, &t, &t.tee).await, 1);
    }
}

#[tokio::test]
async fn discounts_price_like_the_shop_and_keep_tax_right() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let mut l1 = line(&t.mug, 1);
        l1.discount = Discount::Percent(1000); // 10% off £12.00 = £1.20
        let mut l2 = line(&t.tee, 2);
        l2.discount = Discount::Amount(100); // £1.00 off £10.00
        let mut s = sale(&t, "disc-0001", vec![l1, l2], vec![cash(1800, 2000)]);
        s.order_discount = Discount::Amount(180); // shared 98/82 over £10.80 and £9.00
        let made = db.create_pos_sale(&s).await.unwrap();
        let tl = &made.totals;
        assert_eq!(tl.subtotal_minor, 2200, "{}", b.name);
        assert_eq!(tl.lines[0].discount_minor, 120 + 98);
        assert_eq!(tl.lines[1].discount_minor, 100 + 82);
        assert_eq!(tl.discount_minor, 400);
        assert_eq!(tl.total_minor, 1800);
        // Tax within each line after both discounts: 982/6 = 163.67 -> 164, 818/6 = 136.33 -> 136.
        assert_eq!((tl.lines[0].tax_minor, tl.lines[1].tax_minor), (164, 136));
        assert_eq!(tl.tax_minor, 300);
        let d = db.order_detail(&made.order_id).await.unwrap();
        assert_eq!(
            (d.discount_minor, d.tax_minor, d.subtotal_minor),
            (400, 300, 2200)
        );
    }
}

#[tokio::test]
async fn changed_prices_and_tampered_totals_are_refused_with_nothing_written() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let before = orders(&db).await;
        let mut s = sale(
            &t,
            "price-001",
            vec![line(&t.mug, 1)],
            vec![cash(1000, 1000)],
        );
        s.lines[0].unit_price_minor = Some(1000);
        match db.create_pos_sale(&s).await {
            Err(StoreError::State { field, message }) => {
                assert_eq!(field, "lines[0].unit_price_minor", "{}", b.name);
                assert!(message.contains("now costs £12.00"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let mut s = sale(
            &t,
            "tamper-01",
            vec![line(&t.mug, 1)],
            vec![cash(1000, 1000)],
        );
        s.expected_total_minor = Some(1000);
        match db.create_pos_sale(&s).await {
            Err(StoreError::Invalid(e)) => {
                assert_eq!(e.field, "total_minor");
                assert!(
                    e.message.contains("£10.00") && e.message.contains("£12.00"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        let mut s = sale(&t, "gone-0001", vec![line("nope", 1)], vec![]);
        s.lines.insert(0, line(&t.tee, 1));
        match db.create_pos_sale(&s).await {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field, "lines[1].variant_id"),
            other => panic!("{other:?}"),
        }
        db.archive_variant(&t.tee).await.unwrap();
        let s = sale(&t, "gone-0002", vec![line(&t.tee, 1)], vec![cash(500, 500)]);
        match db.create_pos_sale(&s).await {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field, "lines[0].variant_id"),
            other => panic!("{other:?}"),
        }
        let s = sale(&t, "short", vec![line(&t.mug, 1)], vec![cash(1200, 1200)]);
        assert!(
            matches!(db.create_pos_sale(&s).await, Err(StoreError::Invalid(e)) if e.field == "key")
        );
        assert_eq!(orders(&db).await, before, "nothing written");
        assert_eq!(stock_at(&db, &t, &t.mug).await, 10);
    }
}

#[tokio::test]
async fn replays_make_one_sale_even_concurrently() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let s = sale(
            &t,
            "replay-01",
            vec![line(&t.mug, 1)],
            vec![cash(1200, 2000)],
        );
        let a = db.create_pos_sale(&s).await.unwrap();
        let again = db.create_pos_sale(&s).await.unwrap();
        assert!(again.replayed, "{}", b.name);
        assert_eq!(
            (again.order_id.clone(), again.change_minor),
            (a.order_id.clone(), 800)
        );
        let before = orders(&db).await;
        let s = sale(
            &t,
            "replay-02",
            vec![line(&t.mug, 1)],
            vec![cash(1200, 1200)],
        );
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (db, s) = (db.clone(), s.clone());
                tokio::spawn(async move { db.create_pos_sale(&s).await.unwrap() })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        let mut fresh = 0;
        for task in tasks {
            let r = task.await.unwrap();
            ids.insert(r.order_id.0.clone());
            fresh += i32::from(!r.replayed);
        }
        assert_eq!((ids.len(), fresh), (1, 1), "{}", b.name);
        assert_eq!(orders(&db).await, before + 1);
        assert_eq!(stock_at(&db, &t, &t.mug).await, 8);
    }
}

#[tokio::test]
async fn oversell_is_refused_online_and_alerted_offline() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let s = sale(
            &t,
            "over-0001",
            vec![line(&t.mug, 1), line(&t.tee, 5)],
            vec![cash(3700, 3700)],
        );
        match db.create_pos_sale(&s).await {
            Err(StoreError::State { field, message }) => {
                assert_eq!(field, "lines[1].quantity", "{}", b.name);
                assert!(message.contains("only 3 of Logo tee"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(stock_at(&db, &t, &t.mug).await, 10, "nothing taken");
        let mut s = sale(
            &t,
            "over-0002",
            vec![line(&t.tee, 5)],
            vec![cash(2500, 3000)],
        );
        s.offline = true;
        s.sold_at = db.now() - 60_000;
        let made = db.create_pos_sale(&s).await.unwrap();
        assert_eq!(made.sold_at, s.sold_at);
        assert_eq!(stock_at(&db, &t, &t.tee).await, 0, "never below zero");
        assert_eq!(made.stock_alerts.len(), 1);
        assert_eq!(made.stock_alerts[0].short_by, 2);
        assert_eq!(made.stock_alerts[0].sku, "TEE-1");
        let open = db.stock_alerts(true, 50).await.unwrap();
        assert_eq!(open.len(), 1);
        db.resolve_stock_alert(&open[0].id, "max").await.unwrap();
        assert!(db.stock_alerts(true, 50).await.unwrap().is_empty());
        assert!(matches!(
            db.resolve_stock_alert(&open[0].id, "max").await,
            Err(StoreError::State { .. })
        ));
        // Offline sales are cash only.
        let mut s = sale(
            &t,
            "over-0003",
            vec![line(&t.mug, 1)],
            vec![card(1200, "", "")],
        );
        s.offline = true;
        assert!(
            matches!(db.create_pos_sale(&s).await, Err(StoreError::Invalid(e)) if e.field == "payments[0].method")
        );
    }
}

#[tokio::test]
async fn a_receipt_email_is_sealed_into_the_order() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let mut s = sale(&t, "mail-0001", vec![line(&t.tee, 1)], vec![cash(500, 500)]);
        s.receipt_email = Some("ada@example.com".into());
        let made = db.create_pos_sale(&s).await.unwrap();
        let d = db.order_detail(&made.order_id).await.unwrap();
        assert_eq!(d.record.email, "ada@example.com", "{}", b.name);
        assert_ne!(d.record.customer_id, db.walk_in_customer().await.unwrap());
        let mut s = sale(&t, "mail-0002", vec![line(&t.tee, 1)], vec![cash(500, 500)]);
        s.receipt_email = Some("not an email".into());
        assert!(
            matches!(db.create_pos_sale(&s).await, Err(StoreError::Invalid(e)) if e.field == "receipt_email")
        );
        let mut s = sale(&t, "mail-0003", vec![line(&t.tee, 1)], vec![cash(500, 500)]);
        s.customer_id = Some(CustomerId(storefort_store::db::new_id()));
        assert!(
            matches!(db.create_pos_sale(&s).await, Err(StoreError::Invalid(e)) if e.field == "customer_id")
        );
    }
}

#[tokio::test]
async fn the_till_catalog_searches_by_name_sku_and_barcode() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let by = |items: Vec<storefort_store::pos_catalog::PosItem>| -> Vec<String> {
            items.into_iter().map(|i| i.sku).collect()
        };
        let loc = t.location.clone();
        assert_eq!(
            by(db.pos_search(&loc, "enamel", None, 60).await.unwrap()),
            vec!["MUG-BLUE"],
            "{}",
            b.name
        );
        assert_eq!(
            by(db.pos_search(&loc, "mug blue", None, 60).await.unwrap()),
            vec!["MUG-BLUE"]
        );
        assert_eq!(
            by(db.pos_search(&loc, "tee-1", None, 60).await.unwrap()),
            vec!["TEE-1"]
        );
        assert_eq!(
            by(db
                .pos_search(&loc, "4006381333931", None, 60)
                .await
                .unwrap()),
            vec!["MUG-BLUE"]
        );
        assert_eq!(db.pos_search(&loc, "", None, 60).await.unwrap().len(), 2);
        assert_eq!(db.pos_search(&loc, "", None, 1).await.unwrap().len(), 1);
        assert!(db
            .pos_search(&loc, "kettle", None, 60)
            .await
            .unwrap()
            .is_empty());
        assert!(db
            .pos_search(&loc, "", Some("no-such-category"), 60)
            .await
            .unwrap()
            .is_empty());
        let item = db
            .pos_item_by_code(&loc, " 4006381333931 ")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                item.name.as_str(),
                item.price_minor,
                item.stock,
                item.tax_rate_bp
            ),
            ("Blue enamel mug", 1200, 10, 2000)
        );
        assert!(db
            .pos_item_by_code(&loc, "4006381")
            .await
            .unwrap()
            .is_none());
        let first = db.pos_items(&loc, None, 1).await.unwrap();
        let rest = db
            .pos_items(&loc, Some(&first[0].variant_id), 10)
            .await
            .unwrap();
        assert_eq!(first.len() + rest.len(), 2);
        assert!(first[0].variant_id < rest[0].variant_id);
        assert!(matches!(
            db.pos_search("no-such-place", "mug", None, 5).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}
