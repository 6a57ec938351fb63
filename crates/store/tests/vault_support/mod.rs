//! Helpers for the vault proof tests: test databases that can be reopened (with another master
//! key, or as a restored copy), distinctive personal data, and a byte scanner for the raw
//! SQLite files and a PostgreSQL dump.

#![allow(dead_code)]

pub mod data;
pub mod scan;

use std::path::PathBuf;
use std::sync::Arc;

use storefort_crypto::master_key::MasterKey;
use storefort_store::db::ConnectOptions;
use storefort_store::{Backend, Db, StoreError, SystemClock};

/// One test database with everything needed to open it again.
pub struct Store {
    /// Open, migrated, unlocked with `master`.
    pub db: Db,
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The master key the database was made with.
    pub master: MasterKey,
    /// Database URL.
    pub url: String,
    /// PostgreSQL schema (None for SQLite).
    pub schema: Option<String>,
    /// Temp dir: holds the SQLite file, backups and the erasure ledger.
    pub dir: tempfile::TempDir,
}

impl Store {
    /// The SQLite database file (None for PostgreSQL).
    pub fn file(&self) -> Option<PathBuf> {
        (self.db.backend == Backend::Sqlite).then(|| self.dir.path().join("vault.db"))
    }

    /// A new connection pool to the same database, migrated but without a master key.
    pub async fn open_locked(&self) -> Db {
        connect(&self.url, self.schema.clone()).await
    }

    /// A new connection pool to the same database, unlocked with `master`.
    pub async fn open(&self, master: &MasterKey) -> Result<Db, StoreError> {
        self.open_locked().await.with_master_key(master).await
    }
}

/// Connect and migrate (no master key).
pub async fn connect(url: &str, schema: Option<String>) -> Db {
    let opts = ConnectOptions {
        pg_schema: schema,
        max_connections: Some(4),
    };
    let db = Db::connect_with(url, opts, Arc::new(SystemClock))
        .await
        .expect("test database");
    db.migrate().await.unwrap();
    db
}

/// A SQLite store always, and a PostgreSQL one when `STOREFORT_TEST_POSTGRES_URL` is set.
pub async fn stores() -> Vec<Store> {
    let mut out = vec![sqlite_store().await];
    if let Ok(url) = std::env::var("STOREFORT_TEST_POSTGRES_URL") {
        let schema = format!("v_{}", storefort_store::db::new_id().replace('-', ""));
        out.push(make("postgres", url, Some(schema), tempfile::tempdir().unwrap()).await);
    }
    out
}

/// Only the SQLite store (for tests about files: WAL, backups).
pub async fn sqlite_store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vault.db").display());
    make("sqlite", url, None, dir).await
}

async fn make(
    name: &'static str,
    url: String,
    schema: Option<String>,
    dir: tempfile::TempDir,
) -> Store {
    let master = MasterKey::generate();
    let db = connect(&url, schema.clone())
        .await
        .with_master_key(&master)
        .await
        .unwrap();
    Store {
        db,
        name,
        master,
        url,
        schema,
        dir,
    }
}

/// Run one SQL statement that returns nothing of interest.
pub async fn exec(db: &Db, sql: &str, binds: &[&str]) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One text value (or NULL) from SQL.
pub async fn text(db: &Db, sql: &str, binds: &[&str]) -> Option<String> {
    let mut q = sqlx::query_scalar::<_, Option<String>>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// One number from SQL.
pub async fn count(db: &Db, sql: &str, binds: &[&str]) -> i64 {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every keyring row as text, sorted (to prove a failed start changed nothing).
pub async fn keyring_snapshot(db: &Db) -> Vec<String> {
    let rows: Vec<(String, String, Option<String>, String, String)> =
        sqlx::query_as("SELECT id, purpose, wrapped, master_id, state FROM keyring ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    rows.into_iter().map(|r| format!("{r:?}")).collect()
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`, asserting it was not blocked by a reader.
pub async fn checkpoint(db: &Db) {
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(busy, 0, "checkpoint was blocked");
}
