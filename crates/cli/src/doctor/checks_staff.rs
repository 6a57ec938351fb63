//! Staff checks: MFA for owners and managers, password age and strength, unused accounts, and
//! the audit log's hash chain.

use futures::future::BoxFuture;
use storefort_crypto::password::MIN_SCORE;
use storefort_store::audit::AuditVerdict;
use storefort_store::auth::User;
use storefort_store::StoreError;

use super::{Ctx, Finding};

const DAY_MS: i64 = 86_400_000;
/// Passwords older than this warn (PCI DSS 8.3.9 asks for a change at least every 12 months
/// where the password is the only factor).
const PASSWORD_MAX_AGE_DAYS: i64 = 365;
/// Accounts unused this long warn (PCI DSS 8.2.6: remove or disable within 90 days).
const UNUSED_DAYS: i64 = 90;
/// Most names listed in one finding.
const MAX_NAMED: usize = 10;

/// The enabled staff, or the finding that says why they could not be read.
async fn active_staff(ctx: &Ctx<'_>) -> Result<Vec<User>, Finding> {
    let db = ctx.db.as_ref().map_err(|_| {
        Finding::warn(
            "not checked: the database is unreachable",
            "fix the database check first",
        )
    })?;
    match db.users().await {
        Ok(users) => Ok(users.into_iter().filter(|u| !u.disabled).collect()),
        Err(e) => Err(Finding::fail(
            format!("cannot read the staff accounts: {e}"),
            "run `storefort migrate`, then doctor again",
        )),
    }
}

/// `a, b, c` (and how many more).
fn names(emails: &[String]) -> String {
    let mut s = emails
        .iter()
        .take(MAX_NAMED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if emails.len() > MAX_NAMED {
        s += &format!(" and {} more", emails.len() - MAX_NAMED);
    }
    s
}

/// Every enabled owner and manager has two-step sign-in set up.
pub fn mfa<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let staff = match active_staff(ctx).await {
            Ok(s) => s,
            Err(f) => return f,
        };
        let needing: Vec<&User> = staff.iter().filter(|u| u.role().requires_mfa()).collect();
        let without: Vec<String> = needing
            .iter()
            .filter(|u| !u.mfa_enabled)
            .map(|u| format!("{} ({})", u.email, u.role))
            .collect();
        if without.is_empty() {
            Finding::pass(format!(
                "{} owner/manager account(s), all with two-step sign-in (TOTP)",
                needing.len()
            ))
        } else {
            Finding::fail(
                format!("without two-step sign-in: {}", names(&without)),
                "each of them signs in at /admin and is taken straight to setting up an \
                 authenticator app; until then they can do nothing else",
            )
        }
    })
}

/// Passwords that no longer meet the strength policy, or were last changed over a year ago.
pub fn passwords<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let staff = match active_staff(ctx).await {
            Ok(s) => s,
            Err(f) => return f,
        };
        let now_ms = ctx.now * 1000;
        let mut found = Vec::new();
        for u in &staff {
            let age_days = (now_ms - u.password_changed_at) / DAY_MS;
            if u.password_score < i64::from(MIN_SCORE) {
                found.push(format!(
                    "{} (strength {}/4, below {MIN_SCORE})",
                    u.email, u.password_score
                ));
            } else if age_days > PASSWORD_MAX_AGE_DAYS {
                found.push(format!("{} (unchanged for {age_days} days)", u.email));
            }
        }
        if found.is_empty() {
            Finding::pass(format!(
                "{} enabled account(s): every password met the policy and is under a year old",
                staff.len()
            ))
        } else {
            Finding::warn(
                format!("passwords to renew: {}", names(&found)),
                "ask them to change it under Account, or run \
                 `storefort user reset-password EMAIL` (they choose a new one at next sign-in)",
            )
        }
    })
}

/// Enabled accounts nobody has signed in to for 90 days.
pub fn unused_accounts<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let staff = match active_staff(ctx).await {
            Ok(s) => s,
            Err(f) => return f,
        };
        let now_ms = ctx.now * 1000;
        let idle: Vec<String> = staff
            .iter()
            .filter_map(|u| {
                let since = u.last_login_at.unwrap_or(u.created_at);
                let days = (now_ms - since) / DAY_MS;
                (days >= UNUSED_DAYS).then(|| {
                    let what = if u.last_login_at.is_some() {
                        "last sign-in"
                    } else {
                        "never signed in, created"
                    };
                    format!("{} ({what} {days} days ago)", u.email)
                })
            })
            .collect();
        if idle.is_empty() {
            Finding::pass(format!(
                "every enabled account was used (or created) within {UNUSED_DAYS} days"
            ))
        } else {
            Finding::warn(
                format!("unused for {UNUSED_DAYS}+ days: {}", names(&idle)),
                "disable accounts of people who left: `storefort user disable EMAIL`",
            )
        }
    })
}

/// The audit log's hash chain holds from its anchor to the newest entry.
pub fn audit_chain<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return Finding::warn(
                "not checked: the database is unreachable",
                "fix the database check first",
            );
        };
        match db.verify_audit().await {
            Ok(AuditVerdict::Intact { entries }) => Finding::pass(format!(
                "{entries} entries, every link of the hash chain holds"
            )),
            Ok(AuditVerdict::Broken { seq, reason }) => Finding::fail(
                format!("the audit log is broken at entry #{seq}: {reason}"),
                "someone with access to the database changed it: keep a copy of the database \
                 as evidence, find out who had access, and change the staff passwords",
            ),
            Err(StoreError::NoKeys) => Finding::warn(
                "cannot verify without the master key",
                "run doctor as the user that runs the shop, so it can read the master key",
            ),
            Err(e) => Finding::fail(
                format!("cannot read the audit log: {e}"),
                "run `storefort migrate`, then doctor again",
            ),
        }
    })
}
