//! Staff helpers for the role world: spare sessions, and the staff side of `World::snapshot`
//! (what a refused staff action must leave alone).

use storefort_crypto::token;
use storefort_store::Db;

use crate::common::TestApp;

/// The ID of the session behind a `name=token` cookie.
async fn session_id(t: &TestApp, cookie: &str) -> String {
    let token = cookie.split_once('=').unwrap().1;
    let s = t.db.touch_session(&token::hash_token(token)).await.unwrap();
    s.unwrap().id
}

/// Sign in once more and return that session's ID.
pub async fn spare_session(t: &TestApp, email: &str, password: &str) -> String {
    let (cookie, _) = t.login_as(email, password).await;
    session_id(t, &cookie).await
}

/// Every account (role, disabled, lockout, password, MFA), its live session IDs, and the open
/// invitations; not when anyone was last seen.
pub async fn staff(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for u in db.users().await.unwrap() {
        let mut sessions: Vec<String> = db
            .sessions_of(u.id.as_str())
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        sessions.sort();
        out.push(format!(
            "{} {} {} disabled={} failed={} locked={:?} mfa={} must_change={} pw={} sessions={:?}",
            u.id.as_str(),
            u.email,
            u.role,
            u.disabled,
            u.failed_logins,
            u.locked_until,
            u.mfa_enabled,
            u.must_change_password,
            u.password_hash,
            sessions
        ));
    }
    for i in db.pending_invitations().await.unwrap() {
        out.push(format!("invitation {} {} {}", i.id, i.email, i.role));
    }
    out
}
