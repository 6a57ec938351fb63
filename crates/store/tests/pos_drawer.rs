//! Money back and the cash drawer on both engines: refunds of till sales by line and method,
//! shifts with cash movements, the expected cash, closing with approval, and the Z report.

mod common;
mod pos_support;

use storefort_core::order_state::OrderStatus;
use storefort_core::pos::Discount;
use storefort_store::pos_refunds::PosRefundInput;
use storefort_store::StoreError;

use pos_support::*;

fn refund(
    t: &Till,
    key: &str,
    number: i64,
    lines: Vec<(i64, i64)>,
    method: &str,
) -> PosRefundInput {
    PosRefundInput {
        refund_key: key.into(),
        order_number: number,
        device_id: t.device.clone(),
        cashier_id: t.cashier.clone(),
        approved_by: t.manager.clone(),
        lines,
        method: method.into(),
        restock: true,
        reason: "changed mind".into(),
    }
}

#[tokio::test]
async fn refunds_give_lines_back_by_method() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        // 3 mugs (£36.00) with £1.00 off the sale: line total 3500, paid £10 cash + £25 card.
        let mut s = sale(
            &t,
            "refd-0001",
            vec![line(&t.mug, 3)],
            vec![cash(1000, 1000), card(2500, "visa", "4242")],
        );
        s.order_discount = Discount::Amount(100);
        let made = db.create_pos_sale(&s).await.unwrap();
        assert_eq!(made.totals.total_minor, 3500);
        // One mug to cash: 3500 / 3 = 1166.67 -> 1166.
        let r1 = db
            .create_pos_refund(&refund(&t, "rf-key-01", made.number, vec![(0, 1)], "cash"))
            .await
            .unwrap();
        assert_eq!(r1.amount_minor, 1166, "{}", b.name);
        assert_eq!(r1.by_method, vec![("cash".to_string(), 1166)]);
        assert_eq!(r1.status, OrderStatus::PartiallyRefunded);
        assert_eq!(
            stock_at(&db, &t, &t.mug).await,
            8,
            "restocked at the till's location"
        );
        // Replay: same answer, nothing more.
        let again = db
            .create_pos_refund(&refund(&t, "rf-key-01", made.number, vec![(0, 1)], "cash"))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(again.amount_minor, 1166);
        // Too many: 409, nothing changed.
        match db
            .create_pos_refund(&refund(&t, "rf-key-02", made.number, vec![(0, 3)], "cash"))
            .await
        {
            Err(StoreError::State { field, message }) => {
                assert_eq!(field, "lines[0].quantity");
                assert!(message.contains("only 2 left"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let v = db.pos_sale(made.number).await.unwrap();
        assert_eq!(v.lines[0].refunded_quantity, 1);
        assert_eq!(v.refunds.len(), 1);
        // The last two to the original method: card first (up to £25), then cash.
        let r2 = db
            .create_pos_refund(&refund(
                &t,
                "rf-key-03",
                made.number,
                vec![(0, 2)],
                "original",
            ))
            .await
            .unwrap();
        assert_eq!(
            r2.amount_minor,
            3500 - 1166,
            "the last unit takes the remainder"
        );
        assert_eq!(r2.by_method, vec![("card".to_string(), 2334)]);
        assert_eq!(r2.status, OrderStatus::Refunded);
        let d = db.order_detail(&made.order_id).await.unwrap();
        assert_eq!(d.summary.refunded_minor, 3500);
        assert_eq!(d.refunds.len(), 2);
        // Bad input names the field.
        let e = db
            .create_pos_refund(&refund(&t, "rf-key-04", made.number, vec![(7, 1)], "cash"))
            .await;
        assert!(matches!(e, Err(StoreError::Invalid(e)) if e.field == "lines[0].position"));
        let mut r = refund(&t, "rf-key-05", made.number, vec![(0, 1)], "cash");
        r.approved_by = t.cashier.clone();
        assert!(
            matches!(db.create_pos_refund(&r).await, Err(StoreError::Invalid(e)) if e.field == "approver")
        );
    }
}

#[tokio::test]
async fn shifts_count_the_drawer_and_the_z_report_adds_up() {
    for b in common::backends().await {
        let db = b.db.clone();
        let t = till(&db).await;
        let sh = db.open_shift(&t.device, &t.cashier, 5000).await.unwrap();
        assert_eq!(
            (sh.status.as_str(), sh.float_minor),
            ("open", 5000),
            "{}",
            b.name
        );
        assert!(matches!(
            db.open_shift(&t.device, &t.cashier, 0).await,
            Err(StoreError::State { .. })
        ));
        // Cash sale £12 (tendered £20), split £5 cash + £12 card, an offline cash sale £5.
        let a = db
            .create_pos_sale(&sale(
                &t,
                "shift-001",
                vec![line(&t.mug, 1)],
                vec![cash(1200, 2000)],
            ))
            .await
            .unwrap();
        assert_eq!(a.shift_id.as_deref(), Some(sh.id.as_str()));
        db.create_pos_sale(&sale(
            &t,
            "shift-002",
            vec![line(&t.mug, 1), line(&t.tee, 1)],
            vec![cash(500, 500), card(1200, "amex", "")],
        ))
        .await
        .unwrap();
        let mut off = sale(&t, "shift-003", vec![line(&t.tee, 1)], vec![cash(500, 500)]);
        off.offline = true;
        off.shift_id = Some(sh.id.clone());
        off.sold_at = db.now();
        db.create_pos_sale(&off).await.unwrap();
        db.cash_movement(&sh.id, "in", 1000, "more change", &t.cashier)
            .await
            .unwrap();
        db.cash_movement(&sh.id, "out", 300, "window cleaner", &t.cashier)
            .await
            .unwrap();
        assert!(
            matches!(db.cash_movement(&sh.id, "sideways", 1, "x", &t.cashier).await, Err(StoreError::Invalid(e)) if e.field == "kind")
        );
        assert!(
            matches!(db.cash_movement(&sh.id, "in", 1, "", &t.cashier).await, Err(StoreError::Invalid(e)) if e.field == "reason")
        );
        assert!(matches!(
            db.cash_movement(&sh.id, "out", 1_000_000, "x", &t.cashier)
                .await,
            Err(StoreError::State { .. })
        ));
        db.create_pos_refund(&refund(&t, "shift-rf1", a.number, vec![(0, 1)], "cash"))
            .await
            .unwrap();
        // 5000 float + (1200 + 500 + 500) cash + 1000 in - 300 out - 1200 cash refund.
        let expected = 5000 + 2200 + 1000 - 300 - 1200;
        assert_eq!(db.expected_cash(&sh.id).await.unwrap(), expected);
        // £10 short with a £5 threshold: a manager must approve.
        match db
            .close_shift(&sh.id, &t.cashier, expected - 1000, "", None, 500)
            .await
        {
            Err(StoreError::State { field, message }) => {
                assert_eq!(field, "approver");
                assert!(message.contains("£10.00 short"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(db.shift(&sh.id).await.unwrap().status, "open");
        let closed = db
            .close_shift(
                &sh.id,
                &t.cashier,
                expected - 1000,
                "miscount",
                Some(&t.manager),
                500,
            )
            .await
            .unwrap();
        assert_eq!(closed.status, "closed");
        assert_eq!(
            (closed.expected_minor, closed.variance_minor),
            (Some(expected), Some(-1000))
        );
        assert_eq!(closed.variance_approved_by_name.as_deref(), Some("Max"));
        assert!(matches!(
            db.close_shift(&sh.id, &t.cashier, 0, "", Some(&t.manager), 500)
                .await,
            Err(StoreError::State { .. })
        ));
        let z = db.z_report(&sh.id).await.unwrap();
        assert_eq!(z.sales_count, 3);
        assert_eq!(z.gross_minor, 1200 + 1700 + 500);
        let by_method: i64 = z.by_method.iter().map(|m| m.2).sum();
        assert_eq!(by_method, z.gross_minor, "payments add up to the sales");
        assert_eq!(
            z.by_method,
            vec![("card".to_string(), 1, 1200), ("cash".to_string(), 3, 2200)]
        );
        assert_eq!((z.refunds_count, z.refunds_minor), (1, 1200));
        assert_eq!((z.cash_in_minor, z.cash_out_minor), (1000, 300));
        assert_eq!(z.movements.len(), 2);
        assert_eq!((z.expected_minor, z.offline_sales), (expected, 1));
        assert_eq!(z.tax_minor, 200 + 283 + 83);
        // Within the threshold no approver is needed.
        let sh2 = db.open_shift(&t.device, &t.cashier, 1000).await.unwrap();
        assert!(sh2.number > sh.number);
        let ok = db
            .close_shift(&sh2.id, &t.cashier, 1400, "", None, 500)
            .await
            .unwrap();
        assert_eq!(ok.variance_minor, Some(400));
        assert_eq!(db.shifts(10).await.unwrap().len(), 2);
    }
}
