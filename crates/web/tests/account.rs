//! The staff member's own account: changing the password (every rule, and every session ends),
//! ending sessions (only your own), confirming the password before sensitive actions, signing
//! out, and forged or expired cookies.

mod common;

use axum::http::{header, StatusCode};
use common::{app, session_cookie, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_crypto::token::hash_token;
use storefort_store::audit::AuditFilter;

const P1: &str = "quartz lantern 93 hopscotch";
const P2: &str = "velvet mango 27 tractor harbour";
const P3: &str = "pebble orchestra 58 kiwi lagoon";
const P4: &str = "saffron glacier 61 tumble ferry";
const MINUTE: i64 = 60_000;

async fn owner_id(t: &TestApp) -> String {
    t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap().id.0
}

async fn actions(t: &TestApp, prefix: &str) -> Vec<String> {
    let f = AuditFilter {
        action: Some(prefix.into()),
        ..Default::default()
    };
    let entries = t.db.audit_entries(&f).await.unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

async fn change(
    t: &TestApp,
    cookie: &str,
    csrf: &str,
    current: &str,
    new: &str,
    again: &str,
) -> common::Res {
    t.post(
        "/admin/account/password",
        Some(cookie),
        &[
            ("csrf", csrf),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", again),
        ],
    )
    .await
}

/// Whether a cookie still opens the admin (instead of bouncing to the login page).
async fn works(t: &TestApp, cookie: &str) -> bool {
    let r = t.get("/admin", Some(cookie)).await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert!(r.location().starts_with("/admin/login"), "{}", r.location());
            false
        }
        s => panic!("unexpected {s}"),
    }
}

#[tokio::test]
async fn change_password_checks_each_rule_then_ends_every_session() {
    let t = app().await;
    let (c1, csrf) = t.login().await;
    let (c2, _) = t.login().await;
    let form = t.get("/admin/account/password", Some(&c1)).await;
    assert_eq!(form.status, StatusCode::OK);
    for needed in [
        "autocomplete=\"current-password\"",
        "autocomplete=\"new-password\"",
        "name=\"confirm_password\"",
    ] {
        assert!(form.body.contains(needed), "{needed}");
    }
    assert!(!form.body.contains("onpaste"), "paste is never blocked");

    let r = change(&t, &c1, &csrf, "not my password 12", P1, P1).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"current_password-error\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("This is not your current password."));
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(owner.failed_logins, 1, "a wrong current password counts");

    let r = change(&t, &c1, &csrf, OWNER_PASSWORD, P1, P2).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"confirm_password-error\""));
    assert!(r.body.contains("not the same"));

    let r = change(&t, &c1, &csrf, OWNER_PASSWORD, "short 12", "short 12").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"new_password-error\""));
    assert!(r.body.contains("Use at least 12 characters."), "{}", r.body);

    let named = "Olive Owner rides 42 bikes";
    let r = change(&t, &c1, &csrf, OWNER_PASSWORD, named, named).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Do not use your name, email or the shop name."),
        "{}",
        r.body
    );

    let long = format!("{}7", "a".repeat(128));
    let r = change(&t, &c1, &csrf, OWNER_PASSWORD, &long, &long).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Use at most 128 characters."));

    // No CSRF token: refused, nothing changed.
    let r = change(&t, &c1, "", OWNER_PASSWORD, P1, P1).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(works(&t, &c1).await && works(&t, &c2).await);
    assert!(actions(&t, "password.changed").await.is_empty());

    let r = change(&t, &c1, &csrf, OWNER_PASSWORD, P1, P1).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/admin/login?changed=1");
    assert_eq!(r.headers["clear-site-data"], "\"cookies\", \"storage\"");
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert!(
        !works(&t, &c1).await && !works(&t, &c2).await,
        "every session ended"
    );
    assert!(t
        .db
        .sessions_of(&owner_id(&t).await)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(actions(&t, "password.changed").await.len(), 1);

    let page = t.get("/admin/login?changed=1", None).await;
    assert!(page
        .body
        .contains("Password changed. Sign in with your new password."));
    let old = t
        .post(
            "/admin/login",
            None,
            &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    t.login_as(OWNER_EMAIL, P1).await;
}

#[tokio::test]
async fn the_last_four_passwords_are_refused() {
    let t = app().await;
    let mut current = OWNER_PASSWORD;
    for next in [P1, P2, P3] {
        t.clock.advance(MINUTE);
        let (c, csrf) = t.login_as(OWNER_EMAIL, current).await;
        let r = change(&t, &c, &csrf, current, next, next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        current = next;
    }
    // History: the first password, P1, P2, P3 (current).
    t.clock.advance(MINUTE);
    let (c, csrf) = t.login_as(OWNER_EMAIL, P3).await;
    for used in [OWNER_PASSWORD, P1, P3] {
        let r = change(&t, &c, &csrf, P3, used, used).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{used}");
        assert!(
            r.body.contains("You used this password recently"),
            "{}",
            r.body
        );
    }
    let r = change(&t, &c, &csrf, P3, P4, P4).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Now the first password is five back, so it may be used again.
    t.clock.advance(MINUTE);
    let (c, csrf) = t.login_as(OWNER_EMAIL, P4).await;
    let r = change(&t, &c, &csrf, P4, OWNER_PASSWORD, OWNER_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_first() {
    let t = app().await;
    let hash = storefort_crypto::password::hash("temporary 12345 pass").unwrap();
    let cashier =
        t.db.create_user("cass@example.com", "Cass Cashier", "cashier", &hash, 3)
            .await
            .unwrap();
    t.db.set_temporary_password(cashier.id.as_str(), &hash, 3)
        .await
        .unwrap();
    let r = t
        .post(
            "/admin/login",
            None,
            &[
                ("email", "cass@example.com"),
                ("password", "temporary 12345 pass"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/admin/account/password");
    let c = session_cookie(&r);
    let dash = t.get("/admin", Some(&c)).await;
    assert_eq!(dash.location(), "/admin/account/password");
    let form = t.get("/admin/account/password", Some(&c)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("temporary password"));
    let csrf = form.csrf();
    let r = change(&t, &c, &csrf, "temporary 12345 pass", P2, P2).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (c, _) = t.login_as("cass@example.com", P2).await;
    assert!(works(&t, &c).await, "owes nothing any more");
}

#[tokio::test]
async fn a_session_still_owing_its_code_cannot_change_the_password() {
    let t = app().await;
    let r = t
        .post(
            "/admin/login",
            None,
            &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
        )
        .await;
    let c = session_cookie(&r);
    let r = t.get("/admin/account/password", Some(&c)).await;
    assert_eq!(r.location(), "/admin/mfa");
    let r = change(&t, &c, "x", OWNER_PASSWORD, P1, P1).await;
    assert_eq!(r.location(), "/admin/mfa");
    let r = t.get("/admin/reauth", Some(&c)).await;
    assert_eq!(r.location(), "/admin/mfa");
    assert!(actions(&t, "password.changed").await.is_empty());
}

#[tokio::test]
async fn sessions_are_listed_and_only_your_own_can_be_ended() {
    let t = app().await;
    let hash = storefort_crypto::password::hash(P2).unwrap();
    let cashier =
        t.db.create_user("cass@example.com", "Cass Cashier", "cashier", &hash, 3)
            .await
            .unwrap();
    let (theirs, _) = t.login_as("cass@example.com", P2).await;
    let (c1, csrf) = t.login().await;
    let (c2, _) = t.login().await;
    let (c3, _) = t.login().await;

    let page = t.get("/admin/account", Some(&c1)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches(">this device<").count(), 1);
    assert_eq!(page.body.matches("End session").count(), 2);
    assert!(page.body.contains("/admin/mfa/setup"));
    assert!(page.body.contains("End all other sessions (2)"));

    // Another person's session ID: 404, nothing ended.
    let other = &t.db.sessions_of(cashier.id.as_str()).await.unwrap()[0].id;
    let r = t
        .post(
            &format!("/admin/account/sessions/{other}/end"),
            Some(&c1),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(works(&t, &theirs).await);
    assert!(actions(&t, "session.ended").await.is_empty());

    // One of your own: without CSRF refused, with it ended.
    let c2_id =
        t.db.touch_session(&hash_token(c2.split_once('=').unwrap().1))
            .await
            .unwrap()
            .unwrap()
            .id;
    let path = format!("/admin/account/sessions/{c2_id}/end");
    let r = t.post(&path, Some(&c1), &[("csrf", "wrong")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(works(&t, &c2).await);
    let r = t.post(&path, Some(&c1), &[("csrf", &csrf)]).await;
    assert_eq!(r.location(), "/admin/account?done=ended");
    assert!(!works(&t, &c2).await && works(&t, &c3).await);
    assert_eq!(actions(&t, "session.ended").await, ["session.ended"]);

    // End all others: this one and the cashier's stay.
    let r = t
        .post(
            "/admin/account/sessions/end-others",
            Some(&c1),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.location(), "/admin/account?done=ended-others");
    assert!(works(&t, &c1).await && !works(&t, &c3).await && works(&t, &theirs).await);
    assert_eq!(
        t.db.sessions_of(&owner_id(&t).await).await.unwrap().len(),
        1
    );
    assert_eq!(actions(&t, "session.ended_others").await.len(), 1);

    // Ending the session you are using signs you out here.
    let own = &t.db.sessions_of(&owner_id(&t).await).await.unwrap()[0].id;
    let r = t
        .post(
            &format!("/admin/account/sessions/{own}/end"),
            Some(&c1),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.location(), "/admin/login");
    assert!(r.headers.contains_key("clear-site-data"));
    assert!(!works(&t, &c1).await && works(&t, &theirs).await);
}

#[tokio::test]
async fn a_sensitive_action_after_five_minutes_asks_for_the_password_again() {
    let t = app().await;
    let (c, csrf) = t.login().await;
    t.clock.advance(6 * MINUTE);
    let create = [
        ("csrf", csrf.as_str()),
        ("name", "Export"),
        ("scope", "read"),
    ];
    let r = t.post("/admin/api-keys", Some(&c), &create).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/reauth?next=%2Fadmin%2Fapi-keys");
    assert!(t.db.api_keys().await.unwrap().is_empty());

    let form = t.get(r.location(), Some(&c)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"/admin/api-keys\""));
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let wrong = [
        ("csrf", csrf.as_str()),
        ("next", "/admin/api-keys"),
        ("password", "wrong one 123"),
    ];
    let r = t.post("/admin/reauth", Some(&c), &wrong).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let after = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert_eq!(
        after.failed_logins,
        owner.failed_logins + 1,
        "counted toward lockout"
    );
    let r = t.post("/admin/api-keys", Some(&c), &create).await;
    assert!(
        r.location().starts_with("/admin/reauth"),
        "still not confirmed"
    );

    // Without CSRF: refused even with the right password.
    let nocsrf = [("next", "/admin/api-keys"), ("password", OWNER_PASSWORD)];
    let r = t.post("/admin/reauth", Some(&c), &nocsrf).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let right = [
        ("csrf", csrf.as_str()),
        ("next", "/admin/api-keys"),
        ("password", OWNER_PASSWORD),
    ];
    let r = t.post("/admin/reauth", Some(&c), &right).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/api-keys");
    assert_eq!(actions(&t, "reauth.success").await.len(), 1);
    let r = t.post("/admin/api-keys", Some(&c), &create).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(t.db.api_keys().await.unwrap().len(), 1);

    // `next` never leaves the admin.
    let evil = [
        ("csrf", csrf.as_str()),
        ("next", "https://evil.example/"),
        ("password", OWNER_PASSWORD),
    ];
    let r = t.post("/admin/reauth", Some(&c), &evil).await;
    assert_eq!(r.location(), "/admin");
}

#[tokio::test]
async fn logout_clears_site_data_and_the_old_cookie_stops_working() {
    let t = app().await;
    let (c, csrf) = t.login().await;
    let r = t.post("/admin/logout", Some(&c), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let csd = r.headers["clear-site-data"].to_str().unwrap();
    assert!(
        csd.contains("\"cookies\"") && csd.contains("\"storage\""),
        "{csd}"
    );
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert!(
        !works(&t, &c).await,
        "ended on the server, not just in the browser"
    );
    assert!(t
        .db
        .sessions_of(&owner_id(&t).await)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn forged_and_expired_cookies_land_on_the_login_page() {
    let t = app().await;
    let forged = format!(
        "__Host-sf_session={}",
        storefort_crypto::token::random_token()
    );
    for path in [
        "/admin",
        "/admin/account",
        "/admin/account/password",
        "/admin/reauth",
    ] {
        let r = t.get(path, Some(&forged)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().starts_with("/admin/login?next="), "{path}");
    }
    let r = t.get("/admin/login", Some(&forged)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Sign in to"));

    let (c, csrf) = t.login().await;
    t.clock.advance(16 * MINUTE);
    let r = t.get("/admin/account", Some(&c)).await;
    assert!(
        r.location().starts_with("/admin/login?next="),
        "idle session ended"
    );
    let r = t
        .post(
            "/admin/account/sessions/end-others",
            Some(&c),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(r.location().starts_with("/admin/login"));
    assert!(t
        .db
        .sessions_of(&owner_id(&t).await)
        .await
        .unwrap()
        .is_empty());
}
