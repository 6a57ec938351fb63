//! Customers and orders through the vault on both engines: what goes in comes back out,
//! lookups work through the blind indexes, bad input changes nothing, and a rotation running
//! beside normal writes loses nothing.

mod common;

use std::sync::Arc;

use storefort_core::customer::{Address, NewCustomer, NewOrder};
use storefort_core::ids::CustomerId;
use storefort_store::privacy::ErasureReason;
use storefort_store::{Clock, ManualClock, StoreError, SystemClock};

fn ann() -> NewCustomer {
    NewCustomer {
        name: "Ann Archer".into(),
        email: "Ann.Archer@Example.com".into(),
        phone: "+44 20 7946 0001".into(),
        marketing_consent: true,
        note: "leave parcels with the neighbour".into(),
    }
}

fn home() -> Address {
    Address {
        name: "Ann Archer".into(),
        line1: "1 Mill Lane".into(),
        city: "Leeds".into(),
        postcode: "LS1 1AA".into(),
        country: "GB".into(),
        ..Default::default()
    }
}

fn order_for(id: &CustomerId) -> NewOrder {
    NewOrder {
        customer_id: id.clone(),
        status: "pending_payment".into(),
        currency: "GBP".into(),
        total_minor: 4599,
        email: "ann.archer@example.com".into(),
        phone: "+44 20 7946 0001".into(),
        billing: home(),
        shipping: Some(Address {
            line1: "2 Other Road".into(),
            ..home()
        }),
    }
}

#[tokio::test]
async fn round_trip_lookup_update_and_orders() {
    for t in common::backends().await {
        let db = &t.db;
        let c = db.create_customer(&ann(), None).await.unwrap();
        assert_eq!(c.name, "Ann Archer");
        assert!(!c.has_account);
        let by_email = db
            .customer_by_email("  ann.archer@EXAMPLE.com ")
            .await
            .unwrap()
            .expect("found by email in any case");
        assert_eq!(by_email.id, c.id, "{}", t.name);
        let by_phone = db.customers_by_phone("+44 (0)20-7946-0001").await.unwrap();
        assert_eq!(by_phone.len(), 1);
        assert!(db
            .customer_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none());

        let saved = db.add_address(&c.id, "Home", &home()).await.unwrap();
        let o = db.create_order(&order_for(&c.id)).await.unwrap();
        let o2 = db.create_order(&order_for(&c.id)).await.unwrap();
        assert_eq!(o2.number, o.number + 1);
        let again = db.customer(&c.id).await.unwrap();
        assert_eq!(again.addresses, vec![saved]);
        let orders = db.orders_of_customer(&c.id).await.unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].billing.as_ref().unwrap().line1, "1 Mill Lane");
        assert_eq!(orders[1].shipping.as_ref().unwrap().line1, "2 Other Road");

        let mut changed = ann();
        changed.phone = "020 7946 0999".into();
        changed.note = "new note".into();
        let u = db.update_customer(&c.id, &changed).await.unwrap();
        assert_eq!(u.note, "new note");
        assert!(db
            .customers_by_phone("+44 20 7946 0001")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(db.customers_by_phone("02079460999").await.unwrap().len(), 1);

        let page = db.customers(1, None).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(page.next_cursor.is_none());
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    for t in common::backends().await {
        let db = &t.db;
        let c = db.create_customer(&ann(), None).await.unwrap();
        let dup = db.create_customer(&ann(), None).await.unwrap_err();
        assert!(
            matches!(&dup, StoreError::Conflict { field } if field == "email"),
            "{dup:?}"
        );
        let mut bad = ann();
        bad.email = "not-an-email".into();
        let e = db.update_customer(&c.id, &bad).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "email"),
            "{e:?}"
        );
        let mut bad_addr = home();
        bad_addr.country = "England".into();
        let e = db.add_address(&c.id, "Home", &bad_addr).await.unwrap_err();
        assert!(matches!(&e, StoreError::Invalid(v) if v.field == "address.country"));
        let mut bad_order = order_for(&c.id);
        bad_order.billing.line1.clear();
        let e = db.create_order(&bad_order).await.unwrap_err();
        assert!(matches!(&e, StoreError::Invalid(v) if v.field == "billing.line1"));
        assert_eq!(
            db.customer(&c.id).await.unwrap().email,
            "Ann.Archer@Example.com"
        );
        assert!(db.customer(&c.id).await.unwrap().addresses.is_empty());
        assert!(db.orders_of_customer(&c.id).await.unwrap().is_empty());
        let e = db.customer(&CustomerId("nope".into())).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }));
    }
}

#[tokio::test]
async fn erased_customers_cannot_be_written_to() {
    for t in common::backends().await {
        let db = &t.db;
        let c = db
            .create_customer(&ann(), Some("$argon2id$x"))
            .await
            .unwrap();
        db.create_order(&order_for(&c.id)).await.unwrap();
        db.erase_customer(&c.id, ErasureReason::Request)
            .await
            .unwrap();
        db.erase_customer(&c.id, ErasureReason::Request)
            .await
            .unwrap();
        let gone = db.customer(&c.id).await.unwrap();
        assert!(gone.erased_at.is_some() && gone.name.is_empty() && !gone.has_account);
        assert!(db
            .customer_login("ann.archer@example.com")
            .await
            .unwrap()
            .is_none());
        let e = db.add_address(&c.id, "x", &home()).await.unwrap_err();
        assert!(matches!(e, StoreError::Erased), "{e:?}");
        let orders = db.orders_of_customer(&c.id).await.unwrap();
        assert_eq!(orders[0].total_minor, 4599, "kept for accounting");
        assert!(orders[0].billing.is_none() && orders[0].email.is_empty());
        let export = db.export_customer(&c.id).await.unwrap().to_string();
        assert!(!export.contains("Archer"));
    }
}

#[tokio::test]
async fn rotation_beside_live_writes_loses_nothing() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let mut ids = Vec::new();
        for i in 0..6 {
            let mut c = ann();
            c.email = format!("c{i}@example.com");
            let c = db.create_customer(&c, None).await.unwrap();
            db.create_order(&order_for(&c.id)).await.unwrap();
            ids.push(c.id);
        }
        let before = db.begin_rotation().await.unwrap();
        assert_eq!(before.customers_left, 6);
        db.rotate_batch(2).await.unwrap();
        // The shop keeps serving: an edit and an order while the rotation is half done.
        let mut edited = ann();
        edited.email = "c5@example.com".into();
        edited.note = "changed during rotation".into();
        db.update_customer(&ids[5], &edited).await.unwrap();
        db.create_order(&order_for(&ids[0])).await.unwrap();
        while db.rotate_batch(2).await.unwrap() > 0 {}
        assert_eq!(db.rotation_status().await.unwrap().remaining(), 0);
        assert!(
            !db.finish_rotation().await.unwrap(),
            "waits for other nodes"
        );
        clock.advance(11_000);
        assert!(db.finish_rotation().await.unwrap(), "{}", t.name);
        let keys = db.data_keys().await.unwrap();
        let mut states: Vec<&str> = keys.iter().map(|k| k.state.as_str()).collect();
        states.sort();
        assert_eq!(states, ["active", "retired"], "{}", t.name);
        assert_eq!(
            db.customer(&ids[5]).await.unwrap().note,
            "changed during rotation"
        );
        assert_eq!(db.orders_of_customer(&ids[0]).await.unwrap().len(), 2);
        for id in &ids {
            let c = db.customer(id).await.unwrap();
            assert_eq!(c.name, "Ann Archer");
        }
    }
}
