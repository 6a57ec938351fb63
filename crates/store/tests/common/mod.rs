//! Test databases: a temp SQLite file always, and a fresh PostgreSQL schema when
//! `STOREFORT_TEST_POSTGRES_URL` is set.

use std::sync::Arc;

use storefort_store::db::ConnectOptions;
use storefort_store::{Clock, Db, SystemClock};

/// A migrated database plus whatever keeps it alive (the temp dir).
pub struct TestDb {
    pub db: Db,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// Every backend this run should cover, each fresh and migrated.
pub async fn backends() -> Vec<TestDb> {
    backends_with_clock(Arc::new(SystemClock)).await
}

pub async fn backends_with_clock(clock: Arc<dyn Clock>) -> Vec<TestDb> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Db::connect_with(&url, ConnectOptions::default(), clock.clone())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let db = db
        .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await
        .unwrap();
    out.push(TestDb {
        db,
        name: "sqlite",
        _dir: Some(dir),
    });
    if let Ok(pg) = std::env::var("STOREFORT_TEST_POSTGRES_URL") {
        let schema = format!("t_{}", uuid_like());
        let opts = ConnectOptions {
            pg_schema: Some(schema),
            max_connections: Some(20),
        };
        let db = Db::connect_with(&pg, opts, clock)
            .await
            .expect("PostgreSQL from STOREFORT_TEST_POSTGRES_URL");
        db.migrate().await.unwrap();
        let db = db
            .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
            .await
            .unwrap();
        out.push(TestDb {
            db,
            name: "postgres",
            _dir: None,
        });
    }
    out
}

fn uuid_like() -> String {
    storefort_store::db::new_id().replace('-', "")
}
