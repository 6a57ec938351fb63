//! Carts and checkout on both engines: stock reserved in the order's transaction, idempotent
//! submission, no oversell under 200 concurrent checkouts, unpaid reservations released, state
//! changes refused with nothing changed.

mod common;
mod shop_support;

use std::sync::Arc;

use shop_support::{cart_with, input, shop, Shop};
use storefort_core::order_state::{OrderEvent, OrderStatus};
use storefort_core::pricing::{DiscountCode, DiscountKind};
use storefort_store::checkout::{PlaceOrder, RESERVATION_MS};
use storefort_store::order_flow::RefundRecord;
use storefort_store::payment_records::PaymentUpdate;
use storefort_store::{Db, ManualClock, StoreError};

fn order(cart: &str, s: &Shop, key: &str) -> PlaceOrder {
    PlaceOrder {
        cart_id: cart.into(),
        checkout: input(&s.shipping, "ada@example.com"),
        customer_id: None,
        idempotency_key: key.into(),
        channel: "web".into(),
    }
}

async fn available(db: &Db, variant: &str) -> i64 {
    db.variant(variant).await.unwrap().available
}

#[tokio::test]
async fn an_order_reserves_stock_and_records_its_prices() {
    for t in common::backends().await {
        let db = t.db.clone();
        let s = shop(&db, 10, 1200).await;
        let cart = cart_with(&db, &s, 3).await;
        let placed = db.place_order(&order(&cart, &s, "k1")).await.unwrap();
        assert!(!placed.replayed);
        // 3 x £12.00 (tax included at the default class's rate) + £3.95 delivery.
        assert_eq!(placed.total_minor, 3600 + 395, "{}", t.name);
        assert_eq!(available(&db, &s.variant).await, 7, "{}", t.name);
        let d = db.order_detail(&placed.order_id).await.unwrap();
        assert_eq!(d.status(), Some(OrderStatus::PendingPayment));
        assert_eq!(d.lines.len(), 1);
        assert_eq!(d.lines[0].quantity, 3);
        assert_eq!(d.record.email, "ada@example.com");
        assert_eq!(d.record.phone, "+442079460958", "phone stored as E.164");
        assert!(d.reserved_until.unwrap() >= db.now() + RESERVATION_MS - 1000);
        assert_eq!(d.events[0].kind, "created");
        // The access token opens this order only.
        let token = db.order_access_token(&placed.order_id).unwrap();
        assert!(db.order_access_ok(&placed.order_id, &token));
        assert!(!db.order_access_ok(&placed.order_id, "guess"));
        assert!(
            token.len() >= 64 && token.chars().all(|c| c.is_ascii_lowercase()),
            "{token}"
        );
        // The cart is closed: it cannot change any more.
        let e = db.cart_add(&cart, &s.variant, 1).await.unwrap_err();
        assert!(matches!(e, StoreError::State { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn submitting_twice_makes_one_order() {
    for t in common::backends().await {
        let db = t.db.clone();
        let s = shop(&db, 10, 1000).await;
        let cart = cart_with(&db, &s, 2).await;
        let a = db.place_order(&order(&cart, &s, "same")).await.unwrap();
        let b = db.place_order(&order(&cart, &s, "same")).await.unwrap();
        assert_eq!(a.order_id, b.order_id, "{}", t.name);
        assert!(b.replayed);
        assert_eq!(available(&db, &s.variant).await, 8, "stock taken once");
        // Another key for a cart already ordered: a clear conflict naming the order.
        let e = db
            .place_order(&order(&cart, &s, "other"))
            .await
            .unwrap_err();
        match e {
            StoreError::State { message, .. } => {
                assert!(message.contains(&format!("#{}", a.number)), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // Ten concurrent double-clicks on a new cart: still one order.
        let cart = cart_with(&db, &s, 1).await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (db, o) = (db.clone(), order(&cart, &s, "click"));
                tokio::spawn(async move { db.place_order(&o).await })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            ids.insert(task.await.unwrap().unwrap().order_id.0);
        }
        assert_eq!(ids.len(), 1, "{}", t.name);
        assert_eq!(available(&db, &s.variant).await, 7);
    }
}

#[tokio::test]
async fn two_hundred_checkouts_for_the_last_fifty_units() {
    for t in common::backends().await {
        let db = t.db.clone();
        let s = Arc::new(shop(&db, 50, 500).await);
        let mut carts = Vec::new();
        for _ in 0..200 {
            // Carts are filled before the stock runs out: every one holds a unit.
            carts.push(cart_with(&db, &s, 1).await);
        }
        let tasks: Vec<_> = carts
            .into_iter()
            .enumerate()
            .map(|(i, cart)| {
                let (db, s) = (db.clone(), s.clone());
                tokio::spawn(async move {
                    let o = PlaceOrder {
                        checkout: input(&s.shipping, &format!("buyer{i}@example.com")),
                        ..order(&cart, &s, "k")
                    };
                    db.place_order(&o).await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::State { field, message }) => {
                    assert_eq!(field, "quantity", "{message}");
                    assert!(message.contains("sold out"), "{message}");
                }
                Err(other) => panic!("{}: unexpected {other:?}", t.name),
            }
        }
        assert_eq!(ok, 50, "{}", t.name);
        assert_eq!(available(&db, &s.variant).await, 0, "{}", t.name);
        let page = db
            .orders_page(&storefort_store::order_read::OrderFilter {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 50, "{}", t.name);
    }
}

#[tokio::test]
async fn unpaid_reservations_are_released_after_fifteen_minutes() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = t.db.clone();
        let s = shop(&db, 5, 1000).await;
        let code = db
            .create_discount_code(&DiscountCode {
                id: String::new(),
                code: "once".into(),
                kind: DiscountKind::Fixed,
                value: 100,
                min_spend_minor: 0,
                expires_at: None,
                usage_limit: Some(1),
                used_count: 0,
                enabled: true,
            })
            .await
            .unwrap();
        let cart = cart_with(&db, &s, 2).await;
        db.cart_set_discount(&cart, Some("ONCE")).await.unwrap();
        let placed = db.place_order(&order(&cart, &s, "k")).await.unwrap();
        assert_eq!(db.discount_code(&code.id).await.unwrap().used_count, 1);
        assert_eq!(available(&db, &s.variant).await, 3);
        // The code is used up: another cart cannot use it.
        let other = cart_with(&db, &s, 1).await;
        db.cart_set_discount(&other, Some("once")).await.unwrap();
        let e = db.place_order(&order(&other, &s, "k2")).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "discount_code"),
            "{e:?}"
        );
        assert_eq!(available(&db, &s.variant).await, 3, "nothing reserved");
        clock.advance(RESERVATION_MS - 1000);
        assert!(db.expired_reservations(10).await.unwrap().is_empty());
        clock.advance(2000);
        let due = db.expired_reservations(10).await.unwrap();
        assert_eq!(due, vec![placed.order_id.clone()], "{}", t.name);
        db.transition(&placed.order_id, OrderEvent::Expire, "system", "")
            .await
            .unwrap();
        assert_eq!(available(&db, &s.variant).await, 5, "stock back");
        assert_eq!(db.discount_code(&code.id).await.unwrap().used_count, 0);
        assert!(db.expired_reservations(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn refused_changes_change_nothing() {
    for t in common::backends().await {
        let db = t.db.clone();
        let s = shop(&db, 5, 1000).await;
        let cart = cart_with(&db, &s, 1).await;
        let p = db.place_order(&order(&cart, &s, "k")).await.unwrap();
        let id = p.order_id.clone();
        // Fulfilling an unpaid order is refused.
        let e = db.fulfil_order(&id, "TRACK", "staff").await.unwrap_err();
        assert!(
            matches!(e, StoreError::State { ref field, .. } if field == "status"),
            "{e:?}"
        );
        assert_eq!(
            db.order_status(&id).await.unwrap(),
            OrderStatus::PendingPayment
        );
        // Pay it, then a refund above what was paid is refused and nothing moves.
        db.record_payment(
            &id,
            "sandbox",
            "ref-1",
            &PaymentUpdate {
                status: "captured".into(),
                amount_minor: p.total_minor,
                captured_minor: p.total_minor,
                card_brand: Some("visa".into()),
                card_last4: Some("4242".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        db.transition(&id, OrderEvent::Authorize, "t", "")
            .await
            .unwrap();
        db.transition(&id, OrderEvent::Capture, "t", "")
            .await
            .unwrap();
        let too_much = RefundRecord {
            amount_minor: p.total_minor + 1,
            payment_id: None,
            gateway_reference: None,
            restock: vec![],
            reason: String::new(),
        };
        let e = db.record_refund(&id, &too_much, "staff").await.unwrap_err();
        assert!(
            matches!(e, StoreError::State { ref field, .. } if field == "amount"),
            "{e:?}"
        );
        assert_eq!(db.order_status(&id).await.unwrap(), OrderStatus::Paid);
        assert_eq!(
            db.order_detail(&id).await.unwrap().summary.refunded_minor,
            0
        );
        // A card number never reaches the payments table.
        let e = db
            .record_payment(
                &id,
                "sandbox",
                "ref-2",
                &PaymentUpdate {
                    status: "failed".into(),
                    message: "card 4242 4242 4242 4242 declined".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
        // Partial refund with restock of the line.
        let part = RefundRecord {
            amount_minor: 500,
            restock: vec![(0, 1)],
            ..too_much
        };
        let to = db.record_refund(&id, &part, "staff").await.unwrap();
        assert_eq!(to, OrderStatus::PartiallyRefunded, "{}", t.name);
        assert_eq!(available(&db, &s.variant).await, 5);
        // Cancelling a refunded-in-part order is refused.
        let e = db
            .transition(&id, OrderEvent::Cancel, "staff", "")
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::State { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn cart_rules_are_checked_on_the_server() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = t.db.clone();
        let s = shop(&db, 3, 1000).await;
        let (_token, cart) = db.create_cart(None).await.unwrap();
        // More than in stock: refused naming quantity, cart unchanged.
        let e = db.cart_add(&cart.id, &s.variant, 4).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "quantity"),
            "{e:?}"
        );
        assert!(db.cart(&cart.id).await.unwrap().lines.is_empty());
        // Unknown discount code: a clear error naming the field.
        let e = db
            .cart_set_discount(&cart.id, Some("NOPE"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "discount_code"),
            "{e:?}"
        );
        // An empty cart cannot be ordered.
        let e = db.place_order(&order(&cart.id, &s, "k")).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "cart"),
            "{e:?}"
        );
        // An expired cart is gone.
        db.cart_add(&cart.id, &s.variant, 1).await.unwrap();
        clock.advance(storefort_store::carts::CART_LIFETIME_MS + 1);
        let e = db.cart(&cart.id).await.unwrap_err();
        assert!(matches!(e, StoreError::Gone(_)), "{}: {e:?}", t.name);
    }
}
