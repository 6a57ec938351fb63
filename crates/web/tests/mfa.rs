//! Two-factor sign-in through the real pages, the code step: replayed and stale codes,
//! recovery codes (and the setup page they lead to), lockout by wrong codes. Enrolment, new
//! recovery codes and reset are in `mfa_setup.rs`.

mod common;
mod mfa_support;

use axum::http::{header, StatusCode};
use common::{app, session_cookie, OWNER_EMAIL, OWNER_PASSWORD};
use mfa_support::*;
use storefort_crypto::totp;
use storefort_store::Clock;

const USED: &str = "You signed in with a recovery code";

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
    assert_eq!(ok.location(), "/admin/mfa/setup?used=recovery");
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
async fn after_a_recovery_code_the_setup_page_offers_a_reset() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let made = t
        .post(
            "/admin/mfa/recovery-codes",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    let codes = codes_on(&made);

    // A code from the app still goes where the person was heading, with no notice.
    let (s1, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let code = owner_code(&t, t.clock.now_ms());
    let by_app = send_code(&t, &s1, &code, "/admin/products").await;
    assert_eq!(by_app.location(), "/admin/products");
    let plain = t
        .get("/admin/mfa/setup", Some(&session_cookie(&by_app)))
        .await;
    assert!(!plain.body.contains(USED), "{}", plain.body);

    // A recovery code: the setup page, saying how many are left and how to reset.
    let (s2, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let used = send_code(&t, &s2, &codes[0], "/admin/products").await;
    assert_eq!(used.location(), "/admin/mfa/setup?used=recovery");
    let cookie = session_cookie(&used);
    let page = t.get(used.location(), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("{USED}: 9 left.")),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("If you lost your phone, reset two-factor sign-in here and set up the new one."));
    assert!(page.body.contains("action=\"/admin/mfa/reset\""));

    // The reset there works at once (the password was just typed), and the owner must set up
    // the new phone before anything else.
    let res = t
        .post("/admin/mfa/reset", Some(&cookie), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert!(!owner.mfa_enabled);
    assert_eq!(
        t.get("/admin", Some(&cookie)).await.location(),
        "/admin/mfa/setup"
    );
    // On the set-up page the notice does not apply.
    let setup = t.get("/admin/mfa/setup?used=recovery", Some(&cookie)).await;
    assert!(setup.body.contains("Set up two-factor sign-in"));
    assert!(!setup.body.contains(USED));
}

#[tokio::test]
async fn a_recovery_code_still_owes_a_new_password_first() {
    let t = app().await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let codes = totp::recovery_codes();
    t.db.replace_recovery_codes(owner.id.as_str(), &codes)
        .await
        .unwrap();
    let hash = storefort_crypto::password::hash(OWNER_PASSWORD).unwrap();
    t.db.set_temporary_password(owner.id.as_str(), &hash, 4)
        .await
        .unwrap();
    let (s, _) = password_step(&t, OWNER_EMAIL, OWNER_PASSWORD, "/admin").await;
    let res = send_code(&t, &s, &codes[0], "/admin").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/account/password");
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
