//! Data-key rotation interrupted (a crash between batches, and a batch aborted half-way) and
//! resumed, then master-key rotation; both engines, run side by side because finishing a
//! rotation waits for every node to have switched keys.

use std::time::{Duration, Instant};

use storefort_core::customer::{Address, NewCustomer, NewOrder};
use storefort_crypto::keyring::Kek;
use storefort_crypto::master_key::MasterKey;
use storefort_store::vault::ACTIVE_KEY_REFRESH;
use storefort_store::{Db, StoreError};

use crate::vault_support::data::{self, Seeded};
use crate::vault_support::{count, stores, text, Store};

/// Every sealed column.
const SEALED: [(&str, &str); 12] = [
    ("customers", "name"),
    ("customers", "email"),
    ("customers", "phone"),
    ("customers", "note"),
    ("customer_addresses", "address"),
    ("orders", "email"),
    ("orders", "phone"),
    ("orders", "billing"),
    ("orders", "shipping"),
    ("users", "totp_secret"),
    ("users", "totp_pending"),
    ("secrets", "value"),
];

/// How many sealed values name `key` in their header.
async fn values_naming(db: &Db, key: &str) -> i64 {
    let pattern = format!("v2.{key}.%");
    let mut n = 0;
    for (table, col) in SEALED {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {col} LIKE $1");
        n += count(db, &sql, &[&pattern]).await;
    }
    n
}

fn late_address() -> Address {
    Address {
        name: "Ptolemy Wigglesworth-Danvers".into(),
        line1: "5 Rotation Row".into(),
        city: "Midway-upon-Batch".into(),
        postcode: "RR1 5KY".into(),
        country: "GB".into(),
        ..Default::default()
    }
}

/// A second node writes while the rotation runs (it may still use the old data key).
async fn write_during_rotation(node: &Db, seeded: &mut Seeded) {
    let c = NewCustomer {
        name: "Ptolemy Wigglesworth-Danvers".into(),
        email: "ptolemy.wd.2718@example-vault-test.org".into(),
        phone: "+44 117 496 0999".into(),
        marketing_consent: false,
        note: "joined mid-rotation".into(),
    };
    let created = node.create_customer(&c, None).await.unwrap();
    node.add_address(&created.id, "Home", &late_address())
        .await
        .unwrap();
    let order = node
        .create_order(&NewOrder {
            customer_id: created.id.clone(),
            status: "paid".into(),
            currency: "GBP".into(),
            total_minor: 4200,
            email: c.email.clone(),
            phone: c.phone.clone(),
            billing: late_address(),
            shipping: None,
        })
        .await
        .unwrap();
    seeded
        .customers
        .push(node.customer(&created.id).await.unwrap());
    seeded.orders.push(order);
    // An existing customer edited mid-rotation keeps the edit.
    let edited = &mut seeded.customers[1];
    edited.note = "allergic to lavender AND to rosemary".into();
    let update = NewCustomer {
        name: edited.name.clone(),
        email: edited.email.clone(),
        phone: edited.phone.clone(),
        marketing_consent: edited.marketing_consent,
        note: edited.note.clone(),
    };
    node.update_customer(&edited.id, &update).await.unwrap();
}

async fn rotate_across_an_interruption(s: Store) {
    let name = s.name;
    let mut seeded = data::seed(&s.db).await;
    let other_node = s.open(&s.master).await.unwrap();
    let before = s.db.rotation_status().await.unwrap();
    assert!(
        !before.in_progress() && before.remaining() == 0,
        "{before:?}"
    );
    let old = before.active.clone();
    let old_customer_keys: Vec<String> = sqlx::query_scalar("SELECT id FROM customer_keys")
        .fetch_all(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(
        values_naming(&s.db, &old).await,
        3,
        "2 TOTP seeds and 1 secret"
    );

    let started = Instant::now();
    let first = s.db.begin_rotation().await.unwrap();
    assert_ne!(first.active, old);
    assert_eq!(first.retiring, vec![old.clone()]);
    assert_eq!((first.customers_left, first.secrets_left), (5, 3), "{name}");
    assert!(s.db.rotate_batch(1).await.unwrap() >= 1);
    let mid = s.db.rotation_status().await.unwrap();
    assert!(
        mid.remaining() > 0 && mid.remaining() < first.remaining(),
        "{mid:?}"
    );

    // Crash: every connection gone in the middle of the rotation.
    s.db.pool.close().await;
    let db = s.open(&s.master).await.unwrap();
    let resumed = db.begin_rotation().await.unwrap();
    assert_eq!(
        (&resumed.active, &resumed.retiring, resumed.remaining()),
        (&first.active, &first.retiring, mid.remaining()),
        "resumed, not restarted ({name})"
    );
    assert_eq!(
        db.data_keys().await.unwrap().len(),
        2,
        "no third key ({name})"
    );
    data::assert_reads_back(&db, &seeded, name).await;
    write_during_rotation(&other_node, &mut seeded).await;

    // More interruptions, this time inside a batch (between a customer's re-key and the
    // re-sealing of their rows, or inside a transaction, wherever the abort lands).
    for ms in [1, 3, 6, 10] {
        let task = tokio::spawn({
            let db = db.clone();
            async move { db.rotate_batch(1000).await }
        });
        tokio::time::sleep(Duration::from_millis(ms)).await;
        task.abort();
        let _ = task.await;
    }
    let mut rounds = 0;
    while db.rotate_batch(2).await.unwrap() > 0 {
        rounds += 1;
        assert!(rounds < 50, "rotation does not converge ({name})");
    }
    let status = db.rotation_status().await.unwrap();
    assert_eq!(status.remaining(), 0, "{status:?} ({name})");
    data::assert_reads_back(&db, &seeded, name).await;

    // Finishing waits until every node has had time to switch to the new key.
    if started.elapsed() + Duration::from_secs(1) < 2 * ACTIVE_KEY_REFRESH {
        assert!(
            !db.finish_rotation().await.unwrap(),
            "finished too early ({name})"
        );
        let state = text(&db, "SELECT state FROM keyring WHERE id = $1", &[&old]).await;
        assert_eq!(state.as_deref(), Some("retiring"));
    }
    let deadline = Instant::now() + 2 * ACTIVE_KEY_REFRESH + Duration::from_secs(20);
    while !db.finish_rotation().await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "finish_rotation never succeeded ({name})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(started.elapsed() >= 2 * ACTIVE_KEY_REFRESH - Duration::from_millis(100));
    let retired = "SELECT COUNT(*) FROM keyring WHERE id = $1 AND state = 'retired' \
                   AND wrapped IS NULL AND retired_at IS NOT NULL";
    assert_eq!(
        count(&db, retired, &[&old]).await,
        1,
        "old data key destroyed ({name})"
    );
    assert_eq!(values_naming(&db, &old).await, 0, "{name}");
    for ck in &old_customer_keys {
        assert_eq!(values_naming(&db, ck).await, 0, "{ck} still named ({name})");
        let left = count(
            &db,
            "SELECT COUNT(*) FROM customer_keys WHERE id = $1",
            &[ck],
        )
        .await;
        assert_eq!(left, 0, "old customer key {ck} kept ({name})");
    }
    let stray = "SELECT COUNT(*) FROM customer_keys WHERE wrapped_by <> $1";
    assert_eq!(count(&db, stray, &[&first.active]).await, 0, "{name}");
    let done = db.rotation_status().await.unwrap();
    assert!(!done.in_progress(), "{done:?}");
    data::assert_reads_back(&db, &seeded, name).await;
    let fresh = s.open(&s.master).await.unwrap();
    data::assert_reads_back(&fresh, &seeded, name).await;
    // The other node (old key still cached in memory) now writes under the new key.
    let c = NewCustomer {
        name: "After Rotation".into(),
        email: "after.rotation@example-vault-test.org".into(),
        ..Default::default()
    };
    other_node.create_customer(&c, None).await.unwrap();
    assert_eq!(count(&db, stray, &[&first.active]).await, 0, "{name}");

    // Master-key rotation, with a destroyed key in the keyring.
    let new = MasterKey::generate();
    let wrapped = count(
        &fresh,
        "SELECT COUNT(*) FROM keyring WHERE wrapped IS NOT NULL",
        &[],
    );
    let wrapped = wrapped.await;
    assert_eq!(
        fresh.rewrap_keys(&new).await.unwrap() as i64,
        wrapped,
        "{name}"
    );
    let new_id = Kek::of(&new).master_id().to_string();
    let other = "SELECT COUNT(*) FROM keyring WHERE master_id <> $1";
    assert_eq!(count(&fresh, other, &[&new_id]).await, 0, "{name}");
    let after = s.open(&new).await.unwrap();
    data::assert_reads_back(&after, &seeded, name).await;
    let email = &seeded.customers[0].email;
    assert!(after.customer_by_email(email).await.unwrap().is_some());
    match s.open(&s.master).await {
        Err(StoreError::WrongMasterKey { expected, given }) => {
            assert_eq!(expected, new_id);
            assert_eq!(given, Kek::of(&s.master).master_id());
        }
        other => panic!("the old master key must be refused ({name}): {other:?}"),
    }
}

#[tokio::test]
async fn data_key_rotation_resumes_after_interruptions_then_master_key_rotation() {
    let runs = stores()
        .await
        .into_iter()
        .map(rotate_across_an_interruption);
    futures::future::join_all(runs).await;
}

/// A node still running with the old master key after `rewrap_keys` (the one that re-wrapped,
/// or another) must not be able to add keys the new master key cannot open.
#[tokio::test]
async fn a_node_on_the_old_master_key_cannot_lock_the_shop_out_after_rewrap() {
    let s = crate::vault_support::sqlite_store().await;
    let seeded = data::seed(&s.db).await;
    let new = MasterKey::generate();
    s.db.rewrap_keys(&new).await.unwrap();
    // The node still holding the old master key is refused, and nothing it tried is kept.
    let refused = s.db.begin_rotation().await.unwrap_err();
    assert!(
        matches!(refused, storefort_store::StoreError::WrongMasterKey { .. }),
        "{refused:?}"
    );
    let after = s
        .open(&new)
        .await
        .expect("the new master key must still open the database");
    data::assert_reads_back(&after, &seeded, s.name).await;
}
