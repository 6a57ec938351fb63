//! Setting up two-factor sign-in through the real pages: enrolment (forced for managers,
//! optional for cashiers), the seed sealed at rest, and reset.

mod common;
mod mfa_support;

use axum::http::StatusCode;
use common::app;
use mfa_support::*;
use storefort_crypto::totp;
use storefort_store::Clock;

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
