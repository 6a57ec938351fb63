//! Customer data vault checks: where the master key lives (not in the data dir, not in the
//! database), how old the data key is, unfinished rotations, personal data left unencrypted,
//! and (with `--scan`) card numbers in the database and the logs.

use std::path::Path;

use futures::future::BoxFuture;
use sqlx::Row;
use storefort_store::{Backend, Db};

use super::{ready, Ctx, Finding};
use crate::config::MASTER_KEY_ENV;
use crate::keyfile::{key_hex, next_path, KeySource};

/// A data key older than this many days should be rotated.
pub const DATA_KEY_MAX_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;
const ROTATE: &str = "run `storefort keys rotate` (online: the shop keeps serving)";

/// Columns that must hold only sealed values, and the prefixes a sealed value starts with.
const SEALED: [(&str, &str, &[&str]); 13] = [
    ("customer_addresses", "label", &["v2."]),
    ("secrets", "value", &["v2."]),
    ("customers", "name", &["v2."]),
    ("customers", "email", &["v2."]),
    ("customers", "phone", &["v2."]),
    ("customers", "note", &["v2."]),
    ("customer_addresses", "address", &["v2."]),
    ("orders", "email", &["v2."]),
    ("orders", "phone", &["v2."]),
    ("orders", "billing", &["v2."]),
    ("orders", "shipping", &["v2."]),
    ("users", "totp_secret", &["v1.", "v2."]),
    ("users", "totp_pending", &["v1.", "v2."]),
];

fn no_db() -> Finding {
    Finding::warn(
        "not checked: the database is unreachable",
        "fix the database check first",
    )
}

/// Is `inner` inside the directory `dir` (both resolved when they exist)?
fn inside(inner: &Path, dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let parent = inner
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    parent.starts_with(&dir)
}

/// The key file must not be inside the data dir: a copy of one would carry the other.
pub fn key_location<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let p = match &ctx.key_source {
        KeySource::Env => {
            return ready(Finding::pass(format!(
                "taken from {MASTER_KEY_ENV}, not stored with the data"
            )))
        }
        KeySource::File(p) => p,
    };
    let d = &ctx.cfg.data_dir;
    let next = next_path(p);
    ready(if inside(p, d) {
        Finding::fail(
            format!(
                "{} is inside the data directory {}: a copy or backup of the data carries the key that opens it",
                p.display(),
                d.display()
            ),
            format!(
                "move it out, e.g. `mv {} {}` (or set master_key_file), keep it 0600 and back it up separately",
                p.display(),
                ctx.cfg.base_dir.join("master.key").display()
            ),
        )
    } else if next.exists() {
        Finding::warn(
            format!("{} is left from an interrupted master key rotation", next.display()),
            "start the shop (or run any storefort command) once: it finishes or undoes the rotation",
        )
    } else {
        Finding::pass(format!("{} is outside the data directory", p.display()))
    })
}

/// The master key's hex must not be stored in the database (settings and secrets; with
/// `--scan`, every text column).
pub fn key_in_database<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let Some(hex) = key_hex(&ctx.key_source) else {
            return Finding::warn(
                "not checked: the master key could not be read",
                "run doctor as the user that runs the shop, so it can read the master key",
            );
        };
        let fix = "delete it from the database (the key belongs only in its file or in \
                   STOREFORT_MASTER_KEY), then `storefort keys rotate-master` and `storefort keys rotate`: \
                   copies of the database made until now must be treated as readable";
        if let Some(scan) = &ctx.scan {
            return match &scan.db {
                Ok(s) if s.key.count > 0 => Finding::fail(
                    format!(
                        "the master key is stored in the database at {}",
                        s.key.list()
                    ),
                    fix,
                ),
                Ok(s) => Finding::pass(format!(
                    "not found in {} text value(s) of {} table(s)",
                    s.values, s.tables
                )),
                Err(e) => {
                    Finding::warn(format!("not checked: {e}"), "fix the database check first")
                }
            };
        }
        // Compared here, never sent to the database: a LIKE parameter holding the key could
        // land in the database server's statement logs.
        let mut places = Vec::new();
        for (table, col) in [
            ("settings", "value"),
            ("settings", "key"),
            ("secrets", "value"),
        ] {
            let sql = format!("SELECT {col} FROM {table}");
            match sqlx::query_scalar::<_, String>(&sql)
                .fetch_all(&db.pool)
                .await
            {
                Ok(values) => {
                    if values.iter().any(|v| v.to_lowercase().contains(&hex)) {
                        places.push(format!("{table}.{col}"));
                    }
                }
                Err(e) => {
                    return Finding::warn(
                        format!("cannot search {table}: {e}"),
                        "run `storefort migrate`",
                    )
                }
            }
        }
        if places.is_empty() {
            Finding::pass("not in the settings or secrets (`doctor --scan` searches every column)")
        } else {
            Finding::fail(
                format!(
                    "the master key is stored in the database: {}",
                    places.join(", ")
                ),
                fix,
            )
        }
    })
}

/// The active data key should be younger than a year.
pub fn data_key_age<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let keys = match db.data_keys().await {
            Ok(k) => k,
            Err(e) => {
                return Finding::warn(
                    format!("cannot read the keyring: {e}"),
                    "run `storefort migrate`",
                )
            }
        };
        let now = db.now();
        let Some(newest) = keys
            .iter()
            .filter(|k| k.state == "active")
            .max_by_key(|k| k.created_at)
        else {
            return Finding::warn(
                "no data key yet",
                "start the shop once (`storefort serve`): it creates the first data key",
            );
        };
        let days = (now - newest.created_at).max(0) / DAY_MS;
        if days > DATA_KEY_MAX_DAYS {
            Finding::warn(
                format!("data key {} is {days} days old (over 12 months)", newest.id),
                ROTATE,
            )
        } else {
            Finding::pass(format!("data key {} is {days} day(s) old", newest.id))
        }
    })
}

/// A rotation that was started and not finished leaves data under the old key.
pub fn rotation<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        match db.rotation_status().await {
            Ok(s) if s.in_progress() => Finding::warn(
                format!(
                    "unfinished rotation: {} value(s) still under {} (retiring)",
                    s.remaining(),
                    s.retiring.join(", ")
                ),
                "run `storefort keys rotate` again: it carries on where it stopped",
            ),
            Ok(_) => Finding::pass("no rotation in progress"),
            Err(e) => Finding::warn(
                format!("cannot read the rotation state: {e}"),
                "run `storefort migrate`",
            ),
        }
    })
}

/// Up to a few row ids (and the count) of `table.column` values that are not sealed.
async fn unsealed(
    db: &Db,
    table: &str,
    col: &str,
    prefixes: &[&str],
) -> Result<(i64, Vec<String>), sqlx::Error> {
    let rowid = match db.backend {
        Backend::Sqlite => "CAST(rowid AS TEXT)",
        Backend::Postgres => "ctid::text",
    };
    let not_sealed: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{col} NOT LIKE '{p}%'"))
        .collect();
    let filter = format!(
        "{col} IS NOT NULL AND {col} <> '' AND {}",
        not_sealed.join(" AND ")
    );
    let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {filter}"))
        .fetch_one(&db.pool)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {rowid} AS r FROM {table} WHERE {filter} LIMIT 5"
    ))
    .fetch_all(&db.pool)
    .await?;
    let ids = rows
        .iter()
        .map(|r| {
            r.try_get::<String, _>("r")
                .map(|id| format!("{table}.{col}:{id}"))
        })
        .collect::<Result<_, _>>()?;
    Ok((count, ids))
}

/// Every sealed column holds only sealed values; with `--scan`, no email address outside the
/// staff tables and the sealed columns.
pub fn personal_data<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let mut problems = Vec::new();
        for (table, col, prefixes) in SEALED {
            match unsealed(db, table, col, prefixes).await {
                Ok((0, _)) => {}
                Ok((n, first)) => problems.push(format!(
                    "{n} unencrypted value(s) in {table}.{col} (at {})",
                    first.join(", ")
                )),
                Err(e) => {
                    return Finding::warn(
                        format!("cannot read {table}.{col}: {e}"),
                        "run `storefort migrate`",
                    )
                }
            }
        }
        let mut searched = "the encrypted columns hold only encrypted values".to_string();
        if let Some(scan) = &ctx.scan {
            match &scan.db {
                Ok(s) if s.emails.count > 0 => problems.push(format!(
                    "{} email address(es) outside the encrypted columns, at {}",
                    s.emails.count,
                    s.emails.list()
                )),
                Ok(_) => searched.push_str(
                    "; no email addresses elsewhere (staff tables users, invitations, \
                     password_resets and audit_log hold staff emails by design and are not searched)",
                ),
                Err(e) => return Finding::warn(format!("search incomplete: {e}"), "fix the database check first"),
            }
        }
        if problems.is_empty() {
            Finding::pass(searched)
        } else {
            Finding::fail(
                format!("plaintext personal data: {}", problems.join("; ")),
                "personal data belongs only in customers' records, where the store encrypts it: \
                 remove it from these places (re-enter it through the admin or API if it is needed)",
            )
        }
    })
}

/// `--scan`: card numbers in any text column.
pub fn card_numbers_database<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let f = match ctx.scan.as_ref().map(|s| &s.db) {
        None => Finding::pass("not searched (run `storefort doctor --scan`)"),
        Some(Err(e)) => Finding::warn(format!("not searched: {e}"), "fix the database check first"),
        Some(Ok(s)) if s.cards.count > 0 => Finding::fail(
            format!(
                "{} card-number-like value(s) at {} (table.column:rowid)",
                s.cards.count,
                s.cards.list()
            ),
            "storefort never needs card numbers: delete them there (edit the record), and \
             find out how they got in",
        ),
        Some(Ok(s)) => Finding::pass(format!(
            "none in {} text value(s) of {} table(s)",
            s.values, s.tables
        )),
    };
    ready(f)
}

/// `--scan`: card numbers in the log files.
pub fn card_numbers_logs<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let Some(scan) = &ctx.scan else {
        return ready(Finding::pass(
            "not searched (run `storefort doctor --scan`)",
        ));
    };
    let l = &scan.logs;
    ready(if l.cards.count > 0 {
        Finding::fail(
            format!(
                "{} line(s) with card-number-like text at {} (file:line)",
                l.cards.count,
                l.cards.list()
            ),
            "delete or rewrite those log lines (and their rotated copies and backups); the shop's \
             own log output masks card numbers",
        )
    } else if !l.unreadable.is_empty() {
        Finding::warn(
            format!("could not read {}", l.unreadable.join("; ")),
            "run doctor as the user that runs the shop",
        )
    } else if l.files.is_empty() {
        Finding::pass("no log files (log.file is not set and the data dir has no *.log)")
    } else {
        Finding::pass(format!(
            "none in {} line(s) of {} file(s)",
            l.lines,
            l.files.len()
        ))
    })
}

/// The SMTP password belongs encrypted in the database, not in clear in storefort.toml.
pub fn smtp_password<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let found = ctx.cfg.smtp.as_ref().is_some_and(|s| s.password.is_some());
    ready(if found {
        Finding::warn(
            "the SMTP password is written in clear in storefort.toml",
            "run `storefort secrets set smtp.password` (it reads the password from standard \
             input and stores it encrypted), then delete `password` from [smtp]",
        )
    } else {
        Finding::pass("not in the configuration file (stored encrypted, or not needed)")
    })
}
