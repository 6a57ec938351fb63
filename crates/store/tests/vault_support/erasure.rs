//! Erasure: the customer's key destroyed, fields cleared, orders kept; and a restored older
//! backup erased again from the ledger (kept apart from `vault.rs` for size).

use storefort_core::customer::{Address, NewOrder};
use storefort_store::privacy::ErasureReason;
use storefort_store::StoreError;

use crate::vault_support::data;
use crate::vault_support::scan::{self, all_needles, Haystack};
use crate::vault_support::{checkpoint, count, exec, stores, text};

#[tokio::test]
async fn erasure_destroys_the_key_clears_fields_and_keeps_orders() {
    for s in stores().await {
        let (db, name) = (&s.db, s.name);
        let seeded = data::seed(db).await;
        let (zeb, id) = (&seeded.customers[0], seeded.customers[0].id.0.as_str());
        let orders = count(db, "SELECT COUNT(*) FROM orders", &[]).await;
        let key = text(db, "SELECT key_id FROM customers WHERE id = $1", &[id])
            .await
            .unwrap();
        db.erase_customer(&zeb.id, ErasureReason::Request)
            .await
            .unwrap();
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM customer_keys WHERE customer_id = $1 OR id = $2",
                &[id, &key]
            )
            .await,
            0
        );
        let cleared = "SELECT COUNT(*) FROM customers WHERE id = $1 AND key_id IS NULL AND name IS NULL \
                       AND email IS NULL AND phone IS NULL AND note IS NULL AND email_index IS NULL \
                       AND phone_index IS NULL AND password_hash IS NULL AND erased_at IS NOT NULL";
        assert_eq!(count(db, cleared, &[id]).await, 1, "{name}");
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM customer_addresses WHERE customer_id = $1",
                &[id]
            )
            .await,
            0
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM orders", &[]).await,
            orders,
            "orders kept"
        );
        let stripped = "SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND key_id IS NULL AND email IS NULL \
                        AND phone IS NULL AND billing IS NULL AND shipping IS NULL";
        assert_eq!(count(db, stripped, &[id]).await, 1, "{name}");
        let order = db.order_record(&seeded.orders[0].id).await.unwrap();
        assert_eq!(
            (order.total_minor, order.email.as_str(), order.billing),
            (seeded.orders[0].total_minor, "", None)
        );
        let c = db.customer(&zeb.id).await.unwrap();
        assert!(
            c.erased_at.is_some()
                && c.name.is_empty()
                && c.email.is_empty()
                && c.addresses.is_empty()
        );
        assert!(db.customer_by_email(&zeb.email).await.unwrap().is_none());
        assert!(db.customers_by_phone(&zeb.phone).await.unwrap().is_empty());
        assert!(db.customer_login(&zeb.email).await.unwrap().is_none());
        let a = Address {
            name: "X".into(),
            line1: "1 Road".into(),
            city: "Town".into(),
            country: "GB".into(),
            ..Default::default()
        };
        assert!(matches!(
            db.add_address(&zeb.id, "Home", &a).await,
            Err(StoreError::Erased)
        ));
        let o = NewOrder {
            customer_id: zeb.id.clone(),
            status: "paid".into(),
            currency: "GBP".into(),
            total_minor: 1,
            email: "x@example.org".into(),
            phone: String::new(),
            billing: a,
            shipping: None,
        };
        assert!(matches!(db.create_order(&o).await, Err(StoreError::Erased)));
        db.erase_customer(&zeb.id, ErasureReason::Request)
            .await
            .unwrap();
        for other in &seeded.customers[1..] {
            assert_eq!(
                db.customer(&other.id).await.unwrap().name,
                other.name,
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn erasure_is_reapplied_when_an_older_backup_is_restored() {
    let s = crate::vault_support::sqlite_store().await;
    let seeded = data::seed(&s.db).await;
    let (zeb, id) = (&seeded.customers[0], seeded.customers[0].id.0.as_str());
    checkpoint(&s.db).await;
    let backup = s.dir.path().join("backup.db");
    std::fs::copy(s.file().unwrap(), &backup).unwrap();
    let ledger = s.dir.path().join("erasures.ledger");
    let live = s.db.clone().with_erasure_ledger(ledger.clone());
    let old_key = text(&live, "SELECT key_id FROM customers WHERE id = $1", &[id])
        .await
        .unwrap();
    let old_name = text(&live, "SELECT name FROM customers WHERE id = $1", &[id])
        .await
        .unwrap();
    live.erase_customer(&zeb.id, ErasureReason::Request)
        .await
        .unwrap();
    let written = std::fs::read(&ledger).unwrap();
    assert!(
        String::from_utf8_lossy(&written).contains(id),
        "the ledger names the customer"
    );
    let ledger_hits = scan::scan(
        &[Haystack::new("ledger", written)],
        &all_needles(&seeded.sensitive),
    );
    assert!(
        ledger_hits.is_empty(),
        "personal data in the ledger: {ledger_hits:?}"
    );
    // Crypto-shredding: the live database no longer has the key the backup's values name.
    assert_eq!(
        count(
            &live,
            "SELECT COUNT(*) FROM customer_keys WHERE id = $1",
            &[&old_key]
        )
        .await,
        0
    );
    exec(
        &live,
        "UPDATE customers SET key_id = $1, name = $2 WHERE id = $3",
        &[&old_key, &old_name, id],
    )
    .await;
    match live.customer(&zeb.id).await {
        Err(e @ StoreError::Unreadable { .. }) => {
            assert!(e.to_string().contains("does not open"), "{e}")
        }
        other => panic!("an old sealed value must not open after erasure: {other:?}"),
    }
    // The restored backup still holds the customer: that is why the ledger exists.
    let url = format!("sqlite://{}", backup.display());
    let restored = crate::vault_support::connect(&url, None)
        .await
        .with_erasure_ledger(ledger.clone());
    let restored = restored.with_master_key(&s.master).await.unwrap();
    assert_eq!(restored.customer(&zeb.id).await.unwrap().name, zeb.name);
    assert_eq!(restored.reapply_erasures().await.unwrap(), 1);
    let c = restored.customer(&zeb.id).await.unwrap();
    assert!(c.erased_at.is_some() && c.name.is_empty() && c.addresses.is_empty());
    assert_eq!(
        count(
            &restored,
            "SELECT COUNT(*) FROM customer_keys WHERE customer_id = $1",
            &[id]
        )
        .await,
        0
    );
    assert!(restored
        .customer_by_email(&zeb.email)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        restored
            .order_record(&seeded.orders[0].id)
            .await
            .unwrap()
            .billing,
        None
    );
    assert_eq!(restored.reapply_erasures().await.unwrap(), 0, "idempotent");
    for other in &seeded.customers[1..] {
        assert_eq!(
            restored.customer(&other.id).await.unwrap(),
            *other,
            "others untouched"
        );
    }
}
