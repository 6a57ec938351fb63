//! A consistent snapshot of the live database while the shop keeps serving: SQLite through
//! `VACUUM INTO` (one read transaction), PostgreSQL through `pg_dump` (one repeatable-read
//! transaction). Also the small helpers restore and verify share: libpq URLs and running the
//! PostgreSQL client tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sqlx::Connection;
use storefort_store::{Backend, Db};

use crate::archive::sha256_file;
use crate::manifest::{Manifest, Part, Source, FORMAT_VERSION, STOREFORT_VERSION};
use crate::BackupError;

/// The part name of a SQLite snapshot.
pub const SQLITE_PART: &str = "database.sqlite";
/// The part name of a PostgreSQL dump (pg_dump custom format).
pub const PG_PART: &str = "database.pgdump";

/// Snapshot the database behind `db` into `into_dir` and describe it in a manifest.
/// `db_url` is the URL `db` was opened with (pg_dump connects with it).
pub async fn take(
    db: &Db,
    db_url: &str,
    shop_name: &str,
    into_dir: &Path,
) -> Result<Manifest, BackupError> {
    std::fs::create_dir_all(into_dir).map_err(|e| BackupError::writing(into_dir, e))?;
    let schema_version = db.applied_migrations().await?;
    let created_at = db.now();
    let (engine, pg_schema, name) = match db.backend {
        Backend::Sqlite => {
            sqlite_snapshot(db, &into_dir.join(SQLITE_PART)).await?;
            ("sqlite", None, SQLITE_PART)
        }
        Backend::Postgres => {
            let schema: String = sqlx::query_scalar("SELECT CAST(current_schema() AS TEXT)")
                .fetch_one(&db.pool)
                .await?;
            pg_dump(db_url, &schema, &into_dir.join(PG_PART)).await?;
            ("postgres", Some(schema), PG_PART)
        }
    };
    let path = into_dir.join(name);
    let (sha256, size) = blocking(move || sha256_file(&path)).await?;
    Ok(Manifest {
        format_version: FORMAT_VERSION,
        storefort_version: STOREFORT_VERSION.to_string(),
        schema_version,
        created_at,
        source: Source {
            engine: engine.into(),
            pg_schema,
            shop_name: shop_name.into(),
            host: host_name(),
        },
        parts: vec![Part {
            name: name.into(),
            size,
            sha256,
        }],
    })
}

async fn sqlite_snapshot(db: &Db, out: &Path) -> Result<(), BackupError> {
    // VACUUM INTO refuses to overwrite; a leftover from an interrupted run is ours to replace.
    match std::fs::remove_file(out) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(BackupError::writing(out, e))
        }
        _ => {}
    }
    let target = out.to_str().ok_or_else(|| {
        BackupError::Invalid(format!(
            "the backup work directory {} is not valid UTF-8",
            out.display()
        ))
    })?;
    let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
    sqlx::query(&sql).execute(&db.pool).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("full") {
            BackupError::DiskFull {
                path: out.display().to_string(),
            }
        } else {
            BackupError::from(e)
        }
    })?;
    let verdict = sqlite_integrity(out).await?;
    if verdict != "ok" {
        return Err(BackupError::Invalid(format!(
            "the snapshot failed its integrity check ({verdict}): the live database may be \
             damaged; run `storefort doctor`"
        )));
    }
    Ok(())
}

/// `PRAGMA integrity_check` plus `PRAGMA foreign_key_check` on a SQLite file: "ok" or the
/// problems found.
pub(crate) async fn sqlite_integrity(path: &Path) -> Result<String, BackupError> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts).await?;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    let mut problems: Vec<String> = rows.into_iter().filter(|r| r != "ok").collect();
    if let Some((table,)) = fk.first() {
        problems.push(format!(
            "{} row(s) break foreign keys (first in {table})",
            fk.len()
        ));
    }
    Ok(if problems.is_empty() {
        "ok".into()
    } else {
        problems.join("; ")
    })
}

async fn pg_dump(db_url: &str, schema: &str, out: &Path) -> Result<(), BackupError> {
    check_schema_name(schema)?;
    let conn = LibpqUrl::parse(db_url)?;
    let mut cmd = Command::new("pg_dump");
    cmd.arg("--format=custom")
        // zstd compresses the archive; compressing twice only costs time.
        .arg("--compress=0")
        .arg("--no-owner")
        .arg("--no-acl")
        .arg(format!("--schema=\"{schema}\""))
        .arg("--file")
        .arg(out)
        .arg(format!("--dbname={}", conn.url));
    conn.apply(&mut cmd);
    run_tool("pg_dump", cmd).await.map(|_| ())
}

/// A PostgreSQL schema name we are willing to put into SQL and tool arguments.
pub(crate) fn check_schema_name(s: &str) -> Result<(), BackupError> {
    if storefort_store::db::is_valid_schema_name(s) {
        Ok(())
    } else {
        Err(BackupError::Invalid(format!(
            "PostgreSQL schema {s:?}: use lowercase letters, digits and underscores"
        )))
    }
}

/// A database URL cut down to what libpq understands, with the password moved to
/// `PGPASSWORD` so it does not show in the process list.
pub(crate) struct LibpqUrl {
    /// `postgres://user@host:port/db?libpq-params`.
    pub url: String,
    password: Option<String>,
}

/// Query parameters libpq accepts; sqlx-only options are dropped (libpq would refuse them).
const LIBPQ_PARAMS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "application_name",
    "options",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslpassword",
    "channel_binding",
    "target_session_attrs",
];

impl LibpqUrl {
    /// Split `url` (postgres:// or postgresql://).
    pub fn parse(url: &str) -> Result<LibpqUrl, BackupError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| BackupError::Invalid("database.url: not a postgres:// URL".into()))?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = main.split_once('/').unwrap_or((main, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, mut password) = match userinfo.map(|u| u.split_once(':')) {
            Some(Some((u, p))) => (Some(u), Some(percent_decode(p))),
            Some(None) => (userinfo, None),
            None => (None, None),
        };
        let mut params = Vec::new();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let key = kv.split_once('=').map_or(kv, |(k, _)| k);
            if key == "password" {
                password = kv.split_once('=').map(|(_, v)| percent_decode(v));
            } else if LIBPQ_PARAMS.contains(&key) {
                params.push(kv);
            }
        }
        let mut out = String::from("postgres://");
        if let Some(u) = user {
            out.push_str(u);
            out.push('@');
        }
        out.push_str(hostport);
        out.push('/');
        out.push_str(path);
        if !params.is_empty() {
            out.push('?');
            out.push_str(&params.join("&"));
        }
        Ok(LibpqUrl { url: out, password })
    }

    /// The same server with another database name (verify restores into a scratch database).
    pub fn with_database(&self, name: &str) -> String {
        let (main, query) = self
            .url
            .split_once('?')
            .map_or((self.url.as_str(), None), |(m, q)| (m, Some(q)));
        let base = main.rsplit_once('/').map_or(main, |(b, _)| b);
        match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        }
    }

    /// Give the password to a child process through its environment.
    pub fn apply(&self, cmd: &mut Command) {
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Run a client tool to completion off the async runtime; its stderr becomes the error.
pub(crate) async fn run_tool(tool: &'static str, mut cmd: Command) -> Result<Vec<u8>, BackupError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = blocking(move || cmd.output().map_err(|e| spawn_error(tool, e))).await?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(BackupError::Tool {
            tool: tool.into(),
            reason: tool_reason(&out.stderr, out.status),
        })
    }
}

/// Why a tool could not start; a missing binary says what to install.
pub(crate) fn spawn_error(tool: &str, e: std::io::Error) -> BackupError {
    BackupError::Tool {
        tool: tool.into(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "not found: install the PostgreSQL client (apt-get install postgresql-client)".into()
        } else {
            format!("could not start: {e}")
        },
    }
}

/// A tool's stderr (last lines) or its exit status.
pub(crate) fn tool_reason(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    if tail.is_empty() {
        format!("failed ({status})")
    } else {
        tail
    }
}

/// Run blocking work (file hashing, child processes) on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Io(std::io::Error::other(format!("background task: {e}"))))?
}

/// The file behind a `sqlite://` URL.
pub(crate) fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| BackupError::Invalid("database.url: not a sqlite:// URL".into()))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path.is_empty() || path == ":memory:" {
        return Err(BackupError::Invalid(
            "database.url: an in-memory SQLite database cannot be restored into".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_only_what_libpq_understands_and_hide_the_password() {
        let u = LibpqUrl::parse(
            "postgres://shop:s%40cret@db.local:5433/shop?sslmode=require&statement-cache-capacity=0",
        )
        .unwrap();
        assert_eq!(u.url, "postgres://shop@db.local:5433/shop?sslmode=require");
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(
            u.with_database("sfverify_1"),
            "postgres://shop@db.local:5433/sfverify_1?sslmode=require"
        );
        let u = LibpqUrl::parse("postgres://postgres@127.0.0.1:5432/x").unwrap();
        assert_eq!(u.with_database("y"), "postgres://postgres@127.0.0.1:5432/y");
        assert!(LibpqUrl::parse("mysql://x").is_err());
        assert_eq!(
            sqlite_path("sqlite:///data/shop.db?mode=rwc").unwrap(),
            PathBuf::from("/data/shop.db")
        );
        assert!(check_schema_name("t_0abc").is_ok());
        assert!(check_schema_name("x\"; drop").is_err());
    }
}
