//! Fraud screening's storage on both engines: placements kept as keyed hashes only, velocity
//! counted per email / IP / card, the customer's history and the shop's figures, the review
//! queue with one decision winning, sealed call notes, erasure, and settings and rules that
//! refuse bad input and change nothing.

mod common;
mod shop_support;

use std::sync::Arc;

use shop_support::{cart_with, input, shop, Shop};
use storefort_core::fraud::{Assessment, Decision, FraudSettings, Reason, Rule, Signal};
use storefort_core::ids::OrderId;
use storefort_core::order_state::{OrderEvent, OrderStatus};
use storefort_store::checkout::PlaceOrder;
use storefort_store::privacy::ErasureReason;
use storefort_store::reviews::CallOutcome;
use storefort_store::risk::Placement;
use storefort_store::velocity::EventKind;
use storefort_store::{Clock, Db, ManualClock, StoreError};

const HOUR: i64 = 3_600_000;

async fn place(db: &Db, s: &Shop, email: &str, key: &str) -> OrderId {
    let cart = cart_with(db, s, 1).await;
    db.place_order(&PlaceOrder {
        cart_id: cart,
        checkout: input(&s.shipping, email),
        customer_id: None,
        idempotency_key: key.into(),
        channel: "web".into(),
    })
    .await
    .unwrap()
    .order_id
}

fn placement(ip: &str) -> Placement {
    Placement {
        ip: Some(ip.into()),
        device: Some(format!("device-cookie-{ip}")),
        ip_country: Some("GB".into()),
    }
}

fn assessment(score: u8, decision: Decision) -> Assessment {
    Assessment {
        score,
        reasons: vec![Reason {
            code: "address_mismatch".into(),
            points: 25,
            text: "Shipping to FR, billing in GB".into(),
        }],
        decision,
    }
}

async fn dump(db: &Db, table: &str) -> String {
    let sql = format!("SELECT * FROM {table}");
    let rows = sqlx::query(&sql).fetch_all(&db.pool).await.unwrap();
    use sqlx::Row;
    let mut out = String::new();
    for r in rows {
        for i in 0..r.len() {
            if let Ok(Some(v)) = r.try_get::<Option<String>, _>(i) {
                out.push_str(&v);
                out.push('|');
            }
        }
    }
    out
}

#[tokio::test]
async fn placements_are_hashed_and_counted_for_velocity() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let s = shop(db, 100, 2500).await;
        let a = place(db, &s, "mallory@example.com", "k1").await;
        let b = place(db, &s, "mallory@example.com", "k2").await;
        let c = place(db, &s, "other@example.com", "k3").await;
        for o in [&a, &b] {
            db.record_placement(o, "Mallory@Example.com ", None, &placement("203.0.113.7"))
                .await
                .unwrap();
        }
        db.record_placement(&c, "other@example.com", None, &placement("198.51.100.1"))
            .await
            .unwrap();
        // A replayed checkout records nothing more.
        db.record_placement(&a, "mallory@example.com", None, &placement("203.0.113.7"))
            .await
            .unwrap();
        let (keys, country) = db.order_risk_keys(&a).await.unwrap().unwrap();
        assert_eq!(country.as_deref(), Some("GB"), "{}", t.name);
        let v = db.velocity_of(&keys, 24 * HOUR).await.unwrap();
        assert_eq!(v.orders, 2, "{}: the same email and IP placed two", t.name);
        // Two failed payments with two different cards on the first order.
        db.record_risk_event(&a, EventKind::FailedPayment, Some("fpA"))
            .await
            .unwrap();
        db.record_risk_event(&a, EventKind::FailedPayment, Some("fpB"))
            .await
            .unwrap();
        let (keys, _) = db.order_risk_keys(&a).await.unwrap().unwrap();
        let v = db.velocity_of(&keys, 24 * HOUR).await.unwrap();
        assert_eq!((v.failed_payments, v.distinct_cards), (2, 2), "{}", t.name);
        // The other shopper is not affected.
        let (other, _) = db.order_risk_keys(&c).await.unwrap().unwrap();
        let v = db.velocity_of(&other, 24 * HOUR).await.unwrap();
        assert_eq!((v.orders, v.failed_payments), (1, 0), "{}", t.name);
        // A day later the window is empty.
        clock.advance(25 * HOUR);
        let v = db.velocity_of(&keys, 24 * HOUR).await.unwrap();
        assert_eq!(v.orders, 0, "{}", t.name);
        // Nothing in the risk tables is the email, the IP or the card fingerprint.
        let stored = dump(db, "order_risk").await + &dump(db, "risk_events").await;
        for secret in ["mallory", "203.0.113.7", "fpA", "device-cookie"] {
            assert!(!stored.contains(secret), "{}: {secret} stored", t.name);
        }
    }
}

#[tokio::test]
async fn history_and_shop_figures() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let s = shop(db, 100, 2500).await;
        let first = place(db, &s, "loyal@example.com", "h1").await;
        db.transition(&first, OrderEvent::Capture, "test", "")
            .await
            .unwrap();
        // Past the time a card payment can be disputed.
        clock.advance(31 * 24 * HOUR);
        let second = place(db, &s, "loyal@example.com", "h2").await;
        let placed = |o: &OrderId| {
            let db = db.clone();
            let o = o.clone();
            async move { db.order_detail(&o).await.unwrap().summary }
        };
        let second_at = placed(&second).await;
        let customer = storefort_core::ids::CustomerId(second_at.customer_id.clone());
        let at = second_at.created_at;
        let h = db.customer_history(&customer, at, None).await.unwrap();
        let counts = (h.orders, h.paid_orders, h.refunded_orders);
        assert_eq!(counts, (1, 1, 0), "{}", t.name);
        // A paid order only makes a customer loyal once it is past the dispute window...
        let soon = db
            .customer_history(&customer, at - 2 * 24 * HOUR, None)
            .await
            .unwrap();
        assert_eq!((soon.orders, soon.paid_orders), (1, 0), "{}", t.name);
        // ...and only for orders delivered to the same address (knowing a loyal customer's
        // email is not enough to borrow their history).
        let elsewhere = db
            .customer_history(&customer, at, Some("another-address"))
            .await
            .unwrap();
        assert_eq!(elsewhere.orders, 0, "{}", t.name);
        let home = storefort_core::customer::Address {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Row".into(),
            city: "London".into(),
            postcode: "N1 1AA".into(),
            country: "GB".into(),
            ..Default::default()
        };
        db.record_placement(
            &first,
            "loyal@example.com",
            Some(&home),
            &placement("192.0.2.1"),
        )
        .await
        .unwrap();
        let (keys, _) = db.order_risk_keys(&first).await.unwrap().unwrap();
        let same = db
            .customer_history(&customer, at, keys.address.as_deref())
            .await
            .unwrap();
        assert_eq!((same.orders, same.paid_orders), (1, 1), "{}", t.name);
        let first_at = placed(&first).await.created_at;
        let h = db
            .customer_history(&customer, first_at, None)
            .await
            .unwrap();
        assert_eq!(h.orders, 0, "{}: nothing before the first order", t.name);
        let stats = db.shop_stats().await.unwrap();
        // One paid order of 1 x £25.00 + £3.95 delivery; one price in the catalog.
        assert_eq!(stats.typical_order_minor, 2895, "{}", t.name);
        assert_eq!(stats.expensive_price_minor, 2500, "{}", t.name);
    }
}

#[tokio::test]
async fn the_queue_shows_holds_and_one_decision_wins() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let s = shop(db, 100, 2500).await;
        let low = place(db, &s, "a@example.com", "q1").await;
        let high = place(db, &s, "b@example.com", "q2").await;
        let passed = place(db, &s, "c@example.com", "q3").await;
        for o in [&low, &high] {
            db.transition(o, OrderEvent::Authorize, "test", "")
                .await
                .unwrap();
            db.transition(o, OrderEvent::Hold, "screening", "")
                .await
                .unwrap();
        }
        let expires = clock.now_ms() + 7 * 24 * HOUR;
        db.save_assessment(&low, &assessment(55, Decision::Review), "{}", Some(expires))
            .await
            .unwrap();
        db.save_assessment(
            &high,
            &assessment(80, Decision::Review),
            "{}",
            Some(expires),
        )
        .await
        .unwrap();
        db.save_assessment(&passed, &assessment(10, Decision::Pass), "{}", None)
            .await
            .unwrap();
        let q = db.review_queue(50).await.unwrap();
        let ids: Vec<&str> = q.iter().map(|r| r.order_id.as_str()).collect();
        assert_eq!(
            ids,
            [high.0.as_str(), low.0.as_str()],
            "{}: by score",
            t.name
        );
        // An order screening could not score comes first, whatever its score.
        let failed = place(db, &s, "d@example.com", "q4").await;
        db.transition(&failed, OrderEvent::Authorize, "test", "")
            .await
            .unwrap();
        db.transition(&failed, OrderEvent::Hold, "screening", "")
            .await
            .unwrap();
        let unscored = Assessment {
            score: 0,
            reasons: vec![Reason {
                code: "screening_failed".into(),
                points: 0,
                text: "Screening could not run; check this order by hand.".into(),
            }],
            decision: Decision::Review,
        };
        db.save_assessment(&failed, &unscored, "{}", Some(expires))
            .await
            .unwrap();
        let q2 = db.review_queue(50).await.unwrap();
        assert_eq!(q2[0].order_id, failed.0, "{}", t.name);
        db.close_review(&failed, "cancelled", "m").await.unwrap();
        assert_eq!(q[0].reasons[0].code, "address_mismatch");
        assert_eq!(q[0].auth_expires_at, Some(expires));
        assert_eq!(db.open_reviews_hint(), 2, "{}", t.name);
        db.close_review(&high, "approved", "manager@example.com")
            .await
            .unwrap();
        let again = db.close_review(&high, "cancelled", "someone").await;
        assert!(
            matches!(again, Err(StoreError::State { ref field, .. }) if field == "review"),
            "{}: {again:?}",
            t.name
        );
        let r = db.order_risk(&high).await.unwrap().unwrap();
        assert_eq!(
            r.review.as_deref(),
            Some("approved"),
            "{}: first decision kept",
            t.name
        );
        assert_eq!(r.decided_by.as_deref(), Some("manager@example.com"));
        assert_eq!(db.open_review_count().await.unwrap(), 1);
        // Health: held 49 hours, and the authorization runs out within a day.
        clock.advance(49 * HOUR);
        let h = db.review_health(48 * HOUR, 24 * HOUR).await.unwrap();
        assert_eq!(
            (h.open, h.stale, h.expiring, h.expired),
            (1, 1, 0, 0),
            "{}",
            t.name
        );
        clock.advance(4 * 24 * HOUR);
        let h = db.review_health(48 * HOUR, 24 * HOUR).await.unwrap();
        assert_eq!((h.expiring, h.expired), (1, 0), "{}", t.name);
        let warned = db.take_expiry_warnings(24 * HOUR).await.unwrap();
        assert_eq!(warned.len(), 1, "{}", t.name);
        assert!(
            db.take_expiry_warnings(24 * HOUR).await.unwrap().is_empty(),
            "once only"
        );
    }
}

#[tokio::test]
async fn call_notes_are_sealed_and_erasure_removes_screening_data() {
    for t in common::backends().await {
        let db = &t.db;
        let s = shop(db, 100, 2500).await;
        let o = place(db, &s, "erase-me@example.com", "e1").await;
        db.record_placement(&o, "erase-me@example.com", None, &placement("203.0.113.9"))
            .await
            .unwrap();
        db.add_review_call(
            &o,
            CallOutcome::Confirmed,
            "Spoke to Ada on 07700 900123",
            "m",
        )
        .await
        .unwrap();
        let calls = db.review_calls(&o).await.unwrap();
        assert_eq!(calls[0].note, "Spoke to Ada on 07700 900123", "{}", t.name);
        assert_eq!(calls[0].outcome, CallOutcome::Confirmed);
        assert!(
            !dump(db, "review_calls").await.contains("Ada"),
            "{}: sealed",
            t.name
        );
        // A note too long is refused and nothing is added.
        let long = "x".repeat(2001);
        let e = db
            .add_review_call(&o, CallOutcome::NoAnswer, &long, "m")
            .await;
        assert!(
            matches!(e, Err(StoreError::Invalid(ref v)) if v.field == "note"),
            "{e:?}"
        );
        assert_eq!(db.review_calls(&o).await.unwrap().len(), 1);

        let customer = db.order_detail(&o).await.unwrap().summary.customer_id;
        db.erase_customer(
            &storefort_core::ids::CustomerId(customer),
            ErasureReason::Request,
        )
        .await
        .unwrap();
        let calls = db.review_calls(&o).await.unwrap();
        assert_eq!(calls[0].note, "", "{}: note gone", t.name);
        assert_eq!(
            calls[0].outcome,
            CallOutcome::Confirmed,
            "the outcome stays"
        );
        let (keys, _) = db.order_risk_keys(&o).await.unwrap().unwrap();
        assert_eq!(keys, Default::default(), "{}: hashes gone", t.name);
        let events: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM risk_events WHERE order_id = $1")
                .bind(o.as_str())
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(events, 0, "{}", t.name);
    }
}

#[tokio::test]
async fn settings_and_rules_refuse_bad_input_and_change_nothing() {
    for t in common::backends().await {
        let db = &t.db;
        assert_eq!(db.fraud_settings().await.unwrap(), FraudSettings::default());
        let mut s = FraudSettings {
            review_threshold: 60,
            ..FraudSettings::default()
        };
        s.weights.insert(Signal::CvcFailed, 70);
        db.save_fraud_settings(&s).await.unwrap();
        assert_eq!(db.fraud_settings().await.unwrap(), s, "{}", t.name);
        assert_eq!(
            db.fraud_config().await.unwrap().settings.review_threshold,
            60
        );
        for bad in [
            FraudSettings {
                review_threshold: 0,
                ..s.clone()
            },
            FraudSettings {
                block_threshold: 40,
                ..s.clone()
            },
            FraudSettings {
                block_threshold: 101,
                ..s.clone()
            },
        ] {
            let e = db.save_fraud_settings(&bad).await;
            assert!(
                matches!(e, Err(StoreError::Invalid(_))),
                "{}: {e:?}",
                t.name
            );
        }
        assert_eq!(
            db.fraud_settings().await.unwrap(),
            s,
            "{}: unchanged",
            t.name
        );

        let rule = Rule {
            name: "big-abroad".into(),
            expression: "order.total > 50000 && billing.country != shipping.country".into(),
            points: 30,
            reason: "Large order shipped abroad".into(),
        };
        let saved = db.add_fraud_rule(&rule).await.unwrap();
        assert_eq!(
            db.fraud_config().await.unwrap().rules.len(),
            1,
            "{}",
            t.name
        );
        let dup = db.add_fraud_rule(&rule).await;
        assert!(matches!(dup, Err(StoreError::State { ref field, .. }) if field == "name"));
        let broken = Rule {
            name: "broken".into(),
            expression: "order.total > ".into(),
            ..rule.clone()
        };
        let e = db.add_fraud_rule(&broken).await;
        assert!(
            matches!(e, Err(StoreError::Invalid(ref v)) if v.field == "expression"),
            "{}: {e:?}",
            t.name
        );
        assert_eq!(
            db.fraud_rules().await.unwrap().len(),
            1,
            "{}: nothing added",
            t.name
        );
        let e = db.update_fraud_rule(&saved.id, &broken, true).await;
        assert!(matches!(e, Err(StoreError::Invalid(_))));
        assert_eq!(
            db.fraud_rules().await.unwrap()[0].rule,
            rule,
            "{}: unchanged",
            t.name
        );
        db.update_fraud_rule(&saved.id, &rule, false).await.unwrap();
        assert!(
            db.fraud_config().await.unwrap().rules.is_empty(),
            "disabled"
        );
        assert_eq!(db.delete_fraud_rule(&saved.id).await.unwrap(), "big-abroad");
        assert!(matches!(
            db.delete_fraud_rule(&saved.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn asking_to_pay_again_frees_the_order_for_a_new_payment() {
    for t in common::backends().await {
        let db = &t.db;
        let s = shop(db, 100, 2500).await;
        let o = place(db, &s, "again@example.com", "p1").await;
        db.transition(&o, OrderEvent::Authorize, "test", "")
            .await
            .unwrap();
        db.transition(&o, OrderEvent::Hold, "screening", "")
            .await
            .unwrap();
        let to = db
            .transition(&o, OrderEvent::AskToPay, "m", "asked to pay again")
            .await
            .unwrap();
        assert_eq!(to, OrderStatus::PendingPayment, "{}", t.name);
        let until = db.now() + 48 * HOUR;
        db.release_order_payment(&o, until).await.unwrap();
        let d = db.order_detail(&o).await.unwrap();
        assert_eq!(d.reserved_until, Some(until), "{}", t.name);
        let payment_id: Option<String> =
            sqlx::query_scalar("SELECT payment_id FROM orders WHERE id = $1")
                .bind(o.as_str())
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(payment_id, None, "{}: a new payment may claim it", t.name);
    }
}
