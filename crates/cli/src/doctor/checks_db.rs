//! Database checks: reachable and migrated, and the owner's password is strong.

use futures::future::BoxFuture;
use storefort_crypto::password::MIN_SCORE;
use storefort_store::Backend;

use super::{Ctx, Finding};

const DB_FIX: &str =
    "check database.url (or STOREFORT_DATABASE__URL) and that the database is running; \
a new shop starts with `storefort init`";

fn unreachable() -> Finding {
    Finding::warn(
        "not checked: the database is unreachable",
        "fix the database check first",
    )
}

/// Reachable, and migrated as far as this build knows.
pub fn database<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let db = match &ctx.db {
            Ok(db) => db,
            Err(e) => return Finding::fail(format!("database unreachable: {e}"), DB_FIX),
        };
        let engine = match db.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        };
        let known = db.known_migrations();
        let applied = match db.applied_migrations().await {
            Ok(n) => n,
            Err(e) => {
                return Finding::fail(
                    format!("{engine} is reachable but has no storefort schema: {e}"),
                    "run `storefort migrate` (or `storefort init` for a new shop)",
                )
            }
        };
        if applied == known {
            Finding::pass(format!(
                "{engine} reachable; all {known} migration(s) applied"
            ))
        } else if applied < known {
            Finding::warn(
                format!(
                    "{engine} reachable; {} of {known} migration(s) pending",
                    known - applied
                ),
                "run `storefort migrate` (`storefort serve` also applies them on start)",
            )
        } else {
            Finding::fail(
                format!("{engine} has {applied} migration(s) but this storefort knows only {known}: it is older than the database"),
                "run the storefort version that last migrated this database (or newer)",
            )
        }
    })
}

/// There is an owner, and every owner's password met the strength policy when it was set.
pub fn owner_password<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return unreachable();
        };
        let owners = match db.users_with_role("owner").await {
            Ok(o) => o,
            Err(e) => {
                return Finding::fail(
                    format!("cannot read the owner accounts: {e}"),
                    "run `storefort migrate`, then doctor again",
                )
            }
        };
        let active: Vec<_> = owners.iter().filter(|u| !u.disabled).collect();
        if active.is_empty() {
            return Finding::fail(
                "no active owner account: nobody can manage staff, keys or settings",
                "create the owner with `storefort init --owner-email you@example.com` on a new shop",
            );
        }
        let weak: Vec<&str> = active
            .iter()
            .filter(|u| u.password_score < i64::from(MIN_SCORE))
            .map(|u| u.email.as_str())
            .collect();
        if weak.is_empty() {
            Finding::pass(format!(
                "{} owner(s), every password scored at least {MIN_SCORE}/4 when it was set",
                active.len()
            ))
        } else {
            Finding::fail(
                format!(
                    "weak owner password(s) (zxcvbn score below {MIN_SCORE}/4): {}",
                    weak.join(", ")
                ),
                format!(
                    "give {} a new generated or passphrase-length password",
                    weak.join(", ")
                ),
            )
        }
    })
}
