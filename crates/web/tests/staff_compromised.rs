//! The "device lost or account compromised" button: everything locked down in one step (link
//! never emailed, second factor off, old links and their invitations dead), and refused on your
//! own account, where it would lock you out.

mod common;
mod staff_support;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{app, app_with, OWNER_EMAIL};
use staff_support::*;
use storefort_crypto::token::hash_token;

#[tokio::test]
async fn compromised_account_is_locked_down_in_one_step() {
    // Email is set up and works, yet the reset link must not be emailed.
    let (cfg, mails) = smtp_sink().await;
    let t = app_with(cfg).await;
    let m = add_staff(&t, "mgr@example.com", "manager").await;
    assert!(m.mfa_enabled);
    let (theirs, _) = t.login_as("mgr@example.com", GOOD_PW).await;
    let (key, _) = storefort_web::auth::create_api_key(&t.db, "till", "read", &m)
        .await
        .unwrap();
    assert_eq!(api_products(&t, &key).await, StatusCode::OK);
    // An older reset link, and an invitation they sent, both still open.
    let old = hash_token("an-older-reset-link");
    t.db.create_password_reset(m.id.as_str(), &old)
        .await
        .unwrap();
    let their_inv = invitation_by(&t, &m, "friend@example.com").await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let owners_inv = invitation_by(&t, &owner, "other@example.com").await;

    let (cookie, csrf) = t.login().await;
    // The sink really delivers: an invitation is emailed, not shown.
    let r = invite(&t, &cookie, &csrf, "mailed@example.com", "Mae", "cashier").await;
    assert!(r.body.contains("Invitation emailed"), "{}", r.body);
    assert_eq!(mails.load(Ordering::SeqCst), 1);

    let path = format!("/admin/staff/{}/compromised", m.id);
    t.clock.advance(6 * 60 * 1000);
    let r = t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await;
    assert!(
        r.location().starts_with("/admin/reauth"),
        "recent password needed"
    );
    assert_eq!(
        api_products(&t, &key).await,
        StatusCode::OK,
        "nothing changed yet"
    );
    assert!(t.db.user(m.id.as_str()).await.unwrap().mfa_enabled);
    reauth(&t, &cookie).await;
    let r = t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("1 signed-in session(s) ended"),
        "{}",
        r.body
    );
    assert!(r.body.contains("1 API key(s)"));
    assert!(r.body.contains("not emailed") && r.body.contains("in person"));
    assert!(
        r.body.contains("https://localhost:8443/admin/reset?token="),
        "link shown once"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(mails.load(Ordering::SeqCst), 1, "nothing emailed");

    assert_eq!(
        t.get("/admin", Some(&theirs)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(api_products(&t, &key).await, StatusCode::UNAUTHORIZED);
    assert!(!signs_in(&t, "mgr@example.com", GOOD_PW).await);
    let after = t.db.user(m.id.as_str()).await.unwrap();
    assert!(after.must_change_password);
    assert!(!after.mfa_enabled, "second factor turned off");
    assert!(t.db.use_password_reset(&old).await.unwrap().is_none());
    assert!(!invitation_open(&t, &their_inv).await, "their invitation");
    assert!(invitation_open(&t, &owners_inv).await, "others' stay");
    let e = &audit_log(&t, "staff.compromised").await[0];
    assert_eq!(e.target, "mgr@example.com");
    assert_eq!(
        e.details,
        "1 sessions ended, 1 API keys revoked, two-factor sign-in turned off, \
         1 earlier reset links expired, 1 pending invitations withdrawn"
    );
    assert_eq!(e.actor, OWNER_EMAIL);
    // The shown reset link is real (made after the old ones were expired).
    let marker = "/admin/reset?token=";
    let at = r.body.find(marker).unwrap() + marker.len();
    let tok = &r.body[at..at + r.body[at..].find('"').unwrap()];
    let u =
        t.db.password_reset_user(&hash_token(tok))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(u.id, m.id);
}

#[tokio::test]
async fn you_cannot_secure_your_own_account_this_way() {
    let t = app().await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let other = add_staff(&t, "mgr@example.com", "manager").await;
    let (cookie, csrf) = t.login().await;
    let (key, _) = storefort_web::auth::create_api_key(&t.db, "till", "read", &owner)
        .await
        .unwrap();

    // The button is on others' pages, not on your own (which points to your account page).
    let theirs = t
        .get(&format!("/admin/staff/{}", other.id), Some(&cookie))
        .await;
    assert!(theirs.body.contains("/compromised\""), "{}", theirs.body);
    let mine = t
        .get(&format!("/admin/staff/{}", owner.id), Some(&cookie))
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(!mine.body.contains("/compromised\""), "{}", mine.body);
    assert!(mine.body.contains("href=\"/admin/account\""));

    // Posted anyway: 409 explaining what to do instead, with a fresh or a stale password, as
    // the only owner or with another owner; nothing changes.
    let path = format!("/admin/staff/{}/compromised", owner.id);
    let refused = |r: &common::Res| {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(r.body.contains("your account page"), "{}", r.body);
        assert!(r.body.contains("change your password"));
        assert!(r.body.contains("End all other"));
    };
    refused(&t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await);
    t.clock.advance(6 * 60 * 1000);
    refused(&t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await);
    add_staff(&t, "second@example.com", "owner").await;
    reauth(&t, &cookie).await;
    refused(&t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await);
    let no_csrf = t.post(&path, Some(&cookie), &[]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);

    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(api_products(&t, &key).await, StatusCode::OK);
    let after = t.db.user(owner.id.as_str()).await.unwrap();
    assert!(after.mfa_enabled && !after.must_change_password && !after.disabled);
    assert!(signs_in(&t, OWNER_EMAIL, common::OWNER_PASSWORD).await);
    assert!(audit_log(&t, "staff.compromised").await.is_empty());
}
