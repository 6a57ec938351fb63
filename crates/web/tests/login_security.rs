//! Attacks on sign-in: ten wrong passwords, a locked account with the right password, one
//! address guessing across many accounts, unknown accounts (same answer, similar time), and
//! old password hashes upgraded on the next sign-in.

mod common;

use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{app, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_store::audit::AuditFilter;
use storefort_web::{router, AppState, WebConfig};

const MIN: i64 = 60_000;

async fn try_login(t: &TestApp, email: &str, pw: &str) -> common::Res {
    t.post(
        "/admin/login",
        None,
        &[("email", email), ("password", pw), ("next", "/admin")],
    )
    .await
}

async fn count(t: &TestApp, action: &str) -> usize {
    t.db.audit_entries(&AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    })
    .await
    .unwrap()
    .len()
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_account_for_thirty_minutes() {
    let t = app().await;
    for i in 0..10 {
        let r = try_login(&t, OWNER_EMAIL, &format!("wrong guess number {i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    assert_eq!(count(&t, "login.failure").await, 10);
    assert_eq!(count(&t, "login.lockout").await, 1);
    let locked = try_login(&t, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::UNAUTHORIZED,
        "right password, locked"
    );
    assert!(locked.headers.get(header::SET_COOKIE).is_none());
    let unknown = try_login(&t, "nobody@example.com", "whatever 123").await;
    assert_eq!(
        error_text(&locked.body),
        error_text(&unknown.body),
        "a locked account looks like a wrong password"
    );
    t.clock.advance(29 * MIN);
    assert_eq!(
        try_login(&t, OWNER_EMAIL, OWNER_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    t.clock.advance(2 * MIN);
    let r = try_login(&t, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "unlocked after 30 minutes");
    assert!(r.location().starts_with("/admin/mfa"), "then the code step");
}

#[tokio::test]
async fn an_owner_unlock_lets_the_member_in_at_once() {
    let t = app().await;
    for _ in 0..10 {
        try_login(&t, OWNER_EMAIL, "not the password 1").await;
    }
    let id = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap().id;
    t.db.unlock_user(id.as_str()).await.unwrap();
    assert_eq!(
        try_login(&t, OWNER_EMAIL, OWNER_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn one_address_guessing_across_accounts_is_slowed_down() {
    let mut t = app().await;
    // Behind a trusted proxy, so each request can come from its own client address.
    t.app = router(AppState::new(
        t.db.clone(),
        WebConfig {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..WebConfig::default()
        },
    ));
    let from = |ip: &'static str, email: String| {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("email", email.as_str()), ("password", "guess 123456")])
            .finish();
        Request::builder()
            .method(Method::POST)
            .uri("/admin/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(Body::from(body))
            .unwrap()
    };
    for i in 0..30 {
        let r = t
            .send(from("198.51.100.9", format!("user{i}@example.com")))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = t.send(from("198.51.100.9", OWNER_EMAIL.into())).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
    let again = t.send(from("198.51.100.9", OWNER_EMAIL.into())).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        count(&t, "login.rate_limited").await,
        1,
        "recorded once per window, so a flood cannot fill the log"
    );
    let other = t.send(from("203.0.113.50", "x@example.com".into())).await;
    assert_eq!(
        other.status,
        StatusCode::UNAUTHORIZED,
        "other addresses unaffected"
    );
    t.clock.advance(16 * MIN);
    let later = t.send(from("198.51.100.9", "y@example.com".into())).await;
    assert_eq!(later.status, StatusCode::UNAUTHORIZED, "the window passes");
}

#[tokio::test]
async fn unknown_accounts_take_as_long_as_real_ones() {
    let t = app().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..3 {
        let s = Instant::now();
        try_login(&t, OWNER_EMAIL, &format!("wrong password {i}")).await;
        known.push(s.elapsed());
        let s = Instant::now();
        try_login(&t, &format!("ghost{i}@example.com"), "wrong password").await;
        unknown.push(s.elapsed());
    }
    known.sort();
    unknown.sort();
    // Both paths run argon2id; without the dummy hash the unknown path would be ~100x faster.
    assert!(
        unknown[1] * 4 >= known[1],
        "unknown {:?} vs known {:?}",
        unknown[1],
        known[1]
    );
}

#[tokio::test]
async fn old_hashes_are_upgraded_on_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let t = app().await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8 * 1024, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let old = weak
        .hash_password(b"an older cashier passphrase 7", &salt)
        .unwrap()
        .to_string();
    let u =
        t.db.create_user("cass@example.com", "Cass", "cashier", &old, 4)
            .await
            .unwrap();
    let r = try_login(&t, "cass@example.com", "an older cashier passphrase 7").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = t.db.user(u.id.as_str()).await.unwrap().password_hash;
    assert_ne!(after, old);
    assert!(after.contains("m=19456,t=2,p=1"), "{after}");
    assert!(!storefort_crypto::password::needs_rehash(&after));
}

#[tokio::test]
async fn bad_input_is_refused_without_a_session() {
    let t = app().await;
    let long = "a1".repeat(100);
    for (email, pw) in [("", ""), (OWNER_EMAIL, ""), (OWNER_EMAIL, long.as_str())] {
        let r = try_login(&t, email, pw).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{email:?}");
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    // Not UTF-8: the form decoder replaces the bytes; still just a wrong password.
    let r = t
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/admin/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "email={OWNER_EMAIL}&password=%FF%FE%FD"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A forged cookie is no session.
    let r = t
        .get("/admin", Some("__Host-sf_session=forged-token"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/admin/login"));
}

/// The text of the page's error alert.
fn error_text(body: &str) -> String {
    let at = body.find("role=\"alert\"").expect("an error alert");
    let rest = &body[at..];
    rest[..rest.find("</div>").unwrap_or(rest.len())].to_string()
}

#[tokio::test]
async fn parallel_guesses_cannot_get_past_the_lockout() {
    let t = std::sync::Arc::new(app().await);
    let guesses = (0..25).map(|i| {
        let t = t.clone();
        tokio::spawn(
            async move { try_login(&t, OWNER_EMAIL, &format!("parallel guess {i}")).await },
        )
    });
    for r in futures::future::join_all(guesses).await {
        assert_eq!(r.unwrap().status, StatusCode::UNAUTHORIZED);
    }
    let checked =
        t.db.audit_entries(&AuditFilter {
            action: Some("login.failure".into()),
            outcome: Some("failure".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(checked.len(), 10, "only ten guesses were ever checked");
    let refused =
        t.db.audit_entries(&AuditFilter {
            action: Some("login.failure".into()),
            outcome: Some("denied".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.len(), 15, "the rest were refused unchecked");
    assert_eq!(
        try_login(&t, OWNER_EMAIL, OWNER_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "and the right password does not get in while locked"
    );
}
