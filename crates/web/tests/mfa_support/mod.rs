//! Harness for the two-factor tests: the password step and the code step through the real
//! pages, codes that are right or wrong now, staff made in the database, the audit log.

#![allow(dead_code)]

use axum::http::StatusCode;
use storefort_crypto::totp;
use storefort_store::audit::{AuditEntry, AuditFilter};

use crate::common::{session_cookie, Res, TestApp};

pub const WRONG: &str = "That code is not right, or was already used.";
pub const MANAGER: &str = "manager@example.com";
pub const CASHIER: &str = "cashier@example.com";
pub const STAFF_PASSWORD: &str = "violet lantern orchard 9731";

/// Password step only: returns the cookie and where the login page sent us.
pub async fn password_step(t: &TestApp, email: &str, pw: &str, next: &str) -> (String, String) {
    let res = t
        .post(
            "/admin/login",
            None,
            &[("email", email), ("password", pw), ("next", next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    (session_cookie(&res), res.location().to_string())
}

/// Load the code page (for its CSRF token) and send `code`.
pub async fn send_code(t: &TestApp, cookie: &str, code: &str, next: &str) -> Res {
    let form = t.get("/admin/mfa?next=%2Fadmin", Some(cookie)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    t.post(
        "/admin/mfa",
        Some(cookie),
        &[("csrf", &csrf), ("code", code), ("next", next)],
    )
    .await
}

pub fn owner_code(t: &TestApp, at: i64) -> String {
    totp::code_at(&t.owner_totp, at).unwrap()
}

/// A 6-digit code that is wrong for every step the server would accept now.
pub fn wrong_code(secret: &str, now: i64) -> String {
    let near: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| totp::code_at(secret, now + d).unwrap())
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

pub async fn audit_log(t: &TestApp) -> Vec<AuditEntry> {
    t.db.audit_entries(&AuditFilter {
        limit: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap()
}

pub async fn count(t: &TestApp, action: &str) -> usize {
    audit_log(t)
        .await
        .iter()
        .filter(|e| e.action == action)
        .count()
}

pub async fn add_staff(t: &TestApp, email: &str, role: &str) -> String {
    let hash = storefort_crypto::password::hash(STAFF_PASSWORD).unwrap();
    let u =
        t.db.create_user(email, "Sam Staff", role, &hash, 4)
            .await
            .unwrap();
    u.id.as_str().to_string()
}

/// The codes listed on a recovery-codes page.
pub fn codes_on(res: &Res) -> Vec<String> {
    let start = res.body.find("<ol class=\"key\">").expect("codes list");
    let list = &res.body[start..];
    let list = &list[..list.find("</ol>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|s| s[..s.find("</li>").unwrap()].to_string())
        .collect()
}
