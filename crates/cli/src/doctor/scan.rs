//! `doctor --scan`: read every text column of every table, and the log files, looking for card
//! numbers, email addresses outside the staff tables, and the master key. Only locations are
//! kept (`table.column:rowid`, `file:line`), never the values.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use sqlx::Row;
use storefort_core::pan::find_card_number;
use storefort_core::redact::mask_emails;
use storefort_store::{Backend, Db};

use crate::config::Config;

/// Tables that hold staff data (emails by design) and are not searched for email addresses.
pub const STAFF_TABLES: [&str; 4] = ["users", "invitations", "password_resets", "audit_log"];
/// Tables not searched at all: the migration history, and imported hashes of breached
/// passwords (digits by the million, none of them typed by a person).
const SKIPPED_TABLES: [&str; 2] = ["_sqlx_migrations", "breached_passwords"];
/// Locations kept per finding (the count goes on).
const KEEP: usize = 20;

/// Places where something was found: the first few, and how many in all.
#[derive(Debug, Default)]
pub struct Places {
    /// The first [`KEEP`] locations.
    pub first: Vec<String>,
    /// How many in all.
    pub count: usize,
}

impl Places {
    fn add(&mut self, place: impl FnOnce() -> String) {
        if self.first.len() < KEEP {
            self.first.push(place());
        }
        self.count += 1;
    }

    /// `a, b, c` or `a, b, c and 12 more`.
    pub fn list(&self) -> String {
        let shown = self.first.join(", ");
        match self.count.saturating_sub(self.first.len()) {
            0 => shown,
            more => format!("{shown} and {more} more"),
        }
    }
}

/// What the database search found.
#[derive(Debug, Default)]
pub struct DbScan {
    /// Card-number-like text.
    pub cards: Places,
    /// Email addresses outside the staff tables and the encrypted columns.
    pub emails: Places,
    /// The master key's hex.
    pub key: Places,
    /// Text values read.
    pub values: u64,
    /// Tables read.
    pub tables: usize,
}

/// What the log search found.
#[derive(Debug, Default)]
pub struct LogScan {
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Card-number-like text, as `file:line`.
    pub cards: Places,
    /// Lines read.
    pub lines: u64,
    /// Files that could not be read, with why.
    pub unreadable: Vec<String>,
}

/// Both searches.
#[derive(Debug)]
pub struct Scan {
    /// The database search, or why it could not run.
    pub db: Result<DbScan, String>,
    /// The log search.
    pub logs: LogScan,
}

/// Search the database (when reachable) and the log files.
pub async fn run(cfg: &Config, db: Option<&Db>, key_hex: Option<&str>) -> Scan {
    let db = match db {
        Some(db) => scan_db(db, key_hex)
            .await
            .map_err(|e| format!("the search stopped: {e}")),
        None => Err("the database is unreachable".into()),
    };
    Scan {
        db,
        logs: scan_logs(cfg),
    }
}

/// Sealed values (`v1.`/`v2.`) and hashes or tokens in hex are not text a person typed.
fn machine_value(v: &str) -> bool {
    v.starts_with("v2.")
        || v.starts_with("v1.")
        || v.starts_with("$argon2")
        || (v.len() >= 16
            && v.bytes().all(|b| b.is_ascii_hexdigit())
            && v.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// Every text column of every table: (table, columns).
async fn text_columns(db: &Db) -> Result<Vec<(String, Vec<String>)>, sqlx::Error> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    match db.backend {
        Backend::Sqlite => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(&db.pool)
            .await?;
            for t in tables {
                let cols = sqlx::query("SELECT name, type FROM pragma_table_info($1)")
                    .bind(&t)
                    .fetch_all(&db.pool)
                    .await?;
                let mut names = Vec::new();
                for c in cols {
                    let ty: String = c.try_get("type")?;
                    let ty = ty.to_ascii_uppercase();
                    if ty.contains("TEXT") || ty.contains("CHAR") || ty.contains("CLOB") {
                        names.push(c.try_get("name")?);
                    }
                }
                out.push((t, names));
            }
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT c.table_name::text AS t, c.column_name::text AS c \
                 FROM information_schema.columns c JOIN information_schema.tables t \
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
                 AND c.data_type IN ('text', 'character varying', 'character') \
                 ORDER BY c.table_name, c.ordinal_position",
            )
            .fetch_all(&db.pool)
            .await?;
            for r in rows {
                let (t, c): (String, String) = (r.try_get("t")?, r.try_get("c")?);
                match out.last_mut() {
                    Some((last, cols)) if *last == t => cols.push(c),
                    _ => out.push((t, vec![c])),
                }
            }
        }
    }
    out.retain(|(t, cols)| !cols.is_empty() && !SKIPPED_TABLES.contains(&t.as_str()));
    Ok(out)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

async fn scan_db(db: &Db, key_hex: Option<&str>) -> Result<DbScan, sqlx::Error> {
    let mut found = DbScan::default();
    let rowid = match db.backend {
        Backend::Sqlite => "CAST(rowid AS TEXT)",
        Backend::Postgres => "ctid::text",
    };
    for (table, cols) in text_columns(db).await? {
        found.tables += 1;
        let staff = STAFF_TABLES.contains(&table.as_str());
        let list: Vec<String> = cols.iter().map(|c| quote(c)).collect();
        let sql = format!(
            "SELECT {rowid} AS scan_rowid, {} FROM {}",
            list.join(", "),
            quote(&table)
        );
        let mut rows = sqlx::query(&sql).fetch(&db.pool);
        while let Some(row) = rows.try_next().await? {
            let id: String = row.try_get("scan_rowid").unwrap_or_default();
            for (i, col) in cols.iter().enumerate() {
                // A column declared as text may hold another type in SQLite: not text, skipped.
                let Ok(Some(v)) = row.try_get::<Option<String>, _>(i + 1) else {
                    continue;
                };
                found.values += 1;
                let place = || format!("{table}.{col}:{id}");
                if let Some(hex) = key_hex {
                    if v.to_ascii_lowercase().contains(hex) {
                        found.key.add(place);
                    }
                }
                if machine_value(&v) {
                    continue;
                }
                if find_card_number(&v).is_some() {
                    found.cards.add(place);
                }
                if !staff && matches!(mask_emails(&v), std::borrow::Cow::Owned(_)) {
                    found.emails.add(place);
                }
            }
        }
    }
    Ok(found)
}

/// `log.file`, and `*.log` files in the data dir (not the erasure ledger, which is ours).
pub fn log_files(cfg: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = cfg.log.file.iter().cloned().collect();
    let ledger = cfg.erasure_ledger_path();
    if let Ok(dir) = std::fs::read_dir(&cfg.data_dir) {
        let mut found: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "log"))
            .filter(|p| !same_file(p, &ledger))
            .collect();
        found.sort();
        for p in found {
            if !files.iter().any(|f| same_file(f, &p)) {
                files.push(p);
            }
        }
    }
    files
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn scan_logs(cfg: &Config) -> LogScan {
    let mut out = LogScan::default();
    for path in log_files(cfg) {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.unreadable.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    out.unreadable.push(format!("{}: {e}", path.display()));
                    break;
                }
            }
            n += 1;
            if find_card_number(&String::from_utf8_lossy(&line)).is_some() {
                out.cards.add(|| format!("{}:{n}", path.display()));
            }
        }
        out.lines += n;
        out.files.push(path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_values_are_skipped_and_places_are_capped() {
        assert!(machine_value("v2.dk-1.AAAA"));
        assert!(machine_value(
            "3f1a9c0e5b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
        ));
        assert!(
            !machine_value("4111111111111111"),
            "digits alone are checked"
        );
        assert!(!machine_value("pay with 4111 1111 1111 1111"));
        let mut p = Places::default();
        for i in 0..25 {
            p.add(|| format!("t.c:{i}"));
        }
        assert_eq!(p.count, 25);
        assert!(p.list().ends_with("t.c:19 and 5 more"), "{}", p.list());
    }
}
