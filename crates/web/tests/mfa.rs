//! Two-factor sign-in through the real pages: the code step, replayed and stale codes,
//! recovery codes, lockout by wrong codes, enrolment (forced for managers, optional for
//! cashiers), new recovery codes and reset, and the seed sealed at rest.

mod common;

use axum::http::{header, StatusCode};
use common::{app, session_cookie, Res, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_crypto::totp;
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::Clock;

const WRONG: &str = "That code is not right, or was already used.";
const MANAGER: &str = "manager@example.com";
const CASHIER: &str = "cashier@example.com";
const STAFF_PASSWORD: &str = "violet lantern orchard 9731";

/// Password step only: returns the cookie and where the login page sent us.
async fn password_step(t: &TestApp, email: &str, pw: &str, next: &str) -> (String, String) {
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
async fn send_code(t: &TestApp, cookie: &str, code: &str, next: &str) -> Res {
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

fn owner_code(t: &TestApp, at: i64) -> String {
    totp::code_at(&t.owner_totp, at).unwrap()
}

/// A 6-digit code that is wrong for every step the server would accept now.
fn wrong_code(secret: &str, now: i64) -> String {
    let near: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| totp::code_at(secret, now + d).unwrap())
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn audit_log(t: &TestApp) -> Vec<AuditEntry> {
    t.db.audit_entries(&AuditFilter {
        limit: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn count(t: &TestApp, action: &str) -> usize {
    audit_log(t)
        .await
        .iter()
        .filter(|e| e.action == action)
        .count()
}

async fn add_staff(t: &TestApp, email: &str, role: &str) -> String {
    let hash = storefort_crypto::password::hash(STAFF_PASSWORD).unwrap();
    let u =
        t.db.create_user(email, "Sam Staff", role, &hash, 4)
            .await
            .unwrap();
    u.id.as_str().to_string()
}

/// The codes listed on a recovery-codes page.
fn codes_on(res: &Res) -> Vec<String> {
    let start = res.body.find("<ol class=\"key\">").expect("codes list");
    let list = &res.body[start..];
    let list = &list[..list.find("</ol>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|s| s[..s.find("</li>").unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn full_sign_in_through_the_code_page() {
    let t = app().await;
    let (cookie, to) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin/products").await;
    assert_eq!(to, "/admin/mfa?next=%2Fadmin%2Fproducts");

    // At the code stage nothing else is reachable.
    for path in [
        "/admin",
        "/admin/products",
        "/admin/api-keys",
        "/admin/mfa/setup",
    ] {
        let res = t.get(path, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), "/admin/mfa", "{path}");
    }
    let api = t.get("/api/v1/products", Some(&cookie)).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);

    // A post without the CSRF token is refused and the session stays at the code stage.
    let code = owner_code(&t, t.clock.now_ms());
    let bare = t
        .post("/admin/mfa", Some(&cookie), &[("code", &code)])
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("/admin", Some(&cookie)).await.location(),
        "/admin/mfa"
    );

    // An empty code names the field and counts nothing.
    let empty = send_code(&t, &cookie, "  ", "/admin/products").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Code:"), "{}", empty.body);

    let page = t.get(&to, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("value=\"/admin/products\""),
        "{}",
        page.body
    );
    let res = t
        .post(
            "/admin/mfa",
            Some(&cookie),
            &[
                ("csrf", &page.csrf()),
                ("code", &code),
                ("next", "/admin/products"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/products");
    // The session gets a new token once signed in; the one from before the code is dead.
    let before = cookie.clone();
    let cookie = common::session_cookie(&res);
    assert_ne!(before, cookie);
    assert!(t
        .get("/admin", Some(&before))
        .await
        .location()
        .starts_with("/admin/login"));
    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(
        t.get("/admin/products", Some(&cookie)).await.status,
        StatusCode::OK
    );

    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(owner.failed_logins, 0);
    let log = audit_log(&t).await;
    assert!(log.iter().any(|e| e.action == "login.success"
        && e.details == "password+totp"
        && e.actor_id.as_deref() == Some(owner.id.as_str())));

    // Signed in: the code page sends you on.
    let again = t.get("/admin/mfa", Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), "/admin");
}

#[tokio::test]
async fn next_outside_admin_is_ignored() {
    let t = app().await;
    let (cookie, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let code = owner_code(&t, t.clock.now_ms());
    let res = send_code(&t, &cookie, &code, "https://evil.example/admin").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/admin");
}

#[tokio::test]
async fn a_code_works_once_and_stale_codes_fail() {
    let t = app().await;
    let now = t.clock.now_ms();
    let code = owner_code(&t, now);
    let (first, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    assert_eq!(
        send_code(&t, &first, &code, "/admin").await.status,
        StatusCode::SEE_OTHER
    );

    // The same code in a new sign-in within the same 30 seconds.
    let (second, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let replay = send_code(&t, &second, &code, "/admin").await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.body.contains(WRONG), "{}", replay.body);
    assert_eq!(
        t.get("/admin", Some(&second)).await.location(),
        "/admin/mfa"
    );

    // A code from two minutes ago, and one from two minutes ahead.
    for at in [now - 120_000, now + 120_000] {
        let res = send_code(&t, &second, &owner_code(&t, at), "/admin").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    // Each refusal is audited and counted.
    assert_eq!(count(&t, "mfa.failure").await, 3);
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(owner.failed_logins, 3);

    // The next code (30 s later) works and clears the count.
    t.clock.advance(30_000);
    let next = owner_code(&t, t.clock.now_ms());
    assert_eq!(
        send_code(&t, &second, &next, "/admin").await.status,
        StatusCode::SEE_OTHER
    );
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(owner.failed_logins, 0);
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_account() {
    let t = app().await;
    let (cookie, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let bad = wrong_code(&t.owner_totp, t.clock.now_ms());
    for i in 1..10 {
        let res = send_code(&t, &cookie, &bad, "/admin").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The tenth locks the account and ends the session.
    let csrf = t.get("/admin/mfa", Some(&cookie)).await.csrf();
    let last = t
        .post(
            "/admin/mfa",
            Some(&cookie),
            &[("csrf", &csrf), ("code", &bad)],
        )
        .await;
    assert_eq!(last.status, StatusCode::SEE_OTHER);
    assert_eq!(last.location(), "/admin/login");
    assert!(last.headers.contains_key("clear-site-data"));
    let gone = t.get("/admin/mfa", Some(&cookie)).await;
    assert!(
        gone.location().starts_with("/admin/login"),
        "{}",
        gone.location()
    );

    // Even the right password is refused now, and so is the right code later.
    let res = t
        .post(
            "/admin/login",
            None,
            &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&t, "mfa.failure").await, 10);
    assert_eq!(count(&t, "login.lockout").await, 1);
}

#[tokio::test]
async fn typing_the_password_again_does_not_reset_wrong_codes() {
    let t = app().await;
    let bad = wrong_code(&t.owner_totp, t.clock.now_ms());
    let (cookie, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    for _ in 0..9 {
        let res = send_code(&t, &cookie, &bad, "/admin").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let (cookie, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let res = send_code(&t, &cookie, &bad, "/admin").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/admin/login");
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert!(owner.is_locked(t.clock.now_ms()));
}

#[tokio::test]
async fn recovery_codes_work_once_and_regenerating_kills_the_old_ones() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let made = t
        .post(
            "/admin/mfa/recovery-codes",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let codes = codes_on(&made);
    assert_eq!(codes.len(), 10);
    assert_eq!(count(&t, "mfa.recovery_codes_regenerated").await, 1);

    // Typed in capitals with spaces still works, once.
    let typed = codes[0].to_uppercase().replace('-', " - ");
    let (s1, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let ok = send_code(&t, &s1, &typed, "/admin/products").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/admin/products");
    let log = audit_log(&t).await;
    assert!(log
        .iter()
        .any(|e| e.action == "mfa.recovery_code_used" && e.details == "9 recovery codes left"));
    assert!(log
        .iter()
        .any(|e| e.action == "login.success" && e.details == "password+recovery code"));

    let (s2, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let reused = send_code(&t, &s2, &codes[0], "/admin").await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert!(reused.body.contains(WRONG));
    assert_eq!(count(&t, "mfa.failure").await, 1);

    // Without a recent password, regenerating goes to confirm it first; nothing changes.
    let (cookie, csrf) = t.login().await;
    t.clock.advance(6 * 60_000);
    let stale = t
        .post(
            "/admin/mfa/recovery-codes",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stale.location(),
        "/admin/reauth?next=%2Fadmin%2Fmfa%2Fsetup"
    );
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(
        t.db.recovery_codes_left(owner.id.as_str()).await.unwrap(),
        9
    );
    let status = t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert!(
        status.body.contains("<strong>9</strong> of 10"),
        "{}",
        status.body
    );

    // A fresh sign-in, new codes: the old ones are dead.
    let (cookie, csrf) = t.login().await;
    let remade = t
        .post(
            "/admin/mfa/recovery-codes",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(codes_on(&remade).len(), 10);
    assert!(codes_on(&remade).iter().all(|c| !codes.contains(c)));
    let (s3, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let old = send_code(&t, &s3, &codes[1], "/admin").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_manager_must_enrol_before_anything_else() {
    let t = app().await;
    let id = add_staff(&t, MANAGER, "manager").await;
    let (cookie, to) = password_step(&t, MANAGER, STAFF_PASSWORD, "/admin").await;
    assert_eq!(to, "/admin/mfa/setup");
    for path in [
        "/admin",
        "/admin/products",
        "/admin/products/new",
        "/admin/api-keys",
        "/admin/mfa",
    ] {
        let res = t.get(path, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), "/admin/mfa/setup", "{path}");
    }
    assert_eq!(
        t.get("/api/v1/products", Some(&cookie)).await.status,
        StatusCode::FORBIDDEN
    );

    let setup = t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(setup.body.contains("<svg role=\"img\""), "{}", setup.body);
    assert!(!setup.body.contains("<?xml"));
    assert!(setup.body.contains("must set this up"));
    let secret = t.db.pending_mfa_secret(&id).await.unwrap().unwrap();
    let grouped: Vec<&str> = (0..secret.len())
        .step_by(4)
        .map(|i| &secret[i..(i + 4).min(secret.len())])
        .collect();
    assert!(setup.body.contains(&grouped.join(" ")), "{}", setup.body);
    // Reloading shows the same seed (the app may already have it).
    t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert_eq!(t.db.pending_mfa_secret(&id).await.unwrap().unwrap(), secret);

    // A wrong code, and a right one without the CSRF token: nothing changes.
    let now = t.clock.now_ms();
    let csrf = setup.csrf();
    let wrong = t
        .post(
            "/admin/mfa/setup",
            Some(&cookie),
            &[("csrf", &csrf), ("code", &wrong_code(&secret, now))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Code:"), "{}", wrong.body);
    let right = totp::code_at(&secret, now).unwrap();
    let forged = t
        .post("/admin/mfa/setup", Some(&cookie), &[("code", &right)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!t.db.user(&id).await.unwrap().mfa_enabled);
    assert_eq!(t.db.pending_mfa_secret(&id).await.unwrap().unwrap(), secret);
    assert_eq!(count(&t, "mfa.enrolled").await, 0);

    let done = t
        .post(
            "/admin/mfa/setup",
            Some(&cookie),
            &[("csrf", &csrf), ("code", &right)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes = codes_on(&done);
    assert_eq!(codes.len(), 10);
    assert!(done.body.contains("href=\"/admin\""));
    assert!(t.db.user(&id).await.unwrap().mfa_enabled);
    assert_eq!(t.db.recovery_codes_left(&id).await.unwrap(), 10);
    assert!(audit_log(&t)
        .await
        .iter()
        .any(|e| e.action == "mfa.enrolled" && e.actor_id.as_deref() == Some(id.as_str())));
    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    let status = t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert!(
        status.body.contains("<strong>10</strong> of 10"),
        "{}",
        status.body
    );

    // The seed is sealed at rest: the row never holds it in clear.
    let row: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT totp_secret, totp_pending FROM users WHERE id = $1")
            .bind(&id)
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    let stored = row.0.expect("seed stored");
    assert!(!stored.contains(&secret), "{stored}");
    assert!(!stored.to_uppercase().contains(&secret[..16]));
    assert!(row.1.is_none(), "pending seed cleared");
    assert_eq!(t.db.mfa_secret(&id).await.unwrap().unwrap(), secret);

    // The code used to enrol cannot sign in again; the next sign-in asks for a code.
    let (s2, to) = password_step(&t, MANAGER, STAFF_PASSWORD, "/admin").await;
    assert!(to.starts_with("/admin/mfa?"), "{to}");
    let replay = send_code(&t, &s2, &right, "/admin").await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    t.clock.advance(30_000);
    let fresh = totp::code_at(&secret, t.clock.now_ms()).unwrap();
    assert_eq!(
        send_code(&t, &s2, &fresh, "/admin").await.location(),
        "/admin"
    );
}

#[tokio::test]
async fn reset_needs_a_recent_password_and_sends_a_manager_back_to_setup() {
    let t = app().await;
    let id = add_staff(&t, MANAGER, "manager").await;
    let secret = t.db.begin_mfa_enrolment(&id).await.unwrap();
    t.db.confirm_mfa(&id, 0, &totp::recovery_codes())
        .await
        .unwrap();
    let (cookie, csrf) = t.login_as(MANAGER, STAFF_PASSWORD).await;

    // A session still at the code stage cannot reset anything.
    let (half, _) = password_step(&t, MANAGER, STAFF_PASSWORD, "/admin").await;
    let half_csrf = t.get("/admin/mfa", Some(&half)).await.csrf();
    let res = t
        .post("/admin/mfa/reset", Some(&half), &[("csrf", &half_csrf)])
        .await;
    assert_eq!(res.location(), "/admin/mfa");
    assert!(t.db.user(&id).await.unwrap().mfa_enabled);

    // No CSRF token; then a stale password.
    let res = t.post("/admin/mfa/reset", Some(&cookie), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    t.clock.advance(6 * 60_000);
    let res = t
        .post("/admin/mfa/reset", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.location(), "/admin/reauth?next=%2Fadmin%2Fmfa%2Fsetup");
    assert!(t.db.user(&id).await.unwrap().mfa_enabled);
    assert_eq!(count(&t, "mfa.reset").await, 0);

    let (cookie, csrf) = t.login_as(MANAGER, STAFF_PASSWORD).await;
    let res = t
        .post("/admin/mfa/reset", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/admin");
    assert!(!t.db.user(&id).await.unwrap().mfa_enabled);
    assert_eq!(t.db.recovery_codes_left(&id).await.unwrap(), 0);
    assert_eq!(count(&t, "mfa.reset").await, 1);
    assert_eq!(
        t.get("/admin", Some(&cookie)).await.location(),
        "/admin/mfa/setup"
    );
    // A new seed is made for the new app.
    let setup = t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert_ne!(t.db.pending_mfa_secret(&id).await.unwrap().unwrap(), secret);
}

#[tokio::test]
async fn a_cashier_may_enrol_and_is_then_asked_for_codes() {
    let t = app().await;
    let id = add_staff(&t, CASHIER, "cashier").await;
    let (cookie, to) = password_step(&t, CASHIER, STAFF_PASSWORD, "/admin").await;
    assert_eq!(to, "/admin");
    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    let setup = t.get("/admin/mfa/setup", Some(&cookie)).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("optional"), "{}", setup.body);
    let secret = t.db.pending_mfa_secret(&id).await.unwrap().unwrap();
    let code = totp::code_at(&secret, t.clock.now_ms()).unwrap();
    let done = t
        .post(
            "/admin/mfa/setup",
            Some(&cookie),
            &[("csrf", &setup.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(t.db.user(&id).await.unwrap().mfa_enabled);

    let (_, to) = password_step(&t, CASHIER, STAFF_PASSWORD, "/admin").await;
    assert_eq!(to, "/admin/mfa?next=%2Fadmin");
}

#[tokio::test]
async fn no_session_goes_to_the_login_page() {
    let t = app().await;
    for path in ["/admin/mfa", "/admin/mfa/setup"] {
        let res = t.get(path, None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().starts_with("/admin/login"), "{path}");
    }
    let res = t.post("/admin/mfa", None, &[("code", "123456")]).await;
    assert!(res.location().starts_with("/admin/login"));
    assert!(res.headers.get(header::SET_COOKIE).is_none());
}
