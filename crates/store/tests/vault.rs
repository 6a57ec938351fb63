//! Proofs for the customer data vault (issue 4) on both engines: no personal data readable in
//! the raw SQLite file, its WAL or a PostgreSQL dump; sealed values bound to their row; a
//! wrong or missing master key refused without damage; blind-index lookups; erasure that
//! survives restoring a backup; key rotation across an interruption; master-key rotation.

mod vault_support;

use storefort_core::customer::NewCustomer;
use storefort_crypto::keyring::Kek;
use storefort_crypto::master_key::MasterKey;
use storefort_store::StoreError;
use vault_support::data::{self, SETTING_VALUE, STAFF_EMAIL};
use vault_support::scan::{self, all_needles, needles, Haystack};
use vault_support::{checkpoint, exec, keyring_snapshot, stores, text};

// The other proofs live beside the helpers to keep each file small (the scanner's own test is
// in `vault_support/scan.rs`).
/// Erasure, and erasure re-applied after restoring an older backup.
#[path = "vault_support/erasure.rs"]
mod erasure;
/// Key rotation across interruptions, and master-key rotation.
#[path = "vault_support/rotation.rs"]
mod rotation;

#[tokio::test]
async fn no_personal_data_in_the_sqlite_file_its_wal_or_a_postgres_dump() {
    for s in stores().await {
        let seeded = data::seed(&s.db).await;
        assert!(seeded.sensitive.len() > 50, "{}", seeded.sensitive.len());
        let secret_needles = all_needles(&seeded.sensitive);
        let controls = [
            needles("staff email", STAFF_EMAIL),
            needles("setting", SETTING_VALUE),
        ];
        let mut scans: Vec<(&str, Vec<Haystack>)> = Vec::new();
        if let Some(file) = s.file() {
            // Nothing checkpointed yet: the latest rows live only in the WAL.
            let live = scan::sqlite_files(&file);
            let wal = live
                .iter()
                .find(|h| h.name.ends_with("-wal"))
                .expect("a WAL");
            assert!(
                !scan::scan(std::slice::from_ref(wal), &controls[0]).is_empty(),
                "the WAL holds the newest rows, and the scanner reads it"
            );
            scans.push(("before checkpoint", live));
            checkpoint(&s.db).await;
            scans.push(("after wal_checkpoint(TRUNCATE)", scan::sqlite_files(&file)));
        } else {
            let schema = s.schema.as_deref().unwrap();
            let dump = match scan::pg_dump_binary() {
                Some(bin) => scan::pg_dump(&bin, &s.url, schema),
                // No pg_dump on this machine: every row as JSON instead (weaker: no DDL).
                None => scan::pg_rows_json(&s.db, schema).await,
            };
            scans.push(("pg_dump", vec![dump]));
        }
        for (when, hay) in &scans {
            for c in &controls {
                assert!(
                    !scan::scan(hay, c).is_empty(),
                    "positive control {:?} not found {when} ({}): the scan proves nothing",
                    c[0].label,
                    s.name
                );
            }
            let hits = scan::scan(hay, &secret_needles);
            assert!(
                hits.is_empty(),
                "personal data readable at rest ({}, {when}):\n{}",
                s.name,
                hits.join("\n")
            );
        }
        data::assert_reads_back(&s.db, &seeded, s.name).await;
    }
}

fn expect_unreadable<T: std::fmt::Debug>(r: Result<T, StoreError>, context: &str, engine: &str) {
    match r {
        Err(e @ StoreError::Unreadable { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(context) && msg.contains("moved"),
                "unclear message ({engine}): {msg}"
            );
        }
        other => panic!("{context} ({engine}): expected Unreadable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_or_column_does_not_open() {
    for s in stores().await {
        let (db, name) = (&s.db, s.name);
        let seeded = data::seed(db).await;
        let (a, b) = (&seeded.customers[0].id.0, &seeded.customers[2].id.0);
        let saved = [
            text(db, "SELECT key_id FROM customers WHERE id = $1", &[b])
                .await
                .unwrap(),
            text(db, "SELECT name FROM customers WHERE id = $1", &[b])
                .await
                .unwrap(),
        ];
        let restore = "UPDATE customers SET key_id = $1, name = $2 WHERE id = $3";
        // (a) only the value moves: B's key does not open A's value.
        exec(
            db,
            "UPDATE customers SET name = (SELECT name FROM customers WHERE id = $1) WHERE id = $2",
            &[a, b],
        )
        .await;
        let ctx = format!("customers.name:{b}");
        expect_unreadable(db.customer(&seeded.customers[2].id).await, &ctx, name);
        exec(db, restore, &[&saved[0], &saved[1], b]).await;
        // (b) value and key id move together: the right key, but the value is bound to row A.
        exec(
            db,
            "UPDATE customers SET key_id = (SELECT key_id FROM customers WHERE id = $1), \
             name = (SELECT name FROM customers WHERE id = $1) WHERE id = $2",
            &[a, b],
        )
        .await;
        expect_unreadable(db.customer(&seeded.customers[2].id).await, &ctx, name);
        exec(db, restore, &[&saved[0], &saved[1], b]).await;
        data::assert_reads_back(db, &seeded, name).await;
        // (c) one saved address's blob copied onto the customer's other address.
        let addrs = &seeded.customers[0].addresses;
        let copy = "UPDATE customer_addresses SET address = \
                    (SELECT address FROM customer_addresses WHERE id = $1) WHERE id = $2";
        exec(db, copy, &[&addrs[0].id.0, &addrs[1].id.0]).await;
        let ctx = format!("customer_addresses.address:{}", addrs[1].id.0);
        expect_unreadable(db.customer(&seeded.customers[0].id).await, &ctx, name);
        expect_unreadable(db.addresses_of(&seeded.customers[0].id).await, &ctx, name);
        // (d) an order's billing copied into its shipping column; (e) an order's email copied
        // onto another customer's order.
        let (o1, o2) = (&seeded.orders[0].id, &seeded.orders[2].id);
        exec(
            db,
            "UPDATE orders SET shipping = billing WHERE id = $1",
            &[&o1.0],
        )
        .await;
        expect_unreadable(
            db.order_record(o1).await,
            &format!("orders.shipping:{}", o1.0),
            name,
        );
        exec(
            db,
            "UPDATE orders SET email = (SELECT email FROM orders WHERE id = $1) WHERE id = $2",
            &[&o1.0, &o2.0],
        )
        .await;
        expect_unreadable(
            db.order_record(o2).await,
            &format!("orders.email:{}", o2.0),
            name,
        );
        // (f) secrets and TOTP seeds moved to another name or user: an error, never the value.
        db.set_secret("gateway.api_key", "Gateway-Key-Not-This-One")
            .await
            .unwrap();
        exec(db, "UPDATE secrets SET value = (SELECT value FROM secrets WHERE name = 'smtp.password') WHERE name = 'gateway.api_key'", &[]).await;
        let e = db.secret("gateway.api_key").await.unwrap_err();
        assert!(
            e.to_string().contains("secrets.value:gateway.api_key")
                && e.to_string().contains("moved"),
            "{e}"
        );
        let (u1, u2) = (&seeded.seeds[0].0, &seeded.seeds[1].0);
        exec(db, "UPDATE users SET totp_pending = (SELECT totp_secret FROM users WHERE id = $1) WHERE id = $2", &[u1, u2]).await;
        let e = db.pending_mfa_secret(u2).await.unwrap_err();
        assert!(
            e.to_string().contains(&format!("users.totp_secret:{u2}")),
            "{e} ({name})"
        );
        // Untouched rows still read.
        assert_eq!(
            db.customer(&seeded.customers[1].id).await.unwrap().name,
            seeded.customers[1].name
        );
        assert_eq!(
            db.mfa_secret(u1).await.unwrap().as_ref(),
            Some(&seeded.seeds[0].1)
        );
    }
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_is_refused_and_changes_nothing() {
    for s in stores().await {
        let seeded = data::seed(&s.db).await;
        let before = keyring_snapshot(&s.db).await;
        let customers = s.db.count_customers().await.unwrap();
        let wrong = MasterKey::generate();
        let err = s.open(&wrong).await.unwrap_err();
        let (right_id, wrong_id) = (
            Kek::of(&s.master).master_id().to_string(),
            Kek::of(&wrong).master_id().to_string(),
        );
        match &err {
            StoreError::WrongMasterKey { expected, given } => {
                assert_eq!((expected, given), (&right_id, &wrong_id), "{}", s.name);
            }
            other => panic!("expected WrongMasterKey, got {other:?} ({})", s.name),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("master key") && msg.contains(&right_id) && msg.contains(&wrong_id),
            "{msg}"
        );
        assert_eq!(
            keyring_snapshot(&s.db).await,
            before,
            "a refused key wrote nothing ({})",
            s.name
        );
        // No master key at all: personal data cannot be read or written, with a clear error.
        let locked = s.open_locked().await;
        let e = locked.customer(&seeded.customers[0].id).await.unwrap_err();
        assert!(
            matches!(e, StoreError::NoKeys) && e.to_string().contains("master key"),
            "{e}"
        );
        let new = NewCustomer {
            name: "Locked Out".into(),
            email: "locked.out@example.org".into(),
            ..Default::default()
        };
        assert!(matches!(
            locked.create_customer(&new, None).await,
            Err(StoreError::NoKeys)
        ));
        assert!(matches!(
            locked.secret(data::SECRET.0).await,
            Err(StoreError::NoKeys)
        ));
        assert_eq!(locked.count_customers().await.unwrap(), customers);
        // The right key still opens everything, and a restart adds no keys.
        let again = s.open(&s.master).await.unwrap();
        data::assert_reads_back(&again, &seeded, s.name).await;
        assert_eq!(keyring_snapshot(&again).await, before, "{}", s.name);
        let email = &seeded.customers[0].email;
        assert!(
            again.customer_by_email(email).await.unwrap().is_some(),
            "index key kept"
        );
    }
}

#[tokio::test]
async fn blind_indexes_find_customers_without_storing_email_or_phone() {
    for s in stores().await {
        let (db, name) = (&s.db, s.name);
        let seeded = data::seed(db).await;
        let zeb = &seeded.customers[0];
        for probe in [
            "Zebulon.Q7731@Example-Vault-Test.org",
            "zebulon.q7731@example-vault-test.org",
            "  ZEBULON.Q7731@EXAMPLE-VAULT-TEST.ORG \t",
        ] {
            let found = db.customer_by_email(probe).await.unwrap();
            assert_eq!(
                found.map(|c| c.id),
                Some(zeb.id.clone()),
                "{probe:?} ({name})"
            );
        }
        assert!(db
            .customer_by_email("zebulon.q7732@example-vault-test.org")
            .await
            .unwrap()
            .is_none());
        for probe in [
            "+44 20 7946 0123",
            "+44 (0)20 7946-0123",
            "+442079460123",
            " +44-20-7946-0123 ",
        ] {
            let found: Vec<_> = db
                .customers_by_phone(probe)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect();
            assert_eq!(found, vec![zeb.id.clone()], "{probe:?} ({name})");
        }
        assert!(db
            .customers_by_phone("+44 20 7946 0124")
            .await
            .unwrap()
            .is_empty());
        assert!(db.customers_by_phone("").await.unwrap().is_empty());
        let bart = db.customers_by_phone("0161 4960777").await.unwrap();
        assert_eq!(bart.len(), 1);
        assert_eq!(bart[0].name, "Bartholomew Xanthippe-Quorn");
        let dup = NewCustomer {
            name: "Impostor".into(),
            email: " ZEBULON.q7731@example-VAULT-test.org".into(),
            ..Default::default()
        };
        match db.create_customer(&dup, None).await {
            Err(StoreError::Conflict { field }) => assert_eq!(field, "email"),
            other => panic!("duplicate email in another case: {other:?} ({name})"),
        }
        let id = zeb.id.0.as_str();
        let index = text(db, "SELECT email_index FROM customers WHERE id = $1", &[id])
            .await
            .unwrap();
        let phone_index = text(db, "SELECT phone_index FROM customers WHERE id = $1", &[id])
            .await
            .unwrap();
        let normalized = "zebulon.q7731@example-vault-test.org";
        assert_eq!(index.len(), 64, "hex HMAC-SHA256");
        assert!(index.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(
            !index.contains("zebulon") && index != storefort_crypto::token::hash_token(normalized),
            "keyed, not a plain hash"
        );
        assert_ne!(index, phone_index);
        for col in ["name", "email", "phone", "note"] {
            let v = text(
                db,
                &format!("SELECT {col} FROM customers WHERE id = $1"),
                &[id],
            )
            .await
            .unwrap();
            assert!(
                v.starts_with("v2.ck-"),
                "{col} sealed under a customer key: {v}"
            );
        }
    }
}
