//! The restore drill, on SQLite and PostgreSQL: build a shop with customers (encrypted personal
//! data), products, stock, web orders and till sales; checksum every table; back up; verify the
//! backup; destroy the database; restore with the recovery kit; every table equal to before,
//! personal data readable with the master key, the audit chain intact.

mod support;

use storefort_backup::progress::NoProgress;
use storefort_backup::restore::restore;
use storefort_backup::verify::verify;
use storefort_backup::{keys, BackupError};
use storefort_store::audit::AuditVerdict;
use support::{backup, checksums, differing, leftovers, seed_shop, shops, vault_data, Shop};

/// Scratch databases verify created and did not drop.
async fn scratch_databases(url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut c = sqlx::postgres::PgConnection::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(datname AS TEXT) FROM pg_database WHERE starts_with(datname, 'sfverify_')",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    names
}

/// The disaster: the database is gone.
async fn destroy(shop: &Shop) {
    shop.db.pool.close().await;
    match (&shop.schema, shop.file()) {
        (None, Some(file)) => {
            for ext in ["", "-wal", "-shm"] {
                let p = format!("{}{ext}", file.display());
                let _ = std::fs::remove_file(p);
            }
            assert!(!file.exists());
        }
        (Some(schema), _) => {
            use sqlx::{Connection, Executor};
            let mut c = sqlx::postgres::PgConnection::connect(&shop.url)
                .await
                .unwrap();
            c.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await
                .unwrap();
            c.close().await.unwrap();
        }
        (None, None) => unreachable!(),
    }
}

#[tokio::test]
async fn drill_back_up_destroy_restore_and_every_table_is_equal() {
    let pg_admin = std::env::var("STOREFORT_TEST_POSTGRES_URL").ok();
    for shop in shops().await {
        let engine = shop.name;
        let seeded = seed_shop(&shop.db).await;
        let before = checksums(&shop.db).await;
        for (table, at_least) in [
            ("customers", 5),
            ("customer_addresses", 5),
            ("orders", 5 + 3 + 3),
            ("products", 3),
            ("audit_log", 1),
            ("keyring", 3),
        ] {
            let rows = before.get(table).map_or(0, |(n, _)| *n);
            assert!(rows >= at_least, "{engine}: {table} has {rows} rows");
        }
        let known = shop.db.known_migrations();
        let id = keys::new_identity();
        let kit = support::kit(shop.dir.path(), &id);
        let file = backup(&shop, &id.recipient, "drill.sfbak").await;
        let identities = keys::read_identity_file(&kit).unwrap();

        // Verify restores into a scratch database, counts every table and checks the chain.
        let report = verify(
            &file,
            &identities,
            known,
            &shop.dir.path().join("verify"),
            pg_admin.as_deref(),
            Some(&shop.master),
            &NoProgress,
        )
        .await
        .unwrap_or_else(|e| panic!("{engine}: verify: {e}"));
        assert_eq!(report.integrity, "ok", "{engine}");
        let audit = report.audit.clone().unwrap();
        assert!(audit.starts_with("intact"), "{engine}: {audit}");
        let counts: Vec<(String, i64)> = before
            .iter()
            .map(|(t, (n, _))| (t.clone(), *n as i64))
            .collect();
        assert_eq!(report.row_counts, counts, "{engine}");
        assert_eq!(report.manifest.schema_version, known);
        assert_eq!(
            std::fs::read_dir(shop.dir.path().join("verify"))
                .unwrap()
                .count(),
            0,
            "{engine}: verify left temp files"
        );
        if let (Some(url), true) = (&pg_admin, shop.schema.is_some()) {
            assert_eq!(scratch_databases(url).await, Vec::<String>::new());
        }
        // Verify with another master key cannot check the chain, and says so.
        let other = storefort_crypto::master_key::MasterKey::generate();
        let r = verify(
            &file,
            &identities,
            known,
            shop.dir.path(),
            pg_admin.as_deref(),
            Some(&other),
            &NoProgress,
        )
        .await
        .unwrap();
        assert!(r.audit.unwrap().starts_with("not checked"), "{engine}");

        destroy(&shop).await;
        let started = std::time::Instant::now();
        let restored = restore(&file, &identities, known, &shop.target(), &NoProgress)
            .await
            .unwrap_or_else(|e| panic!("{engine}: restore: {e}"));
        eprintln!("{engine}: restore took {:?}", started.elapsed());
        assert_eq!(
            restored.kept_aside, "",
            "{engine}: there was nothing to keep aside"
        );
        assert!(leftovers(shop.dir.path()).is_empty());

        let db = shop.reopen().await;
        let after = checksums(&db).await;
        assert_eq!(differing(&before, &after), Vec::<String>::new(), "{engine}");
        assert_eq!(before, after);
        vault_data::assert_reads_back(&db, &seeded, engine).await;
        match db.verify_audit().await.unwrap() {
            AuditVerdict::Intact { entries } => assert!(entries >= 1),
            broken => panic!("{engine}: {broken:?}"),
        }
    }
}

#[tokio::test]
async fn verify_refuses_a_wrong_kit_and_a_damaged_file() {
    let shop = shops().await.remove(0);
    let id = keys::new_identity();
    let file = backup(&shop, &id.recipient, "v.sfbak").await;
    let wrong = vec![keys::new_identity().identity.parse().unwrap()];
    let e = verify(
        &file,
        &wrong,
        1000,
        shop.dir.path(),
        None,
        None,
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BackupError::WrongIdentity), "{e:?}");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let ids = vec![id.identity.parse().unwrap()];
    let e = verify(&file, &ids, 1000, shop.dir.path(), None, None, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(e, BackupError::Corrupt(_)), "{e:?}");
}

/// Most PostgreSQL shops live in `public`: its dump carries `CREATE SCHEMA public`, which must
/// neither break verify (a new database already has `public`) nor the swap.
#[tokio::test]
async fn a_shop_in_the_public_schema_verifies_and_restores_in_place() {
    use sqlx::{Connection, Executor};
    let Ok(server) = std::env::var("STOREFORT_TEST_POSTGRES_URL") else {
        eprintln!("STOREFORT_TEST_POSTGRES_URL not set: PostgreSQL test skipped");
        return;
    };
    let name = format!("sfpub_{}", storefort_store::db::new_id().replace('-', ""));
    let mut admin = sqlx::postgres::PgConnection::connect(&server)
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = server.rsplit_once('/').unwrap().0;
    let url = format!("{base}/{name}");
    let shop = support::make("postgres", url, None, tempfile::tempdir().unwrap()).await;
    let seeded = seed_shop(&shop.db).await;
    let before = checksums(&shop.db).await;
    let id = keys::new_identity();
    let file = backup(&shop, &id.recipient, "pub.sfbak").await;
    let ids = vec![id.identity.parse().unwrap()];
    let known = shop.db.known_migrations();
    let report = verify(
        &file,
        &ids,
        known,
        shop.dir.path(),
        Some(&server),
        Some(&shop.master),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.integrity, "ok");
    assert_eq!(report.manifest.source.pg_schema.as_deref(), Some("public"));
    assert!(report.audit.unwrap().starts_with("intact"));
    assert_eq!(report.row_counts.len(), before.len());
    // The attacker wipes the orders; the owner restores over the live schema.
    shop.db.pool.close().await;
    let db = support::open(&shop.url, None).await;
    for t in ["order_events", "order_lines", "payments", "orders"] {
        let _ = sqlx::query(&format!("DELETE FROM {t}"))
            .execute(&db.pool)
            .await;
    }
    let wiped = checksums(&db).await;
    assert!(!differing(&before, &wiped).is_empty());
    db.pool.close().await;
    let r = restore(&file, &ids, known, &shop.target(), &NoProgress)
        .await
        .unwrap();
    assert!(
        r.kept_aside.starts_with("public_before_restore_"),
        "{}",
        r.kept_aside
    );
    let db = shop.reopen().await;
    assert_eq!(
        differing(&before, &checksums(&db).await),
        Vec::<String>::new()
    );
    vault_data::assert_reads_back(&db, &seeded, "postgres public").await;
    db.pool.close().await;
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
