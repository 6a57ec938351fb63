//! Shared by the restore and drill tests: shops on SQLite (always) and PostgreSQL (when
//! `STOREFORT_TEST_POSTGRES_URL` is set) that can be reopened after a restore, a seeded shop
//! built through the store API, a checksum of every table, and taking a backup file.
#![allow(dead_code)]

#[path = "../../../store/tests/pos_support/mod.rs"]
pub mod pos_support;
#[path = "../../../store/tests/shop_support/mod.rs"]
pub mod shop_support;
#[allow(dead_code)]
#[path = "../../../store/tests/vault_support/data.rs"]
pub mod vault_data;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use storefort_backup::progress::NoProgress;
use storefort_backup::restore::RestoreTarget;
use storefort_backup::{archive, keys, snapshot};
use storefort_crypto::master_key::MasterKey;
use storefort_store::db::ConnectOptions;
use storefort_store::{Backend, Db, SystemClock};

/// A shop's database plus everything needed to reopen it.
pub struct Shop {
    /// Open, migrated, unlocked.
    pub db: Db,
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The database URL (for PostgreSQL without the schema: that is `schema`).
    pub url: String,
    /// PostgreSQL schema (`t_<hex>`), None for SQLite.
    pub schema: Option<String>,
    /// The master key.
    pub master: MasterKey,
    /// Data directory (SQLite file, lock, work files).
    pub dir: tempfile::TempDir,
}

impl Shop {
    /// Reopen the database (after a restore), migrated and unlocked.
    pub async fn reopen(&self) -> Db {
        open(&self.url, self.schema.clone())
            .await
            .with_master_key(&self.master)
            .await
            .unwrap()
    }

    /// Where `restore` should put the backup.
    pub fn target(&self) -> RestoreTarget {
        RestoreTarget {
            db_url: self.url.clone(),
            pg_schema: self.schema.clone().unwrap_or_else(|| "public".into()),
            data_dir: self.dir.path().to_path_buf(),
        }
    }

    /// The SQLite file (None for PostgreSQL).
    pub fn file(&self) -> Option<PathBuf> {
        (self.db.backend == Backend::Sqlite).then(|| self.dir.path().join("shop.db"))
    }
}

/// Connect and migrate.
pub async fn open(url: &str, schema: Option<String>) -> Db {
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

/// A fresh shop on every engine this run covers.
pub async fn shops() -> Vec<Shop> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    out.push(make("sqlite", url, None, dir).await);
    if let Ok(url) = std::env::var("STOREFORT_TEST_POSTGRES_URL") {
        let schema = format!("t_{}", storefort_store::db::new_id().replace('-', ""));
        out.push(make("postgres", url, Some(schema), tempfile::tempdir().unwrap()).await);
    }
    out
}

pub async fn make(
    name: &'static str,
    url: String,
    schema: Option<String>,
    dir: tempfile::TempDir,
) -> Shop {
    let master = MasterKey::generate();
    let db = open(&url, schema.clone())
        .await
        .with_master_key(&master)
        .await
        .unwrap();
    Shop {
        db,
        name,
        url,
        schema,
        master,
        dir,
    }
}

/// A shop with some of everything, built through the store API: customers with encrypted
/// personal data, saved addresses and orders (the vault data set), staff with 2FA, a sealed
/// secret, products with stock at two locations, web orders through checkout, till sales and an
/// audit entry.
pub async fn seed_shop(db: &Db) -> vault_data::Seeded {
    use storefort_store::audit::AuditEvent;
    use storefort_store::checkout::PlaceOrder;
    let seeded = vault_data::seed(db).await;
    let web = shop_support::shop(db, 50, 1200).await;
    for i in 0..3 {
        let cart = shop_support::cart_with(db, &web, i + 1).await;
        db.place_order(&PlaceOrder {
            cart_id: cart,
            checkout: shop_support::input(&web.shipping, &format!("buyer{i}@example.com")),
            customer_id: None,
            idempotency_key: format!("drill-{i}"),
            channel: "web".into(),
        })
        .await
        .unwrap();
    }
    let till = pos_support::till(db).await;
    for i in 0..3 {
        let s = pos_support::sale(
            &till,
            &format!("drill-sale-{i}"),
            vec![pos_support::line(&till.mug, 1)],
            vec![pos_support::cash(1200, 2000)],
        );
        db.create_pos_sale(&s).await.unwrap();
    }
    db.audit(AuditEvent::new("backup.drill", "test", "127.0.0.1"))
        .await
        .unwrap();
    seeded
}

/// Take a backup of `shop` encrypted to `recipient`, written to `<dir>/<file>`.
pub async fn backup(shop: &Shop, recipient: &str, file: &str) -> PathBuf {
    let work = shop.dir.path().join(format!("work-{file}"));
    // pg_dump dumps the pool's current schema; the URL only says which server and database.
    let manifest = snapshot::take(&shop.db, &shop.url, "Drill Shop", &work)
        .await
        .unwrap();
    let out = shop.dir.path().join(file);
    let f = std::fs::File::create(&out).unwrap();
    let r = keys::parse_recipient(recipient).unwrap();
    let f = archive::write(f, &[r], &manifest, &work, &NoProgress).unwrap();
    f.sync_all().unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    out
}

/// Every table's (rows, SHA-256 of its sorted rows), keyed by table name. Every column is
/// read as SQL text (SQLite `quote()`, PostgreSQL `::text`), so any column type compares.
pub async fn checksums(db: &Db) -> BTreeMap<String, (usize, String)> {
    let mut out = BTreeMap::new();
    for table in tables(db).await {
        let cols = columns(db, &table).await;
        assert!(!cols.is_empty(), "{table} has no columns");
        let select: Vec<String> = cols
            .iter()
            .map(|c| match db.backend {
                Backend::Sqlite => format!("quote(\"{c}\")"),
                Backend::Postgres => format!("CAST(\"{c}\" AS TEXT)"),
            })
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", select.join(", "));
        let rows = sqlx::query(&sql).fetch_all(&db.pool).await.unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                use sqlx::Row;
                (0..cols.len())
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .unwrap_or_else(|e| panic!("{table}.{}: {e}", cols[i]))
                            .unwrap_or_else(|| "\u{0}NULL".into())
                    })
                    .collect::<Vec<_>>()
                    .join("\u{1f}")
            })
            .collect();
        lines.sort();
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
            h.update([b'\n']);
        }
        out.insert(table, (lines.len(), hex::encode(h.finalize())));
    }
    out
}

/// Every table of the shop's database (or schema), sorted.
pub async fn tables(db: &Db) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    sqlx::query_scalar(sql).fetch_all(&db.pool).await.unwrap()
}

async fn columns(db: &Db, table: &str) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    sqlx::query_scalar(sql)
        .bind(table)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// Tables whose checksums differ between `a` and `b` (to name them in a failure).
pub fn differing(
    a: &BTreeMap<String, (usize, String)>,
    b: &BTreeMap<String, (usize, String)>,
) -> Vec<String> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| format!("{n}: {:?} vs {:?}", a.get(n), b.get(n)))
        .collect()
}

/// An identity file (recovery kit) for `id`, written into `dir`.
pub fn kit(dir: &Path, id: &keys::NewIdentity) -> PathBuf {
    let path = dir.join(format!("kit-{}.txt", &id.recipient[4..12]));
    std::fs::write(
        &path,
        keys::recovery_kit("Drill Shop", &id.identity, &id.recipient, None, 0),
    )
    .unwrap();
    path
}

/// Names of `.restore-*` leftovers in `dir`.
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".restore-"))
        .collect()
}

/// PostgreSQL schemas whose name starts with `prefix`.
pub async fn schemas_like(db: &Db, prefix: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT CAST(nspname AS TEXT) FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY 1",
    )
    .bind(prefix)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}
