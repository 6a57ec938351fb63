//! Verify a backup end to end without touching the live shop: decrypt, check every checksum,
//! restore into a scratch database (a temp SQLite file, or a temporary PostgreSQL database that
//! is dropped afterwards even on error), check integrity, optionally the audit chain, and count
//! the rows of every table. The scratch database is read as it is: no migrations are applied.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use age::x25519::Identity;
use sqlx::{Connection, Executor};
use storefort_crypto::master_key::MasterKey;
use storefort_store::audit::AuditVerdict;
use storefort_store::db::ConnectOptions;
use storefort_store::{Db, SystemClock};

use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::restore::write_list;
use crate::snapshot::{run_tool, sqlite_integrity, LibpqUrl, PG_PART, SQLITE_PART};
use crate::{archive, BackupError};

/// What verification found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// "ok", or the problems the integrity checks found.
    pub integrity: String,
    /// The audit chain's verdict (only when a master key was given).
    pub audit: Option<String>,
    /// Rows in every table, sorted by table name.
    pub row_counts: Vec<(String, i64)>,
    /// How long it took.
    pub took: Duration,
}

/// Verify the backup `file`. `work_dir` holds the temporary files (removed afterwards);
/// `pg_admin_url` is a PostgreSQL server where a scratch database may be created (needed for
/// PostgreSQL backups only).
pub async fn verify(
    file: &Path,
    identities: &[Identity],
    known_schema: usize,
    work_dir: &Path,
    pg_admin_url: Option<&str>,
    master_key: Option<&MasterKey>,
    progress: &dyn Progress,
) -> Result<VerifyReport, BackupError> {
    let started = Instant::now();
    std::fs::create_dir_all(work_dir).map_err(|e| BackupError::writing(work_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".verify-")
        .tempdir_in(work_dir)
        .map_err(|e| BackupError::writing(work_dir, e))?;
    let input = File::open(file).map_err(|e| {
        BackupError::Invalid(format!("cannot open the backup {}: {e}", file.display()))
    })?;
    let manifest = archive::read(input, identities, known_schema, tmp.path(), progress)?;
    progress.start("check", None);
    let checked = match manifest.source.engine.as_str() {
        "sqlite" => check_sqlite(&tmp.path().join(SQLITE_PART), master_key).await,
        "postgres" => {
            let admin = pg_admin_url.ok_or_else(|| {
                BackupError::Invalid(
                    "this is a PostgreSQL backup: verifying it needs a PostgreSQL server to \
                     restore into (database.url must be a postgres:// URL)"
                        .into(),
                )
            })?;
            let schema = manifest.source.pg_schema.as_deref().unwrap_or("public");
            check_postgres(&tmp.path().join(PG_PART), admin, schema, master_key).await
        }
        other => Err(BackupError::Corrupt(format!(
            "unknown database engine {other:?}"
        ))),
    };
    progress.finish();
    let (integrity, audit, row_counts) = checked?;
    Ok(VerifyReport {
        manifest,
        integrity,
        audit,
        row_counts,
        took: started.elapsed(),
    })
}

type Checked = (String, Option<String>, Vec<(String, i64)>);

async fn check_sqlite(path: &Path, master: Option<&MasterKey>) -> Result<Checked, BackupError> {
    if !path.exists() {
        return Err(BackupError::Corrupt(format!("it holds no {SQLITE_PART}")));
    }
    let integrity = sqlite_integrity(path).await?;
    let url = format!("sqlite://{}", path.display());
    let db = open(&url, None).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await?;
    let result = counts_and_audit(db.clone(), &tables, master).await;
    db.pool.close().await;
    let (counts, audit) = result?;
    Ok((integrity, audit, counts))
}

async fn check_postgres(
    dump: &Path,
    admin_url: &str,
    schema: &str,
    master: Option<&MasterKey>,
) -> Result<Checked, BackupError> {
    if !dump.exists() {
        return Err(BackupError::Corrupt(format!("it holds no {PG_PART}")));
    }
    let name = format!(
        "sfverify_{}",
        storefort_store::db::new_id().replace('-', "")
    );
    let mut admin = sqlx::postgres::PgConnection::connect(admin_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let result = load_and_check(dump, admin_url, &name, schema, master).await;
    // Always drop the scratch database, whatever happened above.
    let dropped = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await;
    let _ = admin.close().await;
    let checked = result?;
    dropped?;
    Ok(checked)
}

async fn load_and_check(
    dump: &Path,
    admin_url: &str,
    name: &str,
    schema: &str,
    master: Option<&MasterKey>,
) -> Result<Checked, BackupError> {
    let libpq = LibpqUrl::parse(admin_url)?;
    // The scratch database's URL with the admin URL's credentials and sqlx options.
    let sqlx_url = {
        let (main, query) = admin_url
            .split_once('?')
            .map_or((admin_url, None), |(m, q)| (m, Some(q)));
        let base = main.rsplit_once('/').map_or(main, |(b, _)| b);
        match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        }
    };
    // Opening creates the schema; the dump is loaded without its own CREATE SCHEMA entry
    // (`public` already exists in a new database).
    let db = open(&sqlx_url, Some(schema.to_string())).await?;
    let list = dump.with_extension("list");
    let loaded = match write_list(dump, &list).await {
        Ok(()) => {
            let mut cmd = std::process::Command::new("pg_restore");
            cmd.arg("--no-owner")
                .arg("--no-acl")
                .arg("--exit-on-error")
                .arg("--single-transaction")
                .arg("--use-list")
                .arg(&list)
                .arg(format!("--dbname={}", libpq.with_database(name)))
                .arg(dump);
            libpq.apply(&mut cmd);
            run_tool("pg_restore", cmd).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    if let Err(e) = loaded {
        db.pool.close().await;
        return Ok((format!("the dump does not restore: {e}"), None, Vec::new()));
    }
    let integrity = "ok".to_string();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&db.pool)
    .await?;
    let result = counts_and_audit(db.clone(), &tables, master).await;
    db.pool.close().await;
    let (counts, audit) = result?;
    Ok((integrity, audit, counts))
}

async fn open(url: &str, pg_schema: Option<String>) -> Result<Db, BackupError> {
    let opts = ConnectOptions {
        pg_schema,
        max_connections: Some(2),
    };
    Ok(Db::connect_with(url, opts, Arc::new(SystemClock)).await?)
}

/// Row counts of `tables` (every one must be readable), then the audit chain when a master key
/// is given. Counting comes first: unlocking may add keys to this scratch copy.
async fn counts_and_audit(
    db: Db,
    tables: &[String],
    master: Option<&MasterKey>,
) -> Result<(Vec<(String, i64)>, Option<String>), BackupError> {
    let mut counts = Vec::with_capacity(tables.len());
    for t in tables {
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", t.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&db.pool).await?;
        counts.push((t.clone(), n));
    }
    counts.sort();
    let audit = match master {
        None => None,
        Some(key) => Some(match db.with_master_key(key).await {
            Err(e) => format!("not checked: {e}"),
            Ok(db) => match db.verify_audit().await? {
                AuditVerdict::Intact { entries } => format!("intact ({entries} entries)"),
                AuditVerdict::Broken { seq, reason } => format!("broken at entry {seq}: {reason}"),
            },
        }),
    };
    Ok((counts, audit))
}
