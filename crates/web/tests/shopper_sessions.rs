//! Shoppers signing in and out: one answer for every failure, lockout, per-network limit,
//! server-side sign-out, idle and absolute expiry.

mod common;
mod shopper_support;

use axum::http::{header, StatusCode};
use common::app;
use shopper_support::*;
use storefort_core::customer::NewCustomer;

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    let page = t.get("/account", Some(&cookie)).await;
    let csrf = page.csrf();
    // Without the form's token nothing happens.
    let forged = t
        .post("/account/sign-out", Some(&cookie), &[("csrf", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(works(&t, &cookie).await);
    let out = t
        .post("/account/sign-out", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/account/sign-in?done=signed-out");
    let cleared = out
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cleared.starts_with("__Host-shopper=;") && cleared.contains("Max-Age=0"));
    assert_eq!(sessions(&t).await, 0);
    assert!(!works(&t, &cookie).await, "the old cookie no longer works");
    let again = sign_in(&t, None, "ann@example.com", PW).await;
    let fresh = shopper_cookie(&again);
    assert_ne!(fresh, cookie, "a new token on every sign-in");
    assert!(works(&t, &fresh).await);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let t = app().await;
    let first = shopper(&t, "Ann", "ann@example.com").await;
    let wrong = sign_in(&t, None, "ann@example.com", "not my password at all").await;
    let unknown = sign_in(&t, None, "nobody@example.com", "not my password at all").await;
    let guest_email = "gus@example.com";
    t.db.guest_customer(&NewCustomer {
        name: "Gus".into(),
        email: guest_email.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let guest = sign_in(&t, None, guest_email, "not my password at all").await;
    for r in [&wrong, &unknown, &guest] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Email or password is wrong."));
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    assert!(
        wrong.body.contains("value=\"ann@example.com\""),
        "email kept"
    );
    // Signing in from a browser that still holds a session replaces it.
    let res = sign_in(&t, Some(&first), "ANN@example.com", PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/account");
    let second = shopper_cookie(&res);
    assert!(!works(&t, &first).await, "the earlier session ended");
    assert!(works(&t, &second).await);
}

#[tokio::test]
async fn ten_failures_lock_the_account_and_a_network_is_limited() {
    let t = app().await;
    shopper(&t, "Ann", "ann@example.com").await;
    for _ in 0..10 {
        let r = sign_in(&t, None, "ann@example.com", "wrong wrong wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(
        locked.status,
        StatusCode::UNAUTHORIZED,
        "locked: same answer"
    );
    assert!(locked.body.contains("Email or password is wrong."));
    t.clock.advance(31 * 60 * 1000);
    let ok = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "the lock runs out");

    // 30 failures from one address (any accounts) close sign-in for that address.
    for i in 0..30 {
        let r = sign_in(&t, None, &format!("x{i}@example.com"), "wrong wrong wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let limited = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many failed sign-ins"));
    assert!(limited.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn sessions_end_after_a_week_idle_or_a_month_in_all() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    t.clock.advance(7 * DAY - 60_000);
    assert!(works(&t, &cookie).await, "used within the week");
    for _ in 0..3 {
        t.clock.advance(6 * DAY);
        assert!(works(&t, &cookie).await);
    }
    t.clock.advance(5 * DAY + 60_000);
    assert!(
        !works(&t, &cookie).await,
        "30 days after sign-in, however busy"
    );
    let c2 = shopper_cookie(&sign_in(&t, None, "ann@example.com", PW).await);
    t.clock.advance(7 * DAY);
    assert!(!works(&t, &c2).await, "a week without use");
    assert_eq!(sessions(&t).await, 0, "expired sessions are deleted");
}
