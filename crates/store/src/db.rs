//! Connecting, migrating, the clock, and ID generation.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};

use storefort_core::access::SecurityPolicy;

use crate::StoreError;

/// The database engine behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Pick the engine from a database URL's scheme; anything else is an error.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnknownScheme(scheme.to_string())),
        }
    }
}

/// Where "now" comes from. Tests use [`ManualClock`] to move time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Current time, UTC milliseconds.
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Start at `ms`.
    pub fn new(ms: i64) -> Self {
        Self(AtomicI64::new(ms))
    }

    /// Move forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A connection pool plus the clock; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool (SQLite or PostgreSQL behind sqlx's Any driver).
    pub pool: AnyPool,
    /// Which engine.
    pub backend: Backend,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Recent product listings (dropped on any catalog or stock write).
    pub(crate) listings:
        crate::cache::Shared<storefort_core::model::Page<storefort_core::model::Product>>,
    /// Recent API-key lookups (dropped when a key is revoked).
    pub(crate) keys: crate::cache::Shared<Option<crate::auth::ApiKey>>,
    /// Checkout rules read on every cart and checkout (shop settings, online location, tax
    /// rates), dropped on any change to them in this process.
    pub(crate) rules: crate::cache::Shared<crate::shop_settings::Rule>,
    /// Session, lockout and retention numbers.
    pub policy: Arc<SecurityPolicy>,
    /// Keys for sealed columns and the audit chain; `None` until [`Db::with_master_key`].
    pub(crate) secrets: Option<Arc<crate::vault::Secrets>>,
    /// File where erasures are also recorded, outside the database, so that restoring an older
    /// database re-applies them (see [`Db::reapply_erasures`]).
    pub(crate) erasure_ledger: Option<Arc<std::path::PathBuf>>,
    /// Serialises audit appends in this process (PostgreSQL also takes an advisory lock).
    pub(crate) audit_lock: Arc<tokio::sync::Mutex<()>>,
    /// The shop's currency (orders are recorded in it; messages format amounts with it).
    pub currency: storefort_core::money::Currency,
    /// Recent risk events for fraud screening's velocity counts (see `velocity.rs`).
    pub(crate) velocity: Arc<crate::velocity::VelocityIndex>,
    /// Fraud screening's cached figures: shop stats, settings and rules (see `risk.rs`).
    pub(crate) fraud_cache: Arc<crate::risk::FraudCache>,
    /// Adds plugins' discount lines when a web cart is priced (see [`Db::set_cart_adjuster`]);
    /// shared by every clone, so setting it once reaches the whole server.
    pub(crate) cart_adjuster: crate::carts::AdjusterSlot,
}

/// Options for [`Db::connect_with`].
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// PostgreSQL schema to use (created if missing); tests use one per test.
    pub pg_schema: Option<String>,
    /// Most pooled connections (default 16 for PostgreSQL, 8 for SQLite).
    pub max_connections: Option<u32>,
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connect with the system clock and default options. Does not migrate.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Self::connect_with(url, ConnectOptions::default(), Arc::new(SystemClock)).await
    }

    /// Connect. SQLite files are created if missing and opened in WAL mode with
    /// `synchronous=FULL`, foreign keys on and a busy timeout.
    pub async fn connect_with(
        url: &str,
        opts: ConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let (url, max) = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                (url, opts.max_connections.unwrap_or(8))
            }
            Backend::Postgres => (url.to_string(), opts.max_connections.unwrap_or(16)),
        };
        if let (Backend::Postgres, Some(schema)) = (backend, &opts.pg_schema) {
            valid_schema_name(schema)?;
            let admin = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await?;
            admin
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await?;
            admin.close().await;
        }
        let schema = opts.pg_schema.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                                 PRAGMA secure_delete=ON;",
                            )
                            .await?;
                        }
                        Backend::Postgres => {
                            if let Some(s) = schema {
                                conn.execute(format!("SET search_path TO {s}").as_str())
                                    .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Db {
            pool,
            backend,
            clock,
            listings: Default::default(),
            keys: Default::default(),
            rules: Default::default(),
            policy: Arc::new(SecurityPolicy::default()),
            secrets: None,
            erasure_ledger: None,
            audit_lock: Default::default(),
            velocity: Default::default(),
            fraud_cache: Default::default(),
            cart_adjuster: Default::default(),
            currency: storefort_core::money::Currency {
                code: "GBP",
                symbol: "£",
                exponent: 2,
            },
        })
    }

    /// Record erasures in `path` too (one line per erased customer, no personal data).
    pub fn with_erasure_ledger(mut self, path: std::path::PathBuf) -> Db {
        self.erasure_ledger = Some(Arc::new(path));
        self
    }

    /// Set the shop's currency (from the config's `shop.currency`).
    pub fn with_currency(mut self, currency: storefort_core::money::Currency) -> Db {
        self.currency = currency;
        self
    }

    /// Replace the security policy (session lifetimes, lockout, retention).
    pub fn with_policy(mut self, policy: SecurityPolicy) -> Db {
        self.policy = Arc::new(policy);
        self
    }

    pub(crate) fn secrets(&self) -> Result<&crate::vault::Secrets, StoreError> {
        self.secrets.as_deref().ok_or(StoreError::NoKeys)
    }

    /// Apply pending migrations for this engine; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        let before = self.applied_migrations().await.unwrap_or(0);
        migrator.run(&self.pool).await?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    /// How many migrations the database has applied.
    pub async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = true")
                .fetch_one(&self.pool)
                .await?;
        Ok(n as usize)
    }

    /// How many migrations this build knows.
    pub fn known_migrations(&self) -> usize {
        known_migrations(self.backend)
    }

    /// The catalog or stock changed: drop cached listings.
    pub(crate) fn catalog_changed(&self) {
        self.listings.invalidate();
        self.rules.invalidate();
    }

    /// Begin a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that read first and wrote later could otherwise fail at
    /// once with "database is locked" when another connection wrote in between, instead of
    /// waiting its turn.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Now, from the clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Read a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Write a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.rules.invalidate();
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// How many migrations this build knows for an engine (a restore refuses a backup whose
/// database has more).
pub fn known_migrations(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => MIGRATE_SQLITE.iter().count(),
        Backend::Postgres => MIGRATE_POSTGRES.iter().count(),
    }
}

/// A PostgreSQL schema name safe to put into SQL and tool arguments: 1-63 lowercase letters,
/// digits and underscores, not starting with a digit.
pub fn is_valid_schema_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn valid_schema_name(s: &str) -> Result<(), StoreError> {
    if is_valid_schema_name(s) {
        Ok(())
    } else {
        Err(StoreError::Invalid(storefort_core::ValidationError::new(
            "schema",
            "use lowercase letters, digits and underscores",
        )))
    }
}

/// A new UUIDv7 (time-ordered, so IDs sort by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Does this look like one of our IDs? Used to reject junk before it reaches SQL.
pub fn looks_like_id(s: &str) -> bool {
    uuid::Uuid::from_str(s).is_ok()
}

/// Read a 0/1 integer column as a bool.
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// `$start, $start+1, ...` placeholders for an IN list of `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_selects_backend() {
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        let e = Backend::from_url("mysql://u@h/db").unwrap_err();
        assert!(e.to_string().contains("\"mysql\""), "{e}");
        assert!(Backend::from_url("nonsense").is_err());
        assert!(valid_schema_name("t_1").is_ok());
        assert!(valid_schema_name("x; DROP").is_err());
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
