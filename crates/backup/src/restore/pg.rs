//! The PostgreSQL swap: one psql session, one transaction. The live schema is renamed aside,
//! the dump's SQL (from pg_restore, streamed) recreates it, and COMMIT is sent only once
//! pg_restore has finished cleanly. Any error, or this process dying, ends the session without
//! COMMIT, so PostgreSQL rolls everything back and the live schema is untouched.
//!
//! (psql's own `--single-transaction` is deliberately not used: it COMMITs at end of input,
//! which would keep a half-loaded schema if pg_restore died part-way.)

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use sqlx::Connection;

use crate::snapshot::{blocking, check_schema_name, run_tool, spawn_error, tool_reason, LibpqUrl};
use crate::BackupError;

/// The dump's table of contents is readable (pg_restore can open it).
pub(super) async fn check_dump(dump: &Path) -> Result<(), BackupError> {
    let mut cmd = Command::new("pg_restore");
    cmd.arg("--list").arg(dump);
    run_tool("pg_restore", cmd).await.map(|_| ())
}

/// Replace schema `target` with the dump (whose objects live in schema `source`). Returns the
/// name the previous schema was kept under ("" when there was none).
pub(super) async fn swap(
    db_url: &str,
    dump: &Path,
    source: &str,
    target: &str,
    stamp: &str,
    work: &Path,
) -> Result<String, BackupError> {
    check_schema_name(source)?;
    check_schema_name(target)?;
    let aside = aside_name(target, stamp);
    let (target_exists, source_exists) = {
        let mut conn = sqlx::postgres::PgConnection::connect(db_url).await?;
        let t = schema_exists(&mut conn, target).await?;
        let s = source != target && schema_exists(&mut conn, source).await?;
        conn.close().await?;
        (t, s)
    };
    if source_exists {
        return Err(BackupError::Invalid(format!(
            "this backup holds schema {source}, which already exists next to {target}: \
             drop or rename {source} first"
        )));
    }
    let list = work.join("restore.list");
    write_list(dump, &list).await?;

    let mut pre = String::from("BEGIN;\n");
    if target_exists {
        pre.push_str(&format!("ALTER SCHEMA {target} RENAME TO {aside};\n"));
    }
    pre.push_str(&format!("CREATE SCHEMA {source};\n"));
    let mut post = String::new();
    if source != target {
        post.push_str(&format!("ALTER SCHEMA {source} RENAME TO {target};\n"));
    }
    post.push_str("COMMIT;\n");

    let conn = LibpqUrl::parse(db_url)?;
    let mut restore = Command::new("pg_restore");
    restore
        .arg("--no-owner")
        .arg("--no-acl")
        .arg("--exit-on-error")
        // psql refuses meta-commands (`\!` runs a shell) between pg_restore's `\restrict KEY`
        // and `\unrestrict KEY`: a crafted dump, which anyone holding the public recipient can
        // make, cannot run commands here (CVE-2025-8714). The key is ours, random per run.
        .arg(format!("--restrict-key={}", restrict_key()))
        .arg("--use-list")
        .arg(&list)
        .arg("--file=-")
        .arg(dump);
    let mut psql = Command::new("psql");
    psql.arg("--no-psqlrc")
        .arg("--quiet")
        .arg("--set=ON_ERROR_STOP=1")
        .arg(format!("--dbname={}", conn.url))
        .arg("--file=-");
    conn.apply(&mut psql);
    let (restore_err, psql_err) = (work.join("pg_restore.err"), work.join("psql.err"));
    blocking(move || pipe(restore, psql, &pre, &post, &restore_err, &psql_err)).await?;
    Ok(if target_exists { aside } else { String::new() })
}

/// 32 random letters and digits for `--restrict-key`.
fn restrict_key() -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// `<target>_before_restore_<stamp>`, cut to PostgreSQL's 63-character identifier limit.
fn aside_name(target: &str, stamp: &str) -> String {
    let suffix = format!("_before_restore_{}", stamp.to_ascii_lowercase());
    let keep = 63usize.saturating_sub(suffix.len()).min(target.len());
    format!("{}{suffix}", &target[..keep])
}

async fn schema_exists(
    conn: &mut sqlx::postgres::PgConnection,
    name: &str,
) -> Result<bool, BackupError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
        .bind(name)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// The dump's table of contents without the schema's own entry (and its comment), for
/// `pg_restore --use-list`: the caller creates the schema itself, and a dump of `public` would
/// otherwise fail on "schema public already exists".
pub(crate) async fn write_list(dump: &Path, list: &Path) -> Result<(), BackupError> {
    let mut cmd = Command::new("pg_restore");
    cmd.arg("--list").arg(dump);
    let toc = run_tool("pg_restore", cmd).await?;
    let text = String::from_utf8_lossy(&toc);
    let kept: String = text
        .lines()
        .filter(|l| !(l.contains(" SCHEMA - ") || l.contains(" COMMENT - SCHEMA ")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(list, kept).map_err(|e| BackupError::writing(list, e))
}

/// pg_restore's stdout streamed into psql's stdin between `pre` and `post`; `post` (with its
/// COMMIT) is only sent when pg_restore succeeded.
fn pipe(
    mut restore: Command,
    mut psql: Command,
    pre: &str,
    post: &str,
    restore_err: &Path,
    psql_err: &Path,
) -> Result<(), BackupError> {
    let errfile = |p: &Path| File::create(p).map_err(|e| BackupError::writing(p, e));
    let mut psql = psql
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(errfile(psql_err)?)
        .spawn()
        .map_err(|e| spawn_error("psql", e))?;
    let mut restore = match restore
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errfile(restore_err)?)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            // Closing psql's input without COMMIT ends its transaction unapplied.
            drop(psql.stdin.take());
            let _ = psql.wait();
            return Err(spawn_error("pg_restore", e));
        }
    };
    let fed = match (psql.stdin.take(), restore.stdout.take()) {
        (Some(mut to_psql), Some(mut from_restore)) => {
            let r = to_psql
                .write_all(pre.as_bytes())
                .and_then(|()| io::copy(&mut from_restore, &mut to_psql).map(|_| ()));
            (r, Some(to_psql))
        }
        _ => (Err(io::Error::other("pipes were not set up")), None),
    };
    let (copied, mut to_psql) = fed;
    if copied.is_err() {
        // psql stopped reading (it hit an error): pg_restore has nowhere to write.
        let _ = restore.kill();
    }
    let restore_status = restore.wait()?;
    let restore_ok = copied.is_ok() && restore_status.success();
    if restore_ok {
        if let Some(w) = to_psql.as_mut() {
            // A failed write here means psql is gone, which its exit status reports below.
            let _ = w.write_all(post.as_bytes()).and_then(|()| w.flush());
        }
    }
    drop(to_psql);
    let psql_status = psql.wait()?;
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    if !psql_status.success() {
        return Err(BackupError::Tool {
            tool: "psql".into(),
            reason: format!(
                "{}; nothing was changed (the restore was rolled back)",
                tool_reason(&read(psql_err), psql_status)
            ),
        });
    }
    if !restore_ok {
        let said = read(restore_err);
        let too_old = String::from_utf8_lossy(&said).contains("restrict-key");
        return Err(BackupError::Tool {
            tool: "pg_restore".into(),
            reason: if too_old {
                "this pg_restore is too old to restore safely (no --restrict-key): install the \
                 PostgreSQL client 13.22, 14.19, 15.14, 16.10, 17.6 or newer; nothing was changed"
                    .into()
            } else {
                format!(
                    "{}; nothing was changed (the restore was rolled back)",
                    tool_reason(&said, restore_status)
                )
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aside_name_fits_postgres_identifiers() {
        assert_eq!(
            aside_name("public", "20261121T200512Z"),
            "public_before_restore_20261121t200512z"
        );
        let long = format!("t_{}", "a".repeat(32));
        let n = aside_name(&long, "20261121T200512Z");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_before_restore_20261121t200512z"));
        assert!(check_schema_name(&n).is_ok());
    }
}
