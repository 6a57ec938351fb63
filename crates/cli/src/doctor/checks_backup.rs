//! Backups: a recent one, one off this machine, verified lately with the recovery kit, and the
//! kit's private key nowhere on the server.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use storefort_backup::settings::{BackupSettings, BackupStatus, DestinationKind};

use super::{Ctx, Finding};

const DAY_MS: i64 = 86_400_000;
/// A full verify older than this: warn.
pub const VERIFY_MAX_AGE_MS: i64 = 7 * DAY_MS;
const SET_UP: &str = "run `storefort backup new-identity`, keep the kit offline, and add the \
                      printed [backup] lines to storefort.toml (docs/BACKUPS.md)";

fn no_db() -> Finding {
    Finding::warn(
        "not checked: the database is unreachable",
        "fix the database check first",
    )
}

/// The newest good backup is younger than two intervals (fail otherwise).
pub fn recent<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        if ctx.cfg.backup.recipients.is_empty() {
            return Finding::fail("backups are not set up", SET_UP);
        }
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let (settings, status) =
            match (BackupSettings::load(db).await, BackupStatus::load(db).await) {
                (Ok(s), Ok(t)) => (s, t),
                (Err(e), _) | (_, Err(e)) => {
                    return Finding::warn(
                        format!("cannot read the backup status: {e}"),
                        "run `storefort migrate`",
                    )
                }
            };
        let now = ctx.now * 1000;
        let window = 2 * i64::from(settings.interval_minutes) * 60_000;
        let failure = status
            .problem()
            .map(|r| format!("; {r}"))
            .unwrap_or_default();
        match status.last_success_at {
            Some(at) if now - at <= window && failure.is_empty() => Finding::pass(format!(
                "last backup {} ago (every {} min)",
                ago(now - at),
                settings.interval_minutes
            )),
            // Recent, but not everywhere (or a stored copy failed its check).
            Some(at) if now - at <= window => Finding::warn(
                format!("last backup {} ago{failure}", ago(now - at)),
                "see admin > Backups for the failing destination; `storefort backup create` shows each one's outcome",
            ),
            Some(at) => Finding::fail(
                format!(
                    "no backup for {} (the schedule is every {} min){failure}",
                    ago(now - at),
                    settings.interval_minutes
                ),
                "is `storefort serve` running? Try `storefort backup create` and read its error",
            ),
            None => {
                // A shop made within the last two intervals has not had its first one yet.
                let born: Option<i64> = sqlx::query_scalar("SELECT MIN(created_at) FROM users")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap_or(None);
                let fix = "run `storefort backup create` (serve makes them on its schedule)";
                match born {
                    Some(b) if now - b <= window && failure.is_empty() => Finding::warn(
                        "no backup yet: this shop is new (serve makes the first within the hour)",
                        fix,
                    ),
                    _ => Finding::fail(format!("no backup has been made yet{failure}"), fix),
                }
            }
        }
    })
}

/// At least one destination off this machine (warn otherwise).
pub fn offsite<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let dests = &ctx.cfg.backup.destinations;
        let off: Vec<&str> = dests
            .iter()
            .filter(|d| matches!(d.kind, DestinationKind::S3 { .. }))
            .map(|d| d.name.as_str())
            .collect();
        if off.is_empty() {
            Finding::warn(
                format!(
                    "every backup destination is on this machine ({}): a lost or stolen server takes the backups with it",
                    if dests.is_empty() { "none configured".into() } else { dests.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ") }
                ),
                "add an S3-compatible destination to [backup] in storefort.toml (docs/BACKUPS.md)",
            )
        } else {
            Finding::pass(format!("off-site: {}", off.join(", ")))
        }
    })
}

/// A full verify with the recovery kit within 7 days, and it passed (warn otherwise).
pub fn verified<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let status = match BackupStatus::load(db).await {
            Ok(s) => s,
            Err(e) => {
                return Finding::warn(
                    format!("cannot read the backup status: {e}"),
                    "run `storefort migrate`",
                )
            }
        };
        let fix =
            "on a machine with the recovery kit: `storefort backup verify latest --identity KIT`";
        let now = ctx.now * 1000;
        match (status.last_verify_at, status.last_verify_ok) {
            (Some(_), Some(false)) => Finding::warn(
                format!(
                    "the last verify failed: {}",
                    status.last_verify_note.unwrap_or_default()
                ),
                fix,
            ),
            (Some(at), _) if now - at > VERIFY_MAX_AGE_MS => Finding::warn(
                format!(
                    "the last verify with the recovery kit was {} ago",
                    ago(now - at)
                ),
                fix,
            ),
            (Some(at), _) => Finding::pass(format!(
                "verified with the recovery kit {} ago",
                ago(now - at)
            )),
            (None, _) => {
                Finding::warn("no backup has been verified with the recovery kit yet", fix)
            }
        }
    })
}

/// The backup identity (AGE-SECRET-KEY) must not be on the server (fail, naming the file).
pub fn identity_absent<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let mut dirs: Vec<PathBuf> = vec![ctx.cfg.base_dir.clone(), ctx.cfg.data_dir.clone()];
        if let Some(p) = ctx.cfg.master_key_path().parent() {
            dirs.push(p.to_path_buf());
        }
        // Where a kit is most often left: the operator's home directory.
        dirs.extend(
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.parent().is_some()),
        );
        if std::env::var("STOREFORT_BACKUP_IDENTITY")
            .is_ok_and(|v| storefort_backup::keys::contains_identity(&v))
        {
            return Finding::fail(
                "a backup identity is in the environment (STOREFORT_BACKUP_IDENTITY)",
                "remove it: the server needs only the public recipient",
            );
        }
        let found = files_with_identity(&dirs);
        if found.is_empty() {
            Finding::pass("no backup identity (recovery kit) found on this server")
        } else {
            Finding::fail(
                format!(
                    "the backup identity is on this server: {} — whoever steals the server can read every backup",
                    found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                ),
                "move the recovery kit offline (print it, a password manager) and delete these files",
            )
        }
    })
}

/// Small files (up to 64 KiB) directly in `dirs` or one level below that hold an identity.
fn files_with_identity(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in dirs {
        for p in walk(d, 1) {
            let Ok(canon) = p.canonicalize() else {
                continue;
            };
            if !seen.insert(canon) {
                continue;
            }
            let small = std::fs::metadata(&p)
                .is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() <= 64 * 1024);
            if small
                && std::fs::read(&p).is_ok_and(|b| {
                    storefort_backup::keys::contains_identity(&String::from_utf8_lossy(&b))
                })
            {
                out.push(p);
            }
        }
    }
    out
}

fn walk(dir: &Path, depth: u32) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if depth > 0 {
                out.extend(walk(&p, depth - 1));
            }
        } else {
            out.push(p);
        }
    }
    out
}

/// "3 h 5 min", "2 days".
fn ago(ms: i64) -> String {
    let min = ms.max(0) / 60_000;
    if min < 60 {
        format!("{min} min")
    } else if min < 48 * 60 {
        format!("{} h {} min", min / 60, min % 60)
    } else {
        format!("{} days", min / (24 * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_file_is_found_but_a_recipient_is_not() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("storefort.toml"),
            "recipients = [\"age1abc\"]",
        )
        .unwrap();
        assert!(files_with_identity(&[d.path().to_path_buf()]).is_empty());
        std::fs::create_dir(d.path().join("sub")).unwrap();
        // Source code mentioning the prefix is not a kit; a real identity is.
        std::fs::write(
            d.path().join("notes.rs"),
            "starts_with(\"AGE-SECRET-KEY-1\")",
        )
        .unwrap();
        assert!(files_with_identity(&[d.path().to_path_buf()]).is_empty());
        let id = storefort_backup::keys::new_identity().identity;
        std::fs::write(d.path().join("sub/kit.txt"), format!("kit\n    {id}\n")).unwrap();
        assert_eq!(
            files_with_identity(&[d.path().to_path_buf()]),
            vec![d.path().join("sub/kit.txt")]
        );
        assert_eq!(ago(3 * 60_000), "3 min");
        assert_eq!(ago(3 * 86_400_000), "3 days");
    }
}
